"""Tests of tinytx.toolchain.emu.unicorn_arm: exact instruction counts of Cortex-M functions.

The ELFs are compiled at test time with arm-none-eabi-gcc and picolibc (as in CI); the
tests that need them are skipped when the toolchain is not on PATH.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("unicorn", reason="unicorn (PyPI) is not installed")
pytest.importorskip("elftools", reason="pyelftools is not installed")

from tinytx.toolchain.emu.unicorn_arm import (
    SUPPORTED_CPUS,
    ArmFunctionRunner,
    CallResult,
    thumb_instruction_count,
)

pytestmark = pytest.mark.firmware

GCC = shutil.which("arm-none-eabi-gcc")
needs_gcc = pytest.mark.skipif(GCC is None, reason="arm-none-eabi-gcc is not on PATH")

CPUS = ("cortex-m4", "cortex-m7")

C_SOURCE = r"""
#include <stdint.h>

int32_t g_data = 12345;
int32_t g_bss;

int32_t sum6(int32_t a, int32_t b, int32_t c, int32_t d, int32_t e, int32_t f)
{
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f;
}

int32_t sum7(int32_t a, int32_t b, int32_t c, int32_t d, int32_t e, int32_t f, int32_t g)
{
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g;
}

void fill(uint8_t *buf, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        buf[i] = (uint8_t)(i * 3 + 1);
    }
}

int32_t dot_i8(const int8_t *a, const int8_t *b, int32_t n)
{
    int32_t acc = 0;
    for (int32_t i = 0; i < n; i++) {
        acc += a[i] * b[i];
    }
    return acc;
}

int32_t get_data(void) { return g_data + g_bss; }

void bump_data(int32_t v) { g_data += v; g_bss += 1; }

int32_t smlad_asm(uint32_t a, uint32_t b, int32_t acc)
{
    int32_t r;
    __asm__ volatile("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

uint32_t sadd8_asm(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__ volatile("sadd8 %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

void spin(void)
{
    for (;;) {
        __asm__ volatile("");
    }
}

int32_t read_unmapped(void) { return *(volatile int32_t *)0x50000000u; }

int main(void) { return 0; }
"""

# Hand-written Thumb functions whose executed-instruction counts are known exactly.
ASM_SOURCE = r"""
    .syntax unified
    .thumb
    .text

    @ count_loop(n): returns n, executes 1 + 3 * n + 2 instructions (n >= 1)
    .global count_loop
    .type count_loop, %function
    .thumb_func
count_loop:
    movs r1, #0
1:  adds r1, #1
    subs r0, #1
    bne 1b
    mov r0, r1
    bx lr
    .size count_loop, . - count_loop

    @ it_select(x): 1 if x == 0 else 2; always 5 instructions (one of the IT pair fails)
    .global it_select
    .type it_select, %function
    .thumb_func
it_select:
    cmp r0, #0
    ite eq
    moveq r0, #1
    movne r0, #2
    bx lr
    .size it_select, . - it_select

    @ wide_mix(x): x + 6 with 32-bit and 16-bit encodings mixed; 5 instructions
    .global wide_mix
    .type wide_mix, %function
    .thumb_func
wide_mix:
    mov.w r1, #5
    add.w r0, r0, r1
    adds r0, #1
    nop.w
    bx lr
    .size wide_mix, . - wide_mix

    @ sp_probe(a, b, c, d, e, ...): returns sp & 7 at entry, stores [sp] (= e) at *a
    .global sp_probe
    .type sp_probe, %function
    .thumb_func
sp_probe:
    ldr r1, [sp]
    str r1, [r0]
    mov r0, sp
    and r0, r0, #7
    bx lr
    .size sp_probe, . - sp_probe

    .global do_udf
    .type do_udf, %function
    .thumb_func
do_udf:
    nop
    udf #0
    bx lr
    .size do_udf, . - do_udf

    .global do_bkpt
    .type do_bkpt, %function
    .thumb_func
do_bkpt:
    bkpt 0xab
    bx lr
    .size do_bkpt, . - do_bkpt
"""

EXPORTED = (
    "sum6",
    "sum7",
    "fill",
    "dot_i8",
    "get_data",
    "bump_data",
    "smlad_asm",
    "sadd8_asm",
    "spin",
    "read_unmapped",
    "count_loop",
    "it_select",
    "wide_mix",
    "sp_probe",
    "do_udf",
    "do_bkpt",
    "g_data",
)

LINK_FLAGS = (
    "--specs=picolibc.specs",
    "--oslib=semihost",
    "--crt0=semihost",
    "-Wl,--defsym=__flash=0x0,--defsym=__flash_size=0x400000,"
    "--defsym=__ram=0x20000000,--defsym=__ram_size=0x400000",
)


def build_elf(directory: Path, cpu: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    c_file = directory / "funcs.c"
    s_file = directory / "funcs.S"
    c_file.write_text(C_SOURCE)
    s_file.write_text(ASM_SOURCE)
    elf = directory / f"funcs-{cpu}.elf"
    keep = [f"-Wl,--undefined={name}" for name in EXPORTED]  # survive --gc-sections
    cmd = [
        str(GCC),
        f"-mcpu={cpu}",
        "-mthumb",
        "-mfloat-abi=soft",
        "-O2",
        "-ffunction-sections",
        *LINK_FLAGS,
        *keep,
        str(c_file),
        str(s_file),
        "-o",
        str(elf),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr}"
    return elf


@pytest.fixture(scope="module", params=CPUS)
def elf(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    if GCC is None:
        pytest.skip("arm-none-eabi-gcc is not on PATH")
    cpu = request.param
    return build_elf(tmp_path_factory.mktemp(cpu), cpu), cpu


@pytest.fixture
def runner(elf: tuple) -> ArmFunctionRunner:
    path, cpu = elf
    return ArmFunctionRunner(path, cpu=cpu)


# --------------------------------------------------------------- no toolchain needed


def test_thumb_instruction_count_decodes_lengths() -> None:
    # movs r1,#0 (16) ; mov.w r1,#5 (32, 0xf04f) ; bl (32, 0xf000 0xf800) ; bx lr (16)
    code = bytes.fromhex("0021 4ff00501 00f000f8 7047")
    assert thumb_instruction_count(code) == 4
    # 0xe800.. (top bits 11101) starts a 32-bit instruction; 0xe7fe (b .) is 16-bit
    assert thumb_instruction_count(bytes.fromhex("fee7")) == 1
    assert thumb_instruction_count(bytes.fromhex("2de9f047")) == 1  # push.w
    assert thumb_instruction_count(b"") == 0
    with pytest.raises(ValueError):
        thumb_instruction_count(bytes.fromhex("4ff0"))  # truncated 32-bit instruction
    with pytest.raises(ValueError):
        thumb_instruction_count(b"\x00")


def test_supported_cpus_include_m4_and_m7() -> None:
    assert "cortex-m4" in SUPPORTED_CPUS
    assert "cortex-m7" in SUPPORTED_CPUS


# ------------------------------------------------------------------- exact counts


@needs_gcc
@pytest.mark.parametrize("n", [1, 7, 1000])
def test_count_loop_exact(runner: ArmFunctionRunner, n: int) -> None:
    result = runner.call("count_loop", [n])
    assert result == CallResult(return_value=n, instructions=1 + 3 * n + 2)


@needs_gcc
def test_counts_are_repeatable(runner: ArmFunctionRunner) -> None:
    first = runner.call("count_loop", [50])
    for _ in range(3):
        assert runner.call("count_loop", [50]) == first


@needs_gcc
@pytest.mark.parametrize(("x", "expected"), [(0, 1), (5, 2), (-1, 2)])
def test_condition_failed_it_instructions_are_counted(
    runner: ArmFunctionRunner, x: int, expected: int
) -> None:
    assert runner.call("it_select", [x]) == CallResult(return_value=expected, instructions=5)


@needs_gcc
def test_mixed_16_and_32_bit_encodings(runner: ArmFunctionRunner) -> None:
    assert runner.call("wide_mix", [10]) == CallResult(return_value=16, instructions=5)


@needs_gcc
def test_raw_and_public_hooks_agree(elf: tuple) -> None:
    path, cpu = elf
    fast = ArmFunctionRunner(path, cpu=cpu, fast_hook=True)
    slow = ArmFunctionRunner(path, cpu=cpu, fast_hook=False)
    for r in (fast, slow):
        assert r.call("count_loop", [100]).instructions == 303
    a = bytes(range(64))
    b = bytes((7 * i) & 0xFF for i in range(64))
    results = []
    for r in (fast, slow):
        pa, pb = r.alloc(a), r.alloc(b)
        results.append(
            (
                r.call("dot_i8", [pa, pb, 64]),
                r.call("fill", [r.alloc(100), 100]),
                r.call("sum7", [1, 2, 3, 4, 5, 6, 7]),
            )
        )
    assert results[0] == results[1]


# ----------------------------------------------------------------- calling convention


@needs_gcc
def test_stack_arguments_and_negative_return(runner: ArmFunctionRunner) -> None:
    assert runner.call("sum6", [1, 2, 3, 4, 5, 6]).return_value == 91
    assert runner.call("sum6", [1, 2, 3, 4, 5, -60]).return_value == 1 + 4 + 9 + 16 + 25 - 360
    assert runner.call("sum7", [1, 2, 3, 4, 5, 6, 7]).return_value == 140
    # unsigned inputs above 2**31 are the same bits as negative ones
    assert runner.call("sum6", [0xFFFFFFFF, 0, 0, 0, 0, 0]).return_value == -1
    with pytest.raises(ValueError, match="32 bits"):
        runner.call("sum6", [1 << 32, 0, 0, 0, 0, 0])


@needs_gcc
@pytest.mark.parametrize("nargs", [5, 6, 7, 8])
def test_stack_is_8_byte_aligned_at_call(runner: ArmFunctionRunner, nargs: int) -> None:
    out = runner.alloc(4)
    args = [out, 0, 0, 0, 0xCAFE, 11, 12, 13][:nargs]
    assert runner.call("sp_probe", args).return_value == 0
    assert struct.unpack("<I", runner.read(out, 4))[0] == 0xCAFE


@needs_gcc
def test_buffer_written_by_function(runner: ArmFunctionRunner) -> None:
    buf = runner.alloc(40)
    assert runner.read(buf, 40) == bytes(40)
    runner.call("fill", [buf, 37])
    expected = bytes((i * 3 + 1) & 0xFF for i in range(37)) + bytes(3)
    assert runner.read(buf, 40) == expected


@needs_gcc
def test_buffers_passed_in(runner: ArmFunctionRunner) -> None:
    a = [(-1) ** i * (i % 128) for i in range(100)]
    b = [(3 * i) % 256 - 128 for i in range(100)]
    pa = runner.alloc(struct.pack("<100b", *a))
    pb = runner.alloc(struct.pack("<100b", *b), align=64)
    assert pb % 64 == 0
    expected = sum(x * y for x, y in zip(a, b, strict=True))
    assert runner.call("dot_i8", [pa, pb, 100]).return_value == expected


@needs_gcc
def test_data_initial_values_and_reset(runner: ArmFunctionRunner) -> None:
    addr = runner.symbol("g_data")
    assert addr >= 0x20000000  # VMA in RAM, loaded from flash (LMA) in a real boot
    assert struct.unpack("<i", runner.read(addr, 4))[0] == 12345
    assert runner.call("get_data", []).return_value == 12345
    runner.call("bump_data", [100])
    assert runner.call("get_data", []).return_value == 12345 + 100 + 1
    first = runner.alloc(16)
    runner.reset()
    assert runner.call("get_data", []).return_value == 12345
    assert runner.alloc(16) == first  # allocations were freed


@needs_gcc
def test_write_then_read(runner: ArmFunctionRunner) -> None:
    buf = runner.alloc(8)
    runner.write(buf, b"\x01\x02\x03\x04")
    assert runner.read(buf, 8) == b"\x01\x02\x03\x04" + bytes(4)


@needs_gcc
def test_function_symbol_has_thumb_bit_cleared(runner: ArmFunctionRunner) -> None:
    assert runner.symbol("count_loop") % 2 == 0


# ------------------------------------------------------------------------- DSP


@needs_gcc
@pytest.mark.parametrize(
    ("a", "b", "acc"),
    [
        (0x00020003, 0x00040005, 10),
        (0xFFFE0003, 0x0004FFFB, -7),  # halves (-2, 3) and (4, -5)
        (0x7FFF8000, 0x7FFF8000, 0),
    ],
)
def test_smlad(runner: ArmFunctionRunner, a: int, b: int, acc: int) -> None:
    def halves(x: int) -> tuple[int, int]:
        lo, hi = x & 0xFFFF, x >> 16
        return lo - (lo >> 15 << 16), hi - (hi >> 15 << 16)

    (a_lo, a_hi), (b_lo, b_hi) = halves(a), halves(b)
    expected = (a_lo * b_lo + a_hi * b_hi + acc + (1 << 31)) % (1 << 32) - (1 << 31)
    assert runner.call("smlad_asm", [a, b, acc]).return_value == expected


@needs_gcc
def test_sadd8(runner: ArmFunctionRunner) -> None:
    a, b = bytes([1, 0x7F, 0x80, 0xFF]), bytes([2, 1, 0xFF, 0xFF])
    r = runner.call("sadd8_asm", [int.from_bytes(a, "little"), int.from_bytes(b, "little")])
    lanes = (r.return_value & 0xFFFFFFFF).to_bytes(4, "little")
    assert lanes == bytes((x + y) & 0xFF for x, y in zip(a, b, strict=True))


# ----------------------------------------------------------------------- errors


@needs_gcc
def test_max_instructions(runner: ArmFunctionRunner) -> None:
    with pytest.raises(RuntimeError, match=r"spin: exceeded max_instructions=5000.*pc=0x"):
        runner.call("spin", [], max_instructions=5000)
    # exactly enough is fine, one fewer is not
    assert runner.call("count_loop", [10], max_instructions=33).instructions == 33
    with pytest.raises(RuntimeError, match="count_loop"):
        runner.call("count_loop", [10], max_instructions=32)
    # the runner is usable after a failed call
    assert runner.call("count_loop", [3]).instructions == 12


@needs_gcc
def test_unmapped_access(runner: ArmFunctionRunner) -> None:
    with pytest.raises(RuntimeError, match=r"read_unmapped: read from unmapped .*0x50000000"):
        runner.call("read_unmapped", [])
    assert runner.call("sum6", [1, 1, 1, 1, 1, 1]).return_value == 21


@needs_gcc
def test_invalid_instruction_and_breakpoint(runner: ArmFunctionRunner) -> None:
    udf = runner.symbol("do_udf")
    with pytest.raises(RuntimeError, match=rf"do_udf: .*instruction.*pc=0x{udf + 2:08x}"):
        runner.call("do_udf", [])
    with pytest.raises(RuntimeError, match=r"do_bkpt: CPU exception 7: BKPT"):
        runner.call("do_bkpt", [])
    assert runner.call("it_select", [0]) == CallResult(return_value=1, instructions=5)


@needs_gcc
def test_unknown_symbol(runner: ArmFunctionRunner) -> None:
    with pytest.raises(ValueError, match="no_such_function"):
        runner.symbol("no_such_function")
    with pytest.raises(ValueError, match="no_such_function"):
        runner.call("no_such_function", [])
    with pytest.raises(ValueError, match="g_data"):
        runner.call("g_data", [])  # data, not code


@needs_gcc
def test_bad_cpu_and_scratch_exhaustion(elf: tuple) -> None:
    path, _ = elf
    with pytest.raises(ValueError, match="cortex-a9"):
        ArmFunctionRunner(path, cpu="cortex-a9")
    small = ArmFunctionRunner(path, scratch_size=4096)
    small.alloc(4000)
    with pytest.raises(MemoryError):
        small.alloc(200)
    small.reset()
    small.alloc(4096)
