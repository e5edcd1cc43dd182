"""GovernanceModel: the Mesa model that wires scenario, network, agents, institutions, cases
and money.

One step is one day and reads like the ODD process overview::

    government pays (wages, quarterly operating funds)
    committees plan their day (admin load, reporting, upward work crowd out case work)
    NGO sector (donations, staffing, incubation)
    institutions begin their day (sessions, contracts, drills, programmes, dues)
    residents' meetings and NGO activities
    cases arrive, are detected, triaged, handled, escalated, signed off or closed
    residents: influence, online participation, weekly attitudes    (array code)
    volunteers churn and are recruited
    institutions end their day (appraisals, elections, contract reviews)
    collective incidents
    collect metrics

Which institutions act is the regime's data (:mod:`govsim.regimes`); the model calls
their hooks (:mod:`govsim.institutions`) and never asks for one by name.
"""

from __future__ import annotations

import mesa
import numpy as np

from govsim import metrics
from govsim.agents import NGO, Committee, Government, committee_members
from govsim.agents.committee import (
    STAFF_HOURS,
    case_capacities,
    operating_fund_spending,
    skills,
    visit_chances,
)
from govsim.agents.ngo import NGO_KIND_P, NGO_KINDS
from govsim.agents.resident import LazyResidents
from govsim.attitudes import Attitudes
from govsim.by_community import CommunityStretches
from govsim.cases import (
    BUILDING_HEAD,
    COMMITTEE_VISIT,
    DISPUTE,
    HOTLINE,
    IS_RESIDENT_CHANNEL,
    N_DETECTION_CHANNELS,
    N_NEED_CATEGORIES,
    NEED_CATEGORY_P,
    ONLINE,
    SELF_REPORT,
    CaseBook,
    HandlerIndex,
    class_probabilities,
)
from govsim.community_series import CommunitySeries
from govsim.finance import Ledger, is_month_start
from govsim.institutions import INSTITUTIONS, Institution
from govsim.ladder import ladder
from govsim.meetings import Meetings
from govsim.network import structure_from_scenario
from govsim.population import Population, SocialWeights, sigmoid
from govsim.regimes import (
    AGENCY,
    CLASSES,
    COMMITTEE,
    DISTRICT,
    EMERGENCY,
    GRID,
    HOURS_PER_CASE,
    LEVELS,
    RESIDENTS,
    STREET,
    Routing,
    compile_institutions,
)
from govsim.regimes import NGO as NGO_LEVEL
from govsim.scenario import GovernanceScenario, scenario_from_dict
from govsim.timeline import LOCAL_REGIME, ROUTING_REGIME, Timeline, routing_key
from govsim.volunteers import Volunteers

NON_ELDERLY_ONLINE_SHIFT = 0.8  # the young and working-age report online more readily
RESIDENT_SKILL = 0.9
# FIT gives resolution chances for an actor of reference skill; skill = own / reference.
REFERENCE_MEDIATION = 0.6
REFERENCE_NGO_QUALITY = 0.65
# Access at the point of service for residents who are not registered, where government
# funds and serves by registered population (brief: migrants "excluded from services when
# resources are allocated by registered rather than resident population").
UNREGISTERED_ACCESS = 0.25
_BY_RESIDENT_OR_UNDETECTED = np.append(IS_RESIDENT_CHANNEL, False)  # by channel id; [-1]: none yet


class GovernanceModel(mesa.Model):
    """Community governance under one regime (its institutions, plus pilots), one step = one day.

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
        switches = {**sc.pilots.model_dump(), "owners_committees": sc.committees.owners_committees}
        self.institutions = compile_institutions(sc.regime, sc.regime_settings, switches)
        data = self.institutions.data

        self.structure = s = structure_from_scenario(sc, self.rng)
        self.stretches = CommunityStretches(s)  # per-community reductions over residents
        C = s.n_communities
        self.population = Population(s, SocialWeights.from_spec(sc.behaviour), self.rng,
                                     sc.behaviour.initial_dependency)
        # Residents are Mesa agents created on first access (govsim.agents.resident.LazyResidents);
        # ``agents`` / ``agents_by_type`` below create them all for whoever asks Mesa.
        self.residents = LazyResidents(self, s.n)
        self.eligible_per_comm = np.bincount(s.community[self.population.eligible], minlength=C)

        # Money.
        self.ledger = Ledger()
        self.acct = self.ledger.index

        # The residents' committee (or elected board) of every community.
        cp = sc.committees
        members = committee_members(s.community_households, cp.households_per_member, cp.min_members,
                                    cp.max_members)
        self.committees = [
            Committee(self, c, "residents", members=int(members[c]), member_paid=data.member_paid,
                      member_hours=data.member_hours_per_day, mediation_skill=cp.mediation_skill)
            for c in range(C)
        ]
        self.committee_accounts = accts = self.ledger.open_many("committee", C)
        for com, a in zip(self.committees, accts, strict=True):
            com.account = int(a)
            com.visit_share = data.committee_visit_rate
        self.councils: dict[int, Committee] = {}
        self.owners_revivers: list = []

        # Government and NGOs.
        self.government = Government(self)
        self.ngos: list[NGO] = []
        self.ngos_by_community: dict[int, list[NGO]] = {c: [] for c in range(C)}

        # Service access: [level, registered, member] -> multiplier on the chance of resolution.
        self.access = np.ones((len(LEVELS), 2, 2))
        if self.government.rule.basis == "registered":
            self.access[[GRID, AGENCY, STREET, DISTRICT], 0, :] *= UNREGISTERED_ACCESS
        self.member = np.ones(s.n, dtype=bool)
        self.emergency_gain = np.ones(C)  # preparedness (disaster bodies) per community
        self.onsite_gain = 0.0  # gain of an officer following an emergency on site (grid management)
        self._need_relief: dict[str, np.ndarray] = {}
        self.need_relief = None
        self.need_category_p = NEED_CATEGORY_P.copy()

        # Institutions: configure (policies others read), then install. Timeline events may
        # switch any institution in some communities (inst_on) and give settings per community.
        self.local_settings: dict[tuple[str, str], np.ndarray] = {}
        self.inst_on: dict[str, np.ndarray] = {}
        self.local_regime: dict[str, np.ndarray] = {}
        self.installed = [INSTITUTIONS[name](self, self._settings_for(name)) for name in self.institutions.names]
        for inst in self.installed:
            inst.configure()
        self.government.staff_committees(self.committees)
        start = self.rng.poisson(sc.ngos.initial_per_community * (0.5 + data.ngo_support), C)
        for c in range(C):
            for _ in range(int(start[c])):
                self.add_ngo(c)

        # Cases.
        self.handlers = HandlerIndex(C, s.n_grids, self.government.street_of)
        # Routing per community (timeline events may switch pilots in some communities only).
        self.switches = switches
        self.switch_on = {k: np.full(C, v is True) for k, v in switches.items()}
        self.routing = Routing(C)
        self.reroute()
        self.cases = CaseBook(self.institutions, self.handlers, capacity=max(4096, s.n // 2),
                              routing=self.routing)
        cparams = sc.cases
        self.class_p = class_probabilities([cparams.general_share, cparams.coordination_share,
                                            cparams.emergency_share, cparams.approval_share])
        # Arrival weights: low-income households and the elderly have more needs;
        # relocated ex-villagers and migrants more disputes (field-report texts).
        need_w = 1.0 + 0.5 * s.low_income + 0.3 * (s.age == 2)
        disp_w = 1.0 + 0.3 * (s.tenure == 1) + 0.2 * (s.tenure == 2)
        self._need_cdf, self._need_total = np.cumsum(need_w), float(need_w.sum())
        self._disp_cdf, self._disp_total = np.cumsum(disp_w), float(disp_w.sum())
        self.online_open = np.full(C, data.online_channel)

        self.volunteers = Volunteers(self)
        self.meetings = Meetings(self)
        self.attitudes = Attitudes(self)
        for ngo in self.ngos:
            if ngo.kind == "volunteer_association":
                self.volunteers.recruit_bonus[ngo.community] = 0.5
        for inst in self.installed:
            inst.install()
        self._index_hooks()
        self.timeline = Timeline(sc.timeline, s) if sc.timeline else None
        self.committee_hours = 0.0
        self.participation_sum = 0.0
        self.participation_today = 0.0
        self.ladder = np.ones(C)
        self._capacity = np.zeros(self.handlers.total)
        self._skill = np.ones(self.handlers.total)
        self.datacollector = mesa.DataCollector(model_reporters=metrics.REPORTERS) if collect else None
        self.cseries = CommunitySeries(self, sc.steps) if collect else None

    # ------------------------------------------------------------------ Mesa agents
    def _materialise_residents(self) -> None:
        residents = self.__dict__.get("residents")
        if residents is not None:
            residents.materialise()

    @property
    def agents(self):
        """All Mesa agents, every resident included (created on first request)."""
        self._materialise_residents()
        return super().agents

    @agents.setter
    def agents(self, value) -> None:
        mesa.Model.agents.fset(self, value)

    @property
    def agents_by_type(self):
        """Mesa agents by type, every resident included (created on first request)."""
        self._materialise_residents()
        return super().agents_by_type

    @property
    def agent_types(self) -> list[type]:
        self._materialise_residents()
        return super().agent_types

    def _index_hooks(self) -> None:
        self.hooks = {hook: [i for i in self.installed if i.overrides(hook)] for hook in Institution.HOOKS}

    # ------------------------------------------------------------------ timeline events
    def reroute(self) -> None:
        """Per community: the routing variant of its regime, the pilots on there and the
        institutions a timeline event switched there; then every installed institution's
        ``on`` mask follows the institutions of its communities' variants."""
        sc = self.scenario
        keys: dict[tuple, list[int]] = {}
        for c in range(self.structure.n_communities):
            on = {k: bool(m[c]) for k, m in self.switch_on.items()}
            sw = {k: bool(m[c]) for k, m in self.inst_on.items()}
            keys.setdefault(routing_key(sc, on, sw, self._regime_settings_at(c)), []).append(c)
        for key, comms in keys.items():
            if key not in self.routing.keys:
                c0 = comms[0]
                on = {k: bool(self.switch_on[k][c0]) for k in self.switch_on}
                sw = {k: bool(m[c0]) for k, m in self.inst_on.items()}
                inst = compile_institutions(sc.regime, self._regime_settings_at(c0), on, sw)
                self.routing.variant(key, inst)
            self.routing.variant_of[comms] = self.routing.keys.index(key)
        for inst in getattr(self, "installed", ()):
            new = self.acting(inst.name)
            if not np.array_equal(new, inst.on):
                was = inst.on.copy()
                inst.on[:] = new
                inst.switched(was)
                if inst.name in self._need_relief:  # no relief from it where it is off
                    self.set_need_relief(inst.name, self._need_relief[inst.name] * inst.on[:, None])

    def _regime_settings_at(self, c: int):
        """The scenario's regime settings, with the routing fields set for community ``c``."""
        rs = self.scenario.regime_settings
        upd = {f: a[c].item() for f, a in self.local_regime.items() if f in ROUTING_REGIME}
        return rs.model_copy(update=upd) if upd else rs

    def acting(self, name: str) -> np.ndarray:
        """Per community: whether institution ``name`` acts there (is in its routing variant)."""
        rt = self.routing
        has = np.array([name in v.names for v in rt.variants], dtype=bool)
        return has[rt.variant_of]

    def _compile_global(self):
        """The institutions on in any community (installed), compiled for the whole area."""
        sc = self.scenario
        return compile_institutions(sc.regime, sc.regime_settings,
                                    {k: bool(m.any()) for k, m in self.switch_on.items()},
                                    {k: bool(m.any()) for k, m in self.inst_on.items()})

    def add_timeline(self, events: list[dict]) -> None:
        """Add timeline events to a model before it runs (e.g. a treatment assigned from the
        communities it has built): as if the scenario had listed them."""
        if self.day > 0:
            raise RuntimeError("add_timeline: the model has already run")
        data = self.scenario.spec.model_dump(exclude_unset=True)
        data["timeline"] = [*data.get("timeline", ()), *events]
        self.scenario = scenario_from_dict(data, where="timeline")
        self.timeline = Timeline(self.scenario.timeline, self.structure)
        if self.cseries is not None:
            self.cseries.track(self.scenario.timeline)

    def switch_institution(self, switch: str, where: np.ndarray, on: bool) -> None:
        """A timeline event switches a pilot institution on or off in communities ``where``;
        the first time it is switched on, it is installed (that day)."""
        mask = self.switch_on.setdefault(switch, np.zeros(self.structure.n_communities, dtype=bool))
        mask[where] = on
        self.institutions_changed()

    def switch_regime_institution(self, name: str, where: np.ndarray, on: bool) -> None:
        """A timeline event adds (``on``) or removes any institution in communities ``where``
        (e.g. no hotline in 10 of 45 communities, disaster bodies in a few)."""
        if name not in self.inst_on:
            self.inst_on[name] = self.acting(name).copy()
        self.inst_on[name][where] = on
        self.institutions_changed()

    def institutions_changed(self) -> None:
        """Recompile, reroute, and install institutions now on somewhere for the first time
        (their ``on`` mask set before they configure and install)."""
        self.institutions = self._compile_global()
        self.reroute()
        added = [INSTITUTIONS[n](self, self._settings_for(n)) for n in self.institutions.names
                 if not any(i.name == n for i in self.installed)]
        for inst in added:
            inst.on = self.acting(inst.name).copy()
            inst.configure()
            inst.install()
            self.installed.append(inst)
        if added:
            self._index_hooks()

    def scenario_changed(self, old, force: frozenset = frozenset()) -> None:
        """A timeline event changed the scenario (regime, settings, parameters): swap the
        regime's institutions, restaff government and committees from the new regime data,
        and refresh what is read from the scenario at build."""
        sc = self.scenario
        old_data = self.institutions.data
        new = self._compile_global()
        keep = set(new.names)
        for inst in [i for i in self.installed if i.name not in keep]:
            inst.uninstall()
            self.installed.remove(inst)
        self.institutions = new
        for inst in self.installed:  # new settings for the institutions that stay
            inst.s = self._settings_for(inst.name)
        self.reroute()
        added = [INSTITUTIONS[n](self, self._settings_for(n)) for n in new.names
                 if not any(i.name == n for i in self.installed)]
        for inst in added:
            inst.on = self.acting(inst.name).copy()
        for inst in added:
            inst.configure()
        for inst in added:
            inst.install()
        self.installed += added
        self.installed.sort(key=lambda i: new.names.index(i.name) if i.name in new.names else len(new.names))
        self._index_hooks()
        self.restaff(old_data, new.data, force)
        c = sc.cases
        self.class_p = class_probabilities([c.general_share, c.coordination_share, c.emergency_share,
                                            c.approval_share])

    def restaff(self, old, new, force: frozenset = frozenset()) -> None:
        """After a regime or regime-setting change: government staffing and push-down, who
        pays committee members and their hours, visits and the online channel follow the new
        regime data (fields that did not change are left as they are; ``force``: fields an
        event set for all communities)."""
        changed = {f for f in type(new).model_fields if getattr(old, f) != getattr(new, f)} | set(force)
        for f in changed & set(LOCAL_REGIME):
            self.local_regime.pop(f, None)  # set again for all communities
        if changed & {"street_staff_per_10k", "district_staff_per_10k", "admin_pushdown"}:
            self.government.restaff(new, self.committees)
        if "member_paid" in changed or "member_hours_per_day" in changed:
            for com in self.committees:
                com.member_paid = new.member_paid
                com.member_hours = new.member_hours_per_day
        if "committee_visit_rate" in changed:
            for com in self.committees:
                com.visit_share = new.committee_visit_rate
        if "online_channel" in changed:
            self.online_open[:] = new.online_channel
        if "meeting_interval_days" in changed:
            self.meetings.interval = new.meeting_interval_days
            self.meetings.offset = np.arange(self.structure.n_communities) % new.meeting_interval_days

    def set_local_regime(self, field: str, value, where: np.ndarray) -> None:
        """A regime setting in some communities only (``govsim.timeline.LOCAL_REGIME``)."""
        data = self.institutions.data
        arr = self.local_regime.get(field)
        if arr is None:
            arr = self.local_regime[field] = np.full(self.structure.n_communities, getattr(data, field))
        arr[where] = value
        for c in np.flatnonzero(where):
            com = self.committees[c]
            if field == "committee_visit_rate":
                com.visit_share = float(value)
            elif field == "member_paid":
                com.member_paid = bool(value)
            elif field == "member_hours_per_day":
                com.member_hours = float(value)
        if field == "online_channel":
            self.online_open[where] = bool(value)
        if field in ROUTING_REGIME:  # carried by the communities' routing variants
            self.reroute()

    def set_local_setting(self, name: str, field: str, value, where: np.ndarray) -> None:
        """Institution ``name``'s setting ``field`` in communities ``where`` only."""
        arr = self.local_settings.get((name, field))
        if arr is None:
            inst = next((i for i in self.installed if i.name == name), None)
            base = getattr(inst.s if inst is not None else self._settings_for(name), field)
            arr = self.local_settings[(name, field)] = np.full(self.structure.n_communities, base)
        arr[where] = value
        for inst in self.installed:
            if inst.name == name:
                inst.settings_changed()

    def clear_need_relief(self, source: str) -> None:
        if self._need_relief.pop(source, None) is not None:
            keep = np.ones((self.structure.n_communities, N_NEED_CATEGORIES))
            for r in self._need_relief.values():
                keep = keep * (1.0 - r)
            self.need_relief = 1.0 - keep if self._need_relief else None

    def _settings_for(self, name: str):
        """An institution's settings: its defaults, the regime's, then the scenario's table."""
        cls = INSTITUTIONS[name]
        values = dict(self.institutions.data.settings.get(name, {}))
        table = getattr(self.scenario.institutions, name, None)
        if table is not None:
            values.update(table.model_dump(exclude_unset=True))
        return cls.Settings.model_validate(values)

    # ------------------------------------------------------------------ services for institutions
    def community_rows(self, c: int) -> np.ndarray:
        """Eligible (adult and elderly) residents of community ``c``."""
        s, pop = self.structure, self.population
        cache = self.__dict__.get("_community_rows")
        if cache is None or cache[0] is not pop.eligible or cache[1] is not s.community_start:
            cache = self._community_rows = (pop.eligible, s.community_start, {})
        rows = cache[2].get(c)
        if rows is None:  # computed once per community; read-only, callers get the same array
            rows = np.arange(s.community_start[c], s.community_start[c] + s.community_size[c])
            rows = rows[pop.eligible[rows]]
            rows.flags.writeable = False
            cache[2][c] = rows
        return rows

    def community_cases(self, c: int) -> np.ndarray:
        """All cases of community ``c`` so far, in table order (``np.flatnonzero(community ==
        c)`` over the case table; read-only). The case table only grows and a case's community
        never changes, so the list is extended with the cases added since it was last asked
        for: a periodic review scans the cases of the last few months, not the whole table."""
        book = self.cases
        n = book.size
        if self.__dict__.get("_cases_book") is not book or n < self.__dict__.get("_cases_seen", 0):
            self._cases_book, self._community_cases = book, {}  # c -> (cases looked at, c's cases)
        self._cases_seen = n
        seen, idx = self._community_cases.get(c, (0, np.empty(0, dtype=np.intp)))
        if n > seen:
            idx = np.concatenate([idx, np.flatnonzero(book.community[seen:n] == c) + seen])
            idx.flags.writeable = False
            self._community_cases[c] = (n, idx)
        return idx

    def record_voice(self, idx: np.ndarray, day: int, counter: str | None = None, hours: float = 0.0) -> None:
        """Residents ``idx`` took part in a decision today (and were active)."""
        self.population.voice_day[idx] = day
        self.population.mark_active(idx, day, counter, hours)

    def set_members(self, resident_member: np.ndarray) -> None:
        """Who counts as a member (paying household) for bodies that serve members first."""
        self.member = np.asarray(resident_member, dtype=bool)

    def restrict_access(self, level: int, non_member: float) -> None:
        self.access[level, :, 0] *= non_member

    def set_need_relief(self, source: str, relief: np.ndarray) -> None:
        """Share of new needs prevented, per community and category, from one source."""
        self._need_relief[source] = relief
        keep = np.ones_like(relief)
        for r in self._need_relief.values():
            keep *= 1.0 - r
        self.need_relief = 1.0 - keep

    def resolve_cases(self, idx: np.ndarray, day: int, level: int | None = None) -> np.ndarray:
        """Resolve open cases outside the daily handling, with everything that follows."""
        done = self.cases.resolve(idx, day, level)
        self.on_resolved(done, day)
        return done

    def sign_off(self, idx: np.ndarray, day: int) -> None:
        done = self.cases.sign_off(idx, day)
        self.on_resolved(done, day)

    def revive_owners(self, c: int) -> None:
        for revive in self.owners_revivers:
            revive(c)

    def add_ngo(self, community: int, kind: str | None = None, staff: float | None = None) -> NGO:
        p = self.scenario.ngos
        if kind is None:
            kind = NGO_KINDS[int(self.rng.choice(len(NGO_KINDS), p=NGO_KIND_P))]
        quality = float(np.clip(self.rng.normal(p.quality, 0.1), 0.05, 1.0))
        ngo = NGO(self, community, kind, p.initial_staff if staff is None else staff, quality)
        ngo.account = self.ledger.open(f"ngo:{len(self.ngos)}")
        self.ngos.append(ngo)
        self.ngos_by_community[community].append(ngo)
        vol = getattr(self, "volunteers", None)
        if kind == "volunteer_association" and vol is not None:
            vol.recruit_bonus[community] = 0.5
        return ngo

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
        # (a lookup by channel id, -1 for undetected cases reading the False appended at the
        # end: the same mask as np.isin(channel, RESIDENT_CHANNELS), without its sort)
        self_rep = np.bincount(comm, weights=_BY_RESIDENT_OR_UNDETECTED[b.channel[:n]], minlength=C)
        resolved = b.status[:n] == 2
        res = np.bincount(comm, weights=resolved, minlength=C)
        self_res = np.bincount(comm, weights=resolved & ~b.left_community[:n], minlength=C)
        return det, self_rep, res, self_res

    # ------------------------------------------------------------------ the day
    def step(self) -> None:
        d = self.day
        if self.timeline is not None:
            self.timeline.apply(self, d)
        rng = self.rng
        sc = self.scenario

        self.government.step_day(d)
        self._operating_funds(d)
        for com in self.committees:
            com.plan_day()
        self._ngo_sector(d)
        for inst in self.hooks["begin_day"]:
            inst.begin_day(d)
        self.meetings.day(d)

        self._cases_day(d, rng)

        self.population.step(
            d, rng, online_open=self.online_open,
            online_base=sc.behaviour.online_base, grievance_decay=sc.cases.grievance_decay,
        )
        if d % 7 == 0:
            self.attitudes.weekly(d)
        paid_hours = np.array([c.free_hours for c in self.committees])
        self.volunteers.churn(d, rng, paid_hours)
        self.volunteers.recruit(d, rng)
        for inst in self.hooks["end_day"]:
            inst.end_day(d)
        self._incidents(d)
        self.committee_hours += sum(c.staff_hours for c in self.committees)
        # Unpaid committee members are residents giving their time.
        self.population.hours += sum(c.volunteer_members * c.member_hours for c in self.committees)
        if is_month_start(d):
            self.ladder = ladder(self, d)
        self.day += 1
        active = self.population.active_eligible(d)  # shared by the rate and the series
        self.participation_today = self.population.participation_rate(d, active=active)
        self.participation_sum += self.participation_today
        if self.datacollector is not None:
            self.datacollector.collect(self)
            self.cseries.collect(self, d, active)
        if self.day >= sc.steps:
            self.running = False

    def _operating_funds(self, d: int) -> None:
        """Committees spend their operating fund on hired hours, spread over the quarter
        (so a higher funding tier buys more hours). All committees at once: each pays from its
        own account, in committee order (Ledger.transfer_each)."""
        wage = self.scenario.government.worker_wage_per_day / STAFF_HOURS
        left = 91 - (d % 91)
        coms = self.committees
        ledger = self.ledger
        reserve = [com.reserve for com in coms]
        if not all(type(r) is float for r in reserve):
            # A body set some reserve to a numpy scalar (dues): committee by committee, so the
            # helper hours keep the scalar types the daily hours sums have always added.
            bal = ledger.balance
            labour = self.acct["labour"]
            for com in coms:
                spend = com.spend_operating_funds(float(bal[com.account]) - com.reserve, left, wage)
                if spend > 0:
                    ledger.transfer_scalar(int(com.account), labour, float(spend), "helper_wages")
            return
        spend, hours = operating_fund_spending(ledger.balance[self.committee_accounts] - np.array(reserve), left,
                                               wage)
        for com, h in zip(coms, hours.tolist(), strict=True):
            com.helper_hours = h
        pays = spend > 0
        ledger.transfer_each(self.committee_accounts[pays], self.acct["labour"], spend[pays], "helper_wages")

    def _ngo_sector(self, d: int) -> None:
        """NGOs: daily wages and incubation, monthly donations, staffing and supervision."""
        p = self.scenario.ngos
        data = self.institutions.data
        ledger = self.ledger
        if is_month_start(d):
            for ngos in self.ngos_by_community.values():
                for n in ngos:
                    gift = p.donations_per_year / 12.0 * (2.0 if n.kind == "foundation" else 1.0)
                    paid = ledger.transfer(self.acct["donors"], n.account, gift, "donation", allow_overdraft=True)
                    n.donations += float(paid.sum())
                    n.income_month += float(paid.sum())
                    n.supervise(n.supervised)
                    n.adjust_staff(p.wage_per_day)
        support = data.ngo_support
        if len(self.routing.variants) > 1:  # institutions differ between communities
            per = np.array([v.data.ngo_support for v in self.routing.variants])[self.routing.variant_of]
            if (per != per[0]).any():
                support = per
        if np.any(p.incubation_per_year * support > 0):
            born = self.rng.poisson(p.incubation_per_year * support / 365.0, self.structure.n_communities)
            for c in np.flatnonzero(born):
                for _ in range(int(born[c])):
                    self.add_ngo(int(c), staff=p.initial_staff / 2.0)
        if self.ngos:
            accts = np.array([n.account for n in self.ngos])
            wages = np.array([n.staff for n in self.ngos]) * p.wage_per_day
            ledger.transfer(accts, self.acct["labour"], wages, "ngo_wages")

    def _capacities(self) -> None:
        """Cases/day and skill of every handler instance: the core actors here, the
        institutions' own levels through their ``capacity`` hooks."""
        h, cap, skill = self.handlers, self._capacity, self._skill
        cap[:] = 0.0
        skill[:] = 1.0
        C = self.structure.n_communities
        cap[h.slice(RESIDENTS)] = self.volunteers.capacity() / HOURS_PER_CASE[RESIDENTS]
        skill[h.slice(RESIDENTS)] = RESIDENT_SKILL
        # NGOs per community: capacity, and quality weighted by capacity. ``self.ngos`` lists
        # every community's NGOs in the order of ``ngos_by_community``, and bincount adds its
        # weights one by one in that order (as a sum over each community's list would).
        ngos = self.ngos
        caps = np.array([n.case_capacity for n in ngos], dtype=float)
        comm = np.array([n.community for n in ngos], dtype=np.int64)
        ngo_cap = np.bincount(comm, weights=caps, minlength=C)
        quality = np.bincount(comm, weights=caps * np.array([n.quality for n in ngos], dtype=float), minlength=C)
        cap[h.slice(NGO_LEVEL)] = ngo_cap
        skill[h.slice(NGO_LEVEL)] = quality / np.maximum(ngo_cap, 1e-9) / REFERENCE_NGO_QUALITY
        cap[h.slice(COMMITTEE)] = case_capacities(self.committees)
        skill[h.slice(COMMITTEE)] = skills(self.committees) / REFERENCE_MEDIATION
        cap[h.slice(STREET)] = self.government.street_capacity()
        cap[h.slice(DISTRICT)] = self.government.district_capacity()
        for inst in self.hooks["capacity"]:
            if inst.everywhere:
                inst.capacity(cap, skill)
            else:  # its levels keep what they had where it is off
                off = self._off_handlers(inst.on)
                cap0, skill0 = cap[off], skill[off]
                inst.capacity(cap, skill)
                cap[off], skill[off] = cap0, skill0

    def _off_handlers(self, on: np.ndarray) -> np.ndarray:
        """Handler instances (community levels and grids) of the communities not in ``on``."""
        h = self.handlers
        cache = self.__dict__.get("_handler_community")
        if cache is None or cache[0] is not h:
            # The community every handler instance serves (grids: their community), and for
            # the street and district levels, which serve many, the index C: an "on" appended
            # to the mask, so they are never off.
            C = self.structure.n_communities
            comm = np.full(h.total, C, dtype=np.int64)
            for lvl in range(len(LEVELS)):
                if lvl == GRID:
                    comm[h.slice(GRID)] = self.structure.grid_community
                elif lvl not in (STREET, DISTRICT):
                    comm[h.slice(lvl)] = np.arange(C)
            cache = self._handler_community = (h, comm)
        return ~np.append(on, True)[cache[1]]

    def _gain(self, o: np.ndarray, lvl: np.ndarray) -> np.ndarray:
        """Per worked case: access at the point of service, and emergency preparedness."""
        book = self.cases
        # access[lvl, registered, member] as one flat lookup (the table is [level, 2, 2])
        flat = lvl * 4 + 2 * book.registered[o] + book.member[o]
        g = self.access.reshape(-1)[flat]
        em = book.cls[o] == EMERGENCY
        if em.any():  # (g is a new array: the lookup copies)
            oe = o[em]
            ce = book.community[oe]
            og = self.onsite_gain  # an array where a timeline set it per community
            if np.ndim(og):
                og = og[ce]
            g[em] *= self.emergency_gain[ce] * (1.0 + og * book.onsite[oe])
        return g

    def _cases_day(self, d: int, rng: np.random.Generator) -> None:
        sc = self.scenario
        book = self.cases
        pop = self.population
        new = book.arrive(
            d, rng, pop, sc.cases.need_rate, sc.cases.dispute_rate, self.class_p, self._need_cdf,
            self._need_total, self._disp_cdf, self._disp_total, self.structure, need_relief=self.need_relief,
        )
        if len(new):
            r = book.resident[new]
            self._count_open_cases(r, 1)
            book.member[new] = self.member[r]
            self.attitudes.arrived(new)
            # Report to the committee (community channel); severe cases are reported sooner.
            sev = 0.3 * book.severity[new]
            book.p_self[new] = sigmoid(pop.logit(r, sc.cases.report_base) + sev)
            if "online_channel" in self.local_regime:  # open in some communities only
                zo = pop.logit(r, sc.cases.online_report_base) + NON_ELDERLY_ONLINE_SHIFT * (pop.age[r] != 2)
                book.p_online[new] = np.where(self.online_open[book.community[new]], sigmoid(zo), 0.0)
            elif self.institutions.data.online_channel:
                zo = pop.logit(r, sc.cases.online_report_base) + NON_ELDERLY_ONLINE_SHIFT * (pop.age[r] != 2)
                book.p_online[new] = sigmoid(zo)
            for inst in self.hooks["arrival"]:
                inst.arrival(new if inst.everywhere else new[inst.on[book.community[new]]])
            if self.cseries is not None:
                self.cseries.arrived(book.community[new])
        # Detection: self-report, committee visits, building heads, online, hotline, and
        # whatever channels the institutions add (screening, inspection, patrols, drills...).
        pend = book.pending
        if len(pend):
            visit = visit_chances(self.committees, self.structure.community_households)
            # Column-major: every channel's chances are one contiguous column (detect's
            # product and cumulative sum run along each row in channel order either way).
            p = np.zeros((len(pend), N_DETECTION_CHANNELS), order="F")
            p[:, SELF_REPORT] = book.p_self[pend]
            p[:, COMMITTEE_VISIT] = visit[book.community[pend]]
            p[:, BUILDING_HEAD] = self.volunteers.head_detection()[book.building[pend]]
            p[:, ONLINE] = book.p_online[pend]
            p[:, HOTLINE] = book.p_hotline[pend]
            for inst in self.hooks["detection"]:
                rows = None if inst.everywhere else inst.on[book.community[pend]]
                for channel, q in inst.detection(pend):
                    if rows is None:
                        p[:, channel] = 1.0 - (1.0 - p[:, channel]) * (1.0 - q)
                    else:  # only where it is on
                        q = np.broadcast_to(q, (len(pend),))[rows]
                        p[rows, channel] = 1.0 - (1.0 - p[rows, channel]) * (1.0 - q)
            found = book.detect(d, rng, p)
            by_resident = IS_RESIDENT_CHANNEL[book.channel[found]]  # channels of found cases are >= 0
            pop.mark_active(book.resident[found[by_resident]], d, "reports", 0.5, unique=False)
            for inst in self.hooks["on_detected"]:
                inst.on_detected(found if inst.everywhere else found[inst.on[book.community[found]]], d)

        self._capacities()
        res, esc, worked = book.handle(d, rng, self._capacity, self._skill, sc.cases.fester_days, gain=self._gain)
        if self.cseries is not None and len(worked):
            self.cseries.worked(book.community[worked], book.worked_level)
        com_worked = worked[book.level[worked] == COMMITTEE]
        if len(com_worked):
            counts = np.bincount(book.community[com_worked], minlength=self.structure.n_communities)
            at = np.flatnonzero(counts)
            for c, k in zip(at.tolist(), counts[at].tolist(), strict=True):  # Python ints
                self.committees[c].worked_cases += k
        self.on_resolved(res, d)
        self.on_escalated(esc)
        wl = book.worked_levels
        self.government.case_operations(int(wl[STREET]), int(wl[DISTRICT]))
        lapsed = book.lapse(rng, sc.cases.lapse_rate, d)
        given_up = book.abandon(rng, sc.cases.abandon_rate, d)
        for closed in (lapsed, given_up):
            if len(closed):
                self._count_open_cases(book.resident[closed], -1)
                self.attitudes.closed_unresolved(closed)
        book.accumulate_grievance(pop, sc.cases.grievance_rate)

    def _count_open_cases(self, residents: np.ndarray, step: int) -> None:
        """``open_cases[r] += step`` for the resident ``r`` of every case (a resident with
        several cases counts each). The step in the column's own dtype keeps ``np.add.at`` on
        numpy's fast loop (a Python int sends it through a casting loop ~30x slower)."""
        counts = self.population.open_cases
        np.add.at(counts, residents, counts.dtype.type(step))

    def on_resolved(self, idx: np.ndarray, d: int) -> None:
        """Resolved cases: residents learn (govsim.attitudes); institutions book them."""
        if len(idx) == 0:
            return
        book = self.cases
        self._count_open_cases(book.resident[idx], -1)
        at_com = idx[book.resolved_level[idx] == COMMITTEE]
        if len(at_com):
            counts = np.bincount(book.community[at_com], minlength=self.structure.n_communities)
            at = np.flatnonzero(counts)
            for c, k in zip(at.tolist(), counts[at].tolist(), strict=True):  # Python ints
                self.committees[c].resolved_cases += k
        self.attitudes.resolved(idx, d)
        if self.cseries is not None:
            self.cseries.resolved(book.community[idx], d - book.arisen[idx])
        for inst in self.hooks["on_resolved"]:
            inst.on_resolved(idx if inst.everywhere else idx[inst.on[book.community[idx]]], d)

    def on_escalated(self, idx: np.ndarray) -> None:
        """A case passed up the chain: its resident trusts the level that failed a bit less."""
        if len(idx) == 0:
            return
        book = self.cases
        failed = self.routing.chains[book.variant[idx], book.cls[idx], book.chain_pos[idx] - 1]  # level it left
        self.attitudes.escalated(idx, failed)

    def _incidents(self, d: int) -> None:
        sc = self.scenario
        pop = self.population
        clusters = self.cases.incidents(d, pop, self.structure, sc.cases.grievance_threshold,
                                        sc.cases.incident_cluster)
        for members in clusters:
            idx = self.cases.add_incident_case(d, int(members[0]), self.structure)
            if self.cseries is not None:
                self.cseries.incident(int(self.cases.community[idx[0]]))
            self._count_open_cases(self.cases.resident[idx], 1)
            self.government.pay(sc.cases.incident_cost, self.acct["operations"], "incident_response")
            pop.grievance[members] *= np.float32(0.3)  # grievance vented
            pop.learn(members, "trust_gov", 0.0, 0.3)
            pop.learn(members, "trust_comm", 0.0, 0.15)
            pop.learn(members, "satisfaction", 0.0, 0.3)
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

    def community_series(self):
        """The daily per-community series (one row per community and day), see
        :mod:`govsim.community_series`."""
        if self.cseries is None:
            raise RuntimeError("model was built with collect=False")
        return self.cseries.frame(self)

    def community_table(self):
        return metrics.community_table(self)

    def describe(self) -> str:
        """Size, network and institutions, in the current language (``--lang``)."""
        from govsim.outcomes import get_language

        s = self.structure
        if get_language() == "zh":
            return (f"{self.scenario.name}：{s.n:,} 名居民，{s.n_households:,} 户，{s.n_communities} 个社区，"
                    f"{s.n_edges:,} 条社会关系\n" + self.institutions.describe())
        return (
            f"{self.scenario.name}: {s.n:,} residents in {s.n_households:,} households, "
            f"{s.n_communities} communit{'y' if s.n_communities == 1 else 'ies'}, {s.n_edges:,} ties\n"
            + self.institutions.describe()
        )


__all__ = ["GovernanceModel", "CLASSES", "N_NEED_CATEGORIES", "DISPUTE"]
