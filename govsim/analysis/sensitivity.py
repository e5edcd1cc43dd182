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

from govsim.outcomes import label


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
        ax.barh(y + h / 2, t["S1"], h, xerr=t["S1_conf"], label="first order (S1)", color="#4C72B0", capsize=3)
        ax.barh(y - h / 2, t["ST"], h, xerr=t["ST_conf"], label="total (ST)", color="#DD8452", capsize=3)
        ax.set_xlabel("Sobol index, 95% bootstrap CI (in theory a share of variance in [0, 1])")
        ax.axvline(0, color="grey", lw=0.8)
        ax.legend(loc="lower right", fontsize=8)
    else:
        ax.barh(y, t["mu_star"], xerr=t["mu_star_conf"], color="#4C72B0", capsize=3)
        ax.set_xlabel("Morris mu* (mean absolute elementary effect), 95% CI")
    ax.set_yticks(y, [label(p) for p in t["param"]])
    ax.set_title(f"{label(metric)} - {label(regime)}"
                 + ("\nunreliable: wide CIs or S1 > ST, see sensitivity.md" if unreliable else ""),
                 fontsize=10, color="#b22222" if unreliable else "black")
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
        msg = (f"bootstrap CIs are wide (up to +/-{conf:.2f}; indices are shares of variance "
               "in [0, 1]), so the ranking is unreliable")
        if n_base:
            need = n_base * (conf / TARGET_CI) ** 2
            rec = int(2 ** math.ceil(math.log2(max(need, n_base * 2))))
            msg += (f"; about N = {rec} base samples (now {n_base}) would bring them to "
                    f"+/-{TARGET_CI:g}")
        out.append(msg)
    bad = t[t["S1"] > t["ST"]]
    if len(bad):
        out.append("first-order index above the total index for "
                   + ", ".join(f"`{label(p)}` (S1 {a:.2f} > ST {b:.2f})"
                               for p, a, b in zip(bad["param"], bad["S1"], bad["ST"],
                                                  strict=True))
                   + ": impossible in theory, a sign of too few samples")
    over = t[t["ST"] > 1]
    if len(over):
        out.append("total index above 1 for " + ", ".join(f"`{label(p)}` ({v:.2f})" for p, v
                                                          in zip(over["param"], over["ST"],
                                                                 strict=True))
                   + ": estimation noise")
    return out


def top_parameter(t: pd.DataFrame, key: str) -> tuple[str | None, str]:
    """The most influential parameter by ``key`` if its CI clears the next one's, else
    ``None``, with a sentence saying which."""
    t = t.sort_values(key, ascending=False)
    if len(t) == 0:
        return None, "no indices"
    top = t.iloc[0]
    if len(t) == 1:
        return str(top["param"]), f"`{label(top['param'])}` is the only parameter"
    nxt = t.iloc[1]
    c1, c2 = float(top[f"{key}_conf"]), float(nxt[f"{key}_conf"])
    if np.isfinite(c1) and np.isfinite(c2) and top[key] - c1 > nxt[key] + c2:
        return str(top["param"]), (f"most influential is `{label(top['param'])}` ({key} = "
                                   f"{top[key]:.2f} +/- {c1:.2f}; its CI clears the next, "
                                   f"`{label(nxt['param'])}` {nxt[key]:.2f} +/- {c2:.2f})")
    return None, (f"no single most influential parameter can be named: the CIs of "
                  f"`{label(top['param'])}` ({top[key]:.2f} +/- {c1:.2f}) and "
                  f"`{label(nxt['param'])}` ({nxt[key]:.2f} +/- {c2:.2f}) overlap")


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
    lines = [f"# Sensitivity: {exp.name}", "",
             f"Design `{exp.spec.design}` with {len(exp.spec.parameters)} parameters, "
             f"{df['point'].nunique()} points x {exp.spec.replicates} replicates per regime "
             f"({len(df)} runs). Output per point = mean over its replicates. Intervals are "
             "95% bootstrap CIs (SALib).", ""]
    for regime in exp.regimes:
        for metric in metrics:
            t = table[(table["regime"] == regime) & (table["metric"] == metric)].sort_values(key, ascending=False)
            png = out / f"{regime}__{metric}.png"
            warns = sobol_warnings(t, n_base) if key == "ST" else []
            plot_indices(table, metric, regime, png, unreliable=bool(warns))
            paths[f"{regime}:{metric}"] = png
            _, sentence = top_parameter(t, key)
            lines.append(f"- **{label(metric)}** ({label(regime)}): {sentence}; ranking: "
                         + ", ".join(f"`{label(p)}` {v:.2f} +/- {c:.2f}" for p, v, c in
                                     zip(t["param"], t[key], t[f"{key}_conf"], strict=True))
                         + f". ![{metric}]({png.name})")
            for w in warns:
                lines.append(f"  - **Warning:** {w}.")
    paths["md"] = out / "sensitivity.md"
    paths["md"].write_text("\n".join(lines) + "\n")
    return paths
