"""Unpaid volunteer roles: building heads (and their churn, recruitment and workload).

Brief: the four-level network's heads "are unpaid volunteers, so turnover is high and they
are hard to hold to tasks" (mechanism 3: "unpaid volunteer roles churn"). Each building has
``volunteer_roles_per_building`` roles (grid management adds two volunteers per grid). A
holder quits with a daily hazard that rises as their disposition falls and as the
**workload they carry beyond what paid staff take off them** rises: the cases queued at the
residents' level per volunteer, relative to the paid hours the community's committee and
grid put into cases. Vacancies are filled each ``recruit_interval_days`` by approaching a
few residents of the building.
"""

from __future__ import annotations

import numpy as np

from govsim.population import sigmoid
from govsim.regimes import GRID, RESIDENTS

CANDIDATES = 5  # residents approached per vacancy when recruiting volunteers
HEAD_DETECTION = 0.05  # daily chance a building head notices a pending case in their building
WORKLOAD_RELIEF_HOURS = 8.0  # paid case hours per day that halve a volunteer's felt workload


class Volunteers:
    """Volunteer roles of all communities, and their holders."""

    def __init__(self, model) -> None:
        self.m = model
        s = model.structure
        sc = model.scenario
        rng = model.rng
        C = s.n_communities
        per_b = model.institutions.data.volunteer_roles_per_building
        n_roles_b = np.floor(per_b) + (rng.random(s.n_buildings) < per_b - np.floor(per_b))
        role_building = np.repeat(np.arange(s.n_buildings), n_roles_b.astype(int))
        if model.institutions.uses(GRID):
            # Two volunteers per grid, attached to the grid's first building.
            first_b = np.full(s.n_grids, -1)
            hh_b = s.building[s.household_first]
            hh_g = s.grid[s.household_first]
            first_b[hh_g[::-1]] = hh_b[::-1]
            role_building = np.concatenate([role_building, np.repeat(first_b, 2)])
        self.role_building = role_building.astype(np.int64)
        self.role_community = s.building_community[self.role_building].astype(np.int64)
        self.holder = np.full(len(role_building), -1, dtype=np.int64)
        self.recruit_offset = np.arange(C) % sc.behaviour.recruit_interval_days
        self.hours = 0.0
        self.hours_today = 0.0
        self.recruit_bonus = np.zeros(C)  # volunteer associations in the community
        self.party_bonus = 0.0  # party members mobilised by a co-governance board
        self.quits = 0
        self.fill(rng, day=0, communities=np.arange(C))  # roles are filled at the start

    def capacity(self) -> np.ndarray:
        """Hours/day the building heads and volunteers of each community give."""
        held = self.holder >= 0
        hrs = self.m.scenario.behaviour.volunteer_hours_per_day
        return np.bincount(self.role_community[held], minlength=self.m.structure.n_communities) * hrs

    def head_detection(self) -> np.ndarray:
        """Per building: daily chance a pending case there is noticed by a volunteer."""
        held = self.holder >= 0
        has = np.zeros(self.m.structure.n_buildings, dtype=bool)
        has[self.role_building[held]] = True
        return has * HEAD_DETECTION

    def churn(self, day: int, rng: np.random.Generator, paid_case_hours: np.ndarray) -> int:
        """Unpaid roles churn: holders quit; less disposed and more burdened ones sooner.

        ``paid_case_hours``: per community, hours/day paid staff put into cases today; they
        share the load, so the same queue weighs less on volunteers where paid staff work."""
        held = np.flatnonzero(self.holder >= 0)
        if len(held) == 0:
            return 0
        pop = self.m.population
        who = self.holder[held]
        comm = self.role_community[held]
        queue = self.m.queue_at(RESIDENTS)
        per_head = queue / np.maximum(np.bincount(comm, minlength=len(queue)), 1)
        felt = per_head / (1.0 + paid_case_hours / WORKLOAD_RELIEF_HOURS)
        base = self.m.scenario.behaviour.volunteer_quit_rate / 365.0
        hazard = base * np.exp(-pop.disposition[who]) * (1.0 + felt[comm])
        quit = rng.random(len(held)) < np.minimum(hazard, 1.0)
        pop.volunteer[who[quit]] = False
        self.holder[held[quit]] = -1
        n_quit = int(np.count_nonzero(quit))
        self.quits += n_quit
        stay = who[~quit]
        hrs = self.m.scenario.behaviour.volunteer_hours_per_day
        pop.mark_active(stay, day, "volunteer_days", hrs)
        self.hours_today = hrs * len(stay)
        self.hours += self.hours_today
        return n_quit

    def fill(self, rng: np.random.Generator, day: int, communities: np.ndarray) -> int:
        """Recruit for vacant roles in ``communities``: approach a few residents of the building."""
        s, pop = self.m.structure, self.m.population
        chosen = np.zeros(self.m.structure.n_communities, dtype=bool)
        chosen[communities] = True  # (the same mask as np.isin(role_community, communities))
        vac = np.flatnonzero((self.holder < 0) & chosen[self.role_community])
        if len(vac) == 0:
            return 0
        b = self.role_building[vac]
        start = s.building_start[b][:, None]
        size = s.building_size[b][:, None]
        cand = start + (rng.random((len(vac), CANDIDATES)) * size).astype(np.int64)
        ok = pop.eligible[cand] & ~pop.volunteer[cand]
        base = self.m.scenario.behaviour.volunteer_base + self.recruit_bonus[self.role_community[vac]][:, None]
        hours = 7.0 * self.m.scenario.behaviour.volunteer_hours_per_day  # a role's weekly hours
        party = self.party_bonus  # per community where a co-governance board acts in some only
        if np.ndim(party):
            party = party[self.role_community[vac]][:, None]
        z = (pop.disposition[cand] + pop.social_term(cand) + base + party * pop.party[cand]
             - pop.w.time_cost * hours * (1.0 - pop.time_avail[cand]))
        yes = ok & (rng.random(cand.shape) < sigmoid(z))
        # First willing candidate takes the role. When no two roles' first willing candidates
        # are the same person, nobody is taken from a later role, so all take them at once;
        # otherwise role by role, in order.
        rows = np.flatnonzero(yes.any(axis=1))
        person = cand[rows, yes[rows].argmax(axis=1)]
        if len(np.unique(person)) == len(person):
            pop.volunteer[person] = True
            self.holder[vac[rows]] = person
            pop.last_active[person] = day
            return len(rows)
        filled = 0
        for r in range(len(vac)):
            for h in np.flatnonzero(yes[r]):
                person = cand[r, h]
                if not pop.volunteer[person]:
                    pop.volunteer[person] = True
                    self.holder[vac[r]] = person
                    pop.last_active[person] = day
                    filled += 1
                    break
        return filled

    def recruit(self, day: int, rng: np.random.Generator) -> int:
        due = np.flatnonzero(day % self.m.scenario.behaviour.recruit_interval_days == self.recruit_offset)
        return self.fill(rng, day, due) if len(due) else 0

    def filled_share(self) -> np.ndarray:
        C = self.m.structure.n_communities
        roles = np.bincount(self.role_community, minlength=C)
        filled = np.bincount(self.role_community[self.holder >= 0], minlength=C) / np.maximum(roles, 1)
        filled[roles == 0] = 0.0
        return filled
