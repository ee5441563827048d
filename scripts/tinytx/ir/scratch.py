"""Scratch bytes of the attention kernels and conv2d, per kernel variant.

The planner needs each kernel call's scratch (its ``*_get_buffer_size``) before any
firmware is built, so every size here is a formula that mirrors the C: the reference
kernels' (:func:`tinytx.workloads.mhsa_scratch_bytes`, :func:`tinytx.plan.mhsa.dft_peak`, the
FWSA layout below) and the Cortex-M DSP block's (:func:`tinytx.workloads.arm_mhsa_scratch_bytes`;
the ``arm`` variant has no FWSA or DFT kernel of its own, so those are the reference ones),
and the ``arm`` conv2d's (:func:`arm_conv2d_scratch_bytes`; the reference conv needs none).
tests/python/test_bench.py checks every formula against the built arm kernels. The
``riscv`` sizes are the one-core ones; the generated code checks every size at run time
anyway (a call whose scratch would not fit returns ``TINYTX_ERR_DIMS``).
"""

from __future__ import annotations

from dataclasses import dataclass

from tinytx.plan.mhsa import dft_peak
from tinytx.workloads import MhsaShape, arm_mhsa_scratch_bytes, mhsa_scratch_bytes

VARIANTS = ("ref", "arm", "riscv")


@dataclass(frozen=True)
class ConvGeometry:
    """The fields of ``tinytx_conv2d_dims`` a conv's scratch depends on."""

    in_w: int
    in_c: int
    out_c: int
    kernel_h: int
    kernel_w: int
    pad: tuple[int, int, int, int]  # top, left, bottom, right


ARM_CONV_BAND_MAX = 65536  # CV_BAND_MAX of kernels/src/arm/tinytx_conv2d_s8.c


def arm_conv2d_scratch_bytes(geo: ConvGeometry) -> int:
    """Mirrors the ``arm`` ``tinytx_conv2d_s8_get_buffer_size``
    (kernels/src/arm/tinytx_conv2d_s8.c): the weights and one pair of windows as int16
    in blocks of 4 (16 bytes per pair of rows and block), each kernel row
    (``KW * C_in`` values) padded to whole blocks unless its length is 2 mod 4; for a
    padded conv with ``KH > 1``, a
    padded int8 copy of the ``KH`` input rows under one output row (the band)."""
    row = geo.kernel_w * geo.in_c  # rows follow each other when row % 4 == 2
    kb = (geo.kernel_h * row + 3) // 4 if row % 4 == 2 else geo.kernel_h * ((row + 3) // 4)
    _, left, _, right = geo.pad
    band = geo.kernel_h * (geo.in_w + left + right) * geo.in_c
    if geo.kernel_h == 1 or not any(geo.pad) or band > ARM_CONV_BAND_MAX:
        band = 0
    return 16 * kb * ((geo.out_c + 1) // 2 + 1) + (band + 3) // 4 * 4


def _a4(n: int) -> int:
    return (n + 3) & ~3


def fwsa_scratch_bytes(shape: MhsaShape) -> int:
    """Mirrors the reference ``tinytx_fwsa_s8_get_buffer_size``."""
    s, e, h, hp = shape.seq_len, shape.embed_dim, shape.heads, shape.heads * shape.head_dim
    return _a4(4 * s) + _a4(h * s * e) + _a4(s * hp) + _a4(h * s * s) + _a4(s * hp)


def reference_scratch(shape: MhsaShape, tile: int | None, fused: bool) -> int:
    """The reference kernels' scratch for an attention block (``tile``: DFT rows)."""
    if tile is not None:
        return dft_peak(shape, tile, fused)
    return fwsa_scratch_bytes(shape) if fused else mhsa_scratch_bytes(shape)


class KernelScratch:
    """Scratch sizes of one kernel variant's attention calls (see the module docstring)."""

    def __init__(self, kernels: str = "ref") -> None:
        if kernels not in VARIANTS:
            raise ValueError(f"kernels: expected one of {', '.join(VARIANTS)}, got {kernels!r}")
        self.kernels = kernels
        self.source = "the arm kernels' formulas" if kernels == "arm" else "the reference formulas"

    def conv2d(self, geo: ConvGeometry) -> int:
        """Scratch bytes of ``tinytx_conv2d_s8`` (none for ``ref`` and ``riscv``)."""
        return arm_conv2d_scratch_bytes(geo) if self.kernels == "arm" else 0

    def attention(self, shape: MhsaShape, tile: int | None, fused: bool) -> int:
        """Scratch bytes of ``tinytx_{mhsa,fwsa}[_dft]_s8`` for ``shape``."""
        if self.kernels == "arm" and tile is None and not fused:
            return arm_mhsa_scratch_bytes(shape)
        return reference_scratch(shape, tile, fused)
