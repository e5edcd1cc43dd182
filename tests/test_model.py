"""Whole-model behaviour: determinism, invariants, agents are inspectable Mesa agents."""

import numpy as np
import pandas as pd

from govsim.agents import NGO, Committee, Government, Resident

from conftest import small


def test_same_seed_identical_series_different_seed_differs():
    a = small(seed=5, steps=60).run().series()
    b = small(seed=5, steps=60).run().series()
    c = small(seed=6, steps=60).run().series()
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_residents_are_mesa_agent_views():
    m = small(steps=5).run()
    residents = m.agents_by_type[Resident]
    assert len(residents) == m.population.n
    r = m.residents[10]
    assert r in residents
    r.trust_gov = 0.123
    assert abs(m.population.trust_gov[10] - 0.123) < 1e-6
    assert r.tenure in ("local", "relocated", "migrant")
    assert r.participation in ("volunteer", "active", "inactive")
    assert all(isinstance(n, Resident) for n in r.neighbours)
    assert len(m.agents_by_type[Committee]) >= 1
    assert len(m.agents_by_type[Government]) == 1
    assert NGO in m.agents_by_type or len(m.ngos) == 0


def test_invariants_after_run():
    m = small(regime="government_led", steps=150).run()
    s = m.summary()
    assert s["cases_resolved"] <= s["cases_detected"] <= s["cases_arisen"]
    for k in ("participation_rate", "resolution_rate", "screened_resolution_rate", "self_resolution_share",
              "meeting_attendance"):
        assert 0.0 <= s[k] <= 1.0, k
    m.ledger.check()
    pop = m.population
    for col in ("trust_gov", "trust_comm", "belonging", "efficacy", "satisfaction", "dependency"):
        arr = getattr(pop, col)
        assert arr.min() >= -1e-6 and arr.max() <= 1 + 1e-6, col
    assert pop.grievance.min() >= 0
    assert pop.open_cases.min() >= 0
    open_now = np.bincount(m.cases.resident[np.concatenate([m.cases.open_idx, m.cases.pending])],
                           minlength=pop.n)
    np.testing.assert_array_equal(open_now, pop.open_cases)


def test_series_has_one_row_per_day_and_metrics():
    m = small(steps=30).run()
    df = m.series()
    assert len(df) == 30
    for col in ("participation_rate", "resolution_rate", "self_resolution_share", "cost_per_resolved_case",
                "collective_incidents", "mean_trust_gov", "ladder_level", "volunteer_hours"):
        assert col in df.columns
    assert (df["cases_arisen"].diff().dropna() >= 0).all()


def test_model_installs_the_compiled_institutions_and_calls_only_their_overridden_hooks():
    from govsim.institutions import INSTITUTIONS, Institution

    m = small(regime="hybrid", steps=1, pilots={"grid_management": True})
    assert [i.name for i in m.installed] == list(m.institutions.names)
    assert all(type(i) is INSTITUTIONS[i.name] for i in m.installed)
    for hook in Institution.HOOKS:
        assert m.hooks[hook] == [i for i in m.installed if type(i).overrides(hook)], hook
    # the grid pilot's screening is a detection hook; the base class's is not
    assert any(i.name == "grid_management" for i in m.hooks["detection"])
    assert not Institution.overrides("detection")


def test_removing_the_hotline_closes_the_hotline_channel():
    from govsim.cases import CHANNELS

    hotline = CHANNELS.index("hotline")
    kw = {"regime": "government_led", "steps": 60, "seed": 3, "cases": {"need_rate": 3.0}}
    on = small(**kw).run()
    off = small(**kw, regime_settings={"remove_institutions": ["hotline"]}).run()
    n_on, n_off = on.cases.size, off.cases.size
    assert on.institutions.has("hotline") and not off.institutions.has("hotline")
    assert (on.cases.p_hotline[:n_on] > 0).any()
    assert (on.cases.channel[:n_on] == hotline).sum() > 0
    assert (off.cases.p_hotline[:n_off] == 0).all()
    assert (off.cases.channel[:n_off] == hotline).sum() == 0


def test_community_cases_are_the_cases_of_each_community_as_the_table_grows():
    """model.community_cases(c) extends its list as cases arrive: always the same indices as
    a scan of the whole case table."""
    m = small(steps=90, population={"households": 1200, "communities": 3})
    for _ in range(3):
        m.run(30)
        book = m.cases
        for c in range(m.structure.n_communities):
            expect = np.flatnonzero(book.community[: book.size] == c)
            got = m.community_cases(c)
            assert got.dtype == expect.dtype and np.array_equal(got, expect)


def test_community_sums_and_counts_are_bincounts_bit_for_bit():
    """govsim.by_community: per-community sums of float32 columns have the bits of a
    bincount (exact sums, or the bincount itself where a sum might round), counts are counts."""
    from types import SimpleNamespace

    from govsim.by_community import CommunityStretches

    rng = np.random.default_rng(7)
    size = np.array([5, 0, 3000, 1, 0, 700])
    community = np.repeat(np.arange(len(size)), size)
    st = CommunityStretches(SimpleNamespace(community=community, community_size=size,
                                            community_start=np.concatenate([[0], np.cumsum(size)[:-1]])))
    n = int(size.sum())
    columns = [
        rng.random(n).astype(np.float32),  # exact in float64: the reduceat
        (rng.random(n) - 0.5).astype(np.float32),  # signs
        np.zeros(n, dtype=np.float32),
        np.where(rng.random(n) < 0.5, 0.0, rng.random(n)).astype(np.float32),  # zeros among values
        (rng.random(n) * np.exp2(rng.integers(-60, 10, n))).astype(np.float32),  # would round: the bincount
    ]
    for x in columns:
        expect = np.bincount(community, weights=x, minlength=len(size))
        assert np.array_equal(st.sums(x, community).view(np.int64), expect.view(np.int64))
    mask = rng.random(n) < 0.3
    assert np.array_equal(st.counts(mask), np.bincount(community[mask], minlength=len(size)))
