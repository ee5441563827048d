"""Write samples/<name>/model/golden_outputs.npz: the golden executor's int8 output for
every committed test input, the exact reference of the sample (no torch, no onnxruntime).

    .venv/bin/python samples/common_model/golden_outputs.py radar eeg ecg

The model is taken as `tinytx convert` lowers it, before planning (layer-wise attention,
no weight fusion); `int8` holds the output bytes of each input of test_inputs.npz, and
`predicted` their argmax. Rewrite it whenever the model or the golden model changes;
tests/python/test_sample_models.py checks that it still reproduces.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from tinytx import executor
from tinytx.codegen.project import ConvertOptions, convert

SAMPLES = Path(__file__).resolve().parents[1]


def golden_outputs(name: str) -> dict[str, np.ndarray]:
    d = SAMPLES / name / "model"
    m = convert(d / "model.onnx", ConvertOptions()).model
    inputs = np.load(d / "test_inputs.npz")["int8"]
    out = np.stack([executor.run(m, m.input_spec.to_memory(x)) for x in inputs])
    return {"int8": out, "predicted": out.argmax(axis=1)}


def main(names: list[str]) -> int:
    for name in names:
        path = SAMPLES / name / "model" / "golden_outputs.npz"
        np.savez(path, **golden_outputs(name))
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:] or ["radar", "eeg", "ecg"]))
