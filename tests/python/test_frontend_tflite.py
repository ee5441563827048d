"""The TFLite frontend: the int8 fixtures of tests/data/tflite convert, the golden executor
on the converted IR agrees with the stored TFLite interpreter outputs (a statistic with a
measured margin: TFLite's kernels are not the golden model), one fixture runs bit-exact
on QEMU, and what is not accepted gets one line."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import flatbuffers
import numpy as np
import pytest
import tflite
from tflite_agreement import agreement, table

from tinytx.cli import main
from tinytx.core import executor, ir
from tinytx.core.errors import UserInputError
from tinytx.core.frontend.onnx.graph import FrontendError
from tinytx.core.frontend.tflite import load_tflite
from tinytx.core.frontend.tflite.lower import Lowering
from tinytx.core.frontend.tflite.reader import TflGraph, TflOp, TflTensor
from tinytx.core.golden import check_attention_steps_params, check_layernorm_steps_params

DATA = Path(__file__).resolve().parents[1] / "data" / "tflite"
FIXTURES = sorted(p.name for p in DATA.iterdir() if (p / "model.tflite").is_file())

# Measured on the fixtures (TF 2.21 reference kernels): top-1 agreement and the largest
# output deviation in LSB. The LayerNorms, the attention steps and the average pooling are
# TFLite's, bit for bit (below): encoder_block equals the interpreter; what remains in
# the others is single-rounding requantization where TFLite rounds twice (a conv output
# off by one LSB now and then, which the later layers carry on).
MEASURED = {
    "ecg": (0.995, 6),
    "eeg": (1.0, 2),
    "encoder_block": (1.0, 0),
    "radar": (1.0, 6),
}
MARGIN_TOP1 = 0.01
MARGIN_LSB = 2


def test_every_fixture_has_a_measured_margin() -> None:
    assert FIXTURES and set(FIXTURES) <= set(MEASURED)


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_converts_to_attention_and_layernorm(name: str) -> None:
    model = load_tflite(DATA / name / "model.tflite")
    kinds = [op.kind for op in model.ops]
    assert {"attention_steps", "layernorm_steps", "linear"} <= set(kinds)
    assert "layernorm" not in kinds and "mhsa" not in kinds
    assert model.name == name
    steps = next(op for op in model.ops if isinstance(op, ir.AttentionSteps))
    assert steps.heads >= 2
    if name == "radar":  # TimeDistributed: one batched op per unrolled group of 16 frames
        assert kinds.count("conv2d") == 2 and kinds.count("maxpool") == 2
        conv = next(op for op in model.ops if op.kind == "conv2d")
        assert model.tensors[conv.inputs[0]].shape[0] == 16


@pytest.mark.parametrize("name", FIXTURES)
def test_golden_agrees_with_the_interpreter(name: str) -> None:
    a = agreement(DATA / name)
    top1, lsb = MEASURED[name]
    assert a.count == 200
    assert a.top1 >= top1 - MARGIN_TOP1, a.row()
    assert a.max_lsb <= lsb + MARGIN_LSB, a.row()
    if a.accuracy is not None:
        assert a.accuracy >= a.reference_accuracy - 0.02, a.row()


def test_layernorm_steps_equal_the_interpreter() -> None:
    """Each LayerNorm of encoder_block, on the interpreter's own input tensor of the chain,
    gives the interpreter's output tensor bit for bit (tests/tools/dump_tflite_layernorms.py
    stored both for 12 inputs)."""
    model = load_tflite(DATA / "encoder_block" / "model.tflite")
    norms = [op for op in model.ops if isinstance(op, ir.LayerNormSteps)]
    with np.load(DATA / "encoder_block" / "layernorms.npz") as data:
        stored = {k: np.asarray(data[k]) for k in data.files}
    assert len(norms) == 2 and len(stored) == 4
    for k, op in enumerate(norms):
        shape = model.tensors[op.inputs[0]].shape
        for x, y in zip(stored[f"x{k}"], stored[f"y{k}"], strict=True):
            got = executor.run_op(op, [x.reshape(shape)], shape)
            np.testing.assert_array_equal(got, y.reshape(shape))


def test_steps_factors_are_checked() -> None:
    """The factors of a matched chain pass the kernel's checks; one out of range does not."""
    from tinytx.core.frontend.tflite import layernorm as ln
    from tinytx.core.frontend.tflite.reader import read_bytes, read_tflite

    graph = read_tflite(*read_bytes(DATA / "encoder_block" / "model.tflite"))
    match = ln.match_layernorms(graph)[0]
    gamma, beta, table, params = ln.steps_params(graph, match)
    assert gamma.dtype == beta.dtype == table.dtype == np.int8 and table.shape == (256,)
    bad = dataclasses.replace(params, x_gamma=dataclasses.replace(params.x_gamma, shift=15))
    with pytest.raises(ValueError, match="x_gamma: shift 15"):
        check_layernorm_steps_params(bad, gamma.size)


def test_exact_layernorm_when_the_steps_do_not_fit(monkeypatch) -> None:
    """A chain the steps op cannot take becomes the exact IR LayerNorm; its source says why."""
    from tinytx.core.frontend.tflite import layernorm as ln

    def refuse(*_):
        raise ValueError("operator 25 has a fused activation")

    monkeypatch.setattr(ln, "steps_params", refuse)
    model = load_tflite(DATA / "encoder_block" / "model.tflite")
    norms = [op for op in model.ops if isinstance(op, ir.LayerNorm)]
    assert len(norms) == 2 and not any(isinstance(op, ir.LayerNormSteps) for op in model.ops)
    assert "exact (not TFLite's steps: operator 25 has a fused activation)" in norms[0].source


@pytest.mark.parametrize("name", FIXTURES)
def test_attention_steps_equal_the_interpreter(name: str) -> None:
    """Each attention block, on the interpreter's own q, k, v tensors, gives the
    interpreter's merged heads (the output projection's input) bit for bit
    (tests/tools/dump_tflite_attention.py stored them for the first inputs)."""
    model = load_tflite(DATA / name / "model.tflite")
    blocks = [op for op in model.ops if isinstance(op, ir.AttentionSteps)]
    with np.load(DATA / name / "attention.npz") as data:
        stored = {k: np.asarray(data[k]) for k in data.files}
    assert blocks and len(stored) == 4 * len(blocks)
    for k, op in enumerate(blocks):
        shape = model.tensors[op.output].shape
        qs, ks, vs, os_ = (stored[f"{t}{k}"] for t in "qkvo")
        assert len(qs) >= 3
        for q, key, v, o in zip(qs, ks, vs, os_, strict=True):
            got = executor.run_op(op, [q, key, v], shape)
            np.testing.assert_array_equal(got, o.reshape(shape))


def test_attention_steps_factors_are_checked() -> None:
    """The factors of a matched block pass the kernel's checks; one out of range does not."""
    model = load_tflite(DATA / "encoder_block" / "model.tflite")
    op = next(op for op in model.ops if isinstance(op, ir.AttentionSteps))
    s, n = model.tensors[op.output].shape
    check_attention_steps_params(op.params, s, n // op.heads)
    bad = dataclasses.replace(op.params, av=dataclasses.replace(op.params.av, zero_point_a=0))
    with pytest.raises(ValueError, match="av: the probabilities' zero point 0 is not -128"):
        check_attention_steps_params(bad, s, n // op.heads)


def test_mhsa_when_the_steps_do_not_fit(monkeypatch) -> None:
    """A block the steps op cannot take becomes one IR Mhsa; its source says why."""
    from tinytx.core.frontend.tflite import attention as at

    def refuse(*_):
        raise ValueError("the projections' columns are not in head order")

    monkeypatch.setattr(at, "steps_params", refuse)
    model = load_tflite(DATA / "encoder_block" / "model.tflite")
    blocks = [op for op in model.ops if isinstance(op, ir.Mhsa)]
    assert len(blocks) == 1 and not any(isinstance(op, ir.AttentionSteps) for op in model.ops)
    assert "one block (not TFLite's steps: the projections' columns" in blocks[0].source
    a = agreement(DATA / "encoder_block")  # the statistical form: close, not equal
    assert a.top1 >= 0.95 and a.max_lsb <= 6, a.row()


def test_agreement_table_lists_every_fixture() -> None:
    text = table([DATA])
    assert all(f"| {name} | 200 |" in text for name in FIXTURES)


def test_plan_and_convert_accept_tflite(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code = main(["convert", str(DATA / "ecg" / "model.tflite"), "-o", str(out),
                 "--board", "nucleo_l476rg"])  # fmt: skip
    assert code == 0
    plan = (out / "plan.txt").read_text()
    assert (out / "model.c").is_file() and "tinytx_attention_steps_s8" in (
        out / "model.c"
    ).read_text()
    assert "attention_steps0: TFLite's attention steps, layer-wise" in plan


def test_fused_attention_when_the_steps_do_not_fit_the_board(tmp_path: Path) -> None:
    """eeg's attention steps hold q, k and v whole (85,536 bytes of arena), more than
    nucleo_l476rg's 81,920: the conversion falls back to the fused blocks and says so."""
    out = tmp_path / "out"
    code = main(["convert", str(DATA / "eeg" / "model.tflite"), "-o", str(out),
                 "--board", "nucleo_l476rg"])  # fmt: skip
    assert code == 0
    plan = (out / "plan.txt").read_text()
    assert "attention: TFLite's steps need an arena of" in plan
    assert "tinytx_attention_steps_s8" not in (out / "model.c").read_text()


# ------------------------------------------------------------------ one-line refusals


def _tiny(op: int, dtype: int = tflite.TensorType.INT8, signature=(1, 4)) -> bytes:
    """A one-operator model [1,4] -> [1,4] built with the schema's generated builders."""
    b = flatbuffers.Builder(1024)

    def ints(start, values):
        start(b, len(values))
        for v in reversed(values):
            b.PrependInt32(v)
        return b.EndVector()

    def quant():
        tflite.QuantizationParametersStartScaleVector(b, 1)
        b.PrependFloat32(0.05)
        scale = b.EndVector()
        tflite.QuantizationParametersStartZeroPointVector(b, 1)
        b.PrependInt64(0)
        zero = b.EndVector()
        tflite.QuantizationParametersStart(b)
        tflite.QuantizationParametersAddScale(b, scale)
        tflite.QuantizationParametersAddZeroPoint(b, zero)
        return tflite.QuantizationParametersEnd(b)

    tensors = []
    for i in range(2):
        name = b.CreateString(f"t{i}")
        shape = ints(tflite.TensorStartShapeVector, [1, 4])
        sig = ints(tflite.TensorStartShapeSignatureVector, list(signature))
        q = quant() if dtype != tflite.TensorType.FLOAT32 else None
        tflite.TensorStart(b)
        tflite.TensorAddShape(b, shape)
        tflite.TensorAddShapeSignature(b, sig)
        tflite.TensorAddType(b, dtype)
        tflite.TensorAddBuffer(b, 0)
        tflite.TensorAddName(b, name)
        if q is not None:
            tflite.TensorAddQuantization(b, q)
        tensors.append(tflite.TensorEnd(b))
    tflite.SubGraphStartTensorsVector(b, 2)
    for t in reversed(tensors):
        b.PrependUOffsetTRelative(t)
    tvec = b.EndVector()
    ins = ints(tflite.OperatorStartInputsVector, [0])
    outs = ints(tflite.OperatorStartOutputsVector, [1])
    tflite.OperatorStart(b)
    tflite.OperatorAddOpcodeIndex(b, 0)
    tflite.OperatorAddInputs(b, ins)
    tflite.OperatorAddOutputs(b, outs)
    operator = tflite.OperatorEnd(b)
    tflite.SubGraphStartOperatorsVector(b, 1)
    b.PrependUOffsetTRelative(operator)
    ovec = b.EndVector()
    sg_in = ints(tflite.SubGraphStartInputsVector, [0])
    sg_out = ints(tflite.SubGraphStartOutputsVector, [1])
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tvec)
    tflite.SubGraphAddOperators(b, ovec)
    tflite.SubGraphAddInputs(b, sg_in)
    tflite.SubGraphAddOutputs(b, sg_out)
    sg = tflite.SubGraphEnd(b)
    tflite.OperatorCodeStart(b)
    tflite.OperatorCodeAddBuiltinCode(b, op)
    tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(op, 127))
    code = tflite.OperatorCodeEnd(b)
    tflite.BufferStart(b)
    buf = tflite.BufferEnd(b)
    vecs = []
    for start, item in (
        (tflite.ModelStartSubgraphsVector, sg),
        (tflite.ModelStartOperatorCodesVector, code),
        (tflite.ModelStartBuffersVector, buf),
    ):
        start(b, 1)
        b.PrependUOffsetTRelative(item)
        vecs.append(b.EndVector())
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, 3)
    tflite.ModelAddSubgraphs(b, vecs[0])
    tflite.ModelAddOperatorCodes(b, vecs[1])
    tflite.ModelAddBuffers(b, vecs[2])
    b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _refusal(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "m.tflite"
    path.write_bytes(data)
    with pytest.raises(FrontendError) as exc:
        load_tflite(path)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith(f"{path}: ")
    return msg


def test_tiny_model_converts_to_a_table() -> None:
    model = load_tflite(_tiny(tflite.BuiltinOperator.TANH), "tiny")
    assert [op.kind for op in model.ops] == ["lut"]
    x = np.array([[-40, -3, 0, 60]], np.int8)
    y = executor.run(model, x.ravel())
    assert np.array_equal(y, np.rint(np.tanh(x * 0.05) / 0.05).ravel().astype(np.int8))


def test_unsupported_operator_is_one_line(tmp_path: Path) -> None:
    msg = _refusal(_tiny(tflite.BuiltinOperator.SQRT), tmp_path)
    assert "operator 0 (SQRT): not supported; supported: FULLY_CONNECTED, " in msg


def test_softmax_outside_attention_is_one_line(tmp_path: Path) -> None:
    msg = _refusal(_tiny(tflite.BuiltinOperator.SOFTMAX), tmp_path)
    assert "operator 0 (SOFTMAX): a SOFTMAX outside self-attention is not supported" in msg


def test_float_model_is_refused(tmp_path: Path) -> None:
    msg = _refusal(_tiny(tflite.BuiltinOperator.TANH, tflite.TensorType.FLOAT32), tmp_path)
    assert "float model (not quantized)" in msg


def test_int16_activations_are_refused(tmp_path: Path) -> None:
    msg = _refusal(_tiny(tflite.BuiltinOperator.TANH, tflite.TensorType.INT16), tmp_path)
    assert "int16 (16x8 quantization)" in msg


def test_dynamic_shape_is_refused(tmp_path: Path) -> None:
    msg = _refusal(_tiny(tflite.BuiltinOperator.TANH, signature=(1, -1)), tmp_path)
    assert "dynamic shape [1, -1]" in msg


@pytest.mark.parametrize(
    "data", [b"", b"not a flatbuffer at all", b"\x10\x00\x00\x00TFL3" + b"\xff" * 40]
)
def test_malformed_file_is_one_line(tmp_path: Path, data: bytes) -> None:
    msg = _refusal(data, tmp_path)
    assert "TFLite flatbuffer" in msg


def test_cli_refusal_exit_code(tmp_path: Path, capsys) -> None:
    path = tmp_path / "m.tflite"
    path.write_bytes(_tiny(tflite.BuiltinOperator.SQRT))
    code = main(["convert", str(path), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "operator 0 (SQRT): not supported" in err
    assert len(err.strip().splitlines()) == 1


# ------------------------------------------------------- operator fixtures (tflite_ops)

OPS_DATA = Path(__file__).resolve().parents[1] / "data" / "tflite_ops"
# Measured (TF 2.21 reference kernels): top-1 agreement, largest deviation in LSB. The
# data movement is exact; dilated and depth-multiplier convolutions deviate by the
# requantization rounding, as every conv (TFLite rounds twice, the golden model once); MUL is
# TFLite's integer reference; ADD/SUB (the golden add) matched it on these inputs.
OPS_MEASURED = {
    "broadcast": (1.0, 0),
    "class_token": (1.0, 0),
    "dilated": (1.0, 2),
    "layout": (1.0, 2),
    "movement": (1.0, 0),
    "resize": (1.0, 0),
    "tcn": (1.0, 2),
}
# IR op kinds each fixture must lower to
OPS_KINDS = {
    "broadcast": {"mul", "add", "gather", "lut"},
    "class_token": {"concat", "gather"},
    "dilated": {"conv2d", "depthwise_conv2d", "gather"},
    "layout": {"gather", "concat", "mean_rows"},
    "movement": {"gather", "concat"},
    "resize": {"gather", "conv2d"},
    "tcn": {"conv2d", "depthwise_conv2d"},
}


def test_every_operator_fixture_has_a_measured_margin() -> None:
    names = {p.name for p in OPS_DATA.iterdir() if (p / "model.tflite").is_file()}
    assert names == set(OPS_MEASURED) == set(OPS_KINDS)


@pytest.mark.parametrize("name", sorted(OPS_MEASURED))
def test_operator_fixture_lowers_and_agrees(name: str) -> None:
    model = load_tflite(OPS_DATA / name / "model.tflite")
    assert OPS_KINDS[name] <= {op.kind for op in model.ops}
    a = agreement(OPS_DATA / name)
    top1, lsb = OPS_MEASURED[name]
    assert a.count == 200
    assert a.top1 >= top1 - MARGIN_TOP1, a.row()
    assert a.max_lsb <= lsb + MARGIN_LSB, a.row()


def test_dilation_as_zero_taps_or_in_the_dims() -> None:
    """A conv's small dilation becomes zero taps (the optimized kernel, faster on
    Cortex-M4 as measured in tinytx.core.frontend.dilation); a large one, and a depthwise
    one, stays in the kernel dims. A depth multiplier without dilation: a CONV_2D on one
    channel, else a channel repeat and a depthwise convolution."""
    model = load_tflite(OPS_DATA / "dilated" / "model.tflite")
    convs = [op for op in model.ops if isinstance(op, ir.Conv2d)]
    assert [op.kind for op in convs] == ["conv2d"] + ["depthwise_conv2d", "conv2d"] + [
        "depthwise_conv2d"
    ] * 2
    assert [op.dilation for op in convs] == [(1, 1), (2, 2), (1, 1), (2, 2), (1, 1)]
    assert convs[0].weight.shape == (4, 3, 3, 1) and convs[1].weight.shape == (3, 3, 8)
    w = convs[2].weight  # 3x3, dilation (2, 3) as zero taps
    assert w.shape[1:3] == (5, 7) and not w[:, 1::2].any() and not w[:, :, 1::3].any()
    g = next(op for op in model.ops if isinstance(op, ir.Gather))
    assert g.axis == 3 and g.indices.tolist() == np.repeat(np.arange(12), 2).tolist()
    tcn = [op for op in load_tflite(OPS_DATA / "tcn" / "model.tflite").ops
           if isinstance(op, ir.Conv2d)]  # fmt: skip
    assert [op.dilation for op in tcn] == [(1, 16), (1, 8), (1, 1)]
    assert tcn[1].weight.shape == (1, 3, 16)  # depth multiplier 2 in the dims
    assert tcn[2].weight.shape == (8, 1, 5, 16)


# ------------------------------------------------------------------------- firmware


@pytest.mark.firmware
def test_ecg_fixture_runs_bit_exact_on_qemu(tmp_path: Path) -> None:
    """``tinytx run model.tflite`` on the emulated Cortex-M4: the firmware's outputs for
    the test inputs equal the golden executor's (the run fails otherwise)."""
    src = tmp_path / "ecg"
    src.mkdir()
    shutil.copy(DATA / "ecg" / "model.tflite", src / "model.tflite")
    with np.load(DATA / "ecg" / "inputs.npz") as data:
        x = np.asarray(data["int8"])[:8]
    np.savez(src / "test_inputs.npz", int8=x.reshape(len(x), 1, *x.shape[1:]))
    code = main(["run", str(src / "model.tflite"), "--board", "nucleo_l476rg_emu",
                 "--no-count", "--build-dir", str(tmp_path / "build")])  # fmt: skip
    assert code == 0


@pytest.mark.firmware
@pytest.mark.parametrize("name", sorted(OPS_MEASURED))
def test_operator_fixture_runs_bit_exact_on_qemu(tmp_path: Path, name: str) -> None:
    """The gather, concat and mul kernels and the dilated convolutions in firmware: equal
    to the golden executor on the emulated Cortex-M4 (the run fails otherwise)."""
    src = tmp_path / name
    src.mkdir()
    shutil.copy(OPS_DATA / name / "model.tflite", src / "model.tflite")
    with np.load(OPS_DATA / name / "inputs.npz") as data:
        x = np.asarray(data["int8"])[:4]
    np.savez(src / "test_inputs.npz", int8=x.reshape(len(x), 1, *x.shape[1:]))
    code = main(["run", str(src / "model.tflite"), "--board", "nucleo_l476rg_emu",
                 "--no-count", "--build-dir", str(tmp_path / "build")])  # fmt: skip
    assert code == 0


# ---------------------------------------------- data movement on a graph built in memory


def _t(i: int, shape: tuple[int, ...], data: np.ndarray | None = None) -> TflTensor:
    """An int8 activation (scale 0.05, zero point 3) or an int32 constant."""
    if data is None:
        return TflTensor(i, f"t{i}", shape, shape, "int8", np.array([0.05]), np.array([3]), 0,
                         None)  # fmt: skip
    return TflTensor(i, f"t{i}", shape, shape, "int32", np.array([]), np.array([]), 0, data)


def _one_op(name: str, x_shape, out_shape, consts, options=None) -> ir.Model:
    tensors = [_t(0, x_shape)]
    for c in consts:
        tensors.append(_t(len(tensors), c.shape, c))
    tensors.append(_t(len(tensors), out_shape))
    ins = tuple(range(len(tensors) - 1))
    op = TflOp(0, name, ins, (len(tensors) - 1,), options or {})
    g = TflGraph("m.tflite", tuple(tensors), (op,), (0,), (len(tensors) - 1,))
    return Lowering(g, "m").lower()


@pytest.mark.parametrize(
    ("name", "x_shape", "const", "expect"),
    [
        ("TRANSPOSE", (1, 3, 4, 5), [0, 3, 1, 2], lambda x: x.transpose(0, 3, 1, 2)),
        ("TRANSPOSE", (2, 3, 4), [1, 0, 2], lambda x: x.transpose(1, 0, 2)),
        ("TILE", (1, 2, 3), [1, 2, 2], lambda x: np.tile(x, (1, 2, 2))),
        ("BROADCAST_TO", (1, 1, 3), [2, 4, 3], lambda x: np.broadcast_to(x, (2, 4, 3))),
        ("REVERSE_V2", (1, 3, 4), [1, -1], lambda x: x[:, ::-1, ::-1]),
        ("RESIZE_NEAREST_NEIGHBOR", (1, 2, 3, 2), [4, 6], lambda x: x.repeat(2, 1).repeat(2, 2)),
        ("RESIZE_NEAREST_NEIGHBOR", (1, 3, 3, 1), [2, 2], lambda x: x[:, [0, 1]][:, :, [0, 1]]),
    ],
)
def test_layout_operators_move_bytes_as_numpy(name, x_shape, const, expect) -> None:
    x = np.random.default_rng(0).integers(-128, 128, x_shape).astype(np.int8)
    want = expect(x)
    model = _one_op(name, x_shape, want.shape, [np.asarray(const, np.int32)])
    assert {op.kind for op in model.ops} <= {"gather", "view"}
    assert np.array_equal(executor.run(model, x.ravel()), want.ravel())


@pytest.mark.parametrize("name", ["SPACE_TO_DEPTH", "DEPTH_TO_SPACE"])
def test_space_depth_moves_bytes_as_tensorflow_defines(name: str) -> None:
    """out[h][w][(bh*2 + bw)*C + c] = in[2h + bh][2w + bw][c] (and its inverse)."""
    x = np.random.default_rng(1).integers(-128, 128, (1, 4, 6, 8)).astype(np.int8)
    if name == "SPACE_TO_DEPTH":
        want = x.reshape(1, 2, 2, 3, 2, 8).transpose(0, 1, 3, 2, 4, 5).reshape(1, 2, 3, 32)
    else:
        want = x.reshape(1, 4, 6, 2, 2, 2).transpose(0, 1, 3, 2, 4, 5).reshape(1, 8, 12, 2)
    model = _one_op(name, x.shape, want.shape, [], {"BlockSize": 2})
    assert np.array_equal(executor.run(model, x.ravel()), want.ravel())


@pytest.mark.parametrize(("name", "fn"), [("MAXIMUM", np.maximum), ("MINIMUM", np.minimum)])
def test_extremum_with_a_scalar_compares_codes(name: str, fn) -> None:
    """TFLite's int8 MAXIMUM/MINIMUM compare the codes: a table op, exact."""
    c = np.array([[-7]], np.int8)
    q8 = (np.array([0.05]), np.array([3]))
    tensors = (
        TflTensor(0, "x", (1, 6), (1, 6), "int8", *q8, 0, None),
        TflTensor(1, "c", (1, 1), (1, 1), "int8", *q8, 0, c),
        TflTensor(2, "y", (1, 6), (1, 6), "int8", *q8, 0, None),
    )
    g = TflGraph("m.tflite", tensors, (TflOp(0, name, (0, 1), (2,), {}),), (0,), (2,))
    model = Lowering(g, "m").lower()
    x = np.array([-128, -8, -7, -6, 0, 127], np.int8)
    assert [op.kind for op in model.ops] == ["lut"]
    assert np.array_equal(executor.run(model, x), fn(x, np.int8(-7)))


# `--tflite-arith fast`: tinytx's one-step LayerNorm and fused attention instead of
# TFLite's steps (measured like MEASURED): fewer instructions, further from the interpreter.
FAST_MEASURED = {
    "ecg": (0.98, 13),
    "eeg": (0.97, 4),
    "encoder_block": (0.955, 6),
}


@pytest.mark.parametrize("name", sorted(FAST_MEASURED))
def test_fast_arith_keeps_tinytx_layernorm_and_attention(name: str) -> None:
    match = load_tflite(DATA / name / "model.tflite", name)
    fast = load_tflite(DATA / name / "model.tflite", name, "fast")
    steps = (ir.LayerNormSteps, ir.AttentionSteps)
    assert {type(op) for op in match.ops} >= set(steps)
    assert not any(isinstance(op, steps) for op in fast.ops)
    assert any(isinstance(op, ir.LayerNorm) for op in fast.ops)
    assert any(isinstance(op, ir.Mhsa) for op in fast.ops)
    a = agreement(DATA / name, "fast")
    top1, lsb = FAST_MEASURED[name]
    assert a.top1 >= top1 - MARGIN_TOP1, a.row()
    assert a.max_lsb <= lsb + MARGIN_LSB, a.row()


def test_unknown_arith_is_one_clear_error() -> None:
    with pytest.raises(UserInputError, match="--tflite-arith: expected one of match, fast"):
        load_tflite(DATA / "ecg" / "model.tflite", "ecg", "exact")
