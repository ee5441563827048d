"""Write tests/zoo/golden/<name>.npz: the golden executor's int8 outputs for the stored
inputs of every zoo fixture, the exact reference tests/python/test_zoo.py checks.

    .venv/bin/python tests/zoo/golden_outputs.py            # every fixture
    .venv/bin/python tests/zoo/golden_outputs.py vit_legacy_sym

Runs with the tinytx virtualenv (no torch). `outputs` holds the int8 output bytes of
each stored input, `float` the first FIRMWARE_INPUTS float inputs (what the firmware
tests run, in the format `tinytx convert --inputs` reads). Rewrite after a change of
the converter or of the golden model that changes outputs on purpose.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from tinytx.core import executor
from tinytx.core.frontend.onnx import load_onnx

ZOO = Path(__file__).resolve().parent
FIRMWARE_INPUTS = 4


def golden_outputs(name: str) -> dict[str, np.ndarray]:
    m = load_onnx(ZOO / "models" / f"{name}.onnx")
    with np.load(ZOO / "models" / f"{name}.npz") as data:
        inputs = data["inputs"]
    out = np.stack([executor.run(m, executor.quantize_input(m, x)) for x in inputs])
    return {"outputs": out, "float": inputs[:FIRMWARE_INPUTS]}


def main(names: list[str]) -> int:
    index = json.loads((ZOO / "models" / "index.json").read_text())["fixtures"]
    names = names or [f["name"] for f in index]
    (ZOO / "golden").mkdir(exist_ok=True)
    for name in names:
        path = ZOO / "golden" / f"{name}.npz"
        np.savez_compressed(path, **golden_outputs(name))
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
