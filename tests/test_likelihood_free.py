"""ABC-SMC and history matching recover a known parameter of a cheap synthetic simulator."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from govsim.analysis.likelihood_free import abc_smc, history_match, predictive_check
from govsim.experiment.spec import ExperimentError

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
    again = main(["calibrate", str(cal), "--method", method, "--fast", "--backend", "serial", "--quiet",
                  "--out", str(out)])
    if method == "abc":  # a second run resumes the stored run: nothing left to simulate, same answer
        assert again == 0
        text2 = (out / "calibration.md").read_text()
        assert text2.split("## Posterior")[1] == text.split("## Posterior")[1]
    else:  # refuses to overwrite without --force
        assert again == 2
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


# ---------------------------------------------------------------------- resume
class Toy:
    """The toy simulator, interrupted (KeyboardInterrupt) after ``calls`` simulations."""

    def __init__(self, calls: int | None = None):
        self.calls, self.done = calls, 0

    def __call__(self, task):
        self.done += 1
        if self.calls is not None and self.done > self.calls:
            raise KeyboardInterrupt
        return toy(task)

    def store_key(self):
        return "toy"


RESUME = {"particles": 20, "generations": 4, "seed": 5, "batch": 7}


def test_abc_resumes_after_interruption_to_the_uninterrupted_result(tmp_path):
    ref = abc_smc(toy, BOUNDS, observed(0), **RESUME)  # uninterrupted, nothing stored
    assert ref.simulations > 120
    for cut in (7, 45, 100, ref.simulations - 3):  # in generation 0, mid-generation, in the last one
        out = tmp_path / f"cut{cut}"
        with pytest.raises(KeyboardInterrupt):
            abc_smc(Toy(cut), BOUNDS, observed(0), out=out, **RESUME)
        res = abc_smc(Toy(), BOUNDS, observed(0), out=out, **RESUME)
        pd.testing.assert_frame_equal(res.particles, ref.particles, check_exact=True)
        pd.testing.assert_frame_equal(res.generations, ref.generations, check_exact=True)
        assert res.simulations == ref.simulations
        assert res.new_simulations == ref.simulations - cut  # finished simulations were reused
        again = abc_smc(Toy(0), BOUNDS, observed(0), out=out, **RESUME)  # finished: nothing to run
        assert again.new_simulations == 0 and again.particles.equals(ref.particles)
    # the predictive check is stored too, and equal to the unstored one
    a = predictive_check(Toy(), res, draws=6, seed=1)
    assert a.equals(predictive_check(toy, ref, draws=6, seed=1))
    assert predictive_check(Toy(0), res, draws=6, seed=1).equals(a)


def test_abc_more_generations_extend_a_finished_run(tmp_path):
    out = tmp_path / "ext"
    short = abc_smc(Toy(), BOUNDS, observed(0), out=out, **{**RESUME, "generations": 2})
    longer = abc_smc(Toy(), BOUNDS, observed(0), out=out, **RESUME)
    ref = abc_smc(toy, BOUNDS, observed(0), **RESUME)
    assert longer.particles.equals(ref.particles) and longer.generations.equals(ref.generations)
    assert longer.new_simulations == ref.simulations - short.simulations
    # fewer generations than stored: the shorter run's answer, read back
    back = abc_smc(Toy(0), BOUNDS, observed(0), out=out, **{**RESUME, "generations": 2})
    assert back.particles.equals(short.particles) and back.generations.equals(short.generations)


@pytest.mark.parametrize("change", [{"particles": 25}, {"seed": 6}, {"quantile": 0.4}, {"bounds": "b"}])
def test_abc_refuses_a_folder_of_another_configuration(tmp_path, change):
    out = tmp_path / "run"
    abc_smc(Toy(), BOUNDS, observed(0), out=out, **{**RESUME, "generations": 1})
    kw = {**RESUME, "generations": 1, **{k: v for k, v in change.items() if k != "bounds"}}
    bounds = {**BOUNDS, "b": (0.0, 0.9)} if "bounds" in change else BOUNDS
    with pytest.raises(ExperimentError) as err:
        abc_smc(Toy(0), bounds, observed(0), out=out, **kw)
    msg = str(err.value)
    assert "another configuration" in msg and "--restart" in msg and "\n" not in msg
    assert next(iter(change)) in msg
    # restart discards the stored run
    res = abc_smc(Toy(), bounds, observed(0), out=out, restart=True, **kw)
    assert res.new_simulations == res.simulations


def _cli(*args):
    from conftest import ROOT

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "govsim.cli", *map(str, args)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_cli_abc_resumes_after_kill_9_and_refuses_another_configuration(tmp_path, capsys):
    from govsim.cli import main

    cal = tiny_calibration(tmp_path)
    ref, cut = tmp_path / "ref", tmp_path / "cut"
    args = ["calibrate", cal, "--method", "abc", "--backend", "serial", "--quiet"]
    assert main([*map(str, args), "--out", str(ref)]) == 0
    runs = len(list((ref / "abc" / "runs").glob("*.parquet")))
    p = _cli(*args, "--out", cut)
    deadline = time.monotonic() + 300
    while len(list((cut / "abc" / "runs").glob("g*.parquet"))) < runs // 2 and time.monotonic() < deadline:
        assert p.poll() is None, "finished before it could be interrupted"
        time.sleep(0.02)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert 0 < len(list((cut / "abc" / "runs").glob("*.parquet"))) < runs
    p = _cli(*args, "--out", cut)
    assert p.wait(timeout=300) == 0, p.stderr.read().decode()
    for name in ("posterior.csv", "generations.csv", "predictive.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(ref / name), pd.read_csv(cut / name), check_exact=True)
    # another configuration in the same folder: one line, exit 2
    cal.write_text(cal.read_text().replace("particles = 10", "particles = 12"))
    capsys.readouterr()
    assert main([*map(str, args), "--out", str(cut)]) == 2
    err = capsys.readouterr().err
    assert "another configuration (" in err and "particles" in err and err.count("\n") == 1


def test_calibration_reports_in_chinese(tmp_path):
    """--lang zh: the ABC and history-matching reports are in Chinese, with none of the English
    sentences, and their figures carry Chinese titles."""
    from govsim.cli import main
    from govsim.outcomes import set_language

    cal = tiny_calibration(tmp_path)
    try:
        for method, english in [("abc", ["## Posterior", "Posterior predictive check", "Distance: Euclidean",
                                         "Targets (field figures)", "model runs", "points |"]),
                                ("history", ["## Waves", "Implausibility:", "Non-implausible ranges",
                                             "Targets (field figures)"])]:
            out = tmp_path / method
            assert main(["calibrate", str(cal), "--method", method, "--fast", "--backend", "serial", "--quiet",
                         "--lang", "zh", "--out", str(out)]) == 0
            text = (out / "calibration.md").read_text()
            assert "# 校准：" in text and "目标（调研数据）" in text
            assert ("后验预测检验" in text) if method == "abc" else ("未被排除" in text)
            for sentence in english:
                assert sentence not in text, sentence
    finally:
        set_language("en")


def test_abc_replicates_average_runs_on_derived_seeds(tmp_path):
    """``[abc] replicates = k``: one simulation is the mean of k runs, the first on the
    simulation's own seed (so k = 1 is the plain run), the others on seeds derived from it;
    the stored runs' key changes with k, and the report says how many runs a simulation is."""
    from govsim.analysis.calibration import load_calibration
    from govsim.analysis.calibration_lfi import simulator
    from govsim.cli import main

    cal = load_calibration(tiny_calibration(tmp_path))
    one, three = simulator(cal), simulator(cal, replicates=3)
    params = {"committees.mediation_skill": 0.6}
    seeds = three.replicate_seeds(11)
    assert seeds[0] == 11 and len(set(seeds)) == 3 and seeds == three.replicate_seeds(11)
    runs = [one((params, s)) for s in seeds]
    pooled = three((params, 11))
    for k in pooled:
        assert pooled[k] == pytest.approx(np.mean([r[k] for r in runs]), abs=1e-12)
    assert one((params, 11)) == runs[0]
    assert "replicates" not in one.store_key() and three.store_key()["replicates"] == 3

    p = tmp_path / "rep.toml"
    p.write_text(tiny_calibration(tmp_path).read_text().replace("predictive_draws = 4",
                                                                 "predictive_draws = 4\nreplicates = 2"))
    out = tmp_path / "rep"
    assert main(["calibrate", str(p), "--method", "abc", "--fast", "--backend", "serial", "--quiet",
                 "--out", str(out)]) == 0
    text = (out / "calibration.md").read_text()
    assert "simulations of 2 model runs each" in text and "replicates = 2" in text
    bad = tmp_path / "bad.toml"
    bad.write_text(p.read_text().replace("replicates = 2", "replicates = 0"))
    assert main(["calibrate", str(bad), "--method", "abc", "--fast", "--backend", "serial", "--quiet",
                 "--out", str(tmp_path / "bad")]) == 2
