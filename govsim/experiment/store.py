"""Result store: one Parquet file per finished run, a manifest, and the collected table.

Layout of a results directory::

    manifest.json        experiment spec, base scenario, fingerprint, code versions, run list
    runs/<run_id>.parquet   one row per run, written atomically (temp file + rename)
    results.parquet      the whole table, sorted by (regime order, point, replicate)
    results.csv          the same, for spreadsheets

A sweep re-run in the same directory skips runs already on disk. A directory made by a
different experiment (other fingerprint), or by a different version of the model code
(other ``model_code`` hash), is refused unless ``restart`` is asked for: results of two
code versions are never mixed in one table.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pandas as pd

from govsim.experiment.design import RunSpec
from govsim.experiment.spec import Experiment, ExperimentError

# The modules whose code determines a run's results (analysis, viz and the CLI do not).
_MODEL_CODE_EXCLUDE = ("analysis", "viz", "cli.py", "reference.py")


def model_code_hash() -> str:
    """Hash of the model's source code: changes whenever a run's results could change."""
    import hashlib

    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(_MODEL_CODE_EXCLUDE) or rel.startswith("experiment/"):
            continue
        h.update(rel.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def code_version() -> dict[str, str]:
    import mesa
    import numpy
    import scipy

    import govsim

    info = {
        "govsim": govsim.__version__,
        "mesa": mesa.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "python": platform.python_version(),
        "model_code": model_code_hash(),
    }
    try:
        root = Path(__file__).resolve().parents[2]
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=5)
        if commit.returncode == 0:
            dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                   capture_output=True, text=True, timeout=5).stdout.strip()
            info["git_commit"] = commit.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return info


class ResultStore:
    def __init__(self, out: str | Path):
        self.root = Path(out)
        self.runs = self.root / "runs"

    # ------------------------------------------------------------------ manifest
    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def manifest(self) -> dict[str, Any]:
        if not self.manifest_path.exists():
            raise ExperimentError(f"{self.root}: no manifest.json here; is it a results directory?")
        return json.loads(self.manifest_path.read_text())

    def open(self, exp: Experiment, specs: list[RunSpec], restart: bool = False) -> None:
        fp = exp.fingerprint()
        code = model_code_hash()
        if self.manifest_path.exists():
            old = json.loads(self.manifest_path.read_text())
            same_code = old.get("code", {}).get("model_code") == code
            if old.get("fingerprint") == fp and same_code and not restart:
                return
            if not restart:
                why = (
                    f"a different experiment ({old.get('experiment')}, fingerprint {old.get('fingerprint')})"
                    if old.get("fingerprint") != fp
                    else f"a different version of the model code ({old.get('code', {}).get('model_code')}, "
                    f"now {code})"
                )
                raise ExperimentError(
                    f"{self.root}: holds results of {why}; use another --out or --restart to discard them"
                )
            shutil.rmtree(self.runs, ignore_errors=True)
            for name in ("results.parquet", "results.csv"):
                (self.root / name).unlink(missing_ok=True)
        self.runs.mkdir(parents=True, exist_ok=True)
        manifest = {
            "experiment": exp.name,
            "fingerprint": fp,
            "file": str(exp.path) if exp.path else None,
            "spec": exp.spec.model_dump(mode="json"),
            "base_scenario": exp.base,
            "regimes": list(exp.regimes),
            "params": exp.params,
            "code": code_version(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "runs": [
                {"run_id": s.run_id, "regime": s.regime, "point": s.point, "replicate": s.replicate,
                 "seed": s.seed, "params": s.param_dict()}
                for s in specs
            ],
        }
        _atomic_write_text(self.manifest_path, json.dumps(manifest, indent=1, default=str))

    def note_elapsed(self, seconds: float, n_runs: int, backend: str, workers: int | None) -> None:
        log = self.root / "sessions.jsonl"
        with log.open("a") as fh:
            fh.write(json.dumps({"finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "runs": n_runs,
                                 "seconds": round(seconds, 3), "backend": backend,
                                 "workers": workers}) + "\n")

    # ------------------------------------------------------------------ runs
    def done(self) -> set[str]:
        if not self.runs.exists():
            return set()
        return {p.stem for p in self.runs.glob("*.parquet")}

    def write(self, row: dict[str, Any]) -> Path:
        path = self.runs / f"{row['run_id']}.parquet"
        tmp = self.runs / f".{row['run_id']}.{os.getpid()}.tmp"
        pd.DataFrame([row]).to_parquet(tmp, index=False)
        os.replace(tmp, path)
        return path

    def collect(self, specs: list[RunSpec] | None = None) -> pd.DataFrame:
        """All finished runs as one table in design order; writes results.parquet/.csv."""
        files = sorted(self.runs.glob("*.parquet"))
        if not files:
            return pd.DataFrame()
        df = pd.concat((pd.read_parquet(f) for f in files), ignore_index=True)
        order = self._order(specs)
        df["_order"] = df["run_id"].map(order)
        df = df.sort_values(["_order", "run_id"]).drop(columns="_order").reset_index(drop=True)
        df.to_parquet(self.root / "results.parquet", index=False)
        df.to_csv(self.root / "results.csv", index=False)
        return df

    def _order(self, specs: list[RunSpec] | None) -> dict[str, int]:
        if specs is not None:
            return {s.run_id: i for i, s in enumerate(specs)}
        runs = self.manifest().get("runs", [])
        return {r["run_id"]: i for i, r in enumerate(runs)}

    def load(self) -> pd.DataFrame:
        """The results table (collected from the run files)."""
        return self.collect(None)


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
