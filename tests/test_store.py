"""The store verifies itself: corruption, stray files, concurrent sweeps, full disks, growth.

After every kind of damage, either a resumed sweep ends with a table byte-identical to an
uninterrupted run, or the command refuses with one clear line. Nothing corrupt reaches a
report. (kill -9 at random moments: tests/test_experiment.py.)
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from govsim.cli import main
from govsim.experiment import ExperimentError, ResultStore, load_experiment, run_experiment
from govsim.experiment.design import count_runs, expand

from conftest import ROOT

TINY = 'name = "tiny"\nregime = "hybrid"\nsteps = 6\nseed = 1\n\n[population]\nhouseholds = 60\n'


def make_exp(d: Path, replicates: int = 2, **extra) -> Path:
    (d / "tiny.toml").write_text(TINY)
    lines = ['name = "store"', 'scenario = "tiny.toml"', 'regimes = ["hybrid", "government_led"]',
             f"replicates = {replicates}", "seed = 9",
             'metrics = ["mean_participation_rate", "resolution_rate", "cost_per_resolved_case"]']
    lines += [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    lines += ["", "[parameters]", '"pilots.grid_management" = [false, true]', ""]
    path = d / f"exp{replicates}.toml"
    path.write_text("\n".join(lines))
    return path


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """An uninterrupted sweep (8 runs) to compare every repaired folder with."""
    d = tmp_path_factory.mktemp("clean")
    exp = load_experiment(make_exp(d))
    run_experiment(exp, d / "res", backend="serial", progress=False)
    return d


def copy_results(clean: Path, tmp: Path) -> tuple[Path, Path]:
    shutil.copytree(clean, tmp / "c")
    return tmp / "c" / "exp2.toml", tmp / "c" / "res"


def assert_same_table(a: Path, b: Path) -> None:
    for name in ("results.parquet", "results.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def resume(exp_path: Path, out: Path, **kw) -> pd.DataFrame:
    return run_experiment(load_experiment(exp_path, **kw), out, backend="serial", progress=False)


# ------------------------------------------------------------------ damage, then resume
@pytest.mark.parametrize("damage", ["truncate", "empty", "flip", "garbage", "delete"])
def test_damaged_run_file_is_reported_and_rerun(clean, tmp_path, damage, capsys):
    exp_path, out = copy_results(clean, tmp_path)
    victim = sorted((out / "runs").glob("*.parquet"))[3]
    data = victim.read_bytes()
    if damage == "truncate":
        victim.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        victim.write_bytes(b"")
    elif damage == "flip":
        from test_bad_input import flip_a_value

        old = flip_a_value(victim)
        flipped = pd.read_parquet(victim)  # the flip really changes a value that parses fine
        assert 0 < old < 1 and (flipped.select_dtypes("number").abs() > 1e300).any().any()
    elif damage == "garbage":
        victim.write_bytes(os.urandom(len(data)))
    else:
        victim.unlink()
    capsys.readouterr()
    # compare refuses: nothing corrupt reaches a report
    assert main(["compare", str(out), "--quiet"]) == 2
    line = capsys.readouterr().err.strip()
    assert line.count("\n") == 0 and line.startswith("govsim: error: ") and victim.name in line
    assert not (out / "report").exists()
    # a resumed sweep reports the file in one line and re-runs it
    table = resume(exp_path, out)
    warned = [ln for ln in capsys.readouterr().err.splitlines() if victim.name in ln]
    assert len(warned) == 1 and warned[0].startswith("govsim: warning: ")
    assert len(table) == 8 and table["run_id"].is_unique
    assert_same_table(out, clean / "res")


def test_bit_flip_is_caught_even_without_recorded_checksums(clean, tmp_path):
    """The row hash in each file's own metadata is a second line of defence."""
    from test_bad_input import flip_a_value

    exp_path, out = copy_results(clean, tmp_path)
    victim = sorted((out / "runs").glob("*.parquet"))[0]
    flip_a_value(victim)
    (out / "checksums.jsonl").unlink()
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["checksums"] = {}
    (out / "manifest.json").write_text(json.dumps(manifest))
    v = ResultStore(out).verify()
    assert len(v.problems) == 1 and victim.name in v.problems[0] and "corrupted" in v.problems[0]
    assert victim.stem not in v.rows
    table = resume(exp_path, out)
    assert np.isfinite(table[["mean_participation_rate"]].to_numpy()).all()
    assert_same_table(out, clean / "res")


def test_stray_copy_is_ignored_with_a_warning_and_not_merged(clean, tmp_path, capsys):
    exp_path, out = copy_results(clean, tmp_path)
    first = sorted((out / "runs").glob("*.parquet"))[0]
    shutil.copy(first, out / "runs" / f"{first.stem} (copy).parquet")
    shutil.copy(first, out / "runs" / "hybrid-p00009-r0000.parquet")  # looks planned, is not
    capsys.readouterr()
    assert main(["compare", str(out), "--quiet", "--metrics", "resolution_rate"]) == 0
    err = capsys.readouterr().err
    assert "ignored 2 file(s) that belong to no planned run" in err
    df = pd.read_parquet(out / "results.parquet")
    assert len(df) == 8 and df["run_id"].is_unique
    resume(exp_path, out)
    assert_same_table(out, clean / "res")


def test_file_of_another_run_under_a_planned_name_is_rerun(clean, tmp_path):
    exp_path, out = copy_results(clean, tmp_path)
    runs = sorted((out / "runs").glob("*.parquet"))
    shutil.copy(runs[1], runs[0])
    # even with its checksum recorded as if it belonged there, the row's run id gives it away
    lines = (out / "checksums.jsonl").read_text().splitlines()
    import hashlib

    lines.append(json.dumps({"run_id": runs[0].stem, "sha256": hashlib.sha256(runs[0].read_bytes()).hexdigest()}))
    (out / "checksums.jsonl").write_text("\n".join(lines) + "\n")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["checksums"].pop(runs[0].stem)
    (out / "manifest.json").write_text(json.dumps(manifest))
    v = ResultStore(out).verify()
    assert any("holds run" in p for p in v.problems)
    resume(exp_path, out)
    assert_same_table(out, clean / "res")


def test_deleted_manifest_rebuilt_only_for_the_same_experiment(clean, tmp_path, capsys):
    exp_path, out = copy_results(clean, tmp_path)
    (out / "manifest.json").unlink()
    (out / "checksums.jsonl").unlink()
    changed = exp_path.with_name("changed.toml")
    changed.write_text(exp_path.read_text().replace("seed = 9", "seed = 10"))
    with pytest.raises(ExperimentError, match="manifest.json is missing and runs/.* another experiment"):
        resume(changed, out)
    assert not (out / "manifest.json").exists()  # nothing mislabelled
    capsys.readouterr()
    resume(exp_path, out)
    assert "rebuilt from run files of this experiment" in capsys.readouterr().err
    assert_same_table(out, clean / "res")
    assert sorted(json.loads((out / "manifest.json").read_text())["checksums"]) == sorted(
        p.stem for p in (out / "runs").glob("*.parquet"))


def test_manifest_that_is_not_json(clean, tmp_path, capsys):
    exp_path, out = copy_results(clean, tmp_path)
    (out / "manifest.json").write_text('{"experiment": "store", "runs": [')
    capsys.readouterr()
    assert main(["compare", str(out)]) == 2
    line = capsys.readouterr().err.strip()
    assert "\n" not in line and "manifest.json: not valid JSON (line 1" in line
    resume(exp_path, out)
    assert_same_table(out, clean / "res")


# ------------------------------------------------------------------ full disk, stale temp files
def test_full_disk_leaves_no_tmp_and_resume_is_identical(clean, tmp_path, monkeypatch):
    import govsim.experiment.paths as paths

    exp_path = make_exp(tmp_path)
    out = tmp_path / "res"
    real_replace = os.replace
    calls = {"n": 0}

    def full_disk(src, dst):
        calls["n"] += 1
        if calls["n"] == 4:
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        return real_replace(src, dst)

    monkeypatch.setattr(paths.os, "replace", full_disk)
    with pytest.raises(OSError, match="No space left"):
        resume(exp_path, out)
    monkeypatch.setattr(paths.os, "replace", real_replace)
    assert not list(out.rglob("*.tmp")), "a temporary file was left behind"
    assert 1 <= len(list((out / "runs").glob("*.parquet"))) < 8
    resume(exp_path, out)
    assert_same_table(out, clean / "res")


def test_full_disk_in_the_cli_is_one_line(tmp_path, monkeypatch, capsys):
    import govsim.experiment.paths as paths

    def full_disk(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    exp_path = make_exp(tmp_path)
    monkeypatch.setattr(paths.os, "replace", full_disk)
    rc = main(["sweep", str(exp_path), "--out", str(tmp_path / "r"), "--backend", "serial", "--quiet"])
    assert rc == 2
    line = capsys.readouterr().err.strip()
    assert "\n" not in line and "No space left on device" in line
    assert not list(tmp_path.rglob("*.tmp"))


# ------------------------------------------------------------------ concurrent sweeps
def test_second_sweep_into_the_same_folder_is_refused(clean, tmp_path):
    exp_path = make_exp(tmp_path, replicates=8, steps=200)
    out = tmp_path / "res"
    cmd = [sys.executable, "-m", "govsim.cli", "sweep", str(exp_path), "--out", str(out), "--backend", "serial",
           "--quiet", "--no-report"]
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not list((out / "runs").glob("*.parquet")):
            time.sleep(0.02)
        assert first.poll() is None, "the first sweep ended before the second started"
        second = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert second.returncode == 2
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and "another govsim sweep is writing into this folder" in lines[0], second.stderr
        _, err = first.communicate(timeout=300)
        assert first.returncode == 0, err
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate()
    clean_out = tmp_path / "clean"
    run_experiment(load_experiment(exp_path), clean_out, backend="serial", progress=False)
    assert_same_table(out, clean_out)


# ------------------------------------------------------------------ sweeps that grow
def test_more_replicates_keep_existing_runs_and_equal_a_fresh_sweep(clean, tmp_path, capsys):
    exp_path, out = copy_results(clean, tmp_path)
    before = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.parquet")}
    assert main(["sweep", str(exp_path), "--out", str(out), "--backend", "serial", "--quiet", "--no-report",
                 "--replicates", "3"]) == 0
    after = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.parquet")}
    assert len(after) == 12
    assert all(after[name] == t for name, t in before.items())  # kept, not recomputed
    fresh = tmp_path / "fresh"
    run_experiment(load_experiment(make_exp(tmp_path / "c", replicates=3)), fresh, backend="serial",
                   progress=False)
    assert_same_table(out, fresh)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["spec"]["replicates"] == 3 and len(manifest["runs"]) == 12
    # fewer replicates again: the extra runs are ignored with a warning, not mixed in
    capsys.readouterr()
    table = resume(exp_path, out, replicates=2)
    assert len(table) == 8
    assert "ignored 4 file(s)" in capsys.readouterr().err
    assert_same_table(out, clean / "res")


def test_sweep_steps_and_set_flags(tmp_path):
    exp_path = make_exp(tmp_path)
    base = load_experiment(exp_path)
    exp = load_experiment(exp_path, steps=4, overrides=["cases.need_rate=0.5", "population.households=80"])
    assert exp.base["steps"] == 4 and exp.base["cases"]["need_rate"] == 0.5
    assert exp.base["population"]["households"] == 80
    assert exp.fingerprint() != base.fingerprint()
    assert load_experiment(exp_path, replicates=5).fingerprint() == base.fingerprint()
    assert count_runs(load_experiment(exp_path, replicates=5)) == 20
    out = tmp_path / "r"
    assert main(["sweep", str(exp_path), "--out", str(out), "--backend", "serial", "--quiet", "--no-report",
                 "--steps", "4", "--set", "cases.need_rate=0.5", "--set", "population.households=80"]) == 0
    table = pd.read_parquet(out / "results.parquet")
    direct = run_experiment(exp, tmp_path / "direct", backend="serial", progress=False)
    pd.testing.assert_frame_equal(table, direct)
    # the same folder with other flags is another experiment: refused
    assert main(["sweep", str(exp_path), "--out", str(out), "--backend", "serial", "--quiet",
                 "--no-report"]) == 2


def test_copied_experiment_still_finds_its_scenario(tmp_path, monkeypatch):
    original = load_experiment(ROOT / "experiments" / "compare_regimes.toml")
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    shutil.copy(ROOT / "experiments" / "compare_regimes.toml", elsewhere / "mine.toml")
    monkeypatch.chdir(tmp_path)
    copied = load_experiment(elsewhere / "mine.toml")
    assert copied.base == original.base and copied.fingerprint() == original.fingerprint()
    # next to the copy, a scenario of that name wins (paths are relative to the file first)
    (tmp_path / "somewhere" / "scenarios").mkdir()
    (tmp_path / "somewhere" / "scenarios" / "hybrid.toml").write_text(TINY)
    shutil.copy(elsewhere / "mine.toml", tmp_path / "somewhere" / "mine.toml")
    text = (tmp_path / "somewhere" / "mine.toml").read_text().replace("../scenarios/", "scenarios/")
    (tmp_path / "somewhere" / "mine.toml").write_text(text)
    near = load_experiment(tmp_path / "somewhere" / "mine.toml")
    assert near.base["population"]["households"] == 60


# ------------------------------------------------------------------ estimates
def test_estimate_is_printed_and_huge_sweeps_need_yes(tmp_path, capsys):
    exp_path = make_exp(tmp_path)
    rc = main(["sweep", str(exp_path), "--out", str(tmp_path / "r"), "--backend", "serial", "--no-report",
               "--max-runs", "1"])
    assert rc == 0
    err = capsys.readouterr().err
    assert "govsim: estimate: 8 runs of up to 174 residents" in err and "memory" in err
    big = make_exp(tmp_path, replicates=30_000)
    rc = main(["sweep", str(big), "--out", str(tmp_path / "b"), "--backend", "serial", "--quiet"])
    assert rc == 2
    line = capsys.readouterr().err.strip()
    assert "\n" not in line and "120,000 runs" in line and "--yes" in line
    assert not (tmp_path / "b").exists()  # refused before anything was written


# ------------------------------------------------------------------ undefined ratios
def test_undefined_ratios_are_null_in_summary_and_nan_in_tables(tmp_path, capsys):
    sc = tmp_path / "quiet.toml"
    sc.write_text(TINY + "\n[cases]\nneed_rate = 0.0\ndispute_rate = 0.0\n")
    out = tmp_path / "o"
    assert main(["run", str(sc), "--out", str(out), "--quiet"]) == 0
    assert "n/a" in capsys.readouterr().out

    def strict(x):
        raise ValueError(f"non-JSON constant {x}")

    doc = json.loads((out / "summary.json").read_text(), parse_constant=strict)
    s = doc["summary"]
    assert s["cases_resolved"] == 0
    for key in ("cost_per_resolved_case", "social_cost_per_resolved_case", "resolution_rate"):
        assert s[key] is None, key
    series = pd.read_csv(out / "series.csv")
    assert series["cost_per_resolved_case"].isna().all()
    assert not np.isinf(series.select_dtypes("number").to_numpy()).any()


def test_expand_matches_count(tmp_path):
    exp = load_experiment(make_exp(tmp_path, replicates=3))
    assert len(expand(exp)) == count_runs(exp) == 12

