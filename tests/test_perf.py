"""Speed-ups that must not change results (issue 10): the incremental neighbour share equals
the full tally bit for bit, the cached online chances equal fresh ones, the thinned online draw
is Bernoulli(p) per resident, and lazily created residents are the right rows."""

import numpy as np
import pytest

from govsim.agents import Committee, Government, Resident
from govsim.population import Population
from govsim.reference import build_community, copy_population

from conftest import small


def _full_share(pop, active):
    """The neighbour share from scratch: the whole integer tally, divided in float32."""
    s = pop.structure
    tally = s.tie_matrix @ active.astype(np.int32)
    return tally.astype(np.float32) / np.maximum(s.strength_units, 1).astype(np.float32)


def _checked(pop, seen):
    """Wrap the population's neighbour-share update to compare each result with the full
    tally, and the rows it reports as changed with the rows that did change."""
    update = pop._update_neighbour_share

    def check(active):
        before = None if getattr(pop, "_nb", None) is None else pop._nb.copy()
        rows = update(active)
        nb = pop._nb
        assert nb.dtype == np.float32
        assert np.array_equal(nb, _full_share(pop, active))
        # ... which is the weighted share of active neighbours, influence @ active
        np.testing.assert_allclose(nb, pop.structure.influence @ active.astype(np.float64), rtol=1e-6, atol=1e-7)
        if rows is not None:  # every row whose value changed is reported (the online chances follow them)
            assert before is not None
            assert set(np.flatnonzero(nb != before)) <= set(rows.tolist())
        seen.append(int((active != check.prev).sum()) if check.prev is not None else -1)
        check.prev = active.copy()
        return rows

    check.prev = None
    pop._update_neighbour_share = check


@pytest.mark.parametrize("max_share", [Population.INCREMENTAL_MAX_SHARE, 1.0, 0.0])
def test_incremental_neighbour_share_equals_the_full_tally_in_the_model(monkeypatch, max_share):
    monkeypatch.setattr(Population, "INCREMENTAL_MAX_SHARE", max_share)
    m = small(steps=60)
    seen = []
    _checked(m.population, seen)
    m.run(60)
    assert len(seen) == 60
    assert sum(1 for k in seen if k > 0) > 30  # the activity set changed on most days


def test_neighbour_share_is_one_when_every_neighbour_is_active():
    m = small(steps=1)
    pop = m.population
    nb = pop.neighbour_share(np.ones(pop.n, dtype=bool))
    assert np.array_equal(nb, np.where(pop.structure.strength_units > 0, np.float32(1), np.float32(0)))


def test_online_chances_are_the_logit_sigmoid_and_bounded():
    """The cached chances equal sigmoid(logit) (float32) for everyone who can take part, 0 for
    the others, after days of row-by-row refreshes; the bound is at least every chance."""
    m = small(steps=40)
    m.run(40)
    pop = m.population
    can = pop._online_can(m.online_open)
    base = m.scenario.behaviour.online_base
    p = pop._p.copy()  # as the last step left them: mostly refreshed row by row
    z = pop.logit(np.arange(pop.n), base)
    assert z.dtype == np.float32
    fresh = np.where(can, (1.0 / (1.0 + np.exp(-z))).astype(np.float32), np.float32(0))
    np.testing.assert_array_max_ulp(p, fresh, maxulp=1)
    assert (p[~can] == 0).all() and (p[can] > 0).all()
    assert pop._p_bound >= p.max()
    pop._p_key = None  # fresh chances for everyone equal the cached ones
    assert np.array_equal(pop._online_p(None, can, base), p)


def test_thinned_bernoulli_draws_each_resident_with_its_own_chance():
    """Thinning (candidates at the bound, kept with p / bound) draws Bernoulli(p) for each
    index independently: frequencies match p within binomial error, pairs are independent,
    and the edge cases (bound 0, bound 1, p = 0, p = bound) behave."""
    from govsim.population import bernoulli_thinned

    rng = np.random.default_rng(11)
    p = np.array([0.0, 0.001, 0.01, 0.05, 0.1, 0.1, 0.02, 0.0], dtype=np.float32)
    p = np.tile(p, 50)  # 400 residents
    reps = 20_000
    hits = np.zeros(len(p))
    both = 0
    for _ in range(reps):
        idx = bernoulli_thinned(rng, p, 0.1)
        assert np.all(np.diff(idx) > 0)  # sorted, unique
        hits[idx] += 1
        both += (4 in idx) and (5 in idx)
    freq = hits.reshape(50, 8).sum(axis=0) / (50 * reps)
    se = np.sqrt(p[:8] * (1 - p[:8]) / (50 * reps))
    assert freq[0] == 0 and freq[7] == 0
    assert np.all(np.abs(freq - p[:8]) < 5 * se + 1e-12), (freq, p[:8])
    assert abs(both / reps - 0.01) < 5 * np.sqrt(0.01 * 0.99 / reps)  # 0.1 * 0.1: independent
    assert len(bernoulli_thinned(rng, p, 0.0)) == 0
    ones = np.ones(10, dtype=np.float32)
    assert np.array_equal(bernoulli_thinned(rng, ones, 1.0), np.arange(10))
    # a bound so small its gaps would overflow an integer: nobody, or the one with p = bound
    tiny = np.zeros(1000, dtype=np.float32)
    assert len(bernoulli_thinned(rng, tiny, 1e-38)) == 0
    # gaps drawn in small batches (the loop that draws more): the same distribution
    small_batches = np.zeros(len(p))
    for _ in range(reps // 4):
        small_batches[bernoulli_thinned(rng, p, 0.1, batch=3)] += 1
    freq = small_batches.reshape(50, 8).sum(axis=0) / (50 * reps // 4)
    assert np.all(np.abs(freq - p[:8]) < 5 * 2 * se + 1e-12), (freq, p[:8])


@pytest.mark.parametrize("max_share", [Population.INCREMENTAL_MAX_SHARE, 1.0])
def test_incremental_neighbours_experience_equals_full_matvec(monkeypatch, max_share):
    monkeypatch.setattr(Population, "INCREMENTAL_MAX_SHARE", max_share)
    m = small(steps=120)
    att, pop = m.attitudes, m.population
    incremental = att._neighbours_experience
    calls = []

    def check(p):
        y = incremental(p)
        assert np.array_equal(y, m.structure.influence @ p.experience)
        calls.append(1)
        return y

    att._neighbours_experience = check
    m.run(120)
    assert len(calls) == 18  # weekly
    assert pop.experience.std() > 0  # experience moved, so rows were recomputed


def test_incremental_neighbour_share_after_direct_writes_and_copies():
    c = build_community({"seed": 3, "population": {"households": 300}})
    pop = copy_population(c.population)
    rng = np.random.default_rng(0)
    for day in range(40):
        if day % 5 == 0:  # someone else writes last_active (backdating, expiring, activating)
            who = rng.choice(pop.n, 20, replace=False)
            pop.last_active[who] = rng.integers(day - 40, day + 1, 20)
        if day == 20:  # a copy carries its own cache
            other = copy_population(pop)
            other.last_active[:] = day
            assert np.array_equal(other.neighbour_share(other.active_mask(day)),
                                  _full_share(other, other.active_mask(day)))
        pop.nb_share[:] = -1.0  # writes to the published array do not reach the cache
        pop.step(day, rng, **c.step_kwargs)
        assert (pop.nb_share >= 0).all()
        active = pop.active_mask(day + 1)
        assert np.array_equal(pop.neighbour_share(active), _full_share(pop, active))


def test_lazy_residents_materialise_on_access_and_read_their_rows():
    m = small(steps=5).run()
    pop = m.population
    n = pop.n
    assert len(m.residents) == n
    assert len(m._all_agents) < n  # not created up front
    r = m.residents[17]
    assert isinstance(r, Resident) and r.row == 17 and r.model is m
    assert m.residents[17] is r  # created once
    assert m.residents[-1].row == n - 1
    assert r.trust_gov == float(pop.trust_gov[17])
    assert r.community == int(m.structure.community[17])
    assert [x.row for x in m.residents[3:6]] == [3, 4, 5]
    # Asking Mesa for the agents materialises every resident, in row order, with the
    # unique_ids they had when all residents were created first.
    residents = m.agents_by_type[Resident]
    assert len(residents) == n
    assert [a.row for a in residents] == list(range(n))
    ids = [a.unique_id for a in m.agents]
    assert ids == sorted(ids)
    assert [a.unique_id for a in residents] == list(range(1, n + 1))
    assert min(a.unique_id for a in m.agents_by_type[Committee]) == n + 1
    assert len(m.agents_by_type[Government]) == 1
    assert len(m.agents) == n + len(m.agents_by_type[Committee]) + 1 + len(m.ngos)
    assert all(m.residents[i] is a for i, a in enumerate(residents))


def test_rows_matvec_equals_the_full_matvec_rows_with_empty_rows_and_edges():
    import scipy.sparse as sp

    from govsim.population import _rows_matvec

    rng = np.random.default_rng(2)
    A = sp.random_array((300, 300), density=0.03, format="csr", dtype=np.float32, rng=rng)
    A = sp.csr_array(A.multiply(rng.random((300, 1)) < 0.8))  # about a fifth of the rows empty
    x = (rng.random(300) < 0.5).astype(np.float32)
    full = A @ x
    for rows in (np.arange(300), np.array([0]), np.array([299]), np.array([0, 299]),
                 np.flatnonzero(np.diff(A.indptr) == 0), np.sort(rng.choice(300, 77, replace=False))):
        got = _rows_matvec(A, rows, x)
        assert got.dtype == np.float32
        assert np.array_equal(got, full[rows])
    assert len(_rows_matvec(A, np.empty(0, dtype=np.int64), x)) == 0
