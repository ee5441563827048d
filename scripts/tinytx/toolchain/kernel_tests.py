"""Build the C kernel test runner for a target, feed it seeded vectors, parse its verdicts.

The runner (tests/kernels) is one body of C test code; this module only picks the
toolchain, writes the golden vectors and runs the binary natively or on QEMU.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from tinytx.core.resources import firmware_tests_dir, resolve_build_dir
from tinytx.core.targets import get_target
from tinytx.core.vectors import generate_cases, write_cases
from tinytx.toolchain.build import cmake_build, exp_table_defines
from tinytx.toolchain.emu.qemu import run_program

RUNNER_NAME = "tinytx_kernel_tests"
DEFAULT_SEED = 20261121
DEFAULT_CASES = 240


def runner_source() -> Path:
    """The CMake project of the C kernel test runner (tests/kernels)."""
    return firmware_tests_dir() / "kernels"


_SUMMARY = re.compile(r"^SUMMARY kernel=(\S+) passed=(\d+) failed=(\d+)$", re.M)
_TOTAL = re.compile(r"^TOTAL passed=(\d+) failed=(\d+)$", re.M)


@dataclass(frozen=True)
class KernelSummary:
    kernel: str
    passed: int
    failed: int


@dataclass
class SuiteReport:
    target: str
    returncode: int
    output: str
    summaries: dict[str, KernelSummary] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    total_passed: int = 0
    total_failed: int = 0
    complete: bool = False  # the runner printed its TOTAL line


def parse_runner_output(target: str, returncode: int, text: str) -> SuiteReport:
    report = SuiteReport(target, returncode, text)
    for m in _SUMMARY.finditer(text):
        report.summaries[m[1]] = KernelSummary(m[1], int(m[2]), int(m[3]))
    report.failures = [ln for ln in text.splitlines() if ln.startswith(("FAIL ", "ERROR "))]
    total = _TOTAL.search(text)
    if total:
        report.complete = True
        report.total_passed, report.total_failed = int(total[1]), int(total[2])
    return report


def build_runner(
    target_name: str,
    build_root: Path | None = None,
    kernels: str | None = None,
    exp_table: bool = False,
) -> Path:
    """``exp_table``: the arm kernels with their softmax exp table (TINYTX_ARM_EXP_TABLE)."""
    build_root = resolve_build_dir(build_root)
    target = get_target(target_name)
    variant = target.check_kernels(kernels or target.default_kernels)
    name = f"{target_name}-{variant}" + ("-exptable" if exp_table else "")
    build_dir = build_root.resolve() / "kernel-tests" / name
    defines = {
        "TINYTX_WERROR": "ON",
        "TINYTX_KERNEL_VARIANT": variant,
        **exp_table_defines(variant, exp_table),
    }
    cmake_build(runner_source(), build_dir, target, defines)
    return build_dir / RUNNER_NAME


def write_vectors(path: Path, seed: int, cases: int, kernels: list[str] | None = None) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_cases(path, generate_cases(seed, cases, kernels))


def run_suite(
    target_name: str,
    vectors: Path,
    build_root: Path | None = None,
    timeout: float = 900.0,
    kernels: str | None = None,
    exp_table: bool = False,
) -> SuiteReport:
    """Build the runner for ``target_name`` (kernel variant ``kernels``, default: the
    target's; ``exp_table``: see :func:`build_runner`) and run it once over every case
    in ``vectors``."""
    build_root = resolve_build_dir(build_root)
    target = get_target(target_name)
    program = build_runner(target_name, build_root, kernels, exp_table)
    result = run_program(target, program, [str(vectors.resolve())], timeout)
    return parse_runner_output(target_name, result.returncode, result.stdout + result.stderr)
