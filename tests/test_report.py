"""govsim.analysis.report and plots on a synthetic run table with a known winner."""

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from govsim.analysis import (
    compare,
    describe_finding,
    format_table,
    group_stats,
    metric_by_regime,
    metric_vs_parameter,
    tradeoff,
    write_report,
)
from govsim.outcomes import label

METRICS = ["mean_participation_rate", "resolution_rate", "cost_per_resolved_case",
           "collective_incidents"]
PARAM = "pilots.grid_screening"
# Known truth: participation highest under self_governing, lowest under government_led;
# cost highest under government_led, lowest under self_governing.
TRUTH = {
    "government_led": {"mean_participation_rate": 0.15, "resolution_rate": 0.62,
                       "cost_per_resolved_case": 2000.0},
    "hybrid": {"mean_participation_rate": 0.24, "resolution_rate": 0.60,
               "cost_per_resolved_case": 1200.0},
    "self_governing": {"mean_participation_rate": 0.32, "resolution_rate": 0.55,
                       "cost_per_resolved_case": 900.0},
}
SD = {"mean_participation_rate": 0.01, "resolution_rate": 0.02, "cost_per_resolved_case": 60.0}
PNG = b"\x89PNG\r\n\x1a\n"


def runs(values=(None,), replicates=8, seed=0) -> pd.DataFrame:
    """A run table in the runner's schema: regimes x points x replicates."""
    rng = np.random.default_rng(seed)
    rows = []
    for point, v in enumerate(values):
        for regime, means in TRUTH.items():
            for rep in range(replicates):
                row = {"run_id": f"{regime}-{point}-{rep}", "regime": regime, "point": point,
                       "replicate": rep, "seed": 1000 + rep}
                if v is not None:
                    row[PARAM] = v
                for m, mu in means.items():
                    shift = 0.2 * v if (v is not None and m == "mean_participation_rate") else 0
                    row[m] = rng.normal(mu + shift, SD[m])
                row["collective_incidents"] = 0
                rows.append(row)
    return pd.DataFrame(rows)


def pct(x: float) -> str:
    return f"{100 * x:.1f}"


def test_report_single_point(tmp_path):
    df = runs()
    paths = write_report(df, tmp_path / "rep", METRICS, title="Synthetic regimes")
    text = paths["report"].read_text(encoding="utf-8")
    # files
    for key in ("report", "group_stats", "comparisons", "fig_tradeoff"):
        assert paths[key].is_file() and paths[key].stat().st_size > 0
    figs = [p for k, p in paths.items() if k.startswith("fig_")]
    assert len(figs) == len(METRICS) + 1
    for p in figs:
        assert p.read_bytes()[:8] == PNG
        assert f"]({p.relative_to(tmp_path / 'rep').as_posix()})" in text
    gs = pd.read_csv(paths["group_stats"])
    assert len(gs) == 3 * len(METRICS) and (gs["n"] == 8).all()
    cmp = pd.read_csv(paths["comparisons"])
    assert len(cmp) == 3 * len(METRICS)
    assert {"hedges_g", "p", "p_adj", "significant", "ci_low", "ci_high"} <= set(cmp.columns)
    # what was run
    assert "# Synthetic regimes" in text and "**24 runs**" in text
    assert "3 regimes x 1 parameter point x 8 replicates" in text
    # the computed sentences name the real winners and losers
    assert ("Participation rate (mean over the run) is highest under Self-governing (US-style)"
            in text)
    assert "and lowest under Government-led (Singapore-style)" in text
    assert ("Fiscal cost per resolved case (yuan) is highest under Government-led" in text)
    assert "is meaningful: significant and larger than the smallest effect of interest" in text
    assert "Holm-adjusted p < 0.001, Hedges' g" in text
    assert "so Self-governing (US-style) is the cheapest on this measure" in text
    assert "paired t-test" in text and "common random numbers" in text
    assert "Collective incidents is the same under all 3 regimes" in text
    # the CI numbers of the table are in the report
    s = group_stats(df, METRICS).set_index(["regime", "metric"])
    for regime in TRUTH:
        r = s.loc[(regime, "mean_participation_rate")]
        assert f"{pct(r['mean'])}% [{pct(r['ci_low'])}, {pct(r['ci_high'])}]" in text
        c = s.loc[(regime, "cost_per_resolved_case")]
        assert f"[{c['ci_low']:,.0f}, {c['ci_high']:,.0f}]" in text
    # ... and in the sentence, for the highest and lowest regime
    for regime in ("self_governing", "government_led"):
        r = s.loc[(regime, "mean_participation_rate")]
        assert (f"{label(regime)} ({pct(r['mean'])}%, 95% CI "
                f"{pct(r['ci_low'])}\u2013{pct(r['ci_high'])}%)") in text
    # comparisons with effect sizes and adjusted p-values; precision section
    assert "Hedges' g" in text and "p adj." in text and "## Precision" in text
    assert "family of 9 tests" in text  # 3 metrics x 3 pairs; the constant metric is no test


def test_report_with_a_numeric_parameter(tmp_path):
    df = runs(values=(0.1, 0.2, 0.3), replicates=5, seed=1)
    paths = write_report(df, tmp_path, METRICS, params=[PARAM])
    text = paths["report"].read_text(encoding="utf-8")
    for m in METRICS:
        p = paths[f"fig_{m}_vs_{PARAM}"]
        assert p.read_bytes()[:8] == PNG
    gs = pd.read_csv(paths["group_stats"])
    assert len(gs) == 3 * 3 * len(METRICS)
    assert {"regime", "point", PARAM} <= set(gs.columns)
    pooled = pd.read_csv(paths["group_stats_pooled"])
    assert len(pooled) == 3 * len(METRICS) and (pooled["n"] == 15).all()
    cmp = pd.read_csv(paths["comparisons"])
    assert len(cmp) == 3 * 3 * len(METRICS) and set(cmp["point"]) == {0, 1, 2}
    assert "3 parameter points" in text and f"`{PARAM}`" in text
    assert "### By parameter point" in text
    assert ("is highest under Self-governing (US-style)" in text
            and "Self-governing (US-style) is significantly higher than Government-led "
                "(Singapore-style) at 3 of 3 points" in text)
    assert "## Parameter effects" in text
    eff = pd.read_csv(paths["parameter_effects"])
    # participation rises by 0.2 per unit of the parameter in every regime: 0.04 over 0.1-0.3
    part = eff[eff["metric"] == "mean_participation_rate"]
    assert len(part) == 3 and part["meaningful"].all()
    assert ((part["effect_over_range"] - 0.04).abs() < 0.015).all()
    assert (part["effect_ci_low"] < part["effect_over_range"]).all()
    assert not eff[eff["metric"] == "cost_per_resolved_case"]["meaningful"].any()
    # per-point table rows carry the parameter value and the per-point CI
    fine = group_stats(df, METRICS, by=["regime", "point"]).set_index(["regime", "point",
                                                                      "metric"])
    r = fine.loc[("hybrid", 2, "mean_participation_rate")]
    assert f"{pct(r['mean'])}% [{pct(r['ci_low'])}, {pct(r['ci_high'])}]" in text


def test_many_points_summarise_comparisons(tmp_path):
    df = runs(values=tuple(np.linspace(0, 0.5, 8)), replicates=3, seed=2)
    paths = write_report(df, tmp_path, METRICS[:2], params=[PARAM], test="mannwhitney",
                         correction="fdr_bh", figures=False, max_comparison_rows=20,
                         paired=False)
    text = paths["report"].read_text(encoding="utf-8")
    assert not [k for k in paths if k.startswith("fig_")]
    assert "see `group_stats.csv`" in text and "b sig. higher" in text
    assert "smallest possible two-sided Mann-Whitney p is 0.1" in text
    assert "not significant at any of the 8 points" in text


def test_tiny_table_does_not_crash(tmp_path):
    df = runs(replicates=1)
    paths = write_report(df, tmp_path, METRICS)
    text = paths["report"].read_text(encoding="utf-8")
    assert "no test was possible" in text and "only 1 replicate" in text
    one = write_report(df[df["regime"] == "hybrid"], tmp_path / "one", METRICS)
    assert "Only one regime" in one["report"].read_text(encoding="utf-8")


def test_describe_finding_orients_effect_highest_minus_lowest():
    df = runs(seed=3)
    pooled = group_stats(df, METRICS)
    comps = compare(df, METRICS)
    text = describe_finding("cost_per_resolved_case", pooled, comps)
    # the pair is stored as (government_led, self_governing) with diff = b - a < 0;
    # the sentence reads highest minus lowest, so g is positive
    assert text.startswith("Fiscal cost per resolved case (yuan) is highest under Government-led")
    assert "Hedges' g = -" not in text and "Hedges' g" in text


def test_format_table():
    df = runs(values=(0.1, 0.2), replicates=4)
    out = format_table(group_stats(df, METRICS), METRICS)
    lines = out.splitlines()
    assert all(label(r) in lines[0] for r in TRUTH) and "n=8" in lines[1]
    assert "Participation rate (mean over the run)" in out and "+/-" in out and " %" in out
    per_point = format_table(group_stats(df, METRICS, by=["regime", "point"]))
    assert "Hybrid (Japan-style) point=1" in per_point


def test_plots_return_figures_and_keep_backend(tmp_path):
    backend = matplotlib.get_backend()
    df = runs(values=(0.1, 0.2, 0.3), replicates=3)
    pooled = group_stats(df, METRICS)
    by_param = group_stats(df, METRICS, by=["regime", PARAM])
    fig = metric_by_regime(pooled, "resolution_rate", path=tmp_path / "a.png")
    assert isinstance(fig, Figure) and (tmp_path / "a.png").read_bytes()[:8] == PNG
    assert "Resolution rate (resolved / arisen, %)" == fig.axes[0].get_ylabel()
    assert isinstance(metric_by_regime(by_param, "resolution_rate", hue=PARAM), Figure)
    with pytest.raises(ValueError, match="hue"):
        metric_by_regime(by_param, "resolution_rate")
    fig = metric_vs_parameter(by_param, "cost_per_resolved_case", PARAM, path=tmp_path / "b.png")
    assert fig.axes[0].get_ylabel() == "Fiscal cost per resolved case (yuan)"
    assert len(fig.axes[0].get_lines()) == 3
    fig = tradeoff(group_stats(df, METRICS, by=["regime", "point"]), path=tmp_path / "c.png")
    assert (tmp_path / "c.png").is_file() and len(fig.axes) == 2  # plot + colour bar
    assert isinstance(tradeoff(pooled, size_or_color=None), Figure)
    assert matplotlib.get_backend() == backend


# --------------------------------------------------------------------------- practical significance


def _two(metric, mean_a, mean_b, sd, n=12, seed=5, same_seeds=True, noise=None):
    rng = np.random.default_rng(seed)
    rows = []
    for regime, mu in (("hybrid", mean_a), ("self_governing", mean_b)):
        for rep in range(n):
            v = mu + (noise[rep] if noise is not None else rng.normal(0, sd))
            rows.append({"regime": regime, "point": 0, "replicate": rep,
                         "seed": 100 + rep if same_seeds else hash((regime, rep)) % 10_000,
                         metric: v})
    return pd.DataFrame(rows)


def test_tiny_but_significant_difference_is_not_meaningful(tmp_path):
    # the case: satisfaction 0.500 vs 0.508, replicates barely vary
    df = _two("mean_satisfaction", 0.500, 0.508, 0.0004)
    c = compare(df, ["mean_satisfaction"], pair_by="replicate").iloc[0]
    assert c["significant"] and c["paired"] and c["sesoi"] == pytest.approx(0.02)
    assert c["verdict"] == "significant, below the smallest effect of interest"
    text = write_report(df, tmp_path, ["mean_satisfaction"])["report"].read_text("utf-8")
    assert "statistically significant" in text and "not meaningful" in text
    assert "does best" not in text and "is meaningful" not in text
    assert "Hedges' g > 10 (the runs barely vary)" in text  # capped, not "g = 16.1"
    # the figure shows the whole 0-1 attitude scale, not 0.500-0.509
    fig = metric_by_regime(group_stats(df, ["mean_satisfaction"]), "mean_satisfaction")
    assert fig.axes[0].get_ylim() == (0.0, 1.0)


def test_zero_variance_metric_gets_no_absurd_effect_size(tmp_path):
    # deterministic costs with floating-point noise (g would be ~1e15)
    noise = np.random.default_rng(0).normal(0, 1e-13, 12)
    df = _two("cost_per_resolved_case", 400.0, 402.0, 0.0, noise=noise)
    c = compare(df, ["cost_per_resolved_case"], pair_by="replicate").iloc[0]
    assert np.isnan(c["hedges_g"]) and np.isnan(c["p"])
    assert "exact" in c["note"] and c["verdict"] == "no meaningful difference"  # 2 < 5% of 400
    text = write_report(df, tmp_path, ["cost_per_resolved_case"], figures=False)[
        "report"].read_text("utf-8")
    assert "Hedges' g" not in text.split("## Key findings")[1].split("##")[0]
    assert "no meaningful difference" in text and "cheapest" not in text
    big = _two("cost_per_resolved_case", 400.0, 500.0, 0.0, noise=noise)
    c = compare(big, ["cost_per_resolved_case"]).iloc[0]
    assert np.isnan(c["hedges_g"]) and c["verdict"] == "meaningful"
    fig = metric_by_regime(group_stats(big, ["cost_per_resolved_case"]), "cost_per_resolved_case")
    assert fig.axes[0].get_ylim()[0] == 0.0  # costs start at zero


def test_equivalence_and_inconclusive_verdicts(tmp_path):
    same = _two("mean_participation_rate", 0.300, 0.301, 0.003, n=20)
    c = compare(same, ["mean_participation_rate"], pair_by="replicate").iloc[0]
    assert not c["significant"] and c["p_tost_adj"] < 0.05
    assert c["verdict"] == "no meaningful difference"
    noisy = _two("mean_participation_rate", 0.30, 0.31, 0.05, n=5, same_seeds=False)
    c = compare(noisy, ["mean_participation_rate"]).iloc[0]
    assert not c["paired"] and c["verdict"] == "inconclusive"
    # seeds differ between regimes: no common random numbers, so the report uses Welch
    text = write_report(noisy, tmp_path, ["mean_participation_rate"], figures=False)[
        "report"].read_text("utf-8")
    assert "Welch's t-test" in text and "paired" not in text
    text = describe_finding("mean_participation_rate",
                            group_stats(noisy, ["mean_participation_rate"]),
                            compare(noisy, ["mean_participation_rate"]))
    assert "inconclusive" in text


def test_paired_test_uses_common_random_numbers():
    # a shared replicate effect (common random numbers) hides the regime gap from Welch
    shared = np.random.default_rng(1).normal(0, 0.05, 10)
    df = _two("resolution_rate", 0.60, 0.63, 0.0, n=10, noise=shared)
    df.loc[df["regime"] == "self_governing", "resolution_rate"] += \
        np.random.default_rng(2).normal(0, 0.002, 10)
    welch = compare(df, ["resolution_rate"]).iloc[0]
    paired = compare(df, ["resolution_rate"], pair_by="replicate").iloc[0]
    assert not welch["paired"] and paired["paired"]
    assert paired["p"] < 1e-6 < welch["p"]
    assert paired["verdict"] == "meaningful"  # 3 pp > 1 pp


def test_boolean_parameter_effect_and_mixed_pairing(tmp_path):
    rng = np.random.default_rng(4)
    rows = []
    for point, grid in enumerate((False, True)):
        for regime in ("hybrid", "government_led"):
            for rep in range(6):
                rows.append({"regime": regime, "point": point, "replicate": rep, "seed": rep,
                             "pilots.grid_management": grid,
                             "self_resolution_share": 0.6 + 0.1 * grid + rng.normal(0, 0.01)})
    df = pd.DataFrame(rows)
    # one hybrid run lost: that pair cannot be paired one to one, the others can
    df = df.drop(df.index[(df["regime"] == "hybrid") & (df["point"] == 1) & (df["replicate"] == 5)])
    paths = write_report(df, tmp_path, ["self_resolution_share"],
                         params=["pilots.grid_management"], figures=False)
    eff = pd.read_csv(paths["parameter_effects"])
    assert len(eff) == 2 and (eff["kind"] == "difference").all()
    assert ((eff["estimate"] - 0.1).abs() < 0.02).all() and eff["meaningful"].all()
    cmp = pd.read_csv(paths["comparisons"])
    assert cmp["paired"].tolist() == [True, False]
    text = paths["report"].read_text("utf-8")
    assert "paired t-test" in text and "where the runs of a pair do not match" in text
    assert "Grid management pilot" in text  # the parameter's display name in the effects table


def test_did_report_in_chinese(tmp_path):
    """The treatment (difference-in-differences) report of `compare`/`sweep --lang zh`."""
    import warnings

    from govsim.analysis.did import MONTH, write_did_report
    from govsim.fonts import cjk_font
    from govsim.outcomes import use_language

    rng = np.random.default_rng(2)
    rows = []
    for rep in range(2):
        treated = rng.permutation(np.arange(12) < 4)
        for c in range(12):
            for month in range(6):
                post = month >= 3
                rows.append({"replicate": rep, "community": c, "month": month,
                             "treated": bool(treated[c]), "post": post,
                             "treated_post": float(treated[c] and post), "rel_month": month - 3,
                             "households": 300 + 10 * c,
                             "handler_hours": 100 + 5 * c + month + 40 * (treated[c] and post)
                             + rng.normal(0, 2)})
    panel = pd.DataFrame(rows)
    with use_language("zh"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = write_did_report(panel, tmp_path / "did", "试点：双重差分",
                                 {"set": {"pilots.deliberation_council": True},
                                  "start_day": 3 * MONTH}, outcomes=["handler_hours"])
    text = paths["report"].read_text("utf-8")
    assert "干预：12 个社区中的 4 个" in text and "## 发生了什么变化" in text
    assert "每月处理工时（处理成本）上升：平均 +" in text and " 小时，95% 置信区间 " in text
    assert "## 按社区特征的异质性" in text and "| 每月处理工时（处理成本） | 户数 |" in text
    for english in ("Treatment:", "Method", "What changed", "rose", "on average", "randomised",
                    "Pre-period", "Heterogeneity", "Figures", "treated vs control", "event study"):
        assert english not in text, english
    if cjk_font() is not None:  # the figures draw Chinese glyphs, not boxes
        assert not [str(w.message) for w in caught if "missing from" in str(w.message)]
