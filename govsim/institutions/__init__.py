"""Institutions: one module per body or rule of the domain brief, each a strategy object.

A regime (:mod:`govsim.regimes`) is the list of institutions it installs; pilots switched on
in a scenario's ``[pilots]`` table install theirs. The model calls every installed
institution's hooks (:class:`~govsim.institutions.base.Institution`) and never asks for one
by name. Where does a dispute get escalated? ``govsim/cases.py`` (the chain); who decides
it at a residents' assembly? ``govsim/institutions/assembly.py``.
"""

from __future__ import annotations

from govsim.institutions.admin_hierarchy import AdminHierarchy
from govsim.institutions.assembly import MemberAssembly
from govsim.institutions.base import Institution
from govsim.institutions.council import DeliberationCouncil
from govsim.institutions.disaster_bodies import DisasterBodies
from govsim.institutions.dispatched_agencies import DispatchedAgencies
from govsim.institutions.dues import ResidentDues
from govsim.institutions.government_appraisal import GovernmentAppraisal
from govsim.institutions.grid_management import GridManagement
from govsim.institutions.hotline import Hotline
from govsim.institutions.management_company import ManagementCompany
from govsim.institutions.neighbourhood_association import NeighbourhoodAssociation
from govsim.institutions.ngo_grants import NgoGrants
from govsim.institutions.ngo_outsourcing import NgoOutsourcing
from govsim.institutions.owners_committees import OwnersCommittees
from govsim.institutions.participatory_budget import ParticipatoryBudget
from govsim.institutions.party_co_governance import PartyCoGovernance
from govsim.institutions.regional_centre import RegionalCentre
from govsim.institutions.top_down_programmes import TopDownProgrammes

INSTITUTIONS: dict[str, type[Institution]] = {
    cls.name: cls
    for cls in (
        MemberAssembly, ResidentDues, ManagementCompany, NgoGrants,
        AdminHierarchy, DispatchedAgencies, TopDownProgrammes, Hotline, GovernmentAppraisal,
        NeighbourhoodAssociation, RegionalCentre, DisasterBodies,
        GridManagement, NgoOutsourcing, DeliberationCouncil, ParticipatoryBudget, PartyCoGovernance,
        OwnersCommittees,
    )
}
# Scenario switches ([pilots] table, and committees.owners_committees) -> institution names.
PILOT_INSTITUTIONS: dict[str, str] = {cls.pilot: name for name, cls in INSTITUTIONS.items() if cls.pilot}
PILOTS = PILOT_INSTITUTIONS  # backwards-compatible name

__all__ = ["INSTITUTIONS", "PILOT_INSTITUTIONS", "PILOTS", "Institution"]
