"""Agreement of a converted TFLite fixture with the TFLite interpreter's stored outputs.

A fixture directory holds ``model.tflite``, ``inputs.npz`` (``int8``: quantized inputs
without the batch axis) and ``interpreter.npz`` (``int8``: the interpreter's outputs).
:func:`agreement` runs the golden executor on the converted IR for every input and
compares: top-1 agreement (per row of the output's last axis) and the deviation in output
LSB. The interpreter's kernels are not the golden model: this is a statistic, not a
bit-exactness check.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinytx.core import executor
from tinytx.core.frontend.onnx.graph import FrontendError
from tinytx.core.frontend.tflite import load_tflite


@dataclass(frozen=True)
class Agreement:
    name: str
    count: int
    top1: float  # fraction of output rows whose arg-max agrees
    max_lsb: int
    mean_lsb: float
    accuracy: float | None  # ours against the labels, when the inputs have labels
    reference_accuracy: float | None  # the interpreter's

    def row(self) -> str:
        acc = (
            "-"
            if self.accuracy is None
            else f"{self.accuracy:.3f} (TFLite {self.reference_accuracy:.3f})"
        )
        return (
            f"| {self.name} | {self.count} | {100 * self.top1:.1f} % | {self.max_lsb} | "
            f"{self.mean_lsb:.2f} | {acc} |"
        )


HEADER = (
    "| fixture | inputs | top-1 agreement | max deviation (LSB) | mean deviation (LSB) "
    "| accuracy |\n| --- | --- | --- | --- | --- | --- |"
)


def agreement(fixture: Path, arith: str = "match") -> Agreement:
    fixture = Path(fixture)
    model = load_tflite(fixture / "model.tflite", fixture.name, arith)
    with np.load(fixture / "inputs.npz") as data:
        x = np.asarray(data["int8"])
        labels = np.asarray(data["labels"]) if "labels" in data.files else None
    with np.load(fixture / "interpreter.npz") as data:
        ref = np.asarray(data["int8"])
    shape = model.input_spec.onnx_shape
    batch = x.reshape(len(x), *shape)
    ours = executor.run_batch(model, np.stack([model.input_spec.to_memory(a) for a in batch]))
    ours = np.stack([model.output_spec.from_memory(y) for y in ours]).reshape(ref.shape)
    dev = np.abs(ours.astype(np.int64) - ref.astype(np.int64))
    rows_ours = ours.reshape(-1, ref.shape[-1]).argmax(-1)
    rows_ref = ref.reshape(-1, ref.shape[-1]).argmax(-1)
    acc = ref_acc = None
    if labels is not None and ref.ndim == 2:
        acc = float((ours.argmax(-1) == labels).mean())
        ref_acc = float((ref.argmax(-1) == labels).mean())
    return Agreement(
        fixture.name,
        len(x),
        float((rows_ours == rows_ref).mean()),
        int(dev.max()),
        float(dev.mean()),
        acc,
        ref_acc,
    )


def table(roots: list[Path], arith: str = "match") -> str:
    """The agreement table (markdown) of every fixture directory under ``roots``."""
    lines = [HEADER]
    for root in roots:
        for d in sorted(p for p in Path(root).iterdir() if (p / "model.tflite").is_file()):
            try:
                lines.append(agreement(d, arith).row())
            except FrontendError as exc:  # a refused model: its one line
                lines.append(f"| {d.name} | refused: {exc} | | | | |")
    return "\n".join(lines)


if __name__ == "__main__":  # python tests/python/tflite_agreement.py [--fast] DIR...
    import sys

    args = sys.argv[1:]
    mode = "fast" if "--fast" in args else "match"  # the converter's --tflite-arith
    sys.stdout.write(table([Path(a) for a in args if a != "--fast"], mode) + "\n")
