"""Figures for experiment results, drawn from :func:`govsim.analysis.stats.group_stats` output.

Every function builds a :class:`matplotlib.figure.Figure` directly (no ``pyplot``), so it
works headless, never switches the backend of a running notebook and leaves no global figure
state behind. Each returns the Figure (a notebook displays it) and, given ``path``, also
saves it as an image (PNG by the file suffix).

Plain-language labels for metrics live in one dict, :data:`LABELS`; metrics in
:data:`PERCENT_METRICS` are shares in [0, 1] and are shown as percentages.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from govsim.analysis.stats import STAT_COLUMNS

__all__ = [
    "LABELS",
    "PERCENT_METRICS",
    "format_ci",
    "format_value",
    "label",
    "metric_by_regime",
    "metric_decimals",
    "metric_vs_parameter",
    "tradeoff",
]

#: Plain-language names of metrics and common parameters (units in brackets).
LABELS: dict[str, str] = {
    # participation
    "participation_rate": "Participation rate (active in last 30 days)",
    "mean_participation_rate": "Participation rate (mean over the run)",
    "meeting_attendance": "Meeting attendance (last meeting)",
    "volunteer_hours": "Volunteer hours",
    "ladder_level": "Participation ladder (1 informed .. 5 self-governing)",
    # conflict resolution
    "cases_arisen": "Cases arisen",
    "cases_detected": "Cases detected (screened)",
    "cases_resolved": "Cases resolved",
    "cases_lapsed": "Cases lapsed",
    "resolution_rate": "Resolution rate (resolved / arisen)",
    "screened_resolution_rate": "Resolution rate of screened cases (resolved / detected)",
    "self_resolution_share": "Share of resolved cases settled inside the community",
    "disputes_arisen": "Disputes arisen",
    "disputes_detected": "Disputes detected",
    "disputes_resolved": "Disputes resolved",
    "dispute_screened_resolution_rate": "Dispute resolution rate (resolved / detected)",
    "dispute_self_resolution_share": "Share of resolved disputes settled inside the community",
    "mean_days_to_resolution": "Days to resolution (mean)",
    "median_days_to_resolution": "Days to resolution (median)",
    "escalations": "Escalations",
    "collective_incidents": "Collective incidents",
    "unresolved_open": "Cases still open at the end",
    # cost
    "fiscal_spending": "Government spending (yuan)",
    "ngo_contract_spending": "NGO contract spending (yuan)",
    "ngo_grant_spending": "NGO grant spending (yuan)",
    "donations": "Donations (yuan)",
    "committee_staff_hours": "Committee staff hours",
    "resident_hours": "Residents' time (hours)",
    "resident_time_value": "Value of residents' time (yuan)",
    "cost_per_resolved_case": "Fiscal cost per resolved case (yuan)",
    "social_cost_per_resolved_case": "Social cost per resolved case (yuan)",
    # attitudes
    "mean_trust_gov": "Trust in government (mean)",
    "mean_trust_comm": "Trust in the community (mean)",
    "mean_belonging": "Sense of belonging (mean)",
    "mean_satisfaction": "Satisfaction (mean)",
    "ngos": "NGOs",
    "ngo_staff": "NGO staff",
    # parameters and grouping columns
    "regime": "Regime",
    "point": "Parameter point",
    "government.funding_rule": "Funding rule",
    "pilots.grid_management": "Grid management pilot",
    "pilots.grid_screening": "Grid screening probability",
    "pilots.ngo_outsourcing": "NGO outsourcing pilot",
    "pilots.deliberation_council": "Deliberation council pilot",
    "pilots.participatory_budget": "Participatory budget pilot",
}

#: Metrics that are shares in [0, 1]; shown as percentages in figures and text.
PERCENT_METRICS: frozenset[str] = frozenset({
    "participation_rate", "mean_participation_rate", "meeting_attendance",
    "resolution_rate", "screened_resolution_rate", "self_resolution_share",
    "dispute_screened_resolution_rate", "dispute_self_resolution_share",
})

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<", ">")
_FIGSIZE = (5.6, 3.6)
_DPI = 100


# --------------------------------------------------------------------------- labels, numbers


def label(name: str, axis: bool = False) -> str:
    """Plain-language label of a metric or parameter; ``axis=True`` adds "(%)" for shares.

    Unknown names fall back to the name with underscores as spaces (dotted parameter keys
    are kept as they are, so they can be found in the scenario file).
    """
    text = LABELS.get(name)
    if text is None:
        text = name if "." in name else name.replace("_", " ").capitalize()
    if axis and name in PERCENT_METRICS:
        text = text[:-1] + ", %)" if text.endswith(")") else text + " (%)"
    return text


def _scale(metric: str) -> float:
    return 100.0 if metric in PERCENT_METRICS else 1.0


def metric_decimals(metric: str, values) -> int:
    """Decimals that show a metric's typical value (median of the non-zero ``values``) with
    about three significant figures; shares (as percentages) get 1 decimal, 2 below 1 %."""
    v = np.abs(np.asarray(values, dtype=float))
    v = v[np.isfinite(v) & (v > 0)]
    if not v.size:
        return 1 if metric in PERCENT_METRICS else 0
    ref = float(np.median(v)) * _scale(metric)
    if metric in PERCENT_METRICS:
        return 1 if ref >= 1 else 2
    return int(min(4, max(0, 2 - math.floor(math.log10(ref)))))


def format_value(metric: str, value: float, decimals: int | None = None) -> str:
    """A metric value for text: shares as ``"32.0%"``, other values with thousands
    separators (``"1,234"``); NaN as ``"n/a"``."""
    if value is None or not np.isfinite(value):
        return "n/a"
    if decimals is None:
        decimals = metric_decimals(metric, [value])
    text = f"{value * _scale(metric):,.{decimals}f}"
    return text + "%" if metric in PERCENT_METRICS else text


def format_ci(metric: str, low: float, high: float, decimals: int | None = None) -> str:
    """A confidence interval for text: ``"31.1-32.9%"`` (en dash), or ``"-1.2 to 0.5"`` when
    a bound is negative; ``"n/a"`` when the interval is undefined."""
    if low is None or high is None or not (np.isfinite(low) and np.isfinite(high)):
        return "n/a"
    if decimals is None:
        decimals = metric_decimals(metric, [low, high])
    s = _scale(metric)
    lo, hi = f"{low * s:,.{decimals}f}", f"{high * s:,.{decimals}f}"
    unit = "%" if metric in PERCENT_METRICS else ""
    sep = "\u2013" if low >= 0 else " to "
    return f"{lo}{sep}{hi}{unit}"


# --------------------------------------------------------------------------- helpers


def _key_columns(stats_df: pd.DataFrame) -> list[str]:
    return [c for c in stats_df.columns if c not in STAT_COLUMNS]


def _metric_rows(stats_df: pd.DataFrame, metric: str) -> pd.DataFrame:
    sub = stats_df[stats_df["metric"] == metric]
    if sub.empty:
        raise KeyError(f"metric {metric!r} is not in the stats table")
    return sub


def _new_figure(figsize=_FIGSIZE) -> tuple[Figure, object]:
    fig = Figure(figsize=figsize, dpi=_DPI, layout="constrained")
    return fig, fig.subplots()


def _finish(fig: Figure, path: str | Path | None) -> Figure:
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=_DPI)
    return fig


def _err(series: pd.Series, scale: float) -> np.ndarray:
    """Half-widths for error bars; an undefined interval (n < 2) draws no bar."""
    return np.nan_to_num(series.to_numpy(dtype=float) * scale, nan=0.0)


def _levels(values: pd.Series, order: Sequence | None = None) -> list:
    present = list(pd.unique(values))
    if order is not None:
        return [v for v in order if v in present]
    return sorted(present, key=lambda v: (str(type(v)), v))


def _colours(k: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return [cmap(i % 10) for i in range(k)]


# --------------------------------------------------------------------------- figures


def metric_by_regime(
    stats_df: pd.DataFrame,
    metric: str,
    group: str = "regime",
    hue: str | None = None,
    path: str | Path | None = None,
    order: Sequence | None = None,
    title: str | None = None,
) -> Figure:
    """Mean of ``metric`` per group (default: per regime) as points with CI error bars.

    ``stats_df`` is :func:`group_stats` output with one row per group and metric, or, with
    ``hue`` (a parameter column), one row per group x ``hue`` value: the points are then
    coloured by the parameter and side by side. The bars are the intervals in ``stats_df``
    (95 % by default). Raises ``ValueError`` if a group has several rows and no ``hue``
    explains them (pool first with ``group_stats(df, metrics, by=group)``).
    """
    sub = _metric_rows(stats_df, metric)
    keys = [group] + ([hue] if hue else [])
    extra = [c for c in _key_columns(sub) if c not in keys]
    if sub.duplicated(keys).any():
        raise ValueError(
            f"several rows per {' x '.join(keys)} for {metric!r} (columns {extra} vary); "
            f"pass hue= or pool with group_stats(df, metrics, by={keys!r})"
        )
    s = _scale(metric)
    groups = _levels(sub[group], order)
    x = np.arange(len(groups))
    fig, ax = _new_figure()
    conf = stats_df.attrs.get("confidence", 0.95)
    if hue is None:
        rows = sub.set_index(group).loc[groups]
        ax.errorbar(x, rows["mean"] * s, yerr=_err(rows["half_width"], s), fmt="o",
                    color="#1f77b4", ecolor="#1f77b4", capsize=4, markersize=6)
        ticks = [f"{g}\n(n={int(n)})" for g, n in zip(groups, rows["n"], strict=True)]
    else:
        hues = _levels(sub[hue])
        width = 0.7
        step = width / max(len(hues), 1)
        for k, (h, colour) in enumerate(zip(hues, _colours(len(hues)), strict=True)):
            rows = sub[sub[hue] == h].set_index(group).reindex(groups)
            xs = x - width / 2 + step * (k + 0.5)
            ax.errorbar(xs, rows["mean"] * s, yerr=_err(rows["half_width"], s), fmt="o",
                        color=colour, capsize=3, markersize=5, label=f"{h}")
        ax.legend(title=label(hue), fontsize=8, title_fontsize=8, frameon=False,
                  loc="best")
        ticks = [str(g) for g in groups]
    ax.set_xticks(x, ticks, fontsize=9)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_xlabel(label(group), fontsize=9)
    ax.set_ylabel(label(metric, axis=True), fontsize=9)
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title or f"{label(metric)}\n(mean and {100 * conf:g}% CI)", fontsize=10)
    return _finish(fig, path)


def metric_vs_parameter(
    stats_df: pd.DataFrame,
    metric: str,
    param: str,
    group: str = "regime",
    path: str | Path | None = None,
    order: Sequence | None = None,
    title: str | None = None,
) -> Figure:
    """``metric`` against a numeric parameter: one line per group with a shaded CI band.

    ``stats_df`` needs one row per group x ``param`` value for the metric (e.g.
    ``group_stats(df, metrics, by=["regime", param])``, which averages over any other varied
    parameter); raises ``ValueError`` otherwise or if ``param`` is not numeric.
    """
    sub = _metric_rows(stats_df, metric)
    if param not in sub.columns:
        raise KeyError(f"parameter {param!r} is not a column of the stats table")
    if not pd.api.types.is_numeric_dtype(sub[param]) or pd.api.types.is_bool_dtype(sub[param]):
        raise ValueError(f"parameter {param!r} is not numeric; use metric_by_regime(hue=...)")
    if sub.duplicated([group, param]).any():
        raise ValueError(
            f"several rows per {group} x {param} for {metric!r}; pool first with "
            f"group_stats(df, metrics, by=[{group!r}, {param!r}])"
        )
    s = _scale(metric)
    fig, ax = _new_figure()
    groups = _levels(sub[group], order)
    conf = stats_df.attrs.get("confidence", 0.95)
    for k, (g, colour) in enumerate(zip(groups, _colours(len(groups)), strict=True)):
        rows = sub[sub[group] == g].sort_values(param)
        xv = rows[param].to_numpy(dtype=float)
        ax.plot(xv, rows["mean"] * s, marker=_MARKERS[k % len(_MARKERS)], color=colour,
                label=str(g), markersize=5, linewidth=1.5)
        ax.fill_between(xv, rows["ci_low"] * s, rows["ci_high"] * s, color=colour, alpha=0.2,
                        linewidth=0)
    ax.set_xlabel(label(param), fontsize=9)
    ax.set_ylabel(label(metric, axis=True), fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    ax.legend(title=label(group), fontsize=8, title_fontsize=8, frameon=False, loc="best")
    ax.set_title(title or f"{label(metric)} vs {label(param)}\n(mean, band: {100 * conf:g}% CI)",
                 fontsize=10)
    return _finish(fig, path)


def tradeoff(
    stats_df: pd.DataFrame,
    x: str = "mean_participation_rate",
    y: str = "resolution_rate",
    size_or_color: str | None = "cost_per_resolved_case",
    group: str = "regime",
    path: str | Path | None = None,
    order: Sequence | None = None,
    title: str | None = None,
) -> Figure:
    """The participation-resolution-cost trade-off: one point per row key of ``stats_df``
    (per regime, or per regime x parameter point), placed at the means of ``x`` and ``y``
    with CI whiskers in both directions, coloured by the mean of ``size_or_color`` (colour
    bar; ``None`` for no colour). Marker shape shows the group; with several points per
    group each point is annotated with its remaining key values (e.g. ``point=2``).
    """
    keys = _key_columns(stats_df)
    if group not in keys:
        raise KeyError(f"group column {group!r} is not in the stats table")
    wanted = [x, y] + ([size_or_color] if size_or_color else [])
    wide = None
    for m in dict.fromkeys(wanted):
        part = _metric_rows(stats_df, m).set_index(keys)[["mean", "half_width"]]
        part.columns = [f"mean:{m}", f"half_width:{m}"]
        wide = part if wide is None else wide.join(part, how="outer")
    wide = wide.reset_index()
    others = [k for k in keys if k != group]
    # Annotate by parameter values when there are any, else by the remaining keys (point).
    named = [k for k in others if k != "point"] or others
    several = wide.duplicated([group]).any()
    fig, ax = _new_figure(figsize=(6.0, 4.0))
    sx, sy = _scale(x), _scale(y)
    groups = _levels(wide[group], order)
    cvals = wide[f"mean:{size_or_color}"].to_numpy(dtype=float) if size_or_color else None
    norm = None
    if cvals is not None and np.isfinite(cvals).any():
        from matplotlib.colors import Normalize

        lo, hi = np.nanmin(cvals), np.nanmax(cvals)
        norm = Normalize(lo, hi if hi > lo else lo + 1.0)
    handles = []
    for k, g in enumerate(groups):
        sel = (wide[group] == g).to_numpy()
        rows = wide[sel]
        xm, ym = rows[f"mean:{x}"] * sx, rows[f"mean:{y}"] * sy
        ax.errorbar(xm, ym, xerr=_err(rows[f"half_width:{x}"], sx),
                    yerr=_err(rows[f"half_width:{y}"], sy), fmt="none", ecolor="#777777",
                    elinewidth=1, capsize=2, zorder=1)
        kw = {"c": cvals[sel], "cmap": "viridis", "norm": norm} if norm else {"c": "#1f77b4"}
        marker = _MARKERS[k % len(_MARKERS)]
        ax.scatter(xm, ym, marker=marker, s=55, edgecolors="black", linewidths=0.5, zorder=2,
                   **kw)
        handles.append(Line2D([], [], marker=marker, linestyle="none", markerfacecolor="white",
                              markeredgecolor="black", label=str(g)))
        for (_, r), xi, yi in zip(rows.iterrows(), xm, ym, strict=True):
            text = str(g) if not several else ", ".join(str(r[o]) for o in named)
            ann = ax.annotate(text, (xi, yi), xytext=(5, 4), textcoords="offset points",
                              fontsize=7)
            ann.set_in_layout(False)
    if norm is not None:
        from matplotlib.cm import ScalarMappable

        cbar = fig.colorbar(ScalarMappable(norm=norm, cmap="viridis"), ax=ax)
        cbar.set_label(label(size_or_color, axis=True), fontsize=8)
        cbar.ax.tick_params(labelsize=7)
    ax.set_xlabel(label(x, axis=True), fontsize=9)
    ax.set_ylabel(label(y, axis=True), fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    ax.margins(0.12)
    if several or len(groups) > 1:
        ax.legend(handles=handles, title=label(group), fontsize=7, title_fontsize=8,
                  frameon=False, loc="best")
    conf = stats_df.attrs.get("confidence", 0.95)
    points = f"; labels: {', '.join(named)}" if several else ""
    ax.set_title(title or f"Participation, resolution and cost\n(means, whiskers: "
                 f"{100 * conf:g}% CI{points})", fontsize=10)
    return _finish(fig, path)
