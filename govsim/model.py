"""GovernanceModel: the Mesa model that wires scenario, network, agents, cases and money.

One step is one day and reads like the ODD process overview::

    government pays and funds        (finance through the ledger)
    committees plan their day        (admin load crowds out self-governing work)
    meetings, NGO activities, council
    cases arrive, are detected, triaged, handled, escalated or lapse
    residents: influence, online participation, attitudes, grievance   (array code)
    volunteers churn and are recruited; participatory budget (yearly)
    collective incidents
    collect metrics
"""

from __future__ import annotations

import mesa
import numpy as np

from govsim import metrics
from govsim.agents import NGO, Committee, Government, Resident, committee_members
from govsim.agents.ngo import NGO_KIND_P, NGO_KINDS
from govsim.cases import DISPUTE, HOTLINE, ONLINE, SELF_REPORT, CaseBook, HandlerIndex
from govsim.finance import Ledger, is_month_start
from govsim.network import structure_from_scenario
from govsim.participation import Participation
from govsim.population import Population, SocialWeights, sigmoid
from govsim.regimes import (
    CLASSES,
    COMMITTEE,
    COUNCIL,
    DISTRICT,
    GOVERNMENT_LEVELS,
    GRID,
    HOURS_PER_CASE,
    RESIDENTS,
    STREET,
    compile_institutions,
)
from govsim.regimes import (
    NGO as NGO_LEVEL,
)
from govsim.scenario import GovernanceScenario

NON_ELDERLY_ONLINE_SHIFT = 0.8  # the young and working-age report online more readily
OWNERS_HOURS = 5.0  # volunteer hours/day of an owners' committee
RESIDENT_SKILL = 0.9
# FIT gives resolution chances for an actor of reference skill; skill = own / reference.
REFERENCE_MEDIATION = 0.6
REFERENCE_NGO_QUALITY = 0.65


class GovernanceModel(mesa.Model):
    """Community governance under one regime (plus pilots), one step = one day.

    Build from a scenario: ``GovernanceModel(scenario=load_scenario(path))``; with no
    scenario, the defaults of :class:`~govsim.scenario.ScenarioSpec` are used.
    """

    def __init__(self, scenario: GovernanceScenario | None = None, *, rng=None, collect: bool = True):
        scenario = scenario if scenario is not None else GovernanceScenario()
        if rng is not None and rng != scenario.rng:
            scenario = scenario.with_seed(int(rng))
        super().__init__(scenario=scenario)
        sc = self.scenario
        self.day = 0
        self.institutions = compile_institutions(sc.regime, sc.regime_settings, sc.pilots.model_dump())
        data = self.institutions.data

        self.structure = s = structure_from_scenario(sc, self.rng)
        C = s.n_communities
        self.population = Population(s, SocialWeights.from_spec(sc.behaviour), self.rng,
                                           data.intervention_intensity)
        self.residents = [Resident(self, i) for i in range(s.n)]

        # Money.
        self.ledger = Ledger()
        self.acct = self.ledger.index
        self.fund_accounts = self.ledger.open_many("fund", C)

        # Committees, councils, owners' committees.
        cp = sc.committees
        members = committee_members(s.community_households, cp.households_per_member, cp.min_members,
                                    cp.max_members)
        self.committees = [
            Committee(self, c, "residents", members=int(members[c]), member_paid=data.member_paid,
                      member_hours=data.member_hours_per_day, mediation_skill=cp.mediation_skill)
            for c in range(C)
        ]
        accts = self.ledger.open_many("committee", C)
        for com, a in zip(self.committees, accts, strict=True):
            com.account = int(a)
            com.visit_share = data.committee_visit_rate
        self.councils = {}
        if self.institutions.has("deliberation_council"):
            for c in range(C):
                self.councils[c] = Committee(self, c, "council", members=cp.council_members, member_paid=False,
                                             member_hours=0.0, mediation_skill=cp.mediation_skill)
        self.owners = (
            {c: Committee(self, c, "owners", members=5, member_paid=False, member_hours=1.0,
                          mediation_skill=cp.mediation_skill) for c in range(C)}
            if cp.owners_committees else {}
        )

        # Government and NGOs.
        self.government = Government(self)
        self.government.staff_committees(self.committees)
        self.ngos: list[NGO] = []
        self.ngos_by_community: dict[int, list[NGO]] = {c: [] for c in range(C)}
        start = self.rng.poisson(sc.ngos.initial_per_community * (0.5 + data.ngo_support), C)
        for c in range(C):
            for _ in range(int(start[c])):
                self.add_ngo(c)
            if self.institutions.has("ngo_outsourcing") and not any(
                n.kind == "social_work" for n in self.ngos_by_community[c]
            ):
                staff = self.government.contract_budget[c] / 365.0 / max(sc.ngos.wage_per_day, 1e-9)
                self.add_ngo(c, kind="social_work", staff=max(staff, sc.ngos.initial_staff))

        # Cases.
        self.handlers = HandlerIndex(C, s.n_grids, self.government.street_of)
        self.cases = CaseBook(self.institutions, self.handlers, capacity=max(4096, s.n // 2))
        cparams = sc.cases
        self.class_p = np.array([cparams.general_share, cparams.coordination_share, cparams.emergency_share,
                                 cparams.approval_share])
        # Arrival weights: low-income households and the elderly have more needs;
        # relocated ex-villagers and migrants more disputes (field-report texts).
        need_w = 1.0 + 0.5 * s.low_income + 0.3 * (s.age == 2)
        disp_w = 1.0 + 0.3 * (s.tenure == 1) + 0.2 * (s.tenure == 2)
        self._need_cdf, self._need_total = np.cumsum(need_w), float(need_w.sum())
        self._disp_cdf, self._disp_total = np.cumsum(disp_w), float(disp_w.sum())
        self.online_open = np.full(C, data.online_channel)

        self.participation = Participation(self)
        for ngo in self.ngos:
            if ngo.kind == "volunteer_association":
                self.participation_bonus(ngo.community)
        if self.councils:
            self.participation.elect_directors(self.rng)
        self.committee_hours = 0.0
        self.participation_sum = 0.0
        self.ladder = np.ones(C)
        self._capacity = np.zeros(self.handlers.total)
        self._skill = np.ones(self.handlers.total)
        self.datacollector = mesa.DataCollector(model_reporters=metrics.REPORTERS) if collect else None

    # ------------------------------------------------------------------ helpers
    def add_ngo(self, community: int, kind: str | None = None, staff: float | None = None) -> NGO:
        p = self.scenario.ngos
        if kind is None:
            kind = NGO_KINDS[int(self.rng.choice(len(NGO_KINDS), p=NGO_KIND_P))]
        quality = float(np.clip(self.rng.normal(p.quality, 0.1), 0.05, 1.0))
        ngo = NGO(self, community, kind, p.initial_staff if staff is None else staff, quality)
        ngo.account = self.ledger.open(f"ngo:{len(self.ngos)}")
        self.ngos.append(ngo)
        self.ngos_by_community[community].append(ngo)
        if kind == "volunteer_association":
            self.participation_bonus(community)
        return ngo

    def participation_bonus(self, community: int) -> None:
        part = getattr(self, "participation", None)
        if part is not None:
            part.recruit_bonus[community] = 0.5

    def queue_at(self, level: int) -> np.ndarray:
        """Open cases waiting at ``level``, per instance of that level."""
        q = self.cases.queue_by_key()
        return q[self.handlers.slice(level)]

    def community_case_stats(self):
        """Per community: detected, reported by residents, resolved, self-resolved counts."""
        b = self.cases
        n = b.size
        C = self.structure.n_communities
        comm = b.community[:n]
        det = np.bincount(comm, weights=b.detected[:n] >= 0, minlength=C)
        self_rep = np.bincount(comm, weights=np.isin(b.channel[:n], (SELF_REPORT, ONLINE, HOTLINE)), minlength=C)
        res = np.bincount(comm, weights=b.status[:n] == 2, minlength=C)
        self_res = np.bincount(comm, weights=(b.status[:n] == 2) & ~b.left_community[:n], minlength=C)
        return det, self_rep, res, self_res

    # ------------------------------------------------------------------ the day
    def step(self) -> None:
        d = self.day
        rng = self.rng
        sc = self.scenario
        part = self.participation

        self.government.step_day(d)
        for com in self.committees:
            com.extra_cases_today = 0.0
            com.plan_day()
        self._ngo_sector(d)
        part.attendees_today = 0
        part.meetings(d, rng)
        part.ngo_activities(d, rng)
        part.council(d, rng)

        self._cases_day(d, rng)

        self.population.step(
            d, rng, intervention=self.institutions.data.intervention_intensity, online_open=self.online_open,
            online_base=sc.behaviour.online_base, grievance_decay=sc.cases.grievance_decay,
        )
        part.churn(d, rng)
        part.recruit(d, rng)
        part.budget(d, rng)
        self._incidents(d)
        self.committee_hours += sum(c.staff_hours for c in self.committees)
        # Unpaid committee members are residents giving their time.
        self.population.hours += sum(c.volunteer_members * c.member_hours for c in self.committees)
        if is_month_start(d):
            self.ladder = part.ladder(d)
        self.day += 1
        self.participation_sum += self.population.participation_rate(d)
        if self.datacollector is not None:
            self.datacollector.collect(self)
        if self.day >= sc.steps:
            self.running = False

    def _ngo_sector(self, d: int) -> None:
        """NGOs: daily wages and incubation, monthly donations, staffing and supervision."""
        p = self.scenario.ngos
        data = self.institutions.data
        ledger = self.ledger
        if is_month_start(d):
            contracted = self.institutions.has("ngo_outsourcing")
            for c, ngos in self.ngos_by_community.items():
                if not ngos:
                    continue
                com = self.committees[c]
                # Contracts must be supervised; the committee's time after admin is what it has.
                need = p.supervision_share * sum(n.staff for n in ngos) * 8.0 if contracted else 0.0
                com.supervision_hours = need
                com.plan_day()
                available = max(0.0, com.staff_hours - com.admin_hours)
                supervised = min(1.0, available / need) if need > 0 else 1.0
                for n in ngos:
                    gift = p.donations_per_year / 12.0 * (2.0 if n.kind == "foundation" else 1.0)
                    paid = ledger.transfer(self.acct["donors"], n.account, gift, "donation", allow_overdraft=True)
                    n.donations += float(paid.sum())
                    n.income_month += float(paid.sum())
                    n.supervise(supervised)
                    n.adjust_staff(p.wage_per_day)
        if p.incubation_per_year * data.ngo_support > 0:
            born = self.rng.poisson(p.incubation_per_year * data.ngo_support / 365.0, self.structure.n_communities)
            for c in np.flatnonzero(born):
                for _ in range(int(born[c])):
                    self.add_ngo(int(c), staff=p.initial_staff / 2.0)
        if self.ngos:
            accts = np.array([n.account for n in self.ngos])
            wages = np.array([n.staff for n in self.ngos]) * p.wage_per_day
            ledger.transfer(accts, self.acct["labour"], wages, "ngo_wages")

    def _capacities(self) -> None:
        """Cases/day and skill of every handler instance, from the actors."""
        h, cap, skill = self.handlers, self._capacity, self._skill
        s = self.structure
        C = s.n_communities
        res_cap = self.participation.residents_capacity()
        if self.owners:
            res_cap = res_cap + OWNERS_HOURS
        cap[h.slice(RESIDENTS)] = res_cap / HOURS_PER_CASE[RESIDENTS]
        skill[h.slice(RESIDENTS)] = RESIDENT_SKILL
        cap[h.slice(GRID)] = self.government.grid_capacity(s.n_grids)
        ngo_cap = np.zeros(C)
        ngo_q = np.zeros(C)
        for c, ngos in self.ngos_by_community.items():
            if ngos:
                ngo_cap[c] = sum(n.case_capacity for n in ngos)
                ngo_q[c] = sum(n.case_capacity * n.quality for n in ngos) / max(ngo_cap[c], 1e-9)
        if self.institutions.has("ngo_outsourcing"):
            ngo_cap = np.maximum(0.0, ngo_cap - self.government.outsourced_admin_hours / HOURS_PER_CASE[NGO_LEVEL])
        cap[h.slice(NGO_LEVEL)] = ngo_cap
        skill[h.slice(NGO_LEVEL)] = ngo_q / REFERENCE_NGO_QUALITY
        cap[h.slice(COMMITTEE)] = [c.case_capacity for c in self.committees]
        skill[h.slice(COMMITTEE)] = [c.mediation_skill / REFERENCE_MEDIATION for c in self.committees]
        cap[h.slice(COUNCIL)] = self.participation.council_capacity
        cap[h.slice(STREET)] = self.government.street_capacity()
        cap[h.slice(DISTRICT)] = self.government.district_capacity()

    def _cases_day(self, d: int, rng: np.random.Generator) -> None:
        sc = self.scenario
        book = self.cases
        pop = self.population
        new = book.arrive(
            d, rng, pop, sc.cases.need_rate, sc.cases.dispute_rate, self.class_p, self._need_cdf,
            self._need_total, self._disp_cdf, self._disp_total, self.structure,
            need_relief=self.participation.need_relief if self.institutions.has("participatory_budget") else None,
        )
        if len(new):
            r = book.resident[new]
            np.add.at(pop.open_cases, r, 1)
            # Report to the committee (community channel); severe cases are reported sooner.
            sev = 0.3 * book.severity[new]
            book.p_self[new] = sigmoid(pop.logit(r, sc.cases.report_base) + sev)
            if self.institutions.data.hotline:
                # Call the government hotline: the more one trusts government over community.
                tilt = pop.w.trust * (pop.trust_gov[r] - pop.trust_comm[r])
                book.p_hotline[new] = sigmoid(pop.logit(r, sc.cases.hotline_report_base) + tilt + sev)
            if data_online := self.institutions.data.online_channel:
                zo = pop.logit(r, sc.cases.online_report_base) + NON_ELDERLY_ONLINE_SHIFT * (pop.age[r] != 2)
                book.p_online[new] = sigmoid(zo) * data_online
        # Detection: self-report, committee visits, building heads, grid screening, online, hotline.
        pend = book.pending
        if len(pend):
            hh = self.structure.community_households
            visit = np.array([c.visit_chance(hh[i]) for i, c in enumerate(self.committees)])
            grid_p = self.government.grid_screening() if self.institutions.has("grid_management") else 0.0
            p = np.column_stack([
                book.p_self[pend],
                visit[book.community[pend]],
                self.participation.head_detection()[book.building[pend]],
                np.full(len(pend), grid_p),
                book.p_online[pend],
                book.p_hotline[pend],
            ])
            found = book.detect(d, rng, p)
            by_resident = np.isin(book.channel[found], (SELF_REPORT, ONLINE, HOTLINE))
            pop.mark_active(book.resident[found[by_resident]], d, "reports", 0.5)

        self._capacities()
        res, esc, worked = book.handle(d, rng, self._capacity, self._skill, sc.cases.fester_days)
        self.on_resolved(res, d)
        self.on_escalated(esc)
        wl = book.worked_levels
        self.government.case_operations(int(wl[STREET]), int(wl[DISTRICT]))
        lapsed = book.lapse(rng, sc.cases.lapse_rate, d)
        given_up = book.abandon(rng, sc.cases.abandon_rate, d)
        for closed in (lapsed, given_up):
            if len(closed):
                r = book.resident[closed]
                np.subtract.at(pop.open_cases, r, 1)
                pop.learn(r, "efficacy", 0.0, pop.w.learning_rate * 0.5)
                pop.learn(r, "satisfaction", 0.0)
        book.accumulate_grievance(pop, sc.cases.grievance_rate)

    def on_resolved(self, idx: np.ndarray, d: int) -> None:
        """Residents learn from resolved cases: efficacy, trust in who resolved it, satisfaction."""
        if len(idx) == 0:
            return
        book, pop = self.cases, self.population
        r = book.resident[idx]
        np.subtract.at(pop.open_cases, r, 1)
        speed = np.exp(-(d - book.arisen[idx]) / 30.0).astype(np.float32)
        pop.learn(r, "efficacy", 0.5 + 0.5 * speed)
        pop.learn(r, "satisfaction", speed)
        by_gov = np.isin(book.resolved_level[idx], list(GOVERNMENT_LEVELS))
        pop.learn(r[by_gov], "trust_gov", 1.0)
        pop.learn(r[~by_gov], "trust_comm", 1.0)
        pop.learn(r[by_gov], "dependency", 1.0, pop.w.learning_rate * 0.5)
        pop.learn(r[~by_gov], "dependency", 0.0, pop.w.learning_rate * 0.5)
        pop.grievance[r] *= np.float32(0.5)
        disp = book.kind[idx] == DISPUTE
        other = book.other[idx][disp]
        ok = other >= 0
        pop.grievance[other[ok]] *= np.float32(0.5)
        pop.learn(other[ok], "trust_comm", 1.0, pop.w.learning_rate * 0.5)

    def on_escalated(self, idx: np.ndarray) -> None:
        """A case passed up the chain: its resident trusts the level that failed a bit less."""
        if len(idx) == 0:
            return
        book, pop = self.cases, self.population
        r = book.resident[idx]
        failed = self.institutions.chains[book.cls[idx], book.chain_pos[idx] - 1]  # level it left
        by_gov = np.isin(failed, list(GOVERNMENT_LEVELS))
        pop.learn(r[~by_gov], "trust_comm", 0.0, pop.w.learning_rate * 0.3)
        pop.learn(r[by_gov], "trust_gov", 0.0, pop.w.learning_rate * 0.3)

    def _incidents(self, d: int) -> None:
        sc = self.scenario
        pop = self.population
        clusters = self.cases.incidents(d, pop, self.structure, sc.cases.grievance_threshold,
                                        sc.cases.incident_cluster)
        for members in clusters:
            idx = self.cases.add_incident_case(d, int(members[0]), self.structure)
            np.add.at(pop.open_cases, self.cases.resident[idx], 1)
            self.government.pay(sc.cases.incident_cost, self.acct["operations"], "incident_response")
            pop.grievance[members] *= np.float32(0.3)  # grievance vented
            pop.learn(members, "trust_gov", 0.0, 0.3)
            pop.learn(members, "trust_comm", 0.0, 0.15)
            pop.mark_active(members, d)

    # ------------------------------------------------------------------ running
    def run(self, steps: int | None = None, progress: bool = False) -> GovernanceModel:
        steps = self.scenario.steps if steps is None else int(steps)
        it = range(steps)
        if progress:
            from tqdm.auto import tqdm

            it = tqdm(it, desc=f"{self.scenario.name} [{self.scenario.regime}]", unit="day", leave=False)
        for _ in it:
            self.step()
        return self

    def summary(self) -> dict:
        return metrics.summary(self)

    def series(self):
        """Per-step metrics as a pandas DataFrame (one row per day)."""
        if self.datacollector is None:
            raise RuntimeError("model was built with collect=False")
        return self.datacollector.get_model_vars_dataframe().reset_index(drop=True)

    def community_table(self):
        return metrics.community_table(self)

    def describe(self) -> str:
        s = self.structure
        return (
            f"{self.scenario.name}: {s.n:,} residents in {s.n_households:,} households, "
            f"{s.n_communities} communit{'y' if s.n_communities == 1 else 'ies'}, {s.n_edges:,} ties\n"
            + self.institutions.describe()
        )


__all__ = ["GovernanceModel", "CLASSES"]
