"""A*V, multi-head self-attention (MHSA) and fused-weight self-attention (FWSA).

A*V: ``out[i, h*P + p] = requantize(sum_j a[h, i, j] * vt[h, p, j])`` with ``a`` the
uint8 probabilities and ``vt`` the head-major transposed values ``[H][P][S]``; the
output is already the head concatenation ``[S][H*P]``.

MHSA (layer-wise schedule)::

    Q  = linear(X, Wq, bq) -> [H][S][P]     K = linear(X, Wk, bk) -> [H][S][P]
    Vt = linear(X, Wv, bv) -> [H][P][S]     A = qk_softmax(Q, K)  -> [H][S][S]
    O  = av(A, Vt)         -> [S][H*P]      Y = linear(O, Wo, bo) -> [S][E]

FWSA replaces Q and K by one fused matrix per head, ``W_h = Wq_h^T Wk_h`` (E x E, with
``Wq_h``, ``Wk_h`` the ``[P][E]`` row blocks of the stored ``[out][in]`` weights, so
``q_i . k_j = x_i W_h x_j``)::

    T  = linear(X, Wt, bt) -> [H][S][E]     A = qk_softmax(T, X)   (keys are X itself)

with ``Wt[h*E + f, e] = W_h[e, f]``. Since ``q_i . k_j = x_i W_h x_j + x_j . (Wk_h^T bq_h)
+ (terms constant along j)``, and softmax ignores row constants, the fused bias is
``bt_h = Wk_h^T bq_h``; the key bias ``bk`` drops out. As in MHSA, the ``1/sqrt(P)`` of
the scores is part of the softmax factor in the integer path; ``fwsa_float`` takes
the fused matrix with ``1/sqrt(P)`` folded in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinytx.core.golden.linear import Layout, linear_float, linear_s8
from tinytx.core.golden.quant import AnyRequant, Requant, as_int8, requantize
from tinytx.core.golden.softmax import PROB_ONE, qk_softmax_s8, softmax_float


def av_s8(a: np.ndarray, vt: np.ndarray, rq: Requant) -> np.ndarray:
    """``[H][S_q][S_kv]`` uint8 x ``[H][P][S_kv]`` int8 -> ``[S_q][H*P]`` int8."""
    a = np.asarray(a)
    if a.dtype != np.uint8 or a.ndim != 3:
        raise ValueError(f"a: expected a 3-D uint8 array, got {a.dtype} {a.shape}")
    vt = as_int8(vt, "vt", 3)
    if vt.shape[0] != a.shape[0] or vt.shape[2] != a.shape[2]:
        raise ValueError(f"vt: shape {vt.shape} does not match a {a.shape} ([H][P][S_kv])")
    acc = a.astype(np.int64) @ vt.astype(np.int64).transpose(0, 2, 1)  # [H][S_q][P]
    h, s_q, p = acc.shape
    return requantize(acc.transpose(1, 0, 2).reshape(s_q, h * p), rq)


@dataclass(frozen=True)
class MhsaWeights:
    """Weights in linear-layer order (``[out][in]``); ``N = H * P``."""

    wq: np.ndarray  # [N][E]
    bq: np.ndarray  # [N] int32
    wk: np.ndarray
    bk: np.ndarray
    wv: np.ndarray
    bv: np.ndarray
    wo: np.ndarray  # [E][N]
    bo: np.ndarray  # [E]


def _symmetric(qp: object, names: tuple[str, ...]) -> None:
    for n in names:
        if getattr(qp, n).zero_point != 0:
            raise ValueError(
                f"{n}: internal attention tensors are symmetric (zero point 0); only 'out' "
                "may have a zero point"
            )


@dataclass(frozen=True)
class MhsaQuant:
    """The block's factors. Internal tensors (q, k, v, probabilities, head concat) are
    symmetric; ``out`` may carry the output zero point. An input zero point is folded
    into ``bq``, ``bk``, ``bv`` (``linear.fold_bias``). The projections ``q``, ``k``,
    ``v`` and ``out`` may have per-channel factors (``ChannelRequant``, per-channel
    weight scales): one per projection row (``H*P``, or ``E`` for ``out``)."""

    q: AnyRequant
    k: AnyRequant
    v: AnyRequant
    softmax: Requant
    av: Requant
    out: AnyRequant

    def __post_init__(self) -> None:
        _symmetric(self, ("q", "k", "v", "softmax", "av"))


def mhsa_trace(x: np.ndarray, heads: int, w: MhsaWeights, qp: MhsaQuant) -> dict[str, np.ndarray]:
    """Every intermediate tensor of the layer-wise MHSA, in kernel layouts."""
    q = linear_s8(x, w.wq, w.bq, qp.q, Layout.HEAD_MAJOR, heads)
    k = linear_s8(x, w.wk, w.bk, qp.k, Layout.HEAD_MAJOR, heads)
    vt = linear_s8(x, w.wv, w.bv, qp.v, Layout.HEAD_MAJOR_T, heads)
    a = qk_softmax_s8(q, k, qp.softmax)
    o = av_s8(a, vt, qp.av)
    y = linear_s8(o, w.wo, w.bo, qp.out)
    return {"q": q, "k": k, "vt": vt, "a": a, "o": o, "y": y}


def mhsa_s8(x: np.ndarray, heads: int, w: MhsaWeights, qp: MhsaQuant) -> np.ndarray:
    """int8 MHSA block ``[S][E] -> [S][E]``."""
    return mhsa_trace(x, heads, w, qp)["y"]


@dataclass(frozen=True)
class FwsaWeights:
    wt: np.ndarray  # [H*E][E] fused query-key weights
    bt: np.ndarray  # [H*E] int32
    wv: np.ndarray  # [H*P][E]
    bv: np.ndarray
    wo: np.ndarray  # [E][H*P]
    bo: np.ndarray


@dataclass(frozen=True)
class FwsaQuant:
    t: Requant
    v: Requant
    softmax: Requant
    av: Requant
    out: Requant

    def __post_init__(self) -> None:
        _symmetric(self, ("t", "v", "softmax", "av"))


def fwsa_trace(x: np.ndarray, heads: int, w: FwsaWeights, qp: FwsaQuant) -> dict[str, np.ndarray]:
    x = as_int8(x, "x", 2)
    t = linear_s8(x, w.wt, w.bt, qp.t, Layout.HEAD_MAJOR, heads)
    if t.shape[2] != x.shape[1]:
        raise ValueError(f"wt: must have H*E = {heads * x.shape[1]} rows, got {w.wt.shape[0]}")
    vt = linear_s8(x, w.wv, w.bv, qp.v, Layout.HEAD_MAJOR_T, heads)
    a = qk_softmax_s8(t, x[np.newaxis], qp.softmax)
    o = av_s8(a, vt, qp.av)
    y = linear_s8(o, w.wo, w.bo, qp.out)
    return {"t": t, "vt": vt, "a": a, "o": o, "y": y}


def fwsa_s8(x: np.ndarray, heads: int, w: FwsaWeights, qp: FwsaQuant) -> np.ndarray:
    """int8 FWSA block ``[S][E] -> [S][E]``."""
    return fwsa_trace(x, heads, w, qp)["y"]


def mhsa_float(
    x: np.ndarray,
    heads: int,
    wq: np.ndarray,
    bq: np.ndarray,
    wk: np.ndarray,
    bk: np.ndarray,
    wv: np.ndarray,
    bv: np.ndarray,
    wo: np.ndarray,
    bo: np.ndarray,
) -> np.ndarray:
    """Float MHSA on real-valued tensors (the reference the integer block approximates)."""
    s = x.shape[0]
    q = linear_float(x, wq, bq).reshape(s, heads, -1).transpose(1, 0, 2)
    k = linear_float(x, wk, bk).reshape(s, heads, -1).transpose(1, 0, 2)
    v = linear_float(x, wv, bv).reshape(s, heads, -1).transpose(1, 0, 2)
    a = softmax_float(q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[2]))
    o = (a @ v).transpose(1, 0, 2).reshape(s, -1)
    return linear_float(o, wo, bo)


def fwsa_float(
    x: np.ndarray,
    heads: int,
    w_fused: np.ndarray,
    b_fused: np.ndarray,
    wv: np.ndarray,
    bv: np.ndarray,
    wo: np.ndarray,
    bo: np.ndarray,
) -> np.ndarray:
    """Float FWSA: ``w_fused[h]`` is ``W_h = Wq_h Wk_h^T / sqrt(P)`` (E x E), ``b_fused[h]``
    its key bias ``Wk_h bq_h / sqrt(P)``."""
    s = x.shape[0]
    t = np.einsum("se,hef->hsf", x, w_fused) + b_fused[:, np.newaxis, :]
    a = softmax_float(t @ x.T)
    v = linear_float(x, wv, bv).reshape(s, heads, -1).transpose(1, 0, 2)
    o = (a @ v).transpose(1, 0, 2).reshape(s, -1)
    return linear_float(o, wo, bo)


def av_float(a: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Float A*V: ``a`` ``[H][S][S]`` probabilities, ``v`` ``[H][S][P]`` -> ``[S][H*P]``."""
    o = np.asarray(a, np.float64) @ np.asarray(v, np.float64)
    return o.transpose(1, 0, 2).reshape(o.shape[1], -1)


AV_PROB_SCALE = 1.0 / PROB_ONE
