"""Locations inside a tinytx checkout (the Python package lives in scripts/tinytx)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
BOARDS_DIR = REPO_ROOT / "boards"
KERNELS_DIR = REPO_ROOT / "kernels"
TESTS_DIR = REPO_ROOT / "tests"
SAMPLES_DIR = REPO_ROOT / "samples"
BAREMETAL_PORT_DIR = REPO_ROOT / "module" / "ports" / "baremetal"
# Where commands build when no --build-dir is given; TINYTX_BUILD_DIR moves it (the test
# session points it at its own directory).
DEFAULT_BUILD_DIR = Path(os.environ.get("TINYTX_BUILD_DIR") or REPO_ROOT / "build")
