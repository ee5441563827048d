"""Memory report of a firmware ELF (``tinytx report``): where did the bytes go, does it fit.

- :mod:`tinytx.toolchain.report.elf`: sections, load addresses and symbols, read with pyelftools;
- :mod:`tinytx.toolchain.report.mapfile`: GNU ld map files (memory regions, input sections,
  objects);
- :mod:`tinytx.toolchain.report.categories`: the category rules (model weights, arena, ...);
- :mod:`tinytx.toolchain.report.core`: totals, regions, sections, categories, symbols;
- :mod:`tinytx.toolchain.report.boardcheck`: the check against a board of boards/boards.yaml;
- :mod:`tinytx.toolchain.report.diff`, :mod:`tinytx.toolchain.report.render`,
  :mod:`tinytx.toolchain.report.plot`:
  comparison of two builds, JSON and table, PNG.

:func:`analyze` is the one-call entry point used by the CLI and the demo.
"""

from __future__ import annotations

from pathlib import Path

from tinytx.toolchain.report.core import Report, build_report
from tinytx.toolchain.report.elf import read_elf
from tinytx.toolchain.report.errors import ReportError
from tinytx.toolchain.report.mapfile import read_map

__all__ = ["Report", "ReportError", "analyze", "find_map"]


def find_map(elf: Path) -> Path | None:
    """The map the build wrote next to ``elf``: ``<elf>.map`` or ``<elf without suffix>.map``
    (the bare-metal build writes ``<app>.map`` beside ``<app>``, Zephyr ``zephyr.map``)."""
    for candidate in (Path(str(elf) + ".map"), elf.with_suffix(".map")):
        if candidate.is_file() and candidate != elf:
            return candidate
    return None


def analyze(elf: Path, map_path: Path | None = None, board=None, auto_map: bool = True) -> Report:
    """Report of ``elf`` with its map (given, or found beside it when ``auto_map``).

    An explicitly given map must be a GNU ld map of this ELF (else :class:`ReportError`);
    a map found automatically that cannot be used only adds a warning.
    """
    image = read_elf(elf)
    given = map_path is not None
    warnings = []
    lmap = None
    if map_path is None and auto_map:
        map_path = find_map(Path(elf))
    if map_path is not None:
        try:
            lmap = read_map(map_path)
        except ReportError as exc:
            if given:
                raise
            warnings.append(f"{exc}; the map is ignored")
    report = build_report(image, lmap, board=board, map_given=given)
    report.warnings[:0] = warnings
    return report
