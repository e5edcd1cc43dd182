"""Attitudes that follow experience: satisfaction, trust, efficacy, dependency, ratings.

What a resident lives through moves their attitudes (the same rules in every regime):

* **their own case**: resolved (sooner is better) raises efficacy, satisfaction and trust
  in whoever resolved it; a case escalated away from a level lowers trust in that level; a
  case abandoned or lapsed lowers efficacy and satisfaction. Being served by government
  raises dependency on it, being served by the community lowers it. Each outcome also
  enters the resident's ``experience`` (own outcomes) and, where a community body handled
  it, their ``rating_comm`` of the community's bodies (what elections read);
* **fairness**: weekly, satisfaction moves toward a target that falls as one's own
  experience falls short of one's neighbours' (relative deprivation);
* **voice**: having taken part in a decision in the last 90 days (a vote, an assembly or
  council session, a meeting that decided something);
* **service quality**: the share of the community's recent cases that were resolved.

Satisfaction has no fixed baseline to relax to: its target is built from these four.
"""

from __future__ import annotations

import numpy as np

from govsim.cases import DISPUTE
from govsim.population import update_matvec
from govsim.regimes import IS_GOVERNMENT, OUTSIDE

VOICE_WINDOW = 90
SATISFACTION_RATE = 7.0 / 60.0  # weekly step toward the target (about two months' memory)
# Target = FLOOR + weights x (service, voice, own experience) + FAIRNESS x (own - neighbours').
FLOOR = 0.1
W_SERVICE, W_VOICE, W_EXPERIENCE, FAIRNESS = 0.4, 0.2, 0.3, 0.3
RATING_RATE = 0.2
SERVICE_MEMORY = 0.85  # weekly persistence of a community's service-quality estimate


class Attitudes:
    def __init__(self, model) -> None:
        self.m = model
        C = model.structure.n_communities
        self.service = np.full(C, 0.5)
        self.community_satisfaction = np.full(C, 0.5)  # weekly means (appraisals read them)
        self._arisen = np.zeros(C)
        self._resolved = np.zeros(C)

    # ------------------------------------------------------------------ case outcomes
    def resolved(self, idx: np.ndarray, day: int) -> None:
        m = self.m
        book, pop = m.cases, m.population
        r = book.resident[idx]
        speed = np.exp(-(day - book.arisen[idx]) / 30.0).astype(np.float32)
        good = 0.5 + 0.5 * speed
        pop.learn(r, "efficacy", good)
        pop.learn(r, "satisfaction", speed)
        pop.learn(r, "experience", good, RATING_RATE)
        lv = book.resolved_level[idx]
        by_gov = IS_GOVERNMENT[lv]  # resolved cases have a level (>= 0): the same as np.isin
        r_gov, r_comm = r[by_gov], r[~by_gov]
        pop.learn(r_gov, "trust_gov", 1.0)
        pop.learn(r_comm, "trust_comm", 1.0)
        pop.learn(r[~OUTSIDE[lv]], "rating_comm", 1.0, RATING_RATE)
        pop.learn(r_gov, "dependency", 1.0, pop.w.learning_rate * 0.5)
        pop.learn(r_comm, "dependency", 0.0, pop.w.learning_rate * 0.5)
        pop.grievance[r] *= np.float32(0.5)
        disp = book.kind[idx] == DISPUTE
        other = book.other[idx][disp]
        ok = other >= 0
        pop.grievance[other[ok]] *= np.float32(0.5)
        pop.learn(other[ok], "trust_comm", 1.0, pop.w.learning_rate * 0.5)
        np.add.at(self._resolved, book.community[idx], 1.0)  # a float: numpy's fast loop

    def escalated(self, idx: np.ndarray, failed_level: np.ndarray) -> None:
        """Cases passed up the chain: their residents trust the level that failed a bit less."""
        m = self.m
        pop = m.population
        r = m.cases.resident[idx]
        by_gov = IS_GOVERNMENT[failed_level]  # levels of a chain (>= 0): the same as np.isin
        pop.learn(r[~by_gov], "trust_comm", 0.0, pop.w.learning_rate * 0.3)
        pop.learn(r[by_gov], "trust_gov", 0.0, pop.w.learning_rate * 0.3)
        pop.learn(r[~OUTSIDE[failed_level]], "rating_comm", 0.0, RATING_RATE * 0.5)

    def closed_unresolved(self, idx: np.ndarray) -> None:
        m = self.m
        book, pop = m.cases, m.population
        r = book.resident[idx]
        pop.learn(r, "efficacy", 0.0, pop.w.learning_rate * 0.5)
        pop.learn(r, "satisfaction", 0.0)
        pop.learn(r, "experience", 0.0, RATING_RATE)
        lv = book.level[idx]
        at_comm = (lv >= 0) & ~OUTSIDE[np.maximum(lv, 0)]
        pop.learn(r[at_comm], "rating_comm", 0.0, RATING_RATE)

    def arrived(self, idx: np.ndarray) -> None:
        np.add.at(self._arisen, self.m.cases.community[idx], 1.0)

    # ------------------------------------------------------------------ weekly
    def _neighbours_experience(self, pop) -> np.ndarray:
        """``influence @ experience`` (float32), recomputing only the rows with a neighbour
        whose experience changed since last week: the same values bit for bit
        (:func:`govsim.population.update_matvec`). Read-only result."""
        W = self.m.structure.influence
        x = pop.experience
        cache = getattr(self, "_exp_cache", None)
        if cache is None or cache[0] is not W or cache[1].shape != x.shape:
            y = W @ x
            self._exp_cache = (W, x.copy(), y, np.zeros(len(x), dtype=bool))
            return y
        _, prev, y, mark = cache
        update_matvec(W, pop.influence_columns(), prev, x, y, mark, pop.INCREMENTAL_MAX_SHARE)
        return y

    def weekly(self, day: int) -> None:
        """Satisfaction moves toward what the resident experiences (after the resident step).

        target = FLOOR + W_SERVICE x service[community] + W_VOICE x voice + W_EXPERIENCE x
        experience + FAIRNESS x (experience - neighbours' experience), summed left to right
        in float64 (the service part per community, then spread over its residents, who are
        stored by community; the other terms float32 products), clipped, then float32."""
        m = self.m
        pop = m.population
        rate = (self._resolved + 1.0) / (self._arisen + 1.0)
        self.service = SERVICE_MEMORY * self.service + (1 - SERVICE_MEMORY) * np.minimum(rate, 1.0)
        self._arisen[:] = 0.0
        self._resolved[:] = 0.0
        nb_exp = self._neighbours_experience(pop)
        exp = pop.experience
        target = np.repeat(FLOOR + W_SERVICE * self.service, m.structure.community_size)
        # W_VOICE x voice is float32 W_VOICE where the resident had a voice, else 0 (which adds nothing).
        voice = pop.voice_day > day - VOICE_WINDOW  # day - voice_day < VOICE_WINDOW (integers)
        target += voice * np.float64(np.float32(W_VOICE))
        term = np.multiply(exp, np.float32(W_EXPERIENCE))
        target += term
        np.subtract(exp, nb_exp, out=term)
        term *= np.float32(FAIRNESS)
        target += term
        np.clip(target, 0.0, 1.0, out=target)
        step = target.astype(np.float32)
        sat = pop.satisfaction
        step -= sat
        step *= np.float32(SATISFACTION_RATE)
        sat += step
        self.community_satisfaction = m.stretches.sums(sat, pop.community) / np.maximum(
            m.structure.community_size, 1)
