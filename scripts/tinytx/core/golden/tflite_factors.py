"""The integer factors TFLite's int8 reference kernels derive from the tensors' scales.

TFLite computes each factor at load time from the float32 scales (in double precision)
and runs the kernels in integers only. The same derivation here gives the parameters of
:mod:`tinytx.core.golden.layernorm_steps` (the TFLite frontend and the kernel test
vectors use it), so that the golden op reproduces the interpreter's (``BUILTIN_REF``)
int8 results bit for bit:

- ``QuantizeMultiplier``: ``real = q * 2**(shift - 31)``, ``q`` in ``[2**30, 2**31)``
  rounded half away from zero;
- MUL: ``s_a * s_b / s_out``; ADD: each input ``s_i / (2 max(s_a, s_b))``, the output
  ``2 max(s_a, s_b) / (2**20 s_out)``; SQUARED_DIFFERENCE the same with ``2**7`` and the
  output ``(2 max)**2 / (2**14 s_out)``;
- MEAN: ``s_in / s_out``, then ``q = (q << k) // E`` and ``shift -= k`` with
  ``k = min(floor(log2 E), 32, 31 + shift)``;
- RSQRT: per input code, gemmlowp's fixed-point inverse square root (five Newton steps
  in Q3.28) then ``1 / (sqrtf(s_in) * s_out)``: a function of the int8 input, built
  here as a table.
"""

from __future__ import annotations

import math

import numpy as np

from tinytx.core.golden.attention_steps import SCALED_DIFF_INTEGER_BITS, TflSoftmax
from tinytx.core.golden.layernorm_steps import (
    ADD_LEFT_SHIFT,
    INT32_MAX,
    SQUARED_DIFFERENCE_LEFT_SHIFT,
    TflAdd,
    TflMean,
    TflMul,
    mbqm,
    saturating_pot,
    srdhm,
    tfl_add,
)
from tinytx.core.golden.quant import INT8_MAX, INT8_MIN


def f32(v: float) -> float:
    """``v`` rounded to float32 (a scale as TFLite holds it)."""
    return float(np.float32(v))


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite's ``QuantizeMultiplier``: ``(q, shift)`` with ``real ~ q * 2**(shift - 31)``."""
    if real == 0.0:
        return 0, 0
    mant, shift = math.frexp(real)
    q = math.floor(abs(mant) * (1 << 31) + 0.5)
    if q == 1 << 31:
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q, shift


def mul_params(s_a: float, z_a: int, s_b: float, z_b: int, s_out: float, z_out: int) -> TflMul:
    q, shift = quantize_multiplier(f32(s_a) * f32(s_b) / f32(s_out))
    return TflMul(z_a, z_b, q, shift, z_out)


def _two_input(s_a: float, z_a: int, s_b: float, z_b: int, real_out: float, z_out: int) -> TflAdd:
    twice_max = 2.0 * max(f32(s_a), f32(s_b))
    qa, sa = quantize_multiplier(f32(s_a) / twice_max)
    qb, sb = quantize_multiplier(f32(s_b) / twice_max)
    q, shift = quantize_multiplier(real_out)
    return TflAdd(z_a, z_b, qa, sa, qb, sb, q, shift, z_out)


def add_params(s_a: float, z_a: int, s_b: float, z_b: int, s_out: float, z_out: int) -> TflAdd:
    twice_max = 2.0 * max(f32(s_a), f32(s_b))
    return _two_input(s_a, z_a, s_b, z_b, twice_max / ((1 << ADD_LEFT_SHIFT) * f32(s_out)), z_out)


def squared_difference_params(
    s_a: float, z_a: int, s_b: float, z_b: int, s_out: float, z_out: int
) -> TflAdd:
    twice_max = 2.0 * max(f32(s_a), f32(s_b))
    real = twice_max * twice_max / ((1 << (2 * SQUARED_DIFFERENCE_LEFT_SHIFT)) * f32(s_out))
    return _two_input(s_a, z_a, s_b, z_b, real, z_out)


def mean_params(s_in: float, z_in: int, s_out: float, z_out: int, count: int) -> TflMean:
    q, shift = quantize_multiplier(f32(s_in) / f32(s_out))
    k = min(count.bit_length() - 1, 32, 31 + shift)
    return TflMean(z_in, (q << k) // count, shift - k, z_out)


def _pot(x: int, exponent: int) -> int:
    return int(saturating_pot(np.int64(x), exponent))


def _mul(a: int, b: int) -> int:
    return int(srdhm(np.int64(a), b))


def inv_sqrt_multiplier(value: int) -> tuple[int, int]:
    """TFLite's ``GetInvSqrtQuantizedMultiplierExp(value, -1)``: ``1 / sqrt(value)`` as a
    Q31 multiplier and a (left) shift."""
    if value <= 1:
        return INT32_MAX, 0
    shift = 11
    while value >= 1 << 29:
        value //= 4
        shift += 1
    pairs = (32 - value.bit_length() - 1) // 2 - 1
    shift -= pairs
    value <<= 2 * pairs
    half = _pot(value >> 1, -1)
    three_halves = (1 << 28) + (1 << 27)  # 1.5 in Q3.28
    x = 1 << 28  # 1.0
    for _ in range(5):
        x3 = _pot(_mul(_mul(x, x), x), 6)
        x = _pot(_mul(three_halves, x) - _mul(half, x3), 3)
    x = _mul(x, 1518500250)  # sqrt(2) / 2 in Q0.31
    if shift < 0:
        x <<= -shift
        shift = 0
    return x, -shift


def rsqrt_codes(s_in: float, z_in: int, s_out: float, z_out: int) -> np.ndarray:
    """TFLite's int8 RSQRT of every input code -128..127 (int64 [256], code order).

    Codes below the zero point (negative reals: TFLite refuses them at run time) give
    127, like the zero point itself."""
    root = np.float32(np.sqrt(np.float32(s_in)))  # std::sqrt of a float: a float
    q, shift = quantize_multiplier(1.0 / float(root * np.float32(s_out)))
    out = np.empty(256, np.int64)
    for code in range(INT8_MIN, INT8_MAX + 1):
        v = code - z_in
        if v <= 0:
            out[code - INT8_MIN] = INT8_MAX
            continue
        inv, inv_shift = inv_sqrt_multiplier(v)
        data = int(mbqm(np.int64(1), inv, inv_shift + 20))
        y = int(mbqm(np.int64(data), q, shift - 20)) + z_out
        out[code - INT8_MIN] = min(max(y, INT8_MIN), INT8_MAX)
    return out


def add_eps_rsqrt_table(
    eps: TflAdd, eps_code: int, s_sum: float, z_sum: int, s_r: float, z_r: int
) -> np.ndarray:
    """The table (int8 [256], indexed by ``v & 0xFF``) of ``RSQRT(ADD(v, eps))`` for every
    int8 ``v``: ``eps`` the ADD's parameters with ``b`` the constant ``eps_code``; the sum
    has scale ``s_sum`` and zero point ``z_sum``, the RSQRT output ``s_r``, ``z_r``."""
    codes = np.arange(INT8_MIN, INT8_MAX + 1, dtype=np.int64)
    sums = tfl_add(codes, np.full_like(codes, eps_code), eps)
    r = rsqrt_codes(s_sum, z_sum, s_r, z_r)[sums - INT8_MIN]
    table = np.empty(256, np.int8)
    table[codes.astype(np.int8).view(np.uint8)] = r.astype(np.int8)
    return table


def batch_matmul_params(
    s_a: float, z_a: int, s_b: float, z_b: int, s_out: float, z_out: int
) -> TflMul:
    """BATCH_MATMUL: ``s_a * s_b / s_out`` with the product of the scales in float32 (as
    TFLite's GetQuantizedConvolutionMultipler without a bias)."""
    q, shift = quantize_multiplier(f32(f32(s_a) * f32(s_b)) / f32(s_out))
    return TflMul(z_a, z_b, q, shift, z_out)


def softmax_params(beta: float, s_in: float) -> TflSoftmax:
    """SOFTMAX (int8, reference kernel): ``PreprocessSoftmaxScaling(beta, s_in, 5)`` and
    ``diff_min = -CalculateInputRadius(5, left_shift)``."""
    bits = SCALED_DIFF_INTEGER_BITS
    real = min(f32(beta) * f32(s_in) * float(1 << (31 - bits)), float((1 << 31) - 1))
    q, shift = quantize_multiplier(real)
    if shift < 0:
        raise ValueError(f"softmax: beta * input scale {real:g} / 2**26 is below 2**-26")
    radius = math.floor(((1 << bits) - 1) * float(1 << (31 - bits)) / float(1 << shift))
    return TflSoftmax(q, shift, -radius)
