"""Administrative hierarchy: advisory committee > centre management committee > residents'
committee (Singapore-style, brief section 1).

Who decides and who answers to whom: the residents' committee is appointed from above and
answers upward. Every ``appraisal_days`` the centre management committee appraises it on
how fully it did the administrative tasks pushed down to it; a committee below
``reshuffle_below`` is reshuffled (new appointees, with their own skill and effort).
Residents' views do not enter: a committee that serves residents badly but files its
reports keeps its post.

Because its appraisal rewards upward work, the committee spends ``upward_share`` of its free
hours on reports, inspections and campaigns for the hierarchy (the multitasking problem of
an agent appraised on one task): those hours are not spent on residents' cases.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from govsim.institutions.base import Institution, due


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    appraisal_days: Annotated[int, Field(ge=30, le=3650)] = 90
    reshuffle_below: Annotated[float, Field(ge=0.0, le=1.0)] = 0.8
    upward_share: Annotated[float, Field(ge=0.0, le=0.9)] = 0.5


class AdminHierarchy(Institution):
    name = "admin_hierarchy"
    label = "Administrative hierarchy (appointed committee, upward appraisal)"
    label_zh = "行政层级（顾问委员会—中心管理委员会—居委会）"
    Settings = Settings
    per_community = True
    local_settings = frozenset({"appraisal_days", "reshuffle_below", "upward_share"})

    def install(self) -> None:
        self.refresh()
        self.completion_sum = np.zeros(self.C)
        self.days = np.zeros(self.C)
        self.appraisals = 0
        self.reshuffles = 0

    def refresh(self) -> None:
        for c, com in enumerate(self.m.committees):
            com.upward_share = self.at("upward_share", c) if self.on[c] else 0.0

    def uninstall(self) -> None:
        super().uninstall()
        for com in self.m.committees:
            com.upward_share = 0.0

    def end_day(self, day: int) -> None:
        m = self.m
        self.completion_sum += [c.admin_completion for c in m.committees]
        self.days += 1
        for c in due(day, self.val("appraisal_days"), self.C):
            if not self.on[c]:
                continue
            score = self.completion_sum[c] / max(self.days[c], 1)
            self.appraisals += 1
            if score < self.at("reshuffle_below", int(c)):
                self.reshuffles += 1
                m.committees[c].replace_members(m.rng, day)
            self.completion_sum[c] = 0.0
            self.days[c] = 0

    def metrics(self) -> dict[str, float]:
        return {"hierarchy_appraisals": self.appraisals, "hierarchy_reshuffles": self.reshuffles}
