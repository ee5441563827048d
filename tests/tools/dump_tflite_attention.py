"""Store the TFLite interpreter's int8 attention tensors of the TFLite fixtures (run by hand).

For every self-attention block of a fixture (matched by the TFLite frontend), the
interpreter's tensors around the scores, softmax and A*V steps, reference kernels
(``BUILTIN_REF``), for the first ``--count`` inputs of ``inputs.npz``:
``attention.npz`` beside the model, for the k-th block in operator order ``q<k>``,
``k<k>``, ``v<k>`` (the three projections' outputs, ``[count, S, H*P]``) and ``o<k>``
(the output projection's input, the heads merged, ``[count, S, H*P]``), int8.
tests/python/test_frontend_tflite.py checks the golden attention steps against them bit
for bit. TensorFlow is not a project dependency; install it in a scratch venv:

    .venv/bin/pip install tensorflow-cpu==2.21.0
    .venv/bin/python tests/tools/dump_tflite_attention.py tests/data/tflite/encoder_block
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from tinytx.core.frontend.tflite.attention import match_attentions
from tinytx.core.frontend.tflite.reader import read_bytes, read_tflite


def _rows(a: np.ndarray) -> np.ndarray:
    """``[1, S, N]`` or ``[S, N]`` as ``[S, N]``."""
    return a.reshape(-1, a.shape[-1])


def dump(fixture: Path, count: int, out_name: str) -> Path:
    import tensorflow as tf

    data, where = read_bytes(fixture / "model.tflite")
    blocks = match_attentions(read_tflite(data, where))
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
        for k, m in enumerate(blocks):
            tensors = {
                "q": m.q[0].outputs[0],
                "k": m.k[0].outputs[0],
                "v": m.v[0].outputs[0],
                "o": m.out.inputs[0],
            }
            for key, index in tensors.items():
                got.setdefault(f"{key}{k}", []).append(_rows(np.array(it.get_tensor(index))))
    out = fixture / out_name
    np.savez_compressed(out, **{k: np.stack(v).astype(np.int8) for k, v in got.items()})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("fixtures", nargs="+", type=Path)
    ap.add_argument("--count", type=int, default=12)
    ap.add_argument("--out", default="attention.npz", help="file name beside the model")
    args = ap.parse_args()
    for fixture in args.fixtures:
        print(dump(fixture, args.count, args.out))


if __name__ == "__main__":
    main()
