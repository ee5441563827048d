"""Write samples/<name>/model/calibration.npz: the FWSA calibration inputs a sample ships.

    .venv/bin/python samples/common_model/calibration.py eeg

``tinytx convert`` (and every path that converts a sample: ``tinytx run``, ``tinytx
build``, the Zephyr CMake conversion) takes ``calibration.npz`` next to ``model.onnx`` as
the calibration inputs of fused-weight attention (FWSA), which quantizes each head's
fused Q/K matrix on them. They are :data:`COUNT` windows of the sample's own generator
(``data.make_dataset``) with the seed its quantization was calibrated on
(``metrics.json`` ``seeds.calibration``): the training distribution, not the test
inputs. ``int8``: the windows quantized with the model's input scale (``[count, *model
input shape]``, the form ``--calibration`` reads), ``labels``, ``seed``, ``input_scale``.
numpy only; tests/python/test_sample_models.py checks the file still reproduces.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np

SAMPLES = Path(__file__).resolve().parents[1]
COUNT = 32
FWSA_SAMPLES = ("eeg",)  # the samples whose attention qualifies (P >= E)


def sample_data(name: str) -> ModuleType:
    """The sample's numpy data generator (``samples/<name>/model/data.py``)."""
    path = SAMPLES / name / "model" / "data.py"
    spec = importlib.util.spec_from_file_location(f"sample_data_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def calibration_set(name: str, count: int = COUNT) -> dict[str, np.ndarray]:
    d = SAMPLES / name / "model"
    seed = int(json.loads((d / "metrics.json").read_text())["seeds"]["calibration"])
    with np.load(d / "test_inputs.npz") as test:
        scale = np.float32(test["input_scale"])
        shape = test["int8"].shape[1:]  # the model input of one window
    x, labels = sample_data(name).make_dataset(count, seed)
    q = np.clip(np.rint(x / scale), -128, 127).astype(np.int8).reshape(count, *shape)
    return {"int8": q, "labels": labels, "seed": np.int64(seed), "input_scale": scale}


def main(names: list[str]) -> int:
    for name in names:
        path = SAMPLES / name / "model" / "calibration.npz"
        np.savez_compressed(path, **calibration_set(name))
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:] or list(FWSA_SAMPLES)))
