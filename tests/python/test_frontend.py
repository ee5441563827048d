"""The ONNX frontend: every accepted pattern becomes the expected IR ops and the golden
executor stays within a few output LSB of onnxruntime running the same QDQ model; every
refused model gets one line naming the node, the op and what would be accepted.

The models are small float graphs written with onnx.helper
(tinytx.core.frontend.onnx.testing) and quantized with onnxruntime's quantize_static (QDQ,
int8, symmetric, per tensor); no torch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from tinytx.core import executor, ir
from tinytx.core.errors import TinytxError
from tinytx.core.frontend.onnx import FrontendError, load_onnx
from tinytx.core.frontend.onnx.testing import GraphBuilder, gelu_island, quantize_qdq, random_inputs

ort = pytest.importorskip("onnxruntime")
from ort_margins import LEVELS, PATTERN_MAX_LSB, max_deviation_lsb  # noqa: E402

S, E = 6, 16
TOKENS = (1, S, E)
IMAGE = (1, 3, 8, 8)

Build = Callable[[GraphBuilder, str], str]


def qdq(build: Build, shape: tuple[int, ...], opset: int = 17, island: bool = False, **kw) -> bytes:
    b = GraphBuilder(seed=1, opset=opset)
    x = b.input(shape)
    model = b.model(build(b, x))
    onnx.checker.check_model(model)
    exclude = gelu_island(model) if island else None
    return quantize_qdq(model, random_inputs(shape, 16), nodes_to_exclude=exclude, **kw)


DEVIATION_INPUTS = 6


def pattern_deviation_lsb(
    data: bytes,
    m: ir.Model,
    shape: tuple[int, ...],
    n: int = DEVIATION_INPUTS,
    level: str = "ORT_DISABLE_ALL",
) -> float:
    return max_deviation_lsb(data, m, random_inputs(shape, n, seed=5), level)


PATTERNS: dict[str, tuple[Build, tuple[int, ...], dict, list[str]]] = {
    "matmul+bias": (lambda b, x: b.linear(x, 8), TOKENS, {}, ["linear"]),
    "matmul": (lambda b, x: b.linear(x, 8, bias=False), TOKENS, {}, ["linear"]),
    "gemm": (lambda b, x: b.linear(x, 8, gemm=True), (3, E), {}, ["linear"]),
    "linear+relu": (lambda b, x: b.relu(b.linear(x, 8)), TOKENS, {}, ["linear"]),
    "mhsa div": (lambda b, x: b.mhsa(x, 2), TOKENS, {}, ["mhsa"]),
    "mhsa mul, no bias, two K transposes": (
        lambda b, x: b.mhsa(x, 2, bias=False, scale="mul", k_transpose="two"),
        TOKENS,
        {},
        ["mhsa"],
    ),
    "mhsa scale on q and k": (lambda b, x: b.mhsa(x, 4, scale="qk"), TOKENS, {}, ["mhsa"]),
    "mhsa one head": (lambda b, x: b.mhsa(x, 1), TOKENS, {}, ["mhsa"]),
    "mhsa P != E/H": (lambda b, x: b.mhsa(x, 2, head_dim=4), TOKENS, {}, ["mhsa"]),
    "layernorm": (lambda b, x: b.layernorm(x), TOKENS, {}, ["layernorm"]),
    "layernorm decomposed": (
        lambda b, x: b.layernorm(b.linear(x, E), decomposed=True),
        TOKENS,
        {},
        ["linear", "layernorm"],
    ),
    "layernorm decomposed opset 18": (
        lambda b, x: b.layernorm(b.linear(x, E), decomposed=True),
        TOKENS,
        {"opset": 18},
        ["linear", "layernorm"],
    ),
    "gelu erf (quantized inside)": (lambda b, x: b.gelu(x), TOKENS, {}, ["gelu"]),
    "gelu erf (float island)": (
        lambda b, x: b.linear(b.gelu(b.linear(x, E)), E),
        TOKENS,
        {"island": True},
        ["linear", "gelu", "linear"],
    ),
    "gelu tanh": (
        lambda b, x: b.linear(b.gelu(b.linear(x, E), "tanh"), E),
        TOKENS,
        {"island": True},
        ["linear", "gelu", "linear"],
    ),
    "gelu operator": (
        lambda b, x: b.linear(b.gelu(b.linear(x, E), "op"), E),
        TOKENS,
        {"opset": 20},
        ["linear", "gelu", "linear"],
    ),
    "residual add": (lambda b, x: b.add(b.linear(x, E), x), TOKENS, {}, ["linear", "add"]),
    "add constant": (
        lambda b, x: b.node("Add", [b.linear(x, E), b.const(b.weight(TOKENS, 0.3))], TOKENS),
        TOKENS,
        {},
        ["linear", "add"],
    ),
    "conv+bn+relu": (lambda b, x: b.relu(b.conv(x, 8, bn=True)), IMAGE, {}, ["conv2d"]),
    "depthwise conv": (lambda b, x: b.conv(x, 3, group=3), IMAGE, {}, ["depthwise_conv2d"]),
    "conv, dilation 2 (zero taps)": (
        lambda b, x: b.conv(x, 4, pad=2, dilation=2),
        IMAGE,
        {},
        ["conv2d"],
    ),
    "depthwise multiplier 2, dilated (in the dims)": (
        lambda b, x: b.conv(x, 6, group=3, pad=2, dilation=2),
        IMAGE,
        {},
        ["depthwise_conv2d"],
    ),
    "depthwise multiplier 2, dilation 3 (in the dims)": (
        lambda b, x: b.conv(x, 6, group=3, pad=3, dilation=3),
        IMAGE,
        {},
        ["depthwise_conv2d"],
    ),
    "conv, dilation 4 (in the dims)": (
        lambda b, x: b.conv(x, 4, pad=4, dilation=4),
        IMAGE,
        {},
        ["conv2d"],
    ),
    "depthwise multiplier 2": (
        lambda b, x: b.conv(x, 6, group=3),
        IMAGE,
        {},
        ["gather", "depthwise_conv2d"],
    ),
    "dilated conv 1-d": (
        lambda b, x: b.relu(b.conv(x, 4, k=3, pad=4, dilation=4)),
        (1, 4, 16),
        {},
        ["conv2d"],
    ),
    "conv 1-d": (lambda b, x: b.relu(b.conv(x, 8, k=5, pad=2)), (1, 4, 16), {}, ["conv2d"]),
    "conv on 4 frames": (lambda b, x: b.relu(b.conv(x, 4)), (4, 3, 6, 6), {}, ["conv2d"]),
    "maxpool": (
        lambda b, x: b.pool(b.conv(x, 4), "MaxPool", 3, 2, 1),
        (1, 3, 9, 9),
        {},
        ["conv2d", "maxpool"],
    ),
    "avgpool": (lambda b, x: b.pool(b.conv(x, 4), "AveragePool"), IMAGE, {}, ["conv2d", "avgpool"]),
    "avgpool padded": (
        lambda b, x: b.pool(b.conv(x, 4), "AveragePool", 3, 2, 1),
        (1, 3, 9, 9),
        {},
        ["conv2d", "avgpool"],
    ),
    "global average pool + flatten + gemm": (
        lambda b, x: b.linear(b.flatten(b.global_avg_pool(b.conv(x, 8))), 5, gemm=True),
        IMAGE,
        {},
        ["conv2d", "view", "mean_rows", "view", "linear"],
    ),
    "flatten of a channels-last map + gemm": (
        lambda b, x: b.linear(b.flatten(b.relu(b.conv(x, 4, stride=2))), 5, gemm=True),
        IMAGE,
        {},
        ["conv2d", "view", "linear"],
    ),
    "token max + classifier": (
        lambda b, x: b.linear(
            b.node("ReduceMax", [b.linear(x, E)], (1, E), axes=[1], keepdims=0), 5, gemm=True
        ),
        TOKENS,
        {},
        ["linear", "view", "maxpool", "view", "linear"],
    ),
    "token mean + classifier": (
        lambda b, x: b.linear(b.mean(b.linear(x, E), (1,)), 5, gemm=True),
        TOKENS,
        {},
        ["linear", "mean_rows", "view", "linear"],
    ),
}


@pytest.mark.parametrize("name", list(PATTERNS))
def test_pattern_lowers_and_matches_onnxruntime(name: str) -> None:
    build, shape, kw, kinds = PATTERNS[name]
    data = qdq(build, shape, **kw)
    m = load_onnx(data)
    assert [op.kind for op in m.ops] == kinds
    for level in LEVELS:
        assert pattern_deviation_lsb(data, m, shape, level=level) <= PATTERN_MAX_LSB, level


def test_fused_relu_is_the_output_clamp() -> None:
    m = load_onnx(qdq(lambda b, x: b.relu(b.linear(x, 8)), TOKENS))
    (op,) = m.ops
    assert isinstance(op, ir.Linear) and (op.rq.act_min, op.rq.act_max) == (0, 127)
    y = executor.run(m, executor.quantize_input(m, random_inputs(TOKENS, 1)[0]))
    assert y.min() >= 0


def test_mhsa_is_one_op_with_its_heads_and_scales() -> None:
    m = load_onnx(qdq(lambda b, x: b.mhsa(x, 4, head_dim=8), TOKENS))
    (op,) = m.ops
    assert isinstance(op, ir.Mhsa)
    assert op.heads == 4 and op.head_dim == 8
    assert op.weights.wq.shape == (32, E) and op.weights.wo.shape == (E, 32)
    assert op.scales.score_factor == pytest.approx(1 / np.sqrt(8), rel=1e-3)


def test_input_layouts() -> None:
    tokens = load_onnx(qdq(lambda b, x: b.linear(x, 8), TOKENS))
    assert tokens.input_spec.perm == (0, 1, 2)
    image = load_onnx(qdq(lambda b, x: b.conv(x, 4), (2, 3, 5, 5)))
    assert image.input_spec.perm == (0, 2, 3, 1)  # channels last per frame
    assert image.tensors[image.input].shape == (2, 5, 5, 3)


# ------------------------------------------------------------------------- rejections


def model_bytes(nodes, inputs, outputs, inits=(), opset: int = 17) -> bytes:
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m.SerializeToString()


def refused(data: bytes) -> str:
    with pytest.raises(FrontendError) as info:
        load_onnx(data)
    msg = str(info.value)
    assert "\n" not in msg
    assert isinstance(info.value, TinytxError)
    return msg


def square(b: GraphBuilder, x: str) -> str:
    """An element-wise product of two activations (no supported pattern)."""
    h = b.linear(x, E)
    return b.node("Mul", [h, h], TOKENS)


def test_rejects_unsupported_operator() -> None:
    msg = refused(qdq(square, TOKENS))
    assert "(Mul): operator not supported; accepted: MatMul/Gemm" in msg
    assert "node 'Mul" in msg


def test_rejects_16_bit_activations() -> None:
    msg = refused(qdq(lambda b, x: b.linear(x, 8), TOKENS, activation_type="QInt16"))
    assert "activation quantized to int16" in msg and "QInt8/QUInt8" in msg


def test_rejects_asymmetric_weights() -> None:
    msg = refused(qdq(lambda b, x: b.linear(x, 8), TOKENS, symmetric=False))
    assert "nonzero zero point" in msg and "WeightSymmetric" in msg


def test_rejects_float_model() -> None:
    b = GraphBuilder()
    x = b.input(TOKENS)
    msg = refused(b.model(b.linear(x, 8)).SerializeToString())
    assert "is not quantized" in msg


def test_rejects_dynamic_shapes() -> None:
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", S, E])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", S, E])
    msg = refused(model_bytes([helper.make_node("Relu", ["input"], ["y"])], [x], [y]))
    assert "dynamic dimension 'batch'" in msg and "static shapes" in msg


def test_rejects_softmax_outside_attention() -> None:
    msg = refused(
        qdq(lambda b, x: b.node("Softmax", [b.linear(x, 5, gemm=True)], (3, 5), axis=-1), (3, E))
    )
    assert "(Softmax): its input is not a MatMul of two activations" in msg
    assert "accepted: Softmax over the last axis of (Q K^T)" in msg


def test_rejects_dilated_maxpool() -> None:
    def build(b: GraphBuilder, x: str) -> str:
        y = b.conv(x, 4)
        return b.node("MaxPool", [y], (1, 4, 4, 4), kernel_shape=[3, 3], dilations=[2, 2])

    msg = refused(qdq(build, IMAGE))
    assert "(MaxPool): dilations [2, 2]; accepted: dilation 1" in msg


def test_rejects_grouped_conv() -> None:
    msg = refused(qdq(lambda b, x: b.conv(x, 6, group=3), (1, 6, 8, 8)))
    assert "group=3 with 6 -> 6 channels" in msg and "depthwise" in msg


def test_rejects_maxpool_ceil_mode() -> None:
    def build(b: GraphBuilder, x: str) -> str:
        y = b.conv(x, 4)
        return b.node(
            "MaxPool", [y], (1, 4, 4, 4), kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1
        )

    assert "ceil_mode=1; accepted: ceil_mode=0" in refused(qdq(build, IMAGE))


def test_rejects_masked_attention() -> None:
    def build(b: GraphBuilder, x: str) -> str:
        q = b.linear(x, E)
        k = b.transpose(b.linear(x, E), (0, 2, 1))
        sc = b.node("MatMul", [q, k], (1, S, S))
        sc = b.node("Add", [sc, b.const(np.triu(np.full((S, S), -1e4, np.float32), 1))], (1, S, S))
        a = b.node("Softmax", [sc], (1, S, S), axis=-1)
        return b.linear(b.node("MatMul", [a, b.linear(x, E)], (1, S, E)), E)

    msg = refused(qdq(build, TOKENS))
    assert "(Softmax)" in msg and "Q K^T" in msg


def test_rejects_broadcast_add_of_activations() -> None:
    def build(b: GraphBuilder, x: str) -> str:
        m = b.mean(x, (1,), keepdims=1)
        return b.linear(b.node("Add", [x, m], TOKENS), E)

    msg = refused(qdq(build, TOKENS))
    assert "broadcasts [1, 6, 16] + [1, 1, 16]" in msg


def test_rejects_transposed_linear_input() -> None:
    msg = refused(qdq(lambda b, x: b.linear(b.transpose(b.linear(x, E), (0, 2, 1)), 4), TOKENS))
    assert "is not stored row-major" in msg


def test_rejects_two_inputs() -> None:
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, 4])
    c = helper.make_tensor_value_info("c", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    msg = refused(model_bytes([helper.make_node("Add", ["a", "c"], ["y"])], [a, c], [y]))
    assert "the model has 2 inputs; accepted: exactly one input tensor" in msg


def test_rejects_old_opset_and_garbage() -> None:
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    msg = refused(model_bytes([helper.make_node("Relu", ["input"], ["y"])], [x], [y], opset=11))
    assert "ONNX opset 11 not supported; accepted: opset 13" in msg
    assert "not an ONNX model" in refused(b"\x08\x07garbage that is no protobuf \xff\xff")


def test_rejects_contrib_domain() -> None:
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    node = helper.make_node("FastGelu", ["input"], ["y"], domain="com.microsoft")
    graph = helper.make_graph([node], "g", [x], [y])
    m = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)],
    )
    m.ir_version = 8
    msg = refused(m.SerializeToString())
    assert "(FastGelu): operator of domain 'com.microsoft' is not supported" in msg


def test_error_names_the_file(tmp_path) -> None:
    path = tmp_path / "bad.onnx"
    path.write_bytes(qdq(square, TOKENS))
    with pytest.raises(FrontendError, match=r"^.*bad\.onnx: node 'Mul"):
        load_onnx(path)


def torch_style(data: bytes) -> bytes:
    """The same QDQ model with its weights as PyTorch exports them: a float initializer
    followed by QuantizeLinear and DequantizeLinear, instead of an int8 initializer."""
    m = onnx.load_model_from_string(data)
    inits = {i.name: i for i in m.graph.initializer}
    nodes = []
    for n in m.graph.node:
        src = inits.get(n.input[0]) if n.op_type == "DequantizeLinear" else None
        if src is not None and src.data_type == TensorProto.INT8:
            q = onnx.numpy_helper.to_array(src).astype(np.float32)
            scale = onnx.numpy_helper.to_array(inits[n.input[1]]).astype(np.float32)
            real = onnx.numpy_helper.from_array(q * scale, src.name + "_float")
            m.graph.initializer.append(real)
            nodes.append(
                helper.make_node("QuantizeLinear", [real.name, *n.input[1:]], [src.name + "_q"])
            )
            n.input[0] = src.name + "_q"
        nodes.append(n)
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    return m.SerializeToString()


def test_pytorch_style_weights_give_the_same_model() -> None:
    data = qdq(lambda b, x: b.linear(b.mhsa(x, 2), 8, gemm=False), TOKENS)
    a, b = load_onnx(data), load_onnx(torch_style(data))
    assert [op.kind for op in a.ops] == [op.kind for op in b.ops] == ["mhsa", "linear"]
    for oa, ob in zip(a.ops, b.ops, strict=True):
        for key, arr in oa.weight_arrays.items():
            assert np.array_equal(arr, ob.weight_arrays[key]), key
    x = executor.quantize_input(a, random_inputs(TOKENS, 1)[0])
    assert np.array_equal(executor.run(a, x), executor.run(b, x))
