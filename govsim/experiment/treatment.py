"""Treatment designs: which communities get an intervention, from which day.

An experiment with ``design = "did"`` has a ``[treatment]`` table::

    design = "did"
    [treatment]
    set = {"pilots.deliberation_council" = true}   # what the treated communities get
    share = 0.25                                    # of the communities (or count = 27)
    start_day = 180
    assignment = "stratified"                       # or "random"
    strata = "households"                           # households | migrant_share | relocated_share
    n_strata = 4

Each replicate draws its own assignment from its own seed (a child of the run's seed, so
the model's random stream is untouched): across replicates the design is re-randomised, as
in repeated field experiments. The run becomes a timeline event on ``start_day`` for the
treated communities, and keeps the monthly per-community panel
(:func:`govsim.analysis.did.monthly_panel`) that the difference-in-differences analysis reads.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

STRATA = ("households", "migrant_share", "relocated_share")


class TreatmentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    set: dict[str, Any]
    share: Annotated[float, Field(gt=0.0, lt=1.0)] | None = None
    count: Annotated[int, Field(ge=1)] | None = None
    start_day: Annotated[int, Field(ge=1, le=36_500)]
    assignment: Literal["random", "stratified"] = "random"
    strata: Literal["households", "migrant_share", "relocated_share"] = "households"
    n_strata: Annotated[int, Field(ge=2, le=20)] = 4

    @model_validator(mode="after")
    def _check(self) -> TreatmentSpec:
        from govsim.timeline import per_community_keys, subset_error

        if (self.share is None) == (self.count is None):
            raise ValueError("treatment: give exactly one of share (0 to 1) or count (communities)")
        if not self.set:
            raise ValueError("treatment.set is empty; allowed: " + ", ".join(sorted(per_community_keys()))
                             + ", institutions.<name>, institutions.<name>.<field>")
        for k in self.set:  # any key a timeline event may give to some communities
            why = subset_error(k)
            if why is not None:
                raise ValueError(f"treatment.set: {k!r} cannot be given to some communities only ({why})")
        return self


def assignment_seed(run_seed: int) -> np.random.Generator:
    """The generator of a replicate's treatment draw (independent of the model's stream)."""
    return np.random.default_rng(np.random.SeedSequence(int(run_seed), spawn_key=(8,)))


def assign(t: TreatmentSpec, props: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Boolean mask of treated communities: a simple random draw of ``share`` (or ``count``)
    of them, or the same share drawn within each of ``n_strata`` quantile groups of a
    community property (so treated and control are balanced on it)."""
    C = len(props["households"])
    k = t.count if t.count is not None else int(round(t.share * C))
    k = min(max(k, 1), C - 1)
    treated = np.zeros(C, dtype=bool)
    if t.assignment == "random":
        treated[rng.permutation(C)[:k]] = True
        return treated
    order = np.argsort(props[t.strata], kind="stable")
    groups = np.array_split(order, min(t.n_strata, C))
    # Spread the k treated over the strata in proportion to their sizes (largest remainders).
    quota = np.array([len(g) for g in groups]) * k / C
    n = np.floor(quota).astype(int)
    rest = k - n.sum()
    n[np.argsort(-(quota - n), kind="stable")[:rest]] += 1
    for g, m in zip(groups, n, strict=True):
        treated[rng.permutation(g)[:m]] = True
    return treated


def timeline_event(t: TreatmentSpec, treated: np.ndarray) -> dict[str, Any]:
    return {"day": t.start_day, "communities": [int(c) for c in np.flatnonzero(treated)], "set": dict(t.set)}


__all__ = ["TreatmentSpec", "assign", "assignment_seed", "timeline_event", "STRATA"]
