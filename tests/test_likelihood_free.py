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


TINY_CAL = """
name = "tiny_abc"
scenario = "{scenario}"
seed = 3
steps = 30
method = "abc"
[overrides]
"population.households" = 120
"population.people" = 300
[abc]
particles = 10
generations = 2
predictive_draws = 4
[history]
waves = 2
points = 6
replicates = 2
pool = 500
[parameters]
"committees.mediation_skill" = {{min = 0.3, max = 1.0}}
[targets]
screened_resolution_rate = 0.9
"""


def tiny_calibration(tmp_path):
    from conftest import SCENARIOS

    p = tmp_path / "tiny.toml"
    p.write_text(TINY_CAL.format(scenario=(SCENARIOS / "hybrid.toml").as_posix()))
    return p


@pytest.mark.parametrize("method", ["abc", "history"])
def test_cli_calibrate_likelihood_free_writes_a_report(tmp_path, capsys, method):
    from govsim.cli import main

    cal = tiny_calibration(tmp_path)
    out = tmp_path / method
    assert main(["calibrate", str(cal), "--method", method, "--fast", "--backend", "serial", "--quiet",
                 "--out", str(out)]) == 0
    text = (out / "calibration.md").read_text()
    if method == "abc":
        assert "Posterior predictive check" in text and (out / "posterior.csv").is_file()
        assert (out / "predictive_check.png").is_file()
    else:
        assert "non-implausible" in text and (out / "history_waves.png").is_file()
    # a second run refuses to overwrite without --force
    assert main(["calibrate", str(cal), "--method", method, "--fast", "--backend", "serial", "--quiet",
                 "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err


def test_abc_same_result_on_process_backend(tmp_path):
    from govsim.analysis.calibration import load_calibration
    from govsim.analysis.calibration_lfi import simulator
    from govsim.analysis.likelihood_free import predictive_check

    cal = load_calibration(tiny_calibration(tmp_path))
    sim, bounds = simulator(cal), {"committees.mediation_skill": (0.3, 1.0)}
    kw = {"particles": 10, "generations": 2, "seed": 1, "batch": 4}
    a = abc_smc(sim, bounds, dict(cal.spec.targets), backend="serial", **kw)
    b = abc_smc(sim, bounds, dict(cal.spec.targets), backend="process", workers=2, **kw)
    assert a.particles.equals(b.particles)
    pa = predictive_check(sim, a, draws=4, seed=1, backend="serial")
    pb = predictive_check(sim, b, draws=4, seed=1, backend="process", workers=2)
    assert pa.equals(pb)


@pytest.mark.parametrize("extra, msg", [
    ("[tolerance]\nnope = 0.1\n", "tolerance: 'nope' is not a target"),
    ("[tolerance]\nscreened_resolution_rate = 0.0\n", "allowed: a finite number > 0"),
    ("[abc]\nparticles = 2\n", "abc"),
])
def test_bad_lfi_settings_are_one_line_errors(tmp_path, capsys, extra, msg):
    from govsim.cli import main

    p = tiny_calibration(tmp_path)
    text = p.read_text()
    if extra.startswith("[abc]"):
        text = text.replace("particles = 10", "particles = 2")
    else:
        text += extra
    p.write_text(text)
    assert main(["validate", str(p)]) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1
