"""Per-community reductions over residents, who are stored by community.

Residents of community ``c`` are the rows ``community_start[c] : community_start[c] +
community_size[c]`` (:mod:`govsim.network`), so a per-community count or sum is a reduction
over contiguous stretches: one ``np.add.reduceat`` instead of a ``np.bincount`` over every
resident (which adds one element at a time into its bin, a chain of dependent additions that
costs about 1 ms for a district's 262,103 residents).
"""

from __future__ import annotations

import math

import numpy as np


class CommunityStretches:
    """The communities' stretches of residents, and reductions over them."""

    def __init__(self, structure) -> None:
        size = np.asarray(structure.community_size)
        self.C = len(size)
        if not np.array_equal(structure.community, np.repeat(np.arange(self.C), size)):
            raise ValueError("residents must be stored by community (community_start, community_size)")
        self.size = size
        self.has = size > 0
        self.starts = np.asarray(structure.community_start)[self.has]  # reduceat: non-empty only
        self.largest = int(size.max()) if len(size) else 0
        # A count per stretch fits in int16 below 2**15 residents (reduceat's smallest safe
        # accumulator: counting in int16 reads a quarter of what int64 would).
        self.count_dtype = np.int16 if self.largest < 2**15 else np.int64

    def counts(self, mask: np.ndarray) -> np.ndarray:
        """Per community: how many of its residents ``mask`` holds (int64)."""
        out = np.zeros(self.C, dtype=np.int64)
        if len(self.starts):
            out[self.has] = np.add.reduceat(mask.view(np.uint8), self.starts, dtype=self.count_dtype)
        return out

    def sums(self, values: np.ndarray, community: np.ndarray) -> np.ndarray:
        """Per community: the float64 sum of float32 ``values``, the same bits as
        ``np.bincount(community, weights=values, minlength=C)``.

        Where every partial sum of a community is exact in float64, every order of adding
        gives the same (exact) sum, so reduceat's pairwise order gives bincount's sequential
        result. It is exact when all values are multiples of a common power of two ``q`` (the
        spacing of float32 numbers at the smallest nonzero magnitude) and no partial sum
        reaches ``2**53 * q``: checked from the largest and smallest nonzero magnitudes (for
        values in [0, 1] and communities under 16,384 residents: every value 0 or at least
        2**-16); otherwise it takes the bincount.
        """
        if values.dtype == np.float32 and len(self.starts):
            mags = values
            lo, hi = float(mags.min()), float(mags.max())
            if lo < 0:
                mags = np.abs(values)
                lo, hi = float(mags.min()), float(mags.max())
            if lo == 0:
                lo = float(np.min(mags, where=mags > 0, initial=np.inf))
            # lo >= 2**(e - 1): every value is a multiple of 2**(e - 24) (float32: 24 bits).
            e = math.frexp(lo)[1] if math.isfinite(lo) else 0
            if math.isfinite(hi) and self.largest * hi < math.ldexp(1.0, e + 29):
                out = np.zeros(self.C)
                out[self.has] = np.add.reduceat(values, self.starts, dtype=np.float64)
                out += 0.0  # an exact zero is +0.0, as bincount's (which starts from +0.0)
                return out
        return np.bincount(community, weights=values, minlength=self.C)
