"""The vectorised resident step against the plain per-agent Mesa oracle (govsim.reference).

Three kinds of check:

* exact: the influence computation (``nb_share``) of one agent and of all agents on day 0,
  and whole trajectories on days whose outcome does not depend on random draws (online
  channel closed: nobody takes part; a huge online base: every eligible resident takes
  part), which pins the weekly update, disposition, decay and activity window;
* statistical: over replicate seeds, the distributions of the last day's participation
  rate, the last day's mean belonging and the mean participation rate over the run must
  match (Welch t-test and KS test at p >= 0.001, and the difference of means within
  ``MAX_Z`` standard errors);
* power: the same comparisons flag deliberately wrong oracles, so the tests above can fail.

Both implementations start from identical state (one network, one initial population);
replicates differ only in the random stream of the online draws. Everything is seeded, so
the outcome is deterministic.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import stats

from govsim import GovernanceModel, scenario_from_dict
from govsim.reference import (
    MEAN_COLUMNS,
    ReferenceModel,
    build_community,
    copy_population,
    population_means,
    run_vectorised,
)

SCENARIO = {"seed": 11, "population": {"households": 200}}  # ~580 residents, hybrid regime
ONLINE_BASE = -4.0  # unsaturated: ~30% active on day 0, ~65% on day 50
DAYS = 50
R = 100  # replicates per implementation (the oracle runs ~30k resident-steps per replicate)
P_MIN = 1e-3  # a two-sample test below this flags a difference
MAX_Z = 4.0  # |difference of means| above this many standard errors flags a difference
QUANTITIES = ("last_day_rate", "last_day_belonging", "mean_rate")


@pytest.fixture(scope="module")
def community():
    return build_community(SCENARIO, online_base=ONLINE_BASE)


# --------------------------------------------------------------------------- helpers

def _summary(rates: np.ndarray, means: dict[str, float]) -> tuple[float, float, float]:
    return float(rates[-1]), float(means["belonging"]), float(rates.mean())


def vectorised_samples(c, reps: int, seed0: int = 1000) -> np.ndarray:
    out = []
    for r in range(reps):
        rates, pop = c.vectorised(DAYS, seed0 + r)
        out.append(_summary(rates, population_means(pop)))
    return np.array(out)


def reference_samples(c, reps: int, seed0: int = 2000, **kwargs) -> np.ndarray:
    out = []
    for r in range(reps):
        model = c.reference(seed0 + r, **kwargs)
        rates = model.run(DAYS)
        out.append(_summary(rates, model.means()))
    return np.array(out)


def compare(a: np.ndarray, b: np.ndarray) -> list[dict]:
    """Per quantity: Welch and KS p-values, difference of means, its SE, and a verdict."""
    rows = []
    for j, name in enumerate(QUANTITIES):
        x, y = a[:, j], b[:, j]
        se = float(np.sqrt(x.var(ddof=1) / len(x) + y.var(ddof=1) / len(y)))
        diff = float(y.mean() - x.mean())
        z = diff / se if se > 0 else (0.0 if diff == 0 else np.inf)
        p_t = float(stats.ttest_ind(x, y, equal_var=False).pvalue) if se > 0 else 1.0
        p_ks = float(stats.ks_2samp(x, y).pvalue)
        differs = p_t < P_MIN or p_ks < P_MIN or abs(z) > MAX_Z
        rows.append({"quantity": name, "mean_a": float(x.mean()), "mean_b": float(y.mean()),
                     "diff": diff, "se": se, "z": z, "p_welch": p_t, "p_ks": p_ks,
                     "differs": differs})
    return rows


def _table(rows: list[dict]) -> str:
    return "\n".join(
        f"{r['quantity']:>20}: {r['mean_a']:.5f} vs {r['mean_b']:.5f}  z={r['z']:+.2f}  "
        f"p_welch={r['p_welch']:.3g}  p_ks={r['p_ks']:.3g}  {'DIFFERS' if r['differs'] else 'ok'}"
        for r in rows
    )


class TodaysActivityModel(ReferenceModel):
    """Wrong on purpose: one sequential pass, so nb_share sees neighbours who acted today."""

    def step(self) -> None:
        def observe_and_act(agent):
            agent.observe()
            agent.act()

        self.agents.shuffle_do(observe_and_act)
        self.day += 1


# --------------------------------------------------------------------------- construction

def test_build_community_is_what_the_model_builds(community):
    model = GovernanceModel(scenario=scenario_from_dict(SCENARIO), collect=False)
    s, t = community.structure, model.structure
    assert s.n == t.n and s.n_communities == t.n_communities
    np.testing.assert_array_equal(s.household, t.household)
    np.testing.assert_array_equal(s.tenure, t.tenure)
    for attr in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(s.adjacency, attr), getattr(t.adjacency, attr))
    for col in ("trust_gov", "trust_comm", "belonging", "efficacy", "time_avail", "threshold",
                "dependency"):
        np.testing.assert_array_equal(getattr(community.population, col),
                                      getattr(model.population, col), err_msg=col)
    # Population.step takes no regime input: dependency starts at the scenario's value and fades
    assert set(community.step_kwargs) == {"online_open", "online_base", "online_hours", "grievance_decay"}
    assert community.step_kwargs["grievance_decay"] == model.scenario.cases.grievance_decay
    np.testing.assert_array_equal(community.population.dependency,
                                  np.float32(model.scenario.behaviour.initial_dependency))
    # the helper's extra state, so the dynamics are non-trivial
    active0 = community.population.active_mask(0)
    assert 0.2 < active0.mean() < 0.3
    assert community.population.last_active[active0].max() < 0
    assert community.population.grievance.mean() > 0


def test_reference_model_is_a_mesa_model_with_copied_state(community):
    model = community.reference(seed=3)
    pop = community.population
    assert len(model.agents) == pop.n
    for col in ("trust_gov", "belonging", "threshold", "disposition", "grievance", "last_active"):
        np.testing.assert_array_equal(model.column(col), getattr(pop, col).astype(np.float64))
    # weights are the row of structure.influence, row-normalised
    a = max(model.residents, key=lambda r: len(r.neighbours))
    infl = community.structure.influence
    lo, hi = infl.indptr[a.row], infl.indptr[a.row + 1]
    assert [nb.row for nb, _ in a.neighbours] == infl.indices[lo:hi].tolist()
    assert [w for _, w in a.neighbours] == infl.data[lo:hi].tolist()
    assert sum(w for _, w in a.neighbours) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="not built on this structure"):
        other = build_community({"seed": 12, "population": {"households": 50}})
        run_vectorised(other.structure, pop, 1, np.random.default_rng(0), **community.step_kwargs)


# --------------------------------------------------------------------------- exact checks

def test_nb_share_of_one_agent_matches_on_day_zero(community):
    pop = copy_population(community.population)
    model = community.reference(seed=0)
    active = pop.active_mask(0)
    # a resident with several neighbours, some active and some not: a non-trivial share
    infl = community.structure.influence
    mixed = [
        i for i in range(pop.n)
        if 0 < active[infl.indices[infl.indptr[i]:infl.indptr[i + 1]]].mean() < 1
    ]
    i = max(mixed, key=lambda i: infl.indptr[i + 1] - infl.indptr[i])
    pop.step(0, np.random.default_rng(0), **community.step_kwargs)
    agent = model.residents[i]
    agent.observe()
    assert 0.0 < agent.nb_share < 1.0
    assert agent.nb_share == pytest.approx(float(pop.nb_share[i]), rel=1e-6, abs=1e-7)
    # and every agent
    model.agents.do("observe")
    np.testing.assert_allclose(model.column("nb_share"), pop.nb_share, rtol=1e-6, atol=1e-7)


def _deterministic_runs(c, days: int, model_class=ReferenceModel, **overrides):
    pop = copy_population(c.population)
    kwargs = {**c.step_kwargs, **overrides}
    rates_v = run_vectorised(c.structure, pop, days, np.random.default_rng(0), **kwargs)
    model = c.reference(seed=0, model_class=model_class, **overrides)
    rates_r = model.run(days)
    return pop, rates_v, model, rates_r


def _assert_same_trajectory(pop, rates_v, model, rates_r):
    np.testing.assert_array_equal(rates_r, rates_v)
    np.testing.assert_array_equal(model.column("last_active"), pop.last_active)
    np.testing.assert_array_equal(model.column("online"), pop.online)
    for col in MEAN_COLUMNS:
        np.testing.assert_allclose(model.column(col), getattr(pop, col), rtol=1e-5, atol=1e-5,
                                   err_msg=col)
    assert model.hours == pytest.approx(pop.hours)


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"online_open": np.zeros(1, dtype=bool)}, id="channel-closed-nobody"),
        pytest.param({"online_base": 50.0}, id="huge-base-every-eligible"),
    ],
)
def test_deterministic_days_match_exactly(community, overrides):
    """40 days (6 weekly updates, the seeded activity lapsing) without randomness in outcomes."""
    pop, rates_v, model, rates_r = _deterministic_runs(community, 40, **overrides)
    _assert_same_trajectory(pop, rates_v, model, rates_r)
    if pop.online.sum() == 0:  # channel closed: the seeded activity lapses by day 29
        assert rates_v[0] > 0.2 and rates_v[-1] == 0.0
    else:  # every eligible resident takes part every day
        assert pop.online.sum() == 40 * pop.eligible.sum() and rates_v.min() == 1.0
    assert not np.allclose(pop.belonging, community.population.belonging)  # weekly updates ran
    # dependency fades toward 0 (nobody is served by government here) ...
    assert (pop.dependency < community.population.dependency).all()
    assert (pop.dependency > 0).all()
    # ... and satisfaction follows experience only: the weekly step leaves it alone
    np.testing.assert_array_equal(pop.satisfaction, community.population.satisfaction)


def test_exact_check_detects_todays_activity_variant(community):
    """Power of the exact check: nb_share from today's activity is caught at once."""
    pop, rates_v, model, rates_r = _deterministic_runs(
        community, 8, model_class=TodaysActivityModel, online_base=50.0
    )
    with pytest.raises(AssertionError):
        _assert_same_trajectory(pop, rates_v, model, rates_r)


# --------------------------------------------------------------------------- distributions

@pytest.fixture(scope="module")
def vectorised(community):
    return vectorised_samples(community, R)


def test_distributions_match(community, vectorised):
    oracle = reference_samples(community, R)
    rows = compare(vectorised, oracle)
    assert not any(r["differs"] for r in rows), "\n" + _table(rows)
    # the replicates really vary (otherwise the tests above are vacuous)
    assert vectorised[:, 0].std() > 0.005 and oracle[:, 0].std() > 0.005


def test_comparison_detects_a_wrong_oracle(community, vectorised):
    """Power: a social weight 25% too high is flagged on every compared quantity."""
    w = dataclasses.replace(community.weights, social=community.weights.social * 1.25)
    wrong = reference_samples(community, R, weights=w)
    rows = compare(vectorised, wrong)
    assert all(r["differs"] for r in rows), "\n" + _table(rows)
    assert all(r["p_welch"] < P_MIN and abs(r["z"]) > MAX_Z for r in rows), "\n" + _table(rows)
