"""A plain per-agent Mesa implementation of the daily resident step.

This module is a **test oracle** and a **benchmark baseline**, not part of the model.
:meth:`govsim.population.Population.step` advances every resident at once with numpy
columns and one sparse mat-vec; here the same day is written the way a textbook Mesa
model would write it: one :class:`ReferenceResident` agent per resident holding its state
as plain Python attributes, a Python list of ``(neighbour, weight)`` pairs, and a
:class:`ReferenceModel` whose ``step`` runs two phases over the AgentSet::

    self.agents.do("observe")   # nb_share from neighbours' activity *before* today
    self.agents.do("act")       # weekly update, online participation draw, grievance decay

It is intentionally slow (Python loops over agents and over each agent's neighbours) and
intentionally simple, so that it can be read against the ODD description and used to check
the vectorised step:

* the tests (``tests/test_reference.py``) run both implementations from identical state and
  compare the *distributions* of outcomes over replicate seeds (the random streams differ,
  so only distributions can match), plus exact checks of the deterministic parts;
* ``benchmarks/bench_step.py`` times both on the same community to show what the array
  code buys.

Keep the semantics in lock-step with :meth:`Population.step`: within a day, ``active`` is
computed from the state before today's actions, then ``nb_share``, then (on days divisible
by 7) the weekly update of attitudes and disposition, then the online draw, then grievance
decay. The oracle computes in Python floats where the vectorised code uses float32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import mesa
import numpy as np

from govsim.network import Structure, structure_from_scenario
from govsim.population import ACTIVE_WINDOW, SOCIAL_INTEGRATION, Population, SocialWeights
from govsim.scenario import GovernanceScenario, scenario_from_dict

__all__ = [
    "ReferenceResident",
    "ReferenceModel",
    "Community",
    "build_community",
    "copy_population",
    "run_vectorised",
    "population_means",
    "MEAN_COLUMNS",
]

# Columns whose population means are compared between the two implementations.
MEAN_COLUMNS = (
    "trust_gov",
    "trust_comm",
    "belonging",
    "efficacy",
    "satisfaction",
    "dependency",
    "disposition",
    "grievance",
    "nb_share",
)


def _sigmoid(z: float) -> float:
    """Logistic function on a Python float, without overflow for large ``|z|``."""
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


class ReferenceResident(mesa.Agent):
    """One resident with its own state as plain Python attributes.

    ``neighbours`` is a list of ``(agent, weight)`` pairs taken from the resident's row of
    ``structure.influence``, so the weights are already row-normalised (they sum to 1 for a
    resident with any tie, and the list is empty for an isolated resident).
    """

    def __init__(self, model: ReferenceModel, row: int, pop: Population):
        super().__init__(model)
        i = int(row)
        self.row = i
        # attitudes and resources (floats)
        self.trust_gov = float(pop.trust_gov[i])
        self.trust_comm = float(pop.trust_comm[i])
        self.belonging = float(pop.belonging[i])
        self.efficacy = float(pop.efficacy[i])
        self.time_avail = float(pop.time_avail[i])
        self.grievance = float(pop.grievance[i])
        self.dependency = float(pop.dependency[i])
        self.satisfaction = float(pop.satisfaction[i])
        self.threshold = float(pop.threshold[i])
        self.disposition = float(pop.disposition[i])
        self.nb_share = float(pop.nb_share[i])
        # baselines attitudes relax back to
        self.trust_gov0 = float(pop.trust_gov0[i])
        self.trust_comm0 = float(pop.trust_comm0[i])
        self.belonging0 = float(pop.belonging0[i])
        # activity and fixed attributes
        self.last_active = int(pop.last_active[i])
        self.online = int(pop.online[i])
        self.eligible = bool(pop.eligible[i])
        self.party = bool(pop.party[i])
        self.community = int(pop.community[i])
        self.neighbours: list[tuple[ReferenceResident, float]] = []

    # ------------------------------------------------------------------ helpers
    def is_active(self, day: int) -> bool:
        """Any activity in the last ``ACTIVE_WINDOW`` days (as of ``day``)."""
        return day - self.last_active < ACTIVE_WINDOW

    def update_disposition(self) -> None:
        """Static part of the participation logit (same formula as the vectorised version)."""
        w = self.model.weights
        self.disposition = (
            w.trust * (self.trust_comm - 0.5)
            + w.efficacy * (self.efficacy - 0.5)
            + w.belonging * (self.belonging - 0.5)
            + w.time * (self.time_avail - 0.5)
            - w.dependency * self.dependency
            + w.party * (1.0 if self.party else 0.0)
        )

    def social_term(self) -> float:
        w = self.model.weights
        bonus = w.threshold_bonus if self.nb_share >= self.threshold else 0.0
        return w.social * self.nb_share + bonus

    def weekly(self) -> None:
        """Attitudes fade toward baselines; belonging integrates neighbours; dependency fades."""
        m = self.model
        k = min(1.0, 7.0 / m.weights.memory_days)
        self.trust_gov += k * (self.trust_gov0 - self.trust_gov)
        self.trust_comm += k * (self.trust_comm0 - self.trust_comm)
        target = (1.0 - SOCIAL_INTEGRATION) * self.belonging0 + SOCIAL_INTEGRATION * self.nb_share
        self.belonging += k * (target - self.belonging)
        self.efficacy += k * (0.5 - self.efficacy)
        self.dependency -= k * self.dependency
        self.update_disposition()

    # ------------------------------------------------------------------ the two phases
    def observe(self) -> None:
        """Phase 1: weighted share of neighbours active before today's actions."""
        day = self.model.day
        share = 0.0
        for nb, weight in self.neighbours:
            if day - nb.last_active < ACTIVE_WINDOW:
                share += weight
        self.nb_share = share

    def act(self) -> None:
        """Phase 2: weekly update, online participation draw, grievance decay.

        Touches only this resident's own state, so the order of agents does not matter.
        """
        m = self.model
        day = m.day
        if day % 7 == 0:
            self.weekly()
        if m.any_open and self.eligible and m.online_open[self.community]:
            p = _sigmoid(self.disposition + self.social_term() + m.online_base)
            if m.random.random() < p:
                self.last_active = day
                self.online += 1
                m.hours += m.online_hours
        self.grievance *= 1.0 - m.grievance_decay


class ReferenceModel(mesa.Model):
    """The resident step of :meth:`Population.step`, agent by agent (oracle and baseline).

    Built from a :class:`~govsim.network.Structure` and a :class:`Population`, whose
    *current* columns are copied into the agents, so both implementations can start from
    identical state. The keyword parameters are those of :meth:`Population.step`;
    ``online_open`` has one entry per community. ``weights`` defaults to the population's
    :class:`SocialWeights` (pass a modified copy to build a deliberately wrong variant).
    ``start_day`` is the first day :meth:`step` simulates (the vectorised runs start at 0).
    """

    agent_class: type[ReferenceResident] = ReferenceResident

    def __init__(
        self,
        structure: Structure,
        population: Population,
        weights: SocialWeights | None = None,
        *,
        online_open,
        online_base: float,
        online_hours: float = 0.5,
        grievance_decay: float = 0.02,
        seed: int | None = None,
        start_day: int = 0,
    ):
        super().__init__(rng=seed)
        if population.n != structure.n:
            raise ValueError(f"population has {population.n} rows, structure {structure.n}")
        self.structure = structure
        self.weights = weights if weights is not None else population.w
        self.online_open = [bool(x) for x in np.asarray(online_open, dtype=bool)]
        if len(self.online_open) != structure.n_communities:
            raise ValueError(
                f"online_open has {len(self.online_open)} entries, "
                f"expected one per community ({structure.n_communities})"
            )
        self.any_open = any(self.online_open)
        self.online_base = float(online_base)
        self.online_hours = float(online_hours)
        self.grievance_decay = float(grievance_decay)
        self.day = int(start_day)
        self.hours = float(population.hours)

        cls = self.agent_class
        self.residents = [cls(self, i, population) for i in range(structure.n)]
        infl = structure.influence
        indptr, indices, data = infl.indptr, infl.indices.tolist(), infl.data.tolist()
        for i, agent in enumerate(self.residents):
            lo, hi = int(indptr[i]), int(indptr[i + 1])
            agent.neighbours = [(self.residents[j], data[k]) for k, j in
                                zip(range(lo, hi), indices[lo:hi], strict=True)]
        self.n_eligible = sum(1 for a in self.residents if a.eligible)

    def step(self) -> None:
        """One day: every agent observes, then every agent acts; then the day advances."""
        self.agents.do("observe")
        self.agents.do("act")
        self.day += 1

    def run(self, days: int) -> np.ndarray:
        """Step ``days`` days; return each day's participation rate (after that day)."""
        rates = np.empty(int(days))
        for t in range(int(days)):
            self.step()
            rates[t] = self.participation_rate()
        return rates

    # ------------------------------------------------------------------ views
    def participation_rate(self, day: int | None = None) -> float:
        """Share of eligible residents active as of ``day`` (default: the last day simulated).

        Same definition as :meth:`Population.participation_rate`.
        """
        day = self.day - 1 if day is None else int(day)
        act = sum(1 for a in self.residents if a.eligible and a.is_active(day))
        return act / max(self.n_eligible, 1)

    def mean(self, column: str) -> float:
        return sum(getattr(a, column) for a in self.residents) / max(len(self.residents), 1)

    def means(self, columns=MEAN_COLUMNS) -> dict[str, float]:
        """Population means of attitude columns, comparable with :func:`population_means`."""
        return {c: self.mean(c) for c in columns}

    def column(self, name: str) -> np.ndarray:
        """One attribute of every resident, in row order, as an array (for comparisons)."""
        return np.array([getattr(a, name) for a in self.residents])


# --------------------------------------------------------------------------- vectorised side

def run_vectorised(
    structure: Structure,
    population: Population,
    days: int,
    rng: np.random.Generator,
    *,
    start_day: int = 0,
    **step_kwargs: Any,
) -> np.ndarray:
    """Run only :meth:`Population.step` for ``days`` days (in place, from ``start_day``).

    Returns each day's participation rate (after that day's step), the series
    :meth:`ReferenceModel.run` returns for the oracle. ``population`` is modified; pass
    :func:`copy_population` of it to keep the original.
    """
    if population.structure is not structure:
        raise ValueError("population was not built on this structure")
    rates = np.empty(int(days))
    for t in range(int(days)):
        day = start_day + t
        population.step(day, rng, **step_kwargs)
        rates[t] = population.participation_rate(day)
    return rates


def population_means(population: Population, columns=MEAN_COLUMNS) -> dict[str, float]:
    return {c: float(np.mean(getattr(population, c), dtype=np.float64)) for c in columns}


def copy_population(population: Population) -> Population:
    """An independent copy of ``population`` (array columns copied, structure shared)."""
    new = object.__new__(Population)
    for name, value in vars(population).items():
        setattr(new, name, value.copy() if isinstance(value, np.ndarray) else value)
    return new


# --------------------------------------------------------------------------- test communities

@dataclass
class Community:
    """A structure and population built as :class:`GovernanceModel` builds them.

    ``step_kwargs`` are the keyword arguments of :meth:`Population.step` (and of
    :class:`ReferenceModel`): ``online_open``, ``online_base``,
    ``online_hours`` and ``grievance_decay``.
    """

    scenario: GovernanceScenario
    structure: Structure
    population: Population
    weights: SocialWeights
    step_kwargs: dict[str, Any] = field(default_factory=dict)

    def reference(self, seed: int | None = None, *, weights: SocialWeights | None = None,
                  model_class: type[ReferenceModel] = ReferenceModel, **overrides: Any
                  ) -> ReferenceModel:
        """A :class:`ReferenceModel` (or subclass) on a fresh copy of the population state."""
        kwargs = {**self.step_kwargs, **overrides}
        return model_class(self.structure, self.population,
                           weights if weights is not None else self.weights, seed=seed, **kwargs)

    def vectorised(self, days: int, seed: int, **overrides: Any) -> tuple[np.ndarray, Population]:
        """Run :func:`run_vectorised` on a copy of the population; return (rates, population)."""
        pop = copy_population(self.population)
        kwargs = {**self.step_kwargs, **overrides}
        rates = run_vectorised(self.structure, pop, days, np.random.default_rng(seed), **kwargs)
        return rates, pop


def build_community(
    data: dict[str, Any] | GovernanceScenario,
    *,
    active_share: float = 0.25,
    grievance_mean: float = 0.5,
    online_base: float = -4.0,
    online_hours: float = 0.5,
) -> Community:
    """Build a structure + population from a scenario dict as ``GovernanceModel`` does.

    Uses the scenario's seed, ``structure_from_scenario``, ``SocialWeights``
    and ``Population`` with the same arguments and the same random stream as
    :meth:`GovernanceModel.__init__`, so the network and the initial columns are those
    of the model. Then, from the same stream, so that the dynamics are non-trivial:

    * a random ``active_share`` of residents are marked recently active
      (``last_active`` uniform in -29..-1, so they lapse during the first 30 days
      unless they take part again);
    * every resident gets an exponential grievance with mean ``grievance_mean``
      (so grievance decay is visible).

    Every community's online channel is open. The default ``online_base`` of -4.0 gives a
    visible, unsaturated rate on the default hybrid community (about 30% active at the
    start, 60-70% after 50 days), where the social feedback matters; -3.0 saturates near
    98% within 50 days and makes comparisons insensitive, -6.0 decays to about 6%.
    """
    sc = data if isinstance(data, GovernanceScenario) else scenario_from_dict(data)
    rng = np.random.default_rng(sc.rng)  # what mesa.Model(scenario=sc) does
    structure = structure_from_scenario(sc, rng)
    weights = SocialWeights.from_spec(sc.behaviour)
    population = Population(structure, weights, rng, sc.behaviour.initial_dependency)

    n = structure.n
    k = int(round(active_share * n))
    if k > 0:
        who = rng.choice(n, size=k, replace=False)
        population.last_active[who] = rng.integers(-(ACTIVE_WINDOW - 1), 0, size=k)
    if grievance_mean > 0:
        population.grievance[:] = rng.exponential(grievance_mean, n).astype(np.float32)

    step_kwargs = {
        "online_open": np.ones(structure.n_communities, dtype=bool),
        "online_base": float(online_base),
        "online_hours": float(online_hours),
        "grievance_decay": sc.cases.grievance_decay,
    }
    return Community(sc, structure, population, weights, step_kwargs)
