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

import bisect
import ctypes
import importlib
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elftools.elf.constants import P_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection
from unicorn import (
    UC_ARCH_ARM,
    UC_HOOK_BLOCK,
    UC_HOOK_INSN_INVALID,
    UC_HOOK_INTR,
    UC_HOOK_MEM_INVALID,
    UC_MODE_MCLASS,
    UC_MODE_THUMB,
    UC_PROT_ALL,
    UC_PROT_READ,
    UC_PROT_WRITE,
    Uc,
    UcError,
    arm_const,
)
from unicorn import unicorn_const as ucc

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

_MEM_ACCESS_NAMES = {
    ucc.UC_MEM_READ_UNMAPPED: "read from unmapped memory",
    ucc.UC_MEM_WRITE_UNMAPPED: "write to unmapped memory",
    ucc.UC_MEM_FETCH_UNMAPPED: "instruction fetch from unmapped memory",
    ucc.UC_MEM_READ_PROT: "read from protected memory",
    ucc.UC_MEM_WRITE_PROT: "write to protected memory",
    ucc.UC_MEM_FETCH_PROT: "instruction fetch from non-executable memory",
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
_RETURN_OFFSET = 0x100  # magic return address = window base + this (Thumb bit set in LR)


def thumb_instruction_count(code: bytes) -> int:
    """Number of Thumb instructions in `code`, a whole number of instructions.

    A halfword whose top five bits are 0b11101, 0b11110 or 0b11111 starts a 32-bit
    instruction; any other halfword is a 16-bit instruction.
    """
    n = 0
    i = 0
    end = len(code)
    while i < end:
        if i + 2 > end:
            raise ValueError(f"Thumb code of {end} bytes ends inside a halfword")
        # only the upper byte of the (little-endian) halfword matters for the length
        i += 4 if (code[i + 1] >> 3) >= 0b11101 else 2
        n += 1
    if i != end:
        raise ValueError(f"Thumb code of {end} bytes ends inside a 32-bit instruction")
    return n


@dataclass(frozen=True)
class CallResult:
    """Outcome of one `ArmFunctionRunner.call`."""

    return_value: int
    """r0 at return, as a signed 32-bit integer."""
    instructions: int
    """Exact number of instructions executed between the entry and the return."""


@dataclass(frozen=True)
class _Segment:
    vaddr: int
    paddr: int
    data: bytes
    memsz: int
    executable: bool


@dataclass(frozen=True)
class _Symbol:
    address: int  # Thumb bit cleared for functions
    size: int
    is_function: bool
    is_object: bool


def _align_down(value: int, align: int) -> int:
    return value & ~(align - 1)


def _align_up(value: int, align: int) -> int:
    return (value + align - 1) & ~(align - 1)


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union of half-open intervals, sorted; touching intervals are merged."""
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _add_raw_block_hook(uc: Uc, callback: Callable[[Any, int, int, Any], None]) -> Any | None:
    """Install `callback` as a UC_HOOK_BLOCK hook straight through the C API.

    The binding's `Uc.hook_add` wraps every callback in two extra Python frames (exception
    guard, argument adapter), which halves the speed of a block hook. This calls
    ``uc_hook_add`` through the binding's own library handle instead. The handles it needs
    are internals of the binding, so anything unexpected returns None and the caller falls
    back to `Uc.hook_add`. Returns the ctypes function object, which must be kept alive.
    """
    lib = hook_handle_type = None
    candidates = (("unicorn.unicorn_py3.unicorn", "uclib"), ("unicorn.unicorn", "_uc"))
    for module_name, lib_name in candidates:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        lib = getattr(module, lib_name, None)
        hook_handle_type = getattr(module, "uc_hook_h", None)
        if lib is not None and hook_handle_type is not None:
            break
    engine = getattr(uc, "_uch", None)
    if lib is None or hook_handle_type is None or engine is None:
        return None
    cfunc_type = ctypes.CFUNCTYPE(
        None, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_void_p
    )
    cfunc = cfunc_type(callback)
    handle = hook_handle_type()
    status = lib.uc_hook_add(
        engine,
        ctypes.byref(handle),
        UC_HOOK_BLOCK,
        cfunc,
        ctypes.c_void_p(0),
        ctypes.c_uint64(1),
        ctypes.c_uint64(0),
    )
    if status != ucc.UC_ERR_OK:
        raise UcError(status)
    return cfunc


def _overlaps(lo: int, hi: int, ranges: Sequence[tuple[int, int]]) -> bool:
    return any(lo < r_hi and r_lo < hi for r_lo, r_hi in ranges)


class ArmFunctionRunner:
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

        self._segments, self._symbols = self._read_elf(self.elf_path)
        self._functions = sorted(
            (s.address, s.size, name) for name, s in self._symbols.items() if s.is_function
        )
        self._function_starts = [f[0] for f in self._functions]

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
        self._elf_ranges = _merge(
            [(_align_down(lo, page), _align_up(hi, page)) for lo, hi in wanted]
        )
        for lo, hi in self._elf_ranges:
            if hi > _ADDRESS_LIMIT:
                raise ValueError(
                    f"{self.elf_path}: loadable data at 0x{lo:08x}-0x{hi:08x} reaches the "
                    "Cortex-M system region (0xE0000000), which is not emulated"
                )
            uc.mem_map(lo, hi - lo, UC_PROT_ALL)

        # -- return page, stack and scratch heap
        stack_size = _align_up(stack_size, page)
        scratch_size = _align_up(scratch_size, page)
        window = 2 * page + stack_size + page + scratch_size
        for base in _WINDOW_BASES:
            if base + window <= _ADDRESS_LIMIT and not _overlaps(
                base, base + window, self._elf_ranges
            ):
                break
        else:
            raise ValueError(
                f"{self.elf_path}: no free address window of {window} bytes for the stack "
                "and scratch heap"
            )
        self._return_address = base + _RETURN_OFFSET
        # read-only, so a stray store there is caught; nothing there is ever executed
        uc.mem_map(base, page, UC_PROT_READ)
        self._stack_lo = base + 2 * page
        self._stack_hi = self._stack_lo + stack_size
        uc.mem_map(self._stack_lo, stack_size, UC_PROT_READ | UC_PROT_WRITE)
        self._scratch_lo = self._stack_hi + page
        self._scratch_hi = self._scratch_lo + scratch_size
        uc.mem_map(self._scratch_lo, scratch_size, UC_PROT_READ | UC_PROT_WRITE)
        self._scratch_next = self._scratch_lo

        self._load_image()

        # -- per-call state, written by the hooks
        self._state = [0, 0]  # instructions counted, max_instructions
        self._overrun = False
        self._hook_error: Exception | None = None
        self._exception: int | None = None
        self._bad_access: tuple[int, int, int] | None = None
        self._invalid_insn = False
        self._block_counts: dict[int, int] = {}

        on_block = self._make_block_hook()
        self._raw_hook = _add_raw_block_hook(uc, on_block) if fast_hook else None
        if self._raw_hook is None:
            uc.hook_add(UC_HOOK_BLOCK, on_block)
        uc.hook_add(UC_HOOK_MEM_INVALID, self._on_bad_access)
        uc.hook_add(UC_HOOK_INTR, self._on_exception)
        uc.hook_add(UC_HOOK_INSN_INVALID, self._on_invalid_insn)
        # Hooks only apply to blocks translated after they were added: drop any cached block.
        uc.ctl_flush_tb()

    # ------------------------------------------------------------------ ELF
    @staticmethod
    def _read_elf(path: Path) -> tuple[list[_Segment], dict[str, _Symbol]]:
        try:
            stream = path.open("rb")
        except OSError as exc:
            raise ValueError(f"cannot open ELF {path}: {exc}") from exc
        with stream:
            elf = ELFFile(stream)
            if elf["e_machine"] != "EM_ARM" or elf.elfclass != 32 or not elf.little_endian:
                raise ValueError(f"{path}: not a 32-bit little-endian ARM ELF")
            segments = []
            for seg in elf.iter_segments():
                if seg["p_type"] != "PT_LOAD":
                    continue
                data = seg.data()[: seg["p_filesz"]]
                segments.append(
                    _Segment(
                        vaddr=seg["p_vaddr"],
                        paddr=seg["p_paddr"],
                        data=bytes(data),
                        memsz=max(seg["p_memsz"], len(data)),
                        executable=bool(seg["p_flags"] & P_FLAGS.PF_X),
                    )
                )
            if not segments:
                raise ValueError(f"{path}: no PT_LOAD segment")
            symbols: dict[str, _Symbol] = {}
            binding_rank = {"STB_GLOBAL": 0, "STB_WEAK": 1, "STB_LOCAL": 2}
            ranks: dict[str, int] = {}
            for section in elf.iter_sections():
                if not isinstance(section, SymbolTableSection):
                    continue
                for sym in section.iter_symbols():
                    name = sym.name
                    kind = sym["st_info"]["type"]
                    if not name or kind in ("STT_SECTION", "STT_FILE"):
                        continue
                    if sym["st_shndx"] == "SHN_UNDEF":
                        continue
                    # ARM mapping symbols ($t, $d, $a, ...) are not names of anything
                    if name.startswith("$"):
                        continue
                    rank = binding_rank.get(sym["st_info"]["bind"], 3)
                    if name in ranks and ranks[name] <= rank:
                        continue
                    is_function = kind in ("STT_FUNC", "STT_GNU_IFUNC")
                    value = sym["st_value"]
                    symbols[name] = _Symbol(
                        address=value & ~1 if is_function else value,
                        size=sym["st_size"],
                        is_function=is_function,
                        is_object=kind in ("STT_OBJECT", "STT_TLS", "STT_COMMON"),
                    )
                    ranks[name] = rank
        return segments, symbols

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
    def symbol(self, name: str) -> int:
        """Address of symbol `name` (functions: Thumb bit cleared)."""
        try:
            return self._symbols[name].address
        except KeyError:
            raise ValueError(f"symbol {name!r} not found in {self.elf_path}") from None

    def alloc(self, data: bytes | bytearray | memoryview | int, align: int = 8) -> int:
        """Copy `data` into the scratch heap (or reserve `data` zeroed bytes if an int).

        Returns the address. `reset` frees every allocation.
        """
        if align <= 0 or align & (align - 1):
            raise ValueError(f"align must be a power of two, not {align}")
        if isinstance(data, int) and data < 0:
            raise ValueError(f"cannot reserve a negative number of bytes ({data})")
        payload = bytes(data)  # an int n gives n zero bytes
        addr = _align_up(self._scratch_next, align)
        end = addr + len(payload)
        if end > self._scratch_hi:
            raise MemoryError(
                f"scratch heap exhausted: {len(payload)} bytes requested, "
                f"{self._scratch_hi - min(addr, self._scratch_hi)} free "
                f"(scratch_size={self._scratch_hi - self._scratch_lo})"
            )
        if payload:
            self._uc.mem_write(addr, payload)
        self._scratch_next = end
        return addr

    def reset(self) -> None:
        """Free every scratch allocation (zeroing it) and restore the ELF's initial image."""
        used = self._scratch_next - self._scratch_lo
        if used:
            self._uc.mem_write(self._scratch_lo, bytes(used))
        self._scratch_next = self._scratch_lo
        self._load_image()
        self._invalidate_code_caches()

    def read(self, addr: int, size: int) -> bytes:
        """Read `size` bytes of emulated memory at `addr`."""
        try:
            return bytes(self._uc.mem_read(addr, size))
        except UcError as exc:
            raise ValueError(f"cannot read {size} bytes at 0x{addr:08x}: {exc}") from exc

    def write(self, addr: int, data: bytes | bytearray | memoryview) -> None:
        """Write `data` into emulated memory at `addr`."""
        payload = bytes(data)
        try:
            self._uc.mem_write(addr, payload)
        except UcError as exc:
            raise ValueError(f"cannot write {len(payload)} bytes at 0x{addr:08x}: {exc}") from exc
        if _overlaps(addr, addr + len(payload), self._elf_ranges):
            self._invalidate_code_caches()  # the bytes written may be code

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
        words = []
        for i, arg in enumerate(args):
            arg = int(arg)
            if not -(1 << 31) <= arg < (1 << 32):
                raise ValueError(f"argument {i} of {function} does not fit 32 bits: {arg}")
            words.append(arg & 0xFFFF_FFFF)

        uc = self._uc
        stack_words = words[4:]
        sp = _align_down(self._stack_hi - 4 * len(stack_words), 8)
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
            access, address, size = self._bad_access
            what = _MEM_ACCESS_NAMES.get(access, f"invalid memory access (type {access})")
            problem = f"{what} at 0x{address:08x} ({size} bytes)"
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
        return CallResult(
            return_value=r0 - (1 << 32) if r0 & 0x8000_0000 else r0, instructions=count
        )

    # ------------------------------------------------------------ helpers
    def _invalidate_code_caches(self) -> None:
        self._block_counts.clear()
        self._uc.ctl_flush_tb()

    def _where(self, pc: int) -> str:
        """Name of the function containing `pc` as ``name+0xoff``, if known."""
        if self._return_address <= pc < self._return_address + self._page:
            return "return page"
        i = bisect.bisect_right(self._function_starts, pc) - 1
        if i >= 0:
            start, size, name = self._functions[i]
            if pc < start + max(size, 1) or size == 0:
                return f"{name}+0x{pc - start:x}"
        return "unknown function"
