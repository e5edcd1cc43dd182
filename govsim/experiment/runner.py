"""run_one (the pure unit of work) and run_experiment (the sweep loop with resume)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd

from govsim.experiment.design import RunSpec, expand
from govsim.experiment.executors import make_executor
from govsim.experiment.spec import Experiment
from govsim.experiment.store import ResultStore
from govsim.scenario import apply_overrides, scenario_from_dict

ID_COLUMNS = ("run_id", "regime", "point", "replicate", "seed")


def run_one(spec: RunSpec) -> dict[str, Any]:
    """Build the model inside the worker, run it, return one small row of results."""
    from govsim.model import GovernanceModel

    data = apply_overrides(spec.scenario, spec.param_dict()) if spec.params else dict(spec.scenario)
    data["regime"] = spec.regime
    data["seed"] = spec.seed
    sc = scenario_from_dict(data, where=spec.run_id)
    if spec.treatment is not None:
        model, panel = run_treatment(sc, spec.treatment, spec.seed)
        summary = model.summary()
    else:
        summary = GovernanceModel(scenario=sc, collect=False).run().summary()
        panel = None
    row: dict[str, Any] = {
        "run_id": spec.run_id,
        "regime": spec.regime,
        "point": spec.point,
        "replicate": spec.replicate,
        "seed": spec.seed,
    }
    row.update(spec.param_dict())
    row.update({m: summary[m] for m in spec.metrics})
    if panel is not None:
        row["treated_communities"] = int(panel.groupby("community")["treated"].first().sum())
        row["panel"] = panel.to_json(orient="split", index=False, double_precision=15)
    return row


def run_treatment(sc, treatment: dict, seed: int):
    """One replicate of a treatment design: build the model, draw this replicate's
    assignment from its own seed, add the treatment as a timeline event, run, and return the
    model and its monthly per-community panel."""
    from govsim.analysis.did import monthly_panel
    from govsim.experiment.treatment import TreatmentSpec, assign, assignment_seed, timeline_event
    from govsim.model import GovernanceModel
    from govsim.timeline import community_properties

    t = TreatmentSpec.model_validate(treatment)
    model = GovernanceModel(scenario=sc, collect=True)
    props = community_properties(model.structure)
    treated = assign(t, props, assignment_seed(seed))
    model.add_timeline([timeline_event(t, treated)])
    model.run()
    panel = monthly_panel(model.community_series(), treated, t.start_day, props)
    return model, panel


def run_experiment(
    exp: Experiment,
    out: str | Path,
    *,
    backend: str = "process",
    workers: int | None = None,
    address: str | None = None,
    progress: bool = True,
    restart: bool = False,
    max_runs: int | None = None,
    security: Any = None,
) -> pd.DataFrame:
    """Run every run not yet on disk in ``out`` and return the whole results table.

    Each finished run is written at once; an interrupted sweep (Ctrl-C, kill -9) resumes
    where it stopped and ends with the same table as an uninterrupted one.
    ``max_runs`` stops after that many new runs (for tests and trial runs). Run files that
    fail verification are reported and run again; a second sweep into the same folder is
    refused while this one holds its lock. ``security``: a Dask ``Security`` (TLS) object
    for a remote scheduler.
    """
    specs = expand(exp)
    store = ResultStore(out)
    with store.locked():
        store.open(exp, specs, restart=restart)
        verified = store.verify(specs)
        store.report(verified, "run again")
        done = set(verified.rows)
        todo = [s for s in specs if s.run_id not in done]
        if max_runs is not None:
            todo = todo[:max_runs]
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(specs), initial=len(done), desc=exp.name, unit="run", smoothing=0.05)
        t0 = time.perf_counter()
        if todo:
            with make_executor(backend, workers=workers, address=address, security=security) as ex:
                for row in ex.map_unordered(run_one, todo):
                    store.write(row)
                    if bar is not None:
                        bar.update(1)
        if bar is not None:
            bar.close()
        store.note_elapsed(time.perf_counter() - t0, len(todo), backend, workers)
        return store.collect(specs)
