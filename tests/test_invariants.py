"""Whole-model invariants under random regimes, pilots, seeds and rates (hypothesis).

Each example is a small model (~150 households, 20-40 days), so the file stays fast.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govsim.cases import ABANDONED, CHANNELS, LAPSED, OPEN, RESOLVED, UNDETECTED
from govsim.institutions import INSTITUTIONS, PILOT_INSTITUTIONS
from govsim.regimes import CLASSES, LEVELS, OUTSIDE, REGIMES

from conftest import small

INCIDENT = CHANNELS.index("incident")
HOTLINE = CHANNELS.index("hotline")

RATE_COLUMNS = ("participation_rate", "meeting_attendance", "resolution_rate",
                "screened_resolution_rate", "self_resolution_share")
ATTITUDES = ("trust_gov", "trust_comm", "belonging", "efficacy", "satisfaction", "dependency",
             "time_avail")
NO_INCIDENTS = {"incident_cluster": 1000}
# The [pilots] switches; owners' committees are switched in [committees].
PILOT_SWITCHES = sorted(set(PILOT_INSTITUTIONS) - {"owners_committees"})
OUTSIDE_NAMES = {LEVELS[i] for i in range(len(LEVELS)) if OUTSIDE[i]}

params = st.fixed_dictionaries({
    "regime": st.sampled_from(sorted(REGIMES)),
    "pilots": st.fixed_dictionaries({name: st.booleans() for name in PILOT_SWITCHES}),
    "owners_committees": st.booleans(),
    # ablations: drop up to two institutions (not installed ones are ignored)
    "remove": st.lists(st.sampled_from(sorted(INSTITUTIONS)), max_size=2, unique=True),
    "seed": st.integers(0, 2**31 - 1),
    "steps": st.integers(20, 40),
    "households": st.integers(120, 180),
    "communities": st.integers(1, 3),
    "need_rate": st.floats(0.1, 3.0),
    "dispute_rate": st.floats(0.0, 0.5),
    "lapse_rate": st.floats(0.0, 0.1),
    "quit_rate": st.floats(0.0, 15.0),
    "funding_rule": st.sampled_from(["registered", "resident"]),
})

SETTINGS = settings(max_examples=30, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def build(p, **cases):
    return small(
        regime=p["regime"], seed=p["seed"], steps=p["steps"], pilots=p["pilots"],
        population={"households": p["households"], "communities": p["communities"],
                    "size_variation": 0.2},
        cases={"need_rate": p["need_rate"], "dispute_rate": p["dispute_rate"],
               "lapse_rate": p["lapse_rate"], **cases},
        behaviour={"volunteer_quit_rate": p["quit_rate"]},
        government={"funding_rule": p["funding_rule"]},
        # a short council cycle so councils meet inside short runs
        committees={"council_interval_days": 10, "owners_committees": p["owners_committees"]},
        regime_settings={"remove_institutions": list(p["remove"])},
    )


def open_cases_from_table(m):
    b = m.cases
    live = np.concatenate([b.open_idx, b.pending]).astype(np.int64)
    return np.bincount(b.resident[live], minlength=m.population.n)


def check_common(m):
    """Invariants that must hold in every run."""
    b, pop, c = m.cases, m.population, m.cases.counts
    n = b.size
    # case counts
    assert c["resolved"] <= c["detected"] <= c["arisen"] == n
    assert c["self_resolved"] <= c["resolved"]
    assert c["disputes_resolved"] <= c["disputes_detected"] <= c["disputes_arisen"]
    status = b.status[:n]
    assert c["resolved"] == int((status == RESOLVED).sum())
    assert c["lapsed"] == int((status == LAPSED).sum())
    assert c["abandoned"] == int((status == ABANDONED).sum())
    assert c["detected"] == int((b.detected[:n] >= 0).sum())
    assert c["self_resolved"] == int(((status == RESOLVED) & ~b.left_community[:n]).sum())
    assert c["escalations"] == int(b.escalations[:n].sum())
    assert (status[b.open_idx] == OPEN).all()
    assert (status[b.pending] == UNDETECTED).all()
    assert len(b.open_idx) == int((status == OPEN).sum())
    assert len(b.pending) == int((status == UNDETECTED).sum())
    assert len(np.unique(b.open_idx)) == len(b.open_idx)
    # every detected case's path is a run of its chain: it starts at the chain's first level
    # (a hotline call starts at the first government level) and moves up one level at a time
    # (escalations, and sign-offs of approvals); a case resolved outside the daily handling
    # (a meeting, a board) may end with one hop to the level that resolved it.
    det = np.flatnonzero((b.detected[:n] >= 0) & (b.channel[:n] != INCIDENT))
    for i in det[:300]:
        inst = m.routing.variants[int(b.variant[i])]  # the routing the case was triaged by
        path = b.path_of(int(i))
        chain = list(inst.data.chains[CLASSES[b.cls[i]]])
        start = int(inst.first_outside[b.cls[i]]) if b.channel[i] == HOTLINE else 0
        run = path
        if b.status[i] == RESOLVED and path != chain[start : start + len(path)]:
            assert path[-1] == LEVELS[b.resolved_level[i]], (path, chain)
            run = path[:-1]
        assert run == chain[start : start + len(run)], (path, chain, CHANNELS[b.channel[i]])
        # hops that are not escalations: sign-offs (approvals), or the hop to the level that
        # resolved the case outside the daily handling
        extra = len(path) - 1 - int(b.escalations[i])
        assert extra >= 0, path
        if CLASSES[b.cls[i]] != "approval":
            assert extra <= int(b.status[i] == RESOLVED), (path, int(b.escalations[i]))
        assert LEVELS[b.level[i]] == path[-1]
        assert b.left_community[i] == any(lv in OUTSIDE_NAMES for lv in path)
        if b.status[i] == RESOLVED:
            assert LEVELS[b.resolved_level[i]] == path[-1]
            assert 0 <= b.first_worked[i] <= b.closed[i]
    # series: rates in [0, 1], counters monotone, one row per day
    df = m.series()
    assert len(df) == m.day
    for col in RATE_COLUMNS:  # NaN where the ratio is undefined (nothing to divide by yet)
        assert df[col].dropna().between(0.0, 1.0).all(), col
        assert not np.isinf(df[col]).any(), col
    assert (df["cases_resolved"] <= df["cases_detected"]).all()
    assert (df["cases_detected"] <= df["cases_arisen"]).all()
    for col in ("cases_arisen", "cases_detected", "cases_resolved", "escalations",
                "collective_incidents", "fiscal_spending", "resident_hours"):
        assert (df[col].diff().dropna() >= -1e-9).all(), col
    s = m.summary()
    for key in ("participation_rate", "mean_participation_rate", "resolution_rate",
                "screened_resolution_rate", "self_resolution_share", "meeting_attendance",
                "dispute_screened_resolution_rate", "dispute_self_resolution_share"):
        assert np.isnan(s[key]) or 0.0 <= s[key] <= 1.0, key
    # money
    m.ledger.check()
    assert np.isfinite(m.ledger.balance).all()
    assert s["fiscal_spending"] > 0
    # stocks
    assert pop.grievance.min() >= 0.0
    assert np.isfinite(pop.grievance).all()
    assert all(ngo.staff > 0 for ngo in m.ngos)
    assert all(0.0 <= ngo.quality <= 1.0 for ngo in m.ngos)
    for col in ATTITUDES:
        arr = getattr(pop, col)
        assert arr.min() >= -1e-6 and arr.max() <= 1.0 + 1e-6, col
    # volunteers: the flag and the role table agree
    holder = m.volunteers.holder
    assert pop.volunteer.sum() == (holder >= 0).sum()


@SETTINGS
@given(params)
def test_invariants_random_models(p):
    m = build(p, **NO_INCIDENTS).run()
    check_common(m)
    assert m.cases.counts["incidents"] == 0
    assert m.population.open_cases.min() >= 0
    np.testing.assert_array_equal(open_cases_from_table(m), m.population.open_cases)


@settings(max_examples=12, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(params)
def test_invariants_with_collective_incidents(p):
    """Aggrieved clusters become incidents; everything but per-resident open_cases (see the
    xfail below) still holds."""
    m = build(p, grievance_threshold=0.05, incident_cluster=3, grievance_rate=0.2).run()
    check_common(m)
    assert m.ledger.totals["incident_response"] == pytest.approx(
        m.cases.counts["incidents"] * m.scenario.cases.incident_cost)


def test_invariants_hold_step_by_step():
    m = small(regime="hybrid", seed=11, steps=30, pilots={"grid_management": True,
                                                            "deliberation_council": True},
              population={"households": 150}, cases=NO_INCIDENTS)
    for _ in range(30):
        m.step()
        m.ledger.check()
        np.testing.assert_array_equal(open_cases_from_table(m), m.population.open_cases)
    check_common(m)


def test_open_cases_match_case_table_with_incidents():
    m = small(regime="hybrid", seed=1, steps=60, population={"households": 200},
              cases={"grievance_threshold": 0.05, "incident_cluster": 2, "need_rate": 5.0})
    m.run()
    assert m.cases.counts["incidents"] > 0
    assert m.population.open_cases.min() >= 0
    np.testing.assert_array_equal(open_cases_from_table(m), m.population.open_cases)
