"""``python -m mtsym``: the same as the ``mtsym`` command (see :mod:`mtsym.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
