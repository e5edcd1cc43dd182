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
from govsim.analysis.plots import format_ci, format_value, label, metric_decimals
from govsim.analysis.stats import (
    G_CAP,
    STAT_COLUMNS,
    _as_list,
    _check_columns,
    compare,
    group_stats,
    parameter_effects,
    precision_warnings,
)
from govsim.outcomes import get_language, in_language, is_share, outcome, use_language

__all__ = ["describe_finding", "format_table", "write_report"]

_CORRECTION_NAMES = {
    "holm": "Holm", "bonferroni": "Bonferroni", "fdr_bh": "Benjamini-Hochberg", "none": "",
}
_TEST_NAMES = {
    "welch": "Welch's t-test (two-sided, unequal variances)",
    "mannwhitney": "Mann-Whitney U test (two-sided)",
}
_PAIRED_TEST_NAMES = {
    "welch": "paired t-test (two-sided) on runs matched by parameter point and replicate "
             "(common random numbers: every regime ran with the same seeds)",
    "mannwhitney": "Wilcoxon signed-rank test (two-sided) on runs matched by parameter point "
                   "and replicate (common random numbers)",
}
_TEST_NAMES_ZH = {
    "welch": "Welch t 检验（双侧，方差不等）",
    "mannwhitney": "Mann-Whitney U 检验（双侧）",
}
_PAIRED_TEST_NAMES_ZH = {
    "welch": "配对 t 检验（双侧；各模式在同一参数点、同一重复下使用相同随机种子，即公共随机数）",
    "mannwhitney": "Wilcoxon 符号秩检验（双侧；按参数点与重复配对，公共随机数）",
}
_VERDICT_ZH = {
    "meaningful": "有实际意义",
    "significant, below the smallest effect of interest": "显著但小于最小关注效应",
    "no meaningful difference": "无实际差异",
    "inconclusive": "无定论",
    "untestable": "无法检验",
}
_TRADEOFF_X = ("mean_participation_rate", "participation_rate", "meeting_attendance")
_TRADEOFF_Y = ("resolution_rate", "screened_resolution_rate", "self_resolution_share")
_TRADEOFF_C = ("cost_per_resolved_case", "social_cost_per_resolved_case", "fiscal_spending")
_MAX_HUE_LEVELS = 6
_MAX_WARNINGS = 25


# --------------------------------------------------------------------------- small formatters


_ = in_language  # the text in the current language


def _test_name(test: str, paired: bool) -> str:
    if get_language() == "zh":
        return (_PAIRED_TEST_NAMES_ZH if paired else _TEST_NAMES_ZH)[test]
    return (_PAIRED_TEST_NAMES if paired else _TEST_NAMES)[test]


def _verdict_text(v: str) -> str:
    return _VERDICT_ZH.get(v, v) if get_language() == "zh" else v


def _g_text(g: float) -> str:
    """Hedges' g for text, capped: beyond G_CAP it only says the replicates barely vary."""
    if not np.isfinite(g):
        return "n/a"
    if abs(g) > G_CAP:
        return f"{'> ' if g > 0 else '< -'}{G_CAP:g}"
    return f"{g:.1f}"


def _diff_text(metric: str, v: float, decimals: int) -> str:
    """A difference in the metric's units: percentage points for shares."""
    if not np.isfinite(v):
        return "n/a"
    if is_share(metric):
        return f"{100 * v:,.{max(decimals, 1)}f} pp"
    return f"{v:,.{decimals}f}"


def _fmt_p(p: float) -> str:
    """``"< 0.001"`` or ``"= 0.012"``."""
    if p is None or not np.isfinite(p):
        return "= n/a"
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def _p_name(correction: str) -> str:
    name = _CORRECTION_NAMES.get(correction, correction)
    if get_language() == "zh":
        return f"{name} 校正 p" if name else "未校正 p"
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


def _dw(text: str) -> int:
    """Display width in a terminal (CJK characters take two columns)."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


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
    for _i, g in groups.iterrows():
        mask = np.ones(len(stats_df), dtype=bool)
        for k in keys:
            mask &= (stats_df[k] == g[k]).to_numpy() | (stats_df[k].isna() & pd.isna(g[k]))
        name = label(g[keys[0]]) if keys else "all"
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
            s = 100.0 if is_share(m) else 1.0
            unit = " %" if is_share(m) else ""
            mean = "n/a" if not np.isfinite(r["mean"]) else f"{r['mean'] * s:,.{d}f}"
            hw = r["half_width"]
            pm = f" +/- {hw * s:,.{d}f}" if np.isfinite(hw) else ""
            row.append(f"{mean}{pm}{unit}")
        cells.append(row)
    labels = [label(m)[:width] for m in metrics]
    lw = max([_dw(x) for x in labels] + [6])
    widths = [max([_dw(c)] + [_dw(r[j]) for r in cells] + [_dw(ns[j])])
              for j, c in enumerate(col_names)]

    def rj(c: str, w: int) -> str:
        return " " * max(0, w - _dw(c)) + c

    lines = [" " * lw + "  " + "  ".join(rj(c, w) for c, w in zip(col_names, widths, strict=True)),
             " " * lw + "  " + "  ".join(rj(c, w) for c, w in zip(ns, widths, strict=True))]
    for lab, row in zip(labels, cells, strict=True):
        lines.append(lab + " " * (lw - _dw(lab)) + "  "
                     + "  ".join(rj(c, w) for c, w in zip(row, widths, strict=True)))
    conf = stats_df.attrs.get("confidence", 0.95)
    lines.append(_(f"(mean +/- half-width of the {100 * conf:g}% confidence interval)",
                   f"（均值 +/- {100 * conf:g}% 置信区间半宽）"))
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
    lowest mean (with CIs) and gives the verdict on that pair: a difference is called
    *meaningful* only if it is significant after the correction **and** larger than the
    outcome's smallest effect of interest (:mod:`govsim.outcomes`); a significant but smaller
    one is "not meaningful"; the equivalence test (TOST) says "no meaningful difference"
    where it holds; otherwise the result is inconclusive. Words like "cheapest" or "best"
    appear only for a meaningful difference. Hedges' g (oriented highest minus lowest) is
    capped in text at 10 and left out where the runs do not vary. Across several points it
    counts the verdicts. ``None`` if fewer than two groups have data.
    """
    rows = pooled[(pooled["metric"] == metric) & np.isfinite(pooled["mean"])]
    if len(rows) < 2:
        return None
    name = label(metric)
    d = metric_decimals(metric, rows["mean"])
    conf = pooled.attrs.get("confidence", 0.95)
    hi = rows.loc[rows["mean"].idxmax()]
    lo = rows.loc[rows["mean"].idxmin()]
    pooled_note = (_(f" (pooled over {n_points} parameter points)",
                     f"（{n_points} 个参数点合并）") if n_points > 1 else "")
    if hi["mean"] == lo["mean"]:
        return _(f"{name} is the same under all {_plural(len(rows), group)}: "
                 f"{format_value(metric, hi['mean'], d)}{pooled_note}.",
                 f"{name}在全部 {len(rows)} 种{label(group)}下相同："
                 f"{format_value(metric, hi['mean'], d)}{pooled_note}。")

    def show(r: pd.Series) -> str:
        ci = format_ci(metric, r["ci_low"], r["ci_high"], d)
        return _(f"{format_value(metric, r['mean'], d)}, {100 * conf:g}% CI {ci}",
                 f"{format_value(metric, r['mean'], d)}，{100 * conf:g}% 置信区间 {ci}")

    a_hi, a_lo = hi[group], lo[group]
    n_hi, n_lo = label(a_hi), label(a_lo)
    text = _(f"{name} is highest under {n_hi} ({show(hi)}) and lowest under {n_lo} "
             f"({show(lo)}){pooled_note}",
             f"{name}在{n_hi}下最高（{show(hi)}），在{n_lo}下最低（{show(lo)}）{pooled_note}")
    pair = comps[(comps["metric"] == metric)
                 & (((comps["a"] == a_hi) & (comps["b"] == a_lo))
                    | ((comps["a"] == a_lo) & (comps["b"] == a_hi)))]
    end = _(".", "。")
    sep = _("; ", "；")
    if pair.empty:
        return text + end
    # diff, g and delta are b - a: flip them so that they read "highest minus lowest".
    sign = np.where(pair["b"] == a_hi, 1.0, -1.0)
    diff = pair["diff"].to_numpy(dtype=float) * sign
    g = pair["hedges_g"].to_numpy(dtype=float) * sign
    delta = pair["cliffs_delta"].to_numpy(dtype=float) * sign
    p_adj = pair["p_adj"].to_numpy(dtype=float)
    verdicts = pair["verdict"].astype(str).to_numpy() if "verdict" in pair else None
    sesoi = pair["sesoi"].to_numpy(dtype=float) if "sesoi" in pair else np.full(len(pair), np.nan)
    p_tost = (pair["p_tost_adj"].to_numpy(dtype=float) if "p_tost_adj" in pair
              else np.full(len(pair), np.nan))
    test = str(pair["test"].iloc[0])
    pname = _p_name(str(pair["correction"].iloc[0]))
    o = outcome(metric)
    direction = o.direction if o is not None else "neutral"
    if len(pair) == 1:
        v = verdicts[0] if verdicts is not None else ("meaningful" if pair["significant"].iloc[0]
                                                      else "inconclusive")
        note = str(pair["note"].iloc[0])
        sz = _diff_text(metric, sesoi[0], d)
        dz = _diff_text(metric, diff[0], d)
        effect = ""
        if np.isfinite(g[0]):
            effect = f", Hedges' g {'= ' if abs(g[0]) <= G_CAP else ''}{_g_text(g[0])}"
            if abs(g[0]) > G_CAP:
                effect += _(" (the runs barely vary)", "（重复间几乎无差异）")
        if test == "mannwhitney" and np.isfinite(delta[0]):
            effect += f", Cliff's delta = {_num(delta[0])}"
        exact = "exact" in note
        if v == "untestable" or (not np.isfinite(p_adj[0]) and not exact):
            if v == "no meaningful difference":
                pass
            else:
                return text + _(f"; no test was possible ({note or 'too few runs'}).",
                                f"；无法检验（{note or '运行次数太少'}）。")
        stat = (_("the runs do not vary, so the difference is exact",
                  "各次运行无差异，差值是确定的") if exact
                else f"{pname} {_fmt_p(p_adj[0])}{effect}")
        if v == "meaningful":
            best = a_lo if direction == "lower" else a_hi
            worst_word = ""
            if direction != "neutral":
                if o is not None and o.kind == "money":
                    worst_word = _(f", so {label(best)} is the cheapest on this measure",
                                   f"，因此{label(best)}在这一指标上成本最低")
                else:
                    worst_word = _(f", so {label(best)} does best on this outcome",
                                   f"，因此{label(best)}在这一指标上最好")
            return text + _(f"; the difference of {dz} is meaningful: "
                            + ("" if exact else "significant and ")
                            + f"larger than the smallest effect of interest ({sz}) ({stat})"
                            f"{worst_word}.",
                            f"；{dz} 的差异有实际意义："
                            + ("" if exact else "统计显著且")
                            + f"大于最小关注效应（{sz}）（{stat}）{worst_word}。")
        if v == "significant, below the smallest effect of interest":
            return text + _(f"; the difference of {dz} is statistically significant ({stat}) "
                            f"but smaller than the smallest effect of interest ({sz}): "
                            "not meaningful.",
                            f"；{dz} 的差异统计显著（{stat}），但小于最小关注效应（{sz}）："
                            "没有实际意义。")
        if v == "no meaningful difference":
            how = (_("the runs do not vary and the exact difference is smaller",
                     "各次运行无差异，确定的差值更小") if exact
                   else _(f"equivalence test (TOST) {pname} {_fmt_p(p_tost[0])}",
                          f"等效性检验（TOST）{pname} {_fmt_p(p_tost[0])}"))
            return text + _(f"; no meaningful difference: the gap of {dz} lies within the "
                            f"smallest effect of interest (+/-{sz}; {how}).",
                            f"；无实际差异：{dz} 的差距在最小关注效应（+/-{sz}）之内（{how}）。")
        # inconclusive
        return text + _(f"; the difference of {dz} is not significant ({stat}) and "
                        f"equivalence within +/-{sz} is not shown either: inconclusive "
                        "(more replicates would tell).",
                        f"；{dz} 的差异不显著（{stat}），也未能证明在 +/-{sz} 之内等效："
                        "无定论（需要更多重复）。")
    # several points: count the verdicts
    tested = np.isfinite(p_adj)
    if verdicts is None:
        verdicts = np.where(pair["significant"].to_numpy(dtype=bool), "meaningful",
                            "inconclusive")
    mean_up = int(np.sum((verdicts == "meaningful") & (diff > 0)))
    mean_down = int(np.sum((verdicts == "meaningful") & (diff < 0)))
    small = int(np.sum(verdicts == "significant, below the smallest effect of interest"))
    equiv = int(np.sum(verdicts == "no meaningful difference"))
    incon = int(np.sum(verdicts == "inconclusive"))
    untest = int(np.sum(verdicts == "untestable"))
    k = len(pair)
    sig = pair["significant"].to_numpy(dtype=bool)
    up = int(np.sum(sig & (diff > 0)))
    down = int(np.sum(sig & (diff < 0)))
    if up + down == 0 and mean_up + mean_down == 0:
        ok = p_adj[tested]
        detail = f" ({pname} >= {ok.min():.3f})" if ok.size else ""
        if not ok.size and equiv == 0:
            return text + _(f"; no test was possible at any of the {k} points.",
                            f"；{k} 个参数点均无法检验。")
        base = _(f"; the difference is not significant at any of the {k} points{detail}",
                 f"；在全部 {k} 个参数点上差异均不显著{detail}")
        if equiv:
            base += _(f"; no meaningful difference (equivalence shown) at {equiv} of {k}",
                      f"；其中 {equiv} 个点无实际差异（等效性成立）")
        return text + base + end
    parts = [_(f"{n_hi} is significantly higher than {n_lo} at {up} of {k} points",
               f"{n_hi}在 {k} 个参数点中的 {up} 个显著高于{n_lo}")]
    if down:
        parts.append(_(f"significantly lower at {down}", f"{down} 个显著更低"))
    parts.append(_(f"meaningful (beyond the smallest effect of interest) at "
                   f"{mean_up + mean_down}", f"有实际意义（超过最小关注效应）的 "
                   f"{mean_up + mean_down} 个"))
    if small:
        parts.append(_(f"significant but too small to matter at {small}",
                       f"显著但过小的 {small} 个"))
    if equiv:
        parts.append(_(f"no meaningful difference at {equiv}", f"无实际差异的 {equiv} 个"))
    if incon:
        parts.append(_(f"inconclusive at {incon}", f"无定论的 {incon} 个"))
    if untest:
        parts.append(_(f"untestable at {untest}", f"无法检验的 {untest} 个"))
    text += sep + _(", ", "，").join(parts)
    gs = g[sig & np.isfinite(g)]
    ps = p_adj[sig]
    bits = [f"{pname} <= {float(ps.max()):.3f}" if ps.size and ps.max() >= 0.001
            else f"{pname} < 0.001"]
    if gs.size:
        bits.append(f"Hedges' g {_g_text(gs.min())} to {_g_text(gs.max())}"
                    if gs.size > 1 else f"Hedges' g = {_g_text(gs[0])}")
    if ps.size:
        text += _(" (" + "; ".join(bits) + " where significant)",
                  "（显著处：" + "；".join(bits) + "）")
    return text + end


# --------------------------------------------------------------------------- report


def _comparison_rows(comps: pd.DataFrame, cells: list[str], decimals: dict[str, int],
                     mannwhitney: bool) -> tuple[list[str], list[list[str]], str]:
    header = [*cells, _("Metric", "指标"), "a", "b", _("diff (b - a) [95% CI]", "差值 (b - a) [95% CI]"),
              _("smallest effect", "最小关注效应"), "Hedges' g"]
    align = "l" * (len(cells) + 3) + "rrr"
    if mannwhitney:
        header.append("Cliff's delta")
        align += "r"
    header += ["p", _("p adj.", "校正 p"), _("p TOST adj.", "TOST 校正 p"), _("verdict", "结论")]
    align += "rrrl"
    has_notes = comps["note"].astype(bool).any()
    if has_notes:
        header.append(_("note", "说明"))
        align += "l"
    rows = []
    for _i, r in comps.iterrows():
        m = r["metric"]
        d = decimals[m]
        s = 100.0 if is_share(m) else 1.0
        unit = " pp" if is_share(m) else ""
        diff = "n/a" if not np.isfinite(r["diff"]) else f"{r['diff'] * s:,.{d}f}{unit}"
        if np.isfinite(r["ci_low"]):
            diff += f" [{r['ci_low'] * s:,.{d}f}, {r['ci_high'] * s:,.{d}f}]"
        row = [*(str(r[c]) for c in cells), label(m), label(r["a"]), label(r["b"]), diff,
               _diff_text(m, float(r["sesoi"]), d), _g_text(r["hedges_g"])]
        if mannwhitney:
            row.append(_num(r["cliffs_delta"]))
        row += [_fmt_p(r["p"]).lstrip("= "), _fmt_p(r["p_adj"]).lstrip("= "),
                _fmt_p(r["p_tost_adj"]).lstrip("= "), _verdict_text(str(r["verdict"]))]
        if has_notes:
            row.append(str(r["note"]))
        rows.append(row)
    return header, rows, align


def _comparison_summary(comps: pd.DataFrame, cells: list[str]) -> tuple[list[str], list[list]]:
    """Per metric x pair over all points: how often b is significantly above / below a, and
    how often the difference is meaningful or shown to be negligible."""
    header = [_("Metric", "指标"), "a", "b", _("points", "参数点"),
              _("b sig. higher", "b 显著更高"), _("b sig. lower", "b 显著更低"),
              _("meaningful", "有实际意义"), _("no meaningful diff.", "无实际差异"),
              _("not sig.", "不显著"), _("untestable", "无法检验"),
              _("Hedges' g (range)", "Hedges' g（范围）"), _("smallest p adj.", "最小校正 p")]
    rows = []
    for (m, a, b), sub in comps.groupby(["metric", "a", "b"], sort=False):
        sig = sub["significant"].to_numpy(dtype=bool)
        diff = sub["diff"].to_numpy(dtype=float)
        tested = np.isfinite(sub["p_adj"].to_numpy(dtype=float))
        g = sub["hedges_g"].to_numpy(dtype=float)
        g = g[np.isfinite(g)]
        v = sub["verdict"].astype(str).to_numpy()
        rows.append([label(m), label(a), label(b), len(sub), int(np.sum(sig & (diff > 0))),
                     int(np.sum(sig & (diff < 0))), int(np.sum(v == "meaningful")),
                     int(np.sum(v == "no meaningful difference")),
                     int(np.sum(tested & ~sig)),
                     int(np.sum(~tested)),
                     f"{_g_text(g.min())} to {_g_text(g.max())}" if g.size else "n/a",
                     _fmt_p(float(np.nanmin(sub["p_adj"]))).lstrip("= ")
                     if tested.any() else "n/a"])
    return header, rows


def _means_table(stats_df: pd.DataFrame, metrics: Sequence[str], group: str,
                 decimals: dict[str, int]) -> str:
    """Rows: metrics; columns: groups ("regime (n=30)"); cells: mean [CI]."""
    groups = _levels(stats_df[group])
    header = [_("Metric", "指标")]
    for g in groups:
        n = stats_df.loc[stats_df[group] == g, "n"]
        header.append(f"{label(g)} (n={int(n.max())})" if len(n) else label(g))
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
                   + _md_table([*map(label, cells), *map(label, groups)], rows,
                               "l" * len(cells) + "r" * len(groups)))
    return out


def _pick(metrics: Sequence[str], preferred: Sequence[str]) -> str | None:
    return next((m for m in preferred if m in metrics), None)


def _crn_pairing(df: pd.DataFrame, group: str, cells: list[str]) -> list[str]:
    """``["replicate"]`` when every group ran with the same seed at each point and replicate
    (common random numbers), so runs can be paired; else ``[]``."""
    if "replicate" not in df.columns or "seed" not in df.columns or df[group].nunique() < 2:
        return []
    keys = [*cells, "replicate"]
    per = df.groupby(keys, dropna=False)
    if not (per["seed"].nunique() == 1).all():
        return []
    # (a missing run only unpairs the comparisons it belongs to: compare() checks each pair)
    return ["replicate"]


def _effects_table(eff: pd.DataFrame, group: str, metrics: Sequence[str],
                   decimals: dict[str, int]) -> str:
    header = [label(group), _("Metric", "指标"), _("Parameter", "参数"),
              _("effect [95% CI]", "效应 [95% CI]"), "p (ANOVA)",
              _("smallest effect", "最小关注效应"), _("meaningful", "有实际意义")]
    rows = []
    for _i, r in eff.iterrows():
        m = r["metric"]
        d = decimals.get(m, 2)
        what = (_(f"over its range ({r['kind']})", "在取值范围内") if r["kind"] == "slope"
                else _(f"{r['level']} vs baseline", f"{r['level']} 对基准"))
        ci = (f" [{_diff_text(m, r['effect_ci_low'], d)}, {_diff_text(m, r['effect_ci_high'], d)}]"
              if np.isfinite(r["effect_ci_low"]) else "")
        rows.append([label(r[group]), label(m), f"{label(r['param'])} ({what})",
                     _diff_text(m, r["effect_over_range"], d) + ci,
                     _fmt_p(r["anova_p"]).lstrip("= "), _diff_text(m, r["sesoi"], d),
                     _("yes", "是") if r["meaningful"] else _("no", "否")])
    return _md_table(header, rows, "lllrrrl")


def write_report(
    df: pd.DataFrame,
    out_dir: str | Path,
    metrics: Sequence[str],
    params: Sequence[str] = (),
    group: str = "regime",
    test: str = "welch",
    correction: str = "holm",
    rel_precision: float = 0.05,
    title: str | None = None,
    alpha: float = 0.05,
    confidence: float = 0.95,
    max_points_inline: int = 5,
    max_comparison_rows: int = 60,
    figures: bool = True,
    lang: str | None = None,
    formats: Sequence[str] = (),
    xlsx: bool = True,
    paired: bool | None = None,
) -> dict[str, Path]:
    """Write a Markdown report, CSV (and xlsx) tables and figures for a run table; return
    their paths.

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
        Draw the figures (``False`` for a quick text-only report).
    lang:
        ``"en"`` or ``"zh"`` (default: :func:`govsim.outcomes.get_language`).
    formats:
        Extra figure formats beside PNG, e.g. ``("svg",)``.
    xlsx:
        Also write ``tables.xlsx`` (one sheet per table, openpyxl).
    paired:
        Use paired tests. Default (``None``): when the design has common random numbers
        (every regime ran with the same seed at each point and replicate).

    A difference is called meaningful only when it is significant and larger than the
    outcome's smallest effect of interest (:mod:`govsim.outcomes`); the equivalence test
    (TOST) marks "no meaningful difference". With varied parameters the report adds, per
    parameter, a regression (statsmodels OLS, ANOVA p) with CIs per regime
    (``parameter_effects.csv``) and per-regime curves; the tables are kept per point.
    """
    with use_language(lang):
        return _write_report(df, out_dir, metrics, params, group, test, correction,
                             rel_precision, title, alpha, confidence, max_points_inline,
                             max_comparison_rows, figures, formats, xlsx, paired)


def _write_report(df, out_dir, metrics, params, group, test, correction, rel_precision, title,
                  alpha, confidence, max_points_inline, max_comparison_rows, figures, formats,
                  xlsx, paired) -> dict[str, Path]:
    metrics = _as_list(metrics)
    params = _as_list(params)
    if not metrics:
        raise ValueError("no metrics given")
    _check_columns(df, [group], "group")
    _check_columns(df, params, "parameter")
    _check_columns(df, metrics, "metric")
    if df.empty:
        raise ValueError("the run table is empty")
    title = title or _("govsim experiment report", "govsim 实验报告")
    out = Path(out_dir)
    fig_dir = out / "figures"
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}

    cells = (["point"] if "point" in df.columns else []) + [p for p in params if p != "point"]
    n_points = len(df[cells].drop_duplicates()) if cells else 1
    multi = n_points > 1
    varied = [p for p in params if df[p].nunique(dropna=False) > 1]
    pair_by = _crn_pairing(df, group, cells if multi else [])
    if paired is False:
        pair_by = []

    fine = group_stats(df, metrics, by=[group, *cells], confidence=confidence)
    pooled = group_stats(df, metrics, by=[group], confidence=confidence)
    comps = compare(df, metrics, group=group, within=cells if multi else (), test=test,
                    correction=correction, alpha=alpha, confidence=confidence,
                    pair_by=pair_by)
    is_paired = bool(comps["paired"].any()) if len(comps) else False
    effects = parameter_effects(df, metrics, varied, group=group, confidence=confidence) \
        if varied else pd.DataFrame()
    warn = precision_warnings(fine, rel_precision=rel_precision)
    decimals = _decimals_by_metric(pooled, metrics)

    paths["group_stats"] = out / "group_stats.csv"
    fine.to_csv(paths["group_stats"], index=False)
    if multi:
        paths["group_stats_pooled"] = out / "group_stats_pooled.csv"
        pooled.to_csv(paths["group_stats_pooled"], index=False)
    paths["comparisons"] = out / "comparisons.csv"
    comps.to_csv(paths["comparisons"], index=False)
    if not effects.empty:
        paths["parameter_effects"] = out / "parameter_effects.csv"
        effects.to_csv(paths["parameter_effects"], index=False)
    if xlsx:
        try:
            paths["tables"] = out / "tables.xlsx"
            with pd.ExcelWriter(paths["tables"], engine="openpyxl") as xw:
                fine.to_excel(xw, sheet_name="group_stats", index=False)
                if multi:
                    pooled.to_excel(xw, sheet_name="group_stats_pooled", index=False)
                comps.to_excel(xw, sheet_name="comparisons", index=False)
                if not effects.empty:
                    effects.to_excel(xw, sheet_name="parameter_effects", index=False)
        except ImportError:
            paths.pop("tables", None)

    # ----------------------------------------------------------------- figures
    figs: list[tuple[str, Path]] = []
    if figures:
        hue = None
        if multi:
            cand = varied[0] if len(varied) == 1 else ("point" if not varied and cells else None)
            if cand is not None and df[cand].nunique() <= _MAX_HUE_LEVELS:
                hue = cand
        by_hue = group_stats(df, metrics, by=[group, hue], confidence=confidence) if hue else None

        def save(fig, p):
            plots.save_figure(fig, p, formats)

        for m in metrics:
            p = fig_dir / f"{m}_by_{group}.png"
            save(plots.metric_by_regime(by_hue if hue else pooled, m, group=group, hue=hue), p)
            figs.append((_(f"{label(m)} by {label(group).lower()}",
                           f"{label(m)}（按{label(group)}）"), p))
            paths[f"fig_{m}_by_{group}"] = p
        x, y = _pick(metrics, _TRADEOFF_X), _pick(metrics, _TRADEOFF_Y)
        if x and y:
            p = fig_dir / "tradeoff.png"
            save(plots.tradeoff(fine if multi else pooled, x=x, y=y,
                                size_or_color=_pick(metrics, _TRADEOFF_C), group=group), p)
            figs.append((_("Participation-resolution-cost trade-off", "参与—化解—成本权衡"), p))
            paths["fig_tradeoff"] = p
        for prm in varied:
            col = df[prm]
            if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
                continue
            st_p = group_stats(df, metrics, by=[group, prm], confidence=confidence)
            for m in metrics:
                p = fig_dir / f"{m}_vs_{prm}.png"
                save(plots.metric_vs_parameter(st_p, m, prm, group=group), p)
                figs.append((_(f"{label(m)} vs {label(prm)}", f"{label(m)}与{label(prm)}"), p))
                paths[f"fig_{m}_vs_{prm}"] = p

    # ----------------------------------------------------------------- Markdown
    conf_pct = f"{100 * confidence:g}%"
    groups = _levels(df[group])
    reps = df.groupby([group, *cells], dropna=False).size()
    md = [f"# {title}", "", _("## What was run", "## 运行内容"), ""]
    rep_range = f"{reps.min()}" + (f"-{reps.max()}" if reps.max() != reps.min() else "")
    md.append(_(f"- **{len(df)} runs**: {_plural(len(groups), group)} x "
                f"{_plural(n_points, 'parameter point')} x {rep_range} "
                f"replicate{'s' if reps.max() != 1 else ''} per {group} and point.",
                f"- **共 {len(df)} 次运行**：{len(groups)} 种{label(group)} x {n_points} 个参数点 x "
                f"每种{label(group)}每个参数点 {rep_range} 次重复。"))
    md.append(f"- {label(group)}: " + ", ".join(
        _(f"{label(g)} ({_plural(int((df[group] == g).sum()), 'run')})",
          f"{label(g)}（{int((df[group] == g).sum())} 次）") for g in groups) + ".")
    if varied:
        for p in varied:
            vals = _levels(df[p])
            md.append(_(f"- Parameter `{p}` ({label(p)}) takes {len(vals)} values: "
                        + ", ".join(map(str, vals)) + ".",
                        f"- 参数 `{p}`（{label(p)}）取 {len(vals)} 个值："
                        + "、".join(map(str, vals)) + "。"))
    else:
        md.append(_("- No parameters varied.", "- 没有变化的参数。") if n_points == 1
                  else _(f"- {n_points} parameter points (no parameter columns named).",
                         f"- {n_points} 个参数点（未指定参数列）。"))
    if "seed" in df.columns:
        seeds = df["seed"].nunique()
        sets = df.groupby([*cells, group], dropna=False)["seed"].agg(frozenset)
        same = len(groups) > 1 and (
            sets.groupby(level=list(range(len(cells)))).nunique().eq(1).all() if cells
            else sets.nunique() == 1
        )
        crn = _(f"; every {group} uses the same seeds at each point (common random numbers).",
                f"；各{label(group)}在每个参数点使用相同的随机种子（公共随机数）。")
        md.append(_(f"- {_plural(seeds, 'distinct seed')}", f"- {seeds} 个不同的随机种子")
                  + (crn if same else _(".", "。")))
    n_missing = int(df[metrics].isna().sum().sum())
    if n_missing:
        md.append(_(f"- {n_missing} missing metric values were left out (n counts what is left).",
                    f"- 忽略了 {n_missing} 个缺失值（n 为剩余数量）。"))
    pname = _p_name(correction)
    family = int(comps.attrs.get("family_size", 0))
    tname = _test_name(test, is_paired)
    if is_paired and not comps["paired"][np.isfinite(comps["p"])].all():
        tname += _(f" ({_test_name(test, False)} where the runs of a pair do not match one to "
                   "one; the `paired` column of comparisons.csv says which)",
                   f"（两组运行不能一一对应时用{_test_name(test, False)}；见 comparisons.csv 的 "
                   "`paired` 列）")
    if get_language() == "zh":
        md += ["", f"**方法。** 均值及其 {conf_pct} 置信区间（t 分布，自由度 n - 1，基于重复运行）。"
               f"{label(group)}两两比较" + ("（在每个参数点内）" if multi else "") + f"：{tname}；"
               + ("无法检验" if family == 0 else
                  f"p 值经 {_CORRECTION_NAMES[correction]} 方法在全部 {family} 个检验上校正"
                  if correction != "none" else "p 值未做多重检验校正")
               + f"；显著指 {pname} <= {alpha:g}。**只有统计显著且大于该指标的最小关注效应"
               "（见 govsim/outcomes.py，如参与率 1 个百分点、0-1 态度量表 0.02、成本 5%）的差异"
               "才称为有实际意义**；等效性检验（TOST，双单侧检验，同样校正）成立时报告“无实际差异”。"
               f"Hedges' g 为偏差校正的标准化差值，|g| > {G_CAP:g} 时只写 “> {G_CAP:g}”，"
               "重复间无变化时不报告。比例以 % 表示，其差值以百分点（pp）表示。"]
    else:
        md += ["", "**Methods.** Means with " + conf_pct + " confidence intervals from the t "
               "distribution (n - 1 degrees of freedom) over replicate runs. Pairwise comparisons "
               f"of {group} values" + (" within each parameter point" if multi else "") + ": "
               + tname + "; "
               + ("no test was possible" if family == 0 else
                  f"p-values adjusted with the {_CORRECTION_NAMES[correction]} method over the "
                  f"whole family of {_plural(family, 'test')} (all metrics x pairs"
                  + (" x points" if multi else "") + ")" if correction != "none"
                  else "p-values not adjusted for multiple testing")
               + f"; significant means {pname} <= {alpha:g}. **A difference is called meaningful "
               "only if it is significant and larger than the outcome's smallest effect of "
               "interest** (govsim/outcomes.py: e.g. 1 percentage point of participation, 0.02 "
               "on a 0-1 attitude scale, 5% of a cost); where the equivalence test (TOST, two "
               "one-sided tests against +/- that effect, adjusted the same way) holds, the "
               "report says \"no meaningful difference\"; otherwise a non-significant result is "
               "\"inconclusive\". `diff` = mean of b - mean of a; "
               "Hedges' g = bias-corrected standardised difference (b - a) / pooled SD, shown "
               f"as \"> {G_CAP:g}\" beyond {G_CAP:g} (the replicates then barely vary and g says "
               "nothing about importance) and not reported when the runs do not vary"
               + ("; Cliff's delta = P(b > a) - P(b < a)" if test == "mannwhitney" else "")
               + f". CIs of differences are per-comparison {conf_pct} intervals (not adjusted"
               " for multiple testing). Shares are in %, their differences in percentage "
               "points (pp)."]
    if test == "mannwhitney" and not comps.empty and not is_paired:
        na, nb = int(comps["n_a"].min()), int(comps["n_b"].min())
        if na and nb:
            floor = 2.0 / comb(na + nb, na)
            if floor > alpha:
                md[-1] += _(f" Note: with {na} and {nb} runs per group the smallest possible "
                            f"two-sided Mann-Whitney p is {floor:.3g} > {alpha:g}, so such "
                            "comparisons cannot be significant; add replicates.",
                            f" 注意：每组 {na} 和 {nb} 次运行时，双侧 Mann-Whitney 检验的最小"
                            f"可能 p 为 {floor:.3g} > {alpha:g}，不可能显著；请增加重复。")

    md += ["", _("## Key findings", "## 主要发现"), ""]
    found = [describe_finding(m, pooled, comps, group=group, n_points=n_points) for m in metrics]
    found = [f for f in found if f]
    md += [f"- {f}" for f in found] if found else [
        _(f"Only one {group}: nothing to compare.", f"只有一种{label(group)}：无可比较。")]

    md += ["", _(f"## Means with {conf_pct} confidence intervals",
                 f"## 均值及 {conf_pct} 置信区间"), ""]
    if multi:
        md += [_(f"Per {group}, pooled over the {n_points} parameter points (every run "
                 "weighted equally; the interval includes the spread between points). The "
                 "tables by parameter point and the parameter effects below do not pool.",
                 f"按{label(group)}合并 {n_points} 个参数点（每次运行权重相同；区间包含参数点之间"
                 "的差异）。下方按参数点的表格与参数效应不做合并。"), ""]
    md += [_means_table(pooled, metrics, group, decimals), ""]
    if multi and n_points <= max_points_inline:
        md += [_("### By parameter point", "### 按参数点"), ""]
        for t in _point_tables(fine, metrics, group, cells, decimals):
            md += [t, ""]
    elif multi:
        md += [_(f"Means per {group} and parameter point ({n_points} points): "
                 "see `group_stats.csv`.",
                 f"每种{label(group)}和参数点的均值（{n_points} 个点）：见 `group_stats.csv`。"), ""]

    if not effects.empty:
        md += [_("## Parameter effects", "## 参数效应"), "",
               _(f"Per {group}, an ordinary least-squares regression of each metric on the "
                 "varied parameters (statsmodels; numeric parameters linear, others as "
                 "categories). The effect is the change over the parameter's whole range "
                 f"(or a level's difference from the baseline) with its {conf_pct} CI; p from "
                 "the type II ANOVA F test. Meaningful = p <= 0.05 and the effect larger than "
                 "the smallest effect of interest.",
                 f"按{label(group)}，对每个指标做以变化参数为自变量的最小二乘回归（statsmodels；"
                 "数值参数为线性项，其他为分类项）。效应为参数在整个取值范围内的变化（或某水平相对"
                 f"基准的差异），附 {conf_pct} 置信区间；p 来自 II 型方差分析 F 检验。"
                 "有实际意义 = p <= 0.05 且效应大于最小关注效应。"), "",
               _effects_table(effects, group, metrics, decimals), ""]

    md += [_("## Pairwise comparisons", "## 两两比较"), ""]
    if comps.empty:
        md += [_(f"Only one {group}: no comparisons.", f"只有一种{label(group)}：无比较。"), ""]
    elif len(comps) <= max_comparison_rows:
        header, rows, align = _comparison_rows(comps, cells if multi else [], decimals,
                                               test == "mannwhitney")
        md += [f"p: {tname}; " + _(f"p adj.: {pname}.", f"校正 p：{pname}。"), "",
               _md_table(header, rows, align), ""]
    else:
        header, rows = _comparison_summary(comps, cells)
        md += [_(f"{len(comps)} comparisons (all in `comparisons.csv`); per metric and pair, "
                 "the number of parameter points where b is significantly higher / lower than "
                 f"a ({pname} <= {alpha:g}), and where the difference is meaningful or shown "
                 "to be negligible:",
                 f"共 {len(comps)} 个比较（全部见 `comparisons.csv`）；每个指标和组合中 b 显著"
                 f"高于/低于 a（{pname} <= {alpha:g}）、有实际意义或无实际差异的参数点数："), "",
               _md_table(header, rows, "lll" + "r" * 9), ""]

    md += [_("## Precision", "## 精度"), ""]
    if warn:
        md += [_(f"Cells (per {group} and point) whose {conf_pct} CI is wider than "
                 f"+/-{100 * rel_precision:g}% of the mean, or that have fewer than 3 "
                 "replicates:",
                 f"{conf_pct} 置信区间宽于均值 +/-{100 * rel_precision:g}%、或重复少于 3 次的单元"
                 "（以下说明为英文）："), ""]
        md += [f"- {w}" for w in warn[:_MAX_WARNINGS]]
        if len(warn) > _MAX_WARNINGS:
            md.append(f"- ... and {len(warn) - _MAX_WARNINGS} more (see `group_stats.csv`).")
    else:
        md.append(_(f"Every {conf_pct} CI half-width is within +/-{100 * rel_precision:g}% of "
                    "its mean.", f"所有 {conf_pct} 置信区间半宽均在均值的 "
                    f"+/-{100 * rel_precision:g}% 以内。"))
    md.append("")

    if figs:
        md += [_("## Figures", "## 图"), ""]
        for caption, p in figs:
            md += [f"![{caption}]({p.relative_to(out).as_posix()})", ""]

    md += [_("## Files", "## 文件"), ""]
    md += [f"- `{p.relative_to(out).as_posix()}`" for k, p in paths.items()
           if not k.startswith("fig_")]
    paths = {"report": out / "report.md", **paths}
    paths["report"].write_text("\n".join(md) + "\n", encoding="utf-8")
    return paths
