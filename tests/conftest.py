from pathlib import Path

import pytest

from govsim import GovernanceModel, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


def small(regime: str = "hybrid", seed: int = 1, steps: int = 120, **sections) -> "GovernanceModel":
    """A small community (400 households) model, for fast mechanism tests."""
    data = {"regime": regime, "seed": seed, "steps": steps, "population": {"households": 400}}
    for key, value in sections.items():
        if isinstance(value, dict):
            data.setdefault(key, {}).update(value)
        else:
            data[key] = value
    return GovernanceModel(scenario=scenario_from_dict(data))


@pytest.fixture
def scenarios_dir() -> Path:
    return SCENARIOS
