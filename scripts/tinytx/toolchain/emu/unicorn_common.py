"""The pieces shared by the unicorn function runners (`tinytx.toolchain.emu.unicorn_arm`,
`tinytx.toolchain.emu.unicorn_riscv`): instruction-length decoding, reading the ELF, the window
that holds the return page, the stack and the scratch heap, the hooks, the scratch heap
itself and the argument words of a call.

Both runners load the PT_LOAD segments of a 32-bit little-endian ELF, map the window
outside the image (the first free base of a short list), install one block hook that
counts instructions plus the fault hooks, and call one function at a time.
"""

from __future__ import annotations

import bisect
import ctypes
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elftools.elf.constants import P_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection
from unicorn import (
    UC_HOOK_BLOCK,
    UC_HOOK_INSN_INVALID,
    UC_HOOK_INTR,
    UC_HOOK_MEM_INVALID,
    UC_PROT_READ,
    UC_PROT_WRITE,
    Uc,
    UcError,
)
from unicorn import unicorn_const as ucc

#: The magic return address is the window's base plus this (a page that holds no code).
RETURN_OFFSET = 0x100

MEM_ACCESS_NAMES = {
    ucc.UC_MEM_READ_UNMAPPED: "read from unmapped memory",
    ucc.UC_MEM_WRITE_UNMAPPED: "write to unmapped memory",
    ucc.UC_MEM_FETCH_UNMAPPED: "instruction fetch from unmapped memory",
    ucc.UC_MEM_READ_PROT: "read from protected memory",
    ucc.UC_MEM_WRITE_PROT: "write to protected memory",
    ucc.UC_MEM_FETCH_PROT: "instruction fetch from non-executable memory",
}


def describe_access(access: int, address: int, size: int) -> str:
    """One line for an invalid memory access reported by ``UC_HOOK_MEM_INVALID``."""
    what = MEM_ACCESS_NAMES.get(access, f"invalid memory access (type {access})")
    return f"{what} at 0x{address:08x} ({size} bytes)"


def count_instructions(code: bytes, isa: str, is_32bit: Callable[[bytes, int], bool]) -> int:
    """Instructions in `code` of an ISA with 16- and 32-bit instructions, where
    ``is_32bit(code, i)`` tells whether the halfword at byte `i` starts a 32-bit one."""
    n = i = 0
    end = len(code)
    while i < end:
        if i + 2 > end:
            raise ValueError(f"{isa} code of {end} bytes ends inside a halfword")
        i += 4 if is_32bit(code, i) else 2
        n += 1
    if i != end:
        raise ValueError(f"{isa} code of {end} bytes ends inside a 32-bit instruction")
    return n


def align_down(value: int, align: int) -> int:
    return value & ~(align - 1)


def align_up(value: int, align: int) -> int:
    return (value + align - 1) & ~(align - 1)


def merge_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union of half-open intervals, sorted; touching intervals are merged."""
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def overlaps(lo: int, hi: int, ranges: Sequence[tuple[int, int]]) -> bool:
    return any(lo < r_hi and r_lo < hi for r_lo, r_hi in ranges)


def signed32(value: int) -> int:
    """A 32-bit register value as a signed integer."""
    return value - (1 << 32) if value & 0x8000_0000 else value


def argument_words(function: str, args: Sequence[int]) -> list[int]:
    """The call's arguments as unsigned 32-bit words (each must fit 32 bits)."""
    words = []
    for i, arg in enumerate(args):
        arg = int(arg)
        if not -(1 << 31) <= arg < (1 << 32):
            raise ValueError(f"argument {i} of {function} does not fit 32 bits: {arg}")
        words.append(arg & 0xFFFF_FFFF)
    return words


# ----------------------------------------------------------------------------- ELF
@dataclass(frozen=True)
class Segment:
    vaddr: int
    paddr: int
    data: bytes
    memsz: int
    executable: bool


@dataclass(frozen=True)
class ElfSymbol:
    address: int  # Thumb bit cleared for Thumb functions
    size: int
    is_function: bool
    is_object: bool


def read_elf(
    path: Path, machine: str, arch: str, thumb: bool = False
) -> tuple[list[Segment], dict[str, ElfSymbol]]:
    """PT_LOAD segments and named symbols of a 32-bit little-endian ELF for `machine`
    (``EM_ARM``, ``EM_RISCV``; `arch` names it in errors). A global symbol wins over a
    weak one, which wins over a local one; mapping symbols (``$t``, ``$x``, ...) are left
    out. `thumb`: function addresses have the Thumb bit cleared."""
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise ValueError(f"cannot open ELF {path}: {exc}") from exc
    with stream:
        elf = ELFFile(stream)
        if elf["e_machine"] != machine or elf.elfclass != 32 or not elf.little_endian:
            raise ValueError(f"{path}: not a 32-bit little-endian {arch} ELF")
        segments = []
        for seg in elf.iter_segments():
            if seg["p_type"] != "PT_LOAD":
                continue
            data = seg.data()[: seg["p_filesz"]]
            segments.append(
                Segment(
                    vaddr=seg["p_vaddr"],
                    paddr=seg["p_paddr"],
                    data=bytes(data),
                    memsz=max(seg["p_memsz"], len(data)),
                    executable=bool(seg["p_flags"] & P_FLAGS.PF_X),
                )
            )
        if not segments:
            raise ValueError(f"{path}: no PT_LOAD segment")
        return segments, _read_symbols(elf, thumb)


def _read_symbols(elf: ELFFile, thumb: bool) -> dict[str, ElfSymbol]:
    symbols: dict[str, ElfSymbol] = {}
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
            # mapping symbols ($t, $d, $a, $x, ...) are not names of anything
            if name.startswith("$"):
                continue
            rank = binding_rank.get(sym["st_info"]["bind"], 3)
            if name in ranks and ranks[name] <= rank:
                continue
            is_function = kind in ("STT_FUNC", "STT_GNU_IFUNC")
            value = sym["st_value"]
            symbols[name] = ElfSymbol(
                address=value & ~1 if is_function and thumb else value,
                size=sym["st_size"],
                is_function=is_function,
                is_object=kind in ("STT_OBJECT", "STT_TLS", "STT_COMMON"),
            )
            ranks[name] = rank
    return symbols


# -------------------------------------------------------------------------- memory
@dataclass(frozen=True)
class Window:
    """Return page | guard page | stack | guard page | scratch heap, outside the image."""

    return_address: int
    stack_lo: int
    stack_hi: int
    scratch_lo: int
    scratch_hi: int


def map_window(
    uc: Uc,
    elf_path: Path,
    elf_ranges: Sequence[tuple[int, int]],
    page: int,
    stack_size: int,
    scratch_size: int,
    bases: Sequence[int],
    return_prot: int,
    limit: int = 1 << 32,
) -> Window:
    """Map the window at the first of `bases` where it fits below `limit` without
    touching the image. Nothing on the return page runs (emulation stops on reaching
    the return address); `return_prot` is its protection."""
    stack_size, scratch_size = align_up(stack_size, page), align_up(scratch_size, page)
    window = 2 * page + stack_size + page + scratch_size
    base = next(
        (b for b in bases if b + window <= limit and not overlaps(b, b + window, elf_ranges)),
        None,
    )
    if base is None:
        raise ValueError(
            f"{elf_path}: no free address window of {window} bytes for the stack and scratch heap"
        )
    uc.mem_map(base, page, return_prot)
    stack_lo = base + 2 * page
    uc.mem_map(stack_lo, stack_size, UC_PROT_READ | UC_PROT_WRITE)
    scratch_lo = stack_lo + stack_size + page
    uc.mem_map(scratch_lo, scratch_size, UC_PROT_READ | UC_PROT_WRITE)
    return Window(
        base + RETURN_OFFSET, stack_lo, stack_lo + stack_size, scratch_lo, scratch_lo + scratch_size
    )


# --------------------------------------------------------------------------- hooks
def add_raw_block_hook(uc: Uc, callback: Callable[[Any, int, int, Any], None]) -> Any | None:
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


def install_hooks(
    uc: Uc,
    on_block: Callable[[Any, int, int, Any], None],
    on_bad_access: Callable[..., bool],
    on_exception: Callable[..., None],
    on_invalid_insn: Callable[..., bool],
    fast_hook: bool = True,
) -> Any | None:
    """The block hook (through the C API when `fast_hook` and the binding allow it,
    else `Uc.hook_add`) and the fault hooks; then the translation cache is flushed, so
    no block translated without the hooks is ever reused. Returns the raw hook (keep it
    alive) or None."""
    raw = add_raw_block_hook(uc, on_block) if fast_hook else None
    if raw is None:
        uc.hook_add(UC_HOOK_BLOCK, on_block)
    uc.hook_add(UC_HOOK_MEM_INVALID, on_bad_access)
    uc.hook_add(UC_HOOK_INTR, on_exception)
    uc.hook_add(UC_HOOK_INSN_INVALID, on_invalid_insn)
    uc.ctl_flush_tb()
    return raw


# -------------------------------------------------------------------------- runner
class FunctionRunnerBase:
    """What both runners share once they are set up: symbols, the scratch heap, reads
    and writes, and naming the function at a PC. Subclasses set the attributes below
    and define `_load_image`."""

    elf_path: Path
    _uc: Uc
    _symbols: dict[str, ElfSymbol]
    _functions: list[tuple[int, int, str]]  # (address, size, name), sorted
    _function_starts: list[int]
    _elf_ranges: list[tuple[int, int]]
    _page: int
    _return_address: int
    _stack_lo: int
    _stack_hi: int
    _scratch_lo: int
    _scratch_hi: int
    _scratch_next: int
    _block_counts: dict[int, Any]

    def _load_image(self) -> None:
        raise NotImplementedError

    def _index_functions(self) -> None:
        self._functions = sorted(
            (s.address, s.size, name) for name, s in self._symbols.items() if s.is_function
        )
        self._function_starts = [f[0] for f in self._functions]

    def _map_window(
        self,
        stack_size: int,
        scratch_size: int,
        bases: Sequence[int],
        return_prot: int,
        limit: int = 1 << 32,
    ) -> None:
        """`map_window` with this runner's page size, and an empty scratch heap."""
        w = map_window(
            self._uc, self.elf_path, self._elf_ranges, self._page, stack_size, scratch_size,
            bases, return_prot, limit,
        )  # fmt: skip
        self._return_address = w.return_address
        self._stack_lo, self._stack_hi = w.stack_lo, w.stack_hi
        self._scratch_lo, self._scratch_hi = w.scratch_lo, w.scratch_hi
        self._scratch_next = w.scratch_lo

    def symbol(self, name: str) -> int:
        """Address of symbol `name` (Thumb functions: Thumb bit cleared)."""
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
        addr = align_up(self._scratch_next, align)
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
        if overlaps(addr, addr + len(payload), self._elf_ranges):
            self._invalidate_code_caches()  # the bytes written may be code

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
