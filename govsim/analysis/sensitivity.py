"""Global sensitivity analysis with SALib: Sobol indices or Morris elementary effects.

Works on the results of an experiment whose design is ``sobol`` or ``morris``: the output
of each parameter point is the mean over its replicates (so replicate noise is averaged
before the indices are estimated), ordered as SALib sampled the points.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from govsim.fonts import apply_fonts
from govsim.outcomes import in_language, label

_ = in_language  # the text in the current language (``--lang``)


def _names(items) -> str:
    return _(", ", "、").join(items)


def _point_means(df: pd.DataFrame, metric: str, n_points: int) -> np.ndarray:
    y = df.groupby("point")[metric].mean().reindex(range(n_points))
    if y.isna().any():
        missing = int(y.isna().sum())
        raise ValueError(f"{missing} of {n_points} parameter points have no finished runs for {metric!r}")
    return y.to_numpy(dtype=float)


def indices(exp, df: pd.DataFrame, metrics: list[str], regimes: list[str] | None = None,
            conf_level: float = 0.95) -> pd.DataFrame:
    """Sensitivity indices per regime and metric, long format.

    Sobol: ``S1``, ``S1_conf``, ``ST``, ``ST_conf``. Morris: ``mu_star``, ``mu_star_conf``,
    ``sigma``, ``mu``. ``*_conf`` are half-widths of ``conf_level`` bootstrap intervals.
    """
    from govsim.experiment.design import salib_problem, sample_matrix

    design = exp.spec.design
    if design not in ("sobol", "morris"):
        raise ValueError(f"sensitivity needs a sobol or morris design, not {design!r}")
    problem = salib_problem(exp)
    X = sample_matrix(exp)
    seed = int(exp.spec.seed % (2**32))
    rows = []
    for regime in regimes or list(exp.regimes):
        sub = df[df["regime"] == regime]
        for metric in metrics:
            Y = _point_means(sub, metric, len(X))
            if design == "sobol":
                from SALib.analyze import sobol

                res = sobol.analyze(problem, Y, calc_second_order=exp.spec.second_order,
                                    conf_level=conf_level, seed=seed)
                for i, name in enumerate(problem["names"]):
                    rows.append({"regime": regime, "metric": metric, "method": "sobol", "param": name,
                                 "S1": res["S1"][i], "S1_conf": res["S1_conf"][i],
                                 "ST": res["ST"][i], "ST_conf": res["ST_conf"][i]})
            else:
                from SALib.analyze import morris

                res = morris.analyze(problem, X, Y, conf_level=conf_level, num_levels=exp.spec.num_levels,
                                     seed=seed)
                for i, name in enumerate(problem["names"]):
                    rows.append({"regime": regime, "metric": metric, "method": "morris", "param": name,
                                 "mu": res["mu"][i], "mu_star": res["mu_star"][i],
                                 "mu_star_conf": res["mu_star_conf"][i], "sigma": res["sigma"][i]})
    return pd.DataFrame(rows)


def plot_indices(table: pd.DataFrame, metric: str, regime: str, path: str | Path | None = None,
                 unreliable: bool = False):
    """Bar plot of the indices of one metric with their confidence intervals (marked as
    unreliable in the title when :func:`sobol_warnings` found problems)."""
    from matplotlib.figure import Figure

    t = table[(table["metric"] == metric) & (table["regime"] == regime)]
    fig = Figure(figsize=(6.4, 0.6 + 0.55 * max(len(t), 1)), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(t))
    if (t["method"] == "sobol").all():
        h = 0.38
        ax.barh(y + h / 2, t["S1"], h, xerr=t["S1_conf"], label=_("first order (S1)", "一阶指数（S1）"),
                color="#4C72B0", capsize=3)
        ax.barh(y - h / 2, t["ST"], h, xerr=t["ST_conf"], label=_("total (ST)", "总效应指数（ST）"),
                color="#DD8452", capsize=3)
        ax.set_xlabel(_("Sobol index, 95% bootstrap CI (in theory a share of variance in [0, 1])",
                        "Sobol 指数，95% 自助法置信区间（理论上为方差占比，介于 0 与 1 之间）"))
        ax.axvline(0, color="grey", lw=0.8)
        ax.legend(loc="lower right", fontsize=8)
    else:
        ax.barh(y, t["mu_star"], xerr=t["mu_star_conf"], color="#4C72B0", capsize=3)
        ax.set_xlabel(_("Morris mu* (mean absolute elementary effect), 95% CI",
                        "Morris μ*（基本效应绝对值的均值），95% 置信区间"))
    ax.set_yticks(y, [label(p) for p in t["param"]])
    ax.set_title(f"{label(metric)} - {label(regime)}"
                 + (_("\nunreliable: wide CIs or S1 > ST, see sensitivity.md",
                        "\n不可靠：置信区间过宽或 S1 > ST，见 sensitivity.md") if unreliable else ""),
                 fontsize=10, color="#b22222" if unreliable else "black")
    apply_fonts(fig)
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


#: A Sobol index CI half-width above this is called wide.
WIDE_CI = 0.1
#: Half-width a recommended sample size aims at.
TARGET_CI = 0.05


def sobol_warnings(t: pd.DataFrame, n_base: int | None = None) -> list[str]:
    """Honesty checks of one regime x metric block of Sobol indices (:func:`indices` rows).

    Warns when bootstrap CIs are wide (half-width > :data:`WIDE_CI`), when a first-order index
    exceeds its total index (impossible in theory: the estimate is unreliable) or a total
    index exceeds 1, and recommends a base sample size N (a power of two) that would bring
    the widest CI to about +/-:data:`TARGET_CI` (CI width falls as 1 / sqrt(N)).
    """
    out = []
    conf = np.nanmax(t[["S1_conf", "ST_conf"]].to_numpy(dtype=float)) if len(t) else np.nan
    if np.isfinite(conf) and conf > WIDE_CI:
        msg = _(f"bootstrap CIs are wide (up to +/-{conf:.2f}; indices are shares of variance "
                "in [0, 1]), so the ranking is unreliable",
                f"自助法置信区间过宽（半宽最大 +/-{conf:.2f}；指数为方差占比，介于 0 与 1 之间），"
                "排序不可靠")
        if n_base:
            need = n_base * (conf / TARGET_CI) ** 2
            rec = int(2 ** math.ceil(math.log2(max(need, n_base * 2))))
            msg += _(f"; about N = {rec} base samples (now {n_base}) would bring them to "
                     f"+/-{TARGET_CI:g}",
                     f"；建议基础样本量约 N = {rec}（目前为 {n_base}），可使半宽降至 "
                     f"+/-{TARGET_CI:g}")
        out.append(msg)
    bad = t[t["S1"] > t["ST"]]
    if len(bad):
        which = _names(_(f"`{label(p)}` (S1 {a:.2f} > ST {b:.2f})",
                         f"`{label(p)}`（S1 {a:.2f} > ST {b:.2f}）")
                       for p, a, b in zip(bad["param"], bad["S1"], bad["ST"], strict=True))
        out.append(_(f"first-order index above the total index for {which}: impossible in "
                     "theory, a sign of too few samples",
                     f"{which}的一阶指数高于总效应指数：理论上不可能，说明样本太少"))
    over = t[t["ST"] > 1]
    if len(over):
        which = _names(_(f"`{label(p)}` ({v:.2f})", f"`{label(p)}`（{v:.2f}）")
                       for p, v in zip(over["param"], over["ST"], strict=True))
        out.append(_(f"total index above 1 for {which}: estimation noise",
                     f"{which}的总效应指数大于 1：估计噪声所致"))
    return out


def top_parameter(t: pd.DataFrame, key: str) -> tuple[str | None, str]:
    """The most influential parameter by ``key`` if its CI clears the next one's, else
    ``None``, with a sentence saying which."""
    t = t.sort_values(key, ascending=False)
    if len(t) == 0:
        return None, _("no indices", "没有指数")
    top = t.iloc[0]
    if len(t) == 1:
        return str(top["param"]), _(f"`{label(top['param'])}` is the only parameter",
                                    f"`{label(top['param'])}` 是唯一的参数")
    nxt = t.iloc[1]
    c1, c2 = float(top[f"{key}_conf"]), float(nxt[f"{key}_conf"])
    if np.isfinite(c1) and np.isfinite(c2) and top[key] - c1 > nxt[key] + c2:
        return str(top["param"]), _(
            f"most influential is `{label(top['param'])}` ({key} = {top[key]:.2f} +/- {c1:.2f}; "
            f"its CI clears the next, `{label(nxt['param'])}` {nxt[key]:.2f} +/- {c2:.2f})",
            f"影响最大的参数是 `{label(top['param'])}`（{key} = {top[key]:.2f} +/- {c1:.2f}；"
            f"其置信区间与次位的 `{label(nxt['param'])}`（{nxt[key]:.2f} +/- {c2:.2f}）不重叠）")
    return None, _(
        f"no single most influential parameter can be named: the CIs of "
        f"`{label(top['param'])}` ({top[key]:.2f} +/- {c1:.2f}) and "
        f"`{label(nxt['param'])}` ({nxt[key]:.2f} +/- {c2:.2f}) overlap",
        f"无法认定唯一影响最大的参数：`{label(top['param'])}`（{top[key]:.2f} +/- {c1:.2f}）与 "
        f"`{label(nxt['param'])}`（{nxt[key]:.2f} +/- {c2:.2f}）的置信区间重叠")


def write_sensitivity(exp, df: pd.DataFrame, out_dir: str | Path, metrics: list[str]) -> dict[str, Path]:
    """Indices table (CSV), one bar plot per regime x metric, and a short Markdown summary
    that warns about wide CIs and impossible indices, recommends a sample size and names a
    most influential parameter only when its CI clears the next one's."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = indices(exp, df, metrics)
    paths = {"csv": out / "sensitivity.csv"}
    table.to_csv(paths["csv"], index=False)
    key = "ST" if exp.spec.design == "sobol" else "mu_star"
    n_base = getattr(exp.spec, "samples", None)
    n_par, n_pt, n_rep = len(exp.spec.parameters), df["point"].nunique(), exp.spec.replicates
    lines = [_(f"# Sensitivity: {exp.name}", f"# 敏感性分析：{exp.name}"), "",
             _(f"Design `{exp.spec.design}` with {n_par} parameters, {n_pt} points x {n_rep} "
               f"replicates per regime ({len(df)} runs). Output per point = mean over its "
               "replicates. Intervals are 95% bootstrap CIs (SALib).",
               f"设计 `{exp.spec.design}`：{n_par} 个参数，每种模式 {n_pt} 个参数点 x 每点 "
               f"{n_rep} 次重复（共 {len(df)} 次运行）。每个参数点的输出为其各次重复的均值。"
               "区间为 95% 自助法置信区间（SALib）。"), ""]
    for regime in exp.regimes:
        for metric in metrics:
            t = table[(table["regime"] == regime) & (table["metric"] == metric)].sort_values(key, ascending=False)
            png = out / f"{regime}__{metric}.png"
            warns = sobol_warnings(t, n_base) if key == "ST" else []
            plot_indices(table, metric, regime, png, unreliable=bool(warns))
            paths[f"{regime}:{metric}"] = png
            _top, sentence = top_parameter(t, key)
            ranking = _names(f"`{label(p)}` {v:.2f} +/- {c:.2f}" for p, v, c in
                             zip(t["param"], t[key], t[f"{key}_conf"], strict=True))
            lines.append(_(f"- **{label(metric)}** ({label(regime)}): {sentence}; ranking: "
                           f"{ranking}. ![{metric}]({png.name})",
                           f"- **{label(metric)}**（{label(regime)}）：{sentence}；排序："
                           f"{ranking}。![{metric}]({png.name})"))
            for w in warns:
                lines.append(_(f"  - **Warning:** {w}.", f"  - **警告：**{w}。"))
    paths["md"] = out / "sensitivity.md"
    paths["md"].write_text("\n".join(lines) + "\n")
    return paths
