"""Exact products of integer matrices too large for ``int64``, through ``float64`` matrix products.

The enumeration keeps affine forms as rows of integers scaled by a common
denominator (:mod:`mtsym.walk`).  With float weights (a trained network's
``float32`` parameters are exact rationals with large power-of-two
denominators) these integers need 60 to 150 bits, so numpy holds them as
Python integers (``dtype=object``) and a ``128 x 128`` product costs one
Python big-integer operation per multiply-add.

Here the product is computed exactly with ``float64`` matrix products instead
(a few BLAS calls on small limbs, then one exact recombination):

* every integer is split into *limbs* of ``B`` bits, ``x = sum_k l_k 2^(B k)``:
  the lower limbs in ``[0, 2^B)``, the top one signed, ``|l| < 2^B``; each limb
  is an integer below ``2^B``, exactly a ``float64``;
* a product of two limbs is below ``2^(2B)`` in absolute value, and a dot
  product of ``m`` of them below ``m 2^(2B) <= 2^53`` when ``B`` is chosen
  from ``m`` (:func:`limb_width`): every partial sum, in whatever order and
  with or without fused multiply-adds, is then an integer below ``2^53``,
  which ``float64`` holds exactly, so every limb product ``A_i @ F_k`` is
  computed *exactly*;
* the limb products are gathered by weight ``2^(B (i + k))`` in ``int64`` and
  recombined with exact integer shifts and additions.

Nothing is rounded at any step; a right operand whose top limb would not fit
(an entry above the bound it was announced with) is refused (``None``: the
caller computes the product with Python integers), never computed inexactly.

Examples
--------
>>> import numpy as np
>>> A = np.array([[3 << 70, -5], [7, (1 << 90) + 1]], dtype=object)
>>> F = np.array([[1 << 80, -1], [-(1 << 75), 2]], dtype=object)
>>> P = LimbMatrix(A, 1 << 81).matmul(F)
>>> bool((P == A @ F).all())
True
"""

__all__ = ["LimbMatrix", "limb_width", "limbs"]

import numpy as np

#: float64 holds every integer of absolute value at most 2^53 exactly
_EXACT_BITS = 53


def limb_width(m):
    """The largest limb width ``B`` with ``m * 2^(2B) <= 2^53``: a dot product of length ``m``
    of limbs below ``2^B`` is exact in ``float64``.

    >>> limb_width(128), limb_width(129), limb_width(1)
    (23, 22, 26)
    """
    return (_EXACT_BITS - max(0, (m - 1).bit_length())) // 2


def _count(bits, B):
    """Limbs for integers of absolute value below ``2^bits``: the top limb stays below ``2^B``."""
    return max(1, -(-(bits + 1) // B))


def limbs(M, B, count):
    """``M`` (integers, any dtype) as ``count`` float64 arrays of limbs: ``M = sum_k L[k] 2^(B k)``.

    The lower limbs lie in ``[0, 2^B)``; returns ``None`` when the top limb does not fit
    (``|top| >= 2^B``: ``M`` has an entry too large for ``count`` limbs).

    >>> import numpy as np
    >>> [l.tolist() for l in limbs(np.array([-1, 5, 1 << 10], dtype=object), 8, 2)]
    [[255.0, 5.0, 0.0], [-1.0, 0.0, 4.0]]
    >>> limbs(np.array([1 << 20], dtype=object), 8, 2) is None
    True
    """
    mask = (1 << B) - 1
    out = []
    x = M
    for _ in range(count - 1):
        out.append((x & mask).astype(np.float64))
        x = x >> B
    top = x.astype(np.float64)      # monotone conversion: a too-large entry stays too large
    if top.size and np.abs(top).max() >= float(1 << B):
        return None
    out.append(top)
    return out


class LimbMatrix:
    """A fixed integer matrix ``A`` (``p x m``), ready for exact products ``A @ F``.

    Parameters
    ----------
    A : array of int (``int64`` or Python integers)
    bound : int
        The right operands' entries are at most this in absolute value (a larger one makes
        :meth:`matmul` return ``None``).
    """

    __slots__ = ("B", "left", "nright", "bound", "stack")

    def __init__(self, A, bound):
        A = np.asarray(A)
        p, m = A.shape
        self.B = B = limb_width(m)
        big = max((abs(int(x)) for x in A.ravel().tolist()), default=0)
        self.left = limbs(A, B, _count(big.bit_length(), B))
        self.stack = np.concatenate(self.left)     # every left limb at once: one float64 product
        self.nright = _count(int(bound).bit_length(), B)
        self.bound = bound

    def matmul(self, F):
        """``A @ F`` exactly, as Python integers (``dtype=object``); ``None`` when an entry of ``F``
        exceeds the bound."""
        right = limbs(F, self.B, self.nright)
        if right is None:
            return None
        return self.product(np.concatenate(right, axis=1), F.shape[1])

    def product(self, right, k):
        """``A @ F`` exactly from ``F``'s limbs side by side, ``np.concatenate(limbs(F, self.B,
        self.nright), axis=1)`` (``k`` columns each): a caller that meets the same rows of ``F``
        many times splits them once."""
        B = self.B
        p, nl, nr = self.left[0].shape[0], len(self.left), self.nright
        # one product of all left limbs (stacked rows) by all right limbs (side by side columns);
        # block (i, j) is left[i] @ right[j], exact: every entry an integer below 2^53
        P = (self.stack @ right).astype(np.int64).reshape(nl, p, nr, k)
        acc = [None] * (nl + nr - 1)
        for i in range(nl):
            for j in range(nr):
                acc[i + j] = P[i, :, j] if acc[i + j] is None else acc[i + j] + P[i, :, j]
        return _recombine(acc, B)


def _recombine(acc, B):
    """``sum_s acc[s] 2^(B s)`` as Python integers, from int64 arrays whose entries are below
    ``2^62`` in absolute value: carries first (int64, exact: every digit but the top one brought
    into ``[0, 2^B)``), then two digits per int64 (``2B < 62`` bits), then one Python-integer
    shift and addition per pair."""
    acc = [a.copy() for a in acc]
    mask = (1 << B) - 1
    for s in range(len(acc) - 1):
        acc[s + 1] += acc[s] >> B                   # floor division by 2^B: exact
        acc[s] &= mask
    L = len(acc)
    # pairs of non-top digits, low pair first; the top digit is signed: kept apart
    pairs = [acc[s] + (acc[s + 1] << B) for s in range(0, L - 2, 2)]
    if L % 2:
        tot = acc[-1].astype(object)
    else:                                           # digits L-2 and the top one
        tot = (acc[-1].astype(object) << B) + acc[-2]
    for e in reversed(pairs):
        tot = (tot << (2 * B)) + e
    return tot
