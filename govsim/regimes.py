"""Governance regimes as data: which institutions a regime installs, and their settings.

A regime answers, as data, the questions the domain brief asks of each model (section 1):
who decides and who delivers (the institutions it installs, see :mod:`govsim.institutions`),
who handles each triage class and where it escalates (chains), who pays and staffs
(committee members paid or volunteer, government staff), how much administrative work
government pushes down.

A regime holds **no behavioural constants**: residents' disposition weights, the appeal of
activities and the chance of resolving a case on the spot are the same under every regime
(scenario ``[behaviour]``, and the constants of the institutions). Differences between
regimes come from the institutions each installs: who decides, who pays, who staffs, who
answers to whom. ``tests/test_institutions.py`` equalises what is left and checks that the
regimes still differ.

The model never branches on a regime's or an institution's name: it calls the hooks of
the installed institution objects (:class:`govsim.institutions.base.Institution`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

# Actor levels a case can sit at. A case resolved without ever reaching a level outside the
# community counts as self-resolved.
LEVELS: tuple[str, ...] = (
    "residents", "grid", "ngo", "committee", "council", "centre", "company", "agency", "street", "district",
)
RESIDENTS, GRID, NGO, COMMITTEE, COUNCIL, CENTRE, COMPANY, AGENCY, STREET, DISTRICT = range(len(LEVELS))
# Dispatched agencies are government bodies placed in the community: a case they resolve was
# resolved by government, not by the community itself.
OUTSIDE = np.zeros(len(LEVELS), dtype=bool)
OUTSIDE[[AGENCY, STREET, DISTRICT]] = True
COMMUNITY_LEVELS = frozenset(i for i in range(len(LEVELS)) if not OUTSIDE[i])
GOVERNMENT_LEVELS = frozenset({GRID, AGENCY, STREET, DISTRICT})  # trust effects go to government
IS_GOVERNMENT = np.isin(np.arange(len(LEVELS)), sorted(GOVERNMENT_LEVELS))

# The four triage classes of the grid-management texts.
CLASSES: tuple[str, ...] = ("general", "coordination", "emergency", "approval")
GENERAL, COORDINATION, EMERGENCY, APPROVAL = range(len(CLASSES))

LevelName = str


class RegimeData(BaseModel):
    """Everything that defines a regime. All regimes share this schema.

    ``chains`` lists, per triage class, the levels of the core actors (residents, committee,
    street, district) a case passes through; each institution that staffs a level of its own
    (company, NGO, centre, agency, grid, council) puts it into the chains when installed
    (``adjust_routing``), so removing an institution removes its level. For the
    ``approval`` class the chain is a **sign-off sequence**: every level must sign off in
    turn and only the last one's sign-off resolves the case.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    label: str
    label_zh: str = ""
    description: str
    chains: dict[str, tuple[LevelName, ...]]
    institutions: tuple[str, ...]
    settings: dict[str, dict[str, Any]] = {}  # per-institution settings this regime gives
    member_paid: bool
    member_hours_per_day: Annotated[float, Field(ge=0.0, le=12.0)]
    admin_pushdown: Annotated[float, Field(ge=0.0, le=1.0)]
    intervention_intensity: Annotated[float, Field(ge=0.0, le=1.0)]
    ngo_support: Annotated[float, Field(ge=0.0, le=1.0)]
    street_staff_per_10k: Annotated[float, Field(ge=0.0, le=200.0)]
    district_staff_per_10k: Annotated[float, Field(ge=0.0, le=200.0)]
    escalation_delay_days: Annotated[int, Field(ge=0, le=60)]
    # The same value in every shipped regime (kept here so a scenario may vary them):
    meeting_interval_days: Annotated[int, Field(ge=1, le=365)] = 30
    volunteer_roles_per_building: Annotated[float, Field(ge=0.0, le=10.0)] = 1.0
    committee_visit_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.25
    online_channel: bool = True

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
        return self


def check_institution_names(names) -> None:
    from govsim.institutions import INSTITUTIONS

    bad = [n for n in names if n not in INSTITUTIONS]
    if bad:
        raise ValueError(f"unknown institution {bad[0]!r}; allowed: {', '.join(sorted(INSTITUTIONS))}")


class RegimeSettings(BaseModel):
    """Scenario table ``[regime_settings]``: override any field of the chosen regime.

    ``add_institutions`` / ``remove_institutions`` install or drop institutions by name
    (an ablation: ``remove_institutions = ["disaster_bodies"]``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    chains: dict[str, tuple[LevelName, ...]] | None = None
    add_institutions: tuple[str, ...] = ()
    remove_institutions: tuple[str, ...] = ()
    member_paid: bool | None = None
    member_hours_per_day: Annotated[float, Field(ge=0.0, le=12.0)] | None = None
    admin_pushdown: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    intervention_intensity: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    ngo_support: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    street_staff_per_10k: Annotated[float, Field(ge=0.0, le=200.0)] | None = None
    district_staff_per_10k: Annotated[float, Field(ge=0.0, le=200.0)] | None = None
    escalation_delay_days: Annotated[int, Field(ge=0, le=60)] | None = None
    meeting_interval_days: Annotated[int, Field(ge=1, le=365)] | None = None
    volunteer_roles_per_building: Annotated[float, Field(ge=0.0, le=10.0)] | None = None
    committee_visit_rate: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    online_channel: bool | None = None

    def apply(self, base: RegimeData) -> RegimeData:
        changes = {k: v for k, v in self.model_dump(exclude_none=True).items()
                   if k not in ("add_institutions", "remove_institutions")}
        if "chains" in changes:
            changes["chains"] = {**base.chains, **{k: tuple(v) for k, v in changes["chains"].items()}}
        check_institution_names((*self.add_institutions, *self.remove_institutions))
        names = [n for n in base.institutions if n not in self.remove_institutions]
        names += [n for n in self.add_institutions if n not in names]
        changes["institutions"] = tuple(names)
        return RegimeData.model_validate({**base.model_dump(), **changes})


# --------------------------------------------------------------------------- the regimes

REGIMES: dict[str, RegimeData] = {
    "self_governing": RegimeData(
        label="Self-governing (US-style)",
        label_zh="自治型（美国模式）",
        description=(
            "An elected board decides local affairs with budget authority: it levies dues, hires a "
            "management company and funds non-profit organisations, which deliver services with "
            "government grants. No government base organisation in the community; emergencies are "
            "handled by government from outside."
        ),
        chains={
            "general": ("residents", "committee", "street"),
            "coordination": ("residents", "committee", "street", "district"),
            "emergency": ("district",),
            "approval": ("committee", "street"),
        },
        institutions=("member_assembly", "resident_dues", "management_company", "ngo_grants"),
        settings={"member_assembly": {"voters": "registered"}, "ngo_grants": {"per_household": 40.0}},
        member_paid=False,
        member_hours_per_day=3.0,
        admin_pushdown=0.15,
        intervention_intensity=0.1,
        ngo_support=1.0,
        street_staff_per_10k=5.0,
        district_staff_per_10k=8.0,
        escalation_delay_days=2,
    ),
    "government_led": RegimeData(
        label="Government-led (Singapore-style)",
        label_zh="政府主导型（新加坡模式）",
        description=(
            "Government agencies dispatched into the community decide and deliver top-down through "
            "a strict hierarchy (advisory committee > centre management committee > residents' "
            "committee); the committee is appointed and appraised from above on its administrative "
            "work; government runs the community's programmes; residents rarely initiate."
        ),
        chains={
            "general": ("committee", "street", "district"),
            "coordination": ("committee", "street", "district"),
            "emergency": ("district",),
            "approval": ("committee", "street", "district"),
        },
        institutions=("admin_hierarchy", "dispatched_agencies", "top_down_programmes", "hotline",
                      "government_appraisal"),
        settings={"government_appraisal": {"weights": (0.6, 0.3, 0.1)}},
        member_paid=True,
        member_hours_per_day=2.0,
        admin_pushdown=1.0,
        intervention_intensity=0.9,
        ngo_support=0.1,
        street_staff_per_10k=15.0,
        district_staff_per_10k=20.0,
        escalation_delay_days=0,
    ),
    "hybrid": RegimeData(
        label="Hybrid (Japan-style)",
        label_zh="混合型（日本模式）",
        description=(
            "Government plans, guides, funds and supervises; neighbourhood associations with dues "
            "and members run sanitation, security and welfare; a regional centre convenes residents "
            "on request and its head resolves on the spot; disaster-prevention bodies at every "
            "level drill with residents; government funds under strict budget rules and appraises "
            "the centre's staff periodically."
        ),
        chains={
            "general": ("residents", "committee", "street"),
            "coordination": ("committee", "street", "district"),
            "emergency": ("district",),
            "approval": ("committee", "street"),
        },
        institutions=("member_assembly", "neighbourhood_association", "regional_centre", "disaster_bodies",
                      "hotline", "government_appraisal", "ngo_grants"),
        settings={"ngo_grants": {"per_household": 15.0},
                  "government_appraisal": {"weights": (0.2, 0.3, 0.5)}},
        member_paid=True,
        member_hours_per_day=2.0,
        admin_pushdown=0.5,
        intervention_intensity=0.45,
        ngo_support=0.6,
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


def insert_after(chain: tuple[str, ...], level: str, after: tuple[str, ...]) -> tuple[str, ...]:
    """Insert ``level`` after the last of ``after`` found in ``chain`` (or at the front)."""
    if level in chain:
        return chain
    idx = [i for i, lv in enumerate(chain) if lv in after]
    i = idx[-1] + 1 if idx else 0
    return chain[:i] + (level,) + chain[i:]


def insert_level(chain: tuple[str, ...], level: str, before: tuple[str, ...]) -> tuple[str, ...]:
    """Insert ``level`` before the first of ``before`` found in ``chain`` (or at the end)."""
    if level in chain:
        return chain
    for i, lv in enumerate(chain):
        if lv in before:
            return chain[:i] + (level,) + chain[i:]
    return chain + (level,)


# --------------------------------------------------------------------------- compiled tables

# Probability that one day's work on a case of a class resolves it, by level (before the
# actor's own skill and load). Zero means the level cannot resolve that class and forwards it.
FIT = np.array(
    [
        # general coordination emergency approval
        [0.45, 0.30, 0.00, 0.00],  # residents (building heads, neighbours, association volunteers)
        [0.75, 0.35, 0.00, 0.00],  # grid manager
        [0.70, 0.30, 0.00, 0.00],  # NGO service centre
        [0.55, 0.50, 0.10, 0.45],  # residents' committee / elected board
        [0.25, 0.70, 0.00, 0.60],  # deliberative council
        [0.60, 0.55, 0.30, 0.55],  # regional centre (head resolves within delegated powers)
        [0.70, 0.20, 0.00, 0.00],  # professional management company
        [0.65, 0.45, 0.55, 0.50],  # dispatched government agencies
        [0.60, 0.55, 0.35, 0.60],  # street office
        [0.70, 0.65, 0.75, 0.80],  # district departments
    ]
)
HOURS_PER_CASE = np.array([1.0, 1.5, 2.5, 4.0, 0.5, 2.0, 2.0, 4.0, 6.0, 10.0])
MIN_DAYS = np.array([0, 0, 1, 1, 0, 0, 1, 0, 3, 5])
MAX_ATTEMPTS = np.array([3, 3, 4, 5, 2, 3, 4, 6, 8, 10_000])
PATIENCE_DAYS = np.array([7, 5, 10, 14, 45, 10, 14, 21, 30, 100_000])
PRIORITY = np.array([0, 0, 2, 0])  # emergencies are worked first


@dataclass
class Institutions:
    """A regime with its settings and institutions applied, compiled into the arrays the case
    engine reads. ``names`` are the installed institutions (regime's own plus pilots)."""

    name: str
    data: RegimeData
    pilots: tuple[str, ...]
    names: tuple[str, ...] = ()
    chains: np.ndarray = field(init=False)  # [class, position] -> level, -1 past the end
    chain_len: np.ndarray = field(init=False)
    fit: np.ndarray = field(init=False)  # [level, class]
    first_outside: np.ndarray = field(init=False)  # [class] -> chain position of first government level
    min_days: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        width = max(len(c) for c in self.data.chains.values())
        self.chains = np.full((len(CLASSES), width + 1), -1, dtype=np.int8)
        self.chain_len = np.zeros(len(CLASSES), dtype=np.int8)
        for ci, cls in enumerate(CLASSES):
            chain = [LEVELS.index(lv) for lv in self.data.chains[cls]]
            self.chains[ci, : len(chain)] = chain
            self.chain_len[ci] = len(chain)
        # Where a hotline call enters each chain: the first street/district level (else the last).
        outside = np.isin(self.chains, (STREET, DISTRICT))
        last = self.chain_len.astype(np.int64) - 1
        self.first_outside = np.where(outside.any(axis=1), outside.argmax(axis=1), last).astype(np.int8)
        self.fit = FIT.copy()
        self.min_days = MIN_DAYS.copy()
        self.min_days[[STREET, DISTRICT]] += self.data.escalation_delay_days

    def has(self, name: str) -> bool:
        """Whether an institution is installed (for reports and tests; the model uses hooks)."""
        return name in self.names

    def uses(self, level: int) -> bool:
        return bool((self.chains == level).any())

    def describe(self) -> str:
        """The regime, its institutions and escalation chains, in the current language (``--lang``)."""
        from govsim.outcomes import get_language, label

        if get_language() == "zh":
            lines = [f"{label(self.name)} [{self.name}]"
                     + (f" + {'、'.join(label(p) for p in self.pilots)}" if self.pilots else "")]
            lines.append(f"  制度：{'、'.join(label(n) for n in self.names)}")
            for cls in CLASSES:
                sep = "，然后 " if cls == "approval" else " > "
                lines.append(f"  {label(cls)}：{sep.join(label(x) for x in self.data.chains[cls])}")
            return "\n".join(lines)
        lines = [f"{self.data.label} [{self.name}]" + (f" + {', '.join(self.pilots)}" if self.pilots else "")]
        lines.append(f"  institutions: {', '.join(self.names)}")
        for cls in CLASSES:
            sep = " then " if cls == "approval" else " > "
            lines.append(f"  {cls:<12} -> {sep.join(self.data.chains[cls])}")
        return "\n".join(lines)


class Routing:
    """Per-community routing: the chains of every routing variant in use, and which variant
    each community follows now.

    A variant is one compiled :class:`Institutions` (a regime with the pilots switched on in
    some communities). ``chains[v, class, position]``, ``chain_len[v, class]``,
    ``first_outside[v, class]`` and ``min_days[v, level]`` are stacked over variants;
    ``variant_of[c]`` is the variant community ``c`` routes new cases by. A case keeps the
    variant it was routed by (``CaseBook.variant``) until it closes: cases in progress when a
    timeline event changes a community's routing finish on their old route.
    Variants are only ever appended, so a case's variant index stays valid.
    """

    def __init__(self, n_communities: int) -> None:
        self.keys: list[tuple] = []
        self.variants: list[Institutions] = []
        self.variant_of = np.zeros(n_communities, dtype=np.int16)
        self.chains = np.full((0, len(CLASSES), 1), -1, dtype=np.int8)
        self.chain_len = np.zeros((0, len(CLASSES)), dtype=np.int8)
        self.first_outside = np.zeros((0, len(CLASSES)), dtype=np.int8)
        self.min_days = np.zeros((0, len(LEVELS)), dtype=np.int64)

    def variant(self, key: tuple, inst: Institutions) -> int:
        """Index of the variant ``key`` (compiled as ``inst``), appending it if new."""
        if key in self.keys:
            return self.keys.index(key)
        self.keys.append(key)
        self.variants.append(inst)
        width = max(self.chains.shape[2], inst.chains.shape[1])
        pad = lambda a: np.pad(a, ((0, 0), (0, 0), (0, width - a.shape[-1])), constant_values=-1)  # noqa: E731
        self.chains = np.concatenate([pad(self.chains), pad(inst.chains[None])])
        self.chain_len = np.concatenate([self.chain_len, inst.chain_len[None]])
        self.first_outside = np.concatenate([self.first_outside, inst.first_outside[None]])
        self.min_days = np.concatenate([self.min_days, inst.min_days[None]])
        return len(self.keys) - 1

    def uses(self, level: int) -> bool:
        """Whether any community's current routing passes through ``level``."""
        return bool((self.chains[np.unique(self.variant_of)] == level).any())


def compile_institutions(regime: str, settings: RegimeSettings | None, pilots: dict[str, bool],
                         switched: dict[str, bool] | None = None) -> Institutions:
    """Base regime data -> scenario overrides -> institutions (regime's and pilots') -> arrays.

    ``switched`` adds (True) or removes (False) institutions by name on top of the regime's
    and the pilots' (a timeline event switching an institution in some communities).
    Each institution may rewrite the routing data (``adjust_routing``), in install order.
    """
    from govsim.institutions import INSTITUTIONS, PILOT_INSTITUTIONS

    if regime not in REGIMES:
        raise ValueError(f"unknown regime {regime!r}; allowed: {', '.join(regime_names())}")
    data = REGIMES[regime]
    if settings is not None:
        data = settings.apply(data)
    active = tuple(name for name, on in pilots.items() if on is True and name in PILOT_INSTITUTIONS)
    names = tuple(dict.fromkeys((*data.institutions, *(PILOT_INSTITUTIONS[p] for p in active))))
    if switched:
        names = tuple(n for n in names if switched.get(n, True)) + tuple(
            n for n, on in switched.items() if on and n not in names)
    for name in names:
        data = INSTITUTIONS[name].adjust_routing(data)
    return Institutions(name=regime, data=RegimeData.model_validate(data.model_dump()), pilots=active, names=names)


__all__ = [
    "LEVELS",
    "CLASSES",
    "REGIMES",
    "RegimeData",
    "RegimeSettings",
    "Institutions",
    "Routing",
    "FundingRule",
    "operating_fund",
    "compile_institutions",
    "regime_names",
]
