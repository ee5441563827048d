"""The one chooser of attention schedules: the fastest schedule whose arena fits.

``tinytx convert`` / ``tinytx plan <model.onnx>`` (:func:`tinytx.core.plan.planning.plan_model`)
and ``tinytx plan <shape>`` (:func:`tinytx.core.plan.block.plan_block`) both call
:func:`choose_schedule`. Its candidates are every attention schedule the kernels offer:
layer-wise (``tinytx_mhsa_s8`` / ``tinytx_fwsa_s8``) or depth-first tiles of ``x`` query
rows (``tinytx_mhsa_dft_s8`` / ``tinytx_fwsa_dft_s8``), with fused weights (FWSA) where the
caller allows them. Each candidate has an arena (the caller's planner: the whole model's,
or the block's) and a price (the cost formulas of :mod:`tinytx.core.plan.costs`, or measured
tile costs). The chosen one is the cheapest that fits the RAM budget (ties: the smaller
arena); when none fits, the one with the smallest arena, reported as not fitting.

The DFT arena grows with ``x``, so the fitting tile sizes are ``1..x_max``: ``x_max`` is
found by bisection (a few planner runs) and every ``x`` up to it is priced (formulas
only, no planning).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from tinytx.core.errors import UserInputError
from tinytx.core.plan.arena import plan_arena
from tinytx.core.plan.schedule import Buffer, Schedule, Step
from tinytx.core.plan.scratch import KernelScratch
from tinytx.core.workloads import MhsaShape

MODES = ("auto", "layerwise", "dft")

#: (schedule, tile or None, fused) -> bytes or instructions
ArenaOf = Callable[[str, "int | None", bool], int]
PriceOf = Callable[[str, "int | None", bool], float]


@dataclass(frozen=True)
class Candidate:
    schedule: str  # "layerwise" or "dft"
    tile: int | None
    fused: bool
    arena_bytes: int
    instructions: float  # from the cost formulas (or measured tile costs)
    fits: bool
    measured: bool = False

    def describe(self) -> str:
        how = "layer-wise" if self.schedule == "layerwise" else f"DFT x={self.tile}"
        return f"{how}, FWSA {'yes' if self.fused else 'no'}"


@dataclass(frozen=True)
class Choice:
    chosen: Candidate
    candidates: tuple[Candidate, ...]  # layer-wise and the best DFT tile, per FWSA option
    reason: str
    pricing: str  # where the prices come from

    @property
    def fits(self) -> bool:
        return self.chosen.fits

    def best_dft(self, fused: bool) -> Candidate | None:
        return next((c for c in self.candidates if c.schedule == "dft" and c.fused == fused), None)

    def lines(self) -> list[str]:
        """The candidates, cheapest first, for reports."""
        out = []
        for c in sorted(self.candidates, key=lambda c: (not c.fits, c.instructions)):
            mark = "  <- chosen" if c == self.chosen else ""
            src = "measured" if c.measured else "formula"
            out.append(
                f"{c.describe():<24} ~{c.instructions / 1e6:7.3f} M instructions ({src}), "
                f"arena {c.arena_bytes:,} bytes{'' if c.fits else ' (does not fit)'}{mark}"
            )
        return out


def choose_schedule(
    seq_len: int,
    arena_of: ArenaOf,
    price_of: PriceOf,
    budget: int | None,
    fused_options: Sequence[bool] = (False,),
    mode: str = "auto",
    tile: int | None = None,
    measured: Mapping[int, float] | None = None,
    pricing: str = "",
) -> Choice:
    """The fastest fitting schedule (see the module docstring). ``seq_len``: the longest
    sequence of the blocks (tile sizes 1..seq_len); ``mode`` restricts the schedules,
    ``tile`` forces a DFT tile size; ``measured``: DFT instructions per tile size that
    replace the formula where given (``tinytx plan --costs`` / ``--measure``)."""
    if mode not in MODES:
        raise UserInputError(f"--mhsa: expected one of {', '.join(MODES)}, got {mode!r}")
    if not fused_options:
        raise ValueError("choose_schedule: no FWSA option to choose from")

    def fits(arena: int) -> bool:
        return budget is None or arena <= budget

    arenas: dict[tuple[str, int | None, bool], int] = {}

    def arena(schedule: str, x: int | None, fused: bool) -> int:
        key = (schedule, x, fused)
        if key not in arenas:
            arenas[key] = arena_of(schedule, x, fused)
        return arenas[key]

    def candidate(schedule: str, x: int | None, fused: bool) -> Candidate:
        a = arena(schedule, x, fused)
        if schedule == "dft" and measured is not None and x in measured:
            return Candidate(schedule, x, fused, a, float(measured[x]), fits(a), True)
        return Candidate(schedule, x, fused, a, float(price_of(schedule, x, fused)), fits(a))

    cands: list[Candidate] = []
    for fused in fused_options:
        if tile is not None:
            cands.append(candidate("dft", tile, fused))
            continue
        if mode in ("auto", "layerwise"):
            cands.append(candidate("layerwise", None, fused))
        if mode in ("auto", "dft"):
            x_max = _largest_fitting(lambda x, f=fused: fits(arena("dft", x, f)), seq_len)
            if x_max is None:
                cands.append(candidate("dft", 1, fused))  # the smallest DFT arena
                continue
            xs = range(1, x_max + 1)
            if measured is not None and any(x in measured for x in xs):
                xs = [x for x in xs if x in measured]
                best = min(xs, key=lambda x: (measured[x], -x))
            else:
                best = min(xs, key=lambda x, f=fused: (price_of("dft", x, f), -x))
            cands.append(candidate("dft", best, fused))
    fitting = [c for c in cands if c.fits]
    forced = tile is not None or mode != "auto"
    if fitting:
        chosen = min(fitting, key=lambda c: (c.instructions, c.arena_bytes))
        others = [c for c in cands if c is not chosen]
        if tile is not None:
            reason = "the tile size given"
        elif not others:
            reason = "the only candidate" + (f" (--mhsa {mode})" if mode != "auto" else "")
        else:
            reason = f"the fastest that fits, of {len(cands)} candidates"
            unfit = [c for c in others if not c.fits and c.instructions < chosen.instructions]
            if unfit:
                u = min(unfit, key=lambda c: c.instructions)
                reason += f" ({u.describe()} would be faster but needs {u.arena_bytes:,} bytes)"
    else:
        chosen = min(cands, key=lambda c: (c.arena_bytes, c.instructions))
        reason = (
            "the tile size given; it does not fit"
            if tile is not None
            else "nothing fits: the smallest arena"
            + (f" (--mhsa {mode})" if forced and tile is None else "")
        )
    return Choice(chosen, tuple(cands), reason, pricing)


def _largest_fitting(fits: Callable[[int], bool], seq: int) -> int | None:
    """The largest x in 1..seq that fits (bisection: the arena grows with x)."""
    if not fits(1):
        return None
    lo, hi = 1, seq
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


# ------------------------------------------------------------------ one attention block
def attention_inplace(kernels: str, dft: bool, fused: bool) -> bool:
    """Whether the attention kernel of `kernels` may write its output over its input: the
    DFT kernels, and the Cortex-M blocks (they read X no more once they write Y)."""
    return dft or kernels == "arm"


def block_arena(
    shape: MhsaShape,
    schedule: str,
    tile: int | None,
    fused: bool,
    scratch: KernelScratch,
    keep_input: bool = False,
    align: int = 4,
) -> int:
    """Arena of one attention block as the generated code runs it: one kernel call with its
    variant's scratch (:class:`tinytx.core.plan.scratch.KernelScratch`), input X and output Y,
    Y over X where the kernel allows it (the planner of a whole model does the same)."""
    x = tile if schedule == "dft" else None
    se = shape.seq_len * shape.embed_dim
    need = scratch.attention(shape, x, fused)
    inplace = (("x", "y"),) if attention_inplace(scratch.kernels, x is not None, fused) else ()
    step = Step("attention", ("x",), ("y",), inplace, need, 4)
    outputs = ("x", "y") if keep_input else ("y",)
    sched = Schedule((Buffer("x", se, align), Buffer("y", se, align)), (step,), ("x",), outputs)
    return plan_arena(sched, align).arena_bytes
