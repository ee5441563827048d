"""What the memory report needs from an ELF file: sections, load addresses, symbols.

Everything is read through pyelftools and copied into plain dataclasses, after checks
that turn a damaged file into a one-line :class:`ReportError` instead of a traceback:
the header tables and every section with file contents must lie inside the file, and
the symbol table must have the standard entry size (which also bounds its length).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from tinytx.toolchain.report.errors import ReportError

ELF_MAGIC = b"\x7fELF"
SHN_LORESERVE = 0xFF00
MACHINE_ARCH = {"EM_ARM": "arm", "EM_RISCV": "riscv"}
MACHINE_NAMES = {
    "EM_ARM": "ARM",
    "EM_RISCV": "RISC-V",
    "EM_X86_64": "x86-64",
    "EM_386": "x86",
    "EM_AARCH64": "AArch64",
    "EM_XTENSA": "Xtensa",
}


@dataclass(frozen=True)
class Section:
    index: int
    name: str
    type: str  # pyelftools' name of sh_type, e.g. "SHT_PROGBITS"
    flags: int
    address: int  # run-time address (VMA)
    size: int
    offset: int
    load_address: int  # where the contents are stored (LMA), from the program headers

    @property
    def alloc(self) -> bool:
        return bool(self.flags & SH_FLAGS.SHF_ALLOC)

    @property
    def write(self) -> bool:
        return bool(self.flags & SH_FLAGS.SHF_WRITE)

    @property
    def exec(self) -> bool:
        return bool(self.flags & SH_FLAGS.SHF_EXECINSTR)

    @property
    def tls(self) -> bool:
        return bool(self.flags & SH_FLAGS.SHF_TLS)

    @property
    def nobits(self) -> bool:
        return self.type == "SHT_NOBITS"

    @property
    def berkeley(self) -> str | None:
        """How GNU ``size`` (Berkeley format) counts the section: text, data, bss or not at all.

        binutils: an allocated section is text when it is code or read-only, data when it
        has contents, bss otherwise.
        """
        if not self.alloc:
            return None
        if self.exec or not self.write:
            return "text"
        return "bss" if self.nobits else "data"

    @property
    def copied(self) -> bool:
        """Contents stored at one address and used at another (e.g. .data: flash -> RAM)."""
        return not self.nobits and self.load_address != self.address


@dataclass(frozen=True)
class Symbol:
    name: str
    address: int
    size: int
    kind: str  # "func" or "object"
    section: int  # index of the section that holds it


@dataclass(frozen=True)
class Segment:
    type: str
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int
    flags: int  # PF_X = 1, PF_W = 2, PF_R = 4


@dataclass(frozen=True)
class ElfImage:
    path: str
    machine: str  # e.g. "EM_ARM"
    elf_class: int  # 32 or 64
    little_endian: bool
    sections: tuple[Section, ...]
    segments: tuple[Segment, ...]
    symbols: tuple[Symbol, ...]
    has_symtab: bool
    synthetic_sections: bool = False  # no section headers: sections made from program headers

    @property
    def machine_name(self) -> str:
        return MACHINE_NAMES.get(self.machine, self.machine)

    @property
    def arch(self) -> str | None:
        return MACHINE_ARCH.get(self.machine)

    @property
    def alloc_sections(self) -> tuple[Section, ...]:
        return tuple(s for s in self.sections if s.alloc and s.size > 0)

    def section_by_name(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)


def _load_address(sh_addr: int, size: int, nobits: bool, offset: int, segments) -> int:
    """LMA of a section: its address shifted as its PT_LOAD segment's paddr is from vaddr."""
    for seg in segments:
        if seg.type != "PT_LOAD" or not seg.vaddr <= sh_addr <= seg.vaddr + seg.memsz - size:
            continue
        if not nobits and size and not seg.offset <= offset < seg.offset + seg.filesz:
            continue  # contents come from another segment's file image
        return seg.paddr + (sh_addr - seg.vaddr)
    return sh_addr


def _check_table(what: str, offset: int, count: int, entsize: int, file_size: int) -> None:
    if count and offset + count * entsize > file_size:
        raise ReportError(
            f"truncated or damaged ELF: the {what} table ({count} entries at offset"
            f" {offset:#x}) runs past the end of the file ({file_size} bytes)"
        )


def _read(data: bytes, path: str) -> ElfImage:
    elf = ELFFile(io.BytesIO(data))
    hdr = elf.header
    size = len(data)
    _check_table("program header", hdr["e_phoff"], hdr["e_phnum"], hdr["e_phentsize"], size)
    shnum = elf.num_sections() if hdr["e_shoff"] else 0
    _check_table("section header", hdr["e_shoff"], shnum, hdr["e_shentsize"], size)

    segments = tuple(
        Segment(
            seg["p_type"] if isinstance(seg["p_type"], str) else f"PT_{seg['p_type']:#x}",
            seg["p_offset"],
            seg["p_vaddr"],
            seg["p_paddr"],
            seg["p_filesz"],
            seg["p_memsz"],
            seg["p_flags"],
        )
        for seg in elf.iter_segments()
    )

    sections: list[Section] = []
    for i, sec in enumerate(elf.iter_sections()):
        sh = sec.header
        kind = sh["sh_type"] if isinstance(sh["sh_type"], str) else f"SHT_{sh['sh_type']:#x}"
        nobits = kind == "SHT_NOBITS"
        if not nobits and kind != "SHT_NULL" and sh["sh_offset"] + sh["sh_size"] > size:
            raise ReportError(
                f"truncated or damaged ELF: section {sec.name or i} ({sh['sh_size']} bytes"
                f" at offset {sh['sh_offset']:#x}) runs past the end of the file ({size} bytes)"
            )
        lma = _load_address(sh["sh_addr"], sh["sh_size"], nobits, sh["sh_offset"], segments)
        sections.append(
            Section(
                i,
                sec.name,
                kind,
                sh["sh_flags"],
                sh["sh_addr"],
                sh["sh_size"],
                sh["sh_offset"],
                lma,
            )
        )

    synthetic = False
    if not sections and segments:
        sections = _sections_from_segments(segments)
        synthetic = True

    symbols: list[Symbol] = []
    symtab = elf.get_section_by_name(".symtab") if shnum else None
    if symtab is not None and symtab.header["sh_type"] == "SHT_SYMTAB":
        expected = 16 if elf.elfclass == 32 else 24
        if symtab.header["sh_entsize"] != expected:
            raise ReportError(
                f"corrupt ELF: symbol table entry size {symtab.header['sh_entsize']},"
                f" expected {expected}"
            )
        thumb = hdr["e_machine"] == "EM_ARM"
        for sym in symtab.iter_symbols():
            st = sym.entry
            kind = st["st_info"]["type"]
            shndx = st["st_shndx"]
            if kind not in ("STT_FUNC", "STT_OBJECT") or not isinstance(shndx, int):
                continue
            if st["st_size"] <= 0 or shndx >= len(sections) or shndx >= SHN_LORESERVE:
                continue
            if not sections[shndx].alloc:
                continue
            value = st["st_value"]
            if thumb and kind == "STT_FUNC":
                value &= ~1
            symbols.append(
                Symbol(
                    sym.name,
                    value,
                    st["st_size"],
                    "func" if kind == "STT_FUNC" else "object",
                    shndx,
                )
            )
    return ElfImage(
        path=path,
        machine=hdr["e_machine"] if isinstance(hdr["e_machine"], str) else str(hdr["e_machine"]),
        elf_class=elf.elfclass,
        little_endian=elf.little_endian,
        sections=tuple(sections),
        segments=segments,
        symbols=tuple(symbols),
        has_symtab=symtab is not None,
        synthetic_sections=synthetic,
    )


def _sections_from_segments(segments: tuple[Segment, ...]) -> list[Section]:
    """Pseudo-sections for an ELF without section headers: one per loadable segment part."""
    out: list[Section] = []
    for n, seg in enumerate(s for s in segments if s.type == "PT_LOAD"):
        flags = SH_FLAGS.SHF_ALLOC
        flags |= SH_FLAGS.SHF_WRITE if seg.flags & 2 else 0
        flags |= SH_FLAGS.SHF_EXECINSTR if seg.flags & 1 else 0
        if seg.filesz:
            out.append(
                Section(
                    len(out),
                    f"[LOAD {n}]",
                    "SHT_PROGBITS",
                    flags,
                    seg.vaddr,
                    min(seg.filesz, seg.memsz),
                    0,
                    seg.paddr,
                )
            )
        if seg.memsz > seg.filesz:
            start = seg.vaddr + seg.filesz
            out.append(
                Section(
                    len(out),
                    f"[LOAD {n} zero-fill]",
                    "SHT_NOBITS",
                    flags,
                    start,
                    seg.memsz - seg.filesz,
                    0,
                    start,
                )
            )
    return out


def read_elf(source: str | Path | bytes, name: str | None = None) -> ElfImage:
    """Read an ELF file (a path or its bytes); any damage becomes a :class:`ReportError`."""
    if isinstance(source, bytes):
        data, path = source, name or "<bytes>"
    else:
        path = str(source)
        try:
            data = Path(source).read_bytes()
        except IsADirectoryError:
            raise ReportError(f"{path}: is a directory, not an ELF file") from None
        except OSError as exc:
            raise ReportError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) < 4 or data[:4] != ELF_MAGIC:
        what = "empty file" if not data else "no ELF magic number"
        raise ReportError(f"{path}: not an ELF file ({what})")
    if len(data) < 52:
        raise ReportError(f"{path}: truncated ELF: {len(data)} bytes, shorter than an ELF header")
    try:
        return _read(data, path)
    except ReportError as exc:
        raise ReportError(f"{path}: {exc}") from None
    except Exception as exc:  # pyelftools raises many types on damaged input
        detail = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise ReportError(f"{path}: damaged or unsupported ELF file ({detail})") from None
