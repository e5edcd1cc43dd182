"""The numpy limit: the least a district day's resident step costs, as a bare numpy loop.

``bench_district.py`` divides the model's run phase by this loop's time (issue 10: target at
most 1.3x). The loop runs over the *same* influence matrix (the model's float32 CSR,
``structure.influence``, 262,103 x 262,103 with 1.2 M ties x 2 for the district) and the
model's initial resident columns, for the same number of days, and per day does only what
the model's resident step must at least do:

    active   = (day - last_active) < 30                 # activity window, as float32
    nb_share = W @ active                               # one full scipy CSR mat-vec
    z        = disposition + social * nb_share + bonus * (nb_share >= threshold) + base
    take     = can & (rng.random(n, float32) < 1 / (1 + exp(-z)))   # online participation
    last_active[take] = day                             # mark active

with ``can`` = eligible and online channel open in the resident's community (fixed), all
arrays float32, the logit too (as in the model since the exact neighbour tallies). It has no
weekly attitude update, no meetings, cases, institutions, volunteers, metrics or per-community
series: everything else the model does is the margin the ratio measures. It is a lower bound
for a step that recomputes every resident's neighbour share and draws one uniform per
resident each day; the model beats it on both terms (it adds and subtracts only the ties of
residents whose activity changed, and draws the online participants by thinning, see
``Population.step``), which is why it is a "limit" in the issue's sense, not a strict bound.

Run on its own (builds the district, then times the loop)::

    .venv/bin/python benchmarks/bench_numpy_limit.py [--steps 365] [--scenario PATH]

Runs on one thread: BLAS/OpenMP thread counts are pinned to 1 before numpy is imported.
"""

from __future__ import annotations

import os

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
for _var in _THREAD_VARS:
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DISTRICT = ROOT / "scenarios" / "district.toml"
ACTIVE_WINDOW = 30


@dataclass
class LimitInputs:
    """What the loop reads: the influence matrix and the residents' initial columns."""

    influence: object  # scipy.sparse.csr_array, float32
    disposition: np.ndarray  # float32
    threshold: np.ndarray  # float32
    can: np.ndarray  # bool: eligible and online channel open
    last_active: np.ndarray  # int32
    social: float
    bonus: float
    base: float

    @classmethod
    def from_model(cls, model) -> LimitInputs:
        """Copies of a freshly built ``GovernanceModel``'s state (before it runs)."""
        pop = model.population
        return cls(
            influence=model.structure.influence,
            disposition=pop.disposition.copy(),
            threshold=pop.threshold.copy(),
            can=pop.eligible & model.online_open[pop.community],
            last_active=pop.last_active.copy(),
            social=pop.w.social,
            bonus=pop.w.threshold_bonus,
            base=model.scenario.behaviour.online_base,
        )


def numpy_limit(inp: LimitInputs, days: int, seed: int = 0, clock=time.process_time) -> tuple[float, float]:
    """Run the loop for ``days`` days; return (seconds on ``clock``, active share at the end).

    The default clock is the process's CPU time (one thread), which a busy shared machine
    disturbs less than wall time; pass ``time.perf_counter`` for wall time."""
    W = inp.influence
    disp, thr, can = inp.disposition, inp.threshold, inp.can
    last_active = inp.last_active.copy()
    n = len(last_active)
    social, bonus, base = np.float32(inp.social), np.float32(inp.bonus), np.float32(inp.base)  # float32 logit, as the model's
    rng = np.random.default_rng(seed)
    t0 = clock()
    for day in range(days):
        active = ((day - last_active) < ACTIVE_WINDOW).astype(np.float32)
        nb = W @ active
        z = disp + (social * nb + bonus * (nb >= thr)) + base
        take = can & (rng.random(n, dtype=np.float32) < 1.0 / (1.0 + np.exp(-z)))
        last_active[take] = day
    seconds = clock() - t0
    return seconds, float(((days - 1 - last_active) < ACTIVE_WINDOW).mean())


def main(argv: list[str] | None = None) -> dict:
    from govsim import GovernanceModel, load_scenario

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=None, help="days (default: the scenario's)")
    ap.add_argument("--scenario", type=Path, default=DISTRICT)
    args = ap.parse_args(argv)
    scenario = load_scenario(args.scenario)
    steps = scenario.steps if args.steps is None else args.steps
    model = GovernanceModel(scenario=scenario, collect=False)
    inp = LimitInputs.from_model(model)
    seconds, share = numpy_limit(inp, steps)
    print(f"numpy limit: {model.structure.n:,} residents, {steps} days: {seconds:.2f} s CPU "
          f"({1e3 * seconds / max(steps, 1):.1f} ms/day; active share at the end {share:.3f})")
    return {"limit_s": seconds}


if __name__ == "__main__":
    main()
