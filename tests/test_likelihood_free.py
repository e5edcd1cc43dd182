"""ABC-SMC and history matching recover a known parameter of a cheap synthetic simulator."""

import numpy as np
import pytest

from govsim.analysis.likelihood_free import abc_smc, history_match

TRUE = {"a": 0.3, "b": 0.6}
BOUNDS = {"a": (0.0, 1.0), "b": (0.0, 1.0)}
NOISE = 0.05


def toy(task):
    """Two noisy figures of two parameters (a cheap stand-in for the model)."""
    params, seed = task
    rng = np.random.default_rng(seed)
    a, b = params["a"], params["b"]
    return {"x": a + 0.3 * b + rng.normal(0, NOISE), "y": b - 0.4 * a + rng.normal(0, NOISE)}


def observed(rep: int) -> dict:
    """One noisy realisation at the true parameters: the 'field figures' of repetition rep."""
    return toy((TRUE, 1000 + rep))


def test_abc_smc_covers_the_true_value_in_9_of_10_repetitions():
    covered = []
    for rep in range(10):
        res = abc_smc(toy, BOUNDS, observed(rep), particles=60, generations=4, seed=rep)
        ok = all(res.credible_interval(n)[0] <= v <= res.credible_interval(n)[1] for n, v in TRUE.items())
        covered.append(ok)
        # the posterior is informative: narrower than the prior
        assert np.diff(res.credible_interval("a"))[0] < 0.6
    assert sum(covered) >= 9, covered


def test_abc_smc_is_deterministic_and_shrinks_epsilon():
    r1 = abc_smc(toy, BOUNDS, observed(0), particles=30, generations=3, seed=5, batch=7)
    r2 = abc_smc(toy, BOUNDS, observed(0), particles=30, generations=3, seed=5, batch=7)
    assert r1.particles.equals(r2.particles)
    eps = r1.generations["epsilon"].to_numpy()
    assert np.all(np.diff(eps[1:]) < 0)


def test_history_matching_keeps_the_truth_and_shrinks():
    hm = history_match(toy, BOUNDS, observed(0), waves=3, points=25, replicates=2, seed=1,
                       tolerance={"x": 0.02, "y": 0.02}, pool=4000)
    shares = [w.nroy_share for w in hm.waves]
    assert shares[0] < 1.0 and all(b <= a for a, b in zip(shares, shares[1:], strict=False))
    assert shares[-1] < 0.3
    assert hm.non_implausible(TRUE)
    assert not hm.non_implausible({"a": 0.9, "b": 0.1})
