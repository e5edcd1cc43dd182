"""Disaster-prevention bodies at every level, with regular drills (hybrid / Japan-style).

Brief: "disaster-prevention bodies at every level, from district to community centre;
signage; regular drills with residents". Every ``drill_interval_days`` each community holds
a drill; residents take part by the same participation choice as a meeting. Preparedness is
the share of adults who drilled in the last year (it fades as drills are missed). In an
emergency, a prepared community

* notices it sooner: drilled residents and the local body report emergencies (a detection
  channel, chance ``detect_per_preparedness`` x preparedness);
* responds on site the day it is known (the case's first response is that day);
* resolves it better: every responder's chance on emergency cases is raised by
  ``response_gain`` x preparedness (people know what to do, signage, routes).

Drills cost ``drill_cost`` each, paid by government.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from govsim.cases import DRILLED
from govsim.institutions.base import Institution, due
from govsim.population import sigmoid
from govsim.regimes import EMERGENCY

PREPAREDNESS_MEMORY = 365


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    drill_interval_days: Annotated[int, Field(ge=7, le=3650)] = 90
    drill_cost: Annotated[float, Field(ge=0.0, le=1e6)] = 3_000.0
    detect_per_preparedness: Annotated[float, Field(ge=0.0, le=1.0)] = 0.8
    response_gain: Annotated[float, Field(ge=0.0, le=5.0)] = 1.5


class DisasterBodies(Institution):
    name = "disaster_bodies"
    label = "Disaster-prevention bodies and drills"
    label_zh = "防灾组织与演练"
    Settings = Settings
    per_community = True
    local_settings = frozenset({"drill_interval_days", "drill_cost", "detect_per_preparedness", "response_gain"})

    def install(self) -> None:
        self.last_drill = np.full(self.m.population.n, -10_000, dtype=np.int32)
        self.preparedness = np.zeros(self.C)
        self.drills = 0
        self.drilled = 0

    def begin_day(self, day: int) -> None:
        m = self.m
        pop = m.population
        b = m.scenario.behaviour
        for c in due(day, self.val("drill_interval_days"), self.C):
            if not self.on[c]:
                continue
            rows = m.community_rows(int(c))
            take = rows[m.rng.random(len(rows)) < sigmoid(pop.logit(rows, b.attend_base + 1.0, b.meeting_hours))]
            pop.mark_active(take, day, "meetings", b.meeting_hours)
            self.last_drill[take] = day
            self.drills += 1
            self.drilled += len(take)
            cost = self.at("drill_cost", int(c))
            if cost > 0:
                m.government.pay(cost, m.acct["suppliers"], "drills")
            recent = (day - self.last_drill[rows]) < PREPAREDNESS_MEMORY
            self.preparedness[c] = float(recent.mean()) if len(rows) else 0.0
        if not self.everywhere:
            self.preparedness[~self.on] = 0.0  # no bodies, no drills there
        m.emergency_gain[:] = 1.0 + self.val("response_gain") * self.preparedness

    def switched(self, was) -> None:
        self.preparedness[~self.on] = 0.0
        self.m.emergency_gain[:] = 1.0 + self.val("response_gain") * self.preparedness

    def uninstall(self) -> None:
        super().uninstall()
        self.m.emergency_gain[:] = 1.0

    def detection(self, pending):
        m = self.m
        book = m.cases
        c = book.community[pending]
        p = self.per_c("detect_per_preparedness", c) * self.preparedness[c]
        return [(DRILLED, np.where(book.cls[pending] == EMERGENCY, p, 0.0))]

    def on_detected(self, found, day: int) -> None:
        book = self.m.cases
        em = found[(book.cls[found] == EMERGENCY) & (self.preparedness[book.community[found]] > 0)]
        book.first_response(em, day)

    def metrics(self) -> dict[str, float]:
        return {"drills": self.drills, "drill_participants": self.drilled,
                "preparedness": float(self.preparedness.mean())}
