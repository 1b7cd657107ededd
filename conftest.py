"""Test configuration for the whole repository: doctests of modules that need an optional extra
are skipped, with the reason, when that extra is not installed (``pip install -e ".[test]"`` alone
runs everything else)."""
import importlib.util

import pytest

#: module path fragment -> the optional package its doctests need
NEEDS = {"mtsym/export/plot.py": "matplotlib", "mtsym/frameworks/jax.py": "jax",
         "mtsym/frameworks/torch.py": "torch", "mtsym/frameworks/check.py": "torch"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = str(item.fspath).replace("\\", "/")
        for fragment, package in NEEDS.items():
            if path.endswith(fragment) and importlib.util.find_spec(package) is None:
                item.add_marker(pytest.mark.skip(reason=f"needs the optional package {package}"))
