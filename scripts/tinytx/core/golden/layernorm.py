"""Integer LayerNorm over the last axis (E features of each token).

No rounded mean: every step works on ``E * x - sum``, so rows whose spread is
about one LSB are normalized as well as wide ones. For one token ``x[0..E)``
(int8, scale ``s_x``)::

    sum   = sum_e x[e]                     sq = sum_e x[e]**2          (int32)
    V     = E * sq - sum**2                                             (int64, >= 0)
    var   = (V * 2**16) // E**2             variance in LSB**2, Q16
    std   = max(1, isqrt(min(var + eps_q16, 2**32 - 1)))               Q8
    den   = E * std                         b = bit_length(den) - 1
    m     = (2**(31 + b) - 1) // den        in [2**30, 2**31)
    s     = 16 + b                          m / 2**s ~ 2**15 / den
    n[e]  = ((E * x[e] - sum) * m + 2**(s-1)) >> s                      normalized, Q7
    acc   = clamp_int32(n[e] * gamma[e] + beta[e])
    y[e]  = requantize(acc)

``n = (E x - sum) / (E std_q8 / 256) * 2**7``. ``gamma`` is int8 with scale ``s_g``,
``beta`` int32 with scale ``s_g / 128``, the requantization factor is
``s_g / 128 / s_y`` and ``eps_q16 = round(eps / s_x**2 * 2**16)``. The per-row
division and the 64-bit steps happen once per row; per element it is one
multiply-shift, like a requantization.

Zero points: an input offset ``x + z`` changes ``sum`` by ``E z`` and nothing else
(``E (x + z) - (sum + E z) = E x - sum``, ``V`` likewise), so the input zero point
needs no parameter at all, bit for bit. The output zero point is ``rq.zero_point``.
"""

from __future__ import annotations

import math

import numpy as np

from tinytx.core.golden.limits import kernel_limits
from tinytx.core.golden.quant import (
    INT32_MAX,
    INT32_MIN,
    Requant,
    as_int8,
    as_int32,
    quantize_multiplier,
    requantize,
)

NORM_FRAC_BITS = 7
VAR_FRAC_BITS = 16
UINT32_MAX = (1 << 32) - 1


def _isqrt(v: np.ndarray) -> np.ndarray:
    return np.array([math.isqrt(int(a)) for a in v.ravel()], dtype=np.int64).reshape(v.shape)


def row_normalizer(den: int) -> tuple[int, int]:
    """``(m, s)`` with ``m / 2**s ~ 2**15 / den``, ``m`` in ``[2**30, 2**31)`` (integer only)."""
    b = den.bit_length() - 1
    return ((1 << (31 + b)) - 1) // den, 16 + b


def layernorm_s8(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps_q16: int, rq: Requant
) -> np.ndarray:
    x = as_int8(x, "x", 2)
    e = x.shape[1]
    top = kernel_limits().layernorm_max_features
    if e > top:
        raise ValueError(f"x: {e} features exceed the LayerNorm limit {top}")
    gamma = as_int8(gamma, "gamma", 1)
    if gamma.shape != (e,):
        raise ValueError(f"gamma: expected shape ({e},), got {gamma.shape}")
    beta = as_int32(beta, "beta", (e,), 1 << 31)
    if not 0 <= int(eps_q16) <= INT32_MAX:
        raise ValueError(f"eps_q16: {eps_q16} outside [0, 2**31 - 1]")
    xi = x.astype(np.int64)
    total = xi.sum(axis=1)
    v = e * (xi * xi).sum(axis=1) - total * total
    var = (v << VAR_FRAC_BITS) // (e * e)
    std = np.maximum(_isqrt(np.minimum(var + int(eps_q16), UINT32_MAX)), 1)
    ms = [row_normalizer(e * int(sd)) for sd in std]
    m = np.array([a for a, _ in ms], np.int64)[:, np.newaxis]
    sh = np.array([b for _, b in ms], np.int64)[:, np.newaxis]
    d = e * xi - total[:, np.newaxis]
    n = (d * m + (np.int64(1) << (sh - 1))) >> sh
    acc = np.clip(n * gamma.astype(np.int64) + beta.astype(np.int64), INT32_MIN, INT32_MAX)
    return requantize(acc, rq)


def layernorm_params(
    s_x: float, s_gamma: float, s_y: float, eps: float, z_y: int = 0
) -> tuple[int, Requant]:
    """``(eps_q16, requant)`` for input scale ``s_x``, gamma scale ``s_gamma``, output ``s_y``."""
    if not (s_x > 0 and math.isfinite(s_x)):
        raise ValueError(f"s_x: must be a positive finite scale, got {s_x!r}")
    if not (eps >= 0 and math.isfinite(eps)):
        raise ValueError(f"eps: must be a finite number >= 0, got {eps!r}")
    eps_q16 = min(round(eps / (s_x * s_x) * (1 << VAR_FRAC_BITS)), INT32_MAX)
    m, s = quantize_multiplier(s_gamma / (1 << NORM_FRAC_BITS) / s_y, "layernorm output scale")
    return eps_q16, Requant(m, s, zero_point=z_y)


def layernorm_float(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    x = np.asarray(x, np.float64)
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * gamma + beta
