"""Cases: needs and neighbour disputes, from arrival to resolution or collective incident.

Life of a case (each stage is array code over the case table)::

    arrive   needs and disputes arise per resident at the scenario's rates
    detect   self-report, committee visit, building head, grid screening, online channel,
             government hotline (daily chances; the channel credited is drawn by weight)
    triage   its class (general / coordination / emergency / approval) picks the regime's
             escalation chain; the case enters at the chain's first level (a hotline call
             enters at the chain's first street/district level)
    handle   each handler works its ready queue up to its capacity (emergencies first, then
             oldest); p = fit[level, class] * skill * load factor * festering before detection
    close    undetected cases may lapse, open ones be abandoned (residents give up waiting)
    escalate after too many failed attempts or too long a wait, the case moves up the chain
             (approval cases are forwarded by levels that cannot approve)
    incident unresolved grievance past a threshold in a connected cluster of residents
             becomes a collective incident (an emergency case at the district)

Every case keeps its path (levels visited, in order), detection channel and days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from govsim.network import row_positions
from govsim.regimes import (
    APPROVAL,
    CLASSES,
    COMMITTEE,
    COMMUNITY_LEVELS,
    DISTRICT,
    EMERGENCY,
    GRID,
    HOURS_PER_CASE,
    LEVELS,
    MAX_ATTEMPTS,
    OUTSIDE,
    PATIENCE_DAYS,
    PRIORITY,
    STREET,
    Institutions,
    Routing,
)

UNDETECTED, OPEN, RESOLVED, LAPSED, ABANDONED = range(5)
STATUSES = ("undetected", "open", "resolved", "lapsed", "abandoned")
NEED, DISPUTE = 0, 1
KINDS = ("need", "dispute")
CHANNELS = ("self_report", "committee", "building_head", "grid", "online", "hotline", "inspection", "patrol",
            "drilled", "owners", "incident")
(SELF_REPORT, COMMITTEE_VISIT, BUILDING_HEAD, GRID_SCREENING, ONLINE, HOTLINE, INSPECTION, PATROL, DRILLED,
 OWNERS, INCIDENT) = range(len(CHANNELS))
RESIDENT_CHANNELS = (SELF_REPORT, ONLINE, HOTLINE)  # the resident reported it
IS_RESIDENT_CHANNEL = np.zeros(len(CHANNELS), dtype=bool)  # by channel id: the same as np.isin
IS_RESIDENT_CHANNEL[list(RESIDENT_CHANNELS)] = True
N_DETECTION_CHANNELS = INCIDENT  # every channel but incidents is a daily detection chance
CATEGORIES = ("sanitation", "security", "parking", "elderly_care", "repairs", "neighbour")
N_NEED_CATEGORIES = 5
SANITATION, SECURITY, PARKING, ELDERLY_CARE, REPAIRS = range(N_NEED_CATEGORIES)
PROPERTY_CATEGORIES = (2, 4)  # parking and repairs: property-management matters
NEED_CATEGORY_P = np.array([0.2, 0.15, 0.2, 0.15, 0.3])
# A case's triage class follows from its kind (grid-management texts): rows are the need
# categories and neighbour disputes; columns general, coordination, emergency, approval.
# The scenario's class shares reweight the columns (see ``class_probabilities``).
KIND_CLASS_P = np.array([
    [0.85, 0.10, 0.03, 0.02],  # sanitation: routine, handled on site
    [0.45, 0.20, 0.25, 0.10],  # security: the emergencies come from here
    [0.40, 0.50, 0.00, 0.10],  # parking: coordination between neighbours and the estate
    [0.70, 0.25, 0.05, 0.00],  # elderly care
    [0.55, 0.10, 0.02, 0.33],  # repairs: renovation needs approval
    [0.30, 0.60, 0.05, 0.05],  # neighbour disputes: mostly coordination
])
BASE_CLASS_SHARES = NEED_CATEGORY_P @ KIND_CLASS_P[:5]
_NEED_CATEGORY_CDF = NEED_CATEGORY_P.cumsum()
_NEED_CATEGORY_CDF /= _NEED_CATEGORY_CDF[-1]  # normalised as Generator.choice normalises p
_DISPUTE_CLASS_CDF = np.cumsum(KIND_CLASS_P[5])[:-1]  # (see CaseBook.arrive)


def class_probabilities(shares: np.ndarray) -> np.ndarray:
    """Class distribution per need category, reweighted so the need classes' overall mix is
    the scenario's ``shares`` (general, coordination, emergency, approval)."""
    w = np.asarray(shares, dtype=float) / BASE_CLASS_SHARES
    p = KIND_CLASS_P[:5] * w
    return p / p.sum(axis=1, keepdims=True)
OVERLOAD_PENALTY = 0.3  # largest quality loss of an overloaded handler (queue >= 3x capacity)
FORWARD_LOAD = 3.0  # a handler with a queue this many times its daily capacity passes cases on
# Handling order within a handler's queue packed into one int64 (see CaseBook.handle):
# urgency (higher PRIORITY first), then the day the case arose (>= 0, below 2**32).
_URGENCY = PRIORITY.max() - PRIORITY
_URGENCY_BITS = int(PRIORITY.max()).bit_length()

_FIELDS = {
    "resident": np.int32,
    "other": np.int32,
    "community": np.int32,
    "grid": np.int32,
    "building": np.int32,
    "kind": np.int8,
    "category": np.int8,
    "cls": np.int8,
    "severity": np.float32,
    "p_self": np.float32,
    "p_online": np.float32,
    "p_hotline": np.float32,
    "arisen": np.int32,
    "detected": np.int32,
    "channel": np.int8,
    "status": np.int8,
    "level": np.int8,
    "chain_pos": np.int8,
    "level_since": np.int32,
    "attempts": np.int16,
    "escalations": np.int8,
    "left_community": np.bool_,
    "path": np.int64,
    "hops": np.int8,
    "hours": np.float32,
    "closed": np.int32,
    "resolved_level": np.int8,
    "first_worked": np.int32,  # day of the first handling action (on-site response included)
    "onsite": np.bool_,  # an officer follows the case on site (grid emergencies)
    "registered": np.bool_,  # the resident's registration status (access at the point of service)
    "member": np.bool_,
    "variant": np.int16,  # routing variant the case was triaged by (regimes.Routing)  # the resident's household pays the body that serves members first
    "handler": np.int32,  # handler instance (HandlerIndex.key) of the level it sits at
    # Derived at triage and on entering a level, so the daily handling reads one column
    # instead of a two-dimensional lookup per open case:
    "chain_end": np.int8,  # chain length of its variant and class (routing.chain_len[variant, cls])
    "ready_day": np.int32,  # first day it is worked at its level: level_since + min_days (emergencies: at once)
}


class HandlerIndex:
    """Numbers every handler instance (a community's committee, a grid, a street...)."""

    def __init__(self, n_communities: int, n_grids: int, street_of: np.ndarray):
        self.street_of = street_of.astype(np.int64)
        n_streets = int(street_of.max()) + 1 if len(street_of) else 1
        self.sizes = np.full(len(LEVELS), n_communities)
        self.sizes[GRID] = n_grids
        self.sizes[STREET] = n_streets
        self.sizes[DISTRICT] = 1
        self.offsets = np.concatenate(([0], np.cumsum(self.sizes)[:-1]))
        self.total = int(self.sizes.sum())
        self.n_streets = n_streets
        # Key of every level's instance serving each community, flat by (level, community):
        # the community's own body, its street, the district (grids are looked up by grid).
        inst = np.tile(np.arange(n_communities, dtype=np.int64), (len(LEVELS), 1))
        inst[STREET] = self.street_of
        inst[DISTRICT] = 0
        inst[GRID] = 0
        self._community_key = (self.offsets[:, None] + inst).ravel()
        self._n_communities = n_communities
        self._slices = [slice(int(a), int(a + k)) for a, k in zip(self.offsets, self.sizes, strict=True)]

    def key(self, level: np.ndarray, community: np.ndarray, grid: np.ndarray) -> np.ndarray:
        level = level.astype(np.int64)
        key = self._community_key[level * self._n_communities + community]
        at_grid = level == GRID
        if at_grid.any():
            key[at_grid] = self.offsets[GRID] + grid[at_grid]
        return key

    def slice(self, level: int) -> slice:
        return self._slices[level]

    def level_of_key(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.sizes)), self.sizes)


class CaseBook:
    """The case table (growable columns) and the stages of a case's life."""

    def __init__(self, institutions: Institutions, handlers: HandlerIndex, capacity: int = 4096,
                 routing: Routing | None = None):
        self.inst = institutions
        if routing is None:
            routing = Routing(int(handlers.sizes[COMMITTEE]))
            routing.variant((), institutions)
        self.routing = routing
        self.handlers = handlers
        self.size = 0
        self._cap = capacity
        for name, dtype in _FIELDS.items():
            setattr(self, name, np.zeros(capacity, dtype=dtype))
        self.version = 0
        self._queue_version = -1
        self._ties = None  # (adjacency, aggrieved mask, ties among them): see aggrieved_ties
        self.pending = np.empty(0, dtype=np.int64)  # undetected
        self.open_idx = np.empty(0, dtype=np.int64)  # detected, not resolved
        self.counts = dict.fromkeys(
            (
                "arisen",
                "detected",
                "resolved",
                "self_resolved",
                "lapsed",
                "abandoned",
                "escalations",
                "incidents",
                "disputes_arisen",
                "disputes_detected",
                "disputes_resolved",
                "disputes_self_resolved",
                "left_community",
            ),
            0,
        )
        self.delay_sum = 0.0
        self.worked_today = np.empty(0, dtype=np.int64)
        self.handler_hours = np.zeros(handlers.total)  # cumulative hours per handler
        self.today_hours = np.zeros(handlers.total)
        self.worked_levels = np.zeros(len(LEVELS), dtype=np.int64)  # cases worked today, by level

    # ------------------------------------------------------------------ storage
    def _grow(self, extra: int) -> None:
        need = self.size + extra
        if need <= self._cap:
            return
        new = max(need, 2 * self._cap)
        for name in _FIELDS:
            old = getattr(self, name)
            arr = np.zeros(new, dtype=old.dtype)
            arr[: self.size] = old[: self.size]
            setattr(self, name, arr)
        self._cap = new

    def add(self, **cols) -> np.ndarray:
        n = len(cols["resident"])
        self._grow(n)
        idx = np.arange(self.size, self.size + n)
        new = slice(self.size, self.size + n)  # the rows of idx (a slice writes faster)
        for name, values in cols.items():
            getattr(self, name)[new] = values
        self.closed[new] = -1
        self.first_worked[new] = -1
        self.resolved_level[new] = -1
        self.detected[new] = -1
        self.channel[new] = -1
        self.level[new] = -1
        self.size += n
        self.counts["arisen"] += n
        self.counts["disputes_arisen"] += int((cols["kind"] == DISPUTE).sum())
        self.pending = np.concatenate([self.pending, idx])
        return idx

    # ------------------------------------------------------------------ arrival
    def arrive(self, day: int, rng: np.random.Generator, pop, need_rate: float, dispute_rate: float,
               class_p: np.ndarray, need_weights_cdf: np.ndarray, need_total: float,
               dispute_weights_cdf: np.ndarray, dispute_total: float, structure,
               need_relief: np.ndarray | None = None) -> np.ndarray:
        """Sample today's new needs and disputes (Poisson totals, weighted residents)."""
        n_need = rng.poisson(need_rate / 365.0 * need_total)
        n_disp = rng.poisson(dispute_rate / 365.0 * dispute_total)
        who_n = np.searchsorted(need_weights_cdf, rng.random(n_need) * need_weights_cdf[-1], side="right")
        who_d = np.searchsorted(dispute_weights_cdf, rng.random(n_disp) * dispute_weights_cdf[-1], side="right")
        who_n = np.minimum(who_n, pop.n - 1)
        who_d = np.minimum(who_d, pop.n - 1)
        # (= rng.choice(5, size=n_need, p=NEED_CATEGORY_P): the same uniform draws against the
        # same normalised CDF, without choice's per-call validation of p)
        cat_n = np.searchsorted(_NEED_CATEGORY_CDF, rng.random(n_need), side="right").astype(np.int8)
        if need_relief is not None and n_need:
            # Projects bought by participatory budgets prevent some needs of their category.
            keep = rng.random(n_need) >= need_relief[pop.community[who_n], cat_n]
            who_n, cat_n = who_n[keep], cat_n[keep]
            n_need = len(who_n)
        # The class follows from the kind: one uniform draw against each category's class CDF,
        # the class being how many of the CDF's entries the draw exceeds. A CDF rises, so the
        # draw exceeds a prefix of it: counting against its first K-1 entries is the count
        # against all K clipped to K-1. Per need category, one boundary at a time; for
        # disputes (one CDF) the count of entries below the draw is a left searchsorted.
        u = rng.random(n_need)
        boundaries = self._class_cdf(class_p)
        cls_n = (u > boundaries[0][cat_n]).view(np.int8)
        for b in boundaries[1:]:
            cls_n += u > b[cat_n]
        cls_d = np.searchsorted(_DISPUTE_CLASS_CDF, rng.random(n_disp), side="left").astype(np.int8)
        # A dispute's other party: a random network neighbour.
        adj = structure.adjacency
        deg = adj.indptr[who_d + 1] - adj.indptr[who_d]  # (= np.diff(adj.indptr)[who_d], without the full diff)
        pick = adj.indptr[who_d] + (rng.random(n_disp) * np.maximum(deg, 1)).astype(np.int64)
        other = np.where(deg > 0, adj.indices[np.minimum(pick, len(adj.indices) - 1)], -1)

        resident = np.concatenate([who_n, who_d]).astype(np.int32)
        n = len(resident)
        if n == 0:
            return np.empty(0, dtype=np.int64)
        cls = np.concatenate([cls_n, cls_d])
        severity = rng.exponential(1.0, n).astype(np.float32) * np.where(cls == EMERGENCY, 3.0, 1.0)
        return self.add(
            resident=resident,
            other=np.concatenate([np.full(n_need, -1), other]).astype(np.int32),
            community=structure.community[resident],
            grid=structure.grid[resident],
            building=structure.building[resident],
            kind=np.concatenate([np.full(n_need, NEED), np.full(n_disp, DISPUTE)]).astype(np.int8),
            category=np.concatenate([cat_n, np.full(n_disp, len(CATEGORIES) - 1)]).astype(np.int8),
            cls=cls,
            severity=severity,
            arisen=np.full(n, day, dtype=np.int32),
            status=np.full(n, UNDETECTED, dtype=np.int8),
            registered=pop.registered[resident],
        )

    def _class_cdf(self, class_p: np.ndarray) -> list[np.ndarray]:
        """The class CDF of every need category without its last entry, one array per entry
        (by category), kept while the model's ``class_p`` is the same array (it is replaced,
        never changed in place)."""
        cache = self.__dict__.get("_class_cdf_of")
        if cache is None or cache[0] is not class_p:
            cdf = np.cumsum(class_p, axis=1)
            cache = self._class_cdf_of = (class_p, [cdf[:, j].copy() for j in range(cdf.shape[1] - 1)])
        return cache[1]

    # ------------------------------------------------------------------ detection
    def detect(self, day: int, rng: np.random.Generator, p_channels: np.ndarray) -> np.ndarray:
        """Detect pending cases. ``p_channels``: [n_pending, k] daily chance per channel, in the
        order of CHANNELS (self-report, committee visit, building head, grid screening, online,
        hotline).
        The channel credited is drawn in proportion to the chances. Returns detected ids."""
        idx = self.pending
        if len(idx) == 0:
            return idx
        miss = np.prod(1.0 - p_channels, axis=1)
        hit = rng.random(len(idx)) < (1.0 - miss)
        found = idx[hit]
        if len(found):
            p = p_channels[hit]
            cum = np.cumsum(p, axis=1)
            u = rng.random(len(found)) * cum[:, -1]
            channel = (u[:, None] > cum).sum(axis=1)
            self.channel[found] = channel
            self.detected[found] = day
            self.counts["detected"] += len(found)
            self.counts["disputes_detected"] += int((self.kind[found] == DISPUTE).sum())
            self.route(found, day)
        self.pending = idx[~hit]
        return found

    def route(self, idx: np.ndarray, day: int) -> None:
        """Triage: the class picks the chain; the case enters at its first level, except
        cases called in to the government hotline, which land on the desk of the chain's
        first government level (street or district) and so leave the community at once."""
        rt = self.routing
        cls = self.cls[idx]
        v = rt.variant_of[self.community[idx]]
        self.variant[idx] = v
        self.chain_end[idx] = rt.chain_len[v, cls]
        pos = np.zeros(len(idx), dtype=np.int8)
        hot = self.channel[idx] == HOTLINE
        if hot.any():
            pos[hot] = rt.first_outside[v[hot], cls[hot]]
        first = rt.chains[v, cls, pos]
        self.status[idx] = OPEN
        self.chain_pos[idx] = pos
        self._enter(idx, first, day)
        self.open_idx = np.concatenate([self.open_idx, idx])

    def _enter(self, idx: np.ndarray, level: np.ndarray, day: int) -> None:
        self.version += 1
        self.level[idx] = level
        self.handler[idx] = self.handlers.key(level, self.community[idx], self.grid[idx])
        self.level_since[idx] = day
        # (day - level_since >= min_days  <=>  ready_day <= day: integers, the same test)
        wait = self.routing.min_days[self.variant[idx], level]
        self.ready_day[idx] = np.where(self.cls[idx] == EMERGENCY, day, day + wait)
        self.attempts[idx] = 0
        self.path[idx] |= (level.astype(np.int64) + 1) << (4 * self.hops[idx].astype(np.int64))
        self.hops[idx] += 1
        self.left_community[idx] |= OUTSIDE[level]

    def lapse(self, rng: np.random.Generator, rate: float, day: int) -> np.ndarray:
        """Undetected cases fade away unresolved (people cope, or give up)."""
        self.pending, out = self._close_some(self.pending, rng, rate, day, LAPSED, "lapsed")
        return out

    def abandon(self, rng: np.random.Generator, rate: float, day: int) -> np.ndarray:
        """Detected cases whose residents give up waiting: closed unresolved.

        A daily hazard, so the longer a channel keeps a case waiting, the likelier it is
        lost: slow, congested handling resolves fewer of the cases it has screened.
        """
        self.open_idx, out = self._close_some(self.open_idx, rng, rate, day, ABANDONED, "abandoned")
        return out

    def _close_some(self, idx: np.ndarray, rng: np.random.Generator, rate: float, day: int,
                    status: int, counter: str) -> tuple[np.ndarray, np.ndarray]:
        """Close each case of ``idx`` with daily chance ``rate``; return (kept, closed)."""
        if len(idx) == 0 or rate <= 0:
            return idx, np.empty(0, dtype=np.int64)
        gone = rng.random(len(idx)) < rate
        out = idx[gone]
        self.status[out] = status
        self.closed[out] = day
        self.counts[counter] += len(out)
        return idx[~gone], out

    # ------------------------------------------------------------------ handling
    def handle(self, day: int, rng: np.random.Generator, capacity: np.ndarray, skill: np.ndarray,
               fester_days: float = 60.0, gain=None):
        """Work every handler's queue for one day. ``capacity`` (cases/day) and ``skill``
        are per handler key; ``gain(cases, levels)`` (optional) multiplies each worked case's
        chance (access at the point of service, on-site support, preparedness). A case
        festers while nobody knows of it: its chance on a worked day is scaled by
        exp(-days_undetected / fester_days), so early detection resolves cases "in the bud".

        Approval cases are a sign-off sequence: a success at a level that is not the last of
        the chain forwards the case to the next level (a sign-off, not an escalation).
        Returns (resolved ids, escalated ids, worked ids)."""
        self.today_hours[:] = 0.0
        o = self.open_idx
        empty = np.empty(0, dtype=np.int64)
        self.worked_levels = np.zeros(len(LEVELS), dtype=np.int64)
        self.worked_today = empty
        self.worked_level = empty
        if len(o) == 0:
            return empty, empty, empty
        lvl = self.level[o].astype(np.int64)
        key = self.handler[o].astype(np.int64)
        # A case still inside its level's minimum handling time is not worked yet and does
        # not take a slot. Slots go to ready cases: emergencies first, then the oldest.
        # Emergencies are urgent: worked at once, at any level.
        ready = self.ready_day[o] <= day  # (see _enter)
        # Sorted by handler, ready first, priority, day arisen: the four keys packed into one
        # int64 and one stable argsort, the same order as np.lexsort of the four (ties keep
        # the order of ``o``) at a fraction of its cost.
        packed = key << 1
        packed |= ~ready
        packed <<= _URGENCY_BITS
        packed |= _URGENCY[self.cls[o]]
        packed <<= 32
        packed |= self.arisen[o]
        order = np.argsort(packed, kind="stable")
        o, lvl, key, ready = o[order], lvl[order], key[order], ready[order]
        pos = np.arange(len(o))
        first = np.ones(len(o), dtype=bool)
        first[1:] = key[1:] != key[:-1]
        rank = pos - np.maximum.accumulate(np.where(first, pos, 0))
        whole = np.floor(capacity)
        cap_int = whole + (rng.random(len(capacity)) < capacity - whole)
        worked = ready & (rank < cap_int[key])
        queue = np.bincount(key, minlength=len(capacity))
        load = queue / np.maximum(capacity, 1e-9)
        overload = np.clip((load - 1.0) / 2.0, 0.0, 1.0)
        quality = skill * (1.0 - OVERLOAD_PENALTY * overload)

        cls = self.cls[o].astype(np.int64)
        waited = day - self.level_since[o]
        fit_table = self.inst.fit
        fit = fit_table.ravel()[lvl * fit_table.shape[1] + cls]  # fit[lvl, cls], as one flat lookup
        # Every case gets a draw, only worked ones can succeed: chances for those only.
        u = rng.random(len(o))
        w = np.flatnonzero(worked)
        w_idx = o[w]
        undetected_days = self.detected[w_idx] - self.arisen[w_idx]
        p = fit[w] * quality[key[w]] * np.exp(-undetected_days / fester_days)
        if gain is not None:
            p = p * gain(w_idx, lvl[w])
        act = worked
        success = np.zeros(len(o), dtype=bool)
        success[w] = u[w] < p
        unsuccessful = ~success
        has_next = (self.chain_pos[o] + 1) < self.chain_end[o]
        approval = cls == APPROVAL
        cannot = fit == 0.0  # the level cannot handle the class at all
        signed = success & approval & has_next
        resolved = success & ~signed
        failed = act & unsuccessful
        self.attempts[o[failed]] += 1
        give_up = (
            (self.attempts[o] >= MAX_ATTEMPTS[lvl])
            | (waited >= PATIENCE_DAYS[lvl])
            | (act & cannot)
        )
        # A handler swamped far beyond its capacity passes on the ready cases it cannot reach
        # (after its minimum handling time) instead of letting them wait out its patience.
        swamped = (capacity > 0) & (load >= FORWARD_LOAD)  # per handler (then its cases)
        if swamped.any():
            give_up |= ready & ~worked & swamped[key]
        # Approval cases wait for their sign-off; only a level that cannot sign passes them on.
        give_up &= ~approval | cannot
        escalate = unsuccessful & give_up & has_next
        self.worked_level = lvl[w]
        self.worked_levels = np.bincount(self.worked_level, minlength=len(LEVELS))
        self.first_response(w_idx, day)
        self.worked_today = w_idx

        hours = HOURS_PER_CASE[self.worked_level]
        self.hours[w_idx] += hours.astype(np.float32)
        np.add.at(self.today_hours, key[w], hours)
        self.handler_hours += self.today_hours

        res = o[resolved]
        self._close_resolved(res, day)
        c = self.counts
        esc = o[escalate]
        # Signed-off approvals and escalated cases (disjoint) both move one level up their
        # chain; every step of _forward is per case, so they move together.
        moving = o[signed | escalate]
        if len(moving):
            was_inside = ~self.left_community[esc]
            self._forward(moving, day)
            self.escalations[esc] += 1
            c["escalations"] += len(esc)
            c["left_community"] += int(np.count_nonzero(was_inside & self.left_community[esc]))
        self.open_idx = o[~resolved]
        return res, esc, w_idx

    def _forward(self, idx: np.ndarray, day: int) -> None:
        self.chain_pos[idx] += 1
        nxt = self.routing.chains[self.variant[idx], self.cls[idx], self.chain_pos[idx]]
        self._enter(idx, nxt, day)

    def first_response(self, idx: np.ndarray, day: int) -> None:
        """Record ``day`` as the first handling action of cases not yet responded to."""
        if len(idx):
            new = idx[self.first_worked[idx] < 0]
            self.first_worked[new] = day

    def _close_resolved(self, res: np.ndarray, day: int) -> None:
        self.status[res] = RESOLVED
        self.closed[res] = day
        self.resolved_level[res] = self.level[res]
        self_res = ~self.left_community[res]
        disputes = self.kind[res] == DISPUTE
        c = self.counts
        c["resolved"] += len(res)
        c["self_resolved"] += int(np.count_nonzero(self_res))
        c["disputes_resolved"] += int(np.count_nonzero(disputes))
        c["disputes_self_resolved"] += int(np.count_nonzero(disputes & self_res))
        self.delay_sum += float((day - self.arisen[res]).sum())

    def resolve(self, idx: np.ndarray, day: int, level: int | None = None) -> np.ndarray:
        """Resolve open cases outside the daily handling (a meeting, a project, a board):
        ``level`` is who resolved them (default: the level each case sits at)."""
        idx = idx[self.status[idx] == OPEN]
        if len(idx) == 0:
            return idx
        if level is not None:
            moved = idx[self.level[idx] != level]
            if len(moved):
                self._enter(moved, np.full(len(moved), level, dtype=np.int8), day)
        self.first_response(idx, day)
        self._close_resolved(idx, day)
        self.open_idx = self.open_idx[self.status[self.open_idx] == OPEN]
        return idx

    def sign_off(self, idx: np.ndarray, day: int) -> np.ndarray:
        """An approval decided outside the daily handling (an assembly's consent vote): the
        case moves to its next sign-off level, or is resolved if this was the last one.
        Returns the cases resolved."""
        idx = idx[self.status[idx] == OPEN]
        self.first_response(idx, day)
        last = (self.chain_pos[idx] + 1) >= self.chain_end[idx]
        if (~last).any():
            self._forward(idx[~last], day)
        return self.resolve(idx[last], day)

    # ------------------------------------------------------------------ grievance
    def accumulate_grievance(self, pop, rate: float) -> None:
        """Every unresolved case (detected or not) adds grievance to its party/parties."""
        idx = np.concatenate([self.pending, self.open_idx])
        if len(idx) == 0:
            return
        g = (rate * self.severity[idx]).astype(np.float32)
        # Residents as intp (np.add.at's fast loop; int32 indices are converted one by one).
        np.add.at(pop.grievance, self.resident[idx].astype(np.intp), g)
        other = self.other[idx].astype(np.intp)
        has = other >= 0
        np.add.at(pop.grievance, other[has], g[has])

    def incidents(self, day: int, pop, structure, threshold: float, min_cluster: int) -> list[np.ndarray]:
        """Connected clusters of aggrieved residents of at least ``min_cluster`` people."""
        aggrieved = pop.grievance > threshold
        idx = np.flatnonzero(aggrieved)
        u, v = self.aggrieved_ties(structure.adjacency, aggrieved, idx)
        if len(idx) < min_cluster:
            return []
        return _clusters(idx, u, v, min_cluster)

    def aggrieved_ties(self, adj, aggrieved: np.ndarray,
                       idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ties ``(u[i], v[i])`` of ``adj`` (symmetric) between the residents of ``aggrieved``
        (a mask; ``idx`` its rows): every tie among them at least once, in one direction.

        The aggrieved change little from day to day, so the ties are kept from the last call:
        those whose ends are both still aggrieved stay, and only the rows of residents who
        joined since are read (a tie to a joiner is found from the joiner's row). The first
        call, or a new adjacency, reads every row of ``idx``."""
        cache = self._ties
        if cache is None or cache[0] is not adj:
            before = np.zeros(len(aggrieved), dtype=bool)
            u = v = np.empty(0, dtype=adj.indices.dtype)
        else:
            _, before, u, v = cache
            stay = aggrieved[u] & aggrieved[v]
            u, v = u[stay], v[stay]
        joined = idx[~before[idx]]
        cols = adj.indices[row_positions(adj.indptr, joined)]
        rows = np.repeat(joined, adj.indptr[joined + 1] - adj.indptr[joined])  # each entry's row
        hit = np.flatnonzero(aggrieved[cols])
        u = np.concatenate([u, rows[hit].astype(u.dtype)])
        v = np.concatenate([v, cols[hit]])
        self._ties = (adj, aggrieved, u, v)
        return u, v

    def add_incident_case(self, day: int, member: int, structure) -> np.ndarray:
        """A collective incident is reported up at once: an emergency case at the district."""
        idx = self.add(
            resident=np.array([member], dtype=np.int32),
            other=np.array([-1], dtype=np.int32),
            community=structure.community[[member]],
            grid=structure.grid[[member]],
            building=structure.building[[member]],
            kind=np.array([DISPUTE], dtype=np.int8),
            category=np.array([len(CATEGORIES) - 1], dtype=np.int8),
            cls=np.array([EMERGENCY], dtype=np.int8),
            severity=np.array([3.0], dtype=np.float32),
            arisen=np.array([day], dtype=np.int32),
            status=np.array([UNDETECTED], dtype=np.int8),
        )
        self.pending = self.pending[:-1]
        self.registered[idx] = True
        self.channel[idx] = INCIDENT
        self.detected[idx] = day
        self.counts["detected"] += 1
        self.counts["disputes_detected"] += 1
        self.counts["incidents"] += 1
        self.status[idx] = OPEN
        v = int(self.routing.variant_of[self.community[idx[0]]])
        self.variant[idx] = v
        self.chain_end[idx] = self.routing.chain_len[v, EMERGENCY]
        chain = self.routing.chains[v, EMERGENCY, : self.routing.chain_len[v, EMERGENCY]]
        self.chain_pos[idx] = int(np.flatnonzero(chain == DISTRICT)[0]) if (chain == DISTRICT).any() else len(chain) - 1
        self._enter(idx, np.array([DISTRICT], dtype=np.int8), day)
        self.open_idx = np.concatenate([self.open_idx, idx])
        return idx

    # ------------------------------------------------------------------ views
    @property
    def open_idx(self) -> np.ndarray:
        """Detected, unresolved cases (every change of the set bumps ``version``)."""
        return self._open_idx

    @open_idx.setter
    def open_idx(self, value: np.ndarray) -> None:
        self._open_idx = value
        self.version += 1

    def open_in(self, c: int) -> np.ndarray:
        """Open cases of community ``c``, in the order of ``open_idx`` (select by community
        first, then filter the few: cheaper than a mask of several columns over all open
        cases)."""
        o = self.open_idx
        return o[self.community[o] == c]

    def queue_by_key(self) -> np.ndarray:
        """Open cases per handler instance (cached until the open set or a level changes)."""
        if self._queue_version != self.version:
            self._queue = np.bincount(self.handler[self.open_idx], minlength=self.handlers.total)
            self._queue_version = self.version
        return self._queue

    def path_of(self, i: int) -> list[str]:
        out, p = [], int(self.path[i])
        for _ in range(int(self.hops[i])):
            out.append(LEVELS[(p & 0xF) - 1])
            p >>= 4
        return out

    def describe(self, i: int) -> dict:
        """One case's whole story, for teaching and debugging."""
        return {
            "case": int(i),
            "kind": KINDS[self.kind[i]],
            "category": CATEGORIES[self.category[i]],
            "class": CLASSES[self.cls[i]],
            "resident": int(self.resident[i]),
            "other_party": int(self.other[i]),
            "community": int(self.community[i]),
            "arisen": int(self.arisen[i]),
            "detected": None if self.detected[i] < 0 else int(self.detected[i]),
            "channel": None if self.channel[i] < 0 else CHANNELS[self.channel[i]],
            "path": self.path_of(i),
            "escalations": int(self.escalations[i]),
            "status": STATUSES[self.status[i]],
            "closed": None if self.closed[i] < 0 else int(self.closed[i]),
            "resolved_by": None if self.resolved_level[i] < 0 else LEVELS[self.resolved_level[i]],
            "first_response": None if self.first_worked[i] < 0 else int(self.first_worked[i]),
            "self_resolved": bool(self.status[i] == RESOLVED and not self.left_community[i]),
            "handling_hours": float(self.hours[i]),
        }

    def resolution_days(self) -> np.ndarray:
        n = self.size
        done = self.status[:n] == RESOLVED
        return (self.closed[:n][done] - self.arisen[:n][done]).astype(np.int32)

    def to_frame(self) -> pd.DataFrame:
        """The whole case table, one row per case, with its path as text."""
        n = self.size
        paths = np.array([" > ".join(self.path_of(i)) for i in range(n)], dtype=object)
        return pd.DataFrame(
            {
                "case": np.arange(n),
                "kind": np.array(KINDS)[self.kind[:n]],
                "category": np.array(CATEGORIES)[self.category[:n]],
                "class": np.array(CLASSES)[self.cls[:n]],
                "resident": self.resident[:n],
                "other_party": self.other[:n],
                "community": self.community[:n],
                "severity": self.severity[:n],
                "arisen": self.arisen[:n],
                "detected": self.detected[:n],
                "channel": np.where(self.channel[:n] >= 0, np.array(CHANNELS + ("",))[self.channel[:n]], ""),
                "status": np.array(STATUSES)[self.status[:n]],
                "closed": self.closed[:n],
                "resolved_by": np.where(
                    self.resolved_level[:n] >= 0, np.array(LEVELS + ("",))[self.resolved_level[:n]], ""
                ),
                "first_response": self.first_worked[:n],
                "escalations": self.escalations[:n],
                "self_resolved": (self.status[:n] == RESOLVED) & ~self.left_community[:n],
                "path": paths,
                "handling_hours": self.hours[:n],
            }
        )


def _clusters(idx: np.ndarray, u: np.ndarray, v: np.ndarray, min_cluster: int) -> list[np.ndarray]:
    """Connected components of the residents ``idx`` (sorted, unique) joined by the ties
    ``(u[i], v[i])`` (undirected; both ends in ``idx``), with at least ``min_cluster``
    members: ``idx[labels == b]`` for each such component ``b`` in the order scipy's
    ``connected_components`` labels them (by their smallest member). The same lists as
    building the submatrix of the adjacency and calling ``connected_components``, without
    either: components are found by min-label propagation (each member ends with the smallest
    index of its component)."""
    k = len(idx)
    a = np.searchsorted(idx, u)  # ties as local ids
    b = np.searchsorted(idx, v)
    if min_cluster > 1:  # fewer than min_cluster residents on an edge: no component that big
        touched = np.zeros(k, dtype=bool)
        touched[a] = True
        touched[b] = True
        if np.count_nonzero(touched) < min_cluster:
            return []
    label = np.arange(k)
    while True:
        low = np.minimum(label[a], label[b])
        nxt = label.copy()
        np.minimum.at(nxt, a, low)
        np.minimum.at(nxt, b, low)
        nxt = nxt[nxt]  # labels are members of the same component: jump to their label
        if np.array_equal(nxt, label):
            break
        label = nxt
    sizes = np.bincount(label, minlength=k)
    roots = np.flatnonzero((sizes >= min_cluster) & (sizes > 0))
    return [idx[label == r] for r in roots]


def is_community_level(level: np.ndarray) -> np.ndarray:
    return np.isin(level, list(COMMUNITY_LEVELS))
