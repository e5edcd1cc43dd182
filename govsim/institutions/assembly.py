"""Member / representative assembly: elects the committee for a term and decides proposals.

Brief section 5: the assembly is the community's decision body; one representative per
10-20 households, resident-unit delegates at most a fifth of the seats; fixed terms. It
elects, recalls and replaces committee members, hears the committee's work report and
decides major matters (here: the approval-class proposals waiting at the committee, by a
consent threshold, e.g. "more than 60% agree" for an estate renovation). An extra session
is held when at least a third of the representatives ask.

Elections. Voters are residents aged 18+ who may vote (``voters``: everyone living there, or
registered residents only, as where owners elect a board). Turnout follows disposition and
stakes (an open case, a grievance). Each voter approves the incumbent committee with a
chance that rises with their own rating of the community's bodies (what they experienced
of them: cases resolved, escalated, abandoned). A committee below half approval loses; the
new one brings its own skill and effort. So committees that serve residents badly lose
more often (``tests/test_institutions.py``).
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from govsim.institutions.base import Institution, due
from govsim.population import sigmoid
from govsim.regimes import APPROVAL, OUTSIDE

VOTE_BASE = 1.2  # voting is easier than attending a meeting (same constant as budget votes)
STAKES = 1.0  # logit bonus to turn out for a resident with an open case or a grievance
ELECTION_SLOPE = 8.0  # how sharply approval follows a voter's rating of the committee
ASPIRATION = 0.5  # rating at which a voter is indifferent
CONSENT_SLOPE = 4.0
REP_ATTEND_BASE = 2.0  # representatives are committed: attendance logit bonus


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    households_per_representative: Annotated[int, Field(ge=10, le=20)] = 15
    unit_seat_share: Annotated[float, Field(ge=0.0, le=0.2)] = 0.1
    session_interval_days: Annotated[int, Field(ge=7, le=365)] = 60
    consent_threshold: Annotated[float, Field(ge=0.5, le=1.0)] = 0.6
    extra_session_share: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0 / 3.0
    term_days: Annotated[int, Field(ge=30, le=3650)] = 365
    voters: Literal["all", "registered"] = "all"


class MemberAssembly(Institution):
    name = "member_assembly"
    label = "Member assembly and committee elections"
    label_zh = "社区成员（代表）大会与居委会选举"
    Settings = Settings
    per_community = True
    local_settings = frozenset({"session_interval_days", "consent_threshold", "extra_session_share", "term_days"})

    def install(self) -> None:
        m, s = self.m, self.m.structure
        rng = m.rng
        pop = m.population
        hh = s.community_households
        self.n_reps = np.maximum(1, hh // self.s.households_per_representative)
        self.unit_seats = np.floor(self.n_reps * self.s.unit_seat_share).astype(int)
        self.reps: list[np.ndarray] = []
        for c in range(self.C):
            rows = m.community_rows(c)
            k = int(min(self.n_reps[c] - self.unit_seats[c], len(rows)))
            w = sigmoid(pop.disposition[rows]).astype(float)
            self.reps.append(rng.choice(rows, size=max(k, 0), replace=False, p=w / w.sum()) if k > 0
                             else np.empty(0, dtype=np.int64))
        self.last_session = np.full(self.C, -10_000)
        self.last_election = np.full(self.C, -1)
        self.sessions = 0
        self.extra_sessions = 0
        self.proposals_passed = 0
        self.proposals_rejected = 0
        self.elections = 0
        self.incumbents_lost = 0
        self.election_log: list[tuple[int, int, float, float, bool]] = []  # day, c, perf, approval, lost
        self.turnout_sum = 0.0

    # ------------------------------------------------------------------ sessions
    def begin_day(self, day: int) -> None:
        m = self.m
        regular = set(due(day, self.val("session_interval_days"), self.C).tolist())
        book = m.cases
        o = book.open_idx
        approval = o[book.cls[o] == APPROVAL]
        waiting = approval[~OUTSIDE[book.level[approval]]]  # proposals still in the community
        queue = np.bincount(book.community[waiting], minlength=self.C)
        pop = m.population
        # Regular sessions, and communities where proposals wait and an extra session may be asked.
        asking = np.flatnonzero((queue > 0) & (day - self.last_session >= 14))
        days = sorted(regular.union(asking.tolist()))
        # Representatives' chance to ask for an extra session, for all asking communities at
        # once (dispositions do not change during the day's sessions): per community,
        # sigmoid(disposition[reps] + 0.3 * queue[c] - 2.0), the same float64 values.
        ask_c = [c for c in days if c not in regular and self.on[c] and len(self.reps[c])]
        p_ask, pos = {}, 0
        if ask_c:
            lens = [len(self.reps[c]) for c in ask_c]
            shift = np.repeat(np.array([0.3 * queue[c] for c in ask_c]), lens)
            p_all = sigmoid(pop.disposition[np.concatenate([self.reps[c] for c in ask_c])] + shift - 2.0)
            for c, k in zip(ask_c, lens, strict=True):
                p_ask[c] = p_all[pos:pos + k]
                pos += k
        for c in days:
            if not self.on[c]:
                continue
            reps = self.reps[c]
            extra = False
            if c not in regular:
                if len(reps) == 0:
                    continue
                ask = m.rng.random(len(reps)) < p_ask[c]
                extra = np.count_nonzero(ask) >= self.at("extra_session_share", c) * len(reps)
                if not extra:
                    continue
            self._session(c, day, waiting[book.community[waiting] == c], extra)

    def _session(self, c: int, day: int, proposals: np.ndarray, extra: bool) -> None:
        m = self.m
        pop = m.population
        reps = self.reps[c]
        z = pop.logit(reps, m.scenario.behaviour.attend_base + REP_ATTEND_BASE, m.scenario.behaviour.meeting_hours)
        present = reps[m.rng.random(len(reps)) < sigmoid(z)]
        m.record_voice(present, day, "deliberations", m.scenario.behaviour.meeting_hours)
        self.last_session[c] = day
        self.sessions += 1
        self.extra_sessions += int(extra)
        if len(present) == 0 or len(proposals) == 0:
            return
        # Each proposal is put to a consent vote of the representatives present (and unit
        # delegates, who back proposals at the representatives' average rate).
        trust = pop.trust_comm[present]
        p_yes = sigmoid(CONSENT_SLOPE * (trust - 0.5) + 0.5 * m.cases.severity[proposals][:, None])
        units = int(self.unit_seats[c])
        votes = (m.rng.random(p_yes.shape) < p_yes).sum(axis=1)
        if units:
            votes = votes + m.rng.binomial(units, p_yes.mean(axis=1))
        yes = votes / (len(present) + units)
        passed = proposals[yes > self.at("consent_threshold", c)]
        self.proposals_passed += len(passed)
        self.proposals_rejected += len(proposals) - len(passed)
        if len(passed):
            m.sign_off(passed, day)

    # ------------------------------------------------------------------ elections
    def end_day(self, day: int) -> None:
        for c in due(day, self.val("term_days"), self.C):
            if self.on[c]:
                self._election(int(c), day)

    def _election(self, c: int, day: int) -> None:
        m = self.m
        pop = m.population
        rows = m.community_rows(c)
        if self.s.voters == "registered":
            rows = rows[pop.registered[rows]]
        if len(rows) == 0:
            return
        stakes = STAKES * ((pop.open_cases[rows] > 0) | (pop.grievance[rows] > 0.5))
        turn = m.rng.random(len(rows)) < sigmoid(pop.logit(rows, m.scenario.behaviour.attend_base + VOTE_BASE, 0.5)
                                                 + stakes)
        voters = rows[turn]
        m.record_voice(voters, day, "votes", 0.5)
        self.turnout_sum += len(voters) / len(rows)
        self.elections += 1
        com = m.committees[c]
        perf = self.performance(c, day)
        if len(voters) == 0:
            return
        approve = m.rng.random(len(voters)) < sigmoid(ELECTION_SLOPE * (pop.rating_comm[voters] - ASPIRATION))
        share = float(approve.mean())
        lost = share < 0.5
        self.election_log.append((day, c, perf, share, lost))
        if lost:
            self.incumbents_lost += 1
            com.replace_members(m.rng, day)

    def performance(self, c: int, day: int) -> float:
        """How well the community's bodies served residents this term: the share of the
        cases detected since the last election that were resolved inside the community."""
        book = self.m.cases
        cases = self.m.community_cases(c)  # (the counts below are the same over all cases)
        since = self.last_election[c]
        win = book.detected[cases] > since
        done = win & (book.status[cases] == 2) & ~book.left_community[cases]
        self.last_election[c] = day
        return float((done.sum() + 1.0) / (win.sum() + 2.0))

    def co_decides(self, day: int) -> np.ndarray:
        return (day - self.last_session) <= 90

    def metrics(self) -> dict[str, float]:
        return {
            "assembly_sessions": self.sessions,
            "assembly_extra_sessions": self.extra_sessions,
            "proposals_passed": self.proposals_passed,
            "proposals_rejected": self.proposals_rejected,
            "elections": self.elections,
            "incumbents_lost": self.incumbents_lost,
            "election_turnout": self.turnout_sum / self.elections if self.elections else float("nan"),
        }
