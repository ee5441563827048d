"""The RAM budget of a board for the activation arena (boards/boards.yaml, ``arena`` key).

The arena is one contiguous block, so it must fit one RAM region: the one the firmware's
data is linked into (``arena.region``; without it, the largest RAM region). Part of that
region belongs to the stack, the RTOS and the application (``arena.reserve`` bytes,
overridable). ``arena.align`` (default 4, the 32-bit cores' word; the kernels' scratch
needs 4) is the alignment of every offset. Boards come from :mod:`tinytx.core.boards`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from tinytx.core.boards import Board, boards_file, get_board

DEFAULT_ALIGN = 4  # every supported core: 32-bit words (kernel scratch needs 4)


@dataclass(frozen=True)
class RamBudget:
    board: str
    region: str
    region_bytes: int
    reserve: int
    align: int = DEFAULT_ALIGN

    @property
    def budget(self) -> int:
        return max(self.region_bytes - self.reserve, 0)

    def describe(self) -> str:
        return (
            f"{self.board}: {self.region} {self.region_bytes} bytes - reserve {self.reserve} "
            f"= {self.budget} bytes for the arena"
        )


def _arena_entry(name: str, path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    entry = (data.get("boards", {}).get(name) or {}).get("arena") or {}
    if not isinstance(entry, dict):
        raise ValueError(f"board {name}: 'arena' must be a mapping with region and reserve")
    return entry


def ram_budget(board_name: str, reserve: int | None = None, path: Path | None = None) -> RamBudget:
    """The arena budget of ``board_name``; ``reserve`` overrides the board's reserve."""
    path = path or boards_file()
    board: Board = get_board(board_name)
    entry = _arena_entry(board_name, path)
    rams = board.regions("ram")
    if not rams:
        raise ValueError(f"board {board_name}: no RAM region in {path.name}")
    region_name = entry.get("region")
    if region_name is None:
        region = max(rams, key=lambda r: r.size)
    else:
        matches = [r for r in rams if r.name == region_name]
        if not matches:
            known = ", ".join(r.name for r in rams)
            raise ValueError(
                f"board {board_name}: arena region {region_name!r} is not one of {known}"
            )
        region = matches[0]
    if reserve is None:
        reserve = entry.get("reserve", 0)
    if isinstance(reserve, bool) or not isinstance(reserve, int) or reserve < 0:
        raise ValueError(f"reserve: expected bytes >= 0, got {reserve!r}")
    align = entry.get("align", DEFAULT_ALIGN)
    if isinstance(align, bool) or not isinstance(align, int) or align < 4 or align & (align - 1):
        raise ValueError(f"board {board_name}: arena align must be a power of two >= 4")
    return RamBudget(board_name, region.name, region.size, reserve, align)
