"""The institution strategy interface.

An institution is one body or rule of the domain brief (an assembly that elects the
committee, a management company under contract, dispatched agencies, a grid...). Each is
a complete strategy: it installs its actors and posts, and acts through hooks the model
calls in a fixed order every day. The model never asks which institutions exist; it calls
every installed one's hooks. A regime is the list of institutions it installs.

Hooks (all optional; the default does nothing)::

    adjust_routing(data)        compile time: rewrite the regime's chains
    configure()                 set policies other institutions read (before any install)
    install()                   build actors, posts, accounts, state
    begin_day(day)              pay, plan, hold sessions (before cases arrive)
    at_meeting(c, attendees, day) -> outcomes   what a residents' meeting delivers
    arrival(new)                newly arrived cases (e.g. eligibility, hotline chances)
    detection(pending) -> [(channel, p)]       daily detection chances it adds
    on_detected(found, day)     first response on site
    capacity(cap, skill)        cases/day and skill of the handler levels it staffs
    on_resolved(idx, day)       after cases are resolved
    end_day(day)                evaluation, elections, contracts, churn
    metrics() -> dict           end-of-run figures it adds to the summary
    co_decides(day) -> bool[C]  whether residents co-decide through it (participation ladder)
    uninstall()                 a timeline event removed it (switching regime mid-run)

Per community: ``on`` is a boolean mask over communities. An institution whose class sets
``per_community = True`` respects it in its hooks (acts only where it is on), so a
scenario timeline can switch it on in k of N communities; the case routing of each
community follows its own set of institutions (:class:`govsim.regimes.Routing`).
Institutions with ``per_community = False`` act in every community (``on`` is all true).
The model keeps every hook that takes cases (``arrival``, ``detection``, ``on_detected``,
``capacity``, ``on_resolved``, ``at_meeting``, ``co_decides``) to the communities where an
institution is on; its own ``begin_day``/``end_day`` act only there, and ``switched()`` is
called when its mask changes (payroll, shared state). Where ``on`` is all true the hooks run
exactly as before (the same arithmetic), so a run that switches nothing is unchanged.

Per-community settings: ``local_settings`` names the fields of its ``Settings`` that may
differ between communities. A timeline event that sets ``institutions.<name>.<field>`` in
some communities stores an array of the field per community on the model
(``model.local_settings``); hooks read ``self.val(field)`` (the scalar setting while no
event has made it differ, else the per-community array) or ``self.at(field, c)``.

Each institution has a pydantic ``Settings`` model; a regime gives defaults
(``RegimeData.settings``), a scenario's ``[institutions.<name>]`` table overrides them.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict


class NoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Institution:
    """Base class of every institution strategy."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    label_zh: ClassVar[str] = ""
    pilot: ClassVar[str | None] = None  # name of the scenario's [pilots] switch, if a pilot
    Settings: ClassVar[type[BaseModel]] = NoSettings
    per_community: ClassVar[bool] = False  # whether its hooks respect the ``on`` mask
    local_settings: ClassVar[frozenset[str]] = frozenset()  # settings that may differ per community

    HOOKS: ClassVar[tuple[str, ...]] = (
        "configure", "install", "begin_day", "at_meeting", "arrival", "detection", "on_detected", "capacity", "on_resolved", "end_day", "co_decides",
    )

    def __init__(self, model, settings: BaseModel | None = None) -> None:
        self.m = model
        self.s = settings if settings is not None else self.Settings()
        self.C = model.structure.n_communities
        self.on = np.ones(self.C, dtype=bool)  # communities where it acts (see per_community)
        self._local = getattr(model, "local_settings", {})

    # ------------------------------------------------------------------ per-community settings
    def val(self, field: str):
        """Setting ``field``: the scalar while it is the same everywhere, else an array per
        community (a timeline event set it in some communities)."""
        a = self._local.get((self.name, field))
        return getattr(self.s, field) if a is None else a

    def at(self, field: str, c: int):
        """Setting ``field`` in community ``c``."""
        a = self._local.get((self.name, field))
        return getattr(self.s, field) if a is None else a[c].item()

    @property
    def everywhere(self) -> bool:
        return bool(self.on.all())

    def refresh(self) -> None:
        """Recompute what follows from ``on`` and the settings (staff, payroll, shared state).
        The default :meth:`switched` and :meth:`settings_changed` both call it."""

    def switched(self, was: np.ndarray) -> None:
        """``on`` changed (it was ``was``): update payroll and shared state."""
        self.refresh()

    def settings_changed(self) -> None:
        """A per-community setting changed (recompute what was derived from settings)."""
        self.refresh()

    # ------------------------------------------------------------------ compile time
    @classmethod
    def adjust_routing(cls, data):
        return data

    # ------------------------------------------------------------------ hooks
    def configure(self) -> None:
        """Before any institution installs: set policies others read (e.g. outsourcing)."""

    def install(self) -> None:
        pass

    def begin_day(self, day: int) -> None:
        pass

    def at_meeting(self, c: int, attendees: np.ndarray, day: int) -> int:
        return 0

    def arrival(self, new: np.ndarray) -> None:
        pass

    def detection(self, pending: np.ndarray) -> list[tuple[int, np.ndarray]]:
        return []

    def on_detected(self, found: np.ndarray, day: int) -> None:
        pass

    def capacity(self, cap: np.ndarray, skill: np.ndarray) -> None:
        pass

    def on_resolved(self, idx: np.ndarray, day: int) -> None:
        pass

    def end_day(self, day: int) -> None:
        pass

    def metrics(self) -> dict[str, float]:
        return {}

    def uninstall(self) -> None:
        """A timeline event removed this institution: undo what it set on shared state (its
        need relief, the staff it put on the government's payroll)."""
        self.m.clear_need_relief(self.name)
        for category in getattr(self, "_payroll", ()):
            self.m.government.extra_staff.pop(category, None)

    def payroll(self, category: str, staff: float, wage_per_day: float) -> None:
        """Put ``staff`` on the government's payroll (replacing this category's earlier figure)."""
        self.__dict__.setdefault("_payroll", set()).add(category)
        self.m.government.add_staff_cost(category, staff, wage_per_day)

    def per_c(self, field: str, idx: np.ndarray):
        """Setting ``field`` for the communities ``idx`` (scalar while it is the same everywhere)."""
        v = self.val(field)
        return v[idx] if np.ndim(v) else v

    def co_decides(self, day: int) -> np.ndarray | None:
        """Per community: whether residents co-decide through this body now (the ladder's
        "partner" rung), or None if it is not a decision body."""
        return None

    # ------------------------------------------------------------------ helpers
    @classmethod
    def overrides(cls, hook: str) -> bool:
        """Whether this institution implements ``hook`` (the model skips the others)."""
        return getattr(cls, hook) is not getattr(Institution, hook)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.s!r})"


def due(day: int, interval, C: int) -> np.ndarray:
    """Communities whose periodic event falls on ``day`` (staggered by community index);
    ``interval`` may be an array per community."""
    if np.ndim(interval):
        iv = np.asarray(interval, dtype=np.int64)
        return np.flatnonzero(((day - np.arange(C)) % np.maximum(iv, 1) == iv - 1) & (iv > 0))
    if interval <= 0:
        return np.empty(0, dtype=np.int64)
    # (day - c) % interval == interval - 1  <=>  c % interval == (day + 1) % interval
    return np.arange((day + 1) % int(interval), C, int(interval))


def window_rate(done: np.ndarray, tried: np.ndarray, prior: float = 0.5, weight: float = 2.0) -> np.ndarray:
    """A success rate with a weak prior (so an empty window reads ``prior``, not 0/0)."""
    return (done + prior * weight) / (tried + weight)


class LevelTally:
    """How the cases one handler level worked ended, per community, since the last review:
    what a board, a government appraiser or a contracting authority sees of a provider."""

    def __init__(self, model, level: int) -> None:
        self.m = model
        self.level = level
        C = model.structure.n_communities
        self.worked = np.zeros(C)
        self.resolved = np.zeros(C)

    def count_resolved(self, idx: np.ndarray) -> None:
        book = self.m.cases
        # (1.0, not 1: a value of the counts' dtype keeps np.add.at on numpy's fast loop)
        np.add.at(self.resolved, book.community[idx[book.resolved_level[idx] == self.level]], 1.0)

    def count_worked_today(self) -> None:
        book = self.m.cases
        w = book.worked_today
        if len(w):
            np.add.at(self.worked, book.community[w[book.level[w] == self.level]], 1.0)

    def rating(self, c: int) -> float:
        return float(window_rate(self.resolved[c], self.worked[c]))

    def reset(self, c: int) -> None:
        self.worked[c] = self.resolved[c] = 0.0
