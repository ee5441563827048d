"""The golden executor's boundaries: float inputs are quantized exactly as the QDQ
model's QuantizeLinear does (float32 division, ties to even, saturation), firmware bytes
follow the input/output layouts (channels-last feature maps), and every op runs the
golden function of its kind."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from tinytx.core import executor
from tinytx.core import golden as g
from tinytx.core.frontend.onnx import load_onnx
from tinytx.core.frontend.onnx.testing import GraphBuilder, quantize_qdq, random_inputs


def quantizer(shape: tuple[int, ...], scale: float) -> ReferenceEvaluator:
    """ONNX's own QuantizeLinear (the onnx package's numpy reference implementation: the
    same on every CPU, unlike onnxruntime's SIMD kernels)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)
    y = helper.make_tensor_value_info("y", TensorProto.INT8, shape)
    inits = [
        numpy_helper.from_array(np.array(scale, np.float32), "s"),
        numpy_helper.from_array(np.array(0, np.int8), "z"),
    ]
    node = helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"])
    m = helper.make_model(
        helper.make_graph([node], "q", [x], [y], inits),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    m.ir_version = 8
    return ReferenceEvaluator(m)


def test_input_quantization_is_quantizelinear() -> None:
    b = GraphBuilder(seed=2)
    x = b.input((1, 4, 8))
    m = load_onnx(quantize_qdq(b.model(b.linear(x, 3)), random_inputs((1, 4, 8), 8)))
    s = np.float32(m.tensors[m.input].scale)
    rng = np.random.default_rng(0)
    values = rng.standard_normal((1, 4, 8)).astype(np.float32) * 3
    values.flat[:6] = (
        np.array([0.5, 1.5, -2.5, 127.6, -300, 2.5], np.float32) * s
    )  # ties, saturation
    want = quantizer((1, 4, 8), float(s)).run(None, {"x": values})[0]
    assert np.array_equal(executor.quantize_input(m, values), want.ravel())


def test_feature_map_bytes_are_channels_last() -> None:
    b = GraphBuilder(seed=3)
    x = b.input((2, 3, 4, 5))
    m = load_onnx(quantize_qdq(b.model(b.conv(x, 4)), random_inputs((2, 3, 4, 5), 8)))
    values = random_inputs((2, 3, 4, 5), 1)[0]
    mem = executor.quantize_input(m, values)
    q = np.clip(np.rint(values / np.float32(m.tensors[m.input].scale)), -128, 127)
    assert np.array_equal(mem, np.transpose(q, (0, 2, 3, 1)).ravel())
    assert np.array_equal(m.input_spec.from_memory(mem), q)
    # the output comes back in the ONNX layout
    y = executor.run(m, mem)
    t = executor.trace(m, mem)[m.output]
    assert np.array_equal(y, t.ravel())
    assert executor.dequantize_output(m, y).shape == (2, 4, 4, 5)


def test_ops_run_their_golden_functions() -> None:
    b = GraphBuilder(seed=4)
    x = b.input((1, 6, 16))
    m = load_onnx(quantize_qdq(b.model(b.layernorm(b.mhsa(x, 2))), random_inputs((1, 6, 16), 8)))
    mh, ln = m.ops
    xi = executor.quantize_input(m, random_inputs((1, 6, 16), 1)[0]).reshape(6, 16)
    t = executor.trace(m, xi)
    want = g.mhsa_s8(xi, mh.heads, mh.weights, mh.quant)
    assert np.array_equal(t[mh.output], want)
    assert np.array_equal(t[ln.output], g.layernorm_s8(want, ln.gamma, ln.beta, ln.eps_q16, ln.rq))
    with pytest.raises(ValueError, match="x: expected 96 int8 values"):
        executor.run(m, np.zeros(95, np.int8))
