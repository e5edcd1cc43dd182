"""Government appraisal of committees: money and authority follow the score.

Brief section 5: government "evaluates" communities; grid leaders and police are scored "on
complaint counts, response rate and satisfaction of the parties; results are ranked and feed
performance pay"; "power and money follow the task". Every ``appraisal_days`` each
community's committee is scored on

* complaints: hotline calls and cases escalated out of the community, per 100 households;
* response: the share of the window's detected cases first worked within three days;
* satisfaction of its residents (mean);

weighted by ``weights`` (complaints, response, satisfaction). A score above ``reward_above``
moves the community one funding tier up (its operating fund is paid at a higher factor from
the next quarter, so it can hire more hours) and widens its delegated authority (its skill on
coordination and approval cases); below ``penalise_below`` both move down.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from govsim.cases import HOTLINE
from govsim.institutions.base import Institution, due

TIER_STEP = 0.25
TIER_RANGE = (0.5, 1.5)
AUTHORITY_STEP = 0.1
AUTHORITY_RANGE = (0.7, 1.3)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    appraisal_days: Annotated[int, Field(ge=30, le=3650)] = 90
    weights: tuple[float, float, float] = (0.4, 0.3, 0.3)
    reward_above: Annotated[float, Field(ge=0.0, le=1.0)] = 0.65
    penalise_below: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5


class GovernmentAppraisal(Institution):
    name = "government_appraisal"
    label = "Government appraisal (funding tier and delegated authority)"
    label_zh = "政府考核（经费档次与授权）"
    Settings = Settings
    per_community = True
    local_settings = frozenset({"appraisal_days", "reward_above", "penalise_below"})

    def install(self) -> None:
        w = np.clip(np.asarray(self.s.weights, dtype=float), 0.0, None)
        self.w = w / w.sum() if w.sum() > 0 else np.full(3, 1.0 / 3.0)
        self.last = 0
        self.scores = np.full(self.C, np.nan)
        self.ups = 0
        self.downs = 0

    def end_day(self, day: int) -> None:
        m = self.m
        ad = self.val("appraisal_days")
        todo = due(day, ad, self.C)
        if not self.everywhere:
            todo = todo[self.on[todo]]
        if len(todo) == 0:
            return
        book = m.cases
        start = day - ad
        # Only the cases of the communities appraised today (their counts are the same
        # integers as over the whole table; the other communities' scores are not read).
        cases = m.community_cases(int(todo[0]))
        if len(todo) > 1:
            cases = np.sort(np.concatenate([cases, *(m.community_cases(int(c)) for c in todo[1:])]))
        comm = book.community[cases]
        detected = book.detected[cases]
        channel = book.channel[cases]
        win = detected > (start[comm] if np.ndim(start) else start)
        hot = np.bincount(comm, weights=win & (channel == HOTLINE), minlength=self.C)
        left = np.bincount(comm, weights=win & book.left_community[cases] & (channel != HOTLINE),
                           minlength=self.C)
        per100 = (hot + left) / np.maximum(m.structure.community_households / 100.0, 1e-9)
        complaints = 1.0 / (1.0 + per100 / 10.0)
        fw = book.first_worked[cases]
        quick = np.bincount(comm, weights=win & (fw >= 0) & (fw - detected <= 3), minlength=self.C)
        response = (quick + 1.0) / (np.bincount(comm, weights=win, minlength=self.C) + 2.0)
        sat = m.attitudes.community_satisfaction
        score = self.w[0] * complaints + self.w[1] * response + self.w[2] * sat
        for c in todo:
            self.scores[c] = score[c]
            com = m.committees[c]
            if score[c] > self.at("reward_above", int(c)):
                com.fund_factor = min(TIER_RANGE[1], com.fund_factor + TIER_STEP)
                com.authority = min(AUTHORITY_RANGE[1], com.authority + AUTHORITY_STEP)
                self.ups += 1
            elif score[c] < self.at("penalise_below", int(c)):
                com.fund_factor = max(TIER_RANGE[0], com.fund_factor - TIER_STEP)
                com.authority = max(AUTHORITY_RANGE[0], com.authority - AUTHORITY_STEP)
                self.downs += 1

    def metrics(self) -> dict[str, float]:
        return {"appraisal_promotions": self.ups, "appraisal_demotions": self.downs,
                "appraisal_score": float(np.nanmean(self.scores)) if np.isfinite(self.scores).any() else float("nan")}
