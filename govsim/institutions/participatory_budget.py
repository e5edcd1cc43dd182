"""Participatory budgeting (Chengdu): residents vote on the projects a yearly fund buys.

Government pays each community ``budget_per_household`` a year into a fund; on day 180 of
each year residents vote (the participation choice with the voting base) for the need
categories they have had most of in the last year; the fund buys projects
(``budget_project_cost`` each) in order of votes. A project fixes the community's open needs
of its category and prevents some new ones for a year (relief 0.3). Voters whose category
won gain efficacy; every voter gains belonging and has had a voice in a decision.
"""

from __future__ import annotations

import numpy as np

from govsim.cases import N_NEED_CATEGORIES, NEED
from govsim.institutions.base import Institution
from govsim.population import sigmoid

VOTE_BASE = 1.2
RELIEF = 0.3
VOTE_DAY = 180


class ParticipatoryBudget(Institution):
    name = "participatory_budget"
    pilot = "participatory_budget"
    label = "Participatory budget"
    label_zh = "参与式预算"
    per_community = True

    def install(self) -> None:
        m = self.m
        self.funds = m.government.counted_households * m.scenario.pilots.budget_per_household
        self.fund_accounts = m.ledger.open_many("fund", self.C)
        self.turnout = np.zeros(self.C)
        self.last_vote = np.full(self.C, -10_000)
        self.projects = 0
        self.start = m.day  # switched on mid-run by a timeline: the first year's fund is paid at once

    def switched(self, was) -> None:
        new = self.on & ~was  # switched on in more communities: their first year's fund at once
        if (self.funds * new).any():
            self.m.government.pay(self.funds * new, self.fund_accounts, "participatory_budget")

    def begin_day(self, day: int) -> None:
        m = self.m
        if (day % 365 == 0 or day == self.start) and (self.funds * self.on).any():
            m.government.pay(self.funds * self.on, self.fund_accounts, "participatory_budget")
        if day % 365 != VOTE_DAY:
            return
        book, pop = m.cases, m.population
        n = book.size
        recent = (book.arisen[:n] > day - 365) & (book.kind[:n] == NEED)
        relief = np.zeros((self.C, N_NEED_CATEGORIES))
        cost = m.scenario.pilots.budget_project_cost
        b = m.scenario.behaviour
        for c in np.flatnonzero(self.on):
            acct = self.fund_accounts[c]
            fund = m.ledger.balance[acct]
            demand = np.bincount(book.category[:n][recent & (book.community[:n] == c)],
                                 minlength=N_NEED_CATEGORIES)[:N_NEED_CATEGORIES]
            if demand.sum() == 0:
                continue
            rows = m.community_rows(c)
            voters = rows[m.rng.random(len(rows)) < sigmoid(pop.logit(rows, b.attend_base + VOTE_BASE, 0.5))]
            if len(voters) == 0:
                continue
            choice = m.rng.choice(N_NEED_CATEGORIES, size=len(voters), p=demand / demand.sum())
            votes = np.bincount(choice, minlength=N_NEED_CATEGORIES)
            m.record_voice(voters, day, "votes", 0.5)
            self.turnout[c] = len(voters) / max(len(rows), 1)
            self.last_vote[c] = day
            won = []
            for cat in np.argsort(-votes, kind="stable"):
                if votes[cat] == 0 or fund < cost:
                    break
                m.ledger.transfer(int(acct), m.acct["suppliers"], cost, "projects")
                fund -= cost
                won.append(int(cat))
            self.projects += len(won)
            if not won:
                continue
            relief[c, won] = RELIEF
            o = book.open_in(c)
            fixed = o[np.isin(book.category[o], won) & (book.kind[o] == NEED)]
            if len(fixed):
                m.resolve_cases(fixed, day)
            pop.learn(voters[np.isin(choice, won)], "efficacy", 1.0)
            pop.learn(voters, "belonging", 1.0, 0.05)
        m.set_need_relief(self.name, relief)

    def co_decides(self, day: int) -> np.ndarray:
        return ((day - self.last_vote) <= 365) & (self.turnout >= 0.1) & self.on

    def metrics(self) -> dict[str, float]:
        return {"projects_funded": self.projects}
