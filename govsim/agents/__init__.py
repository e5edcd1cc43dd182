"""Mesa agents: residents (views onto population rows), committees, government, NGOs."""

from govsim.agents.committee import Committee, committee_members
from govsim.agents.government import Government
from govsim.agents.ngo import NGO
from govsim.agents.resident import Resident

__all__ = ["Resident", "Committee", "Government", "NGO", "committee_members"]
