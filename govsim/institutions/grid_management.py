"""Grid management (网格化管理): grids with a leader, a manager and a police officer.

Brief section 1: the area is cut into grids; each has a grid leader, a grid manager (one
person gathering information, giving routine services and handling simple cases) and a grid
police officer. Cases are triaged into four classes by their kind (the case's class follows
from its category and severity, :mod:`govsim.cases`):

* general: the manager handles it on site (the grid is first in the general chain);
* coordination: taken back to the community (the committee is first);
* emergency: reported up at once, district departments act, and **the manager follows on
  site**: the case gets its first response the day it is known, and the officer on site
  raises the responders' chance (``onsite_gain``);
* approval: a **sequential sign-off**: the community accepts, the street reviews, the district
  approves; the decision is **posted publicly** in the building (its residents are informed,
  and their trust in the community moves with it).

Staff: ``grid_staff_per_grid`` people per grid (leader, manager, police officer by default),
paid by government. Their screening finds pending cases (the scenario's intensity for a
field-pilot grid of 3 staff and 364 households, more with more staff, less in bigger grids).

Performance is scored every ``scoring_days`` on complaints (cases leaving the community),
response rate and satisfaction of the parties; grids are ranked and the better half gets
performance pay (``performance_pay`` per staff), which raises their effort; the worse half's
effort falls.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from govsim.cases import GRID_SCREENING
from govsim.institutions.base import Institution
from govsim.regimes import APPROVAL, EMERGENCY, GRID, HOURS_PER_CASE, LEVELS, OUTSIDE, insert_level

STAFF_HOURS = 8.0
GRID_CASE_SHARE = 0.4  # share of grid workers' time spent handling cases (the rest screens)
ROLES = ("leader", "manager", "police")


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    onsite_gain: Annotated[float, Field(ge=0.0, le=5.0)] = 0.5
    scoring_days: Annotated[int, Field(ge=30, le=3650)] = 90
    performance_pay: Annotated[float, Field(ge=0.0, le=1e5)] = 1_000.0
    effort_step: Annotated[float, Field(ge=0.0, le=0.5)] = 0.1


class GridManagement(Institution):
    name = "grid_management"
    pilot = "grid_management"
    label = "Grid management"
    label_zh = "网格化管理"
    Settings = Settings
    per_community = True
    local_settings = frozenset({"onsite_gain", "performance_pay", "effort_step"})

    @classmethod
    def adjust_routing(cls, data):
        chains = dict(data.chains)
        chains["general"] = ("grid",) + tuple(lv for lv in chains["general"] if lv not in ("grid", "residents"))
        chains["coordination"] = tuple(lv for lv in chains["coordination"] if lv not in ("grid", "residents"))
        # Emergencies are reported up at once: the district acts (after any responder already
        # in the community); approvals: the community accepts, the street reviews, the district
        # approves.
        chains["emergency"] = insert_level(tuple(lv for lv in chains["emergency"] if lv != "street"), "district", ())
        first = chains["approval"][0] if not OUTSIDE[LEVELS.index(chains["approval"][0])] else "committee"
        chains["approval"] = (first, "street", "district")
        return data.model_copy(update={"chains": chains})

    def install(self) -> None:
        m = self.m
        p = m.scenario.pilots
        s = m.structure
        self.n = s.n_grids
        per = p.grid_staff_per_grid
        # Roles in order: leader, manager, police; extra staff are further managers.
        self.roles = {"leader": min(per, 1.0), "police": min(max(per - 1.0, 0.0), 1.0)}
        self.roles["manager"] = max(per - self.roles["leader"] - self.roles["police"], 0.0)
        self.workers = s.n_grids * per
        # Paid for the grids of the communities where it is on (``switched`` updates it).
        self._pay_staff()
        self.effort = np.ones(self.n)
        self.screening = float(min(1.0, p.grid_screening * (per / 3.0) * (364.0 / p.households_per_grid)))
        self.scores = np.full(self.n, np.nan)
        self.scorings = 0
        self.posted = 0
        m.onsite_gain = self.val("onsite_gain")

    def _pay_staff(self) -> None:
        s = self.m.structure
        self.staffed = self.workers * float(self.on[s.grid_community].mean()) if self.n else 0.0
        self.payroll("grid_workers", self.staffed, self.m.scenario.government.grid_wage_per_day)

    def switched(self, was) -> None:
        self._pay_staff()

    def settings_changed(self) -> None:
        self.m.onsite_gain = self.val("onsite_gain")

    def uninstall(self) -> None:
        super().uninstall()
        self.m.onsite_gain = 0.0
    def detection(self, pending):
        g = self.m.cases.grid[pending]
        return [(GRID_SCREENING, np.minimum(1.0, self.screening * self.effort[g]) * self.on[self.m.cases.community[pending]])]

    def on_detected(self, found, day: int) -> None:
        book = self.m.cases
        em = found[(book.cls[found] == EMERGENCY) & self.on[book.community[found]]]
        book.first_response(em, day)  # the manager (and the police officer) are on site
        book.onsite[em] = True

    def capacity(self, cap, skill) -> None:
        h = self.m.handlers.slice(GRID)
        per_grid = self.workers / max(self.n, 1)
        cap[h] = per_grid * STAFF_HOURS * GRID_CASE_SHARE / HOURS_PER_CASE[GRID] * self.effort \
            * self.on[self.m.structure.grid_community]

    def on_resolved(self, idx, day) -> None:
        m = self.m
        book = m.cases
        ap = idx[(book.cls[idx] == APPROVAL) & self.on[book.community[idx]]]
        if len(ap):  # public posting in the building of each approved proposal
            s = m.structure
            rows = np.concatenate([np.arange(s.building_start[b], s.building_start[b] + s.building_size[b])
                                   for b in np.unique(book.building[ap])])
            m.population.learn(rows, "trust_comm", 1.0, 0.02)
            self.posted += len(ap)

    def end_day(self, day: int) -> None:
        m = self.m
        if (day + 1) % self.s.scoring_days != 0:
            return
        book = m.cases
        n = book.size
        win = book.detected[:n] > day - self.s.scoring_days
        g = book.grid[:n]
        det = np.bincount(g, weights=win, minlength=self.n)
        left = np.bincount(g, weights=win & book.left_community[:n], minlength=self.n)
        fw = book.first_worked[:n]
        quick = np.bincount(g, weights=win & (fw >= 0) & (fw - book.detected[:n] <= 3), minlength=self.n)
        sat = np.bincount(m.structure.grid, weights=m.population.satisfaction, minlength=self.n) / np.maximum(
            np.bincount(m.structure.grid, minlength=self.n), 1)
        score = (1.0 - (left + 1) / (det + 2)) / 3 + (quick + 1) / (det + 2) / 3 + sat / 3
        gc = m.structure.grid_community
        if self.everywhere and not self._local_pay():
            self.scores = score
            top = score >= np.median(score)
            self.effort = np.clip(self.effort + np.where(top, 1, -1) * self.s.effort_step, 0.5, 1.5)
            pay = self.s.performance_pay * (self.workers / max(self.n, 1)) * top.sum()
        else:  # only the grids of the communities where it is on are scored, ranked and paid
            on = self.on[gc]
            if not on.any():
                return
            self.scores = np.where(on, score, np.nan)
            top = on & (score >= np.median(score[on]))
            step = self.per_c("effort_step", gc)
            self.effort = np.where(on, np.clip(self.effort + np.where(top, 1, -1) * step, 0.5, 1.5), self.effort)
            pay = float(np.sum(self.per_c("performance_pay", gc) * top)) * (self.workers / max(self.n, 1))
        if pay > 0:
            m.government.pay(pay, m.acct["labour"], "performance_pay")
        self.scorings += 1

    def _local_pay(self) -> bool:
        return ("grid_management", "performance_pay") in self._local or ("grid_management", "effort_step") in self._local

    def metrics(self) -> dict[str, float]:
        return {"grid_workers": float(self.staffed), "grid_scorings": self.scorings,
                "grid_effort": float(self.effort.mean()), "approvals_posted": self.posted}
