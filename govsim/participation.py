"""Participation: meetings, volunteering (with churn), councils, budgets, NGO activities.

Every choice uses the same logit: a resident's disposition (trust in the community,
efficacy, belonging, free time, dependency on government, party membership), the social
term (share of network neighbours active, with a personal threshold bonus) and a base for
the activity plus whatever the regime's channel adds. The channels a community has come
from the regime data and the pilot features, never from the regime's name.
"""

from __future__ import annotations

import numpy as np

from govsim.cases import OPEN
from govsim.population import sigmoid
from govsim.regimes import COUNCIL, RESIDENTS

MEETING_COST = 300.0  # yuan per residents' meeting, paid from the committee's operating funds
DIRECTOR_BASE = 2.5  # directors are elected and committed: their attendance logit gets this on top
VOTE_BASE = 1.2  # voting is easier than attending a meeting
CANDIDATES = 5  # residents approached per vacancy when recruiting volunteers
HEAD_DETECTION = 0.05  # daily chance a building head notices a pending case in their building


class Participation:
    """Participation channels of all communities, and their state."""

    def __init__(self, model) -> None:
        self.m = model
        s = model.structure
        sc = model.scenario
        rng = model.rng
        inst = model.institutions
        C = s.n_communities
        # Volunteer roles: building heads (regime sets how many per building) + grid volunteers.
        per_b = inst.data.volunteer_roles_per_building
        n_roles_b = np.floor(per_b) + (rng.random(s.n_buildings) < per_b - np.floor(per_b))
        role_building = np.repeat(np.arange(s.n_buildings), n_roles_b.astype(int))
        if inst.has("grid_management"):
            # Two volunteers per grid, attached to the grid's first building.
            first_b = np.full(s.n_grids, -1)
            hh_b = s.building[np.searchsorted(s.household, np.arange(s.n_households))]
            hh_g = s.grid[np.searchsorted(s.household, np.arange(s.n_households))]
            first_b[hh_g[::-1]] = hh_b[::-1]
            role_building = np.concatenate([role_building, np.repeat(first_b, 2)])
        self.role_building = role_building.astype(np.int64)
        self.role_community = s.building_community[self.role_building].astype(np.int64)
        self.holder = np.full(len(role_building), -1, dtype=np.int64)
        self.meeting_offset = np.arange(C) % inst.data.meeting_interval_days
        self.recruit_offset = np.arange(C) % sc.behaviour.recruit_interval_days
        self.activity_offset = np.arange(C) % sc.ngos.activity_interval_days
        self.attendance = np.zeros(C)  # last meeting's attendance rate
        self.meetings_held = np.zeros(C, dtype=np.int64)
        self.volunteer_hours = 0.0
        self.volunteer_hours_today = 0.0
        self.attendees_today = 0
        self.eligible_per_comm = np.bincount(s.community[model.population.eligible], minlength=C)
        self.council_capacity = np.zeros(C)
        self.last_council = np.full(C, -10_000)
        self.council_attendance = np.zeros(C)
        self.pb_last_turnout = np.zeros(C)
        self.pb_last_day = np.full(C, -10_000)
        self.need_relief = np.zeros((C, 5))
        self.projects_funded = 0
        self.recruit_bonus = np.zeros(C)  # volunteer associations in the community
        self.fill(rng, day=0, communities=np.arange(C))  # roles are filled at the start

    # ------------------------------------------------------------------ volunteers
    def residents_capacity(self) -> np.ndarray:
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

    def churn(self, day: int, rng: np.random.Generator) -> int:
        """Unpaid roles churn: holders quit; less disposed and overloaded ones sooner."""
        held = np.flatnonzero(self.holder >= 0)
        if len(held) == 0:
            return 0
        pop = self.m.population
        who = self.holder[held]
        queue = self.m.queue_at(RESIDENTS)
        per_head = queue / np.maximum(np.bincount(self.role_community[held], minlength=len(queue)), 1)
        base = self.m.scenario.behaviour.volunteer_quit_rate / 365.0
        hazard = base * np.exp(-pop.disposition[who]) * (1.0 + per_head[self.role_community[held]])
        quit = rng.random(len(held)) < np.minimum(hazard, 1.0)
        out = held[quit]
        pop.volunteer[self.holder[out]] = False
        self.holder[out] = -1
        # Those who stay serve today.
        stay = self.holder[held[~quit]]
        hrs = self.m.scenario.behaviour.volunteer_hours_per_day
        pop.mark_active(stay, day, "volunteer_days", hrs)
        self.volunteer_hours_today = hrs * len(stay)
        self.volunteer_hours += self.volunteer_hours_today
        return int(quit.sum())

    def fill(self, rng: np.random.Generator, day: int, communities: np.ndarray) -> int:
        """Recruit for vacant roles in ``communities``: approach a few residents of the building."""
        s, pop = self.m.structure, self.m.population
        vac = np.flatnonzero((self.holder < 0) & np.isin(self.role_community, communities))
        if len(vac) == 0:
            return 0
        b = self.role_building[vac]
        start = s.building_start[b][:, None]
        size = s.building_size[b][:, None]
        cand = start + (rng.random((len(vac), CANDIDATES)) * size).astype(np.int64)
        ok = pop.eligible[cand] & ~pop.volunteer[cand]
        base = self.m.scenario.behaviour.volunteer_base + self.recruit_bonus[self.role_community[vac]][:, None]
        hours = 7.0 * self.m.scenario.behaviour.volunteer_hours_per_day  # a role's weekly hours
        z = pop.disposition[cand] + pop.social_term(cand) + base - pop.w.time_cost * hours * (1.0 - pop.time_avail[cand])
        yes = ok & (rng.random(cand.shape) < sigmoid(z))
        filled = 0
        for r in range(len(vac)):  # few vacancies; first willing candidate takes the role
            hits = np.flatnonzero(yes[r])
            for h in hits:
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

    # ------------------------------------------------------------------ meetings
    def meetings(self, day: int, rng: np.random.Generator) -> int:
        """Residents' meetings: each community meets every ``meeting_interval_days``."""
        m = self.m
        data = m.institutions.data
        due = np.flatnonzero(day % data.meeting_interval_days == self.meeting_offset)
        total = 0
        base = m.scenario.behaviour.attend_base + data.meeting_appeal
        for c in due:
            idx = self._community_rows(c)
            hours = m.scenario.behaviour.meeting_hours
            take = idx[rng.random(len(idx)) < sigmoid(m.population.logit(idx, base, hours))]
            m.population.mark_active(take, day, "meetings", hours)
            self.attendance[c] = len(take) / max(len(idx), 1)
            self.meetings_held[c] += 1
            com = m.committees[c]
            com.extra_cases_today += len(take) * data.on_the_spot_per_attendee
            m.ledger.transfer(com.account, m.acct["suppliers"], MEETING_COST, "committee_spending")
            total += len(take)
        self.attendees_today += total
        return total

    def _community_rows(self, c: int) -> np.ndarray:
        s, pop = self.m.structure, self.m.population
        rows = np.arange(s.community_start[c], s.community_start[c] + s.community_size[c])
        return rows[pop.eligible[rows]]

    def ngo_activities(self, day: int, rng: np.random.Generator) -> int:
        """NGOs run activities (classes, clubs, services) that draw residents in."""
        m = self.m
        due = day % m.scenario.ngos.activity_interval_days == self.activity_offset
        total = 0
        for c, ngos in m.ngos_by_community.items():
            if not due[c] or not ngos:
                continue
            rows = self._community_rows(c)
            staff = sum(n.staff for n in ngos)
            quality = sum(n.staff * n.quality for n in ngos) / max(staff, 1e-9)
            invited = rows[rng.random(len(rows)) < min(1.0, 15.0 * staff / max(len(rows), 1))]
            base = m.scenario.behaviour.attend_base + m.scenario.ngos.activity_appeal + 2.0 * (quality - 0.5)
            hours = m.scenario.behaviour.meeting_hours
            take = invited[rng.random(len(invited)) < sigmoid(m.population.logit(invited, base, hours))]
            m.population.mark_active(take, day, "meetings", hours)
            m.population.learn(take, "belonging", 1.0, 0.02)
            total += len(take)
        self.attendees_today += total
        return total

    # ------------------------------------------------------------------ council
    def elect_directors(self, rng: np.random.Generator) -> None:
        """Directors are elected from residents; the more disposed are likelier to stand."""
        m = self.m
        k = m.scenario.committees.council_members
        for c, council in m.councils.items():
            rows = self._community_rows(c)
            w = sigmoid(m.population.disposition[rows]).astype(float)
            n = min(k, len(rows))
            council.directors = rng.choice(rows, size=n, replace=False, p=w / w.sum())

    def council(self, day: int, rng: np.random.Generator) -> None:
        """Monthly council meetings, plus an extra one when >= 1/3 of directors ask."""
        m = self.m
        self.council_capacity[:] = 0.0
        if not m.councils:
            return
        sc = m.scenario.committees
        queue = m.queue_at(COUNCIL)
        pop = m.population
        for c, council in m.councils.items():
            d = council.directors
            regular = (day - c) % sc.council_interval_days == 0
            extra = False
            if not regular and queue[c] > 0 and day - self.last_council[c] >= 7:
                ask = rng.random(len(d)) < sigmoid(pop.disposition[d] + 0.5 * queue[c] - 2.0)
                extra = ask.sum() >= sc.extra_meeting_share * len(d)
            if not (regular or extra):
                continue
            z = pop.logit(d, m.scenario.behaviour.attend_base + DIRECTOR_BASE, m.scenario.behaviour.meeting_hours)
            present = d[rng.random(len(d)) < sigmoid(z)]
            share = len(present) / max(len(d), 1)
            pop.mark_active(present, day, "deliberations", m.scenario.behaviour.meeting_hours)
            # Parties of the cases on the agenda come to deliberate.
            book = m.cases
            o = book.open_idx
            on_agenda = o[(book.level[o] == COUNCIL) & (book.community[o] == c) & (book.status[o] == OPEN)]
            parties = np.unique(book.resident[on_agenda])
            pop.mark_active(parties, day, "deliberations", m.scenario.behaviour.meeting_hours)
            self.council_capacity[c] = sc.council_cases_per_meeting * share
            self.council_attendance[c] = share
            self.last_council[c] = day
            council.meetings_held += 1
            council.extra_meetings += int(extra)
            self.attendees_today += len(present) + len(parties)

    # ------------------------------------------------------------------ participatory budget
    def budget(self, day: int, rng: np.random.Generator) -> None:
        """Yearly: each community's fund buys the projects residents vote for."""
        m = self.m
        if not m.institutions.has("participatory_budget") or day % 365 != 180:
            return
        from govsim.cases import CATEGORIES, NEED, RESOLVED

        book, pop = m.cases, m.population
        n = book.size
        recent = (book.arisen[:n] > day - 365) & (book.kind[:n] == NEED)
        self.need_relief[:] = 0.0
        cost = m.scenario.pilots.budget_project_cost
        for c in range(m.structure.n_communities):
            fund_acct = m.fund_accounts[c]
            fund = m.ledger.balance[fund_acct]
            demand = np.bincount(book.category[:n][recent & (book.community[:n] == c)], minlength=5)[:5]
            if demand.sum() == 0:
                continue
            rows = self._community_rows(c)
            z = pop.logit(rows, m.scenario.behaviour.attend_base + VOTE_BASE, 0.5)
            voters = rows[rng.random(len(rows)) < sigmoid(z)]
            if len(voters) == 0:
                continue
            choice = rng.choice(5, size=len(voters), p=demand / demand.sum())
            votes = np.bincount(choice, minlength=5)
            pop.mark_active(voters, day, "votes", 0.5)
            self.pb_last_turnout[c] = len(voters) / max(len(rows), 1)
            self.pb_last_day[c] = day
            won = []
            for cat in np.argsort(-votes, kind="stable"):
                if votes[cat] == 0 or fund < cost:
                    break
                m.ledger.transfer(fund_acct, m.acct["suppliers"], cost, "projects")
                fund -= cost
                won.append(cat)
            self.projects_funded += len(won)
            if not won:
                continue
            won = np.array(won)
            self.need_relief[c, won] = 0.3
            # Projects fix the open needs of their category in the community.
            o = book.open_idx
            fixed = o[(book.community[o] == c) & np.isin(book.category[o], won) & (book.kind[o] == NEED)]
            if len(fixed):
                book.status[fixed] = RESOLVED
                book.closed[fixed] = day
                book.resolved_level[fixed] = book.level[fixed]
                book.counts["resolved"] += len(fixed)
                book.counts["self_resolved"] += int((~book.left_community[fixed]).sum())
                book.delay_sum += float((day - book.arisen[fixed]).sum())
                book.open_idx = o[~np.isin(o, fixed)]
                m.on_resolved(fixed, day)
            happy = voters[np.isin(choice, won)]
            pop.learn(happy, "efficacy", 1.0)
            pop.learn(voters, "belonging", 1.0, 0.05)
        _ = CATEGORIES  # categories index need_relief's columns

    # ------------------------------------------------------------------ ladder
    def ladder(self, day: int) -> np.ndarray:
        """Participation ladder per community, measured from what residents do.

        1 informed; 2 consulted (last meeting drew >= 3% of adults, or >= 10% of adults took
        part in something in the last 30 days); 3 involved (also >= 60% of volunteer roles
        filled and >= 40% of detected cases reported by residents); 4 partner (also residents
        co-decide: a council meeting with half the directors in the last 60 days, or a
        participatory-budget vote with >= 10% turnout in the last year); 5 self-governing
        (also >= 85% of resolved cases resolved inside the community and the committee spends
        at most half its time on pushed-down administration).
        """
        m = self.m
        C = m.structure.n_communities
        held = self.holder >= 0
        roles = np.bincount(self.role_community, minlength=C)
        filled = np.bincount(self.role_community[held], minlength=C) / np.maximum(roles, 1)
        filled[roles == 0] = 0.0
        det, self_rep, res, self_res = m.community_case_stats()
        pop, s = m.population, m.structure
        active = np.bincount(s.community, weights=pop.active_mask(day) & pop.eligible, minlength=C)
        rate = active / np.maximum(self.eligible_per_comm, 1)
        consulted = (self.attendance >= 0.03) | (rate >= 0.10)
        involved = consulted & (filled >= 0.6) & (self_rep >= 0.4 * np.maximum(det, 1))
        partner = involved & (
            ((day - self.last_council) <= 60) & (self.council_attendance >= 0.5)
            | ((day - self.pb_last_day) <= 365) & (self.pb_last_turnout >= 0.1)
        )
        admin = np.array([m.committees[c].admin_share for c in range(C)])
        selfgov = partner & (self_res >= 0.85 * np.maximum(res, 1)) & (admin <= 0.5)
        return 1 + consulted.astype(int) + involved + partner + selfgov
