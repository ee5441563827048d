"""Write samples/<name>/model/golden_outputs.npz: the golden executor's int8 output for
every committed test input, the exact reference of the sample (no torch, no onnxruntime).

    .venv/bin/python samples/common_model/golden_outputs.py radar eeg ecg

`int8` holds the output bytes of each input of test_inputs.npz, `predicted` their
argmax, for the model as `tinytx convert` plans it: with fused-weight attention (FWSA,
quantized on the calibration.npz the sample ships, as every conversion of the sample
does) where the sample has calibration inputs; those samples also get `int8_unfused`,
the outputs with `--fwsa off`. Layer-wise and depth-first attention give the same bytes,
so one reference holds for every board. Rewrite it whenever the model, its calibration
inputs or the golden model change; tests/python/test_sample_models.py checks that it
still reproduces and equals the test data `tinytx convert` writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from tinytx.core import executor
from tinytx.core.codegen.project import CALIBRATION, ConvertOptions, convert

SAMPLES = Path(__file__).resolve().parents[1]


def outputs(name: str, fwsa: str) -> np.ndarray:
    """The golden executor's output of every committed test input, the model planned with
    ``--fwsa fwsa`` (``on``: fused with the sample's calibration.npz)."""
    d = SAMPLES / name / "model"
    m = convert(d / "model.onnx", ConvertOptions(fwsa=fwsa)).planned
    inputs = np.load(d / "test_inputs.npz")["int8"]
    return np.stack([executor.run(m, m.input_spec.to_memory(x)) for x in inputs])


def golden_outputs(name: str) -> dict[str, np.ndarray]:
    if not (SAMPLES / name / "model" / CALIBRATION).is_file():
        out = outputs(name, "off")
        return {"int8": out, "predicted": out.argmax(axis=1)}
    out = outputs(name, "on")
    return {"int8": out, "predicted": out.argmax(axis=1), "int8_unfused": outputs(name, "off")}


def main(names: list[str]) -> int:
    for name in names:
        path = SAMPLES / name / "model" / "golden_outputs.npz"
        np.savez(path, **golden_outputs(name))
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:] or ["radar", "eeg", "ecg"]))
