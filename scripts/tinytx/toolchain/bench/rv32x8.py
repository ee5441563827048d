"""``tinytx bench --target rv32x8``: each hart's exact instructions on an 8-core RV32 cluster.

The riscv kernels split their work through ``tinytx_parallel_for``. The bench ELF is the
one-hart RV32 build (boards/targets.yaml ``rv32``: RV32IMC, gcc -O2) of the riscv kernels
with the serial port of ``tinytx/parallel.h``, which runs the n cores' bodies one after
the other. `tinytx.toolchain.emu.unicorn_riscv.RiscvCoreRunner` counts the instructions of every
core's bodies separately, plus the serial part of the call (hart 0's). Each kernel call
of one MHSA block (the calls of `tinytx.toolchain.bench.cases`, plus the depth-first tiled block)
runs once on 1 core and once on n cores, on calibrated data, and is checked against the
golden model. Reported per kernel:

* instructions per hart with n harts (hart 0: serial part + core 0's share);
* the critical path, max over harts: the call's duration in instructions;
* the speedup: instructions on 1 hart / critical path on n harts;
* the load imbalance: critical path / mean over harts - 1.

Excluded and said so: the fork/join of a real port and the time a hart waits at the
join (the barrier); the counts are instructions, not cycles (no memory contention, no
cluster cost model). The same kernel code runs on QEMU ``virt -smp 8`` (target rv32x8),
where the tests check it bit-exact on 1, 2, 4 and 8 real harts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinytx.core.atomic import temp_path
from tinytx.core.errors import TinytxError, UserInputError
from tinytx.core.resources import baremetal_port_dir, firmware_tests_dir
from tinytx.core.targets import get_target
from tinytx.toolchain.bench import cases as bc
from tinytx.toolchain.bench.firmware import compiler_version
from tinytx.toolchain.bench.run import ShapeSpec
from tinytx.toolchain.build import cmake_build
from tinytx.toolchain.emu.unicorn_riscv import CoreCounts, RiscvCoreRunner

TARGET = "rv32x8"
BUILD_TARGET = "rv32"  # the flags of the one-hart RV32 target; the port is the serial one
VARIANT = "riscv"
HARTS = 8
DEFAULT_TILE = 8
APP = "tinytx_bench_rv32x8"
# bench_main.c keeps the kernels; the second file the DFT block and the setter
SOURCE_NAMES = ("bench_main.c", "bench_rv32x8_keep.c")
DFT = "mhsa_dft"
KERNELS: tuple[str, ...] = (*bc.KERNELS, DFT)
DESCRIPTIONS = {
    **bc.KERNEL_DESCRIPTIONS,
    DFT: "whole depth-first tiled MHSA block, tinytx_mhsa_dft_s8",
}
_MAX_INSTRUCTIONS = 4_000_000_000
COUNTING = (
    "exact executed instructions per hart (unicorn, RV32IMC): the cores' bodies of every "
    "tinytx_parallel_for and, on hart 0, the serial part of the call; fork/join and "
    "barrier waiting excluded"
)


@dataclass(frozen=True)
class KernelSplit:
    """One kernel call on 1 hart and on n harts."""

    kernel: str
    function: str
    macs: int
    one_hart: int
    per_hart: tuple[int, ...]
    forks: int
    glue: int  # the serial port's loop on n harts (stands in for fork/join; excluded)

    @property
    def critical_path(self) -> int:
        return max(self.per_hart)

    @property
    def speedup(self) -> float:
        return self.one_hart / self.critical_path

    @property
    def imbalance(self) -> float:
        """Critical path over the mean hart, minus 1 (0.0: perfectly balanced)."""
        return self.critical_path * len(self.per_hart) / sum(self.per_hart) - 1.0


@dataclass(frozen=True)
class ShapeSplit:
    spec: ShapeSpec
    tile_rows: int
    kernels: dict[str, KernelSplit]

    @property
    def mhsa_speedup(self) -> float:
        """The 1-to-n-hart critical-path speedup of the whole MHSA block."""
        return self.kernels[bc.WHOLE_BLOCK].speedup


@dataclass(frozen=True)
class Rv32x8Report:
    harts: int
    seed: int
    compiler: str
    elf: Path
    shapes: tuple[ShapeSplit, ...]


def build_elf(build_root: Path) -> Path:
    """Build (incrementally) the bench ELF: riscv kernels, serial parallel port."""
    target = get_target(BUILD_TARGET)
    build_dir = (build_root / "bench" / f"{TARGET}-{VARIANT}").resolve()
    cmake_build(
        baremetal_port_dir(),
        build_dir,
        target,
        {
            "TINYTX_APP_NAME": APP,
            "TINYTX_APP_SOURCES": ";".join(
                str(firmware_tests_dir() / "bench" / "src" / n) for n in SOURCE_NAMES
            ),
            "TINYTX_KERNEL_VARIANT": target.check_kernels(VARIANT),
            "TINYTX_PARALLEL_PORT": "serial",
        },
    )
    return build_dir / APP


def _dft_case(runner: RiscvCoreRunner, mhsa: bc.KernelCase, tile: int) -> bc.KernelCase:
    """The depth-first block on the data and parameters of the layer-wise block's case."""
    dims, params, weights, x, _y, _scratch = mhsa.args
    need = runner.call(
        "tinytx_mhsa_dft_s8_get_buffer_size", [dims, tile, runner.cores]
    ).return_value
    if need < 0:
        raise TinytxError(f"tinytx_mhsa_dft_s8 rejects tile_rows={tile} (status {need})")
    scratch = runner.alloc(max(need, 4), align=8)
    y = runner.alloc(len(mhsa.expected) + bc.GUARD_BYTES, align=8)
    ctx = bc.alloc_context(runner, scratch, need)  # type: ignore[arg-type]
    return bc.KernelCase(
        DFT, "tinytx_mhsa_dft_s8", mhsa.macs, (dims, tile, params, weights, x, y, ctx),
        y, mhsa.expected, ((scratch, need),),
    )  # fmt: skip


def _run_all(
    runner: RiscvCoreRunner,
    work: Any,
    trace: Any,
    tile: int,
    cores: int,
    where: str,
    kernels: Sequence[str],
) -> tuple[dict[str, bc.KernelCase], dict[str, CoreCounts]]:
    runner.reset()
    runner.set_cores(cores)
    try:
        cases = bc.prepare_cases(runner, work, trace)  # type: ignore[arg-type]
        cases.append(_dft_case(runner, cases[-1], tile))
    except MemoryError as exc:
        raise TinytxError(f"{where}: the shape does not fit the emulated heap: {exc}") from exc
    measured: dict[str, CoreCounts] = {}
    for case in (c for c in cases if c.kernel in kernels):
        m = bc.run_case(runner, case, f"{where}, {cores} harts")  # type: ignore[arg-type]
        assert isinstance(m, CoreCounts)
        measured[case.kernel] = m
    return {c.kernel: c for c in cases}, measured


def measure_shape(
    elf: Path,
    spec: ShapeSpec,
    seed: int,
    harts: int = HARTS,
    tile: int = DEFAULT_TILE,
    kernels: Sequence[str] = KERNELS,
) -> ShapeSplit:
    """`kernels` (default: all of `KERNELS`) on 1 and on `harts` harts, each checked
    against the golden model."""
    unknown = sorted(set(kernels) - set(KERNELS))
    if unknown:
        raise UserInputError(f"kernels: unknown {unknown}; known: {', '.join(KERNELS)}")
    tile = min(tile, spec.shape.seq_len)
    runner = RiscvCoreRunner(elf, scratch_size=2 * bc.heap_bytes(spec.shape))
    work = bc.make_workload(spec.shape, seed)
    trace = bc.golden_trace(work)
    where = f"{TARGET} shape {spec.name}"
    cases, one = _run_all(runner, work, trace, tile, 1, where, kernels)
    _, many = _run_all(runner, work, trace, tile, harts, where, kernels)
    split = {
        k: KernelSplit(
            k,
            cases[k].function,
            cases[k].macs,
            one[k].critical_path,
            many[k].per_hart,
            many[k].forks,
            many[k].glue,
        )
        for k in KERNELS
        if k in kernels
    }
    return ShapeSplit(spec, tile, split)


def run_rv32x8(
    specs: Sequence[ShapeSpec],
    seed: int,
    build_root: Path,
    harts: int = HARTS,
    tile: int = DEFAULT_TILE,
    progress: Any = None,
) -> Rv32x8Report:
    if not 1 <= harts <= 64:
        raise UserInputError(f"harts: {harts} is not in 1..64")
    if tile < 1:
        raise UserInputError(f"--tile: must be >= 1, got {tile}")
    say = progress or (lambda _msg: None)
    say(f"building the bench firmware ({BUILD_TARGET} flags, {VARIANT} kernels, serial port)")
    elf = build_elf(build_root)
    shapes = []
    for spec in specs:
        say(f"{TARGET} shape {spec.name} ({spec.describe()}): 1 and {harts} harts")
        shapes.append(measure_shape(elf, spec, seed, harts, tile))
    return Rv32x8Report(harts, seed, compiler_version(get_target(BUILD_TARGET)), elf, tuple(shapes))


# ------------------------------------------------------------------------------- outputs
def table(report: Rv32x8Report) -> str:
    n = report.harts
    lines = [
        f"tinytx bench --target {TARGET}: {n} harts, riscv kernels (plain RV32IMC), "
        f"{report.compiler}",
        f"  {COUNTING}",
    ]
    hart_cols = "".join(f"{'hart' + str(i):>10}" for i in range(n))
    for s in report.shapes:
        lines.append("")
        lines.append(f"shape {s.spec.name} ({s.spec.describe()}), DFT tile {s.tile_rows} rows")
        lines.append(
            f"{'kernel':<11}{'1 hart':>11}{hart_cols}{'critical':>11}{'speedup':>9}{'imbal.':>8}"
        )
        for k, r in s.kernels.items():
            harts = "".join(f"{v:>10,}" for v in r.per_hart)
            lines.append(
                f"{k:<11}{r.one_hart:>11,}{harts}{r.critical_path:>11,}"
                f"{r.speedup:>8.2f}x{100 * r.imbalance:>7.2f}%"
            )
        lines.append(f"whole MHSA block, 1 -> {n} harts: {s.mhsa_speedup:.2f}x")
    return "\n".join(lines)


def to_json(report: Rv32x8Report) -> dict[str, Any]:
    return {
        "format": 1,
        "tool": "tinytx bench",
        "target": TARGET,
        "harts": report.harts,
        "kernels_variant": VARIANT,
        "compiler": report.compiler,
        "seed": report.seed,
        "counting": COUNTING,
        "shapes": [
            {
                "shape": s.spec.name,
                "seq_len": s.spec.shape.seq_len,
                "embed_dim": s.spec.shape.embed_dim,
                "heads": s.spec.shape.heads,
                "head_dim": s.spec.shape.head_dim,
                "dft_tile_rows": s.tile_rows,
                "mhsa_speedup": s.mhsa_speedup,
                "kernels": [
                    {
                        "kernel": k,
                        "function": r.function,
                        "description": DESCRIPTIONS[k],
                        "macs": r.macs,
                        "one_hart_instructions": r.one_hart,
                        "per_hart_instructions": list(r.per_hart),
                        "critical_path_instructions": r.critical_path,
                        "speedup": r.speedup,
                        "load_imbalance": r.imbalance,
                        "parallel_sections": r.forks,
                        "excluded_fork_join_instructions": r.glue,
                        "output_matches_golden": True,  # the run stops at a mismatch
                    }
                    for k, r in s.kernels.items()
                ],
            }
            for s in report.shapes
        ],
    }


def plot(report: Rv32x8Report, path: Path) -> None:
    """Speedup and load imbalance per kernel and shape (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_s, ax_i) = plt.subplots(1, 2, figsize=(13, 4.5))
    width = 0.8 / max(len(report.shapes), 1)
    xs = range(len(KERNELS))
    for i, s in enumerate(report.shapes):
        pos = [x + (i - (len(report.shapes) - 1) / 2) * width for x in xs]
        speedups = [s.kernels[k].speedup if k in s.kernels else 0.0 for k in KERNELS]
        imbalances = [100 * s.kernels[k].imbalance if k in s.kernels else 0.0 for k in KERNELS]
        ax_s.bar(pos, speedups, width, label=f"shape {s.spec.name}")
        ax_i.bar(pos, imbalances, width)
    ax_s.axhline(report.harts, color="black", linewidth=0.8, linestyle="--")
    ax_s.set_ylabel(f"speedup, 1 -> {report.harts} harts (critical path)")
    ax_i.set_ylabel("load imbalance (critical path / mean hart - 1), %")
    for ax in (ax_s, ax_i):
        ax.set_xticks(list(xs))
        ax.set_xticklabels(KERNELS, rotation=30, ha="right")
    ax_s.set_ylim(0, report.harts * 1.25)
    ax_s.legend(loc="upper center", ncol=4)
    fig.suptitle(f"tinytx riscv kernels on {report.harts} RV32 harts: exact instructions (unicorn)")
    fig.tight_layout()
    with temp_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
