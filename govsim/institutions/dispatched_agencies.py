"""Dispatched government agencies that act directly in the community (Singapore-style).

Brief: "government agencies dispatched into the community, top-down"; in emergencies
"dispatched agencies act directly". Agencies keep ``staff_per_community`` government staff
in each community (paid at the street wage: the regime's high cost). They inspect
households and watch for emergencies (a detection channel), take cases at the ``agency`` level (a government level:
what they resolve is not self-resolution, and residents' dependency on government grows
with it), and respond to emergencies the day they are known: the agency is first in the
emergency chain and has no minimum handling time. It is put in the general and coordination
chains after the community's own levels, and first in the emergency chain.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from govsim.cases import INSPECTION
from govsim.institutions.base import Institution
from govsim.regimes import AGENCY, EMERGENCY, HOURS_PER_CASE, insert_after, insert_level

STAFF_HOURS = 8.0
HOURS_PER_VISIT = 0.5
REFERENCE_SKILL = 1.0


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    staff_per_community: Annotated[float, Field(ge=0.0, le=100.0)] = 4.0
    case_time_share: Annotated[float, Field(ge=0.0, le=1.0)] = 0.6
    inspection_time_share: Annotated[float, Field(ge=0.0, le=1.0)] = 0.2
    emergency_watch: Annotated[float, Field(ge=0.0, le=1.0)] = 0.15


class DispatchedAgencies(Institution):
    name = "dispatched_agencies"
    label = "Dispatched government agencies"
    label_zh = "政府派驻机构"
    Settings = Settings
    per_community = True
    local_settings = frozenset({"staff_per_community", "case_time_share", "inspection_time_share", "emergency_watch"})

    @classmethod
    def adjust_routing(cls, data):
        chains = dict(data.chains)
        for cls_ in ("general", "coordination"):
            chains[cls_] = insert_after(chains[cls_], "agency", ("residents", "grid", "ngo", "committee"))
        chains["emergency"] = insert_level(chains["emergency"], "agency", tuple(chains["emergency"]))
        return data.model_copy(update={"chains": chains})

    def install(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Staff per community where it is on, on the government's payroll."""
        m = self.m
        share = m.government.outsourced_share
        spc = self.val("staff_per_community")
        self.staff = np.full(self.C, spc * (1.0 - share)) if np.ndim(spc) == 0 else spc * (1.0 - share)
        if not self.everywhere:
            self.staff = self.staff * self.on
        self.payroll("dispatched_staff", float(self.staff.sum()), m.scenario.government.street_wage_per_day)

    def detection(self, pending):
        m = self.m
        hh = m.structure.community_households
        visits = self.staff * STAFF_HOURS * self.val("inspection_time_share") / HOURS_PER_VISIT
        p = np.minimum(1.0, visits / np.maximum(hh, 1))
        # Officers on duty watch for emergencies (security patrols, wardens): each officer
        # notices a pending emergency with daily chance ``emergency_watch``.
        watch = 1.0 - (1.0 - self.val("emergency_watch")) ** self.staff
        book = m.cases
        c = book.community[pending]
        return [(INSPECTION, np.where(book.cls[pending] == EMERGENCY, 1.0 - (1.0 - p[c]) * (1.0 - watch[c]), p[c]))]

    def on_detected(self, found, day: int) -> None:
        book = self.m.cases
        em = found[(book.cls[found] == EMERGENCY) & (self.staff[book.community[found]] > 0)]
        book.first_response(em, day)  # the agency acts directly, the day it knows

    def capacity(self, cap, skill) -> None:
        h = self.m.handlers.slice(AGENCY)
        cap[h] = self.staff * STAFF_HOURS * self.val("case_time_share") / HOURS_PER_CASE[AGENCY]
        skill[h] = REFERENCE_SKILL

    def metrics(self) -> dict[str, float]:
        return {"dispatched_staff": float(self.staff.sum())}
