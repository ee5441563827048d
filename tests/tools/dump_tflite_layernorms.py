"""Store the TFLite interpreter's int8 LayerNorm tensors of the TFLite fixtures (run by hand).

For every decomposed LayerNorm of a fixture (matched by the TFLite frontend), the
interpreter's input and output tensors of the chain, reference kernels (``BUILTIN_REF``),
for the first ``--count`` inputs of ``inputs.npz``: ``layernorms.npz`` beside the model,
``x<k>`` / ``y<k>`` (int8 [count, *shape]) for the k-th LayerNorm in operator order.
tests/python/test_frontend_tflite.py checks the golden ``LayerNormSteps`` against them bit
for bit. TensorFlow is not a project dependency; install it in a scratch venv:

    .venv/bin/pip install tensorflow-cpu==2.21.0
    .venv/bin/python tests/tools/dump_tflite_layernorms.py tests/data/tflite/encoder_block
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from tinytx.core.frontend.tflite.layernorm import match_layernorms
from tinytx.core.frontend.tflite.reader import read_bytes, read_tflite


def dump(fixture: Path, count: int) -> Path:
    import tensorflow as tf

    data, where = read_bytes(fixture / "model.tflite")
    norms = match_layernorms(read_tflite(data, where))
    it = tf.lite.Interpreter(
        model_path=str(fixture / "model.tflite"),
        experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF,
        experimental_preserve_all_tensors=True,
    )
    it.allocate_tensors()
    inp = it.get_input_details()[0]
    with np.load(fixture / "inputs.npz") as f:
        xs = np.asarray(f["int8"])[:count]
    got: dict[str, list[np.ndarray]] = {}
    for x in xs:
        it.set_tensor(inp["index"], x.reshape(inp["shape"]).astype(np.int8))
        it.invoke()
        for k, m in enumerate(norms):
            got.setdefault(f"x{k}", []).append(np.array(it.get_tensor(m.x)))
            got.setdefault(f"y{k}", []).append(np.array(it.get_tensor(m.output.outputs[0])))
    out = fixture / "layernorms.npz"
    np.savez_compressed(out, **{k: np.stack(v) for k, v in got.items()})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("fixtures", nargs="+", type=Path)
    ap.add_argument("--count", type=int, default=12)
    for fixture in ap.parse_args().fixtures:
        print(dump(fixture, ap.parse_args().count))


if __name__ == "__main__":
    main()
