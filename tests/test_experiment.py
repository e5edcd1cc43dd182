"""Experiment runner: validation, designs, seeds, backends, resume after kill -9."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from govsim.experiment import ExperimentError, expand, load_experiment, run_experiment, run_seed
from govsim.experiment.design import points, sample_matrix
from govsim.experiment.spec import experiment_from_dict

from conftest import ROOT, SCENARIOS

SMALL = {"population.households": 150}


def write_exp(tmp_path, name="exp", **fields):
    data = {
        "name": name,
        "scenario": str(SCENARIOS / "hybrid.toml"),
        "regimes": ["self_governing", "government_led"],
        "replicates": 2,
        "steps": 30,
        "seed": 11,
        "metrics": ["mean_participation_rate", "resolution_rate", "cost_per_resolved_case"],
        "parameters": {"pilots.grid_management": [False, True]},
        "overrides": SMALL,
    }
    data.update(fields)
    import tomli_w

    path = tmp_path / f"{name}.toml"
    path.write_bytes(tomli_w.dumps(data).encode())
    return path


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    "change, needle",
    [
        ({"regimes": ["anarchy"]}, "regimes: unknown regime 'anarchy'"),
        ({"metrics": ["happiness"]}, "metrics: unknown metric 'happiness'"),
        ({"replicates": 0}, "replicates = 0 is invalid; allowed: an integer in [1, 100000]"),
        ({"design": "magic"}, "design = 'magic' is invalid; allowed: one of 'grid', 'lhs', 'sobol', 'morris'"),
        ({"parameters": {"population.colour": [1, 2]}}, "population.colour"),
        ({"parameters": {"population.migrant_share": [0.1, 1.5]}}, "population.migrant_share = 1.5"),
        ({"parameters": {"cases.need_rate": {"min": 0.1, "max": 0.5}}}, "needs num"),
        ({"parameters": {"cases.need_rate": {"min": 0.5, "max": 0.1, "num": 3}}}, "must be below max"),
        ({"design": "sobol", "parameters": {"cases.need_rate": [0.1, 0.2]}}, "samples ranges"),
        ({"bogus": 1}, "unknown field 'bogus'"),
        ({"scenario": "nope.toml"}, "file not found"),
        ({"overrides": {"population.households": -3}}, "population.households = -3"),
    ],
)
def test_bad_experiment_files_one_line_errors(tmp_path, change, needle):
    path = write_exp(tmp_path, **change)
    with pytest.raises(ExperimentError) as exc:
        load_experiment(path)
    msg = str(exc.value)
    assert "\n" not in msg
    assert needle in msg


def test_shipped_experiments_validate():
    import tomllib

    from govsim.analysis.calibration import load_calibration

    files = sorted((ROOT / "experiments").glob("*.toml"))
    assert files
    for path in files:
        data = tomllib.loads(path.read_text())
        if "targets" in data:  # a calibration file
            assert load_calibration(path).names
        elif "levers" in data:  # an optimisation file (govsim optimize)
            from govsim.analysis.robust import load_optimization

            assert load_optimization(path).spec.levers
        else:
            assert len(expand(load_experiment(path))) >= 1


# ------------------------------------------------------------------ designs and seeds
def _exp(design, samples=8, **params):
    data = {"name": "d", "scenario": str(SCENARIOS / "hybrid.toml"), "design": design, "samples": samples,
            "replicates": 1, "parameters": params or {
                "cases.need_rate": {"min": 0.2, "max": 0.6},
                "pilots.grid_screening": {"min": 0.05, "max": 0.4},
                "committees.council_members": {"min": 5, "max": 30, "integer": True}}}
    return experiment_from_dict(data)


def test_salib_sampling_shapes_and_bounds():
    d = 3
    assert sample_matrix(_exp("sobol", 8)).shape == (8 * (d + 2), d)
    assert sample_matrix(_exp("morris", 5)).shape == (5 * (d + 1), d)
    assert sample_matrix(_exp("lhs", 7)).shape == (7, d)
    pts = points(_exp("lhs", 50))
    assert all(0.2 <= p["cases.need_rate"] <= 0.6 for p in pts)
    assert all(isinstance(p["committees.council_members"], int) for p in pts)
    lhs = np.array([p["cases.need_rate"] for p in pts])
    # Latin hypercube: one sample in each of the 50 equal strata.
    strata = np.floor((lhs - 0.2) / 0.4 * 50).astype(int)
    assert len(set(np.minimum(strata, 49))) == 50
    np.testing.assert_array_equal(sample_matrix(_exp("sobol", 8)), sample_matrix(_exp("sobol", 8)))


def test_grid_design_is_full_factorial():
    exp = _exp("grid", **{"pilots.grid_management": [False, True], "cases.need_rate": {"min": 0.2, "max": 0.6, "num": 3}})
    pts = points(exp)
    assert len(pts) == 6
    assert {p["cases.need_rate"] for p in pts} == {0.2, 0.4, 0.6}


def test_seeds_depend_on_identity_not_order():
    assert run_seed(1, 0, 0) == run_seed(1, 0, 0)
    seeds = {run_seed(1, p, r) for p in range(20) for r in range(20)}
    assert len(seeds) == 400
    assert run_seed(1, 0, 0) != run_seed(2, 0, 0)
    exp = experiment_from_dict({"name": "s", "scenario": str(SCENARIOS / "hybrid.toml"),
                                "regimes": ["hybrid", "government_led"], "replicates": 3})
    specs = expand(exp)
    assert len({s.run_id for s in specs}) == len(specs) == 6
    by = {(s.regime, s.replicate): s.seed for s in specs}
    assert by[("hybrid", 1)] == by[("government_led", 1)]  # common random numbers across regimes
    assert by[("hybrid", 0)] != by[("hybrid", 1)]


# ------------------------------------------------------------------ backends
@pytest.fixture(scope="module")
def reference_table(tmp_path_factory):
    d = tmp_path_factory.mktemp("ref")
    exp = load_experiment(write_exp(d))
    return run_experiment(exp, d / "serial", backend="serial", progress=False)


@pytest.mark.parametrize("backend, workers", [("process", 1), ("process", 2), ("dask", 2)])
def test_identical_table_on_every_backend_and_worker_count(tmp_path, reference_table, backend, workers):
    if backend == "dask":
        pytest.importorskip("dask.distributed")
    exp = load_experiment(write_exp(tmp_path))
    table = run_experiment(exp, tmp_path / backend, backend=backend, workers=workers, progress=False)
    assert len(table) == 8
    pd.testing.assert_frame_equal(table, reference_table)


def test_results_vary_with_regime_and_have_ids(reference_table):
    t = reference_table
    assert list(t.columns[:5]) == ["run_id", "regime", "point", "replicate", "seed"]
    assert "pilots.grid_management" in t.columns
    # A month is too short for participation to part (it moves slowly); who pays shows at once:
    # a government-led case is handled by paid staff.
    means = t.groupby("regime")["cost_per_resolved_case"].mean()
    assert means["government_led"] > 1.5 * means["self_governing"]


def test_rerun_skips_done_runs_and_refuses_other_experiment(tmp_path):
    exp = load_experiment(write_exp(tmp_path))
    out = tmp_path / "res"
    first = run_experiment(exp, out, backend="serial", progress=False, max_runs=3)
    assert len(first) == 3
    mtimes = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.parquet")}
    full = run_experiment(exp, out, backend="serial", progress=False)
    assert len(full) == 8
    for p in (out / "runs").glob("*.parquet"):
        if p.name in mtimes:
            assert p.stat().st_mtime_ns == mtimes[p.name]  # not recomputed
    other = load_experiment(write_exp(tmp_path, name="other", seed=12))
    with pytest.raises(ExperimentError, match="different experiment"):
        run_experiment(other, out, backend="serial", progress=False)


@pytest.mark.parametrize("attempt", [0, 1])
def test_kill_9_mid_sweep_then_resume_equals_uninterrupted(tmp_path, attempt):
    """kill -9 at a random moment (after a random number of finished runs plus a random
    delay, so also in the middle of writing a file), then resume: byte-identical table."""
    import random

    rnd = random.Random()
    wait_runs, delay = rnd.randint(1, 12), rnd.uniform(0.0, 0.15)
    path = write_exp(tmp_path, replicates=6, steps=60, regimes=["hybrid", "government_led"])
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "govsim.cli", "sweep", str(path), "--out", str(out), "--backend", "serial",
           "--quiet", "--no-report"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    runs = out / "runs"
    while time.time() < deadline and proc.poll() is None:
        if runs.exists() and len(list(runs.glob("*.parquet"))) >= wait_runs:
            break
        time.sleep(0.01)
    time.sleep(delay)
    assert proc.poll() is None, f"sweep finished before it could be killed ({wait_runs} runs + {delay:.3f} s)"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    n_before = len(list(runs.glob("*.parquet")))
    assert wait_runs <= n_before < 24, (wait_runs, delay)
    resumed = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr
    table = pd.read_parquet(out / "results.parquet")
    clean_out = tmp_path / "clean"
    clean = run_experiment(load_experiment(path), clean_out, backend="serial", progress=False)
    pd.testing.assert_frame_equal(table, clean)
    for name in ("results.parquet", "results.csv"):  # byte-identical, not merely equal
        assert (out / name).read_bytes() == (clean_out / name).read_bytes(), (name, wait_runs, delay)
    assert not list(out.rglob("*.tmp")), "a temporary file was left behind"


def test_process_pool_works_without_a_main_file(tmp_path):
    """Like Jupyter: __main__ has no file and no guard. The pool must neither hang nor fail."""
    path = write_exp(tmp_path, replicates=1)
    code = (
        "from govsim.experiment import load_experiment, run_experiment\n"
        f"exp = load_experiment({str(path)!r})\n"
        f"df = run_experiment(exp, {str(tmp_path / 'nb')!r}, backend='process', workers=2, progress=False)\n"
        "print('rows', len(df))\n"
    )
    res = subprocess.run([sys.executable, "-"], input=code, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "rows 4" in res.stdout


def test_results_of_another_model_code_version_are_not_mixed(tmp_path, monkeypatch):
    import govsim.experiment.store as store

    exp = load_experiment(write_exp(tmp_path))
    out = tmp_path / "res"
    run_experiment(exp, out, backend="serial", progress=False, max_runs=2)
    monkeypatch.setattr(store, "model_code_hash", lambda: "0123456789abcdef")
    with pytest.raises(ExperimentError, match="different version of the model code"):
        run_experiment(exp, out, backend="serial", progress=False)
    table = run_experiment(exp, out, backend="serial", progress=False, restart=True)
    assert len(table) == 8
