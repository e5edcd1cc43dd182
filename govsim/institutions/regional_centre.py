"""Regional (community) centre whose head resolves requests on the spot (hybrid).

Brief: "residents file requests; a local centre convenes residents to discuss and the
centre head resolves on the spot"; "the centre head answers and resolves residents' requests
on the spot within delegated powers"; "the government appraises regional-centre staff
periodically". Each community has a centre with ``staff`` government-paid staff, who work
cases at the ``centre`` level. When requests pile up (``convene_at`` open cases at the
centre, or ``convene_at`` per ``convene_per_households`` households where that is set) the
centre convenes residents (at most weekly), on top of the committee's monthly
meeting; at every meeting the head takes up to ``head_cases_per_meeting`` of the
attendees' open cases and resolves each with the centre's chance. Every ``appraisal_days``
government appraises the centre on how the cases it handled ended; a head below
``replace_below`` is replaced by one of another skill.

Routing: the centre comes after residents' own efforts for general cases, first for
coordination cases and emergencies, and signs approvals in the committee's place.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from govsim.institutions.base import Institution, LevelTally, due
from govsim.regimes import APPROVAL, CENTRE, HOURS_PER_CASE, OUTSIDE, insert_after

STAFF_HOURS = 8.0


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    staff: Annotated[float, Field(ge=0.0, le=50.0)] = 2.0
    case_time_share: Annotated[float, Field(ge=0.0, le=1.0)] = 0.6
    skill: Annotated[float, Field(ge=0.05, le=1.0)] = 0.9
    head_cases_per_meeting: Annotated[int, Field(ge=0, le=200)] = 8
    convene_at: Annotated[int, Field(ge=1, le=1000)] = 10
    # 0: ``convene_at`` is an absolute number of cases. Above 0: ``convene_at`` cases per this
    # many households of the community (scale-free; 1,412 keeps the field-report community's).
    convene_per_households: Annotated[int, Field(ge=0, le=100_000)] = 0
    appraisal_days: Annotated[int, Field(ge=30, le=3650)] = 180
    replace_below: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5


class RegionalCentre(Institution):
    name = "regional_centre"
    label = "Regional centre (head resolves on the spot)"
    label_zh = "地区中心（中心主任现场解决）"
    Settings = Settings
    per_community = True
    local_settings = frozenset({"staff", "case_time_share", "head_cases_per_meeting", "convene_at",
                                "convene_per_households", "appraisal_days", "replace_below"})

    @classmethod
    def adjust_routing(cls, data):
        chains = dict(data.chains)
        chains["general"] = insert_after(chains["general"], "centre", ("residents",))
        chains["coordination"] = ("centre",) + tuple(lv for lv in chains["coordination"] if lv != "centre")
        chains["emergency"] = ("centre",) + tuple(lv for lv in chains["emergency"] if lv != "centre")
        # Within delegated powers the centre head signs approvals in the committee's place.
        chains["approval"] = tuple(dict.fromkeys("centre" if lv == "committee" else lv
                                                 for lv in chains["approval"]))
        return data.model_copy(update={"chains": chains})

    def install(self) -> None:
        m = self.m
        self.skill = np.clip(m.rng.normal(self.s.skill, 0.1, self.C), 0.05, 1.0)
        self.refresh()
        self.last_convened = np.full(self.C, -10_000)
        self.convened = 0
        self.on_the_spot = 0
        self.tally = LevelTally(m, CENTRE)
        self.replaced = 0

    def refresh(self) -> None:
        staff = self.val("staff")
        if self.everywhere and np.ndim(staff) == 0:
            total = staff * self.C
        else:
            total = float(np.sum(np.broadcast_to(staff, (self.C,)) * self.on))
        self.payroll("centre_staff", total, self.m.scenario.government.worker_wage_per_day)

    def begin_day(self, day: int) -> None:
        m = self.m
        q = m.queue_at(CENTRE)
        ask = (q >= self.convene_threshold()) & (day - self.last_convened >= 7)
        for c in np.flatnonzero(ask if self.everywhere else ask & self.on):
            self.last_convened[c] = day
            self.convened += 1
            m.meetings.hold(int(c), day)

    def convene_threshold(self):
        """Open cases at the centre at which it convenes residents: ``convene_at``, or where
        ``convene_per_households`` is set (> 0), ``convene_at`` per that many of the
        community's households, but at least one case (a scalar while it is the same
        everywhere, else an array per community)."""
        at = self.val("convene_at")
        per = self.val("convene_per_households")
        if not np.any(per):
            return at
        per = np.asarray(per, dtype=float)
        scaled = np.maximum(at * self.m.structure.community_households / np.maximum(per, 1.0), 1.0)
        return np.where(per > 0, scaled, at)

    def at_meeting(self, c: int, attendees: np.ndarray, day: int) -> int:
        m = self.m
        book = m.cases
        # Within delegated powers: attendees' requests still in the community, not proposals
        # that need sign-off.
        o = book.open_in(c)
        o = o[(book.cls[o] != APPROVAL) & ~OUTSIDE[book.level[o]]]
        mine = o[m.meetings.present[book.resident[o]]]  # attendees' cases
        mine = mine[: self.at("head_cases_per_meeting", c)]
        if len(mine) == 0:
            return 0
        p = m.institutions.fit[CENTRE, book.cls[mine]] * self.skill[c] / 0.6
        done = mine[m.rng.random(len(mine)) < np.minimum(p, 1.0)]
        self.tally.worked[c] += len(mine)  # (the resolved ones are counted by on_resolved)
        if len(done):
            m.resolve_cases(done, day, level=CENTRE)
            self.on_the_spot += len(done)
        return len(done)

    def capacity(self, cap, skill) -> None:
        h = self.m.handlers.slice(CENTRE)
        cap[h] = self.val("staff") * STAFF_HOURS * self.val("case_time_share") / HOURS_PER_CASE[CENTRE]
        skill[h] = self.skill / 0.6

    def on_resolved(self, idx, day) -> None:
        self.tally.count_resolved(idx)

    def end_day(self, day: int) -> None:
        m = self.m
        self.tally.count_worked_today()
        for c in due(day, self.val("appraisal_days"), self.C):
            if not self.on[c]:
                continue
            rating = self.tally.rating(c)
            if rating < self.at("replace_below", int(c)):
                self.replaced += 1
                self.skill[c] = float(np.clip(m.rng.normal(self.s.skill, 0.1), 0.05, 1.0))
            self.tally.reset(c)

    def metrics(self) -> dict[str, float]:
        return {"centre_meetings_convened": self.convened, "centre_on_the_spot": self.on_the_spot,
                "centre_heads_replaced": self.replaced}
