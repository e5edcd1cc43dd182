"""Designs (grid, Latin hypercube, Sobol, Morris) and the run list with derived seeds.

Sampling of ranges is SALib's (``SALib.sample.latin / sobol / morris``), seeded from the
experiment seed, so the same file always gives the same points.

Seeds: a run's seed is derived with numpy's ``SeedSequence`` from the experiment seed and
the run's identity (parameter point, replicate). It does not depend on which worker runs
it, in which order, or on which backend. All regimes at the same point and replicate share
a seed (common random numbers), so regime comparisons are paired and less noisy.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from govsim.experiment.spec import Experiment, ParamRange


@dataclass(frozen=True)
class RunSpec:
    """Everything one run needs; small and picklable, so any worker can run it."""

    run_id: str
    experiment: str
    regime: str
    point: int
    replicate: int
    seed: int
    params: tuple[tuple[str, Any], ...]
    scenario: dict
    metrics: tuple[str, ...]
    treatment: dict | None = None  # design = "did": TreatmentSpec fields

    def param_dict(self) -> dict[str, Any]:
        return dict(self.params)


def run_seed(root: int, point: int, replicate: int) -> int:
    """A 63-bit seed from the experiment seed and the run's (point, replicate)."""
    ss = np.random.SeedSequence(entropy=int(root), spawn_key=(int(point), int(replicate)))
    a, b = ss.generate_state(2, dtype=np.uint32)
    return int((int(a) << 31) ^ int(b)) & (2**63 - 1)


def salib_problem(exp: Experiment) -> dict:
    ranges = {k: v for k, v in exp.spec.parameters.items() if isinstance(v, ParamRange)}
    return {
        "num_vars": len(ranges),
        "names": list(ranges),
        "bounds": [[v.min, v.max] for v in ranges.values()],
    }


def sample_matrix(exp: Experiment) -> np.ndarray | None:
    """The design's sample matrix (rows = points) for lhs / sobol / morris; None for grid."""
    spec = exp.spec
    if spec.design in ("grid", "did"):
        return None
    problem = salib_problem(exp)
    seed = int(spec.seed % (2**32))
    if spec.design == "lhs":
        from SALib.sample import latin

        return latin.sample(problem, spec.samples, seed=seed)
    if spec.design == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, spec.samples, calc_second_order=spec.second_order, seed=seed)
    from SALib.sample import morris

    return morris.sample(problem, spec.samples, num_levels=spec.num_levels, seed=seed)


def points(exp: Experiment) -> list[dict[str, Any]]:
    """Parameter points, in design order (point index = position in this list)."""
    spec = exp.spec
    if not spec.parameters:
        return [{}]
    if spec.design in ("grid", "did"):
        axes = []
        for key, values in spec.parameters.items():
            if isinstance(values, ParamRange):
                vals = np.linspace(values.min, values.max, values.num)
                vals = [int(round(v)) if values.is_integer(key) else float(v) for v in vals]
            else:
                vals = list(values)
            axes.append([(key, v) for v in vals])
        return [dict(combo) for combo in itertools.product(*axes)]
    X = sample_matrix(exp)
    names = list(spec.parameters)
    out = []
    for row in X:
        pt = {}
        for key, v in zip(names, row, strict=True):
            rng = spec.parameters[key]
            pt[key] = int(round(v)) if rng.is_integer(key) else float(v)
        out.append(pt)
    return out


def count_points(exp: Experiment) -> int:
    """Number of parameter points, computed without sampling (so huge designs are cheap to size)."""
    spec = exp.spec
    if not spec.parameters:
        return 1
    d = len(spec.parameters)
    if spec.design in ("grid", "did"):
        n = 1
        for values in spec.parameters.values():
            n *= values.num if isinstance(values, ParamRange) else len(values)
        return n
    if spec.design == "lhs":
        return spec.samples
    if spec.design == "sobol":
        return spec.samples * (2 * d + 2 if spec.second_order else d + 2)
    return spec.samples * (d + 1)


def count_runs(exp: Experiment) -> int:
    """Number of runs of the experiment (regimes x points x replicates)."""
    return len(exp.regimes) * count_points(exp) * exp.spec.replicates


def expand(exp: Experiment) -> list[RunSpec]:
    """All runs of the experiment: regime x point x replicate, ordered."""
    pts = points(exp)
    specs = []
    for regime in exp.regimes:
        base = {**exp.base, "regime": regime}
        for p_idx, pt in enumerate(pts):
            for rep in range(exp.spec.replicates):
                specs.append(
                    RunSpec(
                        run_id=f"{regime}-p{p_idx:05d}-r{rep:04d}",
                        experiment=exp.name,
                        regime=regime,
                        point=p_idx,
                        replicate=rep,
                        seed=run_seed(exp.spec.seed, p_idx, rep),
                        params=tuple(pt.items()),
                        scenario=base,
                        metrics=exp.spec.metrics,
                        treatment=exp.spec.treatment.model_dump() if exp.spec.treatment else None,
                    )
                )
    return specs
