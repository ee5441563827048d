"""Requantized residual add of two int8 tensors of the same shape.

``y = clamp(((a * m_a + b * m_b + offset + 2**(s-1)) >> s) + z_y, act_min, act_max)``
with ``m_a / 2**s = s_a / s_y`` and ``m_b / 2**s = s_b / s_y``. ``0 <= m_a, m_b <= 2**22``
keeps ``a * m_a + b * m_b`` inside int32 (|.| <= 2**30), ``1 <= s <= 31``.

Zero points: ``offset = -(z_a * m_a + z_b * m_b)`` folds both input zero points
(``(a - z_a) m_a + (b - z_b) m_b``), ``z_y`` (``zero_point``) is the output's. A
nonzero offset requires ``128 (m_a + m_b) + |offset| + 2**(s-1) <= 2**31 - 1`` so
that the whole sum stays inside int32 (:func:`add_params` picks the shift for it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tinytx.core.golden.limits import kernel_limits
from tinytx.core.golden.quant import INT8_MAX, INT8_MIN, round_shift


@dataclass(frozen=True)
class AddParams:
    m_a: int
    m_b: int
    shift: int
    act_min: int = INT8_MIN
    act_max: int = INT8_MAX
    offset: int = 0
    zero_point: int = 0

    def __post_init__(self) -> None:
        for name, m in (("m_a", self.m_a), ("m_b", self.m_b)):
            if not 0 <= m <= kernel_limits().add_multiplier_max:
                raise ValueError(f"{name}: {m} outside [0, 2**22]")
        top = kernel_limits().add_shift_max
        if not 1 <= self.shift <= top:
            raise ValueError(f"shift: {self.shift} outside [1, {top}]")
        if not INT8_MIN <= self.act_min <= self.act_max <= INT8_MAX:
            raise ValueError(f"act_min/act_max: {self.act_min}, {self.act_max} not a valid range")
        if not INT8_MIN <= self.zero_point <= INT8_MAX:
            raise ValueError(f"zero_point: {self.zero_point} outside [-128, 127]")
        if self.offset and not offset_fits(self.m_a, self.m_b, self.shift, self.offset):
            raise ValueError(
                f"offset: {self.offset} with m_a={self.m_a}, m_b={self.m_b}, shift={self.shift} "
                "would overflow int32"
            )


def offset_fits(m_a: int, m_b: int, shift: int, offset: int) -> bool:
    return 128 * (m_a + m_b) + abs(offset) + (1 << (shift - 1)) <= (1 << 31) - 1


def add_params(
    s_a: float, s_b: float, s_y: float, z_a: int = 0, z_b: int = 0, z_y: int = 0
) -> AddParams:
    """Factors for scales ``s_a, s_b -> s_y`` and zero points ``z_a, z_b -> z_y``."""
    for name, v in (("s_a", s_a), ("s_b", s_b), ("s_y", s_y)):
        if not (v > 0 and math.isfinite(v)):
            raise ValueError(f"{name}: must be a positive finite scale, got {v!r}")
    big = max(s_a, s_b) / s_y
    # Largest shift that keeps the bigger multiplier <= 2**22.
    lim = kernel_limits()
    shift = min(lim.add_shift_max, math.floor(math.log2(lim.add_multiplier_max / big)))
    if shift < 1:
        raise ValueError(f"s_y: output scale {s_y!r} is too small for inputs {s_a!r}, {s_b!r}")
    while True:
        m_a, m_b = round(s_a / s_y * (1 << shift)), round(s_b / s_y * (1 << shift))
        offset = -(z_a * m_a + z_b * m_b)
        if shift == 1 or not offset or offset_fits(m_a, m_b, shift, offset):
            break
        shift -= 1
    for name, m in (("s_a", m_a), ("s_b", m_b)):
        if m == 0:
            raise ValueError(
                f"{name}: input scale is below 2**-22 of the other input's relative to s_y; "
                "its contribution would be dropped"
            )
    return AddParams(m_a, m_b, shift, offset=offset, zero_point=z_y)


def add_s8(a: np.ndarray, b: np.ndarray, p: AddParams) -> np.ndarray:
    a = np.asarray(a)
    b = np.asarray(b)
    for name, t in (("a", a), ("b", b)):
        if t.dtype != np.int8:
            raise ValueError(f"{name}: expected dtype int8, got {t.dtype}")
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"b: shape {b.shape} must equal a's {a.shape} and be non-empty")
    acc = a.astype(np.int64) * p.m_a + b.astype(np.int64) * p.m_b + p.offset
    y = round_shift(acc, p.shift) + p.zero_point
    return np.clip(y, p.act_min, p.act_max).astype(np.int8)
