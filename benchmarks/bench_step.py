"""Resident step: vectorised ``Population.step`` vs the per-agent Mesa oracle, side by side.

Builds one community of ``--residents`` residents (households = residents / 2.9) with
:func:`govsim.reference.build_community` (the same structure and population
``GovernanceModel`` builds, plus 25% of residents recently active and the online channel
open), then times ``--days`` daily steps of each implementation from identical state and
prints resident-steps per second and the ratio (vectorised / reference).

    .venv/bin/python benchmarks/bench_step.py --residents 10000 --days 30

Runs on one thread: BLAS/OpenMP thread counts are pinned to 1 before numpy is imported.
"""

from __future__ import annotations

import os

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
for _var in _THREAD_VARS:
    os.environ[_var] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import mesa  # noqa: E402
import numpy as np  # noqa: E402

from govsim.reference import build_community, copy_population  # noqa: E402

TARGET_RATIO = 50.0


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--residents", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=30, help="days timed for the vectorised step")
    ap.add_argument("--ref-days", type=int, default=None,
                    help="days timed for the reference (default: --days)")
    ap.add_argument("--online-base", type=float, default=-4.0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    n, days = args.residents, args.days
    ref_days = days if args.ref_days is None else args.ref_days
    households = max(10, round(n / 2.9))

    print(f"python {platform.python_version()}, numpy {np.__version__}, mesa {mesa.__version__}; "
          f"BLAS/OpenMP threads = 1 ({', '.join(f'{v}=1' for v in _THREAD_VARS[:3])}, ...)")
    t = time.perf_counter()
    c = build_community({"seed": args.seed, "population": {"households": households, "people": n}},
                        online_base=args.online_base)
    build_s = time.perf_counter() - t
    s = c.structure
    print(f"community: {s.n:,} residents, {s.n_households:,} households, {s.n_edges:,} ties "
          f"(built in {build_s:.2f} s); online_base = {args.online_base}")

    # Vectorised: Population.step only.
    pop = copy_population(c.population)
    rng = np.random.default_rng(args.seed)
    t = time.perf_counter()
    for day in range(days):
        pop.step(day, rng, **c.step_kwargs)
    vec_s = time.perf_counter() - t
    vec_rate = pop.participation_rate(days - 1)

    # Reference: ReferenceModel.step only (construction timed separately).
    t = time.perf_counter()
    model = c.reference(seed=args.seed)
    ref_build_s = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(ref_days):
        model.step()
    ref_s = time.perf_counter() - t
    ref_rate = model.participation_rate()

    vec_rs = n * days / vec_s
    ref_rs = n * ref_days / ref_s
    ratio = vec_rs / ref_rs
    w = 26
    print(f"{'':{w}} {'days':>5} {'ms/step':>10} {'resident-steps/s':>18} {'rate after':>11}")
    print(f"{'vectorised Population.step':{w}} {days:>5} {1e3 * vec_s / days:>10.3f} "
          f"{vec_rs:>18,.0f} {vec_rate:>11.3f}")
    print(f"{'ReferenceModel.step':{w}} {ref_days:>5} {1e3 * ref_s / ref_days:>10.3f} "
          f"{ref_rs:>18,.0f} {ref_rate:>11.3f}")
    print(f"reference construction: {ref_build_s:.2f} s (not in the rate)")
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    print(f"ratio vectorised / reference: {ratio:,.1f}x "
          f"({verdict} the >= {TARGET_RATIO:.0f}x target)")
    return {"vectorised": vec_rs, "reference": ref_rs, "ratio": ratio}


if __name__ == "__main__":
    main()
