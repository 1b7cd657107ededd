"""Test configuration for the whole repository: doctests of modules that need an optional extra
are skipped, with the reason, when that extra is not installed (``pip install -e ".[test]"`` alone
runs everything else)."""
import importlib.util

import pytest

#: module path fragment -> the optional package its doctests need
NEEDS = {"mtsym/export/plot.py": "matplotlib", "mtsym/frameworks/jax/": "jax",
         "mtsym/frameworks/torch/": "torch", "mtsym/frameworks/check.py": "torch",
         "mtsym/frameworks/declare.py": "torch"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = str(item.fspath).replace("\\", "/")
        for fragment, package in NEEDS.items():
            hit = fragment in path if fragment.endswith("/") else path.endswith(fragment)
            if hit and importlib.util.find_spec(package) is None:
                item.add_marker(pytest.mark.skip(reason=f"needs the optional package {package}"))
