"""NGOs: social-work agencies, foundations, volunteer and cultural associations."""

from __future__ import annotations

import mesa

from govsim.agents.committee import STAFF_HOURS
from govsim.regimes import HOURS_PER_CASE
from govsim.regimes import NGO as NGO_LEVEL

NGO_KINDS = ("social_work", "foundation", "volunteer_association", "cultural_association", "elderly_university")
NGO_KIND_P = (0.35, 0.1, 0.25, 0.2, 0.1)


class NGO(mesa.Agent):
    """A social organisation serving one community.

    Capacity is its staff; it takes contracts and grants from government and donations,
    pays its staff from them (and grows or shrinks to what it can pay), works service
    cases, runs activities that mobilise residents, and its quality drifts down when the
    residents' committee has no time to supervise it.
    """

    def __init__(self, model: mesa.Model, community: int, kind: str, staff: float, quality: float):
        super().__init__(model)
        self.community = int(community)
        self.kind = kind
        self.staff = float(staff)
        self.base_quality = float(quality)
        self.quality = float(quality)
        self.account = -1
        self.contract_income = 0.0
        self.grant_income = 0.0
        self.donations = 0.0
        self.income_month = 0.0  # contract income and donations received since the last month start
        self.grant_monthly = 0.0  # this year's grant, per month
        self.founded = int(getattr(model, "day", 0))
        self.supervised = 1.0  # share of the supervision its contract needs that it gets

    @property
    def case_capacity(self) -> float:
        share = self.model.scenario.ngos.case_time_share if self.kind == "social_work" else 0.2
        return self.staff * STAFF_HOURS * share / HOURS_PER_CASE[NGO_LEVEL]

    def adjust_staff(self, wage_per_day: float, rate: float = 0.3) -> None:
        """Monthly: move staff toward what last month's income can pay."""
        affordable = (self.income_month + self.grant_monthly) / max(wage_per_day * 365.0 / 12.0, 1e-9)
        self.staff = max(0.5, self.staff + rate * (affordable - self.staff))
        self.income_month = 0.0

    def supervise(self, supervised: float, rate: float = 0.1) -> None:
        """Quality drifts to base when supervised, down when the committee has no time."""
        target = self.base_quality - 0.25 * (1.0 - supervised)
        self.quality += rate * (target - self.quality)

    def __repr__(self) -> str:
        return f"NGO({self.kind}, community={self.community}, staff={self.staff:.1f}, quality={self.quality:.2f})"
