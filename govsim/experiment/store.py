"""Result store: one Parquet file per finished run, a manifest, and the collected table.

Layout of a results directory::

    manifest.json        experiment spec, base scenario, fingerprint, code versions, run list,
                         and the sha256 of every run file
    checksums.jsonl      the same checksums, appended as each run finishes (survives kill -9)
    runs/<run_id>.parquet   one row per run, written atomically (temp file + rename); its
                         Parquet metadata carries the run id, the experiment fingerprint,
                         the model-code hash and the sha256 of the row's values
    results.parquet      the whole table, sorted by (regime order, point, replicate)
    results.csv          the same, for spreadsheets
    .govsim.lock         held while a sweep writes here (a second sweep is refused)

The store verifies itself. A run counts as done only if its file is there, its bytes match
the recorded sha256, it parses, its row is the planned run of this experiment and code
version, and its values hash to what was recorded when it was written. Anything else (a
truncated file, a flipped bit, a file from another experiment) is reported in one line and
run again; a file that belongs to no planned run (``runs/X (copy).parquet``) is ignored with
a warning. So nothing corrupt reaches the results table or a report.

A sweep re-run in the same directory skips verified runs. A directory made by a different
experiment (other fingerprint), or by a different version of the model code (other
``model_code`` hash), is refused unless ``restart`` is asked for: results of two code versions
are never mixed in one table. A missing or unreadable manifest is rebuilt only when every run
file records this experiment's fingerprint and code. The fingerprint leaves out the number
of replicates, so a sweep can grow (seeds are per replicate; existing runs stay valid).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from govsim.experiment.design import RunSpec
from govsim.experiment.paths import atomic_write_bytes, atomic_write_text
from govsim.experiment.spec import Experiment, ExperimentError

# The modules whose code determines a run's results (analysis, viz and the CLI do not).
_MODEL_CODE_EXCLUDE = ("analysis", "viz", "cli.py", "reference.py", "outcomes.py", "fonts.py")
LOCK_NAME = ".govsim.lock"
JOURNAL_NAME = "checksums.jsonl"
META_PREFIX = b"govsim."
_SHOWN = 5  # problems listed one per line before the rest are counted


def model_code_hash() -> str:
    """Hash of the model's source code: changes whenever a run's results could change."""
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


def row_digest(row: dict[str, Any]) -> str:
    """sha256 of a row's values (JSON with exact float repr; NaN kept as NaN)."""
    blob = json.dumps({k: _plain(v) for k, v in row.items()}, sort_keys=True, allow_nan=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _plain(v: Any) -> Any:
    if hasattr(v, "item") and not isinstance(v, str | bytes):
        v = v.item()
    return v


def warn(msg: str) -> None:
    print(f"govsim: warning: {msg}", file=sys.stderr)


@dataclass
class Verified:
    """What is on disk: verified rows by run id, problems (re-run), strays (ignored)."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    sha256: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    strays: list[str] = field(default_factory=list)


class ResultStore:
    def __init__(self, out: str | Path, log: Callable[[str], None] = warn):
        self.root = Path(out)
        self.runs = self.root / "runs"
        self.log = log
        self._fingerprint: str | None = None
        self._code: str | None = None

    # ------------------------------------------------------------------ lock
    @contextmanager
    def locked(self):
        """Hold the folder's lock; a second sweep into the same folder is refused at once."""
        from filelock import FileLock, Timeout

        self.root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.root / LOCK_NAME), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise ExperimentError(
                f"{self.root}: another govsim sweep is writing into this folder (lock {LOCK_NAME}); "
                "allowed: wait for it to finish, or another --out"
            ) from None
        try:
            yield self
        finally:
            lock.release()

    # ------------------------------------------------------------------ manifest
    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    @property
    def journal_path(self) -> Path:
        return self.root / JOURNAL_NAME

    def _read_manifest(self) -> dict[str, Any] | None:
        """The manifest, or None if it is missing; a one-line error if it is not JSON."""
        if not self.manifest_path.exists():
            return None
        try:
            data = json.loads(self.manifest_path.read_bytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            where = f" (line {err.lineno}, column {err.colno})" if isinstance(err, json.JSONDecodeError) else ""
            raise ExperimentError(
                f"{self.manifest_path}: not valid JSON{where}; allowed: a manifest written by govsim sweep "
                "(run the sweep again to rebuild it, or --restart to discard the folder's results)"
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("runs", []), list):
            raise ExperimentError(
                f"{self.manifest_path}: fingerprint/runs missing; allowed: a manifest written by govsim sweep"
            )
        return data

    def manifest(self) -> dict[str, Any]:
        data = self._read_manifest()
        if data is None:
            raise ExperimentError(f"{self.root}: no manifest.json here; is it a results directory?")
        for key in ("spec", "runs", "fingerprint"):
            if key not in data:
                raise ExperimentError(f"{self.manifest_path}: {key} missing; allowed: a manifest written by govsim sweep")
        return data

    def checksums(self, manifest: dict[str, Any] | None = None) -> dict[str, str]:
        """Recorded sha256 of each run file: the manifest's, then the journal's (newer)."""
        sums: dict[str, str] = {}
        if manifest and isinstance(manifest.get("checksums"), dict):
            sums.update({str(k): str(v) for k, v in manifest["checksums"].items()})
        if self.journal_path.exists():
            for line in self.journal_path.read_bytes().decode("utf-8", "replace").splitlines():
                try:
                    rec = json.loads(line)
                    sums[str(rec["run_id"])] = str(rec["sha256"])
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue  # a line cut short by kill -9: that run is verified by its own hash
        return sums

    def open(self, exp: Experiment, specs: list[RunSpec], restart: bool = False) -> None:
        """Take the folder for this experiment: check it holds nothing else, write the manifest."""
        fp = exp.fingerprint()
        code = model_code_hash()
        self._fingerprint, self._code = fp, code
        damaged = False
        try:
            old = self._read_manifest()
        except ExperimentError as err:
            damaged = True
            if not restart:
                self.log(f"{err}; rebuilding it from the run files")
            old = None
        if old is not None and not restart:
            same_code = old.get("code", {}).get("model_code") == code
            if old.get("fingerprint") != fp or not same_code:
                why = (
                    f"a different experiment ({old.get('experiment')}, fingerprint {old.get('fingerprint')})"
                    if old.get("fingerprint") != fp
                    else f"a different version of the model code ({old.get('code', {}).get('model_code')}, "
                    f"now {code})"
                )
                raise ExperimentError(
                    f"{self.root}: holds results of {why}; allowed: another --out, or --restart to discard them"
                )
        elif old is None and not restart and not damaged and not self.runs.is_dir():
            self._refuse_foreign_files()
        elif old is None and not restart and self.runs.is_dir():
            foreign = self._foreign_run_files(fp, code)
            if foreign:
                name, ofp, ocode = foreign
                raise ExperimentError(
                    f"{self.root}: manifest.json is missing and runs/{name} was written by another experiment "
                    f"or code version (fingerprint {ofp}, model code {ocode}; now {fp}, {code}); "
                    "allowed: another --out, or --restart to discard them"
                )
            if not damaged and not any(self.runs.glob("*.parquet")):
                self._refuse_foreign_files()
            if any(self.runs.glob("*.parquet")) and not damaged:
                self.log(f"{self.manifest_path}: missing; rebuilt from run files of this experiment")
        if restart:
            shutil.rmtree(self.runs, ignore_errors=True)
            for name in ("results.parquet", "results.csv", JOURNAL_NAME):
                (self.root / name).unlink(missing_ok=True)
            old = None
        self.runs.mkdir(parents=True, exist_ok=True)
        self._clean_tmp()
        manifest = {
            "experiment": exp.name,
            "fingerprint": fp,
            "file": str(exp.path) if exp.path else None,
            "spec": exp.spec.model_dump(mode="json"),
            "base_scenario": exp.base,
            "regimes": list(exp.regimes),
            "params": exp.params,
            "code": code_version(),
            "created": (old or {}).get("created") or time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "runs": [
                {"run_id": s.run_id, "regime": s.regime, "point": s.point, "replicate": s.replicate,
                 "seed": s.seed, "params": s.param_dict()}
                for s in specs
            ],
            "checksums": self.checksums(old),
        }
        self._write_manifest(manifest)

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        atomic_write_text(self.manifest_path, json.dumps(json_safe(manifest), indent=1, default=str,
                                                         allow_nan=False))

    def _refuse_foreign_files(self) -> None:
        """Files a sweep would overwrite in a folder that holds no sweep: not ours to replace."""
        for name in ("results.parquet", "results.csv"):
            if (self.root / name).exists():
                raise ExperimentError(
                    f"{self.root / name}: exists and {self.root} holds no govsim sweep (no manifest.json, "
                    "no run files); allowed: another --out, or --restart to replace it"
                )

    def _foreign_run_files(self, fp: str, code: str) -> tuple[str, str, str] | None:
        """The first run file whose metadata names another fingerprint or code version."""
        import pyarrow.parquet as pq

        for path in sorted(self.runs.glob("*.parquet")):
            try:
                meta = pq.read_schema(path).metadata or {}
            except Exception:  # noqa: BLE001 - unreadable files are re-run by verify()
                continue
            ofp = meta.get(META_PREFIX + b"fingerprint", b"").decode()
            ocode = meta.get(META_PREFIX + b"model_code", b"").decode()
            if ofp != fp or ocode != code:
                return path.name, ofp or "none", ocode or "none"
        return None

    def _clean_tmp(self) -> None:
        """Temporary files of an interrupted writer (we hold the lock: nobody else writes)."""
        for folder in (self.root, self.runs):
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)

    def note_elapsed(self, seconds: float, n_runs: int, backend: str, workers: int | None) -> None:
        log = self.root / "sessions.jsonl"
        with log.open("a") as fh:
            fh.write(json.dumps({"finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "runs": n_runs,
                                 "seconds": round(seconds, 3), "backend": backend,
                                 "workers": workers}) + "\n")

    # ------------------------------------------------------------------ runs
    def write(self, row: dict[str, Any]) -> Path:
        """Write one finished run atomically and record its sha256 (journal, then manifest)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(pd.DataFrame([row]), preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta.update({
            META_PREFIX + b"run_id": str(row["run_id"]).encode(),
            META_PREFIX + b"fingerprint": (self._fingerprint or "").encode(),
            META_PREFIX + b"model_code": (self._code or model_code_hash()).encode(),
            META_PREFIX + b"version": _govsim_version().encode(),
            META_PREFIX + b"row_sha256": row_digest(row).encode(),
        })
        table = table.replace_schema_metadata(meta)
        buf = io.BytesIO()
        pq.write_table(table, buf, compression="none")  # one row: nothing to gain from compression
        data = buf.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        path = atomic_write_bytes(self.runs / f"{row['run_id']}.parquet", data)
        with self.journal_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"run_id": row["run_id"], "sha256": digest}) + "\n")
        return path

    def verify(self, specs: list[RunSpec] | None = None, manifest: dict[str, Any] | None = None) -> Verified:
        """Check every run file against the plan, its recorded checksum and its own metadata."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        manifest = manifest if manifest is not None else self.manifest()
        fp = self._fingerprint or manifest.get("fingerprint")
        code = self._code or manifest.get("code", {}).get("model_code")
        planned = [s.run_id for s in specs] if specs is not None else [r["run_id"] for r in manifest["runs"]]
        planned_set = set(planned)
        sums = self.checksums(manifest)
        out = Verified()
        files = {p.name: p for p in self.runs.glob("*.parquet")} if self.runs.is_dir() else {}
        for name in sorted(files):
            if name.removesuffix(".parquet") not in planned_set:
                out.strays.append(name)
        for run_id in planned:
            path = self.runs / f"{run_id}.parquet"
            if path.name not in files:
                if run_id in sums:
                    out.problems.append(f"runs/{path.name}: missing (it was written before)")
                continue
            try:
                data = path.read_bytes()
            except OSError as err:
                out.problems.append(f"runs/{path.name}: unreadable ({err.strerror})")
                continue
            recorded = sums.get(run_id)
            digest = hashlib.sha256(data).hexdigest()
            if recorded is not None and digest != recorded:
                out.problems.append(f"runs/{path.name}: sha256 does not match the manifest (corrupted or changed)")
                continue
            try:
                table = pq.read_table(pa.BufferReader(data))
                meta = table.schema.metadata or {}
                rows = table.to_pandas().to_dict("records")
            except Exception as err:  # noqa: BLE001 - any parse failure means a damaged file
                out.problems.append(f"runs/{path.name}: unreadable Parquet ({type(err).__name__})")
                continue
            why = _row_problem(rows, meta, run_id, fp, code)
            if why:
                out.problems.append(f"runs/{path.name}: {why}")
                continue
            out.rows[run_id] = rows[0]
            out.sha256[run_id] = digest
        return out

    def report(self, v: Verified, action: str) -> None:
        """Warn about damaged and stray files, one line each (the rest counted)."""
        for line in v.problems[:_SHOWN]:
            self.log(f"{self.root}/{line}; {action}")
        if len(v.problems) > _SHOWN:
            self.log(f"{self.root}: {len(v.problems) - _SHOWN} more damaged run files; {action}")
        if v.strays:
            shown = ", ".join(repr(s) for s in v.strays[:_SHOWN])
            more = f" and {len(v.strays) - _SHOWN} more" if len(v.strays) > _SHOWN else ""
            self.log(f"{self.root}/runs: ignored {len(v.strays)} file(s) that belong to no planned run: "
                     f"{shown}{more}")

    def collect(self, specs: list[RunSpec] | None = None, *, strict: bool = False) -> pd.DataFrame:
        """All verified runs as one table in design order; writes results.parquet/.csv.

        ``strict``: refuse (one line) if any planned run's file is damaged, instead of leaving
        it out: what a report is built from must be whole.
        """
        manifest = self.manifest()
        v = self.verify(specs, manifest)
        if strict and v.problems:
            more = f" (and {len(v.problems) - 1} more)" if len(v.problems) > 1 else ""
            raise ExperimentError(
                f"{self.root}/{v.problems[0]}{more}; allowed: run govsim sweep into this folder again "
                "to re-run damaged runs"
            )
        if specs is None:  # a sweep has reported them already when it verified the folder
            self.report(v, "left out of the table")
        if not v.rows:
            return pd.DataFrame()
        order = self._order(specs, manifest)
        ids = sorted(v.rows, key=lambda r: (order.get(r, math.inf), r))
        df = pd.DataFrame([v.rows[r] for r in ids]).reset_index(drop=True)
        _write_table(df, self.root)
        sums = {**self.checksums(manifest), **v.sha256}  # files that verified by their own row hash
        if manifest.get("checksums") != sums:
            manifest["checksums"] = sums
            self._write_manifest(manifest)
        return df

    def _order(self, specs: list[RunSpec] | None, manifest: dict[str, Any]) -> dict[str, int]:
        if specs is not None:
            return {s.run_id: i for i, s in enumerate(specs)}
        return {r["run_id"]: i for i, r in enumerate(manifest.get("runs", []))}

    def load(self) -> pd.DataFrame:
        """The results table of the planned runs; refuses if a run file is damaged."""
        return self.collect(None, strict=True)


def _row_problem(rows: list[dict], meta: dict, run_id: str, fp: str | None, code: str | None) -> str:
    if len(rows) != 1:
        return f"holds {len(rows)} rows, not 1"
    row = rows[0]
    if str(row.get("run_id")) != run_id:
        return f"holds run {row.get('run_id')!r}, not {run_id!r}"
    if fp and meta.get(META_PREFIX + b"fingerprint", b"").decode() != fp:
        return "written by another experiment (fingerprint differs)"
    if code and meta.get(META_PREFIX + b"model_code", b"").decode() != code:
        return "written by another version of the model code"
    recorded = meta.get(META_PREFIX + b"row_sha256", b"").decode()
    if recorded != row_digest(row):
        return "values do not match the checksum written with them (corrupted)"
    bad = [k for k, val in row.items() if isinstance(val, float) and math.isinf(val)]
    if bad:
        return f"{bad[0]} is infinite"
    return ""


def _write_table(df: pd.DataFrame, root: Path) -> None:
    if "panel" in df.columns:  # treatment designs: the monthly panels go to panel.parquet
        panel = panel_table(df)
        buf = io.BytesIO()
        panel.to_parquet(buf, index=False)
        atomic_write_bytes(root / "panel.parquet", buf.getvalue())
        df = df.drop(columns="panel")
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    atomic_write_bytes(root / "results.parquet", buf.getvalue())
    atomic_write_text(root / "results.csv", df.to_csv(index=False))


def panel_table(df: pd.DataFrame) -> pd.DataFrame:
    """The runs' monthly per-community panels as one long table (run id, replicate, seed first)."""
    parts = []
    for _, row in df.iterrows():
        p = pd.read_json(io.StringIO(row["panel"]), orient="split")
        for col in ("seed", "replicate", "point", "regime", "run_id"):
            p.insert(0, col, row[col])
        parts.append(p)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def json_safe(obj: Any) -> Any:
    """NaN and infinities become null: the files are strict JSON."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _govsim_version() -> str:
    import govsim

    return str(govsim.__version__)
