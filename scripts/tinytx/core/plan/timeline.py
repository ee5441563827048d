"""``tinytx plan --plot``: the memory timeline of the layer-wise and the DFT schedule.

Each buffer is a bar: horizontally its lifetime over the schedule's steps, vertically its
place in the arena (offset to offset + size). The DFT panel opens the kernel's scratch
into its parts (O, and per head K_h, V_h^T, the tiles, the score row; the ``arm`` kernel's
own parts when those kernels are planned; the ``riscv`` kernel's first core's working set),
at the offsets of the kernel's scratch layout as the C gives it
(:meth:`tinytx.core.plan.scratch.KernelScratch.attention_layout`).
A dashed line marks the board's arena budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinytx.core.plan.arena import SCRATCH_SUFFIX
from tinytx.core.plan.block import BlockPlan
from tinytx.core.plan.mhsa import SchedulePlan

COLORS = {
    "x": "#4c72b0",
    "y": "#55a868",
    "o": "#c44e52",
    "O": "#c44e52",
    "a": "#8172b2",
    "probs": "#8172b2",
    "k": "#ccb974",
    "K_h": "#ccb974",
    "vt": "#64b5cd",
    "V_h^T": "#64b5cd",
    "q": "#dd8452",
    "t": "#e5ae38",
    "tile": "#dd8452",
    "row": "#7f7f7f",
    "scratch": "#7f7f7f",
}


@dataclass(frozen=True)
class Bar:
    label: str
    first: int
    last: int
    offset: int
    size: int
    color: str


def layerwise_bars(sp: SchedulePlan) -> tuple[list[Bar], list[str]]:
    """Bars of a planned schedule; column 0 is "in" (before the first step), then the
    steps, then "out"."""
    plan, steps = sp.arena, sp.schedule.steps
    bars = [
        Bar(
            name,
            first + 1,
            last + 1,
            plan.offsets[name],
            plan.sizes[name],
            COLORS.get(name, "#999999"),
        )
        for name, (first, last) in plan.lifetimes.items()
    ]
    for i, st in enumerate(steps):
        if st.scratch:
            off = plan.scratch_offsets[st.name]
            bars.append(Bar("scratch", i + 1, i + 1, off, st.scratch, COLORS["scratch"]))
    return bars, ["in", *(st.name for st in steps), "out"]


def arm_dft_bars(p: BlockPlan) -> tuple[list[Bar], list[str]]:
    """The ``arm`` DFT kernel's scratch: per head K_h, V_h^T, the weights and the tile's
    buffers; X's widened rows; Yacc or O for the block."""
    shape, fused = p.shape, p.fwsa.fuse
    lay = p.scratch.attention_layout(shape, p.tile_rows, fused)
    plan = p.dft.arena
    base = plan.scratch_offsets["fwsa_dft" if fused else "mhsa_dft"]
    names: list[str] = ["in"]
    bars: list[Bar] = []
    for head in range(shape.heads):
        names += [f"K{head} V{head}", f"tiles{head}"]
        kv, t = len(names) - 2, len(names) - 1
        if not fused:
            bars.append(Bar("K_h", kv, t, base + lay["kw"], lay["xw"] - lay["kw"], COLORS["k"]))
        bars.append(Bar("V_h^T", kv, t, base + lay["vw"], lay["w"] - lay["vw"], COLORS["vt"]))
        bars.append(Bar("W_h", kv, t, base + lay["w"], lay["qw"] - lay["w"], COLORS["t"]))
        bars.append(Bar("tile", t, t, base + lay["qw"], lay["acc"] - lay["qw"], COLORS["tile"]))
    names.append("out")
    bars.append(
        Bar("X rows", 1, len(names) - 2, base + lay["xw"], lay["vw"] - lay["xw"], COLORS["x"])
    )
    acc = lay["total"] - lay["acc"]
    bars.append(
        Bar("Yacc" if lay["ymode"] else "O", 1, len(names) - 1, base + lay["acc"], acc, COLORS["o"])
    )
    bars.append(
        Bar("x", 0, len(names) - 2, plan.offsets["x"], shape.seq_len * shape.embed_dim, COLORS["x"])
    )
    bars.append(
        Bar(
            "y",
            len(names) - 1,
            len(names) - 1,
            plan.offsets["y"],
            shape.seq_len * shape.embed_dim,
            COLORS["y"],
        )
    )
    return bars, names


def dft_bars(p: BlockPlan) -> tuple[list[Bar], list[str]]:
    if p.kernels == "arm":
        return arm_dft_bars(p)
    shape, fused = p.shape, p.fwsa.fuse
    lay = p.scratch.attention_layout(shape, p.tile_rows, fused)
    x = lay.get("tile_rows", p.tile_rows)  # riscv: a core's tile may be shorter
    plan = p.dft.arena
    base = plan.scratch_offsets["fwsa_dft" if fused else "mhsa_dft"]
    core0 = base + lay.get("shared", 0)  # riscv: the first core's working set
    s, e, h, pd = shape.seq_len, shape.embed_dim, shape.heads, shape.head_dim
    names: list[str] = ["in"]
    bars: list[Bar] = []
    per_head = 2 if fused else 3
    for head in range(h):
        k0 = len(names)
        names += ([] if fused else [f"K{head}"]) + [f"V{head}", f"tiles{head}"]
        t = len(names) - 1
        if not fused:
            bars.append(Bar("K_h", k0, t, base + lay["k"], s * pd, COLORS["k"]))
        bars.append(Bar("V_h^T", t - 1, t, base + lay["vt"], pd * s, COLORS["vt"]))
        width = max(e, pd) if fused else pd
        bars.append(Bar("tile", t, t, core0 + lay["tile"], x * width, COLORS["tile"]))
        bars.append(Bar("probs", t, t, core0 + lay["probs"], x * s, COLORS["probs"]))
        bars.append(Bar("row", t, t, core0 + lay["row"], 4 * s, COLORS["row"]))
    names.append("out")
    last_head = len(names) - 2
    bars.append(
        Bar("O", 1 + per_head - 1, len(names) - 1, base + lay["o"], s * h * pd, COLORS["o"])
    )
    bars.append(Bar("x", 0, last_head, plan.offsets["x"], s * e, COLORS["x"]))
    bars.append(Bar("y", len(names) - 1, len(names) - 1, plan.offsets["y"], s * e, COLORS["y"]))
    return bars, names


def write_plot(path: Path, p: BlockPlan) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    panels = [
        (f"layer-wise: arena {p.layerwise.arena_bytes:,} B", *layerwise_bars(p.layerwise)),
        (f"DFT x={p.tile_rows}: arena {p.dft.arena_bytes:,} B", *dft_bars(p)),
    ]
    top = max(p.layerwise.arena_bytes, p.dft.arena_bytes, p.budget.budget) * 1.05
    fig, axes = plt.subplots(
        1, 2, figsize=(13, 5.5), sharey=True, gridspec_kw={"width_ratios": [1, 2]}
    )
    for ax, (title, bars, names) in zip(axes, panels, strict=True):
        for b in bars:
            ax.add_patch(
                Rectangle(
                    (b.first + 0.05, b.offset),
                    b.last - b.first + 0.9,
                    b.size,
                    facecolor=b.color,
                    edgecolor="black",
                    linewidth=0.4,
                    alpha=0.85,
                )
            )
        seen: dict[str, str] = {}
        for b in bars:
            seen.setdefault(b.label.replace(SCRATCH_SUFFIX, ""), b.color)
        handles = [
            Rectangle((0, 0), 1, 1, facecolor=c, edgecolor="black", linewidth=0.4)
            for c in seen.values()
        ]
        ax.legend(handles, list(seen), fontsize=7, loc="upper right", ncol=2)
        ax.axhline(p.budget.budget, color="black", linestyle="--", linewidth=1)
        ax.text(
            0,
            p.budget.budget,
            f" budget {p.budget.budget:,} B ({p.budget.board})",
            va="bottom",
            fontsize=8,
        )
        ax.set_xlim(0, len(names))
        ax.set_ylim(0, top)
        step = max(1, len(names) // 24)
        ax.set_xticks([i + 0.5 for i in range(0, len(names), step)])
        ax.set_xticklabels(names[::step], rotation=60, fontsize=7)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("schedule step")
    axes[0].set_ylabel("arena offset (bytes)")
    s = p.shape
    fig.suptitle(
        f"{'FWSA' if p.fwsa.fuse else 'MHSA'} {p.name} (S={s.seq_len} E={s.embed_dim} "
        f"P={s.head_dim} H={s.heads}): memory timeline"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
