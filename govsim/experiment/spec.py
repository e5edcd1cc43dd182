"""Experiment files: TOML, validated on load with one-line errors naming the field.

Example (``experiments/compare_regimes.toml``)::

    name = "compare_regimes"
    scenario = "../scenarios/hybrid.toml"     # relative to this file
    regimes = ["self_governing", "hybrid", "government_led"]
    replicates = 30
    steps = 365
    seed = 20261123
    design = "grid"                           # grid | lhs | sobol | morris
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from govsim.metrics import SUMMARY_METRICS
from govsim.regimes import REGIMES
from govsim.scenario import (
    ScenarioError,
    _format_error,
    _tuplify,
    apply_overrides,
    load_base_scenario,
    read_toml,
    scenario_from_dict,
)


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
    design: Literal["grid", "lhs", "sobol", "morris"] = "grid"
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

    @model_validator(mode="after")
    def _check(self) -> ExperimentSpec:
        bad = [r for r in self.regimes if r not in REGIMES]
        if bad:
            raise ValueError(f"regimes: unknown regime {bad[0]!r}; allowed: {', '.join(sorted(REGIMES))}")
        if len(set(self.regimes)) != len(self.regimes):
            raise ValueError("regimes: a regime is listed twice")
        unknown = [m for m in self.metrics if m not in SUMMARY_METRICS]
        if unknown:
            raise ValueError(
                f"metrics: unknown metric {unknown[0]!r}; allowed: {', '.join(SUMMARY_METRICS)}"
            )
        for key, values in self.parameters.items():
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
        """Hash of everything that determines the runs (spec + base scenario)."""
        blob = json.dumps({"spec": self.spec.model_dump(mode="json"), "base": self.base},
                          sort_keys=True, default=str)
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
        scenario_from_dict({**exp.base, "regime": regime}, where=where)


def experiment_from_dict(data: dict[str, Any], *, base_dir: Path | None = None, where: str = "") -> Experiment:
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
    return exp


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


def load_experiment(path: str | Path) -> Experiment:
    """Load and validate an experiment TOML file (its scenario path is relative to it)."""
    p = Path(path)
    try:
        data = read_toml(p)
    except ScenarioError as err:
        raise ExperimentError(str(err)) from None
    exp = experiment_from_dict(data, base_dir=p.resolve().parent, where=str(p))
    exp.path = p
    return exp
