"""Robust policy search: NSGA-II over levers across futures; resumes after kill -9."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from conftest import ROOT, SCENARIOS

TINY = """
name = "tiny_opt"
scenario = "{scenario}"
seed = 4
steps = 20
population = 4
generations = 3
futures = 2
robustness = "{robustness}"
[overrides]
"population.households" = 100
"population.people" = 250
[levers]
"pilots.contract_share" = {{min = 0.0, max = 0.5}}
"committees.households_per_member" = {{min = 60, max = 300, integer = true}}
[uncertain]
"cases.need_rate" = {{min = 0.25, max = 0.5}}
[objectives]
mean_participation_rate = "max"
resolution_rate = "max"
fiscal_spending = "min"
[satisficing]
resolution_rate = 0.5
"""


def tiny(tmp_path, robustness="regret"):
    p = tmp_path / f"opt_{robustness}.toml"
    p.write_text(TINY.format(scenario=(SCENARIOS / "hybrid.toml").as_posix(), robustness=robustness))
    return p


def cli(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "govsim.cli", *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)


def test_optimize_resumes_after_kill_to_the_same_front(tmp_path):
    cfg = tiny(tmp_path)
    ref, cut = tmp_path / "ref", tmp_path / "cut"
    from govsim.analysis.robust import load_optimization, optimize, write_optimize

    opt = load_optimization(cfg)
    write_optimize(opt, optimize(opt, ref, backend="serial", progress=False), ref)  # uninterrupted
    runs = len(list((ref / "runs").glob("*.parquet")))
    p = cli("optimize", cfg, "--out", cut, "--backend", "serial", "--quiet")
    deadline = time.monotonic() + 600
    while len(list((cut / "runs").glob("*.parquet"))) < runs // 2 and time.monotonic() < deadline:
        assert p.poll() is None, "finished before it could be interrupted"
        time.sleep(0.05)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    done = len(list((cut / "runs").glob("*.parquet")))
    assert 0 < done < runs
    p = cli("optimize", cfg, "--out", cut, "--backend", "serial", "--quiet")
    assert p.wait(timeout=600) == 0, p.stderr.read().decode()
    a = pd.read_csv(ref / "optimize" / "pareto.csv")
    b = pd.read_csv(cut / "optimize" / "pareto.csv")
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(pd.read_csv(ref / "optimize" / "hypervolume.csv"),
                                  pd.read_csv(cut / "optimize" / "hypervolume.csv"))
    assert len(list((cut / "runs").glob("*.parquet"))) == runs


def test_satisficing_search_and_hypervolume(tmp_path, capsys):
    from govsim.analysis.robust import load_optimization, optimize, write_optimize

    opt = load_optimization(tiny(tmp_path, "satisficing"))
    res = optimize(opt, tmp_path / "sat", backend="serial", progress=False)
    # Earlier generations' runs in the store are the search's own, not files to warn about.
    assert "no planned run" not in capsys.readouterr().err
    assert res.complete and not res.pareto.empty
    assert "satisficing_share" in res.pareto.columns
    assert res.pareto["satisficing_share"].between(0, 1).all()
    hv = res.hypervolume["hypervolume"].to_numpy()
    assert (hv[1:] >= hv[:-1] - 1e-12).all()  # the archive's front can only grow
    text = write_optimize(opt, res, tmp_path / "sat")["report"].read_text()
    assert "Pareto set" in text and "Hypervolume" in text


@pytest.mark.parametrize("edit, msg", [
    (('mean_participation_rate = "max"', 'mean_participation_rate = "up"'), "objectives"),
    (('[uncertain]\n"cases.need_rate"', '[uncertain]\n"pilots.contract_share"'), "also a lever"),
    (('resolution_rate = 0.5', 'nope = 0.5'), "unknown metric"),
])
def test_bad_optimization_files_are_one_line_errors(tmp_path, capsys, edit, msg):
    from govsim.cli import main

    p = tiny(tmp_path)
    p.write_text(p.read_text().replace(*edit))
    assert main(["validate", str(p)]) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1
