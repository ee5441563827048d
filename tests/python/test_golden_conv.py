"""Golden convolution, pooling and token mean (tinytx.core.golden.conv / pool).

Each operator is compared with a brute-force loop over the formula in its
docstring (Python integers), with its float reference within 1 LSB on calibrated
data, and (float references) with onnxruntime running the ONNX operator, so the
padding and count rules are ONNX's.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from tinytx.core.golden import (
    Requant,
    avgpool2d_float,
    avgpool2d_s8,
    conv2d_float,
    conv2d_s8,
    depthwise_conv2d_float,
    depthwise_conv2d_s8,
    maxpool2d_float,
    maxpool2d_s8,
    mean_rows_float,
    mean_rows_s8,
)
from tinytx.core.golden.conv import conv2d_acc
from tinytx.core.golden.limits import kernel_limits

# Geometries: (H, W, KH, KW, stride, padding (top, left, bottom, right)).
GEOMETRIES = [
    (1, 1, 1, 1, (1, 1), (0, 0, 0, 0)),
    (5, 7, 3, 3, (1, 1), (1, 1, 1, 1)),
    (6, 9, 3, 2, (2, 2), (1, 0, 2, 1)),
    (1, 33, 1, 5, (1, 2), (0, 2, 0, 2)),
    (8, 8, 2, 2, (2, 2), (0, 0, 0, 0)),
    (7, 3, 3, 3, (2, 1), (0, 1, 1, 0)),
]


def rand_s8(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.integers(-128, 128, size=shape).astype(np.int8)


def half_up(num: int, den: int) -> int:
    return math.floor(Fraction(num, den) + Fraction(1, 2))


def out_size(h: int, w: int, kh: int, kw: int, stride, pad) -> tuple[int, int]:
    return (h + pad[0] + pad[2] - kh) // stride[0] + 1, (w + pad[1] + pad[3] - kw) // stride[1] + 1


def pixel(x: np.ndarray, iy: int, ix: int, c: int) -> int | None:
    if 0 <= iy < x.shape[0] and 0 <= ix < x.shape[1]:
        return int(x[iy, ix, c])
    return None


def brute_conv(x, w, bias, rq, stride, pad, lo, hi, depthwise=False) -> np.ndarray:
    if depthwise:
        kh, kw, cout = w.shape
    else:
        cout, kh, kw, _ = w.shape
    oh, ow = out_size(x.shape[0], x.shape[1], kh, kw, stride, pad)
    y = np.zeros((oh, ow, cout), np.int8)
    for oy in range(oh):
        for ox in range(ow):
            for co in range(cout):
                acc = 0 if bias is None else int(bias[co])
                for ky in range(kh):
                    for kx in range(kw):
                        iy, ix = oy * stride[0] - pad[0] + ky, ox * stride[1] - pad[1] + kx
                        chans = [co] if depthwise else range(x.shape[2])
                        for ci in chans:
                            v = pixel(x, iy, ix, ci)
                            wv = int(w[ky, kx, co]) if depthwise else int(w[co, ky, kx, ci])
                            acc += 0 if v is None else v * wv
                q = half_up(acc * rq.multiplier, 1 << rq.shift)
                y[oy, ox, co] = min(hi, max(lo, q))
    return y


@pytest.mark.parametrize("geom", GEOMETRIES)
def test_conv2d_matches_brute_force(geom) -> None:
    h, w_, kh, kw, stride, pad = geom
    rng = np.random.default_rng(h * 100 + w_)
    for cin, cout, with_bias, relu in ((1, 3, True, False), (5, 2, False, True)):
        x = rand_s8(rng, h, w_, cin)
        w = rand_s8(rng, cout, kh, kw, cin)
        bias = rng.integers(-(1 << 16), 1 << 16, cout).astype(np.int32) if with_bias else None
        rq = Requant.from_scale(float(np.exp(rng.uniform(-9, -5))))
        lo = 0 if relu else -128
        got = conv2d_s8(x, w, bias, rq, stride, pad, act_min=lo)
        np.testing.assert_array_equal(got, brute_conv(x, w, bias, rq, stride, pad, lo, 127))


@pytest.mark.parametrize("geom", GEOMETRIES)
def test_depthwise_matches_brute_force(geom) -> None:
    h, w_, kh, kw, stride, pad = geom
    rng = np.random.default_rng(h * 10 + w_)
    x = rand_s8(rng, h, w_, 6)
    w = rand_s8(rng, kh, kw, 6)
    bias = rng.integers(-1000, 1000, 6).astype(np.int32)
    rq = Requant.from_scale(0.01, act_min=-20, act_max=90)
    got = depthwise_conv2d_s8(x, w, bias, rq, stride, pad)
    want = brute_conv(x, w, bias, rq, stride, pad, -20, 90, depthwise=True)
    np.testing.assert_array_equal(got, want)


def brute_general(x, w, rq, stride, pad, dil, depthwise) -> np.ndarray:
    """The formula with dilation and depth multiplier, pixel by pixel (padding: 0)."""
    kh, kw = (w.shape[0], w.shape[1]) if depthwise else (w.shape[1], w.shape[2])
    cout = w.shape[-1] if depthwise else w.shape[0]
    m = cout // x.shape[2]
    oh, ow = out_size(x.shape[0], x.shape[1], (kh - 1) * dil[0] + 1, (kw - 1) * dil[1] + 1,
                      stride, pad)  # fmt: skip
    y = np.zeros((oh, ow, cout), np.int8)
    for oy, ox, co in np.ndindex(oh, ow, cout):
        acc = 0
        for ky, kx in np.ndindex(kh, kw):
            iy = oy * stride[0] - pad[0] + ky * dil[0]
            ix = ox * stride[1] - pad[1] + kx * dil[1]
            chans = [co // m] if depthwise else range(x.shape[2])
            for ci in chans:
                v = pixel(x, iy, ix, ci)
                wv = int(w[ky, kx, co]) if depthwise else int(w[co, ky, kx, ci])
                acc += 0 if v is None else v * wv
        y[oy, ox, co] = min(127, max(-128, half_up(acc * rq.multiplier, 1 << rq.shift)))
    return y


@pytest.mark.parametrize("dil", [(2, 1), (1, 3), (2, 2)])
def test_dilation_and_depth_multiplier_match_brute_force(dil) -> None:
    rng = np.random.default_rng(dil[0] * 10 + dil[1])
    x = rand_s8(rng, 7, 8, 3)
    rq = Requant.from_scale(0.003)
    stride, pad = (1, 2), (2, 1, 1, 2)
    w = rand_s8(rng, 4, 3, 2, 3)
    got = conv2d_s8(x, w, None, rq, stride, pad, dilation=dil)
    np.testing.assert_array_equal(got, brute_general(x, w, rq, stride, pad, dil, False))
    wd = rand_s8(rng, 3, 2, 6)  # depth multiplier 2
    got = depthwise_conv2d_s8(x, wd, None, rq, stride, pad, dilation=dil)
    np.testing.assert_array_equal(got, brute_general(x, wd, rq, stride, pad, dil, True))


def test_depthwise_equals_grouped_conv() -> None:
    """Depthwise = a conv whose weights are zero off the channel diagonal."""
    rng = np.random.default_rng(3)
    x, w = rand_s8(rng, 6, 5, 3), rand_s8(rng, 3, 2, 3)
    full = np.zeros((3, 3, 2, 3), np.int8)
    for c in range(3):
        full[c, :, :, c] = w[:, :, c]
    rq = Requant.from_scale(0.02)
    got = depthwise_conv2d_s8(x, w, None, rq, (2, 1), (1, 0, 1, 1))
    np.testing.assert_array_equal(got, conv2d_s8(x, full, None, rq, (2, 1), (1, 0, 1, 1)))


def brute_pool(x, kernel, stride, pad, reduce) -> np.ndarray:
    oh, ow = out_size(x.shape[0], x.shape[1], *kernel, stride, pad)
    y = np.zeros((oh, ow, x.shape[2]), np.int64)
    for oy in range(oh):
        for ox in range(ow):
            for c in range(x.shape[2]):
                vals = [
                    pixel(x, oy * stride[0] - pad[0] + ky, ox * stride[1] - pad[1] + kx, c)
                    for ky in range(kernel[0])
                    for kx in range(kernel[1])
                ]
                y[oy, ox, c] = reduce(vals)
    return y


POOL_GEOMETRIES = [
    g for g in GEOMETRIES if max(g[5][0], g[5][2]) < g[2] and max(g[5][1], g[5][3]) < g[3]
]


@pytest.mark.parametrize("geom", POOL_GEOMETRIES)
def test_maxpool_matches_brute_force(geom) -> None:
    h, w_, kh, kw, stride, pad = geom
    x = rand_s8(np.random.default_rng(h + w_), h, w_, 3)
    x[0, 0, 0] = -128  # a corner window of all -128 next to padding
    got = maxpool2d_s8(x, (kh, kw), stride, pad)
    want = brute_pool(x, (kh, kw), stride, pad, lambda v: max(a for a in v if a is not None))
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("include_pad", [False, True])
@pytest.mark.parametrize("geom", POOL_GEOMETRIES)
def test_avgpool_matches_brute_force(geom, include_pad: bool) -> None:
    h, w_, kh, kw, stride, pad = geom
    rng = np.random.default_rng(h * 7 + w_)
    x = rand_s8(rng, h, w_, 4)
    for rq in (Requant.from_scale(0.7), Requant.from_scale(3.3, act_min=-50), Requant(5, 1)):

        def mean(vals, rq=rq):
            inside = [a for a in vals if a is not None]
            c = len(vals) if include_pad else len(inside)
            q = half_up(sum(inside) * rq.multiplier, c << rq.shift)
            return min(rq.act_max, max(rq.act_min, q))

        got = avgpool2d_s8(x, (kh, kw), stride, pad, rq, include_pad)
        np.testing.assert_array_equal(got, brute_pool(x, (kh, kw), stride, pad, mean))


def test_avgpool_rounds_ties_half_up() -> None:
    x = np.array([[[1], [2]], [[-3], [-2]]], np.int8)  # row sums 3 and -5 over 2
    y = avgpool2d_s8(x, (1, 2), (1, 1), (0, 0, 0, 0), Requant(1 << 30, 30))
    assert y.ravel().tolist() == [2, -2]  # 1.5 -> 2, -2.5 -> -2


def test_avgpool_tflite_rounding_averages_the_codes_half_away() -> None:
    """TFLite's int8 AVERAGE_POOL_2D: the codes' average rounded half away from zero, at
    any zero point (shared by input and output); a factor other than 1 is refused."""
    x = np.array([[[1], [2]], [[-3], [-2]]], np.int8)
    for z in (-128, 0, 5):
        rq = Requant(1 << 30, 30, zero_point=z, act_min=-128)
        y = avgpool2d_s8(x, (1, 2), (1, 1), (0, 0, 0, 0), rq, False, z, True)
        assert y.ravel().tolist() == [2, -3]  # 1.5 -> 2, -2.5 -> -3
    with pytest.raises(ValueError, match="tflite_rounding"):
        avgpool2d_s8(x, (1, 2), (1, 1), (0, 0, 0, 0), Requant(5, 1), False, 0, True)


def test_mean_rows_matches_brute_force() -> None:
    rng = np.random.default_rng(11)
    for s, e in ((1, 1), (81, 32), (66, 16), (7, 5)):
        x = rand_s8(rng, s, e)
        rq = Requant.from_scale(1.3 / s, act_min=-100)
        want = [
            min(
                127,
                max(
                    -100,
                    half_up(int(x[:, j].astype(np.int64).sum()) * rq.multiplier, 1 << rq.shift),
                ),
            )
            for j in range(e)
        ]
        assert mean_rows_s8(x, rq).tolist() == want


# -------------------------------------------------- integer vs float (calibrated)


def quantize(t: np.ndarray) -> tuple[np.ndarray, float]:
    scale = float(np.abs(t).max()) / 127.0
    return np.clip(np.rint(t / scale), -127, 127).astype(np.int8), scale


def ideal(y_real: np.ndarray, s_y: float, lo: int = -128) -> np.ndarray:
    return np.clip(y_real / s_y, lo, 127)


@pytest.mark.parametrize("geom", GEOMETRIES)
def test_conv_integer_tracks_float(geom) -> None:
    h, w_, kh, kw, stride, pad = geom
    rng = np.random.default_rng(40 + h * w_)
    xf = rng.normal(0, 1, (h, w_, 8))
    wf = rng.normal(0, 0.3, (5, kh, kw, 8))
    bf = rng.normal(0, 0.5, 5)
    x, s_x = quantize(xf)
    w, s_w = quantize(wf)
    bias = np.rint(bf / (s_x * s_w)).astype(np.int32)
    real = conv2d_float(x * s_x, w * s_w, bias * s_x * s_w, stride, pad)
    s_y = float(np.abs(real).max()) / 100.0
    rq = Requant.from_scale(s_x * s_w / s_y)
    for lo in (-128, 0):
        got = conv2d_s8(x, w, bias, rq, stride, pad, act_min=lo).astype(np.float64)
        assert np.abs(got - ideal(real, s_y, lo)).max() <= 0.5 + 1e-6

    wd, s_wd = quantize(rng.normal(0, 0.3, (kh, kw, 8)))
    real = depthwise_conv2d_float(x * s_x, wd * s_wd, None, stride, pad)
    s_y = max(float(np.abs(real).max()), 1e-3) / 100.0
    got = depthwise_conv2d_s8(x, wd, None, Requant.from_scale(s_x * s_wd / s_y), stride, pad)
    assert np.abs(got - ideal(real, s_y)).max() <= 0.5 + 1e-6


@pytest.mark.parametrize("geom", POOL_GEOMETRIES)
def test_pools_integer_track_float(geom) -> None:
    h, w_, kh, kw, stride, pad = geom
    x, s_x = quantize(np.random.default_rng(h * w_).normal(0, 1, (h, w_, 6)))
    np.testing.assert_array_equal(
        maxpool2d_s8(x, (kh, kw), stride, pad), maxpool2d_float(x, (kh, kw), stride, pad)
    )
    for include_pad in (False, True):
        real = avgpool2d_float(x * s_x, (kh, kw), stride, pad, include_pad)
        s_y = s_x * 0.8
        got = avgpool2d_s8(x, (kh, kw), stride, pad, Requant.from_scale(s_x / s_y), include_pad)
        assert np.abs(got - ideal(real, s_y)).max() <= 0.5 + 1e-6


def test_mean_rows_integer_tracks_float() -> None:
    rng = np.random.default_rng(5)
    for s, e in ((81, 32), (66, 16), (1, 3)):
        x, s_x = quantize(rng.normal(0.3, 1, (s, e)))
        real = mean_rows_float(x * s_x)
        s_y = float(np.abs(real).max()) / 120.0
        got = mean_rows_s8(x, Requant.from_scale(s_x / (s * s_y)))
        assert np.abs(got - ideal(real, s_y)).max() <= 0.5 + 1e-6


# --------------------------------------------- float references against onnxruntime


def run_onnx(
    node: onnx.NodeProto, x: np.ndarray, inits: list[onnx.TensorProto], out_shape
) -> np.ndarray:
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


def chw(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None]).astype(np.float32)


def hwc(y: np.ndarray) -> np.ndarray:
    return y[0].transpose(1, 2, 0)


@pytest.mark.parametrize("geom", GEOMETRIES)
def test_float_references_equal_onnxruntime(geom) -> None:
    h, w_, kh, kw, stride, pad = geom
    rng = np.random.default_rng(99)
    x = rng.normal(0, 1, (h, w_, 3)).astype(np.float32)
    w = rng.normal(0, 1, (4, kh, kw, 3)).astype(np.float32)
    b = rng.normal(0, 1, 4).astype(np.float32)
    attrs = {"kernel_shape": [kh, kw], "strides": list(stride), "pads": list(pad)}
    inits = [
        helper.make_tensor("w", TensorProto.FLOAT, [4, 3, kh, kw], w.transpose(0, 3, 1, 2).ravel()),
        helper.make_tensor("b", TensorProto.FLOAT, [4], b),
    ]
    y = run_onnx(helper.make_node("Conv", ["x", "w", "b"], ["y"], **attrs), chw(x), inits, None)
    np.testing.assert_allclose(hwc(y), conv2d_float(x, w, b, stride, pad), atol=1e-4)

    wd = rng.normal(0, 1, (kh, kw, 3)).astype(np.float32)
    inits = [
        helper.make_tensor("w", TensorProto.FLOAT, [3, 1, kh, kw], wd.transpose(2, 0, 1).ravel())
    ]
    node = helper.make_node("Conv", ["x", "w"], ["y"], group=3, **attrs)
    y = run_onnx(node, chw(x), inits, None)
    np.testing.assert_allclose(hwc(y), depthwise_conv2d_float(x, wd, None, stride, pad), atol=1e-4)

    if (h, w_, kh, kw, stride, pad) not in POOL_GEOMETRIES:
        return
    y = run_onnx(helper.make_node("MaxPool", ["x"], ["y"], **attrs), chw(x), [], None)
    np.testing.assert_allclose(hwc(y), maxpool2d_float(x, (kh, kw), stride, pad), atol=1e-6)
    for include_pad in (0, 1):
        node = helper.make_node("AveragePool", ["x"], ["y"], count_include_pad=include_pad, **attrs)
        if include_pad == 0:
            del node.attribute[[a.name for a in node.attribute].index("count_include_pad")]
        y = run_onnx(node, chw(x), [], None)  # include_pad=0: attribute absent (the default)
        want = avgpool2d_float(x, (kh, kw), stride, pad, bool(include_pad))
        np.testing.assert_allclose(hwc(y), want, atol=1e-5)


# ------------------------------------------------------------------ argument errors


def test_argument_errors() -> None:
    x = np.zeros((4, 4, 2), np.int8)
    w = np.zeros((3, 2, 2, 2), np.int8)
    rq = Requant.from_scale(0.1)
    cases = [
        (lambda: conv2d_s8(x.astype(np.int16), w, None, rq), "x:"),
        (lambda: conv2d_s8(x[0], w, None, rq), "x:"),
        (lambda: conv2d_s8(x, w[:, :, :, :1], None, rq), "w:"),
        (lambda: conv2d_s8(x, w, np.zeros(2, np.int32), rq), "bias:"),
        (lambda: conv2d_s8(x, w, np.full(3, (1 << 30) + 1, np.int32), rq), "bias:"),
        (lambda: conv2d_s8(x, w, None, rq, stride=(0, 1)), "stride:"),
        (lambda: conv2d_s8(x, w, None, rq, padding=(0, 0, -1, 0)), "padding:"),
        (lambda: conv2d_s8(x, w, None, rq, padding=(0, 0, 0)), "padding:"),
        (lambda: conv2d_s8(x, np.zeros((1, 5, 1, 2), np.int8), None, rq), "kernel:"),
        (lambda: conv2d_s8(x, w, None, Requant.from_scale(0.1, act_max=-5), act_min=0), "act_min:"),
        (lambda: depthwise_conv2d_s8(x, np.zeros((2, 2, 3), np.int8), None, rq), "w:"),
        (lambda: maxpool2d_s8(x, (2, 2), (1, 1), (2, 0, 0, 0)), "padding:"),
        (lambda: avgpool2d_s8(x, (2, 2), (1, 1), (0, 0, 0, 2), rq), "padding:"),
        (lambda: avgpool2d_s8(x, (5, 1), (1, 1), (0, 0, 0, 0), rq), "kernel:"),
        (lambda: mean_rows_s8(x, rq), "x:"),
        (lambda: mean_rows_s8(np.zeros((0, 3), np.int8), rq), "x:"),
    ]
    for call, prefix in cases:
        with pytest.raises(ValueError, match=f"^{prefix}"):
            call()
    max_k = kernel_limits().max_reduction
    big = np.zeros((1, 1, max_k + 1), np.int8)
    with pytest.raises(ValueError, match=r"^w:.*limit"):
        conv2d_acc(big, np.zeros((1, 1, 1, max_k + 1), np.int8), None)


def test_worst_case_accumulator_fits_int32() -> None:
    """KH*KW*C_in = MAX_K of -128 * -128 plus the largest bias stays below 2**31."""
    max_k = kernel_limits().max_reduction
    x = np.full((3, 3, max_k // 9), -128, np.int8)
    w = np.full((1, 3, 3, max_k // 9), -128, np.int8)
    acc = conv2d_acc(x, w, np.array([1 << 30], np.int32))
    assert int(acc.max()) < 2**31
    y = conv2d_s8(x, w, np.array([1 << 30], np.int32), Requant(1, 62))
    assert y.tolist() == [[[0]]]
