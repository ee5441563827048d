"""Self-attention's scores, softmax and A*V as the TFLite converter emits them, step by
step in TFLite's int8 arithmetic.

``keras.layers.MultiHeadAttention`` reaches a ``.tflite`` file as projections, then
``BATCH_MATMUL`` (q k^T), a ``MUL`` by the scalar 1/sqrt(P), ``SOFTMAX`` and
``BATCH_MATMUL`` (probabilities x v), each rounding its result to int8 (see
:mod:`tinytx.core.frontend.tflite.attention`). This op computes that chain with the
integer arithmetic of TFLite's int8 reference kernels, so its output equals the
interpreter's (``BUILTIN_REF``) bit for bit. With ``q``, ``k``, ``v`` the projections'
int8 outputs ``[S][H*P]`` (column ``h*P + p`` is position ``p`` of head ``h``), per head::

    s[i, j] = clamp(z_s + mbqm(sum_p (q[i, p] - z_q) (k[j, p] - z_k), m_s, e_s))
    t[i, j] = clamp(z_t + mbqm((s[i, j] - z_s') (c - z_c), m_t, e_t))     (the scalar MUL)
    a[i, :] = softmax(t[i, :])                                   (int8, 1/256, zero -128)
    o[i, p] = clamp(z_o + mbqm(sum_j (a[i, j] + 128) (v[j, p] - z_v), m_o, e_o))

``mbqm`` is MultiplyByQuantizedMultiplier (:func:`~tinytx.core.golden.layernorm_steps.mbqm`,
``e`` > 0 a left shift); ``clamp`` is to int8; the output is ``[S][H*P]`` again. Without
a scalar MUL its step is the identity (``c - z_c = 1``, ``m_t = 2**30``, ``e_t = 1``).

The softmax is TFLite's ``reference_ops::Softmax`` (gemmlowp fixed point)::

    d      = t[i, j] - max_j t[i, :]                  (only d >= diff_min counts)
    x      = srdhm(d * 2**beta_shift, beta_multiplier)         Q5.26, <= 0
    E(x)   = exp_on_negative_values(x)                          Q0.31
    sum    = sum_j rdbpot(E(x_j), 12)                           Q12.19
    r, n   = GetReciprocal(sum, 12)        1 / sum as Q0.31 and its exponent
    a      = clamp(rdbpot(srdhm(r, E(x)), n + 23) - 128)   (-128 where d < diff_min)

with ``exp_on_negative_values`` and ``one_over_one_plus_x_for_x_in_0_1`` gemmlowp's
(:func:`exp_on_negative_values`, :func:`reciprocal`). ``E(x)`` depends on the int8
difference ``d`` alone: :func:`exp_table` (0 for ``d < diff_min``, which then adds
nothing and gives -128) is the kernel's table. Every factor comes from the
converter (:mod:`tinytx.core.golden.tflite_factors`), which reproduces TFLite's own
derivation from the tensors' scales.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinytx.core.golden.layernorm_steps import (
    INT32_MAX,
    Int32Struct,
    TflMul,
    check_factor,
    check_zero_points,
    mbqm,
    rdbpot,
    saturating_pot,
    srdhm,
    tfl_mul,
)
from tinytx.core.golden.limits import kernel_limits
from tinytx.core.golden.quant import INT8_MAX, INT8_MIN, as_int8

#: Q5.26: the integer bits of the softmax's scaled differences (TFLite's choice)
SCALED_DIFF_INTEGER_BITS = 5
#: Q12.19: the integer bits of the sum of the exponentials
ACCUMULATION_INTEGER_BITS = 12
#: Differences of int8 scores to their row maximum: 0..-255.
EXP_TABLE_SIZE = 256
#: The largest product of two int8 codes less their zero points (255 * 255).
CODE_PRODUCT_MAX = 255 * 255
#: gemmlowp's constants of exp_on_negative_values: exp(-2**k) in Q0.31, k = -2..4
EXP_BARREL = (
    (-2, 1672461947),
    (-1, 1302514674),
    (0, 790015084),
    (1, 290630308),
    (2, 39332535),
    (3, 720401),
    (4, 242),
)
EXP_MINUS_ONE_EIGHTH = 1895147668  # exp(-1/8) in Q0.31
ONE_THIRD = 715827883  # 1/3 in Q0.31
FORTY_EIGHT_SEVENTEENTHS = 1515870810  # 48/17 in Q2.29
MINUS_THIRTY_TWO_SEVENTEENTHS = -1010580540  # -32/17 in Q2.29


@dataclass(frozen=True)
class TflSoftmax:
    """TFLite's int8 softmax factors (output scale 1/256, zero point -128):
    ``PreprocessSoftmaxScaling`` of ``beta * s_in`` and ``-CalculateInputRadius``."""

    multiplier: int
    left_shift: int
    diff_min: int


@dataclass(frozen=True)
class AttentionStepsParams(Int32Struct):
    """The factors of every step, in the order of ``tinytx_attention_steps_params``. The
    two BATCH_MATMULs are :class:`TflMul` (a sum of products requantized like MUL's one
    product): ``scores`` a = q, b = k; ``av`` a = probabilities (zero point -128), b = v."""

    scores: TflMul
    scale: TflMul  # a = the scores, b = the scalar constant
    scale_code: int  # the scalar constant's int8 code
    softmax: TflSoftmax
    av: TflMul


def identity_scale(zero_point: int) -> tuple[TflMul, int]:
    """The scalar MUL step that changes nothing (the scores have no scalar MUL)."""
    half = (INT32_MAX >> 1) + 1  # 0.5 in Q0.31, times 2**1
    return TflMul(zero_point, 0, half, 1, zero_point), 1


def sum_shift_max(terms: int) -> int:
    """The largest left shift of a requantized sum of ``terms`` products of int8 codes
    less their zero points that keeps the shifted sum within int32."""
    return 31 - (CODE_PRODUCT_MAX * terms).bit_length()


def check_params(p: AttentionStepsParams, seq: int, head_dim: int) -> None:
    """Raise ``ValueError`` for a shape, factor or zero point the kernel refuses."""
    lim = kernel_limits()
    top_seq = lim.attention_steps_max_seq
    if not 1 <= seq <= top_seq:
        raise ValueError(f"{seq} tokens outside [1, {top_seq}] (TINYTX_ATTENTION_STEPS_MAX_SEQ)")
    top = lim.max_reduction // 2
    if not 1 <= head_dim <= top:
        raise ValueError(f"head size {head_dim} outside [1, {top}] (TINYTX_MAX_REDUCTION / 2)")
    check_factor(p.scores.multiplier, p.scores.shift, sum_shift_max(head_dim), "scores")
    check_factor(p.av.multiplier, p.av.shift, sum_shift_max(seq), "av")
    check_factor(p.scale.multiplier, p.scale.shift, sum_shift_max(1), "scale")
    for name in ("scores", "scale", "av"):
        mul: TflMul = getattr(p, name)
        check_zero_points(name, mul.zero_point_a, mul.zero_point_b, mul.zero_point)
    check_zero_points("scale_code", p.scale_code)
    if p.scale.zero_point_a != p.scores.zero_point:
        raise ValueError("scale: its input zero point is not the scores' output zero point")
    if p.av.zero_point_a != INT8_MIN:
        raise ValueError(f"av: the probabilities' zero point {p.av.zero_point_a} is not -128")
    sm = p.softmax
    if not 0 <= sm.multiplier <= INT32_MAX:
        raise ValueError(f"softmax: multiplier {sm.multiplier} outside [0, 2**31 - 1]")
    if not 0 <= sm.left_shift <= 30:
        raise ValueError(f"softmax: left shift {sm.left_shift} outside [0, 30]")
    radius = (((1 << SCALED_DIFF_INTEGER_BITS) - 1) << (31 - SCALED_DIFF_INTEGER_BITS)) >> (
        sm.left_shift
    )
    if not -radius <= sm.diff_min <= 0:
        raise ValueError(f"softmax: diff_min {sm.diff_min} outside [{-radius}, 0]")


def _exp_interval(a: np.ndarray) -> np.ndarray:
    """gemmlowp's exp_on_interval_between_negative_one_quarter_and_0_excl (Q0.31)."""
    x = a + (1 << 28)  # a + 1/8
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = rdbpot(x4, 2)
    poly = rdbpot(srdhm(x4_over_4 + x3, ONE_THIRD) + x2, 1)
    return EXP_MINUS_ONE_EIGHTH + srdhm(EXP_MINUS_ONE_EIGHTH, x + poly)


def exp_on_negative_values(a: np.ndarray) -> np.ndarray:
    """gemmlowp's exp_on_negative_values of Q5.26 values ``a`` <= 0, as Q0.31."""
    a = np.asarray(a, np.int64)
    frac = 31 - SCALED_DIFF_INTEGER_BITS
    quarter = 1 << (frac - 2)
    a_mod = (a & (quarter - 1)) - quarter
    result = _exp_interval(saturating_pot(a_mod, SCALED_DIFF_INTEGER_BITS))
    remainder = a_mod - a
    for exponent, multiplier in EXP_BARREL:
        bit = (remainder & (1 << (frac + exponent))) != 0
        result = np.where(bit, srdhm(result, multiplier), result)
    return np.where(a == 0, INT32_MAX, result)


def reciprocal(total: int) -> tuple[int, int]:
    """TFLite's GetReciprocal of a positive Q12.19 sum: ``1 / total`` as a Q0.31 value
    and ``num_bits_over_unit`` (gemmlowp's one_over_one_plus_x_for_x_in_0_1)."""
    headroom_plus_one = 32 - int(total).bit_length()
    bits_over_unit = ACCUMULATION_INTEGER_BITS - headroom_plus_one
    a = ((total << headroom_plus_one) - (1 << 31)) & 0xFFFFFFFF
    s = a + INT32_MAX
    half_denominator = (s + 1) // 2  # RoundingHalfSum with One(): s >= 0
    x = FORTY_EIGHT_SEVENTEENTHS + int(srdhm(half_denominator, MINUS_THIRTY_TWO_SEVENTEENTHS))
    for _ in range(3):
        one_minus = (1 << 29) - int(srdhm(half_denominator, x))
        x = x + int(saturating_pot(srdhm(x, one_minus), 2))
    return int(saturating_pot(np.int64(x), 1)), bits_over_unit


def exp_table(p: TflSoftmax) -> np.ndarray:
    """The softmax's exponential of every difference ``d = -k`` to the row maximum
    (int32 [256], index ``k`` = 0..255): ``E(srdhm(d * 2**left_shift, multiplier))``,
    0 where ``d < diff_min`` (which the softmax skips, and which then gives -128 as TFLite
    does). A function of the factors alone: the kernel takes it as a table."""
    d = -np.arange(EXP_TABLE_SIZE, dtype=np.int64)
    valid = d >= p.diff_min
    x = srdhm(np.where(valid, d, 0) << np.int64(p.left_shift), p.multiplier)
    return np.where(valid, exp_on_negative_values(x), 0).astype(np.int32)


def tfl_softmax(t: np.ndarray, p: TflSoftmax) -> np.ndarray:
    """TFLite's int8 reference softmax of each row (last axis) of int8 ``t`` (int64)."""
    t = np.asarray(t, np.int64)
    e = exp_table(p).astype(np.int64)[t.max(axis=-1, keepdims=True) - t]
    acc = rdbpot(e, ACCUMULATION_INTEGER_BITS).sum(axis=-1)
    out = np.full(t.shape, INT8_MIN, np.int64)
    for row in np.ndindex(acc.shape):
        r, bits = reciprocal(int(acc[row]))
        y = rdbpot(srdhm(e[row], r), bits + 31 - 8) + INT8_MIN
        out[row] = np.clip(y, INT8_MIN, INT8_MAX)
    return out


def _requant(acc: np.ndarray, p: TflMul) -> np.ndarray:
    return np.clip(p.zero_point + mbqm(acc, p.multiplier, p.shift), INT8_MIN, INT8_MAX)


def attention_steps_trace(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, heads: int, p: AttentionStepsParams
) -> dict[str, np.ndarray]:
    """Every step (module docstring): ``s``, ``t``, ``a`` ``[H][S][S]`` and ``o``
    ``[S][H*P]`` (int8)."""
    q, k, v = as_int8(q, "q", 2), as_int8(k, "k", 2), as_int8(v, "v", 2)
    if k.shape != q.shape or v.shape != q.shape:
        raise ValueError(f"k {k.shape}, v {v.shape}: expected q's shape {q.shape}")
    s, n = q.shape
    if heads < 1 or n % heads:
        raise ValueError(f"heads: {heads} does not divide {n} columns")
    hd = n // heads
    check_params(p, s, hd)

    def split(a: np.ndarray, z: int) -> np.ndarray:
        return (a.astype(np.int64) - z).reshape(s, heads, hd).transpose(1, 0, 2)

    acc = split(q, p.scores.zero_point_a) @ split(k, p.scores.zero_point_b).transpose(0, 2, 1)
    scores = _requant(acc, p.scores)
    scaled = tfl_mul(scores, np.int64(p.scale_code), p.scale)
    a = tfl_softmax(scaled, p.softmax)
    o = _requant((a - p.av.zero_point_a) @ split(v, p.av.zero_point_b), p.av)
    o = o.transpose(1, 0, 2).reshape(s, n)
    return {
        "s": scores.astype(np.int8),
        "t": scaled.astype(np.int8),
        "a": a.astype(np.int8),
        "o": o.astype(np.int8),
    }


def attention_steps_s8(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, heads: int, p: AttentionStepsParams
) -> np.ndarray:
    """TFLite's scores, scalar MUL, softmax and A*V of ``q``, ``k``, ``v`` ``[S][H*P]``
    (int8) -> ``[S][H*P]`` int8 (module docstring)."""
    return attention_steps_trace(q, k, v, heads, p)["o"]
