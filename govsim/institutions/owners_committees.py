"""Owners' committees (业主委员会): owners act on property-management disputes.

Owners' committees give volunteer hours (``hours_per_day``) to repairs and parking, the
property-management categories: they notice such cases in their estate (a detection channel,
``detection`` per 5 hours a day) and work cases at the residents' level. Their re-election can stall in a run-down estate
(brief: Zhaoshang): each year a committee in a community whose mean belonging is below
``stall_below`` stalls and stops acting, until a co-governance board helps elect a new one.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from govsim.cases import OWNERS, PROPERTY_CATEGORIES
from govsim.institutions.base import Institution, due
from govsim.regimes import HOURS_PER_CASE, RESIDENTS


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    hours_per_day: Annotated[float, Field(ge=0.0, le=100.0)] = 5.0
    detection: Annotated[float, Field(ge=0.0, le=1.0)] = 0.05
    stall_below: Annotated[float, Field(ge=0.0, le=1.0)] = 0.35


class OwnersCommittees(Institution):
    name = "owners_committees"
    pilot = "owners_committees"
    label = "Owners' committees"
    label_zh = "业主委员会"
    Settings = Settings
    per_community = True
    local_settings = frozenset({"hours_per_day", "detection", "stall_below"})

    def install(self) -> None:
        self.active = np.ones(self.C, dtype=bool)
        self.stalls = 0
        self.m.owners_revivers.append(self.revive)

    def revive(self, c: int) -> None:
        self.active[c] = True

    def detection(self, pending):
        book = self.m.cases
        prop = np.isin(book.category[pending], PROPERTY_CATEGORIES)
        c = book.community[pending]
        if np.ndim(self.val("detection")) or np.ndim(self.val("hours_per_day")):
            rate = np.minimum(1.0, self.per_c("detection", c) * self.per_c("hours_per_day", c) / 5.0)
        else:
            rate = min(1.0, self.s.detection * self.s.hours_per_day / 5.0)  # ``detection`` is per 5 hours/day
        return [(OWNERS, rate * prop * self.active[c])]

    def capacity(self, cap, skill) -> None:
        cap[self.m.handlers.slice(RESIDENTS)] += self.active * self.val("hours_per_day") / HOURS_PER_CASE[RESIDENTS]

    def end_day(self, day: int) -> None:
        belonging = None
        for c in due(day, 365, self.C):
            if belonging is None:
                belonging = self.m.population.community_mean("belonging")
            if self.on[c] and self.active[c] and belonging[c] < self.at("stall_below", int(c)):
                self.active[c] = False
                self.stalls += 1

    def metrics(self) -> dict[str, float]:
        return {"owners_committees_stalled": self.stalls}
