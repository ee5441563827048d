"""Accuracy of the tinytx golden model (integer-only, what the firmware computes) on the
sample's held-out synthetic test set, without and with fused-weight attention (FWSA).

    .venv/bin/python samples/common_model/golden_accuracy.py eeg

The test set is the one metrics.json reports onnxruntime's accuracy on
(``data.make_dataset(test_count, seeds.test)``, 1,000 windows). Each window is quantized
with the model's input scale as the firmware receives it and run through the golden
executor on the model as ``tinytx convert`` plans it with ``--fwsa off`` and, when the
sample ships calibration.npz, ``--fwsa on`` (fused on those calibration inputs). Writes
``accuracy_int8_tinytx`` and ``accuracy_int8_tinytx_fwsa`` into metrics.json. numpy only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from calibration import sample_data

from tinytx.core import executor
from tinytx.core.codegen.project import CALIBRATION, ConvertOptions, convert

SAMPLES = Path(__file__).resolve().parents[1]


def accuracy(name: str, fwsa: str) -> float:
    d = SAMPLES / name / "model"
    metrics = json.loads((d / "metrics.json").read_text())
    x, labels = sample_data(name).make_dataset(metrics["test_count"], metrics["seeds"]["test"])
    m = convert(d / "model.onnx", ConvertOptions(fwsa=fwsa)).planned
    shape = m.input_spec.onnx_shape
    pred = [int(executor.run(m, executor.quantize_input(m, a.reshape(shape))).argmax()) for a in x]
    return float(np.mean(np.array(pred) == labels))


def main(names: list[str]) -> int:
    for name in names:
        path = SAMPLES / name / "model" / "metrics.json"
        metrics = json.loads(path.read_text())
        metrics["accuracy_int8_tinytx"] = accuracy(name, "off")
        if (path.parent / CALIBRATION).is_file():
            metrics["accuracy_int8_tinytx_fwsa"] = accuracy(name, "on")
        path.write_text(json.dumps(metrics, indent=2) + "\n")
        got = {k: v for k, v in metrics.items() if k.startswith("accuracy_int8_tinytx")}
        print(f"{name}: {got}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:] or ["eeg"]))
