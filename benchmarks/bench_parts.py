"""Where a model day's time goes: CPU ms a day per part of ``GovernanceModel.step``.

Builds the scenario (default: the district), wraps the parts of the day in ``process_time``
timers on the model instance (the wrappers add about 5%), runs it and prints a table, largest
part first. The parts are the ones ``benchmarks/README.md`` reports (round 4 and round 5).

    .venv/bin/python benchmarks/bench_parts.py [--scenario PATH] [--steps 365] [--set KEY=VALUE ...]

Runs on one thread: BLAS/OpenMP thread counts are pinned to 1 before numpy is imported.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402

from bench_cli import load_scenario_from, scenario_options  # noqa: E402

import govsim.model as model_module  # noqa: E402
from govsim import GovernanceModel  # noqa: E402


def _timed(acc: dict, label: str, f):
    def wrapper(*a, **k):
        t = time.process_time()
        try:
            return f(*a, **k)
        finally:
            acc[label] += time.process_time() - t
    return wrapper


def parts(model: GovernanceModel, steps: int) -> tuple[float, dict[str, float]]:
    """Run ``model`` for ``steps`` days with the parts timed; (total CPU s, CPU s per part)."""
    acc: dict[str, float] = defaultdict(float)
    m = model

    def wrap(obj, name: str, label: str) -> None:
        setattr(obj, name, _timed(acc, label, getattr(obj, name)))

    wrap(m.population, "step", "resident step (Population.step)")
    wrap(m, "_cases_day", "cases: arrive, detect, handle, close")
    wrap(m, "_incidents", "collective incidents")
    wrap(m.attitudes, "weekly", "weekly satisfaction (attitudes)")
    wrap(m.meetings, "day", "meetings and NGO activities")
    if m.datacollector is not None:
        wrap(m.datacollector, "collect", "DataCollector")
        wrap(m.cseries, "collect", "per-community series")
    wrap(m.volunteers, "churn", "volunteers")
    wrap(m.volunteers, "recruit", "volunteers")
    wrap(m, "_ngo_sector", "NGO sector")
    wrap(m, "_operating_funds", "committees' funds")
    wrap(m.government, "step_day", "government")
    for hook in ("begin_day", "end_day"):
        for inst in m.hooks[hook]:
            wrap(inst, hook, "institutions' begin/end day hooks")
    wrap(m.population, "active_eligible", "participation rate")
    ladder = model_module.ladder
    model_module.ladder = _timed(acc, "ladder (monthly)", ladder)
    try:
        t = time.process_time()
        m.run(steps)
        total = time.process_time() - t
    finally:
        model_module.ladder = ladder
    return total, dict(acc)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    scenario_options(ap)
    args = ap.parse_args(argv)
    scenario = load_scenario_from(args)
    steps = scenario.steps if args.steps is None else args.steps
    model = GovernanceModel(scenario=scenario, collect=True)
    total, acc = parts(model, steps)
    days = max(steps, 1)
    print(f"{model.structure.n:,} residents, {model.structure.n_communities} communities, {steps} days: "
          f"{total:.3f} s CPU = {1e3 * total / days:.2f} ms a day")
    print("| part | ms a day |\n|---|---|")
    for label, sec in sorted(acc.items(), key=lambda kv: -kv[1]):
        print(f"| {label} | {1e3 * sec / days:.2f} |")
    print(f"| everything else (committees' plan_day, timeline, step glue) | {1e3 * (total - sum(acc.values())) / days:.2f} |")
    return {"total_s": total, **acc}


if __name__ == "__main__":
    main()
