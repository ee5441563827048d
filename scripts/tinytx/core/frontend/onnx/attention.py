"""Multi-head self-attention as the exporters write it, matched by what it computes.

From the Softmax the matcher walks back to ``scores = Q K^T`` (times scalar factors) and
forward to ``A V``, the head merge and the output projection. Each of Q, K and V is
followed back through layout and selection ops (Reshape, Transpose, Squeeze, Unsqueeze,
Flatten, Gather/Slice/Split by constants) and scalar Mul/Div to the linear projection it
comes from; those ops are replayed on an index array of the projection's output, which
says for every element of Q (``[H][S][P]``), K (``[H][P][S]``) and V (``[H][S][P]``)
which token and which output column it is. So one matcher covers:

- three separate q/k/v projections, or one packed ``[E][3E]`` projection (MatMul + Add,
  or Gemm) split by Slice, Split, Gather, or PyTorch's rank-5 Unsqueeze / Transpose /
  Squeeze / Gather of ``nn.MultiheadAttention``, timm's ``reshape(B, N, 3, H, P)`` +
  ``permute(2, 0, 3, 1, 4)`` + unbind, Hugging Face BERT's ``transpose_for_scores``;
- ``[S, B, E]`` or ``[B, S, E]`` token order (batch 1);
- the attention scale on the scores, on Q only, or on Q and K separately (all folded
  into the score factor);
- q/k/v reading the block input through their own Reshapes (onnxruntime's
  ``quant_pre_process`` writes every 3-D MatMul + Add as Reshape, Gemm, Reshape).

The packed projection's weight is split offline into Wq, Wk, Wv (rows picked by the
column indices above); its output tensor's one QDQ scale is the scale of q, k and v.
The head merge may permute the output projection's input columns: the permutation goes
into Wo's columns. The result is the one IR attention op (``ir.Mhsa``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tinytx.core import golden as gold
from tinytx.core.frontend.onnx.graph import Graph, Node, node_error
from tinytx.core.frontend.onnx.layout import (
    LAYOUT_OPS,
    VIEW_OPS,
    apply_view,
    is_row_major,
    row_major,
    scalar_const,
    scale_factor,
)
from tinytx.core.frontend.onnx.patterns import (
    ACCEPT_MHSA,
    LinearMatch,
    MhsaMatch,
    check_closed,
    int_bias,
    is_linear_node,
    linear_producing,
    match_linear,
    requant,
    single_consumer,
    symmetric_scale,
)

Step = tuple[Node, str]  # a node and the output of it the path follows


@dataclass
class Operand:
    """One of Q, K, V: its projection and the steps from the projection's output."""

    lin: LinearMatch
    start: str
    steps: list[Step]


def _zero_add(g: Graph, node: Node) -> int | None:
    """For Add of an all-zero constant (an attention mask that masks nothing), the index
    of the activation input."""
    if node.op != "Add" or len(node.inputs) != 2:
        return None
    for k in (0, 1):
        c = g.consts.get(node.inputs[k])
        if c is not None and node.inputs[1 - k] not in g.consts:
            if np.asarray(c.value).size and not np.any(np.asarray(c.value)):
                return 1 - k
    return None


def _back(g: Graph, value: str, anchor: Node, what: str) -> Operand:
    """From an attention operand back to the linear projection it comes from."""
    steps: list[Step] = []
    while True:
        lin = linear_producing(g, value)
        if lin is not None:
            return Operand(lin, value, steps[::-1])
        p = g.producer(value)
        if p is None:
            break
        if p.op in VIEW_OPS and p.inputs and p.inputs[0] not in g.consts:
            steps.append((p, value))
            value = p.inputs[0]
            continue
        sc = scalar_const(g, p)
        if sc is not None and scale_factor(g, p) is not None:
            steps.append((p, value))
            value = p.inputs[sc[1]]
            continue
        break
    where = f"'{value}' is made by {p.op} '{p.name}'" if p is not None else f"'{value}'"
    raise node_error(
        anchor,
        f"the {what} operand does not come from a linear projection ({where})",
        ACCEPT_MHSA,
    )


def _replay(g: Graph, start: str, steps: list[Step]) -> np.ndarray:
    idx = row_major(g.shape(start))
    for node, out in steps:
        if node.op in VIEW_OPS:
            idx = apply_view(node, idx, g, out)
    return idx


def _columns(
    g: Graph, op: Operand, tokens: int, transposed: bool, anchor: Node, what: str
) -> np.ndarray:
    """``[H][P]``: the projection output column of every head element of the operand,
    checked to be the same for every token (``transposed``: K as ``[H][P][S]``)."""
    idx = _replay(g, op.start, op.steps)
    n = op.lin.n
    if idx.ndim < 2 or idx.shape[-1 if transposed else -2] != tokens:
        raise node_error(
            anchor,
            f"the {what} operand {list(idx.shape)} does not have {tokens} tokens",
            ACCEPT_MHSA,
        )
    if transposed:
        idx = np.swapaxes(idx, -1, -2)
    idx = idx.reshape(-1, tokens, idx.shape[-1])  # [H][S][P]
    rows, cols = idx // n, idx % n
    if not np.array_equal(rows, np.broadcast_to(np.arange(tokens)[None, :, None], rows.shape)):
        raise node_error(
            anchor, f"the {what} head split mixes tokens (not a per-token split)", ACCEPT_MHSA
        )
    if not np.all(cols == cols[:, :1, :]):
        raise node_error(anchor, f"the {what} head split differs between tokens", ACCEPT_MHSA)
    return cols[:, 0, :]


def _input_chain(g: Graph, value: str) -> list[str]:
    """``value`` and the values it is a layout view of (back through layout ops)."""
    chain = [value]
    while True:
        p = g.producer(chain[-1])
        if p is None or p.op not in LAYOUT_OPS or len(p.outputs) != 1 or p.inputs[0] in g.consts:
            return chain
        chain.append(p.inputs[0])


def _layout_nodes(g: Graph, value: str, root: str) -> list[Node]:
    nodes = []
    while value != root:
        p = g.producer(value)
        assert p is not None
        nodes.append(p)
        value = p.inputs[0]
    return nodes[::-1]


def _common_input(g: Graph, lins: list[LinearMatch], anchor: Node) -> tuple[str, list[Node]]:
    """The tensor all projections read (through their own layout views) and those views."""
    chains = [_input_chain(g, lin.input) for lin in lins]
    root = next((v for v in chains[0] if all(v in c for c in chains[1:])), None)
    if root is None:
        raise node_error(
            anchor, "Q, K and V are projections of different inputs (cross-attention)", ACCEPT_MHSA
        )
    nodes: list[Node] = []
    for lin in lins:
        path = _layout_nodes(g, lin.input, root)
        idx = row_major(g.shape(root, anchor))
        for n in path:
            idx = apply_view(n, idx, g, n.outputs[0])
        if not is_row_major(idx):
            raise node_error(
                anchor,
                f"a projection reads the block input '{root}' in another token order",
                ACCEPT_MHSA,
            )
        nodes += path
    return root, nodes


def _score_chain(g: Graph, value: str) -> tuple[str, list[Node], float]:
    """Back from the Softmax input through scalar Mul/Div and zero Adds: (Q K^T value,
    the nodes, the product of the factors)."""
    nodes: list[Node] = []
    f = 1.0
    while True:
        p = g.producer(value)
        if p is None or len(p.outputs) != 1:
            break
        sc = scalar_const(g, p)
        fac = scale_factor(g, p) if sc is not None else None
        if sc is not None and fac is not None:
            nodes.append(p)
            f *= fac
            value = p.inputs[sc[1]]
            continue
        z = _zero_add(g, p)
        if z is not None:
            nodes.append(p)
            value = p.inputs[z]
            continue
        break
    return value, nodes[::-1], f


def _nan_guard(g: Graph, value: str) -> tuple[str, list[Node]]:
    """``Where(IsNaN(p), 0, p)`` after the Softmax (PyTorch's dynamo export of
    ``scaled_dot_product_attention``): the identity for the finite probabilities of an
    unmasked softmax. Returns the value after the guard and its nodes."""
    users = g.consumers(value)
    isnan = next((u for u in users if u.op == "IsNaN"), None)
    if isnan is None or len(users) != 2 or g.is_output(value):
        return value, []
    where = next((u for u in users if u.op == "Where"), None)
    if where is None or len(where.inputs) != 3 or where.inputs[0] != isnan.outputs[0]:
        return value, []
    zero = g.consts.get(where.inputs[1])
    if where.inputs[2] != value or zero is None or np.any(np.asarray(zero.value)):
        return value, []
    return where.outputs[0], [isnan, where]


def _merge_chain(g: Graph, value: str) -> tuple[str, list[Node]]:
    nodes: list[Node] = []
    while True:
        nxt = single_consumer(g, value)
        if nxt is None or len(nxt.outputs) != 1 or not nxt.inputs or nxt.inputs[0] != value:
            break
        if nxt.op in LAYOUT_OPS:
            nodes.append(nxt)
            value = nxt.outputs[0]
            continue
        sc = scalar_const(g, nxt)
        if sc is not None and nxt.inputs[sc[1]] == value and scale_factor(g, nxt) is not None:
            nodes.append(nxt)
            value = nxt.outputs[0]
            continue
        break
    return value, nodes


def _act_scale(g: Graph, value: str) -> float:
    """The scale of an internal attention tensor (q, k, v, A*V output): symmetric, as the
    kernels keep them, covering the whole range of an asymmetric quantization."""
    return symmetric_scale(g, value)


def _path_scale(
    g: Graph, start: str, nodes: list[Node], outs: list[str], anchor: Node, what: str
) -> tuple[float, float]:
    """(scale of the integer tensor at ``start``, product of the scalar factors along
    the path): the first quantized value along the path gives the scale."""
    f = 1.0
    s_eff = _act_scale(g, start) if start in g.qscale else None
    for n, v in zip(nodes, outs, strict=True):
        fac = scale_factor(g, n) if n.op in ("Mul", "Div") else None
        if fac is not None:
            f *= fac
        if s_eff is None and v in g.qscale:
            s_eff = _act_scale(g, v) / f
    if s_eff is None:
        raise node_error(anchor, f"the {what} is not quantized (no QDQ on it)", ACCEPT_MHSA)
    if not (f > 0 and s_eff > 0):
        raise node_error(anchor, f"the {what} is scaled by {f:g}", "accepted: positive factors")
    return s_eff, f


def _softmax_rq(score_scale: float, node: Node) -> gold.Requant:
    try:
        return gold.softmax_requant(score_scale)
    except ValueError as exc:
        raise node_error(node, f"softmax scale: {exc}", ACCEPT_MHSA) from None


def _unique(nodes: list[Node]) -> list[Node]:
    seen: set[int] = set()
    out = []
    for n in nodes:
        if id(n) not in seen:
            seen.add(id(n))
            out.append(n)
    return out


def match_attention(g: Graph, softmax: Node) -> MhsaMatch:
    """The attention block around ``softmax`` as one MHSA (see the module docstring)."""

    def fail(problem: str) -> Exception:
        return node_error(softmax, problem, ACCEPT_MHSA)

    rank = len(g.shape(softmax.inputs[0], softmax))
    axis = int(softmax.attr("axis", -1))
    if axis % max(rank, 1) != rank - 1:
        raise fail(f"axis={axis} is not the last axis")
    scores, score_nodes, f_s = _score_chain(g, softmax.inputs[0])
    qk = g.producer(scores)
    if qk is not None and qk.op in ("Add", "Where") and any(i in g.consts for i in qk.inputs):
        raise fail(
            f"the scores get a mask ({qk.op} '{qk.name}' of a nonzero constant); masked "
            "attention is not supported"
        )
    if qk is None or qk.op != "MatMul" or any(i in g.consts for i in qk.inputs):
        raise fail("its input is not a MatMul of two activations (Q K^T)")
    probs, guard = _nan_guard(g, softmax.outputs[0])
    av = single_consumer(g, probs)
    while av is not None and av.op == "Identity":  # e.g. Casts to float32 and back
        guard.append(av)
        probs = av.outputs[0]
        av = single_consumer(g, probs)
    if av is None or av.op != "MatMul" or av.inputs[0] != probs:
        raise fail("its output is not the first input of one MatMul (A*V)")

    ops = {
        "Q": _back(g, qk.inputs[0], softmax, "Q"),
        "K": _back(g, qk.inputs[1], softmax, "K"),
        "V": _back(g, av.inputs[1], softmax, "V"),
    }
    lins = _unique_lins([o.lin for o in ops.values()])
    x, in_nodes = _common_input(g, lins, softmax)
    xs = g.shape(x, softmax)
    e, s = xs[-1], math.prod(xs[:-1])
    cq = _columns(g, ops["Q"], s, False, softmax, "Q")
    ck = _columns(g, ops["K"], s, True, softmax, "K")
    cv = _columns(g, ops["V"], s, False, softmax, "V")
    heads, p = cq.shape
    if ck.shape != cq.shape or cv.shape != cq.shape:
        raise fail(
            f"Q {list(cq.shape)}, K {list(ck.shape)} and V {list(cv.shape)} heads x head "
            "sizes differ"
        )
    n = heads * p

    merged, merge_chain = _merge_chain(g, av.outputs[0])
    out_node = single_consumer(g, merged)
    if out_node is None or not is_linear_node(g, out_node):
        raise fail("the head merge does not feed one output projection (MatMul/Gemm)")
    out_lin = match_linear(g, out_node)
    oi = _replay(g, av.outputs[0], [(m, m.outputs[0]) for m in merge_chain])
    if oi.size != s * n or oi.shape[-1] != n or g.shape(av.outputs[0], av)[-2:] != (s, p):
        raise fail("the head merge does not give [S][H*P] rows for the output projection")
    oi = oi.reshape(s, n)
    h_of, s_of, p_of = oi // (s * p), (oi // p) % s, oi % p
    col = h_of * p + p_of
    if not np.array_equal(s_of, np.broadcast_to(np.arange(s)[:, None], (s, n))) or not np.all(
        col == col[:1]
    ):
        raise fail("the head merge is not a per-token concatenation of the heads")
    if not np.array_equal(np.sort(col[0]), np.arange(n)):
        raise fail("the head merge does not use every head element once")
    if out_lin.w.shape != (e, n):
        raise fail(
            f"the output projection maps {out_lin.w.shape[1]} -> {out_lin.w.shape[0]}, "
            f"not H*P={n} -> E={e}"
        )
    wo = np.empty_like(out_lin.w)
    wo[:, col[0]] = out_lin.w

    x_q = next((v for v in _input_chain(g, x) if v in g.qscale), None)
    if x_q is None or out_lin.output not in g.qscale:
        raise fail("the block's input or output is not quantized")
    s_x, z_x = g.qscale[x_q], g.qzero.get(x_q, 0)
    s_y, z_y = g.qscale[out_lin.output], g.qzero.get(out_lin.output, 0)

    def scale_of(o: Operand, what: str) -> tuple[float, float]:
        return _path_scale(
            g, o.start, [n for n, _ in o.steps], [v for _, v in o.steps], softmax, what
        )

    s_q, f_q = scale_of(ops["Q"], "Q projection")
    s_k, f_k = scale_of(ops["K"], "K projection")
    s_v, f_v = scale_of(ops["V"], "V projection")
    s_o, f_o = _path_scale(
        g, av.outputs[0], merge_chain, [m.outputs[0] for m in merge_chain], softmax, "A*V output"
    )
    if not f_s > 0:
        raise fail(f"the scores are scaled by {f_s:g}")
    lq, lk, lv = ops["Q"].lin, ops["K"].lin, ops["V"].lin
    s_in_o = s_o * f_o

    def rows(lin: LinearMatch, c: np.ndarray):
        """The projection's rows in head order: weights, bias with the input zero point
        folded in, and the weight scale (one per row when quantized per channel)."""
        sel = c.ravel()
        w = lin.w[sel]
        w_scale = lin.w_scale[sel] if lin.per_channel else lin.w_scale
        b = None if lin.bias is None else lin.bias[sel]
        return w.astype(np.int8), int_bias(b, n, s_x * w_scale, softmax, w, z_x), w_scale

    wq, bq, sq = rows(lq, cq)
    wk, bk, sk = rows(lk, ck)
    wv, bv, sv = rows(lv, cv)
    quant = gold.MhsaQuant(
        q=requant(s_x * sq / s_q, softmax, "Q requantization"),
        k=requant(s_x * sk / s_k, softmax, "K requantization"),
        v=requant(s_x * sv / s_v, softmax, "V requantization"),
        softmax=_softmax_rq(s_q * s_k * f_q * f_k * f_s, softmax),
        av=requant(f_v * s_v / gold.attention.PROB_ONE / s_o, softmax, "A*V requantization"),
        out=requant(s_in_o * out_lin.w_scale / s_y, out_node, "output projection", zero_point=z_y),
    )
    weights = gold.MhsaWeights(
        wq=wq,
        bq=bq,
        wk=wk,
        bk=bk,
        wv=wv,
        bv=bv,
        wo=wo.astype(np.int8),
        bo=int_bias(out_lin.bias, e, s_in_o * out_lin.w_scale, out_node),
    )
    nodes: list[Node] = list(in_nodes)
    for lin in lins:
        nodes += lin.nodes
    for o in ops.values():
        nodes += [nd for nd, _ in o.steps]
    nodes += [qk, *score_nodes, softmax, *guard, av, *merge_chain, *out_lin.nodes]
    nodes = _unique(nodes)
    scales = {
        "x": s_x,
        # per-channel weights: the largest scale (only the FWSA fusion reads these, and
        # it is not offered for per-channel blocks)
        "wq": float(np.max(sq)),
        "wk": float(np.max(sk)),
        "wv": float(np.max(sv)),
        "wo": float(np.max(out_lin.w_scale)),
        "q": s_q,
        "k": s_k,
        "v": s_v,
        "o": s_in_o,
        "y": s_y,
        "score_factor": f_q * f_k * f_s,
    }
    match = MhsaMatch(nodes, x, out_lin.output, heads, weights, quant, scales)
    check_closed(g, match.nodes, match.output, softmax, ACCEPT_MHSA)
    return match


def _unique_lins(lins: list[LinearMatch]) -> list[LinearMatch]:
    out: list[LinearMatch] = []
    for lin in lins:
        if not any(o.nodes[0] is lin.nodes[0] for o in out):
            out.append(lin)
    return out
