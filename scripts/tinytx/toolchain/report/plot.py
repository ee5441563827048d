"""The report as a PNG: flash and RAM as bars stacked by category, against the board."""

from __future__ import annotations

from pathlib import Path

from tinytx.core.atomic import temp_path
from tinytx.toolchain.report.boardcheck import BoardCheck
from tinytx.toolchain.report.categories import CATEGORIES, LABELS
from tinytx.toolchain.report.core import Report

COLORS = {
    "model_weights": "#1f77b4",
    "arena": "#ff7f0e",
    "kernel_code": "#2ca02c",
    "tinytx_code": "#98df8a",
    "stacks": "#d62728",
    "libc_rtos": "#9467bd",
    "other": "#c7c7c7",
}


def write_plot(
    path: Path,
    report: Report,
    check: BoardCheck | None = None,
    other: Report | None = None,
) -> None:
    """Two panels, flash and RAM (KiB), each with one bar per build (this one, and ``other``
    when comparing) stacked by category; a board's size is drawn as a dashed limit."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def label(elf: str, twin: str | None) -> str:
        p = Path(elf)
        if twin is not None and Path(twin).name == p.name:  # same name: show its directory
            return f"{p.parent.parent.name}/{p.name}" if p.parent.name == "firmware" else str(p)
        return p.name

    builds = [(label(report.elf, other.elf if other else None), report)]
    if other is not None:
        builds.append((label(other.elf, report.elf) + " (other)", other))
    panels = (
        ("flash (text + data)", "flash_categories", check.flash[1] if check else None),
        ("RAM (data + bss)", "ram_categories", check.ram[1] if check else None),
    )
    fig, axes = plt.subplots(2, 1, figsize=(9, 2.2 + 1.1 * len(builds)), dpi=110)
    for ax, (title, attr, limit) in zip(axes, panels, strict=True):
        for y, (_, r) in enumerate(reversed(builds)):
            cats = getattr(r, attr)
            left = 0.0
            for c in CATEGORIES:
                width = cats.get(c, 0) / 1024
                if width > 0:
                    ax.barh(y, width, left=left, color=COLORS[c], edgecolor="white", lw=0.5)
                    left += width
            ax.text(left, y, f" {left:,.1f}", va="center", fontsize=8)
        if limit:
            ax.axvline(limit / 1024, color="k", ls="--", lw=1.2)
            ax.text(
                limit / 1024,
                len(builds) - 0.45,
                f" {check.board.name}: {limit / 1024:,.0f}",
                fontsize=8,
                va="top",
            )
        ax.set_yticks(range(len(builds)), [b[0] for b in reversed(builds)])
        ax.set_title(title, fontsize=10, loc="left")
        ax.set_xlabel("KiB")
        ax.grid(axis="x", alpha=0.3)
    heading = Path(report.elf).name
    if check:
        heading += f" on {check.board.name}" + ("" if check.fits else " (does NOT fit)")
    fig.suptitle(heading)
    handles = [plt.Rectangle((0, 0), 1, 1, color=COLORS[c]) for c in CATEGORIES]
    fig.legend(
        handles,
        [LABELS[c] for c in CATEGORIES],
        loc="lower center",
        ncol=4,
        fontsize=8,
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    try:
        with temp_path(path) as tmp:  # never a half-written PNG
            fig.savefig(tmp)
    finally:
        plt.close(fig)
