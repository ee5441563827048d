"""Make the int8 TFLite test fixtures the way users make them (run by hand, not by pytest).

Each model is built with Keras, trained briefly on synthetic data (the samples' own
generators for radar, EEG and ECG), and converted by the standard TFLite converter with
full-integer quantization (the TFLite Micro deployment recipe):

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = <200 training inputs, batch 1>
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8

The deployed model is a batch-1 copy of the trained one (same weights), as usual for
microcontrollers, so every shape in the flatbuffer is static.

Per fixture it writes ``model.tflite``, ``inputs.npz`` (``int8``: 200 held-out inputs
quantized with the model's input scale and zero point; ``labels`` when the data has
labels), ``interpreter.npz`` (``int8``: the TFLite interpreter's outputs for them, reference
kernels) and ``README.md``; plus ``OPS.md`` per set (the operators dumped from the
flatbuffer). TensorFlow is not a project dependency; install it in a scratch venv:

    .venv/bin/pip install tensorflow-cpu==2.21.0
    .venv/bin/python tests/tools/make_tflite_fixtures.py [names...]
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import tensorflow as tf
from keras import layers
from tensorflow.lite.python import schema_py_generated as schema

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
OUT_MAIN = ROOT / "tests" / "data" / "tflite"
OUT_HELDOUT = ROOT / "tests" / "data" / "tflite_heldout"
COUNT = 200  # inputs per fixture
CALIB = 200  # representative-dataset size
Data = tuple[np.ndarray, np.ndarray | None]


@dataclass(frozen=True)
class Fixture:
    name: str
    heldout: bool
    description: str
    # batch size (None: training) -> Keras model
    build: Callable[[int | None], keras.Model]
    # (count, seed) -> (float inputs [count, *input shape], labels or None)
    data: Callable[[int, int], Data]
    train_count: int
    epochs: int
    classify: bool  # cross-entropy on labels; else MSE on targets from `target`
    target: Callable[[np.ndarray], np.ndarray] | None = None
    lr: float = 2e-3


# ---------------------------------------------------------------- the samples' definitions


def load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"{path}: cannot load")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sample_constants(sample: str) -> dict[str, object]:
    """Module-level literal constants and the SPEC's literal keywords of make_model.py
    (read with ast: importing it needs torch)."""
    tree = ast.parse((SAMPLES / sample / "model" / "make_model.py").read_text())
    found: dict[str, object] = {}
    for node in tree.body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target = node.targets[0]
        if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
            for t, v in zip(target.elts, node.value.elts, strict=True):
                if isinstance(t, ast.Name) and isinstance(v, ast.Constant):
                    found[t.id] = v.value
        elif isinstance(target, ast.Name) and isinstance(node.value, ast.Call):
            for kw in node.value.keywords:
                if kw.arg and isinstance(kw.value, ast.Constant):
                    found[f"{target.id}.{kw.arg}"] = kw.value.value
    return found


def sample_data(sample: str) -> ModuleType:
    return load_module(SAMPLES / sample / "model" / "data.py", f"{sample}_data")


# ---------------------------------------------------------------- Keras building blocks


@keras.saving.register_keras_serializable(package="tinytx_fixtures")
class PositionEmbedding(layers.Layer):
    """Learned positions added to the tokens (the samples' ``pos`` parameter)."""

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.pos = self.add_weight(
            shape=(1, input_shape[1], input_shape[2]),
            initializer=keras.initializers.RandomNormal(stddev=0.1),
            name="pos",
        )

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return x + self.pos


def encoder_layer(x: tf.Tensor, heads: int, head_dim: int, ffn: int) -> tf.Tensor:
    """Post-norm: h = LN(x + MHA(x)), y = LN(h + FFN(h)), FFN = Dense -> GELU -> Dense."""
    embed = x.shape[-1]
    a = layers.MultiHeadAttention(num_heads=heads, key_dim=head_dim)(x, x)
    h = layers.LayerNormalization(epsilon=1e-5)(layers.Add()([x, a]))
    f = layers.Dense(ffn, activation="gelu")(h)
    f = layers.Dense(embed)(f)
    return layers.LayerNormalization(epsilon=1e-5)(layers.Add()([h, f]))


def vit_block(x: tf.Tensor, heads: int, head_dim: int, ffn: int) -> tf.Tensor:
    """Pre-norm (ViT): x + MHA(LN(x)), then x + MLP(LN(x))."""
    embed = x.shape[-1]
    n = layers.LayerNormalization(epsilon=1e-6)(x)
    x = layers.Add()([x, layers.MultiHeadAttention(num_heads=heads, key_dim=head_dim)(n, n)])
    n = layers.LayerNormalization(epsilon=1e-6)(x)
    f = layers.Dense(embed, activation=None)(layers.Dense(ffn, activation="gelu")(n))
    return layers.Add()([x, f])


def token_classifier(
    inp: keras.KerasTensor, tokens: tf.Tensor, c: dict[str, object], classes: int
) -> keras.Model:
    t = PositionEmbedding()(tokens)
    for _ in range(int(c.get("LAYERS", 1))):
        t = encoder_layer(t, int(c["HEADS"]), int(c["HEAD_DIM"]), int(c["FFN"]))
    t = layers.GlobalAveragePooling1D()(t)  # mean over tokens
    return keras.Model(inp, layers.Dense(classes)(t))


# ---------------------------------------------------------------- the three samples


def radar_model(batch: int | None) -> keras.Model:
    d, c = sample_data("radar"), sample_constants("radar")
    # NHWC per frame: [frames, range, doppler, antennas]
    inp = keras.Input((d.FRAMES, d.RANGE_BINS, d.DOPPLER_BINS, d.ANTENNAS), batch_size=batch)
    x = layers.TimeDistributed(layers.Conv2D(8, 3, padding="same", activation="relu"))(inp)
    x = layers.TimeDistributed(layers.MaxPooling2D(2))(x)
    x = layers.TimeDistributed(layers.Conv2D(16, 3, padding="same", activation="relu"))(x)
    x = layers.TimeDistributed(layers.MaxPooling2D(2))(x)
    features = 16 * (d.RANGE_BINS // 4) * (d.DOPPLER_BINS // 4)
    x = layers.Reshape((d.FRAMES, features))(x)
    tokens = layers.Dense(int(c["EMBED"]), use_bias=False)(x)
    return token_classifier(inp, tokens, c, len(d.CLASSES))


def radar_data(count: int, seed: int) -> Data:
    x, y = sample_data("radar").make_dataset(count, seed)
    return np.ascontiguousarray(x.transpose(0, 1, 3, 4, 2)), y


def eeg_model(batch: int | None) -> keras.Model:
    d, c = sample_data("eeg"), sample_constants("eeg")
    inp = keras.Input((1, d.SAMPLES, d.CHANNELS), batch_size=batch)  # NHWC, H = 1
    x = layers.Conv2D(16, (1, 9), strides=(1, 2), padding="same", activation="relu")(inp)
    x = layers.AveragePooling2D((1, 4))(x)
    x = layers.Conv2D(int(c["EMBED"]), (1, 3), padding="same")(x)
    tokens = layers.Reshape((int(c["TOKENS"]), int(c["EMBED"])))(x)
    return token_classifier(inp, tokens, c, len(d.CLASSES))


def eeg_data(count: int, seed: int) -> Data:
    x, y = sample_data("eeg").make_dataset(count, seed)  # [N, C, 1, T]
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)), y


def ecg_model(batch: int | None) -> keras.Model:
    d, c = sample_data("ecg"), sample_constants("ecg")
    inp = keras.Input((1, d.SAMPLES, 1), batch_size=batch)
    x = layers.Conv2D(8, (1, 7), strides=(1, 2), padding="same", activation="relu")(inp)
    x = layers.DepthwiseConv2D((1, 5), padding="same", activation="relu")(x)
    x = layers.MaxPooling2D((1, 2))(x)
    x = layers.Conv2D(int(c["EMBED"]), 1)(x)
    tokens = layers.Reshape((int(c["TOKENS"]), int(c["EMBED"])))(x)
    return token_classifier(inp, tokens, c, len(d.CLASSES))


def ecg_data(count: int, seed: int) -> Data:
    x, y = sample_data("ecg").make_dataset(count, seed)  # [N, 1, 1, T]
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)), y


# ---------------------------------------------------------------- a plain encoder block

BLOCK_SEQ, BLOCK_EMBED, BLOCK_HEADS, BLOCK_FFN = 16, 32, 4, 64


def block_model(batch: int | None) -> keras.Model:
    """One nn.TransformerEncoderLayer-style block (post-norm), tokens in, tokens out."""
    inp = keras.Input((BLOCK_SEQ, BLOCK_EMBED), batch_size=batch)
    out = encoder_layer(inp, BLOCK_HEADS, BLOCK_EMBED // BLOCK_HEADS, BLOCK_FFN)
    return keras.Model(inp, out)


def block_data(count: int, seed: int) -> Data:
    """Tokens: smooth random sequences (a few sinusoids per channel) plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(BLOCK_SEQ)[None, :, None]
    f = rng.uniform(0.05, 0.4, (count, 1, BLOCK_EMBED))
    ph = rng.uniform(0, 2 * np.pi, (count, 1, BLOCK_EMBED))
    amp = rng.uniform(0.5, 1.5, (count, 1, BLOCK_EMBED))
    x = amp * np.sin(2 * np.pi * f * t + ph) + 0.2 * rng.normal(size=(count, BLOCK_SEQ, 1))
    return x.astype(np.float32), None


def block_target(x: np.ndarray) -> np.ndarray:
    """A context task: each token minus the sequence mean, plus a fixed mix of the mean."""
    mix = np.random.default_rng(11).normal(0, 0.5, (BLOCK_EMBED, BLOCK_EMBED))
    mean = x.mean(axis=1, keepdims=True)
    return (x - mean + np.tanh(mean @ mix)).astype(np.float32)


# ---------------------------------------------------------------- held-out models

MLP_FEATURES, MLP_CLASSES = 64, 10
KWS_SHAPE, KWS_CLASSES = (49, 10, 1), 12
VIT_SHAPE, VIT_CLASSES, VIT_PATCH, VIT_EMBED = (32, 32, 3), 10, 8, 48


def mlp_model(batch: int | None) -> keras.Model:
    inp = keras.Input((MLP_FEATURES,), batch_size=batch)
    x = layers.Dense(64, activation="relu")(inp)
    x = layers.Dense(32, activation="relu")(x)
    return keras.Model(inp, layers.Dense(MLP_CLASSES)(x))


def mlp_data(count: int, seed: int) -> Data:
    """Gaussian clusters around fixed class centres, with a nonlinear warp."""
    centres = np.random.default_rng(21).normal(0, 1.0, (MLP_CLASSES, MLP_FEATURES))
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(count) % MLP_CLASSES)
    x = centres[y] + rng.normal(0, 1.1, (count, MLP_FEATURES))
    x = x + 0.3 * np.sin(2 * x)
    return x.astype(np.float32), y.astype(np.int64)


def kws_model(batch: int | None) -> keras.Model:
    """DS-CNN (keyword spotting): Conv2D, then depthwise-separable blocks, AvgPool, Dense."""
    inp = keras.Input(KWS_SHAPE, batch_size=batch)
    x = layers.Conv2D(32, (10, 4), strides=(2, 2), padding="same", use_bias=False)(inp)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    for _ in range(3):
        x = layers.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
        x = layers.ReLU()(layers.BatchNormalization()(x))
        x = layers.Conv2D(32, 1, use_bias=False)(x)
        x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.AveragePooling2D(pool_size=(x.shape[1], x.shape[2]))(x)
    x = layers.Flatten()(x)
    return keras.Model(inp, layers.Dense(KWS_CLASSES)(x))


def kws_data(count: int, seed: int) -> Data:
    """MFCC-like [49 frames x 10 coefficients]: per class a formant track over time."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(count) % KWS_CLASSES)
    t = np.arange(KWS_SHAPE[0])[:, None] / KWS_SHAPE[0]
    k = np.arange(KWS_SHAPE[1])[None, :]
    x = np.empty((count, *KWS_SHAPE), np.float32)
    for i, c in enumerate(y):
        onset, length = rng.uniform(0, 0.3), rng.uniform(0.5, 0.7)
        u = np.clip((t - onset) / length, 0, 1)
        centre = 1 + 7 * (0.5 + 0.5 * np.sin(2 * np.pi * (c / KWS_CLASSES + u * (1 + c % 3))))
        env = ((t >= onset) & (t <= onset + length)) * rng.uniform(0.6, 1.4)
        word = env * np.exp(-0.5 * ((k - centre) / 1.2) ** 2) * (1 + 0.3 * (c % 2) * k / 10)
        x[i, :, :, 0] = word + rng.normal(0, 0.25, (KWS_SHAPE[0], KWS_SHAPE[1]))
    return x, y.astype(np.int64)


def vit_model(batch: int | None) -> keras.Model:
    """ViT-tiny-like: Conv2D patch embedding, positions, 2 pre-norm blocks, LN, mean, Dense."""
    inp = keras.Input(VIT_SHAPE, batch_size=batch)
    x = layers.Conv2D(VIT_EMBED, VIT_PATCH, strides=VIT_PATCH)(inp)
    patches = (VIT_SHAPE[0] // VIT_PATCH) * (VIT_SHAPE[1] // VIT_PATCH)
    x = PositionEmbedding()(layers.Reshape((patches, VIT_EMBED))(x))
    for _ in range(2):
        x = vit_block(x, heads=3, head_dim=VIT_EMBED // 3, ffn=2 * VIT_EMBED)
    x = layers.GlobalAveragePooling1D()(layers.LayerNormalization(epsilon=1e-6)(x))
    return keras.Model(inp, layers.Dense(VIT_CLASSES)(x))


def vit_data(count: int, seed: int) -> Data:
    """Images of oriented gratings and blobs: class = (orientation, blob quadrant) pairs."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(count) % VIT_CLASSES)
    yy, xx = np.mgrid[0 : VIT_SHAPE[0], 0 : VIT_SHAPE[1]] / VIT_SHAPE[0]
    x = np.empty((count, *VIT_SHAPE), np.float32)
    for i, c in enumerate(y):
        angle = np.pi * (c % 5) / 5 + rng.normal(0, 0.08)
        freq = rng.uniform(3, 5)
        grating = np.sin(2 * np.pi * freq * (xx * np.cos(angle) + yy * np.sin(angle)))
        cy, cx = (0.3, 0.7) if c < 5 else (0.7, 0.3)
        blob = np.exp(-(((yy - cy) ** 2 + (xx - cx) ** 2) / 0.02))
        colour = rng.uniform(0.5, 1.0, 3)
        img = 0.5 * grating[..., None] + blob[..., None] * colour
        x[i] = img + rng.normal(0, 0.3, VIT_SHAPE)
    return x, y.astype(np.int64)


BLOCK_DOC = (
    "One post-norm encoder block (MultiHeadAttention, LayerNormalization, GELU FFN), "
    "tokens [16, 32] in and out, trained on a regression task"
)
RADAR_DOC = (
    "samples/radar architecture: TimeDistributed Conv2D/MaxPool2D frontend per frame, "
    "input [frames, range, doppler, antennas] (the sample data, channels-last)"
)
EEG_DOC = (
    "samples/eeg architecture: 1-D conv frontend (Conv2D with H = 1), "
    "input [1, samples, channels] (the sample data, channels-last)"
)
ECG_DOC = (
    "samples/ecg architecture: Conv2D + DepthwiseConv2D + MaxPool2D frontend (H = 1), "
    "input [1, samples, 1]"
)
MLP_DOC = "Keras MLP classifier (Dense-ReLU x2, Dense), 64 features"
KWS_DOC = "DS-CNN keyword-spotting style CNN with BatchNorm, input [49, 10, 1]"
VIT_DOC = "ViT-tiny-like: Conv2D 8x8 patch embedding, 2 pre-norm blocks, input [32, 32, 3]"

FIXTURES = (
    Fixture("encoder_block", False, BLOCK_DOC, block_model, block_data, 2000, 6, False,
            block_target),
    Fixture("radar", False, RADAR_DOC, radar_model, radar_data, 3000, 12, True, lr=1e-3),
    Fixture("eeg", False, EEG_DOC, eeg_model, eeg_data, 1500, 4, True),
    Fixture("ecg", False, ECG_DOC, ecg_model, ecg_data, 2000, 6, True, lr=3e-3),
    Fixture("mlp", True, MLP_DOC, mlp_model, mlp_data, 3000, 8, True),
    Fixture("ds_cnn", True, KWS_DOC, kws_model, kws_data, 2400, 6, True),
    Fixture("vit_tiny", True, VIT_DOC, vit_model, vit_data, 2400, 6, True),
)  # fmt: skip

SEEDS = {"train": 1, "calib": 2, "test": 3}


def seed_of(fx: Fixture, what: str) -> int:
    return 90_000 + 100 * FIXTURES.index(fx) + SEEDS[what]


# ---------------------------------------------------------------- train, convert, run


def train(fx: Fixture) -> keras.Model:
    keras.backend.clear_session()  # tensor names (and so the flatbuffer) do not depend on order
    keras.utils.set_random_seed(FIXTURES.index(fx))
    model = fx.build(None)
    x, y = fx.data(fx.train_count, seed_of(fx, "train"))
    opt = keras.optimizers.AdamW(fx.lr, weight_decay=1e-4)
    if fx.classify:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        model.compile(opt, loss, metrics=["accuracy"])
        model.fit(x, y, batch_size=32, epochs=fx.epochs, verbose=2)
    else:
        assert fx.target is not None
        model.compile(opt, "mse")
        model.fit(x, fx.target(x), batch_size=32, epochs=fx.epochs, verbose=2)
    deployed = fx.build(1)
    deployed.set_weights(model.get_weights())
    return deployed


def convert(fx: Fixture, model: keras.Model) -> bytes:
    calib, _ = fx.data(CALIB, seed_of(fx, "calib"))

    def representative_dataset():
        for sample in calib:
            yield [sample[None]]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative_dataset
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def interpreter(flatbuffer: bytes, reference: bool = True) -> tf.lite.Interpreter:
    kind = tf.lite.experimental.OpResolverType
    it = tf.lite.Interpreter(
        model_content=flatbuffer,
        experimental_op_resolver_type=kind.BUILTIN_REF if reference else kind.BUILTIN,
        num_threads=1,
    )
    it.allocate_tensors()
    return it


def quantize_inputs(it: tf.lite.Interpreter, x: np.ndarray) -> np.ndarray:
    scale, zero = it.get_input_details()[0]["quantization"]
    q = np.round(x / scale) + zero
    return np.clip(q, -128, 127).astype(np.int8)


def run(it: tf.lite.Interpreter, q: np.ndarray) -> np.ndarray:
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    outs = []
    for sample in q:
        it.set_tensor(inp["index"], sample[None])
        it.invoke()
        outs.append(it.get_tensor(out["index"])[0].copy())
    return np.stack(outs)


# ---------------------------------------------------------------- the flatbuffer dump


def _names(cls: type) -> dict[int, str]:
    return {v: k for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


OP_NAMES = _names(schema.BuiltinOperator)
TYPE_NAMES = _names(schema.TensorType)
ENUM_FIELDS = {
    "fusedActivationFunction": _names(schema.ActivationFunctionType),
    "padding": _names(schema.Padding),
}
NP_TYPES = {"INT8": np.int8, "INT32": np.int32, "INT64": np.int64, "FLOAT32": np.float32}


@dataclass(frozen=True)
class TensorInfo:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    constant: bool
    quant: str
    values: str  # the values of a small constant (shapes, axes, permutations, scalars)


@dataclass(frozen=True)
class OpInfo:
    index: int
    name: str
    options: str
    inputs: tuple[TensorInfo | None, ...]
    outputs: tuple[TensorInfo, ...]


def _options(op: schema.OperatorT) -> str:
    if op.builtinOptions is None:
        return ""
    parts = []
    for key, value in vars(op.builtinOptions).items():
        if key in ENUM_FIELDS:
            value = ENUM_FIELDS[key].get(value, value)
        parts.append(f"{key}={value}")
    return " ".join(parts)


def _values(t: schema.TensorT, buf: schema.BufferT | None, shape: tuple[int, ...]) -> str:
    dtype = NP_TYPES.get(TYPE_NAMES[t.type])
    if buf is None or buf.data is None or dtype is None:
        return ""
    data = np.frombuffer(bytes(bytearray(buf.data)), dtype=dtype)
    limit = 8 if dtype in (np.int32, np.int64) else 1
    return str(data.tolist()) if data.size <= limit else ""


def _quant(t: schema.TensorT) -> str:
    q = t.quantization
    if q is None or q.scale is None or len(q.scale) == 0:
        return "-"
    scales = np.asarray(q.scale)
    zeros = np.asarray(q.zeroPoint)
    if len(scales) == 1:
        return f"s={scales[0]:.6g} zp={int(zeros[0])}"
    zp = "0" if not zeros.any() else ",".join(str(int(z)) for z in zeros)
    return (
        f"per-channel axis={q.quantizedDimension} n={len(scales)} "
        f"s=[{scales.min():.3g}..{scales.max():.3g}] zp={zp}"
    )


def dump_ops(flatbuffer: bytes) -> list[OpInfo]:
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(flatbuffer, 0))
    if len(model.subgraphs) != 1:
        raise RuntimeError(f"{len(model.subgraphs)} subgraphs; the fixtures expect 1")
    graph = model.subgraphs[0]
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]

    def info(i: int) -> TensorInfo:
        t = graph.tensors[i]
        buf = model.buffers[t.buffer]
        const = buf is not None and buf.data is not None and len(buf.data) > 0
        name = t.name.decode() if isinstance(t.name, bytes) else str(t.name)
        shape = tuple(int(s) for s in (t.shape if t.shape is not None else ()))
        values = _values(t, buf, shape) if const else ""
        return TensorInfo(i, name, shape, TYPE_NAMES[t.type], const, _quant(t), values)

    ops = []
    for k, op in enumerate(graph.operators):
        ins = tuple(None if i < 0 else info(int(i)) for i in op.inputs)
        outs = tuple(info(int(i)) for i in op.outputs)
        ops.append(OpInfo(k, OP_NAMES[codes[op.opcodeIndex]], _options(op), ins, outs))
    return ops


def _tensor_cell(t: TensorInfo | None) -> str:
    if t is None:
        return "(none)"
    kind = "const " if t.constant else ""
    values = f" = {t.values}" if t.values else ""
    return f"{kind}{list(t.shape)} {t.dtype} {t.quant}{values}"


def ops_markdown(name: str, ops: list[OpInfo]) -> str:
    lines = [
        f"## {name}",
        "",
        "| # | op | options | inputs (shape dtype quantization) | outputs |",
        "| --- | --- | --- | --- | --- |",
    ]
    for op in ops:
        ins = "<br>".join(_tensor_cell(t) for t in op.inputs)
        outs = "<br>".join(_tensor_cell(t) for t in op.outputs)
        lines.append(f"| {op.index} | {op.name} | {op.options} | {ins} | {outs} |")
    return "\n".join(lines) + "\n"


def op_histogram(ops: list[OpInfo]) -> str:
    counts: dict[str, int] = {}
    for op in ops:
        counts[op.name] = counts.get(op.name, 0) + 1
    return ", ".join(f"{k} x{v}" for k, v in sorted(counts.items()))


# ---------------------------------------------------------------- writing a fixture


def readme(fx: Fixture, model: keras.Model, it: tf.lite.Interpreter, ops: list[OpInfo],
           size: int, float_acc: float | None, int8_acc: float | None,
           kernels: str) -> str:  # fmt: skip
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    acc = ""
    if int8_acc is not None:
        acc = f"- accuracy on the {COUNT} inputs: Keras float {float_acc:.3f}, "
        acc += f"TFLite int8 {int8_acc:.3f}\n"
    return (
        f"# {fx.name}\n\n"
        f"{fx.description}. Made by `tests/tools/make_tflite_fixtures.py {fx.name}` with "
        f"TensorFlow {tf.__version__} (Keras {keras.__version__}): trained "
        f"{fx.epochs} epochs on {fx.train_count} synthetic samples, converted by "
        "`tf.lite.TFLiteConverter.from_keras_model` with `Optimize.DEFAULT`, a "
        f"{CALIB}-sample representative dataset, `TFLITE_BUILTINS_INT8`, int8 input and "
        "output (full-integer quantization, the TFLite Micro recipe), batch 1.\n\n"
        f"- `model.tflite`: {size} bytes, {len(ops)} operators, "
        f"{model.count_params()} parameters\n"
        f"- input `{inp['name']}` {inp['shape'].tolist()} int8, scale "
        f"{inp['quantization'][0]:.8g}, zero point {inp['quantization'][1]}\n"
        f"- output `{out['name']}` {out['shape'].tolist()} int8, scale "
        f"{out['quantization'][0]:.8g}, zero point {out['quantization'][1]}\n"
        f"- `inputs.npz`: `int8` [{COUNT}, ...] held-out synthetic inputs (seed "
        f"{seed_of(fx, 'test')}) quantized with the input scale and zero point"
        + (", `labels`" if fx.classify else "")
        + "\n"
        "- `interpreter.npz`: `int8` the outputs of `tf.lite.Interpreter` with "
        "`OpResolverType.BUILTIN_REF` (reference kernels) for those inputs\n"
        f"{kernels}{acc}"
        f"- operators: {op_histogram(ops)}\n\n"
        "The per-operator tensors and quantization are in `OPS.md` of this set.\n"
    )


def make(fx: Fixture) -> str:
    out_dir = (OUT_HELDOUT if fx.heldout else OUT_MAIN) / fx.name
    out_dir.mkdir(parents=True, exist_ok=True)
    model = train(fx)
    flatbuffer = convert(fx, model)
    (out_dir / "model.tflite").write_bytes(flatbuffer)
    it = interpreter(flatbuffer)
    x, y = fx.data(COUNT, seed_of(fx, "test"))
    q = quantize_inputs(it, x)
    outputs = run(it, q)
    arrays = {"int8": q} if y is None else {"int8": q, "labels": y}
    np.savez_compressed(out_dir / "inputs.npz", **arrays)
    np.savez_compressed(out_dir / "interpreter.npz", int8=outputs)
    optimized = run(interpreter(flatbuffer, reference=False), q)
    diff = np.abs(optimized.astype(np.int32) - outputs.astype(np.int32))
    kernels = (
        "- the interpreter's default (optimized) kernels give other outputs for "
        f"{(diff > 0).mean():.1%} of the values (largest difference {diff.max()}): the "
        "reference outputs are the ones to match\n"
    )
    float_acc = int8_acc = None
    if y is not None:
        float_acc = float((model.predict(x, batch_size=1, verbose=0).argmax(-1) == y).mean())
        int8_acc = float((outputs.argmax(-1) == y).mean())
    ops = dump_ops(flatbuffer)
    text = readme(fx, model, it, ops, len(flatbuffer), float_acc, int8_acc, kernels)
    (out_dir / "README.md").write_text(text)
    print(f"{fx.name}: {len(flatbuffer)} bytes, {len(ops)} ops, int8 acc {int8_acc}", flush=True)
    return ops_markdown(fx.name, ops)


def write_ops(heldout: bool) -> None:
    """OPS.md of a set, from the committed model.tflite files (every fixture of the set)."""
    base = OUT_HELDOUT if heldout else OUT_MAIN
    base.mkdir(parents=True, exist_ok=True)
    parts = [
        "# Operators of the int8 TFLite fixtures\n\n"
        "Dumped from each `model.tflite` flatbuffer by `tests/tools/make_tflite_fixtures.py` "
        f"(TensorFlow {tf.__version__}). Per operator: the builtin name, then each input "
        "and output tensor: `const` when it has a buffer, shape, dtype, quantization "
        "(`s` scale and `zp` zero point per tensor, or per-channel with the axis, the "
        "count and the scale range), and ` = [...]` the values of a small constant (shapes, "
        "axes, permutations, scalars). Options are the operator's builtin options. `(none)` "
        "is an omitted optional input.\n"
    ]
    for fx in FIXTURES:
        path = base / fx.name / "model.tflite"
        if fx.heldout == heldout and path.exists():
            parts.append(ops_markdown(fx.name, dump_ops(path.read_bytes())))
    if len(parts) > 1:
        (base / "OPS.md").write_text("\n".join(parts))


LOWERING = """\
## How TensorFlow {version} lowers the Keras layers (read from `OPS.md`)

- `Dense` on a 2-D tensor: `FULLY_CONNECTED` (int8 weights `[out, in]` per-channel
  axis 0 with zero point 0, int32 bias with scale = input scale x weight scale); on a
  3-D token tensor the same with `keepNumDims=True`. A ReLU is fused
  (`fusedActivationFunction=RELU`).
- `Conv2D` / `DepthwiseConv2D`: `CONV_2D` / `DEPTHWISE_CONV_2D` with per-channel
  weights (axis 0 for conv `[out, kh, kw, in]`, axis 3 for depthwise `[1, kh, kw, ch]`),
  `BatchNormalization` folded in, ReLU fused.
- `MultiHeadAttention`: three `FULLY_CONNECTED` (query, key, value; bias kept), each
  `RESHAPE` to `[1, S, H, P]`; `TRANSPOSE` query and value to `[1, H, S, P]` and key to
  `[1, H, P, S]`; `BATCH_MATMUL` (no adjoint) -> `MUL` by an int8 scalar constant
  (1/sqrt(P)) -> `SOFTMAX` (output scale 1/256, zero point -128) -> `BATCH_MATMUL` with
  the value -> `TRANSPOSE` `[1, S, H, P]` -> `RESHAPE` `[1, S, E]` -> `FULLY_CONNECTED`.
- `LayerNormalization` (last axis): `MEAN` (the mean), `SQUARED_DIFFERENCE` (x, mean) ->
  `MEAN` -> `ADD` epsilon -> `RSQRT` -> `MUL` gamma (call it g), then
  `y = x * g + (beta - mean * g)` as `MUL`, `MUL`, `ADD`, `ADD`; the `-mean` is
  computed in float: `DEQUANTIZE` -> `NEG` -> `QUANTIZE` (the only float tensors of the
  models).
- `gelu` activation (exact, erf form): the builtin `GELU` with `approximate=False`,
  int8 in and out.
- `GlobalAveragePooling1D` (mean over tokens): `MEAN` over axis 1; `add` layers: `ADD`.
- Reference versus optimized kernels: the interpreter's default kernels differ from the
  reference ones (`BUILTIN_REF`) by one step from the first `CONV_2D` /
  `FULLY_CONNECTED` on, and attention and LayerNormalization amplify the difference
  (see each fixture's README); `interpreter.npz` holds the reference outputs.
- `TimeDistributed` (radar): `TRANSPOSE` puts the frames axis first, then each
  TimeDistributed layer is unrolled per frame (`STRIDED_SLICE` of the frame -> the
  layer -> `PACK` of the frames), and a `TRANSPOSE` puts the frames axis back.
"""


def write_set_readme(heldout: bool) -> None:
    base = OUT_HELDOUT if heldout else OUT_MAIN
    role = (
        "Held-out int8 TFLite models: used only to verify the TFLite frontend, never to "
        "develop against."
        if heldout
        else "Int8 TFLite models made the way users make them, for the TFLite frontend."
    )
    lines = [
        f"# {base.name}",
        "",
        f"{role} Made by `tests/tools/make_tflite_fixtures.py` (TensorFlow "
        f"{tf.__version__}, Keras {keras.__version__}, not a project dependency):",
        "",
        "    .venv/bin/pip install tensorflow-cpu==2.21.0",
        "    .venv/bin/python tests/tools/make_tflite_fixtures.py [names...]",
        "",
        "Each model: Keras, trained briefly on synthetic data, converted by "
        "`tf.lite.TFLiteConverter.from_keras_model` with `optimizations=[Optimize.DEFAULT]`, "
        f"a {CALIB}-sample representative dataset, "
        "`supported_ops=[TFLITE_BUILTINS_INT8]`, `inference_input_type=inference_output_type"
        "=tf.int8`, batch 1. Per fixture: `model.tflite`, `inputs.npz` (`int8` "
        f"[{COUNT}, *input shape], `labels` for classifiers), `interpreter.npz` (`int8`: "
        "`tf.lite.Interpreter` outputs with the reference kernels, `BUILTIN_REF`), "
        "`README.md`. The operators, with tensors and quantization, are in `OPS.md`.",
        "",
        "| fixture | what | bytes | operators |",
        "| --- | --- | --- | --- |",
    ]
    for fx in FIXTURES:
        path = base / fx.name / "model.tflite"
        if fx.heldout == heldout and path.exists():
            data = path.read_bytes()
            lines.append(
                f"| {fx.name} | {fx.description} | {len(data)} | {op_histogram(dump_ops(data))} |"
            )
    text = "\n".join(lines) + "\n"
    if not heldout:
        text += "\n" + LOWERING.format(version=tf.__version__)
    (base / "README.md").write_text(text)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="fixtures to make (default: all)")
    parser.add_argument("--ops-only", action="store_true", help="only rewrite the OPS.md files")
    args = parser.parse_args(argv)
    known = {fx.name: fx for fx in FIXTURES}
    unknown = [n for n in args.names if n not in known]
    if unknown:
        print(f"unknown fixture(s): {', '.join(unknown)}; known: {', '.join(known)}")
        return 2
    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    chosen = [known[n] for n in args.names] if args.names else list(FIXTURES)
    if not args.ops_only:
        for fx in chosen:
            make(fx)
    for heldout in (False, True):
        write_ops(heldout)
        write_set_readme(heldout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
