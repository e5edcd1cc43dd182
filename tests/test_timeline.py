"""Scenario timelines and per-community state.

* Nothing changes before the switch: a run with an event at day D is bit-identical to the run
  without it up to day D, for every kind of event (pilot in some communities, pilot in all,
  institution setting, regime setting, scenario parameter, regime switch).
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
from govsim.cases import OPEN
from govsim.regimes import COUNCIL, LEVELS
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
