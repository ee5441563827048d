"""Bench cases of fused-weight attention (FWSA) and of the depth-first tiled blocks.

Measured on the same bench ELF and with the same checks as :mod:`tinytx.toolchain.bench.cases`
(golden inputs, poisoned outputs, guard bytes, scratch filled with a pattern):

- the **attention-score part** of both paths, everything up to the probabilities:
  unfused ``q_proj + k_proj + qk_softmax`` (Q and K projections, QK^T + softmax) against
  fused ``t_proj + qk_softmax_fused`` (``T = X Wt``, ``T X^T`` + softmax, keys = X);
- the whole blocks ``mhsa`` / ``fwsa`` (layer-wise) and, per tile size x,
  ``mhsa_dft`` / ``fwsa_dft`` (``tinytx_mhsa_dft_s8`` / ``tinytx_fwsa_dft_s8``).

The fused weights come from :func:`tinytx.core.plan.fwsa.fuse_mhsa` of the calibrated block of
:func:`tinytx.core.workloads.make_mhsa`. :func:`measure_attention` builds the bench ELF and
returns one :class:`Measurement` per case name (``mhsa_dft x=8`` style for the tiles).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinytx.core import golden as g
from tinytx.core.errors import TinytxError
from tinytx.core.golden.linear import Layout
from tinytx.core.plan.fwsa import fuse_mhsa
from tinytx.core.resources import resolve_build_dir
from tinytx.core.workloads import MhsaShape, make_mhsa
from tinytx.toolchain.bench.cases import (
    KernelCase,
    alloc_context,
    heap_bytes,
    run_case,
    runner_cores,
)
from tinytx.toolchain.bench.runner import CostedRunner, Measurement

UNFUSED_SCORES = ("q_proj", "k_proj", "qk_softmax")
FUSED_SCORES = ("t_proj", "qk_softmax_fused")
_GUARD = 16


@dataclass(frozen=True)
class AttentionFigures:
    """Exact instructions (and modelled cycles) of every measured call of one shape."""

    shape: MhsaShape
    target: str
    variant: str
    measured: dict[str, Measurement]

    def instructions(self, names: Sequence[str]) -> int:
        return sum(self.measured[n].instructions for n in names)

    @property
    def score_unfused(self) -> int:
        return self.instructions(UNFUSED_SCORES)

    @property
    def score_fused(self) -> int:
        return self.instructions(FUSED_SCORES)

    def tile_costs(self, fused: bool = False) -> dict[int, int]:
        prefix = ("fwsa_dft" if fused else "mhsa_dft") + " x="
        return {
            int(k[len(prefix) :]): m.instructions
            for k, m in self.measured.items()
            if k.startswith(prefix)
        }


def _i32(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}i", *values)


def _rq(rq: g.Requant) -> tuple[int, int, int]:
    """A tinytx_requant: multiplier, shift, zero_point."""
    return rq.multiplier, rq.shift, rq.zero_point


def _buffer_size(runner: CostedRunner, function: str, *args: int) -> int:
    need = runner.call(function, [*args, runner_cores(runner)]).return_value
    if need < 0:
        raise TinytxError(f"{function} rejects the shape (status {need})")
    return need


def prepare_cases(
    runner: CostedRunner,
    shape: MhsaShape,
    seed: int,
    tiles: Sequence[int] = (),
    fused_tiles: Sequence[int] = (),
    blocks: bool = True,
) -> list[KernelCase]:
    s, e, h, p = shape.seq_len, shape.embed_dim, shape.heads, shape.head_dim
    hp = h * p
    work = make_mhsa(shape, seed)
    w, qp = work.weights, work.quant
    fw, fq = fuse_mhsa(w, qp, h, work.x)
    tr = g.mhsa_trace(work.x, h, w, qp)
    ftr = g.fwsa_trace(work.x, h, fw, fq)

    def arr(a: np.ndarray | None, dtype: str = "<i1") -> int:
        if a is None:
            return 0
        return runner.alloc(np.ascontiguousarray(a, dtype=dtype).tobytes(), align=8)

    def out(size: int) -> int:
        return runner.alloc(size + _GUARD, align=8)

    x = arr(work.x)
    wq, bq, wk, bk = arr(w.wq), arr(w.bq, "<i4"), arr(w.wk), arr(w.bk, "<i4")
    wv, bv, wo, bo = arr(w.wv), arr(w.bv, "<i4"), arr(w.wo), arr(w.bo, "<i4")
    wt, bt = arr(fw.wt), arr(fw.bt, "<i4")
    q_in, k_in, t_in = arr(tr["q"]), arr(tr["k"]), arr(ftr["t"])
    full = (-128, 127)
    cases: list[KernelCase] = []

    def linear(name, dims, rq, inp, wgt, bias, expected, macs) -> None:
        d, prm, o = (
            runner.alloc(_i32(*dims)),
            runner.alloc(_i32(*_rq(rq), *full, 0, 0)),  # per-tensor
            out(expected.size),
        )
        cases.append(
            KernelCase(
                name, "tinytx_linear_s8", macs, (d, prm, inp, wgt, bias, o), o, expected.tobytes()
            )
        )

    def softmax(name, dims, rq, q, k, expected, macs) -> None:
        d = runner.alloc(_i32(*dims))
        size = _buffer_size(runner, "tinytx_qk_softmax_s8_get_buffer_size", d)
        scratch, o = runner.alloc(max(size, 4), align=8), out(expected.size)
        cases.append(
            KernelCase(
                name,
                "tinytx_qk_softmax_s8",
                macs,
                (d, *_rq(rq), q, k, o, alloc_context(runner, scratch, size)),
                o,
                expected.tobytes(),
                ((scratch, size),),
            )
        )

    proj = s * e * hp
    linear("q_proj", (s, e, hp, h, Layout.HEAD_MAJOR), qp.q, x, wq, bq, tr["q"], proj)
    linear("k_proj", (s, e, hp, h, Layout.HEAD_MAJOR), qp.k, x, wk, bk, tr["k"], proj)
    softmax("qk_softmax", (h, s, s, p, h), qp.softmax, q_in, k_in, tr["a"], h * s * s * p)
    linear("t_proj", (s, e, h * e, h, Layout.HEAD_MAJOR), fq.t, x, wt, bt, ftr["t"], s * e * h * e)
    softmax("qk_softmax_fused", (h, s, s, e, 1), fq.softmax, t_in, x, ftr["a"], h * s * s * e)

    dims = runner.alloc(_i32(s, e, h, p))
    m_params = runner.alloc(
        _i32(*(v for f in ("q", "k", "v", "softmax", "av", "out") for v in _rq(getattr(qp, f))))
    )
    # tinytx_mhsa_weights: 8 pointers, then 4 per-channel table pairs (NULL: per-tensor)
    m_weights = runner.alloc(struct.pack("<16I", wq, bq, wk, bk, wv, bv, wo, bo, *[0] * 8))
    f_params = runner.alloc(
        _i32(*(v for f in ("t", "v", "softmax", "av", "out") for v in _rq(getattr(fq, f))))
    )
    f_weights = runner.alloc(struct.pack("<6I", wt, bt, wv, bv, wo, bo))
    fwsa_macs = s * e * h * e + 2 * proj + h * s * s * (e + p)
    calls = [
        ("mhsa", "tinytx_mhsa_s8", None, m_params, m_weights, tr["y"], shape.macs),
        ("fwsa", "tinytx_fwsa_s8", None, f_params, f_weights, ftr["y"], fwsa_macs),
    ]
    if not blocks:
        calls = []
    calls += [
        (f"mhsa_dft x={t}", "tinytx_mhsa_dft_s8", t, m_params, m_weights, tr["y"], shape.macs)
        for t in tiles
    ]
    calls += [
        (f"fwsa_dft x={t}", "tinytx_fwsa_dft_s8", t, f_params, f_weights, ftr["y"], fwsa_macs)
        for t in fused_tiles
    ]
    for name, fn, tile, prm, wts, expected, macs in calls:
        size_args = (dims,) if tile is None else (dims, tile)
        size = _buffer_size(runner, fn + "_get_buffer_size", *size_args)
        scratch, o = runner.alloc(max(size, 4), align=8), out(expected.size)
        ctx = alloc_context(runner, scratch, size)
        args = (dims, prm, wts, x, o, ctx) if tile is None else (dims, tile, prm, wts, x, o, ctx)
        cases.append(KernelCase(name, fn, macs, args, o, expected.tobytes(), ((scratch, size),)))
    return cases


def measure_attention(
    shape: MhsaShape,
    target_name: str = "m4",
    variant: str | None = None,
    tiles: Sequence[int] = (),
    fused_tiles: Sequence[int] = (),
    seed: int = 7,
    build_root: Path | None = None,
    blocks: bool = True,
) -> AttentionFigures:
    """Build the bench ELF of (target, variant) and measure every case on ``shape``
    (``blocks`` False: without the whole layer-wise blocks)."""
    build_root = resolve_build_dir(build_root)
    from tinytx.core.targets import get_target
    from tinytx.toolchain.bench.run import BenchSession

    target = get_target(target_name)
    variant = target.check_kernels(variant or target.default_kernels)
    extra = (len(tiles) + len(fused_tiles) + 4) * (
        4 * shape.seq_len * shape.heads * max(shape.embed_dim, shape.head_dim) + 65536
    )
    session = BenchSession(target, variant, build_root, heap=heap_bytes(shape) + extra)
    runner = session.runner
    runner.reset()
    cases = prepare_cases(runner, shape, seed, tiles, fused_tiles, blocks)
    where = f"{target_name}/{variant} {shape}"
    measured = {c.kernel: run_case(runner, c, where) for c in cases}
    return AttentionFigures(shape, target_name, variant, measured)
