"""The golden LayerNormSteps op: TFLite's fixed-point primitives, the factors it derives
from scales, and the parameter checks (its agreement with the TFLite interpreter itself is
in test_frontend_tflite.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinytx.core import golden as g
from tinytx.core.golden import layernorm_steps as ls
from tinytx.core.golden import tflite_factors as tf


def test_rounding_doubling_high_mul_and_divide() -> None:
    assert ls.srdhm(1 << 30, 1 << 30).item() == 1 << 29
    assert ls.srdhm(-(1 << 31), -(1 << 31)).item() == (1 << 31) - 1  # the saturated case
    assert ls.srdhm(3, 1 << 30).item() == 2  # 1.5: ties go up (gemmlowp)
    assert ls.srdhm(-3, 1 << 30).item() == -1
    assert [ls.rdbpot(v, 1).item() for v in (5, -5, 4, -4, 7, -7)] == [3, -3, 2, -2, 4, -4]
    assert ls.rdbpot(123, 0).item() == 123


def test_quantize_multiplier_matches_the_real_factor() -> None:
    for real in (0.0123, 0.5, 0.999999, 1.75, 3e-9):
        q, shift = tf.quantize_multiplier(real)
        assert 1 << 30 <= q < 1 << 31
        assert math.isclose(q * 2.0 ** (shift - 31), real, rel_tol=2**-30)
    assert tf.quantize_multiplier(1e-12) == (0, 0)  # below 2**-31: TFLite's zero factor


def test_inverse_square_root_is_close_to_the_real_one() -> None:
    for v in (2, 3, 17, 255, 1000, 1 << 20):
        q, shift = tf.inv_sqrt_multiplier(v)
        assert math.isclose(q * 2.0 ** (shift - 31), 1 / math.sqrt(v), rel_tol=1e-5)


def test_mean_factor_includes_one_over_e() -> None:
    x = np.arange(-16, 16, dtype=np.int64)[None]  # mean -0.5 at scale 0.02
    p = tf.mean_params(0.02, 0, 0.01, 0, 32)
    assert ls.tfl_mean(x, p).item() == -1  # -0.5 * 0.02 / 0.01


def _params(e: int) -> tuple[np.ndarray, g.LayerNormStepsParams]:
    eps = tf.add_params(0.01, -128, 1e-5 / 255, -128, 0.01, -128)
    table = tf.add_eps_rsqrt_table(eps, 127, 0.01, -128, 0.05, -128)
    p = g.LayerNormStepsParams(
        mean=tf.mean_params(0.02, 0, 0.01, 0, e),
        neg_zero_point=0,
        squared_difference=tf.squared_difference_params(0.02, 0, 0.01, 0, 0.02, -128),
        var=tf.mean_params(0.02, -128, 0.01, -128, e),
        gamma=tf.mul_params(0.05, -128, 0.01, 0, 0.05, -128),
        x_gamma=tf.mul_params(0.02, 0, 0.05, -128, 0.03, 0),
        mean_gamma=tf.mul_params(0.01, 0, 0.05, -128, 0.01, 0),
        beta=tf.add_params(0.01, 0, 0.001, 0, 0.01, 0),
        out=tf.add_params(0.03, 0, 0.01, 0, 0.03, 0),
    )
    return table, p


def test_layernorm_steps_normalizes_a_row() -> None:
    e = 32
    table, p = _params(e)
    rng = np.random.default_rng(3)
    x = np.clip(rng.normal(20, 30, (4, e)), -128, 127).astype(np.int8)
    gamma = np.full(e, 100, np.int8)  # 1.0 at scale 0.01
    beta = np.zeros(e, np.int8)
    y = g.layernorm_steps_s8(x, gamma, beta, table, p).astype(np.float64) * 0.03
    ref = g.layernorm_float(x.astype(np.float64), np.ones(e), np.zeros(e), 1e-5)
    assert np.abs(y - ref).max() < 0.25  # a statistic: each step rounds to int8
    assert np.array_equal(p.as_int32(), g.LayerNormStepsParams.from_int32(p.as_int32()).as_int32())
    assert p.as_int32().size == 51  # the int32 fields of tinytx_layernorm_steps_params


def test_layernorm_steps_refuses_bad_arguments() -> None:
    table, p = _params(8)
    x = np.zeros((2, 8), np.int8)
    ones = np.ones(8, np.int8)
    with pytest.raises(ValueError, match="table"):
        g.layernorm_steps_s8(x, ones, ones, table[:255], p)
    with pytest.raises(ValueError, match="gamma"):
        g.layernorm_steps_s8(x, ones[:7], ones, table, p)
    fields = p.as_int32()
    fields[2] = 21  # mean.shift: 255 * 8 takes 11 bits, so at most 20 to the left
    with pytest.raises(ValueError, match=r"mean: shift 21 outside \[-31, 20\]"):
        g.layernorm_steps_s8(x, ones, ones, table, g.LayerNormStepsParams.from_int32(fields))
