"""Flash and RAM use of a firmware ELF, from its section headers.

A small summary for the demo; the full memory report (regions from the map file,
categories, symbols, diffs) is `tinytx report`, a later issue.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

RESERVED_SECTIONS = (".stack", ".heap")


@dataclass(frozen=True)
class MemorySummary:
    text: int  # executable sections
    rodata: int  # read-only data
    data: int  # initialized RAM data (its image also sits in flash)
    bss: int  # zero-initialized RAM
    reserved: int  # stack and heap reserved by the linker script
    flash: int  # bytes stored in flash: text + rodata + data image (+ other loaded bytes)
    ram: int  # bytes of RAM occupied: data + bss + reserved (overlaps counted once)


def _union_length(ranges: list[tuple[int, int]]) -> int:
    total, end = 0, -1
    for lo, hi in sorted(ranges):
        lo = max(lo, end)
        if hi > lo:
            total += hi - lo
            end = hi
    return total


def elf_memory_summary(path: Path, ram: tuple[int, int] | None = None) -> MemorySummary:
    """Sizes by kind; RAM is every allocated section inside ``ram`` = (start, size),
    or every writable allocated section when no range is given."""
    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            sections = [
                (s.name, s["sh_type"], s["sh_flags"], s["sh_addr"], s["sh_size"])
                for s in elf.iter_sections()
            ]
    except ELFError as exc:
        raise ValueError(f"{path}: not a valid ELF file ({exc})") from exc
    text = rodata = data = bss = reserved = flash = 0
    ram_ranges: list[tuple[int, int]] = []
    for name, kind, flags, addr, size in sections:
        if not flags & SH_FLAGS.SHF_ALLOC or size == 0:
            continue
        writable = bool(flags & SH_FLAGS.SHF_WRITE)
        in_ram = ram[0] <= addr < ram[0] + ram[1] if ram else writable
        nobits = kind == "SHT_NOBITS"
        if not nobits:
            flash += size
        if flags & SH_FLAGS.SHF_EXECINSTR:
            text += size
        elif not in_ram:
            rodata += size
        elif name in RESERVED_SECTIONS:
            reserved += size
        elif nobits:
            bss += size if not flags & SH_FLAGS.SHF_TLS else 0
        else:
            data += size
        if in_ram:
            ram_ranges.append((addr, addr + size))
    return MemorySummary(text, rodata, data, bss, reserved, flash, _union_length(ram_ranges))
