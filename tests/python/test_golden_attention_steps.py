"""The golden TFLite attention steps: the fixed-point pieces against float, the shapes and
factors the kernel refuses, the identity scale step. (Bit-exactness with the interpreter
is checked on the fixtures' dumps in test_frontend_tflite.py; the C kernel against this
model in test_kernels_bitexact.py.)"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tinytx.core.golden import tflite_factors as tf
from tinytx.core.golden.attention_steps import (
    AttentionStepsParams,
    attention_steps_s8,
    attention_steps_trace,
    check_params,
    exp_on_negative_values,
    identity_scale,
    reciprocal,
    tfl_softmax,
)
from tinytx.core.golden.layernorm_steps import tfl_mul
from tinytx.core.golden.limits import kernel_limits


def _params(s_t: float = 0.05, hd: int = 8) -> AttentionStepsParams:
    scale = tf.mul_params(0.02, 3, 1 / np.sqrt(hd) / 255, -128, s_t, -4)
    return AttentionStepsParams(
        scores=tf.batch_matmul_params(0.02, -7, 0.03, 4, 0.02, 3),
        scale=scale,
        scale_code=127,
        softmax=tf.softmax_params(1.0, s_t),
        av=tf.batch_matmul_params(1 / 256, -128, 0.04, 1, 0.03, 7),
    )


def test_exp_and_reciprocal_follow_float() -> None:
    x = -np.arange(0, 31 << 26, 1 << 18, dtype=np.int64)  # Q5.26 from 0 to -31
    got = exp_on_negative_values(x) / 2.0**31
    assert np.max(np.abs(got - np.exp(x / 2.0**26))) < 5e-7  # gemmlowp: about 2**-22
    for total in (1 << 19, 3 << 19, 12345678, (1 << 28) - 1):
        r, bits = reciprocal(total)
        inverse = r / 2.0**31 / 2.0**bits  # 1 / (total / 2**19)
        assert abs(inverse * total / 2.0**19 - 1) < 1e-7


def test_softmax_rows_sum_to_one() -> None:
    rng = np.random.default_rng(3)
    t = rng.integers(-128, 128, (40, 17)).astype(np.int64)
    a = tfl_softmax(t, tf.softmax_params(1.0, 0.08))
    e = np.exp((t - t.max(axis=1, keepdims=True)) * 0.08)
    want = e / e.sum(axis=1, keepdims=True) * 256 - 128
    assert np.max(np.abs(a - want)) <= 1
    one = tfl_softmax(np.array([[5]]), tf.softmax_params(1.0, 0.08))
    assert one.tolist() == [[127]]  # a single key takes all of it


def test_identity_scale_changes_nothing() -> None:
    codes = np.arange(-128, 128, dtype=np.int64)
    for z in (-128, 0, 9, 127):
        step, code = identity_scale(z)
        assert np.array_equal(tfl_mul(codes, np.int64(code), step), codes)


def test_params_round_trip_and_awkward_shapes() -> None:
    p = _params()
    assert AttentionStepsParams.from_int32(p.as_int32()) == p
    rng = np.random.default_rng(5)
    for s, heads, hd in ((1, 1, 8), (7, 3, 2), (5, 2, 17)):
        q, k, v = (rng.integers(-128, 128, (s, heads * hd)).astype(np.int8) for _ in range(3))
        tr = attention_steps_trace(q, k, v, heads, _params(hd=hd))
        assert tr["o"].shape == (s, heads * hd) and tr["a"].shape == (heads, s, s)
    q = np.zeros((1, 4), np.int8)
    o = attention_steps_s8(q, q, np.full((1, 4), 40, np.int8), 1, _params(hd=4))
    # one key: probability 127 (+128 = 255), (40 - 1) * 255 * 0.04 / 256 / 0.03 + 7 = 59
    assert o.tolist() == [[59, 59, 59, 59]]


def test_refused_shapes_and_factors() -> None:
    p = _params()
    top = kernel_limits().attention_steps_max_seq
    with pytest.raises(ValueError, match="TINYTX_ATTENTION_STEPS_MAX_SEQ"):
        check_params(p, top + 1, 8)
    with pytest.raises(ValueError, match="TINYTX_MAX_REDUCTION / 2"):
        check_params(p, 4, kernel_limits().max_reduction // 2 + 1)
    bad = dataclasses.replace(p, scores=dataclasses.replace(p.scores, shift=20))
    with pytest.raises(ValueError, match="scores: shift 20"):
        check_params(bad, 4, 8)
    bad = dataclasses.replace(p, softmax=dataclasses.replace(p.softmax, left_shift=31))
    with pytest.raises(ValueError, match="softmax: left shift 31"):
        check_params(bad, 4, 8)
    with pytest.raises(ValueError, match="heads: 3 does not divide 8"):
        q = np.zeros((2, 8), np.int8)
        attention_steps_s8(q, q, q, 3, p)
