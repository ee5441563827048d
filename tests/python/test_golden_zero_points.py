"""Zero points and per-channel factors in the golden model: every offline fold
(input zero point into the bias, the conv pad value, the add offset, the MHSA q/k/v
biases) equals the unfolded integer arithmetic bit for bit, and the ops that need no
parameter (LayerNorm, max pooling) are exactly invariant."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tinytx.core import golden as g
from tinytx.core.golden.conv import windows
from tinytx.core.golden.dft import mhsa_dft_s8
from tinytx.core.golden.linear import Layout, fold_bias, fold_bias_depthwise, to_layout
from tinytx.core.golden.pool import window_counts
from tinytx.core.golden.quant import ChannelRequant, Requant, requantize, round_shift
from tinytx.core.golden.softmax import qk_softmax_s8

RNG_SEED = 20261202


def _rng(k: int) -> np.random.Generator:
    return np.random.default_rng([RNG_SEED, k])


def _s8(rng: np.random.Generator, shape: tuple[int, ...], lo: int = -128) -> np.ndarray:
    return rng.integers(lo, 128, shape).astype(np.int8)


def test_requantize_adds_the_zero_point_before_the_clamp() -> None:
    rng = _rng(1)
    acc = rng.integers(-(1 << 20), 1 << 20, 4000)
    for z in (-128, -37, 0, 5, 127):
        rq = Requant.from_scale(3e-4, zero_point=z)
        ref = np.clip(((acc * rq.multiplier + (1 << (rq.shift - 1))) >> rq.shift) + z, -128, 127)
        np.testing.assert_array_equal(requantize(acc, rq), ref)
        relu = dataclasses.replace(rq, act_min=z)
        assert int(requantize(acc, relu).min()) >= z


def test_requant_rejects_bad_zero_points() -> None:
    with pytest.raises(ValueError, match="zero_point"):
        Requant(1 << 30, 31, zero_point=128)
    with pytest.raises(ValueError, match="zero_point"):
        ChannelRequant((1 << 30,), (31,), zero_point=-129)
    with pytest.raises(ValueError, match="multipliers"):
        ChannelRequant((1 << 30, 1 << 30), (31,))
    with pytest.raises(ValueError, match="channel 1"):
        ChannelRequant((1 << 30, 1 << 30), (31, 0))


def test_channel_requant_equals_one_requant_per_column() -> None:
    rng = _rng(2)
    acc = rng.integers(-(1 << 22), 1 << 22, (7, 5))
    rq = ChannelRequant.from_scales([1e-3, 2e-4, 7e-5, 0.3, 1e-6], zero_point=-9, act_min=-100)
    y = requantize(acc, rq)
    for c in range(5):
        one = Requant(rq.multipliers[c], rq.shifts[c], act_min=-100, zero_point=-9)
        np.testing.assert_array_equal(y[:, c], requantize(acc[:, c], one))
    with pytest.raises(ValueError, match="5 channel factors"):
        requantize(acc[:, :4], rq)


@pytest.mark.parametrize("z_x", [-128, -3, 0, 77, 127])
@pytest.mark.parametrize("per_channel", [False, True])
def test_linear_bias_fold_equals_unfolded_arithmetic(z_x: int, per_channel: bool) -> None:
    rng = _rng(3 + z_x + 128)
    x, w = _s8(rng, (9, 13)), _s8(rng, (6, 13))
    b = rng.integers(-5000, 5000, 6).astype(np.int32)
    rq: Requant | ChannelRequant = Requant.from_scale(2e-3, zero_point=11)
    if per_channel:
        rq = ChannelRequant.from_scales(rng.uniform(5e-4, 5e-3, 6), zero_point=11)
    acc = (x.astype(np.int64) - z_x) @ w.astype(np.int64).T + b
    want = requantize(acc, rq)
    got = g.linear_s8(x, w, fold_bias(b, w, z_x), rq)
    np.testing.assert_array_equal(got, want)
    # the layouts of the attention projections see the same values
    got_t = g.linear_s8(x, w, fold_bias(b, w, z_x), rq, Layout.HEAD_MAJOR_T, 2)
    np.testing.assert_array_equal(got_t, to_layout(want, Layout.HEAD_MAJOR_T, 2))


def test_fold_bias_without_bias_and_bound() -> None:
    w = np.full((2, 3), 127, np.int8)
    assert fold_bias(None, w, 0) is None
    np.testing.assert_array_equal(fold_bias(None, w, -2), [762, 762])
    big = np.full((1, 65535), -128, np.int8)
    with pytest.raises(ValueError, match="TINYTX_BIAS_BOUND"):
        fold_bias(np.array([1 << 30], np.int32), big, 127)


def _conv_unfolded(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, z_x: int, stride, pad, depthwise: bool
) -> np.ndarray:
    """sum over every tap of (x - z_x) w, padded taps being real zeros, plus b."""
    kernel = w.shape[:2] if depthwise else w.shape[1:3]
    win = windows(x.astype(np.int64) - z_x, kernel, stride, pad, fill=0)
    eq = "abcyx,yxc->abc" if depthwise else "abcyx,oyxc->abo"
    return np.einsum(eq, win, w.astype(np.int64)) + b


@pytest.mark.parametrize("depthwise", [False, True])
@pytest.mark.parametrize("case", range(12))
def test_conv_bias_fold_with_pad_value_equals_unfolded(depthwise: bool, case: int) -> None:
    rng = _rng(100 + case + 50 * depthwise)
    h, wd, c = (int(v) for v in rng.integers(1, 7, 3))
    kh, kw = (int(v) for v in rng.integers(1, 4, 2))
    pad = tuple(int(v) for v in rng.integers(0, 3, 4))
    stride = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    kh, kw = min(kh, h + pad[0] + pad[2]), min(kw, wd + pad[1] + pad[3])  # window fits
    cout = c if depthwise else int(rng.integers(1, 6))
    x = _s8(rng, (h, wd, c))
    w = _s8(rng, (kh, kw, c) if depthwise else (cout, kh, kw, c))
    b = rng.integers(-3000, 3000, cout).astype(np.int32)
    z_x = int(rng.choice([-128, -20, 0, 9, 127]))
    rq: Requant | ChannelRequant = Requant.from_scale(1e-3, zero_point=int(rng.integers(-5, 6)))
    if case % 2:
        rq = ChannelRequant.from_scales(rng.uniform(1e-4, 3e-3, cout), zero_point=rq.zero_point)
    want = requantize(_conv_unfolded(x, w, b, z_x, stride, pad, depthwise), rq)
    if depthwise:
        folded = fold_bias_depthwise(b, w, z_x)
        got = g.depthwise_conv2d_s8(x, w, folded, rq, stride, pad, pad_value=z_x)
    else:
        got = g.conv2d_s8(x, w, fold_bias(b, w, z_x), rq, stride, pad, pad_value=z_x)
    np.testing.assert_array_equal(got, want)


def test_layernorm_is_exactly_invariant_to_an_input_offset() -> None:
    rng = _rng(4)
    for e in (1, 2, 7, 64, 300):
        x = rng.integers(-60, 60, (5, e)).astype(np.int16)
        gamma, beta = _s8(rng, (e,)), rng.integers(-4000, 4000, e).astype(np.int32)
        eps_q16, rq = g.layernorm_params(0.05, 1 / 64, 0.04, 1e-5, z_y=-3)
        base = g.layernorm_s8(x.astype(np.int8), gamma, beta, eps_q16, rq)
        for z in (-68, -1, 1, 67):
            shifted = (x + z).astype(np.int8)
            np.testing.assert_array_equal(g.layernorm_s8(shifted, gamma, beta, eps_q16, rq), base)


def test_add_offset_equals_unfolded_arithmetic() -> None:
    rng = _rng(5)
    a, b = _s8(rng, (3000,)), _s8(rng, (3000,))
    for z_a, z_b, z_y in ((-128, 127, 0), (5, -7, 33), (127, 127, -128), (0, 0, 12)):
        p = g.add_params(0.02, 0.013, 0.03, z_a, z_b, z_y)
        acc = (a.astype(np.int64) - z_a) * p.m_a + (b.astype(np.int64) - z_b) * p.m_b
        want = np.clip(round_shift(acc, p.shift) + z_y, -128, 127)
        np.testing.assert_array_equal(g.add_s8(a, b, p), want)
        assert p.offset == -(z_a * p.m_a + z_b * p.m_b)
        # the whole C sum stays inside int32
        assert 128 * (p.m_a + p.m_b) + abs(p.offset) + (1 << (p.shift - 1)) < 1 << 31


def test_add_params_offset_bound_is_enforced() -> None:
    with pytest.raises(ValueError, match="overflow"):
        g.AddParams(1 << 22, 1 << 22, 31, offset=-(1 << 30))
    with pytest.raises(ValueError, match="zero_point"):
        g.AddParams(1, 1, 1, zero_point=200)


def test_gelu_input_zero_point_is_a_shift_of_the_input() -> None:
    x = np.arange(-128, 128, dtype=np.int8)
    for z_in in (-128, -17, 0, 40, 127):
        p = g.gelu_params(0.05, 0.04, z_in, -20)
        xi = x.astype(np.int64) - z_in
        c = np.minimum(np.abs(xi), p.q_clip) - p.q_clip
        erf = np.sign(xi) * (p.q_one - c * c)
        np.testing.assert_array_equal(g.gelu_s8(x, p), requantize(xi * (erf + p.q_one), p.rq))
        assert p.rq.zero_point == -20


def test_pooling_input_zero_points_equal_unfolded_arithmetic() -> None:
    rng = _rng(6)
    x = _s8(rng, (5, 6, 3))
    for z in (-128, -9, 0, 100):
        rq = Requant.from_scale(0.7, zero_point=-4)
        for incl in (False, True):
            got = g.avgpool2d_s8(x, (3, 2), (2, 1), (1, 1, 1, 0), rq, incl, z)
            # reference: the window mean of (x - z) with padded positions 0
            total = windows(x.astype(np.int64) - z, (3, 2), (2, 1), (1, 1, 1, 0)).sum((3, 4))
            if incl:
                cnt = np.full(total.shape[:2], 6)
            else:
                cnt = window_counts(x.shape, (3, 2), (2, 1), (1, 1, 1, 0))
            cnt = cnt[:, :, None]
            num = total * rq.multiplier
            want = np.floor_divide(2 * num + cnt * (1 << rq.shift), cnt * (1 << (rq.shift + 1)))
            np.testing.assert_array_equal(got, np.clip(want - 4, -128, 127))
        rows = _s8(rng, (11, 4))
        rq_m = Requant.from_scale(1 / 11 * 0.9, zero_point=7)
        want_m = requantize((rows.astype(np.int64) - z).sum(axis=0), rq_m)
        np.testing.assert_array_equal(g.mean_rows_s8(rows, rq_m, z), want_m)
    # max pooling passes the zero point through: max commutes with the offset
    np.testing.assert_array_equal(
        g.maxpool2d_s8((x.astype(np.int16) // 2 + 3).astype(np.int8), (2, 2), (1, 1)),
        g.maxpool2d_s8((x.astype(np.int16) // 2).astype(np.int8), (2, 2), (1, 1)) + 3,
    )


def test_mhsa_input_zero_point_folded_into_qkv_biases() -> None:
    rng = _rng(7)
    s, e, h, p = 6, 10, 2, 4
    x = _s8(rng, (s, e))
    ws = [_s8(rng, (h * p, e)) for _ in range(3)] + [_s8(rng, (e, h * p))]
    bs = [rng.integers(-2000, 2000, n).astype(np.int32) for n in (h * p, h * p, h * p, e)]
    z_x = 23
    qp = g.MhsaQuant(
        Requant.from_scale(3e-3),
        Requant.from_scale(3e-3),
        Requant.from_scale(3e-3),
        g.softmax_requant(0.02),
        Requant.from_scale(1 / 256),
        Requant.from_scale(2e-3, zero_point=-31),
    )
    folded = g.MhsaWeights(
        ws[0],
        fold_bias(bs[0], ws[0], z_x),
        ws[1],
        fold_bias(bs[1], ws[1], z_x),
        ws[2],
        fold_bias(bs[2], ws[2], z_x),
        ws[3],
        bs[3],
    )
    got = g.mhsa_s8(x, h, folded, qp)
    # unfolded: the projections of (x - z_x) in int64, then the same attention
    xc = x.astype(np.int64) - z_x

    def proj(i: int, rq: Requant, layout: Layout) -> np.ndarray:
        return to_layout(requantize(xc @ ws[i].astype(np.int64).T + bs[i], rq), layout, h)

    q, k = proj(0, qp.q, Layout.HEAD_MAJOR), proj(1, qp.k, Layout.HEAD_MAJOR)
    vt = proj(2, qp.v, Layout.HEAD_MAJOR_T)
    o = g.av_s8(qk_softmax_s8(q, k, qp.softmax), vt, qp.av)
    want = requantize(o.astype(np.int64) @ ws[3].astype(np.int64).T + bs[3], qp.out)
    np.testing.assert_array_equal(got, want)


def test_mhsa_internal_zero_points_are_refused() -> None:
    rq = Requant.from_scale(1e-3)
    with pytest.raises(ValueError, match="symmetric"):
        g.MhsaQuant(dataclasses.replace(rq, zero_point=1), rq, rq, rq, rq, rq)
    g.MhsaQuant(rq, rq, rq, rq, rq, dataclasses.replace(rq, zero_point=1))


def test_mhsa_per_channel_projections_equal_hand_composition() -> None:
    rng = _rng(8)
    s, e, h, p = 5, 8, 2, 3
    x = _s8(rng, (s, e))
    ws = [_s8(rng, (h * p, e)) for _ in range(3)] + [_s8(rng, (e, h * p))]
    bs = [rng.integers(-500, 500, n).astype(np.int32) for n in (h * p, h * p, h * p, e)]
    w = g.MhsaWeights(ws[0], bs[0], ws[1], bs[1], ws[2], bs[2], ws[3], bs[3])

    def pc(n: int, z: int = 0) -> ChannelRequant:
        return ChannelRequant.from_scales(rng.uniform(1e-3, 4e-3, n), zero_point=z)

    qp = g.MhsaQuant(
        pc(h * p),
        pc(h * p),
        pc(h * p),
        g.softmax_requant(0.02),
        Requant.from_scale(1 / 256),
        pc(e, z=9),
    )
    xi = x.astype(np.int64)

    def proj(i: int, rq: ChannelRequant, layout: Layout) -> np.ndarray:
        return to_layout(requantize(xi @ ws[i].astype(np.int64).T + bs[i], rq), layout, h)

    q, k = proj(0, qp.q, Layout.HEAD_MAJOR), proj(1, qp.k, Layout.HEAD_MAJOR)
    o = g.av_s8(qk_softmax_s8(q, k, qp.softmax), proj(2, qp.v, Layout.HEAD_MAJOR_T), qp.av)
    want = requantize(o.astype(np.int64) @ ws[3].astype(np.int64).T + bs[3], qp.out)
    np.testing.assert_array_equal(g.mhsa_s8(x, h, w, qp), want)
    # the depth-first schedule slices the per-channel factors per head
    for tile in (1, 2, s):
        np.testing.assert_array_equal(mhsa_dft_s8(x, h, w, qp, tile), want)
