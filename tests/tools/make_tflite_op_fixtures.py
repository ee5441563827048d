"""Make the int8 TFLite operator fixtures under tests/data/tflite_ops (run by hand, not by
pytest): small Keras models whose converted flatbuffers hold the operators the TFLite
frontend lowers beyond the sample architectures (dilated and depth-multiplier
convolutions, data movement on int8 activations, broadcasting arithmetic).

The recipe is the one of ``make_tflite_fixtures.py`` (its helpers are reused): the
standard TFLite converter with full-integer quantization, int8 input and output, batch 1,
a 200-sample representative dataset; the weights are Keras's seeded initial ones (the
fixtures test operators, not accuracy). Per fixture: ``model.tflite``, ``inputs.npz``
(``int8``: 200 inputs quantized with the input scale), ``interpreter.npz`` (``int8``: the
interpreter's outputs with its reference kernels, ``BUILTIN_REF``), ``README.md``; and
``OPS.md`` for the set. TensorFlow is not a project dependency; use a scratch venv:

    python3 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu==2.21.0
    /tmp/tfvenv/bin/python tests/tools/make_tflite_op_fixtures.py [names...]
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location(
    "make_tflite_fixtures", HERE / "make_tflite_fixtures.py"
)
assert _spec is not None and _spec.loader is not None
base = importlib.util.module_from_spec(_spec)
sys.modules["make_tflite_fixtures"] = base
_spec.loader.exec_module(base)

keras, tf, layers = base.keras, base.tf, base.layers
OUT = base.ROOT / "tests" / "data" / "tflite_ops"
COUNT, CALIB = base.COUNT, base.CALIB


@dataclass(frozen=True)
class OpFixture:
    name: str
    description: str
    input_shape: tuple[int, ...]
    build: Callable[[], keras.Model]


def dilated_model() -> keras.Model:
    x = inp = keras.Input((16, 16, 1), batch_size=1)
    x = layers.DepthwiseConv2D(3, depth_multiplier=4, padding="same", activation="relu")(x)
    x = layers.DepthwiseConv2D(3, depth_multiplier=2, dilation_rate=2, padding="same",
                               activation="relu")(x)  # fmt: skip
    x = layers.Conv2D(12, 3, dilation_rate=(2, 3), padding="same", activation="relu")(x)
    x = layers.DepthwiseConv2D(3, dilation_rate=2, padding="valid")(x)
    x = layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, layers.Dense(6)(x))


def movement_model() -> keras.Model:
    x = inp = keras.Input((12, 8), batch_size=1)
    x = layers.Dense(16, activation="relu")(x)
    a, b = layers.Lambda(lambda t: tf.split(t, 2, axis=-1))(x)
    c = layers.Dense(8)(x)
    x = layers.Lambda(lambda t: tf.concat([t[1], t[0], t[2]], axis=-1))([a, b, c])
    x = layers.Lambda(lambda t: t[:, 1::2, 4:20])(x)  # STRIDED_SLICE
    x = layers.Lambda(lambda t: tf.gather(t, [5, 0, 3, 3, 1], axis=1))(x)  # GATHER
    rows = layers.Lambda(lambda t: tf.unstack(t, axis=1))(x)  # UNPACK
    x = layers.Lambda(lambda r: tf.stack([r[4], r[0], r[2]], axis=1))(rows)  # PACK
    x = layers.Lambda(lambda t: tf.concat(tf.split(t, [3, 5, 8], axis=2)[::-1], 2))(x)
    x = layers.Flatten()(x)
    return keras.Model(inp, layers.Dense(5)(x))


def broadcast_model() -> keras.Model:
    x = inp = keras.Input((10, 8), batch_size=1)
    h = layers.Dense(8)(x)
    gate = layers.Dense(1, activation="sigmoid")(x)  # [1, 10, 1]
    y = layers.Lambda(lambda t: t[0] * t[1])([h, gate])  # MUL, broadcast activations
    scale = np.linspace(0.5, 1.5, 8, dtype=np.float32)
    y = layers.Lambda(lambda t: t * scale)(y)  # MUL by a constant [8]
    shift = np.linspace(-1.0, 1.0, 8, dtype=np.float32)
    y = layers.Lambda(lambda t: t - shift)(y)  # SUB of a constant
    pooled = layers.Lambda(lambda t: tf.reduce_mean(t, axis=1, keepdims=True))(h)
    y = layers.Lambda(lambda t: t[0] - t[1])([y, pooled])  # SUB, broadcast [1, 1, 8]
    y = layers.Lambda(lambda t: t[0] + t[1])([y, gate])  # ADD, broadcast [1, 10, 1]
    y = layers.Lambda(lambda t: 1.0 - t)(y)  # SUB from a constant scalar
    y = layers.Flatten()(y)
    return keras.Model(inp, layers.Dense(4)(y))


def layout_model() -> keras.Model:
    x = inp = keras.Input((6, 4, 3), batch_size=1)
    x = layers.Conv2D(8, 1, activation="relu")(x)
    x = layers.Lambda(lambda t: tf.transpose(t, (0, 3, 1, 2)))(x)  # NHWC -> NCHW
    x = layers.Reshape((8, 24))(x)
    x = layers.Dense(12)(x)
    x = layers.Lambda(lambda t: tf.transpose(t, (0, 2, 1)))(x)  # [1, 12, 8]
    x = layers.Lambda(lambda t: tf.concat([t, t[:, ::-1]], axis=1))(x)  # [1, 24, 8]
    gate = layers.Lambda(lambda t: tf.reduce_mean(t, axis=1, keepdims=True))(x)
    wide = layers.Lambda(lambda t: tf.broadcast_to(t, (1, 24, 8)))(gate)
    x = layers.Concatenate(axis=-1)([x, wide])
    x = layers.Flatten()(x)
    return keras.Model(inp, layers.Dense(5)(x))


def resize_model() -> keras.Model:
    x = inp = keras.Input((6, 8, 4), batch_size=1)
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = layers.Lambda(lambda t: tf.nn.space_to_depth(t, 2))(x)  # [1, 3, 4, 32]
    x = layers.Conv2D(16, 1)(x)
    x = layers.Lambda(lambda t: tf.nn.depth_to_space(t, 2))(x)  # [1, 6, 8, 4]
    x = layers.UpSampling2D((2, 3))(x)  # RESIZE_NEAREST_NEIGHBOR [1, 12, 24, 4]
    x = layers.Lambda(lambda t: tf.image.resize(t, (8, 10), method="nearest"))(x)
    x = layers.Lambda(lambda t: tf.reverse(t, axis=[2]))(x)
    x = layers.Conv2D(4, 3, strides=2)(x)
    x = layers.Flatten()(x)
    return keras.Model(inp, layers.Dense(5)(x))


class ClassToken(layers.Layer):
    """A learned token put before the sequence (ViT): a constant CONCATENATION input."""

    def build(self, input_shape) -> None:
        init = keras.initializers.RandomNormal(stddev=0.5)
        self.token = self.add_weight(shape=(1, 1, input_shape[-1]), initializer=init)

    def call(self, x):
        return tf.concat([tf.broadcast_to(self.token, (1, 1, x.shape[-1])), x], axis=1)


def class_token_model() -> keras.Model:
    x = inp = keras.Input((10, 6), batch_size=1)
    x = layers.Dense(8, activation="relu")(x)
    x = ClassToken()(x)  # [1, 11, 8]
    x = layers.Dense(8)(x)
    x = layers.Lambda(lambda t: t[:, 0])(x)  # the class token's row
    return keras.Model(inp, layers.Dense(4)(x))


def tcn_model() -> keras.Model:
    x = inp = keras.Input((1, 64, 4), batch_size=1)
    x = layers.Conv2D(8, (1, 3), dilation_rate=(1, 16), padding="same", activation="relu")(x)
    x = layers.DepthwiseConv2D((1, 3), depth_multiplier=2, dilation_rate=(1, 8),
                               padding="same", activation="relu")(x)  # fmt: skip
    x = layers.Conv2D(8, (1, 3), dilation_rate=(1, 2), padding="valid")(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, layers.Dense(3)(x))


FIXTURES = (
    OpFixture("dilated", "depth multiplier 4 on one channel, depth multiplier 2 with "
              "dilation 2, CONV_2D with dilation (2, 3), VALID dilated depthwise, depth "
              "multiplier 2 on 12 channels",
              (16, 16, 1), dilated_model),
    OpFixture("movement", "SPLIT, CONCATENATION, STRIDED_SLICE with a step, GATHER with "
              "repeated constant indices, UNPACK, PACK, SPLIT_V on int8 activations",
              (12, 8), movement_model),
    OpFixture("broadcast", "MUL of two activations with broadcasting, MUL and SUB with "
              "constants, SUB and ADD with broadcasting, SUB from a scalar constant",
              (10, 8), broadcast_model),
    OpFixture("layout", "TRANSPOSE NHWC to NCHW and of tokens, a reversing STRIDED_SLICE, "
              "BROADCAST_TO, CONCATENATION (the layout shuffles onnx2tf writes)", (6, 4, 3),
              layout_model),
    OpFixture("resize", "SPACE_TO_DEPTH, DEPTH_TO_SPACE, nearest upsampling by (2, 3) and a "
              "nearest resize to 8x10 (half-pixel centers), REVERSE_V2", (6, 8, 4),
              resize_model),
    OpFixture("class_token", "a learned class token before the sequence: CONCATENATION "
              "of a constant and an activation, then its row (STRIDED_SLICE)", (10, 6),
              class_token_model),
    OpFixture("tcn", "a dilated 1-D stack (TCN): CONV_2D with dilation 16, depthwise with "
              "dilation 8 and depth multiplier 2, CONV_2D with dilation 2", (1, 64, 4),
              tcn_model),
)  # fmt: skip


def data(fx: OpFixture, count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 1.0, (count, *fx.input_shape)).astype(np.float32)


def convert(fx: OpFixture, model: keras.Model) -> bytes:
    calib = data(fx, CALIB, 2)

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


def make(fx: OpFixture) -> str:
    keras.backend.clear_session()
    keras.utils.set_random_seed(FIXTURES.index(fx) + 7)
    model = fx.build()
    flatbuffer = convert(fx, model)
    out_dir = OUT / fx.name
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "model.tflite").write_bytes(flatbuffer)
    kernels = "`OpResolverType.BUILTIN_REF` (reference kernels)"
    try:
        it = base.interpreter(flatbuffer)
    except ValueError as exc:  # the reference resolver lacks a newer operator version
        it = base.interpreter(flatbuffer, reference=False)
        found = re.search(r"opcode '(\w+)' version '(\d+)'", str(exc))
        missing = f"{found[1]} version {found[2]}" if found else "an operator"
        kernels = (f"the default kernels (`BUILTIN`: the reference resolver of TensorFlow "
                   f"{tf.__version__} has no {missing})")  # fmt: skip
    q = base.quantize_inputs(it, data(fx, COUNT, 3))
    outputs = base.run(it, q)
    np.savez_compressed(out_dir / "inputs.npz", int8=q)
    np.savez_compressed(out_dir / "interpreter.npz", int8=outputs)
    ops = base.dump_ops(flatbuffer)
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    (out_dir / "README.md").write_text(
        f"# {fx.name}\n\n"
        f"{fx.description}. Made by `tests/tools/make_tflite_op_fixtures.py {fx.name}` "
        f"with TensorFlow {tf.__version__} (Keras {keras.__version__}): seeded initial "
        "weights (not trained), converted by `tf.lite.TFLiteConverter.from_keras_model` with "
        f"`Optimize.DEFAULT`, a {CALIB}-sample representative dataset (normal noise), "
        "`TFLITE_BUILTINS_INT8`, int8 input and output, batch 1.\n\n"
        f"- `model.tflite`: {len(flatbuffer)} bytes, {len(ops)} operators\n"
        f"- input `{inp['name']}` {inp['shape'].tolist()} int8, scale "
        f"{inp['quantization'][0]:.8g}, zero point {inp['quantization'][1]}\n"
        f"- output `{out['name']}` {out['shape'].tolist()} int8, scale "
        f"{out['quantization'][0]:.8g}, zero point {out['quantization'][1]}\n"
        f"- `inputs.npz`: `int8` [{COUNT}, ...] normal noise quantized with the input scale\n"
        f"- `interpreter.npz`: `int8` the outputs of `tf.lite.Interpreter` with {kernels}\n"
        f"- operators: {base.op_histogram(ops)}\n"
    )
    print(f"{fx.name}: {len(flatbuffer)} bytes, {base.op_histogram(ops)}", flush=True)
    return base.ops_markdown(fx.name, ops)


def write_ops() -> None:
    parts = [
        "# Operators of the int8 TFLite operator fixtures\n\n"
        "Dumped from each `model.tflite` by `tests/tools/make_tflite_op_fixtures.py` "
        f"(TensorFlow {tf.__version__}); the columns as in tests/data/tflite/OPS.md.\n"
    ]
    for fx in FIXTURES:
        path = OUT / fx.name / "model.tflite"
        if path.exists():
            parts.append(base.ops_markdown(fx.name, base.dump_ops(path.read_bytes())))
    (OUT / "OPS.md").write_text("\n".join(parts))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="fixtures to make (default: all)")
    args = ap.parse_args()
    known = {fx.name: fx for fx in FIXTURES}
    for name in args.names or list(known):
        make(known[name])
    write_ops()


if __name__ == "__main__":
    main()
