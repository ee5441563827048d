"""The plan of one attention block on a board: FWSA decision, layer-wise vs DFT memory for
every tile size, the chosen schedule, the arena and the weights, and whether it all fits.

The schedule comes from :func:`tinytx.core.plan.choose.choose_schedule`, the chooser ``tinytx
convert`` uses for whole models: the fastest candidate (layer-wise or DFT with tile x,
fused weights or not) whose arena, with the scratch of the board's kernels, fits.

:func:`plan_block` computes it; :func:`to_json` and :func:`render_text` are the two
outputs of ``tinytx plan``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from tinytx.core.plan.budget import RamBudget
from tinytx.core.plan.choose import Choice, block_arena, choose_schedule
from tinytx.core.plan.costs import table_for
from tinytx.core.plan.fwsa import (
    FwsaAccuracy,
    FwsaDecision,
    decide_fwsa,
    fwsa_accuracy,
    weight_bytes,
)
from tinytx.core.plan.mhsa import (
    SchedulePlan,
    TileChoice,
    check_tile,
    choose_tile,
    dft_head_peak,
    dft_peak,
    plan_dft,
    plan_layerwise,
)
from tinytx.core.plan.scratch import KernelScratch
from tinytx.core.workloads import MhsaShape


@dataclass(frozen=True)
class BlockPlan:
    name: str  # "A".."D" or "S,E,P,H"
    shape: MhsaShape
    budget: RamBudget
    flash_bytes: int
    fwsa: FwsaDecision
    accuracy: FwsaAccuracy | None  # measured when fused
    layerwise: SchedulePlan
    dft: SchedulePlan  # at the chosen tile
    choice: TileChoice  # the DFT tile (of the chosen FWSA option)
    forced_tile: bool
    keep_input: bool
    decision: Choice  # the schedule chosen among every candidate
    kernels: str = "ref"
    cores: int = 1  # the cores the kernels' scratch is sized for

    @property
    def scratch(self) -> KernelScratch:
        return KernelScratch(self.kernels, self.cores)

    @property
    def schedule(self) -> str:
        return self.decision.chosen.schedule

    @property
    def arena_bytes(self) -> int:
        """The arena of the chosen schedule."""
        return self.decision.chosen.arena_bytes

    @property
    def tile_rows(self) -> int:
        return self.choice.tile_rows

    @property
    def weights_bytes(self) -> int:
        return weight_bytes(self.shape, self.fwsa.fuse)

    @property
    def arena_fits(self) -> bool:
        return self.arena_bytes <= self.budget.budget

    @property
    def weights_fit(self) -> bool:
        return self.weights_bytes <= self.flash_bytes

    @property
    def fits(self) -> bool:
        return self.arena_fits and self.weights_fit

    @property
    def layerwise_fits(self) -> bool:
        return self.layerwise.arena_bytes <= self.budget.budget


def plan_block(
    name: str,
    shape: MhsaShape,
    budget: RamBudget,
    flash_bytes: int,
    fwsa_mode: str = "auto",
    tile_rows: int | None = None,
    costs: Mapping[int, float] | None = None,
    keep_input: bool = False,
    accuracy: bool = True,
    kernels: str = "ref",
    cpu: str | None = None,
    cores: int = 1,
) -> BlockPlan:
    """``kernels``/``cores``/``cpu``: the kernel variant and core count whose scratch sizes
    count and the core whose cost formulas price the schedules
    (:func:`tinytx.core.plan.costs.table_for`)."""
    decision = decide_fwsa(shape, fwsa_mode)
    if tile_rows is not None:
        check_tile(shape, tile_rows)
    scratch = KernelScratch(kernels, cores)
    table = table_for(cpu, kernels)
    options = (True,) if fwsa_mode == "on" else (False, True) if decision.fuse else (False,)
    picked = choose_schedule(
        shape.seq_len,
        lambda sch, x, f: block_arena(shape, sch, x, f, scratch, keep_input, budget.align),
        lambda sch, x, f: table.instructions(shape, f, x if sch == "dft" else None),
        budget.budget,
        options,
        "auto",
        tile_rows,
        costs,
        f"{table.key} cost formulas" + (f"; {table.note}" if table.note else ""),
    )
    fused = picked.chosen.fused
    if decision.fuse and not fused:
        decision = dataclasses.replace(
            decision,
            fuse=False,
            reason=f"{decision.reason}; not chosen: the unfused schedule is faster",
        )
    dft_pick = picked.best_dft(fused) or picked.chosen
    x = dft_pick.tile or shape.seq_len
    arenas = choose_tile(
        shape, budget.budget, fused=fused, keep_input=keep_input, align=budget.align,
        scratch=scratch,
    ).arenas  # fmt: skip
    if tile_rows is not None:
        why = "given with --tile"
    elif dft_pick.measured:
        why = "fastest of the fitting tile sizes with measured costs"
    elif dft_pick.fits:
        why = f"fastest fitting tile size ({picked.pricing})"
    else:
        why = "no tile fits: the smallest DFT arena"
    choice = TileChoice(
        x, arenas[x], dft_peak(shape, x, fused, scratch), arenas[x] <= budget.budget, budget.budget,
        why, arenas,
    )  # fmt: skip
    return BlockPlan(
        name=name,
        shape=shape,
        budget=budget,
        flash_bytes=flash_bytes,
        fwsa=decision,
        accuracy=fwsa_accuracy(shape) if fused and accuracy else None,
        layerwise=plan_layerwise(shape, fused, keep_input, budget.align, scratch),
        dft=plan_dft(shape, choice.tile_rows, fused, keep_input, budget.align, scratch),
        choice=choice,
        forced_tile=tile_rows is not None,
        keep_input=keep_input,
        decision=picked,
        kernels=kernels,
        cores=cores,
    )


def to_json(p: BlockPlan) -> dict:
    s = p.shape
    fused = p.fwsa.fuse
    return {
        "shape": {"name": p.name, "S": s.seq_len, "E": s.embed_dim, "P": s.head_dim, "H": s.heads},
        "board": p.budget.board,
        "ram_region": p.budget.region,
        "ram_region_bytes": p.budget.region_bytes,
        "reserve_bytes": p.budget.reserve,
        "ram_budget_bytes": p.budget.budget,
        "align": p.budget.align,
        "keep_input": p.keep_input,
        "kernels": p.kernels,
        "cores": p.cores,
        "fwsa": {
            "fused": fused,
            "mode": p.fwsa.mode,
            "reason": p.fwsa.reason,
            "parameters_unfused": p.fwsa.parameters_unfused,
            "parameters_fused": p.fwsa.parameters_fused,
            "parameter_saving": round(p.fwsa.parameter_saving, 4),
            "accuracy": p.accuracy.as_dict() if p.accuracy else None,
        },
        "schedule": p.schedule,
        "chosen": p.decision.chosen.describe(),
        "choice_reason": p.decision.reason,
        "pricing": p.decision.pricing,
        "candidates": [
            {
                "schedule": c.schedule,
                "tile_rows": c.tile,
                "fused": c.fused,
                "arena_bytes": c.arena_bytes,
                "instructions": round(c.instructions),
                "measured": c.measured,
                "fits": c.fits,
            }
            for c in p.decision.candidates
        ],
        "layerwise_peak_bytes": p.layerwise.peak_bytes,
        "layerwise_arena_bytes": p.layerwise.arena_bytes,
        "layerwise_fits": p.layerwise_fits,
        "tile_rows": p.tile_rows,
        "tile_choice": p.choice.reason,
        "dft_peak_bytes": p.dft.peak_bytes,
        "dft_head_peak_bytes": dft_head_peak(s, p.tile_rows, fused, p.scratch),
        "dft_arena_bytes": p.dft.arena_bytes,
        "arena_bytes": p.arena_bytes,
        "arena_fits": p.arena_fits,
        "weights_bytes": p.weights_bytes,
        "flash_bytes": p.flash_bytes,
        "weights_fit": p.weights_fit,
        "fits": p.fits,
        "offsets": p.dft.arena.offsets,
        "scratch_offsets": p.dft.arena.scratch_offsets,
        "tiles": [
            {
                "tile_rows": x,
                "dft_peak_bytes": dft_peak(s, x, fused, p.scratch),
                "arena_bytes": arena,
                "fits": arena <= p.budget.budget,
            }
            for x, arena in p.choice.arenas.items()
        ],
    }


def _tiles_shown(p: BlockPlan, all_tiles: bool) -> list[int]:
    s = p.shape.seq_len
    if all_tiles:
        return list(range(1, s + 1))
    shown = {1, s, p.tile_rows}
    x = 2
    while x < s:
        shown.add(x)
        x *= 2
    fitting = [x for x, b in p.choice.arenas.items() if b <= p.budget.budget]
    if fitting:
        shown.add(max(fitting))
    return sorted(shown)


def render_text(p: BlockPlan, all_tiles: bool = False) -> str:
    s = p.shape
    fused = p.fwsa.fuse
    kind = "FWSA" if fused else "MHSA"
    budget = p.budget.budget
    lines = [
        f"tinytx plan: {kind} block {p.name} (S={s.seq_len} E={s.embed_dim} P={s.head_dim} "
        f"H={s.heads}) on {p.budget.board}",
        f"RAM for the arena: {p.budget.region} {p.budget.region_bytes:,} bytes - reserve "
        f"{p.budget.reserve:,} = {budget:,} bytes",
        f"FWSA: {'fused' if fused else 'not fused'} ({p.fwsa.reason})",
    ]
    if p.accuracy:
        a = p.accuracy
        lines.append(
            f"  accuracy cost of the fused int8 weights ({a.workloads} calibrated random blocks, "
            f"{a.outputs:,} outputs): RMS error vs float {a.rms_fused:.2f} LSB fused, "
            f"{a.rms_unfused:.2f} LSB unfused; fused vs unfused int8: mean |diff| "
            f"{a.mean_abs_diff:.2f} LSB, max {a.max_abs_diff}, equal {a.equal_fraction:.1%}"
        )
    lines += [
        "",
        "peak: intermediate activations (beyond the block's input and output); "
        f"arena: all of it, X and Y included; DFT: the '{p.kernels}' kernel's scratch"
        + (f" on {p.cores} cores" if p.cores > 1 else ""),
        f"{'schedule':<12} {'x':>5} {'peak':>10} {'arena':>10} {'layer-wise/DFT':>15}  fits",
        f"{'layer-wise':<12} {'-':>5} {p.layerwise.peak_bytes:>10,} "
        f"{p.layerwise.arena_bytes:>10,} {'':>15}  {'yes' if p.layerwise_fits else 'no'}",
    ]
    for x in _tiles_shown(p, all_tiles):
        peak, arena = dft_peak(s, x, fused, p.scratch), p.choice.arenas[x]
        best = "  <- chosen" if p.schedule == "dft" else "  <- DFT tile"
        mark = best if x == p.tile_rows else ""
        ratio = f"{p.layerwise.peak_bytes / peak:.2f}x"
        lines.append(
            f"{'DFT':<12} {x:>5} {peak:>10,} {arena:>10,} {ratio:>15}  "
            f"{'yes' if arena <= budget else 'no'}{mark}"
        )
    lines += [
        "",
        f"schedules with the '{p.kernels}' kernels ({p.decision.pricing}):",
        *(f"  {c}" for c in p.decision.lines()),
        f"chosen: {p.decision.chosen.describe()} ({p.decision.reason}); "
        f"DFT tile x={p.tile_rows} ({p.choice.reason})",
        f"arena: {p.arena_bytes:,} bytes of {budget:,} "
        f"({p.arena_bytes / max(budget, 1):.1%}): {'fits' if p.arena_fits else 'DOES NOT FIT'}",
        f"weights: {p.weights_bytes:,} bytes of {p.flash_bytes:,} flash: "
        f"{'fits' if p.weights_fit else 'DOES NOT FIT'}",
        f"layer-wise schedule alone: arena {p.layerwise.arena_bytes:,} bytes: "
        f"{'fits' if p.layerwise_fits else 'does not fit'} (primitive kernel calls, the "
        "paper's accounting)",
    ]
    if not p.decision.fits and not p.forced_tile:
        lines.append(
            f"error: does not fit even with x=1: the smallest DFT arena is "
            f"{min(p.choice.arenas.values()):,} bytes, "
            f"{min(p.choice.arenas.values()) - budget:,} over the budget of {budget:,}"
        )
    lines.append(f"result: {'FITS' if p.fits else 'DOES NOT FIT'}")
    return "\n".join(lines) + "\n"
