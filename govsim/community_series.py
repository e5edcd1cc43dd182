"""The daily per-community series (``communities_series.parquet``).

One row per community and day. Flows are the day's counts (sum them over a month); states
are the community's value at the end of the day:

* ``cases_arisen``, ``cases_resolved``        cases arising / resolved that day
* ``resolution_days``                         summed days to resolution of the cases resolved
* ``handler_hours``                           hours handlers spent working the community's cases
                                              (the cost of handling, at HOURS_PER_CASE)
* ``incidents``                               collective incidents reported that day
* ``participation_rate``                      share of adults and elderly active in 30 days
* ``mean_satisfaction``, ``mean_trust_gov``, ``mean_trust_comm``
* ``local_migrant_satisfaction_gap``          locals' minus migrants' mean satisfaction
* ``on_<switch>``                             whether a pilot (or an institution) switched by a
                                              timeline is on there

Residents are stored by community (``structure.community_start``), so the resident-level
means are one ``np.add.reduceat`` over a stacked array per day; case flows are bincounts over
the day's few cases. The cost stays within the district benchmark's 10% budget.
"""

from __future__ import annotations

import numpy as np

from govsim.network import LOCAL, MIGRANT, RELOCATED
from govsim.regimes import HOURS_PER_CASE

FLOWS = ("cases_arisen", "cases_resolved", "resolution_days", "handler_hours", "incidents")
STATES = ("participation_rate", "mean_satisfaction", "mean_trust_gov", "mean_trust_comm",
          "local_migrant_satisfaction_gap")
COLUMNS = FLOWS + STATES


class CommunitySeries:
    def __init__(self, model, steps: int) -> None:
        s = model.structure
        self.C = C = s.n_communities
        self.data = np.zeros((max(steps, 1), C, len(COLUMNS)), dtype=np.float64)
        self.today = np.zeros((C, len(FLOWS)))
        self.days = 0
        pop = model.population
        self.starts = s.community_start
        self.stretches = model.stretches
        self.size = np.maximum(s.community_size, 1).astype(float)
        self.has = s.community_size > 0
        self.eligible = np.maximum(np.bincount(s.community[pop.eligible], minlength=C), 1).astype(float)
        # Residents are stored by community: a group's members, in order, and where each
        # community's stretch of them starts.
        self.groups = []
        for t in (MIGRANT, RELOCATED):
            idx = np.flatnonzero(s.tenure == t)
            counts = np.bincount(s.community[idx], minlength=C)
            self.groups.append((idx, np.searchsorted(idx, s.community_start), counts))
        self.n_local = np.bincount(s.community[s.tenure == LOCAL], minlength=C)
        self.flags: dict[str, list] = {}
        self.track(model.scenario.timeline)

    def track(self, events) -> None:
        """Pilots and institutions a timeline switches: keep their per-community on/off
        state, day by day."""
        from govsim.institutions import PILOT_INSTITUTIONS
        from govsim.timeline import institution_switch, pilot_switches

        keys = pilot_switches()
        pilot_of = {name: switch for switch, name in PILOT_INSTITUTIONS.items()}
        for ev in events:
            for k in ev.set:
                if k in keys:
                    self.flags.setdefault(keys[k], [])
                elif institution_switch(k) is not None:
                    name = institution_switch(k)
                    self.flags.setdefault(pilot_of.get(name, name), [])

    # ---------------------------------------------------------------- flows, as they happen
    def arrived(self, community: np.ndarray) -> None:
        self.today[:, 0] += np.bincount(community, minlength=self.C)

    def resolved(self, community: np.ndarray, days: np.ndarray) -> None:
        self.today[:, 1] += np.bincount(community, minlength=self.C)
        self.today[:, 2] += np.bincount(community, weights=days, minlength=self.C)

    def worked(self, community: np.ndarray, level: np.ndarray) -> None:
        self.today[:, 3] += np.bincount(community, weights=HOURS_PER_CASE[level], minlength=self.C)

    def incident(self, community: int) -> None:
        self.today[community, 4] += 1

    # ---------------------------------------------------------------- end of day
    def collect(self, model, day: int, active: np.ndarray | None = None) -> None:
        """End of day ``day``; ``active``: the population's ``active_eligible(day)`` mask if the
        caller has it."""
        if self.days >= len(self.data):
            self.data = np.concatenate([self.data, np.zeros_like(self.data)])
        pop = model.population
        row = self.data[self.days]
        for switch, days in self.flags.items():
            days.append(model.switch_on[switch].copy() if switch in model.switch_on else model.acting(switch))
        row[:, : len(FLOWS)] = self.today
        self.today[:] = 0.0
        k = len(FLOWS)
        act = pop.active_eligible(day) if active is None else active
        row[:, k] = self._count(act) / self.eligible
        sat = self._sum(pop.satisfaction, self.starts, self.has)
        row[:, k + 1] = sat / self.size
        row[:, k + 2] = self._sum(pop.trust_gov, self.starts, self.has) / self.size
        row[:, k + 3] = self._sum(pop.trust_comm, self.starts, self.has) / self.size
        (mi, ms, mc), (ri, rs, rc) = self.groups
        mig = self._sum(pop.satisfaction[mi], ms, mc > 0)
        local = sat - mig - self._sum(pop.satisfaction[ri], rs, rc > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            row[:, k + 4] = local / self.n_local - mig / mc
        self.days += 1

    def _count(self, mask: np.ndarray) -> np.ndarray:
        """Per community: how many of its residents ``mask`` holds."""
        return self.stretches.counts(mask)

    def _sum(self, values: np.ndarray, starts: np.ndarray, has: np.ndarray) -> np.ndarray:
        """Per community: the sum of ``values`` over its stretch (0 where it has none)."""
        out = np.zeros(self.C)
        if has.any():
            out[has] = np.add.reduceat(values, starts[has])
        return out

    def frame(self, model):
        """A long DataFrame: day, community, the columns above, and ``on_<switch>`` flags."""
        import pandas as pd

        n, C = self.days, self.C
        out = pd.DataFrame(self.data[:n].reshape(n * C, len(COLUMNS)), columns=list(COLUMNS))
        out.insert(0, "community", np.tile(np.arange(C, dtype=np.int32), n))
        out.insert(0, "day", np.repeat(np.arange(n, dtype=np.int32), C))
        for name in ("cases_arisen", "cases_resolved", "incidents"):
            out[name] = out[name].astype(np.int64)
        for switch, days in sorted(self.flags.items()):
            out[f"on_{switch}"] = np.concatenate(days[:n]) if days else False
        return out
