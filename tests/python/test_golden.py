"""Unit tests of the integer golden model (tinytx.core.golden).

The golden model is the specification, so most tests compare it with an independent
brute-force implementation of the formula in its docstring (pure Python integers or
exact fractions), check the documented layouts element by element, or compare it
with the float reference within a bound derived from the approximation.
"""

from __future__ import annotations

import argparse
import json
import math
from fractions import Fraction

import numpy as np
import pytest

from tinytx.cli.commands import accuracy as accuracy_cmd
from tinytx.core import accuracy
from tinytx.core.golden import (
    FwsaQuant,
    FwsaWeights,
    Layout,
    MhsaQuant,
    MhsaWeights,
    Requant,
    add_params,
    add_s8,
    av_s8,
    fwsa_float,
    fwsa_trace,
    gelu_float,
    gelu_params,
    gelu_s8,
    i_exp,
    layernorm_float,
    layernorm_params,
    layernorm_s8,
    linear_s8,
    mhsa_float,
    mhsa_s8,
    mhsa_trace,
    qk_softmax_s8,
    quantize_multiplier,
    requantize,
    softmax_float,
    softmax_requant,
)
from tinytx.core.golden.gelu import ERF_A, ERF_CLIP
from tinytx.core.golden.layernorm import row_normalizer
from tinytx.core.golden.limits import kernel_limits
from tinytx.core.golden.softmax import EXP_SCALE, LN2_Q, LOGIT_MIN, softmax_rows

# --------------------------------------------------------------------------- helpers

# the kernels' limits, from the C headers (the golden model refuses beyond them)
LIMITS = kernel_limits()
MAX_K = LIMITS.max_reduction
MAX_KV = LIMITS.softmax_max_kv
MAX_E = LIMITS.layernorm_max_features
Q_ONE_LIMIT = LIMITS.gelu_q_one_limit


def rng_for(name: str) -> np.random.Generator:
    """A generator seeded from the test's name: fixed, but different per test."""
    return np.random.default_rng(sum(ord(c) * 31**i for i, c in enumerate(name)) % 2**32)


def rand_s8(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.integers(-128, 128, size=shape).astype(np.int8)


def floor_half_up(num: int, den: int) -> int:
    """round(num / den) with ties towards +inf, on exact integers."""
    return math.floor(Fraction(num, den) + Fraction(1, 2))


def ref_requantize(acc: int, m: int, s: int, lo: int = -128, hi: int = 127) -> int:
    """The documented requantization on Python integers: round half up, then clamp."""
    return min(hi, max(lo, floor_half_up(acc * m, 1 << s)))


def quantize_sym(t: np.ndarray, dtype: type = np.int8) -> tuple[np.ndarray, float]:
    """Symmetric per-tensor int8 quantization: (q, scale) with scale = max|t| / 127."""
    scale = float(np.abs(t).max()) / 127.0
    return np.clip(np.rint(t / scale), -127, 127).astype(dtype), scale


def quantize_bias(b: np.ndarray, scale: float) -> np.ndarray:
    return np.rint(np.asarray(b) / scale).astype(np.int32)


def split_heads(y: np.ndarray, heads: int) -> np.ndarray:
    """Float ``[S][H*P]`` -> ``[H][S][P]``."""
    s = y.shape[0]
    return y.reshape(s, heads, -1).transpose(1, 0, 2)


def attention_probs_float(x, heads, wq, bq, wk, bk) -> np.ndarray:
    q = split_heads(x @ wq.T + bq, heads)
    k = split_heads(x @ wk.T + bk, heads)
    return softmax_float(q @ k.transpose(0, 2, 1) / math.sqrt(q.shape[2]))


def fuse_qk(wq, bq, wk, heads: int) -> tuple[np.ndarray, np.ndarray]:
    """FWSA fusion of linear-layer weights ``[H*P][E]``: (W ``[H][E][E]``, b ``[H][E]``).

    ``W_h[e, f] = sum_p Wq[hP+p, e] Wk[hP+p, f] / sqrt(P)`` and
    ``b_h[f] = sum_p Wk[hP+p, f] bq[hP+p] / sqrt(P)``.
    """
    n, e = wq.shape
    p = n // heads
    wq_h = wq.reshape(heads, p, e)
    wk_h = wk.reshape(heads, p, e)
    w = np.einsum("hpe,hpf->hef", wq_h, wk_h) / math.sqrt(p)
    b = np.einsum("hpf,hp->hf", wk_h, bq.reshape(heads, p)) / math.sqrt(p)
    return w, b


# ------------------------------------------------------------ quantize_multiplier


def test_quantize_multiplier_normalized_and_accurate() -> None:
    rng = rng_for("qm")
    reals = np.exp(rng.uniform(math.log(1e-9), math.log(1e8), size=3000))
    reals = [*reals.tolist(), 1e-9, 1e8, 1.0, 0.5, 0.75, 2.0**-31, 1.0 - 2.0**-40]
    for real in reals:
        m, s = quantize_multiplier(real, "r")
        assert 1 << 30 <= m < 1 << 31, (real, m)
        assert 1 <= s <= 62, (real, s)
        rel = abs(Fraction(m, 1 << s) - Fraction(real)) / Fraction(real)
        assert rel < Fraction(1, 1 << 30), (real, m, s, float(rel))


def test_quantize_multiplier_exact_values() -> None:
    assert quantize_multiplier(1.0) == (1 << 30, 30)
    assert quantize_multiplier(0.5) == (1 << 30, 31)
    assert quantize_multiplier(0.75) == (3 << 29, 31)
    # mantissa rounds up to 2**31: renormalized, not overflowing
    assert quantize_multiplier(1.0 - 2.0**-40) == (1 << 30, 30)


def test_quantize_multiplier_saturated_shift() -> None:
    real = 2.0**-40 * 1.2345
    m, s = quantize_multiplier(real)
    assert s == 62
    assert abs(m / 2.0**62 - real) <= 2.0**-63  # loses bits but rounds to nearest


@pytest.mark.parametrize(
    "bad", [0, 0.0, -1.0, -1e-3, math.nan, math.inf, -math.inf, 2.0**30, 1e12, 2.0**-70, "1"]
)
def test_quantize_multiplier_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match=r"^my_factor: "):
        quantize_multiplier(bad, "my_factor")  # type: ignore[arg-type]


def test_requant_checks_fields() -> None:
    with pytest.raises(ValueError, match="multiplier"):
        Requant(1 << 31, 10)
    with pytest.raises(ValueError, match="shift"):
        Requant(1 << 30, 0)
    with pytest.raises(ValueError, match="shift"):
        Requant(1 << 30, 63)
    with pytest.raises(ValueError, match="act_min"):
        Requant(1 << 30, 31, act_min=10, act_max=5)
    assert Requant.from_scale(0.25).real == 0.25


# --------------------------------------------------------------------- requantize


def test_requantize_matches_brute_force() -> None:
    rng = rng_for("rq")
    edge = [0, 1, -1, 2**31 - 1, -(2**31), 12345, -12345]
    for shift in (1, 2, 7, 15, 31, 40, 61, 62):
        for m in (0, 1, 2**30, 2**31 - 1, int(rng.integers(1, 2**31))):
            rq = Requant(m, shift)
            acc = np.array(edge + rng.integers(-(2**31), 2**31, size=40).tolist(), np.int64)
            got = requantize(acc, rq)
            assert got.dtype == np.int8
            want = [ref_requantize(int(a), m, shift) for a in acc]
            assert got.tolist() == want, (m, shift)


def test_requantize_small_values_near_ties() -> None:
    # factor 2**-8: acc in [-1000, 1000] covers many exact ties without clamping.
    rq = Requant(1 << 30, 38)
    acc = np.arange(-1000, 1001)
    assert requantize(acc, rq).tolist() == [ref_requantize(int(a), 1 << 30, 38) for a in acc]


def test_requantize_ties_round_half_up() -> None:
    half = Requant(1 << 30, 31)  # factor 0.5
    acc = np.array([-5, -3, -1, 1, 3, 5])
    # -2.5 -> -2, -1.5 -> -1, -0.5 -> 0, 0.5 -> 1, 1.5 -> 2, 2.5 -> 3
    assert requantize(acc, half).tolist() == [-2, -1, 0, 1, 2, 3]
    shift1 = Requant(1, 1)  # factor 0.5 with the smallest shift
    assert requantize(acc, shift1).tolist() == [-2, -1, 0, 1, 2, 3]


def test_requantize_clamps_to_activation_range() -> None:
    relu6 = Requant(1 << 30, 30, act_min=0, act_max=6)  # factor 1
    acc = np.array([-300, -1, 0, 3, 6, 7, 300])
    assert requantize(acc, relu6).tolist() == [0, 0, 0, 3, 6, 6, 6]
    assert requantize(np.array([10**9, -(10**9)]), Requant(1 << 30, 30)).tolist() == [127, -128]


def test_requantize_rejects_non_int32_accumulators() -> None:
    with pytest.raises(ValueError, match="int32"):
        requantize(np.array([2**31]), Requant(1 << 30, 31))


# ------------------------------------------------------------------------- linear


def _linear_case(rng: np.random.Generator, s=5, e=12, heads=3, p=4):
    x = rand_s8(rng, s, e)
    w = rand_s8(rng, heads * p, e)
    bias = rng.integers(-5000, 5000, size=heads * p).astype(np.int32)
    rq = Requant.from_scale(1 / 300.0)
    return x, w, bias, rq


def test_linear_token_major_matches_brute_force() -> None:
    x, w, bias, rq = _linear_case(rng_for("lin"))
    y = linear_s8(x, w, bias, rq)
    for s in range(x.shape[0]):
        for n in range(w.shape[0]):
            acc = sum(int(x[s, k]) * int(w[n, k]) for k in range(x.shape[1])) + int(bias[n])
            assert y[s, n] == ref_requantize(acc, rq.multiplier, rq.shift)
    y0 = linear_s8(x, w, None, rq)
    acc0 = x.astype(np.int64) @ w.astype(np.int64).T
    assert np.array_equal(y0, requantize(acc0, rq))


def test_linear_layouts() -> None:
    heads, p = 3, 4
    x, w, bias, rq = _linear_case(rng_for("layouts"), heads=heads, p=p)
    tm = linear_s8(x, w, bias, rq, Layout.TOKEN_MAJOR, heads)
    hm = linear_s8(x, w, bias, rq, Layout.HEAD_MAJOR, heads)
    hmt = linear_s8(x, w, bias, rq, Layout.HEAD_MAJOR_T, heads)
    s_len = x.shape[0]
    assert tm.shape == (s_len, heads * p)
    assert hm.shape == (heads, s_len, p)
    assert hmt.shape == (heads, p, s_len)
    assert hm.flags.c_contiguous and hmt.flags.c_contiguous
    for h in range(heads):
        for s in range(s_len):
            for q in range(p):
                assert hm[h, s, q] == tm[s, h * p + q]
                assert hmt[h, q, s] == tm[s, h * p + q]


@pytest.mark.parametrize(
    ("change", "name"),
    [
        ({"w": np.zeros((12, 12), np.int16)}, "w"),
        ({"w": np.zeros((12, 11), np.int8)}, "w"),
        ({"w": np.zeros(12, np.int8)}, "w"),
        ({"bias": np.zeros(12, np.int64)}, "bias"),
        ({"bias": np.zeros(11, np.int32)}, "bias"),
        ({"bias": np.full(12, 2**30 + 1, np.int32)}, "bias"),
        ({"heads": 5}, "heads"),
        ({"heads": 0}, "heads"),
        ({"x": np.zeros((5, 12), np.float32)}, "x"),
        ({"x": np.zeros(12, np.int8)}, "x"),
        ({"x": np.zeros((0, 12), np.int8)}, "x"),
    ],
)
def test_linear_argument_errors(change: dict, name: str) -> None:
    x, w, bias, rq = _linear_case(rng_for("linerr"))
    args = {"x": x, "w": w, "bias": bias, "rq": rq, "layout": Layout.HEAD_MAJOR, "heads": 3}
    args.update(change)
    with pytest.raises(ValueError, match=rf"^{name}: "):
        linear_s8(**args)


def test_linear_rejects_too_many_input_features() -> None:
    k = MAX_K + 1
    with pytest.raises(ValueError, match=r"^x: "):
        linear_s8(np.ones((1, k), np.int8), np.ones((1, k), np.int8), None, Requant(1, 1))


def test_linear_worst_case_accumulator_fits_int32() -> None:
    k = MAX_K
    x = np.full((1, k), -128, np.int8)
    w = np.full((1, k), -128, np.int8)
    bias = np.array([2**30], np.int32)
    assert k * 128 * 128 + 2**30 <= 2**31 - 1
    assert linear_s8(x, w, bias, Requant(1, 62)).tolist() == [[0]]


# ------------------------------------------------------------------- i-exp/softmax


def test_i_exp_constants() -> None:
    assert LN2_Q == round(math.log(2) * 1024)
    assert i_exp(np.array([0]))[0] == 1385**2 + 1006164
    assert abs(i_exp(np.array([0]))[0] * EXP_SCALE - 1.0) < 1e-3
    assert MAX_KV * int(i_exp(np.array([0]))[0]) < 2**32


def test_i_exp_against_exp() -> None:
    x = np.arange(LOGIT_MIN, 1, dtype=np.int64)
    e = i_exp(x)
    approx = e * EXP_SCALE
    exact = np.exp(x / 1024.0)
    # Monotonic: non-increasing as the logit decreases.
    assert np.all(np.diff(e) >= 0)
    assert e[0] == 0 and e.min() >= 0
    # Error model: the I-BERT polynomial is within 0.36 % of exp on (-ln2, 0]; each
    # of the z halvings stands for 710/1024 instead of ln 2 (LN2_Q is rounded), a
    # factor exp(z * 2.12e-4) (0.64 % at z = 30); the final >> z truncates < 1 LSB.
    z = (-x) // LN2_Q
    drift = np.abs(1.0 - np.exp(-z * (math.log(2) - LN2_Q / 1024.0)))
    bound = (0.0037 + drift) * exact + EXP_SCALE
    assert np.all(np.abs(approx - exact) <= bound)
    # Where the result keeps >= ~1000 LSBs (x >= -8) the relative error is < 1.5 %.
    keep = x >= -8 * 1024
    rel = np.abs(approx[keep] - exact[keep]) / exact[keep]
    assert rel.max() < 0.015
    # Underflow is harmless: everything that rounds to 0 is below exp(-14.8).
    assert exact[e == 0].max() < math.exp(-14.8)


def test_i_exp_rejects_positive_logits_and_clamps_low_ones() -> None:
    with pytest.raises(ValueError, match="<= 0"):
        i_exp(np.array([1]))
    assert i_exp(np.array([LOGIT_MIN - 10**6, LOGIT_MIN])).tolist() == [0, 0]


def ref_softmax_row(scores: list[int], m: int, s: int) -> list[int]:
    """The documented integer softmax of one row, on Python integers."""
    top = max(scores)
    out_e = []
    for sc in scores:
        x = max(floor_half_up((sc - top) * m, 1 << s), LOGIT_MIN)
        z = -x // 710
        r = x + z * 710
        out_e.append(0 if z > 30 else ((r + 1385) ** 2 + 1006164) >> z)
    total = sum(out_e)
    return [min(255, (e * 256 + total // 2) // total) for e in out_e]


def test_softmax_rows_match_brute_force() -> None:
    rng = rng_for("softmax-bf")
    for score_scale in (1 / 64, 1 / 3000, 0.37):
        rq = softmax_requant(score_scale)
        for length in (1, 3, 17, 100):
            scores = rng.integers(-(2**20), 2**20, size=(3, length)).astype(np.int32)
            scores[0] = rng.integers(-600, 600, size=length)  # mostly un-underflowed
            got = softmax_rows(scores, rq)
            for row, want_row in zip(got, scores, strict=True):
                want = ref_softmax_row([int(v) for v in want_row], rq.multiplier, rq.shift)
                assert row.tolist() == want, (score_scale, length)


@pytest.mark.parametrize("length", [1, 2, 8, 64, 256, 1024])
def test_softmax_rows_sum_and_float_agreement(length: int) -> None:
    rng = rng_for(f"softmax{length}")
    score_scale = 1 / 64
    logits = rng.uniform(-8, 8, size=(60, length))
    scores = np.rint(logits / score_scale).astype(np.int32)
    p = softmax_rows(scores, softmax_requant(score_scale)).astype(np.int64)
    # each probability is rounded by at most 1/2 LSB; a lone 256 is clamped to 255
    assert np.all(np.abs(p.sum(axis=1) - 256) <= length / 2 + 1)
    ref = softmax_float(scores * score_scale)
    assert np.abs(p / 256 - ref).max() <= 2 / 256
    ideal = np.clip(np.floor(ref * 256 + 0.5), 0, 255)
    assert np.abs(p - ideal).max() <= 1
    if length == 1:
        assert np.all(p == 255)


def test_softmax_uniform_and_shift_invariant() -> None:
    rq = softmax_requant(1 / 64)
    scores = np.zeros((1, 16), np.int32)
    assert np.all(softmax_rows(scores, rq) == 16)
    base = rng_for("shift").integers(-500, 500, size=(4, 32)).astype(np.int32)
    assert np.array_equal(softmax_rows(base, rq), softmax_rows(base + 12345, rq))


def test_softmax_rejects_too_many_keys() -> None:
    with pytest.raises(ValueError, match=r"^k: "):
        softmax_rows(np.zeros((1, MAX_KV + 1), np.int32), softmax_requant(1 / 64))


def test_qk_softmax_brute_force_and_shared_keys() -> None:
    rng = rng_for("qk")
    heads, s, p = 3, 7, 8
    q = rand_s8(rng, heads, s, p)
    k1 = rand_s8(rng, 1, s, p)
    rq = softmax_requant(1.0 / 4000)
    shared = qk_softmax_s8(q, k1, rq)
    repeated = qk_softmax_s8(q, np.repeat(k1, heads, axis=0), rq)
    assert shared.dtype == np.uint8 and shared.shape == (heads, s, s)
    assert np.array_equal(shared, repeated)
    k = rand_s8(rng, heads, s, p)
    a = qk_softmax_s8(q, k, rq)
    for h in range(heads):
        scores = q[h].astype(np.int64) @ k[h].astype(np.int64).T
        assert np.array_equal(a[h], softmax_rows(scores, rq))
    with pytest.raises(ValueError, match=r"^k: "):
        qk_softmax_s8(q, k[:2], rq)
    with pytest.raises(ValueError, match=r"^k: "):
        qk_softmax_s8(q, k[:, :, :4], rq)


# ---------------------------------------------------------------------- A*V, MHSA


def test_av_layout_matches_brute_force() -> None:
    rng = rng_for("av")
    heads, s_q, s_kv, p = 2, 5, 6, 3
    a = rng.integers(0, 256, size=(heads, s_q, s_kv)).astype(np.uint8)
    vt = rand_s8(rng, heads, p, s_kv)
    rq = Requant.from_scale(1 / 512)
    o = av_s8(a, vt, rq)
    assert o.shape == (s_q, heads * p)
    for h in range(heads):
        for i in range(s_q):
            for c in range(p):
                acc = sum(int(a[h, i, j]) * int(vt[h, c, j]) for j in range(s_kv))
                assert o[i, h * p + c] == ref_requantize(acc, rq.multiplier, rq.shift)
    with pytest.raises(ValueError, match=r"^a: "):
        av_s8(a.astype(np.int8), vt, rq)
    with pytest.raises(ValueError, match=r"^vt: "):
        av_s8(a, vt[:, :, :4], rq)


class _Setup:
    """A realistic float attention block and its int8 quantization (per-tensor scales).

    Activation scales are calibrated on the float reference run on dequantized
    weights, so the Requant factors are the ones a converter would emit.
    """

    def __init__(self, seed_name: str, s=16, e=32, heads=2, p=16) -> None:
        rng = rng_for(seed_name)
        self.heads, self.p = heads, p
        n = heads * p
        x = rng.normal(0.0, 1.0, size=(s, e))

        def lin(out_f, in_f, gain=1.0):
            return rng.normal(0.0, gain / math.sqrt(in_f), size=(out_f, in_f))

        self.xq, self.s_x = quantize_sym(x)
        self.x = self.xq * self.s_x
        raw = {
            "wq": lin(n, e, 2.0),
            "wk": lin(n, e, 2.0),
            "wv": lin(n, e),
            "wo": lin(e, n),
            "bq": rng.normal(0.0, 0.5, n),
            "bk": rng.normal(0.0, 0.5, n),
            "bv": rng.normal(0.0, 0.1, n),
            "bo": rng.normal(0.0, 0.1, e),
        }
        self.wq_s8 = {}
        self.f = {}  # float weights exactly representable by the int8 ones
        for name in ("wq", "wk", "wv", "wo"):
            q, sc = quantize_sym(raw[name])
            self.wq_s8[name] = (q, sc)
            self.f[name] = q * sc
        for b in ("bq", "bk", "bv", "bo"):
            self.f[b] = raw[b]

    def calibrate(self, t: np.ndarray) -> float:
        return float(np.abs(t).max()) / 127.0


def _mhsa_quant(st: _Setup):
    f, x, h = st.f, st.x, st.heads
    q_f = x @ f["wq"].T + f["bq"]
    k_f = x @ f["wk"].T + f["bk"]
    v_f = x @ f["wv"].T + f["bv"]
    a_f = attention_probs_float(x, h, f["wq"], f["bq"], f["wk"], f["bk"])
    o_f = (a_f @ split_heads(v_f, h)).transpose(1, 0, 2).reshape(x.shape[0], -1)
    y_f = mhsa_float(x, h, f["wq"], f["bq"], f["wk"], f["bk"], f["wv"], f["bv"], f["wo"], f["bo"])
    s_q, s_k, s_v, s_o, s_y = map(st.calibrate, (q_f, k_f, v_f, o_f, y_f))
    (wq, s_wq), (wk, s_wk), (wv, s_wv), (wo, s_wo) = (st.wq_s8[n] for n in ("wq", "wk", "wv", "wo"))
    weights = MhsaWeights(
        wq=wq,
        bq=quantize_bias(f["bq"], st.s_x * s_wq),
        wk=wk,
        bk=quantize_bias(f["bk"], st.s_x * s_wk),
        wv=wv,
        bv=quantize_bias(f["bv"], st.s_x * s_wv),
        wo=wo,
        bo=quantize_bias(f["bo"], s_o * s_wo),
    )
    quant = MhsaQuant(
        q=Requant.from_scale(st.s_x * s_wq / s_q),
        k=Requant.from_scale(st.s_x * s_wk / s_k),
        v=Requant.from_scale(st.s_x * s_wv / s_v),
        softmax=softmax_requant(s_q * s_k / math.sqrt(st.p)),
        av=Requant.from_scale(s_v / 256 / s_o),
        out=Requant.from_scale(s_o * s_wo / s_y),
    )
    return weights, quant, y_f, s_y, a_f


def test_mhsa_equals_hand_composition() -> None:
    st = _Setup("mhsa-compose")
    w, qp, *_ = _mhsa_quant(st)
    x, h = st.xq, st.heads
    s_len = x.shape[0]
    # Token-major projections, split into heads by hand.
    q = linear_s8(x, w.wq, w.bq, qp.q).reshape(s_len, h, -1).transpose(1, 0, 2)
    k = linear_s8(x, w.wk, w.bk, qp.k).reshape(s_len, h, -1).transpose(1, 0, 2)
    v = linear_s8(x, w.wv, w.bv, qp.v).reshape(s_len, h, -1).transpose(1, 0, 2)
    scores = np.einsum("hip,hjp->hij", q.astype(np.int64), k.astype(np.int64))
    a = softmax_rows(scores, qp.softmax)
    acc = np.einsum("hij,hjp->ihp", a.astype(np.int64), v.astype(np.int64))
    o = requantize(acc.reshape(s_len, -1), qp.av)
    y = linear_s8(o, w.wo, w.bo, qp.out)
    trace = mhsa_trace(x, h, w, qp)
    assert np.array_equal(trace["a"], a)
    assert np.array_equal(trace["o"], o)
    assert np.array_equal(trace["vt"], v.transpose(0, 2, 1))
    assert np.array_equal(mhsa_s8(x, h, w, qp), y)


def test_mhsa_integer_close_to_float() -> None:
    st = _Setup("mhsa-float")
    w, qp, y_f, s_y, a_f = _mhsa_quant(st)
    trace = mhsa_trace(st.xq, st.heads, w, qp)
    # The integer softmax against float softmax of the *integer* Q and K: within
    # 2 LSB (1/256). Against the fully float probabilities the int8 rounding of Q
    # and K adds several LSB on sharp rows (here up to ~8 LSB).
    q_d = trace["q"] * (st.s_x * st.wq_s8["wq"][1] / qp.q.real)
    k_d = trace["k"] * (st.s_x * st.wq_s8["wk"][1] / qp.k.real)
    a_qk = softmax_float(q_d @ k_d.transpose(0, 2, 1) / math.sqrt(st.p))
    assert np.abs(trace["a"] / 256.0 - a_qk).max() <= 2 / 256
    assert np.abs(trace["a"] / 256.0 - a_f).max() <= 12 / 256
    # The block output (dequantized) against float MHSA on the dequantized input
    # and weights, in output LSBs.
    y = trace["y"].astype(np.float64) * s_y
    err_lsb = np.abs(y - y_f) / s_y
    assert np.corrcoef(y.ravel(), y_f.ravel())[0, 1] > 0.999
    assert err_lsb.mean() < 1.0
    assert err_lsb.max() < 6


# --------------------------------------------------------------------------- FWSA


def _fwsa_float_setup(seed_name: str):
    rng = rng_for(seed_name)
    s, e, heads, p = 10, 8, 2, 8
    n = heads * p
    x = rng.normal(size=(s, e))
    w = {k: rng.normal(0.0, 0.5, size=(n, e)) for k in ("wq", "wk", "wv")}
    w["wo"] = rng.normal(0.0, 0.3, size=(e, n))
    for b, size in (("bq", n), ("bk", n), ("bv", n), ("bo", e)):
        w[b] = rng.normal(0.0, 1.0, size=size)
    return x, heads, w


def test_fwsa_float_equals_mhsa_float() -> None:
    x, heads, w = _fwsa_float_setup("fwsa-float")
    wf, bf = fuse_qk(w["wq"], w["bq"], w["wk"], heads)
    y_mhsa = mhsa_float(
        x, heads, w["wq"], w["bq"], w["wk"], w["bk"], w["wv"], w["bv"], w["wo"], w["bo"]
    )
    y_fwsa = fwsa_float(x, heads, wf, bf, w["wv"], w["bv"], w["wo"], w["bo"])
    np.testing.assert_allclose(y_fwsa, y_mhsa, rtol=0, atol=1e-9)
    # The probabilities themselves agree: the fused bias is exactly the part of
    # q_i . k_j that varies with j; bk only adds row constants.
    a_mhsa = attention_probs_float(x, heads, w["wq"], w["bq"], w["wk"], w["bk"])
    a_fwsa = softmax_float((np.einsum("se,hef->hsf", x, wf) + bf[:, None, :]) @ x.T)
    np.testing.assert_allclose(a_fwsa, a_mhsa, rtol=0, atol=1e-12)
    # Sensitivity: without the fused bias the result is different.
    y_nobias = fwsa_float(x, heads, wf, np.zeros_like(bf), w["wv"], w["bv"], w["wo"], w["bo"])
    assert np.abs(y_nobias - y_mhsa).max() > 1e-3


def test_fwsa_integer_close_to_float() -> None:
    x, heads, w = _fwsa_float_setup("fwsa-int")
    e = x.shape[1]
    xq, s_x = quantize_sym(x)
    xd = xq * s_x
    wf, bf = fuse_qk(w["wq"], w["bq"], w["wk"], heads)
    wf_q, s_wf = quantize_sym(wf)
    wf_d = wf_q * s_wf
    wv_q, s_wv = quantize_sym(w["wv"])
    wo_q, s_wo = quantize_sym(w["wo"])
    wv_d, wo_d = wv_q * s_wv, wo_q * s_wo
    # Float references on exactly the dequantized tensors.
    t_f = np.einsum("se,hef->hsf", xd, wf_d) + bf[:, None, :]
    a_f = softmax_float(t_f @ xd.T)
    v_f = xd @ wv_d.T + w["bv"]
    o_f = (a_f @ split_heads(v_f, heads)).transpose(1, 0, 2).reshape(x.shape[0], -1)
    y_f = fwsa_float(xd, heads, wf_d, bf, wv_d, w["bv"], wo_d, w["bo"])
    s_t, s_v, s_o, s_y = (float(np.abs(t).max()) / 127 for t in (t_f, v_f, o_f, y_f))
    # Kernel order: Wt[h*E + f, e] = W_h[e, f]; the 1/sqrt(P) is already inside W_h.
    wt = np.ascontiguousarray(wf_q.transpose(0, 2, 1).reshape(heads * e, e))
    weights = FwsaWeights(
        wt=wt,
        bt=quantize_bias(bf.reshape(-1), s_x * s_wf),
        wv=wv_q,
        bv=quantize_bias(w["bv"], s_x * s_wv),
        wo=wo_q,
        bo=quantize_bias(w["bo"], s_o * s_wo),
    )
    quant = FwsaQuant(
        t=Requant.from_scale(s_x * s_wf / s_t),
        v=Requant.from_scale(s_x * s_wv / s_v),
        softmax=softmax_requant(s_t * s_x),
        av=Requant.from_scale(s_v / 256 / s_o),
        out=Requant.from_scale(s_o * s_wo / s_y),
    )
    trace = fwsa_trace(xq, heads, weights, quant)
    assert trace["t"].shape == (heads, x.shape[0], e)
    # T is the fused projection, head-major: within half an LSB of the float one
    # (plus the rounding of the int32 bias, far below an output LSB).
    assert np.abs(trace["t"] * s_t - t_f).max() <= 0.55 * s_t
    assert np.abs(trace["a"] / 256.0 - a_f).max() <= 6 / 256
    y = trace["y"] * s_y
    assert np.corrcoef(y.ravel(), y_f.ravel())[0, 1] > 0.999
    assert (np.abs(y - y_f) / s_y).mean() < 1.0
    assert (np.abs(y - y_f) / s_y).max() < 5
    # T must have E columns per head (the keys are X itself)
    bad = FwsaWeights(
        wt=np.zeros((heads * 4, e), np.int8),
        bt=np.zeros(heads * 4, np.int32),
        wv=wv_q,
        bv=weights.bv,
        wo=wo_q,
        bo=weights.bo,
    )
    with pytest.raises(ValueError, match=r"^wt: "):
        fwsa_trace(xq, heads, bad, quant)


# ---------------------------------------------------------------------- LayerNorm


def ref_layernorm_row(x: list[int], gamma: list[int], beta: list[int], eps_q16: int, rq) -> list:
    """The documented integer LayerNorm of one row, on Python integers."""
    e = len(x)
    total = sum(x)
    v = e * sum(a * a for a in x) - total * total
    assert 0 <= v < 2**63
    var = Fraction(v * 2**16, e * e).__floor__()
    std = max(1, math.isqrt(min(var + eps_q16, 2**32 - 1)))
    den = e * std
    b = den.bit_length() - 1
    m = ((1 << (31 + b)) - 1) // den
    shift = 16 + b
    assert 2**30 <= m < 2**31
    out = []
    for xv, g, bt in zip(x, gamma, beta, strict=True):
        d = e * xv - total
        assert abs(d * m) < 2**62
        n = floor_half_up(d * m, 1 << shift)
        acc = min(2**31 - 1, max(-(2**31), n * g + bt))
        out.append(ref_requantize(acc, rq.multiplier, rq.shift, rq.act_min, rq.act_max))
    return out


def test_layernorm_matches_brute_force() -> None:
    rng = rng_for("ln")
    for e, spread in ((1, 5), (3, 100), (16, 3), (64, 128), (200, 20)):
        x = np.clip(rng.normal(rng.uniform(-60, 60), spread, size=(6, e)), -128, 127)
        x = np.rint(x).astype(np.int8)
        gamma = rand_s8(rng, e)
        beta = rng.integers(-20000, 20000, size=e).astype(np.int32)
        eps_q16, rq = layernorm_params(0.05, 1 / 64, 1 / 32, 1e-5)
        y = layernorm_s8(x, gamma, beta, eps_q16, rq)
        for r in range(x.shape[0]):
            want = ref_layernorm_row(x[r].tolist(), gamma.tolist(), beta.tolist(), eps_q16, rq)
            assert y[r].tolist() == want, (e, r)


def test_layernorm_degenerate_rows_give_beta() -> None:
    rq = Requant.from_scale(1 / 8)
    beta = np.array([-800, -3, 0, 5, 1000, 2**31 - 1, -(2**31)], np.int32)
    want = requantize(beta.astype(np.int64), rq)
    # constant rows (variance 0), with and without eps
    for eps_q16 in (0, 262, 2**31 - 1):
        x = np.full((3, beta.size), 77, np.int8)
        x[1] = -128
        x[2] = 0
        y = layernorm_s8(x, np.full(beta.size, 127, np.int8), beta, eps_q16, rq)
        assert np.array_equal(y, np.broadcast_to(want, y.shape))
    # E == 1
    x1 = np.array([[-128], [0], [127]], np.int8)
    y1 = layernorm_s8(x1, np.array([100], np.int8), np.array([640], np.int32), 0, rq)
    assert y1.ravel().tolist() == [80, 80, 80]


def test_layernorm_eps() -> None:
    s_x = 0.05
    eps_q16, rq = layernorm_params(s_x, 1 / 64, 1 / 32, 1e-5)
    assert eps_q16 == round(1e-5 / s_x**2 * 2**16) == 262
    # A row with real variance s_x**2 = 0.0025: eps = var halves 1/std**2.
    x = np.array([[-1, 1] * 8], np.int8)
    gamma = np.full(16, 64, np.int8)
    beta = np.zeros(16, np.int32)
    for eps in (0.0, 0.0025, 0.0075):
        eps_q16, rq = layernorm_params(s_x, 1 / 64, 1 / 32, eps)
        y = layernorm_s8(x, gamma, beta, eps_q16, rq) / 32
        ref = layernorm_float(x * s_x, 1.0, 0.0, eps)
        assert np.abs(y - ref).max() <= 0.5 / 32 + 1e-12, eps
    # huge eps saturates the Q16 variance instead of overflowing
    big, rq = layernorm_params(s_x, 1 / 64, 1 / 32, 1e6)
    assert big == 2**31 - 1
    assert np.all(layernorm_s8(x, gamma, beta, big, rq) == 0)


def test_layernorm_close_to_float_for_wide_rows() -> None:
    rng = rng_for("ln-float")
    eps_q16, rq = layernorm_params(0.05, 1 / 64, 1 / 32, 1e-5)
    for e in (64, 256):
        x = np.rint(np.clip(rng.normal(0, 40, size=(50, e)), -128, 127)).astype(np.int8)
        y = layernorm_s8(x, np.full(e, 64, np.int8), np.zeros(e, np.int32), eps_q16, rq)
        ref = np.clip(layernorm_float(x * 0.05, 1.0, 0.0, 1e-5), -4, 127 / 32)
        assert np.abs(y / 32 - ref).max() <= 1.5 / 32


def test_layernorm_argument_errors() -> None:
    _, rq = layernorm_params(0.05, 1 / 64, 1 / 32, 1e-5)
    e = MAX_E + 1
    with pytest.raises(ValueError, match=r"^x: "):
        layernorm_s8(np.zeros((1, e), np.int8), np.ones(e, np.int8), np.zeros(e, np.int32), 0, rq)
    ok = layernorm_s8(
        np.zeros((1, MAX_E), np.int8), np.ones(MAX_E, np.int8), np.zeros(MAX_E, np.int32), 0, rq
    )
    assert ok.shape == (1, MAX_E)
    x = np.zeros((2, 4), np.int8)
    with pytest.raises(ValueError, match=r"^gamma: "):
        layernorm_s8(x, np.ones(3, np.int8), np.zeros(4, np.int32), 0, rq)
    with pytest.raises(ValueError, match=r"^beta: "):
        layernorm_s8(x, np.ones(4, np.int8), np.zeros(4, np.int64), 0, rq)
    with pytest.raises(ValueError, match=r"^eps_q16: "):
        layernorm_s8(x, np.ones(4, np.int8), np.zeros(4, np.int32), -1, rq)
    with pytest.raises(ValueError, match=r"^eps: "):
        layernorm_params(0.05, 1 / 64, 1 / 32, -1e-5)
    with pytest.raises(ValueError, match=r"^s_x: "):
        layernorm_params(0.0, 1 / 64, 1 / 32, 1e-5)


def test_layernorm_small_spread_rows() -> None:
    # No rounded mean: a row alternating 0 and 1 (mean 0.5) normalizes to -1, +1.
    # (A mean rounded to whole LSBs gave -1.41 and 0 here.)
    eps_q16, rq = layernorm_params(0.05, 1 / 64, 1 / 32, 1e-5)
    gamma = np.full(64, 64, np.int8)
    beta = np.zeros(64, np.int32)
    for offset in (0, 37, -128):
        x = (np.array([[0, 1] * 32]) + offset).astype(np.int8)
        y = layernorm_s8(x, gamma, beta, eps_q16, rq)
        assert np.abs(y.astype(int) - np.array([-32, 32] * 32)).max() <= 1, offset
    # One outlier in a constant row: std 0.25 LSB at E = 16.
    x = np.full((1, 16), 5, np.int8)
    x[0, 3] = 6
    y = layernorm_s8(x, gamma[:16], beta[:16], eps_q16, rq) / 32
    ref = np.clip(layernorm_float(x * 0.05, 1.0, 0.0, 1e-5), -4, 127 / 32)
    assert np.abs(y - ref).max() <= 1 / 32


def test_layernorm_row_normalizer() -> None:
    rng = rng_for("row-normalizer")
    dens = [1, 2, 3, 255, 256, 257, 4096 * 65535, *rng.integers(1, 2**28, 500).tolist()]
    for den in dens:
        m, s = row_normalizer(int(den))
        assert 2**30 <= m < 2**31 and 16 <= s <= 16 + 27
        assert abs(Fraction(m, 2**s) - Fraction(2**15, den)) <= Fraction(1, 2**s)


def test_layernorm_extreme_rows_stay_in_range() -> None:
    # Largest variance and largest E: every intermediate stays in its type.
    _, rq = layernorm_params(0.05, 1 / 64, 1 / 32, 0.0)
    e = MAX_E
    x = np.where(np.arange(e) % 2 == 0, -128, 127).astype(np.int8)[np.newaxis]
    x2 = np.full((1, e), 127, np.int8)
    x2[0, 0] = -128  # one far outlier: |n| = sqrt(E - 1) ~ 64 in real units
    gamma = np.full(e, 127, np.int8)
    beta = np.full(e, 2**31 - 1, np.int32)
    for row in (x, x2):
        y = layernorm_s8(row, gamma, np.zeros(e, np.int32), 0, rq)
        want = ref_layernorm_row(row[0].tolist(), gamma.tolist(), [0] * e, 0, rq)
        assert y[0].tolist() == want
        # saturating int32 accumulator with a huge beta
        assert np.all(layernorm_s8(row, gamma, beta, 0, rq) == 127)


# --------------------------------------------------------------------------- GELU


def test_gelu_params_limits() -> None:
    for s_x in np.geomspace(0.002, 1.0, 300):
        p = gelu_params(float(s_x), float(s_x))
        st = s_x / math.sqrt(2)
        assert p.q_clip >= 1 and p.q_clip**2 <= p.q_one < Q_ONE_LIMIT
        assert p.q_clip == max(1, math.floor(ERF_CLIP / st))
        assert p.q_one == math.floor(1 / (ERF_A * st * st))
        # |x * (erf + q_one)| <= 128 * 2 * q_one stays within int32
        assert 128 * 2 * p.q_one < 2**31
    with pytest.raises(ValueError, match=r"^q_one: "):
        gelu_params(0.001, 0.001)
    with pytest.raises(ValueError, match=r"^q_one: "):
        gelu_params(5.0, 5.0)
    with pytest.raises(ValueError, match=r"^s_x: "):
        gelu_params(-0.1, 0.1)


def test_gelu_matches_brute_force() -> None:
    x = np.arange(-128, 128).astype(np.int8)
    for s_x, s_y in ((4 / 127, 4 / 127), (0.05, 0.02), (0.3, 0.5)):
        p = gelu_params(s_x, s_y)
        got = gelu_s8(x, p).tolist()
        want = []
        for v in range(-128, 128):
            c = min(abs(v), p.q_clip) - p.q_clip
            erf = (v > 0) - (v < 0)
            g = v * (erf * (p.q_one - c * c) + p.q_one)
            want.append(ref_requantize(g, p.rq.multiplier, p.rq.shift))
        assert got == want, s_x
    with pytest.raises(ValueError, match=r"^x: "):
        gelu_s8(np.zeros(3, np.int16), gelu_params(0.05, 0.05))


@pytest.mark.parametrize("s_x", [0.02, 4 / 127, 1 / 16, 0.1, 0.2, 0.5, 1.0])
def test_gelu_close_to_float(s_x: float) -> None:
    x = np.arange(-128, 128).astype(np.int8)
    y = gelu_s8(x, gelu_params(s_x, s_x)).astype(np.float64)
    ref = gelu_float(x * s_x)
    # i-GELU's own error is about 0.02 in real units; at these scales that is
    # below one LSB, so the result is within 1 LSB of the ideal int8 output.
    assert np.abs(y * s_x - ref).max() <= 1.5 * s_x
    assert np.abs(y - np.clip(np.floor(ref / s_x + 0.5), -128, 127)).max() <= 1


def test_gelu_within_one_lsb_of_ideal_on_a_scale_grid() -> None:
    x = np.arange(-128, 128).astype(np.int8)
    for s_x in np.geomspace(0.02, 1.0, 120):
        y = gelu_s8(x, gelu_params(float(s_x), float(s_x))).astype(np.int64)
        ideal = np.clip(np.floor(gelu_float(x * s_x) / s_x + 0.5), -128, 127)
        assert np.abs(y - ideal).max() <= 1, s_x


@pytest.mark.parametrize("s_x", [0.2, 0.5, 1.0, 2.0])
def test_gelu_identity_for_large_inputs_at_coarse_scales(s_x: float) -> None:
    # The output factor is normalized by the floored q_one, so GELU(x) = x exactly
    # once |x| >= q_clip (with a factor A * St**2 it was 0.87 x at s_x = 1).
    p = gelu_params(s_x, s_x)
    x = np.arange(p.q_clip, 128).astype(np.int8)
    assert np.array_equal(gelu_s8(x, p), x)
    assert np.array_equal(gelu_s8(-x, p), np.zeros_like(x))


# ---------------------------------------------------------------------------- add


def test_add_matches_brute_force() -> None:
    rng = rng_for("add")
    a = rand_s8(rng, 500)
    b = rand_s8(rng, 500)
    a[:4] = [-128, 127, -128, 127]
    b[:4] = [-128, 127, 127, -128]
    for s_a, s_b, s_y in ((0.03, 0.05, 0.06), (0.1, 0.1, 0.1), (1.0, 1e-3, 0.5), (0.02, 0.7, 1.3)):
        p = add_params(s_a, s_b, s_y)
        assert 0 <= p.m_a <= 2**22 and 0 <= p.m_b <= 2**22
        assert max(p.m_a, p.m_b) > 2**21  # the largest shift that fits was chosen
        assert abs(p.m_a / 2**p.shift - s_a / s_y) <= 2.0 ** -(p.shift + 1)
        assert abs(p.m_b / 2**p.shift - s_b / s_y) <= 2.0 ** -(p.shift + 1)
        got = add_s8(a, b, p).tolist()
        want = [
            min(127, max(-128, floor_half_up(int(u) * p.m_a + int(v) * p.m_b, 2**p.shift)))
            for u, v in zip(a, b, strict=True)
        ]
        assert got == want
        ref = np.clip((a * s_a + b * s_b) / s_y, -128, 127)
        assert np.abs(np.asarray(got) - ref).max() <= 0.5 + 1e-3


def test_add_errors() -> None:
    with pytest.raises(ValueError, match=r"^s_y: "):
        add_params(1.0, 1.0, 1e-7)
    with pytest.raises(ValueError, match=r"^s_a: "):
        add_params(0.0, 1.0, 1.0)
    p = add_params(0.1, 0.1, 0.1)
    with pytest.raises(ValueError, match=r"^b: "):
        add_s8(np.zeros(3, np.int8), np.zeros(4, np.int8), p)
    with pytest.raises(ValueError, match=r"^a: "):
        add_s8(np.zeros(3, np.int16), np.zeros(3, np.int8), p)


# ---------------------------------------------------------------- accuracy module


def test_accuracy_results() -> None:
    results = accuracy.measure_all()
    names = [r.name for r in results]
    assert names == [
        "softmax N=8",
        "softmax N=64",
        "softmax N=256",
        "i_exp relative",
        "i_exp absolute",
        "layernorm E=64 std 2 LSB",
        "layernorm E=64 std 8 LSB",
        "layernorm E=64 std 40 LSB",
        "layernorm E=256 std 2 LSB",
        "layernorm E=256 std 8 LSB",
        "layernorm E=256 std 40 LSB",
        "gelu s_x=4/127",
        "gelu s_x=8/127",
        "gelu s_x=1/16",
    ]
    by = {r.name: r for r in results}
    for r in results:
        assert r.samples > 0
        for v in (r.max_abs, r.mean_abs, r.max_lsb, r.mean_lsb, r.max_lsb_ideal):
            assert v is None or (math.isfinite(v) and v >= 0), r
        assert r.mean_abs <= r.max_abs
    for n in ("softmax N=8", "softmax N=64", "softmax N=256"):
        assert by[n].max_lsb_ideal <= 1 and by[n].max_abs < 1.5 / 256
    assert by["i_exp relative"].max_abs < 0.02
    assert by["i_exp absolute"].max_abs < 0.004
    for e in (64, 256):
        for spread in (2, 8, 40):
            r = by[f"layernorm E={e} std {spread} LSB"]
            assert r.max_lsb_ideal <= 1 and r.max_lsb < 1 and r.mean_lsb_ideal < 0.2
    for n in ("gelu s_x=4/127", "gelu s_x=8/127", "gelu s_x=1/16"):
        assert by[n].max_lsb_ideal <= 1 and by[n].max_lsb < 1.5
    table = accuracy.format_table(results)
    assert table.count("\n") == len(results) + 2
    assert table.startswith("| operator |")


def test_accuracy_command_writes_json(tmp_path, capsys) -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    accuracy_cmd.add_parser(sub, "accuracy", "measure")
    out = tmp_path / "acc.json"
    args = parser.parse_args(["accuracy", "--json", str(out)])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "| softmax N=8 |" in printed
    doc = json.loads(out.read_text())
    assert [r["name"] for r in doc["results"]][:3] == [
        "softmax N=8",
        "softmax N=64",
        "softmax N=256",
    ]
    assert doc["results"][3]["max_lsb"] is None
