"""Resident dues: the elected board's budget comes from what households choose to pay.

Self-governing communities (brief section 1) have no government base organisation: the
board's money is residents' dues (plus donations). Each quarter every household decides
whether to pay (:mod:`govsim.contributions`: reciprocity, monitoring, identity, price
against means), so the board of a poorer community, or one where neighbours free-ride,
has less to spend: fewer hired hours and a thinner management-company contract. This is
the regime's under-resourcing risk, and where service depends on payment (the management
company serves paying households first) it is also its uneven-service risk.

The board has budget authority: at the open residents' meeting it decides, on the spot, to
pay for fixing the needs attendees bring (``fix_cost`` each, up to ``fixes_per_meeting``,
while its account lasts). Residents come to meetings that decide.

Residents also give time: every ``work_day_interval_days`` the board calls a work day
(clean-ups, repairs of shared spaces) of ``work_day_hours``; households come by the same
public-goods decision, with their time as the price. What they do prevents sanitation needs
for the month, in proportion to the share of households that came (``work_day_relief``).
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from govsim.cases import N_NEED_CATEGORIES, NEED
from govsim.contributions import Contributions
from govsim.finance import is_month_start
from govsim.institutions.base import Institution, due
from govsim.regimes import COMMITTEE, OUTSIDE

QUARTER = 91


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    fee_per_month: Annotated[float, Field(ge=0.0, le=2_000.0)] = 30.0
    fix_cost: Annotated[float, Field(ge=0.0, le=1e6)] = 400.0
    fixes_per_meeting: Annotated[int, Field(ge=0, le=500)] = 10
    work_day_interval_days: Annotated[int, Field(ge=7, le=365)] = 30
    work_day_hours: Annotated[float, Field(ge=0.5, le=12.0)] = 3.0
    work_day_relief: Annotated[float, Field(ge=0.0, le=1.0)] = 0.6


class ResidentDues(Institution):
    name = "resident_dues"
    label = "Resident dues fund the elected board"
    label_zh = "居民缴费（会费）"
    Settings = Settings

    def install(self) -> None:
        m = self.m
        self.contrib = Contributions(m, self.s.fee_per_month)
        self.contrib.decide(m.rng)
        m.set_members(self.contrib.resident_pays())
        self.account = m.ledger.index["residents"]
        self.collected = 0.0
        self.fixes = 0
        self.work_day_people = 0
        self.relief = np.zeros((self.C, N_NEED_CATEGORIES))
        for com in m.committees:  # the board keeps money back for the fixes it decides at meetings
            com.reserve += self.s.fix_cost * self.s.fixes_per_meeting
    def begin_day(self, day: int) -> None:
        m = self.m
        if day % QUARTER == 0 and day > 0:
            self.contrib.decide(m.rng)
            m.set_members(self.contrib.resident_pays())
        self._work_days(day)
        if is_month_start(day):
            rev = self.contrib.revenue(1.0)
            accts = [c.account for c in m.committees]
            paid = m.ledger.transfer(self.account, accts, rev, "resident_dues", allow_overdraft=True)
            self.collected += float(paid.sum())

    def _work_days(self, day: int) -> None:
        m = self.m
        todo = due(day, self.s.work_day_interval_days, self.C)
        if len(todo) == 0:
            return
        came = self.contrib.volunteer_time(m.rng, self.s.work_day_hours, todo)
        m.population.mark_active(came, day, "volunteer_days", self.s.work_day_hours)
        self.work_day_people += len(came)
        share = np.bincount(m.structure.community[came], minlength=self.C) / np.maximum(
            m.structure.community_households, 1)
        self.relief[todo] = 0.0
        self.relief[todo, 0] = self.s.work_day_relief * share[todo]  # sanitation needs prevented
        m.set_need_relief(self.name, self.relief)

    def at_meeting(self, c: int, attendees, day: int) -> int:
        """The board decides at the open meeting: it pays, from the dues, to fix the needs
        attendees bring (up to ``fixes_per_meeting``, while its account lasts)."""
        m = self.m
        book = m.cases
        o = book.open_idx
        o = o[(book.community[o] == c) & (book.kind[o] == NEED) & ~OUTSIDE[book.level[o]]]
        mine = o[m.meetings.present[book.resident[o]]]  # attendees' cases
        com = m.committees[c]
        afford = int(m.ledger.balance[com.account] // self.s.fix_cost) if self.s.fix_cost > 0 else len(mine)
        mine = mine[: max(0, min(self.s.fixes_per_meeting, afford))]
        if len(mine) == 0:
            return 0
        if self.s.fix_cost > 0:
            m.ledger.transfer(com.account, m.acct["suppliers"], self.s.fix_cost * len(mine), "board_fixes")
        self.fixes += len(mine)
        return len(m.resolve_cases(mine, day, level=COMMITTEE))

    def metrics(self) -> dict[str, float]:
        return {"board_fixes": self.fixes, "work_day_participants": self.work_day_people, "dues_collected": self.collected, "dues_paying_share": float(self.contrib.paying.mean())}
