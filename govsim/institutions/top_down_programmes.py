"""Top-down programmes: government decides what the community needs and provides it.

Brief: government-led communities get "direct, detailed intervention"; "heavy intervention
lowers residents' initiative" (mechanism 6). Each quarter the government picks the need
categories most reported across the whole area (not what each community's residents would
choose) and runs programmes in every community that prevent a share of those needs
(``coverage`` scaled by the regime's ``intervention_intensity``), at ``cost_per_programme``
each. Residents reached by a programme did not ask or decide: their dependency on
government grows with the exposure, which lowers their disposition to take part (the
participation logit's dependency term). Compare the participatory budget, where residents
vote on the projects and gain efficacy and voice.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from govsim.cases import N_NEED_CATEGORIES, NEED
from govsim.institutions.base import Institution

QUARTER = 91


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    programmes_per_quarter: Annotated[int, Field(ge=0, le=5)] = 2
    coverage: Annotated[float, Field(ge=0.0, le=1.0)] = 0.35
    cost_per_programme: Annotated[float, Field(ge=0.0, le=1e7)] = 20_000.0
    dependency_exposure: Annotated[float, Field(ge=0.0, le=1.0)] = 0.05


class TopDownProgrammes(Institution):
    name = "top_down_programmes"
    label = "Top-down government programmes"
    label_zh = "政府自上而下项目"
    Settings = Settings
    per_community = True
    local_settings = frozenset({"coverage", "cost_per_programme"})

    def install(self) -> None:
        self.programmes = 0
        self.chosen = np.empty(0, dtype=np.int64)

    def begin_day(self, day: int) -> None:
        m = self.m
        if day % QUARTER != 0 or self.s.programmes_per_quarter == 0:
            return
        book = m.cases
        n = book.size
        recent = (book.arisen[:n] > day - QUARTER) & (book.kind[:n] == NEED)
        demand = np.bincount(book.category[:n][recent], minlength=N_NEED_CATEGORIES)[:N_NEED_CATEGORIES]
        if day == 0:
            demand = m.need_category_p.copy()
        order = np.argsort(-demand, kind="stable")[: self.s.programmes_per_quarter]
        self.chosen = order
        relief = np.zeros((self.C, N_NEED_CATEGORIES))
        pop = m.population
        local = any(k[0] == self.name for k in self._local)
        if self.everywhere and not local:
            relief[:, order] = self.s.coverage * m.institutions.data.intervention_intensity
            cost = self.s.cost_per_programme * len(order) * self.C
            self.programmes += len(order) * self.C
            reached = np.arange(pop.n)
        else:  # programmes run only in the communities where it is on
            cov = np.broadcast_to(self.val("coverage"), (self.C,)) * self.on
            relief[:, order] = (cov * m.institutions.data.intervention_intensity)[:, None]
            cost = float(np.sum(np.broadcast_to(self.val("cost_per_programme"), (self.C,)) * self.on)) * len(order)
            self.programmes += len(order) * int(self.on.sum())
            reached = np.flatnonzero(self.on[m.structure.community])
        m.set_need_relief(self.name, relief)
        if cost > 0:
            m.government.pay(cost, m.acct["suppliers"], "government_programmes")
        # Exposure: everyone reached is served without being asked.
        pop.learn(reached, "dependency", 1.0,
                  self.s.dependency_exposure * m.institutions.data.intervention_intensity * len(order))

    def metrics(self) -> dict[str, float]:
        return {"government_programmes": self.programmes}
