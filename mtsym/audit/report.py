"""What :func:`mtsym.audit` returns: per sample, the ties the framework meets and what they do.

An :class:`AuditReport` holds, for every sample with an event, an :class:`AuditSample`: its
:class:`NodeTie` records (which node, op, layer, source line, how many entries tie, and the kind)
and the verdict on the framework's gradient.  Kinds of event at a switching node:

``"exact"``
    a tie in exact arithmetic at the sample, which the framework's float pass sees too;
``"rounding"``
    the float pass ties where exact arithmetic does not, or misses an exact tie, or sees
    another tie: reported with the exact gap;
``"flip"``
    no tie on either side, but the float pass takes another strict case (rounding crossed a
    kink): the framework's gradient follows a stratum the exact point is not in.

Examples
--------
>>> r = AuditReport(n=3, samples=[], by_node={}, meta={"dtype": "float32"})
>>> r.n, r.tied, r.verdicts
(3, [], {})
"""

from __future__ import annotations

__all__ = ["AuditReport", "AuditSample", "NodeTie", "Relu0Audit"]

import json
import math
from fractions import Fraction
from typing import Any

from ..display import ReprMixin


def _q(v):
    """An exact number as JSON text (``"p/q"``), floats and None as they are."""
    if v is None or isinstance(v, (float, bool, str)):
        return v
    v = Fraction(v)
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


def _rows(M):
    return None if M is None else [[_q(c) for c in r] for r in M]


def _short(v, digits=3):
    if v is None:
        return "-"
    f = float(v)
    if f == 0:
        return "0"
    return f"{f:.{digits}g}"


class NodeTie:
    """One switching node of one sample where the framework's float pass and exact arithmetic meet a tie
    (or part ways).

    Attributes
    ----------
    node : int
    op : str
        The primitive (``relu``, ``maxpool``, ...).
    layer : str or None
        The torch module that made the node (``"features.2 (MaxPool2d)"``), when known.
    line : str
        The user's source line.
    kind : {"exact", "rounding", "flip"}
    entries : int
        How many arguments tie in the float pass (0 when it misses an exact tie).
    exact_entries : int
        How many arguments tie in exact arithmetic at the sample.
    float_case, exact_case
        The primitive's case in the float pass and in exact arithmetic.
    gap : Fraction
        The largest ``|exact switching quantity|`` among the tests the float pass answers
        differently (0 for ``"exact"``): how far the exact point is from the framework's stratum.
    float_gap : Fraction
        For an exact tie the float pass misses: its float quantity there (else 0).
    """

    __slots__ = ("node", "op", "layer", "line", "kind", "entries", "exact_entries", "float_case", "exact_case",
                 "gap", "float_gap")

    def __init__(self, node, op, layer, line, kind, entries, exact_entries, float_case, exact_case, gap=0,
                 float_gap=0):
        self.node, self.op, self.layer, self.line, self.kind = node, op, layer, line, kind
        self.entries, self.exact_entries, self.float_case, self.exact_case = entries, exact_entries, float_case, \
            exact_case
        self.gap, self.float_gap = gap, float_gap

    @property
    def where(self):
        """The layer, or the source line when the node was made outside every module."""
        return self.layer or _line(self.line)

    def to_dict(self):
        return {"node": self.node, "op": self.op, "layer": self.layer, "line": self.line, "kind": self.kind,
                "entries": self.entries, "exact_entries": self.exact_entries, "float_case": repr(self.float_case),
                "exact_case": repr(self.exact_case), "gap": _q(self.gap), "float_gap": _q(self.float_gap)}

    def __repr__(self):
        gap = f", gap {_short(self.gap)}" if self.gap else ""
        return f"NodeTie(n{self.node} {self.op} {self.kind}, {self.entries} tied{gap})"


def _line(line):
    if not line:
        return "?"
    head = line.split(": ", 1)[0]
    path, _, num = head.rpartition(":")
    return f"{path.rsplit('/', 1)[-1]}:{num}" if path else head


class AuditSample:
    """The audit of one sample with an event.

    Attributes
    ----------
    index : int
    ties : list of NodeTie
    verdict : {"yes", "no", "undecided"}
        Is the framework's gradient a Clarke gradient at the exact sample?
    method : str
        How it was decided: ``"differentiable"`` (no exact tie: the Clarke gradient is the
        gradient), or the method of :func:`mtsym.is_clarke` (``"star"``, ``"cone"``, ...).
    reason : str
    gradient : tuple of tuples of Fraction
        The framework's gradient (Jacobian, ``m x n``), exactly: the chain rule along the cases its
        float forward pass took, under its tie rules.
    associated : tuple of tuples or None
        The associated gradient at the exact point under the framework's rules (``None``: the same
        as ``gradient``).
    clarke : tuple of tuples or None
        A certified Clarke gradient: the gradient where ``f`` is differentiable, else the
        lexicographic derivative.
    distance : Fraction or None
        The max-norm distance from ``gradient`` to the nearest certified Clarke gradient
        (``distance_to`` says to what).
    seconds : float
        Time of this sample's exact analysis.
    """

    __slots__ = ("index", "ties", "verdict", "method", "reason", "gradient", "associated", "clarke", "distance",
                 "distance_to", "seconds")

    def __init__(self, index, ties, verdict=None, method=None, reason="", gradient=None, associated=None,
                 clarke=None, distance=None, distance_to=None, seconds=0.0):
        self.index, self.ties, self.verdict, self.method, self.reason = index, ties, verdict, method, reason
        self.gradient, self.associated, self.clarke = gradient, associated, clarke
        self.distance, self.distance_to, self.seconds = distance, distance_to, seconds

    def kinds(self):
        return {t.kind for t in self.ties}

    @property
    def exact_tie(self):
        """True when some node ties in exact arithmetic (the local analysis applies)."""
        return any(t.exact_entries for t in self.ties)

    @property
    def rounding(self):
        return any(t.kind == "rounding" for t in self.ties)

    @property
    def flip(self):
        return any(t.kind == "flip" for t in self.ties)

    def to_dict(self, gradients=None):
        """Plain data; the gradients (``m x n`` exact matrices) only when ``gradients`` is true
        (default: when the verdict is not "yes", where they are the evidence)."""
        out = {"index": self.index, "verdict": self.verdict, "method": self.method, "reason": self.reason,
               "ties": [t.to_dict() for t in self.ties], "distance": _q(self.distance),
               "distance_to": self.distance_to, "seconds": self.seconds}
        if gradients or (gradients is None and self.verdict not in (None, "yes")):
            out.update(gradient=_rows(self.gradient), associated=_rows(self.associated), clarke=_rows(self.clarke))
        return out

    def __repr__(self):
        kinds = ", ".join(sorted(self.kinds()))
        return f"AuditSample({self.index}: {len(self.ties)} node(s) [{kinds}], verdict {self.verdict!r})"


class Relu0Audit:
    """The relu'(0) question (Bertoin et al., 2021) on the parameter gradient of a loss.

    Attributes
    ----------
    loss : str
    differs : list of int
        Samples whose parameter gradient (the affine maps' coefficients and constants) is not the
        same under relu'(0) = 0 and relu'(0) = 1, along the framework's float forward pass (decided
        exactly: the two exact parameter Jacobians differ).
    gap : dict
        index -> the norm of the difference of the two parameter gradients of the loss (exact
        Jacobians; a float for a loss that is not piecewise linear).
    batch_gap : float
        The norm of the difference of the batch-mean gradients (what one training step uses).
    tied : int
        Samples whose float forward pass meets any tie (the only ones that can differ).
    """

    __slots__ = ("loss", "differs", "gap", "batch_gap", "tied", "n")

    def __init__(self, loss, differs, gap, batch_gap, tied, n):
        self.loss, self.differs, self.gap, self.batch_gap, self.tied, self.n = loss, differs, gap, batch_gap, tied, n

    def to_dict(self):
        return {"loss": self.loss, "differs": self.differs, "gap": {str(k): v for k, v in self.gap.items()},
                "batch_gap": self.batch_gap, "tied": self.tied, "n": self.n}

    def __str__(self):
        big = max(self.gap.values(), default=0.0)
        return (f"relu'(0) = 0 vs 1 ({self.loss} loss, parameter gradient): {len(self.differs)} of {self.n} samples "
                f"differ (largest gap {_short(big)}); batch-mean gradients differ by {_short(self.batch_gap)}")


class AuditReport(ReprMixin):
    """The tie audit of a model on a data set (see :func:`mtsym.audit`).

    Attributes
    ----------
    n : int
        Samples audited.
    tied : list of int
        Samples with any tie (exact or rounding).
    exact_ties : list of int
        Samples where some node ties in exact arithmetic at the sample (the local analysis applies).
    rounding_ties : list of int
        Samples where the float pass ties and exact arithmetic does not, or the other way.
    flips : list of int
        Samples where rounding made the float pass take another strict case (no tie either side).
    verdicts : dict
        index -> ``"yes"``, ``"no"`` or ``"undecided"``: is the framework's gradient a Clarke
        gradient at the exact sample?  For every sample in ``tied`` or ``flips``.
    by_node : dict
        ``(op, layer)`` -> counts: ``exact`` and ``rounding`` (samples), ``exact_entries`` and
        ``rounding_entries`` (tied nodes summed over samples), ``flips``, ``line``.
    samples : dict
        index -> :class:`AuditSample`.
    relu0 : Relu0Audit or None
        The parameter-gradient audit (when a ``loss`` was given).
    meta : dict
        dtype, framework, convention, timings.
    """

    _repr_max_rows = 20

    def __init__(self, n: int, samples: list, by_node: dict, meta: dict, relu0: Relu0Audit | None = None) -> None:
        self.n = n
        self.samples = {s.index: s for s in sorted(samples, key=lambda s: s.index)}
        self.by_node = by_node
        self.meta = meta
        self.relu0 = relu0
        ss = self.samples.values()
        self.exact_ties = [s.index for s in ss if s.exact_tie]
        self.rounding_ties = [s.index for s in ss if s.rounding]
        self.flips = [s.index for s in ss if s.flip]
        self.tied = sorted(set(self.exact_ties) | set(self.rounding_ties))
        self.verdicts = {s.index: s.verdict for s in ss if s.verdict is not None}

    @property
    def spurious(self) -> list:
        """Samples where the framework's gradient is not a Clarke gradient (verdict ``"no"``)."""
        return [i for i, v in self.verdicts.items() if v == "no"]

    def counts(self) -> dict:
        """The verdicts counted: ``{"yes": .., "no": .., "undecided": ..}``."""
        out = {"yes": 0, "no": 0, "undecided": 0}
        for v in self.verdicts.values():
            out[v] += 1
        return out

    # ------------------------------------------------------------------ export
    def to_dict(self, gradients: bool | None = None) -> dict:
        """The report as plain data (exact numbers as ``"p/q"`` strings); see :meth:`to_json`."""
        rows = [dict(op=op, layer=layer, **c) for (op, layer), c in self.by_node.items()]
        return {"n": self.n, "meta": self.meta, "tied": self.tied, "exact_ties": self.exact_ties,
                "rounding_ties": self.rounding_ties, "flips": self.flips,
                "verdicts": {str(k): v for k, v in self.verdicts.items()}, "by_node": rows,
                "samples": [s.to_dict(gradients) for s in self.samples.values()],
                "relu0": None if self.relu0 is None else self.relu0.to_dict()}

    def to_json(self, path: str | None = None, indent: int | None = 1, gradients: bool | None = None) -> str:
        """The report as JSON text (exact numbers as ``"p/q"`` strings); also written to ``path``.

        Each sample's exact gradients (the framework's, the associated one, a Clarke gradient) are
        written where its verdict is "no" or "undecided" (the evidence), or everywhere with
        ``gradients=True`` (large: ``m x n`` rationals per sample).
        """
        text = json.dumps(self.to_dict(gradients), indent=indent)
        if path is not None:
            with open(path, "w") as f:
                f.write(text)
        return text

    def plot(self, path: str | None = None, *, images: Any = None, shape: tuple | None = None,
             max_images: int = 12) -> Any:
        """Ties per layer (bars: exact / rounding), and the samples whose gradient is spurious.

        ``images`` (the data, one row per sample) and ``shape`` (e.g. ``(8, 8)``) draw those
        samples as pictures.  Needs matplotlib; see :func:`mtsym.audit.plot.plot_report`.
        """
        from .plot import plot_report
        return plot_report(self, path, images=images, shape=shape, max_images=max_images)

    # ------------------------------------------------------------------ text
    def __str__(self):
        m = self.meta
        c = self.counts()
        pct = (lambda k: f"{100 * k / self.n:.2f}%") if self.n else (lambda k: "-")
        code = f"{m['framework']} code, " if m.get("framework") else ""
        lines = [f"audit of {m.get('name', 'f')}: {self.n} samples, {code}{m.get('convention')} rules, "
                 f"{m.get('dtype')} forward pass",
                 f"  exact ties     {len(self.exact_ties):>8}  ({pct(len(self.exact_ties))})  "
                 "tie in exact arithmetic at the sample",
                 f"  rounding ties  {len(self.rounding_ties):>8}  ({pct(len(self.rounding_ties))})  "
                 "the float pass ties and exact arithmetic does not, or the other way",
                 f"  flips          {len(self.flips):>8}  ({pct(len(self.flips))})  "
                 "rounding crossed a kink (another strict case)",
                 f"  framework gradient a Clarke gradient: yes {c['yes']}, no {c['no']}, undecided {c['undecided']}"]
        far = [s for s in self.samples.values() if s.distance]
        if far:
            worst = max(far, key=lambda s: s.distance)
            lines.append(f"  largest distance to a certified Clarke gradient: {_short(worst.distance)} "
                         f"(sample {worst.index}, to {worst.distance_to})")
        if self.by_node:
            lines.append("  by node:  op          layer                          exact   rounding  flips")
            rows = sorted(self.by_node.items(), key=lambda kv: -(kv[1]["exact"] + kv[1]["rounding"] + kv[1]["flips"]))
            for (op, layer), cnt in rows[:10]:
                lines.append(f"            {op:<11} {str(layer)[:30]:<30} {cnt['exact']:>6} {cnt['rounding']:>9} "
                             f"{cnt['flips']:>6}")
            if len(rows) > 10:
                lines.append(f"            ... and {len(rows) - 10} more")
        bad = self.spurious[:5]
        if bad:
            lines.append("  spurious (not a Clarke gradient): samples " + ", ".join(map(str, bad)) +
                         (" ..." if len(self.spurious) > 5 else ""))
        if self.relu0 is not None:
            lines.append("  " + str(self.relu0))
        t = m.get("seconds", {})
        if t:
            lines.append("  time: " + ", ".join(f"{k} {v:.2f} s" for k, v in t.items()))
        return "\n".join(lines)

    def __repr__(self):
        return (f"AuditReport(n={self.n}, tied={len(self.tied)}, exact={len(self.exact_ties)}, "
                f"rounding={len(self.rounding_ties)}, spurious={len(self.spurious)})")

    # notebook table: one row per node kind
    def _repr_title(self):
        return f"audit: {self.n} samples, {len(self.tied)} tied, {len(self.spurious)} spurious"

    def _repr_columns(self):
        return ["op", "layer", "exact", "rounding", "flips"]

    def _repr_rows(self):
        return [[op, layer, c["exact"], c["rounding"], c["flips"]] for (op, layer), c in self.by_node.items()]


def norm_max(A, B):
    """``max |A - B|`` over two exact matrices (tuples of tuples)."""
    return max((abs(a - b) for ra, rb in zip(A, B) for a, b in zip(ra, rb)), default=0)


def l2(values):
    return math.sqrt(sum(float(v) ** 2 for v in values))
