"""Scratch bytes of the attention kernels, per kernel variant.

The planner needs each kernel call's scratch (its ``*_get_buffer_size``) before any
firmware is built, so every size here is a formula that mirrors the C: the reference
kernels' (:func:`tinytx.workloads.mhsa_scratch_bytes`, :func:`tinytx.plan.mhsa.dft_peak`, the
FWSA layout below) and the Cortex-M DSP kernels' (:func:`tinytx.workloads.arm_mhsa_scratch_bytes`
for the layer-wise MHSA block, :mod:`tinytx.plan.arm_attention` for the depth-first and the
fused-weight blocks). tests/python/test_bench.py checks every formula against the built arm
kernels. The
``riscv`` sizes are the one-core ones; the generated code checks every size at run time
anyway (a call whose scratch would not fit returns ``TINYTX_ERR_DIMS``).
"""

from __future__ import annotations

from tinytx.plan.arm_attention import arm_dft_scratch_bytes, arm_fwsa_scratch_bytes
from tinytx.plan.mhsa import dft_peak
from tinytx.workloads import MhsaShape, arm_mhsa_scratch_bytes, mhsa_scratch_bytes

VARIANTS = ("ref", "arm", "riscv")


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

    def attention(self, shape: MhsaShape, tile: int | None, fused: bool) -> int:
        """Scratch bytes of ``tinytx_{mhsa,fwsa}[_dft]_s8`` for ``shape``."""
        if self.kernels == "arm":
            if tile is not None:
                return arm_dft_scratch_bytes(shape, tile, fused)
            return arm_fwsa_scratch_bytes(shape) if fused else arm_mhsa_scratch_bytes(shape)
        return reference_scratch(shape, tile, fused)
