"""Attention as the exporters write it: every form lowers to the one IR attention op
(``ir.Mhsa``) and the golden executor stays within a few output LSB of onnxruntime.

The graphs reproduce, with onnx.helper (no torch), what PyTorch's legacy and dynamo
exporters, timm, Hugging Face BERT and onnxruntime's quant_pre_process write: one packed
q/k/v projection split by Slice, Split or Gather (nn.MultiheadAttention's rank-5
Unsqueeze/Transpose/Squeeze/Gather), [S, B, E] token order, the attention scale computed
at run time from the shapes (Shape -> Cast -> Sqrt -> Div) on q and k separately,
Reshape -> Gemm -> Reshape projections, the NaN guard after the Softmax, a class token
and a classifier on token 0. They are quantized with onnxruntime's quantize_static
(QDQ, int8, symmetric, per tensor) as tests/python/test_frontend.py does.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import onnx
import pytest

from tinytx.core import ir
from tinytx.core.errors import TinytxError
from tinytx.core.frontend.onnx import FrontendError, load_onnx
from tinytx.core.frontend.onnx.testing import GraphBuilder, quantize_qdq, random_inputs

ort = pytest.importorskip("onnxruntime")
from ort_margins import max_deviation_lsb  # noqa: E402

S, E, H = 6, 16, 2
P = E // H
TOKENS = (1, S, E)
MARGIN_LSB = 4.0  # integer kernels requantize once per op where onnxruntime rounds per node

Build = Callable[[GraphBuilder, str], str]


def qdq(build: Build, shape: tuple[int, ...] = TOKENS, opset: int = 17) -> bytes:
    b = GraphBuilder(seed=3, opset=opset)
    x = b.input(shape)
    model = b.model(build(b, x))
    onnx.checker.check_model(model)
    return quantize_qdq(model, random_inputs(shape, 16))


def deviation_lsb(data: bytes, m: ir.Model, shape: tuple[int, ...], n: int = 6) -> float:
    """Largest |onnxruntime - golden| over ``n`` inputs, in output LSB (graph
    optimizations off, so onnxruntime runs the QDQ nodes as written)."""
    return max_deviation_lsb(data, m, random_inputs(shape, n, seed=5))


# ------------------------------------------------------------------- graph fragments


def c64(b: GraphBuilder, values) -> str:
    return b.const(np.array(values, np.int64), "i")


def run_time_shape(b: GraphBuilder, x: str, dims: list[int | str]) -> str:
    """A Reshape target as exporters write ``x.view(...)``: Concat of Unsqueeze(Gather(
    Shape(x), i)) for ``"i"`` entries and constants for int entries."""
    shape = b.node("Shape", [x], (len(b.shape(x)),))
    parts = []
    for d in dims:
        if isinstance(d, str):
            g = b.node("Gather", [shape, b.const(np.array(int(d), np.int64), "i")], ())
            parts.append(b.node("Unsqueeze", [g, c64(b, [0])], (1,)))
        else:
            parts.append(c64(b, [d]))
    return b.node("Concat", parts, (len(dims),), axis=0)


def reshape_rt(b: GraphBuilder, x: str, dims: list[int | str], shape: tuple[int, ...]) -> str:
    return b.node("Reshape", [x, run_time_shape(b, x, dims)], shape)


def sdpa_scale(b: GraphBuilder, q: str) -> str:
    """sqrt(1 / sqrt(P)) computed from q's shape, as PyTorch's export of
    scaled_dot_product_attention applies it to q and k separately."""
    shape = b.node("Shape", [q], (len(b.shape(q)),))
    last = b.node("Slice", [shape, c64(b, [-1]), c64(b, [2**62])], (1,))
    f = b.node("Cast", [last], (1,), to=onnx.TensorProto.FLOAT)
    r = b.node("Div", [b.const(np.array(1.0, np.float32)), b.node("Sqrt", [f], (1,))], (1,))
    return b.node("Sqrt", [r], (1,))


def packed(b: GraphBuilder, x: str, gemm: bool = False) -> str:
    """One [E][3E] projection (MatMul + Add, or Gemm transB=1 on 2-D rows)."""
    if gemm:
        return b.linear(x, 3 * E, gemm=True)
    return b.linear(x, 3 * E)


def heads_bsep(b: GraphBuilder, t: str) -> str:
    """[1][S][E] -> [1][H][S][P] (view + transpose(1, 2))."""
    return b.transpose(b.reshape(t, (1, S, H, P)), (0, 2, 1, 3))


def attend(
    b: GraphBuilder, q: str, k: str, v: str, k_is_transposed: bool = False, scale: str = "div"
) -> str:
    """softmax(q k^T * scale) v for [1][H][S][P] operands; returns [1][H][S][P]."""
    kt = k if k_is_transposed else b.transpose(k, (0, 1, 3, 2))
    if scale == "qk":
        q = b.node("Mul", [q, f := sdpa_scale(b, q)], b.shape(q))
        kt = b.node("Mul", [kt, f], b.shape(kt))
    sc = b.node("MatMul", [q, kt], (1, H, S, S))
    if scale == "div":
        sc = b.node("Div", [sc, b.const(np.array(math.sqrt(P), np.float32))], (1, H, S, S))
    return b.node("MatMul", [b.node("Softmax", [sc], (1, H, S, S), axis=-1), v], (1, H, S, P))


def merge_bsep(b: GraphBuilder, o: str) -> str:
    return b.reshape(b.transpose(o, (0, 2, 1, 3)), (1, S, E))


# ------------------------------------------------------------------------- the forms


def packed_slice(b: GraphBuilder, x: str) -> str:
    y = packed(b, x)
    q, k, v = (
        b.node("Slice", [y, c64(b, [i * E]), c64(b, [(i + 1) * E]), c64(b, [2])], TOKENS)
        for i in range(3)
    )
    o = attend(b, heads_bsep(b, q), heads_bsep(b, k), heads_bsep(b, v))
    return b.linear(merge_bsep(b, o), E)


def packed_split(b: GraphBuilder, x: str) -> str:
    from onnx import helper

    y = packed(b, x)
    outs = [f"split_{i}" for i in range(3)]
    b.nodes.append(helper.make_node("Split", [y, c64(b, [E, E, E])], outs, axis=-1, name="split"))
    for o in outs:
        b.shapes[o] = TOKENS
    q, k, v = (heads_bsep(b, o) for o in outs)
    return b.linear(merge_bsep(b, attend(b, q, k, v)), E)


def torch_mha(b: GraphBuilder, x: str) -> str:
    """nn.MultiheadAttention(batch_first=True) through the legacy exporter: [S, B, E],
    packed in-projection unflattened with a run-time shape, rank-5 Unsqueeze /
    Transpose / Squeeze, Gather 0/1/2, the sdpa scale on q and k, Gemm out-projection."""
    xt = b.transpose(x, (1, 0, 2))  # [S][1][E]
    y = packed(b, xt)  # [S][1][3E]
    y = reshape_rt(b, y, ["0", "1", 3, E], (S, 1, 3, E))
    y = b.node("Unsqueeze", [y, c64(b, [0])], (1, S, 1, 3, E))
    y = b.transpose(y, (3, 1, 2, 0, 4))  # [3][S][1][1][E]
    y = b.node("Squeeze", [y, c64(b, [-2])], (3, S, 1, E))
    parts = []
    for i in range(3):
        t = b.node("Gather", [y, b.const(np.array(i, np.int64), "i")], (S, 1, E), axis=0)
        t = reshape_rt(b, t, ["0", H, P], (S, H, P))
        t = b.transpose(t, (1, 0, 2))  # [H][S][P]
        parts.append(b.reshape(t, (1, H, S, P)))
    o = attend(b, *parts, scale="qk")  # [1][H][S][P]
    o = b.transpose(o, (2, 0, 1, 3))  # [S][1][H][P]
    o = b.reshape(o, (S, E))
    o = b.linear(o, E, gemm=True)
    o = b.reshape(o, (S, 1, E))
    return b.transpose(o, (1, 0, 2))


def timm_unbind(gather: bool) -> Build:
    def build(b: GraphBuilder, x: str) -> str:
        from onnx import helper

        y = b.reshape(packed(b, x), (1, S, 3, H, P))
        y = b.transpose(y, (2, 0, 3, 1, 4))  # [3][1][H][S][P]
        if gather:
            q, k, v = (
                b.node("Gather", [y, b.const(np.array(i, np.int64), "i")], (1, H, S, P), axis=0)
                for i in range(3)
            )
        else:
            outs = [f"unbind_{i}" for i in range(3)]
            b.nodes.append(helper.make_node("Split", [y], outs, axis=0, name="unbind"))
            q, k, v = (b.node("Squeeze", [o, c64(b, [0])], (1, H, S, P)) for o in outs)
        q = b.node("Mul", [q, b.const(np.array(P**-0.5, np.float32))], (1, H, S, P))
        o = attend(b, q, k, v, scale="none")
        return b.linear(merge_bsep(b, o), E)

    return build


def hf_bert(b: GraphBuilder, x: str) -> str:
    """BertSelfAttention: transpose_for_scores (view + permute), scores / sqrt(P) plus
    the extended mask of an all-ones attention mask (zeros), and BertSelfOutput."""
    q, k, v = (
        b.transpose(reshape_rt(b, b.linear(x, E), ["0", "1", H, P], (1, S, H, P)), (0, 2, 1, 3))
        for _ in range(3)
    )
    kt = b.transpose(k, (0, 1, 3, 2))
    sc = b.node("MatMul", [q, kt], (1, H, S, S))
    sc = b.node("Div", [sc, b.const(np.array(math.sqrt(P), np.float32))], (1, H, S, S))
    sc = b.node("Add", [sc, b.const(np.zeros((1, 1, 1, S), np.float32))], (1, H, S, S))
    o = b.node("MatMul", [b.node("Softmax", [sc], (1, H, S, S), axis=-1), v], (1, H, S, P))
    o = b.transpose(o, (0, 2, 1, 3))
    o = reshape_rt(b, o, ["0", "1", E], TOKENS)
    return b.linear(o, E)


def prep_linear(b: GraphBuilder, x: str, n: int) -> str:
    """onnxruntime quant_pre_process's form of a 3-D Linear: Reshape -> Gemm -> Reshape."""
    rows = b.reshape(x, (S, b.shape(x)[-1]))
    w = b.const(b.weight((b.shape(x)[-1], n)), "w")
    y = b.node("Gemm", [rows, w, b.const(b.weight((n,), 0.1), "b")], (S, n))
    return b.reshape(y, (1, S, n))


def quant_pre_process(b: GraphBuilder, x: str) -> str:
    q, k, v = (heads_bsep(b, prep_linear(b, x, E)) for _ in range(3))
    return prep_linear(b, merge_bsep(b, attend(b, q, k, v)), E)


def nan_guard(b: GraphBuilder, x: str) -> str:
    """PyTorch's dynamo export: Where(IsNaN(p), 0, p) after the Softmax."""
    q, k, v = (heads_bsep(b, b.linear(x, E)) for _ in range(3))
    sc = b.node("MatMul", [q, b.transpose(k, (0, 1, 3, 2))], (1, H, S, S))
    sc = b.node("Mul", [sc, b.const(np.array(P**-0.5, np.float32))], (1, H, S, S))
    p = b.node("Softmax", [sc], (1, H, S, S), axis=-1)
    nan = b.node("IsNaN", [p], (1, H, S, S))
    p = b.node("Where", [nan, b.const(np.array(0.0, np.float32)), p], (1, H, S, S))
    o = b.node("MatMul", [p, v], (1, H, S, P))
    return b.linear(merge_bsep(b, o), E)


def float32_softmax(b: GraphBuilder, x: str) -> str:
    """Hugging Face's eager attention: the probabilities cast to float32 and back."""
    q, k, v = (heads_bsep(b, b.linear(x, E)) for _ in range(3))
    sc = b.node("MatMul", [q, b.transpose(k, (0, 1, 3, 2))], (1, H, S, S))
    sc = b.node("Mul", [sc, b.const(np.array(P**-0.5, np.float32))], (1, H, S, S))
    p = b.node("Softmax", [sc], (1, H, S, S), axis=-1)
    for _ in range(2):
        p = b.node("Cast", [p], (1, H, S, S), to=onnx.TensorProto.FLOAT)
    o = b.node("MatMul", [p, v], (1, H, S, P))
    return b.linear(merge_bsep(b, o), E)


def run_time_mask(b: GraphBuilder, x: str) -> str:
    """An attention mask computed at run time that masks nothing: Hugging Face's
    extended mask of an all-ones attention mask ((1 - ConstantOfShape(1)) * min) plus
    Where(Equal(Range, Range), 0, -1e4); both fold to zeros."""
    shape = b.node("Shape", [x], (3,))
    bs = b.node("Slice", [shape, c64(b, [0]), c64(b, [2])], (2,))
    from onnx import numpy_helper

    one = numpy_helper.from_array(np.array([1.0], np.float32), "one")
    ones = b.node("ConstantOfShape", [bs], (1, S), value=one)
    ext = b.node("Unsqueeze", [ones, c64(b, [1, 2])], (1, 1, 1, S))
    ext = b.node("Sub", [b.const(np.array(1.0, np.float32)), ext], (1, 1, 1, S))
    ext = b.node("Mul", [ext, b.const(np.array(-3.0e38, np.float32))], (1, 1, 1, S))
    n = b.node("Gather", [shape, b.const(np.array(1, np.int64), "i")], ())
    r = b.node("Range", [b.const(np.array(0, np.int64)), n, b.const(np.array(1, np.int64))], (S,))
    keep = b.node("Equal", [r, r], (S,))
    bias = b.node(
        "Where",
        [keep, b.const(np.array(0.0, np.float32)), b.const(np.array(-1e4, np.float32))],
        (S,),
    )
    q, k, v = (heads_bsep(b, b.linear(x, E)) for _ in range(3))
    sc = b.node("MatMul", [q, b.transpose(k, (0, 1, 3, 2))], (1, H, S, S))
    sc = b.node("Div", [sc, b.const(np.array(math.sqrt(P), np.float32))], (1, H, S, S))
    sc = b.node("Add", [sc, ext], (1, H, S, S))
    sc = b.node("Add", [sc, bias], (1, H, S, S))
    o = b.node("MatMul", [b.node("Softmax", [sc], (1, H, S, S), axis=-1), v], (1, H, S, P))
    return b.linear(merge_bsep(b, o), E)


FORMS: dict[str, Build] = {
    "packed q/k/v split by Slice": packed_slice,
    "packed q/k/v split by Split": packed_split,
    "nn.MultiheadAttention (rank-5 Transpose, Gather, run-time shapes)": torch_mha,
    "timm qkv reshape/permute/unbind (Split + Squeeze)": timm_unbind(gather=False),
    "timm qkv reshape/permute/unbind (Gather)": timm_unbind(gather=True),
    "Hugging Face BERT transpose_for_scores": hf_bert,
    "quant_pre_process Reshape -> Gemm -> Reshape": quant_pre_process,
    "dynamo NaN guard after the Softmax": nan_guard,
    "probabilities cast to float32 and back": float32_softmax,
    "run-time mask that masks nothing (ConstantOfShape, Range, Equal, Where)": run_time_mask,
}


@pytest.mark.parametrize("name", list(FORMS))
def test_attention_form_is_one_mhsa_and_matches_onnxruntime(name: str) -> None:
    data = qdq(FORMS[name])
    m = load_onnx(data)
    assert [op.kind for op in m.ops] == ["mhsa"]
    (op,) = m.ops
    assert isinstance(op, ir.Mhsa)
    assert op.heads == H and op.head_dim == P
    assert op.weights.wq.shape == (E, E) and op.weights.wo.shape == (E, E)
    assert op.scales.score_factor == pytest.approx(1 / math.sqrt(P), rel=2e-2)
    assert deviation_lsb(data, m, TOKENS) <= MARGIN_LSB


def test_packed_weight_is_split_into_wq_wk_wv() -> None:
    """The rows of the packed [3E][E] weight, in q, k, v order, are Wq, Wk, Wv."""
    data = qdq(packed_slice)
    (op,) = load_onnx(data).ops
    assert isinstance(op, ir.Mhsa)
    model = onnx.load_model_from_string(data)
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    packed_w = next(v for v in inits.values() if v.dtype == np.int8 and v.shape == (E, 3 * E))
    w = op.weights
    assert np.array_equal(np.concatenate([w.wq, w.wk, w.wv]), packed_w.T)
    assert op.scales.wq == op.scales.wk == op.scales.wv
    assert op.scales.q == op.scales.k == op.scales.v  # the packed output's one scale


def vit_like(b: GraphBuilder, x: str) -> str:
    """Token embedding, class token Concat, learned positions, attention, classifier on
    token 0 (Gather)."""
    t = b.linear(x, E)
    cls = b.const((0.5 * b.rng.standard_normal((1, 1, E))).astype(np.float32), "cls")
    t = b.node("Concat", [cls, t], (1, S + 1, E), axis=1)
    t = b.node("Add", [t, b.const(b.weight((1, S + 1, E), 0.3), "pos")], (1, S + 1, E))
    y = b.reshape(packed(b, t), (1, S + 1, 3, H, P))
    y = b.transpose(y, (2, 0, 3, 1, 4))
    q, k, v = (
        b.node("Gather", [y, b.const(np.array(i, np.int64), "i")], (1, H, S + 1, P), axis=0)
        for i in range(3)
    )
    kt = b.transpose(k, (0, 1, 3, 2))
    sc = b.node("MatMul", [q, kt], (1, H, S + 1, S + 1))
    sc = b.node("Mul", [sc, b.const(np.array(P**-0.5, np.float32))], (1, H, S + 1, S + 1))
    p = b.node("Softmax", [sc], (1, H, S + 1, S + 1), axis=-1)
    o = b.node("MatMul", [p, v], (1, H, S + 1, P))
    o = b.reshape(b.transpose(o, (0, 2, 1, 3)), (1, S + 1, E))
    t = b.add(t, b.linear(o, E))
    first = b.node("Gather", [t, b.const(np.array(0, np.int64), "i")], (1, E), axis=1)
    return b.linear(first, 5, gemm=True)


def test_class_token_and_token0_classifier() -> None:
    data = qdq(vit_like)
    m = load_onnx(data)
    kinds = [op.kind for op in m.ops]
    assert kinds.count("mhsa") == 1
    # Concat: a shift by one token and an Add of the class token; Gather: a token pick
    dw = [op for op in m.ops if isinstance(op, ir.DepthwiseConv2d)]
    assert [op.pad for op in dw] == [(0, 1, 0, 0), (0, 0, 0, 0)]
    assert dw[1].stride == (1, S + 1)
    assert m.tensors[m.output].shape[-1] == 5
    assert deviation_lsb(data, m, TOKENS) <= MARGIN_LSB


def test_relu_after_prep_reshape_fuses() -> None:
    def build(b: GraphBuilder, x: str) -> str:
        return prep_linear(b, b.relu(prep_linear(b, x, 24)), E)

    data = qdq(build)
    m = load_onnx(data)
    assert [op.kind for op in m.ops] == ["linear", "linear"]
    assert m.ops[0].rq.act_min == 0
    assert deviation_lsb(data, m, TOKENS) <= MARGIN_LSB


# ------------------------------------------------------------------------- refusals


def refused(data: bytes) -> str:
    with pytest.raises(FrontendError) as info:
        load_onnx(data)
    msg = str(info.value)
    assert "\n" not in msg and isinstance(info.value, TinytxError)
    return msg


def test_refuses_cross_attention() -> None:
    def build(b: GraphBuilder, x: str) -> str:
        other = b.linear(x, E)
        q = heads_bsep(b, b.linear(x, E))
        k, v = (heads_bsep(b, b.linear(other, E)) for _ in range(2))
        return b.linear(merge_bsep(b, attend(b, q, k, v)), E)

    msg = refused(qdq(build))
    assert "(Softmax): Q, K and V are projections of different inputs" in msg


def test_refuses_a_causal_mask_by_name() -> None:
    def build(b: GraphBuilder, x: str) -> str:
        q, k, v = (heads_bsep(b, b.linear(x, E)) for _ in range(3))
        sc = b.node("MatMul", [q, b.transpose(k, (0, 1, 3, 2))], (1, H, S, S))
        causal = np.triu(np.full((S, S), -1e4, np.float32), 1)
        sc = b.node("Add", [sc, b.const(causal)], (1, H, S, S))
        o = b.node("MatMul", [b.node("Softmax", [sc], (1, H, S, S), axis=-1), v], (1, H, S, P))
        return b.linear(merge_bsep(b, o), E)

    msg = refused(qdq(build))
    assert "(Softmax): the scores get a mask (Add" in msg and "not supported" in msg


def test_refuses_a_head_split_that_mixes_tokens() -> None:
    def build(b: GraphBuilder, x: str) -> str:
        q, k, v = (b.linear(x, E) for _ in range(3))
        q = b.transpose(b.reshape(q, (1, H, S, P)), (0, 1, 2, 3))  # heads taken over tokens
        return b.linear(merge_bsep(b, attend(b, q, heads_bsep(b, k), heads_bsep(b, v))), E)

    msg = refused(qdq(build))
    assert "(Softmax): the Q head split" in msg and "accepted: Softmax" in msg


def test_pooler_tanh_is_a_table_or_one_refusal_line() -> None:
    """A BERT pooler (token 0, Dense, Tanh): a table op where the IR has one, else one
    line naming the Tanh."""

    def build(b: GraphBuilder, x: str) -> str:
        t = b.linear(x, E)
        first = b.node("Gather", [t, b.const(np.array(0, np.int64), "i")], (1, E), axis=1)
        pooled = b.node("Tanh", [b.linear(first, E, gemm=True)], (1, E))
        return b.linear(pooled, 3, gemm=True)

    data = qdq(build)
    if not hasattr(ir, "Lut"):
        msg = refused(data)
        assert "(Tanh): Tanh outside a GELU" in msg and "accepted:" in msg
        return
    m = load_onnx(data)
    assert [op.kind for op in m.ops][-3:] == ["linear", "lut", "linear"]
    assert deviation_lsb(data, m, TOKENS) <= MARGIN_LSB


def test_refuses_a_selection_that_splits_tokens() -> None:
    def build(b: GraphBuilder, x: str) -> str:
        t = b.linear(x, E)
        half = b.node("Slice", [t, c64(b, [0]), c64(b, [E // 2]), c64(b, [2])], (1, S, E // 2))
        return b.linear(half, 4)

    msg = refused(qdq(build))
    assert "(Slice): does not select whole tokens" in msg


# ---------------------------------------------------------------------------- folding


def test_shape_arithmetic_folds_to_initializers_and_qdq_stays() -> None:
    """The run-time shape chains and the sdpa scale become initializers; every
    QuantizeLinear/DequantizeLinear stays (the QDQ reader needs the integers)."""
    from tinytx.core.frontend.onnx.fold import fold_shape_subgraphs

    model = onnx.load_model_from_string(qdq(torch_mha))
    before = [n.op_type for n in model.graph.node]
    assert {"Shape", "Sqrt", "Cast", "Concat"} <= set(before)
    after = [n.op_type for n in fold_shape_subgraphs(model, "<test>").graph.node]
    assert not {"Shape", "Sqrt", "Cast", "Concat", "Slice"} & set(after)
    assert after.count("Gather") == 3  # q, k, v out of the packed projection
    for op in ("QuantizeLinear", "DequantizeLinear"):
        assert after.count(op) == before.count(op)
    inits = {i.name for i in model.graph.initializer}
    reshapes = [n for n in model.graph.node if n.op_type == "Reshape"]
    assert reshapes and all(n.input[1] in inits for n in reshapes)
