"""Binary vector file read by the C test runner (tests/kernels/src/tt_case.c).

All fields little-endian::

    u32 magic "TTXV", u32 version (1), u32 case_count
    per case:  u32 kernel_id, u32 case_id, u32 n_params, u32 n_buffers,
               i32 params[n_params],
               per buffer: u32 n_bytes, bytes, zero padding to a multiple of 4
The last buffer of a case is the golden model's expected output; an empty buffer
stands for a NULL pointer (an absent bias).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinytx.core.atomic import open_atomic
from tinytx.core.errors import UserInputError

MAGIC = b"TTXV"
VERSION = 1
MAX_PARAMS = 32
MAX_BUFFERS = 12

KERNEL_IDS: dict[str, int] = {
    "linear": 1,
    "qk_softmax": 2,
    "av": 3,
    "mhsa": 4,
    "fwsa": 5,
    "layernorm": 6,
    "gelu": 7,
    "add": 8,
    "mhsa_dft": 9,
    "conv2d": 10,
    "depthwise_conv2d": 11,
    "maxpool2d": 12,
    "avgpool2d": 13,
    "mean_rows": 14,
    "fwsa_dft": 15,
    "lut": 16,
    "linear_sparse": 17,
    "conv2d_sparse": 18,
    "gather": 19,
    "mul": 20,
    "conv2d_general": 21,
    "layernorm_steps": 22,
    "attention_steps": 23,
}


@dataclass(frozen=True)
class Case:
    kernel: str
    case_id: int
    params: tuple[int, ...]
    buffers: tuple[np.ndarray | None, ...]  # last one: expected output
    shape: str  # human-readable shape, for failure messages

    def __post_init__(self) -> None:
        if self.kernel not in KERNEL_IDS:
            raise ValueError(f"kernel: unknown kernel {self.kernel!r}")
        if len(self.params) > MAX_PARAMS or not 1 <= len(self.buffers) <= MAX_BUFFERS:
            raise ValueError(f"case {self.case_id}: too many params or buffers")


def _buffer_bytes(b: np.ndarray | None) -> bytes:
    return b"" if b is None else np.ascontiguousarray(b).tobytes()


def write_cases(path: Path, cases: Iterable[Case]) -> int:
    cases = list(cases)
    with open_atomic(path, "wb") as f:
        f.write(MAGIC + struct.pack("<II", VERSION, len(cases)))
        for c in cases:
            f.write(
                struct.pack("<IIII", KERNEL_IDS[c.kernel], c.case_id, len(c.params), len(c.buffers))
            )
            f.write(struct.pack(f"<{len(c.params)}i", *c.params))
            for b in c.buffers:
                data = _buffer_bytes(b)
                f.write(struct.pack("<I", len(data)) + data + b"\0" * (-len(data) % 4))
    return len(cases)


def read_cases(path: Path) -> list[tuple[str, int, tuple[int, ...], list[bytes]]]:
    """Parse a vector file back (kernel, case_id, params, raw buffers); for tests/tools."""
    names = {v: k for k, v in KERNEL_IDS.items()}
    data = Path(path).read_bytes()
    if data[:4] != MAGIC:
        raise UserInputError(f"{path}: not a tinytx vector file")
    version, count = struct.unpack_from("<II", data, 4)
    if version != VERSION:
        raise UserInputError(f"{path}: vector format version {version}, expected {VERSION}")
    pos = 12
    out = []
    for _ in range(count):
        kid, cid, npar, nbuf = struct.unpack_from("<IIII", data, pos)
        pos += 16
        params = struct.unpack_from(f"<{npar}i", data, pos)
        pos += 4 * npar
        bufs = []
        for _ in range(nbuf):
            (n,) = struct.unpack_from("<I", data, pos)
            pos += 4
            bufs.append(data[pos : pos + n])
            pos += n + (-n % 4)
        out.append((names[kid], cid, tuple(params), bufs))
    return out
