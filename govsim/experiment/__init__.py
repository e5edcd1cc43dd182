"""Experiments: many runs (regimes x parameter points x replicates), on any backend.

The runner knows nothing of governance: it expands an experiment file into
:class:`~govsim.experiment.design.RunSpec` objects, runs the pure function
:func:`~govsim.experiment.runner.run_one` on a backend (serial, local process pool,
Dask, Ray) and writes each finished run at once to a :class:`ResultStore`, so an
interrupted sweep resumes where it stopped.
"""

from govsim.experiment.design import RunSpec, expand, run_seed
from govsim.experiment.runner import run_experiment, run_one
from govsim.experiment.spec import (
    Experiment,
    ExperimentError,
    experiment_from_dict,
    load_experiment,
)
from govsim.experiment.store import ResultStore

__all__ = [
    "Experiment",
    "ExperimentError",
    "load_experiment",
    "experiment_from_dict",
    "RunSpec",
    "expand",
    "run_seed",
    "run_one",
    "run_experiment",
    "ResultStore",
]
