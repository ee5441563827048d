"""Synthetic MHSA workloads with calibrated quantization (demo and benchmarks).

Weights and inputs are random but shaped like trained int8 tensors (clipped
normals), and every requantization factor is calibrated on the actual
accumulators so that intermediate tensors use the int8 range instead of
saturating or collapsing to zero.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tinytx.core import golden as g
from tinytx.core.golden.linear import Layout, linear_acc
from tinytx.core.golden.softmax import qk_scores

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


def calibrated(acc: np.ndarray, target_std: float = ACT_STD, jitter: float = 1.0) -> g.Requant:
    """Requantization taking accumulators of the observed spread to ~``target_std``."""
    return g.Requant.from_scale(target_std * jitter / max(float(np.std(acc)), 1.0))


def calibrated_softmax(scores: np.ndarray, jitter: float = 1.0) -> g.Requant:
    return g.softmax_requant(LOGIT_STD * jitter / max(float(np.std(scores)), 1.0))


def calibrate_mhsa(
    x: np.ndarray, heads: int, w: g.MhsaWeights, jitter: Callable[[], float] = lambda: 1.0
) -> g.MhsaQuant:
    """Quantization of every MHSA step, calibrated on the tensors ``x`` produces."""
    rq_q = calibrated(linear_acc(x, w.wq, w.bq), jitter=jitter())
    rq_k = calibrated(linear_acc(x, w.wk, w.bk), jitter=jitter())
    rq_v = calibrated(linear_acc(x, w.wv, w.bv), jitter=jitter())
    q = g.linear_s8(x, w.wq, w.bq, rq_q, Layout.HEAD_MAJOR, heads)
    k = g.linear_s8(x, w.wk, w.bk, rq_k, Layout.HEAD_MAJOR, heads)
    vt = g.linear_s8(x, w.wv, w.bv, rq_v, Layout.HEAD_MAJOR_T, heads)
    rq_sm = calibrated_softmax(qk_scores(q, k), jitter())
    a = g.qk_softmax_s8(q, k, rq_sm)
    rq_av = calibrated(av_acc(a, vt), jitter=jitter())
    o = g.av_s8(a, vt, rq_av)
    rq_o = calibrated(linear_acc(o, w.wo, w.bo), jitter=jitter())
    return g.MhsaQuant(rq_q, rq_k, rq_v, rq_sm, rq_av, rq_o)


def calibrate_fwsa(
    x: np.ndarray, heads: int, w: g.FwsaWeights, jitter: Callable[[], float] = lambda: 1.0
) -> g.FwsaQuant:
    """Quantization of every FWSA step, calibrated on the tensors ``x`` produces."""
    rq_t = calibrated(linear_acc(x, w.wt, w.bt), jitter=jitter())
    rq_v = calibrated(linear_acc(x, w.wv, w.bv), jitter=jitter())
    t = g.linear_s8(x, w.wt, w.bt, rq_t, Layout.HEAD_MAJOR, heads)
    vt = g.linear_s8(x, w.wv, w.bv, rq_v, Layout.HEAD_MAJOR_T, heads)
    rq_sm = calibrated_softmax(qk_scores(t, x[np.newaxis]), jitter())
    a = g.qk_softmax_s8(t, x[np.newaxis], rq_sm)
    rq_av = calibrated(av_acc(a, vt), jitter=jitter())
    o = g.av_s8(a, vt, rq_av)
    rq_o = calibrated(linear_acc(o, w.wo, w.bo), jitter=jitter())
    return g.FwsaQuant(rq_t, rq_v, rq_sm, rq_av, rq_o)


def av_acc(a: np.ndarray, vt: np.ndarray) -> np.ndarray:
    return a.astype(np.int64) @ vt.astype(np.int64).transpose(0, 2, 1)


def random_bias(rng: np.random.Generator, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Biases of the size trained layers have: a fraction of the accumulator spread."""
    spread = float(np.std(linear_acc(x, w, None)))
    return np.rint(rng.normal(0.0, 0.25 * spread + 1.0, w.shape[0])).astype(np.int32)


def make_mhsa(shape: MhsaShape, seed: int) -> MhsaWorkload:
    rng = np.random.default_rng(seed)
    s, e, h, p = shape.seq_len, shape.embed_dim, shape.heads, shape.head_dim
    x = _int8_normal(rng, (s, e), ACT_STD)
    wq, wk, wv = (_int8_normal(rng, (h * p, e), 30.0) for _ in range(3))
    wo = _int8_normal(rng, (e, h * p), 30.0)
    o_like = _int8_normal(rng, (s, h * p), ACT_STD)
    weights = g.MhsaWeights(
        wq, random_bias(rng, x, wq), wk, random_bias(rng, x, wk),
        wv, random_bias(rng, x, wv), wo, random_bias(rng, o_like, wo),
    )  # fmt: skip
    return MhsaWorkload(shape, x, weights, calibrate_mhsa(x, h, weights))
