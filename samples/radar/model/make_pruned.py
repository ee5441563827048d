"""Pruned variants of the radar sample model -> pruned/<variant>/ (see pruned/README.md).

.venv/bin/python samples/radar/model/make_pruned.py [u50 u75 u90 b75]
"""

from __future__ import annotations

import sys

from make_model import SPEC
from prune import build_pruned

if __name__ == "__main__":
    build_pruned(SPEC, sys.argv[1:])
