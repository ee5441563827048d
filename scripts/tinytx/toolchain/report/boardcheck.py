"""Does a firmware fit a board? Every section is placed by address in the board's memories.

A section counts in the board memory that holds its run-time address and, when it is
copied at start-up, also in the one that holds its load image (exact placement, unlike
the Berkeley totals). A section that starts past the end of a memory, by less than that
memory's size, counts as overflowing it (a link for a larger memory lays sections out
one after the other past the board's end).

The firmware does not fit when a memory is used beyond its size, when a section lies in
no memory of the board (an ELF linked for another memory map), or when a section
overlaps the board's weights partition.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tinytx.core.boards import Board
from tinytx.toolchain.report.elf import ElfImage
from tinytx.toolchain.report.errors import ReportError


@dataclass
class BoardMemoryUse:
    name: str
    kind: str
    address: int | None
    size: int
    used: int = 0

    @property
    def percent(self) -> float:
        return 100.0 * self.used / self.size if self.size else 0.0

    @property
    def overflow(self) -> int:
        return max(0, self.used - self.size)


@dataclass
class BoardCheck:
    board: Board
    memories: list[BoardMemoryUse]
    errors: list[str] = field(default_factory=list)

    @property
    def fits(self) -> bool:
        return not self.errors

    def _total(self, kind: str) -> tuple[int, int]:
        mems = [m for m in self.memories if m.kind == kind]
        return sum(m.used for m in mems), sum(m.size for m in mems)

    @property
    def flash(self) -> tuple[int, int]:
        """(bytes used, bytes available) over the board's flash memories."""
        return self._total("flash")

    @property
    def ram(self) -> tuple[int, int]:
        return self._total("ram")


ARCH_NAMES = {"arm": "Arm", "riscv": "RISC-V"}


def check_arch(elf: ElfImage, board: Board) -> None:
    if elf.arch != board.arch or elf.elf_class != 32:
        raise ReportError(
            f"{elf.path} is a {elf.elf_class}-bit {elf.machine_name} ELF ({elf.machine}) but"
            f" board {board.name} has a 32-bit {ARCH_NAMES[board.arch]} CPU:"
            " wrong firmware or wrong --board"
        )


def _overflowed_from(board: Board, address: int):
    """The memory that a section starting at ``address`` has run out of: the one ending
    closest below ``address``, when the gap is smaller than that memory (sections placed
    one after the other past a memory's end, as an overflowing link lays them out)."""
    best = None
    for m in board.memory:
        for base in m.windows:
            end = base + m.size
            if end <= address < end + m.size and (best is None or end > best[0]):
                best = (end, m)
    return best[1] if best else None


def check_board(elf: ElfImage, board: Board) -> BoardCheck:
    check_arch(elf, board)
    uses = {m.name: BoardMemoryUse(m.name, m.kind, m.address, m.size) for m in board.memory}
    errors: list[str] = []
    outside: list[str] = []
    part = board.weights_partition
    for s in elf.alloc_sections:
        if s.tls and s.nobits:
            continue
        places = [(s.address, "")]
        if s.copied:
            places.append((s.load_address, " (load image)"))
        for address, what in places:
            mem = board.region_at(address) or _overflowed_from(board, address)
            end = address + s.size
            if mem is None:
                outside.append(f"{s.name}{what} at {address:#010x}")
                continue
            uses[mem.name].used += s.size
            if part is not None and part.overlaps(address, s.size):
                errors.append(
                    f"section {s.name}{what} ({address:#010x}-{end:#010x}) overlaps the weights"
                    f" partition of {board.name} ({part.address:#010x}-{part.end:#010x})"
                )
    if outside:
        where = ", ".join(
            f"{m.name} {m.address:#010x}+{m.size:#x}" for m in board.memory if m.address is not None
        )
        errors.append(
            f"section(s) {'; '.join(outside)} lie outside the memory of board {board.name}"
            f" ({where}): was the ELF linked for another board or profile?"
        )
    for m in uses.values():
        if m.overflow:
            errors.append(
                f"{m.name} overflows board {board.name}: {m.used:,} bytes used of {m.size:,}"
                f" ({m.percent:.1f} %, {m.overflow:,} bytes too many)"
            )
    return BoardCheck(board, list(uses.values()), errors)
