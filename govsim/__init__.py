"""govsim: agent-based simulation of community governance with Mesa.

Quick use::

    from govsim import GovernanceModel, load_scenario
    model = GovernanceModel(scenario=load_scenario("scenarios/hybrid.toml"))
    model.run()
    print(model.summary())
"""

from govsim.model import GovernanceModel
from govsim.regimes import CLASSES, LEVELS, REGIMES
from govsim.scenario import GovernanceScenario, ScenarioError, load_scenario, scenario_from_dict

__version__ = "0.1.0"

__all__ = [
    "GovernanceModel",
    "GovernanceScenario",
    "ScenarioError",
    "load_scenario",
    "scenario_from_dict",
    "REGIMES",
    "LEVELS",
    "CLASSES",
    "__version__",
]
