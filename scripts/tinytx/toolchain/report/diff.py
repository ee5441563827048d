"""How a build moved the numbers: the difference of two reports (this one minus the other)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from tinytx.toolchain.report.categories import CATEGORIES
from tinytx.toolchain.report.core import Report


@dataclass(frozen=True)
class Delta:
    old: int
    new: int

    @property
    def delta(self) -> int:
        return self.new - self.old

    def to_json(self) -> dict[str, int]:
        return {"old": self.old, "new": self.new, "delta": self.delta}


@dataclass(frozen=True)
class SymbolDelta:
    name: str
    old: int
    new: int
    status: str  # "added", "removed", "grown", "shrunk"

    @property
    def delta(self) -> int:
        return self.new - self.old


@dataclass
class ReportDiff:
    other: str  # the ELF compared against
    flash: Delta
    ram: Delta
    categories: dict[str, Delta]
    flash_categories: dict[str, Delta]
    ram_categories: dict[str, Delta]
    sections: dict[str, Delta]
    symbols: list[SymbolDelta]  # changed symbols, largest change first

    def to_json(self, top: int | None = None) -> dict:
        syms = self.symbols if top is None else self.symbols[:top]
        return {
            "other": self.other,
            "flash_bytes": self.flash.to_json(),
            "ram_bytes": self.ram.to_json(),
            "categories": {k: v.to_json() for k, v in self.categories.items()},
            "flash_categories": {k: v.to_json() for k, v in self.flash_categories.items()},
            "ram_categories": {k: v.to_json() for k, v in self.ram_categories.items()},
            "sections": {k: v.to_json() for k, v in self.sections.items()},
            "symbols": [
                {"name": s.name, "old": s.old, "new": s.new, "delta": s.delta, "status": s.status}
                for s in syms
            ],
            "symbols_changed": len(self.symbols),
        }


def _per_category(new: Counter, old: Counter) -> dict[str, Delta]:
    return {c: Delta(old.get(c, 0), new.get(c, 0)) for c in CATEGORIES}


def _symbol_sizes(report: Report) -> Counter:
    sizes: Counter = Counter()
    for s in report.symbols:
        sizes[s.name] += s.size  # local symbols of the same name are summed
    return sizes


def diff_reports(new: Report, old: Report) -> ReportDiff:
    sections: dict[str, Delta] = {}
    old_sections = {s.name: s.size for s in old.sections}
    new_sections = {s.name: s.size for s in new.sections}
    for name in list(new_sections) + [n for n in old_sections if n not in new_sections]:
        sections[name] = Delta(old_sections.get(name, 0), new_sections.get(name, 0))
    old_syms, new_syms = _symbol_sizes(old), _symbol_sizes(new)
    symbols = []
    for name in set(old_syms) | set(new_syms):
        a, b = old_syms.get(name, 0), new_syms.get(name, 0)
        if a == b:
            continue
        if name not in old_syms:
            status = "added"
        elif name not in new_syms:
            status = "removed"
        else:
            status = "grown" if b > a else "shrunk"
        symbols.append(SymbolDelta(name, a, b, status))
    symbols.sort(key=lambda s: (-abs(s.delta), s.name))
    return ReportDiff(
        other=old.elf,
        flash=Delta(old.flash_bytes, new.flash_bytes),
        ram=Delta(old.ram_bytes, new.ram_bytes),
        categories=_per_category(new.categories, old.categories),
        flash_categories=_per_category(new.flash_categories, old.flash_categories),
        ram_categories=_per_category(new.ram_categories, old.ram_categories),
        sections=sections,
        symbols=symbols,
    )
