"""The bad-input corpus (tests/bad_input/cases.toml): every case gives its expected outcome.

Each case runs the real command line (``govsim.cli.main``, in-process for speed) on a
malformed scenario, experiment or calibration file, bad flags, or a damaged results folder.
An error must be exit status 2 with exactly one stderr line ``govsim: error: ...`` naming
the file and field; an accepted input must exit 0. An uncaught exception fails the case.
The number of cases is reported at the end of the pytest run (see conftest.py).
"""

from __future__ import annotations

import json
import shutil
import tomllib
from importlib.util import find_spec
from pathlib import Path

import pytest

from govsim.cli import main

CORPUS = Path(__file__).parent / "bad_input" / "cases.toml"
CASES = tomllib.loads(CORPUS.read_text(encoding="utf-8"))["case"]

TINY = 'name = "tiny"\nregime = "hybrid"\nsteps = 5\nseed = 1\n\n[population]\nhouseholds = 60\n'
EXPERIMENT = """name = "corpus"
scenario = "tiny.toml"
replicates = 2
seed = 5
metrics = ["mean_participation_rate", "resolution_rate", "cost_per_resolved_case"]

[parameters]
"pilots.grid_management" = [false, true]
"""
DEFAULT_ARGS = {
    "scenario": ["validate", "{file}"],
    "calibration": ["validate", "{file}"],
    "experiment": ["sweep", "{file}", "--out", "{out}", "--backend", "serial", "--quiet", "--no-report",
                   "--max-runs", "1"],
}


def test_corpus_is_large_and_well_formed():
    ids = [c["id"] for c in CASES]
    assert len(ids) >= 80, len(ids)
    assert len(set(ids)) == len(ids), "case ids must be unique"
    kinds = {c["kind"] for c in CASES}
    assert kinds == {"scenario", "experiment", "calibration", "cli", "results"}
    for c in CASES:
        assert c["expect"] in ("ok", "error", "errors"), c["id"]
        if c["expect"] != "ok":
            assert c.get("needle"), f"{c['id']}: an error case names what the message must contain"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A folder with tiny.toml, exp.toml, a binary file and a finished results folder."""
    root = tmp_path_factory.mktemp("corpus")
    (root / "tiny.toml").write_text(TINY, encoding="utf-8")
    (root / "exp.toml").write_text(EXPERIMENT, encoding="utf-8")
    (root / "binary.bin").write_bytes(bytes(range(256)))
    rc = main(["sweep", str(root / "exp.toml"), "--out", str(root / "results"), "--backend", "serial",
               "--quiet", "--no-report"])
    assert rc == 0
    return root


def _damage(results: Path, how: str) -> object:
    runs = sorted((results / "runs").glob("*.parquet"))
    first = runs[0]
    if how == "truncate":
        first.write_bytes(first.read_bytes()[:100])
    elif how in ("flip_value", "flip_value_forget_checksums"):
        flip_a_value(first)
        if how == "flip_value_forget_checksums":
            (results / "checksums.jsonl").unlink()
            manifest = json.loads((results / "manifest.json").read_text())
            manifest["checksums"] = {}
            (results / "manifest.json").write_text(json.dumps(manifest))
    elif how == "stray_copy":
        shutil.copy(first, results / "runs" / f"{first.stem} (copy).parquet")
    elif how == "swap":
        shutil.copy(runs[1], first)
    elif how == "manifest_garbage":
        (results / "manifest.json").write_bytes(b'{"experiment": "corpus", "runs": [\x00\xff')
    elif how == "manifest_list":
        (results / "manifest.json").write_text("[1, 2, 3]")
    elif how == "manifest_no_runs":
        manifest = json.loads((results / "manifest.json").read_text())
        del manifest["runs"]
        (results / "manifest.json").write_text(json.dumps(manifest))
    elif how == "manifest_delete":
        (results / "manifest.json").unlink()
    elif how == "delete_runs":
        for p in runs:
            p.unlink()
    elif how == "stale_tmp":
        (results / "runs" / ".hybrid-p00000-r0000.parquet.abc123.tmp").write_bytes(b"half a file")
        (results / ".results.csv.x.tmp").write_text("half")
    elif how == "hold_lock":
        from filelock import FileLock

        lock = FileLock(str(results / ".govsim.lock"))
        lock.acquire()
        return lock
    else:  # pragma: no cover - a typo in the corpus
        raise AssertionError(f"unknown damage {how!r}")
    return None


def flip_a_value(path: Path) -> float:
    """Flip one exponent bit of a stored metric value in (0, 1) (0.124 -> ~2e307), wherever it
    is stored (data page and statistics alike); return the old value."""
    import struct

    import pandas as pd

    row = pd.read_parquet(path).iloc[0]
    data = bytearray(path.read_bytes())
    for value in row.to_numpy().tolist():
        if not isinstance(value, float) or not 0.0 < value < 1.0:
            continue
        pattern = struct.pack("<d", value)
        if not data.count(pattern):
            continue
        start = 0
        while (i := data.find(pattern, start)) >= 0:
            data[i + 7] ^= 0x40
            start = i + 8
        path.write_bytes(bytes(data))
        return value
    raise AssertionError(f"no metric value in (0, 1) stored verbatim in {path}")


def _setup(how: str, d: Path) -> None:
    if how == "run_once":
        assert main(["run", str(d / "tiny.toml"), "--out", str(d / "out"), "--quiet", "--steps", "2"]) == 0
    elif how == "two_bad_files":
        (d / "bad1.toml").write_bytes(b'name = "caf\xe9"\n')
        (d / "bad2.toml").write_text("[population]\nhouseholds = inf\n")
    else:  # pragma: no cover
        raise AssertionError(f"unknown setup {how!r}")


def _run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse usage errors
        return int(exc.code or 0)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case, template, tmp_path, monkeypatch, capsys):
    if case.get("unless_installed") and find_spec(case["unless_installed"]) is not None:
        pytest.skip(f"{case['unless_installed']} is installed here")
    d = tmp_path / "case"
    shutil.copytree(template, d)
    monkeypatch.chdir(d)
    if "content" in case or "content_hex" in case:
        raw = bytes.fromhex(case["content_hex"]) if "content_hex" in case else case["content"].encode()
        (d / "case.toml").write_bytes(raw)
    if case.get("setup"):
        _setup(case["setup"], d)
    held = _damage(d / "results", case["damage"]) if case.get("damage") else None
    fill = {"file": d / "case.toml", "out": d / "out", "dir": d, "tiny": d / "tiny.toml",
            "results": d / "results", "exp": d / "exp.toml"}
    argv = [a.format(**fill) for a in case.get("args", DEFAULT_ARGS.get(case["kind"], []))]
    capsys.readouterr()
    try:
        rc = _run(argv)
    finally:
        if held is not None:
            held.release()
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("govsim: error: ")]
    assert "Traceback" not in err, err
    if case["expect"] == "ok":
        assert rc == 0, err
        assert not errors, err
        if case.get("same_table"):
            got = (d / "results" / "results.parquet").read_bytes()
            assert got == (template / "results" / "results.parquet").read_bytes()
            assert (d / "results" / "results.csv").read_bytes() == (template / "results" / "results.csv").read_bytes()
            assert not list((d / "results").rglob("*.tmp"))
        return
    assert rc == 2, err
    if case["expect"] == "error":
        assert len(lines) == 1 and len(errors) == 1, f"expected one error line, got:\n{err}"
        for needle in case["needle"]:
            assert needle in errors[0], f"{needle!r} not in: {errors[0]}"
    else:  # "errors": one line per bad file, all of them reported
        assert all(line in errors for line in lines), err
        for needle in case["needle"]:
            assert any(needle in line for line in errors), f"{needle!r} not in:\n{err}"
    if case.get("damage") is None and case["kind"] != "results":
        assert not (d / "out" / "runs").exists() or case["kind"] == "cli"
