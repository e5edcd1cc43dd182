"""The command line, end to end: ``govsim run | validate | regimes``."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from govsim.cli import main

from conftest import ROOT, SCENARIOS

SMALL_TOML = """\
name = "tiny"
regime = "self_governing"
steps = 365
seed = 1

[population]
households = 250

[pilots]
grid_management = true
"""


@pytest.fixture
def tiny(tmp_path):
    p = tmp_path / "tiny.toml"
    p.write_text(SMALL_TOML)
    return p


def run_cli(*args):
    """``python -m govsim.cli`` in a subprocess (portable: no console-script needed)."""
    return subprocess.run([sys.executable, "-m", "govsim.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def assert_one_error_line(stderr: str):
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("govsim: error: "), stderr
    return lines[0]


# --------------------------------------------------------------------------- run


def test_run_writes_outputs(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["run", str(tiny), "--steps", "20", "--seed", "3", "--out", str(out), "--quiet"])
    assert rc == 0
    stdout = capsys.readouterr().out
    assert "regime=self_governing" in stdout and "seed=3" in stdout and "days=20" in stdout
    assert "Conflict resolution" in stdout and "wrote" in stdout
    names = {p.name for p in out.iterdir()}
    assert names == {"series.csv", "summary.json", "cases.csv", "communities.csv", "communities_series.parquet"}
    series = pd.read_csv(out / "series.csv")
    assert len(series) == 20
    assert series["day"].tolist() == list(range(1, 21))
    doc = json.loads((out / "summary.json").read_text())
    s = doc["summary"]
    assert s["days"] == 20 and s["seed"] == 3 and s["regime"] == "self_governing"
    assert s["pilots"] == "grid_management"
    assert doc["scenario"]["steps"] == 20 and doc["scenario"]["seed"] == 3
    assert doc["scenario"]["population"]["households"] == 250
    cases = pd.read_csv(out / "cases.csv")
    assert len(cases) == s["cases_arisen"]
    assert int((cases["status"] == "resolved").sum()) == s["cases_resolved"]
    assert series["cases_arisen"].iloc[-1] == s["cases_arisen"]
    comm = pd.read_csv(out / "communities.csv")
    assert len(comm) == s["communities"] == 1
    assert comm["households"].sum() == 250


def test_same_seed_gives_identical_files_and_other_seed_differs(tiny, tmp_path):
    outs = []
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        out = tmp_path / name
        assert main(["run", str(tiny), "--steps", "20", "--seed", str(seed), "--out", str(out),
                     "--quiet"]) == 0
        outs.append(out)
    a, b, c = outs
    assert (a / "series.csv").read_bytes() == (b / "series.csv").read_bytes()
    assert (a / "cases.csv").read_bytes() == (b / "cases.csv").read_bytes()
    assert (a / "series.csv").read_bytes() != (c / "series.csv").read_bytes()


def test_set_overrides_reach_the_model(tiny, tmp_path):
    out = tmp_path / "o"
    rc = main(["run", str(tiny), "--steps", "5", "--out", str(out), "--quiet",
               "--set", "regime=hybrid", "--set", "pilots.grid_management=false",
               "--set", "population.households=120"])
    assert rc == 0
    s = json.loads((out / "summary.json").read_text())["summary"]
    assert s["regime"] == "hybrid" and s["pilots"] == "" and s["households"] == 120


def test_run_parquet_format(tiny, tmp_path):
    out = tmp_path / "pq"
    assert main(["run", str(tiny), "--steps", "20", "--seed", "3", "--out", str(out), "--quiet",
                 "--format", "parquet"]) == 0
    names = {p.name for p in out.iterdir()}
    assert names == {"series.parquet", "cases.parquet", "communities.parquet", "summary.json",
                     "communities_series.parquet"}
    series = pd.read_parquet(out / "series.parquet")
    assert len(series) == 20
    csv_out = tmp_path / "csv"
    main(["run", str(tiny), "--steps", "20", "--seed", "3", "--out", str(csv_out), "--quiet"])
    pd.testing.assert_frame_equal(
        series, pd.read_csv(csv_out / "series.csv"), check_dtype=False, check_exact=False)
    cases = pd.read_parquet(out / "cases.parquet")
    assert len(cases) == len(pd.read_csv(csv_out / "cases.csv"))


def test_run_shipped_scenario_in_subprocess(tmp_path):
    out = tmp_path / "sub"
    r = run_cli("run", SCENARIOS / "hybrid.toml", "--steps", 20, "--seed", 3, "--out", out,
                "--quiet")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # --quiet: no progress bar, no description
    assert len(pd.read_csv(out / "series.csv")) == 20
    assert json.loads((out / "summary.json").read_text())["summary"]["households"] == 1412


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "args, needle",
    [
        (["run", "{tmp}/nope.toml"], "file not found"),
        (["run", "{tiny}", "--set", "regime=x"], "unknown regime 'x'"),
        (["run", "{tiny}", "--set", "population.households=5"], "population.households"),
        (["run", "{tiny}", "--set", "cases.lapse_rate=1.5"], "[0, 1]"),
        (["run", "{tiny}", "--set", "population.colour=3"], "unknown field 'population.colour'"),
        (["run", "{tiny}", "--set", "nonsense"], "section.field=value"),
        (["run", "{tiny}", "--steps", "0"], "steps"),
        (["run", "{tiny}", "--seed", "-1"], "seed"),
        (["validate", "{tmp}/nope.toml"], "file not found"),
        (["run", "{tmp}"], "is a directory"),
    ],
    ids=["missing", "regime", "households", "lapse", "unknown-field", "no-equals", "steps", "seed",
         "validate-missing", "directory"],
)
def test_bad_input_exits_2_with_one_error_line(args, needle, tiny, tmp_path, capsys):
    args = [a.format(tmp=tmp_path, tiny=tiny) for a in args]
    rc = main([*args, "--quiet"] if args[0] == "run" else args)
    assert rc == 2
    err = capsys.readouterr().err
    line = assert_one_error_line(err)
    assert needle in line
    assert not (tmp_path / "out").exists()


def test_bad_input_in_subprocess(tiny):
    r = run_cli("run", tiny, "--set", "regime=x", "--quiet")
    assert r.returncode == 2
    line = assert_one_error_line(r.stderr)
    assert "unknown regime 'x'" in line and "hybrid" in line
    assert "Traceback" not in r.stderr
    assert r.stdout == ""


def test_bad_regime_settings_chain_is_a_clean_error(tiny, capsys):
    rc = main(["run", str(tiny), "--quiet", "--steps", "2",
               "--set", 'regime_settings.chains.general=["nowhere"]'])
    assert rc == 2
    assert "nowhere" in assert_one_error_line(capsys.readouterr().err)


def test_out_path_that_is_a_file_is_a_clean_error(tiny, tmp_path, capsys):
    f = tmp_path / "taken"
    f.write_text("x")
    rc = main(["run", str(tiny), "--quiet", "--steps", "2", "--out", str(f)])
    assert rc == 2
    assert_one_error_line(capsys.readouterr().err)


# --------------------------------------------------------------------------- other commands


def test_validate_shipped_scenarios(capsys):
    paths = sorted(SCENARIOS.glob("*.toml"))
    assert main(["validate", *map(str, paths)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == len(paths)
    for p, line in zip(paths, out, strict=True):
        assert line.startswith(f"{p}: ok (")


def test_validate_reports_bad_file(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('regime = "hybrid"\n[cases]\nlapse_rate = 3.0\n')
    assert main(["validate", str(bad)]) == 2
    line = assert_one_error_line(capsys.readouterr().err)
    assert "cases.lapse_rate" in line and str(bad) in line


def test_regimes_command_lists_every_regime_and_chain(capsys):
    from govsim.regimes import CLASSES, REGIMES, compile_institutions

    assert main(["regimes"]) == 0
    out = capsys.readouterr().out
    for name, data in REGIMES.items():
        assert f"[{name}]" in out
        assert data.label in out
        assert f"institutions: {', '.join(data.institutions)}" in out
        # the chains as compiled (institutions may rewrite them); approvals are sign-off sequences
        chains = compile_institutions(name, None, {}).data.chains
        for cls in CLASSES:
            sep = " then " if cls == "approval" else " > "
            assert f"{cls:<12} -> {sep.join(chains[cls])}" in out


def test_regimes_command_in_subprocess():
    r = run_cli("regimes")
    assert r.returncode == 0
    assert r.stdout.count("general") == 3


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bogus-command"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
