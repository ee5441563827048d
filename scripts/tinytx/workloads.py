"""Synthetic MHSA workloads with calibrated quantization (demo and benchmarks).

Weights and inputs are random but shaped like trained int8 tensors (clipped
normals), and every requantization factor is calibrated on the actual
accumulators so that intermediate tensors use the int8 range instead of
saturating or collapsing to zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinytx import golden as g
from tinytx.golden.linear import Layout, linear_acc, to_layout
from tinytx.golden.quant import requantize
from tinytx.golden.softmax import qk_scores

ACT_STD = 40.0  # target std of int8 activations
LOGIT_STD = 2.0  # target std of softmax logits (real units)


@dataclass(frozen=True)
class MhsaShape:
    seq_len: int
    embed_dim: int
    heads: int
    head_dim: int

    @property
    def macs(self) -> int:
        s, e, hp = self.seq_len, self.embed_dim, self.heads * self.head_dim
        return 4 * s * e * hp + 2 * self.heads * s * s * self.head_dim

    def __str__(self) -> str:
        return f"S={self.seq_len} E={self.embed_dim} H={self.heads} P={self.head_dim}"


# The shapes of the Jung et al. evaluation (see docs/benchmarks.md when it lands).
SHAPES = {
    "A": MhsaShape(81, 32, 8, 32),  # EEGFormer
    "B": MhsaShape(66, 16, 8, 2),  # ECGFormer
    "C": MhsaShape(32, 64, 16, 64),  # TinyRadar layer
    "D": MhsaShape(256, 64, 4, 16),  # long sequence
}


@dataclass(frozen=True)
class MhsaWorkload:
    shape: MhsaShape
    x: np.ndarray
    weights: g.MhsaWeights
    quant: g.MhsaQuant


def _int8_normal(rng: np.random.Generator, shape: tuple[int, ...], std: float) -> np.ndarray:
    return np.clip(np.rint(rng.normal(0.0, std, shape)), -128, 127).astype(np.int8)


def _calibrated(acc: np.ndarray, target_std: float = ACT_STD) -> g.Requant:
    return g.Requant.from_scale(target_std / max(float(acc.std()), 1.0))


def make_mhsa(shape: MhsaShape, seed: int) -> MhsaWorkload:
    rng = np.random.default_rng(seed)
    s, e, h, p = shape.seq_len, shape.embed_dim, shape.heads, shape.head_dim
    x = _int8_normal(rng, (s, e), ACT_STD)

    def proj(n: int, k: int, inp: np.ndarray):
        w = _int8_normal(rng, (n, k), 30.0)
        acc0 = linear_acc(inp, w, None)
        b = np.rint(rng.normal(0.0, 0.25 * float(acc0.std()) + 1.0, n)).astype(np.int32)
        acc = linear_acc(inp, w, b)
        return w, b, acc, _calibrated(acc)

    wq, bq, acc_q, rq_q = proj(h * p, e, x)
    wk, bk, acc_k, rq_k = proj(h * p, e, x)
    wv, bv, acc_v, rq_v = proj(h * p, e, x)
    q = to_layout(requantize(acc_q, rq_q), Layout.HEAD_MAJOR, h)
    k = to_layout(requantize(acc_k, rq_k), Layout.HEAD_MAJOR, h)
    vt = to_layout(requantize(acc_v, rq_v), Layout.HEAD_MAJOR_T, h)
    scores = qk_scores(q, k)
    rq_sm = g.softmax_requant(LOGIT_STD / max(float(scores.std()), 1.0))
    a = g.qk_softmax_s8(q, k, rq_sm)
    acc_av = a.astype(np.int64) @ vt.astype(np.int64).transpose(0, 2, 1)
    rq_av = _calibrated(acc_av)
    o = g.av_s8(a, vt, rq_av)
    wo, bo, _, rq_o = proj(e, h * p, o)
    weights = g.MhsaWeights(wq, bq, wk, bk, wv, bv, wo, bo)
    quant = g.MhsaQuant(rq_q, rq_k, rq_v, rq_sm, rq_av, rq_o)
    return MhsaWorkload(shape, x, weights, quant)


def mhsa_scratch_bytes(shape: MhsaShape) -> int:
    """Scratch of the layer-wise reference MHSA (mirrors tinytx_mhsa_s8_get_buffer_size)."""

    def al(n: int) -> int:
        return (n + 3) & ~3

    s, hp = shape.seq_len, shape.heads * shape.head_dim
    return al(4 * s) + 4 * al(s * hp) + al(shape.heads * s * s)
