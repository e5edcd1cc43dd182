"""Global sensitivity analysis with SALib: Sobol indices or Morris elementary effects.

Works on the results of an experiment whose design is ``sobol`` or ``morris``: the output
of each parameter point is the mean over its replicates (so replicate noise is averaged
before the indices are estimated), ordered as SALib sampled the points.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from govsim.analysis.plots import label


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


def plot_indices(table: pd.DataFrame, metric: str, regime: str, path: str | Path | None = None):
    """Bar plot of the indices of one metric with their confidence intervals."""
    from matplotlib.figure import Figure

    t = table[(table["metric"] == metric) & (table["regime"] == regime)]
    fig = Figure(figsize=(6.4, 0.6 + 0.55 * max(len(t), 1)), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(t))
    if (t["method"] == "sobol").all():
        h = 0.38
        ax.barh(y + h / 2, t["S1"], h, xerr=t["S1_conf"], label="first order (S1)", color="#4C72B0", capsize=3)
        ax.barh(y - h / 2, t["ST"], h, xerr=t["ST_conf"], label="total (ST)", color="#DD8452", capsize=3)
        ax.set_xlabel("Sobol index (share of output variance), 95% CI")
        ax.axvline(0, color="grey", lw=0.8)
        ax.legend(loc="lower right", fontsize=8)
    else:
        ax.barh(y, t["mu_star"], xerr=t["mu_star_conf"], color="#4C72B0", capsize=3)
        ax.set_xlabel("Morris mu* (mean absolute elementary effect), 95% CI")
    ax.set_yticks(y, t["param"])
    ax.set_title(f"{label(metric)} - {regime}", fontsize=10)
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


def write_sensitivity(exp, df: pd.DataFrame, out_dir: str | Path, metrics: list[str]) -> dict[str, Path]:
    """Indices table (CSV), one bar plot per regime x metric, and a short Markdown summary."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = indices(exp, df, metrics)
    paths = {"csv": out / "sensitivity.csv"}
    table.to_csv(paths["csv"], index=False)
    key = "ST" if exp.spec.design == "sobol" else "mu_star"
    lines = [f"# Sensitivity: {exp.name}", "",
             f"Design `{exp.spec.design}` with {len(exp.spec.parameters)} parameters, "
             f"{df['point'].nunique()} points x {exp.spec.replicates} replicates per regime "
             f"({len(df)} runs). Output per point = mean over its replicates.", ""]
    for regime in exp.regimes:
        for metric in metrics:
            t = table[(table["regime"] == regime) & (table["metric"] == metric)].sort_values(key, ascending=False)
            png = out / f"{regime}__{metric}.png"
            plot_indices(table, metric, regime, png)
            paths[f"{regime}:{metric}"] = png
            top = t.iloc[0]
            conf = top[f"{key}_conf"]
            lines.append(f"- **{label(metric)}** ({regime}): most influential is `{top['param']}` "
                         f"({key} = {top[key]:.2f} +/- {conf:.2f}); ranking: "
                         + ", ".join(f"`{p}` {v:.2f}" for p, v in zip(t["param"], t[key], strict=True))
                         + f". ![{metric}]({png.name})")
    paths["md"] = out / "sensitivity.md"
    paths["md"].write_text("\n".join(lines) + "\n")
    return paths
