"""Firmware built at test time for the memory-report and weight-image tests.

- ``build_small``: a small picolibc program compiled by arm-none-eabi-gcc or
  riscv64-unknown-elf-gcc (flags and memory of boards/targets.yaml), linked with a map
  file, with one of each category: weights in ``.rodata.tinytx_weights``, an arena in
  ``.bss.tinytx_arena``, a "kernel" from ``libtinytx_kernels.a``, the port's CRC-32 from
  ``libtinytx_port.a``, printf from libc, initialized data and the stack;
- ``build_mhsa``: the real mhsa_bench sample for an emulated board profile, with linked
  weights or reading them from a weight image.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from tinytx.core import golden as g
from tinytx.core.resources import ports_dir
from tinytx.core.targets import Target, get_target

PORT_CRC32 = ports_dir() / "common" / "src" / "tinytx_port_crc32.c"
PORT_INCLUDE = ports_dir() / "common" / "include"

KERNEL_C = r"""
#include <stdint.h>
int32_t tinytx_dot_s8(const int8_t *a, const int8_t *b, int32_t n)
{
	int32_t acc = 0;
	for (int32_t i = 0; i < n; i++) {
		acc += a[i] * b[i];
	}
	return acc;
}
"""

APP_C = r"""
#include <stdint.h>
#include <stdio.h>
#include "tinytx_port/crc32.h"

int32_t tinytx_dot_s8(const int8_t *a, const int8_t *b, int32_t n);

#ifndef WEIGHTS
#define WEIGHTS 1000
#endif
#ifndef ARENA
#define ARENA 4096
#endif

const int8_t model_w[WEIGHTS] __attribute__((section(".rodata.tinytx_weights"), aligned(4))) = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
#ifdef EXTRA_WEIGHTS
const int8_t model_w2[EXTRA_WEIGHTS] __attribute__((section(".rodata.tinytx_weights"))) = {9};
#endif
static uint8_t tinytx_arena[ARENA] __attribute__((section(".bss.tinytx_arena"), aligned(4)));
int32_t counter = 5;
int8_t table[300] = {1, 2, 3};

int main(void)
{
	int32_t s = tinytx_dot_s8(model_w, (const int8_t *)tinytx_arena, 100);
#ifdef EXTRA_WEIGHTS
	s += model_w2[0];
#endif
	s += (int32_t)tinytx_port_crc32(0, model_w, 16) + table[counter & 3];
	printf("%ld\n", (long)s);
	return 0;
}
"""


@dataclass(frozen=True)
class SmallBuild:
    target: Target
    elf: Path
    map: Path
    stripped: Path

    @property
    def size_tool(self) -> str:
        return f"{self.target.toolchain}-size"


def have_toolchain(target_name: str) -> bool:
    return shutil.which(f"{get_target(target_name).toolchain}-gcc") is not None


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}{proc.stderr}")


def build_small(target_name: str, out_dir: Path, defines: tuple[str, ...] = ()) -> SmallBuild:
    """Compile, archive and link the small program; also write a stripped copy."""
    t = get_target(target_name)
    out_dir.mkdir(parents=True, exist_ok=True)
    cc, ar = f"{t.toolchain}-gcc", f"{t.toolchain}-ar"
    flags = [*t.cflags, "--specs=picolibc.specs", f"-I{PORT_INCLUDE}", *defines]
    (out_dir / "kern.c").write_text(KERNEL_C)
    (out_dir / "app.c").write_text(APP_C)
    for src, obj, lib in (
        (out_dir / "kern.c", out_dir / "kern.c.obj", "libtinytx_kernels.a"),
        (PORT_CRC32, out_dir / "tinytx_port_crc32.c.obj", "libtinytx_port.a"),
    ):
        _run([cc, *flags, "-c", str(src), "-o", str(obj)])
        (out_dir / lib).unlink(missing_ok=True)
        _run([ar, "rcs", str(out_dir / lib), str(obj)])
    app_obj = out_dir / "app.c.obj"
    _run([cc, *flags, "-c", str(out_dir / "app.c"), "-o", str(app_obj)])
    m = t.memory
    elf, map_file = out_dir / "app.elf", out_dir / "app.elf.map"
    link = [
        cc, *flags, "--oslib=semihost", "--crt0=semihost", "-Wl,--gc-sections",
        f"-Wl,--defsym=__flash={m['flash']:#x}", f"-Wl,--defsym=__flash_size={m['flash_size']:#x}",
        f"-Wl,--defsym=__ram={m['ram']:#x}", f"-Wl,--defsym=__ram_size={m['ram_size']:#x}",
        str(app_obj), f"-L{out_dir}", "-ltinytx_kernels", "-ltinytx_port",
        f"-Wl,-Map={map_file}", "-o", str(elf),
    ]  # fmt: skip
    _run(link)
    stripped = out_dir / "app.stripped.elf"
    _run([f"{t.toolchain}-strip", "-o", str(stripped), str(elf)])
    return SmallBuild(t, elf, map_file, stripped)


def berkeley(size_tool: str, elf: Path) -> tuple[int, int, int]:
    """(text, data, bss) as GNU size prints them (Berkeley format, the default)."""
    out = subprocess.run([size_tool, str(elf)], capture_output=True, text=True, check=True)
    text, data, bss = out.stdout.splitlines()[1].split()[:3]
    return int(text), int(data), int(bss)


@dataclass(frozen=True)
class MhsaBuild:
    board: str
    elf: Path
    generated: Path


@cache
def mhsa_workload(seed: int):
    from tinytx.core.workloads import SHAPES, make_mhsa

    work = make_mhsa(SHAPES["A"], seed)
    expected = g.mhsa_s8(work.x, SHAPES["A"].heads, work.weights, work.quant)
    return work, np.asarray(expected)


def build_mhsa(build_root: Path, board_name: str, image: bool, seed: int = 7) -> MhsaBuild:
    """mhsa_bench for an emulated board profile (reference kernels: the fastest build)."""
    from tinytx.core.boards import get_board
    from tinytx.toolchain import demo

    board = get_board(board_name)
    target = board.build_target()
    root = build_root / "report" / f"mhsa-{board_name}-{'image' if image else 'linked'}"
    work, expected = mhsa_workload(seed)
    generated = root / "generated"
    demo.generate_sources(work, expected, generated, weights_image=image)
    elf = demo.build_firmware(
        target, "ref", generated, root / "firmware", board.weights_partition if image else None
    )
    return MhsaBuild(board_name, elf, generated)


@cache
def small_build(target_name: str, build_root: Path, variant: str = "base") -> SmallBuild:
    """build_small, once per test session: ``variant`` "base", or "bigger" (512 more bytes
    of weights and a larger arena, for the --compare tests)."""
    defines = () if variant == "base" else ("-DEXTRA_WEIGHTS=512", "-DARENA=6144")
    return build_small(target_name, build_root / "report" / f"small-{target_name}-{variant}",
                       defines)  # fmt: skip


@cache
def mhsa_build(build_root: Path, board_name: str, image: bool) -> MhsaBuild:
    return build_mhsa(build_root, board_name, image)
