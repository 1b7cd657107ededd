"""``mtsym audit``: the tie audit of a model from a file on a data set, from the command line.

::

    mtsym audit model.py:net --data FILE.npy|digits [--dtype float32] [--json out.json] [--plot out.png]

``--data digits`` is scikit-learn's bundled 8x8 digits (1,797 images, pixels 0..16, flattened to
64 inputs; shipped inside scikit-learn, no download).  A ``.npy`` file is read with
``allow_pickle=False`` (data, never code); its rows are the samples.  ``--scheduler ADDRESS``
runs the audit on a Dask cluster.
"""

__all__ = ["add_parser", "load_data"]

import os

import numpy as np

from ..errors import InputError


def load_data(spec, labels=None):
    """``(X, y, image shape)`` from ``digits`` or a ``.npy`` file (``y``: labels or None)."""
    if spec == "digits":
        try:
            from sklearn.datasets import load_digits
        except ImportError:
            raise InputError("--data digits needs scikit-learn (its bundled digits, no download): "
                             "pip install scikit-learn") from None
        d = load_digits()
        return d.data.astype(np.float64), d.target, (8, 8)
    if not spec.endswith(".npy"):
        raise InputError(f"--data {spec!r}: give a .npy file or 'digits'")
    if not os.path.isfile(spec):
        raise InputError(f"--data: no such file: {spec}")
    try:
        X = np.load(spec, allow_pickle=False)
    except ValueError as e:
        raise InputError(f"--data {spec}: not a plain numeric .npy array ({e})") from None
    shape = X.shape[1:] if X.ndim == 3 else None
    y = None
    if labels is not None:
        y = np.load(labels, allow_pickle=False)
    return X, y, shape


def _run(args, load_function, parse_convention, CliError):
    from .run import audit
    fn = load_function(args.function)
    X, y, shape = load_data(args.data, args.labels)
    if args.limit is not None:
        X = X[:args.limit]
        y = None if y is None else y[:args.limit]
    client = None
    if args.scheduler:
        from ..backends.distributed import require_distributed
        client = require_distributed("--scheduler").Client(args.scheduler, timeout=30)
    framework = None if args.framework == "mtsym" else args.framework
    conv = parse_convention(args.convention) if args.convention else None
    try:
        report = audit(fn, X, inputs=args.inputs, framework=framework, dtype=args.dtype, client=client,
                       convention=conv, loss=args.loss, y=y if args.loss == "cross_entropy" else None,
                       progress=not args.quiet and None)
    finally:
        if client is not None:
            client.close()
    print(report)
    if args.json:
        report.to_json(args.json)
        print(f"wrote {args.json}")
    if args.plot:
        report.plot(args.plot, images=X, shape=shape)
        print(f"wrote {args.plot}")
    return 0


def add_parser(sub, run_with):
    """Add the ``audit`` command to the ``mtsym`` parser (``run_with(fn)`` wraps its runner)."""
    a = sub.add_parser("audit", help="tie audit of a model on a data set",
                       description="Per sample: the ties the framework's float forward pass meets, exact and "
                       "rounding ties, and whether its gradient is a Clarke gradient (exact arithmetic).")
    a.add_argument("function", metavar="FILE.py:MODEL", help="the model (a function or torch module) in a file")
    a.add_argument("--data", required=True, metavar="FILE.npy|digits", help="samples, one per row, or 'digits'")
    a.add_argument("--labels", metavar="FILE.npy", help="labels for --loss cross_entropy (digits has its own)")
    a.add_argument("--dtype", choices=("float32", "float64"), default="float32", help="the framework's float type")
    a.add_argument("--framework", choices=("torch", "jax", "mtsym"), default="torch",
                   help="whose code and tie rules (mtsym: mtsym code, --convention)")
    a.add_argument("--convention", default=None, help="tie rules of nodes that pin none (default: the framework's)")
    a.add_argument("--inputs", type=int, default=None, help="inputs per sample (default: a row's length)")
    a.add_argument("--loss", choices=("sum", "cross_entropy"), default=None,
                   help="also audit relu'(0) = 0 vs 1 on this loss's parameter gradient")
    a.add_argument("--limit", type=int, default=None, metavar="N", help="audit the first N samples only")
    a.add_argument("--scheduler", metavar="ADDRESS", help="run on the Dask scheduler at this address")
    a.add_argument("--json", metavar="FILE", help="write the report as JSON (exact numbers as p/q)")
    a.add_argument("--plot", metavar="PNG", help="draw ties per layer and the spurious samples")
    a.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    a.set_defaults(run=run_with(_run))
    return a
