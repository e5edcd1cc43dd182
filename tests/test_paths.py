"""No path from an input file can write outside the output folder chosen on the command line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from govsim.cli import main
from govsim.experiment.paths import atomic_write_text, inside, refuse_overwrite, safe_name
from govsim.scenario import ScenarioError

TINY = 'name = "{name}"\nregime = "hybrid"\nsteps = 3\nseed = 1\n\n[population]\nhouseholds = 40\n'
ESCAPES = ["../../x.toml", "../x", "/etc/passwd", "/tmp/owned.toml", "~/.bashrc", ".bashrc", "a/../../b",
           "a/./../../b", "..", ".", "", " ", "a\\..\\..\\b", "C:/x.toml", "c:x", "a//../b", "sub/.hidden",
           "x\x00y", "a/" + "b" * 200]


def all_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file() or p.is_symlink()}


@pytest.mark.parametrize("name", ESCAPES)
def test_inside_refuses_every_escape(tmp_path, name):
    with pytest.raises(ScenarioError) as exc:
        inside(tmp_path / "out", name, where="cal.toml", field="output")
    assert "\n" not in str(exc.value) and "cal.toml: output" in str(exc.value)


@pytest.mark.parametrize("name", ["x.toml", "sub/x.toml", "a-b_c.1/d.toml"])
def test_inside_accepts_plain_names(tmp_path, name):
    p = inside(tmp_path / "out", name, where="cal.toml", field="output")
    assert p.resolve().is_relative_to((tmp_path / "out").resolve())


def test_inside_refuses_a_planted_symlink(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(ScenarioError, match="resolves outside"):
        inside(out, "sub/x.toml", where="cal.toml", field="output")


@pytest.mark.parametrize("raw, safe", [
    ("../../etc/passwd", "etc_passwd"), ("/abs/path", "abs_path"), ("a b/c", "a_b_c"),
    ("..", "unnamed"), ("", "unnamed"), (".hidden", "hidden"), ("ok-name_1.2", "ok-name_1.2"),
    ("招商", "unnamed"), ("x" * 300, "x" * 100), ("a/../b", "a_.._b".replace("..", ".")),
])
def test_safe_name(raw, safe):
    assert safe_name(raw) == safe
    assert "/" not in safe_name(raw) and not safe_name(raw).startswith(".")


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/abs_escape", "a/../../b", "..", "~/x"])
def test_scenario_and_experiment_names_stay_inside_out(tmp_path, monkeypatch, name):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    (work / "s.toml").write_text(TINY.format(name=name))
    (work / "e.toml").write_text(f'name = "{name}"\nscenario = "s.toml"\nreplicates = 1\n'
                                 'metrics = ["resolution_rate"]\n')
    before = all_files(tmp_path)
    assert main(["run", "s.toml", "--quiet"]) == 0
    assert main(["sweep", "e.toml", "--quiet", "--backend", "serial", "--no-report"]) == 0
    new = all_files(tmp_path) - before
    assert new, "nothing was written"
    for p in new:
        assert p.resolve().is_relative_to((work / "out").resolve()), p
    assert {p.parent.name for p in new if p.name == "summary.json"} == {safe_name(name)}


def calibration(tmp_path: Path, output: str) -> Path:
    (tmp_path / "s.toml").write_text(TINY.format(name="base"))
    p = tmp_path / "cal.toml"
    p.write_text(f'name = "cal"\nscenario = "s.toml"\noutput = {output!r}\nreplicates = 1\n'
                 'validation_replicates = 2\nmax_evaluations = 2\n'
                 '[parameters]\n"cases.fester_days" = {min = 5.0, max = 120.0}\n'
                 '[targets]\nresolution_rate = 0.5\n')
    return p


@pytest.mark.parametrize("output", ["../../victim.toml", "../victim.toml", "/tmp/govsim-victim.toml",
                                    "~/victim.toml", "sub/../../victim.toml"])
def test_calibration_output_cannot_escape(tmp_path, monkeypatch, capsys, output):
    victim = tmp_path / "victim.toml"
    victim.write_text("precious\n")
    (tmp_path / "deep" / "er").mkdir(parents=True)
    cal = calibration(tmp_path / "deep" / "er", output)
    monkeypatch.chdir(tmp_path / "deep" / "er")
    before = all_files(tmp_path)
    rc = main(["calibrate", str(cal), "--out", "out", "--backend", "serial", "--quiet"])
    assert rc == 2
    line = capsys.readouterr().err.strip()
    assert "\n" not in line and "cal.toml: output" in line
    assert victim.read_text() == "precious\n"
    assert all_files(tmp_path) == before
    assert not Path("/tmp/govsim-victim.toml").exists()


def test_calibration_writes_only_inside_out_and_needs_force_to_overwrite(tmp_path, monkeypatch, capsys):
    cal = calibration(tmp_path, "sub/calibrated.toml")
    monkeypatch.chdir(tmp_path)
    before = all_files(tmp_path)
    args = ["calibrate", str(cal), "--out", "out", "--backend", "serial", "--quiet"]
    assert main(args) == 0
    new = all_files(tmp_path) - before
    assert {p.relative_to(tmp_path).as_posix() for p in new} == {
        "out/sub/calibrated.toml", "out/trace.csv", "out/calibration.md"}
    capsys.readouterr()
    assert main(args) == 2
    assert "--force" in capsys.readouterr().err
    assert main([*args, "--force"]) == 0
    # --scenario-out: a path the user types may point anywhere, but never silently overwrites
    target = tmp_path / "chosen.toml"
    target.write_text("mine\n")
    assert main([*args, "--force", "--scenario-out", str(target)]) == 0  # --force: the user said so
    assert target.read_text().startswith("# Calibrated by")
    target.write_text("mine\n")
    assert main([*args[:-1], "--scenario-out", str(target), "--out", "out2", "--quiet"]) == 2
    assert target.read_text() == "mine\n"


def test_run_never_follows_a_planted_symlink(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").symlink_to(outside)
    (tmp_path / "s.toml").write_text(TINY.format(name="s"))
    assert main(["run", str(tmp_path / "s.toml"), "--out", str(out), "--quiet"]) == 2  # exists: --force
    assert main(["run", str(tmp_path / "s.toml"), "--out", str(out), "--quiet", "--force"]) == 0
    assert outside.read_text() == "precious\n"
    assert not (out / "summary.json").is_symlink()


def test_refuse_overwrite_and_atomic_write(tmp_path):
    p = tmp_path / "f.txt"
    refuse_overwrite([p], force=False)
    atomic_write_text(p, "one")
    with pytest.raises(ScenarioError, match="exists; allowed: --force"):
        refuse_overwrite([p], force=False)
    refuse_overwrite([p], force=True)
    atomic_write_text(p, "two")
    assert p.read_text() == "two"
    assert os.listdir(tmp_path) == ["f.txt"]

    def boom(tmp):
        tmp.write_text("half")
        raise RuntimeError("interrupted")

    from govsim.experiment.paths import atomic_write

    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "g.txt", boom)
    assert os.listdir(tmp_path) == ["f.txt"]  # no .tmp left, no half file


def test_sweep_does_not_replace_files_of_a_folder_that_holds_no_sweep(tmp_path, capsys):
    (tmp_path / "s.toml").write_text(TINY.format(name="s"))
    exp = tmp_path / "e.toml"
    exp.write_text('name = "e"\nscenario = "s.toml"\nreplicates = 1\nmetrics = ["resolution_rate"]\n')
    out = tmp_path / "mine"
    out.mkdir()
    (out / "results.csv").write_text("my own table\n")
    args = ["sweep", str(exp), "--out", str(out), "--backend", "serial", "--quiet", "--no-report"]
    assert main(args) == 2
    line = capsys.readouterr().err.strip()
    assert "\n" not in line and "results.csv: exists" in line and "--restart" in line
    assert (out / "results.csv").read_text() == "my own table\n"
    assert main([*args, "--restart"]) == 0


def test_unwritable_out_is_found_before_any_run(tmp_path, monkeypatch, capsys):
    import tempfile

    import govsim.experiment.paths as paths

    (tmp_path / "s.toml").write_text(TINY.format(name="s"))
    exp = tmp_path / "e.toml"
    exp.write_text('name = "e"\nscenario = "s.toml"\nreplicates = 1\nmetrics = ["resolution_rate"]\n')
    out = tmp_path / "readonly"
    out.mkdir()
    real = tempfile.mkstemp

    def denied(*a, dir=None, **kw):
        if Path(dir) == out:
            raise PermissionError(13, "Permission denied")
        return real(*a, dir=dir, **kw)

    monkeypatch.setattr(paths.tempfile, "mkstemp", denied)
    ran = []
    import govsim.experiment.runner as runner

    monkeypatch.setattr(runner, "run_one", lambda spec: ran.append(spec))
    for args in (["sweep", str(exp)], ["run", str(tmp_path / "s.toml")]):
        assert main([*args, "--out", str(out), "--quiet"]) == 2
        line = capsys.readouterr().err.strip()
        assert line == f"govsim: error: --out {out}: cannot write here (Permission denied)"
    assert not ran and list(out.iterdir()) == []
