"""Scratch bytes of the attention kernels, the linear layers and conv2d, per kernel variant.

The planner needs each kernel call's scratch (its ``*_get_buffer_size``) before any
firmware is built, so every size here is a formula that mirrors the C: the reference
kernels' (:func:`tinytx.core.workloads.mhsa_scratch_bytes`, :func:`tinytx.core.plan.mhsa.dft_peak`,
the FWSA layout below) and the Cortex-M DSP kernels'
(:func:`tinytx.core.workloads.arm_mhsa_scratch_bytes`
for the layer-wise MHSA block, :mod:`tinytx.core.plan.arm_attention` for the depth-first and
the fused-weight blocks, :func:`arm_linear_scratch_bytes` for ``tinytx_linear_buf_s8``,
:func:`arm_conv2d_scratch_bytes` for conv2d; 0 for the other variants).
tests/python/test_bench.py checks every formula against the built arm kernels. The
``riscv`` sizes are the one-core ones; the generated code checks every size at run time
anyway (a call whose scratch would not fit returns ``TINYTX_ERR_DIMS``).
"""

from __future__ import annotations

from dataclasses import dataclass

from tinytx.core.errors import UserInputError
from tinytx.core.plan.arm_attention import arm_dft_scratch_bytes, arm_fwsa_scratch_bytes
from tinytx.core.plan.mhsa import dft_peak
from tinytx.core.workloads import MhsaShape, arm_mhsa_scratch_bytes, mhsa_scratch_bytes

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


def arm_linear_scratch_bytes(rows: int, in_features: int, out_features: int) -> int:
    """Mirrors the ``arm`` ``tinytx_linear_buf_s8_get_buffer_size`` of a token-major
    layer (kernels/src/arm/tinytx_linear_buf_s8.c): int16 copies of X (rows rounded up to
    even) and of two weight rows, K rounded up to a multiple of 4; 0 (no scratch, the
    scratch-free path) for one row or one output feature, or beyond int32."""
    if rows < 2 or out_features < 2:
        return 0
    k4 = (in_features + 3) & ~3
    need = 2 * k4 * (((rows + 1) & ~1) + 2)
    return need if need < 1 << 31 else 0


def reference_scratch(shape: MhsaShape, tile: int | None, fused: bool) -> int:
    """The reference kernels' scratch for an attention block (``tile``: DFT rows)."""
    if tile is not None:
        return dft_peak(shape, tile, fused)
    return fwsa_scratch_bytes(shape) if fused else mhsa_scratch_bytes(shape)


class KernelScratch:
    """Scratch sizes of one kernel variant's attention calls (see the module docstring)."""

    def __init__(self, kernels: str = "ref", no_linear: frozenset[str] = frozenset()) -> None:
        if kernels not in VARIANTS:
            raise UserInputError(f"kernels: expected one of {', '.join(VARIANTS)}, got {kernels!r}")
        self.kernels = kernels
        self.source = "the arm kernels' formulas" if kernels == "arm" else "the reference formulas"
        # linear ops planned without scratch (tinytx_linear_s8): their scratch would have
        # raised the arena (tinytx.core.plan.planning)
        self.no_linear = no_linear

    def without_linear(self, names: frozenset[str]) -> KernelScratch:
        """The same sizes, with no scratch for the linear ops ``names``."""
        other = KernelScratch(self.kernels, names)
        other.source = self.source
        return other

    def conv2d(self, geo: ConvGeometry) -> int:
        """Scratch bytes of ``tinytx_conv2d_s8`` (none for ``ref`` and ``riscv``)."""
        return arm_conv2d_scratch_bytes(geo) if self.kernels == "arm" else 0

    def attention(self, shape: MhsaShape, tile: int | None, fused: bool) -> int:
        """Scratch bytes of ``tinytx_{mhsa,fwsa}[_dft]_s8`` for ``shape``."""
        if self.kernels == "arm":
            if tile is not None:
                return arm_dft_scratch_bytes(shape, tile, fused)
            return arm_fwsa_scratch_bytes(shape) if fused else arm_mhsa_scratch_bytes(shape)
        return reference_scratch(shape, tile, fused)

    def linear(self, rows: int, in_features: int, out_features: int, name: str = "") -> int:
        """Scratch bytes of ``tinytx_linear_buf_s8`` for a token-major layer (op ``name``)."""
        if self.kernels == "arm" and name not in self.no_linear:
            return arm_linear_scratch_bytes(rows, in_features, out_features)
        return 0
