"""De-administration with NGO partners (Shenzhen Zhaoshang): services bought under contract.

Brief: a social-work organisation runs the community service centre under contract; 159
administrative tasks were merged into 15 contracted projects (``outsourced_task_share`` of
the push-down leaves the committee and the dispatched staff); about 20% of street spending
buys services from social organisations (``contract_share``); no temporary staff. The
residents' committee supervises the contractors (its free hours; unsupervised quality
drifts down).

Contracts are **tendered** among the community's social-work organisations and new bidders:
each bid has a quality and a price, and the contract goes to the best quality per yuan. The
contractor is **evaluated** every ``evaluation_days`` on how the cases it handled ended (and
its quality); a contractor rated below ``terminate_below`` loses the contract at once, and at
the end of each ``term_days`` one rated below ``renew_above`` is not renewed: a new tender is
held and the old organisation loses the contract income (it shrinks to what it can pay).
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from govsim.finance import is_month_start
from govsim.institutions.base import Institution, LevelTally, due
from govsim.regimes import HOURS_PER_CASE, NGO, insert_level

BIDDERS = 3


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    term_days: Annotated[int, Field(ge=30, le=3650)] = 365
    evaluation_days: Annotated[int, Field(ge=30, le=3650)] = 90
    terminate_below: Annotated[float, Field(ge=0.0, le=1.0)] = 0.35
    renew_above: Annotated[float, Field(ge=0.0, le=1.0)] = 0.55


class NgoOutsourcing(Institution):
    name = "ngo_outsourcing"
    pilot = "ngo_outsourcing"
    label = "NGO outsourcing (tendered service contracts)"
    label_zh = "政府购买服务（社工机构承接）"
    Settings = Settings
    per_community = True
    local_settings = frozenset({"evaluation_days", "terminate_below", "renew_above"})

    @classmethod
    def adjust_routing(cls, data):
        chains = dict(data.chains)
        chains["general"] = insert_level(chains["general"], "ngo", ("committee", "street", "district"))
        return data.model_copy(update={"chains": chains, "ngo_support": max(data.ngo_support, 0.8)})

    def configure(self) -> None:
        p = self.m.scenario.pilots
        if self.everywhere:
            self.m.government.outsource(p.outsourced_task_share)
        else:
            self.m.government.outsource_in(p.outsourced_task_share, self.on, self.m.committees)

    def install(self) -> None:
        m = self.m
        m.government.set_contract_share(m.scenario.pilots.contract_share)
        self.budget = m.government.contract_budget.copy()  # where it is on
        if not self.everywhere:
            m.government.contract_budget = self.budget * self.on
        self.contractor: list = [None] * self.C
        self.tenders = 0
        self.terminations = 0
        self.renewals = 0
        self.log: list[tuple[int, int, float, bool]] = []  # day, community, rating, ended
        self.tally = LevelTally(m, NGO)
        self.ratings: list[list[float]] = [[] for _ in range(self.C)]
        for c in range(self.C):
            if self.on[c]:
                self._tender(c)

    def switched(self, was) -> None:
        """Switched on or off in some communities: contracts, push-down and temporary staff
        follow (a new contract is tendered where it is switched on)."""
        m = self.m
        m.government.outsource_in(m.scenario.pilots.outsourced_task_share, self.on, m.committees)
        m.government.contract_budget = self.budget * self.on
        for c in np.flatnonzero(self.on & ~was):
            self._tender(int(c))
        for c in np.flatnonzero(was & ~self.on):
            com = m.committees[c]
            com.supervision_hours = 0.0
            com.plan_day()
            self.contractor[c] = None

    def _tender(self, c: int) -> None:
        m = self.m
        p = m.scenario.ngos
        incumbents = [n for n in m.ngos_by_community[c] if n.kind == "social_work" and n is not self.contractor[c]]
        q = [n.quality for n in incumbents] + list(np.clip(m.rng.normal(p.quality, 0.1, BIDDERS), 0.05, 1.0))
        price = np.clip(m.rng.normal(1.0, 0.15, len(q)), 0.6, 1.5)
        best = int(np.argmax(np.asarray(q) / price))
        if best < len(incumbents):
            ngo = incumbents[best]
        else:
            staff = m.government.contract_budget[c] / 365.0 / max(p.wage_per_day, 1e-9)
            ngo = m.add_ngo(c, kind="social_work", staff=max(staff, p.initial_staff))
            ngo.base_quality = ngo.quality = float(q[best])
        self.contractor[c] = ngo
        self.tenders += 1
        self.ratings[c] = []

    def begin_day(self, day: int) -> None:
        m = self.m
        if not is_month_start(day):
            return
        gov = m.government
        sp = m.scenario.ngos.supervision_share
        for c in range(self.C):
            ngo = self.contractor[c]
            if ngo is None:
                continue
            if gov.contract_budget[c] > 0:
                paid = gov.pay(gov.contract_budget[c] / 12.0, ngo.account, "ngo_contracts")
                ngo.contract_income += float(paid.sum())
                ngo.income_month += float(paid.sum())
            com = m.committees[c]
            need = sp * ngo.staff * 8.0
            com.supervision_hours = need
            com.plan_day()
            available = max(0.0, com.staff_hours - com.admin_hours)
            ngo.supervised = min(1.0, available / need) if need > 0 else 1.0

    def capacity(self, cap, skill) -> None:
        h = self.m.handlers.slice(NGO)
        cap[h] = np.maximum(0.0, cap[h] - self.m.government.outsourced_admin_hours / HOURS_PER_CASE[NGO])

    def on_resolved(self, idx, day) -> None:
        self.tally.count_resolved(idx)

    def end_day(self, day: int) -> None:
        self.tally.count_worked_today()
        for c in due(day, self.val("evaluation_days"), self.C):
            ngo = self.contractor[c]
            if ngo is None:
                continue
            rating = 0.5 * self.tally.rating(c) + 0.5 * ngo.quality
            self.ratings[c].append(rating)
            self.tally.reset(c)
            end_of_term = len(self.ratings[c]) * self.at("evaluation_days", int(c)) >= self.s.term_days
            ended = rating < self.at("terminate_below", int(c)) or (
                end_of_term and np.mean(self.ratings[c]) < self.at("renew_above", int(c)))
            self.log.append((day, int(c), rating, bool(ended)))
            if ended:
                self.terminations += 1
                self._tender(int(c))
            elif end_of_term:
                self.renewals += 1
                self.ratings[c] = []

    def metrics(self) -> dict[str, float]:
        return {"contract_tenders": self.tenders, "contract_terminations": self.terminations,
                "contract_renewals": self.renewals}
