"""Committees: the residents' committee, the deliberative council, owners' committees."""

from __future__ import annotations

import mesa
import numpy as np

from govsim.regimes import COMMITTEE, HOURS_PER_CASE

STAFF_HOURS = 8.0  # a paid worker's day
HOURS_PER_VISIT = 0.5  # a household visit


def committee_members(households: int | np.ndarray, per_member: int = 250, lo: int = 3, hi: int = 9):
    """Residents' committee size: about one member per 200-300 households, 3 to 9 members."""
    return np.clip(np.floor(np.asarray(households) / per_member + 0.5), lo, hi).astype(int)


def operating_fund_spending(balance: np.ndarray, days_left: int, hour_wage: float):
    """:meth:`Committee.spend_operating_funds` for all committees at once (``balance``: an
    array of what is left above each one's reserve), the same operations: the yuan each
    spends today and the helper hours that buys."""
    budget = np.maximum(balance, 0.0) / max(days_left, 1)
    return budget, budget / max(hour_wage, 1e-9)


class Committee(mesa.Agent):
    """A committee of one community.

    ``kind`` is ``"residents"`` (the residents' committee: staff hours, administrative load
    pushed down by government, mediation), ``"council"`` (deliberative council of elected
    directors: monthly meetings, an extra one when at least a third of directors ask) or
    ``"owners"`` (owners' committee: volunteers handling repairs and parking in its estate).
    """

    def __init__(self, model: mesa.Model, community: int, kind: str = "residents", *, members: int,
                 member_paid: bool, member_hours: float, mediation_skill: float):
        super().__init__(model)
        self.community = int(community)
        self.kind = kind
        self.members = int(members)
        self.member_paid = bool(member_paid)
        self.member_hours = float(member_hours)
        self.mediation_skill = float(mediation_skill)
        self.reference_skill = float(mediation_skill)  # the scenario's skill, new members drawn around it
        self.effort = 1.0  # share of free hours members really put into cases
        self.authority = 1.0  # delegated authority: multiplies skill (government appraisal moves it)
        self.fund_factor = 1.0  # funding tier factor on the operating fund (appraisal moves it)
        self.upward_share = 0.0  # free hours spent on upward reporting (administrative hierarchy)
        self.reporting_hours = 0.0  # hours/day reporting on earmarked budgets (strict budget rules)
        self.helper_hours = 0.0  # hours/day hired with the operating fund
        self.reserve = 300.0  # yuan kept back from hiring: a meeting's cost, contracts due, fixes
        self.resolved_cases = 0
        self.worked_cases = 0
        self.replacements = 0
        # Set by the government each year / by the model each day.
        self.workers = 0.0
        self.assistants = 0.0
        self.admin_hours = 0.0  # administrative load pushed down, hours/day
        self.delegated_hours = 0.0  # hours funded with delegated tasks (power and money follow task)
        self.supervision_hours = 0.0
        self.free_hours = 0.0
        self.visit_share = 0.0  # share of free hours spent visiting households (regime data)
        self.account = -1
        # Council state.
        self.directors = np.empty(0, dtype=np.int64)
        self.next_meeting = 0
        self.meetings_held = 0
        self.extra_meetings = 0

    # ------------------------------------------------------------------ capacity
    @property
    def volunteer_members(self) -> float:
        """Members serving unpaid: all of them where members are volunteers, else those
        for whom the funded worker posts do not stretch (members fill the posts first)."""
        if not self.member_paid:
            return float(self.members)
        return max(0.0, self.members - self.workers)

    @property
    def staff_hours(self) -> float:
        """All hours the committee's people work in a day: paid posts (community workers,
        assistants), unpaid members, delegated-task hires, helpers hired with the fund."""
        return ((self.workers + self.assistants) * STAFF_HOURS
                + self.volunteer_members * self.member_hours + self.delegated_hours + self.helper_hours)

    def plan_day(self) -> None:
        """Administrative load, supervision, budget reporting and upward work crowd out
        self-governing work."""
        free = max(0.0, self.staff_hours - self.admin_hours - self.supervision_hours - self.reporting_hours)
        self.free_hours = free * (1.0 - self.upward_share)

    @property
    def admin_completion(self) -> float:
        """Share of the pushed-down administrative work the committee gets done."""
        if self.admin_hours <= 0:
            return 1.0
        return min(1.0, self.staff_hours * self.effort / self.admin_hours)

    @property
    def skill(self) -> float:
        return self.mediation_skill * self.authority

    def performance(self) -> float:
        """Share of the cases the committee worked since its last change that it resolved."""
        return (self.resolved_cases + 1.0) / (self.worked_cases + 2.0)

    def replace_members(self, rng: np.random.Generator, day: int) -> None:
        """A new committee (elected, or appointed after a reshuffle): new skill and effort."""
        self.mediation_skill = float(np.clip(rng.normal(self.reference_skill, 0.12), 0.2, 0.95))
        self.effort = float(rng.uniform(0.7, 1.1))
        self.resolved_cases = self.worked_cases = 0
        self.replacements += 1

    def spend_operating_funds(self, balance: float, days_left: int, hour_wage: float) -> float:
        """Hire helper hours with what is left of the fund, spread over the days left; returns
        the yuan to spend today."""
        budget = max(balance, 0.0) / max(days_left, 1)
        self.helper_hours = budget / max(hour_wage, 1e-9)
        return budget

    @property
    def admin_share(self) -> float:
        return min(1.0, self.admin_hours / max(self.staff_hours, 1e-9))

    @property
    def case_capacity(self) -> float:
        """Cases per day the committee can work on (free hours not spent visiting)."""
        return self.free_hours * (1.0 - self.visit_share) * self.effort / HOURS_PER_CASE[COMMITTEE]

    def visit_chance(self, households: int) -> float:
        """Daily chance that a given household is visited (and a pending case there found)."""
        visits = self.free_hours * self.visit_share / HOURS_PER_VISIT
        return min(1.0, visits / max(households, 1))

    def __repr__(self) -> str:
        return (f"Committee({self.kind}, community={self.community}, members={self.members}, "
                f"staff_hours={self.staff_hours:.1f}, admin_hours={self.admin_hours:.1f}, free={self.free_hours:.1f})")


# ---------------------------------------------------------------------- all committees at once
# The daily case pipeline reads every committee's case capacity, skill and visit chance; these
# give the properties above for a list of committees as arrays, with the same arithmetic in
# the same order element by element (so the same values bit for bit), without a Python
# property call per committee. Keep them in step with the properties.

def case_capacities(committees: list[Committee]) -> np.ndarray:
    """``[c.case_capacity for c in committees]`` as an array."""
    free = np.array([c.free_hours for c in committees], dtype=float)
    visit = np.array([c.visit_share for c in committees], dtype=float)
    effort = np.array([c.effort for c in committees], dtype=float)
    return free * (1.0 - visit) * effort / HOURS_PER_CASE[COMMITTEE]


def skills(committees: list[Committee]) -> np.ndarray:
    """``[c.skill for c in committees]`` as an array."""
    return (np.array([c.mediation_skill for c in committees], dtype=float)
            * np.array([c.authority for c in committees], dtype=float))


def visit_chances(committees: list[Committee], households: np.ndarray) -> np.ndarray:
    """``[c.visit_chance(h) for c, h in zip(committees, households)]`` as an array."""
    visits = (np.array([c.free_hours for c in committees], dtype=float)
              * np.array([c.visit_share for c in committees], dtype=float) / HOURS_PER_VISIT)
    return np.minimum(1.0, visits / np.maximum(households, 1))
