"""Regimes as data: compilation, overrides, pilots, funding rules, operating funds."""

import itertools
import re
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from govsim import ScenarioError, scenario_from_dict
from govsim.regimes import (
    APPROVAL,
    CLASSES,
    DISTRICT,
    FIT,
    LEVELS,
    MIN_DAYS,
    PILOTS,
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

PILOT_NAMES = sorted(PILOTS)
PACKAGE = Path(__file__).resolve().parents[1] / "govsim"


def all_pilot_combinations():
    for k in range(len(PILOT_NAMES) + 1):
        for combo in itertools.combinations(PILOT_NAMES, k):
            yield {name: name in combo for name in PILOT_NAMES}


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
    assert all(lv in LEVELS for lv in data.approval_levels)


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
        n += 1
    assert n == 2 ** len(PILOT_NAMES)


@pytest.mark.parametrize("regime", sorted(REGIMES))
def test_fit_zero_for_non_approvers_and_unchanged_otherwise(regime):
    inst = compile_institutions(regime, None, {})
    approvers = {LEVELS.index(lv) for lv in inst.data.approval_levels}
    for lv in range(len(LEVELS)):
        expect = FIT[lv, APPROVAL] if lv in approvers else 0.0
        assert inst.fit[lv, APPROVAL] == expect, LEVELS[lv]
    others = [c for c in range(len(CLASSES)) if c != APPROVAL]
    np.testing.assert_array_equal(inst.fit[:, others], FIT[:, others])
    # every approval chain can be approved somewhere
    assert any(lv in inst.data.approval_levels for lv in inst.data.chains["approval"])


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
    s = RegimeSettings(admin_pushdown=0.2, member_paid=not base.member_paid, hotline=False,
                       meeting_interval_days=14)
    inst = compile_institutions("hybrid", s, {})
    assert inst.data.admin_pushdown == 0.2
    assert inst.data.member_paid is (not base.member_paid)
    assert inst.data.hotline is False
    assert inst.data.meeting_interval_days == 14
    # untouched fields keep the regime's values; the base regime is not modified
    assert inst.data.intervention_intensity == base.intervention_intensity
    assert REGIMES["hybrid"].model_dump() == before


def test_settings_override_merges_chains_per_class():
    base = REGIMES["government_led"]
    s = RegimeSettings(chains={"general": ("residents", "street")}, approval_levels=("street",))
    inst = compile_institutions("government_led", s, {})
    assert inst.data.chains["general"] == ("residents", "street")
    for cls in ("coordination", "emergency", "approval"):
        assert inst.data.chains[cls] == base.chains[cls]
    assert inst.data.approval_levels == ("street",)
    assert inst.fit[LEVELS.index("street"), APPROVAL] > 0
    assert inst.fit[DISTRICT, APPROVAL] == 0.0


def test_pilots_apply_after_settings():
    s = RegimeSettings(chains={"emergency": ("committee", "district")})
    inst = compile_institutions("hybrid", s, {"grid_management": True})
    assert inst.data.chains["emergency"] == ("district",)
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
    ],
)
def test_settings_values_validated(kwargs):
    with pytest.raises(ValidationError):
        RegimeSettings(**kwargs)


@pytest.mark.parametrize(
    "chains, approval, message",
    [
        ({"general": ("nowhere",)}, None, "unknown level 'nowhere'"),
        ({"general": ()}, None, "is empty"),
        ({"coordination": ("committee", "street", "committee")}, None, "repeats a level"),
        ({"urgent": ("district",)}, None, "must name exactly the classes"),
        (None, ("mayor",), "approval_levels has unknown level 'mayor'"),
    ],
)
def test_settings_chains_validated_on_apply(chains, approval, message):
    s = RegimeSettings(chains=chains, approval_levels=approval)
    with pytest.raises(ValidationError, match=re.escape(message)):
        compile_institutions("hybrid", s, {})


def test_regime_data_rejects_missing_class():
    data = REGIMES["hybrid"].model_dump()
    data["chains"] = {k: v for k, v in data["chains"].items() if k != "approval"}
    with pytest.raises(ValidationError, match="must name exactly the classes"):
        RegimeData.model_validate(data)


def test_scenario_regime_settings_reach_the_model():
    m = small(regime="self_governing", steps=1, regime_settings={"admin_pushdown": 0.9,
                                                                 "hotline": True})
    assert m.institutions.data.admin_pushdown == 0.9
    assert m.institutions.data.hotline is True
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


def test_model_pays_the_tier_fund_on_day_zero():
    m = small(regime="hybrid", steps=1, population={"households": 1500},
              government={"funding_rule": "resident"}).run()
    assert m.ledger.totals["operating_funds"] == 30_000.0
    assert m.ledger[f"committee:{0}"] <= 30_000.0


# --------------------------------------------------------------------------- no name branches

AGENT_SOURCES = [
    *sorted((PACKAGE / "agents").glob("*.py")),
    PACKAGE / "cases.py",
    PACKAGE / "participation.py",
    PACKAGE / "population.py",
    PACKAGE / "model.py",
]


@pytest.mark.parametrize("path", AGENT_SOURCES, ids=lambda p: p.name)
def test_no_branch_on_regime_names(path):
    text = path.read_text()
    for name in sorted(REGIMES):
        assert name not in text, f"{path.name} mentions regime {name!r}"
    assert "regime ==" not in text and "regime in" not in text
