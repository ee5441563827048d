"""Measures how far onnxruntime is from the golden executor, the basis of the margins in
tests/python/ort_margins.py.

onnxruntime's int8 kernels differ per CPU instruction set (VNNI, AVX-512, AVX2) and per
graph optimization level, so the tests compare it as a statistic. Two steps:

1. ``dump``: run onnxruntime at ORT_DISABLE_ALL and ORT_ENABLE_ALL on every reference the
   tests use (the samples, the frontend's pattern models, the zoo fixtures) and save its
   outputs, with the pattern models as quantized on that CPU (calibration runs
   onnxruntime too). Run it natively and under QEMU user mode with another CPU model, so
   one machine sees the code paths of others (Debian's qemu-user; the tests need none);
2. ``compare``: natively, the golden executor on the same models and inputs, and the
   figures as JSON (top-1 agreement, maximum and mean deviation in output LSB).

    .venv/bin/python tests/tools/measure_ort_margins.py dump native.npz
    qemu-x86_64 -cpu Haswell .venv/bin/python tests/tools/measure_ort_margins.py dump avx2.npz
    .venv/bin/python tests/tools/measure_ort_margins.py compare native.npz avx2.npz
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from tinytx.core import executor
from tinytx.core.errors import TinytxError
from tinytx.core.frontend.onnx import load_onnx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "python"))

import ort_margins as om  # noqa: E402
import test_frontend as tf  # noqa: E402  (the patterns exactly as the test builds them)
import zoo_index  # noqa: E402

SAMPLES = ("radar", "eeg", "ecg")


def _sample_data(name: str):
    path = REPO / "samples" / name / "model" / "data.py"
    spec = importlib.util.spec_from_file_location(f"data_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def references() -> Iterator[tuple[str, bytes, np.ndarray]]:
    """(reference name, model bytes, float inputs) for every comparison the tests make."""
    for name in SAMPLES:
        d = REPO / "samples" / name / "model"
        model = (d / "model.onnx").read_bytes()
        yield f"sample/{name}/agreement", model, _sample_data(name).agreement_inputs()
        yield f"sample/{name}/committed", model, np.load(d / "test_inputs.npz")["float"]
    for name, (build, shape, kw, _) in tf.PATTERNS.items():
        inputs = np.stack(tf.random_inputs(shape, tf.DEVIATION_INPUTS, seed=5))
        yield f"pattern/{name}", tf.qdq(build, shape, **kw), inputs
    for name in sorted(zoo_index.FIXTURES):
        model = (zoo_index.MODELS / f"{name}.onnx").read_bytes()
        yield f"zoo/{name}", model, zoo_index.inputs(name)


def dump(out: Path) -> None:
    arrays: dict[str, np.ndarray] = {}
    for ref, model, inputs in references():
        arrays[f"{ref}|model"] = np.frombuffer(model, np.uint8)
        arrays[f"{ref}|inputs"] = inputs
        for level in om.LEVELS:
            sess = om.ort_session(model, level)
            key = sess.get_inputs()[0].name
            arrays[f"{ref}|{level}"] = np.stack([sess.run(None, {key: x})[0] for x in inputs])
        print(ref, file=sys.stderr)
    np.savez_compressed(out, **arrays)


def compare(dumps: list[Path]) -> dict:
    result: dict = {}
    for path in dumps:
        data = np.load(path)
        refs = sorted({k.split("|")[0] for k in data.files})
        figures: dict = {}
        for ref in refs:
            try:
                m = load_onnx(data[f"{ref}|model"].tobytes())
            except TinytxError as exc:
                figures[ref] = {"refused": str(exc)}
                continue
            gots = [executor.logits(m, x) for x in data[f"{ref}|inputs"]]
            scale = m.tensors[m.output].scale
            figures[ref] = {
                level: vars(om.deviation(list(data[f"{ref}|{level}"]), gots, scale))
                for level in om.LEVELS
            }
        result[path.stem] = figures
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    sub.add_parser("dump").add_argument("out", type=Path)
    sub.add_parser("compare").add_argument("dumps", type=Path, nargs="+")
    args = parser.parse_args()
    if args.step == "dump":
        dump(args.out)
    else:
        json.dump(compare(args.dumps), sys.stdout, indent=1)
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
