"""Resident state as numpy columns, and the vectorised daily resident step.

Every resident is a row. The :class:`~govsim.agents.resident.Resident` Mesa agent is a
thin view onto its row, created on first access (``model.residents[i]``; ``model.agents``
creates them all), so residents are inspectable Mesa agents while the hot step below is
array code over all of them at once.

The daily resident step (the part the reference implementation in
:mod:`govsim.reference` repeats agent by agent, for testing) is::

    active   = day - last_active < 30                   # participated in the last 30 days
                                                        # (inside a model day this includes what
                                                        # residents already did today: meetings,
                                                        # reports, which run before this step)
    nb_share = W @ active                               # weighted share of active neighbours
                                                        # (an exact integer tally of tie units
                                                        # over the tie strength, in float32;
                                                        # only the ties of residents whose
                                                        # activity changed are added or taken
                                                        # off: Population.neighbour_share)
    weekly:  trust and efficacy fade toward their baselines (memory), belonging integrates
             nb_share, dependency fades (it is raised by being served by government,
             govsim.attitudes, and by top-down programmes), disposition (the static part of the participation
             logit) is recomputed; satisfaction is not relaxed here: it follows experience
             (govsim.attitudes)
    online:  residents with an open online channel take part with
             p = sigmoid(disposition + online_base + social(nb_share)) (float32), drawn by
             thinning (bernoulli_thinned)
    grievance decays

Everything else residents do (report, attend, volunteer, deliberate, vote) is in
:mod:`govsim.volunteers, govsim.meetings, govsim.institutions` and :mod:`govsim.cases` and uses the same disposition and
social terms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import _sparsetools

from govsim.network import (
    ADULT,
    ELDERLY,
    LOCAL,
    MIGRANT,
    RELOCATED,
    YOUTH,
    Structure,
    row_positions,
)

ACTIVE_WINDOW = 30  # days: "participation rate = any activity in the last 30 days"
TIE_BITS = 4  # a packed tie: neighbour << TIE_BITS | weight in tie units (at most TIE_MASK)
TIE_MASK = (1 << TIE_BITS) - 1
NEVER = -10_000

# Initial attitude means by tenure (local, relocated, migrant).
TRUST_GOV0 = np.array([0.62, 0.55, 0.50], dtype=np.float32)
TRUST_COMM0 = np.array([0.58, 0.45, 0.40], dtype=np.float32)
BELONGING0 = np.array([0.62, 0.38, 0.30], dtype=np.float32)
TIME0 = np.array([0.30, 0.35, 0.75], dtype=np.float32)  # by age group: youth, adult, elderly
SOCIAL_INTEGRATION = 0.3  # weight of neighbours' activity in belonging's target


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _sigmoid_inplace(z: np.ndarray) -> np.ndarray:
    """``sigmoid(z)`` in ``z``'s memory (same operations, same values)."""
    np.negative(z, out=z)
    np.exp(z, out=z)
    z += 1.0
    return np.divide(1.0, z, out=z)


def bernoulli_thinned(rng: np.random.Generator, p: np.ndarray, bound: float, batch: int | None = None) -> np.ndarray:
    """Indices i where an independent Bernoulli(``p[i]``) draw succeeds, for ``p <= bound``.

    Drawing one uniform per resident costs a pass over all of them, though only ~0.6% of the
    district takes part online on a day (chances up to ~0.1). Thinning draws the same
    distribution from far fewer numbers: candidates are a Bernoulli(``bound``) subset, found by
    skipping geometric gaps (an exponential over -log(1 - bound), rounded down, plus one), and
    each candidate is kept with chance ``p[i] / bound``: overall exactly ``p[i]``, each
    resident independently. Returns sorted indices. ``batch``: gaps drawn at a time (default:
    enough for all ``len(p)`` almost always)."""
    n = len(p)
    if bound <= 0.0 or n == 0:
        return np.zeros(0, dtype=np.intp)
    if bound >= 1.0:
        return np.flatnonzero(rng.random(n) < p)
    scale = -1.0 / np.log1p(-bound)  # floor(E * scale) + 1 is Geometric(bound) for E ~ Exp(1)
    expect = n * bound
    size = int(expect + 4.0 * np.sqrt(expect) + 16.0) if batch is None else batch
    def gaps() -> np.ndarray:  # a gap past the end is as good as any longer one (and fits intp)
        return np.minimum(rng.standard_exponential(size) * scale, n).astype(np.intp) + 1

    pos = np.cumsum(gaps()) - 1
    while pos[-1] < n - 1:
        pos = np.concatenate([pos, pos[-1] + np.cumsum(gaps())])
    cand = pos[: np.searchsorted(pos, n)]
    return cand[rng.random(len(cand)) * bound < p[cand]]


def update_matvec(W, cols, prev: np.ndarray, x: np.ndarray, y: np.ndarray, mark: np.ndarray,
                  max_share: float) -> np.ndarray | None:
    """Bring ``y == W @ prev`` to ``W @ x``, bit for bit, recomputing only affected rows.

    ``W`` is a CSR matrix and ``cols`` the same matrix as CSC (who each column reaches); the
    rows recomputed are those with a stored entry in a column where ``x != prev``, through
    scipy's own row gather and CSR mat-vec kernels, so every recomputed row is the same sum in
    the same order (and dtype) as in ``W @ x``; the other rows' sums have the same terms as
    before. Above ``max_share`` of the rows it takes the full mat-vec. ``prev`` is updated to
    ``x``; ``mark`` is an all-False bool scratch array of ``W.shape[0]`` (left all False).
    Returns the rows recomputed (sorted; empty if ``x == prev``), or None after a full mat-vec.
    """
    changed = np.flatnonzero(x != prev)
    if len(changed) == 0:
        return changed
    # Index with intp (scipy's indices are int32; numpy converts those element by element).
    hit = cols.indices[row_positions(cols.indptr, changed)].astype(np.intp)
    mark[hit] = True
    rows = np.flatnonzero(mark)
    mark[rows] = False  # fewer, sorted positions than ``hit``
    xv = x if x.dtype == y.dtype else x.astype(y.dtype)
    prev[changed] = x[changed]
    if len(rows) > max_share * len(y):
        y[:] = W @ xv
        return None
    y[rows] = _rows_matvec(W, rows, xv)
    return rows


def _rows_matvec(W, rows: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``(W @ x)[rows]`` for a CSR matrix and sorted unique ``rows``, each row summed as scipy's
    mat-vec sums it (same kernel, same terms in the same order, from a zero start).

    Without copying the rows out: scipy's CSR mat-vec kernel reads row i's entries between
    ``indptr[i]`` and ``indptr[i + 1]`` and stops at once if the end is not past the start. It
    is given the wanted rows in descending order as pseudo-rows ``(start_r, end_r)``, with a
    pseudo-row ``(end_r, start_r')`` between neighbours; for r' < r that range is empty
    (``start_r' <= end_r' <= start_r <= end_r``), so those sums stay 0 and are dropped."""
    k = len(rows)
    out_dtype = np.result_type(W.data.dtype, x.dtype)
    if k == 0:
        return np.zeros(0, dtype=out_dtype)
    ip = W.indptr
    desc = rows[::-1]
    bounds = np.empty(2 * k, dtype=ip.dtype)
    bounds[0::2] = ip[desc]
    bounds[1::2] = ip[desc + 1]
    y = np.zeros(2 * k - 1, dtype=out_dtype)
    _sparsetools.csr_matvec(2 * k - 1, W.shape[1], bounds, W.indices, W.data, x, y)
    return y[0::2][::-1]


@dataclass
class SocialWeights:
    """The participation logit's weights, from the scenario's ``[behaviour]`` table."""

    trust: float
    efficacy: float
    belonging: float
    social: float
    threshold_bonus: float
    time: float
    dependency: float
    party: float
    time_cost: float
    learning_rate: float
    memory_days: float

    @classmethod
    def from_spec(cls, b) -> SocialWeights:
        return cls(
            trust=b.trust_weight,
            efficacy=b.efficacy_weight,
            belonging=b.belonging_weight,
            social=b.social_weight,
            threshold_bonus=b.threshold_bonus,
            time=b.time_weight,
            dependency=b.dependency_weight,
            party=b.party_bonus,
            time_cost=b.time_cost_weight,
            learning_rate=b.learning_rate,
            memory_days=b.attitude_memory_days,
        )


class Population:
    """All residents' state as columns (one row per resident)."""

    FLOAT_COLUMNS = (
        "trust_gov",
        "trust_comm",
        "belonging",
        "efficacy",
        "time_avail",
        "grievance",
        "dependency",
        "satisfaction",
        "threshold",
        "disposition",
        "nb_share",
        "rating_comm",
        "experience",
    )
    COUNTER_COLUMNS = ("reports", "meetings", "volunteer_days", "online", "deliberations", "votes")

    def __init__(self, structure: Structure, weights: SocialWeights, rng: np.random.Generator,
                 dependency0: float):
        self.structure = structure
        self.w = weights
        n = structure.n
        self.n = n
        self.tenure = structure.tenure
        self.age = structure.age
        self.party = structure.party
        self.community = structure.community
        self.eligible = structure.age != YOUTH  # adults and elderly take part
        self.registered = structure.tenure != MIGRANT

        def draw(means: np.ndarray, by: np.ndarray, sd: float = 0.12) -> np.ndarray:
            x = means[by] + rng.normal(0.0, sd, n).astype(np.float32)
            return np.clip(x, 0.0, 1.0).astype(np.float32)

        self.trust_gov = draw(TRUST_GOV0, self.tenure)
        self.trust_gov[self.party] = np.minimum(1.0, self.trust_gov[self.party] + 0.1)
        self.trust_comm = draw(TRUST_COMM0, self.tenure)
        self.belonging = draw(BELONGING0, self.tenure)
        self.efficacy = np.clip(rng.normal(0.5, 0.1, n), 0, 1).astype(np.float32)
        self.time_avail = draw(TIME0, self.age)
        adult_migrant = (self.tenure == MIGRANT) & (self.age == ADULT)
        self.time_avail[adult_migrant] = np.maximum(0.0, self.time_avail[adult_migrant] - 0.1)
        self.threshold = rng.beta(2.0, 5.0, n).astype(np.float32)
        self.grievance = np.zeros(n, dtype=np.float32)
        self.dependency = np.full(n, dependency0, dtype=np.float32)
        self.satisfaction = np.full(n, 0.5, dtype=np.float32)
        # A resident's rating of the community's bodies and of their own cases' outcomes
        # (running averages of what they experienced; 0.5 before anything happened).
        self.rating_comm = np.full(n, 0.5, dtype=np.float32)
        self.experience = np.full(n, 0.5, dtype=np.float32)
        self.voice_day = np.full(n, NEVER, dtype=np.int32)  # last day they took part in a decision
        self.nb_share = np.zeros(n, dtype=np.float32)
        self.disposition = np.zeros(n, dtype=np.float32)
        # Baselines attitudes relax back to when nothing happens.
        self.trust_gov0 = self.trust_gov.copy()
        self.trust_comm0 = self.trust_comm.copy()
        self.belonging0 = self.belonging.copy()

        self.last_active = np.full(n, NEVER, dtype=np.int32)
        self.open_cases = np.zeros(n, dtype=np.int16)
        self.volunteer = np.zeros(n, dtype=bool)
        for name in self.COUNTER_COLUMNS:
            setattr(self, name, np.zeros(n, dtype=np.int32))
        self.hours = 0.0  # residents' time spent on community affairs (cumulative hours)
        self.update_disposition()

    # ------------------------------------------------------------------ propensities
    def update_disposition(self) -> None:
        """Static part of the participation logit (recomputed weekly and after big events)."""
        w = self.w
        f = np.float32  # float32 throughout, as the logit (a new array: the online chances' cache key)
        self.disposition = (
            f(w.trust) * (self.trust_comm - f(0.5))
            + f(w.efficacy) * (self.efficacy - f(0.5))
            + f(w.belonging) * (self.belonging - f(0.5))
            + f(w.time) * (self.time_avail - f(0.5))
            - f(w.dependency) * self.dependency
            + f(w.party) * self.party
        )

    def social_term(self, idx=None, nb: np.ndarray | None = None) -> np.ndarray:
        """Neighbours' pull: ``social * nb_share`` plus the threshold bonus (float32). ``nb``:
        the residents' neighbour shares if the caller has them already."""
        if nb is None:
            nb = self.nb_share if idx is None else self.nb_share[idx]
        thr = self.threshold if idx is None else self.threshold[idx]
        return np.float32(self.w.social) * nb + np.float32(self.w.threshold_bonus) * (nb >= thr)

    def logit(self, idx: np.ndarray, base: float | np.ndarray, hours: float = 0.0,
              nb: np.ndarray | None = None) -> np.ndarray:
        """Participation logit for residents ``idx`` (an index array or slice): disposition,
        social term, the activity's base, minus its time cost (hours weigh more on the busy).
        float32 (the columns', and Python float weights and bases, are float32 under numpy's
        promotion rules); float64 only if ``base`` is a float64 array."""
        z = self.disposition[idx] + self.social_term(idx, nb) + base
        if hours:
            z = z - self.w.time_cost * hours * (1.0 - self.time_avail[idx])
        return z

    def active_mask(self, day: int) -> np.ndarray:
        """``(day - last_active) < ACTIVE_WINDOW``, as one comparison (integers: the same mask)."""
        return self.last_active > day - ACTIVE_WINDOW

    def mark_active(self, idx: np.ndarray, day: int, counter: str | None = None, hours: float = 0.0,
                    unique: bool = True) -> None:
        """Residents ``idx`` took part today. ``unique=False`` when a resident may appear more
        than once in ``idx`` (then each appearance counts)."""
        self.last_active[idx] = day
        if counter is not None:
            if unique:
                getattr(self, counter)[idx] += 1
            else:
                col = getattr(self, counter)
                np.add.at(col, idx, col.dtype.type(1))  # a value of the column's dtype: numpy's fast loop
        self.hours += hours * len(idx)

    # ------------------------------------------------------------------ outcomes
    def learn(self, idx: np.ndarray, column: str, target: float | np.ndarray, rate: float | None = None) -> None:
        """Move ``column`` of residents ``idx`` toward ``target`` (EMA step)."""
        if len(idx) == 0:
            return
        lr = self.w.learning_rate if rate is None else rate
        col = getattr(self, column)
        now = col[idx]  # read once (``col[idx] += ...`` reads the rows again)
        col[idx] = now + (lr * (np.asarray(target, dtype=np.float32) - now)).astype(np.float32)

    # ------------------------------------------------------------------ the daily step
    def weekly(self) -> None:
        """Attitudes fade toward baselines; belonging integrates neighbours; dependency fades."""
        k = np.float32(min(1.0, 7.0 / self.w.memory_days))
        self.trust_gov += k * (self.trust_gov0 - self.trust_gov)
        self.trust_comm += k * (self.trust_comm0 - self.trust_comm)
        target = (1.0 - SOCIAL_INTEGRATION) * self.belonging0 + SOCIAL_INTEGRATION * self.nb_share
        self.belonging += k * (target - self.belonging)
        self.efficacy += k * (np.float32(0.5) - self.efficacy)
        self.dependency -= k * self.dependency
        self.update_disposition()

    # Above this share of residents whose activity changed, one full tally (a sparse integer
    # mat-vec) is cheaper than adding the changed residents' ties (the result is the same).
    INCREMENTAL_MAX_SHARE = 0.2

    def neighbour_share(self, active: np.ndarray) -> np.ndarray:
        """Each resident's weighted share of active neighbours, ``influence @ active``, for
        today's ``active`` mask (float32; a fresh array, so writes do not reach the cache).

        It is kept as an exact integer tally: ``tally = tie_matrix @ active``, the weight of
        active neighbours in whole tie units (:data:`govsim.network.TIE_UNIT`), and the share
        is ``tally / strength``, correctly rounded to float32 (so exactly 1 when every
        neighbour is active, and independent of the order of the ties). Each day only the ties
        of the residents whose activity changed since the last call are added (+1) or taken
        off (-1), which is exact in integers, and only their neighbours' shares are
        recomputed. The changed set is derived from yesterday's mask against today's, so it
        covers every way ``last_active`` changes (today's meetings, reports, online
        participation, expiry after the 30-day window, direct writes). The first call, a new
        network (``structure.tie_matrix`` replaced), or many changes (more than
        ``INCREMENTAL_MAX_SHARE`` of the residents) take the full tally; the network is fixed
        after the build, so a matrix changed in place is not looked for.
        """
        self._update_neighbour_share(active)
        return self._nb.copy()

    def _update_neighbour_share(self, active: np.ndarray) -> np.ndarray | None:
        """Update the caches ``_tally`` and ``_nb`` to today's ``active``; returns the rows whose
        share may have changed (unsorted, a row once per changed neighbour; empty if none;
        None: all of them)."""
        s = self.structure
        T = s.tie_matrix
        if getattr(self, "_nb_T", None) is not T:
            # The cache: the matrix it was computed with, the mask, the tally and the share.
            # Arrays, so copies of a population copy it.
            self._nb_T, self._nb_prev = T, active.copy()
            self._strength = np.maximum(s.strength_units, 1).astype(np.float32)  # 0 / 1 for the isolated
            self._tally = T @ active.astype(np.int32)
            self._nb = self._tally.astype(np.float32) / self._strength
            return None
        prev = self._nb_prev
        changed = np.flatnonzero(active != prev)
        if len(changed) == 0:
            return changed
        prev[changed] = active[changed]
        if len(changed) > self.INCREMENTAL_MAX_SHARE * self.n:
            self._tally = T @ active.astype(np.int32)
            np.divide(self._tally.astype(np.float32), self._strength, out=self._nb)
            return None
        # The network is symmetric, so row j of the tie matrix lists who resident j influences:
        # one gather of the packed (neighbour, units) pairs of the changed residents' rows.
        ip = T.indptr
        ties = self._packed_ties()[row_positions(ip, changed)]
        hit = (ties >> TIE_BITS).astype(np.intp)  # intp: numpy converts int32 indices one by one
        units = ties & TIE_MASK
        sign = np.where(active[changed], np.int32(1), np.int32(-1))  # +on, -off
        units *= np.repeat(sign, ip[changed + 1] - ip[changed])
        np.add.at(self._tally, hit, units)
        # A neighbour of several changed residents appears several times in ``hit``: its share
        # is written more than once, with the same value (cheaper than finding the unique rows).
        # The shares are kept with ``hit`` for the online chances, which need the same rows.
        self._nb_hit = (hit, self._tally[hit].astype(np.float32) / self._strength[hit])
        self._nb[hit] = self._nb_hit[1]
        return hit

    def _packed_ties(self) -> np.ndarray:
        """The tie matrix's (column, units) pairs as one int32 each, ``column << TIE_BITS | units``
        (built once per matrix): one gather instead of two in the daily update."""
        T = self.structure.tie_matrix
        if getattr(self, "_packed_of", None) is not T:
            if T.shape[1] >= 1 << (31 - TIE_BITS) or (len(T.data) and T.data.max() > TIE_MASK):
                raise ValueError(f"network too large to pack ({T.shape[1]:,} residents, ties up to "
                                 f"{T.data.max()} units; at most {(1 << (31 - TIE_BITS)) - 1:,} and {TIE_MASK})")
            self._packed_of, self._packed = T, (T.indices.astype(np.int32) << TIE_BITS) | T.data
        return self._packed

    def influence_columns(self):
        """``structure.influence`` as CSC (who each resident influences), computed once."""
        W = self.structure.influence
        if getattr(self, "_cols_of", None) is not W:
            self._cols_of, self._cols = W, W.tocsc()
        return self._cols

    def _online_can(self, online_open: np.ndarray) -> np.ndarray:
        """Eligible residents whose community's online channel is open (cached per channel set)."""
        key = np.asarray(online_open, dtype=bool)
        cached = getattr(self, "_can_key", None)
        if (cached is None or cached.shape != key.shape or not np.array_equal(cached, key)
                or self._can_of is not self.eligible):
            self._can_key, self._can_of = key.copy(), self.eligible
            self._can = self.eligible & key[self.community]
        return self._can

    def _online_p(self, rows: np.ndarray | None, can: np.ndarray, online_base: float) -> np.ndarray:
        """Each resident's chance of taking part online today, ``sigmoid(logit(., online_base))``
        (float32, as :meth:`logit` computes it), and 0 for residents who cannot (``can``).

        It depends on a resident's own neighbour share, threshold and disposition only, so it is
        cached (with ``_p_bound``, an upper bound of all chances) and recomputed for ``rows``
        (the residents whose neighbour share was recomputed today; None: everyone), and for
        everyone when the disposition (a new array each week), the threshold, the weights,
        ``online_base`` or the open channels change.
        """
        key = (self.disposition, self.threshold, can, self.w.social, self.w.threshold_bonus, float(online_base))
        old = getattr(self, "_p_key", None)
        if (old is None or len(self._p) != self.n
                or any(a is not b for a, b in zip(key[:3], old[:3], strict=True)) or key[3:] != old[3:]):
            self._p_key, self._p = key, np.empty(self.n, np.float32)
            rows = None
        if rows is None:
            rows = slice(None)
            self._p_bound = 0.0
        elif len(rows) == 0:
            return self._p
        hit = getattr(self, "_nb_hit", None)
        nb = hit[1] if hit is not None and rows is hit[0] else self._nb[rows]  # the cache's shares
        z = self.logit(rows, online_base, nb=nb)
        p = _sigmoid_inplace(z)
        p *= can[rows]
        self._p[rows] = p
        # An upper bound of every chance for the thinned draw: the largest since the last full
        # recomputation (at least weekly, with the disposition), so it never falls below one.
        if len(p):
            self._p_bound = max(self._p_bound, float(p.max()))
        return self._p

    def step(self, day: int, rng: np.random.Generator, *,
             online_open: np.ndarray, online_base: float, online_hours: float = 0.5,
             grievance_decay: float = 0.02) -> int:
        """One day of the resident step for everyone. Returns online participants today."""
        rows = self._update_neighbour_share(self.active_mask(day))
        self.nb_share = self._nb.copy()
        if day % 7 == 0:
            self.weekly()
        n_online = 0
        if not online_open.any():
            self._p_key = None  # the chances are not kept up to date while no channel is open
        else:
            p = self._online_p(rows, self._online_can(online_open), online_base)
            idx = bernoulli_thinned(rng, p, self._p_bound)
            self.mark_active(idx, day, "online", online_hours)
            n_online = len(idx)
        self.grievance *= np.float32(1.0 - grievance_decay)
        return n_online

    # ------------------------------------------------------------------ views
    def community_mean(self, column: str) -> np.ndarray:
        s = self.structure
        return np.bincount(self.community, weights=getattr(self, column), minlength=s.n_communities) / np.maximum(
            s.community_size, 1
        )

    def active_eligible(self, day: int) -> np.ndarray:
        """Eligible residents active in the last 30 days (a fresh mask)."""
        act = self.active_mask(day)
        act &= self.eligible
        return act

    def participation_rate(self, day: int, community: np.ndarray | None = None, *,
                           active: np.ndarray | None = None) -> float:
        """``active``: today's :meth:`active_eligible` mask, if the caller has it already."""
        act = self.active_eligible(day) if active is None else active
        if community is None:
            if getattr(self, "_n_eligible_of", None) is not self.eligible:
                self._n_eligible_of, self._n_eligible = self.eligible, int(np.count_nonzero(self.eligible))
            return float(np.int64(np.count_nonzero(act)) / np.int64(max(self._n_eligible, 1)))
        return float(act[community].sum() / max(self.eligible[community].sum(), 1))


TENURE_NAMES = {LOCAL: "local", RELOCATED: "relocated", MIGRANT: "migrant"}
AGE_NAMES = {YOUTH: "youth", ADULT: "adult", ELDERLY: "elderly"}
