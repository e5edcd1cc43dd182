"""Resident: a Mesa agent that is a thin view onto one row of the population arrays."""

from __future__ import annotations

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
