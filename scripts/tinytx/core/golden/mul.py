"""Requantized element-wise product of two int8 tensors of the same shape: TFLite's
integer reference MUL, bit for bit::

    acc = (a - z_a) * (b - z_b)                          (|acc| <= 2**16)
    y   = clamp(z_y + MultiplyByQuantizedMultiplier(acc, multiplier, shift), act)

``multiplier / 2**31 * 2**shift`` is ``s_a * s_b / s_y`` (``multiplier`` in
``[2**30, 2**31)``, ``shift`` TFLite's exponent: a left shift when positive, at most
:data:`MUL_LEFT_SHIFT_MAX`; a right shift when negative, at least ``-31``), and
MultiplyByQuantizedMultiplier is gemmlowp's two roundings::

    x = acc * 2**max(shift, 0)
    h = (x * multiplier + (2**30 if x * multiplier >= 0 else 1 - 2**30)) / 2**31
        (division truncating toward zero: SaturatingRoundingDoublingHighMul)
    r = h >> -min(shift, 0), rounded half away from zero (RoundingDivideByPOT)

The limits are the C header's (``TINYTX_MUL_LEFT_SHIFT_MAX``); a single round-half-up
shift of ``acc * multiplier`` would differ from this by one LSB on about 1 % of codes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tinytx.core.golden.limits import kernel_limits
from tinytx.core.golden.quant import INT8_MAX, INT8_MIN


@dataclass(frozen=True)
class MulParams:
    multiplier: int
    shift: int
    zero_point: int = 0
    act_min: int = INT8_MIN
    act_max: int = INT8_MAX
    a_zero_point: int = 0
    b_zero_point: int = 0

    def __post_init__(self) -> None:
        if not (1 << 30) <= self.multiplier < (1 << 31):
            raise ValueError(f"multiplier: {self.multiplier} outside [2**30, 2**31)")
        top = kernel_limits().mul_left_shift_max
        if not -31 <= self.shift <= top:
            raise ValueError(f"shift: {self.shift} outside [-31, {top}]")
        for name in ("zero_point", "a_zero_point", "b_zero_point"):
            z = getattr(self, name)
            if not INT8_MIN <= z <= INT8_MAX:
                raise ValueError(f"{name}: {z} outside [-128, 127]")
        if not INT8_MIN <= self.act_min <= self.act_max <= INT8_MAX:
            raise ValueError(f"act_min/act_max: {self.act_min}, {self.act_max} not a valid range")


def mul_params(
    s_a: float, s_b: float, s_y: float, z_a: int, z_b: int, z_y: int, lo: int, hi: int
) -> MulParams:
    """TFLite's QuantizeMultiplier of ``s_a * s_b / s_y`` (ValueError when unrepresentable)."""
    real = s_a * s_b / s_y
    if not (real > 0 and math.isfinite(real)):
        raise ValueError(f"s_a * s_b / s_y: {real!r} is not a positive finite factor")
    mant, exp = math.frexp(real)
    m = round(mant * (1 << 31))
    if m == 1 << 31:
        m, exp = m // 2, exp + 1
    if exp < -31:
        raise ValueError(f"s_a * s_b / s_y: {real!r} is below 2**-32")
    return MulParams(m, exp, z_y, lo, hi, z_a, z_b)


def multiply_by_quantized_multiplier(x: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """gemmlowp's SaturatingRoundingDoublingHighMul then RoundingDivideByPOT (int64)."""
    x = np.asarray(x, np.int64) << np.int64(max(shift, 0))
    ab = x * np.int64(multiplier)
    s = ab + np.where(ab >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    h = np.where(s >= 0, s >> np.int64(31), -((-s) >> np.int64(31)))  # truncating division
    e = max(-shift, 0)
    if e == 0:
        return h
    mask = np.int64((1 << e) - 1)
    threshold = (mask >> np.int64(1)) + (h < 0)
    return (h >> np.int64(e)) + ((h & mask) > threshold)


def mul_s8(a: np.ndarray, b: np.ndarray, p: MulParams) -> np.ndarray:
    a, b = np.asarray(a), np.asarray(b)
    for name, t in (("a", a), ("b", b)):
        if t.dtype != np.int8:
            raise ValueError(f"{name}: expected dtype int8, got {t.dtype}")
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"b: shape {b.shape} must equal a's {a.shape} and be non-empty")
    acc = (a.astype(np.int64) - p.a_zero_point) * (b.astype(np.int64) - p.b_zero_point)
    y = multiply_by_quantized_multiplier(acc, p.multiplier, p.shift) + p.zero_point
    return np.clip(y, p.act_min, p.act_max).astype(np.int8)
