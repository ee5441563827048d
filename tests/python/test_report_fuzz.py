"""Fuzzing the ELF reader and the GNU ld map parser with mutated real files (hypothesis).

The seeds are the small programs of report_builds (the ELF, its stripped copy and its
map file), linked by arm-none-eabi-gcc and riscv64-unknown-elf-gcc during the test run.
A mutated file must give either a report whose totals still add up (and that renders as
text and JSON) or a ReportError: any other exception is a crash, and an input that takes
more than MAX_SECONDS is a hang.
Examples are derandomized (the same inputs on every run) and their number can be raised
with TINYTX_FUZZ_EXAMPLES (default 300 per file and target).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path

import pytest

pytestmark = pytest.mark.firmware

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from report_builds import have_toolchain, small_build  # noqa: E402

from tinytx.core.boards import get_board  # noqa: E402
from tinytx.toolchain.report.boardcheck import check_board  # noqa: E402
from tinytx.toolchain.report.core import build_report  # noqa: E402
from tinytx.toolchain.report.elf import read_elf  # noqa: E402
from tinytx.toolchain.report.errors import ReportError  # noqa: E402
from tinytx.toolchain.report.mapfile import parse_map_text  # noqa: E402
from tinytx.toolchain.report.render import report_json, report_text  # noqa: E402

EXAMPLES = int(os.environ.get("TINYTX_FUZZ_EXAMPLES", "300"))
MAX_SECONDS = 5.0
COUNTS: Counter = Counter()
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
TARGETS = [t for t in ("m4", "rv32") if have_toolchain(t)]


def exercise(image, lmap, board_name: str) -> None:
    """Everything the CLI does with a parsed ELF and map; checks the totals."""
    for m in (None, lmap) if lmap is not None else (None,):
        try:
            report = build_report(image, m, map_given=m is not None)
        except ReportError:
            continue
        assert sum(report.flash_categories.values()) == report.flash_bytes
        assert sum(report.ram_categories.values()) == report.ram_bytes
        for region in report.regions:
            assert sum(region.categories.values()) == region.used
        check = None
        try:
            check = check_board(image, get_board(board_name))
        except ReportError:
            pass
        json.dumps(report_json(report, check))
        report_text(report, check)


def mutate(data: bytes, ops: list[tuple[str, int, int]]) -> bytes:
    b = bytearray(data)
    for kind, pos, value in ops:
        if not b:
            break
        pos %= len(b)
        if kind == "flip":
            b[pos] ^= 1 << (value % 8)
        elif kind == "byte":
            b[pos] = value & 0xFF
        elif kind == "word":
            b[pos : pos + 4] = value.to_bytes(4, "little")
        elif kind == "extreme":
            b[pos : pos + 4] = (0xFFFFFFFF, 0x80000000, 0x7FFFFFFF, 0)[value % 4].to_bytes(
                4, "little"
            )
        elif kind == "zero":
            b[pos : pos + 1 + value % 64] = b"\0" * (1 + value % 64)
        elif kind == "truncate":
            del b[pos:]
        elif kind == "insert":
            b[pos:pos] = value.to_bytes(4, "little")[: 1 + value % 4]
        elif kind == "delete":
            del b[pos : pos + 1 + value % 16]
    return bytes(b)


def hot_spots(path: Path) -> list[int]:
    """Offsets of the ELF header, program and section header tables, and symbol tables."""
    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as f:
        elf = ELFFile(f)
        h = elf.header
        spots = [0, 0x10, 0x18, 0x20, 0x28, h["e_phoff"], h["e_shoff"]]
        spots += [h["e_shoff"] + i * h["e_shentsize"] for i in range(h["e_shnum"])]
        spots += [h["e_phoff"] + i * h["e_phentsize"] for i in range(h["e_phnum"])]
        for name in (".symtab", ".strtab", ".shstrtab"):
            s = elf.get_section_by_name(name)
            if s is not None:
                spots.append(s["sh_offset"])
    return spots


OPS = ("flip", "byte", "word", "extreme", "zero", "truncate", "insert", "delete")


def mutation_ops(spots: list[int]):
    position = st.one_of(
        st.integers(0, 1 << 20),
        st.tuples(st.sampled_from(spots), st.integers(0, 63)).map(sum),
    )
    op = st.tuples(st.sampled_from(OPS), position, st.integers(0, 0xFFFFFFFF))
    return st.lists(op, min_size=1, max_size=6)


def timed(fn, *args) -> None:
    t0 = time.perf_counter()
    fn(*args)
    elapsed = time.perf_counter() - t0
    COUNTS["max_ms"] = max(COUNTS["max_ms"], int(elapsed * 1000))
    assert elapsed < MAX_SECONDS, f"one input took {elapsed:.1f} s"


@pytest.mark.skipif(not TARGETS, reason="no cross compiler on PATH")
@pytest.mark.parametrize("target", TARGETS)
def test_fuzz_elf_reader(target: str, build_root: Path) -> None:
    b = small_build(target, build_root)
    seeds = (b.elf.read_bytes(), b.stripped.read_bytes())
    spots = sorted(set(hot_spots(b.elf) + hot_spots(b.stripped)))
    lmap = parse_map_text(b.map.read_text(), str(b.map))
    board = "nucleo_l476rg_emu"
    before = Counter(COUNTS)

    def one(data: bytes) -> None:
        COUNTS["elf"] += 1
        try:
            image = read_elf(data, "fuzz.elf")
        except ReportError:
            COUNTS["elf_refused"] += 1
            return
        exercise(image, lmap, board)

    @FUZZ
    @given(st.sampled_from(seeds), mutation_ops(spots))
    def run(seed: bytes, ops) -> None:
        timed(one, mutate(seed, ops))

    run()
    tried = COUNTS["elf"] - before["elf"]
    refused = COUNTS["elf_refused"] - before["elf_refused"]
    print(f"\nfuzz ELF {target}: {tried} inputs, {refused} refused with a clear error,"
          f" {tried - refused} reported, 0 crashes (slowest {COUNTS['max_ms']} ms)")  # fmt: skip
    assert tried >= EXAMPLES


def text_mutations(lines: int):
    op = st.tuples(
        st.sampled_from(("drop", "dup", "swap", "hex", "garbage", "indent", "cut", "bytes")),
        st.integers(0, max(lines - 1, 0)),
        st.integers(0, 0xFFFFFFFF),
        st.text(max_size=20),
    )
    return st.lists(op, min_size=1, max_size=8)


def mutate_map(text: str, ops) -> str:
    lines = text.splitlines()
    for kind, i, value, junk in ops:
        if not lines:
            break
        i %= len(lines)
        if kind == "drop":
            del lines[i]
        elif kind == "dup":
            lines.insert(i, lines[i])
        elif kind == "swap":
            j = value % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "hex":
            parts = lines[i].split()
            if parts:
                k = value % len(parts)
                parts[k] = hex(value * (1 + value % 7919))
                lines[i] = " " * (value % 20) + " ".join(parts)
        elif kind == "garbage":
            lines.insert(i, junk)
        elif kind == "indent":
            lines[i] = " " * (value % 24) + lines[i].lstrip()
        elif kind == "cut":
            lines[i] = lines[i][: value % (len(lines[i]) + 1)]
        elif kind == "bytes":
            lines[i] = lines[i] + junk
    return "\n".join(lines)


@pytest.mark.skipif(not TARGETS, reason="no cross compiler on PATH")
@pytest.mark.parametrize("target", TARGETS)
def test_fuzz_map_parser(target: str, build_root: Path) -> None:
    b = small_build(target, build_root)
    seed = b.map.read_text()
    image = read_elf(b.elf)
    n_lines = len(seed.splitlines())
    before = Counter(COUNTS)

    def one(text: str) -> None:
        COUNTS["map"] += 1
        try:
            lmap = parse_map_text(text, "fuzz.map")
        except ReportError:
            COUNTS["map_refused"] += 1
            return
        exercise(image, lmap, "nucleo_h743zi_emu")

    @FUZZ
    @given(text_mutations(n_lines))
    def run(ops) -> None:
        timed(one, mutate_map(seed, ops))

    run()
    tried = COUNTS["map"] - before["map"]
    refused = COUNTS["map_refused"] - before["map_refused"]
    print(f"\nfuzz map {target}: {tried} inputs, {refused} refused with a clear error,"
          f" {tried - refused} parsed, 0 crashes (slowest {COUNTS['max_ms']} ms)")  # fmt: skip
    assert tried >= EXAMPLES
