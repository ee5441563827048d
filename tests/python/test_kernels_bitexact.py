"""Reference C kernels are bit-exact with the golden model on host, M4, M7 and RV32.

One runner binary per target executes all cases of all kernels in one process
(one QEMU boot per target); each test below checks one kernel's verdicts.
"""

from __future__ import annotations

import pytest

from tinytx import kernel_tests as kt
from tinytx.targets import load_targets
from tinytx.vectors import KERNEL_IDS

pytestmark = pytest.mark.firmware

# Every kernel variant each target can build: (host, ref), (m4, arm), (m4, ref), ...
RUNS = [f"{t.name}-{v}" for t in load_targets().values() for v in t.kernels]
MIN_CASES = 200


@pytest.mark.parametrize("kernel", list(KERNEL_IDS))
@pytest.mark.parametrize("run", RUNS)
def test_kernel_bit_exact(suite_reports, run: str, kernel: str) -> None:
    report = suite_reports(*run.split("-"))
    assert report.complete, f"runner on {run} did not finish:\n{report.output[-3000:]}"
    summary = report.summaries[kernel]
    failures = [f for f in report.failures if f"kernel={kernel} " in f]
    assert summary.failed == 0, "\n".join(failures[:20])
    assert summary.passed >= MIN_CASES
    assert summary.passed == kt.DEFAULT_CASES


@pytest.mark.parametrize("run", RUNS)
def test_argument_validation(suite_reports, run: str) -> None:
    report = suite_reports(*run.split("-"))
    summary = report.summaries["validation"]
    assert summary.failed == 0, "\n".join(f for f in report.failures if "validation" in f)
    assert summary.passed >= 60
    assert report.returncode == 0
