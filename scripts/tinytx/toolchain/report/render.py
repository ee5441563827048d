"""The report as JSON (for CI and scripts) and as a table (for people)."""

from __future__ import annotations

import re
from collections import Counter

from tinytx.toolchain.report.boardcheck import BoardCheck
from tinytx.toolchain.report.categories import CATEGORIES, LABELS
from tinytx.toolchain.report.core import Report
from tinytx.toolchain.report.diff import ReportDiff

JSON_FORMAT_VERSION = 1


def _cats(counter: Counter) -> dict[str, int]:
    return {c: int(counter.get(c, 0)) for c in CATEGORIES}


def short_origin(origin: str | None) -> str:
    """``/long/path/libc.a(memcpy.c.o)`` -> ``libc.a(memcpy.c.o)``, a path -> its file name."""
    if not origin:
        return ""
    m = re.match(r"^(.*?)([^/\\]+\.a)\((.*)\)$", origin)
    if m:
        return f"{m.group(2)}({m.group(3)})"
    return re.split(r"[/\\]", origin)[-1]


def flash_resident_data(report: Report) -> list[tuple[str, int]]:
    """Writable sections with contents that run from flash: ``size`` counts them as data,
    hence in RAM = data + bss, though no RAM holds them (e.g. picolibc's .init vector table)."""
    kinds = {r.name: r.kind for r in report.regions}
    return [
        (s.name, s.size)
        for s in report.sections
        if s.berkeley == "data" and s.load_region is None and kinds.get(s.region) == "flash"
    ]


def board_json(check: BoardCheck) -> dict:
    b = check.board
    (fu, fs), (ru, rs) = check.flash, check.ram
    part = b.weights_partition
    return {
        "name": b.name,
        "description": b.description,
        "fits": check.fits,
        "flash_used": fu,
        "flash_size": fs,
        "flash_percent": round(100.0 * fu / fs, 2) if fs else None,
        "ram_used": ru,
        "ram_size": rs,
        "ram_percent": round(100.0 * ru / rs, 2) if rs else None,
        "memories": [
            {
                "name": m.name,
                "kind": m.kind,
                "address": m.address,
                "size": m.size,
                "used": m.used,
                "percent": round(m.percent, 2),
                "overflow": m.overflow,
            }
            for m in check.memories
        ],
        "weights_partition": None if part is None else {"address": part.address, "size": part.size},
        "errors": list(check.errors),
    }


def report_json(
    report: Report, check: BoardCheck | None = None, diff: ReportDiff | None = None, top: int = 10
) -> dict:
    """The machine-readable report. Scripts rely on ``flash_bytes``, ``ram_bytes`` and
    ``categories`` (category -> bytes in flash plus bytes in RAM)."""
    return {
        "tool": "tinytx report",
        "format_version": JSON_FORMAT_VERSION,
        "elf": report.elf,
        "map": report.map,
        "machine": report.machine,
        "elf_class": report.elf_class,
        "text": report.text,
        "data": report.data,
        "bss": report.bss,
        "flash_bytes": report.flash_bytes,
        "ram_bytes": report.ram_bytes,
        "categories": _cats(report.categories),
        "flash_categories": _cats(report.flash_categories),
        "ram_categories": _cats(report.ram_categories),
        "region_source": report.region_source,
        "regions": [
            {
                "name": r.name,
                "kind": r.kind,
                "origin": r.origin,
                "length": r.length,
                "used": r.used,
                "percent": None if r.percent is None else round(r.percent, 2),
                "categories": _cats(r.categories),
            }
            for r in report.regions
        ],
        "sections": [
            {
                "name": s.name,
                "address": s.address,
                "load_address": s.load_address,
                "size": s.size,
                "kind": s.berkeley,
                "region": s.region,
                "load_region": s.load_region,
                "categories": _cats(s.categories),
            }
            for s in report.sections
        ],
        "top_symbols": [
            {
                "name": y.name,
                "address": y.address,
                "size": y.size,
                "kind": y.kind,
                "section": y.section,
                "category": y.category,
                "object": y.origin,
                "approximate": y.approximate,
            }
            for y in report.symbols[:top]
        ],
        "board": board_json(check) if check else None,
        "compare": diff.to_json(top) if diff else None,
        "warnings": list(report.warnings),
        "sparse_weights": report.sparse.as_json() if report.sparse else None,
    }


def _n(v: int) -> str:
    return f"{v:,}"


def _d(v: int) -> str:
    return f"{v:+,}" if v else "0"


def _table(rows: list[list[str]], right: set[int], indent: str = "  ") -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        out.append((indent + "  ".join(cells)).rstrip())
    return out


def _addr(v: int | None) -> str:
    return "" if v is None else f"0x{v:08x}"


def report_text(
    report: Report, check: BoardCheck | None = None, diff: ReportDiff | None = None, top: int = 10
) -> str:
    lines = [
        f"tinytx report: {report.elf} ({report.machine_name}, ELF{report.elf_class})",
        f"map: {report.map}" if report.map else "map: none",
        "",
        f"totals (as GNU size, Berkeley): text {_n(report.text)}  data {_n(report.data)}"
        f"  bss {_n(report.bss)}",
        f"  flash = text + data  {_n(report.flash_bytes):>10} bytes",
        f"  RAM   = data + bss   {_n(report.ram_bytes):>10} bytes",
    ]
    resident = flash_resident_data(report)
    if resident:
        what = ", ".join(f"{n} ({_n(sz)} bytes)" for n, sz in resident)
        lines.append(f"  note: RAM = data + bss includes {what}: writable, so size counts it")
        lines.append("        as data, but it stays in flash (no RAM region holds it)")

    lines += ["", f"memory regions (from the {report.region_source})"]
    rows = [["region", "kind", "origin", "length", "used", "use"]]
    for r in report.regions:
        rows.append(
            [
                r.name,
                r.kind,
                _addr(r.origin),
                "" if r.length is None else _n(r.length),
                _n(r.used),
                "" if r.percent is None else f"{r.percent:.1f} %",
            ]
        )
    lines += _table(rows, {3, 4, 5})

    lines += ["", "categories"]
    rows = [["category", "flash", "RAM"]]
    for c in CATEGORIES:
        rows.append(
            [LABELS[c], _n(report.flash_categories.get(c, 0)), _n(report.ram_categories.get(c, 0))]
        )
    rows.append(["total", _n(report.flash_bytes), _n(report.ram_bytes)])
    lines += _table(rows, {1, 2})
    if report.sparse is not None:
        lines.append(f"  {report.sparse.line()}")

    lines += ["", "sections"]
    rows = [["section", "address", "load", "size", "kind", "region"]]
    for s in report.sections:
        region = s.region or ""
        if s.load_region:
            region += f" (load image: {s.load_region})"
        rows.append(
            [
                s.name,
                _addr(s.address),
                _addr(s.load_address) if s.load_region else "",
                _n(s.size),
                s.berkeley,
                region,
            ]
        )
    lines += _table(rows, {3})

    if report.symbols and top > 0:
        lines += ["", f"top {min(top, len(report.symbols))} symbols"]
        rows = [["size", "category", "section", "symbol", "object"]]
        for y in report.symbols[:top]:
            size = ("~" if y.approximate else "") + _n(y.size)
            rows.append([size, LABELS[y.category], y.section, y.name, short_origin(y.origin)])
        lines += _table(rows, {0})

    if check is not None:
        lines += ["", *board_text(check)]
    if diff is not None:
        lines += ["", *diff_text(diff, top)]
    return "\n".join(lines) + "\n"


def board_text(check: BoardCheck) -> list[str]:
    b = check.board
    (fu, fs), (ru, rs) = check.flash, check.ram
    pf = f"{100.0 * fu / fs:.1f} %" if fs else "-"
    pr = f"{100.0 * ru / rs:.1f} %" if rs else "-"
    lines = [
        f"board {b.name}: {b.description}",
        f"  flash {_n(fu)} of {_n(fs)} bytes ({pf}), RAM {_n(ru)} of {_n(rs)} bytes ({pr})",
    ]
    rows = [["memory", "kind", "address", "size", "used", "use", ""]]
    for m in check.memories:
        flag = f"OVERFLOW by {_n(m.overflow)}" if m.overflow else ""
        rows.append(
            [m.name, m.kind, _addr(m.address), _n(m.size), _n(m.used), f"{m.percent:.1f} %", flag]
        )
    lines += _table(rows, {3, 4, 5})
    if b.weights_partition:
        p = b.weights_partition
        lines.append(f"  weights partition: 0x{p.address:08x}, {_n(p.size)} bytes (reserved)")
    lines.append("  fits: yes" if check.fits else "  fits: NO")
    lines += [f"  error: {e}" for e in check.errors]
    return lines


def diff_text(diff: ReportDiff, top: int) -> list[str]:
    lines = [
        f"compared with {diff.other} (this build minus that one)",
        f"  flash {_n(diff.flash.old)} -> {_n(diff.flash.new)} ({_d(diff.flash.delta)}),"
        f" RAM {_n(diff.ram.old)} -> {_n(diff.ram.new)} ({_d(diff.ram.delta)})",
    ]
    rows = [["category", "flash", "RAM"]]
    for c in CATEGORIES:
        rows.append(
            [LABELS[c], _d(diff.flash_categories[c].delta), _d(diff.ram_categories[c].delta)]
        )
    lines += _table(rows, {1, 2})
    changed = [f"{n} {_d(d.delta)}" for n, d in diff.sections.items() if d.delta]
    lines.append("  sections: " + (", ".join(changed) if changed else "no change"))
    if diff.symbols:
        shown = diff.symbols[: max(top, 1)]
        lines.append(f"  symbols: {len(diff.symbols)} changed, largest first")
        rows = [[_d(s.delta), s.status, s.name, f"{_n(s.old)} -> {_n(s.new)}"] for s in shown]
        lines += _table(rows, {0}, indent="    ")
    else:
        lines.append("  symbols: no change")
    return lines
