"""The social network: communities cut into sub-areas, courtyards, buildings and households.

The generator lays residents out contiguously (community > sub-area > courtyard > building >
household), so every group at every level is a range of resident indices. Ties are drawn
with numpy at each level (dense inside households and buildings, weaker across courtyards,
sub-areas and the community) with homophily by tenure, and assembled once into a symmetric
``scipy.sparse`` adjacency. Influence is one sparse mat-vec per step; nothing loops over
neighbours in Python. :meth:`Structure.to_networkx` gives a ``networkx.Graph`` with all the
attributes for analysis and drawing (use it on a community, not on a district).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import networkx as nx
import numpy as np
import scipy.sparse as sp

TENURES = ("local", "relocated", "migrant")
LOCAL, RELOCATED, MIGRANT = range(3)
AGE_GROUPS = ("youth", "adult", "elderly")
YOUTH, ADULT, ELDERLY = range(3)

# Tie weight by the level at which the tie was drawn.
TIE_WEIGHTS = {"household": 1.0, "building": 0.5, "courtyard": 0.3, "subarea": 0.2, "community": 0.1}
# Every tie weight (and every sum of weights, capped at 1) is a whole number of TIE_UNITs, so a
# resident's weight of active neighbours is an exact integer tally (Structure.tie_matrix), which
# the resident step keeps up to date by adding and subtracting the ties of the residents whose
# activity changed: exact, and independent of the order of the additions.
TIE_UNIT = 0.1
assert all(abs(w / TIE_UNIT - round(w / TIE_UNIT)) < 1e-9 for w in TIE_WEIGHTS.values())


@dataclass(frozen=True)
class CommunityPlan:
    """Sizes and composition of one community, resolved from the scenario."""

    name: str
    households: int
    people: int | None
    migrant_share: float
    relocated_share: float
    elderly_share: float
    youth_share: float
    party_share: float
    low_income_share: float


@dataclass
class Structure:
    """Residents, households and groups as arrays, plus the weighted adjacency."""

    n_communities: int
    community_names: list[str]
    # per resident
    household: np.ndarray
    building: np.ndarray
    courtyard: np.ndarray
    subarea: np.ndarray
    community: np.ndarray
    grid: np.ndarray
    tenure: np.ndarray
    age: np.ndarray
    party: np.ndarray
    low_income: np.ndarray
    # per household
    hh_community: np.ndarray
    hh_size: np.ndarray
    hh_tenure: np.ndarray
    # per building / grid
    building_community: np.ndarray
    building_start: np.ndarray
    building_size: np.ndarray
    grid_community: np.ndarray
    # per community
    community_start: np.ndarray
    community_size: np.ndarray
    community_households: np.ndarray
    adjacency: sp.csr_array  # symmetric, float32 weights
    influence: sp.csr_array = field(init=False)  # row-normalised adjacency
    degree: np.ndarray = field(init=False)
    tie_matrix: sp.csr_array = field(init=False)  # adjacency in whole TIE_UNITs (int32)
    strength_units: np.ndarray = field(init=False)  # each resident's total tie weight in TIE_UNITs

    def __post_init__(self) -> None:
        strength = np.asarray(self.adjacency.sum(axis=1)).ravel()
        self.degree = np.diff(self.adjacency.indptr).astype(np.int32)
        inv = np.divide(1.0, strength, out=np.zeros_like(strength), where=strength > 0)
        self.influence = sp.csr_array(sp.diags_array(inv.astype(np.float32)) @ self.adjacency)
        self.influence.data = self.influence.data.astype(np.float32)
        a = self.adjacency
        scaled = a.data * np.float32(1.0 / TIE_UNIT)
        units = np.rint(scaled)
        if len(units) and float(np.abs(scaled - units).max()) > 1e-3:
            raise ValueError(f"network: every tie weight must be a whole multiple of {TIE_UNIT} (TIE_UNIT)")
        self.tie_matrix = sp.csr_array((units.astype(np.int32), a.indices, a.indptr), shape=a.shape)
        self.strength_units = self.tie_matrix @ np.ones(a.shape[1], dtype=np.int32)

    @property
    def n(self) -> int:
        return int(self.household.shape[0])

    @property
    def n_households(self) -> int:
        return int(self.hh_size.shape[0])

    @property
    def n_buildings(self) -> int:
        return int(self.building_start.shape[0])

    @property
    def n_grids(self) -> int:
        return int(self.grid_community.shape[0])

    @property
    def n_edges(self) -> int:
        return int(self.adjacency.nnz // 2)

    def neighbours(self, i: int) -> np.ndarray:
        a = self.adjacency
        return a.indices[a.indptr[i] : a.indptr[i + 1]]

    @cached_property
    def household_first(self) -> np.ndarray:
        """Row of each household's first resident (residents are stored by household)."""
        return np.r_[0, np.flatnonzero(np.diff(self.household)) + 1].astype(np.int64)

    def community_people(self) -> np.ndarray:
        return self.community_size.copy()

    def community_registered(self) -> np.ndarray:
        reg = (self.tenure != MIGRANT).astype(np.int64)
        return np.bincount(self.community, weights=reg, minlength=self.n_communities)

    def community_registered_households(self) -> np.ndarray:
        reg = (self.hh_tenure != MIGRANT).astype(np.int64)
        return np.bincount(self.hh_community, weights=reg, minlength=self.n_communities)

    def tenure_assortativity(self) -> float:
        """Share of tie weight between residents of the same tenure (1 = fully homophilous)."""
        a = self.adjacency.tocoo()
        same = self.tenure[a.row] == self.tenure[a.col]
        return float(a.data[same].sum() / max(a.data.sum(), 1e-12))

    def to_networkx(self, community: int | None = None) -> nx.Graph:
        """The network (or one community of it) as a networkx Graph with node attributes."""
        if community is None:
            nodes = np.arange(self.n)
        else:
            s = int(self.community_start[community])
            nodes = np.arange(s, s + int(self.community_size[community]))
        sub = self.adjacency[nodes][:, nodes]
        g = nx.from_scipy_sparse_array(sub, edge_attribute="weight")
        g = nx.relabel_nodes(g, dict(enumerate(nodes.tolist())), copy=False)
        attrs = {
            "household": self.household,
            "building": self.building,
            "courtyard": self.courtyard,
            "subarea": self.subarea,
            "community": self.community,
        }
        for name, arr in attrs.items():
            nx.set_node_attributes(g, dict(zip(nodes.tolist(), arr[nodes].tolist(), strict=True)), name)
        nx.set_node_attributes(
            g, {int(i): TENURES[int(self.tenure[i])] for i in nodes}, "tenure"
        )
        return g


def row_positions(indptr: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Positions of the stored entries of CSR ``rows`` (``indptr[r]:indptr[r + 1]`` for every
    ``r`` in ``rows``), concatenated in that order."""
    starts = indptr[rows]
    lens = indptr[rows + 1] - starts
    ends = np.cumsum(lens)
    return np.repeat(starts - (ends - lens), lens) + np.arange(ends[-1] if len(ends) else 0)


def _household_sizes(rng: np.random.Generator, households: int, people: int) -> np.ndarray:
    """Sizes >= 1 summing exactly to ``people``: one each plus a multinomial remainder."""
    extra = people - households
    return 1 + rng.multinomial(extra, np.full(households, 1.0 / households)).astype(np.int32)


def _beta_shares(rng: np.random.Generator, mean: float, clustering: float, n: int) -> np.ndarray:
    if mean <= 0.0 or mean >= 1.0 or clustering <= 0.0:
        return np.full(n, mean)
    phi = 10.0 * (1.0 - clustering) / clustering + 1e-3
    return rng.beta(mean * phi, (1.0 - mean) * phi, size=n)


def _level_ties(
    rng: np.random.Generator,
    group_of: np.ndarray,
    group_start: np.ndarray,
    group_size: np.ndarray,
    mean_ties: float,
    tenure: np.ndarray,
    homophily: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Each resident draws ~mean_ties partners inside its group; homophily by rejection."""
    n = group_of.shape[0]
    if mean_ties <= 0 or n == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    whole = int(np.floor(mean_ties))
    counts = np.full(n, whole, dtype=np.int64)
    frac = mean_ties - whole
    if frac > 0:
        counts += rng.random(n) < frac
    src = np.repeat(np.arange(n, dtype=np.int64), counts)
    g = group_of[src]
    dst = group_start[g] + (rng.random(src.shape[0]) * group_size[g]).astype(np.int64)
    keep = dst != src
    if homophily > 0:
        differ = tenure[src] != tenure[dst]
        keep &= ~differ | (rng.random(src.shape[0]) >= homophily)
    return src[keep], dst[keep]


def _ranges(group_of: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    size = np.bincount(group_of, minlength=n_groups).astype(np.int64)
    start = np.concatenate(([0], np.cumsum(size)[:-1])).astype(np.int64)
    return start, size


def build_structure(
    plans: list[CommunityPlan],
    *,
    households_per_building: int,
    buildings_per_courtyard: int,
    courtyards_per_subarea: int,
    households_per_grid: int,
    ties: dict[str, float],
    homophily: float,
    tenure_clustering: float,
    household_size: float,
    rng: np.random.Generator,
) -> Structure:
    """Generate households, groups, attributes and ties for all communities."""
    hh_sizes, hh_comm, hh_bld_local, hh_grid_local = [], [], [], []
    for c, plan in enumerate(plans):
        people = plan.people if plan.people is not None else max(
            plan.households, int(round(plan.households * household_size))
        )
        hh_sizes.append(_household_sizes(rng, plan.households, people))
        hh_comm.append(np.full(plan.households, c, dtype=np.int32))
        local = np.arange(plan.households)
        hh_bld_local.append(local // households_per_building)
        hh_grid_local.append(local // households_per_grid)
    hh_size = np.concatenate(hh_sizes)
    hh_community = np.concatenate(hh_comm)

    # Global ids for buildings / courtyards / sub-areas / grids (contiguous per community).
    def globalise(local_parts: list[np.ndarray]) -> np.ndarray:
        out, offset = [], 0
        for part in local_parts:
            out.append(part + offset)
            offset += int(part.max()) + 1 if part.size else 0
        return np.concatenate(out).astype(np.int32)

    hh_building = globalise(hh_bld_local)
    hh_courtyard = globalise([b // buildings_per_courtyard for b in hh_bld_local])
    hh_subarea = globalise([b // (buildings_per_courtyard * courtyards_per_subarea) for b in hh_bld_local])
    hh_grid = globalise(hh_grid_local)
    n_buildings = int(hh_building.max()) + 1
    n_grids = int(hh_grid.max()) + 1

    # Tenure by household, clustered by building (migrants concentrate in some buildings).
    b_comm = np.zeros(n_buildings, dtype=np.int32)
    b_comm[hh_building] = hh_community
    mig_mean = np.array([p.migrant_share for p in plans])
    rel_mean = np.array([p.relocated_share for p in plans])
    b_mig = np.empty(n_buildings)
    for c in range(len(plans)):
        sel = b_comm == c
        b_mig[sel] = _beta_shares(rng, mig_mean[c], tenure_clustering, int(sel.sum()))
    u = rng.random(hh_size.shape[0])
    is_mig = u < b_mig[hh_building]
    rel_p = np.divide(rel_mean, 1.0 - mig_mean, out=np.zeros_like(rel_mean), where=mig_mean < 1.0)
    is_rel = ~is_mig & (rng.random(hh_size.shape[0]) < rel_p[hh_community])
    hh_tenure = np.where(is_mig, MIGRANT, np.where(is_rel, RELOCATED, LOCAL)).astype(np.int8)

    # Residents.
    n_hh = hh_size.shape[0]
    household = np.repeat(np.arange(n_hh, dtype=np.int32), hh_size)
    n = household.shape[0]
    community = hh_community[household]
    tenure = hh_tenure[household]
    eld = np.array([p.elderly_share for p in plans])[community]
    yth = np.array([p.youth_share for p in plans])[community]
    ua = rng.random(n)
    age = np.where(ua < yth, YOUTH, np.where(ua < yth + eld, ELDERLY, ADULT)).astype(np.int8)
    party = (rng.random(n) < np.array([p.party_share for p in plans])[community]) & (age != YOUTH)
    hh_low = rng.random(n_hh) < np.array([p.low_income_share for p in plans])[hh_community]
    low_income = hh_low[household]

    building = hh_building[household]
    courtyard = hh_courtyard[household]
    subarea = hh_subarea[household]
    grid = hh_grid[household]

    # Ties: households are cliques; other levels draw partners inside the group.
    srcs, dsts, ws = [], [], []
    max_size = int(hh_size.max())
    idx = np.arange(n, dtype=np.int64)
    for k in range(1, max_size):
        same = household[:-k] == household[k:]
        a = idx[:-k][same]
        srcs.append(a)
        dsts.append(a + k)
        ws.append(np.full(a.shape[0], TIE_WEIGHTS["household"], dtype=np.float32))
    for level, group_of in (
        ("building", building),
        ("courtyard", courtyard),
        ("subarea", subarea),
        ("community", community),
    ):
        n_groups = int(group_of.max()) + 1
        start, size = _ranges(group_of, n_groups)
        s, d = _level_ties(rng, group_of, start, size, ties.get(level, 0.0), tenure, homophily)
        same_hh = household[s] == household[d]
        s, d = s[~same_hh], d[~same_hh]
        srcs.append(s)
        dsts.append(d)
        ws.append(np.full(s.shape[0], TIE_WEIGHTS[level], dtype=np.float32))
    src = np.concatenate(srcs)
    dst = np.concatenate(dsts)
    w = np.concatenate(ws)
    adj = sp.coo_array(
        (np.concatenate([w, w]), (np.concatenate([src, dst]), np.concatenate([dst, src]))), shape=(n, n)
    ).tocsr()
    adj.sum_duplicates()
    np.minimum(adj.data, 1.0, out=adj.data)
    adj.indices = adj.indices.astype(np.int32)
    adj.indptr = adj.indptr.astype(np.int32)

    b_start, b_size = _ranges(building, n_buildings)
    c_start, c_size = _ranges(community, len(plans))
    g_comm = np.zeros(n_grids, dtype=np.int32)
    g_comm[hh_grid] = hh_community
    return Structure(
        n_communities=len(plans),
        community_names=[p.name for p in plans],
        household=household,
        building=building,
        courtyard=courtyard,
        subarea=subarea,
        community=community,
        grid=grid,
        tenure=tenure,
        age=age,
        party=party,
        low_income=low_income,
        hh_community=hh_community,
        hh_size=hh_size,
        hh_tenure=hh_tenure,
        building_community=b_comm,
        building_start=b_start,
        building_size=b_size,
        grid_community=g_comm,
        community_start=c_start,
        community_size=c_size,
        community_households=np.bincount(hh_community, minlength=len(plans)),
        adjacency=adj,
    )


def plans_from_spec(spec, rng: np.random.Generator) -> list[CommunityPlan]:
    """Resolve the scenario's population (listed communities or a split total) into plans."""
    pop = spec.population
    listed = list(spec.communities)

    def plan(name, households, people, over=None):
        def pick(attr):
            v = getattr(over, attr, None) if over is not None else None
            return getattr(pop, attr) if v is None else v

        return CommunityPlan(
            name=name,
            households=int(households),
            people=people,
            migrant_share=pick("migrant_share"),
            relocated_share=pick("relocated_share"),
            elderly_share=pick("elderly_share"),
            youth_share=pop.youth_share,
            party_share=pop.party_share,
            low_income_share=pick("low_income_share"),
        )

    if listed:
        return [
            plan(c.name or f"community-{i + 1}", c.households, c.people, c) for i, c in enumerate(listed)
        ]
    k = pop.communities
    if k == 1:
        return [plan("community-1", pop.households, pop.people)]
    # Split the total: Dirichlet-varied sizes, each at least 10 households.
    conc = 1.0 / max(pop.size_variation, 1e-3) ** 2
    weights = rng.dirichlet(np.full(k, conc)) if pop.size_variation > 0 else np.full(k, 1.0 / k)
    hh = np.maximum(10, np.floor(weights * pop.households).astype(int))
    hh[np.argmax(hh)] += pop.households - hh.sum()
    people = None
    if pop.people is not None:
        people_arr = np.maximum(hh, np.floor(pop.people * hh / hh.sum()).astype(int))
        people_arr[np.argmax(people_arr)] += pop.people - people_arr.sum()
        people = people_arr
    return [
        plan(f"community-{i + 1}", hh[i], None if people is None else int(people[i])) for i in range(k)
    ]


def structure_from_scenario(spec, rng: np.random.Generator) -> Structure:
    """The scenario's communities, households, groups and ties (what the model builds)."""
    net = spec.network
    return build_structure(
        plans_from_spec(spec, rng),
        households_per_building=net.households_per_building,
        buildings_per_courtyard=net.buildings_per_courtyard,
        courtyards_per_subarea=net.courtyards_per_subarea,
        households_per_grid=spec.pilots.households_per_grid,
        ties={
            "building": net.ties_building,
            "courtyard": net.ties_courtyard,
            "subarea": net.ties_subarea,
            "community": net.ties_community,
        },
        homophily=net.homophily,
        tenure_clustering=spec.population.tenure_clustering,
        household_size=spec.population.household_size,
        rng=rng,
    )
