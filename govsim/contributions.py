"""Residents as contributors: the public-goods decision behind dues, fees and donations.

Each household decides, when its body asks (quarterly dues, yearly membership), whether to
pay. The benefit (a cleaner estate, a patrolled street, a staffed association) goes to
everyone, so each household has a reason to free-ride. The decision is a logit with the
terms the public-goods literature and the brief name, the same constants under every regime:

* disposition of the household's adult (trust in the community, efficacy, belonging, time);
* **reciprocity**: the share of the building's households that paid last time;
* **monitoring**: smaller groups see who pays (a term falling with the group's size);
* **identity**: belonging to the community;
* **price against means**: the fee as a share of what the household can spend (low-income
  households feel it three times as much), so poorer communities raise less.
"""

from __future__ import annotations

import numpy as np

from govsim.population import sigmoid

CONTRIBUTE_BASE = 0.3  # logit of paying for an average household before the terms below
RECIPROCITY = 2.0  # weight of the building's share that paid last round (minus a half)
MONITORING = 1.0  # weight of sqrt(10 / households in the group): small groups watch each other
IDENTITY = 1.5  # weight of belonging (minus a half)
PRICE = 0.04  # logit per yuan/month of fee for an ordinary household
LOW_INCOME_BURDEN = 3.0  # the same fee weighs this much more on a low-income household
TIME_BASE = 1.5  # giving a day's hours is harder than paying a small fee


class Contributions:
    """Who pays a recurring fee, household by household (array code)."""

    def __init__(self, model, fee_per_month: float) -> None:
        self.m = model
        s = model.structure
        self.fee = float(fee_per_month)
        # A household's decision-maker: its first adult (or first member).
        self.head = s.household_first
        self.hh_building = s.building[self.head]
        self.hh_low_income = s.low_income[self.head].astype(bool)
        self.hh_community = s.hh_community.astype(np.int64)
        self.paying = np.zeros(s.n_households, dtype=bool)
        size = np.bincount(self.hh_building, minlength=s.n_buildings)
        self.monitoring = MONITORING * np.sqrt(10.0 / np.maximum(size, 1))[self.hh_building]
        self.building_share = np.full(s.n_buildings, 0.5)
        self.rounds = 0

    def decide(self, rng: np.random.Generator, communities: np.ndarray | None = None) -> np.ndarray:
        """One round of decisions (in ``communities``, default all); returns who pays now."""
        pop = self.m.population
        h = self.head
        burden = self.fee * np.where(self.hh_low_income, LOW_INCOME_BURDEN, 1.0)
        z = (CONTRIBUTE_BASE + pop.disposition[h] + pop.social_term(h)
             + RECIPROCITY * (self.building_share[self.hh_building] - 0.5)
             + self.monitoring + IDENTITY * (pop.belonging[h] - 0.5) - PRICE * burden)
        pay = rng.random(len(h)) < sigmoid(z)
        if communities is None:
            self.paying = pay
        else:
            sel = np.isin(self.hh_community, communities)
            self.paying = np.where(sel, pay, self.paying)
        n_b = np.bincount(self.hh_building, minlength=len(self.building_share))
        paid_b = np.bincount(self.hh_building, weights=self.paying, minlength=len(self.building_share))
        self.building_share = np.where(n_b > 0, paid_b / np.maximum(n_b, 1), 0.5)
        self.rounds += 1
        return self.paying

    def volunteer_time(self, rng: np.random.Generator, hours: float, communities: np.ndarray) -> np.ndarray:
        """A call for a few hours of work (a clean-up day): the same public-goods decision,
        with the time (weighed by how little free time one has) as the price. Returns the
        residents (household heads) who come."""
        pop = self.m.population
        sel = np.flatnonzero(np.isin(self.hh_community, communities))
        h = self.head[sel]
        z = (CONTRIBUTE_BASE + pop.disposition[h] + pop.social_term(h)
             + RECIPROCITY * (self.building_share[self.hh_building[sel]] - 0.5)
             + self.monitoring[sel] + IDENTITY * (pop.belonging[h] - 0.5)
             - pop.w.time_cost * hours * (1.0 - pop.time_avail[h]) - TIME_BASE)
        return h[rng.random(len(h)) < sigmoid(z)]

    def revenue(self, months: float = 1.0) -> np.ndarray:
        """Fees collected per community for ``months`` months."""
        return np.bincount(self.hh_community, weights=self.paying, minlength=self.m.structure.n_communities) \
            * self.fee * months

    def share(self) -> np.ndarray:
        """Share of households paying, per community."""
        C = self.m.structure.n_communities
        return np.bincount(self.hh_community, weights=self.paying, minlength=C) / np.maximum(
            np.bincount(self.hh_community, minlength=C), 1)

    def resident_pays(self) -> np.ndarray:
        """Per resident: whether their household pays."""
        return self.paying[self.m.structure.household]
