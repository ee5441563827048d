"""Weight images: a model's constant tensors in one blob that firmware reads from flash.

Layout (little-endian), format version 1; the firmware side is
module/ports/common/src/tinytx_port_weights_image.c:

======  ====  ===============================================================
offset  size  field
======  ====  ===============================================================
0       4     magic ``TTXW``
4       2     format version (1)
6       2     header size in bytes (48)
8       32    model hash: SHA-256 of the tensor manifest and the payload
40      4     payload length in bytes
44      4     CRC-32 (IEEE 802.3, as zlib.crc32) of header bytes 0..43 and the payload
48      n     payload: the tensors, each at an offset that is a multiple of 16
======  ====  ===============================================================

The model hash names the model the firmware was generated for: the code generator
writes it into the firmware, which refuses an image with another hash (another model,
or the same model with a different tensor layout). The CRC catches damage to the image.

:func:`pack_tensors` and :func:`build_image` are generic: the demo passes the MHSA
tensors of ``tinytx.core.workloads``; a model converter passes its own list of named arrays.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinytx.core.atomic import write_text
from tinytx.core.errors import UserInputError

MAGIC = b"TTXW"
FORMAT_VERSION = 1
HEADER = struct.Struct("<4sHH32sII")
HEADER_BYTES = HEADER.size  # 48
HASH_BYTES = 32
ALIGN = 16
CRC_OFFSET = 44
ADDRESS_SPACE = 1 << 32


@dataclass(frozen=True)
class TensorSlot:
    name: str
    dtype: str  # numpy dtype name, little-endian ("int8", "int32", ...)
    shape: tuple[int, ...]
    offset: int  # from the start of the payload
    nbytes: int


@dataclass(frozen=True)
class WeightsPayload:
    model: str
    slots: tuple[TensorSlot, ...]
    data: bytes

    @property
    def model_hash(self) -> bytes:
        manifest = json.dumps(
            {
                "model": self.model,
                "tensors": [
                    [s.name, s.dtype, list(s.shape), s.offset, s.nbytes] for s in self.slots
                ],
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
        return hashlib.sha256(b"tinytx-weights-v1\0" + manifest + b"\0" + self.data).digest()

    def slot(self, name: str) -> TensorSlot:
        for s in self.slots:
            if s.name == name:
                return s
        raise KeyError(name)


def pack_tensors(model: str, tensors: Sequence[tuple[str, np.ndarray]]) -> WeightsPayload:
    """Concatenate named tensors (C order, little-endian), each aligned to 16 bytes."""
    if not tensors:
        raise UserInputError("weights: no tensors to pack")
    names = [n for n, _ in tensors]
    if len(set(names)) != len(names):
        raise UserInputError(f"weights: duplicate tensor names in {names}")
    blob = bytearray()
    slots = []
    for name, array in tensors:
        a = np.ascontiguousarray(array)
        if a.dtype.kind not in "iu":
            raise UserInputError(
                f"weights: tensor {name} has dtype {a.dtype}; integer tensors only"
            )
        data = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        blob.extend(b"\0" * (-len(blob) % ALIGN))
        slots.append(TensorSlot(name, a.dtype.name, tuple(a.shape), len(blob), len(data)))
        blob.extend(data)
    return WeightsPayload(model, tuple(slots), bytes(blob))


def build_image(payload: WeightsPayload) -> bytes:
    head = HEADER.pack(
        MAGIC, FORMAT_VERSION, HEADER_BYTES, payload.model_hash, len(payload.data), 0
    )
    crc = zlib.crc32(payload.data, zlib.crc32(head[:CRC_OFFSET]))
    return head[:CRC_OFFSET] + struct.pack("<I", crc) + payload.data


@dataclass(frozen=True)
class ImageHeader:
    magic: bytes
    version: int
    header_bytes: int
    model_hash: bytes
    payload_bytes: int
    crc32: int


def parse_image(blob: bytes) -> tuple[ImageHeader, bytes]:
    """Header and payload of an image, after the checks the firmware makes (but the hash)."""
    if len(blob) < HEADER_BYTES:
        raise UserInputError(f"weights image: {len(blob)} bytes, shorter than the header")
    h = ImageHeader(*HEADER.unpack_from(blob))
    if h.magic != MAGIC:
        raise UserInputError(f"weights image: bad magic {h.magic!r}, expected {MAGIC!r}")
    if h.version != FORMAT_VERSION or h.header_bytes != HEADER_BYTES:
        raise UserInputError(
            f"weights image: format version {h.version}, expected {FORMAT_VERSION}"
        )
    payload = blob[HEADER_BYTES : HEADER_BYTES + h.payload_bytes]
    if len(payload) != h.payload_bytes:
        raise UserInputError("weights image: payload shorter than its length field")
    crc = zlib.crc32(payload, zlib.crc32(blob[:CRC_OFFSET]))
    if crc != h.crc32:
        raise UserInputError(f"weights image: CRC32 {crc:#010x}, header says {h.crc32:#010x}")
    return h, payload


def check_fits(image: bytes, partition, where: str) -> None:
    if len(image) > partition.size:
        raise UserInputError(
            f"weights image: {len(image):,} bytes do not fit the weights partition of {where}"
            f" ({partition.size:,} bytes at {partition.address:#010x})"
        )


def intel_hex_text(image: bytes, address: int) -> str:
    """``image`` at ``address`` as Intel HEX text (extended linear address records)."""
    import io

    from intelhex import IntelHex

    check_address_range(address, len(image))
    ih = IntelHex()
    ih.frombytes(image, offset=address)
    text = io.StringIO()
    ih.write_hex_file(text, write_start_addr=False)
    return text.getvalue()


def check_address_range(address: int, size: int, what: str = "weights image") -> None:
    """``size`` bytes from ``address`` lie in the 32-bit address space (Intel HEX and the
    boards' flash)."""
    if address < 0 or address + size > ADDRESS_SPACE:
        raise UserInputError(
            f"{what}: {size:,} bytes at {address:#x} do not fit the 32-bit address space"
            f" (0x0..{ADDRESS_SPACE - 1:#010x})"
        )


def write_intel_hex(image: bytes, address: int, path: Path) -> None:
    """Write ``image`` at ``address`` as Intel HEX, atomically: an existing ``path`` is
    replaced only once the whole file is written."""
    write_text(path, intel_hex_text(image, address))


def read_intel_hex(path: Path) -> tuple[int, bytes]:
    """(lowest address, bytes from there to the highest address) of an Intel HEX file."""
    from intelhex import IntelHex, IntelHexError

    ih = IntelHex()
    try:
        ih.loadhex(str(path))
    except (IntelHexError, ValueError) as exc:
        raise UserInputError(f"{path}: not a valid Intel HEX file ({exc})") from None
    lo, hi = ih.minaddr(), ih.maxaddr()
    if lo is None:
        raise UserInputError(f"{path}: empty Intel HEX file")
    return lo, ih.tobinstr(start=lo, end=hi)


def c_identifier(name: str) -> str:
    out = "".join(ch if ch.isalnum() else "_" for ch in name).upper()
    return out if not out[:1].isdigit() else "_" + out


def c_header_lines(prefix: str, payload: WeightsPayload) -> list[str]:
    """C declarations the firmware needs to read ``payload`` from an image: the payload
    length, each tensor's offset, and the expected model hash (defined by
    :func:`c_source_lines`)."""
    p = c_identifier(prefix)
    lines = [
        f"#define {p}_WEIGHTS_PAYLOAD_BYTES {len(payload.data)}u",
        f"#define {p}_WEIGHTS_FORMAT_VERSION {FORMAT_VERSION}u",
    ]
    for s in payload.slots:
        lines.append(
            f"#define {p}_{c_identifier(s.name)}_OFFSET {s.offset}u /* {s.dtype}"
            f" {'x'.join(map(str, s.shape))} */"
        )
    lines.append(f"extern const uint8_t {prefix}_model_hash[{HASH_BYTES}];")
    return lines


def c_source_lines(prefix: str, payload: WeightsPayload) -> list[str]:
    digest = payload.model_hash
    rows = [", ".join(f"0x{b:02x}" for b in digest[i : i + 8]) for i in range(0, HASH_BYTES, 8)]
    return [
        f"/* SHA-256 model hash of the weights image this firmware accepts"
        f" ({payload.model}, {len(payload.data)} payload bytes). */",
        f"const uint8_t {prefix}_model_hash[{HASH_BYTES}] = {{",
        *(f"\t{r}," for r in rows),
        "};",
    ]
