"""Scenario timelines: change pilots, institution settings, the regime or parameters on a day.

A scenario's ``[[timeline]]`` array lists events::

    [[timeline]]
    day = 180                                   # applied at the start of day 180 (0-based)
    communities = {share = 0.23, seed = 5}      # or "all", a list [0, 4, 7], or a filter
    set = {"pilots.deliberation_council" = true}

``communities`` selects where the event applies:

* ``"all"`` (the default), or a list of community indices;
* a table with any of ``min_households`` / ``max_households``, ``min_migrant_share`` /
  ``max_migrant_share``, ``min_relocated_share`` / ``max_relocated_share`` (tenure), and
  ``share`` (a random share of the communities that pass the filters, drawn with its own
  ``seed``, so the draw does not touch the model's random stream).

``set`` keys:

* ``pilots.<switch>`` (and ``committees.owners_committees``): switch a pilot institution on
  or off in the selected communities; the first time one is switched on it is installed
  that day.
* ``institutions.<name>`` = true/false: switch any institution (a regime's own too, e.g. no
  ``hotline`` in 10 of 45 communities) on or off in the selected communities: their routing
  is recompiled with or without its level, and it acts, pays and staffs only there.
* ``regime``: switch the regime (all communities): the old regime's institutions that the
  new one lacks are uninstalled, the new ones installed, the routing recompiled, and
  government staffing and payroll, committee members' pay and hours follow the new regime
  data (:meth:`GovernanceModel.restaff`).
* ``regime_settings.<field>``, ``institutions.<name>.<field>``, ``<section>.<field>`` for
  ``cases``, ``behaviour``, ``committees``, ``government``, ``ngos`` and the ``[pilots]``
  parameters: new values (all communities); read from that day on wherever the model reads
  them daily. ``population``, ``communities``, ``network``, ``seed`` and ``steps`` fix the
  built world and cannot change mid-run.
* With a selection other than ``"all"``: ``institutions.<name>.<field>`` for the fields the
  institution lists in ``local_settings`` (kept per community in ``model.local_settings``),
  and ``regime_settings.<field>`` for :data:`LOCAL_REGIME`. Every other key is rejected with a
  one-line error naming it (:func:`subset_error`).

**Cases in progress finish on their old route**: a case keeps the routing it was triaged by
(:class:`govsim.regimes.Routing`) until it closes; cases detected from the event's day on
follow the new routing. A level that no longer acts there passes its cases on once its
patience runs out.

Nothing happens before an event's day: a run with an event at day D is bit-identical to the
run without it up to day D (``tests/test_timeline.py``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

Prob = Annotated[float, Field(ge=0.0, le=1.0)]
# Sections whose values fix the built world (population, network): not changeable mid-run.
FIXED = ("population", "communities", "network", "name", "description", "seed", "steps", "timeline")
SECTIONS = ("cases", "behaviour", "committees", "government", "ngos", "pilots", "institutions",
            "regime_settings")


class Selection(BaseModel):
    """Which communities an event applies to (filters, then an optional random share)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    share: Annotated[float, Field(gt=0.0, le=1.0)] | None = None
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    min_households: Annotated[int, Field(ge=0)] | None = None
    max_households: Annotated[int, Field(ge=0)] | None = None
    min_migrant_share: Prob | None = None
    max_migrant_share: Prob | None = None
    min_relocated_share: Prob | None = None
    max_relocated_share: Prob | None = None


class TimelineEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    day: Annotated[int, Field(ge=0, le=36_500)]
    communities: Literal["all"] | tuple[Annotated[int, Field(ge=0)], ...] | Selection = "all"
    set: dict[str, Any]


def pilot_switches() -> dict[str, str]:
    """Timeline keys that switch an institution -> the scenario switch name."""
    from govsim.institutions import PILOT_INSTITUTIONS

    out = {f"pilots.{p}": p for p in PILOT_INSTITUTIONS if p != "owners_committees"}
    out["committees.owners_committees"] = "owners_committees"
    return out


def per_community_keys() -> set[str]:
    from govsim.institutions import INSTITUTIONS, PILOT_INSTITUTIONS

    return {k for k, p in pilot_switches().items() if INSTITUTIONS[PILOT_INSTITUTIONS[p]].per_community}


# Regime settings that may differ between communities (committee attributes, online channel,
# and the escalation delay, which the routing variant of each community carries).
LOCAL_REGIME = ("committee_visit_rate", "online_channel", "member_paid", "member_hours_per_day",
                "escalation_delay_days")
ROUTING_REGIME = ("escalation_delay_days",)


def institution_switch(key: str) -> str | None:
    """``institutions.<name>`` (no field) switches institution ``name``: its name, else None."""
    from govsim.institutions import INSTITUTIONS

    parts = key.split(".")
    return parts[1] if len(parts) == 2 and parts[0] == "institutions" and parts[1] in INSTITUTIONS else None


def pilot_key_of(name: str) -> str | None:
    """The pilot switch key (``pilots.<switch>``) of a pilot institution, else None."""
    from govsim.institutions import PILOT_INSTITUTIONS

    for key, switch in pilot_switches().items():
        if PILOT_INSTITUTIONS[switch] == name:
            return key
    return None


def subset_error(key: str) -> str | None:
    """Why ``key`` cannot target some communities only (None if it can)."""
    from govsim.institutions import INSTITUTIONS

    if key in per_community_keys():
        return None
    parts = key.split(".")
    name = institution_switch(key)
    if name is not None:
        return None if INSTITUTIONS[name].per_community else \
            f"{name} acts area-wide and cannot be switched in some communities only"
    if key in pilot_switches():
        return "this institution acts area-wide and cannot be switched in some communities only"
    if key == "regime":
        return ('the regime is switched for the whole area; to add or remove one institution in some '
                'communities use "institutions.<name>" = true/false')
    if parts[0] == "institutions" and len(parts) == 3 and parts[1] in INSTITUTIONS:
        cls = INSTITUTIONS[parts[1]]
        if cls.per_community and parts[2] in cls.local_settings:
            return None
        ok = sorted(cls.local_settings) if cls.per_community else []
        return (f"per community only: {', '.join(ok)}" if ok else
                f"none of {parts[1]}'s settings can differ between communities")
    if parts[0] == "regime_settings":
        if len(parts) == 2 and parts[1] in LOCAL_REGIME:
            return None
        return "per community only: " + ", ".join(f"regime_settings.{f}" for f in LOCAL_REGIME)
    return "scenario parameters are read area-wide"


def check_event(i: int, ev: TimelineEvent, spec_data: dict[str, Any], steps: int, validate) -> None:
    """One-line errors for event ``i``: day out of range, unknown key, a value invalid for the
    key, a key that cannot target some communities. ``validate(data)`` validates a scenario
    dict and returns an error message or None."""
    from govsim.scenario import apply_overrides

    where = f"timeline[{i}]"
    if ev.day >= steps:
        raise ValueError(f"{where}.day = {ev.day} is out of range; allowed: 0 to {steps - 1} (steps - 1)")
    if not ev.set:
        raise ValueError(f"{where}.set is empty; allowed: one or more keys such as \"pilots.deliberation_council\"")
    subset = ev.communities != "all"
    for key, value in ev.set.items():
        head = key.split(".")[0]
        if head in FIXED or (head not in SECTIONS and key != "regime"):
            allowed = "regime, " + ", ".join(f"{s}.<field>" for s in SECTIONS) + ", institutions.<name>"
            raise ValueError(f"{where}.set: key {key!r} cannot change mid-run; allowed: {allowed}")
        if subset:
            why = subset_error(key)
            if why is not None:
                raise ValueError(f"{where}.set: {key!r} applies to all communities ({why}); "
                                 f"use communities = \"all\"")
        name = institution_switch(key)
        if name is not None:
            if not isinstance(value, bool):
                raise ValueError(f"{where}.set.{key} = {value!r} is invalid; allowed: true (switch "
                                 f"{name} on) or false (off)")
            pk = pilot_key_of(name)
            if pk is None:
                continue
            key = pk  # a pilot institution: validated as its [pilots] switch
        if key == "regime":
            data = {**spec_data, "regime": value}
        else:
            data = apply_overrides(spec_data, {key: value})
        err = validate(data)
        if err is not None:
            raise ValueError(f"{where}.set.{key}: {err}")


def select(ev: TimelineEvent, structure, where: str = "") -> np.ndarray:
    """Boolean mask of the communities event ``ev`` applies to (raises on an empty one)."""
    C = structure.n_communities
    sel = ev.communities
    if sel == "all":
        return np.ones(C, dtype=bool)
    if isinstance(sel, tuple):
        bad = [c for c in sel if c >= C]
        if bad:
            raise ValueError(f"{where}.communities: community {bad[0]} is out of range; allowed: 0 to {C - 1}")
        mask = np.zeros(C, dtype=bool)
        mask[list(sel)] = True
        if not mask.any():
            raise ValueError(f"{where}.communities is empty; allowed: at least one of 0 to {C - 1}")
        return mask
    props = community_properties(structure)
    mask = np.ones(C, dtype=bool)
    for field, col, op in (("min_households", "households", np.greater_equal),
                           ("max_households", "households", np.less_equal),
                           ("min_migrant_share", "migrant_share", np.greater_equal),
                           ("max_migrant_share", "migrant_share", np.less_equal),
                           ("min_relocated_share", "relocated_share", np.greater_equal),
                           ("max_relocated_share", "relocated_share", np.less_equal)):
        v = getattr(sel, field)
        if v is not None:
            mask &= op(props[col], v)
    if sel.share is not None and mask.any():
        cand = np.flatnonzero(mask)
        k = int(round(sel.share * len(cand)))
        pick = np.random.default_rng(sel.seed).permutation(cand)[:k]
        mask = np.zeros(C, dtype=bool)
        mask[pick] = True
    if not mask.any():
        raise ValueError(f"{where}.communities selects no community; allowed: a selection matching at least one "
                         f"of the {C} communities (households {props['households'].min()} to "
                         f"{props['households'].max()})")
    return mask


def community_properties(structure) -> dict[str, np.ndarray]:
    """Per community: households, migrant share and relocated share of households."""
    from govsim.network import MIGRANT, RELOCATED

    C = structure.n_communities
    hh_comm = structure.hh_community
    n = np.maximum(np.bincount(hh_comm, minlength=C), 1)
    return {
        "households": np.asarray(structure.community_households),
        "migrant_share": np.bincount(hh_comm, weights=structure.hh_tenure == MIGRANT, minlength=C) / n,
        "relocated_share": np.bincount(hh_comm, weights=structure.hh_tenure == RELOCATED, minlength=C) / n,
    }


class Timeline:
    """A scenario's events, resolved against the built world and applied by the model."""

    def __init__(self, events, structure) -> None:
        self.events = list(events)
        self.masks = [select(ev, structure, f"timeline[{i}]") for i, ev in enumerate(self.events)]
        self.days = {ev.day for ev in self.events}

    def apply(self, model, day: int) -> None:
        if day not in self.days:
            return
        for ev, mask in zip(self.events, self.masks, strict=True):
            if ev.day == day:
                apply_event(model, ev, mask)


def apply_event(model, ev: TimelineEvent, mask: np.ndarray) -> None:
    """Apply one event to a running model (pilot switches per community, the rest globally)."""
    from govsim.scenario import GovernanceScenario, ScenarioSpec, _tuplify, apply_overrides

    switches = pilot_switches()
    subset = ev.communities != "all"
    toggles, local = [], []
    changes = {}
    for k, v in ev.set.items():
        name = institution_switch(k)
        if name is not None:
            pk = pilot_key_of(name)
            toggles.append((pk, name, v))
        elif k in switches:
            toggles.append((k, None, v))
        elif subset and k != "regime":  # a per-community setting
            local.append((k, v))
        else:
            changes[k] = v
    if changes:
        data = model.scenario.spec.model_dump(exclude_unset=True)
        regime = changes.pop("regime", None)
        if regime is not None:
            data["regime"] = regime
        force = set()
        for k in changes:  # set for all communities: per-community values end
            parts = k.split(".")
            if parts[0] == "institutions" and len(parts) == 3:
                model.local_settings.pop((parts[1], parts[2]), None)
                force.add(("institution", parts[1]))
            elif parts[0] == "regime_settings" and len(parts) == 2:
                force.add(parts[1])
        if changes:
            data = apply_overrides(data, changes)
        old = model.scenario
        model.scenario = GovernanceScenario(ScenarioSpec.model_validate(_tuplify(data)))
        model.scenario_changed(old, frozenset(f for f in force if isinstance(f, str)))
        for inst in model.installed:
            if ("institution", inst.name) in force:
                inst.settings_changed()
    for key, name, value in toggles:
        if key is not None:
            model.switch_institution(switches[key], mask, bool(value))
        else:
            model.switch_regime_institution(name, mask, bool(value))
    model.reroute()
    for k, v in local:
        parts = k.split(".")
        if parts[0] == "institutions":
            model.set_local_setting(parts[1], parts[2], v, mask)
        else:
            model.set_local_regime(parts[1], v, mask)


def routing_key(scenario, switches: dict[str, bool], switched: dict[str, bool] | None = None,
                settings=None) -> tuple:
    settings = scenario.regime_settings if settings is None else settings
    return (scenario.regime, json.dumps(settings.model_dump(mode="json"), sort_keys=True),
            tuple(sorted(k for k, v in switches.items() if v)), tuple(sorted((switched or {}).items())))


__all__ = ["TimelineEvent", "Selection", "Timeline", "check_event", "select", "community_properties"]
