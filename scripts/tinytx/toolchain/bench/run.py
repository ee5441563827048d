"""Running the benchmark: shapes, measurements and the comparison with the reference.

`BenchSession` owns one bench ELF and one `CostedRunner` for a (target, variant) and
measures shape after shape on them (the scratch heap is reset between shapes, the
buffers of every call are re-initialised before it). `run_bench` measures a variant and,
unless told otherwise, the reference variant built with the same flags, and returns a
`BenchReport`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tinytx.core.errors import TinytxError, UserInputError
from tinytx.core.golden.limits import kernel_limits
from tinytx.core.resources import resolve_build_dir
from tinytx.core.targets import Target, get_target
from tinytx.core.workloads import SHAPES, MhsaShape
from tinytx.toolchain.bench.cases import (
    KERNELS,
    WHOLE_BLOCK,
    dft_case,
    golden_trace,
    heap_bytes,
    make_workload,
    prepare_cases,
    run_case,
    run_cases,
)
from tinytx.toolchain.bench.costs import CostModel
from tinytx.toolchain.bench.elementwise import ELEMENTWISE, prepare_elementwise
from tinytx.toolchain.bench.firmware import (
    REQUIRED_FUNCTIONS,
    build_bench_elf,
    check_bench_target,
    compiler_version,
)
from tinytx.toolchain.bench.runner import CostedRunner

REFERENCE_VARIANT = "ref"
#: Every measured kernel: the MHSA block's calls, then the element-wise kernels.
BENCH_KERNELS: tuple[str, ...] = (*KERNELS, *ELEMENTWISE)
DEFAULT_SEED = 7  # also in tinytx.cli.commands.bench
_SHAPE_HELP = "A, B, C, D or S,E,P,H (four positive integers in that order, e.g. 81,32,32,8)"


@dataclass(frozen=True)
class ShapeSpec:
    """A benchmark shape and its name: "A".."D", or "S,E,P,H" for a custom one."""

    name: str
    shape: MhsaShape

    @property
    def sephs(self) -> tuple[int, int, int, int]:
        """(S, E, P, H): the order of the shape tables and of ``--shape``."""
        s = self.shape
        return s.seq_len, s.embed_dim, s.head_dim, s.heads

    def describe(self) -> str:
        s, e, p, h = self.sephs
        return f"S={s} E={e} P={p} H={h}"


def parse_shape(text: str) -> ShapeSpec:
    """``A``..``D`` (case-insensitive) or ``S,E,P,H``; a one-line ValueError otherwise."""
    key = text.strip().upper()
    if key in SHAPES:
        return ShapeSpec(key, SHAPES[key])
    parts = [t.strip() for t in text.split(",")]
    if len(parts) != 4:
        raise UserInputError(f"--shape: {text!r} is not a shape; use {_SHAPE_HELP}")
    try:
        s, e, p, h = (int(t) for t in parts)
    except ValueError:
        raise UserInputError(f"--shape: {text!r} is not a shape; use {_SHAPE_HELP}") from None
    if min(s, e, p, h) < 1:
        raise UserInputError(f"--shape: {text!r}: S, E, P and H must all be >= 1")
    lim = kernel_limits()
    if s > lim.softmax_max_kv:
        raise UserInputError(
            f"--shape: {text!r}: S={s} exceeds the softmax limit of {lim.softmax_max_kv} keys"
        )
    if max(e, h * p) > lim.max_reduction:
        raise UserInputError(
            f"--shape: {text!r}: E and H*P must be <= {lim.max_reduction} (reduction limit)"
        )
    shape = MhsaShape(seq_len=s, embed_dim=e, heads=h, head_dim=p)
    for name, named in SHAPES.items():
        if named == shape:
            return ShapeSpec(name, named)
    return ShapeSpec(f"{s},{e},{p},{h}", shape)


def parse_shapes(texts: Sequence[str] | None) -> list[ShapeSpec]:
    """The shapes of ``--shape`` (default: A, B, C, D), duplicates dropped."""
    specs = (
        [parse_shape(t) for t in texts] if texts else [ShapeSpec(n, s) for n, s in SHAPES.items()]
    )
    unique: dict[str, ShapeSpec] = {}
    for spec in specs:
        unique.setdefault(spec.name, spec)
    return list(unique.values())


@dataclass(frozen=True)
class KernelMeasurement:
    kernel: str
    function: str
    macs: int
    instructions: int
    modelled_cycles: int
    stages: dict[str, int] | None = None  # exact instructions by stage (the whole block)
    elements: int = 0  # element-wise kernels: elements processed
    scratch_bytes: int | None = None  # the depth-first block: its *_get_buffer_size


@dataclass(frozen=True)
class ShapeMeasurement:
    spec: ShapeSpec
    kernels: dict[str, KernelMeasurement]
    dft: KernelMeasurement | None = None  # the depth-first block, when a tile size was given

    @property
    def total_instructions(self) -> int:
        """Exact instructions of one whole MHSA block (the ``--total`` figure)."""
        return self.kernels[WHOLE_BLOCK].instructions


@dataclass(frozen=True)
class VariantRun:
    """All the shapes measured on one (target, variant) ELF."""

    target: str
    cpu: str
    variant: str
    elf: Path
    shapes: tuple[ShapeMeasurement, ...]

    def shape(self, name: str) -> ShapeMeasurement:
        for s in self.shapes:
            if s.spec.name == name:
                return s
        raise KeyError(name)


@dataclass(frozen=True)
class BenchReport:
    target: Target
    seed: int
    run: VariantRun
    reference: VariantRun | None
    compiler: str
    cost_model: dict = field(default_factory=dict)


Progress = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class BenchSession:
    """One bench ELF of (target, variant) and its runner, reused across shapes."""

    def __init__(
        self,
        target: Target,
        variant: str,
        build_root: Path | None = None,
        *,
        heap: int = 8 << 20,
        progress: Progress | None = None,
        exp_table: bool = False,
    ) -> None:
        build_root = resolve_build_dir(build_root)
        check_bench_target(target)
        self.target = target
        self.variant = target.check_kernels(variant)
        self.progress = progress or (lambda _msg: None)
        self.progress(f"building the bench firmware for {target.name} ({variant} kernels)")
        self.elf = build_bench_elf(target, variant, build_root, exp_table)
        self.model = CostModel(target.cpu or "")
        self._heap = 0
        self._runner: CostedRunner | None = None
        self._ensure_heap(heap)

    def _ensure_heap(self, size: int) -> CostedRunner:
        if self._runner is None or size > self._heap:
            self._heap = max(size, self._heap)
            runner = CostedRunner(self.elf, self.model, scratch_size=self._heap)
            missing = [f for f in REQUIRED_FUNCTIONS if not _has_symbol(runner, f)]
            if missing:
                raise TinytxError(f"{self.elf}: kernels missing from the bench ELF: {missing}")
            self._runner = runner
        return self._runner

    @property
    def runner(self) -> CostedRunner:
        assert self._runner is not None
        return self._runner

    def measure(
        self, spec: ShapeSpec, seed: int = DEFAULT_SEED, tile: int | None = None
    ) -> ShapeMeasurement:
        """Run every kernel of `KERNELS` on `spec`, checked against the golden model
        (``tile``: also the depth-first block with min(tile, S) rows per tile)."""
        runner = self._ensure_heap(heap_bytes(spec.shape))
        runner.reset()
        work = make_workload(spec.shape, seed)
        trace = golden_trace(work)
        where = f"{self.target.name}/{self.variant} shape {spec.name}"
        self.progress(f"{where} ({spec.describe()}): running {len(BENCH_KERNELS)} kernel calls")
        try:
            cases = prepare_cases(runner, work, trace)
            cases += prepare_elementwise(runner, work, trace["y"], seed)
        except MemoryError as exc:
            raise TinytxError(f"{where}: the shape does not fit the emulated heap: {exc}") from exc
        measured = run_cases(runner, cases, where)
        dft = None
        if tile is not None:
            block = cases[KERNELS.index(WHOLE_BLOCK)]
            case = dft_case(runner, block, min(tile, spec.shape.seq_len))
            m = run_case(runner, case, where, stages=True)
            dft = KernelMeasurement(
                case.kernel, case.function, case.macs, m.instructions, m.modelled_cycles,
                m.stages, scratch_bytes=case.scratch[0][1],
            )  # fmt: skip
        return ShapeMeasurement(
            spec,
            {
                c.kernel: KernelMeasurement(
                    c.kernel,
                    c.function,
                    c.macs,
                    measured[c.kernel].instructions,
                    measured[c.kernel].modelled_cycles,
                    measured[c.kernel].stages,
                    c.elements,
                )
                for c in cases
            },
            dft,
        )

    def run(
        self, specs: Sequence[ShapeSpec], seed: int = DEFAULT_SEED, tile: int | None = None
    ) -> VariantRun:
        return VariantRun(
            self.target.name,
            self.target.cpu or "",
            self.variant,
            self.elf,
            tuple(self.measure(spec, seed, tile) for spec in specs),
        )


def _has_symbol(runner: CostedRunner, name: str) -> bool:
    try:
        runner.symbol(name)
    except ValueError:
        return False
    return True


def run_bench(
    target_name: str,
    specs: Sequence[ShapeSpec],
    variant: str | None = None,
    *,
    seed: int = DEFAULT_SEED,
    build_root: Path | None = None,
    compare: bool = True,
    progress: Progress | None = _stderr,
    tile: int | None = None,
    exp_table: bool = False,
) -> BenchReport:
    """Measure `variant` (default: the target's) and, if `compare`, the reference
    (``tile``: also the depth-first block, :meth:`BenchSession.measure`; ``exp_table``:
    `variant` built with the arm softmax exp table)."""
    build_root = resolve_build_dir(build_root)
    target = get_target(target_name)
    check_bench_target(target)
    variant = target.check_kernels(variant or target.default_kernels)
    session = BenchSession(target, variant, build_root, progress=progress, exp_table=exp_table)
    run = session.run(specs, seed, tile)
    reference = None
    if variant == REFERENCE_VARIANT:
        reference = run
    elif compare:
        if progress is not None:
            progress(f"reference comparison: the same calls with the {REFERENCE_VARIANT} kernels")
        ref_session = BenchSession(target, REFERENCE_VARIANT, build_root, progress=progress)
        reference = ref_session.run(specs, seed, tile)
    return BenchReport(
        target, seed, run, reference, compiler_version(target), session.model.costs.as_dict()
    )


def measure_variant(
    target_name: str,
    specs: Sequence[ShapeSpec],
    variant: str | None = None,
    seed: int = DEFAULT_SEED,
    build_root: Path | None = None,
) -> VariantRun:
    """Build and measure one (target, variant), quietly; picklable for process pools."""
    build_root = resolve_build_dir(build_root)
    target = get_target(target_name)
    variant = variant or target.default_kernels
    return BenchSession(target, variant, build_root).run(specs, seed)
