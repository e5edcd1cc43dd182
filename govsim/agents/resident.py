"""Resident: a Mesa agent that is a thin view onto one row of the population arrays."""

from __future__ import annotations

import operator
from collections.abc import Iterator, Sequence

import mesa
import numpy as np

from govsim.network import AGE_GROUPS, TENURES
from govsim.population import ACTIVE_WINDOW


class _Column:
    """Descriptor: reads and writes ``model.population.<name>[row]``."""

    def __init__(self, name: str, cast=float):
        self.name, self.cast = name, cast

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        return self.cast(getattr(obj.model.population, self.name)[obj.row])

    def __set__(self, obj, value):
        getattr(obj.model.population, self.name)[obj.row] = value


class Resident(mesa.Agent):
    """One resident. Owns no state: every attribute lives in ``model.population``.

    Inspecting a resident and stepping 262,000 of them use the same data.
    """

    trust_gov = _Column("trust_gov")
    trust_comm = _Column("trust_comm")
    belonging = _Column("belonging")
    efficacy = _Column("efficacy")
    time_avail = _Column("time_avail")
    grievance = _Column("grievance")
    dependency = _Column("dependency")
    satisfaction = _Column("satisfaction")
    party_member = _Column("party", bool)
    volunteer = _Column("volunteer", bool)
    neighbour_share = _Column("nb_share")
    open_cases = _Column("open_cases", int)
    reports = _Column("reports", int)
    meetings = _Column("meetings", int)

    def __init__(self, model: mesa.Model, row: int):
        super().__init__(model)
        self.row = int(row)

    @property
    def household(self) -> int:
        return int(self.model.structure.household[self.row])

    @property
    def building(self) -> int:
        return int(self.model.structure.building[self.row])

    @property
    def community(self) -> int:
        return int(self.model.structure.community[self.row])

    @property
    def tenure(self) -> str:
        return TENURES[int(self.model.structure.tenure[self.row])]

    @property
    def age_group(self) -> str:
        return AGE_GROUPS[int(self.model.structure.age[self.row])]

    @property
    def registered(self) -> bool:
        return self.tenure != "migrant"

    @property
    def participation(self) -> str:
        """'volunteer', 'active' (any activity in the last 30 days) or 'inactive'."""
        pop = self.model.population
        if pop.volunteer[self.row]:
            return "volunteer"
        today = max(self.model.day - 1, 0)  # the last simulated day, as the metrics use it
        return "active" if today - pop.last_active[self.row] < ACTIVE_WINDOW else "inactive"

    @property
    def neighbours(self) -> list[Resident]:
        rows = self.model.structure.neighbours(self.row)
        return [self.model.residents[int(r)] for r in rows]

    def cases(self) -> list[dict]:
        book = self.model.cases
        mine = np.flatnonzero((book.resident[: book.size] == self.row) | (book.other[: book.size] == self.row))
        return [book.describe(int(i)) for i in mine]

    def as_dict(self) -> dict:
        keys = ("tenure", "age_group", "party_member", "trust_gov", "trust_comm", "belonging", "efficacy",
                "time_avail", "grievance", "dependency", "satisfaction", "participation", "open_cases")
        return {"row": self.row, "community": self.community, "household": self.household,
                **{k: getattr(self, k) for k in keys}}

    def __repr__(self) -> str:
        return (f"Resident(row={self.row}, {self.tenure}, {self.age_group}, trust_gov={self.trust_gov:.2f}, "
                f"trust_comm={self.trust_comm:.2f}, {self.participation})")

    def step(self) -> None:  # the population steps all residents at once
        raise RuntimeError("residents are stepped together by GovernanceModel.population.step()")


class LazyResidents(Sequence):
    """``model.residents``: one :class:`Resident` per population row, created on first access.

    Creating 262,000 Mesa agents up front took most of a district model's build time, and the
    model never needs them (the population steps as arrays). A resident is created, and
    registered with the model as a Mesa agent, the first time it is read
    (``model.residents[i]``, iteration, slices); :meth:`materialise` creates all of them
    (``GovernanceModel.agents`` and ``agents_by_type`` call it, so whoever asks Mesa for the
    agents sees every resident). Residents keep the ``unique_id`` they had when they were all
    created first in ``GovernanceModel.__init__``: ids ``first_id + row`` are reserved, and the
    other agents (committees, government, NGOs) are numbered after them as before.
    """

    def __init__(self, model: mesa.Model, n: int):
        self.model = model
        self.n = int(n)
        self.first_id = model.agent_id_counter
        model.agent_id_counter += self.n  # reserved for the residents
        self._made: dict[int, Resident] = {}
        self._ordered = True  # the model's agent sets list residents first, in row order

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self.n))]
        i = operator.index(i)
        if i < 0:
            i += self.n
        r = self._made.get(i)
        if r is None:
            if not 0 <= i < self.n:
                raise IndexError(f"resident {i} out of range (n = {self.n})")
            r = self._make(i)
        return r

    def __iter__(self) -> Iterator[Resident]:
        return (self[i] for i in range(self.n))

    def _make(self, row: int) -> Resident:
        model = self.model
        counter = model.agent_id_counter
        model.agent_id_counter = self.first_id + row
        try:
            r = Resident(model, row)
        finally:
            model.agent_id_counter = counter
        self._ordered = False  # registered after the agents created so far
        self._made[row] = r
        return r

    @property
    def materialised(self) -> int:
        """How many residents exist as Mesa agents so far."""
        return len(self._made)

    def materialise(self) -> None:
        """Create every resident not yet created, and put the model's agent sets back in
        ``unique_id`` order (residents first, by row), as if they had been created up front."""
        if len(self._made) == self.n and self._ordered:
            return
        for i in range(self.n):
            if i not in self._made:
                self._make(i)
        if not self._ordered:
            model = self.model
            key = operator.attrgetter("unique_id")
            model._all_agents._update(sorted(model._all_agents, key=key))
            by_type = model._agents_by_type
            by_type[Resident]._update(sorted(by_type[Resident], key=key))
            items = sorted(by_type.items(), key=lambda kv: min(a.unique_id for a in kv[1]) if len(kv[1]) else 0)
            by_type.clear()
            by_type.update(items)
            self._ordered = True
