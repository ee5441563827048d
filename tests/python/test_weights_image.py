"""Weight images: the format, `tinytx weights-hex`, and mhsa_bench reading its weights from
the image in emulated flash (QEMU generic loader): MATCH with the right image, refusal with
one console line and exit code 3 for a damaged image, another model's, or none."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from report_builds import have_toolchain, mhsa_build, mhsa_workload

from tinytx.core.boards import get_board, load_boards
from tinytx.core.resources import ports_dir
from tinytx.core.weights_image import (
    HEADER_BYTES,
    build_image,
    pack_tensors,
    parse_image,
    read_intel_hex,
    write_intel_hex,
)
from tinytx.toolchain.demo import weights_payload
from tinytx.toolchain.emu.qemu import loader_args, run_program

pytestmark = pytest.mark.firmware

TINYTX = [sys.executable, "-m", "tinytx.cli", "weights-hex"]
BOARD = "nucleo_l476rg_emu"
needs_qemu = pytest.mark.skipif(
    not (have_toolchain("m4") and shutil.which("qemu-system-arm")),
    reason="arm-none-eabi-gcc or qemu-system-arm not on PATH",
)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TINYTX, *args], capture_output=True, text=True, timeout=120)


# --- format ---------------------------------------------------------------------------


def test_payload_layout_and_header() -> None:
    tensors = [("w", np.arange(-5, 20, dtype=np.int8)), ("b", np.array([1, -2, 3], np.int32))]
    payload = pack_tensors("toy", tensors)
    assert [(s.name, s.offset, s.nbytes, s.dtype, s.shape) for s in payload.slots] == [
        ("w", 0, 25, "int8", (25,)),
        ("b", 32, 12, "int32", (3,)),
    ]
    assert payload.data[32:44] == np.array([1, -2, 3], "<i4").tobytes()
    image = build_image(payload)
    assert len(image) == HEADER_BYTES + len(payload.data)
    assert image[:4] == b"TTXW" and image[4:6] == b"\x01\x00" and image[6:8] == b"\x30\x00"
    assert image[8:40] == payload.model_hash
    assert int.from_bytes(image[40:44], "little") == len(payload.data)
    assert int.from_bytes(image[44:48], "little") == zlib.crc32(image[:44] + payload.data)
    header, data = parse_image(image)
    assert data == payload.data and header.model_hash == payload.model_hash


def test_hash_names_the_model_and_its_layout() -> None:
    w = np.arange(16, dtype=np.int8)
    base = pack_tensors("toy", [("w", w)]).model_hash
    assert pack_tensors("toy", [("w", w)]).model_hash == base
    assert pack_tensors("other", [("w", w)]).model_hash != base
    assert pack_tensors("toy", [("v", w)]).model_hash != base
    assert pack_tensors("toy", [("w", w.reshape(4, 4))]).model_hash != base
    assert pack_tensors("toy", [("w", w + 1)]).model_hash != base
    a, b = mhsa_workload(7)[0], mhsa_workload(8)[0]
    assert weights_payload(a).model_hash != weights_payload(b).model_hash


def test_damaged_images_are_refused_by_the_python_reader() -> None:
    image = build_image(pack_tensors("toy", [("w", np.arange(100, dtype=np.int8))]))
    flipped = bytearray(image)
    flipped[HEADER_BYTES + 7] ^= 0x10
    with pytest.raises(ValueError, match="CRC32"):
        parse_image(bytes(flipped))
    with pytest.raises(ValueError, match="bad magic"):
        parse_image(b"XXXX" + image[4:])
    with pytest.raises(ValueError, match="shorter"):
        parse_image(image[:-1])
    with pytest.raises(ValueError, match="integer tensors only"):
        pack_tensors("toy", [("w", np.zeros(3, np.float32))])
    with pytest.raises(ValueError, match="duplicate"):
        pack_tensors("toy", [("w", np.zeros(3, np.int8)), ("w", np.zeros(3, np.int8))])


def test_intel_hex_round_trip(tmp_path: Path) -> None:
    image = build_image(pack_tensors("toy", [("w", np.arange(-128, 128, dtype=np.int8))]))
    path = tmp_path / "w.hex"
    write_intel_hex(image, 0x080C0000, path)
    text = path.read_text().splitlines()
    assert text[0] == ":02000004080CE6"  # extended linear address: upper 16 bits 0x080C
    assert text[-1] == ":00000001FF"
    assert read_intel_hex(path) == (0x080C0000, image)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no host gcc")
def test_c_crc32_equals_zlib(tmp_path: Path) -> None:
    """The firmware's CRC-32 (module/ports/common) computes zlib.crc32, also in pieces."""
    common = ports_dir() / "common"
    main = tmp_path / "crc_main.c"
    main.write_text(
        '#include <stdio.h>\n#include "tinytx_port/crc32.h"\n'
        "int main(void) {\n"
        "  static unsigned char buf[4099];\n"
        "  for (unsigned i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(i * 131u + 7u);\n"
        '  printf("%08lx ", (unsigned long)tinytx_port_crc32(0, buf, 0));\n'
        '  printf("%08lx ", (unsigned long)tinytx_port_crc32(0, buf, 1));\n'
        '  printf("%08lx ", (unsigned long)tinytx_port_crc32(0, buf, sizeof buf));\n'
        "  unsigned long c = tinytx_port_crc32(tinytx_port_crc32(0, buf, 1000), buf + 1000,\n"
        "                                      sizeof buf - 1000);\n"
        '  printf("%08lx\\n", c);\n  return 0;\n}\n'
    )
    exe = tmp_path / "crc"
    subprocess.run(
        ["gcc", "-std=c99", "-Wall", "-Wextra", "-Wconversion", "-Werror", "-fsanitize=undefined",
         f"-I{common / 'include'}", str(main), str(common / "src" / "tinytx_port_crc32.c"),
         "-o", str(exe)],
        check=True,
    )  # fmt: skip
    buf = bytes((i * 131 + 7) & 0xFF for i in range(4099))
    want = [zlib.crc32(b""), zlib.crc32(buf[:1]), zlib.crc32(buf), zlib.crc32(buf)]
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    assert out.split() == [f"{v:08x}" for v in want]


# --- boards ---------------------------------------------------------------------------


def test_boards_have_the_datasheet_numbers() -> None:
    boards = load_boards()
    l4, h7 = boards["nucleo_l476rg"], boards["nucleo_h743zi"]
    assert (l4.flash_size, l4.ram_size) == (1 << 20, 128 << 10)
    assert l4.region_at(0x20018000).name == "SRAM2"  # SRAM2's alias after SRAM1
    assert (h7.flash_size, h7.ram_size) == (2 << 20, (64 + 128 + 512 + 288 + 64) << 10)
    emu = boards[BOARD]
    assert emu.emulates == "nucleo_l476rg" and emu.target == "m4"
    assert (emu.flash_size, emu.ram_size) == (l4.flash_size, l4.ram_size)
    assert emu.link["flash_size"] == emu.weights_partition.address  # firmware stops there
    assert boards["nucleo_h743zi_emu"].build_target().name == "m7"
    with pytest.raises(ValueError, match="unknown board 'nucleo'; known: nucleo_l476rg, "):
        get_board("nucleo")
    with pytest.raises(ValueError, match="not an emulated profile"):
        l4.build_target()


def test_board_file_errors_are_clear(tmp_path: Path) -> None:
    bad = tmp_path / "boards.yaml"
    bad.write_text("boards:\n  x: {arch: mips, memory: []}\n")
    with pytest.raises(ValueError, match="arch must be one of arm, riscv"):
        load_boards(bad)
    bad.write_text("boards:\n  x: {arch: arm, memory: [{name: F, kind: rom, size: 1}]}\n")
    with pytest.raises(ValueError, match="kind must be one of flash, ram"):
        load_boards(bad)
    bad.write_text("boards:\n  x: {arch: arm, memory: [{name: F, kind: flash, size: -1}]}\n")
    with pytest.raises(ValueError, match="size: expected a non-negative integer"):
        load_boards(bad)


# --- the command ----------------------------------------------------------------------


def test_weights_hex_command(tmp_path: Path) -> None:
    out = tmp_path / "w.hex"
    proc = cli("--board", BOARD, "-o", str(out), "--demo-seed", "7")
    assert proc.returncode == 0, proc.stderr
    assert "35,968 payload bytes" in proc.stdout and "0x000c0000" in proc.stdout
    address, image = read_intel_hex(out)
    assert address == get_board(BOARD).weights_partition.address
    _, payload = parse_image(image)
    assert payload == weights_payload(mhsa_workload(7)[0]).data

    npz = tmp_path / "t.npz"
    np.savez(npz, w=np.arange(10, dtype=np.int8), b=np.arange(3, dtype=np.int32))
    proc = cli("--board", "nucleo_h743zi_emu", "-o", str(tmp_path / "n.hex"), "--npz", str(npz),
               "--model", "toy")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "weight image of toy (2 tensors" in proc.stdout


def test_weights_hex_errors(tmp_path: Path) -> None:
    def err(*args: str) -> str:
        proc = cli(*args)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        return proc.stderr

    out = str(tmp_path / "w.hex")
    assert "gap9 has no weights partition" in err("--board", "gap9", "-o", out)
    assert "unknown board 'x'" in err("--board", "x", "-o", out)
    npz = tmp_path / "big.npz"
    np.savez(npz, w=np.zeros(300_000, np.int8))
    assert "do not fit the weights partition" in err(
        "--board", BOARD, "-o", out, "--npz", str(npz), "--model", "big"
    )
    assert "give the model name with --model" in err("--board", BOARD, "-o", out, "--npz", str(npz))
    assert "cannot read" in err("--board", BOARD, "-o", out, "--npz", out, "--model", "m")


# --- on QEMU --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def image_firmware(build_root: Path):
    return mhsa_build(build_root, BOARD, image=True)


def run_with(fw, hex_file: Path | None):
    board = get_board(BOARD)
    extra = loader_args(hex_file) if hex_file else []
    return run_program(board.build_target(), fw.elf, [], timeout=120, qemu_extra=extra)


def write_image(path: Path, seed: int, flip: int | None = None) -> Path:
    image = bytearray(build_image(weights_payload(mhsa_workload(seed)[0])))
    if flip is not None:
        image[flip] ^= 0x01
    write_intel_hex(bytes(image), get_board(BOARD).weights_partition.address, path)
    return path


def refusal(run) -> str:
    assert run.returncode == 3, run.stdout + run.stderr
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith("ERROR: weights image")]
    assert len(lines) == 1, run.stdout
    assert "MATCH" not in run.stdout
    return lines[0]


@needs_qemu
def test_qemu_correct_image_matches_as_linked_weights(image_firmware, build_root: Path) -> None:
    linked = mhsa_build(build_root, BOARD, image=False)
    ref = run_with(linked, None)
    assert ref.returncode == 0 and "MATCH: 2592 outputs" in ref.stdout
    hex_file = build_root / "report" / "w-seed7.hex"
    proc = cli("--board", BOARD, "-o", str(hex_file), "--demo-seed", "7")
    assert proc.returncode == 0, proc.stderr
    run = run_with(image_firmware, hex_file)
    assert run.returncode == 0, run.stdout
    assert "weights: image at 0x000c0000, 35968 bytes, model hash and CRC32" in run.stdout
    assert "MATCH: 2592 outputs equal the golden model" in run.stdout
    # The image firmware links no weights: the report sees none, the linked one 35,968.
    from tinytx.toolchain.report import analyze

    assert analyze(image_firmware.elf).flash_categories["model_weights"] == 0
    assert analyze(linked.elf).flash_categories["model_weights"] == 35_968


@needs_qemu
def test_qemu_refuses_a_flipped_byte(image_firmware, tmp_path: Path) -> None:
    line = refusal(
        run_with(image_firmware, write_image(tmp_path / "f.hex", 7, HEADER_BYTES + 1000))
    )
    assert "CRC32 mismatch (the image is damaged)" in line and "computed 0x" in line
    # A flipped byte of the length field or of the CRC field itself is refused too.
    assert "payload length mismatch" in refusal(
        run_with(image_firmware, write_image(tmp_path / "l.hex", 7, 41))
    )
    assert "CRC32 mismatch" in refusal(
        run_with(image_firmware, write_image(tmp_path / "c.hex", 7, 45))
    )


@needs_qemu
def test_qemu_refuses_another_model(image_firmware, tmp_path: Path) -> None:
    line = refusal(run_with(image_firmware, write_image(tmp_path / "s8.hex", 8)))
    assert "model hash mismatch (the image holds another model)" in line
    h7 = weights_payload(mhsa_workload(7)[0]).model_hash.hex()[:8]
    h8 = weights_payload(mhsa_workload(8)[0]).model_hash.hex()[:8]
    assert f"image {h8}..., firmware expects {h7}..." in line


@needs_qemu
def test_qemu_refuses_a_missing_image(image_firmware) -> None:
    assert "no weights image (bad magic)" in refusal(run_with(image_firmware, None))


def test_demo_board_options_are_checked() -> None:
    def demo(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tinytx.cli", "demo", *args],
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    proc = demo("--board", "gap9")  # a real board runs its profile; gap9 has none
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "gap9 has no emulated profile" in proc.stderr
    assert "nucleo_l476rg (nucleo_l476rg_emu), nucleo_h743zi (nucleo_h743zi_emu)" in proc.stderr
    proc = demo("--weights-image")
    assert proc.returncode == 2
    assert "--weights-image: give an emulated --board with a weights partition" in proc.stderr
