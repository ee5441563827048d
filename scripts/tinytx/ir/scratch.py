"""Scratch bytes of the attention kernels, per kernel variant.

The planner needs each kernel call's scratch (its ``*_get_buffer_size``) before any
firmware is built. For the reference kernels the formulas are short and stable
(:func:`tinytx.workloads.mhsa_scratch_bytes`, :func:`tinytx.plan.mhsa.dft_peak`, the FWSA
layout below). The optimized variants lay their scratch out their own way and change
with them, so for ``arm`` :class:`KernelScratch` asks the built kernels: it builds the
benchmark firmware (every kernel, tests/bench/src/bench_main.c) for Cortex-M4 and calls
the ``*_get_buffer_size`` functions under unicorn. Without the cross toolchain it falls
back to the reference sizes and says so; the generated code checks every size at run
time anyway (a call whose scratch would not fit returns ``TINYTX_ERR_DIMS``).
"""

from __future__ import annotations

import struct
from pathlib import Path

from tinytx.errors import TinytxError
from tinytx.plan.mhsa import dft_peak
from tinytx.workloads import MhsaShape, mhsa_scratch_bytes

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

    def __init__(self, kernels: str = "ref", build_root: Path | None = None) -> None:
        if kernels not in VARIANTS:
            raise ValueError(f"kernels: expected one of {', '.join(VARIANTS)}, got {kernels!r}")
        self.kernels = kernels
        self.build_root = build_root
        self.source = "reference formulas"
        self._runner = None
        self._probe_failed = False
        self._memo: dict[tuple, int] = {}

    def _probe(self):
        if self._runner is not None or self._probe_failed or self.build_root is None:
            return self._runner
        try:
            from tinytx.bench.firmware import build_bench_elf
            from tinytx.emu.unicorn_arm import ArmFunctionRunner
            from tinytx.targets import get_target

            elf = build_bench_elf(get_target("m4"), "arm", self.build_root / "scratch-probe")
            self._runner = ArmFunctionRunner(elf, "cortex-m4", scratch_size=1 << 12)
            self.source = "the built arm kernels (*_get_buffer_size under unicorn)"
        except (TinytxError, OSError, ValueError) as exc:
            self._probe_failed = True
            self.source = f"reference formulas (arm kernels not built: {str(exc)[:80]})"
        return self._runner

    def attention(self, shape: MhsaShape, tile: int | None, fused: bool) -> int:
        """Scratch bytes of ``tinytx_{mhsa,fwsa}[_dft]_s8`` for ``shape``."""
        key = (shape.seq_len, shape.embed_dim, shape.heads, shape.head_dim, tile, fused)
        if key in self._memo:
            return self._memo[key]
        size = reference_scratch(shape, tile, fused)
        runner = self._probe() if self.kernels == "arm" else None
        if runner is not None:
            kind = "fwsa" if fused else "mhsa"
            func = (
                f"tinytx_{kind}_dft_s8_get_buffer_size"
                if tile
                else f"tinytx_{kind}_s8_get_buffer_size"
            )
            runner.reset()
            dims = runner.alloc(struct.pack("<4i", *key[:4]), 4)
            args = [dims, tile] if tile else [dims]
            got = runner.call(func, args).return_value
            if got < 0:
                raise TinytxError(f"{func} refuses {shape} (status {got})")
            size = got
        self._memo[key] = size
        return size
