"""Governance regimes as data, plus the pilot features any regime can switch on.

A regime answers, as data, the questions the domain brief asks of each model:
who detects (channels), who handles each triage class and where it escalates (chains),
who approves, who pays (paid or volunteer committee members, dispatched staff, grants),
how much administrative work government pushes down, how strongly it intervenes.

Agents never branch on the regime's name. They ask the compiled :class:`Institutions`
(chains as arrays, resolution fit, delays) and the strategy objects below:

* :class:`FundingRule`      - whom the government counts when it funds a community;
* :class:`GridManagement`, :class:`NgoOutsourcing`, :class:`DeliberationCouncil`,
  :class:`ParticipatoryBudget` - pilot features; each rewrites the routing data
  (``adjust``) and says which actors to install.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

# Actor levels a case can sit at, from the household up. The first five are inside the
# community: a case resolved there without ever leaving counts as self-resolved.
LEVELS: tuple[str, ...] = ("residents", "grid", "ngo", "committee", "council", "street", "district")
RESIDENTS, GRID, NGO, COMMITTEE, COUNCIL, STREET, DISTRICT = range(len(LEVELS))
COMMUNITY_LEVELS = frozenset({RESIDENTS, GRID, NGO, COMMITTEE, COUNCIL})
GOVERNMENT_LEVELS = frozenset({GRID, STREET, DISTRICT})  # trust effects go to government

# The four triage classes of the grid-management texts.
CLASSES: tuple[str, ...] = ("general", "coordination", "emergency", "approval")
GENERAL, COORDINATION, EMERGENCY, APPROVAL = range(len(CLASSES))

LevelName = str


class RegimeData(BaseModel):
    """Everything that defines a regime. All regimes share this schema."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    label: str
    description: str
    chains: dict[str, tuple[LevelName, ...]]
    approval_levels: tuple[LevelName, ...]
    member_paid: bool
    member_hours_per_day: Annotated[float, Field(ge=0.0, le=12.0)]
    dispatched_staff_per_community: Annotated[float, Field(ge=0.0, le=100.0)]
    admin_pushdown: Annotated[float, Field(ge=0.0, le=1.0)]
    intervention_intensity: Annotated[float, Field(ge=0.0, le=1.0)]
    meeting_appeal: Annotated[float, Field(ge=-5.0, le=5.0)]
    meeting_interval_days: Annotated[int, Field(ge=1, le=365)]
    on_the_spot_per_attendee: Annotated[float, Field(ge=0.0, le=1.0)]
    volunteer_roles_per_building: Annotated[float, Field(ge=0.0, le=10.0)]
    online_channel: bool
    hotline: bool
    committee_visit_rate: Annotated[float, Field(ge=0.0, le=1.0)]
    ngo_support: Annotated[float, Field(ge=0.0, le=1.0)]
    ngo_grant_per_household: Annotated[float, Field(ge=0.0, le=10_000.0)]
    street_staff_per_10k: Annotated[float, Field(ge=0.0, le=200.0)]
    district_staff_per_10k: Annotated[float, Field(ge=0.0, le=200.0)]
    escalation_delay_days: Annotated[int, Field(ge=0, le=60)]

    @model_validator(mode="after")
    def _check(self) -> RegimeData:
        if set(self.chains) != set(CLASSES):
            raise ValueError(f"chains must name exactly the classes {', '.join(CLASSES)}")
        for cls, chain in self.chains.items():
            if not chain:
                raise ValueError(f"chains.{cls} is empty; allowed: one or more of {', '.join(LEVELS)}")
            bad = [lv for lv in chain if lv not in LEVELS]
            if bad:
                raise ValueError(f"chains.{cls} has unknown level {bad[0]!r}; allowed: {', '.join(LEVELS)}")
            if len(set(chain)) != len(chain):
                raise ValueError(f"chains.{cls} repeats a level")
        bad = [lv for lv in self.approval_levels if lv not in LEVELS]
        if bad:
            raise ValueError(f"approval_levels has unknown level {bad[0]!r}; allowed: {', '.join(LEVELS)}")
        return self


class RegimeSettings(BaseModel):
    """Scenario table ``[regime_settings]``: override any field of the chosen regime."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    chains: dict[str, tuple[LevelName, ...]] | None = None
    approval_levels: tuple[LevelName, ...] | None = None
    member_paid: bool | None = None
    member_hours_per_day: Annotated[float, Field(ge=0.0, le=12.0)] | None = None
    dispatched_staff_per_community: Annotated[float, Field(ge=0.0, le=100.0)] | None = None
    admin_pushdown: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    intervention_intensity: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    meeting_appeal: Annotated[float, Field(ge=-5.0, le=5.0)] | None = None
    meeting_interval_days: Annotated[int, Field(ge=1, le=365)] | None = None
    on_the_spot_per_attendee: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    volunteer_roles_per_building: Annotated[float, Field(ge=0.0, le=10.0)] | None = None
    online_channel: bool | None = None
    hotline: bool | None = None
    committee_visit_rate: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    ngo_support: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    ngo_grant_per_household: Annotated[float, Field(ge=0.0, le=10_000.0)] | None = None
    street_staff_per_10k: Annotated[float, Field(ge=0.0, le=200.0)] | None = None
    district_staff_per_10k: Annotated[float, Field(ge=0.0, le=200.0)] | None = None
    escalation_delay_days: Annotated[int, Field(ge=0, le=60)] | None = None

    def apply(self, base: RegimeData) -> RegimeData:
        changes = {k: v for k, v in self.model_dump(exclude_none=True).items()}
        if "chains" in changes:
            changes["chains"] = {**base.chains, **{k: tuple(v) for k, v in changes["chains"].items()}}
        return RegimeData.model_validate({**base.model_dump(), **changes})


# --------------------------------------------------------------------------- the regimes

REGIMES: dict[str, RegimeData] = {
    "self_governing": RegimeData(
        label="Self-governing (US-style)",
        description=(
            "An elected community committee decides local affairs; non-profit organisations "
            "deliver services with government grants; no government base organisation in the "
            "community; residents self-organise."
        ),
        chains={
            "general": ("residents", "committee", "ngo", "street"),
            "coordination": ("residents", "committee", "street", "district"),
            "emergency": ("district",),
            "approval": ("committee", "street", "district"),
        },
        approval_levels=("committee", "council", "street", "district"),
        member_paid=False,
        member_hours_per_day=3.0,
        dispatched_staff_per_community=0.0,
        admin_pushdown=0.15,
        intervention_intensity=0.1,
        meeting_appeal=0.6,
        meeting_interval_days=30,
        on_the_spot_per_attendee=0.02,
        volunteer_roles_per_building=1.5,
        online_channel=True,
        hotline=False,
        committee_visit_rate=0.2,
        ngo_support=1.0,
        ngo_grant_per_household=40.0,
        street_staff_per_10k=5.0,
        district_staff_per_10k=8.0,
        escalation_delay_days=2,
    ),
    "government_led": RegimeData(
        label="Government-led (Singapore-style)",
        description=(
            "Government agencies dispatched into the community decide and deliver top-down; "
            "strict hierarchy; the residents' committee carries a heavy administrative load; "
            "residents rarely initiate."
        ),
        chains={
            "general": ("committee", "street", "district"),
            "coordination": ("committee", "street", "district"),
            "emergency": ("district",),
            "approval": ("committee", "street", "district"),
        },
        approval_levels=("district",),
        member_paid=True,
        member_hours_per_day=2.0,
        dispatched_staff_per_community=4.0,
        admin_pushdown=1.0,
        intervention_intensity=0.9,
        meeting_appeal=-0.6,
        meeting_interval_days=30,
        on_the_spot_per_attendee=0.0,
        volunteer_roles_per_building=0.5,
        online_channel=False,
        hotline=True,
        committee_visit_rate=0.25,
        ngo_support=0.1,
        ngo_grant_per_household=0.0,
        street_staff_per_10k=15.0,
        district_staff_per_10k=20.0,
        escalation_delay_days=0,
    ),
    "hybrid": RegimeData(
        label="Hybrid (Japan-style)",
        description=(
            "Government plans, guides, funds and supervises; neighbourhood associations and "
            "NGOs decide and deliver under strict budget rules; residents file requests and a "
            "local centre convenes them and resolves on the spot."
        ),
        chains={
            "general": ("residents", "committee", "street"),
            "coordination": ("committee", "street", "district"),
            "emergency": ("district",),
            "approval": ("committee", "street", "district"),
        },
        approval_levels=("council", "street", "district"),
        member_paid=True,
        member_hours_per_day=2.0,
        dispatched_staff_per_community=1.0,
        admin_pushdown=0.5,
        intervention_intensity=0.45,
        meeting_appeal=0.1,
        meeting_interval_days=30,
        on_the_spot_per_attendee=0.05,
        volunteer_roles_per_building=1.0,
        online_channel=True,
        hotline=True,
        committee_visit_rate=0.25,
        ngo_support=0.6,
        ngo_grant_per_household=15.0,
        street_staff_per_10k=10.0,
        district_staff_per_10k=12.0,
        escalation_delay_days=1,
    ),
}


def regime_names() -> list[str]:
    return sorted(REGIMES)


# --------------------------------------------------------------------------- strategies

@dataclass(frozen=True)
class FundingRule:
    """Whom the government counts when it staffs and funds a community.

    ``registered``: locals and relocated ex-villagers (hukou holders) only;
    ``resident``: everyone who lives there, migrant renters included.
    """

    basis: str

    def counted(self, people: np.ndarray, registered_people: np.ndarray) -> np.ndarray:
        return registered_people if self.basis == "registered" else people


def operating_fund(households: np.ndarray, tiers) -> np.ndarray:
    """Yearly community operating fund by household tier (Wuhai rule by default)."""
    bounds = np.array([t.max_households for t in tiers], dtype=float)
    funds = np.array([t.fund for t in tiers], dtype=float)
    idx = np.searchsorted(bounds, np.asarray(households, dtype=float), side="left")
    return funds[np.minimum(idx, len(funds) - 1)]


def _insert(chain: tuple[str, ...], level: str, before: tuple[str, ...]) -> tuple[str, ...]:
    """Insert ``level`` before the first of ``before`` found in ``chain`` (or at the end)."""
    if level in chain:
        return chain
    for i, lv in enumerate(chain):
        if lv in before:
            return chain[:i] + (level,) + chain[i:]
    return chain + (level,)


class PilotFeature:
    """A pilot any regime can switch on: rewrites the regime's routing data."""

    name = "pilot"

    def adjust(self, regime: RegimeData) -> RegimeData:  # pragma: no cover - interface
        return regime


@dataclass(frozen=True)
class GridManagement(PilotFeature):
    """Grids with a manager, leader and police officer; four-class triage on site.

    general: the grid manager handles it on site (the grid is first in the chain);
    coordination: taken back to the community (the committee is first);
    emergency: reported up at once (the district is first and only);
    approval: left on the regime's approval chain (community accepts, then up).
    Grid screening (a detection channel) and the grid workers' pay are installed by the
    model when this pilot is on.
    """

    name = "grid_management"

    def adjust(self, regime: RegimeData) -> RegimeData:
        chains = dict(regime.chains)
        chains["general"] = ("grid",) + tuple(lv for lv in chains["general"] if lv not in ("grid", "residents"))
        chains["coordination"] = tuple(lv for lv in chains["coordination"] if lv not in ("grid", "residents"))
        chains["emergency"] = ("district",)
        return regime.model_copy(update={"chains": chains})


@dataclass(frozen=True)
class NgoOutsourcing(PilotFeature):
    """De-administration: a social-work organisation delivers services under contract."""

    name = "ngo_outsourcing"

    def adjust(self, regime: RegimeData) -> RegimeData:
        chains = dict(regime.chains)
        chains["general"] = _insert(chains["general"], "ngo", ("committee", "street", "district"))
        return regime.model_copy(update={"chains": chains, "ngo_support": max(regime.ngo_support, 0.8)})


@dataclass(frozen=True)
class DeliberationCouncil(PilotFeature):
    """A council of elected directors decides coordination and local approval cases."""

    name = "deliberation_council"

    def adjust(self, regime: RegimeData) -> RegimeData:
        chains = dict(regime.chains)
        for cls in ("coordination", "approval"):
            chains[cls] = _insert(chains[cls], "council", ("street", "district"))
        approval = tuple(dict.fromkeys((*regime.approval_levels, "council")))
        return regime.model_copy(update={"chains": chains, "approval_levels": approval})


@dataclass(frozen=True)
class ParticipatoryBudget(PilotFeature):
    """A yearly fund per community; residents vote on which projects it buys."""

    name = "participatory_budget"

    def adjust(self, regime: RegimeData) -> RegimeData:
        return regime


PILOTS = {
    "grid_management": GridManagement(),
    "ngo_outsourcing": NgoOutsourcing(),
    "deliberation_council": DeliberationCouncil(),
    "participatory_budget": ParticipatoryBudget(),
}

# --------------------------------------------------------------------------- compiled tables

# Probability that one day's work on a case of a class resolves it, by level (before the
# actor's own skill and load). Zero means the level cannot resolve that class and forwards it.
FIT = np.array(
    [
        # general coordination emergency approval
        [0.45, 0.30, 0.00, 0.00],  # residents (building heads, neighbours)
        [0.75, 0.35, 0.00, 0.00],  # grid manager
        [0.70, 0.30, 0.00, 0.00],  # NGO service centre
        [0.55, 0.50, 0.10, 0.45],  # residents' committee
        [0.25, 0.70, 0.00, 0.60],  # deliberative council
        [0.60, 0.55, 0.35, 0.60],  # street office
        [0.70, 0.65, 0.75, 0.80],  # district departments
    ]
)
HOURS_PER_CASE = np.array([1.0, 1.5, 2.5, 4.0, 0.5, 6.0, 10.0])
MIN_DAYS = np.array([0, 0, 1, 1, 0, 3, 5])
MAX_ATTEMPTS = np.array([3, 3, 4, 5, 2, 8, 10_000])
PATIENCE_DAYS = np.array([7, 5, 10, 14, 45, 30, 100_000])
PRIORITY = np.array([0, 0, 2, 0])  # emergencies are worked first


@dataclass
class Institutions:
    """A regime with its pilots applied, compiled into arrays the case engine reads."""

    name: str
    data: RegimeData
    pilots: tuple[str, ...]
    chains: np.ndarray = field(init=False)  # [class, position] -> level, -1 past the end
    chain_len: np.ndarray = field(init=False)
    fit: np.ndarray = field(init=False)  # [level, class]
    first_outside: np.ndarray = field(init=False)  # [class] -> chain position of first government level
    min_days: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        width = max(len(c) for c in self.data.chains.values())
        self.chains = np.full((len(CLASSES), width), -1, dtype=np.int8)
        self.chain_len = np.zeros(len(CLASSES), dtype=np.int8)
        for ci, cls in enumerate(CLASSES):
            chain = [LEVELS.index(lv) for lv in self.data.chains[cls]]
            self.chains[ci, : len(chain)] = chain
            self.chain_len[ci] = len(chain)
        # Where a hotline call enters each chain: the first street/district level (else the last).
        outside = (self.chains >= STREET) & (self.chains >= 0)
        last = self.chain_len.astype(np.int64) - 1
        self.first_outside = np.where(outside.any(axis=1), outside.argmax(axis=1), last).astype(np.int8)
        self.fit = FIT.copy()
        approvers = {LEVELS.index(lv) for lv in self.data.approval_levels}
        for lv in range(len(LEVELS)):
            if lv not in approvers:
                self.fit[lv, APPROVAL] = 0.0
        self.min_days = MIN_DAYS.copy()
        self.min_days[STREET:] += self.data.escalation_delay_days

    def has(self, pilot: str) -> bool:
        return pilot in self.pilots

    def uses(self, level: int) -> bool:
        return bool((self.chains == level).any())

    def describe(self) -> str:
        lines = [f"{self.data.label} [{self.name}]" + (f" + {', '.join(self.pilots)}" if self.pilots else "")]
        for cls in CLASSES:
            lines.append(f"  {cls:<12} -> {' > '.join(self.data.chains[cls])}")
        return "\n".join(lines)


def compile_institutions(regime: str, settings: RegimeSettings | None, pilots: dict[str, bool]) -> Institutions:
    """Base regime data -> scenario overrides -> pilot features -> arrays."""
    if regime not in REGIMES:
        raise ValueError(f"unknown regime {regime!r}; allowed: {', '.join(regime_names())}")
    data = REGIMES[regime]
    if settings is not None:
        data = settings.apply(data)
    active = tuple(name for name, on in pilots.items() if on and name in PILOTS)
    for name in active:
        data = PILOTS[name].adjust(data)
    return Institutions(name=regime, data=replace_data(data), pilots=active)


def replace_data(data: RegimeData) -> RegimeData:
    return RegimeData.model_validate(data.model_dump())


__all__ = [
    "LEVELS",
    "CLASSES",
    "REGIMES",
    "RegimeData",
    "RegimeSettings",
    "Institutions",
    "FundingRule",
    "operating_fund",
    "compile_institutions",
    "regime_names",
    "PILOTS",
]
