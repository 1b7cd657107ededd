"""Textbook algorithms in plain Python, as written in Cormen, Leiserson, Rivest, Stein ("Introduction to
Algorithms", 3rd ed.) and Bentley ("Programming Pearls", column 8, Kadane's algorithm): no framework, no
mtsym call -- Python comparisons, ``float("-inf")``, ``max``, lists.

* the running maximum of a row, started at ``float("-inf")`` (the identity of max);
* Kadane's maximum subarray sum (``best = float("-inf")``; ``cur = max(x, cur + x)``);
* insertion sort (CLRS 2.1), returning the sorted row.

Each is traced on one row of 8 pixels of a digit (the functions take a vector of 8).
"""

from . import Spec


def running_max(a):
    best = float("-inf")
    for x in a:
        if x > best:
            best = x
    return best


def max_subarray(a):
    """Kadane: the largest sum of a contiguous, non-empty run."""
    best = float("-inf")
    cur = 0
    for x in a:
        cur = max(x, cur + x)
        best = max(best, cur)
    return best


def insertion_sort(a):
    a = list(a)
    for j in range(1, len(a)):
        key = a[j]
        i = j - 1
        while i >= 0 and a[i] > key:
            a[i + 1] = a[i]
            i = i - 1
        a[i + 1] = key
    return a


def _row(fn):
    def build(dyadic, reference=False):
        return lambda x: fn([x[i] - 8 for i in range(8)])   # pixels 0..16 centred, so Kadane sees negatives
    return build


MODELS = {"running max from -inf": Spec(_row(running_max), "python", inputs=8),
          "Kadane's maximum subarray": Spec(_row(max_subarray), "python", inputs=8),
          "insertion sort": Spec(_row(insertion_sort), "python", inputs=8)}
