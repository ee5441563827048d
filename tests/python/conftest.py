"""Session set-up shared by every test file.

- Hermetic builds: the session builds under a directory of its own (firmware, vector
  file, hypothesis's database, and every `tinytx` command the tests start, through
  TINYTX_BUILD_DIR), so two sessions never share a build. It is
  ``build/pytest/session-<time>-<pid>``, removed after a passing session and kept (its
  path printed) after a failing one; TINYTX_PYTEST_BUILD_ROOT names a fixed directory
  instead, which is kept and reused (incremental builds while developing).
- Tiers: a test file whose tests build firmware or run an emulator declares
  ``pytestmark = pytest.mark.firmware``; ``make test-fast`` runs the rest.
- CI (CI=true): a missing tool is an error naming it, and no test may be skipped.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def _session_build_root() -> tuple[Path, bool]:
    fixed = os.environ.get("TINYTX_PYTEST_BUILD_ROOT")
    if fixed:
        return Path(fixed).resolve(), False
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return REPO_ROOT / "build" / "pytest" / f"session-{stamp}-{os.getpid()}", True


# Every tinytx build in the session (library calls and `tinytx` commands alike) goes here:
# tinytx.core.resources.resolve_build_dir reads TINYTX_BUILD_DIR when no directory is given.
BUILD_ROOT, TEMPORARY_BUILD_ROOT = _session_build_root()
os.environ["TINYTX_BUILD_DIR"] = str(BUILD_ROOT)

from tinytx.toolchain import kernel_tests as kt  # noqa: E402

if importlib.util.find_spec("hypothesis"):
    from hypothesis.configuration import set_hypothesis_home_dir

    set_hypothesis_home_dir(str(BUILD_ROOT / "hypothesis"))

# What the full suite runs: executables on PATH and Python modules in the venv.
REQUIRED_EXECUTABLES = (
    "gcc",
    "cmake",
    "arm-none-eabi-gcc",
    "riscv64-unknown-elf-gcc",
    "qemu-system-arm",
    "qemu-system-riscv32",
)
REQUIRED_MODULES = ("onnxruntime", "hypothesis", "unicorn", "pykwalify", "kconfiglib", "west")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing_tools() -> list[str]:
    missing = [f"{exe} (executable)" for exe in REQUIRED_EXECUTABLES if not shutil.which(exe)]
    missing += [
        f"{mod} (Python module)" for mod in REQUIRED_MODULES if not importlib.util.find_spec(mod)
    ]
    return missing


def pytest_sessionstart(session: pytest.Session) -> None:
    if in_ci():
        missing = missing_tools()
        if missing:
            pytest.exit(
                f"CI=true: missing tools: {', '.join(missing)}; install them with "
                "scripts/setup.sh (a missing tool is an error in CI, not a skip)",
                returncode=3,
            )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"CI=true: a test may not be skipped ({_skip_reason(report)})"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    outcome = yield
    report = outcome.get_result()
    if in_ci() and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"CI=true: a test file may not be skipped ({_skip_reason(report)})"


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not TEMPORARY_BUILD_ROOT or not BUILD_ROOT.exists():
        return
    if exitstatus == 0:
        shutil.rmtree(BUILD_ROOT, ignore_errors=True)
    else:
        print(f"\ntest builds kept in {BUILD_ROOT}")


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
    cache: dict[tuple[str, str, bool], kt.SuiteReport] = {}

    def get(target: str, kernels: str, exp_table: bool = False) -> kt.SuiteReport:
        key = (target, kernels, exp_table)
        if key not in cache:
            cache[key] = kt.run_suite(
                target, kernel_vectors, BUILD_ROOT, kernels=kernels, exp_table=exp_table
            )
        return cache[key]

    return get
