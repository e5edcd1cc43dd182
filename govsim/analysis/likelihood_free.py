"""Likelihood-free calibration: ABC-SMC posteriors and history matching with GP emulators.

Both methods take a **simulator**: a picklable function ``simulate((params, seed)) -> dict``
of summary figures (for govsim, :class:`ModelSimulator` runs the model through
:func:`govsim.experiment.run_one`), uniform prior **bounds** per parameter and **targets**
(field figures). Simulations go through the experiment backends (serial, process, Dask,
Ray: :func:`govsim.experiment.executors.make_executor`).

**Determinism.** Every proposal ``i`` of generation/wave ``g`` draws its parameters from its
own random stream (``SeedSequence(seed, spawn_key=(g, i))``) and its simulation seed from
:func:`govsim.experiment.design.run_seed`; proposals are sent in fixed-size batches and
their results put back in proposal order, and a generation keeps the *first* ``particles``
accepted proposals by index. So the result does not depend on the backend, the number of
workers or the order in which runs finish.

**ABC-SMC** (:func:`abc_smc`; Toni et al. 2009, Beaumont et al. 2009). pyabc was
considered; it is not used because its samplers schedule work themselves (multicore,
Dask, Redis) and accept whichever particles finish first, so a run cannot be reproduced
across backends, and it brings a database layer govsim does not need. This implementation
on numpy/scipy:

* generation 0 samples the uniform prior; the distance is the Euclidean distance of the
  simulated from the target figures, each divided by its scale: given (``scales``; the
  calibration command passes each target's tolerance, so the distance counts tolerances),
  else the median absolute deviation of the prior-predictive simulations of generation 0,
  never below 1% of the target;
* each later generation's tolerance ``epsilon`` is the ``quantile`` (default median) of the
  previous generation's accepted distances; proposals are drawn from the previous
  population (by weight) and moved with a Gaussian kernel of twice its weighted covariance;
  proposals outside the prior box are discarded; weights are prior / sum_j w_j K(theta |
  theta_j), normalised;
* it stops after ``generations``, or when a generation's acceptance rate falls below
  ``min_acceptance``. The posterior is the last population; credible intervals are
  weighted quantiles. :func:`predictive_check` simulates draws of the posterior on fresh
  seeds and compares the predictive means and 95% intervals with the targets.

**Resume** (``abc_smc(..., out=folder)``, what ``govsim calibrate --method abc --out``
does; :class:`AbcStore`): every simulation is written to the sweeps' result store as it
finishes, and each finished generation (particles, weights, distances, simulated figures,
epsilon) to ``out/abc/state.json``. The same call on the same folder continues from the last
finished generation and reads the finished simulations of the unfinished one; a larger
``generations`` extends a finished run, a smaller one reads its first generations back.
Because every random draw comes from a stream keyed by (generation, proposal) and the
stored numbers are exact (JSON floats, Parquet), the result is bit-identical to an
uninterrupted run. A folder holding another configuration is refused in one line.

**History matching** (:func:`history_match`; Craig et al. 1997, Vernon et al. 2010, as in
the R package hmer): in each wave a Latin hypercube of design points inside the current
non-implausible space is simulated (``replicates`` runs per point), a Gaussian-process
emulator (scikit-learn, ARD RBF + white noise kernel) is fitted per target on the design
means, and a point's implausibility is::

    I(x) = |z - E[f(x)]| / sqrt(Var_emulator(x) + Var_run(x) + tolerance^2)

with ``Var_run`` the run-to-run variance (the field figure is one realisation) and
``tolerance`` the observation error plus model discrepancy (default 0.01 for shares, 5% of
the target otherwise). A point is implausible when its largest implausibility over the
targets exceeds ``cutoff`` (3, Pukelsheim's three-sigma rule). The non-implausible space
(NROY, "not ruled out yet") is the set that passes every wave's emulators, so it can only
shrink; its share of the prior box is estimated on a fixed uniform sample.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from govsim.experiment.design import RunSpec, run_seed
from govsim.experiment.executors import make_executor


# ---------------------------------------------------------------------- simulators
class ModelSimulator:
    """The govsim model as a simulator: ``(params, seed) -> {metric: value}``; picklable."""

    def __init__(self, base: dict, metrics: tuple[str, ...], name: str = "calibration",
                 integer: tuple[str, ...] = (), replicates: int = 1):
        self.base, self.metrics, self.name, self.integer = base, tuple(metrics), name, tuple(integer)
        self.replicates = int(replicates)

    def store_key(self) -> dict:
        """What a stored run of this simulator depends on (see :class:`AbcStore`)."""
        key = {"base": self.base, "metrics": list(self.metrics), "name": self.name, "integer": list(self.integer)}
        if self.replicates > 1:
            key["replicates"] = self.replicates
        return key

    def replicate_seeds(self, seed: int) -> list[int]:
        """The seeds of one simulation's replicates: ``seed`` itself, then seeds derived from it."""
        return [int(seed)] + [int(np.random.SeedSequence([int(seed), r]).generate_state(1)[0])
                              for r in range(1, self.replicates)]

    def _one(self, params: dict, seed: int) -> dict[str, float]:
        from govsim.experiment.runner import run_one

        spec = RunSpec(run_id=f"{self.name}-{seed}", experiment=self.name, regime=str(self.base.get("regime")),
                       point=0, replicate=0, seed=int(seed), params=tuple(params.items()), scenario=self.base,
                       metrics=self.metrics)
        row = run_one(spec)
        return {m: float(row[m]) for m in self.metrics}

    def __call__(self, task: tuple[dict, int]) -> dict[str, float]:
        """One simulation: the figures of one run, or with ``replicates > 1`` their means over
        that many runs on different seeds (as if the area were that many times larger, which
        brings a small scenario's run-to-run noise nearer a large field sample's)."""
        params, seed = task
        params = {k: (int(round(v)) if k in self.integer else float(v)) for k, v in params.items()}
        if self.replicates == 1:
            return self._one(params, seed)
        runs = [self._one(params, s) for s in self.replicate_seeds(seed)]
        return {m: float(np.nanmean([r[m] for r in runs])) if any(np.isfinite(r[m]) for r in runs) else float("nan")
                for m in self.metrics}


def _indexed(job: tuple[Callable, int, dict, int]) -> tuple[int, dict[str, float]]:
    fn, i, params, seed = job
    return i, fn((params, seed))


def simulate_all(simulate: Callable, tasks: list[tuple[dict, int]], ex, bar=None) -> list[dict[str, float]]:
    """Run ``simulate`` on every task on executor ``ex``; results in task order."""
    out: list[dict | None] = [None] * len(tasks)
    jobs = [(simulate, i, p, s) for i, (p, s) in enumerate(tasks)]
    for i, res in ex.map_unordered(_indexed, jobs):
        out[i] = res
        if bar is not None:
            bar.update(1)
    return out  # type: ignore[return-value]


def _stream(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(entropy=int(seed), spawn_key=tuple(int(k) for k in key)))


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    order = np.argsort(x)
    x, w = np.asarray(x, float)[order], np.asarray(w, float)[order]
    cw = np.cumsum(w) - 0.5 * w
    cw /= w.sum()
    return float(np.interp(q, cw, x))


def default_tolerance(metric: str, target: float) -> float:
    """Observation error + model discrepancy: a percentage point for shares, else 5%."""
    from govsim.outcomes import is_share

    return 0.01 if is_share(metric) else 0.05 * abs(target)


# ---------------------------------------------------------------------- ABC-SMC
@dataclass
class AbcResult:
    names: list[str]
    particles: pd.DataFrame            # last population: parameters, distance, weight
    generations: pd.DataFrame          # per generation: epsilon, accepted, proposed, acceptance
    history: list[pd.DataFrame] = field(default_factory=list)   # every population
    scales: dict[str, float] = field(default_factory=dict)
    targets: dict[str, float] = field(default_factory=dict)
    simulations: int = 0
    seconds: float = 0.0
    new_simulations: int = 0           # run in this call (the others were read from ``out``)
    out: Path | None = None            # where the run persists itself (see :class:`AbcStore`)

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        w = self.particles["weight"].to_numpy()
        rows = []
        for n in self.names:
            x = self.particles[n].to_numpy()
            lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
            rows.append({"parameter": n, "mean": float(np.sum(w * x)), "median": weighted_quantile(x, w, 0.5),
                         "ci_low": weighted_quantile(x, w, lo), "ci_high": weighted_quantile(x, w, hi)})
        return pd.DataFrame(rows)

    def credible_interval(self, name: str, level: float = 0.95) -> tuple[float, float]:
        row = self.summary(level).set_index("parameter").loc[name]
        return float(row["ci_low"]), float(row["ci_high"])


def _distance(sims: np.ndarray, target: np.ndarray, scale: np.ndarray) -> np.ndarray:
    d = (sims - target) / scale
    d = np.where(np.isfinite(d), d, 1e6)  # an undefined figure (NaN) is as far as can be
    return np.sqrt((d ** 2).sum(axis=1))


def _run_key(simulate: Callable) -> Any:
    """What identifies a simulator in a stored run's fingerprint."""
    key = getattr(simulate, "store_key", None)
    if callable(key):
        return key()
    fn = getattr(simulate, "func", simulate)
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__qualname__)}"


class _StoreSpec:
    """What :class:`~govsim.experiment.store.ResultStore` records of an ABC-SMC run."""

    def __init__(self, config: dict[str, Any]):
        self.config = config

    def model_dump(self, mode: str = "json") -> dict[str, Any]:
        return self.config


@dataclass
class _StoreExperiment:
    """The ResultStore's view of an ABC-SMC run (it asks an experiment for these)."""

    name: str
    config: dict[str, Any]
    base: dict[str, Any]
    fp: str
    path: Any = None
    regimes: tuple = ()

    @property
    def spec(self) -> _StoreSpec:
        return _StoreSpec(self.config)

    @property
    def params(self) -> list[str]:
        return list(self.config.get("bounds", {}))

    def fingerprint(self) -> str:
        return self.fp


class AbcStore:
    """Where an ABC-SMC run persists itself, inside ``out/abc/``:

    * every simulation, as it finishes, through the sweeps' result store
      (:class:`~govsim.experiment.store.ResultStore`: ``runs/<run_id>.parquet`` written
      atomically, ``checksums.jsonl``, ``manifest.json``, the lock): run ``g03-000017`` is
      proposal 17 of generation 3, ``pred-g05-00002`` predictive draw 2 of generation 5's
      posterior; a stored run is reused only if its parameters and seed are the proposal's;
    * each finished generation (particles, weights, distances, simulated figures, epsilon,
      counts) in ``state.json``, rewritten atomically. The random streams need no saving:
      proposal ``i`` of generation ``g`` draws from ``SeedSequence(seed, spawn_key=(g, i))``.

    The run's configuration (simulator, prior, targets, scales, particles, quantile,
    min_acceptance, batch, seed) is fingerprinted; ``generations`` and the predictive draws
    are not, so a larger ``generations`` extends a finished run. A folder holding another
    configuration, or runs of another version of the model code, is refused in one line
    unless ``restart``.
    """

    STATE = "state.json"

    def __init__(self, out: str | Path, log: Callable[[str], None] | None = None):
        from govsim.experiment.store import ResultStore, warn

        self.root = Path(out) / "abc"
        self.results = ResultStore(self.root, log or warn)
        self.state: dict[str, Any] = {}
        self.written = 0  # simulations run and stored by this object

    @property
    def state_path(self) -> Path:
        return self.root / self.STATE

    def open(self, config: dict[str, Any], name: str, base: dict[str, Any], restart: bool = False) -> dict:
        """Take the folder for this configuration; the stored state (or a new one)."""
        import hashlib
        import json

        from govsim.experiment.spec import ExperimentError
        from govsim.experiment.store import model_code_hash

        blob = json.dumps(config, sort_keys=True, default=str)
        fp = hashlib.sha256(blob.encode()).hexdigest()[:16]
        code = model_code_hash()
        old = None
        if self.state_path.exists() and not restart:
            try:
                old = json.loads(self.state_path.read_text(encoding="utf-8"))
                assert isinstance(old, dict) and isinstance(old.get("generations"), list)
            except (ValueError, AssertionError, UnicodeDecodeError):
                raise ExperimentError(f"{self.state_path}: not an ABC-SMC state written by govsim; allowed: "
                                      "another --out, or --restart to discard it") from None
            if old.get("fingerprint") != fp:
                was = old.get("config", {})
                diff = [k for k in sorted(set(config) | set(was)) if json.dumps(config.get(k), sort_keys=True,
                        default=str) != json.dumps(was.get(k), sort_keys=True, default=str)]
                shown = ", ".join(diff[:4]) + (", ..." if len(diff) > 4 else "")
                raise ExperimentError(
                    f"{self.root.parent}: holds an ABC-SMC run with another configuration ({shown} differ; "
                    f"fingerprint {old.get('fingerprint')}, now {fp}); allowed: the same settings (more "
                    "generations extend it), another --out, or --restart to discard it")
            if old.get("model_code") != code:
                raise ExperimentError(
                    f"{self.root.parent}: holds an ABC-SMC run of another version of the model code "
                    f"({old.get('model_code')}, now {code}); allowed: another --out, or --restart to discard it")
        self._lock = self.results.locked()
        self._lock.__enter__()
        try:
            self.results.open(_StoreExperiment(name=name, config=config, base=base, fp=fp), [],
                              restart=restart)
            if restart:
                self.state_path.unlink(missing_ok=True)
            self.manifest = self.results.manifest()
        except BaseException:
            self.close()
            raise
        self.state = old or {"fingerprint": fp, "model_code": code, "config": config, "scale": None,
                             "generations": []}
        return self.state

    def reopen(self) -> AbcStore:
        """Take the folder of a run opened before (by :meth:`open`) again, to add runs to it."""
        from govsim.experiment.store import model_code_hash

        self._lock = self.results.locked()
        self._lock.__enter__()
        try:
            self.manifest = self.results.manifest()
            self.results._fingerprint = self.manifest["fingerprint"]
            self.results._code = model_code_hash()
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        lock, self._lock = getattr(self, "_lock", None), None
        if lock is not None:
            lock.__exit__(None, None, None)

    def save(self) -> None:
        import json

        from govsim.experiment.paths import atomic_write_text

        atomic_write_text(self.state_path, json.dumps(self.state, allow_nan=True))

    def simulate(self, simulate: Callable, tasks: list[tuple[dict, int]], ids: list[str], ex,
                 bar=None) -> tuple[list[dict[str, float]], int]:
        """Results of ``tasks`` in order: stored ones read, the others run and stored as each
        finishes. Also returns how many were run."""
        from types import SimpleNamespace

        v = self.results.verify([SimpleNamespace(run_id=r) for r in ids], self.manifest)
        v.strays = []  # the other generations' runs
        self.results.report(v, "run again")
        out: list[dict | None] = [None] * len(tasks)
        todo = []
        for i, ((params, seed), rid) in enumerate(zip(tasks, ids, strict=True)):
            row = v.rows.get(rid)
            if row is not None and int(row["seed"]) == int(seed) and all(
                    float(row.get(f"param:{n}", math.nan)) == float(x) for n, x in params.items()):
                out[i] = {k.removeprefix("sim:"): float(x) if x is not None else math.nan
                          for k, x in row.items() if k.startswith("sim:")}
                if bar is not None:
                    bar.update(1)
            else:
                todo.append((simulate, i, params, seed))
        for i, res in ex.map_unordered(_indexed, todo):
            params, seed = tasks[i]
            row = {"run_id": ids[i], "seed": int(seed), **{f"param:{n}": float(x) for n, x in params.items()},
                   **{f"sim:{k}": float(x) for k, x in res.items()}}
            self.results.write(row)
            self.written += 1
            out[i] = {k: float(x) for k, x in res.items()}
            if bar is not None:
                bar.update(1)
        return out, len(todo)  # type: ignore[return-value]


def _pack(thetas, dist, w, sims) -> dict[str, list]:
    return {"thetas": np.asarray(thetas, float).tolist(), "distances": np.asarray(dist, float).tolist(),
            "weights": np.asarray(w, float).tolist(), "sims": np.asarray(sims, float).tolist()}


def _unpack(g: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return (np.array(g["thetas"], float), np.array(g["distances"], float), np.array(g["weights"], float),
            np.array(g["sims"], float))


_GEN_FIELDS = ("generation", "epsilon", "accepted", "proposed", "acceptance")


def abc_smc(simulate: Callable, bounds: dict[str, tuple[float, float]], targets: dict[str, float], *,
            particles: int = 100, generations: int = 5, quantile: float = 0.5, min_acceptance: float = 0.02,
            batch: int | None = None, seed: int = 0, backend: str = "serial", workers: int | None = None,
            address: str | None = None, executor=None, progress: bool = False,
            scales: dict[str, float] | None = None, out: str | Path | None = None, restart: bool = False,
            name: str = "abc") -> AbcResult:
    """ABC-SMC posterior of ``bounds``' parameters given ``targets`` (see the module notes).
    ``scales``: each target's distance unit (default: from the prior predictive, see above).
    ``out``: a folder where the run persists itself and from which it resumes (:class:`AbcStore`):
    the same call continues from the last finished generation, reusing finished simulations,
    and a larger ``generations`` extends a finished run; the result is the uninterrupted one."""
    t0 = time.perf_counter()
    names = list(bounds)
    lo = np.array([bounds[n][0] for n in names], float)
    hi = np.array([bounds[n][1] for n in names], float)
    keys = list(targets)
    z = np.array([targets[k] for k in keys], float)
    batch = batch or max(particles, 8)
    store = None
    if out is not None:
        config = {"simulator": _run_key(simulate), "bounds": {n: [float(lo[i]), float(hi[i])]
                                                             for i, n in enumerate(names)},
                  "targets": {k: float(v) for k, v in targets.items()},
                  "scales": {k: float(v) for k, v in sorted((scales or {}).items())},
                  "particles": int(particles), "quantile": float(quantile),
                  "min_acceptance": float(min_acceptance), "batch": int(batch), "seed": int(seed)}
        store = AbcStore(out)
        store.open(config, name, getattr(simulate, "base", {}) or {}, restart=restart)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(desc="abc-smc", unit="run")
    own = executor is None
    ex = executor or make_executor(backend, workers=workers, address=address)
    history: list[pd.DataFrame] = []
    gens = []
    n_sims = new_sims = 0

    def run(tasks, ids):
        nonlocal new_sims
        if store is None:
            new_sims += len(tasks)
            return simulate_all(simulate, tasks, ex, bar)
        return store.simulate(simulate, tasks, ids, ex, bar)[0]

    lap = [time.perf_counter()]

    def checkpoint(gen: dict, pop: tuple | None) -> None:
        if store is not None:
            rec = {k: (None if k == "epsilon" and not math.isfinite(gen[k]) else gen[k]) for k in gen}
            now = time.perf_counter()  # this session's wall time on the generation (not part of the result)
            rec["_seconds"], rec["_finished"], lap[0] = round(now - lap[0], 3), time.strftime("%Y-%m-%dT%H:%M:%S%z"), now
            if pop is not None:
                rec["population"] = _pack(*pop)
            store.state["generations"].append(rec)
            store.save()

    try:
        done = store.state["generations"][:max(generations, 1)] if store is not None else []
        if done:  # resume: the stored generations, exactly as they were
            scale = np.array(store.state["scale"], float)
            for rec in done:
                gen = {k: rec[k] for k in rec if k != "population" and not k.startswith("_")}
                gen["epsilon"] = math.inf if gen["epsilon"] is None else float(gen["epsilon"])
                gens.append(gen)
                n_sims += int(rec["proposed"])
                if "population" in rec:  # C-ordered arrays, as computed: the same sums, bit for bit
                    thetas, dist, w, sims = _unpack(rec["population"])
                    history.append(_population(names, thetas, dist, w, keys, sims))
        else:
            # generation 0: the prior
            thetas = np.array([lo + _stream(seed, 0, i).uniform(size=len(names)) * (hi - lo)
                               for i in range(particles)])
            tasks = [(dict(zip(names, th, strict=True)), run_seed(seed, 0, i)) for i, th in enumerate(thetas)]
            sims = np.array([[r[k] for k in keys] for r in run(tasks, [f"g00-{i:06d}" for i in range(particles)])],
                            float)
            n_sims += len(tasks)
            mad = np.nanmedian(np.abs(sims - np.nanmedian(sims, axis=0)), axis=0) * 1.4826
            scale = np.maximum(np.nan_to_num(mad, nan=0.0), 0.01 * np.maximum(np.abs(z), 1e-9))
            if scales:
                scale = np.array([scales.get(k, sc) for k, sc in zip(keys, scale, strict=True)], float)
            dist = _distance(sims, z, scale)
            w = np.full(particles, 1.0 / particles)
            history.append(_population(names, thetas, dist, w, keys, sims))
            gens.append({"generation": 0, "epsilon": math.inf, "accepted": particles, "proposed": particles,
                         "acceptance": 1.0})
            if store is not None:
                store.state["scale"] = scale.tolist()
            checkpoint(gens[-1], (thetas, dist, w, sims))
        finished = "stopped" in gens[-1] or (len(gens) > 1 and gens[-1]["acceptance"] < min_acceptance)
        for g in range(len(gens), generations) if not finished else ():
            eps = float(np.quantile(dist, quantile))
            cov = 2.0 * np.atleast_2d(np.cov(thetas.T, aweights=w)) + 1e-12 * np.eye(len(names))
            chol = np.linalg.cholesky(cov)
            inv = np.linalg.inv(cov)
            acc_th, acc_d, acc_s = [], [], []
            proposed, idx = 0, 0
            while len(acc_th) < particles:
                cand, tasks, ids = [], [], []
                for _ in range(batch):
                    rng = _stream(seed, g, idx)
                    for _try in range(1000):
                        j = rng.choice(particles, p=w)
                        th = thetas[j] + chol @ rng.standard_normal(len(names))
                        if np.all(th >= lo) and np.all(th <= hi):
                            break
                    cand.append(th)
                    tasks.append((dict(zip(names, th, strict=True)), run_seed(seed, g, idx)))
                    ids.append(f"g{g:02d}-{idx:06d}")
                    idx += 1
                res = run(tasks, ids)
                n_sims += len(tasks)
                s = np.array([[r[k] for k in keys] for r in res], float)
                d = _distance(s, z, scale)
                for th, dd, ss in zip(cand, d, s, strict=True):
                    proposed += 1
                    if dd <= eps and len(acc_th) < particles:
                        acc_th.append(th)
                        acc_d.append(dd)
                        acc_s.append(ss)
                if len(acc_th) < particles and proposed >= particles / max(min_acceptance, 1e-6):
                    break
            rate = len(acc_th) / max(proposed, 1)
            if len(acc_th) < particles:
                gens.append({"generation": g, "epsilon": eps, "accepted": len(acc_th), "proposed": proposed,
                             "acceptance": rate, "stopped": "acceptance below min_acceptance"})
                checkpoint(gens[-1], None)
                break
            new = np.array(acc_th)
            diff = new[:, None, :] - thetas[None, :, :]
            kern = np.exp(-0.5 * np.einsum("ijk,kl,ijl->ij", diff, inv, diff))
            nw = 1.0 / (kern @ w)
            nw /= nw.sum()
            thetas, dist, w, sims = new, np.array(acc_d), nw, np.array(acc_s)
            history.append(_population(names, thetas, dist, w, keys, sims))
            gens.append({"generation": g, "epsilon": eps, "accepted": particles, "proposed": proposed,
                         "acceptance": rate})
            checkpoint(gens[-1], (thetas, dist, w, sims))
            if rate < min_acceptance:
                break
    finally:
        if bar is not None:
            bar.close()
        if own:
            ex.close()
        if store is not None:
            new_sims = store.written  # counted as stored, so an interrupted batch counts too
            store.results.note_elapsed(time.perf_counter() - t0, new_sims, getattr(ex, "name", backend),
                                       getattr(ex, "workers", workers))
            store.close()
    return AbcResult(names=names, particles=history[-1], generations=pd.DataFrame(gens), history=history,
                     scales=dict(zip(keys, scale.tolist(), strict=True)), targets=dict(targets),
                     simulations=n_sims, seconds=time.perf_counter() - t0, new_simulations=new_sims,
                     out=Path(out) if out is not None else None)


def _population(names, thetas, dist, w, keys, sims) -> pd.DataFrame:
    df = pd.DataFrame(thetas, columns=names)
    for j, k in enumerate(keys):
        df[f"sim:{k}"] = sims[:, j]
    df["distance"] = dist
    df["weight"] = w
    return df


def predictive_check(simulate: Callable, result: AbcResult, *, draws: int = 40, seed: int = 0,
                     backend: str = "serial", workers: int | None = None, executor=None,
                     progress: bool = False) -> pd.DataFrame:
    """Posterior predictive check: ``draws`` posterior particles (by weight) run on fresh seeds."""
    rng = _stream(seed, 10_000)
    post = result.particles
    pick = rng.choice(len(post), size=draws, p=post["weight"].to_numpy())
    tasks = [({n: float(post.iloc[j][n]) for n in result.names}, run_seed(seed + 1, 10_000, i))
             for i, j in enumerate(pick)]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=draws, desc="predictive check", unit="run")
    own = executor is None
    ex = executor or make_executor(backend, workers=workers)
    store = AbcStore(result.out).reopen() if result.out is not None else None
    try:
        if store is None:
            res = simulate_all(simulate, tasks, ex, bar)
        else:  # stored too: an interrupted check resumes
            g = len(result.history) - 1
            res, _ = store.simulate(simulate, tasks, [f"pred-g{g:02d}-{i:05d}" for i in range(draws)], ex, bar)
    finally:
        if bar is not None:
            bar.close()
        if own:
            ex.close()
        if store is not None:
            store.close()
    df = pd.DataFrame(res)
    for n in result.names:
        df[n] = [t[0][n] for t in tasks]
    return df


def predictive_table(pred: pd.DataFrame, targets: dict[str, float]) -> pd.DataFrame:
    from govsim.outcomes import is_share

    rows = []
    for k, z in targets.items():
        x = pred[k].to_numpy(float)
        x = x[np.isfinite(x)]
        mean = float(x.mean()) if x.size else math.nan
        lo, hi = (np.quantile(x, [0.025, 0.975]) if x.size else (math.nan, math.nan))
        share = is_share(k)
        err = (mean - z) * 100 if share else (mean - z) / z * 100
        se = float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else math.nan  # Monte Carlo error of the mean
        rows.append({"target": k, "field": z, "predictive_mean": mean, "mean_se": se,
                     "pi_low": float(lo), "pi_high": float(hi), "error": err, "error_unit": "points" if share else "%",
                     "within_interval": bool(lo <= z <= hi),
                     "within_2": bool(abs(err) <= 2.0)})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------- history matching
@dataclass
class Wave:
    wave: int
    design: pd.DataFrame               # design points: parameters, mean and variance per target
    nroy_share: float                  # share of the prior box not ruled out after this wave
    nroy_sample: pd.DataFrame          # non-implausible points (of the fixed uniform sample)
    emulators: dict[str, Any] = field(default_factory=dict)
    var_run: dict[str, float] = field(default_factory=dict)


@dataclass
class HistoryResult:
    names: list[str]
    bounds: dict[str, tuple[float, float]]
    targets: dict[str, float]
    tolerance: dict[str, float]
    cutoff: float
    waves: list[Wave]
    simulations: int = 0
    seconds: float = 0.0

    def implausibility(self, X: np.ndarray, waves: int | None = None) -> np.ndarray:
        """Largest implausibility over targets, and over the first ``waves`` waves, at ``X``."""
        u = self._unit(X)
        out = np.zeros(len(u))
        for wv in self.waves[: waves or len(self.waves)]:
            out = np.maximum(out, _implausibility(wv, u, self.targets, self.tolerance))
        return out

    def non_implausible(self, point: dict[str, float]) -> bool:
        x = np.array([[point[n] for n in self.names]], float)
        return bool(self.implausibility(x)[0] <= self.cutoff)

    def _unit(self, X: np.ndarray) -> np.ndarray:
        lo = np.array([self.bounds[n][0] for n in self.names])
        hi = np.array([self.bounds[n][1] for n in self.names])
        return (np.asarray(X, float) - lo) / (hi - lo)

    def ranges(self) -> pd.DataFrame:
        """Per wave, each parameter's range over the non-implausible sample."""
        rows = []
        for wv in self.waves:
            for n in self.names:
                s = wv.nroy_sample[n]
                rows.append({"wave": wv.wave, "parameter": n, "low": float(s.min()) if len(s) else math.nan,
                             "high": float(s.max()) if len(s) else math.nan, "nroy_share": wv.nroy_share})
        return pd.DataFrame(rows)


def _implausibility(wv: Wave, u: np.ndarray, targets: dict[str, float], tol: dict[str, float]) -> np.ndarray:
    out = np.zeros(len(u))
    for k, z in targets.items():
        gp = wv.emulators[k]
        mu, sd = gp.predict(u, return_std=True)
        var = sd ** 2 + wv.var_run[k] + tol[k] ** 2
        out = np.maximum(out, np.abs(z - mu) / np.sqrt(var))
    return out


def _fit_gp(u: np.ndarray, y: np.ndarray, seed: int):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    d = u.shape[1]
    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * RBF(np.full(d, 0.3), (1e-2, 1e2)) + WhiteKernel(1e-2, (1e-8, 1.0))
    gp = GaussianProcessRegressor(kernel=kernel, normalize_y=True, n_restarts_optimizer=2,
                                  random_state=int(seed % 2**32))
    ok = np.isfinite(y)
    with warnings.catch_warnings():  # a length scale at its bound is common with few points
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(u[ok], y[ok])
    return gp


def history_match(simulate: Callable, bounds: dict[str, tuple[float, float]], targets: dict[str, float], *,
                  waves: int = 3, points: int = 40, replicates: int = 2, cutoff: float = 3.0,
                  tolerance: dict[str, float] | None = None, pool: int = 20_000, seed: int = 0,
                  backend: str = "serial", workers: int | None = None, address: str | None = None,
                  executor=None, progress: bool = False) -> HistoryResult:
    """History matching in waves (see the module notes)."""
    from scipy.stats import qmc

    t0 = time.perf_counter()
    names = list(bounds)
    d = len(names)
    lo = np.array([bounds[n][0] for n in names], float)
    hi = np.array([bounds[n][1] for n in names], float)
    tol = {k: (tolerance or {}).get(k, default_tolerance(k, z)) for k, z in targets.items()}
    result = HistoryResult(names=names, bounds=dict(bounds), targets=dict(targets), tolerance=tol,
                           cutoff=cutoff, waves=[])
    sample = _stream(seed, 99_999).uniform(size=(pool, d))  # fixed: measures the NROY share
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=waves * points * replicates, desc="history matching", unit="run")
    own = executor is None
    ex = executor or make_executor(backend, workers=workers, address=address)
    n_sims = 0
    alive = np.ones(pool, dtype=bool)
    try:
        for wave in range(1, waves + 1):
            if wave == 1:
                design = qmc.LatinHypercube(d=d, seed=_stream(seed, wave, 0)).random(points)
            else:
                cand = np.flatnonzero(alive)
                if cand.size == 0:
                    break
                take = _stream(seed, wave, 0).choice(cand, size=min(points, cand.size), replace=False)
                design = sample[np.sort(take)]
            tasks = [(dict(zip(names, lo + x * (hi - lo), strict=True)), run_seed(seed, wave, i * replicates + r))
                     for i, x in enumerate(design) for r in range(replicates)]
            res = simulate_all(simulate, tasks, ex, bar)
            n_sims += len(tasks)
            sims = pd.DataFrame(res)
            sims["point"] = np.repeat(np.arange(len(design)), replicates)
            means = sims.groupby("point")[list(targets)].mean()
            var = sims.groupby("point")[list(targets)].var(ddof=1) if replicates > 1 else None
            table = pd.DataFrame(lo + design * (hi - lo), columns=names)
            for k in targets:
                table[k] = means[k].to_numpy()
                table[f"var:{k}"] = var[k].to_numpy() if var is not None else math.nan
            emus = {k: _fit_gp(design, means[k].to_numpy(float), seed + wave) for k in targets}
            var_run = {k: float(np.nanmean(var[k])) if var is not None else 0.0 for k in targets}
            wv = Wave(wave=wave, design=table, nroy_share=math.nan, nroy_sample=pd.DataFrame(),
                      emulators=emus, var_run=var_run)
            imp = _implausibility(wv, sample, targets, tol)
            alive &= imp <= cutoff
            wv.nroy_share = float(alive.mean())
            wv.nroy_sample = pd.DataFrame(lo + sample[alive] * (hi - lo), columns=names)
            result.waves.append(wv)
    finally:
        if bar is not None:
            bar.close()
        if own:
            ex.close()
    result.simulations, result.seconds = n_sims, time.perf_counter() - t0
    return result
