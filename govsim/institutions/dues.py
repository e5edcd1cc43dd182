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
    per_community = True
    local_settings = frozenset({"fix_cost", "fixes_per_meeting", "work_day_interval_days", "work_day_relief"})

    def install(self) -> None:
        m = self.m
        self.contrib = Contributions(m, self.s.fee_per_month)
        self.contrib.decide(m.rng)
        self._members()
        self.account = m.ledger.index["residents"]
        self.collected = 0.0
        self.fixes = 0
        self.work_day_people = 0
        self.relief = np.zeros((self.C, N_NEED_CATEGORIES))
        self.reserved = np.zeros(self.C)  # what each board keeps back for the fixes it decides
        self._reserve()

    def _members(self) -> None:
        """Members are the paying households' residents; where there are no dues everyone
        counts as a member (no one is served second)."""
        pays = self.contrib.resident_pays()
        self.m.set_members(pays if self.everywhere else pays | ~self.on[self.m.structure.community])

    def _reserve(self) -> None:
        for c, com in enumerate(self.m.committees):  # the board keeps money back for its fixes
            r = self.at("fix_cost", c) * self.at("fixes_per_meeting", c) if self.on[c] else 0.0
            if r != self.reserved[c]:
                com.reserve += r - self.reserved[c]
                self.reserved[c] = r

    def switched(self, was) -> None:
        self._members()
        self._reserve()

    def settings_changed(self) -> None:
        self._reserve()

    def uninstall(self) -> None:
        super().uninstall()
        self.on[:] = False
        self._members()
        self._reserve()

    def begin_day(self, day: int) -> None:
        m = self.m
        if day % QUARTER == 0 and day > 0:
            self.contrib.decide(m.rng)
            self._members()
        self._work_days(day)
        if is_month_start(day):
            rev = self.contrib.revenue(1.0)
            if not self.everywhere:
                rev = rev * self.on  # no dues there
            accts = [c.account for c in m.committees]
            paid = m.ledger.transfer(self.account, accts, rev, "resident_dues", allow_overdraft=True)
            self.collected += float(paid.sum())

    def _work_days(self, day: int) -> None:
        m = self.m
        todo = due(day, self.val("work_day_interval_days"), self.C)
        if not self.everywhere:
            todo = todo[self.on[todo]]
        if len(todo) == 0:
            return
        came = self.contrib.volunteer_time(m.rng, self.s.work_day_hours, todo)
        m.population.mark_active(came, day, "volunteer_days", self.s.work_day_hours)
        self.work_day_people += len(came)
        share = np.bincount(m.structure.community[came], minlength=self.C) / np.maximum(
            m.structure.community_households, 1)
        self.relief[todo] = 0.0
        self.relief[todo, 0] = self.per_c("work_day_relief", todo) * share[todo]  # sanitation needs prevented
        m.set_need_relief(self.name, self.relief)

    def at_meeting(self, c: int, attendees, day: int) -> int:
        """The board decides at the open meeting: it pays, from the dues, to fix the needs
        attendees bring (up to ``fixes_per_meeting``, while its account lasts)."""
        m = self.m
        book = m.cases
        o = book.open_in(c)
        o = o[(book.kind[o] == NEED) & ~OUTSIDE[book.level[o]]]
        mine = o[m.meetings.present[book.resident[o]]]  # attendees' cases
        com = m.committees[c]
        fix_cost = self.at("fix_cost", c)
        afford = int(m.ledger.balance[com.account] // fix_cost) if fix_cost > 0 else len(mine)
        mine = mine[: max(0, min(self.at("fixes_per_meeting", c), afford))]
        if len(mine) == 0:
            return 0
        if fix_cost > 0:
            m.ledger.transfer(com.account, m.acct["suppliers"], fix_cost * len(mine), "board_fixes")
        self.fixes += len(mine)
        return len(m.resolve_cases(mine, day, level=COMMITTEE))

    def metrics(self) -> dict[str, float]:
        return {"board_fixes": self.fixes, "work_day_participants": self.work_day_people, "dues_collected": self.collected, "dues_paying_share": float(self.contrib.paying.mean())}
