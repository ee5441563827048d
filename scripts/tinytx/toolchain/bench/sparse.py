"""Dense vs sparse weights on the pruned layers of the sample models (``tinytx bench --sparse``).

Each layer of `SPARSE_LAYERS` (the radar and EEG models' linear and convolution shapes)
runs once with its dense int8 weights (``tinytx_linear_s8`` / ``tinytx_conv2d_s8``) and
once per pruning `PATTERNS` entry with the same weights magnitude-pruned and stored as
``tinytx_sparse_weights`` (``tinytx_linear_sparse_s8`` / ``tinytx_conv2d_sparse_s8``),
under unicorn on the bench ELF, every output checked byte for byte against the golden
model on the pruned matrix (`cases.run_case`). Reported: exact instructions, the
dense / sparse ratio and the weight bytes (dense ``rows * cols``, sparse
``sparse_weights.encode(...).nbytes``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from tinytx.core import golden as g
from tinytx.core.errors import TinytxError
from tinytx.core.golden.conv import conv2d_acc
from tinytx.core.golden.linear import Layout
from tinytx.core.sparse_weights import SparseFormat, SparseWeights, encode
from tinytx.core.workloads import calibrated
from tinytx.toolchain.bench.cases import (
    GUARD_BYTES,
    KernelCase,
    alloc_context,
    run_case,
    runner_cores,
)
from tinytx.toolchain.bench.runner import CostedRunner


@dataclass(frozen=True)
class SparseLayer:
    """A linear layer (S tokens, K -> N) or a convolution (H x W x C_in -> C_out, kernel
    KH x KW, stride, pads top/left/bottom/right) of a sample model."""

    name: str
    kind: str  # "linear" or "conv"
    linear: tuple[int, int, int] = (0, 0, 0)  # S, K, N
    conv: tuple[int, ...] = ()  # H, W, C_in, C_out, KH, KW, SH, SW, PT, PL, PB, PR

    @property
    def rows_cols(self) -> tuple[int, int]:
        """The weight matrix: [N][K], or [C_out][KH * KW * C_in]."""
        if self.kind == "linear":
            return self.linear[2], self.linear[1]
        _h, _w, cin, cout, kh, kw = self.conv[:6]
        return cout, kh * kw * cin

    @property
    def out_pixels(self) -> tuple[int, int]:
        h, w, _, _, kh, kw, sh, sw, pt, pl, pb, pr = self.conv
        return (h + pt + pb - kh) // sh + 1, (w + pl + pr - kw) // sw + 1

    def describe(self) -> str:
        if self.kind == "linear":
            s, k, n = self.linear
            return f"{s}x{k}->{n}"
        h, w, cin, cout, kh, kw, sh, sw = self.conv[:8]
        stride = f" s{sh}x{sw}" if (sh, sw) != (1, 1) else ""
        return f"{kh}x{kw} {cin}->{cout} on {h}x{w}{stride}"


SPARSE_LAYERS: tuple[SparseLayer, ...] = (
    SparseLayer("radar.embed", "linear", (16, 256, 32)),
    SparseLayer("radar.ffn1", "linear", (16, 32, 64)),
    SparseLayer("radar.ffn2", "linear", (16, 64, 32)),
    SparseLayer("radar.attn_proj", "linear", (16, 32, 32)),
    SparseLayer("radar.conv2", "conv", conv=(8, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1)),
    SparseLayer("radar.conv1", "conv", conv=(16, 16, 2, 8, 3, 3, 1, 1, 1, 1, 1, 1)),
    SparseLayer("eeg.qkv_proj", "linear", (81, 32, 256)),
    SparseLayer("eeg.out_proj", "linear", (81, 256, 32)),
    SparseLayer("eeg.ffn1", "linear", (81, 32, 64)),
    SparseLayer("eeg.ffn2", "linear", (81, 64, 32)),
    SparseLayer("eeg.conv1", "conv", conv=(1, 648, 4, 16, 1, 9, 1, 2, 0, 4, 0, 4)),
    SparseLayer("eeg.conv2", "conv", conv=(1, 81, 16, 32, 1, 3, 1, 1, 0, 1, 0, 1)),
)


@dataclass(frozen=True)
class Pattern:
    name: str
    format: SparseFormat
    sparsity: float  # share of zero entries (values or 1x4 blocks) in every row


PATTERNS: tuple[Pattern, ...] = (
    Pattern("block4_75", SparseFormat.BLOCK4, 0.75),
    Pattern("unstructured_90", SparseFormat.UNSTRUCTURED, 0.90),
    Pattern("unstructured_50", SparseFormat.UNSTRUCTURED, 0.50),
)

#: The minimum dense / sparse instruction ratio of a pattern (the bench fails below it).
MIN_RATIOS: dict[str, float] = {"block4_75": 2.5, "unstructured_90": 2.0}


def prune(w: np.ndarray, fmt: SparseFormat, sparsity: float) -> np.ndarray:
    """``w`` with round(sparsity * positions) entries of each row zeroed: the entries
    (values, or 1 x 4 blocks along the row) of smallest magnitude, ties by position."""
    rows, cols = w.shape
    per = int(fmt)
    positions = -(-cols // per)
    padded = np.zeros((rows, positions * per), np.int32)
    padded[:, :cols] = w
    mag = np.abs(padded).reshape(rows, positions, per).sum(axis=2)
    drop = round(sparsity * positions)
    out = padded.reshape(rows, positions, per).copy()
    for r in range(rows):
        order = np.argsort(mag[r], kind="stable")
        out[r, order[:drop]] = 0
    return out.reshape(rows, positions * per)[:, :cols].astype(np.int8)


@dataclass(frozen=True)
class SparseResult:
    """One layer: dense instructions and weight bytes, and per pattern its own."""

    layer: SparseLayer
    dense_instructions: int
    dense_bytes: int
    sparse: dict[str, tuple[int, int, int]]  # pattern -> (instructions, nbytes, entries)

    def ratio(self, pattern: str) -> float:
        return self.dense_instructions / self.sparse[pattern][0]


def _i32(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}i", *values)


def _alloc(runner: CostedRunner, a: np.ndarray) -> int:
    return runner.alloc(np.ascontiguousarray(a).tobytes(), align=8)


def _weights_struct(runner: CostedRunner, sw: SparseWeights) -> int:
    def arr(a: np.ndarray) -> int:
        return _alloc(runner, a) if a.size else 0

    return runner.alloc(
        struct.pack(
            "<3i3I", int(sw.format), sw.rows, sw.cols,
            arr(sw.row_ptr.astype("<u2")), arr(sw.gaps), arr(sw.values),
        ),
        align=8,
    )  # fmt: skip


def _scratch(runner: CostedRunner, function: str, dims: int) -> tuple[int, int]:
    need = runner.call(function, [dims, runner_cores(runner)]).return_value
    if need < 0:
        raise TinytxError(f"{function} rejects the shape (status {need})")
    return runner.alloc(max(need, 4), align=8), need


def layer_data(layer: SparseLayer, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Input, dense weights ([rows][cols]) and bias of a layer, deterministic in the seed."""
    rng = np.random.default_rng([seed, *map(ord, layer.name)])
    rows, cols = layer.rows_cols
    if layer.kind == "linear":
        x = rng.integers(-128, 128, layer.linear[:2]).astype(np.int8)
    else:
        x = rng.integers(-128, 128, layer.conv[:3]).astype(np.int8)
    w = np.clip(np.rint(rng.normal(0, 40, (rows, cols))), -127, 127).astype(np.int8)
    bias = rng.integers(-2000, 2000, rows).astype(np.int32)
    return x, w, bias


def _golden(
    layer: SparseLayer, x: np.ndarray, w: np.ndarray, bias: np.ndarray
) -> tuple[g.Requant, np.ndarray]:
    """The factor (calibrated on the layer's accumulators) and the golden output."""
    if layer.kind == "linear":
        acc = x.astype(np.int64) @ w.astype(np.int64).T + bias
        rq = calibrated(acc)
        return rq, g.linear_s8(x, w, bias, rq, Layout.TOKEN_MAJOR, 1)
    _h, _wd, cin, cout, kh, kw, sh, sw, pt, pl, pb, pr = layer.conv
    w4 = w.reshape(cout, kh, kw, cin)
    rq = calibrated(conv2d_acc(x, w4, bias, (sh, sw), (pt, pl, pb, pr)))
    return rq, g.conv2d_s8(x, w4, bias, rq, (sh, sw), (pt, pl, pb, pr))


def _case(
    runner: CostedRunner, layer: SparseLayer, x: np.ndarray, w: np.ndarray, bias: np.ndarray,
    sw: SparseWeights | None,
) -> KernelCase:  # fmt: skip
    """The call of the dense kernel (``sw`` None) or the sparse one on ``w``'s entries."""
    rq, expected = _golden(layer, x, w, bias)
    out = runner.alloc(expected.size + GUARD_BYTES, align=8)
    x_addr, b_addr = _alloc(runner, x), _alloc(runner, bias.astype("<i4"))
    if layer.kind == "linear":
        s, k, n = layer.linear
        dims = runner.alloc(_i32(s, k, n, 1, int(Layout.TOKEN_MAJOR)))
        params = runner.alloc(_i32(rq.multiplier, rq.shift, rq.zero_point, -128, 127, 0, 0))
        kernel = "tinytx_linear_s8" if sw is None else "tinytx_linear_sparse_s8"
        scratch: tuple[tuple[int, int], ...] = ()
        if sw is None:
            args: tuple[int, ...] = (dims, params, x_addr, _alloc(runner, w), b_addr, out)
        else:
            buf, need = _scratch(runner, "tinytx_linear_sparse_s8_get_buffer_size", dims)
            ctx = alloc_context(runner, buf, need)
            args = (dims, params, x_addr, _weights_struct(runner, sw), b_addr, out, ctx)
            scratch = ((buf, need),)
        macs = s * k * n
    else:
        h, wd, cin, cout, kh, kw, sh, swd, pt, pl, pb, pr = layer.conv
        oh, ow = layer.out_pixels
        dims = runner.alloc(_i32(h, wd, cin, oh, ow, cout, kh, kw, sh, swd, pt, pl, pb, pr))
        params = runner.alloc(_i32(rq.multiplier, rq.shift, rq.zero_point, -128, 127, 0, 0, 0))
        name = "tinytx_conv2d_s8" if sw is None else "tinytx_conv2d_sparse_s8"
        buf, need = _scratch(runner, name + "_get_buffer_size", dims)
        ctx = alloc_context(runner, buf, need)
        wt = _alloc(runner, w) if sw is None else _weights_struct(runner, sw)
        args = (dims, params, x_addr, wt, b_addr, out, ctx)
        kernel, scratch = name, ((buf, need),)
        macs = oh * ow * cout * kh * kw * cin
    return KernelCase(layer.name, kernel, macs, args, out, expected.tobytes(), scratch)


def measure_layer(
    runner: CostedRunner, layer: SparseLayer, seed: int, where: str,
    patterns: tuple[Pattern, ...] = PATTERNS,
) -> SparseResult:  # fmt: skip
    """Dense and every pattern of one layer, each checked against the golden model."""
    x, w, bias = layer_data(layer, seed)
    runner.reset()
    dense = run_case(runner, _case(runner, layer, x, w, bias, None), where)
    sparse: dict[str, tuple[int, int, int]] = {}
    for p in patterns:
        pruned = prune(w, p.format, p.sparsity)
        sw = encode(pruned, p.format)
        runner.reset()
        m = run_case(runner, _case(runner, layer, x, pruned, bias, sw), f"{where} {p.name}")
        sparse[p.name] = (m.instructions, sw.nbytes, sw.entries)
    return SparseResult(layer, dense.instructions, w.size, sparse)
