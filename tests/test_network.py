"""The four-level social network: households, buildings, courtyards, sub-areas, communities."""

import networkx as nx
import numpy as np
import pytest

from govsim import scenario_from_dict
from govsim.network import (
    LOCAL,
    MIGRANT,
    RELOCATED,
    TENURES,
    CommunityPlan,
    build_structure,
    plans_from_spec,
)

TIES = {"building": 2.0, "courtyard": 1.0, "subarea": 0.5, "community": 0.3}


def plan(households=300, people=None, migrant=0.2, relocated=0.1, name="c"):
    return CommunityPlan(name, households=households, people=people, migrant_share=migrant,
                         relocated_share=relocated, elderly_share=0.18, youth_share=0.15,
                         party_share=0.07, low_income_share=0.08)


def build(plans, seed=0, homophily=0.5, clustering=0.5, hpb=30, ties=None, household_size=2.9):
    return build_structure(
        plans,
        households_per_building=hpb,
        buildings_per_courtyard=3,
        courtyards_per_subarea=4,
        households_per_grid=100,
        ties=TIES if ties is None else ties,
        homophily=homophily,
        tenure_clustering=clustering,
        household_size=household_size,
        rng=np.random.default_rng(seed),
    )


@pytest.fixture(scope="module")
def two():
    return build([plan(310, name="a"), plan(95, people=400, name="b")], seed=3)


def _hh_of(s, attr):
    """Per household: the group it belongs to (all members agree)."""
    first = np.searchsorted(s.household, np.arange(s.n_households))
    return getattr(s, attr)[first]


def test_buildings_hold_households_per_building(two):
    s = two
    hh_b = _hh_of(s, "building")
    per_b = np.bincount(hh_b)
    assert per_b.max() == 30
    # every building but the last of each community is full
    for c in range(s.n_communities):
        counts = per_b[np.flatnonzero(s.building_community == c)]
        assert (counts[:-1] == 30).all()
        assert 1 <= counts[-1] <= 30
    assert s.n_buildings == int(np.ceil(310 / 30)) + int(np.ceil(95 / 30))
    assert (s.building_community == np.repeat([0, 1], [11, 4])).all()


@pytest.mark.parametrize("attr", ["household", "building", "courtyard", "subarea", "community", "grid"])
def test_groups_are_contiguous_index_ranges(two, attr):
    g = getattr(two, attr)
    assert (np.diff(g) >= 0).all()  # sorted, so each group is one contiguous range
    ids = np.unique(g)
    np.testing.assert_array_equal(ids, np.arange(len(ids)))  # no gaps


def test_group_nesting(two):
    s = two
    # a building lies in exactly one courtyard, sub-area and community
    for fine, coarse in (("household", "building"), ("building", "courtyard"),
                         ("courtyard", "subarea"), ("subarea", "community")):
        f, c = getattr(s, fine), getattr(s, coarse)
        pairs = np.unique(np.stack([f, c]), axis=1)
        assert pairs.shape[1] == len(np.unique(f)), (fine, coarse)
    np.testing.assert_array_equal(s.building_start, np.searchsorted(s.building, np.arange(s.n_buildings)))
    np.testing.assert_array_equal(s.building_size, np.bincount(s.building))
    # three buildings per courtyard
    per_court = np.unique(np.stack([s.building, s.courtyard]), axis=1)
    assert np.bincount(per_court[1]).max() == 3


def test_household_members_all_tied(two):
    s = two
    adj = s.adjacency.tocsr()
    for h in np.flatnonzero(s.hh_size >= 2)[:200]:
        members = np.flatnonzero(s.household == h)
        block = adj[members][:, members].toarray()
        off = ~np.eye(len(members), dtype=bool)
        np.testing.assert_allclose(block[off], 1.0, err_msg=str(h))
    assert s.hh_size.sum() == s.n


def test_adjacency_symmetric_no_self_loops_weights_in_range(two):
    a = two.adjacency
    assert a.shape == (two.n, two.n)
    assert abs(a - a.T).max() == 0
    assert a.diagonal().sum() == 0
    assert a.data.min() > 0 and a.data.max() <= 1.0
    assert two.n_edges == a.nnz // 2
    np.testing.assert_array_equal(two.degree, np.diff(a.indptr))
    # influence rows sum to one for residents with ties
    rows = np.asarray(two.influence.sum(axis=1)).ravel()
    np.testing.assert_allclose(rows[two.degree > 0], 1.0, rtol=1e-5)


def test_tie_matrix_is_the_adjacency_in_whole_tie_units(two):
    """The exact integer tallies of the resident step rest on this: every weight is a whole
    number of TIE_UNITs, and a weight that is not is refused."""
    import copy

    from govsim.network import TIE_UNIT

    t = two.tie_matrix
    assert t.dtype == np.int32
    np.testing.assert_array_equal(t.indptr, two.adjacency.indptr)
    np.testing.assert_allclose(t.data * TIE_UNIT, two.adjacency.data, atol=1e-6)
    np.testing.assert_array_equal(two.strength_units, np.asarray(t.sum(axis=1)).ravel())
    odd = copy.copy(two)
    odd.adjacency = two.adjacency.copy()
    odd.adjacency.data[0] = np.float32(0.37)
    with pytest.raises(ValueError, match="whole multiple of 0.1"):
        odd.__post_init__()


def test_ties_stay_inside_the_community(two):
    a = two.adjacency.tocoo()
    assert (two.community[a.row] == two.community[a.col]).all()


def test_no_level_ties_means_only_household_ties():
    s = build([plan(120)], seed=1, ties={})
    a = s.adjacency.tocoo()
    assert (s.household[a.row] == s.household[a.col]).all()
    expect = int((s.hh_size * (s.hh_size - 1)).sum())
    assert a.nnz == expect


@pytest.mark.parametrize("people", [120, 333, 1000])
def test_exact_people_count(people):
    s = build([plan(120, people=people)], seed=people)
    assert s.n == people
    assert s.community_size.tolist() == [people]
    assert s.hh_size.min() >= 1
    assert s.n_households == 120


def test_people_from_household_size_when_not_given():
    s = build([plan(200)], household_size=2.5)
    assert s.n == 500


def test_homophily_raises_same_tenure_tie_share():
    plans = [plan(1500, migrant=0.3, relocated=0.3)]
    low = build(plans, seed=7, homophily=0.0, clustering=0.0)
    high = build(plans, seed=7, homophily=1.0, clustering=0.0)
    # same seed, same households and tenures: only tie formation differs
    np.testing.assert_array_equal(low.tenure, high.tenure)
    assert high.tenure_assortativity() > low.tenure_assortativity() + 0.1


def test_tenure_assortativity_is_one_when_all_share_a_tenure():
    s = build([plan(150, migrant=0.0, relocated=0.0)])
    assert (s.tenure == LOCAL).all()
    assert s.tenure_assortativity() == pytest.approx(1.0)


def test_tenure_shares_near_requested_for_large_community():
    s = build([plan(20_000, migrant=0.25, relocated=0.15)], seed=11, clustering=0.3)
    share = np.bincount(s.hh_tenure, minlength=3) / s.n_households
    assert share[MIGRANT] == pytest.approx(0.25, abs=0.03)
    assert share[RELOCATED] == pytest.approx(0.15, abs=0.02)
    assert share[LOCAL] == pytest.approx(0.60, abs=0.03)
    # registered = not migrant
    assert s.community_registered_households()[0] == (s.hh_tenure != MIGRANT).sum()
    assert s.community_registered()[0] == (s.tenure != MIGRANT).sum()


def test_tenure_clustering_concentrates_migrants_in_buildings():
    plans = [plan(6000, migrant=0.3, relocated=0.0)]

    def spread(clustering):
        s = build(plans, seed=5, clustering=clustering)
        hh_b = _hh_of(s, "building")
        per_b = np.bincount(hh_b, weights=s.hh_tenure == MIGRANT) / np.bincount(hh_b)
        return per_b.std()

    assert spread(0.9) > 2 * spread(0.0)


def test_to_networkx_has_nodes_edges_and_attributes(two):
    g = two.to_networkx(community=1)
    members = np.flatnonzero(two.community == 1)
    assert isinstance(g, nx.Graph)
    assert sorted(g.nodes) == members.tolist()
    sub = two.adjacency[members][:, members]
    assert g.number_of_edges() == sub.nnz // 2
    node = int(members[5])
    attrs = g.nodes[node]
    for key in ("household", "building", "courtyard", "subarea", "community"):
        assert attrs[key] == int(getattr(two, key)[node]), key
    assert attrs["tenure"] == TENURES[int(two.tenure[node])]
    u, v = next(iter(g.edges))
    assert g[u][v]["weight"] == pytest.approx(float(two.adjacency[[u]][:, [v]].toarray()[0, 0]))
    whole = two.to_networkx()
    assert whole.number_of_nodes() == two.n and whole.number_of_edges() == two.n_edges


@pytest.mark.parametrize("k, households, people", [(3, 1000, None), (7, 5829, 16817), (12, 1200, None)])
def test_multiple_communities_split_totals_exactly(k, households, people):
    pop = {"communities": k, "households": households, "size_variation": 0.4}
    if people is not None:
        pop["people"] = people
    sc = scenario_from_dict({"population": pop})
    plans = plans_from_spec(sc, np.random.default_rng(k))
    assert len(plans) == k
    assert sum(p.households for p in plans) == households
    assert min(p.households for p in plans) >= 10
    assert len({p.name for p in plans}) == k
    if people is not None:
        assert sum(p.people for p in plans) == people
        assert all(p.people >= p.households for p in plans)
    s = build(plans, seed=k)
    assert s.n_households == households
    assert s.n_communities == k
    assert s.community_households.sum() == households
    if people is not None:
        assert s.n == people


def test_listed_communities_keep_their_overrides():
    sc = scenario_from_dict({
        "population": {"migrant_share": 0.1},
        "communities": [
            {"name": "old town", "households": 300, "migrant_share": 0.6},
            {"name": "new estate", "households": 120, "people": 500},
        ],
    })
    plans = plans_from_spec(sc, np.random.default_rng(0))
    assert [p.name for p in plans] == ["old town", "new estate"]
    assert plans[0].migrant_share == 0.6 and plans[1].migrant_share == 0.1
    assert plans[1].people == 500 and plans[0].people is None
