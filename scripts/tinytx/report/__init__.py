"""Memory report of a firmware ELF (``tinytx report``): where did the bytes go, does it fit.

- :mod:`tinytx.report.elf`: sections, load addresses and symbols, read with pyelftools;
- :mod:`tinytx.report.mapfile`: GNU ld map files (memory regions, input sections, objects);
- :mod:`tinytx.report.categories`: the category rules (model weights, arena, ...);
- :mod:`tinytx.report.core`: totals, regions, sections, categories, symbols;
- :mod:`tinytx.report.boardcheck`: the check against a board of boards/boards.yaml;
- :mod:`tinytx.report.diff`, :mod:`tinytx.report.render`, :mod:`tinytx.report.plot`:
  comparison of two builds, JSON and table, PNG.

:func:`analyze` is the one-call entry point used by the CLI and the demo.
"""

from __future__ import annotations

from pathlib import Path

from tinytx.report.core import Report, build_report
from tinytx.report.elf import read_elf
from tinytx.report.errors import ReportError
from tinytx.report.mapfile import read_map

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
