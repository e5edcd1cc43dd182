"""Party-led co-governance, "one core, many actors" (Zhaoshang).

Brief: a community party committee convenes a co-governance board of the residents'
committee, resident units (firms, schools) and social organisations; it trains and appraises
community workers; it helps elect a new owners' committee where re-election has stalled.
Here the board meets every ``board_interval_days`` and takes up to ``cases_per_meeting`` of
the community's open coordination cases that need several actors at once (those waiting in
the community), resolving each with the council's chance for coordination; party members are
mobilised as volunteers (their recruitment logit gets ``mobilisation``); and stalled owners'
committees are revived at the board meeting.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from govsim.institutions.base import Institution, due
from govsim.regimes import COMMITTEE, COORDINATION, COUNCIL, OUTSIDE


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    board_interval_days: Annotated[int, Field(ge=7, le=365)] = 30
    cases_per_meeting: Annotated[int, Field(ge=0, le=500)] = 10
    mobilisation: Annotated[float, Field(ge=0.0, le=5.0)] = 1.0


class PartyCoGovernance(Institution):
    name = "party_co_governance"
    pilot = "party_co_governance"
    label = "Party-led co-governance board"
    label_zh = "党建引领“一核多元”共治"
    Settings = Settings
    per_community = True
    local_settings = frozenset({"board_interval_days", "cases_per_meeting", "mobilisation"})

    def install(self) -> None:
        self.refresh()
        self.meetings = 0
        self.resolved = 0

    def refresh(self) -> None:
        """Party members are mobilised as volunteers where the board acts."""
        mob = self.val("mobilisation")
        self.m.volunteers.party_bonus = mob if self.everywhere and np.ndim(mob) == 0 else \
            np.broadcast_to(mob, (self.C,)) * self.on

    def uninstall(self) -> None:
        super().uninstall()
        self.m.volunteers.party_bonus = 0.0

    def begin_day(self, day: int) -> None:
        m = self.m
        book = m.cases
        for c in due(day, self.val("board_interval_days"), self.C):
            if not self.on[c]:
                continue
            self.meetings += 1
            m.revive_owners(int(c))
            o = book.open_in(c)
            on = o[(book.cls[o] == COORDINATION) & ~OUTSIDE[book.level[o]]]
            on = on[: self.at("cases_per_meeting", int(c))]
            if len(on) == 0:
                continue
            p = m.institutions.fit[COUNCIL, COORDINATION] * m.committees[int(c)].skill / 0.6
            done = on[m.rng.random(len(on)) < min(p, 1.0)]
            if len(done):
                m.resolve_cases(done, day, level=COMMITTEE)
                self.resolved += len(done)

    def metrics(self) -> dict[str, float]:
        return {"co_governance_meetings": self.meetings, "co_governance_resolved": self.resolved}
