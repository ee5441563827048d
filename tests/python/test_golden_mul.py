"""Golden MUL and gather: MUL equals TFLite's integer reference (gemmlowp's
SaturatingRoundingDoublingHighMul and RoundingDivideByPOT, written here with Python
integers) on every pair of int8 codes; gather and concat are numpy's take/concatenate."""

from __future__ import annotations

import numpy as np
import pytest

from tinytx.core import golden as g


def _high_mul(a: int, b: int) -> int:
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    q = abs(ab + nudge) >> 31  # C++ division truncates toward zero
    return q if ab + nudge >= 0 else -q


def _div_pot(x: int, e: int) -> int:
    mask = (1 << e) - 1
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if (x & mask) > threshold else 0)


def tflite_mul(a: int, b: int, p: g.MulParams) -> int:
    acc = (a - p.a_zero_point) * (b - p.b_zero_point) * (1 << max(p.shift, 0))
    y = _div_pot(_high_mul(acc, p.multiplier), max(-p.shift, 0)) + p.zero_point
    return min(p.act_max, max(p.act_min, y))


@pytest.mark.parametrize(
    ("scales", "zeros", "clamp"),
    [
        ((0.02, 0.05, 0.01), (0, 0, 0), (-128, 127)),
        ((0.1, 0.003, 0.0007), (-5, 17, -128), (-128, 127)),
        ((0.5, 0.5, 0.01), (3, -9, 4), (4, 127)),  # factor 25: a left shift
        ((1e-4, 2e-4, 0.3), (127, -128, 0), (-100, 100)),
    ],
)
def test_mul_is_tflite_reference_on_every_code_pair(scales, zeros, clamp) -> None:
    p = g.mul_params(*scales, *zeros, *clamp)
    codes = np.arange(-128, 128, dtype=np.int8)
    a, b = np.meshgrid(codes, codes)
    got = g.mul_s8(a, b, p)
    want = np.vectorize(lambda u, v: tflite_mul(int(u), int(v), p))(a, b)
    np.testing.assert_array_equal(got, want)


def test_mul_params_refuse_what_the_kernel_cannot() -> None:
    with pytest.raises(ValueError, match="shift"):
        g.mul_params(100.0, 100.0, 1e-3, 0, 0, 0, -128, 127)  # factor 2**23
    with pytest.raises(ValueError, match="zero_point"):
        g.MulParams(1 << 30, -3, a_zero_point=200)


def test_gather_and_concat_are_numpy() -> None:
    x = np.arange(60, dtype=np.int8).reshape(3, 4, 5)
    np.testing.assert_array_equal(g.gather_s8(x, np.array([3, 0, 3]), 1), x[:, [3, 0, 3]])
    with pytest.raises(ValueError, match="indices"):
        g.gather_s8(x, np.array([4]), 1)
    np.testing.assert_array_equal(g.concat_s8([x, x[:, :2]], 1), np.concatenate([x, x[:, :2]], 1))
    assert g.gather_dims((3, 4, 5), 1) == (3, 4, 5) and g.gather_dims((3, 4, 5), -1) == (12, 5, 1)
