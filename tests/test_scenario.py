"""Scenario loading: every shipped file validates; bad input is one line naming the field."""

import pytest

from govsim import ScenarioError, load_scenario, scenario_from_dict
from govsim.scenario import GovernanceScenario

from conftest import SCENARIOS


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.name)
def test_shipped_scenarios_validate(path):
    sc = load_scenario(path)
    assert isinstance(sc, GovernanceScenario)
    assert sc.steps >= 1


@pytest.mark.parametrize(
    "data, field, allowed",
    [
        ({"regime": "anarchy"}, "regime", "government_led, hybrid, self_governing"),
        ({"population": {"migrant_share": 1.4}}, "population.migrant_share", "[0, 1]"),
        ({"population": {"households": -5}}, "population.households", "[10, 5000000]"),
        ({"population": {"households": "many"}}, "population.households", "an integer"),
        ({"population": {"colour": 3}}, "population.colour", "allowed fields here"),
        ({"bogus": {}}, "bogus", "allowed fields here"),
        ({"steps": 0}, "steps", "[1, 36500]"),
        ({"cases": {"lapse_rate": -0.1}}, "cases.lapse_rate", "[0, 1]"),
        ({"cases": {"general_share": 0.9}}, "cases", "sum to 1"),
        ({"government": {"funding_rule": "everyone"}}, "government.funding_rule", "'registered', 'resident'"),
        ({"pilots": {"grid_management": "yes"}}, "pilots.grid_management", "true or false"),
        ({"population": {"migrant_share": 0.7, "relocated_share": 0.5}}, "population", "at most 1"),
        ({"regime_settings": {"intervention_intensity": 2.0}}, "regime_settings.intervention_intensity", "[0, 1]"),
        ({"communities": [{"households": 5}]}, "communities[0].households", "[10, 100000]"),
        ({"institutions": {"ngo_grants": {"per_household": -1.0}}}, "institutions.ngo_grants.per_household",
         "[0, 10000]"),
        ({"institutions": {"ngo_grants": {"colour": 1}}}, "institutions.ngo_grants.colour", "allowed fields here"),
        ({"regime_settings": {"approval_levels": ["street"]}}, "regime_settings.approval_levels",
         "allowed fields here"),
    ],
)
def test_bad_input_is_one_line_naming_field_and_range(data, field, allowed):
    with pytest.raises(ScenarioError) as exc:
        scenario_from_dict(data, where="test.toml")
    msg = str(exc.value)
    assert "\n" not in msg
    assert field in msg
    assert allowed in msg


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[population\n')
    with pytest.raises(ScenarioError, match="malformed TOML"):
        load_scenario(bad)


def test_overrides_and_top_level(tmp_path):
    sc = load_scenario(SCENARIOS / "hybrid.toml", overrides=["pilots.grid_management=true", "cases.need_rate=0.5"],
                       seed=9, steps=10)
    assert sc.pilots.grid_management is True
    assert sc.cases.need_rate == 0.5
    assert sc.seed == 9 and sc.rng == 9 and sc.steps == 10


def test_scenario_is_a_mesa_scenario_and_frozen():
    from mesa.experimental.scenarios import Scenario

    sc = scenario_from_dict({"seed": 3})
    assert isinstance(sc, Scenario)
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        sc.population.households = 5  # sections are frozen


def test_institution_settings_layer_defaults_regime_then_scenario():
    from govsim.institutions import INSTITUTIONS
    from govsim.regimes import REGIMES

    from conftest import small

    def grants(m):
        (inst,) = [i for i in m.installed if i.name == "ngo_grants"]
        return inst

    default = INSTITUTIONS["ngo_grants"].Settings().per_household
    regime_value = REGIMES["hybrid"].settings["ngo_grants"]["per_household"]
    assert regime_value != default
    assert grants(small(regime="hybrid", steps=1)).s.per_household == regime_value
    m = small(regime="hybrid", steps=1, institutions={"ngo_grants": {"per_household": 7.5}})
    assert grants(m).s.per_household == 7.5
    # a table for an institution the regime does not install changes nothing
    m = small(regime="government_led", steps=1, institutions={"ngo_grants": {"per_household": 7.5}})
    assert not m.institutions.has("ngo_grants")
    assert all(i.name != "ngo_grants" for i in m.installed)
