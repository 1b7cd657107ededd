"""Finding a million integer keys among a few thousand known ones, in a few numpy passes.

A compiled piece table locates each point by an integer key of its case codes
(:mod:`mtsym.backends.numpy`).  A binary search (``searchsorted``) costs about 30 ns
per key, more than the whole forward sweep of a small network; this index answers
with a direct table when the keys are exact codes of a small space, else with an
open-addressed hash table (multiplicative hash, linear probing, at most half full):
one or two gathers per key.

Examples
--------
>>> import numpy as np
>>> K = np.array([3, 17, 2 ** 40, 5], dtype=np.int64)
>>> KeyIndex(K).find(np.array([17, 4, 2 ** 40, 3], dtype=np.int64)).tolist()
[1, -1, 2, 0]
>>> KeyIndex(K[[0, 1, 3]], space=20).find(np.array([5, 6, 3], dtype=np.int64)).tolist()
[2, -1, 0]
"""

__all__ = ["KeyIndex", "DENSE_MAX"]

import numpy as np

#: the largest key space a direct table covers (int32 positions: 16 MiB)
DENSE_MAX = 1 << 22
#: Knuth's multiplicative constant, 2**64 / golden ratio (odd): spreads nearby keys over the table
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


class KeyIndex:
    """Positions of keys in ``K`` (a 1-D int64 or uint64 array of distinct keys).

    Parameters
    ----------
    K : ndarray
        The known keys.
    space : int, optional
        When every key is known to lie in ``range(space)`` and ``space <=`` :data:`DENSE_MAX`,
        a direct table of that size (one gather per key).
    """

    def __init__(self, K, space=None):
        self.K = K
        self.lut = None
        if space is not None and space <= DENSE_MAX:
            self.lut = np.full(space, -1, dtype=np.int32)
            self.lut[K] = np.arange(len(K), dtype=np.int32)
            return
        bits = max(6, (2 * len(K)).bit_length())          # at most half the slots taken
        self.mask = (1 << bits) - 1
        self.shift = np.uint64(64 - bits)
        slots = np.full(1 << bits, -1, dtype=np.intp)
        for i, p in enumerate(self._hash(K).tolist()):       # once per learned key set
            while slots[p] >= 0:
                p = (p + 1) & self.mask
            slots[p] = i
        self.slots = slots

    def _hash(self, keys):
        return ((keys.view(np.uint64) * _GOLDEN) >> self.shift).view(np.intp)   # < 2**bits: same bits

    def find(self, keys):
        """The position in ``K`` of each key (an intp array), ``-1`` for a key not in ``K``."""
        if self.lut is not None:
            return self.lut[keys].astype(np.intp)
        pos = self._hash(keys)
        at = self.slots[pos]
        full = at >= 0
        hit = full & (self.K[at] == keys)
        out = np.where(hit, at, -1)
        todo = np.flatnonzero(full & ~hit)                   # a slot held by another key: probe on
        pos = pos[todo]
        while len(todo):
            pos = (pos + 1) & self.mask
            at = self.slots[pos]
            full = at >= 0
            hit = full & (self.K[at] == keys[todo])
            out[todo[hit]] = at[hit]
            keep = full & ~hit
            todo, pos = todo[keep], pos[keep]
        return out
