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


def pytest_terminal_summary(terminalreporter):
    """Report the size of the bad-input corpus (tests/bad_input/cases.toml) and how it fared."""
    outcomes: dict[str, str] = {}
    for key in ("passed", "failed", "skipped", "error"):
        for rep in terminalreporter.stats.get(key, []):
            nodeid = getattr(rep, "nodeid", "")
            if "test_bad_input.py::test_case[" in nodeid and (key != "passed" or rep.when == "call"):
                outcomes.setdefault(nodeid, key)
    if outcomes:
        counts = {k: sum(v == k for v in outcomes.values()) for k in ("passed", "failed", "skipped", "error")}
        shown = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
        terminalreporter.write_line(f"bad-input corpus: {len(outcomes)} cases: {shown}")
