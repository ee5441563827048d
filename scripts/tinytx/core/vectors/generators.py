"""Random kernel test cases with their golden outputs, reproducible from a seed.

Every generator draws awkward shapes on purpose (1, 2, odd sizes, sizes that are
not multiples of 4). Each case has a style:

- ``typical`` (70 %): random full-range data and quantization calibrated on the
  case's own accumulators (with jitter), so outputs spread over the int8 range and
  a wrong rounding or index shows up;
- ``extreme_data`` (15 %): all -128, all 127, alternating extremes or tiny values;
- ``extreme_quant`` (15 %): shift 1 or 62, random multipliers, biases of +/-2**30,
  narrow activation ranges, so clamps and overflow bounds are exercised.

Independently of the style, a share of the cases has nonzero zero points (output,
input where the kernel takes one, conv padding) and, for linear and conv, per-channel
factors (``ChannelRequant``), drawn by :func:`pick_zero_point` / :func:`per_channel`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from tinytx.core import golden as g
from tinytx.core.errors import UserInputError
from tinytx.core.golden import tflite_factors as tf
from tinytx.core.golden.attention_steps import exp_table, identity_scale
from tinytx.core.golden.conv import check_window, conv2d_acc
from tinytx.core.golden.limits import kernel_limits
from tinytx.core.golden.linear import Layout, linear_acc
from tinytx.core.golden.quant import MULTIPLIER_MAX, ChannelRequant, Requant
from tinytx.core.golden.softmax import qk_scores
from tinytx.core.sparse_weights import SparseFormat, SparseWeights, decode, encode
from tinytx.core.vectors.format import KERNEL_IDS, Case
from tinytx.core.workloads import (
    av_acc,
    calibrate_fwsa,
    calibrate_mhsa,
    calibrated,
    calibrated_softmax,
    random_bias,
)

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


def pick_style(rng: Rng) -> str:
    r = rng.random()
    return "typical" if r < 0.70 else ("extreme_data" if r < 0.85 else "extreme_quant")


def pick_mode(rng: Rng, style: str = "extreme_data") -> str:
    """Data fill for one tensor: always random unless the case is ``extreme_data``."""
    if style != "extreme_data" or rng.random() < 0.3:
        return "random"
    return str(rng.choice(["min", "max", "alternating", "small"]))


def jitter(rng: Rng) -> float:
    return math.exp(rng.uniform(-0.7, 0.7))


def extreme_requant(rng: Rng, act: bool = False) -> Requant:
    clamp: dict[str, int] = {}
    if act and rng.random() < 0.5:
        lo = int(rng.integers(-128, 128))
        clamp = {"act_min": lo, "act_max": int(rng.integers(lo, 128))}
    shift = int(rng.choice([1, 62, int(rng.integers(1, 63))]))
    return Requant(int(rng.integers(0, MULTIPLIER_MAX + 1)), shift, **clamp)


def case_requant(rng: Rng, style: str, acc: np.ndarray, act: bool = False) -> Requant:
    if style == "extreme_quant":
        return extreme_requant(rng, act)
    return calibrated(acc, jitter=jitter(rng))


def case_bias(rng: Rng, style: str, x: np.ndarray, w: np.ndarray) -> np.ndarray | None:
    if rng.random() < 0.15:
        return None
    if style == "extreme_quant" and rng.random() < 0.5:
        bound = kernel_limits().bias_bound
        return rng.choice([-bound, bound], w.shape[0]).astype(np.int32)
    return random_bias(rng, x, w)


def case_softmax(rng: Rng, style: str, scores: np.ndarray) -> Requant:
    if style == "extreme_quant":
        if rng.random() < 0.5:
            return Requant(int(rng.integers(1, MULTIPLIER_MAX + 1)), int(rng.integers(1, 10)))
        return Requant(int(rng.integers(0, MULTIPLIER_MAX + 1)), int(rng.integers(40, 63)))
    return calibrated_softmax(scores, math.exp(rng.uniform(-1.5, 1.5)))


def rq_params(rq: Requant) -> tuple[int, int]:
    return (rq.multiplier, rq.shift)


def pick_zero_point(rng: Rng, share: float = 0.4) -> int:
    """0 for most cases; otherwise a moderate offset, sometimes an extreme one."""
    if rng.random() >= share:
        return 0
    if rng.random() < 0.2:
        return int(rng.choice([-128, 127, -127, 126]))
    return int(rng.integers(-70, 71))


def with_zero_point(rng: Rng, rq: Requant, relu: bool = False) -> Requant:
    """``rq`` with a drawn output zero point (and, with ``relu``, the fused ReLU clamp
    ``act_min = zero_point``)."""
    z = pick_zero_point(rng)
    if relu:
        return dataclasses.replace(rq, zero_point=z, act_min=min(max(rq.act_min, z), rq.act_max))
    return dataclasses.replace(rq, zero_point=z)


def per_channel(rng: Rng, style: str, acc: np.ndarray, rq: Requant) -> ChannelRequant:
    """Per-channel factors for the accumulators' last axis (calibrated per channel with
    jitter, or extreme ones), keeping ``rq``'s zero point and clamp."""
    n = acc.shape[-1]
    cols = acc.reshape(-1, n)
    pairs = []
    for c in range(n):
        one = (
            extreme_requant(rng)
            if style == "extreme_quant"
            else calibrated(cols[:, c], jitter=jitter(rng) * math.exp(rng.uniform(-1.5, 1.5)))
        )
        pairs.append((one.multiplier, one.shift))
    return ChannelRequant(
        tuple(m for m, _ in pairs),
        tuple(s for _, s in pairs),
        act_min=rq.act_min,
        act_max=rq.act_max,
        zero_point=rq.zero_point,
    )


def channel_buffers(rq: Requant | ChannelRequant) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The kernels' ``multipliers``/``shifts`` buffers (empty: per-tensor)."""
    if isinstance(rq, ChannelRequant):
        return rq.arrays()
    return None, None


def base_params(rq: Requant | ChannelRequant) -> tuple[int, int]:
    """The per-tensor factor of a case (per-channel: the struct's unused factor 1/2)."""
    return rq_params(rq) if isinstance(rq, Requant) else (1 << 30, 31)


def sparsify(rng: Rng, w: np.ndarray) -> tuple[np.ndarray, SparseFormat]:
    """``w`` ([rows][cols]) pruned for a sparse-weights case, and the format: single
    values or 1 x 4 blocks; no zeros at all, an all-zero matrix, all-zero rows, or a
    share of 50-98 % zeros (long runs need the zero bridges past 255 positions)."""
    fmt = SparseFormat.BLOCK4 if rng.random() < 0.5 else SparseFormat.UNSTRUCTURED
    rows, cols = w.shape
    per = int(fmt)
    positions = -(-cols // per)
    r = rng.random()
    if r < 0.08:  # no zero entry at all
        keep = np.ones((rows, positions), bool)
        w = np.where(w == 0, np.int8(1), w).astype(np.int8)
    elif r < 0.14:
        keep = np.zeros((rows, positions), bool)
    else:
        density = float(rng.choice([0.5, 0.25, 0.1, 0.02]))
        if positions > 255 and rng.random() < 0.7:  # gaps past 255: zero bridges
            density = float(rng.choice([0.01, 0.003]))
        keep = rng.random((rows, positions)) < density
        if rng.random() < 0.3:
            keep[rng.random(rows) < 0.3] = False  # all-zero rows
    # Within the kernels' entry limit, counting a zero bridge for every 255 positions.
    per_row = positions + positions // 255
    if rows * per_row > kernel_limits().sparse_max_entries:
        keep[kernel_limits().sparse_max_entries // per_row :] = False
    mask = np.repeat(keep, per, axis=1)[:, :cols]
    return np.where(mask, w, 0).astype(np.int8), fmt


def sparse_buffers(
    w: np.ndarray, fmt: SparseFormat
) -> tuple[SparseWeights, tuple[np.ndarray, ...]]:
    """The encoded weights and their three buffers (row_ptr, gaps, values)."""
    sw = encode(w, fmt)
    if not np.array_equal(decode(sw), w):
        raise AssertionError("sparse weights: the encoding does not round-trip")
    return sw, (sw.row_ptr, sw.gaps, sw.values)


def gen_linear(rng: Rng, cid: int, sparse: bool = False) -> Case:
    style = pick_style(rng)
    rows, k = pick_dim(rng, 1, 40), pick_dim(rng, 1, 80)
    if rng.random() < (0.1 if sparse else 0.03):
        k = int(rng.integers(500, 1500))
        rows = min(rows, 8)  # long rows, few of them: a case fits the ztest suite's heap
    heads, p = pick_dim(rng, 1, 8), pick_dim(rng, 1, 16)
    layout = Layout(int(rng.integers(0, 3)))
    if layout == Layout.TOKEN_MAJOR:
        heads = 1
    n = heads * p
    x, w = (
        fill_s8(rng, (rows, k), pick_mode(rng, style)),
        fill_s8(rng, (n, k), pick_mode(rng, style)),
    )
    fmt = SparseFormat.UNSTRUCTURED
    if sparse:
        w, fmt = sparsify(rng, w)
    bias = case_bias(rng, style, x, w)
    acc = linear_acc(x, w, bias)
    rq: Requant | ChannelRequant = with_zero_point(
        rng, case_requant(rng, style, acc, act=True), relu=rng.random() < 0.2
    )
    if rng.random() < 0.3:
        rq = per_channel(rng, style, acc, rq)
    y = g.linear_s8(x, w, bias, rq, layout, heads)
    params = (rows, k, n, heads, int(layout), *base_params(rq), rq.act_min, rq.act_max)
    params += (rq.zero_point,)
    kind = "per-channel" if isinstance(rq, ChannelRequant) else "per-tensor"
    shape = f"S={rows} K={k} N={n} H={heads} layout={layout.name} z={rq.zero_point} {kind} {style}"
    if sparse:
        sw, wbufs = sparse_buffers(w, fmt)
        shape += f" {fmt.name} entries={sw.entries}"
        bufs = (x, *wbufs, bias, *channel_buffers(rq), y)
        return Case("linear_sparse", cid, (*params, int(fmt)), bufs, shape)
    return Case("linear", cid, params, (x, w, bias, *channel_buffers(rq), y), shape)


def gen_linear_sparse(rng: Rng, cid: int) -> Case:
    return gen_linear(rng, cid, sparse=True)


def gen_qk_softmax(rng: Rng, cid: int) -> Case:
    style = pick_style(rng)
    h, sq = pick_dim(rng, 1, 8), pick_dim(rng, 1, 24)
    skv, p = pick_dim(rng, 1, 64), pick_dim(rng, 1, 40)
    if rng.random() < 0.03:
        h, sq, skv, p = 1, 2, kernel_limits().softmax_max_kv, 4  # the largest row
    k_heads = 1 if rng.random() < 0.25 else h
    q = fill_s8(rng, (h, sq, p), pick_mode(rng, style))
    k = fill_s8(rng, (k_heads, skv, p), pick_mode(rng, style))
    rq = case_softmax(rng, style, qk_scores(q, k))
    probs = g.qk_softmax_s8(q, k, rq)
    params = (h, sq, skv, p, k_heads, *rq_params(rq))
    shape = f"H={h} Sq={sq} Skv={skv} P={p} k_heads={k_heads} {style}"
    return Case("qk_softmax", cid, params, (q, k, probs), shape)


def gen_av(rng: Rng, cid: int) -> Case:
    style = pick_style(rng)
    h, sq = pick_dim(rng, 1, 8), pick_dim(rng, 1, 24)
    skv, p = pick_dim(rng, 1, 64), pick_dim(rng, 1, 32)
    mode = pick_mode(rng, style)
    if mode == "max":
        a = np.full((h, sq, skv), 255, np.uint8)
    elif mode == "min":
        a = np.zeros((h, sq, skv), np.uint8)
    else:
        a = rng.integers(0, 256, (h, sq, skv)).astype(np.uint8)
    vt = fill_s8(rng, (h, p, skv), pick_mode(rng, style))
    rq = case_requant(rng, style, av_acc(a, vt))
    y = g.av_s8(a, vt, rq)
    params = (h, sq, skv, p, *rq_params(rq))
    return Case("av", cid, params, (a, vt, y), f"H={h} Sq={sq} Skv={skv} P={p} {style}")


def _block_shape(rng: Rng, max_s: int, max_e: int, max_h: int, max_p: int) -> tuple[int, ...]:
    while True:
        s, e = pick_dim(rng, 1, max_s), pick_dim(rng, 1, max_e)
        h, p = pick_dim(rng, 1, max_h), pick_dim(rng, 1, max_p)
        if s * h * p * (4 * e + 2 * s) <= 600_000:
            return s, e, h, p


def _block_requants(rng: Rng, style: str, calibrated_quant, n: int, softmax_index: int):
    """The calibrated chain, or for ``extreme_quant`` cases random extreme factors."""
    if style != "extreme_quant":
        return calibrated_quant
    rqs = [extreme_requant(rng) for _ in range(n)]
    rqs[softmax_index] = case_softmax(rng, style, np.zeros(1))
    return type(calibrated_quant)(*rqs)


def block_channels(rng: Rng, style: str, rq: Requant, rows: int) -> ChannelRequant:
    """Per-channel factors of one attention projection around its per-tensor ``rq``."""
    if style == "extreme_quant":
        ones = [extreme_requant(rng) for _ in range(rows)]
        return ChannelRequant(
            tuple(o.multiplier for o in ones),
            tuple(o.shift for o in ones),
            zero_point=rq.zero_point,
        )
    reals = rq.real * np.exp(rng.uniform(-0.7, 0.7, rows))
    return ChannelRequant.from_scales(reals, zero_point=rq.zero_point)


def mhsa_channel_table(qp: g.MhsaQuant) -> np.ndarray | None:
    """The per-channel tables of a block case as one int32 buffer: multipliers and
    shifts of q, k, v ([H*P] each) then out ([E]); None when per-tensor."""
    rqs = (qp.q, qp.k, qp.v, qp.out)
    if not all(isinstance(r, ChannelRequant) for r in rqs):
        return None
    return np.concatenate([a for r in rqs for a in r.arrays()]).astype(np.int32)


def _p2_block_shape(rng: Rng) -> tuple[int, int, int, int]:
    """Head dimension 1 or 2 (the arm block's fused P <= 2 path): sequences from 1 to
    140 (its key filter works up to 128 keys, the list must fit 4 * ceil(S / 4) words)."""
    s = int(rng.choice([1, 2, 3, 5, 7, 8, 9, 33, 66, 67, 127, 128, 129, 140]))
    e, h = pick_dim(rng, 1, 24), pick_dim(rng, 1, 8 if s <= 70 else 2)
    return s, e, h, int(rng.choice([1, 2, 2]))


def gen_mhsa(
    rng: Rng, cid: int, limits: tuple[int, int, int, int] = (40, 48, 8, 40), p2: bool = True
) -> Case:
    """``limits``: the largest S, E, H, P drawn; ``p2``: one case in four with P <= 2."""
    style = pick_style(rng)
    s, e, h, p = _block_shape(rng, *limits)
    if p2 and rng.random() < 0.25:
        s, e, h, p = _p2_block_shape(rng)
    x = fill_s8(rng, (s, e), pick_mode(rng, style))
    o_like = fill_s8(rng, (s, h * p), "random")
    ws = []
    for n, k, inp in ((h * p, e, x), (h * p, e, x), (h * p, e, x), (e, h * p, o_like)):
        w = fill_s8(rng, (n, k), pick_mode(rng, style))
        ws += [w, case_bias(rng, style, inp, w)]
    w = g.MhsaWeights(*ws)
    qp = calibrate_mhsa(x, h, w, lambda: jitter(rng))
    qp = _block_requants(rng, style, qp, 6, 3)
    if style != "extreme_quant" and rng.random() < 0.25:
        # a sharper softmax: logits past the exp's clamp are common
        qp = dataclasses.replace(qp, softmax=Requant.from_scale(qp.softmax.real * 16))
    qp = dataclasses.replace(qp, out=with_zero_point(rng, qp.out))
    rqs = (qp.q, qp.k, qp.v, qp.softmax, qp.av, qp.out)
    params = (s, e, h, p, *(v for rq in rqs for v in rq_params(rq)), qp.out.zero_point)
    kind = "per-tensor"
    if rng.random() < 0.3:  # per-channel projections (the per-tensor factors stay unused)
        kind = "per-channel"
        qp = dataclasses.replace(
            qp,
            q=block_channels(rng, style, qp.q, h * p),
            k=block_channels(rng, style, qp.k, h * p),
            v=block_channels(rng, style, qp.v, h * p),
            out=block_channels(rng, style, qp.out, e),
        )
    y = g.mhsa_s8(x, h, w, qp)
    buffers = (x, *ws, mhsa_channel_table(qp), y)
    return Case("mhsa", cid, params, buffers, f"S={s} E={e} H={h} P={p} {kind} {style}")


def gen_fwsa(rng: Rng, cid: int) -> Case:
    style = pick_style(rng)
    s, e, h, p = _block_shape(rng, 32, 24, 6, 16)
    x = fill_s8(rng, (s, e), pick_mode(rng, style))
    o_like = fill_s8(rng, (s, h * p), "random")
    ws = []
    for n, k, inp in ((h * e, e, x), (h * p, e, x), (e, h * p, o_like)):
        w = fill_s8(rng, (n, k), pick_mode(rng, style))
        ws += [w, case_bias(rng, style, inp, w)]
    w = g.FwsaWeights(*ws)
    qp = calibrate_fwsa(x, h, w, lambda: jitter(rng))
    qp = _block_requants(rng, style, qp, 5, 2)
    qp = dataclasses.replace(qp, out=with_zero_point(rng, qp.out))
    y = g.fwsa_s8(x, h, w, qp)
    rqs = (qp.t, qp.v, qp.softmax, qp.av, qp.out)
    params = (s, e, h, p, *(v for rq in rqs for v in rq_params(rq)), qp.out.zero_point)
    return Case("fwsa", cid, params, (x, *ws, y), f"S={s} E={e} H={h} P={p} {style}")


def gen_mhsa_dft(rng: Rng, cid: int) -> Case:
    """Depth-first tiled MHSA: expected is the golden *layer-wise* block, for tile
    sizes 1, S and in between; every fourth case runs with the output aliasing the input.
    One case in six has a longer sequence (up to 120 rows, small heads), so that tiles and
    the arm kernel's chunks of X rows come many to a head."""
    long_sequence = rng.random() < 1 / 6
    case = gen_mhsa(rng, cid, (120, 24, 2, 8) if long_sequence else (40, 48, 8, 32), p2=False)
    s = case.params[0]
    tile = int(rng.choice([1, s, int(rng.integers(1, s + 1))]))
    in_place = int(rng.random() < 0.25)
    params = (*case.params[:4], tile, in_place, *case.params[4:])
    return Case("mhsa_dft", cid, params, case.buffers, f"{case.shape} x={tile} in_place={in_place}")


def gen_fwsa_dft(rng: Rng, cid: int) -> Case:
    """Depth-first tiled FWSA: expected is the golden *layer-wise* FWSA block."""
    case = gen_fwsa(rng, cid)
    s = case.params[0]
    tile = int(rng.choice([1, s, int(rng.integers(1, s + 1))]))
    in_place = int(rng.random() < 0.25)
    params = (*case.params[:4], tile, in_place, *case.params[4:])
    return Case("fwsa_dft", cid, params, case.buffers, f"{case.shape} x={tile} in_place={in_place}")


def gen_layernorm(rng: Rng, cid: int) -> Case:
    style = pick_style(rng)
    rows, e = pick_dim(rng, 1, 16), pick_dim(rng, 1, 300)
    if rng.random() < 0.03:
        rows, e = 1, kernel_limits().layernorm_max_features
    elif rng.random() < 0.15:  # the Cortex-M kernel divides by E^2 with a shift
        e = int(rng.choice([4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048]))
    x = fill_s8(rng, (rows, e), pick_mode(rng, style))
    if style == "typical" and rng.random() < 0.5:
        # narrow rows: small variance, where the integer sqrt is least precise
        x = np.clip(rng.normal(rng.uniform(-60, 60), rng.uniform(0.5, 6), (rows, e)), -128, 127)
        x = np.rint(x).astype(np.int8)
    gamma = fill_s8(rng, (e,), pick_mode(rng, style))
    if style == "extreme_quant":
        beta = rng.choice([-(1 << 31), (1 << 31) - 1, 0], e).astype(np.int32)
    else:
        beta = rng.integers(-(1 << 13), 1 << 13, e).astype(np.int32)
    s_x = math.exp(rng.uniform(math.log(0.005), math.log(0.5)))
    eps = float(rng.choice([0.0, 1e-5, 1e-3, 0.1]))
    s_y = 1.0 / 32 * jitter(rng)
    eps_q16, rq = g.layernorm_params(s_x, 1.0 / 64, s_y, eps)
    if style == "extreme_quant":
        rq = extreme_requant(rng)
    rq = with_zero_point(rng, rq)
    if rng.random() < 0.2:  # an input offset: the kernel must not care (golden: invariant)
        x = np.clip(x.astype(np.int16) + int(rng.integers(-60, 61)), -128, 127).astype(np.int8)
    y = g.layernorm_s8(x, gamma, beta, eps_q16, rq)
    params = (rows, e, *rq_params(rq), eps_q16, rq.zero_point)
    shape = f"rows={rows} E={e} eps_q16={eps_q16} {style}"
    return Case("layernorm", cid, params, (x, gamma, beta, y), shape)


def gen_gelu(rng: Rng, cid: int) -> Case:
    style = pick_style(rng)
    size = pick_dim(rng, 1, 600)
    x = fill_s8(rng, (size,), pick_mode(rng, style))
    if rng.random() < 0.1:
        x = np.arange(-128, 128, dtype=np.int8)
        size = 256
    s_x = math.exp(rng.uniform(math.log(0.002), math.log(1.0)))
    gp = g.gelu_params(s_x, s_x * jitter(rng), pick_zero_point(rng), pick_zero_point(rng))
    if style == "extreme_quant":
        rq = dataclasses.replace(extreme_requant(rng), zero_point=gp.rq.zero_point)
        gp = g.GeluParams(gp.q_clip, gp.q_one, rq, gp.input_zero_point)
    y = g.gelu_s8(x, gp)
    params = (size, gp.q_clip, gp.q_one, *rq_params(gp.rq), gp.rq.zero_point)
    params += (gp.input_zero_point,)
    return Case("gelu", cid, params, (x, y), f"size={size} s_x={s_x:.4g} {style}")


def gen_add(rng: Rng, cid: int) -> Case:
    style = pick_style(rng)
    size = pick_dim(rng, 1, 600)
    a = fill_s8(rng, (size,), pick_mode(rng, style))
    b = fill_s8(rng, (size,), pick_mode(rng, style))
    s_a, s_b = math.exp(rng.uniform(-4, 0)), math.exp(rng.uniform(-4, 0))
    zs = (pick_zero_point(rng), pick_zero_point(rng), pick_zero_point(rng))
    p = g.add_params(s_a, s_b, max(s_a, s_b) * rng.uniform(1.0, 2.5), *zs)
    if style == "extreme_quant" and rng.random() < 0.3:
        # the largest offset the int32 bound allows
        m = 1 << 21
        shift = int(rng.integers(1, 30))
        off = (1 << 31) - 1 - 128 * 2 * m - (1 << (shift - 1))
        p = g.AddParams(m, m, shift, offset=int(rng.choice([-off, off])), zero_point=zs[2])
    elif style == "extreme_quant":
        if rng.random() < 0.5:
            lo = int(rng.integers(-128, 128))
            p = g.AddParams(p.m_a, p.m_b, p.shift, lo, int(rng.integers(lo, 128)))
        else:
            m = kernel_limits().add_multiplier_max
            p = g.AddParams(int(rng.integers(0, m + 1)), m, int(rng.integers(1, 32)))
    y = g.add_s8(a, b, p)
    params = (size, p.m_a, p.m_b, p.shift, p.act_min, p.act_max, p.offset, p.zero_point)
    return Case("add", cid, params, (a, b, y), f"size={size} {style}")


LUT_FUNCTIONS: tuple[tuple[str, dict[str, float]], ...] = (
    ("Sigmoid", {}),
    ("Tanh", {}),
    ("HardSwish", {}),
    ("HardSigmoid", {"alpha": 0.2, "beta": 0.5}),
    ("LeakyRelu", {"alpha": 0.1}),
    ("Clip", {"lo": -1.0, "hi": 1.0}),
    ("Relu", {}),
    ("SiLU", {}),
    ("GeluErf", {}),
    ("GeluTanh", {}),
)


def gen_lut(rng: Rng, cid: int) -> Case:
    """A table of a real unary function (random scales and zero points) or, in
    ``extreme_quant`` cases, 256 random bytes; sizes 1..600, odd sizes and 1, 3, 5, 7
    often (the kernel runs four elements per word), all 256 codes one time in ten."""
    style = pick_style(rng)
    size = int(rng.choice([1, 3, 5, 7])) if rng.random() < 0.2 else pick_dim(rng, 1, 600)
    x = fill_s8(rng, (size,), pick_mode(rng, style))
    if rng.random() < 0.1:
        x = rng.permutation(np.arange(-128, 128)).astype(np.int8)
        size = 256
    if style == "extreme_quant":
        table = rng.integers(-128, 128, 256).astype(np.int8)
        what = "random table"
    else:
        name, attrs = LUT_FUNCTIONS[int(rng.integers(len(LUT_FUNCTIONS)))]
        spec = g.make_unary(name, **attrs)
        s_x = math.exp(rng.uniform(math.log(0.005), math.log(0.2)))
        z_x, z_y = (int(v) for v in rng.integers(-128, 128, 2))
        if rng.random() < 0.5:
            z_x = z_y = 0
        s_y = 2.0 / 255 * jitter(rng)
        table = g.build_unary_table(spec.fn, s_x, z_x, s_y, z_y)
        what = f"{spec.description} s_x={s_x:.4g} z_x={z_x} s_y={s_y:.4g} z_y={z_y}"
    y = g.lut_s8(x, table)
    return Case("lut", cid, (size,), (x, table, y), f"size={size} {what} {style}")


def _window(rng: Rng, pool: bool) -> tuple[int, int, int, int, tuple[int, int], tuple[int, ...]]:
    """Image, kernel, stride and padding: odd sizes, 1x1 images, 1-D rows (H=1),
    stride 2-3, asymmetric padding (conv: sometimes a pad as large as the kernel)."""
    while True:
        if rng.random() < 0.2:
            h, w, kh = 1, pick_dim(rng, 1, 40), 1
        else:
            h, w, kh = pick_dim(rng, 1, 12), pick_dim(rng, 1, 12), pick_dim(rng, 1, 5)
        kw = pick_dim(rng, 1, 5)
        stride = (int(rng.choice([1, 1, 2, 3])), int(rng.choice([1, 1, 2, 3])))
        extra = 0 if pool else int(rng.random() < 0.1)
        pads = tuple(int(rng.integers(0, k + extra)) for k in (kh, kw, kh, kw))
        pad = (pads[0], pads[1], pads[2], pads[3])
        if h + pad[0] + pad[2] >= kh and w + pad[1] + pad[3] >= kw:
            return h, w, kh, kw, stride, pad


def _window_params(x: np.ndarray, y: np.ndarray, kh: int, kw: int, stride, pad) -> tuple:
    return (*x.shape[:2], x.shape[2], *y.shape[:2], kh, kw, *stride, *pad)


def _conv_bias(rng: Rng, style: str, acc: np.ndarray, n: int) -> np.ndarray | None:
    if rng.random() < 0.15:
        return None
    if style == "extreme_quant" and rng.random() < 0.5:
        bound = kernel_limits().bias_bound
        return rng.choice([-bound, bound], n).astype(np.int32)
    return np.rint(rng.normal(0.0, 0.25 * float(np.std(acc)) + 1.0, n)).astype(np.int32)


def _conv_case(rng: Rng, cid: int, depthwise: bool, sparse: bool = False) -> Case:
    style = pick_style(rng)
    while True:
        h, w, kh, kw, stride, pad = _window(rng, pool=False)
        cin = pick_dim(rng, 1, 24 if depthwise else 12)
        cout = cin if depthwise else pick_dim(rng, 1, 12)
        if not depthwise and rng.random() < 0.4:
            # few input channels: the im2col of every window (C_in % 4 != 0 rows)
            cin = int(rng.choice([1, 2, 3, 4, 8]))
        if not depthwise and rng.random() < 0.1:  # 1x1 (pads, if any, are whole windows)
            kh = kw = 1
        if depthwise and rng.random() < 0.3:  # channel tails next to groups of four
            cin = cout = int(rng.choice([1, 2, 3, 4, 5, 8, 9]))
        if depthwise and rng.random() < 0.25:  # long 1-D rows: runs of inside windows
            w, kw = pick_dim(rng, 1, 140), int(rng.choice([1, 2, 3, 4, 5, 7, 9, 17]))
            h, kh, stride = 1, 1, (1, int(rng.choice([1, 1, 2, 3])))
            pad = (0, int(rng.integers(0, kw)), 0, int(rng.integers(0, kw)))
            if w + pad[1] + pad[3] < kw:
                continue
        if not depthwise and rng.random() < (0.1 if sparse else 0.03):
            h, w, kh, kw, cin = 1, 1, 1, 1, int(rng.integers(500, 1500))
        oh, ow = check_window((h, w), (kh, kw), stride, pad)
        if oh * ow * cout * kh * kw * (1 if depthwise else cin) <= 30_000:
            break
    x = fill_s8(rng, (h, w, cin), pick_mode(rng, style))
    fmt = SparseFormat.UNSTRUCTURED
    if depthwise:
        wt = fill_s8(rng, (kh, kw, cin), pick_mode(rng, style))
        acc = conv2d_acc(x, wt, None, stride, pad, depthwise=True)
    else:
        wt = fill_s8(rng, (cout, kh, kw, cin), pick_mode(rng, style))
        if sparse:
            pruned, fmt = sparsify(rng, wt.reshape(cout, -1))
            wt = pruned.reshape(wt.shape)
        acc = conv2d_acc(x, wt, None, stride, pad)
    bias = _conv_bias(rng, style, acc, cout)
    full = acc + (0 if bias is None else bias)
    rq: Requant | ChannelRequant = with_zero_point(rng, case_requant(rng, style, full, act=True))
    if rng.random() < 0.3:
        rq = per_channel(rng, style, full, rq)
    pad_value = pick_zero_point(rng)
    relu = style == "typical" and rng.random() < 0.3  # fused ReLU through act_min
    lo = rq.zero_point if relu else -128
    op = g.depthwise_conv2d_s8 if depthwise else g.conv2d_s8
    y = op(x, wt, bias, rq, stride, pad, act_min=lo, pad_value=pad_value)
    clamp = (max(lo, rq.act_min), rq.act_max)
    params = (h, w, cin, *y.shape, kh, kw, *stride, *pad, *base_params(rq), *clamp)
    params += (rq.zero_point, pad_value)
    kind = "per-channel" if isinstance(rq, ChannelRequant) else "per-tensor"
    shape = (
        f"{h}x{w}x{cin}->{y.shape} k={kh}x{kw} s={stride} pad={pad} z={rq.zero_point} "
        f"pad_value={pad_value} {kind} {style}"
    )
    name = "depthwise_conv2d" if depthwise else "conv2d"
    if sparse:
        sw, wbufs = sparse_buffers(wt.reshape(wt.shape[0], -1), fmt)
        shape += f" {fmt.name} entries={sw.entries}"
        bufs = (x, *wbufs, bias, *channel_buffers(rq), y)
        return Case("conv2d_sparse", cid, (*params, int(fmt)), bufs, shape)
    return Case(name, cid, params, (x, wt, bias, *channel_buffers(rq), y), shape)


def gen_conv2d(rng: Rng, cid: int) -> Case:
    return _conv_case(rng, cid, depthwise=False)


def gen_conv2d_sparse(rng: Rng, cid: int) -> Case:
    return _conv_case(rng, cid, depthwise=False, sparse=True)


def gen_depthwise_conv2d(rng: Rng, cid: int) -> Case:
    return _conv_case(rng, cid, depthwise=True)


def _pool_channels(rng: Rng) -> int:
    """1..16 channels, one time in five up to 40 (several 16-channel word blocks of the
    Cortex-M kernels, then 8, 4 and C % 4)."""
    return pick_dim(rng, 17, 40) if rng.random() < 0.2 else pick_dim(rng, 1, 16)


def _long_window(rng: Rng) -> tuple[int, int, int, int, tuple[int, int], tuple[int, ...]]:
    """A 1-D window of 128..512 taps: both sides of the Cortex-M average pooling's
    int16 lane limits (128 taps with an input zero point, 256 without)."""
    kw = int(rng.choice([128, 129, 200, 256, 257, 512]))
    w = kw + int(rng.integers(0, 9))
    stride = (1, int(rng.choice([1, 3, kw])))
    pl, pr = int(rng.integers(0, 3)), int(rng.integers(0, 3))
    return 1, w, 1, kw, stride, (0, pl, 0, pr)


def gen_maxpool2d(rng: Rng, cid: int) -> Case:
    style = pick_style(rng)
    h, w, kh, kw, stride, pad = _window(rng, pool=True)
    x = fill_s8(rng, (h, w, _pool_channels(rng)), pick_mode(rng, style))
    y = g.maxpool2d_s8(x, (kh, kw), stride, pad)
    params = _window_params(x, y, kh, kw, stride, pad)
    shape = f"{x.shape}->{y.shape} k={kh}x{kw} s={stride} pad={pad} {style}"
    return Case("maxpool2d", cid, params, (x, y), shape)


def gen_avgpool2d(rng: Rng, cid: int) -> Case:
    style = pick_style(rng)
    long = rng.random() < 0.1
    h, w, kh, kw, stride, pad = _long_window(rng) if long else _window(rng, pool=True)
    mode = pick_mode(rng, style)
    if long and rng.random() < 0.6:  # the largest sums
        mode = str(rng.choice(["min", "max"]))
    x = fill_s8(rng, (h, w, _pool_channels(rng)), mode)
    if style == "extreme_quant":
        rq = extreme_requant(rng, act=True)
    else:
        rq = Requant.from_scale(jitter(rng))
    include_pad = bool(rng.random() < 0.3)
    rq = with_zero_point(rng, rq)
    z_in = pick_zero_point(rng)
    if long:
        z_in = int(rng.choice([0, -128, 127]))
    tfl = bool(rng.random() < 0.25)  # TFLite's average of the codes
    if tfl:
        z_in = int(rng.choice([-128, 127, z_in]))
        lo = int(rng.choice([-128, z_in])) if rng.random() < 0.3 else -128
        rq = Requant(1 << 30, 30, lo, max(lo, 127 if rng.random() < 0.8 else 100), z_in)
    y = g.avgpool2d_s8(x, (kh, kw), stride, pad, rq, include_pad, z_in, tfl)
    params = _window_params(x, y, kh, kw, stride, pad)
    params += (*rq_params(rq), rq.act_min, rq.act_max, int(include_pad), rq.zero_point, z_in)
    params += (int(tfl),)
    shape = (
        f"{x.shape}->{y.shape} k={kh}x{kw} s={stride} pad={pad} incl={include_pad} "
        f"{'tflite ' if tfl else ''}{style}"
    )
    return Case("avgpool2d", cid, params, (x, y), shape)


def gen_mean_rows(rng: Rng, cid: int) -> Case:
    style = pick_style(rng)
    rows, e = pick_dim(rng, 1, 100), pick_dim(rng, 1, 64)
    mode = pick_mode(rng, style)
    if rng.random() < 0.03:
        rows, e = 4096, 2
    elif rng.random() < 0.05:  # chunks of the Cortex-M int16 column sums, extreme sums
        rows, e = int(rng.choice([255, 256, 257, 700])), pick_dim(rng, 4, 9)
        mode = str(rng.choice(["min", "max", "random"]))
    x = fill_s8(rng, (rows, e), mode)
    if style == "extreme_quant":
        rq = extreme_requant(rng, act=True)
    else:
        rq = Requant.from_scale(jitter(rng) / rows)
    rq = with_zero_point(rng, rq)
    z_in = pick_zero_point(rng)
    y = g.mean_rows_s8(x, rq, z_in)
    params = (rows, e, *rq_params(rq), rq.act_min, rq.act_max, rq.zero_point, z_in)
    return Case("mean_rows", cid, params, (x, y), f"S={rows} E={e} {style}")


def gen_gather(rng: Rng, cid: int) -> Case:
    """A gather along a random axis of a 1- to 4-D tensor: random indices (repeats,
    any order), a strided slice, or the identity written into a wider output (one input
    of a concatenation)."""
    style = pick_style(rng)
    rank = int(rng.integers(1, 5))
    shape = tuple(pick_dim(rng, 1, 9) for _ in range(rank))
    axis = int(rng.integers(0, rank))
    x = fill_s8(rng, shape, pick_mode(rng, style))
    outer, n, block = g.gather_dims(shape, axis)
    kind = str(rng.choice(["random", "slice", "concat"]))
    if kind == "random":
        idx = rng.integers(0, n, pick_dim(rng, 1, 12)).astype(np.int32)
    elif kind == "slice":
        start = int(rng.integers(0, n))
        idx = np.arange(start, n, int(rng.integers(1, 4)), dtype=np.int32)
    else:
        idx = np.arange(int(rng.integers(1, n + 1)), dtype=np.int32)
    y = g.gather_s8(x, idx, axis).reshape(outer, -1)
    extra = int(rng.integers(0, 5)) if kind == "concat" else 0
    out = np.full((outer, y.shape[1] + extra), 0x5A, np.int8)
    lead = int(rng.integers(0, extra + 1))
    out[:, lead : lead + y.shape[1]] = y
    params = (outer, n, block, int(idx.size), out.shape[1], lead, int(kind == "concat"))
    shape_text = f"shape={list(shape)} axis={axis} {kind} count={idx.size} {style}"
    return Case("gather", cid, params, (x, idx, out), shape_text)


def gen_mul(rng: Rng, cid: int) -> Case:
    style = pick_style(rng)
    size = pick_dim(rng, 1, 600)
    a = fill_s8(rng, (size,), pick_mode(rng, style))
    b = fill_s8(rng, (size,), pick_mode(rng, style))
    z_a, z_b, z_y = pick_zero_point(rng), pick_zero_point(rng), pick_zero_point(rng)
    s_a, s_b = math.exp(rng.uniform(-5, 0)), math.exp(rng.uniform(-5, 0))
    lo, hi = -128, 127
    if style == "extreme_quant":  # any factor the kernel takes, and a clamp
        top = kernel_limits().mul_left_shift_max
        shift = int(rng.choice([-31, top, int(rng.integers(-31, top + 1))]))
        m = int(rng.choice([1 << 30, (1 << 31) - 1, int(rng.integers(1 << 30, 1 << 31))]))
        lo = int(rng.integers(-128, 128))
        hi = int(rng.integers(lo, 128))
        p = g.MulParams(m, shift, z_y, lo, hi, z_a, z_b)
    else:  # the output scale of the product's range, jittered
        s_y = s_a * s_b * 128 * 128 / 127 * jitter(rng) * rng.uniform(0.05, 1.0)
        p = g.mul_params(s_a, s_b, s_y, z_a, z_b, z_y, lo, hi)
    y = g.mul_s8(a, b, p)
    params = (size, p.multiplier, p.shift, p.zero_point, p.act_min, p.act_max, z_a, z_b)
    return Case("mul", cid, params, (a, b, y), f"size={size} {style}")


def gen_conv2d_general(rng: Rng, cid: int) -> Case:
    """A conv2d or depthwise conv with a dilation and (depthwise) a depth multiplier:
    the 20 conv2d params, then dilation_h, dilation_w, depth_multiplier, depthwise."""
    style = pick_style(rng)
    depthwise = bool(rng.random() < 0.5)
    while True:
        h, w = pick_dim(rng, 1, 14), pick_dim(rng, 1, 14)
        kh, kw = pick_dim(rng, 1, 4), pick_dim(rng, 1, 4)
        dh, dw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        if rng.random() < 0.2:
            h, kh, dh = 1, 1, 1  # 1-D (a TCN)
        stride = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        eh, ew = (kh - 1) * dh + 1, (kw - 1) * dw + 1
        pad = tuple(int(rng.integers(0, e)) for e in (eh, ew, eh, ew))
        if h + pad[0] + pad[2] < eh or w + pad[1] + pad[3] < ew:
            continue
        cin = pick_dim(rng, 1, 6)
        mult = int(rng.integers(1, 4)) if depthwise else 1
        cout = cin * mult if depthwise else pick_dim(rng, 1, 6)
        if (dh, dw, mult) == (1, 1, 1):
            continue  # the general path only
        oh, ow = check_window((h, w), (eh, ew), stride, pad)
        if oh * ow * cout * kh * kw * (1 if depthwise else cin) <= 20_000:
            break
    x = fill_s8(rng, (h, w, cin), pick_mode(rng, style))
    wshape = (kh, kw, cout) if depthwise else (cout, kh, kw, cin)
    wt = fill_s8(rng, wshape, pick_mode(rng, style))
    acc = conv2d_acc(x, wt, None, stride, pad, depthwise=depthwise, dilation=(dh, dw))
    bias = _conv_bias(rng, style, acc, cout)
    full = acc + (0 if bias is None else bias)
    rq: Requant | ChannelRequant = with_zero_point(rng, case_requant(rng, style, full, act=True))
    if rng.random() < 0.3:
        rq = per_channel(rng, style, full, rq)
    pad_value = pick_zero_point(rng)
    op = g.depthwise_conv2d_s8 if depthwise else g.conv2d_s8
    y = op(x, wt, bias, rq, stride, pad, pad_value=pad_value, dilation=(dh, dw))
    params = (h, w, cin, *y.shape, kh, kw, *stride, *pad, *base_params(rq), rq.act_min,
              rq.act_max, rq.zero_point, pad_value, dh, dw, mult, int(depthwise))  # fmt: skip
    shape_text = (f"{'dw' if depthwise else 'conv'} {x.shape}->{y.shape} k={kh}x{kw} "
                  f"d={dh}x{dw} m={mult} s={stride} pad={pad} {style}")  # fmt: skip
    return Case("conv2d_general", cid, params, (x, wt, bias, *channel_buffers(rq), y), shape_text)


def _calibrated(values: np.ndarray, span: float = 1e-6) -> tuple[float, int]:
    """(scale, zero point) of an int8 tensor covering ``values`` (and 0) over at least
    ``span``, as TFLite's calibration picks them."""
    lo, hi = min(float(values.min()), 0.0), max(float(values.max()), 0.0)
    scale = max(hi - lo, span) / 255
    return scale, int(np.clip(round(-128 - lo / scale), -128, 127))


def _steps_chain(
    rng: Rng, x: np.ndarray, s_x: float, z_x: int, gamma: np.ndarray, beta: np.ndarray
) -> tuple[np.ndarray, g.LayerNormStepsParams] | None:
    """Table and factors of a TFLite LayerNorm chain whose scales are calibrated on the
    float chain of ``x`` (None: a draw the kernel refuses)."""
    e = x.shape[1]
    xr = (x.astype(np.float64) - z_x) * s_x
    s_gc, z_gc = math.exp(rng.uniform(math.log(0.002), math.log(0.02))), int(gamma.min())
    s_bc, z_bc = math.exp(rng.uniform(math.log(3e-4), math.log(1e-2))), int(rng.integers(-9, 10))
    gr = (gamma.astype(np.float64) - z_gc) * s_gc
    br = (beta.astype(np.float64) - z_bc) * s_bc
    eps = float(rng.choice([1e-5, 1e-3, 0.1]))
    m = xr.mean(axis=1, keepdims=True)
    d = (xr - m) ** 2
    v = d.mean(axis=1, keepdims=True)
    r = 1 / np.sqrt(v + eps)
    gm = r * gr
    xg, mg = xr * gm, -m * gm
    bm = mg + br
    (s_m, z_m), (s_r, _) = _calibrated(m, s_x), _calibrated(r)
    (s_d, _), (s_v, _) = _calibrated(d, 16 * s_x * s_x), _calibrated(v, 4 * s_x * s_x)
    (s_g, z_g), (s_xg, z_xg), (s_mg, z_mg) = (_calibrated(a) for a in (gm, xg, mg))
    (s_bm, z_bm), (s_y, z_y) = _calibrated(bm), _calibrated(xg + bm)
    z_nm = int(np.clip(-z_m, -128, 127))
    eps_add = tf.add_params(s_v, -128, eps / 255, -128, s_v, -128)
    table = tf.add_eps_rsqrt_table(eps_add, 127, s_v, -128, s_r, -128)
    p = g.LayerNormStepsParams(
        mean=tf.mean_params(s_x, z_x, s_m, z_m, e),
        neg_zero_point=z_nm,
        squared_difference=tf.squared_difference_params(s_x, z_x, s_m, z_m, s_d, -128),
        var=tf.mean_params(s_d, -128, s_v, -128, e),
        gamma=tf.mul_params(s_r, -128, s_gc, z_gc, s_g, z_g),
        x_gamma=tf.mul_params(s_x, z_x, s_g, z_g, s_xg, z_xg),
        mean_gamma=tf.mul_params(s_m, z_nm, s_g, z_g, s_mg, z_mg),
        beta=tf.add_params(s_mg, z_mg, s_bc, z_bc, s_bm, z_bm),
        out=tf.add_params(s_xg, z_xg, s_bm, z_bm, s_y, z_y),
    )
    try:
        g.check_layernorm_steps_params(p, e)
    except ValueError:
        return None
    return table, p


def _steps_wide_factors(p: g.LayerNormStepsParams) -> g.LayerNormStepsParams:
    """Factors the TFLite derivation never makes but the kernel accepts: the squared
    difference's input factors near 1 and 1/2 (the arm variant's bound on the difference
    then fails: its reference path), input shifts of 0 in the ADDs and an output shift of
    0 in the beta ADD (the arm variant's reference path for the per-element steps)."""
    sd = p.squared_difference
    wide_sd = dataclasses.replace(
        sd,
        zero_point_a=0,
        zero_point_b=0,
        multiplier_a=(1 << 31) - 1,
        shift_a=0,
        multiplier_b=1 << 30,
        shift_b=0,
    )
    beta = dataclasses.replace(p.beta, multiplier_a=1 << 30, shift_a=0, shift=0)
    out = dataclasses.replace(p.out, multiplier_b=(1 << 31) - 1, shift_b=0)
    return dataclasses.replace(p, squared_difference=wide_sd, beta=beta, out=out)


def gen_layernorm_steps(rng: Rng, cid: int) -> Case:
    """TFLite's decomposed LayerNorm: factors from random plausible scales (the TFLite
    derivation, :mod:`tinytx.core.golden.tflite_factors`); ``extreme_quant`` cases take a
    random table and extreme zero points of the input."""
    style = pick_style(rng)
    rows, e = pick_dim(rng, 1, 16), pick_dim(rng, 1, 300)
    if rng.random() < 0.03:
        rows, e = 1, kernel_limits().layernorm_max_features
    x = fill_s8(rng, (rows, e), pick_mode(rng, style))
    if style == "typical" and rng.random() < 0.5:
        x = np.clip(rng.normal(rng.uniform(-60, 60), rng.uniform(0.5, 30), (rows, e)), -128, 127)
        x = np.rint(x).astype(np.int8)
    z_x = int(rng.choice([-128, 127])) if style == "extreme_quant" else int(rng.integers(-30, 31))
    gamma = fill_s8(rng, (e,), pick_mode(rng, style))
    beta = fill_s8(rng, (e,), pick_mode(rng, style))
    chain = None
    for attempt in range(1000):
        if attempt % 20 == 19:  # e.g. constant rows: no spread to calibrate on
            x = fill_s8(rng, (rows, e), "random")
        s_x = math.exp(rng.uniform(math.log(0.005), math.log(0.2)))
        chain = _steps_chain(rng, x, s_x, z_x, gamma, beta)
        if chain is not None:
            break
    assert chain is not None
    table, p = chain
    if style == "extreme_quant":
        table = rng.integers(-128, 128, 256).astype(np.int8)
        if rng.random() < 0.5:
            p = _steps_wide_factors(p)
    y = g.layernorm_steps_s8(x, gamma, beta, table, p)
    shape = f"rows={rows} E={e} z_x={z_x} {style}"
    return Case("layernorm_steps", cid, (rows, e), (x, gamma, beta, table, p.as_int32(), y), shape)


def _attention_chain(
    rng: Rng, q: np.ndarray, k: np.ndarray, v: np.ndarray, heads: int, zs: tuple[int, int, int]
) -> g.AttentionStepsParams | None:
    """Factors of a TFLite attention chain whose scales are calibrated on its float chain
    (None: a draw the kernel refuses)."""
    s, n = q.shape
    hd = n // heads
    s_q, s_k, s_v = (math.exp(rng.uniform(math.log(0.003), math.log(0.1))) for _ in range(3))
    z_q, z_k, z_v = zs

    def heads_of(a: np.ndarray, scale: float, z: int) -> np.ndarray:
        return ((a.astype(np.float64) - z) * scale).reshape(s, heads, hd).transpose(1, 0, 2)

    qr, kr, vr = heads_of(q, s_q, z_q), heads_of(k, s_k, z_k), heads_of(v, s_v, z_v)
    sr = qr @ kr.transpose(0, 2, 1)
    s_s, z_s = _calibrated(sr, 1e-3)
    if rng.random() < 0.8:  # the 1/sqrt(P) MUL, as Keras' MultiHeadAttention converts it
        s_c, z_c, code = 1 / math.sqrt(hd) / 255, -128, 127
        if rng.random() < 0.3:
            s_c, z_c, code = rng.uniform(0.001, 0.05), int(rng.integers(-20, 21)), 0
            code = int(rng.integers(z_c + 1, 128))
        tr = sr * (code - z_c) * s_c
        s_t, z_t = _calibrated(tr, 1e-3)
        scale = tf.mul_params(s_s, z_s, s_c, z_c, s_t, z_t)
    else:
        tr, s_t = sr, s_s
        scale, code = identity_scale(z_s)
    e = np.exp(tr - tr.max(axis=-1, keepdims=True))
    s_o, z_o = _calibrated((e / e.sum(axis=-1, keepdims=True)) @ vr, 1e-3)
    beta = 1.0 if rng.random() < 0.8 else float(rng.uniform(0.3, 3.0))
    try:
        p = g.AttentionStepsParams(
            scores=tf.batch_matmul_params(s_q, z_q, s_k, z_k, s_s, z_s),
            scale=scale,
            scale_code=code,
            softmax=tf.softmax_params(beta, s_t),
            av=tf.batch_matmul_params(1 / 256, -128, s_v, z_v, s_o, z_o),
        )
        g.check_attention_steps_params(p, s, hd)
    except ValueError:
        return None
    return p


def gen_attention_steps(rng: Rng, cid: int) -> Case:
    """TFLite's attention steps: factors from scales calibrated on the float chain (the
    TFLite derivation, :mod:`tinytx.core.golden.tflite_factors`), S = 1, odd sizes,
    P = 2 and P above the kernel's accumulator chunk among the shapes."""
    style = pick_style(rng)
    s, heads, hd = pick_dim(rng, 1, 40), pick_dim(rng, 1, 4), pick_dim(rng, 1, 40)
    if rng.random() < 0.1:
        hd = 2
    if rng.random() < 0.05:  # rows past the kernel's 128-score stack cache
        s, heads, hd = int(rng.choice([128, 129, 150])), 1, pick_dim(rng, 1, 6)
    n = heads * hd
    q, k, v = (fill_s8(rng, (s, n), pick_mode(rng, style)) for _ in range(3))
    p = None
    for attempt in range(1000):
        if attempt % 20 == 19:  # e.g. constant tensors: no spread to calibrate on
            q, k, v = (fill_s8(rng, (s, n), "random") for _ in range(3))
        if style == "extreme_quant":
            zs = tuple(int(rng.choice([-128, 127])) for _ in range(3))
        else:
            zs = tuple(int(rng.integers(-30, 31)) for _ in range(3))
        p = _attention_chain(rng, q, k, v, heads, zs)  # type: ignore[arg-type]
        if p is not None:
            break
    assert p is not None
    o = g.attention_steps_s8(q, k, v, heads, p)
    table = exp_table(p.softmax)
    shape = f"S={s} H={heads} P={hd} {style}"
    buffers = (q, k, v, table, p.as_int32(), o)
    return Case("attention_steps", cid, (s, heads, hd), buffers, shape)


GENERATORS: dict[str, Callable[[Rng, int], Case]] = {
    "linear": gen_linear,
    "qk_softmax": gen_qk_softmax,
    "av": gen_av,
    "mhsa": gen_mhsa,
    "fwsa": gen_fwsa,
    "layernorm": gen_layernorm,
    "gelu": gen_gelu,
    "add": gen_add,
    "mhsa_dft": gen_mhsa_dft,
    "conv2d": gen_conv2d,
    "depthwise_conv2d": gen_depthwise_conv2d,
    "maxpool2d": gen_maxpool2d,
    "avgpool2d": gen_avgpool2d,
    "mean_rows": gen_mean_rows,
    "fwsa_dft": gen_fwsa_dft,
    "lut": gen_lut,
    "linear_sparse": gen_linear_sparse,
    "conv2d_sparse": gen_conv2d_sparse,
    "gather": gen_gather,
    "mul": gen_mul,
    "conv2d_general": gen_conv2d_general,
    "layernorm_steps": gen_layernorm_steps,
    "attention_steps": gen_attention_steps,
}
assert set(GENERATORS) == set(KERNEL_IDS)


def generate_cases(seed: int, per_kernel: int, kernels: list[str] | None = None) -> list[Case]:
    """``per_kernel`` cases for each kernel, independent streams derived from ``seed``."""
    names = kernels or list(GENERATORS)
    cases: list[Case] = []
    for name in names:
        if name not in GENERATORS:
            raise UserInputError(
                f"kernels: unknown kernel {name!r}; known: {', '.join(GENERATORS)}"
            )
        rng = np.random.default_rng([seed, KERNEL_IDS[name]])
        cases.extend(GENERATORS[name](rng, i) for i in range(per_kernel))
    return cases
