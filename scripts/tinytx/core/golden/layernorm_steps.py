"""LayerNorm as the TFLite converter decomposes it, step by step in TFLite's int8 arithmetic.

``keras.layers.LayerNormalization`` reaches a ``.tflite`` file as eleven operators, each
rounding its result to int8 (see :mod:`tinytx.core.frontend.tflite.layernorm`). This op
computes the same chain with the integer arithmetic of TFLite's int8 reference kernels,
so its output equals the TFLite interpreter's (``BUILTIN_REF``) bit for bit. For one row
``x[0..E)`` (int8)::

    m     = MEAN(x)                 clamp(mbqm(sum_e (x[e] - z_x), mean) + z_m)
    nm    = NEG(m)                  clamp(z_nm - (m - z_m))     (DEQUANTIZE, NEG, QUANTIZE)
    d[e]  = SQUARED_DIFFERENCE(x[e], m)                          (left shift 7)
    v     = MEAN(d)                 clamp(mbqm(sum_e (d[e] - z_d), var) + z_v)
    r     = table[v & 0xFF]         ADD eps, then RSQRT (both functions of v alone)
    g[e]  = MUL(r, gamma[e])        xg[e] = MUL(x[e], g[e])     mg[e] = MUL(nm, g[e])
    bm[e] = ADD(mg[e], beta[e])     y[e]  = ADD(xg[e], bm[e])                (left shift 20)

with TFLite's primitives (``mbqm`` is ``MultiplyByQuantizedMultiplier``)::

    srdhm(a, b)  = trunc_div(a * b + (2**30 if a * b >= 0 else 1 - 2**30), 2**31)
    rdbpot(x, n) = (x >> n) + ((x & (2**n - 1)) > ((2**n - 1) >> 1) + (x < 0))
    mbqm(x, m, s) = rdbpot(srdhm(x * 2**max(s, 0), m), max(-s, 0))
    MUL(a, b)    = clamp(z + mbqm((a - z_a) * (b - z_b), m, s))
    ADD(a, b)    = clamp(z + mbqm(mbqm((a - z_a) * 2**L, m_a, s_a)
                                  + mbqm((b - z_b) * 2**L, m_b, s_b), m, s))
    SQUARED_DIFFERENCE: as ADD with L = 7, the difference of the scaled inputs squared.

``trunc_div`` rounds towards zero (C division), ``>>`` is arithmetic, ``clamp`` is to
int8. Each multiplier ``m`` is in ``[0, 2**31)`` and each shift ``s`` (a power of two,
positive left) in ``[-31, 0]`` -- MUL and MEAN may shift left, as far as keeps the
shifted value within int32 (:data:`MUL_SHIFT_MAX`, :func:`mean_shift_max`). Every
parameter comes from the converter (:mod:`tinytx.core.golden.tflite_factors`),
which reproduces TFLite's own derivation from the tensors' scales; the MEAN factor
already includes the ``1 / E``. The ADD of the eps and the RSQRT are functions of the
int8 ``v`` alone, so they are one 256-entry table.
"""

from __future__ import annotations

import sys
from dataclasses import astuple, dataclass, fields, is_dataclass
from typing import Self

import numpy as np

from tinytx.core.golden.limits import kernel_limits
from tinytx.core.golden.quant import INT8_MAX, INT8_MIN, as_int8

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1
ADD_LEFT_SHIFT = 20
SQUARED_DIFFERENCE_LEFT_SHIFT = 7
MUL_SHIFT_MAX = 14  # |(a - z_a) * (b - z_b)| <= 255**2 < 2**16: shifted, still int32


@dataclass(frozen=True)
class TflMul:
    """TFLite's int8 MUL: ``clamp(z + mbqm((a - z_a) * (b - z_b), m, s))``."""

    zero_point_a: int
    zero_point_b: int
    multiplier: int
    shift: int
    zero_point: int


@dataclass(frozen=True)
class TflAdd:
    """TFLite's int8 ADD (or SQUARED_DIFFERENCE): each input scaled by its own factor after
    a left shift, then the sum (or the squared difference) by the output factor."""

    zero_point_a: int
    zero_point_b: int
    multiplier_a: int
    shift_a: int
    multiplier_b: int
    shift_b: int
    multiplier: int
    shift: int
    zero_point: int


@dataclass(frozen=True)
class TflMean:
    """TFLite's int8 MEAN over the last axis: ``clamp(mbqm(sum(x - z_in), m, s) + z)``;
    ``m, s`` include the ``1 / E``."""

    zero_point_in: int
    multiplier: int
    shift: int
    zero_point: int


class Int32Struct:
    """A params dataclass whose C struct is all int32: its fields are ints or dataclasses
    of ints (named in this module's or the subclass module's globals)."""

    def as_int32(self) -> np.ndarray:
        """Every field flattened in declaration order."""
        values: list[int] = []
        for f in fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            values.extend(astuple(v) if not isinstance(v, int) else (v,))
        return np.array(values, np.int32)

    @classmethod
    def from_int32(cls, values: np.ndarray) -> Self:
        it = iter(int(v) for v in np.asarray(values).ravel())
        names = vars(sys.modules[cls.__module__])
        parts: dict[str, object] = {}
        for f in fields(cls):  # type: ignore[arg-type]
            kind = names.get(str(f.type))
            if kind is None or not is_dataclass(kind):
                parts[f.name] = next(it)
            else:
                parts[f.name] = kind(*(next(it) for _ in fields(kind)))
        return cls(**parts)


@dataclass(frozen=True)
class LayerNormStepsParams(Int32Struct):
    """The factors of every step, in the order of ``tinytx_layernorm_steps_params``."""

    mean: TflMean  # of x
    neg_zero_point: int  # of -mean; its scale is the mean's
    squared_difference: TflAdd  # a = x, b = mean
    var: TflMean  # of the squared differences
    gamma: TflMul  # a = r (the table's output), b = gamma
    x_gamma: TflMul  # a = x, b = g
    mean_gamma: TflMul  # a = -mean, b = g
    beta: TflAdd  # a = -mean * g, b = beta
    out: TflAdd  # a = x * g, b = the beta term


def mean_shift_max(features: int) -> int:
    """The largest left shift of a MEAN over ``features`` int8 values that keeps
    ``|sum(x - z)| * 2**shift`` within int32."""
    return 31 - (255 * features).bit_length()


def srdhm(a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
    """gemmlowp's SaturatingRoundingDoublingHighMul on int32 values (int64 arrays)."""
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    ab = a * b
    half = np.int64(INT32_MAX >> 1) + 1  # 2**30, the rounding nudge of a Q31 product
    s = ab + np.where(ab >= 0, half, 1 - half)
    q = np.where(s >= 0, s >> 31, -((-s) >> 31))
    return np.where((a == INT32_MIN) & (b == INT32_MIN), np.int64(INT32_MAX), q)


def rdbpot(x: np.ndarray, exponent: int) -> np.ndarray:
    """gemmlowp's RoundingDivideByPOT: ``x / 2**exponent`` rounded half away from zero."""
    x = np.asarray(x, np.int64)
    mask = np.int64((1 << exponent) - 1)
    threshold = (mask >> 1) + (x < 0)
    return (x >> np.int64(exponent)) + ((x & mask) > threshold)


def saturating_pot(x: np.ndarray, exponent: int) -> np.ndarray:
    """gemmlowp's SaturatingRoundingMultiplyByPOT on int32 values: ``x * 2**exponent``,
    saturated to int32 when ``exponent`` > 0, :func:`rdbpot` when it is negative."""
    x = np.asarray(x, np.int64)
    if exponent <= 0:
        return rdbpot(x, -exponent)
    bound = (1 << (31 - exponent)) - 1
    return np.where(x > bound, INT32_MAX, np.where(x < -bound, INT32_MIN, x << exponent))


def mbqm(x: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """TFLite's MultiplyByQuantizedMultiplier (``shift`` > 0: left)."""
    left = max(shift, 0)
    return rdbpot(srdhm(np.asarray(x, np.int64) << np.int64(left), multiplier), max(-shift, 0))


def _clamp8(v: np.ndarray) -> np.ndarray:
    return np.clip(v, INT8_MIN, INT8_MAX)


def tfl_mul(a: np.ndarray, b: np.ndarray, p: TflMul) -> np.ndarray:
    prod = (np.asarray(a, np.int64) - p.zero_point_a) * (np.asarray(b, np.int64) - p.zero_point_b)
    return _clamp8(p.zero_point + mbqm(prod, p.multiplier, p.shift))


def _scaled(a: np.ndarray, z: int, m: int, s: int, left: int) -> np.ndarray:
    return mbqm((np.asarray(a, np.int64) - z) << np.int64(left), m, s)


def tfl_add(a: np.ndarray, b: np.ndarray, p: TflAdd) -> np.ndarray:
    sa = _scaled(a, p.zero_point_a, p.multiplier_a, p.shift_a, ADD_LEFT_SHIFT)
    sb = _scaled(b, p.zero_point_b, p.multiplier_b, p.shift_b, ADD_LEFT_SHIFT)
    return _clamp8(p.zero_point + mbqm(sa + sb, p.multiplier, p.shift))


def tfl_squared_difference(a: np.ndarray, b: np.ndarray, p: TflAdd) -> np.ndarray:
    left = SQUARED_DIFFERENCE_LEFT_SHIFT
    d = _scaled(a, p.zero_point_a, p.multiplier_a, p.shift_a, left) - _scaled(
        b, p.zero_point_b, p.multiplier_b, p.shift_b, left
    )
    return _clamp8(p.zero_point + mbqm(d * d, p.multiplier, p.shift))


def tfl_mean(x: np.ndarray, p: TflMean) -> np.ndarray:
    """Mean of the last axis, kept as an axis of 1."""
    total = (np.asarray(x, np.int64) - p.zero_point_in).sum(axis=-1, keepdims=True)
    return _clamp8(p.zero_point + mbqm(total, p.multiplier, p.shift))


def check_factor(m: int, s: int, top: int, name: str) -> None:
    """Raise ``ValueError`` for a factor the TFLite-steps kernels refuse."""
    if not 0 <= m <= INT32_MAX:
        raise ValueError(f"{name}: multiplier {m} outside [0, 2**31 - 1]")
    if not -31 <= s <= top:
        raise ValueError(f"{name}: shift {s} outside [-31, {top}]")


def check_zero_points(name: str, *zs: int) -> None:
    """Raise ``ValueError`` for a zero point outside int8."""
    for z in zs:
        if not INT8_MIN <= z <= INT8_MAX:
            raise ValueError(f"{name}: zero point {z} outside [-128, 127]")


def check_params(p: LayerNormStepsParams, features: int) -> None:
    """Raise ``ValueError`` for a factor or zero point the kernel refuses."""
    for name in ("mean", "var"):
        mean: TflMean = getattr(p, name)
        check_factor(mean.multiplier, mean.shift, mean_shift_max(features), name)
        check_zero_points(name, mean.zero_point_in, mean.zero_point)
    check_zero_points("neg", p.neg_zero_point)
    for name in ("gamma", "x_gamma", "mean_gamma"):
        mul: TflMul = getattr(p, name)
        check_factor(mul.multiplier, mul.shift, MUL_SHIFT_MAX, name)
        check_zero_points(name, mul.zero_point_a, mul.zero_point_b, mul.zero_point)
    for name in ("squared_difference", "beta", "out"):
        add: TflAdd = getattr(p, name)
        check_factor(add.multiplier_a, add.shift_a, 0, name)
        check_factor(add.multiplier_b, add.shift_b, 0, name)
        check_factor(add.multiplier, add.shift, 0, name)
        check_zero_points(name, add.zero_point_a, add.zero_point_b, add.zero_point)


def layernorm_steps_s8(
    x: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    table: np.ndarray,
    p: LayerNormStepsParams,
) -> np.ndarray:
    """TFLite's decomposed LayerNorm of each row of ``x`` [rows][E] (module docstring);
    ``gamma``, ``beta`` int8 [E] (TFLite's constants), ``table`` int8 [256]."""
    x = as_int8(x, "x", 2)
    e = x.shape[1]
    top = kernel_limits().layernorm_max_features
    if e > top:
        raise ValueError(f"x: {e} features exceed the LayerNorm limit {top}")
    for name, a in (("gamma", gamma), ("beta", beta)):
        if as_int8(a, name, 1).shape != (e,):
            raise ValueError(f"{name}: expected shape ({e},), got {np.shape(a)}")
    if as_int8(table, "table", 1).shape != (256,):
        raise ValueError(f"table: expected shape (256,), got {np.shape(table)}")
    check_params(p, e)
    xi = x.astype(np.int64)
    m = tfl_mean(xi, p.mean)  # [rows, 1]
    nm = _clamp8(p.neg_zero_point - (m - p.mean.zero_point))
    d = tfl_squared_difference(xi, m, p.squared_difference)
    v = tfl_mean(d, p.var)
    r = table.astype(np.int64)[v.astype(np.int8).view(np.uint8)]
    g = tfl_mul(r, gamma.astype(np.int64), p.gamma)
    xg = tfl_mul(xi, g, p.x_gamma)
    mg = tfl_mul(nm, g, p.mean_gamma)
    bm = tfl_add(mg, beta.astype(np.int64), p.beta)
    return tfl_add(xg, bm, p.out).astype(np.int8)
