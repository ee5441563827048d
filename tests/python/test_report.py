"""tinytx report on ELF and map files built during the test run (arm-none-eabi-gcc and
riscv64-unknown-elf-gcc): totals equal GNU size, categories add up, diffs, board limits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from report_builds import berkeley, have_toolchain, mhsa_build, small_build

from tinytx.toolchain.report import analyze, find_map
from tinytx.toolchain.report.categories import CATEGORIES
from tinytx.toolchain.report.core import Paint
from tinytx.toolchain.report.elf import read_elf
from tinytx.toolchain.report.mapfile import parse_map_text

pytestmark = pytest.mark.firmware

TINYTX = [sys.executable, "-m", "tinytx.cli", "report"]
TARGETS = [
    pytest.param("m4", marks=pytest.mark.skipif(not have_toolchain("m4"), reason="no arm gcc")),
    pytest.param("rv32", marks=pytest.mark.skipif(not have_toolchain("rv32"), reason="no rv gcc")),
]
needs_arm = pytest.mark.skipif(not have_toolchain("m4"), reason="arm-none-eabi-gcc not on PATH")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TINYTX, *args], capture_output=True, text=True, timeout=300)


def cli_json(*args: str) -> dict:
    proc = cli(*args, "--json", "-")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout)


def assert_consistent(d: dict) -> None:
    """Every total is the sum of its parts."""
    assert d["flash_bytes"] == d["text"] + d["data"]
    assert d["ram_bytes"] == d["data"] + d["bss"]
    assert set(d["categories"]) == set(CATEGORIES)
    assert sum(d["flash_categories"].values()) == d["flash_bytes"]
    assert sum(d["ram_categories"].values()) == d["ram_bytes"]
    assert sum(d["categories"].values()) == d["flash_bytes"] + d["ram_bytes"]
    for c in CATEGORIES:
        assert d["categories"][c] == d["flash_categories"][c] + d["ram_categories"][c]
    for r in d["regions"]:
        assert sum(r["categories"].values()) == r["used"], r
    for s in d["sections"]:
        assert sum(s["categories"].values()) == s["size"], s
    placed = sum(s["size"] * (1 + (s["load_region"] is not None)) for s in d["sections"])
    assert sum(r["used"] for r in d["regions"]) == placed


# --- small programs, one of each category --------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_totals_equal_gnu_size_and_categories_add_up(target: str, build_root: Path) -> None:
    b = small_build(target, build_root)
    d = cli_json(str(b.elf), "--map", str(b.map))
    text, data, bss = berkeley(b.size_tool, b.elf)
    assert (d["text"], d["data"], d["bss"]) == (text, data, bss)
    assert d["flash_bytes"] == text + data and d["ram_bytes"] == data + bss
    assert_consistent(d)
    assert d["machine"] == ("EM_ARM" if target == "m4" else "EM_RISCV")
    assert [r["name"] for r in d["regions"]] == ["flash", "ram"]


@pytest.mark.parametrize("target", TARGETS)
def test_each_category_is_found(target: str, build_root: Path) -> None:
    b = small_build(target, build_root)
    report = analyze(b.elf, b.map)
    flash, ram = report.flash_categories, report.ram_categories
    assert flash["model_weights"] == 1000 and ram["model_weights"] == 0
    assert ram["arena"] == 4096 and flash["arena"] == 0
    syms = {s.name: s for s in report.symbols}
    stack = next(s for s in report.sections if s.name == ".stack")
    assert ram["stacks"] == stack.size > 0
    # The kernel library's input section: the function plus at most alignment padding.
    assert syms["tinytx_dot_s8"].size <= flash["kernel_code"] <= syms["tinytx_dot_s8"].size + 8
    assert syms["tinytx_dot_s8"].category == "kernel_code"
    assert "libtinytx_kernels.a(kern.c.obj)" in syms["tinytx_dot_s8"].origin
    # The port's CRC-32: its code and its 64-byte table.
    assert flash["tinytx_code"] >= syms["tinytx_port_crc32"].size + 64
    assert flash["libc_rtos"] > 2000 and syms["printf"].category == "libc_rtos"
    assert syms["tinytx_arena"].category == "arena" and syms["model_w"].category == "model_weights"
    assert syms["counter"].category == "other" and syms["table"].category == "other"


@pytest.mark.parametrize("target", TARGETS)
def test_without_map_falls_back_to_names(target: str, build_root: Path) -> None:
    b = small_build(target, build_root)
    proc = cli(str(b.elf), "--no-map", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    assert "warning: no map file" in proc.stderr
    d = json.loads(proc.stdout)
    assert_consistent(d)
    assert d["map"] is None and d["region_source"] == "program headers"
    assert d["ram_categories"]["arena"] == 4096  # by section name
    assert d["flash_categories"]["kernel_code"] > 0  # tinytx_ prefix
    assert d["flash_categories"]["tinytx_code"] > 0  # tinytx_port_ prefix
    text, data, bss = berkeley(b.size_tool, b.elf)
    assert (d["flash_bytes"], d["ram_bytes"]) == (text + data, data + bss)


def test_map_found_next_to_the_elf(build_root: Path) -> None:
    b = small_build("m4", build_root) if have_toolchain("m4") else pytest.skip("no arm gcc")
    assert find_map(b.elf) == b.map
    assert analyze(b.elf).map == str(b.map)


@pytest.mark.parametrize("target", TARGETS)
def test_stripped_elf_reports_sections_with_a_warning(target: str, build_root: Path) -> None:
    b = small_build(target, build_root)
    text, data, bss = berkeley(b.size_tool, b.stripped)
    # Without a map: a section-level report.
    proc = cli(str(b.stripped), "--no-map", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    assert "no symbol table (stripped)" in proc.stderr
    d = json.loads(proc.stdout)
    assert (d["text"], d["data"], d["bss"]) == (text, data, bss)
    assert d["top_symbols"] == []
    assert_consistent(d)
    # With the map: categories and (approximate) symbols come back from it.
    d = cli_json(str(b.stripped), "--map", str(b.map))
    assert_consistent(d)
    assert d["ram_categories"]["arena"] == 4096
    assert d["flash_categories"]["model_weights"] == 1000
    assert any(s["name"] == "model_w" and s["approximate"] for s in d["top_symbols"])


@needs_arm
def test_compare_two_builds(build_root: Path) -> None:
    base, bigger = small_build("m4", build_root), small_build("m4", build_root, "bigger")
    d = cli_json(str(bigger.elf), "--compare", str(base.elf))
    c = d["compare"]
    assert c["other"] == str(base.elf)
    assert c["flash_categories"]["model_weights"]["delta"] == 512
    assert c["ram_categories"]["arena"]["delta"] == 2048
    assert c["ram_categories"]["arena"]["old"] == 4096
    assert c["flash_bytes"]["delta"] == d["flash_bytes"] - c["flash_bytes"]["old"]
    syms = {s["name"]: s for s in c["symbols"]}
    assert syms["model_w2"]["status"] == "added" and syms["model_w2"]["delta"] == 512
    assert syms["tinytx_arena"]["status"] == "grown" and syms["tinytx_arena"]["delta"] == 2048
    proc = cli(str(base.elf), "--compare", str(bigger.elf))
    assert proc.returncode == 0
    assert "compared with" in proc.stdout and "removed  model_w2" in proc.stdout


@needs_arm
def test_plot_writes_a_png(build_root: Path, tmp_path: Path) -> None:
    b = small_build("m4", build_root)
    png = tmp_path / "mem.png"
    proc = cli(str(b.elf), "--plot", str(png), "--board", "nucleo_l476rg_emu",
               "--compare", str(small_build("m4", build_root, "bigger").elf))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


# --- the real sample against the boards ------------------------------------------------


@needs_arm
def test_mhsa_bench_overflows_the_l476_and_fits_the_h743(build_root: Path) -> None:
    b = mhsa_build(build_root, "nucleo_l476rg_emu", image=False)
    text, data, bss = berkeley("arm-none-eabi-size", b.elf)
    proc = cli(str(b.elf), "--board", "nucleo_l476rg_emu", "--json", "-")
    assert proc.returncode == 1
    assert "error: RAM overflows board nucleo_l476rg_emu" in proc.stderr
    assert "Traceback" not in proc.stderr
    d = json.loads(proc.stdout)
    assert (d["flash_bytes"], d["ram_bytes"]) == (text + data, data + bss)
    assert_consistent(d)
    assert d["flash_categories"]["model_weights"] == 35_968  # weights and biases
    assert d["ram_categories"]["arena"] == 135_756  # tinytx_mhsa_s8_get_buffer_size
    board = d["board"]
    assert not board["fits"] and board["ram_size"] == 128 * 1024
    ram = next(m for m in board["memories"] if m["name"] == "RAM")
    assert ram["overflow"] == ram["used"] - ram["size"] > 0
    # The same firmware fits the H743's RAM (AXI SRAM size).
    proc = cli(str(b.elf), "--board", "nucleo_h743zi_emu")
    assert proc.returncode == 0, proc.stderr
    assert "fits: yes" in proc.stdout


@needs_arm
def test_board_errors_are_clear(build_root: Path) -> None:
    b = mhsa_build(build_root, "nucleo_l476rg_emu", image=False)
    # Linked for the emulated map, checked against the real board: outside its memory.
    proc = cli(str(b.elf), "--board", "nucleo_l476rg")
    assert proc.returncode == 1
    assert "lie outside the memory of board nucleo_l476rg" in proc.stderr
    proc = cli(str(b.elf), "--board", "no_such_board")
    assert proc.returncode == 2
    assert "unknown board 'no_such_board'; known: nucleo_l476rg" in proc.stderr
    if have_toolchain("rv32"):
        rv = small_build("rv32", build_root)
        proc = cli(str(rv.elf), "--board", "nucleo_l476rg_emu")
        assert proc.returncode == 2
        assert "RISC-V ELF (EM_RISCV) but board nucleo_l476rg_emu has a 32-bit Arm CPU" in (
            proc.stderr
        )
        proc = cli(str(b.elf), "--board", "gap9")
        assert proc.returncode == 2 and "32-bit RISC-V CPU" in proc.stderr


# --- robustness -----------------------------------------------------------------------


def one_line_error(proc: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("tinytx report: error:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_non_elf_inputs_are_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    assert "not an ELF file (no ELF magic number)" in one_line_error(cli(str(text)))
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert "not an ELF file (empty file)" in one_line_error(cli(str(empty)))
    assert "cannot read" in one_line_error(cli(str(tmp_path / "missing.elf")))
    assert "is a directory" in one_line_error(cli(str(tmp_path)))
    short = tmp_path / "short"
    short.write_bytes(b"\x7fELF\x01\x01\x01")
    assert "shorter than an ELF header" in one_line_error(cli(str(short)))


@needs_arm
def test_truncated_elf_is_refused(build_root: Path, tmp_path: Path) -> None:
    data = small_build("m4", build_root).elf.read_bytes()
    for cut in (64, 4096, len(data) // 2, len(data) - 1):
        p = tmp_path / f"cut{cut}.elf"
        p.write_bytes(data[:cut])
        line = one_line_error(cli(str(p), "--no-map"))
        assert "truncated ELF" in line or "damaged" in line, line


@needs_arm
def test_foreign_and_mismatched_maps(build_root: Path, tmp_path: Path) -> None:
    b = small_build("m4", build_root)
    lld = tmp_path / "lld.map"
    lld.write_text(
        "     VMA      LMA     Size Align Out     In      Symbol\n"
        "       0        0     1000    16 .text\n"
        "       0        0      100     4         app.o:(.text)\n"
        "       0        0        0     1                 main\n"
    )
    assert "a map file of LLVM lld" in one_line_error(cli(str(b.elf), "--map", str(lld)))
    garbage = tmp_path / "garbage.map"
    garbage.write_bytes(bytes(range(256)) * 8)
    assert "not a GNU ld map file" in one_line_error(cli(str(b.elf), "--map", str(garbage)))
    text = tmp_path / "text.map"
    text.write_text("Memory map\n\nsomething else entirely\n")
    assert "not a GNU ld map file" in one_line_error(cli(str(b.elf), "--map", str(text)))
    other = small_build("m4", build_root, "bigger").map
    line = one_line_error(cli(str(b.elf), "--map", str(other)))
    assert "does not match" in line
    # A map found next to the ELF that does not match it is only a warning.
    elf = tmp_path / "app.elf"
    elf.write_bytes(b.elf.read_bytes())
    (tmp_path / "app.elf.map").write_text(other.read_text())
    proc = cli(str(elf), "--json", "-")
    assert proc.returncode == 0 and "does not match" in proc.stderr
    assert json.loads(proc.stdout)["map"] is None


def test_bad_arguments_are_one_line_errors(tmp_path: Path) -> None:
    elf = tmp_path / "x.elf"
    elf.write_bytes(b"\x7fELF")
    assert "--top: must be >= 0" in one_line_error(cli(str(elf), "--top", "-1"))
    line = one_line_error(cli(str(elf), "--map", "m", "--no-map"))
    assert "exclude each other" in line


# --- parser units ---------------------------------------------------------------------

WRAPPED_MAP = """\
Memory Configuration

Name             Origin             Length             Attributes
FLASH            0x08000000         0x00100000         xr
RAM              0x20000000         0x00018000         xrw
*default*        0x00000000         0xffffffff

Linker script and memory map

LOAD /tmp/a.o
                0x08000000                _start_flash = 0x8000000

.text           0x08000000      0x120
 *(.text .text.*)
 .text          0x08000000       0x20 /tmp/a.o
                0x08000000                main
 .text.a_rather_long_function_name
                0x08000020       0xf0 /lib/libtinytx_kernels.a(tinytx_linear_s8.c.obj)
                0x08000020                tinytx_linear_s8
 *fill*         0x08000110       0x10
                [!provide]                        PROVIDE (etext = .)

.a_very_long_output_section_name
                0x20000000       0x10 load address 0x08000120
 .data          0x20000000       0x10 /tmp/a.o
                0x20000000                value

.bss            0x20000010      0x100
 .bss.tinytx_arena
                0x20000010      0x100 /tmp/a.o

/DISCARD/
 *(.comment)
 .comment       0x00000000       0x10 /tmp/a.o
OUTPUT(app elf32-littlearm)
"""


def test_map_parser_handles_wrapped_names_fill_and_load_addresses() -> None:
    m = parse_map_text(WRAPPED_MAP)
    assert [(r.name, r.origin, r.length, r.kind) for r in m.regions] == [
        ("FLASH", 0x08000000, 0x100000, "flash"),
        ("RAM", 0x20000000, 0x18000, "ram"),
    ]
    assert [(o.name, o.address, o.size, o.load_address) for o in m.outputs] == [
        (".text", 0x08000000, 0x120, None),
        (".a_very_long_output_section_name", 0x20000000, 0x10, 0x08000120),
        (".bss", 0x20000010, 0x100, None),
    ]
    names = [(i.output, i.name, i.size, i.origin) for i in m.inputs]
    assert names == [
        (".text", ".text", 0x20, "/tmp/a.o"),
        (".text", ".text.a_rather_long_function_name", 0xF0,
         "/lib/libtinytx_kernels.a(tinytx_linear_s8.c.obj)"),
        (".text", "*fill*", 0x10, None),
        (".a_very_long_output_section_name", ".data", 0x10, "/tmp/a.o"),
        (".bss", ".bss.tinytx_arena", 0x100, "/tmp/a.o"),
    ]  # fmt: skip
    assert [(s.name, s.address) for s in m.symbols] == [
        ("main", 0x08000000),
        ("tinytx_linear_s8", 0x08000020),
        ("value", 0x20000000),
    ]


def test_paint_keeps_a_partition() -> None:
    p = Paint(100, 200, None)
    p.paint(90, 120, "a")
    p.paint(150, 160, "b")
    p.paint(155, 300, "c")
    p.paint(130, 130, "z")  # empty
    p.paint(140, 150, None)  # no rule: unchanged
    assert p.totals() == {"a": 20, "other": 30, "b": 5, "c": 45}
    assert p.value_at(100) == "a" and p.value_at(149) is None and p.value_at(199) == "c"


@needs_arm
def test_elf_reader_reads_load_addresses(build_root: Path) -> None:
    elf = read_elf(small_build("m4", build_root).elf)
    data = elf.section_by_name(".data")
    assert data is not None and data.copied and data.berkeley == "data"
    assert data.load_address < 0x20000000 <= data.address
    assert elf.section_by_name(".bss").berkeley == "bss"
    assert elf.section_by_name(".text").berkeley == "text"
    assert elf.arch == "arm" and elf.elf_class == 32 and elf.has_symtab


@needs_arm
def test_elf_without_section_headers_uses_program_headers(build_root: Path, tmp_path: Path) -> None:
    data = bytearray(small_build("m4", build_root).elf.read_bytes())
    data[0x20:0x24] = bytes(4)  # e_shoff
    data[0x30:0x34] = bytes(4)  # e_shnum, e_shstrndx
    elf = tmp_path / "noshdr.elf"
    elf.write_bytes(bytes(data))
    proc = cli(str(elf), "--no-map", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    assert "no section headers: sections are made from the program headers" in proc.stderr
    d = json.loads(proc.stdout)
    assert_consistent(d)
    assert d["flash_bytes"] > 0 and d["ram_bytes"] > 0
    assert all(s["name"].startswith("[LOAD") for s in d["sections"])
