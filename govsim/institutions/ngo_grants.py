"""NGO-first service delivery on government grants.

Brief: in the self-governing model non-profit organisations deliver services, "funded
partly by government grants and tax relief"; in the hybrid one associations and NGOs
deliver "with government money spent under strict budget rules". Government pays a
yearly grant per (counted) household to the community's NGOs, which hire staff with it
(:class:`govsim.agents.NGO`), work service cases at the NGO level and run activities that
draw residents in. Without this institution NGOs live on donations and contracts only.
The NGO level is put in the general chain before the committee, and in the coordination
chain before the street office.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from govsim.institutions.base import Institution
from govsim.regimes import insert_level


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    per_household: Annotated[float, Field(ge=0.0, le=10_000.0)] = 40.0


class NgoGrants(Institution):
    name = "ngo_grants"
    label = "Government grants to NGOs"
    label_zh = "政府资助社会组织"
    Settings = Settings
    per_community = True
    local_settings = frozenset({"per_household"})

    @classmethod
    def adjust_routing(cls, data):
        chains = dict(data.chains)
        chains["general"] = insert_level(chains["general"], "ngo", ("committee", "street", "district"))
        chains["coordination"] = insert_level(chains["coordination"], "ngo", ("street", "district"))
        return data.model_copy(update={"chains": chains})

    def install(self) -> None:
        gov = self.m.government
        self.grants = gov.counted_households * self.val("per_household")
        self.paid = 0.0

    def settings_changed(self) -> None:
        self.grants = self.m.government.counted_households * self.val("per_household")

    def switched(self, was) -> None:
        new = self.on & ~was  # switched on mid-year: this year's grant is paid at once
        if new.any():
            self.paid += self.m.government.to_ngos(self.grants * new, "ngo_grants", "grant_income")

    def begin_day(self, day: int) -> None:
        if day % 365 == 0:
            grants = self.grants if self.everywhere else self.grants * self.on
            self.paid += self.m.government.to_ngos(grants, "ngo_grants", "grant_income")

    def metrics(self) -> dict[str, float]:
        return {}
