"""Random kernel test cases with their golden outputs, reproducible from a seed.

Every generator draws awkward shapes on purpose (1, 2, odd sizes, sizes that are
not multiples of 4) and, in a share of the cases, extreme data (all -128, all 127,
alternating extremes) and extreme quantization parameters (shift 1 or 62, huge
biases, narrow activation ranges), so that remainders, clamps and overflow
bounds are all exercised.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from tinytx import golden as g
from tinytx.golden.linear import Layout
from tinytx.golden.quant import MULTIPLIER_MAX, Requant
from tinytx.vectors.format import KERNEL_IDS, Case

Rng = np.random.Generator
AWKWARD = (1, 2, 3, 5, 7, 9, 13)


def pick_dim(rng: Rng, lo: int, hi: int) -> int:
    """A size in [lo, hi], one time in three an awkward small value."""
    if rng.random() < 0.33:
        choices = [d for d in AWKWARD if lo <= d <= hi]
        if choices:
            return int(rng.choice(choices))
    return int(rng.integers(lo, hi + 1))


def fill_s8(rng: Rng, shape: tuple[int, ...], mode: str) -> np.ndarray:
    if mode == "min":
        return np.full(shape, -128, np.int8)
    if mode == "max":
        return np.full(shape, 127, np.int8)
    if mode == "alternating":
        a = np.where(np.indices(shape).sum(axis=0) % 2 == 0, 127, -128)
        return a.astype(np.int8)
    if mode == "small":
        return rng.integers(-3, 4, shape).astype(np.int8)
    return rng.integers(-128, 128, shape).astype(np.int8)


def pick_mode(rng: Rng) -> str:
    r = rng.random()
    if r < 0.70:
        return "random"
    return str(rng.choice(["min", "max", "alternating", "small"]))


def pick_requant(rng: Rng, acc_std: float, out_std: float = 40.0, act: bool = False) -> Requant:
    """A factor mapping accumulators of std ``acc_std`` to ~``out_std``, sometimes extreme."""
    r = rng.random()
    clamp: dict[str, int] = {}
    if act and rng.random() < 0.2:
        lo = int(rng.integers(-128, 128))
        clamp = {"act_min": lo, "act_max": int(rng.integers(lo, 128))}
    if r < 0.06:
        return Requant(int(rng.integers(0, MULTIPLIER_MAX + 1)), 1, **clamp)
    if r < 0.12:
        return Requant(int(rng.integers(0, MULTIPLIER_MAX + 1)), 62, **clamp)
    if r < 0.18:
        return Requant(int(rng.integers(0, MULTIPLIER_MAX + 1)), int(rng.integers(1, 63)), **clamp)
    real = out_std / max(acc_std, 1.0) * math.exp(rng.uniform(-1.5, 1.5))
    return Requant.from_scale(real, **clamp)


def pick_bias(rng: Rng, n: int, acc_std: float) -> np.ndarray | None:
    r = rng.random()
    if r < 0.2:
        return None
    if r < 0.3:
        return rng.choice([-(1 << 30), 1 << 30], n).astype(np.int32)
    return rng.normal(0, acc_std, n).clip(-(1 << 30), 1 << 30).astype(np.int32)


def softmax_rq(rng: Rng, p: int) -> Requant:
    r = rng.random()
    if r < 0.1:
        return Requant(int(rng.integers(1, MULTIPLIER_MAX + 1)), int(rng.integers(1, 10)))
    if r < 0.2:
        return Requant(int(rng.integers(0, MULTIPLIER_MAX + 1)), int(rng.integers(40, 63)))
    logit_std = math.exp(rng.uniform(math.log(0.3), math.log(10.0)))
    return g.softmax_requant(logit_std / (math.sqrt(p) * 74.0 * 74.0))


def rq_params(rq: Requant) -> tuple[int, int]:
    return (rq.multiplier, rq.shift)


def gen_linear(rng: Rng, cid: int) -> Case:
    rows, k = pick_dim(rng, 1, 40), pick_dim(rng, 1, 80)
    if rng.random() < 0.03:
        k = int(rng.integers(500, 1500))
    heads, p = pick_dim(rng, 1, 8), pick_dim(rng, 1, 16)
    layout = Layout(int(rng.integers(0, 3)))
    if layout == Layout.TOKEN_MAJOR:
        heads = 1
    n = heads * p
    x, w = fill_s8(rng, (rows, k), pick_mode(rng)), fill_s8(rng, (n, k), pick_mode(rng))
    std = math.sqrt(k) * 74.0 * 74.0
    bias = pick_bias(rng, n, std)
    rq = pick_requant(rng, std, act=True)
    y = g.linear_s8(x, w, bias, rq, layout, heads)
    params = (rows, k, n, heads, int(layout), *rq_params(rq), rq.act_min, rq.act_max)
    shape = f"S={rows} K={k} N={n} H={heads} layout={layout.name}"
    return Case("linear", cid, params, (x, w, bias, y), shape)


def gen_qk_softmax(rng: Rng, cid: int) -> Case:
    h, sq, skv, p = (
        pick_dim(rng, 1, 8),
        pick_dim(rng, 1, 24),
        pick_dim(rng, 1, 64),
        pick_dim(rng, 1, 40),
    )
    if rng.random() < 0.03:
        h, sq, skv, p = 1, 2, 1024, 4  # the largest row the uint32 sum allows
    k_heads = 1 if rng.random() < 0.25 else h
    q = fill_s8(rng, (h, sq, p), pick_mode(rng))
    k = fill_s8(rng, (k_heads, skv, p), pick_mode(rng))
    rq = softmax_rq(rng, p)
    probs = g.qk_softmax_s8(q, k, rq)
    params = (h, sq, skv, p, k_heads, *rq_params(rq))
    shape = f"H={h} Sq={sq} Skv={skv} P={p} k_heads={k_heads}"
    return Case("qk_softmax", cid, params, (q, k, probs), shape)


def gen_av(rng: Rng, cid: int) -> Case:
    h, sq, skv, p = (
        pick_dim(rng, 1, 8),
        pick_dim(rng, 1, 24),
        pick_dim(rng, 1, 64),
        pick_dim(rng, 1, 32),
    )
    mode = pick_mode(rng)
    if mode == "max":
        a = np.full((h, sq, skv), 255, np.uint8)
    elif mode == "min":
        a = np.zeros((h, sq, skv), np.uint8)
    else:
        a = rng.integers(0, 256, (h, sq, skv)).astype(np.uint8)
    vt = fill_s8(rng, (h, p, skv), pick_mode(rng))
    rq = pick_requant(rng, math.sqrt(skv) * 128.0 * 74.0)
    y = g.av_s8(a, vt, rq)
    params = (h, sq, skv, p, *rq_params(rq))
    return Case("av", cid, params, (a, vt, y), f"H={h} Sq={sq} Skv={skv} P={p}")


def _block_shape(rng: Rng, max_s: int, max_e: int, max_h: int, max_p: int) -> tuple[int, ...]:
    while True:
        s, e = pick_dim(rng, 1, max_s), pick_dim(rng, 1, max_e)
        h, p = pick_dim(rng, 1, max_h), pick_dim(rng, 1, max_p)
        if s * h * p * (4 * e + 2 * s) <= 600_000:
            return s, e, h, p


def _proj(rng: Rng, n: int, k: int, mode: str) -> tuple[np.ndarray, np.ndarray | None, Requant]:
    w = fill_s8(rng, (n, k), mode)
    std = math.sqrt(k) * 74.0 * 74.0
    return w, pick_bias(rng, n, std), pick_requant(rng, std)


def gen_mhsa(rng: Rng, cid: int) -> Case:
    s, e, h, p = _block_shape(rng, 40, 48, 8, 32)
    mode = pick_mode(rng)
    x = fill_s8(rng, (s, e), mode)
    wq, bq, rq_q = _proj(rng, h * p, e, pick_mode(rng))
    wk, bk, rq_k = _proj(rng, h * p, e, pick_mode(rng))
    wv, bv, rq_v = _proj(rng, h * p, e, pick_mode(rng))
    wo, bo, rq_o = _proj(rng, e, h * p, pick_mode(rng))
    rq_sm = softmax_rq(rng, p)
    rq_av = pick_requant(rng, math.sqrt(s) * 128.0 * 40.0)
    w = g.MhsaWeights(wq, bq, wk, bk, wv, bv, wo, bo)
    qp = g.MhsaQuant(rq_q, rq_k, rq_v, rq_sm, rq_av, rq_o)
    y = g.mhsa_s8(x, h, w, qp)
    params = (
        s,
        e,
        h,
        p,
        *(v for rq in (rq_q, rq_k, rq_v, rq_sm, rq_av, rq_o) for v in rq_params(rq)),
    )
    bufs = (x, wq, bq, wk, bk, wv, bv, wo, bo, y)
    return Case("mhsa", cid, params, bufs, f"S={s} E={e} H={h} P={p}")


def gen_fwsa(rng: Rng, cid: int) -> Case:
    s, e, h, p = _block_shape(rng, 32, 24, 6, 16)
    x = fill_s8(rng, (s, e), pick_mode(rng))
    wt, bt, rq_t = _proj(rng, h * e, e, pick_mode(rng))
    wv, bv, rq_v = _proj(rng, h * p, e, pick_mode(rng))
    wo, bo, rq_o = _proj(rng, e, h * p, pick_mode(rng))
    rq_sm = softmax_rq(rng, e)
    rq_av = pick_requant(rng, math.sqrt(s) * 128.0 * 40.0)
    w = g.FwsaWeights(wt, bt, wv, bv, wo, bo)
    qp = g.FwsaQuant(rq_t, rq_v, rq_sm, rq_av, rq_o)
    y = g.fwsa_s8(x, h, w, qp)
    params = (s, e, h, p, *(v for rq in (rq_t, rq_v, rq_sm, rq_av, rq_o) for v in rq_params(rq)))
    return Case("fwsa", cid, params, (x, wt, bt, wv, bv, wo, bo, y), f"S={s} E={e} H={h} P={p}")


def gen_layernorm(rng: Rng, cid: int) -> Case:
    rows, e = pick_dim(rng, 1, 16), pick_dim(rng, 1, 300)
    if rng.random() < 0.03:
        rows, e = 1, 4096
    x = fill_s8(rng, (rows, e), pick_mode(rng))
    gamma = fill_s8(rng, (e,), pick_mode(rng))
    r = rng.random()
    if r < 0.1:
        beta = rng.choice([-(1 << 31), (1 << 31) - 1], e).astype(np.int32)
    else:
        beta = rng.integers(-(1 << 16), 1 << 16, e).astype(np.int32)
    s_x = math.exp(rng.uniform(math.log(0.005), math.log(0.5)))
    eps = float(rng.choice([0.0, 1e-5, 1e-3, 0.1]))
    eps_q16, rq = g.layernorm_params(s_x, 1.0 / 64, 1.0 / 32 * math.exp(rng.uniform(-1, 1)), eps)
    if rng.random() < 0.1:
        rq = pick_requant(rng, 1.0)
    y = g.layernorm_s8(x, gamma, beta, eps_q16, rq)
    params = (rows, e, *rq_params(rq), eps_q16)
    return Case(
        "layernorm", cid, params, (x, gamma, beta, y), f"rows={rows} E={e} eps_q16={eps_q16}"
    )


def gen_gelu(rng: Rng, cid: int) -> Case:
    size = pick_dim(rng, 1, 600)
    x = fill_s8(rng, (size,), pick_mode(rng))
    if rng.random() < 0.1:
        x = np.arange(-128, 128, dtype=np.int8)
        size = 256
    s_x = math.exp(rng.uniform(math.log(0.002), math.log(1.0)))
    gp = g.gelu_params(s_x, s_x * math.exp(rng.uniform(-1, 1)))
    y = g.gelu_s8(x, gp)
    params = (size, gp.q_clip, gp.q_one, *rq_params(gp.rq))
    return Case("gelu", cid, params, (x, y), f"size={size} s_x={s_x:.4g}")


def gen_add(rng: Rng, cid: int) -> Case:
    size = pick_dim(rng, 1, 600)
    a, b = fill_s8(rng, (size,), pick_mode(rng)), fill_s8(rng, (size,), pick_mode(rng))
    scales = [math.exp(rng.uniform(-4, 0)) for _ in range(3)]
    try:
        p = g.add_params(*scales)
    except ValueError:
        p = g.add_params(1.0, 1.0, 1.0)
    if rng.random() < 0.2:
        lo = int(rng.integers(-128, 128))
        p = g.AddParams(p.m_a, p.m_b, p.shift, lo, int(rng.integers(lo, 128)))
    if rng.random() < 0.1:
        p = g.AddParams(1 << 22, 1 << 22, int(rng.integers(1, 32)))
    y = g.add_s8(a, b, p)
    params = (size, p.m_a, p.m_b, p.shift, p.act_min, p.act_max)
    return Case("add", cid, params, (a, b, y), f"size={size}")


GENERATORS: dict[str, Callable[[Rng, int], Case]] = {
    "linear": gen_linear,
    "qk_softmax": gen_qk_softmax,
    "av": gen_av,
    "mhsa": gen_mhsa,
    "fwsa": gen_fwsa,
    "layernorm": gen_layernorm,
    "gelu": gen_gelu,
    "add": gen_add,
}
assert set(GENERATORS) == set(KERNEL_IDS)


def generate_cases(seed: int, per_kernel: int, kernels: list[str] | None = None) -> list[Case]:
    """``per_kernel`` cases for each kernel, independent streams derived from ``seed``."""
    names = kernels or list(GENERATORS)
    cases: list[Case] = []
    for name in names:
        if name not in GENERATORS:
            raise ValueError(f"kernels: unknown kernel {name!r}; known: {', '.join(GENERATORS)}")
        rng = np.random.default_rng([seed, KERNEL_IDS[name]])
        cases.extend(GENERATORS[name](rng, i) for i in range(per_kernel))
    return cases
