"""Model weights stored sparse in a firmware ELF: the bytes that sparse storage saved.

The code generator names every sparse layer's ``tinytx_sparse_weights`` ``<layer>_w_sparse``
and its arrays ``<layer>_w_row_ptr``, ``<layer>_w_gaps``, ``<layer>_w_values``
(:mod:`tinytx.core.codegen.model`). The struct holds the dense matrix's ``rows`` and
``cols`` (its first three int32 fields: format, rows, cols), so the ELF alone tells the
dense bytes (rows x cols), the stored bytes (the three arrays' symbol sizes) and their
difference. Needs the symbol table (a stripped ELF gives None).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from tinytx.toolchain.report.elf import ElfImage

SUFFIX = "_w_sparse"
ARRAYS = ("_w_row_ptr", "_w_gaps", "_w_values")


@dataclass(frozen=True)
class SparseLayer:
    layer: str
    format: int  # values per entry: 1 unstructured, 4 block4
    rows: int
    cols: int
    stored_bytes: int  # row_ptr + gaps + values symbols

    @property
    def dense_bytes(self) -> int:
        return self.rows * self.cols

    @property
    def saved_bytes(self) -> int:
        return self.dense_bytes - self.stored_bytes


@dataclass(frozen=True)
class SparseWeights:
    layers: tuple[SparseLayer, ...]

    @property
    def dense_bytes(self) -> int:
        return sum(x.dense_bytes for x in self.layers)

    @property
    def stored_bytes(self) -> int:
        return sum(x.stored_bytes for x in self.layers)

    @property
    def saved_bytes(self) -> int:
        return self.dense_bytes - self.stored_bytes

    def as_json(self) -> dict:
        return {
            "layers": len(self.layers),
            "dense_bytes": self.dense_bytes,
            "stored_bytes": self.stored_bytes,
            "saved_bytes": self.saved_bytes,
        }

    def line(self) -> str:
        return (
            f"sparse weights: {len(self.layers)} layer(s) store {self.stored_bytes:,} bytes "
            f"for {self.dense_bytes:,} dense: {self.saved_bytes:,} bytes of flash saved"
        )


def sparse_weights(elf: ElfImage) -> SparseWeights | None:
    """The sparse layers of ``elf`` (None: none, or no symbol table or file to read)."""
    if not elf.has_symtab:
        return None
    by_name = {y.name: y for y in elf.symbols}
    structs = [y for y in elf.symbols if y.name.endswith(SUFFIX) and y.size >= 12]
    if not structs:
        return None
    path = Path(elf.path)
    if not path.is_file():
        return None
    sections = {s.index: s for s in elf.sections}
    order = "<" if elf.little_endian else ">"
    layers = []
    with path.open("rb") as f:
        for y in sorted(structs, key=lambda y: y.name):
            sec = sections.get(y.section)
            if sec is None or sec.nobits:
                continue
            f.seek(sec.offset + y.address - sec.address)
            fmt, rows, cols = struct.unpack(order + "3i", f.read(12))
            layer = y.name[: -len(SUFFIX)]
            arrays = [by_name.get(layer + a) for a in ARRAYS]
            if any(a is None for a in arrays):
                continue
            stored = sum(a.size for a in arrays if a is not None)
            layers.append(SparseLayer(layer, fmt, rows, cols, stored))
    return SparseWeights(tuple(layers)) if layers else None
