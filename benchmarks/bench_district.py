"""Whole model at district scale: ``scenarios/district.toml`` for 365 days on one core.

Builds ``GovernanceModel`` (collect=True) from the district scenario (262,103 residents in
45 communities), runs it, and prints build time, run time, total and peak memory (the
process's maximum resident set size, ``resource.getrusage(...).ru_maxrss``, in MiB).
Targets: total < 10 s, peak memory < 2 GiB.

It also times the numpy limit (``bench_numpy_limit.py``: a bare numpy loop of the resident
step's minimum, active mask, one full mat-vec with the same influence matrix, the online
participation draw and marking active, for the same days, from the model's initial state) and
prints the ratio run phase / numpy limit (issue 10: target at most 1.3x), both in CPU time of
this (single-threaded) process, which a busy shared machine disturbs less than wall time. The
limit runs in the same process, half its days before the model's run and half after (so a
change of machine load during the run weighs on both).

    .venv/bin/python benchmarks/bench_district.py [--steps 365] [--timeline] [--no-limit] [--set KEY=VALUE ...]

``--set`` changes the scenario as ``govsim run --set`` does, e.g. ``--set
population.communities=90`` (the same residents in twice as many communities) or ``--set
population.households=179866 --set population.people=524206`` (twice the residents).

``--timeline`` adds a timeline event (a deliberation council in a quarter of the
communities from day 180), as in a policy-rollout run; the daily per-community series is
always collected (collect=True).

Runs on one thread: BLAS/OpenMP thread counts are pinned to 1 before numpy is imported.
"""

from __future__ import annotations

import os
import time

_T_START = time.perf_counter()  # before numpy/scipy/mesa/govsim are imported
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
for _var in _THREAD_VARS:
    os.environ[_var] = "1"

import argparse  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402

from bench_cli import ROOT, load_scenario_from, scenario_options  # noqa: E402
from bench_numpy_limit import LimitInputs, numpy_limit  # noqa: E402

from govsim import GovernanceModel, scenario_from_dict  # noqa: E402

TARGET_TOTAL_S = 10.0
TARGET_PEAK_MIB = 2048.0
TARGET_LIMIT_RATIO = 1.3


def peak_rss_mib() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024.0 * 1024.0) if sys.platform == "darwin" else rss / 1024.0  # bytes vs KiB


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    scenario_options(ap)
    ap.add_argument("--timeline", action="store_true", help="add a council rollout in 25%% of communities at day 180")
    ap.add_argument("--no-limit", action="store_true", help="do not time the numpy limit")
    args = ap.parse_args(argv)

    scenario = load_scenario_from(args)
    if args.timeline:
        data = scenario.spec.model_dump(exclude_unset=True)
        data["timeline"] = [{"day": min(180, scenario.steps - 1), "communities": {"share": 0.25, "seed": 1},
                             "set": {"pilots.deliberation_council": True}}]
        scenario = scenario_from_dict(data)
    steps = scenario.steps if args.steps is None else args.steps
    shown = args.scenario.resolve()
    shown = shown.relative_to(ROOT) if shown.is_relative_to(ROOT) else shown
    print(f"BLAS/OpenMP threads = 1; scenario {shown}" + "".join(f" --set {o}" for o in args.overrides))
    t0, c0 = time.perf_counter(), time.process_time()
    model = GovernanceModel(scenario=scenario, collect=True)
    t1, c1 = time.perf_counter(), time.process_time()
    limit_s = None
    if not args.no_limit:  # half the limit's days before the run, half after (CPU time)
        inputs = LimitInputs.from_model(model)
        limit_s, _ = numpy_limit(inputs, steps // 2)
    t1b, c1b = time.perf_counter(), time.process_time()
    model.run(steps)
    t2, c2 = time.perf_counter(), time.process_time()
    if not args.no_limit:
        limit_s += numpy_limit(inputs, steps - steps // 2, seed=1)[0]
    peak = peak_rss_mib()

    s = model.structure
    build_s, run_s = t1 - t0, t2 - t1b
    build_cpu, run_cpu = c1 - c0, c2 - c1b
    total_s = build_s + run_s
    print(f"{s.n:,} residents, {s.n_households:,} households, {s.n_communities} communities, "
          f"{s.n_edges:,} ties; {steps} steps; participation rate at the end "
          f"{model.population.participation_rate(model.day - 1):.3f}")
    print(f"build  {build_s:7.2f} s  ({build_cpu:.2f} s CPU)")
    print(f"run    {run_s:7.2f} s  ({run_cpu:.2f} s CPU; {1e3 * run_s / max(steps, 1):.1f} ms/step, "
          f"{s.n * steps / run_s:,.0f} resident-days/s)")
    print(f"total  {total_s:7.2f} s  (target < {TARGET_TOTAL_S:.0f} s: "
          f"{'met' if total_s < TARGET_TOTAL_S else 'MISSED'})")
    if limit_s is not None:
        ratio = run_cpu / limit_s
        print(f"numpy limit  {limit_s:.2f} s CPU  (bench_numpy_limit.py, same influence matrix and days)")
        print(f"ratio run / numpy limit {ratio:.2f}x in CPU time  (target <= {TARGET_LIMIT_RATIO}x: "
              f"{'met' if ratio <= TARGET_LIMIT_RATIO else 'MISSED'})")
    print(f"process wall time incl. imports and scenario loading: {t2 - _T_START:.2f} s"
          + (" (and the numpy limit)" if limit_s is not None else ""))
    print(f"peak   {peak:7.0f} MiB (ru_maxrss; target < {TARGET_PEAK_MIB:.0f} MiB: "
          f"{'met' if peak < TARGET_PEAK_MIB else 'MISSED'})")
    return {"build_s": build_s, "run_s": run_s, "total_s": total_s, "peak_mib": peak, "limit_s": limit_s,
            "build_cpu_s": build_cpu, "run_cpu_s": run_cpu, "ratio": None if limit_s is None else run_cpu / limit_s}


if __name__ == "__main__":
    main()
