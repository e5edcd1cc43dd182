"""Scenarios: validated parameter sets loaded from TOML.

A scenario file is plain TOML (see ``scenarios/``). Every table maps onto a frozen
pydantic section below; unknown keys, wrong types and out-of-range values are rejected
with a one-line :class:`ScenarioError` naming the field and the allowed range.

The validated tree is wrapped in :class:`GovernanceScenario`, a subclass of Mesa's
``Scenario`` (``mesa.experimental.scenarios``), so the model is built the Mesa 3.5 way:
``GovernanceModel(scenario=load_scenario("scenarios/hybrid.toml"))``.

Defaults are realistic values from the field reports quoted in the domain brief
(``docs/ODD.md`` lists each one with its source).
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from annotated_types import Ge, Gt, Le, Lt
from mesa.experimental.scenarios import Scenario
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from govsim.regimes import REGIMES, RegimeSettings
from govsim.timeline import TimelineEvent

__all__ = [
    "ScenarioError",
    "ScenarioSpec",
    "GovernanceScenario",
    "load_scenario",
    "scenario_from_dict",
    "apply_overrides",
    "parse_override",
]


class ScenarioError(ValueError):
    """A scenario (or override) is invalid. The message is one line naming the field."""


Prob = Annotated[float, Field(ge=0.0, le=1.0)]
NonNeg = Annotated[float, Field(ge=0.0)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class CommunitySpec(Section):
    """One community, when communities are listed one by one (``[[communities]]``)."""

    name: str = ""
    households: Annotated[int, Field(ge=10, le=100_000)] = 1412
    people: Annotated[int, Field(ge=10, le=500_000)] | None = None
    migrant_share: Prob | None = None
    relocated_share: Prob | None = None
    elderly_share: Prob | None = None
    low_income_share: Prob | None = None

    @model_validator(mode="after")
    def _check(self) -> CommunitySpec:
        if self.people is not None and self.people < self.households:
            raise ValueError(
                f"people = {self.people} is fewer than households = {self.households}; "
                "allowed: people >= households"
            )
        return self


class PopulationParams(Section):
    """Residents and households. Defaults: the field report's 1,412-household community."""

    communities: Annotated[int, Field(ge=1, le=2_000)] = 1
    households: Annotated[int, Field(ge=10, le=5_000_000)] = 1412
    people: Annotated[int, Field(ge=10, le=20_000_000)] | None = None
    household_size: Annotated[float, Field(ge=1.0, le=8.0)] = 2.9
    size_variation: Annotated[float, Field(ge=0.0, le=0.9)] = 0.25
    migrant_share: Prob = 0.14
    relocated_share: Prob = 0.0
    elderly_share: Prob = 0.18
    youth_share: Prob = 0.15
    party_share: Prob = 0.07
    low_income_share: Prob = 0.078
    tenure_clustering: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5

    @model_validator(mode="after")
    def _check(self) -> PopulationParams:
        if self.migrant_share + self.relocated_share > 1.0:
            raise ValueError(
                f"migrant_share + relocated_share = {self.migrant_share + self.relocated_share:g}; "
                "allowed: at most 1"
            )
        if self.elderly_share + self.youth_share > 1.0:
            raise ValueError("elderly_share + youth_share exceeds 1; allowed: at most 1")
        if self.people is not None and self.people < self.households:
            raise ValueError("people is fewer than households; allowed: people >= households")
        return self


class NetworkParams(Section):
    """Four-level neighbourhood structure and tie formation."""

    households_per_building: Annotated[int, Field(ge=4, le=200)] = 30
    buildings_per_courtyard: Annotated[int, Field(ge=1, le=20)] = 3
    courtyards_per_subarea: Annotated[int, Field(ge=1, le=20)] = 4
    ties_building: Annotated[float, Field(ge=0.0, le=20.0)] = 2.0
    ties_courtyard: Annotated[float, Field(ge=0.0, le=20.0)] = 1.0
    ties_subarea: Annotated[float, Field(ge=0.0, le=20.0)] = 0.5
    ties_community: Annotated[float, Field(ge=0.0, le=20.0)] = 0.3
    homophily: Prob = 0.5


class CaseParams(Section):
    """Arrival, detection and grievance of needs and neighbour disputes."""

    need_rate: Annotated[float, Field(ge=0.0, le=50.0)] = 0.35
    dispute_rate: Annotated[float, Field(ge=0.0, le=10.0)] = 0.04
    general_share: Prob = 0.60
    coordination_share: Prob = 0.25
    emergency_share: Prob = 0.04
    approval_share: Prob = 0.11
    report_base: Annotated[float, Field(ge=-10.0, le=10.0)] = -2.2
    online_report_base: Annotated[float, Field(ge=-10.0, le=10.0)] = -3.5
    hotline_report_base: Annotated[float, Field(ge=-10.0, le=10.0)] = -3.0
    lapse_rate: Prob = 0.01
    abandon_rate: Prob = 0.003
    fester_days: Annotated[float, Field(gt=0.0, le=10_000.0)] = 60.0
    grievance_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.03
    grievance_decay: Prob = 0.02
    grievance_threshold: Annotated[float, Field(gt=0.0, le=100.0)] = 1.0
    incident_cluster: Annotated[int, Field(ge=2, le=1000)] = 6
    incident_cost: NonNeg = 50_000.0

    @model_validator(mode="after")
    def _check(self) -> CaseParams:
        total = (
            self.general_share + self.coordination_share + self.emergency_share + self.approval_share
        )
        if abs(total - 1.0) > 1e-6:
            raise ValueError(
                f"general_share + coordination_share + emergency_share + approval_share = {total:g}; "
                "allowed: they sum to 1"
            )
        return self


class BehaviourParams(Section):
    """Participation choice (logit weights), social influence and volunteer churn."""

    attend_base: Annotated[float, Field(ge=-10.0, le=10.0)] = -2.6
    online_base: Annotated[float, Field(ge=-15.0, le=5.0)] = -6.0
    volunteer_base: Annotated[float, Field(ge=-10.0, le=10.0)] = -1.0
    trust_weight: Annotated[float, Field(ge=0.0, le=10.0)] = 1.5
    efficacy_weight: Annotated[float, Field(ge=0.0, le=10.0)] = 1.5
    belonging_weight: Annotated[float, Field(ge=0.0, le=10.0)] = 1.2
    social_weight: Annotated[float, Field(ge=0.0, le=10.0)] = 1.5
    threshold_bonus: Annotated[float, Field(ge=0.0, le=10.0)] = 0.6
    time_weight: Annotated[float, Field(ge=0.0, le=10.0)] = 1.0
    time_cost_weight: Annotated[float, Field(ge=0.0, le=10.0)] = 0.4
    dependency_weight: Annotated[float, Field(ge=0.0, le=10.0)] = 1.5
    party_bonus: Annotated[float, Field(ge=0.0, le=5.0)] = 0.7
    learning_rate: Prob = 0.15
    attitude_memory_days: Annotated[float, Field(ge=1.0, le=10_000.0)] = 180.0
    volunteer_quit_rate: Annotated[float, Field(ge=0.0, le=20.0)] = 0.5
    volunteer_hours_per_day: Annotated[float, Field(ge=0.0, le=12.0)] = 0.5
    recruit_interval_days: Annotated[int, Field(ge=1, le=365)] = 30
    meeting_hours: Annotated[float, Field(ge=0.0, le=12.0)] = 2.0
    hour_value: NonNeg = 20.0
    initial_dependency: Prob = 0.3


class CommitteeParams(Section):
    """Residents' committee, deliberative council, owners' committees."""

    households_per_member: Annotated[int, Field(ge=50, le=2_000)] = 250
    min_members: Annotated[int, Field(ge=1, le=50)] = 3
    max_members: Annotated[int, Field(ge=1, le=50)] = 9
    mediation_skill: Prob = 0.6
    council_members: Annotated[int, Field(ge=3, le=200)] = 15
    council_interval_days: Annotated[int, Field(ge=1, le=365)] = 30
    extra_meeting_share: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0 / 3.0
    council_cases_per_meeting: Annotated[int, Field(ge=0, le=1000)] = 12
    owners_committees: bool = False

    @model_validator(mode="after")
    def _check(self) -> CommitteeParams:
        if self.min_members > self.max_members:
            raise ValueError("min_members exceeds max_members; allowed: min_members <= max_members")
        return self


class FundTier(Section):
    max_households: Annotated[float, Field(gt=0.0)]
    fund: NonNeg


# Wuhai rule (field report): under 1,000 households at least 10k yuan/yr; 1,000-2,000 at least
# 30k; over 2,000 at least 40k. A tier covers communities with households <= max_households.
WUHAI_TIERS = (
    FundTier(max_households=999.0, fund=10_000.0),
    FundTier(max_households=2000.0, fund=30_000.0),
    FundTier(max_households=math.inf, fund=40_000.0),
)


class GovernmentParams(Section):
    """Street office and district departments: staff, funding rule, task push-down."""

    funding_rule: Literal["registered", "resident"] = "registered"
    people_per_worker: Annotated[float, Field(ge=50.0, le=100_000.0)] = 957.0
    assistants_per_10k: Annotated[float, Field(ge=0.0, le=1_000.0)] = 7.2
    operating_fund_tiers: tuple[FundTier, ...] = WUHAI_TIERS
    task_types: Annotated[int, Field(ge=0, le=1_000)] = 120
    admin_hours_per_task_type: Annotated[float, Field(ge=0.0, le=10.0)] = 0.33
    power_and_money_follow_task: bool = False
    worker_wage_per_day: NonNeg = 200.0
    grid_wage_per_day: NonNeg = 180.0
    street_wage_per_day: NonNeg = 260.0
    communities_per_street: Annotated[int, Field(ge=1, le=1_000)] = 9
    street_case_cost: NonNeg = 150.0
    district_case_cost: NonNeg = 400.0

    @model_validator(mode="after")
    def _check(self) -> GovernmentParams:
        if not self.operating_fund_tiers:
            raise ValueError("operating_fund_tiers is empty; allowed: at least one tier")
        bounds = [t.max_households for t in self.operating_fund_tiers]
        if bounds != sorted(bounds):
            raise ValueError("operating_fund_tiers max_households must increase; allowed: ascending tiers")
        return self


class NgoParams(Section):
    """Social organisations: initial stock, size, quality, incubation, money."""

    initial_per_community: Annotated[float, Field(ge=0.0, le=100.0)] = 0.5
    initial_staff: Annotated[float, Field(ge=0.0, le=200.0)] = 2.0
    quality: Prob = 0.65
    incubation_per_year: Annotated[float, Field(ge=0.0, le=50.0)] = 1.0
    donations_per_year: NonNeg = 20_000.0
    wage_per_day: NonNeg = 170.0
    case_time_share: Prob = 0.5
    activity_interval_days: Annotated[int, Field(ge=1, le=365)] = 14
    activity_appeal: Annotated[float, Field(ge=-5.0, le=5.0)] = 0.0
    supervision_share: Prob = 0.1


class PilotParams(Section):
    """Pilot features any regime can switch on (see ``govsim/regimes.py``)."""

    grid_management: bool = False
    households_per_grid: Annotated[int, Field(ge=50, le=5_000)] = 364
    grid_screening: Prob = 0.15
    grid_staff_per_grid: Annotated[float, Field(ge=1.0, le=20.0)] = 3.0
    ngo_outsourcing: bool = False
    outsourced_task_share: Prob = 0.9
    contract_share: Annotated[float, Field(ge=0.0, le=0.9)] = 0.2
    deliberation_council: bool = False
    participatory_budget: bool = False
    party_co_governance: bool = False
    budget_per_household: NonNeg = 100.0
    budget_project_cost: Annotated[float, Field(gt=0.0)] = 30_000.0


def _institution_params() -> type[Section]:
    """``[institutions.<name>]`` tables: each institution's own settings model."""
    from pydantic import create_model

    from govsim.institutions import INSTITUTIONS

    fields = {name: (cls.Settings | None, None) for name, cls in sorted(INSTITUTIONS.items())
              if cls.Settings.model_fields}
    model = create_model("InstitutionParams", __base__=Section, **fields)
    model.__doc__ = "Settings of the institutions (each a table named after it; see govsim/institutions/)."
    return model


InstitutionParams = _institution_params()


class ScenarioSpec(Section):
    """The whole validated scenario (the TOML file's tree)."""

    name: str = "scenario"
    description: str = ""
    regime: str = "hybrid"
    steps: Annotated[int, Field(ge=1, le=36_500)] = 365
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    population: PopulationParams = PopulationParams()
    communities: tuple[CommunitySpec, ...] = ()
    network: NetworkParams = NetworkParams()
    cases: CaseParams = CaseParams()
    behaviour: BehaviourParams = BehaviourParams()
    committees: CommitteeParams = CommitteeParams()
    government: GovernmentParams = GovernmentParams()
    ngos: NgoParams = NgoParams()
    pilots: PilotParams = PilotParams()
    institutions: InstitutionParams = InstitutionParams()
    regime_settings: RegimeSettings = RegimeSettings()
    timeline: tuple[TimelineEvent, ...] = ()  # [[timeline]] events (govsim/timeline.py)

    @model_validator(mode="after")
    def _check(self) -> ScenarioSpec:
        if self.regime not in REGIMES:
            allowed = ", ".join(sorted(REGIMES))
            raise ValueError(f"unknown regime {self.regime!r}; allowed: {allowed}")
        try:  # the regime's data with these settings must itself be valid
            self.regime_settings.apply(REGIMES[self.regime])
        except ValidationError as err:
            from govsim.regimes import RegimeData

            msg = _format_error(err, RegimeData, "")
            raise ValueError(f"regime_settings: {msg}") from None
        if self.timeline:
            from govsim.timeline import check_event

            base = self.model_dump(exclude_unset=True, exclude={"timeline"})
            for i, ev in enumerate(self.timeline):
                check_event(i, ev, base, self.steps, _validate_message)
        return self


SECTIONS = tuple(
    name for name in ScenarioSpec.model_fields
    if name not in ("name", "description", "regime", "steps", "seed", "timeline")
)


def _validate_message(data: dict[str, Any]) -> str | None:
    """A scenario dict's first validation error as one line (None if valid)."""
    try:
        ScenarioSpec.model_validate(_tuplify(data))
    except ValidationError as err:
        return _format_error(err, ScenarioSpec, "")
    except ValueError as err:
        return str(err)
    return None


class GovernanceScenario(Scenario):
    """Mesa Scenario carrying a validated :class:`ScenarioSpec`.

    Sections are attributes (``scenario.population.households``), the seed is ``rng``.
    """

    name: str = "scenario"
    description: str = ""
    regime: str = "hybrid"
    steps: int = 365
    seed: int = 0
    spec: ScenarioSpec = ScenarioSpec()

    def __init__(self, spec: ScenarioSpec | None = None, *, rng: Any = None, **kwargs: Any):
        spec = spec if spec is not None else ScenarioSpec()
        fields = {name: getattr(spec, name) for name in ScenarioSpec.model_fields}
        seed = spec.seed if rng is None else rng
        super().__init__(rng=seed, spec=spec, **fields, **kwargs)

    @property
    def source(self) -> str:
        return self.__dict__.get("_source", "")

    def with_seed(self, seed: int) -> GovernanceScenario:
        return GovernanceScenario(self.spec.model_copy(update={"seed": int(seed)}))

    def to_dict(self) -> dict[str, Any]:  # plain, JSON/TOML-friendly
        return self.spec.model_dump(mode="json")


# --------------------------------------------------------------------------- errors

def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def constraint_bounds(meta: list[Any]) -> tuple[Any, bool, Any, bool]:
    """(low, low is open, high, high is open) from annotated-types Ge/Gt/Le/Lt metadata."""
    lo = hi = None
    lo_open = hi_open = False
    for m in meta:
        if isinstance(m, Ge):
            lo = m.ge
        elif isinstance(m, Gt):
            lo, lo_open = m.gt, True
        elif isinstance(m, Le):
            hi = m.le
        elif isinstance(m, Lt):
            hi, hi_open = m.lt, True
    return lo, lo_open, hi, hi_open


def _constraint_text(meta: list[Any]) -> str:
    lo, lo_open, hi, hi_open = constraint_bounds(meta)
    if lo is None and hi is None:
        return ""
    if hi is None:
        return f"{'>' if lo_open else '>='} {_num(lo)}"
    if lo is None:
        return f"{'<' if hi_open else '<='} {_num(hi)}"
    return f"{'(' if lo_open else '['}{_num(lo)}, {_num(hi)}{')' if hi_open else ']'}"


def _type_text(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) or str(annotation)
    text = str(annotation) if "[" in str(annotation) else text
    return (
        text.replace("typing.", "")
        .replace("Annotated[", "")
        .replace("govsim.scenario.", "")
        .replace("govsim.regimes.", "")
    )


def _field_info(model: type[BaseModel], loc: tuple[Any, ...]):
    """Walk ``loc`` through nested models; return the FieldInfo of the last named field."""
    info = None
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return info
        info = fields[part]
        ann = info.annotation
        args = getattr(ann, "__args__", ())
        nested = [a for a in (ann, *args) if isinstance(a, type) and issubclass(a, BaseModel)]
        current = nested[0] if nested else None
    return info


def _unwrap(ann: Any) -> tuple[Any, list[Any]]:
    """Strip Optional[...] and Annotated[...]; return the base type and its constraints."""
    meta: list[Any] = []
    args = getattr(ann, "__args__", ())
    if args and type(None) in args and getattr(ann, "__origin__", None) is not Literal:
        ann = next(a for a in args if a is not type(None))
    for m in getattr(ann, "__metadata__", ()):
        meta.extend(getattr(m, "metadata", [m]))
    ann = getattr(ann, "__origin__", ann) if hasattr(ann, "__metadata__") else ann
    return ann, meta


def _allowed(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    info = _field_info(model, loc)
    if info is None:
        return ""
    base, meta = _unwrap(info.annotation)
    args = getattr(base, "__args__", ())
    if getattr(base, "__origin__", None) is Literal or (args and all(isinstance(a, str) for a in args)):
        return "one of " + ", ".join(repr(a) for a in args)
    rng = _constraint_text(list(info.metadata) + meta)
    kind = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(base)
    if kind is None:
        kind = _type_text(base)
    return f"{kind} in {rng}" if rng.startswith(("[", "(")) else f"{kind} {rng}".strip()


def _format_error(err: ValidationError, model: type[BaseModel], where: str) -> str:
    errors = err.errors()
    # Of a union's alternatives, the one that says what is wrong with the value wins.
    e = next((x for x in errors if x.get("type") == "value_error"), errors[0])
    # Drop union-branch tags pydantic puts in the path (e.g. "tuple[any, ...]", "ParamRange").
    loc = tuple(p for p in e.get("loc", ()) if not (isinstance(p, str) and ("[" in p or p[:1].isupper())))
    path = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[")
    etype = e.get("type", "")
    value = e.get("input")
    prefix = f"{where}: " if where else ""
    if etype == "extra_forbidden":
        parent = loc[:-1]
        info = _field_info(model, parent) if parent else None
        sub = model
        if info is not None:
            ann = info.annotation
            args = getattr(ann, "__args__", ())
            cands = [a for a in (ann, *args) if isinstance(a, type) and issubclass(a, BaseModel)]
            sub = cands[0] if cands else model
        keys = ", ".join(k for k in sub.model_fields)
        return f"{prefix}unknown field '{path}'; allowed fields here: {keys}"
    if etype == "value_error":
        msg = str(e.get("msg", "")).removeprefix("Value error, ")
        return f"{prefix}{path + ': ' if path else ''}{msg}"
    allowed = _allowed(model, loc)
    shown = repr(value) if not isinstance(value, dict) else "a table"
    if etype == "missing":
        return f"{prefix}missing field '{path}'; allowed: {allowed or 'see docs'}"
    return f"{prefix}{path} = {shown} is invalid; allowed: {allowed or e.get('msg', '')}"


# --------------------------------------------------------------------------- loading

def field_is_integer(dotted: str) -> bool:
    """Whether the scenario field at ``section.field`` holds an integer."""
    info = _field_info(ScenarioSpec, tuple(dotted.split(".")))
    if info is None:
        return False
    base, _ = _unwrap(info.annotation)
    return base is int


def resolve_scenario_path(scenario: str, base_dir: Path | None) -> Path:
    """Where an experiment's or calibration's ``scenario`` is: relative to that file; failing
    that (a file copied elsewhere), relative to the working directory, then the shipped
    ``scenarios/`` folder by file name. The first candidate is returned when none exists."""
    path = Path(scenario)
    if path.is_absolute() or base_dir is None:
        return path
    candidates = [base_dir / path, Path.cwd() / path]
    if "scenarios" in path.parts[:-1]:
        candidates.append(Path(__file__).resolve().parent.parent / "scenarios" / path.name)
    return next((c for c in candidates if c.is_file()), candidates[0])


def load_base_scenario(scenario: str, base_dir: Path | None, overrides: dict[str, Any] | None,
                       steps: int | None, where: str) -> dict[str, Any]:
    """The scenario an experiment or calibration file builds on: its TOML (path relative to
    the file), with fixed overrides and steps applied, validated. Returns the raw dict."""
    path = resolve_scenario_path(scenario, base_dir)
    try:
        base = read_toml(path)
    except ScenarioError as err:
        raise ScenarioError(f"{where}: scenario: {err}") from None
    if overrides:
        base = apply_overrides(base, dict(overrides))
    if steps is not None:
        base["steps"] = steps
    scenario_from_dict(base, where=f"{where}: overrides")
    return base


def cross_check(spec: ScenarioSpec, where: str = "") -> None:
    """Checks across fields that the sections cannot make alone (one-line errors)."""
    prefix = f"{where}: " if where else ""
    pop, pilots = spec.population, spec.pilots
    declared = "communities" in pop.model_fields_set
    if spec.communities:
        if declared and pop.communities != len(spec.communities):
            raise ScenarioError(
                f"{prefix}population.communities = {pop.communities} but {len(spec.communities)} "
                f"[[communities]] are listed; allowed: {len(spec.communities)} or leave it out"
            )
        sizes = [c.households for c in spec.communities]
        for i, c in enumerate(spec.communities):
            if (c.migrant_share or 0.0) + (c.relocated_share or 0.0) > 1.0:
                raise ScenarioError(
                    f"{prefix}communities[{i}]: migrant_share + relocated_share exceeds 1; allowed: at most 1"
                )
    else:
        k = pop.communities
        if pop.households < 10 * k:
            raise ScenarioError(
                f"{prefix}population.communities = {k} for {pop.households} households; "
                f"allowed: at most {pop.households // 10} (each community needs 10 households)"
            )
        # Unequal sizes are drawn at random (Dirichlet) and every community is then lifted to 10
        # households at the expense of the largest: with too few households per community that
        # leaves the largest below 10. Rule (measured, with a margin of 3 or more over the
        # smallest size that never failed in thousands of draws): on average at least
        # 10 + 40 x size_variation x (1 + log10 communities) households per community.
        if k > 1 and pop.size_variation > 0:
            need = math.ceil(k * (10 + 40 * pop.size_variation * (1 + math.log10(k))))
            if pop.households < need:
                raise ScenarioError(
                    f"{prefix}population.communities = {k} for {pop.households} households with "
                    f"size_variation = {_num(pop.size_variation)}; allowed: at least {need} households "
                    "(room for random community sizes), size_variation = 0, or the communities listed "
                    "in [[communities]]"
                )
        if pop.people is not None and pop.people < pop.households:
            raise ScenarioError(f"{prefix}population.people is fewer than households; allowed: people >= households")
        sizes = [pop.households // pop.communities] * pop.communities
    smallest = min(sizes)
    grids = math.ceil(smallest / pilots.households_per_grid)
    if grids * pilots.grid_staff_per_grid > smallest:
        raise ScenarioError(
            f"{prefix}pilots.grid_staff_per_grid = {_num(pilots.grid_staff_per_grid)} gives "
            f"{_num(grids * pilots.grid_staff_per_grid)} grid staff for a community of {smallest} households; "
            f"allowed: at most {_num(smallest / grids)} staff per grid here (one per household)"
        )


def scenario_from_dict(data: dict[str, Any], *, where: str = "") -> GovernanceScenario:
    """Validate a plain dict (e.g. parsed TOML) and wrap it as a GovernanceScenario."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}: a scenario must be a TOML table")
    check_finite(data, where)
    try:
        spec = ScenarioSpec.model_validate(_tuplify(data))
    except ValidationError as err:
        raise ScenarioError(_format_error(err, ScenarioSpec, where)) from None
    cross_check(spec, where)
    sc = GovernanceScenario(spec)
    sc.__dict__["_source"] = where
    return sc


def _tuplify(obj: Any) -> Any:
    """TOML arrays arrive as lists; the frozen sections store tuples."""
    if isinstance(obj, dict):
        return {k: _tuplify(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return tuple(_tuplify(v) for v in obj)
    return obj


def parse_override(text: str) -> tuple[list[str], Any]:
    """Parse ``section.field=value`` (value in TOML syntax; bare words are strings)."""
    if "=" not in text:
        raise ScenarioError(f"override {text!r} must look like section.field=value")
    key, raw = text.split("=", 1)
    path = [p for p in key.strip().split(".") if p]
    if not path:
        raise ScenarioError(f"override {text!r} has an empty field name")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        if raw[:1] in "\"'[{" or any(c in raw for c in "\"'=\n\r"):
            raise ScenarioError(
                f"override {key.strip()}: value {raw!r} is not a valid TOML value "
                "(unterminated quote or bracket?); allowed: a TOML value or a bare word"
            ) from None
        value = raw
    check_finite(value, "", f"override {'.'.join(path)}")
    return path, value


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any] | list[str]) -> dict[str, Any]:
    """Return a copy of ``data`` with dotted-key overrides applied."""
    import copy

    out = copy.deepcopy(data)
    items = (
        [parse_override(o) for o in overrides]
        if isinstance(overrides, list)
        else [(k.split("."), v) for k, v in overrides.items()]
    )
    for path, value in items:
        node = out
        for part in path[:-1]:
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                raise ScenarioError(f"override {'.'.join(path)}: '{part}' is not a table")
            node = nxt
        node[path[-1]] = value
    return out


def read_text(path: str | Path, what: str = "TOML file") -> str:
    """A file's text, decoded as UTF-8; a missing file or bad bytes are one-line errors."""
    p = Path(path)
    if not p.exists():
        raise ScenarioError(f"{p}: file not found")
    if p.is_dir():
        raise ScenarioError(f"{p}: is a directory, expected a {what}")
    try:
        raw = p.read_bytes()
    except OSError as err:
        raise ScenarioError(f"{p}: cannot be read ({err.strerror})") from None
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        col = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        raise ScenarioError(
            f"{p}: byte 0x{raw[err.start]:02x} at line {line}, column {col} is not UTF-8; "
            "allowed: a UTF-8 text file"
        ) from None


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file (UTF-8); every number in it must be finite."""
    p = Path(path)
    text = read_text(p, "a .toml scenario file")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        msg = " ".join(str(err).split())
        raise ScenarioError(f"{p}: malformed TOML: {msg}") from None
    check_finite(data, str(p))
    return data


# Where ``inf`` is a meaningful value (the open upper end of the last funding tier).
_INF_ALLOWED = ("government.operating_fund_tiers.max_households",)


def check_finite(data: Any, where: str = "", path: str = "") -> None:
    """Reject NaN and infinite numbers anywhere in parsed input (one line naming the field)."""
    if isinstance(data, dict):
        for k, v in data.items():
            check_finite(v, where, f"{path}.{k}" if path else str(k))
    elif isinstance(data, list | tuple):
        for i, v in enumerate(data):
            check_finite(v, where, f"{path}[{i}]")
    elif isinstance(data, float) and not math.isfinite(data):
        generic = "".join(c for c in path if not c.isdigit()).replace("[]", "")
        if math.isinf(data) and data > 0 and generic.endswith(_INF_ALLOWED):
            return
        prefix = f"{where}: " if where else ""
        raise ScenarioError(f"{prefix}{path or 'value'} = {data} is invalid; allowed: a finite number")


def load_scenario(
    path: str | Path, overrides: dict[str, Any] | list[str] | None = None, **top: Any
) -> GovernanceScenario:
    """Load and validate a scenario TOML file.

    ``overrides`` are dotted keys (``{"pilots.grid_management": True}`` or
    ``["cases.need_rate=0.5"]``); ``top`` sets top-level keys such as ``seed`` or ``steps``.
    """
    data = read_toml(path)
    if overrides:
        data = apply_overrides(data, overrides)
    data.update({k: v for k, v in top.items() if v is not None})
    return scenario_from_dict(data, where=str(path))


def default_scenario_path() -> Path:
    """The scenario ``govsim run`` uses without an argument."""
    here = Path(__file__).resolve().parent
    for cand in (here.parent / "scenarios" / "hybrid.toml", here / "data" / "hybrid.toml"):
        if cand.exists():
            return cand
    raise ScenarioError("default scenario hybrid.toml not found")
