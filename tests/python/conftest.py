"""Shared fixtures: the seeded vector file and one runner execution per target."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tinytx import kernel_tests as kt

REPO_ROOT = Path(__file__).resolve().parents[2]
# Parallel developers (or CI shards) can keep their builds apart.
BUILD_ROOT = Path(os.environ.get("TINYTX_PYTEST_BUILD_ROOT", REPO_ROOT / "build" / "pytest"))


@pytest.fixture(scope="session")
def build_root() -> Path:
    return BUILD_ROOT


@pytest.fixture(scope="session")
def kernel_vectors() -> Path:
    path = BUILD_ROOT / "vectors.bin"
    kt.write_vectors(path, kt.DEFAULT_SEED, kt.DEFAULT_CASES)
    return path


@pytest.fixture(scope="session")
def suite_reports(kernel_vectors: Path):
    """Runs the C runner at most once per target over every case (batched emulator runs)."""
    cache: dict[tuple[str, str], kt.SuiteReport] = {}

    def get(target: str, kernels: str) -> kt.SuiteReport:
        if (target, kernels) not in cache:
            cache[target, kernels] = kt.run_suite(
                target, kernel_vectors, BUILD_ROOT, kernels=kernels
            )
        return cache[target, kernels]

    return get
