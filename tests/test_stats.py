"""govsim.analysis.stats on synthetic data with known answers."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from scipy import stats as st

from govsim.analysis import (
    adjust_pvalues,
    compare,
    group_stats,
    precision_warnings,
    replicates_needed,
)


def two_groups(xa, xb, metric="m", group="regime", names=("a", "b")):
    """A run table with two groups of values for one metric."""
    return pd.DataFrame({
        group: [names[0]] * len(xa) + [names[1]] * len(xb),
        metric: np.concatenate([np.asarray(xa, float), np.asarray(xb, float)]),
    })


# --------------------------------------------------------------------------- group_stats


@pytest.mark.parametrize("n", [3, 10])
def test_ci_covers_true_mean_about_95_percent(n):
    """t intervals cover the true mean in ~95% of repeated draws (z intervals would not at
    n=3: their coverage is ~83%)."""
    rng = np.random.default_rng(20240601 + n)
    draws, mu = 1000, 3.0
    df = pd.DataFrame({"draw": np.repeat(np.arange(draws), n),
                       "x": rng.normal(mu, 2.0, size=draws * n)})
    s = group_stats(df, ["x"], by="draw")
    assert len(s) == draws and (s["n"] == n).all()
    coverage = ((s["ci_low"] <= mu) & (mu <= s["ci_high"])).mean()
    assert 0.92 <= coverage <= 0.98


def test_group_stats_equals_hand_computation():
    df = pd.DataFrame({
        "regime": ["A"] * 5 + ["B"] * 2 + ["C"],
        "m": [1.0, 2.0, 3.0, 4.0, np.nan, 10.0, 10.0, 5.0],
        "k": [0.0, 0.0, 0.0, 2.0, 2.0, 1.0, 3.0, np.inf],
    })
    s = group_stats(df, ["m", "k"], by="regime").set_index(["regime", "metric"])
    assert list(s.index) == [("A", "m"), ("A", "k"), ("B", "m"), ("B", "k"), ("C", "m"),
                             ("C", "k")]
    a = s.loc[("A", "m")]
    sd = math.sqrt(5.0 / 3.0)  # values 1..4: squared deviations 2.25+0.25+0.25+2.25 = 5
    t3 = 3.182446305284263  # t_{3, 0.975}
    assert a["n"] == 4 and a["mean"] == pytest.approx(2.5)
    assert a["sd"] == pytest.approx(sd) and a["sem"] == pytest.approx(sd / 2)
    assert a["half_width"] == pytest.approx(t3 * sd / 2)
    assert a["ci_low"] == pytest.approx(2.5 - t3 * sd / 2)
    assert a["ci_high"] == pytest.approx(2.5 + t3 * sd / 2)
    # k in A: [0, 0, 0, 2, 2] -> mean 0.8, sd sqrt(4.8/4)
    ak = s.loc[("A", "k")]
    t4 = 2.7764451051977987
    assert ak["mean"] == pytest.approx(0.8)
    assert ak["half_width"] == pytest.approx(t4 * math.sqrt(1.2) / math.sqrt(5))
    # B m: constant -> zero-width interval; B k: [1, 3]
    b = s.loc[("B", "m")]
    assert b["sd"] == 0 and b["half_width"] == 0 and b["ci_low"] == b["ci_high"] == 10
    bk = s.loc[("B", "k")]
    assert bk["half_width"] == pytest.approx(12.706204736174707 * math.sqrt(2) / math.sqrt(2))
    # C: one run (and an inf that is dropped) -> no interval, no crash
    c, ck = s.loc[("C", "m")], s.loc[("C", "k")]
    assert c["n"] == 1 and c["mean"] == 5 and np.isnan(c["sd"]) and np.isnan(c["ci_low"])
    assert ck["n"] == 0 and np.isnan(ck["mean"])


def test_group_stats_multiple_keys_and_confidence():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"regime": np.repeat(["x", "y"], 20), "point": np.tile([0, 1], 20),
                       "m": rng.normal(size=40)})
    s90 = group_stats(df, ["m"], by=["regime", "point"], confidence=0.90)
    s99 = group_stats(df, ["m"], by=["regime", "point"], confidence=0.99)
    assert list(s90.columns[:3]) == ["regime", "point", "metric"] and len(s90) == 4
    assert (s90["n"] == 10).all()
    assert (s99["half_width"] > s90["half_width"]).all()
    assert s90["half_width"].iloc[0] == pytest.approx(
        st.t.ppf(0.95, 9) * s90["sd"].iloc[0] / math.sqrt(10))
    pooled = group_stats(df, ["m"], by=())
    assert len(pooled) == 1 and pooled["n"].iloc[0] == 40
    with pytest.raises(KeyError, match="nope"):
        group_stats(df, ["nope"], by="regime")


# --------------------------------------------------------------------------- compare


def test_welch_matches_scipy_and_hand_ci():
    rng = np.random.default_rng(7)
    xa, xb = rng.normal(0, 1, 12), rng.normal(0.8, 2.5, 9)
    c = compare(two_groups(xa, xb), ["m"], test="welch", correction="none").iloc[0]
    ref = st.ttest_ind(xb, xa, equal_var=False)
    assert (c["a"], c["b"]) == ("a", "b")
    assert c["p"] == pytest.approx(ref.pvalue, rel=1e-12)
    assert c["statistic"] == pytest.approx(ref.statistic, rel=1e-12)
    assert c["diff"] == pytest.approx(xb.mean() - xa.mean())
    # Welch-Satterthwaite interval by hand
    va, vb = xa.var(ddof=1) / len(xa), xb.var(ddof=1) / len(xb)
    dof = (va + vb) ** 2 / (va**2 / (len(xa) - 1) + vb**2 / (len(xb) - 1))
    hw = st.t.ppf(0.975, dof) * math.sqrt(va + vb)
    assert c["ci_low"] == pytest.approx(c["diff"] - hw, rel=1e-9)
    assert c["ci_high"] == pytest.approx(c["diff"] + hw, rel=1e-9)
    assert c["p_adj"] == c["p"]  # correction="none"


def test_large_known_difference_is_significant_with_right_sign_and_size():
    rng = np.random.default_rng(11)
    sigma, delta = 2.0, 2.0  # true standardised difference 1.0
    xa, xb = rng.normal(10, sigma, 200), rng.normal(10 + delta, sigma, 200)
    df = two_groups(xa, xb, names=("low", "high"))
    for test in ("welch", "mannwhitney"):
        c = compare(df, ["m"], test=test).iloc[0]
        assert (c["a"], c["b"]) == ("high", "low")  # sorted: diff = low - high < 0
        assert c["diff"] < 0 and c["ci_high"] < 0 and c["significant"]
        assert c["hedges_g"] == pytest.approx(-1.0, abs=0.25)
        assert c["cliffs_delta"] < -0.3  # P(N(0,1) diff) ~ -0.52 for d = 1
    c = compare(df, ["m"], order=["low", "high"]).iloc[0]
    assert (c["a"], c["b"]) == ("low", "high")
    assert c["diff"] == pytest.approx(delta, abs=0.5) and c["ci_low"] > 0
    assert c["hedges_g"] == pytest.approx(1.0, abs=0.25) and c["statistic"] > 0


def test_hedges_g_small_sample_correction():
    xa, xb = np.array([1.0, 2.0, 3.0]), np.array([3.0, 4.0, 5.0, 6.0])
    c = compare(two_groups(xa, xb), ["m"]).iloc[0]
    sp = math.sqrt((2 * 1.0 + 3 * xb.var(ddof=1)) / 5)
    d = (xb.mean() - xa.mean()) / sp
    j = 1 - 3 / (4 * 5 - 1)  # Hedges' approximation of J(5); exact J(5) = 0.8408
    assert c["hedges_g"] == pytest.approx(d * j, rel=0.01)
    assert c["hedges_g"] < d


def test_holm_keeps_family_wise_error_under_alpha_for_identical_distributions():
    """Three regimes drawn from the same distribution, five metrics: 15 tests per experiment.
    Holm over the table keeps P(any false positive) <= alpha; unadjusted it is far above."""
    rng = np.random.default_rng(2024)
    alpha, n_exp, n = 0.05, 250, 8
    metrics = [f"m{i}" for i in range(5)]
    regime = np.repeat(["a", "b", "c"], n)
    any_holm = any_raw = 0
    for _ in range(n_exp):
        df = pd.DataFrame(rng.normal(size=(3 * n, len(metrics))), columns=metrics)
        df["regime"] = regime
        c = compare(df, metrics, correction="holm", alpha=alpha)
        assert c.attrs["family_size"] == 15
        any_holm += bool(c["significant"].any())
        any_raw += bool((c["p"] <= alpha).any())
    se = math.sqrt(alpha * (1 - alpha) / n_exp)
    assert any_holm / n_exp <= alpha + 2 * se
    assert any_raw / n_exp > 0.25


def test_holm_hand_example():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, max(0.04*1, 0.06) = 0.06
    np.testing.assert_allclose(adjust_pvalues(p, "holm"), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(adjust_pvalues(p, "bonferroni"), [0.04, 0.16, 0.12, 0.02])
    np.testing.assert_allclose(adjust_pvalues(p, "none"), p)
    np.testing.assert_allclose(adjust_pvalues(p, "fdr_bh"),
                               st.false_discovery_control(p, method="bh"))
    out = adjust_pvalues([0.01, np.nan, 0.02], "holm")  # NaN is not a test: m = 2
    np.testing.assert_allclose(out, [0.02, np.nan, 0.02])
    with pytest.raises(ValueError, match="correction"):
        adjust_pvalues(p, "sidak")


@settings(max_examples=60, deadline=None)
@given(hs.lists(hs.floats(0.0, 1.0), min_size=1, max_size=30))
def test_adjusted_pvalues_are_monotone_and_ordered(p):
    p = np.array(p)
    holm, bonf, bh = (adjust_pvalues(p, m) for m in ("holm", "bonferroni", "fdr_bh"))
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(holm[order]) >= -1e-12)  # monotone in the raw p order
    assert np.all(np.diff(bh[order]) >= -1e-12)
    assert np.all(p <= holm + 1e-12) and np.all(holm <= bonf + 1e-12) and np.all(bonf <= 1)
    assert np.all(bh <= holm + 1e-12)


def test_correction_runs_over_the_whole_table():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"regime": np.repeat(["a", "b", "c"], 6), "point": np.tile([0, 1], 9),
                       "x": rng.normal(size=18), "y": rng.normal(size=18)})
    c = compare(df, ["x", "y"], within="point", correction="holm")
    assert len(c) == 2 * 2 * 3 and c.attrs["family_size"] == 12
    assert set(c["point"]) == {0, 1}
    np.testing.assert_allclose(c["p_adj"], adjust_pvalues(c["p"], "holm"))
    assert (c["n_a"] == 3).all() and (c["n_b"] == 3).all()
    with pytest.raises(ValueError, match="within"):
        compare(df, ["x"], group="point", within="point")
    with pytest.raises(ValueError, match="test"):
        compare(df, ["x"], test="ttest")


def test_mannwhitney_matches_scipy_and_cliffs_delta_brute_force():
    rng = np.random.default_rng(5)
    xa = rng.integers(0, 6, 11).astype(float)  # ties on purpose
    xb = rng.integers(2, 8, 9).astype(float)
    c = compare(two_groups(xa, xb), ["m"], test="mannwhitney", correction="none").iloc[0]
    ref = st.mannwhitneyu(xb, xa, alternative="two-sided")
    assert c["test"] == "mannwhitney"
    assert c["statistic"] == pytest.approx(ref.statistic)
    assert c["p"] == pytest.approx(ref.pvalue, rel=1e-12)
    delta = np.sign(xb[:, None] - xa[None, :]).mean()
    assert c["cliffs_delta"] == pytest.approx(delta)
    assert np.isfinite(c["ci_low"])  # the Welch CI of the difference is still reported
    welch = compare(two_groups(xa, xb), ["m"], test="welch").iloc[0]
    assert welch["cliffs_delta"] == pytest.approx(delta)  # same effect size on both paths


def test_degenerate_groups_do_not_crash():
    df = pd.DataFrame({
        "regime": ["const1"] * 3 + ["const1b"] * 3 + ["const2"] * 3 + ["single"] + ["empty"] * 2,
        "m": [1.0] * 3 + [1.0] * 3 + [2.0] * 3 + [5.0] + [np.nan, np.nan],
    })
    for test in ("welch", "mannwhitney"):
        c = compare(df, ["m"], test=test).set_index(["a", "b"])
        assert len(c) == 10
        same, differ = c.loc[("const1", "const1b")], c.loc[("const1", "const2")]
        assert np.isnan(same["p"]) and not same["significant"] and "identical" in same["note"]
        assert np.isnan(same["hedges_g"]) and same["diff"] == 0
        assert "values differ" in differ["note"] and differ["diff"] == 1.0
        assert np.isnan(differ["hedges_g"]) and np.isnan(differ["ci_low"])
        if test == "welch":
            assert np.isnan(differ["p"])
            single = c.loc[("const1", "single")]
            assert np.isnan(single["p"]) and "n < 2" in single["note"]
        else:  # complete separation is a valid Mann-Whitney result
            assert 0 < differ["p"] < 0.2
        empty = c.loc[("const1", "empty")]
        assert np.isnan(empty["p"]) and np.isnan(empty["diff"]) and "no data" in empty["note"]
        assert c["significant"].dtype == bool
        assert c.attrs["family_size"] == int(np.isfinite(c["p"]).sum())
        assert np.isnan(c["p_adj"][~np.isfinite(c["p"])]).all()
    s = group_stats(df, ["m"])
    assert s.set_index("regime").loc["single", "n"] == 1


# --------------------------------------------------------------------------- precision


@pytest.mark.parametrize("sd,target,confidence", [(1.0, 0.1, 0.95), (2.5, 0.9, 0.95),
                                                   (0.3, 0.25, 0.99), (10.0, 0.5, 0.90)])
def test_replicates_needed_meets_the_target_and_is_minimal(sd, target, confidence):
    n = replicates_needed(sd, target, confidence)
    q = 0.5 + confidence / 2

    def half(k):
        return st.t.ppf(q, k - 1) * sd / math.sqrt(k)

    assert n >= 2 and half(n) <= target
    assert n == 2 or half(n - 1) > target
    # about the normal-theory answer, a little above it
    assert n >= (st.norm.ppf(q) * sd / target) ** 2


def test_replicates_needed_edge_cases():
    assert replicates_needed(0.0, 0.1) == 2
    with pytest.raises(ValueError):
        replicates_needed(1.0, 0.0)
    with pytest.raises(ValueError):
        replicates_needed(float("nan"), 0.1)


def test_precision_warnings_fire_when_interval_too_wide():
    rng = np.random.default_rng(9)
    df = pd.DataFrame({
        "regime": np.repeat(["noisy", "tight", "pair"], [10, 10, 2]),
        "m": np.concatenate([rng.normal(10, 3, 10), rng.normal(10, 0.01, 10), [10, 11]]),
    })
    s = group_stats(df, ["m"])
    lines = precision_warnings(s, rel_precision=0.05)
    noisy = [w for w in lines if "regime=noisy" in w]
    assert len(noisy) == 1 and not [w for w in lines if "regime=tight" in w]
    row = s.set_index("regime").loc["noisy"]
    target = 0.05 * abs(row["mean"])
    assert row["half_width"] > target
    needed = replicates_needed(row["sd"], target)
    assert f"about {needed} replicates" in noisy[0]
    rough = math.ceil(10 * (row["half_width"] / target) ** 2)
    assert f"= {rough})" in noisy[0]
    # n = 2 gets its own warning first
    assert any("regime=pair" in w and "only 2 replicates" in w for w in lines)
    assert lines[0].startswith("regime=pair")
    # a loose enough target silences it; an absolute target per metric works too
    assert not [w for w in precision_warnings(s, rel_precision=0.5) if "noisy" in w]
    assert [w for w in precision_warnings(s, abs_precision={"m": 0.001}) if "tight" in w]
    assert not [w for w in precision_warnings(s, abs_precision=5.0) if "noisy" in w]


def test_precision_warnings_zero_mean_and_single_run():
    df = pd.DataFrame({"regime": ["z"] * 4 + ["one"], "m": [-1.0, 1.0, -1.0, 1.0, 3.0]})
    lines = precision_warnings(group_stats(df, ["m"]))
    assert any("regime=z" in w and "mean is 0" in w for w in lines)
    assert any("regime=one" in w and "only 1 replicate" in w and "no confidence" in w
               for w in lines)
