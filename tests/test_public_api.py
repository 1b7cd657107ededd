"""The public API is typed: every function in ``mtsym.__all__`` and every public method of the
public classes annotates its parameters and its return value."""
import inspect

import mtsym as mt


def _unannotated(fn):
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins
        return False
    params = [p for p in sig.parameters.values()
              if p.name not in ("self", "cls") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return any(p.annotation is inspect.Parameter.empty for p in params) or \
        sig.return_annotation is inspect.Signature.empty


def _public_callables():
    for name in mt.__all__:
        obj = getattr(mt, name)
        if inspect.isclass(obj):
            if issubclass(obj, BaseException):
                continue
            for attr, member in vars(obj).items():
                if attr.startswith("_") and attr != "__init__":
                    continue
                if isinstance(member, (classmethod, staticmethod)):
                    member = member.__func__
                if inspect.isfunction(member):
                    yield f"{name}.{attr}", member
        elif callable(obj):
            yield name, obj


def test_every_public_signature_is_annotated():
    missing = [name for name, fn in _public_callables() if _unannotated(fn)]
    assert not missing


def test_the_check_sees_a_missing_annotation():
    def f(x: int, y):
        return x
    assert _unannotated(f) and not _unannotated(mt.derive)
