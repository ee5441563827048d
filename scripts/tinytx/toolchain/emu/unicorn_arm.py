"""Exact executed-instruction counts of single functions of a Cortex-M ELF, under unicorn.

`ArmFunctionRunner` loads the PT_LOAD segments of a Cortex-M ELF into a unicorn engine
(``UC_ARCH_ARM``, ``UC_MODE_THUMB | UC_MODE_MCLASS``, CPU model Cortex-M4 or Cortex-M7),
maps a stack and a scratch heap next to it, and calls one function at a time following the
AAPCS: the first four 32-bit arguments in r0-r3, the others on the stack, the link register
set to a magic return address on a page that holds no code. Emulation stops when the PC
reaches that address and the call returns r0 and the exact number of instructions executed
between the entry of the function and its return (the final ``bx lr``/``pop {pc}`` is
counted, nothing of the caller is).

Counting uses one ``UC_HOOK_BLOCK`` hook: for every translated block that is entered, the
number of Thumb instructions in its bytes is decoded once (a halfword whose top five bits
are 0b11101, 0b11110 or 0b11111 starts a 32-bit instruction, any other one is a 16-bit
instruction) and cached per ``(address, size)``. Blocks are atomic for counting, which makes
the count exact for every run that returns normally. Conventions worth knowing:

* an instruction inside an IT block whose condition fails is counted: the architecture
  executes it as a no-op. (unicorn's per-instruction ``UC_HOOK_CODE`` does not fire for
  such instructions, so a code-hook counter reports fewer instructions for code with IT
  blocks; libgcc's soft-float routines are full of them);
* ``max_instructions`` is checked when a block is entered: a call that would exceed it is
  stopped before that block runs;
* when a call fails (fault, exception), the count in the error message is only accurate
  to the block: the faulting block is counted whole;
* the counts are instructions, not cycles: cycles must come from a documented cost model.

All hooks are installed before any code runs (and the translation cache is flushed after
installing them, so no block translated without the hook can ever be reused). The block
hook is installed through unicorn's C API when the binding exposes it (about twice as fast
as ``Uc.hook_add``, whose Python wrappers dominate the cost of a tiny block); otherwise
through ``Uc.hook_add``. Both give identical counts.

FPU: the runner does not touch CPACR. unicorn's Cortex-M4/M7 models start with the FPU
accessible (hard-float VFP code runs unchanged with unicorn 2.1), and tinytx compiles the
target code soft-float anyway (integer-only inference). A unicorn whose model starts with
the FPU disabled would stop FP code with a "NOCP" exception, reported as an error naming
the function and the PC.

Not modelled: peripherals, the SysTick/NVIC/SCB registers (0xE0000000 and above are not
mapped), semihosting (a ``bkpt 0xab`` is reported as a BKPT exception), and thread-local
storage set up by the C runtime's start-up code (which never runs: functions are called
directly, so ``errno`` and other TLS variables must not be relied upon).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unicorn import (
    UC_ARCH_ARM,
    UC_MODE_MCLASS,
    UC_MODE_THUMB,
    UC_PROT_ALL,
    UC_PROT_READ,
    Uc,
    UcError,
    arm_const,
)
from unicorn import unicorn_const as ucc

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

__all__ = [
    "SUPPORTED_CPUS",
    "ArmFunctionRunner",
    "CallResult",
    "thumb_instruction_count",
]

_CPU_CONSTANTS = {
    "cortex-m0": "UC_CPU_ARM_CORTEX_M0",
    "cortex-m3": "UC_CPU_ARM_CORTEX_M3",
    "cortex-m4": "UC_CPU_ARM_CORTEX_M4",
    "cortex-m7": "UC_CPU_ARM_CORTEX_M7",
    "cortex-m33": "UC_CPU_ARM_CORTEX_M33",
}

#: CPU names accepted by `ArmFunctionRunner` with the installed unicorn.
SUPPORTED_CPUS: tuple[str, ...] = tuple(
    name for name, const in _CPU_CONSTANTS.items() if hasattr(arm_const, const)
)

# QEMU's ARM exception numbers (target/arm/cpu.h), as reported to UC_HOOK_INTR.
_EXCEPTION_NAMES = {
    1: "UDEF (undefined instruction)",
    2: "SVC",
    3: "prefetch abort",
    4: "data abort",
    5: "IRQ",
    6: "FIQ",
    7: "BKPT (breakpoint or semihosting call)",
    8: "exception return (branch to an EXC_RETURN value)",
    9: "kernel trap",
    11: "HVC",
    12: "hypervisor trap",
    13: "SMC",
    14: "virtual IRQ",
    15: "virtual FIQ",
    16: "semihosting",
    17: "NOCP (coprocessor/FPU access while disabled)",
    18: "INVSTATE (invalid execution state, e.g. ARM-state branch)",
    19: "stack limit overflow",
    20: "lazy FP state preservation",
    21: "LSERR",
    22: "unaligned access",
}

_ARG_REGS = (
    arm_const.UC_ARM_REG_R0,
    arm_const.UC_ARM_REG_R1,
    arm_const.UC_ARM_REG_R2,
    arm_const.UC_ARM_REG_R3,
)

_MIN_PAGE = 0x1000
# Bases tried, in order, for the window holding the return page, the stack and the scratch
# heap. 0x60000000 (external RAM on Cortex-M) is normally free in MCU firmware images.
_WINDOW_BASES = (0x6000_0000, 0x7000_0000, 0x8000_0000, 0x9000_0000, 0xA000_0000, 0x4000_0000)
_ADDRESS_LIMIT = 0xE000_0000  # the Cortex-M system region starts here; never map it


def thumb_instruction_count(code: bytes) -> int:
    """Number of Thumb instructions in `code`, a whole number of instructions.

    A halfword whose top five bits are 0b11101, 0b11110 or 0b11111 starts a 32-bit
    instruction; any other halfword is a 16-bit instruction.
    """
    return count_instructions(code, "Thumb", _thumb_32bit)


def _thumb_32bit(code: bytes, i: int) -> bool:
    # only the upper byte of the (little-endian) halfword matters for the length
    return (code[i + 1] >> 3) >= 0b11101


@dataclass(frozen=True)
class CallResult:
    """Outcome of one `ArmFunctionRunner.call`."""

    return_value: int
    """r0 at return, as a signed 32-bit integer."""
    instructions: int
    """Exact number of instructions executed between the entry and the return."""


class ArmFunctionRunner(FunctionRunnerBase):
    """Calls functions of a Cortex-M ELF under unicorn and counts executed instructions.

    Memory: every PT_LOAD segment is loaded at its virtual address (``.data`` therefore
    holds its initial values at its VMA, and its bytes are also placed at the load address
    when that differs), ``.bss`` is zero-filled. A window outside the ELF (0x60000000 when
    free) holds the magic return page, an unmapped guard page, the stack (`stack_size`
    bytes), another unmapped guard page and the scratch heap (`scratch_size` bytes) used
    by `alloc`. Accesses outside mapped memory stop the call with a `RuntimeError`.
    """

    def __init__(
        self,
        elf_path: str | Path,
        cpu: str = "cortex-m4",
        scratch_size: int = 1 << 20,
        *,
        stack_size: int = 1 << 18,
        fast_hook: bool = True,
    ) -> None:
        self.elf_path = Path(elf_path)
        self.cpu = cpu
        if cpu not in SUPPORTED_CPUS:
            raise ValueError(
                f"unsupported cpu {cpu!r}: this unicorn supports {', '.join(SUPPORTED_CPUS)}"
            )
        if scratch_size <= 0 or stack_size <= 0:
            raise ValueError("scratch_size and stack_size must be positive")

        self._segments, self._symbols = read_elf(self.elf_path, "EM_ARM", "ARM", thumb=True)
        self._index_functions()

        uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS)
        # The CPU model must be selected before the first memory mapping creates the CPU.
        uc.ctl_set_cpu_model(getattr(arm_const, _CPU_CONSTANTS[cpu]))
        self._uc = uc
        page = max(_MIN_PAGE, uc.ctl_get_page_size())
        self._page = page

        # -- the ELF image
        wanted: list[tuple[int, int]] = []
        for seg in self._segments:
            if seg.memsz:
                wanted.append((seg.vaddr, seg.vaddr + seg.memsz))
            if seg.data and seg.paddr != seg.vaddr:
                wanted.append((seg.paddr, seg.paddr + len(seg.data)))
        self._elf_ranges = merge_ranges(
            [(align_down(lo, page), align_up(hi, page)) for lo, hi in wanted]
        )
        for lo, hi in self._elf_ranges:
            if hi > _ADDRESS_LIMIT:
                raise ValueError(
                    f"{self.elf_path}: loadable data at 0x{lo:08x}-0x{hi:08x} reaches the "
                    "Cortex-M system region (0xE0000000), which is not emulated"
                )
            uc.mem_map(lo, hi - lo, UC_PROT_ALL)

        # -- return page, stack and scratch heap; the return page is read-only, so a stray
        # store there is caught; nothing there is ever executed
        self._map_window(stack_size, scratch_size, _WINDOW_BASES, UC_PROT_READ, _ADDRESS_LIMIT)

        self._load_image()

        # -- per-call state, written by the hooks
        self._state = [0, 0]  # instructions counted, max_instructions
        self._overrun = False
        self._hook_error: Exception | None = None
        self._exception: int | None = None
        self._bad_access: tuple[int, int, int] | None = None
        self._invalid_insn = False
        self._block_counts: dict[int, int] = {}

        self._raw_hook = install_hooks(
            uc,
            self._make_block_hook(),
            self._on_bad_access,
            self._on_exception,
            self._on_invalid_insn,
            fast_hook,
        )

    # ------------------------------------------------------------------ ELF
    def _load_image(self) -> None:
        uc = self._uc
        for seg in self._segments:
            if seg.data:
                uc.mem_write(seg.vaddr, seg.data)
                if seg.paddr != seg.vaddr:
                    uc.mem_write(seg.paddr, seg.data)
            bss = seg.memsz - len(seg.data)
            if bss > 0:
                uc.mem_write(seg.vaddr + len(seg.data), bytes(bss))

    # --------------------------------------------------------------- hooks
    def _make_block_hook(self) -> Callable[[Any, int, int, Any], None]:
        """The block hook; the same callable serves the raw and the public hook paths."""
        cache = self._block_counts
        state = self._state
        uc = self._uc
        return_address = self._return_address

        def on_block(_uc: Any, address: int, size: int, _user_data: Any) -> None:
            key = (address << 16) | size
            n = cache.get(key)
            if n is None:
                try:
                    if address == return_address:
                        n = 0
                    else:
                        n = thumb_instruction_count(bytes(uc.mem_read(address, size)))
                except Exception as exc:  # reported by call(); must not escape into C
                    self._hook_error = exc
                    uc.emu_stop()
                    return
                cache[key] = n
            count = state[0] + n
            if count > state[1]:
                self._overrun = True
                uc.emu_stop()
                return
            state[0] = count

        return on_block

    def _on_bad_access(
        self, _uc: Uc, access: int, address: int, size: int, _value: int, _user_data: Any
    ) -> bool:
        self._bad_access = (access, address, size)
        return False

    def _on_exception(self, uc: Uc, intno: int, _user_data: Any) -> None:
        self._exception = intno
        uc.emu_stop()

    def _on_invalid_insn(self, _uc: Uc, _user_data: Any) -> bool:
        self._invalid_insn = True
        return False

    # ---------------------------------------------------------------- API
    def call(
        self, function: str, args: Sequence[int], max_instructions: int = 2_000_000_000
    ) -> CallResult:
        """Call `function` with 32-bit integer `args` (AAPCS) and count its instructions.

        Raises `RuntimeError` naming the function and the PC on an access to unmapped
        memory, an invalid instruction or CPU exception, or when more than
        `max_instructions` instructions would be executed.
        """
        sym = self._symbols.get(function)
        if sym is None:
            raise ValueError(f"function {function!r} not found in {self.elf_path}")
        if sym.is_object:
            raise ValueError(f"symbol {function!r} in {self.elf_path} is data, not a function")
        if max_instructions < 0:
            raise ValueError("max_instructions must be >= 0")
        words = argument_words(function, args)

        uc = self._uc
        stack_words = words[4:]
        sp = align_down(self._stack_hi - 4 * len(stack_words), 8)
        if sp - self._stack_lo < 256:
            raise ValueError(f"{len(stack_words)} stack arguments do not fit the stack")
        if stack_words:
            uc.mem_write(sp, struct.pack(f"<{len(stack_words)}I", *stack_words))
        for reg, value in zip(_ARG_REGS, [*words, 0, 0, 0, 0][:4], strict=True):
            uc.reg_write(reg, value)
        uc.reg_write(arm_const.UC_ARM_REG_SP, sp)
        uc.reg_write(arm_const.UC_ARM_REG_LR, self._return_address | 1)
        # Thumb state, flags and IT state cleared (a failed call may have stopped in an IT block)
        uc.reg_write(arm_const.UC_ARM_REG_XPSR, 1 << 24)

        self._state[0] = 0
        self._state[1] = max_instructions
        self._overrun = False
        self._hook_error = None
        self._exception = None
        self._bad_access = None
        self._invalid_insn = False
        error: UcError | None = None
        try:
            uc.emu_start(sym.address | 1, self._return_address)
        except UcError as exc:
            error = exc
        pc = uc.reg_read(arm_const.UC_ARM_REG_PC)
        count = self._state[0]

        problem: str | None = None
        if self._hook_error is not None:
            problem = f"instruction counter failed: {self._hook_error}"
        elif self._overrun:
            problem = f"exceeded max_instructions={max_instructions}"
        elif self._bad_access is not None:
            problem = describe_access(*self._bad_access)
        elif self._exception is not None:
            name = _EXCEPTION_NAMES.get(self._exception, "unknown")
            problem = f"CPU exception {self._exception}: {name}"
        elif self._invalid_insn or (error is not None and error.errno == ucc.UC_ERR_INSN_INVALID):
            problem = "invalid instruction"
        elif error is not None:
            problem = f"unicorn error: {error}"
        elif pc != self._return_address:
            problem = "emulation stopped before the function returned"
        if problem is not None:
            raise RuntimeError(
                f"{function}: {problem}; pc=0x{pc:08x} ({self._where(pc)}), "
                f"{count} instructions counted so far"
            ) from error

        r0 = uc.reg_read(arm_const.UC_ARM_REG_R0)
        return CallResult(return_value=signed32(r0), instructions=count)
