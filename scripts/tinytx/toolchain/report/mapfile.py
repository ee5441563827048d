"""GNU ld map files (``-Wl,-Map=...``) as written by arm-none-eabi-ld and riscv*-elf-ld.

What the report takes from a map:

- ``Memory Configuration``: the MEMORY regions (name, origin, length, attributes);
- ``Linker script and memory map``: every output section (name, address, size, load
  address), the input sections placed in it (input section name, address, size, the
  object file or ``archive(member)`` it came from; ``*fill*`` padding) and the global
  symbols listed under each input section.

The format (binutils ld/ldlang.c): an output section starts in column 0 with its name,
address and size (long names wrap onto the next line); input sections are indented by
one space (long names wrap too); symbols are indented by 16 spaces and are an address
and a name; script assignments (``sym = expr``, ``PROVIDE (...)``) and input patterns
(``*(.text .text.*)``) are skipped. Lines that match nothing are ignored, so a damaged
map yields less information, never an exception. Maps of other linkers (LLVM lld,
armlink, IAR, TI, ld64) are recognized and refused with a message that names them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from tinytx.toolchain.report.errors import ReportError

MAX_MAP_BYTES = 256 << 20

HEX = r"0x[0-9a-fA-F]+"
# Output section header: name, then (maybe on the next line) address, size, load address.
RE_OUT = re.compile(
    rf"^(\S+)(?:[ \t]+({HEX})[ \t]+({HEX})(?:[ \t]+load address[ \t]+({HEX}))?)?[ \t]*$"
)
RE_ADDR_SIZE = re.compile(
    rf"^[ \t]+({HEX})[ \t]+({HEX})(?:[ \t]+load address[ \t]+({HEX}))?[ \t]*$"
)
# Input section: " name addr size [file]"; a wrapped one is " name" then "   addr size file".
RE_IN = re.compile(rf"^ (\S+)[ \t]+({HEX})[ \t]+({HEX})(?:[ \t]+(\S.*?))?[ \t]*$")
RE_IN_NAME = re.compile(r"^ ([^\s*(][^\s(]*|\*fill\*|COMMON)[ \t]*$")
RE_IN_WRAPPED = re.compile(rf"^[ \t]{{2,}}({HEX})[ \t]+({HEX})(?:[ \t]+(\S.*?))?[ \t]*$")
# Symbol: 16 spaces, address, spaces, name (a single token: no assignment).
RE_SYM = re.compile(rf"^[ \t]{{8,}}({HEX})[ \t]+([A-Za-z_.$][^\s=()]*)[ \t]*$")
RE_REGION = re.compile(rf"^(\S+)[ \t]+({HEX})[ \t]+({HEX})(?:[ \t]+(\S+))?[ \t]*$")

COLUMN0_KEYWORDS = (
    "LOAD ",
    "OUTPUT(",
    "START GROUP",
    "END GROUP",
    "INPUT(",
    "TARGET(",
    "OUTPUT_FORMAT",
    "OUTPUT_ARCH",
    "SEARCH_DIR",
    "ENTRY(",
    "INCLUDE ",
    "GROUP(",
    "STARTUP(",
    "ASSERT",
)

OTHER_LINKERS = (
    (re.compile(r"^\s*VMA\s+LMA\s+Size\s+Align\s+Out\s+In\s+Symbol", re.M), "LLVM lld"),
    (re.compile(r"^\s*Address\s+Size\s+Align\s+Out\s+File\s+Symbol", re.M), "LLVM lld (COFF)"),
    (re.compile(r"IAR ELF Linker|IAR Universal Linker"), "IAR ILINK"),
    (re.compile(r"Memory Map of the image|Image Symbol Table|ARM Linker|armlink"), "Arm armlink"),
    (re.compile(r"TI ARM Linker|TI ARM Clang Linker|SECTION ALLOCATION MAP"), "TI linker"),
    (re.compile(r"^# Path: .*\n# Arch: ", re.M), "Apple ld64"),
    (re.compile(r"Preferred load address is"), "Microsoft link.exe"),
)


@dataclass(frozen=True)
class MapRegion:
    name: str
    origin: int
    length: int
    attributes: str

    @property
    def kind(self) -> str:
        """'ram' when the attributes allow writing (``w`` before any ``!``), else 'flash'."""
        allowed = self.attributes.split("!", 1)[0].lower()
        return "ram" if "w" in allowed else "flash"

    def contains(self, address: int) -> bool:
        return self.origin <= address < self.origin + self.length


@dataclass(frozen=True)
class InputSection:
    output: str  # output section name
    name: str  # input section name, "*fill*" for padding, "COMMON" for common symbols
    address: int
    size: int
    origin: str | None  # object file or archive(member); None for fill

    @property
    def fill(self) -> bool:
        return self.name == "*fill*"


@dataclass(frozen=True)
class OutputSection:
    name: str
    address: int
    size: int
    load_address: int | None


@dataclass(frozen=True)
class MapSymbol:
    name: str
    address: int
    input_index: int  # index into LinkerMap.inputs of the input section it was listed under


@dataclass
class LinkerMap:
    path: str
    regions: list[MapRegion] = field(default_factory=list)
    outputs: list[OutputSection] = field(default_factory=list)
    inputs: list[InputSection] = field(default_factory=list)
    symbols: list[MapSymbol] = field(default_factory=list)

    def output(self, name: str) -> OutputSection | None:
        return next((o for o in self.outputs if o.name == name), None)


def sniff_linker(text: str) -> str:
    """'gnu-ld', the name of another linker, or 'unknown'."""
    if "Linker script and memory map" in text:
        return "gnu-ld"
    head = text[:65536]
    for pattern, name in OTHER_LINKERS:
        if pattern.search(head):
            return name
    return "unknown"


def _parse_regions(lines: list[str], start: int, out: LinkerMap) -> None:
    for line in lines[start:]:
        if not line.strip():
            if out.regions:
                break
            continue
        if line.startswith("Name") or line.startswith("Linker script"):
            if line.startswith("Linker script"):
                break
            continue
        m = RE_REGION.match(line)
        if m and m.group(1) != "*default*":
            out.regions.append(
                MapRegion(m.group(1), int(m.group(2), 16), int(m.group(3), 16), m.group(4) or "")
            )


def _parse_layout(lines: list[str], start: int, out: LinkerMap) -> None:
    current: str | None = None  # output section being listed
    pending_out: str | None = None  # wrapped output section name
    pending_in: str | None = None  # wrapped input section name
    last_input = -1
    for line in lines[start:]:
        if not line.strip():
            pending_out = pending_in = None
            continue
        if pending_out is not None:
            m = RE_ADDR_SIZE.match(line)
            name, pending_out = pending_out, None
            if m:
                load = int(m.group(3), 16) if m.group(3) else None
                out.outputs.append(
                    OutputSection(name, int(m.group(1), 16), int(m.group(2), 16), load)
                )
                current, last_input = name, -1
                continue
        if pending_in is not None:
            m = RE_IN_WRAPPED.match(line)
            name, pending_in = pending_in, None
            if m and current is not None:
                last_input = _add_input(out, current, name, m.group(1), m.group(2), m.group(3))
                continue
        if not line[0].isspace():
            if line.startswith(COLUMN0_KEYWORDS):
                current = None
                continue
            m = RE_OUT.match(line)
            if not m:
                current = None
                continue
            if m.group(2) is None:
                pending_out, current = m.group(1), m.group(1)
                last_input = -1
                continue
            load = int(m.group(4), 16) if m.group(4) else None
            out.outputs.append(
                OutputSection(m.group(1), int(m.group(2), 16), int(m.group(3), 16), load)
            )
            current, last_input = m.group(1), -1
            continue
        if current is None or current == "/DISCARD/":
            continue
        m = RE_IN.match(line)
        if m:
            last_input = _add_input(out, current, m.group(1), m.group(2), m.group(3), m.group(4))
            continue
        m = RE_IN_NAME.match(line)
        if m:
            pending_in = m.group(1)
            continue
        m = RE_SYM.match(line)
        if m and last_input >= 0:
            out.symbols.append(MapSymbol(m.group(2), int(m.group(1), 16), last_input))


def _add_input(out: LinkerMap, output: str, name: str, addr: str, size: str, origin) -> int:
    if name.startswith("*") and name not in ("*fill*",):
        return len(out.inputs) - 1
    origin = origin.strip() if origin else None
    out.inputs.append(InputSection(output, name, int(addr, 16), int(size, 16), origin))
    return len(out.inputs) - 1


def parse_map_text(text: str, path: str = "<map>") -> LinkerMap:
    """Parse a GNU ld map; a map of another linker raises :class:`ReportError`."""
    flavor = sniff_linker(text)
    if flavor != "gnu-ld":
        what = f"a map file of {flavor}" if flavor != "unknown" else "not a GNU ld map file"
        raise ReportError(
            f"{path}: {what}; tinytx report reads GNU ld maps (-Wl,-Map=...) of"
            " arm-none-eabi and riscv*-elf toolchains"
        )
    lines = text.splitlines()
    out = LinkerMap(path)
    for i, line in enumerate(lines):
        if line.startswith("Memory Configuration"):
            _parse_regions(lines, i + 1, out)
            break
    for i, line in enumerate(lines):
        if line.startswith("Linker script and memory map"):
            _parse_layout(lines, i + 1, out)
            break
    return out


def read_map(path: str | Path) -> LinkerMap:
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_MAP_BYTES:
            raise ReportError(f"{p}: {size} bytes is too large for a map file")
        data = p.read_bytes()
    except IsADirectoryError:
        raise ReportError(f"{p}: is a directory, not a map file") from None
    except OSError as exc:
        raise ReportError(f"{p}: cannot read ({exc.strerror or exc})") from None
    if b"\0" in data[:4096]:
        raise ReportError(f"{p}: binary data, not a GNU ld map file")
    return parse_map_text(data.decode("utf-8", errors="replace"), str(p))
