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

from govsim.fonts import apply_fonts
from govsim.outcomes import in_language

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
# Chinese names (--lang zh), in the field reports' terms.
_ZH = {
    "participation_rate": "居民参与率",
    "resolution_rate": "化解率（当月化解 / 当月产生）",
    "days_to_resolution": "化解所需天数",
    "handler_hours": "每月处理工时（处理成本）",
    "mean_satisfaction": "满意度",
    "mean_trust_gov": "对政府的信任",
    "mean_trust_comm": "对社区的信任",
    "incidents": "每月群体性事件数",
    "local_migrant_satisfaction_gap": "本地居民与流动人口满意度差距",
    "households": "户数", "migrant_share": "流动人口占比", "relocated_share": "回迁安置户占比",
}
_UNIT_ZH = {"days": "天", "hours": "小时"}


def _zh() -> bool:
    from govsim.outcomes import get_language

    return get_language() == "zh"


_ = in_language  # the text in the current language


def display_name(key: str) -> str:
    """Display name of a panel outcome or community property in the current language."""
    if _zh():
        return _ZH.get(key, key)
    return OUTCOMES[key][0] if key in OUTCOMES else key


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
        return _("n/a", "无")
    if unit in ("share",):
        return _(f"{100 * v:+.1f} points", f"{100 * v:+.1f} 个百分点")
    if unit in ("0-1", "count"):
        return f"{v:+.3g}"
    return f"{v:+.3g} " + (_UNIT_ZH.get(unit, unit) if _zh() else unit)


def plain_sentence(outcome: str, pooled: dict, control_mean: float) -> str:
    """One sentence a policymaker can read: what changed, by how much, with its CI."""
    label, unit = display_name(outcome), OUTCOMES[outcome][1]
    m, lo, hi = pooled["mean"], pooled["ci_low"], pooled["ci_high"]
    share, reps = f"{pooled['share_significant']:.0%}", pooled["replicates"]
    if _zh():
        if not np.isfinite(lo) or lo <= 0 <= hi:
            verdict = f"{label}没有明显变化"
        else:
            verdict = f"{label}{'上升' if m > 0 else '下降'}"
        base = f"（干预开始前对照社区：{control_mean:.3g}）" if np.isfinite(control_mean) else ""
        return (f"{verdict}：平均 {_fmt(m, unit)}，95% 置信区间 {_fmt(lo, unit)} 至 {_fmt(hi, unit)}"
                f"{base}；{reps} 个随机设计中 {share} 在 5% 水平上发现效应。")
    if not np.isfinite(lo) or lo <= 0 <= hi:
        verdict = f"no clear change in {label}"
    else:
        verdict = f"{label} {'rose' if m > 0 else 'fell'}"
    base = f" (control communities before the start: {control_mean:.3g})" if np.isfinite(control_mean) else ""
    return (f"{verdict}: {_fmt(m, unit)} on average, 95% CI {_fmt(lo, unit)} to {_fmt(hi, unit)}"
            f"{base}; {share} of the {reps} randomised designs found an effect at the 5% level.")


def plot_curves(panel: pd.DataFrame, outcome: str, path: Path, start_month: int) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = panel.groupby(["month", "treated"])[outcome].mean().unstack("treated")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for col, group, style in ((False, _("control", "对照社区"), "--"), (True, _("treated", "试点社区"), "-")):
        if col in m:
            ax.plot(m.index + 1, m[col], style, label=group)
    ax.axvline(start_month + 0.5, color="grey", lw=0.8)
    ax.set_xlabel(_("month", "月"))
    ax.set_ylabel(display_name(outcome))
    ax.legend()
    apply_fonts(fig)
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
    ax.errorbar(mean.index[pre], mean[pre], yerr=half[pre], fmt="o", color="tab:grey",
                label=_("before (trend check)", "开始前（趋势检验）"))
    ax.errorbar(mean.index[~pre], mean[~pre], yerr=half[~pre], fmt="o", color="tab:blue",
                label=_("after the start", "开始后"))
    ax.axhline(0, color="black", lw=0.6)
    ax.axvline(-0.5, color="grey", lw=0.8, ls=":")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(_("months since the start (reference: month -1)", "距开始的月数（参照：第 -1 月）"))
    ax.set_ylabel(_(f"effect on {display_name(outcome)}", f"对{display_name(outcome)}的效应"))
    ax.legend(fontsize=8)
    apply_fonts(fig)
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
    setting = _(", ", "、").join(f"{k} = {v}" for k, v in treatment.get("set", {}).items())
    assignment, months = treatment.get("assignment", "random"), panel["month"].nunique()
    lines = [f"# {title}", "",
             _(f"Treatment: {setting} in {n_treat} of {n_comm} communities ({assignment} assignment, redrawn "
               f"in each of {reps} replicates) from day {start_day} (month {start_month + 1}); {months} months "
               "in all.",
               f"干预：{n_comm} 个社区中的 {n_treat} 个设置 {setting}（分配方式 {assignment}，{reps} 次重复中"
               f"每次重新抽取），自第 {start_day} 天（第 {start_month + 1} 月）起；共 {months} 个月。"), "",
             _("Method: two-way fixed-effects difference-in-differences per replicate (community and month "
               "effects, OLS, standard errors clustered by community; statsmodels); the mean over replicates "
               "with a 95% t-interval across replicates. Event studies give one coefficient per month since "
               "the start (reference: the month before); months before the start test parallel trends.",
               "方法：每次重复做双向固定效应双重差分（社区与月份固定效应，最小二乘，按社区聚类的标准误；"
               "statsmodels）；报告各次重复的均值及跨重复的 95% t 置信区间。事件研究为开始后每个月给出一个"
               "系数（参照：开始前一个月）；开始前各月用于检验平行趋势。"), "",
             _("## What changed", "## 发生了什么变化"), ""]
    table = []
    for y in outcomes:
        sub = d[d["outcome"] == y]
        if sub.empty:
            continue
        pooled = pool(sub)
        lines.append(f"- **{display_name(y)}**{_(': ', '：')}"
                     f"{plain_sentence(y, pooled, float(sub['control_pre_mean'].mean()))}")
        pre = ev[(ev["outcome"] == y) & (ev["rel_month"] < -1)]
        pre_sig = float(((pre["ci_low"] > 0) | (pre["ci_high"] < 0)).mean()) if len(pre) else float("nan")
        table.append([display_name(y), f"{pooled['mean']:.4g}", f"[{pooled['ci_low']:.4g}, {pooled['ci_high']:.4g}]",
                      f"{pooled['share_significant']:.0%}",
                      f"{pre_sig:.0%}" if np.isfinite(pre_sig) else _("n/a", "无")])
    lines += ["", _("| outcome | effect (mean over replicates) | 95% CI | designs with p < 0.05 | "
                    "pre-period coefficients with p < 0.05 |",
                    "| 结果 | 效应（各次重复的均值） | 95% 置信区间 | p < 0.05 的设计占比 | "
                    "开始前 p < 0.05 的系数占比 |"), "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(r) + " |" for r in table]
    lines += ["", _("Pre-period coefficients significant at 5% about 5% of the time are what parallel trends "
                    "predict; many more would mean treated and control communities were already drifting apart.",
                    "若平行趋势成立，开始前的系数约有 5% 在 5% 水平上显著；远多于此则说明试点社区与对照社区"
                    "在干预前已经开始分化。"), ""]
    if not het.empty:
        lines += [_("## Heterogeneity by community property", "## 按社区特征的异质性"), "",
                  _("Change of the effect per standard deviation of the property (interaction term, mean over "
                    "replicates, 95% t-interval):",
                    "特征每增加一个标准差时效应的变化（交互项，各次重复的均值，95% t 置信区间）："), "",
                  _("| outcome | property | interaction | 95% CI |", "| 结果 | 社区特征 | 交互项 | 95% 置信区间 |"),
                  "|---|---|---|---|"]
        for (y, prop), sub in het.groupby(["outcome", "property"], sort=False):
            p = pool(sub.rename(columns={"interaction": "effect"}))
            lines.append(f"| {display_name(y)} | {display_name(prop)} | {p['mean']:.4g} | [{p['ci_low']:.4g}, {p['ci_high']:.4g}] |")
        lines.append("")
    paths = {}
    lines += [_("## Figures", "## 图"), ""]
    for y in outcomes:
        if d.empty or y not in set(d["outcome"]):
            continue
        c = plot_curves(panel, y, out_dir / "figures" / f"curves_{y}.png", start_month)
        e = plot_event_study(ev, y, out_dir / "figures" / f"event_study_{y}.png")
        lines += [_(f"![{display_name(y)}: treated vs control](figures/{c.name})",
                    f"![{display_name(y)}：试点与对照社区](figures/{c.name})"),
                  _(f"![{display_name(y)}: event study](figures/{e.name})", f"![{display_name(y)}：事件研究](figures/{e.name})"), ""]
    report = out_dir / "report.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    paths["report"] = report
    return paths


__all__ = ["monthly_panel", "did", "event_study", "heterogeneity", "pool", "analyse", "write_did_report",
           "plain_sentence", "display_name", "OUTCOMES"]
