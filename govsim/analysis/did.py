"""Difference-in-differences and event studies of treatment designs (statsmodels).

The data is a monthly panel, one row per community and month (30-day months), built from a
run's daily per-community series (:func:`monthly_panel`). For one replicate (one randomised
design):

* **DiD**: ``y ~ treated_post + community dummies + month dummies`` by OLS
  (``statsmodels.OLS``), standard errors clustered by community (``cov_type="cluster"``);
  the coefficient of ``treated_post`` is the effect.
* **Event study**: the same with one dummy per month relative to the start, for the treated
  (the month before the start is the reference); pre-period coefficients are the
  parallel-trends diagnostic (they should be near 0).
* **Heterogeneity**: ``treated_post`` interacted with a community property (standardised),
  clustered the same way.

Across replicates (the design redrawn from each replicate's seed), the report gives the mean
effect with a t-interval over replicates, the share of replicates whose CI excludes 0, and
each replicate's estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

MONTH = 30
# Panel outcomes: name -> (label, unit, how a month is aggregated from the daily series).
OUTCOMES = {
    "participation_rate": ("participation rate", "share", "mean"),
    "resolution_rate": ("resolution rate (resolved / arisen in the month)", "share", "ratio"),
    "days_to_resolution": ("days to resolution", "days", "ratio"),
    "handler_hours": ("handler hours per month (cost of handling)", "hours", "sum"),
    "mean_satisfaction": ("satisfaction", "0-1", "last"),
    "mean_trust_gov": ("trust in government", "0-1", "last"),
    "mean_trust_comm": ("trust in the community", "0-1", "last"),
    "incidents": ("collective incidents per month", "count", "sum"),
    "local_migrant_satisfaction_gap": ("local-migrant satisfaction gap", "0-1", "last"),
}
PROPERTIES = ("households", "migrant_share", "relocated_share")


def monthly_panel(series: pd.DataFrame, treated: np.ndarray, start_day: int,
                  props: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """Daily per-community series -> one row per community and month, with ``treated``,
    ``post`` (month starts on or after the start), ``rel_month`` (months since the start's
    month) and the community properties."""
    s = series.assign(month=series["day"] // MONTH)
    g = s.groupby(["community", "month"], sort=True)
    out = g.agg(
        participation_rate=("participation_rate", "mean"),
        cases_arisen=("cases_arisen", "sum"),
        cases_resolved=("cases_resolved", "sum"),
        resolution_days=("resolution_days", "sum"),
        handler_hours=("handler_hours", "sum"),
        incidents=("incidents", "sum"),
        mean_satisfaction=("mean_satisfaction", "last"),
        mean_trust_gov=("mean_trust_gov", "last"),
        mean_trust_comm=("mean_trust_comm", "last"),
        local_migrant_satisfaction_gap=("local_migrant_satisfaction_gap", "last"),
        days=("day", "size"),
    ).reset_index()
    out = out[out["days"] == MONTH].drop(columns="days")  # whole months only
    with np.errstate(invalid="ignore", divide="ignore"):
        out["resolution_rate"] = out["cases_resolved"] / out["cases_arisen"].where(out["cases_arisen"] > 0)
        out["days_to_resolution"] = out["resolution_days"] / out["cases_resolved"].where(out["cases_resolved"] > 0)
    start_month = start_day // MONTH
    out["treated"] = np.asarray(treated, dtype=bool)[out["community"].to_numpy()]
    out["post"] = out["month"] >= start_month
    out["treated_post"] = (out["treated"] & out["post"]).astype(float)
    out["rel_month"] = out["month"] - start_month
    for k, v in (props or {}).items():
        out[k] = np.asarray(v, dtype=float)[out["community"].to_numpy()]
    return out.reset_index(drop=True)


def _fit(data: pd.DataFrame, outcome: str, terms: list[str]):
    """OLS of ``outcome`` on ``terms`` with community and month fixed effects, standard
    errors clustered by community (statsmodels ``OLS(...).fit(cov_type="cluster")``).

    Community effects are absorbed by demeaning within community (Frisch-Waugh-Lovell: the
    same coefficients and residuals as with community dummies; the effects are nested in the
    clusters, so, as in ``xtreg, fe`` or linearmodels' ``PanelOLS``, they are not counted in
    the small-sample correction); month effects are dummies."""
    import statsmodels.api as sm

    month = pd.get_dummies(data["month"], prefix="m", drop_first=True, dtype=float)
    X = pd.concat([data[terms].astype(float), month], axis=1)
    y = data[outcome].astype(float)
    g = data["community"].to_numpy()
    Xd = X - X.groupby(g).transform("mean")
    yd = y - y.groupby(g).transform("mean")
    keep = Xd.columns[(Xd.abs() > 1e-12).any()]  # a dummy constant within every community drops out
    import warnings

    with warnings.catch_warnings():  # a rare outcome (one incident) can leave a variance < 0: SE NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        res = sm.OLS(yd, Xd[keep]).fit(cov_type="cluster", cov_kwds={"groups": g})
        _ = res.bse  # computed (and cached) here, inside the filter
    return res


def did(panel: pd.DataFrame, outcome: str, alpha: float = 0.05) -> dict:
    """Two-way fixed-effects DiD for one replicate: effect, clustered SE, CI, p."""
    d = panel.dropna(subset=[outcome])
    res = _fit(d, outcome, ["treated_post"])
    lo, hi = res.conf_int(alpha).loc["treated_post"]
    return {"outcome": outcome, "effect": float(res.params["treated_post"]), "se": float(res.bse["treated_post"]),
            "ci_low": float(lo), "ci_high": float(hi), "p": float(res.pvalues["treated_post"]),
            "n_obs": int(res.nobs), "n_clusters": int(d["community"].nunique()),
            "control_pre_mean": float(d.loc[~d["treated"] & ~d["post"], outcome].mean())}


def event_study(panel: pd.DataFrame, outcome: str, alpha: float = 0.05) -> pd.DataFrame:
    """Event-study coefficients by month relative to the start (reference: month -1)."""
    d = panel.dropna(subset=[outcome]).copy()
    rels = sorted(int(r) for r in d["rel_month"].unique() if r != -1)
    names = []
    for r in rels:
        name = f"ev_m{-r}" if r < 0 else f"ev_p{r}"
        d[name] = ((d["rel_month"] == r) & d["treated"]).astype(float)
        names.append(name)
    res = _fit(d, outcome, names)
    ci = res.conf_int(alpha)
    rows = [{"rel_month": r, "coef": float(res.params[n]), "se": float(res.bse[n]),
             "ci_low": float(ci.loc[n, 0]), "ci_high": float(ci.loc[n, 1])} for r, n in zip(rels, names, strict=True)]
    rows.append({"rel_month": -1, "coef": 0.0, "se": 0.0, "ci_low": 0.0, "ci_high": 0.0})
    return pd.DataFrame(rows).sort_values("rel_month").reset_index(drop=True)


def heterogeneity(panel: pd.DataFrame, outcome: str, prop: str, alpha: float = 0.05) -> dict:
    """The effect's change per standard deviation of a community property (interaction term)."""
    d = panel.dropna(subset=[outcome]).copy()
    x = d[prop]
    sd = float(x.std())
    if not sd > 0:
        return {"outcome": outcome, "property": prop, "interaction": float("nan"), "se": float("nan"),
                "ci_low": float("nan"), "ci_high": float("nan"), "p": float("nan")}
    d["z"] = (x - x.mean()) / sd
    d["tp_z"] = d["treated_post"] * d["z"]
    res = _fit(d, outcome, ["treated_post", "tp_z"])
    lo, hi = res.conf_int(alpha).loc["tp_z"]
    return {"outcome": outcome, "property": prop, "interaction": float(res.params["tp_z"]),
            "se": float(res.bse["tp_z"]), "ci_low": float(lo), "ci_high": float(hi), "p": float(res.pvalues["tp_z"])}


def pool(estimates: pd.DataFrame, column: str = "effect", alpha: float = 0.05) -> dict:
    """Across replicates (independent randomised designs): mean, t-interval, share significant."""
    from scipy import stats

    x = estimates[column].to_numpy(float)
    x = x[np.isfinite(x)]
    n = len(x)
    mean = float(x.mean()) if n else float("nan")
    half = float(stats.t.ppf(1 - alpha / 2, n - 1) * x.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    sig = ((estimates["ci_low"] > 0) | (estimates["ci_high"] < 0)).mean() if "ci_low" in estimates else float("nan")
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "replicates": n,
            "share_significant": float(sig)}


# --------------------------------------------------------------------------- report

def analyse(panel: pd.DataFrame, outcomes: Sequence[str] = tuple(OUTCOMES),
            properties: Sequence[str] = PROPERTIES) -> dict[str, pd.DataFrame]:
    """Every replicate's DiD, event study and heterogeneity, for each outcome (BLAS on one
    thread: these are many small regressions, which a multi-threaded BLAS only slows down)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _analyse(panel, outcomes, properties)


def _analyse(panel: pd.DataFrame, outcomes: Sequence[str], properties: Sequence[str]) -> dict[str, pd.DataFrame]:
    rows, events, het = [], [], []
    for rep, p in panel.groupby("replicate", sort=True):
        for y in outcomes:
            if p[y].notna().sum() == 0 or not p[y].std() > 0:
                continue
            rows.append({"replicate": rep, **did(p, y)})
            events.append(event_study(p, y).assign(replicate=rep, outcome=y))
            for prop in properties:
                if prop in p and p[prop].std() > 0:
                    het.append({"replicate": rep, **heterogeneity(p, y, prop)})
    return {"did": pd.DataFrame(rows), "event_study": pd.concat(events, ignore_index=True) if events else pd.DataFrame(),
            "heterogeneity": pd.DataFrame(het)}


def _fmt(v: float, unit: str) -> str:
    if not np.isfinite(v):
        return "n/a"
    if unit in ("share",):
        return f"{100 * v:+.1f} points"
    return f"{v:+.3g}" + ("" if unit in ("0-1", "count") else f" {unit}")


def plain_sentence(outcome: str, pooled: dict, control_mean: float) -> str:
    """One sentence a policymaker can read: what changed, by how much, with its CI."""
    label, unit, _ = OUTCOMES[outcome]
    m, lo, hi = pooled["mean"], pooled["ci_low"], pooled["ci_high"]
    if not np.isfinite(lo) or lo <= 0 <= hi:
        verdict = f"no clear change in {label}"
    else:
        verdict = f"{label} {'rose' if m > 0 else 'fell'}"
    base = f" (control communities before the start: {control_mean:.3g})" if np.isfinite(control_mean) else ""
    return (f"{verdict}: {_fmt(m, unit)} on average, 95% CI {_fmt(lo, unit)} to {_fmt(hi, unit)}"
            f"{base}; {pooled['share_significant']:.0%} of the {pooled['replicates']} randomised designs "
            "found an effect at the 5% level.")


def plot_curves(panel: pd.DataFrame, outcome: str, path: Path, start_month: int) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = panel.groupby(["month", "treated"])[outcome].mean().unstack("treated")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for col, name, style in ((False, "control", "--"), (True, "treated", "-")):
        if col in m:
            ax.plot(m.index + 1, m[col], style, label=name)
    ax.axvline(start_month + 0.5, color="grey", lw=0.8)
    ax.set_xlabel("month")
    ax.set_ylabel(OUTCOMES[outcome][0])
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_event_study(events: pd.DataFrame, outcome: str, path: Path) -> Path:
    """Mean coefficient over replicates by month since the start, with a 95% t-interval over
    replicates; pre-period points are the parallel-trends check."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    from scipy import stats

    e = events[events["outcome"] == outcome]
    g = e.groupby("rel_month")["coef"]
    mean, sd, n = g.mean(), g.std(ddof=1).fillna(0.0), g.size()
    t = stats.t.ppf(0.975, np.maximum(n - 1, 1))
    half = t * sd / np.sqrt(n)
    if e["replicate"].nunique() == 1:  # one design: its clustered CI
        half = (e.set_index("rel_month")["ci_high"] - e.set_index("rel_month")["coef"]).reindex(mean.index)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    pre = mean.index < 0
    ax.errorbar(mean.index[pre], mean[pre], yerr=half[pre], fmt="o", color="tab:grey", label="before (trend check)")
    ax.errorbar(mean.index[~pre], mean[~pre], yerr=half[~pre], fmt="o", color="tab:blue", label="after the start")
    ax.axhline(0, color="black", lw=0.6)
    ax.axvline(-0.5, color="grey", lw=0.8, ls=":")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("months since the start (reference: month -1)")
    ax.set_ylabel(f"effect on {OUTCOMES[outcome][0]}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_did_report(panel: pd.DataFrame, out_dir: Path, title: str, treatment: dict,
                     outcomes: Sequence[str] = tuple(OUTCOMES)) -> dict[str, Path]:
    """report.md with the plain-language findings, tables as CSV, figures as PNG."""
    out_dir = Path(out_dir)
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    res = analyse(panel, outcomes)
    d, ev, het = res["did"], res["event_study"], res["heterogeneity"]
    d.to_csv(out_dir / "did.csv", index=False)
    ev.to_csv(out_dir / "event_study.csv", index=False)
    het.to_csv(out_dir / "heterogeneity.csv", index=False)
    start_day = int(treatment.get("start_day", 0))
    start_month = start_day // MONTH
    n_comm = panel["community"].nunique()
    n_treat = int(panel.groupby(["replicate", "community"])["treated"].first().groupby("replicate").sum().mean())
    reps = panel["replicate"].nunique()
    lines = [f"# {title}", "",
             f"Treatment: {', '.join(f'{k} = {v}' for k, v in treatment.get('set', {}).items())} in {n_treat} of "
             f"{n_comm} communities ({treatment.get('assignment', 'random')} assignment, redrawn in each of "
             f"{reps} replicates) from day {start_day} (month {start_month + 1}); {panel['month'].nunique()} months "
             "in all.", "",
             "Method: two-way fixed-effects difference-in-differences per replicate (community and month "
             "effects, OLS, standard errors clustered by community; statsmodels); the mean over replicates "
             "with a 95% t-interval across replicates. Event studies give one coefficient per month since "
             "the start (reference: the month before); months before the start test parallel trends.", "",
             "## What changed", ""]
    table = []
    for y in outcomes:
        sub = d[d["outcome"] == y]
        if sub.empty:
            continue
        pooled = pool(sub)
        lines.append(f"- **{OUTCOMES[y][0]}**: {plain_sentence(y, pooled, float(sub['control_pre_mean'].mean()))}")
        pre = ev[(ev["outcome"] == y) & (ev["rel_month"] < -1)]
        pre_sig = float(((pre["ci_low"] > 0) | (pre["ci_high"] < 0)).mean()) if len(pre) else float("nan")
        table.append([OUTCOMES[y][0], f"{pooled['mean']:.4g}", f"[{pooled['ci_low']:.4g}, {pooled['ci_high']:.4g}]",
                      f"{pooled['share_significant']:.0%}", f"{pre_sig:.0%}" if np.isfinite(pre_sig) else "n/a"])
    lines += ["", "| outcome | effect (mean over replicates) | 95% CI | designs with p < 0.05 | "
              "pre-period coefficients with p < 0.05 |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(r) + " |" for r in table]
    lines += ["", "Pre-period coefficients significant at 5% about 5% of the time are what parallel trends "
              "predict; many more would mean treated and control communities were already drifting apart.", ""]
    if not het.empty:
        lines += ["## Heterogeneity by community property", "",
                  "Change of the effect per standard deviation of the property (interaction term, mean over "
                  "replicates, 95% t-interval):", "",
                  "| outcome | property | interaction | 95% CI |", "|---|---|---|---|"]
        for (y, prop), sub in het.groupby(["outcome", "property"], sort=False):
            p = pool(sub.rename(columns={"interaction": "effect"}))
            lines.append(f"| {OUTCOMES[y][0]} | {prop} | {p['mean']:.4g} | [{p['ci_low']:.4g}, {p['ci_high']:.4g}] |")
        lines.append("")
    paths = {}
    lines += ["## Figures", ""]
    for y in outcomes:
        if d.empty or y not in set(d["outcome"]):
            continue
        c = plot_curves(panel, y, out_dir / "figures" / f"curves_{y}.png", start_month)
        e = plot_event_study(ev, y, out_dir / "figures" / f"event_study_{y}.png")
        lines += [f"![{OUTCOMES[y][0]}: treated vs control](figures/{c.name})",
                  f"![{OUTCOMES[y][0]}: event study](figures/{e.name})", ""]
    report = out_dir / "report.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    paths["report"] = report
    return paths


__all__ = ["monthly_panel", "did", "event_study", "heterogeneity", "pool", "analyse", "write_did_report",
           "plain_sentence", "OUTCOMES"]
