"""Integer GELU (I-BERT i-GELU) on int8 activations.

``GELU(x) = x / 2 * (1 + erf(x / sqrt 2))`` with
``erf(t) ~ sgn(t) * (1 - A * (min(|t|, C) - C)**2)``, ``A = 0.2888``, ``C = 1.769``.
For ``x`` of scale ``S`` and ``St = S / sqrt 2``::

    q_clip = floor(C / St)            q_one = floor(1 / (A * St**2))
    c      = min(|x|, q_clip) - q_clip
    erf    = sgn(x) * (q_one - c * c)              scale A * St**2
    g      = x * (erf + q_one)                     ~ 2 * q_one * GELU(x) / S
    y      = requantize(g)                         factor S / (2 * q_one) / S_y

``q_one`` is floored, so ``q_one * A * St**2`` is only close to 1 (0.87 at S = 1);
normalizing by the actual ``q_one`` keeps ``GELU(x) = x`` exact for large ``x``.

Parameter limits keep every step in int32: ``1 <= q_clip``, ``q_clip**2 <= q_one < 2**22``.

Zero points: ``x`` above is ``q - z_in`` (``input_zero_point``, so ``|x| <= 255``) and
the requantization adds the output zero point (``rq.zero_point``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tinytx.core.golden.limits import kernel_limits
from tinytx.core.golden.quant import Requant, quantize_multiplier, requantize

ERF_A = 0.2888
ERF_CLIP = 1.769


@dataclass(frozen=True)
class GeluParams:
    q_clip: int
    q_one: int
    rq: Requant
    input_zero_point: int = 0

    def __post_init__(self) -> None:
        check_gelu(self.q_clip, self.q_one)
        if not -128 <= self.input_zero_point <= 127:
            raise ValueError(f"input_zero_point: {self.input_zero_point} outside [-128, 127]")


def check_gelu(q_clip: int, q_one: int) -> None:
    if not 1 <= q_one < kernel_limits().gelu_q_one_limit:
        raise ValueError(f"q_one: {q_one} outside [1, 2**22): input scale too small or too large")
    if not 1 <= q_clip or q_clip * q_clip > q_one:
        raise ValueError(f"q_clip: {q_clip} must be >= 1 with q_clip**2 <= q_one ({q_one})")


def gelu_params(s_x: float, s_y: float, z_x: int = 0, z_y: int = 0) -> GeluParams:
    if not (s_x > 0 and math.isfinite(s_x)):
        raise ValueError(f"s_x: must be a positive finite scale, got {s_x!r}")
    st = s_x / math.sqrt(2.0)
    q_clip = max(1, math.floor(ERF_CLIP / st))
    q_one = math.floor(1.0 / (ERF_A * st * st))
    check_gelu(q_clip, q_one)
    m, s = quantize_multiplier(s_x / (2.0 * q_one) / s_y, "gelu output scale")
    return GeluParams(q_clip, q_one, Requant(m, s, zero_point=z_y), z_x)


def gelu_s8(x: np.ndarray, p: GeluParams) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype != np.int8:
        raise ValueError(f"x: expected dtype int8, got {x.dtype}")
    if x.size == 0:
        raise ValueError("x: empty input")
    xi = x.astype(np.int64) - p.input_zero_point
    c = np.minimum(np.abs(xi), p.q_clip) - p.q_clip
    erf = np.sign(xi) * (p.q_one - c * c)
    return requantize(xi * (erf + p.q_one), p.rq)


def gelu_float(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    erf = np.vectorize(math.erf)(x / math.sqrt(2.0))
    return 0.5 * x * (1.0 + erf)
