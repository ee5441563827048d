"""Pruned variants of the ecg sample model -> pruned/<variant>/ (see pruned/README.md).

.venv/bin/python samples/ecg/model/make_pruned.py [u50 u75 u90 b75]
"""

from __future__ import annotations

import sys

from make_model import SPEC
from prune import build_pruned

if __name__ == "__main__":
    # the smallest model (16-wide attention, 56-weight first convolution) needs longer
    # fine-tuning to recover from pruning
    build_pruned(SPEC, sys.argv[1:], finetune_epochs=15)
