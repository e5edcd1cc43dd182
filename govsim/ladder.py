"""The participation ladder (brief: informed, consulted, involved, partner, self-governing),
measured per community from what residents and bodies do."""

from __future__ import annotations

import numpy as np


def ladder(m, day: int) -> np.ndarray:
    """1 informed; 2 consulted (last meeting drew >= 3% of adults, or >= 10% of adults took
    part in something in the last 30 days); 3 involved (also >= 60% of volunteer roles filled
    and >= 40% of detected cases reported by residents); 4 partner (also residents co-decide
    through a body that decides: an institution whose ``co_decides`` says so, e.g. a council
    meeting with half the directors in the last 60 days, a participatory-budget vote with >= 10%
    turnout in the last year, an assembly session in the last 90 days); 5 self-governing (also
    >= 85% of resolved cases resolved inside the community and the committee spends at most
    half its time on pushed-down administration)."""
    C = m.structure.n_communities
    filled = m.volunteers.filled_share()
    det, self_rep, res, self_res = m.community_case_stats()
    pop, s = m.population, m.structure
    # Active eligible residents per community: residents are stored by community, so a count
    # over each community's stretch of rows (the same whole numbers as a weighted bincount
    # over all residents, which is ~25x slower on the sorted community column).
    mask = pop.active_mask(day) & pop.eligible
    active = np.array([np.count_nonzero(mask[a:a + k]) for a, k in
                       zip(s.community_start.tolist(), s.community_size.tolist(), strict=True)], dtype=float)
    rate = active / np.maximum(m.eligible_per_comm, 1)
    consulted = (m.meetings.attendance >= 0.03) | (rate >= 0.10)
    involved = consulted & (filled >= 0.6) & (self_rep >= 0.4 * np.maximum(det, 1))
    co = np.zeros(C, dtype=bool)
    for inst in m.hooks["co_decides"]:
        d = inst.co_decides(day)
        if d is not None:
            co |= d if inst.everywhere else d & inst.on
    partner = involved & co
    admin = np.array([m.committees[c].admin_share for c in range(C)])
    selfgov = partner & (self_res >= 0.85 * np.maximum(res, 1)) & (admin <= 0.5)
    return 1 + consulted.astype(int) + involved + partner + selfgov
