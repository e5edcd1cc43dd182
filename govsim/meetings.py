"""Residents' meetings and NGO activities: what draws residents in.

The committee convenes residents every ``meeting_interval_days`` (the same in every regime).
Whether residents come is the same participation choice everywhere (disposition, social
term, time cost, ``attend_base``), plus what meetings in this community have **delivered**:
each institution's ``at_meeting`` hook says how many outcomes it produced at a meeting (a
centre head resolving attendees' requests on the spot, an association deciding its plan),
and ``meeting_value`` is the running share of attendees who saw an outcome. Residents come
back where meetings decide and resolve things, and stay away where they only listen: the
brief's contrast between deliberation and top-down "discussion meetings" convened by staff
comes out of who holds decision power, not out of a per-regime appeal constant.
"""

from __future__ import annotations

import numpy as np

from govsim.population import sigmoid

MEETING_COST = 300.0  # yuan per residents' meeting, paid from the committee's operating funds
MEETING_VALUE_WEIGHT = 3.0  # logit per unit of meeting value (the same in every regime)
VALUE_MEMORY = 0.3  # weight of the latest meeting in the running meeting value
OUTCOME_WEIGHT = 10.0  # an outcome is worth this many attendees' attention


class Meetings:
    def __init__(self, model) -> None:
        self.m = model
        s = model.structure
        C = s.n_communities
        data = model.institutions.data
        self.interval = data.meeting_interval_days
        self.offset = np.arange(C) % self.interval
        self.activity_offset = np.arange(C) % model.scenario.ngos.activity_interval_days
        self.attendance = np.zeros(C)  # last meeting's attendance rate
        self.value = np.zeros(C)
        self.held = np.zeros(C, dtype=np.int64)
        self.outcomes = 0
        self.attendees_today = 0
        self.present = np.zeros(model.structure.n, dtype=bool)  # who is at the meeting being held

    def day(self, day: int) -> None:
        self.attendees_today = 0
        for c in np.flatnonzero(day % self.interval == self.offset):
            self.hold(int(c), day)
        self.ngo_activities(day)

    def hold(self, c: int, day: int) -> int:
        """A residents' meeting in community ``c``: who comes, and what it delivers."""
        m = self.m
        b = m.scenario.behaviour
        idx = m.community_rows(c)
        base = b.attend_base + MEETING_VALUE_WEIGHT * self.value[c]
        take = idx[m.rng.random(len(idx)) < sigmoid(m.population.logit(idx, base, b.meeting_hours))]
        m.population.mark_active(take, day, "meetings", b.meeting_hours)
        self.attendance[c] = len(take) / max(len(idx), 1)
        self.held[c] += 1
        com = m.committees[c]
        m.ledger.transfer_scalar(int(com.account), m.acct["suppliers"], MEETING_COST, "committee_spending")
        self.present[take] = True
        outcomes = sum(inst.at_meeting(c, take, day) for inst in m.hooks["at_meeting"] if inst.on[c])
        self.present[take] = False
        self.outcomes += outcomes
        if outcomes:
            m.record_voice(take, day)
        delivered = min(1.0, OUTCOME_WEIGHT * outcomes / max(len(take), 1))
        self.value[c] += VALUE_MEMORY * (delivered - self.value[c])
        self.attendees_today += len(take)
        return len(take)

    def ngo_activities(self, day: int) -> int:
        """NGOs run activities (classes, clubs, services) that draw residents in."""
        m = self.m
        due = day % m.scenario.ngos.activity_interval_days == self.activity_offset
        total = 0
        b = m.scenario.behaviour
        for c in np.flatnonzero(due).tolist():
            ngos = m.ngos_by_community[c]
            if not ngos:
                continue
            rows = m.community_rows(c)
            staff = sum(n.staff for n in ngos)
            quality = sum(n.staff * n.quality for n in ngos) / max(staff, 1e-9)
            invited = rows[m.rng.random(len(rows)) < min(1.0, 15.0 * staff / max(len(rows), 1))]
            base = b.attend_base + m.scenario.ngos.activity_appeal + 2.0 * (quality - 0.5)
            take = invited[m.rng.random(len(invited)) < sigmoid(m.population.logit(invited, base, b.meeting_hours))]
            m.population.mark_active(take, day, "meetings", b.meeting_hours)
            m.population.learn(take, "belonging", 1.0, 0.02)
            total += len(take)
        self.attendees_today += total
        return total
