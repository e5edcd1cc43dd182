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
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from govsim.analysis.stats import STAT_COLUMNS
from govsim.fonts import apply_fonts
from govsim.outcomes import OUTCOMES, TERMS, in_language, is_share, outcome, use_language
from govsim.outcomes import label as _label

__all__ = [
    "LABELS",
    "PERCENT_METRICS",
    "format_ci",
    "format_value",
    "label",
    "metric_by_regime",
    "metric_decimals",
    "metric_vs_parameter",
    "save_figure",
    "time_series",
    "tradeoff",
]

class _Labels(Mapping):
    """English display names from the outcome registry (read-only, for compatibility)."""

    def _names(self):
        return list(OUTCOMES) + list(TERMS)

    def __getitem__(self, key):
        if key in OUTCOMES or key in TERMS:
            return _label(key, "en")
        raise KeyError(key)

    def __iter__(self):
        return iter(self._names())

    def __len__(self):
        return len(self._names())


#: English display names of metrics and parameters (from :mod:`govsim.outcomes`).
LABELS: Mapping[str, str] = _Labels()

#: Metrics that are shares in [0, 1] when this module was imported; use
#: :func:`govsim.outcomes.is_share` for outcomes registered later.
PERCENT_METRICS: frozenset[str] = frozenset(n for n, o in OUTCOMES.items() if o.kind == "share")
#: Kinds whose axis starts at zero (amounts that cannot be negative).
ZERO_BASED_KINDS = frozenset({"share", "money", "count", "hours", "days"})

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<", ">")
_FIGSIZE = (5.6, 3.6)
_DPI = 100


# --------------------------------------------------------------------------- labels, numbers


def label(name: str, axis: bool = False, lang: str | None = None) -> str:
    """Display label of a metric, regime or parameter from :mod:`govsim.outcomes` in ``lang``
    (default: the current language); ``axis=True`` adds "(%)" for shares.

    Unknown names fall back to the name itself (so they can be found in the data).
    """
    text = _label(name, lang)
    if axis and is_share(name):
        if text.endswith(")") or text.endswith("）"):
            close = text[-1]
            text = text[:-1] + (", %" if close == ")" else "，%") + close
        else:
            text = text + " (%)"
    return text


def _wrap(text: str, width: int = 52) -> str:
    """Wrap a title so that it fits the figure (CJK text at half the width)."""
    import textwrap

    if any(ord(ch) > 0x2E80 for ch in text):
        width = width // 2 + 4
        lines = []
        for para in text.split("\n"):
            lines += [para[i:i + width] for i in range(0, len(para), width)] or [""]
        return "\n".join(lines)
    return "\n".join(textwrap.fill(p, width) for p in text.split("\n"))


def _zero_based(metric: str) -> bool:
    o = outcome(metric)
    return o is not None and o.kind in ZERO_BASED_KINDS


def _floor_at_zero(ax, metric: str, values=()) -> None:
    """Start the y axis at zero for shares, money, counts, hours and days (if all values are
    non-negative), so that a small gap is not drawn as a large one."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    o = outcome(metric)
    if _zero_based(metric) and (not v.size or v.min() >= 0):
        ax.set_ylim(bottom=0.0)
    elif o is not None and o.kind == "attitude" and (not v.size or (v.min() >= 0 and v.max() <= 1)):
        ax.set_ylim(0.0, 1.0)  # the whole 0-1 scale: a 0.008 gap looks as small as it is
    else:
        lo = ax.get_ylim()[0]
        if lo > 0:  # mark the broken axis
            ax.annotate(_t(f"axis starts at {lo:.3g}", f"纵轴起点 {lo:.3g}"), (0, 0),
                        xycoords="axes fraction", xytext=(2, 2), textcoords="offset points",
                        fontsize=7, color="#b22222")
            ax.plot([0, 0.02], [0.01, 0.03], transform=ax.transAxes, color="#b22222",
                    lw=1, clip_on=False)
            ax.plot([0, 0.02], [0.03, 0.05], transform=ax.transAxes, color="#b22222",
                    lw=1, clip_on=False)


def _scale(metric: str) -> float:
    return 100.0 if is_share(metric) else 1.0


def metric_decimals(metric: str, values) -> int:
    """Decimals that show a metric's typical value (median of the non-zero ``values``) with
    about three significant figures; shares (as percentages) get 1 decimal, 2 below 1 %."""
    v = np.abs(np.asarray(values, dtype=float))
    v = v[np.isfinite(v) & (v > 0)]
    if not v.size:
        return 1 if is_share(metric) else 0
    ref = float(np.median(v)) * _scale(metric)
    if is_share(metric):
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
    return text + "%" if is_share(metric) else text


def format_ci(metric: str, low: float, high: float, decimals: int | None = None) -> str:
    """A confidence interval for text: ``"31.1-32.9%"`` (en dash), or ``"-1.2 to 0.5"`` when
    a bound is negative; ``"n/a"`` when the interval is undefined."""
    if low is None or high is None or not (np.isfinite(low) and np.isfinite(high)):
        return "n/a"
    if decimals is None:
        decimals = metric_decimals(metric, [low, high])
    s = _scale(metric)
    lo, hi = f"{low * s:,.{decimals}f}", f"{high * s:,.{decimals}f}"
    unit = "%" if is_share(metric) else ""
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


_t = in_language  # the text in the current language


def _in_language(func):
    """Let a figure function take ``lang=`` ("en"/"zh"; default: the current language)."""
    import functools

    @functools.wraps(func)
    def wrapper(*args, lang: str | None = None, **kwargs):
        with use_language(lang):
            return func(*args, **kwargs)

    return wrapper


def save_figure(fig: Figure, path: str | Path, formats: Sequence[str] = ()) -> list[Path]:
    """Save ``fig`` at ``path`` and, for each extra format (``"svg"``, ``"pdf"``), beside it
    with that suffix. Returns the files written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in dict.fromkeys([path.suffix.lstrip(".") or "png", *formats]):
        p = path.with_suffix("." + fmt)
        fig.savefig(p, dpi=_DPI, metadata={"Date": None} if fmt == "svg" else None)
        written.append(p)
    return written


def _finish(fig: Figure, path: str | Path | None) -> Figure:
    apply_fonts(fig)
    if path is not None:
        save_figure(fig, path)
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


@_in_language
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
        ticks = [f"{_wrap(label(g), 18)}\n(n={int(n)})" for g, n in zip(groups, rows["n"], strict=True)]
        lows = (rows["ci_low"] * s).to_numpy(dtype=float)
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
        ticks = [_wrap(label(g), 18) for g in groups]
        lows = (sub["ci_low"] * s).to_numpy(dtype=float)
    ax.set_xticks(x, ticks, fontsize=9)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_xlabel(label(group), fontsize=9)
    ax.set_ylabel(_wrap(label(metric, axis=True), 38), fontsize=9)
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(axis="y", alpha=0.3)
    _floor_at_zero(ax, metric, lows)
    ax.set_title(_wrap(title or label(metric) + _t(f"\n(mean and {100 * conf:g}% CI)",
                                                   f"\n（均值及{100 * conf:g}%置信区间）")),
                 fontsize=10)
    return _finish(fig, path)


@_in_language
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
                label=label(g), markersize=5, linewidth=1.5)
        ax.fill_between(xv, rows["ci_low"] * s, rows["ci_high"] * s, color=colour, alpha=0.2,
                        linewidth=0)
    ax.set_xlabel(label(param), fontsize=9)
    ax.set_ylabel(_wrap(label(metric, axis=True), 38), fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    ax.legend(title=label(group), fontsize=8, title_fontsize=8, frameon=False, loc="best")
    _floor_at_zero(ax, metric, sub["ci_low"].to_numpy(dtype=float) * s)
    ax.set_title(_wrap(title or _t(f"{label(metric)} vs {label(param)}\n(mean, band: "
                                   f"{100 * conf:g}% CI)",
                                   f"{label(metric)}与{label(param)}\n（均值，阴影："
                                   f"{100 * conf:g}%置信区间）")),
                 fontsize=10)
    return _finish(fig, path)


@_in_language
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
                              markeredgecolor="black", label=label(g)))
        for (_, r), xi, yi in zip(rows.iterrows(), xm, ym, strict=True):
            text = label(g) if not several else ", ".join(str(r[o]) for o in named)
            ann = ax.annotate(text, (xi, yi), xytext=(5, 4), textcoords="offset points",
                              fontsize=7)
            ann.set_in_layout(False)
    if norm is not None:
        from matplotlib.cm import ScalarMappable

        cbar = fig.colorbar(ScalarMappable(norm=norm, cmap="viridis"), ax=ax)
        cbar.set_label(_wrap(label(size_or_color, axis=True), 38), fontsize=8)
        cbar.ax.tick_params(labelsize=7)
    ax.set_xlabel(_wrap(label(x, axis=True), 60), fontsize=9)
    ax.set_ylabel(_wrap(label(y, axis=True), 38), fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    ax.margins(0.12)
    if several or len(groups) > 1:
        ax.legend(handles=handles, title=label(group), fontsize=7, title_fontsize=8,
                  frameon=False, loc="best")
    conf = stats_df.attrs.get("confidence", 0.95)
    points = f"; labels: {', '.join(named)}" if several else ""
    ax.set_title(_wrap(title or _t(f"Participation, resolution and cost\n(means, whiskers: "
                                   f"{100 * conf:g}% CI{points})",
                                   f"参与、化解与成本\n（均值，误差线：{100 * conf:g}%置信区间"
                                   f"{points}）"), 60), fontsize=10)
    return _finish(fig, path)


@_in_language
def time_series(
    series: pd.DataFrame,
    metrics: Sequence[str],
    path: str | Path | None = None,
    previous: pd.DataFrame | None = None,
    title: str | None = None,
) -> Figure:
    """Daily values of ``metrics`` from a run's ``series`` table (``day`` on the x axis), one
    panel per metric; ``previous`` (another run's series) is drawn dashed for comparison."""
    metrics = [m for m in metrics if m in series.columns]
    if not metrics:
        raise KeyError("none of the metrics is a column of the series")
    cols = 2 if len(metrics) > 1 else 1
    rows = math.ceil(len(metrics) / cols)
    fig = Figure(figsize=(5.2 * cols, 2.8 * rows + 0.4), dpi=_DPI, layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    day = series["day"] if "day" in series.columns else pd.Series(range(len(series)))
    for ax, m in zip(axes, metrics, strict=False):
        s = _scale(m)
        ax.plot(day, series[m] * s, color="#1f77b4", lw=1.6, label=_t("this run", "本次运行"))
        if previous is not None and m in previous.columns:
            pday = previous["day"] if "day" in previous.columns else range(len(previous))
            ax.plot(pday, previous[m] * s, color="#888888", lw=1.2, ls="--",
                    label=_t("previous run", "上一次运行"))
            ax.legend(fontsize=9, frameon=False)
        ax.set_title(_wrap(label(m, axis=True), 50), fontsize=10)
        ax.set_xlabel(label("day"), fontsize=9)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
        _floor_at_zero(ax, m, series[m].to_numpy(dtype=float) * s)
    for ax in axes[len(metrics):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(_wrap(title, 90), fontsize=11)
    return _finish(fig, path)
