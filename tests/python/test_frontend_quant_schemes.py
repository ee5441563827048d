"""The quantization schemes users' tools produce: onnxruntime ``quantize_static`` with its
default options (asymmetric int8 activations), with ``activation_type=QUInt8`` and with
``per_channel=True``. Each small model converts, agrees with onnxruntime within a stated
LSB margin, and its generated C runs bit-exact with the golden executor on the host."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from tinytx.core import executor, ir
from tinytx.core.codegen.project import ConvertOptions, convert
from tinytx.core.frontend.onnx import load_onnx
from tinytx.core.frontend.onnx.testing import GraphBuilder, gelu_island, random_inputs
from tinytx.core.golden import ChannelRequant
from tinytx.core.plan.planning import plan_model
from tinytx.core.targets import get_target
from tinytx.toolchain import firmware

ort = pytest.importorskip("onnxruntime")
from ort_margins import max_deviation_lsb  # noqa: E402

S, E = 6, 16
TOKENS = (1, S, E)
IMAGE = (1, 3, 8, 8)
Build = Callable[[GraphBuilder, str], str]

# onnxruntime quantize_static options per scheme: nothing but what the scheme names
SCHEMES: dict[str, dict] = {
    "ortdefault": {},
    "uint8": {"activation_type": "QUInt8"},
    "perchannel": {"per_channel": True},
}


def quantize_default(model, calibration: list[np.ndarray], exclude: list[str], **scheme) -> bytes:
    """``quantize_static`` as a user calls it: default options except the scheme's."""
    from onnxruntime.quantization import CalibrationDataReader, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter([{"input": a} for a in calibration])

        def get_next(self):
            return next(self._it, None)

    kw = dict(scheme)
    if "activation_type" in kw:
        kw["activation_type"] = getattr(QuantType, kw["activation_type"])
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "float.onnx", Path(tmp) / "qdq.onnx"
        onnx.save(model, str(src))
        quantize_static(str(src), str(dst), Reader(), nodes_to_exclude=exclude, **kw)
        return dst.read_bytes()


def build_model(build: Build, shape: tuple[int, ...], scheme: str, island: bool) -> bytes:
    b = GraphBuilder(seed=5)
    model = b.model(build(b, b.input(shape)))
    exclude = gelu_island(model) if island else []
    return quantize_default(model, random_inputs(shape, 24, seed=2), exclude, **SCHEMES[scheme])


def deviation_lsb(data: bytes, m: ir.Model, shape: tuple[int, ...], n: int = 8) -> float:
    """Largest |onnxruntime - tinytx| over n random inputs, in output LSB (onnxruntime
    without graph optimizations: the same on every CPU, see ort_margins)."""
    return max_deviation_lsb(data, m, random_inputs(shape, n, seed=9))


def mlp(b: GraphBuilder, x: str) -> str:
    h = b.layernorm(b.add(x, b.linear(b.relu(b.linear(x, 24)), E)))
    return b.linear(b.mean(h, (1,)), 5, gemm=True)


def encoder(b: GraphBuilder, x: str) -> str:
    t = b.linear(x, E, bias=False)
    h = b.layernorm(b.add(t, b.mhsa(t, 2)))
    h = b.layernorm(b.add(h, b.linear(b.gelu(b.linear(h, 32)), E)))
    return b.linear(b.mean(h, (1,)), 4, gemm=True)


def convnet(b: GraphBuilder, x: str) -> str:
    y = b.relu(b.conv(x, 8, pad=1))
    y = b.pool(y, "MaxPool", 3, 2, 1)
    y = b.relu(b.conv(y, 8, group=8, pad=1))
    y = b.pool(b.conv(y, 6, pad=1), "AveragePool", 3, 1, 1)
    return b.linear(b.flatten(b.global_avg_pool(y)), 5, gemm=True)


def token_max(b: GraphBuilder, x: str) -> str:
    """Max pooling over tokens (ReduceMax): onnxruntime's defaults give its output a scale
    and zero point of its own, which a table after the max pool requantizes to."""
    h = b.node("ReduceMax", [b.linear(x, E)], (1, E), axes=[1], keepdims=0)
    return b.linear(h, 5, gemm=True)


# name: (build, input shape, GELU kept float by onnxruntime, schemes, LSB margin)
MODELS: dict[str, tuple[Build, tuple[int, ...], bool, tuple[str, ...], float]] = {
    "linear": (lambda b, x: b.linear(x, 8), TOKENS, False, tuple(SCHEMES), 1.0),
    "linear+relu": (lambda b, x: b.relu(b.linear(x, 8)), TOKENS, False, tuple(SCHEMES), 1.0),
    "mlp block": (mlp, TOKENS, False, tuple(SCHEMES), 3.0),
    "gelu": (lambda b, x: b.linear(b.gelu(b.linear(x, E)), E), TOKENS, True, tuple(SCHEMES), 3.0),
    "encoder": (encoder, (1, 12, E), True, tuple(SCHEMES), 4.0),
    "convnet": (convnet, IMAGE, False, tuple(SCHEMES), 3.0),
    "conv+bn+relu": (lambda b, x: b.relu(b.conv(x, 8, bn=True)), IMAGE, False, tuple(SCHEMES), 3.0),
    "token max": (token_max, TOKENS, False, tuple(SCHEMES), 6.0),
}
CASES = [(name, scheme) for name, spec in MODELS.items() for scheme in spec[3]]


@pytest.fixture(scope="module")
def models() -> dict[tuple[str, str], bytes]:
    return {}


def model_bytes(cache: dict, name: str, scheme: str) -> bytes:
    if (name, scheme) not in cache:
        build, shape, island, _, _ = MODELS[name]
        cache[(name, scheme)] = build_model(build, shape, scheme, island)
    return cache[(name, scheme)]


@pytest.mark.parametrize("name, scheme", CASES)
def test_converts_and_agrees_with_onnxruntime(models, name: str, scheme: str) -> None:
    data = model_bytes(models, name, scheme)
    m = load_onnx(data)
    margin = MODELS[name][4]
    dev = deviation_lsb(data, m, MODELS[name][1])
    print(f"{name} [{scheme}]: max |onnxruntime - tinytx| = {dev} LSB (margin {margin})")
    assert dev <= margin
    zps = {t.zero_point for t in m.tensors.values()}
    per_channel = [op for op in m.ops if isinstance(getattr(op, "rq", None), ChannelRequant)]
    if scheme == "perchannel":
        assert per_channel, "per_channel=True gave no per-channel op"
    else:
        assert not per_channel
    # asymmetric schemes: some tensor has a nonzero zero point (ReLU outputs, at least)
    assert zps != {0}


def test_uint8_boundary_is_int8_codes_plus_128(models) -> None:
    data = model_bytes(models, "linear+relu", "uint8")
    m = load_onnx(data)
    proto = onnx.load_from_string(data)
    zp = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    q_in = next(n for n in proto.graph.node if n.op_type == "QuantizeLinear")
    assert zp[q_in.input[2]].dtype == np.uint8
    z_u8 = int(zp[q_in.input[2]].ravel()[0])
    assert m.tensors[m.input].zero_point == z_u8 - 128
    x = random_inputs(TOKENS, 1, seed=3)[0]
    s = m.tensors[m.input].scale
    u8 = np.clip(np.rint(x / np.float32(s)) + z_u8, 0, 255).astype(np.int64)
    np.testing.assert_array_equal(executor.quantize_input(m, x).astype(np.int64) + 128, u8.ravel())
    # a fused ReLU clamps at the output zero point (the real 0)
    (op,) = m.ops
    assert op.rq.act_min == m.tensors[op.output].zero_point


def test_conv_padding_holds_the_input_zero_point(models) -> None:
    m = load_onnx(model_bytes(models, "convnet", "ortdefault"))
    convs = [op for op in m.ops if isinstance(op, ir.Conv2d)]
    assert any(op.pad_value != 0 for op in convs)
    for op in convs:
        assert op.pad_value == m.tensors[op.inputs[0]].zero_point


@pytest.mark.parametrize(
    "name, scheme",
    [
        ("encoder", "ortdefault"),
        ("encoder", "uint8"),
        ("encoder", "perchannel"),
        ("convnet", "perchannel"),
        ("mlp block", "perchannel"),
    ],
)
@pytest.mark.firmware
def test_generated_c_bit_exact_on_host(models, build_root: Path, name: str, scheme: str) -> None:
    conv, run = build_and_run(models, build_root, name, scheme, "host", "ref")
    assert run.returncode == 0, run.console
    assert firmware.compare(conv, run) == []
    assert "ZERO_POINT" in conv.generated.header


def build_and_run(models, build_root: Path, name: str, scheme: str, target: str, kernels: str):
    src = build_root / "quant_schemes" / f"{name.replace(' ', '_')}_{scheme}_{target}"
    src.mkdir(parents=True, exist_ok=True)
    path = src / "model.onnx"
    path.write_bytes(model_bytes(models, name, scheme))
    shape = MODELS[name][1]
    np.savez(src / "test_inputs.npz", float=np.stack(random_inputs(shape, 4, seed=7)))
    conv = convert(path, ConvertOptions(kernels=kernels))
    gen = (src / "generated").resolve()
    conv.write(gen)
    t = get_target(target)
    elf = firmware.build(conv, gen, t, kernels, (src / "fw").resolve())
    return conv, firmware.run(t, elf, timeout=300)


@pytest.mark.firmware
@pytest.mark.parametrize(
    "name, scheme, target, kernels",
    [
        ("encoder", "perchannel", "m4", "arm"),
        ("encoder", "uint8", "m4", "arm"),
        ("convnet", "ortdefault", "m4", "arm"),
        ("encoder", "perchannel", "rv32", "riscv"),
    ],
)
def test_optimized_kernels_bit_exact_emulated(
    models, build_root: Path, name: str, scheme: str, target: str, kernels: str
) -> None:
    """The same generated model with the arm (QEMU Cortex-M4) and riscv (QEMU RV32)
    kernels: zero points and per-channel factors through the optimized paths."""
    if shutil.which(get_target(target).qemu[0]) is None:
        pytest.skip(f"{get_target(target).qemu[0]} not installed")
    conv, run = build_and_run(models, build_root, name, scheme, target, kernels)
    assert run.returncode == 0, run.console
    assert firmware.compare(conv, run) == []


def test_uint8_test_inputs_become_int8_codes(models, tmp_path: Path) -> None:
    from tinytx.core.codegen.testdata import load_inputs

    m = load_onnx(model_bytes(models, "linear", "uint8"))
    xs = np.stack(random_inputs(TOKENS, 3, seed=4))
    want = np.stack([executor.quantize_input(m, x) for x in xs])
    # the uint8 codes onnxruntime's QuantizeLinear gives, in the ONNX layout
    u8 = np.stack([m.input_spec.from_memory(r).astype(np.int16) + 128 for r in want])
    np.savez(tmp_path / "u8.npz", uint8=u8.astype(np.uint8))
    np.testing.assert_array_equal(load_inputs(m, tmp_path / "u8.npz"), want)


def test_per_channel_attention_projections(models) -> None:
    m = load_onnx(model_bytes(models, "encoder", "perchannel"))
    (mh,) = [op for op in m.ops if isinstance(op, ir.Mhsa)]
    assert mh.per_channel
    hp = mh.weights.wq.shape[0]
    assert all(isinstance(getattr(mh.quant, f), ChannelRequant) for f in ("q", "k", "v", "out"))
    assert mh.quant.q.channels == hp and mh.quant.out.channels == mh.weights.wo.shape[0]
    assert {"q_mult", "q_shift", "out_mult", "out_shift"} <= set(mh.weight_arrays)


def test_fwsa_form_keeps_the_folded_input_zero_point(models) -> None:
    """The fused-weight form reads the block input's codes as keys: the input zero point
    only adds per-query constants to the scores (softmax ignores them), and the folded
    q bias carries into the fused bias, so the FWSA block stays as close to onnxruntime."""
    data = model_bytes(models, "encoder", "ortdefault")
    m = load_onnx(data)
    assert m.tensors[m.ops[0].output].zero_point != 0  # the block input is asymmetric
    calib = [executor.quantize_input(m, a) for a in random_inputs((1, 12, E), 16, seed=4)]
    planned = plan_model(m, fwsa="on", calibration=np.stack(calib)).model
    (mh,) = [op for op in planned.ops if isinstance(op, ir.Mhsa)]
    assert mh.fwsa is not None
    dev = deviation_lsb(data, planned, (1, 12, E))
    print(f"encoder [ortdefault] FWSA: max |onnxruntime - tinytx| = {dev} LSB (margin 4.0)")
    assert dev <= 4.0
