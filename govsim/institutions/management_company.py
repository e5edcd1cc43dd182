"""A professional management company, hired by the elected board under contract.

Brief: in the US-style model the community organisation "hires the property management
company"; elderly homes are "entrusted to professional management firms by public tender"
and appraised by an elected body. The board tenders the contract (bids differ in quality
and price; the board takes the best quality per yuan); households pay the company a monthly
property fee (those that pay the board, where dues are levied: the same free-riding), so the
company is as big as what residents pay; the board reviews the company
every ``review_days`` on how the cases it handled ended. A company rated below
``fire_below`` loses the contract and a new tender is held.

It maintains the estate: a company staffed at ``staff_per_100_households`` (and of reference
quality) prevents ``upkeep_relief`` of the sanitation, parking and repairs needs, less in
proportion when it is thinner. The company is put in the general chain right after
residents' own efforts. It serves the
households that pay the board first: non-paying households' cases
at the company are worked with ``non_member_access`` of the usual chance.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from govsim.cases import N_NEED_CATEGORIES, PROPERTY_CATEGORIES, SANITATION
from govsim.finance import is_month_start
from govsim.institutions.base import Institution, LevelTally, due
from govsim.regimes import COMPANY, HOURS_PER_CASE, insert_after

REFERENCE_QUALITY = 0.65
STAFF_HOURS = 8.0
BIDS = 3


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    fee_per_household_month: Annotated[float, Field(ge=0.0, le=2_000.0)] = 20.0
    wage_per_day: Annotated[float, Field(ge=1.0, le=5_000.0)] = 170.0
    quality: Annotated[float, Field(ge=0.05, le=1.0)] = 0.6
    case_time_share: Annotated[float, Field(ge=0.0, le=1.0)] = 0.6
    review_days: Annotated[int, Field(ge=30, le=3650)] = 180
    fire_below: Annotated[float, Field(ge=0.0, le=1.0)] = 0.55
    non_member_access: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    upkeep_relief: Annotated[float, Field(ge=0.0, le=1.0)] = 0.4
    staff_per_100_households: Annotated[float, Field(gt=0.0, le=10.0)] = 0.3


class ManagementCompany(Institution):
    name = "management_company"
    label = "Management company under contract to the board"
    label_zh = "物业服务企业（业委会聘用）"
    Settings = Settings
    per_community = True
    local_settings = frozenset({"fee_per_household_month", "review_days", "fire_below", "upkeep_relief"})

    @classmethod
    def adjust_routing(cls, data):
        chains = dict(data.chains)
        chains["general"] = insert_after(chains["general"], "company", ("residents",))
        return data.model_copy(update={"chains": chains})

    def install(self) -> None:
        m = self.m
        self.account = m.ledger.open_many("company", self.C)
        self.quality = np.zeros(self.C)
        self.staff = np.zeros(self.C)
        self.tenders = 0
        self.terminations = 0
        self.review_log: list[tuple[int, int, float, bool]] = []
        for c in range(self.C):
            self._tender(c)
        self.tally = LevelTally(m, COMPANY)
        m.restrict_access(COMPANY, non_member=self.s.non_member_access)
        self.head = m.structure.household_first  # a resident of each household

    def _tender(self, c: int) -> None:
        rng = self.m.rng
        q = np.clip(rng.normal(self.s.quality, 0.12, BIDS), 0.05, 1.0)
        price = np.clip(rng.normal(1.0, 0.15, BIDS), 0.6, 1.5)
        self.quality[c] = q[np.argmax(q / price)]
        self.tenders += 1

    def begin_day(self, day: int) -> None:
        m = self.m
        if is_month_start(day):
            # Households that pay (the board's members where dues are levied) pay the fee.
            paying = np.bincount(m.structure.hh_community, weights=m.member[self.head], minlength=self.C)
            fee = self.val("fee_per_household_month") * paying
            if not self.everywhere:
                fee = fee * self.on  # no company, no fees there
            paid = m.ledger.transfer(m.acct["residents"], self.account, fee, "company_fees", allow_overdraft=True)
            self.staff = paid / (self.s.wage_per_day * 365.0 / 12.0)
            # Upkeep: a staffed company maintains the estate and prevents property needs.
            norm = self.s.staff_per_100_households * m.structure.community_households / 100.0
            cover = np.minimum(1.0, self.staff / np.maximum(norm, 1e-9)) * np.minimum(1.0, self.quality / REFERENCE_QUALITY)
            relief = np.zeros((self.C, N_NEED_CATEGORIES))
            for cat in (*PROPERTY_CATEGORIES, SANITATION):
                relief[:, cat] = self.val("upkeep_relief") * cover
            m.set_need_relief(self.name, relief)
        m.ledger.transfer(self.account, m.acct["labour"], np.minimum(
            self.staff * self.s.wage_per_day, m.ledger.balance[self.account]), "company_wages")

    def switched(self, was) -> None:
        self.staff = self.staff * self.on  # the contract ends where it is switched off

    def capacity(self, cap: np.ndarray, skill: np.ndarray) -> None:
        h = self.m.handlers.slice(COMPANY)
        cap[h] = self.staff * STAFF_HOURS * self.s.case_time_share / HOURS_PER_CASE[COMPANY]
        skill[h] = self.quality / REFERENCE_QUALITY

    def on_resolved(self, idx: np.ndarray, day: int) -> None:
        self.tally.count_resolved(idx)

    def end_day(self, day: int) -> None:
        self.tally.count_worked_today()
        for c in due(day, self.val("review_days"), self.C):
            if not self.on[c]:
                continue
            rating = self.tally.rating(c)
            fired = rating < self.at("fire_below", int(c))
            self.review_log.append((day, int(c), rating, fired))
            if fired:
                self.terminations += 1
                self._tender(int(c))
            self.tally.reset(c)

    def metrics(self) -> dict[str, float]:
        return {"company_tenders": self.tenders, "company_terminations": self.terminations,
                "company_quality": float(self.quality.mean())}
