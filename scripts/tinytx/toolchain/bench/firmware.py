"""The bench firmware: one ELF per (target, kernel variant) holding every kernel.

``tests/bench/src/bench_main.c`` takes the address of every public kernel, so none is
dropped by ``--gc-sections``; the kernels come from ``kernels/sources.cmake`` for the
chosen variant, built by the bare-metal port with the target's flags from
``boards/targets.yaml``. The ELF does not depend on the shape: the benchmark writes the
data into emulated memory and calls the kernels directly.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tinytx.core.resources import baremetal_port_dir, firmware_tests_dir
from tinytx.core.targets import Target
from tinytx.toolchain.build import cmake_build, compiler_for, exp_table_defines

APP = "tinytx_bench"


def bench_source() -> Path:
    """The bench firmware (tests/bench/src/bench_main.c)."""
    return firmware_tests_dir() / "bench" / "src" / "bench_main.c"


#: Functions the benchmark calls; `BenchSession` checks that each survived the link.
REQUIRED_FUNCTIONS = (
    "tinytx_linear_s8",
    "tinytx_qk_softmax_s8_get_buffer_size",
    "tinytx_qk_softmax_s8",
    "tinytx_av_s8",
    "tinytx_mhsa_s8_get_buffer_size",
    "tinytx_mhsa_s8",
)


def check_bench_target(target: Target) -> None:
    if not target.emulated or not (target.cpu or "").startswith("cortex-m"):
        raise ValueError(
            f"--target: the benchmark runs on an emulated Cortex-M (m4, m7), not {target.name!r}"
        )


def build_bench_elf(
    target: Target, variant: str, build_root: Path, exp_table: bool = False
) -> Path:
    """Build (incrementally) the bench ELF of `target` with kernel `variant`
    (``exp_table``: the arm softmax exp table, :func:`tinytx.toolchain.build.exp_table_defines`)."""
    check_bench_target(target)
    name = f"{target.name}-{variant}" + ("-exptable" if exp_table else "")
    build_dir = (build_root / "bench" / name).resolve()
    cmake_build(
        baremetal_port_dir(),
        build_dir,
        target,
        {
            "TINYTX_APP_NAME": APP,
            "TINYTX_APP_SOURCES": str(bench_source()),
            "TINYTX_KERNEL_VARIANT": target.check_kernels(variant),
            **exp_table_defines(variant, exp_table),
        },
    )
    return build_dir / APP


def compiler_version(target: Target) -> str:
    """``arm-none-eabi-gcc (...) 12.2.1 ...``: the first line of ``--version``."""
    try:
        proc = subprocess.run(
            [compiler_for(target), "--version"], capture_output=True, text=True, check=False
        )
    except OSError:
        return "unknown"
    lines = proc.stdout.splitlines()
    return lines[0].strip() if lines else "unknown"
