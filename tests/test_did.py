"""Treatment designs and the difference-in-differences estimator.

* The estimator recovers a planted effect: a test-only institution, switched on in the
  treated communities mid-run, adds a known amount to their daily handler hours; the DiD
  CI (clustered by community) covers the true monthly shift in at least 90% of repeated
  designs (each a new random assignment and a new seed), and covers 0 in at least 90% of
  them when the institution adds nothing.
* Assignment: random and stratified draws are reproducible from a replicate's seed, differ
  between replicates, and stratification balances the treated over the strata.
* The experiment runner's ``design = "did"`` runs treatment designs end to end.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np
import pandas as pd
import pytest

from govsim import GovernanceModel, scenario_from_dict
from govsim.analysis.did import MONTH, did, event_study, heterogeneity, monthly_panel, pool
from govsim.community_series import COLUMNS
from govsim.experiment.treatment import TreatmentSpec, assign, assignment_seed
from govsim.institutions import INSTITUTIONS, PILOT_INSTITUTIONS
from govsim.institutions.base import Institution
from govsim.scenario import read_toml
from govsim.timeline import community_properties

from conftest import SCENARIOS

DESIGNS = 40
START = 120
STEPS = 240
HOURS = COLUMNS.index("handler_hours")


class PlantedShift(Institution):
    """Test only: adds ``delta`` handler hours a day in the communities where it is on."""

    name = "planted_shift"
    pilot = "planted_shift"
    per_community = True
    delta = 0.0

    def end_day(self, day: int) -> None:
        self.m.cseries.today[:, HOURS] += self.delta * self.on


@pytest.fixture
def planted(monkeypatch):
    monkeypatch.setitem(INSTITUTIONS, "planted_shift", PlantedShift)
    monkeypatch.setitem(PILOT_INSTITUTIONS, "planted_shift", "planted_shift")
    return PlantedShift


def small_district(seed: int) -> dict:
    d = read_toml(SCENARIOS / "hybrid.toml")
    d.update(steps=STEPS, seed=seed)
    d["population"] = {**d.get("population", {}), "communities": 40, "households": 1600, "people": 4000}
    return d


def design(seed: int, delta: float) -> dict:
    """One randomised design: draw 25% treated, run, plant ``delta`` from START, estimate.
    (Runs in a worker process: registers the test institution there itself.)"""
    INSTITUTIONS["planted_shift"] = PlantedShift
    PILOT_INSTITUTIONS["planted_shift"] = "planted_shift"
    try:
        return _design(seed, delta)
    finally:
        INSTITUTIONS.pop("planted_shift")
        PILOT_INSTITUTIONS.pop("planted_shift")


def _design(seed: int, delta: float) -> dict:
    PlantedShift.delta = delta
    m = GovernanceModel(scenario_from_dict(small_district(seed)))
    props = community_properties(m.structure)
    t = TreatmentSpec(set={"pilots.deliberation_council": True}, share=0.25, start_day=START)
    treated = assign(t, props, assignment_seed(seed))
    m.run(START)
    m.switch_institution("planted_shift", treated, True)
    m.reroute()
    m.run(STEPS - START)
    panel = monthly_panel(m.community_series(), treated, START, props)
    return did(panel, "handler_hours")


@pytest.fixture(scope="module")
def _cache():
    return {}


def designs(delta: float, cache) -> pd.DataFrame:
    """DESIGNS independent designs (seeds differ between the planted and the null set), on two
    worker processes."""
    if delta not in cache:
        first = 1000 if delta else 5000
        seeds = [first + i for i in range(DESIGNS)]
        with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool_:
            cache[delta] = pd.DataFrame(list(pool_.map(design, seeds, [delta] * DESIGNS)))
    return cache[delta]


@pytest.mark.slow
def test_did_recovers_a_planted_effect(_cache):
    delta = 4.0
    est = designs(delta, _cache)
    truth = delta * MONTH  # hours per community-month
    covered = ((est.ci_low <= truth) & (truth <= est.ci_high)).mean()
    assert covered >= 0.9, est[["effect", "ci_low", "ci_high"]]
    assert (est.ci_low > 0).mean() >= 0.9  # and it is seen as an effect
    assert abs(est.effect.mean() - truth) < 0.1 * truth


@pytest.mark.slow
def test_did_reports_no_effect_when_the_treatment_does_nothing(_cache):
    est = designs(0.0, _cache)
    covered = ((est.ci_low <= 0) & (0 <= est.ci_high)).mean()
    assert covered >= 0.9, est[["effect", "ci_low", "ci_high"]]
    p = pool(est)
    assert p["ci_low"] <= 0 <= p["ci_high"]


def test_event_study_and_heterogeneity_on_a_planted_effect(planted):
    planted.delta = 4.0
    seed = 7
    m = GovernanceModel(scenario_from_dict(small_district(seed)))
    props = community_properties(m.structure)
    treated = np.zeros(40, dtype=bool)
    treated[::4] = True
    m.run(START)
    m.switch_institution("planted_shift", treated, True)
    m.reroute()
    m.run(STEPS - START)
    panel = monthly_panel(m.community_series(), treated, START, props)
    ev = event_study(panel, "handler_hours")
    pre, post = ev[ev.rel_month < -1], ev[ev.rel_month >= 0]
    assert len(pre) == START // MONTH - 1 and len(post) == (STEPS - START) // MONTH
    assert (post.ci_low > 0).all()  # every month after the start shows the shift
    assert (pre.coef.abs() < 0.5 * 4.0 * MONTH).all()  # no pre-trend of that size
    h = heterogeneity(panel, "handler_hours", "households")
    assert np.isfinite(h["interaction"]) and h["ci_low"] <= h["interaction"] <= h["ci_high"]


def test_assignment_is_reproducible_redrawn_and_stratified():
    C = 100
    props = {"households": np.arange(C) * 10.0, "migrant_share": np.zeros(C), "relocated_share": np.zeros(C)}
    t = TreatmentSpec(set={"pilots.deliberation_council": True}, count=25, start_day=10,
                      assignment="stratified", strata="households", n_strata=4)
    a = assign(t, props, assignment_seed(1))
    assert a.sum() == 25
    assert (assign(t, props, assignment_seed(1)) == a).all()
    assert not (assign(t, props, assignment_seed(2)) == a).all()
    per_stratum = [a[i * 25:(i + 1) * 25].sum() for i in range(4)]
    assert per_stratum == [6, 6, 6, 7] or sorted(per_stratum) == [6, 6, 6, 7]
    r = assign(t.model_copy(update={"assignment": "random"}), props, assignment_seed(1))
    assert r.sum() == 25


@pytest.mark.parametrize("bad, message", [
    ({"set": {"cases.need_rate": 0.3}, "share": 0.2, "start_day": 5}, "cannot be given to some communities"),
    ({"set": {"pilots.deliberation_council": True}, "start_day": 5}, "exactly one of share"),
])
def test_treatment_errors_are_one_line(bad, message):
    with pytest.raises(ValueError) as err:
        TreatmentSpec.model_validate(bad)
    assert message in str(err.value)


@pytest.mark.parametrize("key, value", [
    ("institutions.hotline", False), ("institutions.disaster_bodies", True),
    ("institutions.regional_centre.staff", 4.0), ("regime_settings.member_paid", False),
])
def test_treatment_may_switch_any_institution_or_a_per_community_setting(key, value):
    t = TreatmentSpec.model_validate({"set": {key: value}, "share": 0.2, "start_day": 5})
    assert t.set == {key: value}


def test_treatment_refuses_a_setting_that_cannot_differ_between_communities():
    with pytest.raises(ValueError) as err:
        TreatmentSpec.model_validate({"set": {"regime_settings.street_staff_per_10k": 3.0}, "share": 0.2,
                                      "start_day": 5})
    text = str(err.value)
    assert "'regime_settings.street_staff_per_10k' cannot be given to some communities only" in text


def test_did_experiment_end_to_end(tmp_path):
    from govsim.cli import main
    from govsim.experiment import load_experiment

    exp = tmp_path / "roll.toml"
    exp.write_text(f'''
name = "roll"
scenario = "{(SCENARIOS / 'hybrid.toml').as_posix()}"
design = "did"
replicates = 2
steps = 90
seed = 3
metrics = ["resolution_rate"]
[treatment]
set = {{"pilots.deliberation_council" = true}}
share = 0.3
start_day = 60
[overrides]
"population.communities" = 10
"population.households" = 600
"population.people" = 1500
''')
    load_experiment(exp)
    out = tmp_path / "res"
    assert main(["sweep", str(exp), "--out", str(out), "--quiet", "--yes", "--workers", "1",
                 "--backend", "serial"]) == 0
    panel = pd.read_parquet(out / "panel.parquet")
    assert set(panel.replicate) == {0, 1} and panel.month.nunique() == 3
    per_rep = panel.groupby(["replicate", "community"]).treated.first().groupby("replicate")
    assert (per_rep.sum() == 3).all()
    a, b = (g.droplevel(0).to_numpy() for _, g in per_rep)
    assert not (a == b).all()  # each replicate redraws the assignment
    assert (out / "report" / "did" / "report.md").is_file()
    assert "95% CI" in (out / "report" / "did" / "report.md").read_text()
    results = pd.read_csv(out / "results.csv")
    assert "panel" not in results.columns and (results.treated_communities == 3).all()
    # A bad treatment is a one-line error naming the field.
    exp.write_text(exp.read_text().replace("start_day = 60", "start_day = 400"))
    with pytest.raises(Exception) as err:
        load_experiment(exp)
    assert "treatment.day = 400 is out of range" in str(err.value) and "\n" not in str(err.value)
