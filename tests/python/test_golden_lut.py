"""The golden table look-up (tinytx.core.golden.lut): the index rule, the table builder's
rounding (float32 like onnxruntime, ties to even), exact tables for Relu/Clip, and every
supported function within half an output LSB of its float64 value."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinytx.core import golden as g
from tinytx.core.golden.lut import UNARY_FUNCTIONS, table_inputs

CODES = np.arange(-128, 128, dtype=np.int8)

FUNCTIONS: dict[str, tuple[dict[str, float], object]] = {
    "Sigmoid": ({}, lambda x: 1.0 / (1.0 + math.exp(-x))),
    "Tanh": ({}, math.tanh),
    "Relu": ({}, lambda x: max(x, 0.0)),
    "LeakyRelu": ({"alpha": 0.1}, lambda x: x if x >= 0 else 0.1 * x),
    "Clip": ({"lo": -0.7, "hi": 1.3}, lambda x: min(max(x, -0.7), 1.3)),
    "HardSigmoid": ({"alpha": 0.25, "beta": 0.4}, lambda x: min(max(0.25 * x + 0.4, 0.0), 1.0)),
    "HardSwish": ({}, lambda x: x * min(max(x / 6.0 + 0.5, 0.0), 1.0)),
    "SiLU": ({}, lambda x: x / (1.0 + math.exp(-x))),
    "GeluErf": ({}, lambda x: 0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0)))),
    "GeluTanh": (
        {},
        lambda x: 0.5 * x * (1.0 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),
    ),
}


def test_every_function_is_tested() -> None:
    assert set(FUNCTIONS) == set(UNARY_FUNCTIONS)


def test_lut_indexes_by_the_input_byte() -> None:
    rng = np.random.default_rng(3)
    table = rng.integers(-128, 128, 256).astype(np.int8)
    x = rng.integers(-128, 128, (7, 5)).astype(np.int8)
    y = g.lut_s8(x, table)
    assert y.shape == x.shape and y.dtype == np.int8
    for got, v in zip(y.ravel(), x.ravel(), strict=True):
        assert got == table[int(v) & 0xFF]
    # table order: codes 0..127, then -128..-1
    assert list(table_inputs()[:2]) == [0, 1] and list(table_inputs()[127:130]) == [127, -128, -127]
    assert np.array_equal(g.lut_s8(table_inputs(), table), table)


def test_lut_errors() -> None:
    table = np.zeros(256, np.int8)
    with pytest.raises(ValueError, match="dtype int8"):
        g.lut_s8(np.zeros(3, np.int16), table)
    with pytest.raises(ValueError, match="empty"):
        g.lut_s8(np.zeros(0, np.int8), table)
    with pytest.raises(ValueError, match=r"shape \(256,\)"):
        g.lut_s8(np.zeros(3, np.int8), np.zeros(255, np.int8))
    with pytest.raises(ValueError, match="table: expected dtype int8"):
        g.lut_s8(np.zeros(3, np.int8), np.zeros(256, np.uint8))


def test_build_errors() -> None:
    relu = g.make_unary("Relu").fn
    with pytest.raises(ValueError, match="in_scale"):
        g.build_unary_table(relu, 0.0, 0, 1.0, 0)
    with pytest.raises(ValueError, match="out_scale"):
        g.build_unary_table(relu, 1.0, 0, math.inf, 0)
    with pytest.raises(ValueError, match="in_zero"):
        g.build_unary_table(relu, 1.0, 128, 1.0, 0)
    with pytest.raises(ValueError, match="qmin"):
        g.build_unary_table(relu, 1.0, 0, 1.0, 0, qmin=5, qmax=4)
    with pytest.raises(ValueError, match="non-finite"), np.errstate(divide="ignore"):
        g.build_unary_table(lambda x: np.float32(1.0) / x, 1.0, 0, 1.0, 0)
    with pytest.raises(ValueError, match="unary function 'Exp'"):
        g.make_unary("Exp")


def test_relu_and_clip_tables_are_exact() -> None:
    for z in (0, -20, 37):
        t = g.build_unary_table(g.make_unary("Relu").fn, 0.037, z, 0.037, z)
        assert np.array_equal(g.lut_s8(CODES, t), np.maximum(CODES, z).astype(np.int8))
    s = 0.05
    t = g.build_unary_table(g.make_unary("Clip", lo=-1.0, hi=2.0).fn, s, 0, s, 0)
    assert np.array_equal(g.lut_s8(CODES, t), np.clip(CODES, -20, 40).astype(np.int8))
    # a narrower output range is the fused clamp
    t = g.build_unary_table(g.make_unary("Relu").fn, s, 0, s, 0, qmin=-5, qmax=99)
    assert np.array_equal(g.lut_s8(CODES, t), np.clip(CODES, 0, 99).astype(np.int8))
    # LeakyRelu with a power-of-two slope at a power-of-two scale is exact too (ties included)
    t = g.build_unary_table(g.make_unary("LeakyRelu", alpha=0.25).fn, 1 / 16, 0, 1 / 16, 0)
    want = [c if c >= 0 else round(c / 4) for c in range(-128, 128)]  # round(): ties to even
    assert g.lut_s8(CODES, t).tolist() == want


def test_ties_round_to_even_as_quantize_linear() -> None:
    # y / s_out = q / 2: the odd codes sit exactly halfway between two integers
    t = g.lut_s8(CODES, g.build_unary_table(g.make_unary("Relu").fn, 0.5, 0, 1.0, 0))
    assert [int(t[c + 128]) for c in (1, 3, 5, 7, 9)] == [0, 2, 2, 4, 4]
    t = g.lut_s8(CODES, g.build_unary_table(g.make_unary("Clip").fn, 0.5, 0, 1.0, 0))
    assert [int(t[c + 128]) for c in (-1, -3, -5)] == [0, -2, -2]
    # and the output zero point is added after the rounding, then clamped
    t = g.lut_s8(CODES, g.build_unary_table(g.make_unary("Clip").fn, 0.5, 0, 1.0, 101))
    assert [int(t[c + 128]) for c in (1, 3, 127)] == [101, 103, 127]


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_tables_within_half_an_lsb_of_the_float_function(name: str) -> None:
    attrs, ref = FUNCTIONS[name]
    spec = g.make_unary(name, **attrs)
    rng = np.random.default_rng(len(name))
    for _ in range(20):
        s_x = math.exp(rng.uniform(math.log(0.004), math.log(0.25)))
        s_y = math.exp(rng.uniform(math.log(0.002), math.log(0.05)))
        z_x, z_y = (int(v) for v in rng.integers(-100, 100, 2))
        t = g.build_unary_table(spec.fn, s_x, z_x, s_y, z_y)
        got = g.lut_s8(CODES, t).astype(np.int64)
        for q, out in zip(range(-128, 128), got, strict=True):
            ideal = ref((q - z_x) * s_x) / s_y + z_y  # float64
            clamped = min(max(ideal, -128.0), 127.0)
            # 0.5 LSB, plus float32's relative error on the way (a few ulp of |ideal|)
            slack = 0.5 + 4e-7 * (abs(ideal - z_y) + 1.0)
            assert abs(out - clamped) <= slack, (name, q, s_x, z_x, s_y, z_y, out, ideal)


def test_descriptions_name_the_attributes() -> None:
    assert g.make_unary("Sigmoid").description == "Sigmoid"
    assert g.make_unary("Clip", lo=0.0, hi=None).description == "Clip(lo=0)"
    assert g.make_unary("HardSigmoid", alpha=0.2, beta=0.5).description == (
        "HardSigmoid(alpha=0.2, beta=0.5)"
    )
