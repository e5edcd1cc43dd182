"""Deliberation council (社区协商): elected directors decide coordination and approval cases.

Brief: a community council of elected directors (residents, committee, resident units) takes
proposals bottom-up; it meets monthly, and at once when at least a third of its members ask.
Directors are elected from residents (the more disposed are likelier to stand). At a meeting
the directors present and the parties of the cases on the agenda deliberate; the council
can work ``council_cases_per_meeting`` cases times the share of directors present. The
council is put in the coordination and approval chains before the street, and it may sign
off approvals.
"""

from __future__ import annotations

import numpy as np

from govsim.agents.committee import Committee
from govsim.cases import OPEN
from govsim.institutions.base import Institution
from govsim.population import sigmoid
from govsim.regimes import COUNCIL, insert_level

DIRECTOR_BASE = 2.5  # directors are elected and committed: their attendance logit gets this on top


class DeliberationCouncil(Institution):
    name = "deliberation_council"
    pilot = "deliberation_council"
    label = "Deliberation council"
    label_zh = "社区协商议事会"
    per_community = True

    @classmethod
    def adjust_routing(cls, data):
        chains = dict(data.chains)
        for cls_ in ("coordination", "approval"):
            chains[cls_] = insert_level(chains[cls_], "council", ("street", "district"))
        return data.model_copy(update={"chains": chains})

    def install(self) -> None:
        m = self.m
        cp = m.scenario.committees
        self.councils = {c: Committee(m, c, "council", members=cp.council_members, member_paid=False,
                                      member_hours=0.0, mediation_skill=cp.mediation_skill) for c in range(self.C)}
        m.councils = self.councils
        self.capacity_today = np.zeros(self.C)
        self.last = np.full(self.C, -10_000)
        self.attendance = np.zeros(self.C)
        for c, council in self.councils.items():
            rows = m.community_rows(c)
            w = sigmoid(m.population.disposition[rows]).astype(float)
            council.directors = m.rng.choice(rows, size=min(cp.council_members, len(rows)), replace=False,
                                             p=w / w.sum())

    def begin_day(self, day: int) -> None:
        m = self.m
        rng = m.rng
        self.capacity_today[:] = 0.0
        sc = m.scenario.committees
        queue = m.queue_at(COUNCIL)
        pop = m.population
        b = m.scenario.behaviour
        for c, council in self.councils.items():
            if not self.on[c]:
                continue
            d = council.directors
            regular = (day - c) % sc.council_interval_days == 0
            extra = False
            if not regular and queue[c] > 0 and day - self.last[c] >= 7:
                ask = rng.random(len(d)) < sigmoid(pop.disposition[d] + 0.5 * queue[c] - 2.0)
                extra = ask.sum() >= sc.extra_meeting_share * len(d)
            if not (regular or extra):
                continue
            z = pop.logit(d, b.attend_base + DIRECTOR_BASE, b.meeting_hours)
            present = d[rng.random(len(d)) < sigmoid(z)]
            share = len(present) / max(len(d), 1)
            m.record_voice(present, day, "deliberations", b.meeting_hours)
            book = m.cases
            o = book.open_in(c)
            on_agenda = o[(book.level[o] == COUNCIL) & (book.status[o] == OPEN)]
            parties = np.unique(book.resident[on_agenda])
            m.record_voice(parties, day, "deliberations", b.meeting_hours)
            self.capacity_today[c] = sc.council_cases_per_meeting * share
            self.attendance[c] = share
            self.last[c] = day
            council.meetings_held += 1
            council.extra_meetings += int(extra)
            m.meetings.attendees_today += len(present) + len(parties)

    def capacity(self, cap, skill) -> None:
        cap[self.m.handlers.slice(COUNCIL)] = self.capacity_today

    def co_decides(self, day: int) -> np.ndarray:
        return ((day - self.last) <= 60) & (self.attendance >= 0.5) & self.on

    def metrics(self) -> dict[str, float]:
        return {"council_meetings": sum(c.meetings_held for c in self.councils.values()),
                "council_extra_meetings": sum(c.extra_meetings for c in self.councils.values())}
