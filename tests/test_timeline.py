"""Scenario timelines and per-community state.

* Nothing changes before the switch: a run with an event at day D is bit-identical to the run
  without it up to day D, for every kind of event (pilot in some communities, pilot in all,
  institution setting in all or some communities, an institution switched on or off in some
  communities, regime setting in all or some, scenario parameter, regime switch).
* Per-community institutions and settings change only their communities' routing, staff and
  payroll; a regime switch changes government staffing and payroll from its day on.
* Communities can differ: a pilot switched on in k of N communities changes only those
  communities' case routing.
* Cases in progress finish on the route they were triaged by.
* One-line validation errors; the per-community series adds up to the run's totals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from govsim import GovernanceModel, scenario_from_dict
from govsim.cases import HOTLINE, OPEN
from govsim.regimes import AGENCY, CENTRE, COUNCIL, LEVELS, REGIMES
from govsim.scenario import ScenarioError, read_toml

from conftest import SCENARIOS

D = 40
STEPS = 90


def district(**extra) -> dict:
    d = read_toml(SCENARIOS / "hybrid.toml")
    d["steps"] = STEPS
    d["population"] = {**d.get("population", {}), "communities": 8, "households": 3200, "people": 8000}
    d.update(extra)
    return d


def run(data: dict) -> GovernanceModel:
    return GovernanceModel(scenario_from_dict(data)).run()


EVENTS = {
    "pilot_some": {"communities": {"share": 0.5, "seed": 3}, "set": {"pilots.deliberation_council": True}},
    "pilot_list": {"communities": [1, 2], "set": {"pilots.grid_management": True}},
    "pilot_filter": {"communities": {"min_households": 300}, "set": {"pilots.participatory_budget": True}},
    "pilot_all": {"set": {"pilots.party_co_governance": True}},
    "pilot_global": {"set": {"pilots.ngo_outsourcing": True}},
    "institution_setting": {"set": {"institutions.government_appraisal.appraisal_days": 30, "institutions.government_appraisal.reward_above": 0.0}},
    "regime_setting": {"set": {"regime_settings.escalation_delay_days": 6}},
    "parameter": {"set": {"cases.need_rate": 0.6}},
    "regime": {"set": {"regime": "government_led"}},
    "regime_self_governing": {"set": {"regime": "self_governing"}},
    # per-community institution settings, institutions switched in some communities, regime
    # settings in some communities
    "institution_setting_some": {"communities": [1, 5], "set": {
        "institutions.government_appraisal.appraisal_days": 30, "institutions.government_appraisal.reward_above": 0.0}},
    "institution_off_some": {"communities": [0, 2, 3], "set": {"institutions.regional_centre": False}},
    "hotline_off_some": {"communities": [0, 2, 3, 6], "set": {"institutions.hotline": False}},
    "institution_on_some": {"communities": [1, 4], "set": {"institutions.dispatched_agencies": True}},
    "outsourcing_some": {"communities": [0, 1], "set": {"pilots.ngo_outsourcing": True}},
    "regime_setting_some": {"communities": [2, 3], "set": {"regime_settings.member_paid": False,
                                                             "regime_settings.member_hours_per_day": 6.0}},
    "escalation_delay_some": {"communities": [1, 6], "set": {"regime_settings.escalation_delay_days": 8}},
}


@pytest.fixture(scope="module")
def baseline():
    m = run(district())
    return m.series(), m.community_series(), m.summary()


@pytest.mark.parametrize("kind", sorted(EVENTS))
def test_nothing_changes_before_the_event_day(baseline, kind):
    series0, comm0, summary0 = baseline
    m = run(district(timeline=[{"day": D, **EVENTS[kind]}]))
    series, comm = m.series(), m.community_series()
    pd.testing.assert_frame_equal(series.iloc[:D], series0.iloc[:D], check_exact=True)
    cols = [c for c in comm0.columns if not c.startswith("on_")]
    pd.testing.assert_frame_equal(comm[comm.day < D][cols], comm0[comm0.day < D][cols], check_exact=True)
    # ... and the event does something from day D on (in the series, or in the summary's
    # institution figures, e.g. more appraisals).
    changed = not series.iloc[D:].equals(series0.iloc[D:]) or m.summary() != summary0
    assert changed, kind


def test_pilot_in_k_of_n_communities_changes_only_their_routing():
    m = run(district(timeline=[{"day": D, "communities": [1, 4, 6], "set": {"pilots.deliberation_council": True}}]))
    treated = np.zeros(8, dtype=bool)
    treated[[1, 4, 6]] = True
    rt = m.routing
    chains = rt.chains[rt.variant_of]  # [community, class, position]
    has_council = (chains == COUNCIL).any(axis=(1, 2))
    assert (has_council == treated).all()
    # Untreated communities keep exactly the routing they started with.
    assert (chains[~treated] == rt.chains[0][None]).all()
    # Cases reached the council only in treated communities, and only if detected from day D.
    b = m.cases
    n = b.size
    at_council = np.zeros(n, dtype=bool)
    # a case sat at the council if its variant's chain holds it and it got past the position
    ch = rt.chains[b.variant[:n], b.cls[:n]]
    pos_council = (ch == COUNCIL).argmax(axis=1)
    at_council = (ch == COUNCIL).any(axis=1) & (b.chain_pos[:n] >= pos_council) & (b.detected[:n] >= 0)
    assert at_council.any()
    assert treated[b.community[:n][at_council]].all()
    assert (b.detected[:n][at_council] >= D).all()
    # The council acts (meets) only where it is on.
    inst = next(i for i in m.installed if i.name == "deliberation_council")
    held = np.array([inst.councils[c].meetings_held for c in range(8)])
    assert (held[~treated] == 0).all() and (held[treated] > 0).all()


def test_cases_in_progress_finish_on_their_old_route():
    m = GovernanceModel(scenario_from_dict(district(
        timeline=[{"day": D, "set": {"pilots.deliberation_council": True}}])))
    m.run(D)
    b = m.cases
    before = b.open_idx[b.status[b.open_idx] == OPEN].copy()
    assert len(before)
    m.run(STEPS - D)
    assert (b.variant[before] == 0).all()  # triaged by the old routing, they keep it
    council_chain = (m.routing.chains[b.variant[before]] == COUNCIL).any()
    assert not council_chain
    assert (b.level[before] != COUNCIL).all()
    new = np.flatnonzero(b.detected[: b.size] >= D)
    assert (b.variant[new] == 1).all()


def test_regime_switch_mid_run_swaps_institutions():
    m = run(district(timeline=[{"day": D, "set": {"regime": "government_led"}}]))
    names = {i.name for i in m.installed}
    assert "dispatched_agencies" in names and "neighbourhood_association" not in names
    assert m.scenario.regime == "government_led"
    b = m.cases
    late = np.flatnonzero(b.detected[: b.size] >= D)
    assert (m.routing.keys[int(b.variant[late[0]])][0]) == "government_led"
    assert (b.level[late] == LEVELS.index("agency")).any() or (b.resolved_level[late] == LEVELS.index("agency")).any()


@pytest.mark.parametrize("event, message", [
    ({"day": 500, "set": {"pilots.deliberation_council": True}}, "timeline[0].day = 500 is out of range; allowed: 0 to 89"),
    ({"day": 5, "set": {"pilots.nonsense": True}}, "timeline[0].set.pilots.nonsense: unknown field"),
    ({"day": 5, "set": {"population.households": 10}}, "cannot change mid-run"),
    ({"day": 5, "set": {"cases.need_rate": -1.0}}, "timeline[0].set.cases.need_rate: cases.need_rate = -1.0 is invalid"),
    ({"day": 5, "set": {"pilots.deliberation_council": 3}}, "timeline[0].set.pilots.deliberation_council"),
    ({"day": 5, "set": {"regime": "anarchy"}}, "unknown regime 'anarchy'"),
    ({"day": 5, "communities": [0], "set": {"cases.need_rate": 0.5}}, "applies to all communities"),
    ({"day": 5, "communities": {"min_households": 10_000}, "set": {"pilots.deliberation_council": True}},
     "timeline[0].communities selects no community"),
    ({"day": 5, "communities": [99], "set": {"pilots.deliberation_council": True}}, "community 99 is out of range"),
])
def test_validation_errors_are_one_line(event, message):
    with pytest.raises((ScenarioError, ValueError)) as err:
        GovernanceModel(scenario_from_dict(district(timeline=[event])))
    text = str(err.value)
    assert message in text, text
    assert "\n" not in text


def test_community_series_adds_up_to_the_totals():
    m = run(district(timeline=[{"day": D, "communities": {"share": 0.25, "seed": 1},
                                "set": {"pilots.deliberation_council": True}}]))
    f = m.community_series()
    c = m.cases.counts
    assert len(f) == STEPS * 8
    assert f.cases_arisen.sum() == c["arisen"] and f.cases_resolved.sum() == c["resolved"]
    assert f.incidents.sum() == c["incidents"]
    assert f.resolution_days.sum() == pytest.approx(m.cases.delay_sum)
    on = f.pivot(index="day", columns="community", values="on_deliberation_council")
    assert not on.iloc[:D].any().any() and on.iloc[D:].sum(axis=1).eq(2).all()
    last = f[f.day == STEPS - 1]
    assert last.participation_rate.between(0, 1).all()


# ---------------------------------------------------------------- per-community institutions

def installed(m, name):
    return next(i for i in m.installed if i.name == name)


def has_level(m, level):
    rt = m.routing
    return (rt.chains[rt.variant_of] == level).any(axis=(1, 2))


def test_institution_setting_in_k_of_n_communities_changes_only_theirs():
    treated = np.zeros(8, dtype=bool)
    treated[[1, 4]] = True
    m = GovernanceModel(scenario_from_dict(district(timeline=[{"day": D, "communities": [1, 4], "set": {
        "institutions.regional_centre.staff": 6.0, "institutions.disaster_bodies.drill_interval_days": 7,
        "regime_settings.committee_visit_rate": 0.6}}])))
    m.run(D)
    assert m.government.extra_staff["centre_staff"][0] == 2.0 * 8  # the old settings up to day D
    m.run(STEPS - D)
    # The hot code reads the per-community value: centre capacity and payroll.
    cap = m._capacity[m.handlers.slice(CENTRE)]
    assert np.allclose(cap[treated], 3 * cap[~treated][0]) and np.allclose(cap[~treated], cap[~treated][0])
    assert m.government.extra_staff["centre_staff"][0] == pytest.approx(6.0 * 2 + 2.0 * 6)
    # Drills every week only in the treated communities (the others keep 90 days).
    drills = installed(m, "disaster_bodies")
    comm = m.structure.community
    drilled_late = np.bincount(comm, weights=drills.last_drill >= D, minlength=8)
    assert (drilled_late[treated] > 0).all() and (drilled_late[[2, 3, 5, 6, 7]] == 0).all()
    visit = np.array([c.visit_share for c in m.committees])
    assert (visit[treated] == 0.6).all() and (visit[~treated] == REGIMES["hybrid"].committee_visit_rate).all()
    # A setting does not change the routing: every community still follows one variant.
    assert len(set(m.routing.variant_of.tolist())) == 1


def test_removing_an_institution_in_some_communities_removes_its_level_and_cost():
    off = np.zeros(8, dtype=bool)
    off[[0, 2, 5]] = True
    m = run(district(timeline=[{"day": D, "communities": [0, 2, 5],
                                "set": {"institutions.regional_centre": False, "institutions.hotline": False}}]))
    assert (has_level(m, CENTRE) == ~off).all()
    centre = installed(m, "regional_centre")
    assert (centre.on == ~off).all()
    assert m.government.extra_staff["centre_staff"][0] == pytest.approx(2.0 * 5)  # paid for 5 of 8
    assert (m._capacity[m.handlers.slice(CENTRE)][off] == 0).all()
    b = m.cases
    n = b.size
    late = (b.detected[:n] >= D) & off[b.community[:n]]
    assert late.any()
    assert not (b.resolved_level[:n][late] == CENTRE).any() and not (b.level[:n][late] == CENTRE).any()
    # No hotline calls from cases that arose there after the day; still elsewhere.
    arisen_late = np.flatnonzero((b.arisen[:n] >= D) & off[b.community[:n]])
    assert (b.p_hotline[arisen_late] == 0).all() and not (b.channel[arisen_late] == HOTLINE).any()
    other = np.flatnonzero((b.arisen[:n] >= D) & ~off[b.community[:n]])
    assert (b.p_hotline[other] > 0).all()
    f = m.community_series()
    flags = f.pivot(index="day", columns="community", values="on_regional_centre")
    assert flags.iloc[:D].all().all() and (flags.iloc[D:].to_numpy() == ~off).all()


def test_adding_an_institution_in_some_communities():
    on = np.zeros(8, dtype=bool)
    on[[1, 4]] = True
    m = run(district(timeline=[{"day": D, "communities": [1, 4], "set": {"institutions.dispatched_agencies": True}}]))
    assert (has_level(m, AGENCY) == on).all()
    agencies = installed(m, "dispatched_agencies")
    assert (agencies.staff[~on] == 0).all() and (agencies.staff[on] == 4.0).all()
    assert m.government.extra_staff["dispatched_staff"][0] == pytest.approx(8.0)
    b = m.cases
    n = b.size
    at_agency = (b.resolved_level[:n] == AGENCY) | (b.level[:n] == AGENCY)
    assert at_agency.any() and on[b.community[:n][at_agency]].all()


def test_outsourcing_in_some_communities_changes_only_their_committees():
    m = run(district(timeline=[{"day": D, "communities": [0, 1], "set": {"pilots.ngo_outsourcing": True}}]))
    gov = m.government
    admin = np.array([c.admin_hours for c in m.committees])
    assert (admin[:2] < admin[2]).all() and (admin[2:] == admin[2]).all()
    assert (gov.assistants[:2] == 0).all() and (gov.assistants[2:] > 0).all()
    assert (gov.contract_budget[2:] == 0).all() and (gov.contract_budget[:2] > 0).all()
    inst = installed(m, "ngo_outsourcing")
    assert all(inst.contractor[c] is None for c in range(2, 8))


def test_grid_pilot_in_some_communities_pays_and_scores_only_their_grids():
    data = district(timeline=[{"day": D, "communities": [1, 2], "set": {"pilots.grid_management": True}}])
    data["institutions"] = {**data.get("institutions", {}), "grid_management": {"scoring_days": 30}}
    m = run(data)
    grid = installed(m, "grid_management")
    g_on = np.isin(m.structure.grid_community, [1, 2])
    assert m.government.extra_staff["grid_workers"][0] == pytest.approx(grid.workers * g_on.mean())
    assert grid.scorings > 0
    assert np.isfinite(grid.scores[g_on]).all() and np.isnan(grid.scores[~g_on]).all()
    assert (grid.effort[~g_on] == 1.0).all()


@pytest.mark.parametrize("regime", ["government_led", "self_governing"])
def test_regime_switch_changes_staffing_and_payroll(regime):
    m = GovernanceModel(scenario_from_dict(district(timeline=[{"day": D, "set": {"regime": regime}}])))
    ref = GovernanceModel(scenario_from_dict(district(regime=regime)))  # the new regime from day 0
    hyb = GovernanceModel(scenario_from_dict(district()))
    m.run(D)
    assert np.array_equal(m.government.street_staff, hyb.government.street_staff)
    m.run(1)
    gov, gref = m.government, ref.government
    assert np.allclose(gov.street_staff, gref.street_staff) and gov.district_staff == pytest.approx(gref.district_staff)
    assert gov.admin_hours == pytest.approx(gref.admin_hours)
    for com, cref in zip(m.committees, ref.committees, strict=True):
        assert com.member_paid == cref.member_paid and com.member_hours == cref.member_hours
        assert com.admin_hours == pytest.approx(cref.admin_hours)
    wages, wref = gov.daily_wages(), gref.daily_wages()
    assert wages["street_staff"] == pytest.approx(wref["street_staff"])
    # The old regime's payroll is gone (the regional centre's staff), the new one's is on it.
    assert set(gov.extra_staff) == set(gref.extra_staff)


@pytest.mark.parametrize("event, key", [
    ({"communities": [0], "set": {"regime": "government_led"}}, "'regime'"),
    ({"communities": [0], "set": {"regime_settings.street_staff_per_10k": 3.0}}, "'regime_settings.street_staff_per_10k'"),
    ({"communities": [0], "set": {"institutions.grid_management.scoring_days": 60}},
     "'institutions.grid_management.scoring_days'"),
    ({"communities": [0], "set": {"institutions.government_appraisal.weights": [1.0, 0.0, 0.0]}},
     "'institutions.government_appraisal.weights'"),
    ({"communities": [0], "set": {"pilots.grid_staff_per_grid": 2.0}}, "'pilots.grid_staff_per_grid'"),
    ({"communities": [0], "set": {"behaviour.attend_base": 0.0}}, "'behaviour.attend_base'"),
])
def test_keys_that_cannot_differ_between_communities_are_rejected(event, key):
    with pytest.raises((ScenarioError, ValueError)) as err:
        GovernanceModel(scenario_from_dict(district(timeline=[{"day": 5, **event}])))
    text = str(err.value)
    assert key in text and "applies to all communities" in text, text
    assert "\n" not in text


def test_institution_switch_value_must_be_true_or_false():
    with pytest.raises((ScenarioError, ValueError)) as err:
        GovernanceModel(scenario_from_dict(district(timeline=[{"day": 5, "set": {"institutions.hotline": 3}}])))
    assert "institutions.hotline = 3 is invalid; allowed: true" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("regime, to", [("hybrid", "self_governing"), ("government_led", "hybrid"),
                                        ("self_governing", "government_led")])
def test_invariants_hold_with_institutions_switched_in_some_communities(regime, to):
    """Every institution switched on and off in some communities, per-community settings and a
    regime switch: money is conserved and the case table stays consistent, day by day."""
    from test_invariants import check_common, open_cases_from_table

    from govsim.institutions import INSTITUTIONS

    names = sorted(INSTITUTIONS)
    timeline = [
        {"day": 3, "communities": [0], "set": {f"institutions.{n}": False for n in names[::2]}},
        {"day": 3, "communities": [1, 2], "set": {f"institutions.{n}": True for n in names[1::2]}},
        {"day": 6, "communities": [2], "set": {"institutions.regional_centre.staff": 5.0,
                                               "institutions.dispatched_agencies.staff_per_community": 1.0,
                                               "regime_settings.online_channel": False,
                                               "regime_settings.escalation_delay_days": 4}},
        {"day": 10, "set": {"regime": to}},
        {"day": 14, "communities": [0, 1], "set": {f"institutions.{n}": True for n in names}},
        {"day": 18, "communities": [2], "set": {f"institutions.{n}": False for n in names}},
    ]
    m = GovernanceModel(scenario_from_dict({
        "regime": regime, "seed": 3, "steps": 24, "cases": {"incident_cluster": 1000},
        "population": {"communities": 3, "households": 450, "people": 1100}, "timeline": timeline}))
    for _ in range(24):
        m.step()
        m.ledger.check()
        np.testing.assert_array_equal(open_cases_from_table(m), m.population.open_cases)
    check_common(m)
    for inst in m.installed:
        assert not inst.on[2] and inst.on[:2].all(), inst.name


def test_an_area_wide_institution_cannot_be_switched_in_some_communities(monkeypatch):
    from govsim.institutions import INSTITUTIONS
    from govsim.institutions.base import Institution

    class AreaWide(Institution):  # an institution whose hooks do not respect ``on``
        name = "area_wide"

    monkeypatch.setitem(INSTITUTIONS, "area_wide", AreaWide)
    with pytest.raises((ScenarioError, ValueError)) as err:
        GovernanceModel(scenario_from_dict(district(timeline=[
            {"day": 5, "communities": [0, 1], "set": {"institutions.area_wide": True}}])))
    text = str(err.value)
    assert "'institutions.area_wide' applies to all communities (area_wide acts area-wide" in text, text
    assert "\n" not in text


def test_escalation_delay_in_some_communities_follows_their_routing():
    m = run(district(timeline=[{"day": D, "communities": [3, 4], "set": {"regime_settings.escalation_delay_days": 9}}]))
    rt = m.routing
    street = LEVELS.index("street")
    delay = rt.min_days[rt.variant_of, street] - rt.min_days[0, street]
    assert (delay[[3, 4]] == 9 - REGIMES["hybrid"].escalation_delay_days).all()
    assert (np.delete(delay, [3, 4]) == 0).all()
    b = m.cases
    late = np.flatnonzero((b.detected[: b.size] >= D) & np.isin(b.community[: b.size], [3, 4]))
    assert (b.variant[late] == rt.variant_of[3]).all()


def test_pilots_in_some_communities_mobilise_and_fund_only_there():
    m = GovernanceModel(scenario_from_dict(district(timeline=[
        {"day": 5, "communities": [1, 2], "set": {"pilots.party_co_governance": True,
                                                  "pilots.participatory_budget": True}},
        {"day": 20, "communities": [3], "set": {"pilots.participatory_budget": True}}])))
    m.run(21)
    assert m.volunteers.party_bonus.tolist() == [0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    budget = installed(m, "participatory_budget")
    paid = m.ledger.balance[budget.fund_accounts]
    assert (paid[[1, 2, 3]] > 0).all() and (np.delete(paid, [1, 2, 3]) == 0).all()
