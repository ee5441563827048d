"""Requantized element-wise product of two int8 tensors of the same shape (TFLite's
integer reference MUL)::

    y = clamp(requantize((a - z_a) * (b - z_b), rq))

``rq`` (:class:`~tinytx.core.golden.quant.Requant`) holds ``s_a * s_b / s_y`` as
``multiplier / 2**shift`` with round-half-up, the output zero point and the clamp; the
product is at most ``256 * 256`` in magnitude, so it and the scaled value fit int64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinytx.core.golden.quant import INT8_MAX, INT8_MIN, Requant, requantize


@dataclass(frozen=True)
class MulParams:
    rq: Requant
    a_zero_point: int = 0
    b_zero_point: int = 0

    def __post_init__(self) -> None:
        for name, z in (("a_zero_point", self.a_zero_point), ("b_zero_point", self.b_zero_point)):
            if not INT8_MIN <= z <= INT8_MAX:
                raise ValueError(f"{name}: {z} outside [-128, 127]")


def mul_params(
    s_a: float, s_b: float, s_y: float, z_a: int, z_b: int, z_y: int, lo: int, hi: int
) -> MulParams:
    """Parameters for scales ``s_a * s_b -> s_y`` (raises ValueError when unrepresentable)."""
    real = s_a * s_b / s_y
    rq = Requant.from_scale(real, "s_a * s_b / s_y", act_min=lo, act_max=hi, zero_point=z_y)
    return MulParams(rq, z_a, z_b)


def mul_s8(a: np.ndarray, b: np.ndarray, p: MulParams) -> np.ndarray:
    a, b = np.asarray(a), np.asarray(b)
    for name, t in (("a", a), ("b", b)):
        if t.dtype != np.int8:
            raise ValueError(f"{name}: expected dtype int8, got {t.dtype}")
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"b: shape {b.shape} must equal a's {a.shape} and be non-empty")
    acc = (a.astype(np.int64) - p.a_zero_point) * (b.astype(np.int64) - p.b_zero_point)
    return requantize(acc, p.rq)
