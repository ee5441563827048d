"""Requantization: the one rounding rule every integer kernel shares.

An int32 accumulator ``acc`` is brought to int8 by an integer multiplier ``m`` and a
right shift ``s`` (the pair stands for the real factor ``m / 2**s``)::

    requantize(acc, m, s) = clamp(((acc * m + 2**(s - 1)) >> s) + z, act_min, act_max)

``z`` is the output zero point (int8 domain, ``[-128, 127]``; 0 for symmetric
tensors): the real value of an int8 code ``q`` is ``scale * (q - z)``. A fused ReLU
is ``act_min = z``. A uint8 tensor (onnxruntime's default activation type) is the
int8 tensor with zero point ``z_u8 - 128``: its codes are ``u8 - 128``.

Per-channel factors (:class:`ChannelRequant`) give each output channel (the last
axis of the accumulators) its own ``(m, s)``; zero point and clamp are shared.
``acc * m`` is an exact 64-bit product (``|acc| < 2**31``, ``0 <= m < 2**31``), the
``>>`` is an arithmetic shift (floor), so the rounding is half-up (towards +inf).
One rounding only, unlike the double rounding of gemmlowp/CMSIS-NN.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from tinytx.core.golden.limits import kernel_limits

INT8_MIN = -128
INT8_MAX = 127
INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1
MULTIPLIER_MAX = (1 << 31) - 1
SHIFT_MIN = 1


@dataclass(frozen=True)
class Requant:
    """Integer factor ``multiplier / 2**shift`` and output clamp range."""

    multiplier: int
    shift: int
    act_min: int = INT8_MIN
    act_max: int = INT8_MAX
    zero_point: int = 0

    def __post_init__(self) -> None:
        check_multiplier(self.multiplier, self.shift, "requant")
        check_clamp(self.act_min, self.act_max, self.zero_point, "requant")

    @classmethod
    def from_scale(cls, real: float, name: str = "scale", **clamp: int) -> Requant:
        m, s = quantize_multiplier(real, name)
        return cls(m, s, **clamp)

    @property
    def real(self) -> float:
        return self.multiplier / float(1 << self.shift)


@dataclass(frozen=True)
class ChannelRequant:
    """Per-output-channel factors ``multipliers[c] / 2**shifts[c]`` (tuples, one entry per
    channel of the accumulators' last axis), one zero point and one clamp."""

    multipliers: tuple[int, ...]
    shifts: tuple[int, ...]
    act_min: int = INT8_MIN
    act_max: int = INT8_MAX
    zero_point: int = 0

    def __post_init__(self) -> None:
        if len(self.multipliers) != len(self.shifts) or not self.multipliers:
            raise ValueError(
                f"requant: {len(self.multipliers)} multipliers and {len(self.shifts)} shifts "
                "must be the same non-zero count"
            )
        for c, (m, s) in enumerate(zip(self.multipliers, self.shifts, strict=True)):
            check_multiplier(m, s, f"requant channel {c}")
        check_clamp(self.act_min, self.act_max, self.zero_point, "requant")

    @classmethod
    def from_scales(
        cls, reals: np.ndarray | list[float], name: str = "scale", **clamp: int
    ) -> ChannelRequant:
        pairs = [quantize_multiplier(float(r), f"{name}[{c}]") for c, r in enumerate(reals)]
        return cls(tuple(m for m, _ in pairs), tuple(s for _, s in pairs), **clamp)

    @property
    def channels(self) -> int:
        return len(self.multipliers)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(multipliers, shifts)`` as int32 arrays (what the C kernels read)."""
        return np.array(self.multipliers, np.int32), np.array(self.shifts, np.int32)


AnyRequant = Requant | ChannelRequant


def channel_rows(rq: AnyRequant, rows: slice) -> AnyRequant:
    """The factors of output channels ``rows`` (per-tensor factors are shared)."""
    if isinstance(rq, Requant):
        return rq
    return ChannelRequant(
        rq.multipliers[rows], rq.shifts[rows], rq.act_min, rq.act_max, rq.zero_point
    )


def check_clamp(act_min: int, act_max: int, zero_point: int, name: str) -> None:
    if not INT8_MIN <= act_min <= act_max <= INT8_MAX:
        raise ValueError(
            f"{name}: act_min={act_min}, act_max={act_max} must satisfy "
            f"-128 <= act_min <= act_max <= 127"
        )
    if not INT8_MIN <= zero_point <= INT8_MAX:
        raise ValueError(f"{name}: zero_point={zero_point} outside [-128, 127]")


def check_multiplier(multiplier: int, shift: int, name: str) -> None:
    if not 0 <= int(multiplier) <= MULTIPLIER_MAX:
        raise ValueError(f"{name}: multiplier={multiplier} outside [0, 2**31 - 1]")
    top = kernel_limits().requant_shift_max
    if not SHIFT_MIN <= int(shift) <= top:
        raise ValueError(f"{name}: shift={shift} outside [{SHIFT_MIN}, {top}]")


def quantize_multiplier(real: float, name: str = "scale") -> tuple[int, int]:
    """Return ``(m, s)`` with ``m / 2**s`` the closest such value to ``real``.

    ``m`` is normalized into ``[2**30, 2**31)`` so it keeps 31 significant bits; for
    factors below ``2**-32`` the shift saturates at the largest (TINYTX_REQUANT_SHIFT_MAX)
    and ``m`` loses bits.
    """
    if isinstance(real, bool) or not isinstance(real, numbers.Real):
        raise ValueError(f"{name}: must be a real number, got {real!r}")
    try:
        value = float(real)
    except OverflowError:
        raise ValueError(f"{name}: {real!r} is too large for a requantization factor") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}: must be a positive finite number, got {real!r}")
    mant, exp = math.frexp(value)  # real = mant * 2**exp, mant in [0.5, 1)
    m = round(mant * (1 << 31))
    if m == 1 << 31:
        m //= 2
        exp += 1
    s = 31 - exp
    if s < SHIFT_MIN:
        raise ValueError(f"{name}: {real!r} is too large for a requantization factor (max 2**30)")
    top = kernel_limits().requant_shift_max
    if s > top:
        m = (m + (1 << (s - top - 1))) >> (s - top)
        s = top
        if m == 0:
            raise ValueError(f"{name}: {real!r} is too small for a requantization factor")
    return m, s


def round_shift(value: np.ndarray, shift: int) -> np.ndarray:
    """``(value + 2**(shift-1)) >> shift`` on int64: round half up."""
    return (value + np.int64(1 << (shift - 1))) >> np.int64(shift)


def requantize(acc: np.ndarray, rq: AnyRequant) -> np.ndarray:
    """Requantize int32 accumulators to int8 (see the module docstring); per-channel
    factors apply along the last axis."""
    acc = np.asarray(acc, dtype=np.int64)
    if acc.size and (acc.min() < INT32_MIN or acc.max() > INT32_MAX):
        raise ValueError("requantize: accumulator outside int32")
    if isinstance(rq, ChannelRequant):
        if acc.ndim == 0 or acc.shape[-1] != rq.channels:
            raise ValueError(
                f"requantize: {rq.channels} channel factors for accumulators of shape {acc.shape}"
            )
        m = np.array(rq.multipliers, np.int64)
        s = np.array(rq.shifts, np.int64)
        y = (acc * m + (np.int64(1) << (s - 1))) >> s
    else:
        y = round_shift(acc * np.int64(rq.multiplier), rq.shift)
    return np.clip(y + np.int64(rq.zero_point), rq.act_min, rq.act_max).astype(np.int8)


def as_int8(array: np.ndarray, name: str, ndim: int) -> np.ndarray:
    a = np.asarray(array)
    if a.dtype != np.int8:
        raise ValueError(f"{name}: expected dtype int8, got {a.dtype}")
    if a.ndim != ndim:
        raise ValueError(f"{name}: expected {ndim} dimensions, got shape {a.shape}")
    if any(d == 0 for d in a.shape):
        raise ValueError(f"{name}: zero-sized dimension in shape {a.shape}")
    return a


def as_int32(array: np.ndarray, name: str, shape: tuple[int, ...], bound: int) -> np.ndarray:
    a = np.asarray(array)
    if a.dtype != np.int32:
        raise ValueError(f"{name}: expected dtype int32, got {a.dtype}")
    if a.shape != shape:
        raise ValueError(f"{name}: expected shape {shape}, got {a.shape}")
    if a.size and int(np.abs(a.astype(np.int64)).max()) > bound:
        raise ValueError(f"{name}: values must stay within +/-{bound}")
    return a
