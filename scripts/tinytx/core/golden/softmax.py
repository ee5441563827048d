"""QK^T fused with an integer softmax (I-BERT style i-exp), uint8 probabilities.

Per head ``h`` and query row ``i`` (keys ``j`` over ``S_kv``)::

    score[j] = sum_p q[h, i, p] * k[h, j, p]                       (int32)
    x[j]     = (score[j] - max_j score) * m + 2**(s-1) >> s        (<= 0, Q10 logits)
    e[j]     = i_exp(x[j])                                         (<= EXP_ONE)
    sum      = sum_j e[j]                                          (uint32)
    a[h,i,j] = min(255, (e[j] * 256 + sum // 2) // sum)            (uint8, scale 1/256)

``m / 2**s`` converts the raw score to Q10 logits: ``s_q * s_k / sqrt(P) * 2**10``.

``i_exp`` (Kim et al., I-BERT, 2021) with the logit scale fixed at 2**-10::

    z  = (-x) // LN2_Q                  x = -z * ln2 + r, r in (-ln2, 0]
    r  = x + z * LN2_Q
    e  = ((r + EXP_B_Q)**2 + EXP_C_Q) >> z      (0 when z > 30)

approximating ``exp(r) ~ 0.3585 * (r + 1.353)**2 + 0.344``; ``e`` has scale
``0.3585 * 2**-20``. Keys may be shared by all heads (FWSA): pass ``k`` with one head.
"""

from __future__ import annotations

import numpy as np

from tinytx.core.golden.limits import kernel_limits
from tinytx.core.golden.quant import INT32_MAX, Requant, as_int8, quantize_multiplier, round_shift

LOGIT_FRAC_BITS = 10
LN2_Q = 710  # round(ln 2 * 2**10): the rounded step drifts 3.5x less than floor (709)
EXP_B_Q = 1385  # floor(1.353 * 2**10)
EXP_C_Q = 1006164  # floor(0.344 / 0.3585 * 2**20)
EXP_SCALE = 0.3585 / float(1 << 20)
EXP_Z_MAX = 30
LOGIT_MIN = -(EXP_Z_MAX + 1) * LN2_Q  # below this i_exp is 0; kernels clamp here
PROB_ONE = 256


def i_exp(x: np.ndarray) -> np.ndarray:
    """Integer exp of Q10 logits ``x <= 0``; returns int64 values of scale EXP_SCALE."""
    x = np.maximum(np.asarray(x, dtype=np.int64), LOGIT_MIN)
    if x.size and x.max() > 0:
        raise ValueError("i_exp: logits must be <= 0")
    z = (-x) // LN2_Q
    r = x + z * LN2_Q
    t = r + EXP_B_Q
    zc = np.minimum(z, EXP_Z_MAX)
    e = (t * t + EXP_C_Q) >> zc
    return np.where(z > EXP_Z_MAX, 0, e)


def softmax_rows(scores: np.ndarray, rq: Requant) -> np.ndarray:
    """Integer softmax along the last axis of int32 scores -> uint8 probabilities."""
    scores = np.asarray(scores, dtype=np.int64)
    if scores.size and np.abs(scores).max() > INT32_MAX:
        raise ValueError("scores: outside int32 (head dimension too large?)")
    top = kernel_limits().softmax_max_kv  # keeps the uint32 row sum exact
    if scores.shape[-1] > top:
        raise ValueError(f"k: {scores.shape[-1]} keys exceed the softmax limit {top}")
    diff = scores - scores.max(axis=-1, keepdims=True)
    x = np.maximum(round_shift(diff * np.int64(rq.multiplier), rq.shift), LOGIT_MIN)
    e = i_exp(x)
    total = e.sum(axis=-1, keepdims=True)
    p = (e * PROB_ONE + total // 2) // total
    return np.minimum(p, 255).astype(np.uint8)


def qk_scores(q: np.ndarray, k: np.ndarray) -> np.ndarray:
    """int64 scores ``[H][S_q][S_kv]``; ``k`` has ``H`` heads or one shared head."""
    q = as_int8(q, "q", 3)
    k = as_int8(k, "k", 3)
    if k.shape[0] not in (1, q.shape[0]):
        raise ValueError(f"k: has {k.shape[0]} heads, q has {q.shape[0]} (expected equal or 1)")
    if k.shape[2] != q.shape[2]:
        raise ValueError(f"k: head dimension {k.shape[2]} differs from q's {q.shape[2]}")
    top = kernel_limits().max_reduction
    if q.shape[2] > top:
        raise ValueError(f"q: head dimension {q.shape[2]} exceeds the limit {top}")
    return q.astype(np.int64) @ k.astype(np.int64).transpose(0, 2, 1)


def qk_softmax_s8(q: np.ndarray, k: np.ndarray, rq: Requant) -> np.ndarray:
    """Attention probabilities ``[H][S_q][S_kv]`` (uint8, scale 1/256)."""
    return softmax_rows(qk_scores(q, k), rq)


def softmax_requant(score_scale: float) -> Requant:
    """Multiplier taking raw int32 scores of real scale ``score_scale`` to Q10 logits."""
    m, s = quantize_multiplier(score_scale * (1 << LOGIT_FRAC_BITS), "softmax score scale")
    return Requant(m, s)


def softmax_float(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, np.float64)
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)
