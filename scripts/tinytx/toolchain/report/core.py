"""The memory report of one firmware ELF: totals, regions, sections, categories, symbols.

Definitions (docs/memory-report.md):

- ``text``, ``data``, ``bss`` are what GNU ``size`` prints in its default (Berkeley)
  format, and ``flash_bytes = text + data``, ``ram_bytes = data + bss``, so that the
  JSON totals equal ``arm-none-eabi-size``/``riscv64-unknown-elf-size`` output;
- each byte of each allocated section is given one category (see categories.py);
  ``flash_categories`` add up to ``flash_bytes``, ``ram_categories`` to ``ram_bytes``
  and ``categories`` (their sum) to ``flash_bytes + ram_bytes``: a byte of initialized
  data counts once in flash (its load image) and once in RAM;
- regions are placement: each section counts in the region that holds its run-time
  address and, when it is copied at start-up (``.data``), also in the region that holds
  its load image. Regions come from the map file's memory configuration, else from the
  board (``--board``), else from the program headers.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field

from tinytx.toolchain.report import categories as cat
from tinytx.toolchain.report.elf import ElfImage, Section
from tinytx.toolchain.report.errors import ReportError
from tinytx.toolchain.report.mapfile import LinkerMap
from tinytx.toolchain.report.sparse import SparseWeights, sparse_weights

NO_REGION = "(outside every region)"


@dataclass
class RegionUse:
    name: str
    kind: str  # "flash" or "ram"
    origin: int | None
    length: int | None
    used: int = 0
    categories: Counter = field(default_factory=Counter)

    @property
    def percent(self) -> float | None:
        return 100.0 * self.used / self.length if self.length else None


@dataclass
class SectionUse:
    name: str
    address: int
    load_address: int
    size: int
    berkeley: str  # text, data or bss
    region: str | None
    load_region: str | None
    categories: Counter


@dataclass(frozen=True)
class SymbolUse:
    name: str
    address: int
    size: int
    kind: str
    section: str
    category: str
    origin: str | None  # object file from the map file
    approximate: bool = False  # size inferred from the map (stripped ELF)


@dataclass
class Report:
    elf: str
    map: str | None
    machine: str
    machine_name: str
    elf_class: int
    text: int
    data: int
    bss: int
    flash_categories: Counter
    ram_categories: Counter
    regions: list[RegionUse]
    region_source: str  # "map", "board" or "program headers"
    sections: list[SectionUse]
    symbols: list[SymbolUse]  # largest first
    warnings: list[str]
    image: ElfImage | None = None  # the ELF read (for the board check)
    sparse: SparseWeights | None = None  # model weights stored sparse (None: none found)

    @property
    def flash_bytes(self) -> int:
        return self.text + self.data

    @property
    def ram_bytes(self) -> int:
        return self.data + self.bss

    @property
    def categories(self) -> Counter:
        total = Counter({c: 0 for c in cat.CATEGORIES})
        total.update(self.flash_categories)
        total.update(self.ram_categories)
        return total


class Paint:
    """A step function over [start, end): paint(a, b, value) overwrites that range."""

    def __init__(self, start: int, end: int, value: str | None):
        self.bounds = [start, end]
        self.values: list[str | None] = [value]

    def _split(self, x: int) -> int:
        """Make ``x`` a boundary (clamped to the range); return its index."""
        x = min(max(x, self.bounds[0]), self.bounds[-1])
        i = bisect.bisect_left(self.bounds, x)
        if self.bounds[i] != x:
            self.bounds.insert(i, x)
            self.values.insert(i, self.values[i - 1])
        return i

    def paint(self, a: int, b: int, value: str | None) -> None:
        if value is None or b <= self.bounds[0] or a >= self.bounds[-1] or b <= a:
            return
        i = self._split(a)
        j = self._split(b)
        self.bounds[i + 1 : j] = []
        self.values[i:j] = [value]

    def value_at(self, x: int) -> str | None:
        i = bisect.bisect_right(self.bounds, x) - 1
        return self.values[min(max(i, 0), len(self.values) - 1)]

    def totals(self) -> Counter:
        out: Counter = Counter()
        for k, v in enumerate(self.values):
            out[v or "other"] += self.bounds[k + 1] - self.bounds[k]
        return out


@dataclass(frozen=True)
class _Region:
    name: str
    kind: str
    origin: int | None
    length: int | None
    windows: tuple[int, ...]

    def contains(self, address: int) -> bool:
        return any(w <= address < w + (self.length or 0) for w in self.windows)


def _regions_from_map(lmap: LinkerMap) -> list[_Region]:
    return [_Region(r.name, r.kind, r.origin, r.length, (r.origin,)) for r in lmap.regions]


def _regions_from_board(board) -> list[_Region]:
    return [_Region(r.name, r.kind, r.address, r.size, r.windows) for r in board.memory]


def _regions_from_segments(elf: ElfImage) -> list[_Region]:
    """Two synthetic regions spanning what the program headers place: flash and RAM."""
    flash: list[tuple[int, int]] = []
    ram: list[tuple[int, int]] = []
    for s in elf.alloc_sections:
        if s.tls and s.nobits:
            continue
        if s.write and (s.nobits or s.copied):
            ram.append((s.address, s.address + s.size))
            if s.copied:
                flash.append((s.load_address, s.load_address + s.size))
        else:
            flash.append((s.address, s.address + s.size))
    out = []
    for name, spans in (("flash", flash), ("ram", ram)):
        if spans:
            lo, hi = min(a for a, _ in spans), max(b for _, b in spans)
            out.append(_Region(name, name, lo, hi - lo, (lo,)))
    return out


def _region_of(regions: list[_Region], address: int) -> str | None:
    return next((r.name for r in regions if r.contains(address)), None)


def _check_map_matches(elf: ElfImage, lmap: LinkerMap) -> str | None:
    """A reason why the map does not describe this ELF, or None when it does."""
    compared = 0
    for s in elf.alloc_sections:
        o = lmap.output(s.name)
        if o is None:
            continue
        compared += 1
        if o.address != s.address or o.size != s.size:
            return (
                f"section {s.name} is {o.size:#x} bytes at {o.address:#x} in the map but"
                f" {s.size:#x} bytes at {s.address:#x} in the ELF"
            )
    if elf.alloc_sections and compared == 0:
        return "none of the ELF's allocated sections appears in the map"
    return None


def _paint_section(
    s: Section,
    elf: ElfImage,
    lmap: LinkerMap | None,
    inputs_by_output: dict[str, list[int]],
    symbols: list[tuple[int, int, str, str]],
) -> Paint:
    paint = Paint(s.address, s.address + s.size, cat.output_section_category(s.name))
    if lmap is None:
        for addr, size, name, kind in symbols:
            paint.paint(addr, addr + size, cat.weak_symbol_category(name, kind))
    else:
        for i in inputs_by_output.get(s.name, ()):
            inp = lmap.inputs[i]
            if not inp.fill:
                rule = cat.input_section_category(inp.name, inp.origin)
                paint.paint(inp.address, inp.address + inp.size, rule)
    for addr, size, name, kind in symbols:
        paint.paint(addr, addr + size, cat.strong_symbol_category(name, kind))
    return paint


def _map_symbols(
    lmap: LinkerMap, section: Section, map_syms: list[tuple[int, int]]
) -> list[tuple[int, int, str, str, str]]:
    """Symbols of the map inside ``section``, each sized up to the next symbol or the end
    of its input section (for stripped ELFs); ``map_syms`` is (address, index) sorted."""
    lo = bisect.bisect_left(map_syms, (section.address, -1))
    hi = bisect.bisect_left(map_syms, (section.address + section.size, -1))
    inside = map_syms[lo:hi]
    out = []
    j = 0  # first symbol at a higher address than the current one
    for addr, idx in inside:
        while j < len(inside) and inside[j][0] <= addr:
            j += 1
        sym = lmap.symbols[idx]
        inp = lmap.inputs[sym.input_index]
        end = inp.address + inp.size
        if j < len(inside):
            end = min(end, inside[j][0])
        if end > addr:
            kind = "func" if section.exec else "object"
            out.append((addr, end - addr, sym.name, kind, inp.origin or ""))
    return out


def build_report(
    elf: ElfImage, lmap: LinkerMap | None = None, board=None, map_given: bool = True
) -> Report:
    """The report of ``elf``; ``lmap`` adds regions and object files, ``board`` limits.

    A map that does not describe the ELF raises :class:`ReportError` when it was given
    explicitly (``map_given``) and is dropped with a warning when it was found next to it.
    """
    warnings: list[str] = []
    if lmap is not None:
        reason = _check_map_matches(elf, lmap)
        if reason:
            message = f"map file {lmap.path} does not match {elf.path}: {reason}"
            if map_given:
                raise ReportError(message)
            warnings.append(message + "; the map is ignored")
            lmap = None
    if elf.synthetic_sections:
        warnings.append(
            f"{elf.path} has no section headers: sections are made from the program headers"
        )
    if not elf.has_symtab:
        how = "the map file's symbols" if lmap else "section names only"
        warnings.append(
            f"{elf.path} has no symbol table (stripped): categories and symbols come from {how}"
        )
    if lmap is None:
        warnings.append(
            "no map file: kernel code and libc/RTOS are told by symbol names and model weights"
            " only by names containing 'tinytx_weights'; pass --map for exact attribution"
        )

    if lmap is not None and lmap.regions:
        regions, source = _regions_from_map(lmap), "map"
    elif board is not None:
        regions, source = _regions_from_board(board), "board"
    else:
        regions, source = _regions_from_segments(elf), "program headers"
    # Spans made from the program headers have no capacity: no length, no percentage.
    spans = source == "program headers"
    uses = {
        r.name: RegionUse(r.name, r.kind, r.origin, None if spans else r.length) for r in regions
    }

    inputs_by_output: dict[str, list[int]] = {}
    if lmap is not None:
        for i, inp in enumerate(lmap.inputs):
            inputs_by_output.setdefault(inp.output, []).append(i)

    text = data = bss = 0
    flash_cats: Counter = Counter()
    ram_cats: Counter = Counter()
    section_uses: list[SectionUse] = []
    symbol_uses: list[SymbolUse] = []
    by_section: dict[int, list[tuple[int, int, str, str, str]]] = {}
    for y in elf.symbols:
        by_section.setdefault(y.section, []).append((y.address, y.size, y.name, y.kind, ""))
    map_syms = sorted((y.address, k) for k, y in enumerate(lmap.symbols)) if lmap else []
    starts = {
        name: sorted((lmap.inputs[i].address, i) for i in idx if not lmap.inputs[i].fill)
        for name, idx in inputs_by_output.items()
    }
    for s in elf.alloc_sections:
        kind = s.berkeley
        if elf.has_symtab:
            syms = by_section.get(s.index, [])
        elif lmap is not None:
            syms = _map_symbols(lmap, s, map_syms)
        else:
            syms = []
        paint = _paint_section(s, elf, lmap, inputs_by_output, [x[:4] for x in syms])
        pieces = paint.totals()
        if kind == "text":
            text += s.size
            flash_cats.update(pieces)
        elif kind == "data":
            data += s.size
            flash_cats.update(pieces)
            ram_cats.update(pieces)
        else:
            bss += s.size
            ram_cats.update(pieces)

        region = load_region = None
        if not (s.tls and s.nobits):  # .tbss takes no address space of its own
            region = _region_of(regions, s.address) or NO_REGION
            places = [(region, s.address)]
            if s.copied:
                load_region = _region_of(regions, s.load_address) or NO_REGION
                places.append((load_region, s.load_address))
            for name, _ in places:
                if name not in uses:
                    uses[name] = RegionUse(name, "flash" if s.copied else "ram", None, None)
                uses[name].used += s.size
                uses[name].categories.update(pieces)
        section_uses.append(
            SectionUse(s.name, s.address, s.load_address, s.size, kind, region, load_region, pieces)
        )
        for addr, size, name, skind, origin in syms:
            if lmap is not None and not origin:
                origin = _origin_at(lmap, starts.get(s.name, []), addr)
            symbol_uses.append(
                SymbolUse(
                    name,
                    addr,
                    size,
                    skind,
                    s.name,
                    paint.value_at(addr) or "other",
                    origin or None,
                    approximate=not elf.has_symtab,
                )
            )

    if NO_REGION in uses:
        names = [u.name for u in section_uses if NO_REGION in (u.region, u.load_region)]
        warnings.append(f"section(s) {', '.join(names)} lie outside every memory region ({source})")
    symbol_uses.sort(key=lambda y: (-y.size, y.name))
    return Report(
        elf=elf.path,
        map=lmap.path if lmap else None,
        machine=elf.machine,
        machine_name=elf.machine_name,
        elf_class=elf.elf_class,
        text=text,
        data=data,
        bss=bss,
        flash_categories=flash_cats,
        ram_categories=ram_cats,
        regions=list(uses.values()),
        region_source=source,
        sections=section_uses,
        symbols=symbol_uses,
        warnings=warnings,
        image=elf,
        sparse=sparse_weights(elf),
    )


def _origin_at(lmap: LinkerMap, starts: list[tuple[int, int]], address: int) -> str | None:
    """Object file of the input section that holds ``address`` (``starts`` sorted)."""
    k = bisect.bisect_right(starts, (address, len(lmap.inputs))) - 1
    if k >= 0:
        inp = lmap.inputs[starts[k][1]]
        if inp.address <= address < inp.address + inp.size:
            return inp.origin
    return None
