"""Experiment files: TOML, validated on load with one-line errors naming the field.

Example (``experiments/compare_regimes.toml``)::

    name = "compare_regimes"
    scenario = "../scenarios/hybrid.toml"     # relative to this file
    regimes = ["self_governing", "hybrid", "government_led"]
    replicates = 30
    steps = 365
    seed = 20261123
    design = "grid"                           # grid | lhs | sobol | morris | did
    metrics = ["mean_participation_rate", "resolution_rate", "cost_per_resolved_case"]

    [parameters]                              # what varies
    "pilots.grid_management" = [false, true]  # a list: grid values
    "cases.need_rate" = {min = 0.2, max = 0.6, num = 3}   # a range (num: grid points)

    [overrides]                               # fixed changes to the base scenario
    "population.households" = 1700
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from govsim.experiment.treatment import TreatmentSpec
from govsim.metrics import SUMMARY_METRICS
from govsim.regimes import REGIMES
from govsim.scenario import (
    ScenarioError,
    _format_error,
    _tuplify,
    apply_overrides,
    check_finite,
    load_base_scenario,
    parse_override,
    read_toml,
    scenario_from_dict,
)

# Names a parameter or override cannot take: the run's identity columns are set per run.
RESERVED_PARAMETERS = {
    "regime": "regimes are listed in `regimes`",
    "seed": "each run's seed is derived from the experiment's `seed`",
    "name": "the scenario name is not a model parameter",
    "description": "the description is not a model parameter",
}
# Joint parameter points are all validated before the first run up to this many points;
# past it (a design that large is refused without --yes anyway) the corners of the box are.
MAX_POINTS_CHECKED = 5_000


class ExperimentError(ScenarioError):
    """An experiment file is invalid. The message is one line naming the field."""


class ParamRange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    min: float
    max: float
    num: Annotated[int, Field(ge=2, le=1000)] | None = None
    integer: bool = False

    def is_integer(self, key: str) -> bool:
        """Sampled values are rounded for integer ranges and integer scenario fields."""
        from govsim.scenario import field_is_integer

        return self.integer or field_is_integer(key)

    @model_validator(mode="after")
    def _check(self) -> ParamRange:
        if not self.min < self.max:
            raise ValueError(f"min = {self.min:g} must be below max = {self.max:g}")
        return self


DEFAULT_METRICS = (
    "mean_participation_rate",
    "participation_rate",
    "meeting_attendance",
    "volunteer_hours",
    "ladder_level",
    "cases_arisen",
    "cases_resolved",
    "resolution_rate",
    "screened_resolution_rate",
    "self_resolution_share",
    "dispute_screened_resolution_rate",
    "dispute_self_resolution_share",
    "mean_days_to_resolution",
    "escalations",
    "collective_incidents",
    "fiscal_spending",
    "cost_per_resolved_case",
    "social_cost_per_resolved_case",
    "resident_hours",
    "mean_trust_gov",
    "mean_trust_comm",
    "mean_belonging",
    "mean_satisfaction",
)


class ExperimentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: str
    description: str = ""
    scenario: str
    regimes: tuple[str, ...] = ()
    design: Literal["grid", "lhs", "sobol", "morris", "did"] = "grid"
    samples: Annotated[int, Field(ge=1, le=1_000_000)] = 8
    replicates: Annotated[int, Field(ge=1, le=100_000)] = 10
    steps: Annotated[int, Field(ge=1, le=36_500)] | None = None
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    metrics: tuple[str, ...] = DEFAULT_METRICS
    parameters: dict[str, tuple[Any, ...] | ParamRange] = {}
    overrides: dict[str, Any] = {}
    second_order: bool = False
    num_levels: Annotated[int, Field(ge=2, le=100)] = 4
    target_precision: Annotated[float, Field(gt=0.0, le=1.0)] = 0.05
    treatment: TreatmentSpec | None = None  # design = "did": who is treated, from when

    @model_validator(mode="after")
    def _check(self) -> ExperimentSpec:
        bad = [r for r in self.regimes if r not in REGIMES]
        if bad:
            raise ValueError(f"regimes: unknown regime {bad[0]!r}; allowed: {', '.join(sorted(REGIMES))}")
        if len(set(self.regimes)) != len(self.regimes):
            raise ValueError("regimes: a regime is listed twice")
        if not self.metrics:
            raise ValueError(f"metrics: empty list; allowed: one or more of {', '.join(SUMMARY_METRICS)}")
        if len(set(self.metrics)) != len(self.metrics):
            raise ValueError("metrics: a metric is listed twice")
        unknown = [m for m in self.metrics if m not in SUMMARY_METRICS]
        if unknown:
            raise ValueError(
                f"metrics: unknown metric {unknown[0]!r}; allowed: {', '.join(SUMMARY_METRICS)}"
            )
        for key, values in self.parameters.items():
            if key in RESERVED_PARAMETERS:
                raise ValueError(f"parameters.{key}: cannot be varied ({RESERVED_PARAMETERS[key]}); "
                                 "allowed: a scenario field section.field")
            if isinstance(values, ParamRange) and values.integer:
                _check_integer_range(key, values)
            if isinstance(values, tuple) and len(set(map(repr, values))) != len(values):
                raise ValueError(f"parameters.{key}: a value is listed twice; allowed: distinct values")
            if isinstance(values, tuple) and not values:
                raise ValueError(f"parameters.{key}: empty list; allowed: one or more values")
            if self.design == "grid" and isinstance(values, ParamRange) and values.num is None:
                raise ValueError(
                    f"parameters.{key}: a range in a grid design needs num (grid points); "
                    "allowed: {min = a, max = b, num = n} or a list of values"
                )
            if self.design != "grid" and not isinstance(values, ParamRange):
                raise ValueError(
                    f"parameters.{key}: design {self.design!r} samples ranges; allowed: "
                    "{min = a, max = b} (lists of values only in a grid design)"
                )
        if "seed" in self.overrides:
            raise ValueError("overrides.seed: cannot be overridden (each run's seed is derived from the "
                             "experiment's `seed`); allowed: set `seed` at the top of the file")
        if "regime" in self.overrides and self.regimes:
            raise ValueError("overrides.regime: the experiment lists `regimes`; allowed: leave regime to `regimes`")
        if self.design == "did" and self.treatment is None:
            raise ValueError("design 'did' needs a [treatment] table; allowed: set, share or count, start_day")
        if self.treatment is not None and self.design not in ("did", "grid"):
            raise ValueError(f"treatment: design {self.design!r} cannot hold a treatment; allowed: design = \"did\"")
        if self.design == "did" and any(not isinstance(v, tuple) for v in self.parameters.values()):
            raise ValueError("parameters: design 'did' takes lists of values (a grid), not ranges")
        if self.design in ("sobol", "morris") and not self.parameters:
            raise ValueError(f"design {self.design!r} needs at least one range in [parameters]")
        return self


@dataclass
class Experiment:
    """A validated experiment: its spec, the base scenario data and where it came from."""

    spec: ExperimentSpec
    base: dict[str, Any]
    path: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def regimes(self) -> tuple[str, ...]:
        return self.spec.regimes or (str(self.base.get("regime", "hybrid")),)

    @property
    def params(self) -> list[str]:
        return list(self.spec.parameters)

    def fingerprint(self) -> str:
        """Hash of everything that determines each run (spec + base scenario).

        The number of replicates and the descriptive fields are left out: a run's result does
        not depend on them (seeds are per replicate), so a sweep can grow with more replicates.
        """
        spec = self.spec.model_dump(mode="json", exclude={"replicates", "description", "target_precision"})
        blob = json.dumps({"spec": spec, "base": self.base}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _check_parameter_paths(exp: Experiment, where: str) -> None:
    """Every varied key must be a real scenario field: try each extreme on the base."""
    spec = exp.spec
    for key, values in spec.parameters.items():
        trials = list(values) if isinstance(values, tuple) else [values.min, values.max]
        for v in trials:
            if isinstance(values, ParamRange) and values.is_integer(key):
                v = int(round(v))
            data = apply_overrides(exp.base, {key: v})
            try:
                scenario_from_dict(data, where=f"{where}: parameters.{key}")
            except ScenarioError as err:
                raise ExperimentError(str(err)) from None
    for regime in exp.regimes:
        try:
            scenario_from_dict({**exp.base, "regime": regime}, where=where)
        except ScenarioError as err:
            raise ExperimentError(str(err)) from None
    _check_joint_points(exp, where)


def _check_integer_range(key: str, rng: ParamRange) -> None:
    from govsim.scenario import ScenarioSpec, _field_info, _unwrap, constraint_bounds

    info = _field_info(ScenarioSpec, tuple(key.split(".")))
    if info is not None:
        base, meta = _unwrap(info.annotation)
        lo, _, hi, _ = constraint_bounds(list(info.metadata) + meta)
        if base is float and lo is not None and hi is not None and lo >= 0 and hi <= 1:
            raise ValueError(f"parameters.{key}: integer = true on a share or probability in [0, 1]; "
                             "allowed: integer = false for this field")
    if math.floor(rng.max) - math.ceil(rng.min) < 1:
        raise ValueError(f"parameters.{key}: integer = true but [{rng.min:g}, {rng.max:g}] holds fewer than "
                         "two integers; allowed: a range spanning at least two integers")


def _check_joint_points(exp: Experiment, where: str) -> None:
    """Parameters varied together must be valid together (shares summing to at most 1, ...)."""
    import itertools

    from govsim.experiment.design import count_points, points

    spec = exp.spec
    if len(spec.parameters) < 2:
        return
    if count_points(exp) <= MAX_POINTS_CHECKED:
        pts = points(exp)
    else:
        axes = [list(v) if isinstance(v, tuple)
                else [int(round(x)) if v.is_integer(k) else x for x in (v.min, v.max)]
                for k, v in spec.parameters.items()]
        corners = itertools.islice(itertools.product(*axes), MAX_POINTS_CHECKED)
        pts = [dict(zip(spec.parameters, c, strict=True)) for c in corners]
    seen: set[str] = set()
    for i, pt in enumerate(pts):
        key = repr(sorted(pt.items()))
        if key in seen:
            continue
        seen.add(key)
        shown = ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in pt.items())
        try:
            scenario_from_dict(apply_overrides(exp.base, pt), where=f"{where}: parameters (point {i}: {shown})")
        except ScenarioError as err:
            raise ExperimentError(str(err)) from None


def experiment_from_dict(data: dict[str, Any], *, base_dir: Path | None = None, where: str = "") -> Experiment:
    if not isinstance(data, dict):
        raise ExperimentError(f"{where}: an experiment must be a TOML table")
    try:
        check_finite(data, where)
    except ScenarioError as err:
        raise ExperimentError(str(err)) from None
    try:
        spec = ExperimentSpec.model_validate(_tuplify_params(data))
    except ValidationError as err:
        raise ExperimentError(_format_error(err, ExperimentSpec, where)) from None
    try:
        base = load_base_scenario(spec.scenario, base_dir, spec.overrides, spec.steps, where)
    except ScenarioError as err:
        raise ExperimentError(str(err)) from None
    exp = Experiment(spec=spec, base=base, path=None, raw=data)
    _check_parameter_paths(exp, where)
    if spec.treatment is not None:
        _check_treatment(exp, where)
    return exp


def _check_treatment(exp: Experiment, where: str) -> None:
    """The treatment as a timeline event on the base scenario: day in range, valid values."""
    t = exp.spec.treatment
    event = {"day": t.start_day, "communities": {"share": 0.5}, "set": dict(t.set)}
    try:
        scenario_from_dict({**exp.base, "timeline": [event]}, where=f"{where}: treatment")
    except ScenarioError as err:
        raise ExperimentError(str(err).replace("timeline[0].", "treatment.")) from None


def _tuplify_params(data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    for key in ("regimes", "metrics"):
        if isinstance(out.get(key), list):
            out[key] = tuple(out[key])
    if isinstance(out.get("parameters"), dict):
        out["parameters"] = {
            k: (tuple(v) if isinstance(v, list) else v) for k, v in out["parameters"].items()
        }
    _ = _tuplify
    return out


def load_experiment(path: str | Path, *, replicates: int | None = None, steps: int | None = None,
                    overrides: list[str] | None = None) -> Experiment:
    """Load and validate an experiment TOML file (its scenario path is relative to it).

    ``replicates``, ``steps`` and ``overrides`` (``section.field=value`` strings, added to the
    file's ``[overrides]``) are the command line's ``--replicates``, ``--steps`` and ``--set``.
    """
    p = Path(path)
    try:
        data = read_toml(p)
    except ScenarioError as err:
        raise ExperimentError(str(err)) from None
    if replicates is not None:
        data["replicates"] = replicates
    if steps is not None:
        data["steps"] = steps
    if overrides:
        extra = {}
        for text in overrides:
            try:
                keys, value = parse_override(text)
            except ScenarioError as err:
                raise ExperimentError(f"--set {text}: {err}") from None
            dotted = ".".join(keys)
            if dotted in (data.get("parameters") or {}):
                raise ExperimentError(f"--set {dotted}: {p} varies it in [parameters]; "
                                      "allowed: a field the experiment does not vary")
            extra[dotted] = value
        base_over = data.get("overrides") or {}
        if not isinstance(base_over, dict):
            raise ExperimentError(f"{p}: overrides must be a table; allowed: [overrides] section.field = value")
        data["overrides"] = {**base_over, **extra}
    exp = experiment_from_dict(data, base_dir=p.resolve().parent, where=str(p))
    exp.path = p
    return exp
