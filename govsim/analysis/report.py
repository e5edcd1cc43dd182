"""Experiment reports: a Markdown summary, CSV tables and figures from a run table.

:func:`write_report` turns the run table (one row per run, see :mod:`govsim.analysis.stats`)
into ``report.md``, ``group_stats.csv``, ``comparisons.csv`` and PNG figures. Every number and
every sentence in the report is computed from the table; nothing is typed in.
:func:`format_table` prints a compact means table for a terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import comb
from pathlib import Path

import numpy as np
import pandas as pd

from govsim.analysis import plots
from govsim.analysis.plots import PERCENT_METRICS, format_ci, format_value, label, metric_decimals
from govsim.analysis.stats import (
    STAT_COLUMNS,
    _as_list,
    _check_columns,
    compare,
    group_stats,
    precision_warnings,
)

__all__ = ["describe_finding", "format_table", "write_report"]

_CORRECTION_NAMES = {
    "holm": "Holm", "bonferroni": "Bonferroni", "fdr_bh": "Benjamini-Hochberg", "none": "",
}
_TEST_NAMES = {
    "welch": "Welch's t-test (two-sided, unequal variances)",
    "mannwhitney": "Mann-Whitney U test (two-sided)",
}
_TRADEOFF_X = ("mean_participation_rate", "participation_rate", "meeting_attendance")
_TRADEOFF_Y = ("resolution_rate", "screened_resolution_rate", "self_resolution_share")
_TRADEOFF_C = ("cost_per_resolved_case", "social_cost_per_resolved_case", "fiscal_spending")
_MAX_HUE_LEVELS = 6
_MAX_WARNINGS = 25


# --------------------------------------------------------------------------- small formatters


def _fmt_p(p: float) -> str:
    """``"< 0.001"`` or ``"= 0.012"``."""
    if not np.isfinite(p):
        return "= n/a"
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def _p_name(correction: str) -> str:
    name = _CORRECTION_NAMES.get(correction, correction)
    return f"{name}-adjusted p" if name else "unadjusted p"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _num(v: float, digits: int = 2) -> str:
    return "n/a" if not np.isfinite(v) else f"{v:.{digits}f}"


def _cell(metric: str, row: pd.Series, decimals: int) -> str:
    """``"32.0% [31.1, 32.9]"``: mean and CI bounds with the metric's decimals."""
    mean = format_value(metric, row["mean"], decimals)
    lo, hi = row["ci_low"], row["ci_high"]
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{mean} [n/a]"
    lo_s = format_value(metric, lo, decimals).rstrip("%")
    hi_s = format_value(metric, hi, decimals).rstrip("%")
    return f"{mean} [{lo_s}, {hi_s}]"


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> str:
    """A Markdown table; ``align`` is one char per column (``l``/``r``), default left."""
    align = align or "l" * len(header)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(map(str, header)) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(str(c).replace("|", "/") for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _levels(values) -> list:
    return sorted(pd.unique(pd.Series(values).dropna()), key=lambda v: (str(type(v)), v))


def _decimals_by_metric(stats_df: pd.DataFrame, metrics: Sequence[str]) -> dict[str, int]:
    return {m: metric_decimals(m, stats_df.loc[stats_df["metric"] == m, "mean"]) for m in metrics}


# --------------------------------------------------------------------------- terminal table


def format_table(
    stats_df: pd.DataFrame, metrics: Sequence[str] | None = None, width: int = 44
) -> str:
    """A compact plain-text table of :func:`group_stats` output for a terminal.

    One row per metric (plain-language label, cut to ``width`` characters), one column per
    group (all key columns of ``stats_df``, e.g. ``hybrid`` or ``hybrid point=2``), cells
    ``mean +/- CI half-width`` (shares in %), and a header line with each column's n.
    """
    metrics = list(metrics) if metrics is not None else list(pd.unique(stats_df["metric"]))
    keys = [c for c in stats_df.columns if c not in STAT_COLUMNS]
    groups = stats_df[keys].drop_duplicates() if keys else pd.DataFrame(index=[0])
    varying = [k for k in keys[1:] if stats_df[k].nunique(dropna=False) > 1]
    col_names, col_masks = [], []
    for _, g in groups.iterrows():
        mask = np.ones(len(stats_df), dtype=bool)
        for k in keys:
            mask &= (stats_df[k] == g[k]).to_numpy() | (stats_df[k].isna() & pd.isna(g[k]))
        name = str(g[keys[0]]) if keys else "all"
        name += "".join(f" {k}={g[k]}" for k in varying)
        col_names.append(name)
        col_masks.append(mask)
    cells, ns = [], []
    for mask in col_masks:
        sub = stats_df[mask].set_index("metric")
        ns.append(f"n={int(sub['n'].max())}" if len(sub) else "")
    decimals = _decimals_by_metric(stats_df, metrics)
    for m in metrics:
        row = []
        for mask in col_masks:
            sub = stats_df[mask & (stats_df["metric"] == m).to_numpy()]
            if sub.empty:
                row.append("")
                continue
            r = sub.iloc[0]
            d = decimals[m]
            s = 100.0 if m in PERCENT_METRICS else 1.0
            unit = " %" if m in PERCENT_METRICS else ""
            mean = "n/a" if not np.isfinite(r["mean"]) else f"{r['mean'] * s:,.{d}f}"
            hw = r["half_width"]
            pm = f" +/- {hw * s:,.{d}f}" if np.isfinite(hw) else ""
            row.append(f"{mean}{pm}{unit}")
        cells.append(row)
    labels = [label(m)[:width] for m in metrics]
    lw = max([len(x) for x in labels] + [6])
    widths = [max([len(c)] + [len(r[j]) for r in cells] + [len(ns[j])])
              for j, c in enumerate(col_names)]
    lines = [" " * lw + "  " + "  ".join(c.rjust(w) for c, w in zip(col_names, widths, strict=True)),
             " " * lw + "  " + "  ".join(c.rjust(w) for c, w in zip(ns, widths, strict=True))]
    for lab, row in zip(labels, cells, strict=True):
        lines.append(lab.ljust(lw) + "  " + "  ".join(c.rjust(w)
                                                      for c, w in zip(row, widths, strict=True)))
    conf = stats_df.attrs.get("confidence", 0.95)
    lines.append(f"(mean +/- half-width of the {100 * conf:g}% confidence interval)")
    return "\n".join(lines)


# --------------------------------------------------------------------------- findings


def describe_finding(
    metric: str,
    pooled: pd.DataFrame,
    comps: pd.DataFrame,
    group: str = "regime",
    n_points: int = 1,
) -> str | None:
    """One plain-language sentence for ``metric``, computed from the numbers.

    ``pooled`` is :func:`group_stats` output by ``group`` alone; ``comps`` is :func:`compare`
    output (per parameter point when ``n_points > 1``). Names the groups with the highest and
    lowest mean (with CIs) and states whether the test of that pair is significant after the
    correction, with Hedges' g (and Cliff's delta for Mann-Whitney) oriented highest minus
    lowest; across several points it counts the points where the difference is significant
    in each direction. ``None`` if fewer than two groups have data.
    """
    rows = pooled[(pooled["metric"] == metric) & np.isfinite(pooled["mean"])]
    if len(rows) < 2:
        return None
    name = label(metric)
    d = metric_decimals(metric, rows["mean"])
    conf = pooled.attrs.get("confidence", 0.95)
    hi = rows.loc[rows["mean"].idxmax()]
    lo = rows.loc[rows["mean"].idxmin()]
    pooled_note = f" (pooled over {n_points} parameter points)" if n_points > 1 else ""
    if hi["mean"] == lo["mean"]:
        return (f"{name} is the same under all {_plural(len(rows), group)}: "
                f"{format_value(metric, hi['mean'], d)}{pooled_note}.")

    def show(r: pd.Series) -> str:
        ci = format_ci(metric, r["ci_low"], r["ci_high"], d)
        return f"{format_value(metric, r['mean'], d)}, {100 * conf:g}% CI {ci}"

    a_hi, a_lo = hi[group], lo[group]
    text = (f"{name} is highest under {a_hi} ({show(hi)}) and lowest under {a_lo} "
            f"({show(lo)}){pooled_note}")
    pair = comps[(comps["metric"] == metric)
                 & (((comps["a"] == a_hi) & (comps["b"] == a_lo))
                    | ((comps["a"] == a_lo) & (comps["b"] == a_hi)))]
    if pair.empty:
        return text + "."
    # diff, g and delta are b - a: flip them so that they read "highest minus lowest".
    sign = np.where(pair["b"] == a_hi, 1.0, -1.0)
    diff = pair["diff"].to_numpy(dtype=float) * sign
    g = pair["hedges_g"].to_numpy(dtype=float) * sign
    delta = pair["cliffs_delta"].to_numpy(dtype=float) * sign
    p_adj = pair["p_adj"].to_numpy(dtype=float)
    sig = pair["significant"].to_numpy(dtype=bool)
    test = str(pair["test"].iloc[0])
    pname = _p_name(str(pair["correction"].iloc[0]))
    if len(pair) == 1:
        if not np.isfinite(p_adj[0]):
            note = str(pair["note"].iloc[0]) or "too few runs"
            return text + f"; no test was possible ({note})."
        effect = f"Hedges' g = {_num(g[0], 1)}"
        if test == "mannwhitney":
            effect += f", Cliff's delta = {_num(delta[0])}"
        verdict = "significant" if sig[0] else "not significant"
        return text + f"; the difference is {verdict} ({pname} {_fmt_p(p_adj[0])}, {effect})."
    tested = np.isfinite(p_adj)
    up = int(np.sum(sig & (diff > 0)))
    down = int(np.sum(sig & (diff < 0)))
    if up + down == 0:
        ok = p_adj[tested]
        detail = f" ({pname} >= {ok.min():.3f})" if ok.size else ""
        return text + (f"; the difference is not significant at any of the {len(pair)} "
                       f"points{detail}." if ok.size else
                       f"; no test was possible at any of the {len(pair)} points.")
    parts = [f"{a_hi} is significantly higher than {a_lo} at {up} of {len(pair)} points"]
    if down:
        parts.append(f"significantly lower at {down}")
    if (~tested).any():
        parts.append(f"untestable at {int((~tested).sum())}")
    text += "; " + ", ".join(parts)
    gs = g[sig & np.isfinite(g)]
    ps = p_adj[sig]
    bits = [f"{pname} <= {float(ps.max()):.3f}" if ps.max() >= 0.001
            else f"{pname} < 0.001"]
    if gs.size:
        bits.append(f"Hedges' g {_num(gs.min(), 1)} to {_num(gs.max(), 1)}"
                    if gs.size > 1 else f"Hedges' g = {_num(gs[0], 1)}")
    text += (" (" + "; ".join(bits) + " where significant)")
    return text + "."


# --------------------------------------------------------------------------- report


def _comparison_rows(comps: pd.DataFrame, cells: list[str], decimals: dict[str, int],
                     mannwhitney: bool) -> tuple[list[str], list[list[str]], str]:
    header = [*cells, "Metric", "a", "b", "diff (b - a) [95% CI]", "Hedges' g"]
    align = "l" * (len(cells) + 3) + "rr"
    if mannwhitney:
        header.append("Cliff's delta")
        align += "r"
    header += ["p", "p adj.", "sig."]
    align += "rrl"
    has_notes = comps["note"].astype(bool).any()
    if has_notes:
        header.append("note")
        align += "l"
    rows = []
    for _, r in comps.iterrows():
        m = r["metric"]
        d = decimals[m]
        s = 100.0 if m in PERCENT_METRICS else 1.0
        unit = " pp" if m in PERCENT_METRICS else ""
        diff = "n/a" if not np.isfinite(r["diff"]) else f"{r['diff'] * s:,.{d}f}{unit}"
        if np.isfinite(r["ci_low"]):
            diff += f" [{r['ci_low'] * s:,.{d}f}, {r['ci_high'] * s:,.{d}f}]"
        row = [*(str(r[c]) for c in cells), label(m), str(r["a"]), str(r["b"]), diff,
               _num(r["hedges_g"])]
        if mannwhitney:
            row.append(_num(r["cliffs_delta"]))
        row += [_fmt_p(r["p"]).lstrip("= "), _fmt_p(r["p_adj"]).lstrip("= "),
                "yes" if r["significant"] else "no"]
        if has_notes:
            row.append(str(r["note"]))
        rows.append(row)
    return header, rows, align


def _comparison_summary(comps: pd.DataFrame, cells: list[str]) -> tuple[list[str], list[list]]:
    """Per metric x pair over all points: how often b is significantly above / below a."""
    header = ["Metric", "a", "b", "points", "b sig. higher", "b sig. lower", "not sig.",
              "untestable", "Hedges' g (range)", "smallest p adj."]
    rows = []
    for (m, a, b), sub in comps.groupby(["metric", "a", "b"], sort=False):
        sig = sub["significant"].to_numpy(dtype=bool)
        diff = sub["diff"].to_numpy(dtype=float)
        tested = np.isfinite(sub["p_adj"].to_numpy(dtype=float))
        g = sub["hedges_g"].to_numpy(dtype=float)
        g = g[np.isfinite(g)]
        rows.append([label(m), str(a), str(b), len(sub), int(np.sum(sig & (diff > 0))),
                     int(np.sum(sig & (diff < 0))), int(np.sum(tested & ~sig)),
                     int(np.sum(~tested)),
                     f"{g.min():.2f} to {g.max():.2f}" if g.size else "n/a",
                     _fmt_p(float(np.nanmin(sub["p_adj"]))).lstrip("= ")
                     if tested.any() else "n/a"])
    return header, rows


def _means_table(stats_df: pd.DataFrame, metrics: Sequence[str], group: str,
                 decimals: dict[str, int]) -> str:
    """Rows: metrics; columns: groups ("regime (n=30)"); cells: mean [CI]."""
    groups = _levels(stats_df[group])
    header = ["Metric"]
    for g in groups:
        n = stats_df.loc[stats_df[group] == g, "n"]
        header.append(f"{g} (n={int(n.max())})" if len(n) else str(g))
    rows = []
    for m in metrics:
        sub = stats_df[stats_df["metric"] == m].set_index(group)
        rows.append([label(m)] + [_cell(m, sub.loc[g], decimals[m]) if g in sub.index else ""
                                  for g in groups])
    return _md_table(header, rows, "l" + "r" * len(groups))


def _point_tables(stats_df: pd.DataFrame, metrics: Sequence[str], group: str,
                  cells: list[str], decimals: dict[str, int]) -> list[str]:
    """One table per metric: rows = parameter points, columns = groups."""
    out = []
    groups = _levels(stats_df[group])
    for m in metrics:
        sub = stats_df[stats_df["metric"] == m]
        rows = []
        for key, part in sub.groupby(cells, sort=True, dropna=False):
            key = key if isinstance(key, tuple) else (key,)
            by_g = part.set_index(group)
            rows.append([str(k) for k in key]
                        + [_cell(m, by_g.loc[g], decimals[m]) if g in by_g.index else ""
                           for g in groups])
        out.append(f"**{label(m)}**\n\n"
                   + _md_table([*cells, *map(str, groups)], rows,
                               "l" * len(cells) + "r" * len(groups)))
    return out


def _pick(metrics: Sequence[str], preferred: Sequence[str]) -> str | None:
    return next((m for m in preferred if m in metrics), None)


def write_report(
    df: pd.DataFrame,
    out_dir: str | Path,
    metrics: Sequence[str],
    params: Sequence[str] = (),
    group: str = "regime",
    test: str = "welch",
    correction: str = "holm",
    rel_precision: float = 0.05,
    title: str = "govsim experiment report",
    alpha: float = 0.05,
    confidence: float = 0.95,
    max_points_inline: int = 5,
    max_comparison_rows: int = 60,
    figures: bool = True,
) -> dict[str, Path]:
    """Write a Markdown report, CSV tables and figures for a run table; return their paths.

    Parameters
    ----------
    df:
        Run table: one row per run with ``group`` (default ``regime``), usually ``point``,
        ``replicate`` and ``seed``, the ``params`` columns and the ``metrics`` columns.
    out_dir:
        Output directory (created). Figures go to ``out_dir/figures/``.
    metrics, params:
        Metric columns to report and parameter columns that vary over points (may be empty).
    group, test, correction, alpha, confidence:
        As in :func:`compare` / :func:`group_stats`. When the table has several parameter
        points, regimes are compared within each point (``within`` = ``point`` and the params)
        and the correction runs over the whole family (metrics x pairs x points).
    rel_precision:
        Target CI half-width as a fraction of the mean for :func:`precision_warnings`.
    max_points_inline:
        Up to this many points, per-point means tables appear in the report; beyond it the
        report shows the pooled table only and points to ``group_stats.csv``.
    max_comparison_rows:
        Up to this many comparisons the report lists them all; beyond it, a per metric x pair
        summary over points (all rows are in ``comparisons.csv``).
    figures:
        Draw the PNG figures (``False`` for a quick text-only report).

    Returns
    -------
    ``{"report": report.md, "group_stats": group_stats.csv, "comparisons": comparisons.csv,
    ["group_stats_pooled": group_stats_pooled.csv when there are several points],
    "fig_<name>": PNG, ...}``.

    ``group_stats.csv`` holds the finest level: one row per group x point (and param values)
    x metric. The report's main table is per group, pooled over points when there are
    several (each run weighted equally, so a CI there includes the spread between points).
    """
    metrics = _as_list(metrics)
    params = _as_list(params)
    if not metrics:
        raise ValueError("no metrics given")
    _check_columns(df, [group], "group")
    _check_columns(df, params, "parameter")
    _check_columns(df, metrics, "metric")
    if df.empty:
        raise ValueError("the run table is empty")
    out = Path(out_dir)
    fig_dir = out / "figures"
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}

    cells = (["point"] if "point" in df.columns else []) + [p for p in params if p != "point"]
    n_points = len(df[cells].drop_duplicates()) if cells else 1
    multi = n_points > 1
    varied = [p for p in params if df[p].nunique(dropna=False) > 1]

    fine = group_stats(df, metrics, by=[group, *cells], confidence=confidence)
    pooled = group_stats(df, metrics, by=[group], confidence=confidence)
    comps = compare(df, metrics, group=group, within=cells if multi else (), test=test,
                    correction=correction, alpha=alpha, confidence=confidence)
    warn = precision_warnings(fine, rel_precision=rel_precision)
    decimals = _decimals_by_metric(pooled, metrics)

    paths["group_stats"] = out / "group_stats.csv"
    fine.to_csv(paths["group_stats"], index=False)
    if multi:
        paths["group_stats_pooled"] = out / "group_stats_pooled.csv"
        pooled.to_csv(paths["group_stats_pooled"], index=False)
    paths["comparisons"] = out / "comparisons.csv"
    comps.to_csv(paths["comparisons"], index=False)

    # ----------------------------------------------------------------- figures
    figs: list[tuple[str, Path]] = []
    if figures:
        hue = None
        if multi:
            cand = varied[0] if len(varied) == 1 else ("point" if not varied and cells else None)
            if cand is not None and df[cand].nunique() <= _MAX_HUE_LEVELS:
                hue = cand
        by_hue = group_stats(df, metrics, by=[group, hue], confidence=confidence) if hue else None
        for m in metrics:
            p = fig_dir / f"{m}_by_{group}.png"
            plots.metric_by_regime(by_hue if hue else pooled, m, group=group, hue=hue, path=p)
            figs.append((f"{label(m)} by {group}", p))
            paths[f"fig_{m}_by_{group}"] = p
        x, y = _pick(metrics, _TRADEOFF_X), _pick(metrics, _TRADEOFF_Y)
        if x and y:
            p = fig_dir / "tradeoff.png"
            plots.tradeoff(fine if multi else pooled, x=x, y=y,
                           size_or_color=_pick(metrics, _TRADEOFF_C), group=group, path=p)
            figs.append(("Participation-resolution-cost trade-off", p))
            paths["fig_tradeoff"] = p
        for prm in varied:
            col = df[prm]
            if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
                continue
            st_p = group_stats(df, metrics, by=[group, prm], confidence=confidence)
            for m in metrics:
                p = fig_dir / f"{m}_vs_{prm}.png"
                plots.metric_vs_parameter(st_p, m, prm, group=group, path=p)
                figs.append((f"{label(m)} vs {label(prm)}", p))
                paths[f"fig_{m}_vs_{prm}"] = p

    # ----------------------------------------------------------------- Markdown
    conf_pct = f"{100 * confidence:g}%"
    groups = _levels(df[group])
    reps = df.groupby([group, *cells], dropna=False).size()
    md = [f"# {title}", "", "## What was run", ""]
    rep_range = f"{reps.min()}" + (f"-{reps.max()}" if reps.max() != reps.min() else "")
    md.append(f"- **{len(df)} runs**: {_plural(len(groups), group)} x "
              f"{_plural(n_points, 'parameter point')} x {rep_range} "
              f"replicate{'s' if reps.max() != 1 else ''} per {group} and point.")
    md.append(f"- {label(group)}: " + ", ".join(
        f"{g} ({_plural(int((df[group] == g).sum()), 'run')})" for g in groups) + ".")
    if varied:
        for p in varied:
            vals = _levels(df[p])
            md.append(f"- Parameter `{p}` ({label(p)}) takes {len(vals)} values: "
                      + ", ".join(map(str, vals)) + ".")
    else:
        md.append("- No parameters varied." if n_points == 1
                  else f"- {n_points} parameter points (no parameter columns named).")
    if "seed" in df.columns:
        seeds = df["seed"].nunique()
        sets = df.groupby([*cells, group], dropna=False)["seed"].agg(frozenset)
        same = len(groups) > 1 and (
            sets.groupby(level=list(range(len(cells)))).nunique().eq(1).all() if cells
            else sets.nunique() == 1
        )
        crn = f"; every {group} uses the same seeds at each point (common random numbers)."
        md.append(f"- {_plural(seeds, 'distinct seed')}" + (crn if same else "."))
    n_missing = int(df[metrics].isna().sum().sum())
    if n_missing:
        md.append(f"- {n_missing} missing metric values were left out (n counts what is left).")
    pname = _p_name(correction)
    family = int(comps.attrs.get("family_size", 0))
    md += ["", "**Methods.** Means with " + conf_pct + " confidence intervals from the t "
           "distribution (n - 1 degrees of freedom) over replicate runs. Pairwise comparisons "
           f"of {group} values" + (" within each parameter point" if multi else "") + ": "
           + _TEST_NAMES[test] + "; "
           + ("no test was possible" if family == 0 else
              f"p-values adjusted with the {_CORRECTION_NAMES[correction]} method over the "
              f"whole family of {_plural(family, 'test')} (all metrics x pairs"
              + (" x points" if multi else "") + ")" if correction != "none"
              else "p-values not adjusted for multiple testing")
           + f"; significant means {pname} <= {alpha:g}. `diff` = mean of b - mean of a; "
           "Hedges' g = bias-corrected standardised difference (b - a) / pooled SD"
           + ("; Cliff's delta = P(b > a) - P(b < a)" if test == "mannwhitney" else "")
           + f". CIs of differences are per-comparison {conf_pct} Welch intervals (not adjusted"
           " for multiple testing). Shares are in %, their differences in percentage points (pp)."]
    if test == "mannwhitney" and not comps.empty:
        na, nb = int(comps["n_a"].min()), int(comps["n_b"].min())
        if na and nb:
            floor = 2.0 / comb(na + nb, na)
            if floor > alpha:
                md[-1] += (f" Note: with {na} and {nb} runs per group the smallest possible "
                           f"two-sided Mann-Whitney p is {floor:.3g} > {alpha:g}, so such "
                           "comparisons cannot be significant; add replicates.")

    md += ["", "## Key findings", ""]
    found = [describe_finding(m, pooled, comps, group=group, n_points=n_points) for m in metrics]
    found = [f for f in found if f]
    md += [f"- {f}" for f in found] if found else [f"Only one {group}: nothing to compare."]

    md += ["", f"## Means with {conf_pct} confidence intervals", ""]
    if multi:
        md += [f"Per {group}, pooled over the {n_points} parameter points (every run weighted "
               "equally; the interval includes the spread between points).", ""]
    md += [_means_table(pooled, metrics, group, decimals), ""]
    if multi and n_points <= max_points_inline:
        md += ["### By parameter point", ""]
        for t in _point_tables(fine, metrics, group, cells, decimals):
            md += [t, ""]
    elif multi:
        md += [f"Means per {group} and parameter point ({n_points} points): "
               "see `group_stats.csv`.", ""]

    md += ["## Pairwise comparisons", ""]
    if comps.empty:
        md += [f"Only one {group}: no comparisons.", ""]
    elif len(comps) <= max_comparison_rows:
        header, rows, align = _comparison_rows(comps, cells if multi else [], decimals,
                                               test == "mannwhitney")
        md += [f"p: {_TEST_NAMES[test]}; p adj.: {pname}.", "",
               _md_table(header, rows, align), ""]
    else:
        header, rows = _comparison_summary(comps, cells)
        md += [f"{len(comps)} comparisons (all in `comparisons.csv`); per metric and pair, the "
               f"number of parameter points where b is significantly higher / lower than a "
               f"({pname} <= {alpha:g}):", "",
               _md_table(header, rows, "lll" + "r" * 7), ""]

    md += ["## Precision", ""]
    if warn:
        md += [f"Cells (per {group} and point) whose {conf_pct} CI is wider than "
               f"+/-{100 * rel_precision:g}% of the mean, or that have fewer than 3 "
               "replicates:", ""]
        md += [f"- {w}" for w in warn[:_MAX_WARNINGS]]
        if len(warn) > _MAX_WARNINGS:
            md.append(f"- ... and {len(warn) - _MAX_WARNINGS} more (see `group_stats.csv`).")
    else:
        md.append(f"Every {conf_pct} CI half-width is within +/-{100 * rel_precision:g}% of "
                  "its mean.")
    md.append("")

    if figs:
        md += ["## Figures", ""]
        for caption, p in figs:
            md += [f"![{caption}]({p.relative_to(out).as_posix()})", ""]

    md += ["## Files", ""]
    md += [f"- `{p.relative_to(out).as_posix()}`" for k, p in paths.items()
           if not k.startswith("fig_")]
    paths = {"report": out / "report.md", **paths}
    paths["report"].write_text("\n".join(md) + "\n", encoding="utf-8")
    return paths
