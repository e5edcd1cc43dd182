"""The same sweep with Mesa's ``mesa.batch_run`` and with govsim's runner, side by side.

Sweep: regimes x replicates of one community (``--households``, default 1,724 households
~ 5,000 residents) for ``--steps`` days. Both sides run the same ``GovernanceModel`` with
the same seeds (govsim's SeedSequence-derived seeds are handed to batch_run as its ``rng``
list), so their outputs are checked equal, figure by figure, before any time is compared.

* batch_run: the Mesa way - the model with its DataCollector (batch_run requires one),
  ``number_processes=--workers``, everything returned in RAM;
* govsim: ``run_experiment`` with the loky process pool, no per-step collection, each run
  written to Parquet as it finishes.

Part 2 (``--plain-mesa``) times the sweep a researcher would run without govsim: the
resident dynamics written the plain-Mesa way (``govsim.reference.ReferenceModel``, one agent
per resident looping over its neighbours) swept with ``batch_run``, against the same dynamics
vectorised (``Population.step``) swept with govsim's process executor. Random streams differ,
so outputs are compared statistically (mean participation per parameter value).

Run from the repository root::

    .venv/bin/python benchmarks/bench_sweep.py                  # 3 regimes x 10 replicates
    .venv/bin/python benchmarks/bench_sweep.py --replicates 100 --govsim-only   # the 300-run target
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REGIMES = ["self_governing", "hybrid", "government_led"]
COMMON = ["cases_arisen", "cases_resolved", "resolution_rate", "self_resolution_share", "escalations",
          "collective_incidents", "fiscal_spending", "cost_per_resolved_case"]


def experiment(households: int, replicates: int, steps: int):
    from govsim.experiment.spec import experiment_from_dict

    return experiment_from_dict({
        "name": "bench_sweep", "scenario": str(ROOT / "scenarios" / "hybrid.toml"), "regimes": REGIMES,
        "replicates": replicates, "steps": steps, "seed": 7, "metrics": COMMON,
        "overrides": {"population.households": households, "population.people": int(households * 2.9)},
    })


def run_govsim(exp, workers: int, out: Path):
    from govsim.experiment import run_experiment

    t = time.perf_counter()
    table = run_experiment(exp, out, backend="process", workers=workers, progress=False)
    return table, time.perf_counter() - t


def run_batch(exp, workers: int):
    import mesa

    from govsim.experiment.design import expand
    from govsim.model import GovernanceModel
    from govsim.scenario import scenario_from_dict

    specs = expand(exp)
    seeds = sorted({(s.replicate, s.seed) for s in specs})
    scenarios = [scenario_from_dict({**exp.base, "regime": r}) for r in REGIMES]
    t = time.perf_counter()
    rows = mesa.batch_run(GovernanceModel, parameters={"scenario": scenarios}, rng=[s for _, s in seeds],
                          number_processes=workers, data_collection_period=-1,
                          max_steps=exp.base["steps"], display_progress=False)
    return rows, time.perf_counter() - t


def compare(table, rows) -> int:
    """Number of figures that differ between the two outputs (must be 0)."""
    by = {(r["scenario"].regime, int(r["rng"])): r for r in rows}
    diffs = 0
    for rec in table.to_dict("records"):
        other = by[(rec["regime"], int(rec["seed"]))]
        for k in ("cases_arisen", "cases_resolved", "resolution_rate", "self_resolution_share",
                  "escalations", "collective_incidents", "fiscal_spending", "cost_per_resolved_case"):
            if not np.isclose(rec[k], other[k], rtol=1e-12, atol=1e-9):
                diffs += 1
    return diffs


# ------------------------------------------------------------------ part 2: plain-Mesa model
PLAIN_BASES = (-5.0, -4.0, -3.0)


import mesa  # noqa: E402

from govsim.reference import ReferenceModel, build_community  # noqa: E402


class ResidentDynamics(ReferenceModel):
    """The per-agent resident model as batch_run wants it: keyword parameters and ``rng``."""

    def __init__(self, households=1724, online_base=-4.0, rng=None):
        com = build_community({"seed": int(rng), "population": {"households": households}},
                              online_base=online_base)
        super().__init__(com.structure, com.population, com.weights, seed=int(rng), **com.step_kwargs)
        self.datacollector = mesa.DataCollector(
            model_reporters={"participation": lambda m: m.participation_rate()})

    def step(self):
        super().step()
        self.datacollector.collect(self)


def _vectorised_run(args):
    households, base, seed, days = args
    from govsim.reference import build_community

    com = build_community({"seed": int(seed), "population": {"households": households}}, online_base=base)
    rates, _ = com.vectorised(days, seed)
    return base, seed, float(rates[-1])


def plain_mesa_part(households: int, replicates: int, days: int, workers: int) -> None:
    from govsim.experiment.executors import make_executor

    seeds = list(range(1000, 1000 + replicates))
    jobs = [(households, b, s, days) for b in PLAIN_BASES for s in seeds]
    t = time.perf_counter()
    with make_executor("process", workers=workers) as ex:
        vec = list(ex.map_unordered(_vectorised_run, jobs))
    t_v = time.perf_counter() - t
    t = time.perf_counter()
    rows = mesa.batch_run(ResidentDynamics, parameters={"households": households, "online_base": list(PLAIN_BASES)},
                          rng=seeds, number_processes=workers, data_collection_period=-1, max_steps=days,
                          display_progress=False)
    t_b = time.perf_counter() - t
    n = len(jobs)
    print(f"\npart 2, plain-Mesa resident dynamics: {len(PLAIN_BASES)} values x {replicates} replicates = {n} runs, "
          f"{int(households * 2.9):,} residents, {days} days")
    print(f"govsim (vectorised, loky pool)       : {t_v:7.1f} s")
    print(f"batch_run (per-agent Mesa model)     : {t_b:7.1f} s")
    for b in PLAIN_BASES:
        v = np.array([r for bb, _, r in vec if bb == b])
        m = np.array([r["participation"] for r in rows if r["online_base"] == b])
        se = np.sqrt(v.var(ddof=1) / len(v) + m.var(ddof=1) / len(m)) if len(v) > 1 else float("nan")
        print(f"  online_base {b:+.1f}: participation {v.mean():.3f} (govsim) vs {m.mean():.3f} (Mesa), "
              f"diff {abs(v.mean() - m.mean()) / se if se > 0 else 0:.1f} SE")
    print(f"ratio govsim / plain-Mesa sweep speed: {t_b / t_v:.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--households", type=int, default=1724)
    ap.add_argument("--replicates", type=int, default=10)
    ap.add_argument("--steps", type=int, default=365)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--govsim-only", action="store_true", help="skip batch_run (large sweeps)")
    ap.add_argument("--plain-mesa", action="store_true",
                    help="also time the plain per-agent Mesa model under batch_run (part 2)")
    ap.add_argument("--plain-days", type=int, default=60, help="days per run in part 2")
    args = ap.parse_args()
    exp = experiment(args.households, args.replicates, args.steps)
    n = len(REGIMES) * args.replicates
    print(f"sweep: {len(REGIMES)} regimes x {args.replicates} replicates = {n} runs, "
          f"{int(args.households * 2.9):,} residents, {args.steps} days, {args.workers} workers, BLAS threads 1")
    tmp = Path(tempfile.mkdtemp(prefix="bench_sweep_"))
    try:
        table, t_g = run_govsim(exp, args.workers, tmp / "govsim")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"govsim runner : {t_g:7.1f} s  {n / t_g:6.2f} runs/s  (parent peak RSS {rss:.0f} MiB)")
        if not args.govsim_only:
            rows, t_b = run_batch(exp, args.workers)
            print(f"mesa.batch_run: {t_b:7.1f} s  {n / t_b:6.2f} runs/s")
            d = compare(table, rows)
            print(f"outputs equal : {'yes' if d == 0 else f'NO ({d} figures differ)'}")
            print(f"ratio govsim / batch_run speed: {t_b / t_g:.2f}x")
        if args.plain_mesa:
            plain_mesa_part(args.households, args.replicates, args.plain_days, args.workers)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
