"""Self-attention as the TFLite converter emits ``keras.layers.MultiHeadAttention``,
matched into one IR :class:`~tinytx.core.ir.Mhsa` (so DFT and FWSA apply).

The form (TF 2.21)::

    x -> FULLY_CONNECTED (q) -> RESHAPE [S,H,P] -> TRANSPOSE [0,2,1,3] ----------.
    x -> FULLY_CONNECTED (k) -> RESHAPE [S,H,P] -> TRANSPOSE [0,2,3,1] -> BATCH_MATMUL
         -> MUL (scalar, 1/sqrt(P)) -> RESHAPE -> SOFTMAX -> BATCH_MATMUL <- (v chain)
         -> RESHAPE -> TRANSPOSE [0,2,1,3] -> RESHAPE [S,H*P] -> FULLY_CONNECTED (out)

:func:`match_attentions` finds the operators of each block by structure before the
lowering (RESHAPE/TRANSPOSE in any order, scalar MULs on the scores); :func:`lower_mhsa`
replays the layout ops on index arrays once the input shape is known, which gives the
head of every projection row (q, k, v) and of every output-projection column, and so
the permutation of the weights into the IR's ``[H*P][E]`` order.

Integer semantics, by default (:func:`lower_attention`): the projections become the
model's Linear ops and the scores, scalar MUL, softmax and A*V one
:class:`~tinytx.core.ir.AttentionSteps`, each step in TFLite's int8 arithmetic
(:mod:`tinytx.core.golden.attention_steps`): equal to the interpreter bit for bit. That
needs the heads in their plain order (column ``h*P + p`` of every projection and of the
merge), at most one scalar MUL and factors the kernel takes; otherwise (or with
``exact=False``) the block becomes one :class:`~tinytx.core.ir.Mhsa`
(:func:`lower_mhsa`), which keeps q, k, v and the A*V output symmetric (zero point 0)
at a scale that covers the TFLite tensor's range and skips TFLite's int8 rounding of the
scores after the scalar MUL: it agrees with TFLite statistically, not bit for bit, and
the planner may fuse it (DFT tiles, FWSA).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tinytx.core import golden as gold
from tinytx.core import ir
from tinytx.core.frontend.tflite import quantization as q
from tinytx.core.frontend.tflite.quantization import op_error
from tinytx.core.frontend.tflite.reader import TflGraph, TflOp, TflTensor
from tinytx.core.golden import tflite_factors as tf
from tinytx.core.golden.attention_steps import AttentionStepsParams, identity_scale
from tinytx.core.golden.limits import kernel_limits

if TYPE_CHECKING:
    from tinytx.core.frontend.tflite.lower import Lowering

LAYOUT = ("RESHAPE", "TRANSPOSE")
ACCEPT_ATTENTION = (
    "accepted: self-attention as keras.layers.MultiHeadAttention converts (FULLY_CONNECTED "
    "q/k/v, RESHAPE/TRANSPOSE to heads, BATCH_MATMUL, scalar MUL, SOFTMAX, BATCH_MATMUL, "
    "RESHAPE/TRANSPOSE back, FULLY_CONNECTED)"
)


@dataclass(frozen=True)
class AttentionMatch:
    softmax: TflOp
    x: int  # the TFLite tensor all three projections read
    q: tuple[TflOp, tuple[TflOp, ...]]  # projection and its layout ops (forward order)
    k: tuple[TflOp, tuple[TflOp, ...]]
    v: tuple[TflOp, tuple[TflOp, ...]]
    qk: TflOp
    scores: tuple[TflOp, ...]  # RESHAPE/MUL between the first BATCH_MATMUL and SOFTMAX
    av: TflOp
    merge: tuple[TflOp, ...]
    out: TflOp
    ops: frozenset[int]

    @property
    def last(self) -> int:
        return max(self.ops)


class _Index:
    def __init__(self, g: TflGraph) -> None:
        self.g = g
        self.producer: dict[int, TflOp] = {}
        self.users: dict[int, list[TflOp]] = {}
        for op in g.ops:
            for o in op.outputs:
                self.producer[o] = op
            for i in op.inputs:
                if i >= 0:
                    self.users.setdefault(i, []).append(op)

    def only_user(self, value: int) -> TflOp | None:
        users = self.users.get(value, [])
        if len(users) == 1 and value not in self.g.outputs:
            return users[0]
        return None


def _scalar_const(g: TflGraph, index: int) -> TflTensor | None:
    t = g.tensors[index]
    return t if t.data is not None and t.data.size == 1 else None


def _back(ix: _Index, value: int, softmax: TflOp) -> tuple[TflOp, tuple[TflOp, ...]]:
    chain: list[TflOp] = []
    op = ix.producer.get(value)
    while op is not None and op.name in LAYOUT:
        chain.append(op)
        op = ix.producer.get(op.inputs[0])
    if op is None or op.name != "FULLY_CONNECTED":
        raise op_error(softmax, "a BATCH_MATMUL operand is not a projection", ACCEPT_ATTENTION)
    return op, tuple(reversed(chain))


def _forward(ix: _Index, value: int, names: tuple[str, ...]) -> tuple[list[TflOp], TflOp | None]:
    chain: list[TflOp] = []
    op = ix.only_user(value)
    while op is not None and op.name in names:
        chain.append(op)
        op = ix.only_user(op.outputs[0])
    return chain, op


def match_attention(g: TflGraph, ix: _Index, softmax: TflOp) -> AttentionMatch:
    def fail(problem: str) -> Exception:
        return op_error(softmax, problem, ACCEPT_ATTENTION)

    scores: list[TflOp] = []
    op = ix.producer.get(softmax.inputs[0])
    while op is not None and (
        op.name == "RESHAPE" or (op.name == "MUL" and _scalar_const(g, op.inputs[1]) is not None)
    ):
        scores.append(op)
        op = ix.producer.get(op.inputs[0])
    qk = op
    if qk is None or qk.name != "BATCH_MATMUL":
        raise op_error(
            softmax,
            "a SOFTMAX outside self-attention is not supported (a classifier's final "
            "softmax: convert the model without it, the arg-max is the same)",
            ACCEPT_ATTENTION,
        )
    if qk.opt("AdjX", False):
        raise fail("the scores' BATCH_MATMUL transposes the queries")
    probs_chain, av = _forward(ix, softmax.outputs[0], ("RESHAPE",))
    last_prob = (probs_chain[-1] if probs_chain else softmax).outputs[0]
    if av is None or av.name != "BATCH_MATMUL" or av.inputs[0] != last_prob:
        raise fail("the probabilities do not feed one BATCH_MATMUL with the values")
    if av.opt("AdjX", False) or av.opt("AdjY", False):
        raise fail("the probabilities x values product is transposed")
    lq, lk, lv = (_back(ix, v, softmax) for v in (qk.inputs[0], qk.inputs[1], av.inputs[1]))
    merge, out = _forward(ix, av.outputs[0], LAYOUT)
    if out is None or out.name != "FULLY_CONNECTED":
        raise fail("the heads' output does not feed one FULLY_CONNECTED")
    x = lq[0].inputs[0]
    if lk[0].inputs[0] != x or lv[0].inputs[0] != x:
        raise fail("q, k and v do not project the same tensor (not self-attention)")
    members = [softmax, qk, av, out, *scores, *probs_chain, *merge]
    for lin, chain in (lq, lk, lv):
        members += [lin, *chain]
    ops = frozenset(o.index for o in members)
    for o in members:  # closed: inner values are read only inside the block
        if o is out:
            continue
        for v in o.outputs:
            if v in g.outputs or any(u.index not in ops for u in ix.users.get(v, [])):
                raise fail(f"operator {o.index} ({o.name}) is also read outside the block")
    return AttentionMatch(
        softmax, x, lq, lk, lv, qk, tuple(reversed(scores)), av, tuple(merge), out, ops
    )


def match_attentions(g: TflGraph) -> list[AttentionMatch]:
    ix = _Index(g)
    found = [match_attention(g, ix, op) for op in g.ops if op.name == "SOFTMAX"]
    seen: set[int] = set()
    for m in found:
        if seen & m.ops:
            raise op_error(m.softmax, "overlaps another attention block", ACCEPT_ATTENTION)
        seen |= m.ops
    return found


def _symmetric(t: TflTensor) -> float:
    s, z = t.scale, t.zero_point
    return s if z == 0 else max(s * (128 + z) / 128.0, s * (127 - z) / 127.0)


def _replay(lo: Lowering, idx: np.ndarray, chain: tuple[TflOp, ...]) -> np.ndarray:
    for op in chain:
        if op.name == "RESHAPE":
            dims = [int(d) for d in np.asarray(lo.const(op.inputs[1])).ravel()]
            known = math.prod(d for d in dims if d >= 0)
            idx = idx.reshape([idx.size // known if d == -1 else d for d in dims])
        else:
            perm = lo.const(op.inputs[1])
            if perm is None:
                raise op_error(op, "permutation is not a constant", ACCEPT_ATTENTION)
            idx = idx.transpose([int(p) for p in np.asarray(perm).ravel()])
    return idx


def _squeeze_front(a: np.ndarray, rank: int, op: TflOp) -> np.ndarray:
    while a.ndim > rank and a.shape[0] == 1:
        a = a[0]
    if a.ndim != rank:
        raise op_error(op, f"heads layout {list(a.shape)}", ACCEPT_ATTENTION)
    return a


def _head_columns(
    lo: Lowering,
    proj: tuple[TflOp, tuple[TflOp, ...]],
    s: int,
    k_side: bool,
    adj_y: bool,
    anchor: TflOp,
) -> np.ndarray:
    """cols[h, p]: the projection's output column at head h, position p."""
    fc, chain = proj
    n = int(lo.t(fc.inputs[1]).shape[0])
    shape = (1, s, n) if fc.opt("KeepNumDims", False) else (s, n)
    idx = _squeeze_front(_replay(lo, np.arange(s * n).reshape(shape), chain), 3, anchor)
    if k_side and not adj_y:
        idx = np.swapaxes(idx, 1, 2)  # K arrives as [H][P][S]
    h, s2, p = idx.shape
    if s2 != s or h * p != n:
        raise op_error(anchor, f"heads layout {list(idx.shape)} for {s} tokens", ACCEPT_ATTENTION)
    cols = idx[:, 0, :]
    rows = np.arange(s)[None, :, None] * n
    if not np.array_equal(idx, rows + cols[:, None, :]):
        raise op_error(anchor, "a head mixes tokens", ACCEPT_ATTENTION)
    return cols


def _projection(lo: Lowering, fc: TflOp, cols: np.ndarray, s_x: float, z_x: int):
    w, s_w = q.weight(fc, lo.t(fc.inputs[1]), 0)
    n = w.shape[0]
    b = q.bias(fc, lo.t(fc.inputs[2]) if len(fc.inputs) > 2 and fc.inputs[2] >= 0 else None, n)
    if b is None:
        b = np.zeros(n, np.int32)
    order = cols.ravel()
    w, b = w[order], b[order]
    s_w = s_w[order] if np.ndim(s_w) else s_w
    if fc.opt("FusedActivationFunction", 0):
        raise op_error(fc, "a fused activation on an attention projection", ACCEPT_ATTENTION)
    return w.astype(np.int8), q.folded(fc, gold.fold_bias, b, w, z_x), s_w


def _quant(t: TflTensor) -> tuple[float, int]:
    if t.scales.size != 1:
        raise ValueError(f"tensor '{t.name}' has {t.scales.size} scales")
    return float(t.scale), int(t.zero_point)


def steps_params(lo: Lowering, m: AttentionMatch) -> tuple[int, AttentionStepsParams]:
    """(heads, factors) of the :class:`~tinytx.core.ir.AttentionSteps` of a block;
    ``ValueError`` when the block does not fit it."""
    sm = m.softmax
    xt = lo.tensors[lo.act(sm, m.x)]
    e = int(lo.t(m.q[0].inputs[1]).shape[1])
    s = xt.size // e
    adj_y = bool(m.qk.opt("AdjY", False))
    cq = _head_columns(lo, m.q, s, False, False, sm)
    plain = np.arange(cq.size).reshape(cq.shape)
    ck = _head_columns(lo, m.k, s, True, adj_y, sm)
    cv = _head_columns(lo, m.v, s, False, False, sm)
    if not (np.array_equal(cq, plain) and np.array_equal(ck, plain) and np.array_equal(cv, plain)):
        raise ValueError("the projections' columns are not in head order")
    heads, p = cq.shape
    av_rank = len(lo.t(m.av.outputs[0]).shape)
    av_idx = np.arange(heads * s * p).reshape((1, heads, s, p) if av_rank == 4 else (heads, s, p))
    merged = _replay(lo, av_idx, m.merge).reshape(s, heads * p)
    expect = np.arange(heads * s * p).reshape(heads, s, p).transpose(1, 0, 2).reshape(s, -1)
    if not np.array_equal(merged, expect):
        raise ValueError("the heads' merge is not the plain concatenation")
    for proj, operand in ((m.q, m.qk.inputs[0]), (m.k, m.qk.inputs[1]), (m.v, m.av.inputs[1])):
        if _quant(lo.t(proj[0].outputs[0])) != _quant(lo.t(operand)):
            raise ValueError("a projection's layout ops change its quantization")
    muls = [op for op in m.scores if op.name == "MUL"]
    if len(muls) > 1:
        raise ValueError(f"{len(muls)} scalar MULs on the scores")
    s_q, z_q = _quant(lo.t(m.qk.inputs[0]))
    s_k, z_k = _quant(lo.t(m.qk.inputs[1]))
    s_s, z_s = _quant(lo.t(m.qk.outputs[0]))
    scores = tf.batch_matmul_params(s_q, z_q, s_k, z_k, s_s, z_s)
    if muls:
        mul = muls[0]
        if mul.opt("FusedActivationFunction", 0):
            raise ValueError("a fused activation on the scores' MUL")
        c = lo.t(mul.inputs[1])
        s_c, z_c = _quant(c)
        s_t, z_t = _quant(lo.t(mul.outputs[0]))
        scale = tf.mul_params(s_s, z_s, s_c, z_c, s_t, z_t)
        code = int(np.asarray(c.data).ravel()[0])
    else:
        scale, code = identity_scale(z_s)
        s_t = s_s
    if _quant(lo.t(sm.inputs[0]))[0] != s_t:
        raise ValueError("the softmax input is not the scores' quantization")
    s_a, z_a = _quant(lo.t(sm.outputs[0]))
    if (s_a, z_a) != (1.0 / 256.0, -128):
        raise ValueError(f"softmax output scale {s_a:g} zero point {z_a}, not 1/256 and -128")
    softmax = tf.softmax_params(float(sm.opt("Beta", 1.0)), s_t)
    s_v, z_v = _quant(lo.t(m.av.inputs[1]))
    s_o, z_o = _quant(lo.t(m.av.outputs[0]))
    if _quant(lo.t(m.out.inputs[0])) != (s_o, z_o):
        raise ValueError("the heads' merge changes the quantization")
    av = tf.batch_matmul_params(s_a, z_a, s_v, z_v, s_o, z_o)
    params = AttentionStepsParams(scores, scale, code, softmax, av)
    gold.check_attention_steps_params(params, s, p)
    return heads, params


def lower_attention(lo: Lowering, m: AttentionMatch, exact: bool = True) -> None:
    """The block as its projections and a TFLite-exact
    :class:`~tinytx.core.ir.AttentionSteps`, or as one :class:`~tinytx.core.ir.Mhsa`
    when it does not fit (module docstring)."""
    try:
        if not exact:
            raise ValueError("the fused form asked for")
        heads, params = steps_params(lo, m)
    except ValueError as exc:
        lower_mhsa(lo, m, f"not TFLite's steps: {exc}")
        return
    sm = m.softmax
    rows = []
    for fc, _ in (m.q, m.k, m.v):
        lo.fully_connected(fc)
        t = lo.values[fc.outputs[0]]
        n = lo.tensors[t].shape[-1]
        rows.append(lo.view(t, (lo.tensors[t].size // n, n), fc))
    anchor = m.merge[-1] if m.merge else m.av
    shape = lo.tensors[rows[0]].shape
    lo.emit(
        anchor,
        lambda y, src: ir.AttentionSteps(
            name=lo.op_name("attention_steps"),
            inputs=tuple(rows),
            output=y,
            source=f"attention around operator {sm.index} (SOFTMAX), {len(m.ops)} operators, "
            "TFLite's int8 steps",
            heads=heads,
            params=params,
        ),
        shape,
        lo.t(anchor.outputs[0]).shape,
    )
    lo.fully_connected(m.out)


def lower_mhsa(lo: Lowering, m: AttentionMatch, why: str = "") -> None:
    sm = m.softmax
    x = lo.act(sm, m.x)
    xt = lo.tensors[x]
    e = int(lo.t(m.q[0].inputs[1]).shape[1])
    if xt.size % e:
        raise op_error(sm, f"input {list(xt.shape)} is not rows of {e}", ACCEPT_ATTENTION)
    s = xt.size // e
    s_x, z_x = xt.scale, xt.zero_point
    adj_y = bool(m.qk.opt("AdjY", False))
    cq = _head_columns(lo, m.q, s, False, False, sm)
    ck = _head_columns(lo, m.k, s, True, adj_y, sm)
    cv = _head_columns(lo, m.v, s, False, False, sm)
    heads, p = cq.shape
    if ck.shape != cq.shape or cv.shape != cq.shape:
        raise op_error(sm, "q, k and v have different head shapes", ACCEPT_ATTENTION)
    n = heads * p
    # the head merge: which (h, p) each output-projection input column holds
    av_rank = len(lo.t(m.av.outputs[0]).shape)
    av_idx = np.arange(n * s).reshape((1, heads, s, p) if av_rank == 4 else (heads, s, p))
    merged = _replay(lo, av_idx, m.merge).reshape(-1)
    if merged.size != s * n:
        raise op_error(sm, "the heads' merge changes the size", ACCEPT_ATTENTION)
    merged = merged.reshape(s, n)
    h_of, s_of, p_of = np.unravel_index(merged, (heads, s, p))
    if not np.array_equal(s_of, np.broadcast_to(np.arange(s)[:, None], (s, n))):
        raise op_error(sm, "the heads' merge mixes tokens", ACCEPT_ATTENTION)
    target = (h_of * p + p_of)[0]  # column j of the merge holds IR column target[j]
    if not all(np.array_equal(row, target) for row in h_of * p + p_of):
        raise op_error(sm, "the heads' merge differs between tokens", ACCEPT_ATTENTION)
    order = np.argsort(target)
    wq, bq, sq = _projection(lo, m.q[0], cq, s_x, z_x)
    wk, bk, sk = _projection(lo, m.k[0], ck, s_x, z_x)
    wv, bv, sv = _projection(lo, m.v[0], cv, s_x, z_x)
    s_q, s_k, s_v = (_symmetric(lo.t(proj[0].outputs[0])) for proj in (m.q, m.k, m.v))
    s_o = _symmetric(lo.t(m.av.outputs[0]))
    f = float(sm.opt("Beta", 1.0))
    for op in m.scores:
        if op.name == "MUL":
            c = lo.t(op.inputs[1])
            f *= c.scale * (float(c.data.ravel()[0]) - c.zero_point)
    if not f > 0:
        raise op_error(sm, f"the scores are scaled by {f:g}", "accepted: a positive factor")
    out = m.out
    wo, s_wo = q.weight(out, lo.t(out.inputs[1]), 0)
    if wo.shape != (e, n):
        raise op_error(out, f"output projection {list(wo.shape)} is not [{e}][{n}]")
    wo = wo[:, order]
    m_in = lo.t(out.inputs[0])
    bo_t = q.bias(
        out, lo.t(out.inputs[2]) if len(out.inputs) > 2 and out.inputs[2] >= 0 else None, e
    )
    bo = np.zeros(e, np.int32) if bo_t is None else np.rint(bo_t * (m_in.scale / s_o))
    if np.any(np.abs(bo) > kernel_limits().bias_bound):
        raise op_error(out, "output bias does not fit at the symmetric scale")
    y_t = lo.t(out.outputs[0])
    s_y, z_y = q.activation(out, y_t)
    act = q.clamp(out, s_y, z_y)
    try:
        softmax_rq = gold.softmax_requant(s_q * s_k * f)
    except ValueError as exc:
        raise op_error(sm, f"softmax scale: {exc}", ACCEPT_ATTENTION) from None
    quant = gold.MhsaQuant(
        q=q.requant(m.q[0], s_x * np.asarray(sq) / s_q if np.ndim(sq) else s_x * sq / s_q, 0),
        k=q.requant(m.k[0], s_x * np.asarray(sk) / s_k if np.ndim(sk) else s_x * sk / s_k, 0),
        v=q.requant(m.v[0], s_x * np.asarray(sv) / s_v if np.ndim(sv) else s_x * sv / s_v, 0),
        softmax=softmax_rq,
        av=q.requant(m.av, s_v / gold.attention.PROB_ONE / s_o, 0),
        out=q.requant(
            out, s_o * np.asarray(s_wo) / s_y if np.ndim(s_wo) else s_o * s_wo / s_y, z_y, act
        ),
    )
    weights = gold.MhsaWeights(
        wq=wq, bq=bq, wk=wk, bk=bk, wv=wv, bv=bv, wo=wo.astype(np.int8), bo=bo.astype(np.int32)
    )
    scales = ir.MhsaScales(
        x=s_x,
        wq=float(np.max(sq)),
        wk=float(np.max(sk)),
        wv=float(np.max(sv)),
        wo=float(np.max(s_wo)),
        q=s_q,
        k=s_k,
        v=s_v,
        o=s_o,
        y=s_y,
        score_factor=f,
    )
    xr = lo.view(x, (s, e), sm)
    y_shape = (1, s, e) if out.opt("KeepNumDims", False) else (s, e)
    lo.emit(
        out,
        lambda y, src: ir.Mhsa(
            name=lo.op_name("mhsa"),
            inputs=(xr,),
            output=y,
            source=f"attention around operator {sm.index} (SOFTMAX), {len(m.ops)} operators"
            + (f", one block ({why})" if why else ""),
            heads=heads,
            weights=weights,
            quant=quant,
            scales=scales,
        ),
        (s, e),
        y_shape,
    )
