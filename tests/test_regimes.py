"""Regimes as data: compilation, overrides, pilots, funding rules, operating funds."""

import itertools
import re
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from govsim import ScenarioError, scenario_from_dict
from govsim.institutions import INSTITUTIONS, PILOT_INSTITUTIONS
from govsim.regimes import (
    APPROVAL,
    CLASSES,
    DISTRICT,
    FIT,
    LEVELS,
    MIN_DAYS,
    REGIMES,
    STREET,
    FundingRule,
    Institutions,
    RegimeData,
    RegimeSettings,
    compile_institutions,
    operating_fund,
    regime_names,
)
from govsim.scenario import WUHAI_TIERS, FundTier

from conftest import small

PILOT_NAMES = sorted(PILOT_INSTITUTIONS)
PACKAGE = Path(__file__).resolve().parents[1] / "govsim"


def all_pilot_combinations():
    for k in range(len(PILOT_NAMES) + 1):
        for combo in itertools.combinations(PILOT_NAMES, k):
            yield {name: name in combo for name in PILOT_NAMES}


def routed(data: RegimeData, names) -> dict:
    """The chains after each named institution rewrote them, in install order."""
    for name in names:
        data = INSTITUTIONS[name].adjust_routing(data)
    return data.chains


def assert_valid_chains(inst: Institutions) -> None:
    data = inst.data
    assert set(data.chains) == set(CLASSES)
    for ci, cls in enumerate(CLASSES):
        chain = data.chains[cls]
        assert len(chain) >= 1
        assert all(lv in LEVELS for lv in chain)
        assert len(set(chain)) == len(chain)
        n = int(inst.chain_len[ci])
        assert n == len(chain)
        assert [LEVELS[i] for i in inst.chains[ci, :n]] == list(chain)
        assert (inst.chains[ci, n:] == -1).all()
    # the regime's own institutions come first, then each active pilot's, no repeats
    assert inst.names[: len(dict.fromkeys(data.institutions))] == tuple(dict.fromkeys(data.institutions))
    assert len(set(inst.names)) == len(inst.names)
    assert all(name in INSTITUTIONS for name in inst.names)


def test_three_regimes():
    assert regime_names() == ["government_led", "hybrid", "self_governing"]


@pytest.mark.parametrize("regime", sorted(REGIMES))
def test_each_regime_compiles_with_valid_chains_under_every_pilot_combination(regime):
    n = 0
    for pilots in all_pilot_combinations():
        inst = compile_institutions(regime, None, pilots)
        assert inst.name == regime
        assert set(inst.pilots) == {k for k, v in pilots.items() if v}
        assert_valid_chains(inst)
        assert inst.data.chains == routed(REGIMES[regime], inst.names)
        for k, on in pilots.items():
            assert inst.has(PILOT_INSTITUTIONS[k]) is (on or PILOT_INSTITUTIONS[k] in REGIMES[regime].institutions)
        # an approval is decided by the last level of its sign-off sequence: it must be able to
        last = LEVELS.index(inst.data.chains["approval"][-1])
        assert inst.fit[last, APPROVAL] > 0, inst.data.chains["approval"]
        n += 1
    assert n == 2 ** len(PILOT_NAMES)


@pytest.mark.parametrize("regime", sorted(REGIMES))
def test_fit_is_the_same_table_under_every_regime(regime):
    # regimes differ by their institutions, not by behavioural constants: every level's
    # chance of resolving each class is the shared FIT table, pilots or not
    for pilots in ({}, {name: True for name in PILOT_NAMES}):
        inst = compile_institutions(regime, None, pilots)
        np.testing.assert_array_equal(inst.fit, FIT)
        assert inst.fit is not FIT  # a copy: a model may not change the shared table


@pytest.mark.parametrize("regime", sorted(REGIMES))
def test_escalation_delay_added_to_government_levels_only(regime):
    inst = compile_institutions(regime, None, {})
    delay = inst.data.escalation_delay_days
    np.testing.assert_array_equal(inst.min_days[:STREET], MIN_DAYS[:STREET])
    np.testing.assert_array_equal(inst.min_days[STREET:], MIN_DAYS[STREET:] + delay)
    inst2 = compile_institutions(regime, RegimeSettings(escalation_delay_days=delay + 4), {})
    np.testing.assert_array_equal(inst2.min_days[[STREET, DISTRICT]],
                                  inst.min_days[[STREET, DISTRICT]] + 4)


def test_unknown_regime_rejected():
    with pytest.raises(ValueError, match="unknown regime 'anarchy'"):
        compile_institutions("anarchy", None, {})


def test_unknown_pilot_names_are_ignored_and_off_pilots_inactive():
    inst = compile_institutions("hybrid", None, {"grid_management": False, "teleport": True})
    assert inst.pilots == ()
    assert not inst.has("grid_management")


# --------------------------------------------------------------------------- overrides


def test_settings_override_scalar_fields():
    base = REGIMES["hybrid"]
    before = base.model_dump()
    s = RegimeSettings(admin_pushdown=0.2, member_paid=not base.member_paid, online_channel=False,
                       meeting_interval_days=14)
    inst = compile_institutions("hybrid", s, {})
    assert inst.data.admin_pushdown == 0.2
    assert inst.data.member_paid is (not base.member_paid)
    assert inst.data.online_channel is False
    assert inst.data.meeting_interval_days == 14
    assert inst.names == base.institutions
    # untouched fields keep the regime's values; the base regime is not modified
    assert inst.data.intervention_intensity == base.intervention_intensity
    assert REGIMES["hybrid"].model_dump() == before


def test_settings_override_merges_chains_per_class():
    base = REGIMES["government_led"]
    s = RegimeSettings(chains={"general": ("residents", "street")})
    merged = s.apply(base)
    assert merged.chains["general"] == ("residents", "street")
    for cls in ("coordination", "emergency", "approval"):
        assert merged.chains[cls] == base.chains[cls]
    # the institutions then rewrite the overridden chains as they rewrite the regime's own
    inst = compile_institutions("government_led", s, {})
    assert inst.data.chains == routed(merged, inst.names)
    assert inst.data.chains != compile_institutions("government_led", None, {}).data.chains
    np.testing.assert_array_equal(inst.fit, FIT)


def test_settings_add_and_remove_institutions():
    base = REGIMES["hybrid"]
    assert "hotline" in base.institutions and "grid_management" not in base.institutions
    s = RegimeSettings(remove_institutions=("hotline",), add_institutions=("grid_management",))
    inst = compile_institutions("hybrid", s, {})
    assert not inst.has("hotline")
    assert inst.has("grid_management")
    assert inst.names == tuple(n for n in base.institutions if n != "hotline") + ("grid_management",)
    # an added institution rewrites the routing like the pilot does
    assert inst.data.chains["general"][0] == "grid"
    assert inst.pilots == ()  # added by the regime settings, not as a pilot
    # adding an installed one is a no-op; the base regime is untouched
    again = compile_institutions("hybrid", RegimeSettings(add_institutions=("hotline",)), {})
    assert again.names == base.institutions
    assert REGIMES["hybrid"].institutions == base.institutions


def test_removing_an_institution_undoes_its_routing():
    # hybrid's NGO grants put the NGO into the general chain; without them it is not there
    with_ngo = compile_institutions("hybrid", None, {})
    without = compile_institutions("hybrid", RegimeSettings(remove_institutions=("ngo_grants",)), {})
    assert "ngo" in with_ngo.data.chains["general"]
    assert "ngo" not in without.data.chains["general"]
    assert without.data.chains == routed(REGIMES["hybrid"], without.names)
    assert [lv for lv in with_ngo.data.chains["general"] if lv != "ngo"] == list(without.data.chains["general"])


@pytest.mark.parametrize("field", ["add_institutions", "remove_institutions"])
def test_unknown_institution_names_rejected(field):
    with pytest.raises(ValueError, match="unknown institution 'mayor'"):
        compile_institutions("hybrid", RegimeSettings(**{field: ("mayor",)}), {})
    with pytest.raises(ScenarioError, match="mayor"):
        scenario_from_dict({"regime_settings": {field: ["mayor"]}})


def test_pilots_apply_after_settings():
    s = RegimeSettings(chains={"emergency": ("committee", "street")})
    inst = compile_institutions("hybrid", s, {"grid_management": True})
    # the settings' chain is the base; the centre then puts itself first; grid management
    # then drops the street and reports up to the district at once
    assert inst.data.chains["emergency"] == ("centre", "committee", "district")
    assert inst.data.chains["general"][0] == "grid"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"admin_pushdown": 1.5},
        {"intervention_intensity": -0.1},
        {"meeting_interval_days": 0},
        {"escalation_delay_days": 61},
        {"member_hours_per_day": 13.0},
        {"member_paid": "yes"},
        {"meeting_interval_days": 2.5},
        {"colour": "red"},
        {"approval_levels": ("street",)},  # gone: approvals are sign-off sequences
        {"hotline": True},  # gone: the hotline is an institution
    ],
)
def test_settings_values_validated(kwargs):
    with pytest.raises(ValidationError):
        RegimeSettings(**kwargs)


@pytest.mark.parametrize(
    "chains, message",
    [
        ({"general": ("nowhere",)}, "unknown level 'nowhere'"),
        ({"general": ()}, "is empty"),
        ({"coordination": ("committee", "street", "committee")}, "repeats a level"),
        ({"urgent": ("district",)}, "must name exactly the classes"),
    ],
)
def test_settings_chains_validated_on_apply(chains, message):
    s = RegimeSettings(chains=chains)
    with pytest.raises(ValidationError, match=re.escape(message)):
        compile_institutions("hybrid", s, {})


def test_regime_data_rejects_missing_class():
    data = REGIMES["hybrid"].model_dump()
    data["chains"] = {k: v for k, v in data["chains"].items() if k != "approval"}
    with pytest.raises(ValidationError, match="must name exactly the classes"):
        RegimeData.model_validate(data)


def test_scenario_regime_settings_reach_the_model():
    m = small(regime="self_governing", steps=1, regime_settings={"admin_pushdown": 0.9,
                                                                 "add_institutions": ["hotline"]})
    assert m.institutions.data.admin_pushdown == 0.9
    assert m.institutions.has("hotline")
    assert [type(i).name for i in m.installed] == list(m.institutions.names)
    assert "hotline" not in REGIMES["self_governing"].institutions
    g = m.scenario.government
    assert m.government.admin_hours_total == pytest.approx(
        g.task_types * 0.9 * g.admin_hours_per_task_type)


def test_scenario_rejects_bad_regime_settings_chain_at_load_time():
    with pytest.raises(ScenarioError, match="nowhere"):
        scenario_from_dict({"regime_settings": {"chains": {"general": ["nowhere"]}}})


# --------------------------------------------------------------------------- funding


def test_funding_rule_counts_registered_or_residents():
    people = np.array([1000.0, 500.0])
    registered = np.array([600.0, 500.0])
    np.testing.assert_array_equal(FundingRule("registered").counted(people, registered), registered)
    np.testing.assert_array_equal(FundingRule("resident").counted(people, registered), people)


def test_registered_funding_starves_migrant_communities():
    common = {"population": {"households": 600, "migrant_share": 0.5}}
    reg = small(regime="hybrid", steps=1, seed=3, government={"funding_rule": "registered"}, **common)
    res = small(regime="hybrid", steps=1, seed=3, government={"funding_rule": "resident"}, **common)
    s = reg.structure
    migrants = (s.tenure == 2).sum()
    assert migrants > 0.3 * s.n
    assert reg.government.counted_people[0] == s.n - migrants
    assert res.government.counted_people[0] == s.n
    assert reg.government.counted_households[0] == s.community_registered_households()[0]
    assert res.government.counted_households[0] == s.n_households
    assert reg.government.workers[0] < res.government.workers[0]


WUHAI_CASES = [
    (10, 10_000.0),
    (500, 10_000.0),
    (999, 10_000.0),
    (1001, 30_000.0),
    (1500, 30_000.0),
    (1999, 30_000.0),
    (2000, 30_000.0),
    (2001, 40_000.0),
    (3000, 40_000.0),
    (250_000, 40_000.0),
]


@pytest.mark.parametrize("households, fund", WUHAI_CASES)
def test_operating_fund_wuhai_tiers(households, fund):
    assert operating_fund(np.array([households]), WUHAI_TIERS).tolist() == [fund]


def test_operating_fund_vectorised():
    hh = np.array([c[0] for c in WUHAI_CASES], dtype=float)
    np.testing.assert_array_equal(operating_fund(hh, WUHAI_TIERS), [c[1] for c in WUHAI_CASES])


def test_operating_fund_exactly_1000_households_is_middle_tier():
    assert operating_fund(np.array([1000]), WUHAI_TIERS).tolist() == [30_000.0]


def test_operating_fund_custom_tiers():
    tiers = (FundTier(max_households=100.0, fund=1.0), FundTier(max_households=float("inf"), fund=2.0))
    assert operating_fund(np.array([50, 100, 101]), tiers).tolist() == [1.0, 1.0, 2.0]


def test_model_pays_a_quarter_of_the_tier_fund_on_day_zero():
    m = small(regime="hybrid", steps=1, population={"households": 1500},
              government={"funding_rule": "resident"}).run()
    assert m.committees[0].fund_factor == 1.0
    assert m.ledger.totals["operating_funds"] == 30_000.0 / 4
    # the committee spends part of it on helper hours the same day, never more than it got
    assert m.ledger.totals["helper_wages"] > 0
    assert m.ledger[f"committee:{0}"] <= 30_000.0 / 4


def test_operating_fund_paid_quarterly_at_the_fund_factor():
    # self-governing: no government appraisal moves the factor during the run
    m = small(regime="self_governing", steps=1, population={"households": 1500},
              government={"funding_rule": "resident"})
    factor = 0.8
    m.committees[0].fund_factor = factor
    paid = []
    for _ in range(275):
        before = m.ledger.totals["operating_funds"]
        m.step()
        paid.append(m.ledger.totals["operating_funds"] - before)
    paid = np.array(paid)
    np.testing.assert_array_equal(np.flatnonzero(paid), [0, 91, 182, 273])
    np.testing.assert_allclose(paid[[0, 91, 182, 273]], 30_000.0 / 4 * factor)
    assert m.ledger.totals["operating_funds"] == pytest.approx(30_000.0 * factor)


# --------------------------------------------------------------------------- no name branches

AGENT_SOURCES = [
    *sorted((PACKAGE / "agents").glob("*.py")),
    *(PACKAGE / name for name in ("cases.py", "volunteers.py", "meetings.py", "ladder.py", "attitudes.py",
                                  "contributions.py", "population.py", "model.py")),
]


def test_agent_sources_exist():
    missing = [p.name for p in AGENT_SOURCES if not p.exists()]
    assert not missing


@pytest.mark.parametrize("path", AGENT_SOURCES, ids=lambda p: p.name)
def test_no_branch_on_regime_names(path):
    text = path.read_text()
    for name in sorted(REGIMES):
        assert name not in text, f"{path.name} mentions regime {name!r}"
    assert "regime ==" not in text and "regime in" not in text


def test_no_has_calls_outside_institutions_and_regimes():
    """``Institutions.has`` is for reports and tests; model code uses hooks."""
    allowed = {PACKAGE / "regimes.py"}
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path in allowed or (PACKAGE / "institutions") in path.parents:
            continue
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if '.has("' in line or ".has('" in line:
                offenders.append(f"{path.relative_to(PACKAGE)}:{lineno}")
    assert not offenders, offenders
