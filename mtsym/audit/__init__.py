"""Tie audit of a model on a data set: exact, per sample, at scale (:func:`mtsym.audit`).

* :mod:`mtsym.audit.layers`: trace the model once, with the layer that made each node;
* :mod:`mtsym.audit.passes`: the framework's float forward pass, and a float64 pass with error
  bounds that proves the exact case of almost every node;
* :mod:`mtsym.audit.exact`: exact rational arithmetic at the samples the float passes hand over;
* :mod:`mtsym.audit.chunk`: one chunk of samples (in process or on a Dask worker);
* :mod:`mtsym.audit.verdicts`: at an exact tie, is the framework's gradient a Clarke gradient
  (:func:`mtsym.is_clarke`, :func:`mtsym.lex_grad`)?
* :mod:`mtsym.audit.relu0`: the relu'(0) question on a loss's parameter gradient;
* :mod:`mtsym.audit.report`: :class:`AuditReport`.
"""

__all__ = ["audit", "AuditReport", "AuditSample", "NodeTie", "Relu0Audit"]

from .report import AuditReport, AuditSample, NodeTie, Relu0Audit
from .run import audit
