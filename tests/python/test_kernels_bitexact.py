"""Reference C kernels are bit-exact with the golden model on host, M4, M7 and RV32.

One runner binary per target executes all cases of all kernels in one process
(one QEMU boot per target); each test below checks one kernel's verdicts.
"""

from __future__ import annotations

import pytest

from tinytx.core.targets import load_targets
from tinytx.core.vectors import KERNEL_IDS
from tinytx.toolchain import kernel_tests as kt

pytestmark = pytest.mark.firmware

# Every kernel variant each target can build: (host, ref), (m4, arm), (m4, ref), ...
RUNS = [f"{t.name}-{v}" for t in load_targets().values() for v in t.kernels]
# The arm kernels on M4 are built with their softmax exp table (TINYTX_ARM_EXP_TABLE), on
# M7 without (the default): both settings are checked.
EXP_TABLE_RUNS = {"m4-arm"}
MIN_CASES = 200


def _report(suite_reports, run: str):
    target, kernels = run.split("-")
    return suite_reports(target, kernels, run in EXP_TABLE_RUNS)


@pytest.mark.parametrize("kernel", list(KERNEL_IDS))
@pytest.mark.parametrize("run", RUNS)
def test_kernel_bit_exact(suite_reports, run: str, kernel: str) -> None:
    report = _report(suite_reports, run)
    assert report.complete, f"runner on {run} did not finish:\n{report.output[-3000:]}"
    summary = report.summaries[kernel]
    failures = [f for f in report.failures if f"kernel={kernel} " in f]
    assert summary.failed == 0, "\n".join(failures[:20])
    assert summary.passed >= MIN_CASES
    assert summary.passed == kt.DEFAULT_CASES


@pytest.mark.parametrize("run", RUNS)
def test_argument_validation(suite_reports, run: str) -> None:
    report = _report(suite_reports, run)
    summary = report.summaries["validation"]
    assert summary.failed == 0, "\n".join(f for f in report.failures if "validation" in f)
    assert summary.passed >= 60
    assert report.returncode == 0


def test_exp_table_is_linked_only_when_asked(suite_reports, build_root) -> None:
    """The table-on runner links tt_exp_x_table, the default (table-off) one does not."""
    from tinytx.toolchain.report.elf import read_elf

    def names(target: str, exp_table: bool) -> set[str]:
        _report(suite_reports, f"{target}-arm")  # built by the runs above
        elf = read_elf(kt.build_runner(target, build_root, "arm", exp_table))
        return {s.name for s in elf.symbols}

    assert {"tt_exp_x_table", "tt_exp4x_h1"} <= names("m4", True)
    assert "tt_exp_x_table" not in names("m7", False)
    assert "tt_exp4x_h1" not in names("m7", False)
