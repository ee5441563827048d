"""Memory of one attention block: the layer-wise and the depth-first tiled (DFT) schedule.

Two figures per schedule, in bytes:

- the **peak** of the block's intermediate activations: what the block holds beyond its
  input ``X [S][E]`` and output ``Y [S][E]`` at its worst step (the accounting of the
  paper and of the project's layer-wise reference figures);
- the **arena**: the planned arena of the whole block, ``X`` and ``Y`` included
  (:func:`tinytx.core.plan.arena.plan_arena` on the block's schedule), which is what a board
  must have and what the QEMU canary test measures.

Layer-wise (``tinytx_linear_s8`` x3, ``tinytx_qk_softmax_s8``, ``tinytx_av_s8``,
``tinytx_linear_s8``, every tensor a buffer of the schedule)::

    peak = 3 * a(S*H*P) + a(H*S*S) + qk             (Q, K, V^T, the map, the softmax's
                                                     scratch qk: the C size, a score row
                                                     per core)

DFT (``tinytx_mhsa_dft_s8``: one step whose scratch is the kernel's, the output may take
the input's memory): its peak is the kernel's whole scratch, as the variant's C
``tinytx_{mhsa,fwsa}_dft_s8_get_buffer_size`` gives it for the cores the firmware runs
(:class:`tinytx.core.plan.scratch.KernelScratch`). The reference kernel's parts, per head
with ``a(n)`` = n rounded up to 4, are a score row, K_h, V_h^T, the Q (or T) and A*V tile
and the probabilities tile, then the head concatenation O ``[S][H*P]``: close to the
paper's per-head ``(2P + S) x + 2PS`` (the kernel writes A*V into the dead Q tile and
holds one int32 score row for the softmax); FWSA has no K_h. The ``riscv`` kernel keeps
those per-head parts once per core, the ``arm`` kernel int16 operands
(kernels/abi/tinytx_abi_<variant>.c names the parts of each).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tinytx.core.errors import UserInputError
from tinytx.core.plan.arena import ArenaPlan, align_up, plan_arena
from tinytx.core.plan.schedule import Buffer, Schedule, Step
from tinytx.core.plan.scratch import KernelScratch
from tinytx.core.workloads import MhsaShape

KERNEL_ALIGN = 4  # the planner's alignment of every buffer (the kernels' int32 parts)
REFERENCE = KernelScratch()  # the reference kernels on one core


def _a4(n: int) -> int:
    return align_up(n, KERNEL_ALIGN)


def qk_scratch(shape: MhsaShape, fused: bool, scratch: KernelScratch = REFERENCE) -> int:
    """Scratch of the layer-wise schedule's ``tinytx_qk_softmax_s8`` call (FWSA: the keys
    are X, one head of E features)."""
    s, h = shape.seq_len, shape.heads
    if fused:
        return scratch.qk_softmax(h, s, s, shape.embed_dim, k_heads=1)
    return scratch.qk_softmax(h, s, s, shape.head_dim)


def check_tile(shape: MhsaShape, tile_rows: int) -> int:
    if isinstance(tile_rows, bool) or not isinstance(tile_rows, int):
        raise UserInputError(f"tile_rows: expected an integer, got {tile_rows!r}")
    if not 1 <= tile_rows <= shape.seq_len:
        raise UserInputError(f"tile_rows: {tile_rows} outside 1..S (S={shape.seq_len})")
    return tile_rows


def dft_head_peak(
    shape: MhsaShape, tile_rows: int, fused: bool = False, scratch: KernelScratch = REFERENCE
) -> int:
    """Bytes of the per-head (and per-core) parts of the DFT kernel's scratch: everything
    below its whole-block part (O, or the ``arm`` kernel's accumulator Yacc or O)."""
    check_tile(shape, tile_rows)
    return scratch.attention_head_bytes(shape, tile_rows, fused)


def dft_peak(
    shape: MhsaShape, tile_rows: int, fused: bool = False, scratch: KernelScratch = REFERENCE
) -> int:
    """Intermediate-activation peak of the DFT block: the kernel's whole scratch."""
    check_tile(shape, tile_rows)
    return scratch.attention(shape, tile_rows, fused)


def layerwise_peak(
    shape: MhsaShape, fused: bool = False, scratch: KernelScratch = REFERENCE
) -> int:
    """Intermediate-activation peak of the layer-wise block (at the softmax step)."""
    s, e, h, p = shape.seq_len, shape.embed_dim, shape.heads, shape.head_dim
    scores = _a4(h * s * e) if fused else 2 * _a4(s * h * p)  # T, or Q and K
    at_softmax = scores + _a4(s * h * p) + _a4(h * s * s) + qk_scratch(shape, fused, scratch)
    at_av = _a4(h * s * s) + _a4(s * h * p) + s * h * p
    return max(at_softmax, at_av)


def _io(shape: MhsaShape) -> list[Buffer]:
    se = shape.seq_len * shape.embed_dim
    return [Buffer("x", se), Buffer("y", se)]


def _outputs(keep_input: bool) -> tuple[str, ...]:
    return ("x", "y") if keep_input else ("y",)


def layerwise_schedule(
    shape: MhsaShape,
    fused: bool = False,
    keep_input: bool = False,
    scratch: KernelScratch = REFERENCE,
) -> Schedule:
    """The primitive kernel calls of the layer-wise block, one buffer per tensor.
    ``keep_input``: X stays live to the end (e.g. for a residual add)."""
    s, e, h, p = shape.seq_len, shape.embed_dim, shape.heads, shape.head_dim
    shp = s * h * p
    qk = qk_scratch(shape, fused, scratch)
    if fused:
        buffers = [Buffer("t", h * s * e)]
        steps = [
            Step("t_proj", ("x",), ("t",)),
            Step("v_proj", ("x",), ("vt",)),
            Step("qk_softmax", ("t", "x"), ("a",), scratch=qk),
        ]
    else:
        buffers = [Buffer("q", shp), Buffer("k", shp)]
        steps = [
            Step("q_proj", ("x",), ("q",)),
            Step("k_proj", ("x",), ("k",)),
            Step("v_proj", ("x",), ("vt",)),
            Step("qk_softmax", ("q", "k"), ("a",), scratch=qk),
        ]
    buffers += [Buffer("vt", shp), Buffer("a", h * s * s), Buffer("o", shp)]
    steps += [Step("av", ("a", "vt"), ("o",)), Step("out_proj", ("o",), ("y",))]
    return Schedule(tuple(_io(shape) + buffers), tuple(steps), ("x",), _outputs(keep_input))


def dft_schedule(
    shape: MhsaShape,
    tile_rows: int,
    fused: bool = False,
    keep_input: bool = False,
    scratch: KernelScratch = REFERENCE,
) -> Schedule:
    """The DFT block: one kernel call with the scratch of ``scratch``'s kernels; Y may take
    X's memory."""
    step = Step(
        "fwsa_dft" if fused else "mhsa_dft",
        ("x",),
        ("y",),
        inplace=(("x", "y"),),
        scratch=dft_peak(shape, tile_rows, fused, scratch),
    )
    return Schedule(tuple(_io(shape)), (step,), ("x",), _outputs(keep_input))


def dft_arena_closed_form(
    shape: MhsaShape,
    tile_rows: int,
    fused: bool = False,
    keep_input: bool = False,
    align: int = KERNEL_ALIGN,
    scratch: KernelScratch = REFERENCE,
) -> int:
    """The DFT arena without running the planner: X (and Y unless it takes X's memory)
    and the scratch, the larger first or the other way round, whichever is smaller."""
    se, scr = shape.seq_len * shape.embed_dim, dft_peak(shape, tile_rows, fused, scratch)
    al = max(align, KERNEL_ALIGN)
    io = [se, se] if keep_input else [se]
    best = None
    for order in ([scr, *io], [*io, scr], [io[0], scr, *io[1:]]):
        at = 0
        for size in order[:-1]:
            at = align_up(at + size, al)
        end = align_up(at, al) + order[-1]
        best = end if best is None else min(best, end)
    assert best is not None
    return best


@dataclass(frozen=True)
class SchedulePlan:
    name: str  # "layerwise" or "dft"
    tile_rows: int | None
    peak_bytes: int  # intermediates (beyond X and Y)
    arena: ArenaPlan  # X and Y included
    schedule: Schedule

    @property
    def arena_bytes(self) -> int:
        return self.arena.arena_bytes


def plan_layerwise(
    shape: MhsaShape,
    fused: bool = False,
    keep_input: bool = False,
    align: int = KERNEL_ALIGN,
    scratch: KernelScratch = REFERENCE,
) -> SchedulePlan:
    sched = layerwise_schedule(shape, fused, keep_input, scratch)
    peak = layerwise_peak(shape, fused, scratch)
    return SchedulePlan("layerwise", None, peak, plan_arena(sched, align), sched)


def plan_dft(
    shape: MhsaShape,
    tile_rows: int,
    fused: bool = False,
    keep_input: bool = False,
    align: int = KERNEL_ALIGN,
    scratch: KernelScratch = REFERENCE,
) -> SchedulePlan:
    peak = dft_peak(shape, tile_rows, fused, scratch)
    sched = dft_schedule(shape, tile_rows, fused, keep_input, scratch)
    return SchedulePlan("dft", tile_rows, peak, plan_arena(sched, align), sched)


@dataclass(frozen=True)
class TileChoice:
    """The tile size for a RAM budget. ``fits`` False: no tile fits; ``tile_rows`` is then
    the one with the smallest arena (the smallest arena possible)."""

    tile_rows: int
    arena_bytes: int
    peak_bytes: int
    fits: bool
    ram_budget: int
    reason: str
    arenas: dict[int, int]  # every x -> DFT arena bytes


def dft_arenas(
    shape: MhsaShape,
    fused: bool = False,
    keep_input: bool = False,
    align: int = KERNEL_ALIGN,
    scratch: KernelScratch = REFERENCE,
) -> dict[int, int]:
    """The DFT arena for every tile size 1..S (closed form, equal to the planner's)."""
    return {
        x: dft_arena_closed_form(shape, x, fused, keep_input, align, scratch)
        for x in range(1, shape.seq_len + 1)
    }


def choose_tile(
    shape: MhsaShape,
    ram_budget: int,
    costs: Mapping[int, float] | None = None,
    *,
    fused: bool = False,
    keep_input: bool = False,
    align: int = KERNEL_ALIGN,
    scratch: KernelScratch = REFERENCE,
) -> TileChoice:
    """The fastest tile size whose DFT arena fits ``ram_budget`` bytes: the lowest cost
    among the fitting sizes that ``costs`` (x -> instructions, e.g. from the bench) prices,
    otherwise the largest fitting x (fewest tiles, fewest kernel calls). ``scratch``: the
    kernels (variant and cores) whose DFT scratch is planned."""
    arenas = dft_arenas(shape, fused, keep_input, align, scratch)
    fitting = [x for x, b in arenas.items() if b <= ram_budget]
    if not fitting:
        x = min(arenas, key=lambda t: (arenas[t], -t))
        return TileChoice(
            x,
            arenas[x],
            dft_peak(shape, x, fused, scratch),
            False,
            ram_budget,
            f"no tile fits: the smallest DFT arena is {arenas[x]} bytes (x={x}), "
            f"the budget {ram_budget}",
            arenas,
        )
    priced = [x for x in fitting if costs is not None and x in costs]
    if priced:
        x = min(priced, key=lambda t: (costs[t], -t))  # type: ignore[index]
        reason = f"fastest of the {len(priced)} fitting tile sizes with measured costs"
    else:
        x = max(fitting)
        reason = "largest tile that fits (no cost figures)"
    peak = dft_peak(shape, x, fused, scratch)
    return TileChoice(x, arenas[x], peak, True, ram_budget, reason, arenas)
