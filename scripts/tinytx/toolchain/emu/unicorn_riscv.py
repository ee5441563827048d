"""Exact executed-instruction counts of RV32 functions under unicorn, per emulated core.

`RiscvCoreRunner` loads the PT_LOAD segments of an RV32 ELF into unicorn
(``UC_ARCH_RISCV``, ``UC_MODE_RISCV32``), maps a return page, a stack and a scratch heap
in a window outside the image (0x60000000 when free), and calls one function at a time
with the standard calling convention: up to eight 32-bit arguments in a0-a7, ``ra`` on
the return page, ``gp`` at ``__global_pointer$`` (gp-relative data must resolve).

The ELF is built with the serial port of ``tinytx/parallel.h``
(``kernels/src/parallel/tinytx_parallel_serial.c``): ``tinytx_parallel_for(body, ctx)``
runs ``body(ctx, c, n)`` for c = 0 .. n-1 one after the other, n read from the global
``tinytx_parallel_serial_cores``, which `call` writes. Emulating the cores in turn keeps
every core's data exactly what it would be on a real cluster (a core only reads what
earlier parallel sections wrote), so each core's count is exactly the instructions that
core executes there. One ``UC_HOOK_BLOCK`` hook counts instructions (RV32C: a halfword
whose two low bits are 0b11 starts a 32-bit instruction, any other a 16-bit one) into
buckets, switched at four kinds of block entry:

* ``tinytx_parallel_for`` entered: the port's own loop (``glue``) counts from here;
  ``a0`` is the body, ``ra`` where the kernel resumes;
* the body entered from the glue: core c's bucket (c counts the entries); ``ra`` is
  where the body returns to;
* that return address reached: the glue again;
* the kernel's resume address reached: the serial part, which on a cluster is the
  calling core's (hart 0's) own work: argument checks, scratch layout, the calls.

The glue stands in for the port's fork and join; it and the time a core waits at the
join are not part of any core's count. Counts are exact for calls that return normally
(blocks are atomic for counting; a failing call's count is accurate to the block).
Not modelled: peripherals, traps, semihosting, TLS set up by a C runtime.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unicorn import (
    UC_ARCH_RISCV,
    UC_MODE_RISCV32,
    UC_PROT_ALL,
    UC_PROT_EXEC,
    UC_PROT_READ,
    Uc,
    UcError,
    riscv_const,
)

from tinytx.toolchain.emu.unicorn_common import (
    FunctionRunnerBase,
    align_down,
    align_up,
    argument_words,
    count_instructions,
    describe_access,
    install_hooks,
    merge_ranges,
    read_elf,
    signed32,
)

__all__ = ["CoreCounts", "RiscvCoreRunner", "rvc_instruction_count"]

_A0 = riscv_const.UC_RISCV_REG_A0
_ARG_REGS = tuple(_A0 + i for i in range(8))
_RA = riscv_const.UC_RISCV_REG_RA
_SP = riscv_const.UC_RISCV_REG_SP
_GP = riscv_const.UC_RISCV_REG_GP
_PC = riscv_const.UC_RISCV_REG_PC

PARALLEL_FOR = "tinytx_parallel_for"
CORES_SYMBOL = "tinytx_parallel_serial_cores"
MAX_CORES = 64  # TINYTX_PARALLEL_SERIAL_MAX_CORES

_PAGE = 0x1000
_WINDOW_BASES = (0x6000_0000, 0x7000_0000, 0x9000_0000, 0xA000_0000, 0x4000_0000)

# RISC-V exception causes, as QEMU reports them to UC_HOOK_INTR.
_CAUSES = {
    0: "instruction address misaligned",
    1: "instruction access fault",
    2: "illegal instruction",
    3: "breakpoint (ebreak)",
    4: "load address misaligned",
    5: "load access fault",
    6: "store address misaligned",
    7: "store access fault",
    8: "ecall from U-mode",
    11: "ecall from M-mode",
}


def rvc_instruction_count(code: bytes) -> int:
    """Number of RV32 instructions (with the C extension) in `code`."""
    return count_instructions(code, "RISC-V", _rv_32bit)


def _rv_32bit(code: bytes, i: int) -> bool:
    return code[i] & 3 == 3


@dataclass(frozen=True)
class CoreCounts:
    """One call's exact instructions, split by emulated core (see the module doc)."""

    return_value: int
    cores: tuple[int, ...]
    """Instructions inside ``body(ctx, c, n)`` for each core c, over every section."""
    serial: int
    """Instructions outside any ``tinytx_parallel_for`` (the calling core, hart 0)."""
    glue: int
    """Instructions of the serial port's own loop (stands in for fork/join; excluded)."""
    forks: int
    """Calls of ``tinytx_parallel_for``."""

    @property
    def per_hart(self) -> tuple[int, ...]:
        """Each hart's instructions: hart 0 does the serial part and core 0's share."""
        return (self.serial + self.cores[0], *self.cores[1:])

    @property
    def critical_path(self) -> int:
        """The slowest hart: the call's duration in instructions on the cluster."""
        return max(self.per_hart)

    @property
    def instructions(self) -> int:
        """The critical path (what `tinytx.toolchain.bench.cases.run_case` passes through)."""
        return self.critical_path

    @property
    def modelled_cycles(self) -> int:
        return 0  # no cost model for the cluster: the counts are instructions only


class RiscvCoreRunner(FunctionRunnerBase):
    """Calls functions of an RV32 ELF under unicorn and counts instructions per core."""

    def __init__(
        self, elf_path: str | Path, scratch_size: int = 1 << 20, *, stack_size: int = 1 << 18
    ) -> None:
        self.elf_path = Path(elf_path)
        if scratch_size <= 0 or stack_size <= 0:
            raise ValueError("scratch_size and stack_size must be positive")
        segments, self._symbols = read_elf(self.elf_path, "EM_RISCV", "RISC-V")
        self._segments = [g for g in segments if g.memsz > 0]
        if not self._segments:
            raise ValueError(f"{self.elf_path}: no PT_LOAD segment")
        self._index_functions()
        for name in (PARALLEL_FOR, CORES_SYMBOL, "__global_pointer$"):
            if name not in self._symbols:
                raise ValueError(
                    f"{self.elf_path}: no symbol {name}: not built with the serial port of "
                    "tinytx/parallel.h (TINYTX_PARALLEL_PORT=serial)"
                )
        uc = Uc(UC_ARCH_RISCV, UC_MODE_RISCV32)
        self._uc = uc
        self._page = _PAGE
        self._elf_ranges = merge_ranges(
            [
                (align_down(g.vaddr, _PAGE), align_up(g.vaddr + g.memsz, _PAGE))
                for g in self._segments
            ]
        )
        for lo, hi in self._elf_ranges:
            uc.mem_map(lo, hi - lo, UC_PROT_ALL)
        # nothing on the return page runs (emulation stops on reaching it), but fetching
        # must not fault
        self._map_window(stack_size, scratch_size, _WINDOW_BASES, UC_PROT_READ | UC_PROT_EXEC)
        self._load_image()

        # per-call state, written by the hooks
        self._counts: list[int] = []
        self._state: dict[str, Any] = {}
        self._problem: str | None = None
        self._block_counts: dict[int, int] = {}
        self._raw_hook = install_hooks(
            uc,
            self._make_block_hook(),
            self._on_bad_access,
            self._on_exception,
            self._on_invalid_insn,
        )

    def _load_image(self) -> None:
        for seg in self._segments:
            self._uc.mem_write(seg.vaddr, seg.data + bytes(seg.memsz - len(seg.data)))

    # --------------------------------------------------------------- hooks
    def _make_block_hook(self) -> Any:
        cache = self._block_counts
        uc = self._uc
        parallel_for = self._symbols[PARALLEL_FOR].address
        ret = self._return_address
        runner = self

        def on_block(_uc: Any, address: int, size: int, _user_data: Any) -> None:
            key = (address << 16) | size
            n = cache.get(key)
            if n is None:
                try:
                    code = b"" if address == ret else bytes(uc.mem_read(address, size))
                    n = rvc_instruction_count(code)
                except Exception as exc:  # reported by call(); must not escape into C
                    runner._problem = f"instruction counter failed: {exc}"
                    uc.emu_stop()
                    return
                cache[key] = n
            st = runner._state
            if address in st["marks"]:
                runner._switch(address)
            counts = runner._counts
            counts[st["bucket"]] += n
            st["total"] += n
            if st["total"] > st["limit"]:
                runner._problem = f"exceeded max_instructions={st['limit']}"
                uc.emu_stop()

        self._parallel_for = parallel_for
        return on_block

    def _switch(self, address: int) -> None:
        """Bucket changes at the block entries listed in the module doc."""
        st = self._state
        uc = self._uc
        serial, glue = st["serial"], st["glue"]
        bucket = st["bucket"]
        if address == self._parallel_for and bucket == serial:
            st["forks"] += 1
            st["body"] = uc.reg_read(_A0)
            st["resume"] = uc.reg_read(_RA)
            st["core"] = -1
            st["bucket"] = glue
            st["marks"] = {self._parallel_for, st["body"], st["resume"]}
        elif address == st.get("body") and bucket == glue:
            st["core"] += 1
            if st["core"] >= st["n"]:
                self._problem = "tinytx_parallel_for ran more bodies than cores"
                uc.emu_stop()
                return
            st["bucket"] = st["core"]
            st["back"] = uc.reg_read(_RA)
            st["marks"] = {self._parallel_for, st["body"], st["resume"], st["back"]}
        elif address == st.get("back") and bucket == st.get("core"):
            st["bucket"] = glue
        elif address == st.get("resume") and bucket == glue:
            st["bucket"] = serial
            st["marks"] = {self._parallel_for}
        elif address == self._parallel_for and bucket != glue:
            self._problem = "tinytx_parallel_for called inside a parallel body"
            uc.emu_stop()

    def _on_bad_access(
        self, _uc: Uc, access: int, address: int, size: int, _value: int, _data: Any
    ) -> bool:
        self._problem = describe_access(access, address, size)
        return False

    def _on_exception(self, uc: Uc, intno: int, _user_data: Any) -> None:
        self._problem = f"CPU exception {intno}: {_CAUSES.get(intno, 'unknown')}"
        uc.emu_stop()

    def _on_invalid_insn(self, _uc: Uc, _user_data: Any) -> bool:
        self._problem = "invalid instruction"
        return False

    # ---------------------------------------------------------------- API
    def set_cores(self, n: int) -> None:
        """Cores the serial port emulates from now on (1 .. 64)."""
        if not 1 <= n <= MAX_CORES:
            raise ValueError(f"cores: {n} is not in 1..{MAX_CORES}")
        self.write(self.symbol(CORES_SYMBOL), struct.pack("<I", n))

    @property
    def cores(self) -> int:
        return struct.unpack("<I", self.read(self.symbol(CORES_SYMBOL), 4))[0]

    def call(
        self, function: str, args: Sequence[int], max_instructions: int = 2_000_000_000
    ) -> CoreCounts:
        """Call `function` with up to eight 32-bit `args`; count its instructions per core.

        Raises `RuntimeError` naming the function and the PC on a fault, an exception,
        an invalid instruction or more than `max_instructions` instructions.
        """
        sym = self._symbols.get(function)
        if sym is None or not sym.is_function:
            raise ValueError(f"function {function!r} not found in {self.elf_path}")
        if len(args) > len(_ARG_REGS):
            raise ValueError(f"{function}: {len(args)} arguments; at most 8 go in registers")
        uc = self._uc
        for reg, word in zip(_ARG_REGS, argument_words(function, args), strict=False):
            uc.reg_write(reg, word)
        uc.reg_write(_SP, self._stack_hi - 16)
        uc.reg_write(_RA, self._return_address)
        uc.reg_write(_GP, self._symbols["__global_pointer$"].address)
        n = self.cores
        self._counts = [0] * (n + 2)
        self._state = {
            "n": n, "serial": n, "glue": n + 1, "bucket": n, "total": 0,
            "limit": max_instructions, "forks": 0, "marks": {self._parallel_for},
        }  # fmt: skip
        self._problem = None
        error: UcError | None = None
        try:
            uc.emu_start(sym.address, self._return_address)
        except UcError as exc:
            error = exc
        pc = uc.reg_read(_PC)
        problem = self._problem
        if problem is None and error is not None:
            problem = f"unicorn error: {error}"
        if problem is None and pc != self._return_address:
            problem = "emulation stopped before the function returned"
        if problem is None and self._state["bucket"] != self._state["serial"]:
            problem = "returned from inside a parallel section"
        if problem is not None:
            raise RuntimeError(
                f"{function}: {problem}; pc=0x{pc:08x} ({self._where(pc)}), "
                f"{self._state['total']} instructions counted so far"
            ) from error
        a0 = uc.reg_read(_A0)
        counts = self._counts
        return CoreCounts(
            return_value=signed32(a0),
            cores=tuple(counts[:n]),
            serial=counts[n],
            glue=counts[n + 1],
            forks=self._state["forks"],
        )

    def measure(
        self,
        function: str,
        args: Sequence[int],
        max_instructions: int = 2_000_000_000,
        stages: Mapping[int, str] | None = None,
    ) -> CoreCounts:
        """`call` under the name and signature the benchmark's case runner uses
        (`tinytx.toolchain.bench.cases.run_case`); a split by stage is not supported here."""
        if stages:
            raise ValueError("RiscvCoreRunner counts per core, not per stage")
        return self.call(function, args, max_instructions)
