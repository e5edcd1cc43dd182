"""Case engine at the unit level: triage, handling, escalation, paths, detection, incidents.

Every test builds a :class:`CaseBook` from ``compile_institutions(...)`` and a
:class:`HandlerIndex`, adds hand-made cases and sets capacities and skills by hand, so the
assertions follow from the mechanism and the constants in ``govsim.regimes`` rather than
from emergent numbers of a whole run.
"""

from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp

from govsim.cases import (
    FORWARD_LOAD,
    LAPSED,
    NEED,
    OPEN,
    RESOLVED,
    UNDETECTED,
    CaseBook,
    HandlerIndex,
)
from govsim.institutions import INSTITUTIONS, Institution
from govsim.network import CommunityPlan, build_structure
from govsim.regimes import (
    APPROVAL,
    CLASSES,
    COMMITTEE,
    COORDINATION,
    COUNCIL,
    DISTRICT,
    EMERGENCY,
    GENERAL,
    GRID,
    LEVELS,
    MAX_ATTEMPTS,
    PATIENCE_DAYS,
    REGIMES,
    RESIDENTS,
    STREET,
    RegimeSettings,
    compile_institutions,
)

# The regimes' own chains may be retuned; tests that rely on a chain's shape pin it here.
FIXED_CHAINS = {
    "general": ("residents", "committee", "street"),
    "coordination": ("committee", "street", "district"),
    "emergency": ("committee", "district"),
    "approval": ("committee", "street", "district"),
}
# Institutions may rewrite a regime's chains (the NGO grants put the NGO into the general
# chain, a regional centre goes first...). The pinned tests drop every institution of the
# regime that rewrites routing, so that what a test pins is what the case book routes.
ROUTERS = tuple(n for n in REGIMES["hybrid"].institutions
                if INSTITUTIONS[n].adjust_routing.__func__ is not Institution.adjust_routing.__func__)
PIN = {"remove_institutions": ROUTERS}


def pinned(escalation_delay_days=None, **chains):
    extra = {} if escalation_delay_days is None else {"escalation_delay_days": escalation_delay_days}
    return RegimeSettings(chains={**FIXED_CHAINS, **chains}, **PIN, **extra)


FIXED = pinned(escalation_delay_days=1)
UNSET = object()


def make_book(regime="hybrid", pilots=None, settings=UNSET, communities=1, grids=1, streets=None):
    """A case book; by default the hybrid regime with the pinned chains above."""
    if settings is UNSET:
        settings = FIXED if regime == "hybrid" else None
    inst = compile_institutions(regime, settings, pilots or {})
    street_of = np.zeros(communities, dtype=np.int64) if streets is None else np.asarray(streets)
    handlers = HandlerIndex(communities, grids, street_of)
    return CaseBook(inst, handlers, capacity=8), handlers


def add_cases(book, cls, n=1, day=0, community=0, grid=0, resident=None):
    """Add ``n`` undetected need cases of class ``cls`` (pending, not yet triaged)."""
    resident = np.arange(n) if resident is None else np.asarray(resident)
    return book.add(
        resident=resident.astype(np.int32),
        other=np.full(n, -1, dtype=np.int32),
        community=np.full(n, community, dtype=np.int32),
        grid=np.full(n, grid, dtype=np.int32),
        building=np.zeros(n, dtype=np.int32),
        kind=np.full(n, NEED, dtype=np.int8),
        category=np.zeros(n, dtype=np.int8),
        cls=np.full(n, cls, dtype=np.int8),
        severity=np.ones(n, dtype=np.float32),
        arisen=np.full(n, day, dtype=np.int32),
        status=np.full(n, UNDETECTED, dtype=np.int8),
    )


def detect_all(book, day, rng):
    """Detect every pending case (self-report channel with probability 1)."""
    p = np.zeros((len(book.pending), 4))
    p[:, 0] = 1.0
    return book.detect(day, rng, p)


def arrays(handlers, cap=0.0, skill=1.0):
    return np.full(handlers.total, float(cap)), np.full(handlers.total, float(skill))


def set_level(arr, handlers, level, value):
    arr[handlers.slice(level)] = value


def chain_levels(inst, cls):
    return [LEVELS[lv] for lv in inst.chains[cls, : inst.chain_len[cls]]]


# --------------------------------------------------------------------------- triage


@pytest.mark.parametrize("regime", sorted(REGIMES))
@pytest.mark.parametrize("cls", range(len(CLASSES)), ids=CLASSES)
def test_case_enters_at_first_level_of_its_class_chain(regime, cls):
    book, _ = make_book(regime, settings=None)
    rng = np.random.default_rng(0)
    idx = add_cases(book, cls, n=3)
    found = detect_all(book, 0, rng)
    np.testing.assert_array_equal(np.sort(found), idx)
    first = LEVELS.index(book.inst.data.chains[CLASSES[cls]][0])  # as compiled
    assert (book.level[idx] == first).all()
    assert (book.status[idx] == OPEN).all()
    assert (book.chain_pos[idx] == 0).all()
    assert book.path_of(int(idx[0])) == [LEVELS[first]]
    assert set(book.open_idx.tolist()) == set(idx.tolist())
    assert len(book.pending) == 0


def test_zero_capacity_waits_then_escalates_after_patience_and_stops_at_chain_end():
    book, h = make_book("hybrid")  # general: residents > committee > street
    assert chain_levels(book.inst, GENERAL) == ["residents", "committee", "street"]
    rng = np.random.default_rng(1)
    (i,) = add_cases(book, GENERAL)
    detect_all(book, 0, rng)
    cap, skill = arrays(h, cap=0.0)
    first_esc = int(PATIENCE_DAYS[RESIDENTS])
    second_esc = first_esc + int(PATIENCE_DAYS[COMMITTEE])
    for day in range(0, second_esc + 3 * int(PATIENCE_DAYS[STREET])):
        res, esc, worked = book.handle(day, rng, cap, skill)
        assert len(res) == 0 and len(worked) == 0
        if day < first_esc:
            assert book.level[i] == RESIDENTS, day
        elif day < second_esc:
            assert book.level[i] == COMMITTEE, day
        else:
            assert book.level[i] == STREET, day
        assert (i in esc) == (day in (first_esc, second_esc)), day
    # never past the chain's end, still open, nothing worked
    assert book.status[i] == OPEN
    assert book.escalations[i] == 2
    assert book.path_of(i) == ["residents", "committee", "street"]
    assert book.attempts[i] == 0
    assert book.counts["escalations"] == 2


def test_failed_attempts_escalate_after_max_attempts_before_patience():
    book, h = make_book("hybrid")
    inst = book.inst
    rng = np.random.default_rng(2)
    (i,) = add_cases(book, GENERAL)
    detect_all(book, 0, rng)
    cap, skill = arrays(h, cap=50.0, skill=0.0)  # worked every day, always fails
    # residents: first ready day min_days, escalates on the MAX_ATTEMPTS-th failure
    esc1 = int(inst.min_days[RESIDENTS] + MAX_ATTEMPTS[RESIDENTS] - 1)
    esc2 = int(esc1 + inst.min_days[COMMITTEE] + MAX_ATTEMPTS[COMMITTEE] - 1)
    assert esc1 < PATIENCE_DAYS[RESIDENTS]  # so the escalation is due to attempts
    assert esc2 - esc1 < PATIENCE_DAYS[COMMITTEE]
    days_escalated = []
    for day in range(esc2 + 1):
        _, esc, worked = book.handle(day, rng, cap, skill)
        assert i in worked
        if i in esc:
            days_escalated.append(day)
    assert days_escalated == [esc1, esc2]
    assert book.level[i] == STREET
    assert book.attempts[i] == 0  # reset on entering a new level
    assert book.status[i] == OPEN


def test_attempts_not_counted_before_min_days():
    book, h = make_book("hybrid")
    rng = np.random.default_rng(3)
    (i,) = add_cases(book, COORDINATION)  # hybrid coordination starts at the committee
    detect_all(book, 0, rng)
    assert book.level[i] == COMMITTEE
    cap, skill = arrays(h, cap=5.0, skill=0.0)
    book.handle(0, rng, cap, skill)  # entry day: committee has min_days >= 1
    assert book.inst.min_days[COMMITTEE] >= 1
    assert book.attempts[i] == 0
    book.handle(int(book.inst.min_days[COMMITTEE]), rng, cap, skill)
    assert book.attempts[i] == 1


def test_approval_cases_are_signed_off_in_sequence_and_resolved_only_by_the_last_level():
    # approval chain committee then street then district: every level signs off in turn.
    book, h = make_book("hybrid")
    inst = book.inst
    assert chain_levels(inst, APPROVAL) == ["committee", "street", "district"]
    # certain sign-offs, so the days follow from the minimum handling times alone
    inst.fit[[COMMITTEE, STREET, DISTRICT], APPROVAL] = 1.0
    rng = np.random.default_rng(4)
    idx = add_cases(book, APPROVAL, n=5)
    detect_all(book, 0, rng)
    cap, skill = arrays(h, cap=100.0, skill=1.0)
    at_street = int(inst.min_days[COMMITTEE])
    at_district = at_street + int(inst.min_days[STREET])
    done_day = at_district + int(inst.min_days[DISTRICT])
    for day in range(done_day + 1):
        res, esc, _ = book.handle(day, rng, cap, skill)
        assert len(esc) == 0  # a sign-off is not an escalation
        if day < done_day:
            assert len(res) == 0, day
        if day == at_street:
            assert (book.level[idx] == STREET).all()
        if day == at_district:
            assert (book.level[idx] == DISTRICT).all()
    assert (book.status[idx] == RESOLVED).all()
    assert (book.resolved_level[idx] == DISTRICT).all()
    assert (book.closed[idx] == done_day).all()
    assert all(book.path_of(int(j)) == ["committee", "street", "district"] for j in idx)
    assert (book.escalations[idx] == 0).all() and book.counts["escalations"] == 0
    assert (book.first_worked[idx] == at_street).all()


def test_approval_case_waits_for_its_sign_off_instead_of_escalating():
    # a level that can sign off but fails keeps the case (no escalation on attempts/patience)
    book, h = make_book("hybrid")
    inst = book.inst
    assert inst.fit[COMMITTEE, APPROVAL] > 0
    rng = np.random.default_rng(19)
    (i,) = add_cases(book, APPROVAL)
    detect_all(book, 0, rng)
    cap, skill = arrays(h, cap=10.0, skill=0.0)  # always fails
    horizon = int(PATIENCE_DAYS[COMMITTEE] + MAX_ATTEMPTS[COMMITTEE]) + 5
    for day in range(horizon):
        _, esc, _ = book.handle(day, rng, cap, skill)
        assert len(esc) == 0
    assert book.level[i] == COMMITTEE and book.status[i] == OPEN
    # a level that cannot sign (fit 0) passes it on at once
    inst.fit[COMMITTEE, APPROVAL] = 0.0
    _, esc, _ = book.handle(horizon, rng, cap, skill)
    assert esc.tolist() == [i]
    assert book.level[i] == STREET


def test_single_level_approval_chain_is_resolved_by_that_level():
    # contrast: when the committee is the whole approval chain its sign-off resolves the case
    approve = pinned(approval=("committee",))
    book, h = make_book("hybrid", settings=approve)
    assert book.inst.fit[COMMITTEE, APPROVAL] > 0
    rng = np.random.default_rng(5)
    idx = add_cases(book, APPROVAL, n=40)
    detect_all(book, 0, rng)
    cap, skill = arrays(h, cap=100.0, skill=1.0)
    for day in range(60):
        book.handle(day, rng, cap, skill)
    assert (book.resolved_level[idx] == COMMITTEE).sum() > 5
    assert not (book.level[idx] != COMMITTEE).any()


def test_gain_multiplies_the_chance_of_each_worked_case():
    book, h = make_book("hybrid")
    rng = np.random.default_rng(20)
    idx = add_cases(book, COORDINATION, n=4000)
    detect_all(book, 0, rng)
    cap, skill = arrays(h, cap=10_000.0, skill=1.0)
    day = int(book.inst.min_days[COMMITTEE])
    seen = []

    def gain(cases, levels):
        seen.append((cases.copy(), levels.copy()))
        return np.where(book.resident[cases] % 2 == 0, 0.0, 1.0)

    res, _, worked = book.handle(day, rng, cap, skill, gain=gain)
    assert len(seen) == 1 and set(seen[0][0].tolist()) == set(idx.tolist())
    assert (seen[0][1] == COMMITTEE).all()
    assert len(worked) == 4000
    assert (book.resident[res] % 2 == 1).all()  # gain 0: never resolved
    p = book.inst.fit[COMMITTEE, COORDINATION]
    assert abs(len(res) / 2000 - p) < 0.05


def test_resolve_outside_handling_closes_open_cases_at_the_given_level():
    book, h = make_book("hybrid")
    rng = np.random.default_rng(21)
    idx = add_cases(book, COORDINATION, n=3)
    detect_all(book, 2, rng)
    pend = add_cases(book, COORDINATION, n=1, resident=[9])
    out = book.resolve(np.concatenate([idx[:2], pend]), 5, level=COUNCIL)
    assert sorted(out.tolist()) == idx[:2].tolist()  # the undetected case is not open
    assert (book.status[idx[:2]] == RESOLVED).all()
    assert (book.resolved_level[idx[:2]] == COUNCIL).all()
    assert (book.closed[idx[:2]] == 5).all() and (book.first_worked[idx[:2]] == 5).all()
    assert book.path_of(int(idx[0])) == ["committee", "council"]
    assert book.open_idx.tolist() == [idx[2]]
    assert book.counts["resolved"] == 2 and book.counts["self_resolved"] == 2
    # resolved again: nothing happens
    assert len(book.resolve(idx[:2], 6)) == 0
    assert book.counts["resolved"] == 2


def test_sign_off_forwards_until_the_last_level_then_resolves():
    book, _ = make_book("hybrid")  # approval: committee then street then district
    rng = np.random.default_rng(22)
    (i,) = add_cases(book, APPROVAL)
    detect_all(book, 0, rng)
    assert len(book.sign_off(np.array([i]), 1)) == 0
    assert book.level[i] == STREET and book.status[i] == OPEN
    assert book.first_worked[i] == 1
    assert len(book.sign_off(np.array([i]), 2)) == 0
    assert book.level[i] == DISTRICT
    assert book.sign_off(np.array([i]), 3).tolist() == [i]
    assert book.status[i] == RESOLVED and book.resolved_level[i] == DISTRICT
    assert book.closed[i] == 3 and book.escalations[i] == 0
    assert book.first_worked[i] == 1


def test_emergency_worked_at_once_and_before_older_general_cases():
    settings = pinned(general=("committee", "street", "district"))
    book, h = make_book("hybrid", settings=settings)
    assert book.inst.chains[EMERGENCY, 0] == COMMITTEE
    assert book.inst.min_days[COMMITTEE] == 1
    rng = np.random.default_rng(6)
    (old_general,) = add_cases(book, GENERAL, day=0, resident=[0])
    (newer_general,) = add_cases(book, GENERAL, day=2, resident=[1])
    (newest_general,) = add_cases(book, GENERAL, day=3, resident=[3])
    (emergency,) = add_cases(book, EMERGENCY, day=5, resident=[2])
    detect_all(book, 5, rng)
    cap, skill = arrays(h, cap=0.0, skill=0.0)
    set_level(cap, h, COMMITTEE, 2.0)  # a queue of 4: below the forwarding load
    assert 4 / 2.0 < FORWARD_LOAD
    # On the day they arrive only the emergency is worked: emergencies are urgent, the
    # general cases wait out the committee's minimum handling time (1 day) ...
    _, esc, worked = book.handle(5, rng, cap, skill)
    assert worked.tolist() == [emergency] and len(esc) == 0
    # ... then the two slots go to the emergency and the oldest general case.
    _, esc, worked = book.handle(6, rng, cap, skill)
    assert worked.tolist() == [emergency, old_general] and len(esc) == 0
    # without the emergency, the two oldest general cases go first
    book2, _ = make_book("hybrid", settings=settings)
    (g_new,) = add_cases(book2, GENERAL, day=3, resident=[1])
    (g_mid,) = add_cases(book2, GENERAL, day=2, resident=[3])
    (g_old,) = add_cases(book2, GENERAL, day=0, resident=[0])
    detect_all(book2, 5, rng)
    _, _, worked2 = book2.handle(6, rng, cap, skill)
    assert worked2.tolist() == [g_old, g_mid]
    assert len({old_general, newer_general, newest_general}) == 3


# --------------------------------------------------------------------------- paths


def test_path_and_describe_list_levels_in_order():
    book, h = make_book("hybrid")
    rng = np.random.default_rng(7)
    (i,) = add_cases(book, COORDINATION)  # committee > street > district
    detect_all(book, 3, rng)
    cap, skill = arrays(h, cap=0.0)
    day = 3
    while book.level[i] != DISTRICT:
        book.handle(day, rng, cap, skill)
        day += 1
    assert book.path_of(i) == ["committee", "street", "district"]
    d = book.describe(i)
    assert d["path"] == ["committee", "street", "district"]
    assert d["class"] == "coordination"
    assert d["escalations"] == 2
    assert d["status"] == "open"
    assert d["detected"] == 3
    assert d["channel"] == "self_report"
    assert d["resolved_by"] is None
    assert d["closed"] is None
    assert d["self_resolved"] is False
    frame = book.to_frame()
    assert frame.loc[i, "path"] == "committee > street > district"


def _deterministic_book(regime="hybrid"):
    """A book whose committee and street resolve coordination cases with certainty."""
    book, h = make_book(regime)
    book.inst.fit[COMMITTEE, COORDINATION] = 1.0
    book.inst.fit[STREET, COORDINATION] = 1.0
    return book, h


def test_case_resolved_at_committee_is_self_resolved():
    book, h = _deterministic_book()
    rng = np.random.default_rng(8)
    (i,) = add_cases(book, COORDINATION)
    detect_all(book, 0, rng)
    cap, skill = arrays(h, cap=10.0, skill=1.0)
    day = 0
    while book.status[i] != RESOLVED:
        book.handle(day, rng, cap, skill)
        day += 1
    assert day - 1 == book.inst.min_days[COMMITTEE]
    d = book.describe(i)
    assert d["resolved_by"] == "committee"
    assert d["self_resolved"] is True
    assert not book.left_community[i]
    assert book.counts["resolved"] == 1 and book.counts["self_resolved"] == 1
    assert book.counts["left_community"] == 0
    assert book.to_frame().loc[i, "self_resolved"]


def test_case_resolved_after_reaching_street_is_not_self_resolved():
    book, h = _deterministic_book()
    book.inst.fit[COMMITTEE, COORDINATION] = 0.0  # the committee cannot resolve it: passes it on
    rng = np.random.default_rng(9)
    (i,) = add_cases(book, COORDINATION)
    detect_all(book, 0, rng)
    cap, skill = arrays(h, cap=10.0, skill=1.0)
    day = 0
    while book.status[i] != RESOLVED:
        book.handle(day, rng, cap, skill)
        day += 1
        assert day < 200
    d = book.describe(i)
    assert d["path"] == ["committee", "street"]
    assert d["resolved_by"] == "street"
    assert d["self_resolved"] is False
    assert book.left_community[i]
    assert book.counts["resolved"] == 1 and book.counts["self_resolved"] == 0
    assert book.counts["left_community"] == 1
    esc_day = int(book.inst.min_days[COMMITTEE])  # worked once, cannot resolve: escalated
    assert book.closed[i] == esc_day + book.inst.min_days[STREET]
    assert book.first_worked[i] == esc_day


# --------------------------------------------------------------------------- capacity


def test_capacity_limits_cases_worked_per_handler_per_day():
    # two communities; committee capacities 4 and 5 (queues below the forwarding load);
    # coordination starts at the committee
    book, h = make_book("hybrid", communities=2, grids=2)
    rng = np.random.default_rng(10)
    a = add_cases(book, COORDINATION, n=10, community=0)
    b = add_cases(book, COORDINATION, n=10, community=1, resident=np.arange(10, 20))
    detect_all(book, 0, rng)
    cap, skill = arrays(h, cap=0.0, skill=0.0)
    cap[h.slice(COMMITTEE)] = [4.0, 5.0]
    assert 10 / 4.0 < FORWARD_LOAD
    for day in range(1, 4):  # from day 1: the committee's minimum handling time is 1 day
        _, esc, worked = book.handle(day, rng, cap, skill)
        assert np.isin(worked, a).sum() == 4
        assert np.isin(worked, b).sum() == 5
        assert len(esc) == 0
    q = book.queue_by_key()
    assert q[h.slice(COMMITTEE)].tolist() == [10, 10]


@pytest.mark.parametrize("n, forwarded", [(2, 0), (3, 2), (7, 6)])
def test_swamped_handler_passes_on_the_ready_cases_it_cannot_reach(n, forwarded):
    # committee capacity 1: a queue of FORWARD_LOAD times the capacity or more is passed on
    book, h = make_book("hybrid")
    rng = np.random.default_rng(24)
    idx = add_cases(book, COORDINATION, n=n)
    detect_all(book, 0, rng)
    cap, skill = arrays(h, cap=0.0, skill=0.0)
    set_level(cap, h, COMMITTEE, 1.0)
    _, esc, worked = book.handle(0, rng, cap, skill)  # not ready yet (minimum time): nobody moves
    assert len(esc) == 0 and len(worked) == 0
    day = int(book.inst.min_days[COMMITTEE])
    _, esc, worked = book.handle(day, rng, cap, skill)
    assert len(worked) == 1
    assert len(esc) == forwarded
    assert not np.isin(worked, esc).any()  # the case worked today stays
    assert (book.level[esc] == STREET).all()
    assert (book.level[np.setdiff1d(idx, esc)] == COMMITTEE).all()


def test_unworked_case_escalates_after_patience_when_the_handler_is_busy():
    # capacity 1 taken every day by an older approval case the committee keeps failing to
    # sign (an approval waits for its sign-off); the coordination case behind it is never
    # worked, and leaves on the day its patience runs out.
    book, h = make_book("hybrid")
    rng = np.random.default_rng(25)
    (blocker,) = add_cases(book, APPROVAL, day=0, resident=[0])
    (waiting,) = add_cases(book, COORDINATION, day=0, resident=[1])
    detect_all(book, 0, rng)
    cap, skill = arrays(h, cap=0.0, skill=0.0)
    set_level(cap, h, COMMITTEE, 1.0)
    assert 2 / 1.0 < FORWARD_LOAD
    book.arisen[waiting] = 0
    book.arisen[blocker] = -1  # older: its slot first
    patience = int(PATIENCE_DAYS[COMMITTEE])
    for day in range(patience + 1):
        _, esc, worked = book.handle(day, rng, cap, skill)
        assert waiting not in worked
        assert (waiting in esc) == (day == patience), day
    assert book.level[waiting] == STREET and book.escalations[waiting] == 1
    assert book.level[blocker] == COMMITTEE and book.status[blocker] == OPEN


def test_fractional_capacity_is_stochastically_rounded_to_its_mean():
    # emergencies go straight to the district, the chain's only level; with skill 0
    # nothing resolves and nothing escalates, so the queue stays full.
    only_district = pinned(emergency=("district",))
    book, h = make_book("hybrid", settings=only_district)
    assert chain_levels(book.inst, EMERGENCY) == ["district"]
    rng = np.random.default_rng(11)
    add_cases(book, EMERGENCY, n=30)
    detect_all(book, 0, rng)
    cap, skill = arrays(h, cap=0.0, skill=0.0)
    set_level(cap, h, DISTRICT, 2.3)
    start = int(book.inst.min_days[DISTRICT])  # nothing is worked before the minimum time
    counts = np.array([len(book.handle(d, rng, cap, skill)[2]) for d in range(start, start + 3000)])
    assert set(np.unique(counts).tolist()) == {2, 3}
    assert abs(counts.mean() - 2.3) < 0.04
    set_level(cap, h, DISTRICT, 3.0)
    counts = np.array([len(book.handle(d, rng, cap, skill)[2]) for d in range(start + 3000, start + 3100)])
    assert (counts == 3).all()


# --------------------------------------------------------------------------- pilots


def test_grid_management_routes_general_to_grid_and_emergency_to_district():
    for regime in sorted(REGIMES):
        book, h = make_book(regime, pilots={"grid_management": True}, grids=3)
        assert chain_levels(book.inst, GENERAL)[0] == "grid"
        # reported up at once: the district acts, after any responder already in the community
        em_chain = chain_levels(book.inst, EMERGENCY)
        assert em_chain[-1] == "district" and "street" not in em_chain and len(em_chain) <= 2
        rng = np.random.default_rng(12)
        g = add_cases(book, GENERAL, n=2, grid=2)
        e = add_cases(book, EMERGENCY, n=2, resident=[5, 6])
        detect_all(book, 0, rng)
        assert (book.level[g] == GRID).all()
        assert (book.level[e] == LEVELS.index(em_chain[0])).all()
        assert not book.left_community[g].any()
        # the grid case sits in its own grid's queue
        q = book.queue_by_key()
        assert q[h.slice(GRID)].tolist() == [0, 0, 2]
        if em_chain == ["district"]:
            assert q[h.slice(DISTRICT)].tolist() == [2]
            assert book.left_community[e].all()


def test_grid_management_keeps_the_rest_of_the_chains_in_order():
    base, _ = make_book("hybrid")
    book, _ = make_book("hybrid", pilots={"grid_management": True})
    assert chain_levels(base.inst, GENERAL) == ["residents", "committee", "street"]
    assert not base.inst.uses(GRID)
    assert chain_levels(book.inst, GENERAL) == ["grid", "committee", "street"]
    assert chain_levels(book.inst, COORDINATION) == chain_levels(base.inst, COORDINATION)
    assert chain_levels(book.inst, APPROVAL) == chain_levels(base.inst, APPROVAL)


@pytest.mark.parametrize("regime", sorted(REGIMES))
def test_deliberation_council_inserted_before_street(regime):
    base, _ = make_book(regime)
    book, h = make_book(regime, pilots={"deliberation_council": True})
    for cls in (COORDINATION, APPROVAL):
        before = chain_levels(base.inst, cls)
        after = chain_levels(book.inst, cls)
        assert "council" not in before
        assert "council" in after
        k = after.index("council")
        assert [lv for lv in after if lv != "council"] == before
        upper = [lv for lv in before if lv in ("street", "district")]
        if upper:  # just before the first of street / district
            assert after[k + 1 :] == before[before.index(upper[0]) :]
        else:  # or at the end
            assert k == len(after) - 1
    assert book.inst.fit[COUNCIL, APPROVAL] > 0
    # general and emergency chains are untouched
    for cls in (GENERAL, EMERGENCY):
        assert chain_levels(book.inst, cls) == chain_levels(base.inst, cls)


def test_coordination_case_reaches_council_before_street():
    book, h = make_book("hybrid", pilots={"deliberation_council": True})
    rng = np.random.default_rng(13)
    (i,) = add_cases(book, COORDINATION)
    detect_all(book, 0, rng)
    cap, skill = arrays(h, cap=0.0)
    day = 0
    while book.level[i] != STREET:
        book.handle(day, rng, cap, skill)
        day += 1
    assert book.path_of(i) == ["committee", "council", "street"]


# --------------------------------------------------------------------------- detection, lapse


def test_detection_probability_one_detects_all_and_zero_none():
    book, _ = make_book("hybrid")
    rng = np.random.default_rng(14)
    idx = add_cases(book, GENERAL, n=50)
    found = book.detect(0, rng, np.zeros((50, 4)))
    assert len(found) == 0
    assert len(book.pending) == 50
    assert book.counts["detected"] == 0
    assert (book.status[idx] == UNDETECTED).all()
    p = np.zeros((50, 4))
    p[:, 3] = 1.0  # grid screening only
    found = book.detect(1, rng, p)
    assert sorted(found.tolist()) == idx.tolist()
    assert len(book.pending) == 0
    assert book.counts["detected"] == 50
    assert (book.detected[idx] == 1).all()
    assert (book.channel[idx] == 3).all()
    assert (book.status[idx] == OPEN).all()


def test_detection_rate_matches_probability():
    book, _ = make_book("hybrid")
    rng = np.random.default_rng(15)
    add_cases(book, GENERAL, n=4000)
    p = np.zeros((4000, 4))
    p[:, 1] = 0.25
    found = book.detect(0, rng, p)
    assert abs(len(found) / 4000 - 0.25) < 0.03
    assert (book.channel[found] == 1).all()


def test_channel_credited_in_proportion_to_its_chance_over_all_channels():
    from govsim.cases import CHANNELS, N_DETECTION_CHANNELS

    assert N_DETECTION_CHANNELS == CHANNELS.index("incident")  # every channel but incidents
    book, _ = make_book("hybrid")
    rng = np.random.default_rng(23)
    n = 6000
    add_cases(book, GENERAL, n=n)
    p = np.zeros((n, N_DETECTION_CHANNELS))
    patrol, drilled = CHANNELS.index("patrol"), CHANNELS.index("drilled")
    p[:, patrol] = 0.6
    p[:, drilled] = 0.2
    found = book.detect(0, rng, p)
    assert abs(len(found) / n - (1 - 0.4 * 0.8)) < 0.03
    share = (book.channel[found] == patrol).mean()
    assert abs(share - 0.75) < 0.03  # 0.6 / (0.6 + 0.2)
    assert set(np.unique(book.channel[found]).tolist()) == {patrol, drilled}


def test_hotline_calls_enter_at_the_first_government_level():
    from govsim.cases import CHANNELS

    hotline = CHANNELS.index("hotline")
    settings = pinned(general=("residents", "committee"))
    book, _ = make_book("hybrid", settings=settings)
    rng = np.random.default_rng(18)
    cases = {cls: add_cases(book, cls, n=2, resident=[2 * cls, 2 * cls + 1])
             for cls in (GENERAL, COORDINATION, APPROVAL)}
    p = np.zeros((len(book.pending), len(CHANNELS)))
    p[:, hotline] = 1.0
    book.detect(0, rng, p)
    # coordination / approval: committee > street > district -> enters at the street
    for cls in (COORDINATION, APPROVAL):
        idx = cases[cls]
        assert (book.level[idx] == STREET).all()
        assert (book.chain_pos[idx] == 1).all()
        assert book.left_community[idx].all()
        assert book.path_of(int(idx[0])) == ["street"]
    # a chain with no government level: the call lands at its last level
    g = cases[GENERAL]
    assert (book.level[g] == COMMITTEE).all()
    assert not book.left_community[g].any()
    assert (book.channel[g] == hotline).all()


def test_lapse_removes_pending_cases_only():
    book, _ = make_book("hybrid")
    rng = np.random.default_rng(16)
    opened = add_cases(book, GENERAL, n=5)
    detect_all(book, 0, rng)
    pend = add_cases(book, GENERAL, n=20, resident=np.arange(5, 25))
    assert len(book.lapse(rng, 0.0, 1)) == 0
    assert len(book.pending) == 20
    out = book.lapse(rng, 1.0, 2)
    assert sorted(out.tolist()) == pend.tolist()
    assert len(book.pending) == 0
    assert (book.status[pend] == LAPSED).all()
    assert (book.closed[pend] == 2).all()
    assert book.counts["lapsed"] == 20
    assert (book.status[opened] == OPEN).all()
    assert len(book.open_idx) == 5


# --------------------------------------------------------------------------- incidents


def _path_adjacency(n, edges):
    rows = [a for a, b in edges] + [b for a, b in edges]
    cols = [b for a, b in edges] + [a for a, b in edges]
    return sp.csr_array((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n, n))


def test_incident_found_for_connected_cluster_only():
    book, _ = make_book("hybrid")
    adj = _path_adjacency(10, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (7, 8)])
    structure = SimpleNamespace(adjacency=adj)
    g = np.zeros(10, dtype=np.float32)
    g[[0, 1, 2, 7, 8]] = 2.0  # a chain of 3 and a pair
    pop = SimpleNamespace(grievance=g)
    clusters = book.incidents(0, pop, structure, threshold=1.0, min_cluster=3)
    assert len(clusters) == 1
    assert sorted(clusters[0].tolist()) == [0, 1, 2]
    assert book.incidents(0, pop, structure, threshold=1.0, min_cluster=4) == []
    clusters2 = book.incidents(0, pop, structure, threshold=1.0, min_cluster=2)
    assert sorted(sorted(c.tolist()) for c in clusters2) == [[0, 1, 2], [7, 8]]
    # same number of aggrieved people, but not connected: no incident
    g2 = np.zeros(10, dtype=np.float32)
    g2[[0, 2, 4]] = 2.0
    assert book.incidents(0, SimpleNamespace(grievance=g2), structure, 1.0, 3) == []
    # grievance at (not above) the threshold does not count
    g3 = np.zeros(10, dtype=np.float32)
    g3[[0, 1, 2]] = 1.0
    assert book.incidents(0, SimpleNamespace(grievance=g3), structure, 1.0, 3) == []


def test_incident_in_generated_structure_household_clique():
    plan = CommunityPlan("c", households=40, people=160, migrant_share=0.0, relocated_share=0.0,
                         elderly_share=0.1, youth_share=0.1, party_share=0.0, low_income_share=0.0)
    s = build_structure([plan], households_per_building=10, buildings_per_courtyard=2,
                        courtyards_per_subarea=2, households_per_grid=40, ties={}, homophily=0.0,
                        tenure_clustering=0.0, household_size=4.0, rng=np.random.default_rng(0))
    book, _ = make_book("hybrid")
    hh = int(np.argmax(s.hh_size))
    members = np.flatnonzero(s.household == hh)
    assert len(members) >= 3
    g = np.zeros(s.n, dtype=np.float32)
    g[members] = 5.0
    clusters = book.incidents(0, SimpleNamespace(grievance=g), s, 1.0, len(members))
    assert len(clusters) == 1 and sorted(clusters[0].tolist()) == members.tolist()
    # the same number of aggrieved people spread over different households (no ties across
    # households with all level ties at zero) is not a cluster
    firsts = np.searchsorted(s.household, np.arange(len(members)))
    g2 = np.zeros(s.n, dtype=np.float32)
    g2[firsts] = 5.0
    assert book.incidents(0, SimpleNamespace(grievance=g2), s, 1.0, 2) == []


def test_incident_case_is_an_open_emergency_at_the_district():
    book, _ = make_book("hybrid")
    s = SimpleNamespace(community=np.zeros(5, dtype=np.int32), grid=np.zeros(5, dtype=np.int32),
                        building=np.zeros(5, dtype=np.int32))
    (i,) = book.add_incident_case(4, 3, s)
    assert book.level[i] == DISTRICT and book.cls[i] == EMERGENCY
    assert book.status[i] == OPEN
    assert len(book.pending) == 0 and book.open_idx.tolist() == [i]
    assert book.counts["incidents"] == 1 and book.counts["detected"] == 1
    assert book.describe(i)["channel"] == "incident"
    assert book.path_of(i) == ["district"]


def test_casebook_grows_past_initial_capacity():
    book, _ = make_book("hybrid")
    rng = np.random.default_rng(17)
    idx = add_cases(book, GENERAL, n=5)
    detect_all(book, 0, rng)
    more = add_cases(book, COORDINATION, n=30, resident=np.arange(5, 35))
    assert book.size == 35
    assert (book.level[idx] == RESIDENTS).all()
    assert (book.status[more] == UNDETECTED).all()
    assert book.counts["arisen"] == 35
