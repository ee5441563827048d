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

    peak = 3 * a(S*H*P) + a(H*S*S) + 4*S             (Q, K, V^T, the map, a score row)

DFT (``tinytx_mhsa_dft_s8``: one step whose scratch is the kernel's, the output may take
the input's memory). Per head, with ``a(n)`` = n rounded up to 4::

    head(x) = 4*S + a(S*P) + a(P*S) + a(x*P) + a(x*S)   (score row, K_h, V_h^T, Q/AV tile,
                                                          probabilities tile)
    peak(x) = head(x) + S*H*P                            (+ the head concatenation O)

The paper's per-head ``(2P + S) x + 2PS`` counts a separate A*V tile; the kernel writes
A*V into the dead Q tile instead, and holds one int32 score row for the softmax.
FWSA (fused weights, keys are X itself) has no K_h: ``head(x) = 4*S + a(P*S) +
a(x*max(E, P)) + a(x*S)``; its layer-wise schedule holds T ``[H][S][E]`` instead of Q, K.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tinytx.core.errors import UserInputError
from tinytx.core.plan.arena import ArenaPlan, align_up, plan_arena
from tinytx.core.plan.arm_attention import arm_attention_layout
from tinytx.core.plan.schedule import Buffer, Schedule, Step
from tinytx.core.workloads import MhsaShape

KERNEL_ALIGN = 4  # every kernel scratch part starts 4-byte aligned (int32 score row)


def _a4(n: int) -> int:
    return align_up(n, KERNEL_ALIGN)


def qk_scratch_bytes(kv_rows: int) -> int:
    """``tinytx_qk_softmax_s8_get_buffer_size``: one int32 score row."""
    return 4 * kv_rows


def check_tile(shape: MhsaShape, tile_rows: int) -> int:
    if isinstance(tile_rows, bool) or not isinstance(tile_rows, int):
        raise UserInputError(f"tile_rows: expected an integer, got {tile_rows!r}")
    if not 1 <= tile_rows <= shape.seq_len:
        raise UserInputError(f"tile_rows: {tile_rows} outside 1..S (S={shape.seq_len})")
    return tile_rows


def dft_scratch_layout(shape: MhsaShape, tile_rows: int, fused: bool = False) -> dict[str, int]:
    """Offsets of the parts of the DFT kernel's scratch and its total (mirrors
    ``tinytx_mhsa_dft_s8_get_buffer_size`` / ``tinytx_fwsa_dft_s8_get_buffer_size``)."""
    x = check_tile(shape, tile_rows)
    s, e, h, p = shape.seq_len, shape.embed_dim, shape.heads, shape.head_dim
    lay = {"row": 0}
    at = _a4(qk_scratch_bytes(s))
    if not fused:
        lay["k"] = at
        at += _a4(s * p)
    lay["vt"] = at
    at += _a4(p * s)
    lay["tile"] = at  # Q (or T) tile, then the A*V tile
    at += _a4(x * (max(e, p) if fused else p))
    lay["probs"] = at
    at += _a4(x * s)
    lay["o"] = at
    lay["total"] = at + s * h * p
    return lay


KERNEL_VARIANTS = ("ref", "arm", "riscv")


def _check_kernels(kernels: str) -> str:
    if kernels not in KERNEL_VARIANTS:
        raise UserInputError(
            f"kernels: expected one of {', '.join(KERNEL_VARIANTS)}, got {kernels!r}"
        )
    return kernels


def dft_head_peak(
    shape: MhsaShape, tile_rows: int, fused: bool = False, kernels: str = "ref"
) -> int:
    """Bytes of the per-head buffers of the DFT kernel (everything but O, or with the
    ``arm`` kernel everything but its whole-block accumulator, Yacc or O)."""
    if _check_kernels(kernels) == "arm":
        return arm_attention_layout(shape, tile_rows, fused)["acc"]
    return dft_scratch_layout(shape, tile_rows, fused)["o"]


def dft_peak(shape: MhsaShape, tile_rows: int, fused: bool = False, kernels: str = "ref") -> int:
    """Intermediate-activation peak of the DFT block: its whole scratch (per head + O).
    ``kernels``: the variant's DFT kernel (``arm``: :mod:`tinytx.core.plan.arm_attention`;
    ``riscv``: the one-core size, the reference one)."""
    if _check_kernels(kernels) == "arm":
        return arm_attention_layout(shape, tile_rows, fused)["total"]
    return dft_scratch_layout(shape, tile_rows, fused)["total"]


def layerwise_peak(shape: MhsaShape, fused: bool = False) -> int:
    """Intermediate-activation peak of the layer-wise block (at the softmax step)."""
    s, e, h, p = shape.seq_len, shape.embed_dim, shape.heads, shape.head_dim
    scores = _a4(h * s * e) if fused else 2 * _a4(s * h * p)  # T, or Q and K
    at_softmax = scores + _a4(s * h * p) + _a4(h * s * s) + qk_scratch_bytes(s)
    at_av = _a4(h * s * s) + _a4(s * h * p) + s * h * p
    return max(at_softmax, at_av)


def _io(shape: MhsaShape) -> list[Buffer]:
    se = shape.seq_len * shape.embed_dim
    return [Buffer("x", se), Buffer("y", se)]


def _outputs(keep_input: bool) -> tuple[str, ...]:
    return ("x", "y") if keep_input else ("y",)


def layerwise_schedule(shape: MhsaShape, fused: bool = False, keep_input: bool = False) -> Schedule:
    """The primitive kernel calls of the layer-wise block, one buffer per tensor.
    ``keep_input``: X stays live to the end (e.g. for a residual add)."""
    s, e, h, p = shape.seq_len, shape.embed_dim, shape.heads, shape.head_dim
    shp = s * h * p
    if fused:
        buffers = [Buffer("t", h * s * e)]
        steps = [
            Step("t_proj", ("x",), ("t",)),
            Step("v_proj", ("x",), ("vt",)),
            Step("qk_softmax", ("t", "x"), ("a",), scratch=qk_scratch_bytes(s)),
        ]
    else:
        buffers = [Buffer("q", shp), Buffer("k", shp)]
        steps = [
            Step("q_proj", ("x",), ("q",)),
            Step("k_proj", ("x",), ("k",)),
            Step("v_proj", ("x",), ("vt",)),
            Step("qk_softmax", ("q", "k"), ("a",), scratch=qk_scratch_bytes(s)),
        ]
    buffers += [Buffer("vt", shp), Buffer("a", h * s * s), Buffer("o", shp)]
    steps += [Step("av", ("a", "vt"), ("o",)), Step("out_proj", ("o",), ("y",))]
    return Schedule(tuple(_io(shape) + buffers), tuple(steps), ("x",), _outputs(keep_input))


def dft_schedule(
    shape: MhsaShape,
    tile_rows: int,
    fused: bool = False,
    keep_input: bool = False,
    scratch: int | None = None,
) -> Schedule:
    """The DFT block: one kernel call with its scratch (``scratch``: a kernel variant's
    size, default the reference kernel's); Y may take X's memory."""
    step = Step(
        "fwsa_dft" if fused else "mhsa_dft",
        ("x",),
        ("y",),
        inplace=(("x", "y"),),
        scratch=dft_peak(shape, tile_rows, fused) if scratch is None else scratch,
    )
    return Schedule(tuple(_io(shape)), (step,), ("x",), _outputs(keep_input))


def dft_arena_closed_form(
    shape: MhsaShape,
    tile_rows: int,
    fused: bool = False,
    keep_input: bool = False,
    align: int = KERNEL_ALIGN,
    kernels: str = "ref",
) -> int:
    """The DFT arena without running the planner: X (and Y unless it takes X's memory)
    and the scratch, the larger first or the other way round, whichever is smaller."""
    se, scr = shape.seq_len * shape.embed_dim, dft_peak(shape, tile_rows, fused, kernels)
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
    shape: MhsaShape, fused: bool = False, keep_input: bool = False, align: int = KERNEL_ALIGN
) -> SchedulePlan:
    sched = layerwise_schedule(shape, fused, keep_input)
    peak = layerwise_peak(shape, fused)
    return SchedulePlan("layerwise", None, peak, plan_arena(sched, align), sched)


def plan_dft(
    shape: MhsaShape,
    tile_rows: int,
    fused: bool = False,
    keep_input: bool = False,
    align: int = KERNEL_ALIGN,
    kernels: str = "ref",
) -> SchedulePlan:
    peak = dft_peak(shape, tile_rows, fused, kernels)
    sched = dft_schedule(shape, tile_rows, fused, keep_input, peak)
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
    kernels: str = "ref",
) -> dict[int, int]:
    """The DFT arena for every tile size 1..S (closed form, equal to the planner's)."""
    return {
        x: dft_arena_closed_form(shape, x, fused, keep_input, align, kernels)
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
    kernels: str = "ref",
) -> TileChoice:
    """The fastest tile size whose DFT arena fits ``ram_budget`` bytes: the lowest cost
    among the fitting sizes that ``costs`` (x -> instructions, e.g. from the bench) prices,
    otherwise the largest fitting x (fewest tiles, fewest kernel calls). ``kernels``: the
    variant whose DFT kernel's scratch is planned."""
    arenas = dft_arenas(shape, fused, keep_input, align, kernels)
    fitting = [x for x, b in arenas.items() if b <= ram_budget]
    if not fitting:
        x = min(arenas, key=lambda t: (arenas[t], -t))
        return TileChoice(
            x,
            arenas[x],
            dft_peak(shape, x, fused, kernels),
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
    peak = dft_peak(shape, x, fused, kernels)
    return TileChoice(x, arenas[x], peak, True, ram_budget, reason, arenas)
