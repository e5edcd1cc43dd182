"""Neighbourhood associations (町会, hybrid / Japan-style).

Brief: associations "decide and run sanitation, youth, security, welfare", with dues and
membership, and government funds them "under strict budget rules". Households join each
year by a public-goods decision (:mod:`govsim.contributions`; a small fee, and blocks are
small enough that neighbours see who takes part). Members

* patrol and look after their blocks: ``member_hours_per_day`` per member household of
  residents' time, which works cases at the ``residents`` level and notices pending cases
  (a detection channel, stronger where more households are members);
* meet: the association's general meeting decides its plan, so a residents' meeting in an
  association community decides something (what a meeting delivers draws residents back);
* pay dues into the association's account, which government matches (the strict budget
  rule: every yuan is reported, ``reporting_hours_per_day`` of committee time per community,
  the coordination cost the brief names as the hybrid's risk).

Membership is open to everyone who lives there, renters included, so the association
serves migrants as it serves locals.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from govsim.cases import PATROL
from govsim.contributions import Contributions
from govsim.finance import is_month_start
from govsim.institutions.base import Institution
from govsim.regimes import HOURS_PER_CASE, RESIDENTS

PATROL_DETECTION = 0.06  # daily chance patrols notice a pending case in a fully member block (0.05 h/day each)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    fee_per_month: Annotated[float, Field(ge=0.0, le=2_000.0)] = 10.0
    member_hours_per_day: Annotated[float, Field(ge=0.0, le=5.0)] = 0.05
    government_match: Annotated[float, Field(ge=0.0, le=5.0)] = 1.0
    reporting_hours_per_day: Annotated[float, Field(ge=0.0, le=24.0)] = 2.0


class NeighbourhoodAssociation(Institution):
    name = "neighbourhood_association"
    label = "Neighbourhood associations"
    label_zh = "町内会（居民自治会）"
    Settings = Settings
    per_community = True
    local_settings = frozenset({"government_match", "reporting_hours_per_day"})

    def install(self) -> None:
        m = self.m
        self.contrib = Contributions(m, self.s.fee_per_month)
        self.contrib.decide(m.rng)
        self.account = m.ledger.open_many("association", self.C)
        self.raised = 0.0
        self.matched = 0.0
        self.reporting = np.zeros(self.C)  # reporting hours/day it puts on each committee
        self.refresh()
        self._cache()

    def refresh(self) -> None:
        for c, com in enumerate(self.m.committees):
            h = self.at("reporting_hours_per_day", c) if self.on[c] else 0.0
            if h != self.reporting[c]:
                com.reporting_hours += h - self.reporting[c]
                self.reporting[c] = h

    def uninstall(self) -> None:
        super().uninstall()
        self.on[:] = False
        self.refresh()

    def _cache(self) -> None:
        self.member_share_b = self.contrib.building_share
        self.members = np.bincount(self.contrib.hh_community, weights=self.contrib.paying, minlength=self.C)

    def begin_day(self, day: int) -> None:
        m = self.m
        if day % 365 == 0 and day > 0:
            self.contrib.decide(m.rng)
            self._cache()
        if is_month_start(day):
            rev = self.contrib.revenue(1.0)
            if not self.everywhere:
                rev = rev * self.on  # no association, no dues there
            paid = m.ledger.transfer(m.acct["residents"], self.account, rev, "association_dues", allow_overdraft=True)
            self.raised += float(paid.sum())
            match = m.government.pay(rev * self.val("government_match"), self.account, "association_grants")
            self.matched += float(np.sum(match))
            # The association spends on its activities (sanitation, youth, welfare supplies).
            m.ledger.transfer(self.account, m.acct["suppliers"], m.ledger.balance[self.account], "association_spending")

    def at_meeting(self, c: int, attendees: np.ndarray, day: int) -> int:
        return 1 if self.members[c] > 0 else 0  # the association's plan is decided there

    def detection(self, pending):
        b = self.m.cases.building[pending]
        hours = self.s.member_hours_per_day / 0.05  # patrols at the default hours give PATROL_DETECTION
        return [(PATROL, np.minimum(1.0, PATROL_DETECTION * hours * self.member_share_b[b]))]

    def capacity(self, cap, skill) -> None:
        h = self.m.handlers.slice(RESIDENTS)
        cap[h] += self.members * self.s.member_hours_per_day / HOURS_PER_CASE[RESIDENTS]

    def metrics(self) -> dict[str, float]:
        return {"association_member_share": float(self.contrib.paying.mean()),
                "association_dues": self.raised, "association_grants": self.matched}
