"""Unary activations through one table (frontend/onnx/unary.py, IR Lut, tinytx_lut_s8).

Small float graphs (onnx.helper) quantized with onnxruntime's quantize_static (QDQ, int8,
symmetric, the unary ops included in ``op_types_to_quantize`` so their outputs get a
QuantizeLinear). A unary op read straight from the quantized input is compared with
onnxruntime code for code: the table is built in float32 like onnxruntime's float island
and rounds ties to even like QuantizeLinear, and measured **0 LSB** apart for every op
here (the test allows 1). After a linear layer, the linear's own rounding (within a
couple of LSB of onnxruntime) moves the table's input, so the bound there is one table
step. Converted models compile and run bit-exact with the golden executor on the host
(ref kernels, ASan/UBSan), on QEMU Cortex-M4 (arm kernels) and RV32 with 8 harts
(riscv kernels).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest

from tinytx.core import ir
from tinytx.core.codegen.project import ConvertOptions, convert
from tinytx.core.frontend.onnx import FrontendError, load_onnx
from tinytx.core.frontend.onnx.testing import GraphBuilder, quantize_qdq, random_inputs
from tinytx.core.frontend.onnx.unary import UNARY_OPS
from tinytx.core.plan.planning import plan_model
from tinytx.core.targets import get_target
from tinytx.toolchain import firmware

ort = pytest.importorskip("onnxruntime")
from ort_margins import max_deviation_lsb  # noqa: E402

S, E = 6, 16
TOKENS = (1, S, E)
QUANTIZED_OPS = ["MatMul", "Gemm", "Add", "Mul", "LayerNormalization", *UNARY_OPS]

Build = Callable[[GraphBuilder, str], str]


def quantize(
    model, calibration: list[np.ndarray], ops: list[str] = QUANTIZED_OPS, symmetric: bool = True
) -> bytes:
    """quantize_static with the unary ops quantized too (QDQ on their outputs), symmetric
    weights; ``symmetric=False`` gives asymmetric activations (onnxruntime's default)."""
    logging.getLogger().setLevel(logging.ERROR)  # pre-processing advice
    return quantize_qdq(
        model, calibration, symmetric=symmetric, weight_symmetric=True, op_types=ops
    )


def inputs(n: int, seed: int, shape: tuple[int, ...] = TOKENS) -> list[np.ndarray]:
    """Inputs of about +/-6: the functions' curved parts and their flat tails."""
    return [3.0 * x for x in random_inputs(shape, n, seed)]


def build_model(build: Build, default_quantizer: bool = False, shape=TOKENS, ops=QUANTIZED_OPS):
    b = GraphBuilder(seed=1)
    x = b.input(shape)
    model = b.model(build(b, x))
    onnx.checker.check_model(model)
    calib = inputs(16, 1, shape)
    return model, (quantize_qdq(model, calib) if default_quantizer else quantize(model, calib, ops))


def unary(op: str, **attrs) -> Callable[[GraphBuilder, str], str]:
    return lambda b, x: b.node(op, [x], b.shape(x), **attrs)


def const(b: GraphBuilder, v: float) -> str:
    return b.const(np.array(v, np.float32))


def clip(lo: float | None, hi: float | None) -> Build:
    def build(b: GraphBuilder, x: str) -> str:
        ins = [
            x,
            const(b, lo) if lo is not None else "",
            *([const(b, hi)] if hi is not None else []),
        ]
        return b.node("Clip", ins, b.shape(x))

    return build


def times_x(op: str, **attrs) -> Build:
    return lambda b, x: b.node("Mul", [x, unary(op, **attrs)(b, x)], b.shape(x))


def after(first: Build, second: Build) -> Build:
    return lambda b, x: second(b, first(b, x))


# Unary ops reading the quantized model input: the table against onnxruntime directly.
DIRECT: dict[str, tuple[Build, list[str], str]] = {
    "Sigmoid": (unary("Sigmoid"), ["lut"], "Sigmoid"),
    "Tanh": (unary("Tanh"), ["lut"], "Tanh"),
    "HardSigmoid": (unary("HardSigmoid", alpha=0.25, beta=0.4), ["lut"], "HardSigmoid("),
    "HardSwish": (unary("HardSwish"), ["lut"], "HardSwish"),
    "LeakyRelu": (unary("LeakyRelu", alpha=0.1), ["lut"], "LeakyRelu(alpha=0.1)"),
    "SiLU": (times_x("Sigmoid"), ["lut"], "SiLU"),
    "x * HardSigmoid(x)": (times_x("HardSigmoid"), ["lut"], "x*HardSigmoid"),
    "Tanh then Relu": (after(unary("Tanh"), unary("Relu")), ["lut", "lut"], "Relu"),
    "Tanh then Clip": (after(unary("Tanh"), clip(-0.5, 0.5)), ["lut", "lut"], "Clip(hi=0.5"),
    "Tanh then Clip min only": (after(unary("Tanh"), clip(-0.5, None)), ["lut", "lut"], "lo=-0.5"),
}


def max_lsb(data: bytes, m: ir.Model, xs: list[np.ndarray]) -> float:
    """Largest |golden executor - onnxruntime| over ``xs``, in output LSB. onnxruntime runs
    without graph optimizations (the QDQ nodes as written, the same on every CPU; its fused
    int8 kernels differ per instruction set: see ort_margins)."""
    return max_deviation_lsb(data, m, xs)


@pytest.mark.parametrize("case", list(DIRECT))
def test_unary_op_matches_onnxruntime_code_for_code(case: str) -> None:
    build, kinds, function = DIRECT[case]
    _, data = build_model(build)
    m = load_onnx(data)
    assert [op.kind for op in m.ops] == kinds
    lut = m.ops[-1]
    assert isinstance(lut, ir.Lut) and function in lut.function
    assert lut.table.dtype == np.int8 and lut.table.shape == (256,)
    assert max_lsb(data, m, inputs(8, 5)) <= 1.0  # measured: 0 for every case


def test_silu_with_a_quantized_sigmoid_rounds_it_like_the_model() -> None:
    """quantize_static puts a QDQ pair on the Sigmoid's output: the table rounds
    sigmoid(x) to that scale before the multiplication, as onnxruntime does."""
    _, data = build_model(times_x("Sigmoid"))
    qdq = onnx.load_from_string(data)
    sig = next(n for n in qdq.graph.node if n.op_type == "Sigmoid")
    assert any(n.op_type == "QuantizeLinear" and sig.output[0] in n.input for n in qdq.graph.node)
    assert max_lsb(data, load_onnx(data), inputs(8, 6)) == 0.0


def test_silu_with_asymmetric_activations() -> None:
    """With zero points on x, on the rounded Sigmoid and on the product, the table takes
    all three (the rounded Sigmoid's zero point too)."""
    b = GraphBuilder(seed=1)
    x = b.input(TOKENS)
    model = b.model(times_x("Sigmoid")(b, b.linear(x, E)))
    data = quantize(model, inputs(16, 1), symmetric=False)
    m = load_onnx(data)
    assert [op.kind for op in m.ops] == ["linear", "lut"]
    assert any(t.zero_point != 0 for t in m.tensors.values())
    assert max_lsb(data, m, inputs(8, 6)) <= 2.0  # measured: 1


def test_relu_after_layernorm_is_a_table() -> None:
    """A Relu no op before it can absorb (LayerNorm) is one table at the output's scale."""
    _, data = build_model(lambda b, x: b.relu(b.layernorm(x)))
    m = load_onnx(data)
    assert [op.kind for op in m.ops] == ["layernorm", "lut"]
    lut = m.ops[1]
    assert isinstance(lut, ir.Lut)
    codes = np.arange(-128, 128, dtype=np.int8)
    s_in, s_out = m.tensors[lut.inputs[0]].scale, m.tensors[lut.output].scale
    ideal = np.clip(np.rint(np.maximum(codes * s_in, 0) / s_out), -128, 127)
    assert np.abs(lut.table[codes.view(np.uint8)] - ideal).max() <= 1
    assert max_lsb(data, m, inputs(4, 7)) <= 2.0  # LayerNorm's own rounding


def test_fused_relu_stays_the_output_clamp_of_the_linear() -> None:
    _, data = build_model(lambda b, x: b.relu(b.linear(x, 8)))
    assert [op.kind for op in load_onnx(data).ops] == ["linear"]


def test_pooler_tanh_after_a_dense_layer() -> None:
    """Gemm -> Tanh (the BERT pooler) is a linear layer and a table, not a GELU."""
    for gemm in (True, False):
        shape = (S, E) if gemm else TOKENS

        def build(b: GraphBuilder, x: str, shape=shape, gemm: bool = gemm) -> str:
            return b.node("Tanh", [b.linear(x, E, gemm=gemm)], shape)

        _, data = build_model(build, shape=shape)
        m = load_onnx(data)
        assert [op.kind for op in m.ops] == ["linear", "lut"]
        lut = next(op for op in m.ops if isinstance(op, ir.Lut))
        # the linear output may be a few LSB off onnxruntime's: bound that by table steps
        steps = np.abs(np.diff(lut.table[np.arange(-128, 128, dtype=np.int8).view(np.uint8)]))
        assert max_lsb(data, m, inputs(6, 8, shape)) <= 2 * int(steps.max()) + 1


def test_pooler_then_classifier_with_the_default_quantizer() -> None:
    """With quantize_static's default op list the Tanh itself is not quantized, but the
    classifier's input QuantizeLinear gives its output scale: still one table."""
    build = lambda b, x: b.linear(b.node("Tanh", [b.linear(x, E)], TOKENS), 4)  # noqa: E731
    _, data = build_model(build, default_quantizer=True)
    m = load_onnx(data)
    assert [op.kind for op in m.ops] == ["linear", "lut", "linear"]


def test_tanh_form_gelu_still_uses_the_gelu_kernel() -> None:
    _, data = build_model(lambda b, x: b.linear(b.gelu(b.linear(x, E), "tanh"), E))
    assert [op.kind for op in load_onnx(data).ops] == ["linear", "gelu", "linear"]


def refused(data: bytes) -> str:
    with pytest.raises(FrontendError) as info:
        load_onnx(data)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def test_refuses_a_unary_result_that_stays_float() -> None:
    """Tanh -> Mul by a constant -> MatMul, only the MatMuls quantized: the Mul's output
    has a scale (the MatMul's input), the Tanh's has none."""

    def build(b: GraphBuilder, x: str) -> str:
        t = b.node("Tanh", [b.linear(x, E)], TOKENS)
        return b.linear(b.node("Mul", [t, const(b, 0.5)], TOKENS), 4)

    _, data = build_model(build, ops=["MatMul", "Add"])
    msg = refused(data)
    assert "(Tanh): its output" in msg and "has no QuantizeLinear after it" in msg
    assert "accepted: Sigmoid, Tanh" in msg


# ------------------------------------------------------------------ generated code


def unary_stack(b: GraphBuilder, x: str) -> str:
    """A linear layer, then several tables in a row (SiLU, HardSwish, Tanh, LeakyRelu,
    Sigmoid) and a classifier: tables of 6*16 and 6*24 elements, in place."""
    h = b.linear(x, 24)
    h = b.node("Mul", [h, b.node("Sigmoid", [h], (1, S, 24))], (1, S, 24))
    h = b.node("HardSwish", [b.linear(h, E)], TOKENS)
    h = b.node("Tanh", [h], TOKENS)
    h = b.node("LeakyRelu", [h], TOKENS, alpha=0.2)
    h = b.node("Sigmoid", [b.linear(h, 5)], (1, S, 5))  # 30 elements: not a multiple of 4
    return h


@pytest.fixture(scope="module")
def stack_model(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("unary")
    _, data = build_model(unary_stack)
    path = tmp / "unary_stack.onnx"
    path.write_bytes(data)
    np.savez(tmp / "test_inputs.npz", float=np.stack(inputs(4, 9)))
    return path


def test_tables_run_in_place_and_are_emitted_as_const_arrays(stack_model: Path) -> None:
    m = load_onnx(stack_model)
    kinds = [op.kind for op in m.ops]
    assert kinds.count("lut") == 5 and kinds.count("linear") == 3
    plan = plan_model(m)
    luts = [op for op in plan.model.ops if isinstance(op, ir.Lut)]
    in_place = [op for op in luts if plan.places[op.inputs[0]] == plan.places[op.output]]
    assert in_place, "the planner never ran a table in place"
    src = convert(stack_model, ConvertOptions(kernels="ref")).generated.source
    assert src.count("tinytx_lut_s8(") == 5
    assert "static const int8_t lut0_table[256]" in src
    assert "table of SiLU: x scale" in src


@pytest.mark.firmware
@pytest.mark.parametrize(
    ("target", "kernels"), [("host", "ref"), ("m4", "arm"), ("rv32x8", "riscv")]
)
def test_generated_model_bit_exact(stack_model: Path, build_root: Path, target, kernels) -> None:
    tgt = get_target(target)
    conv = convert(stack_model, ConvertOptions(kernels=kernels, cores=tgt.cores))
    tag = f"unary-{target}-{kernels}"
    gen = (build_root / "codegen" / tag / "generated").resolve()
    conv.write(gen)
    elf = firmware.build(conv, gen, tgt, kernels, (build_root / "codegen" / tag / "fw").resolve())
    run = firmware.run(tgt, elf, timeout=300)
    assert run.returncode == 0, run.console
    assert firmware.compare(conv, run) == []
    assert len(run.outputs) == 4
