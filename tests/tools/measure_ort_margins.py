"""Measures how far onnxruntime is from the golden executor, the basis of the margins in
tests/python/ort_margins.py.

onnxruntime's int8 kernels differ per CPU instruction set (VNNI, AVX-512, AVX2) and per
graph optimization level, so the tests compare it as a statistic. This prints, for every
reference the tests use, the figures at ORT_DISABLE_ALL and ORT_ENABLE_ALL as JSON:
top-1 agreement, maximum and mean deviation in output LSB.

Run it natively and under QEMU user mode with another CPU model, so one machine sees the
code paths of others (Debian's qemu-user; not needed by the tests)::

    .venv/bin/python tests/tools/measure_ort_margins.py > native.json
    qemu-x86_64 -cpu Haswell .venv/bin/python tests/tools/measure_ort_margins.py > avx2.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

from tinytx import executor
from tinytx.codegen.project import ConvertOptions, convert
from tinytx.frontend.onnx import load_onnx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "python"))

import ort_margins as om  # noqa: E402
import test_frontend as tf  # noqa: E402  (the patterns exactly as the test builds them)

SAMPLES = ("radar", "eeg", "ecg")


def measure(sess, m, inputs, name: str) -> dict[str, float]:
    refs = [sess.run(None, {name: x.astype(np.float32)})[0] for x in inputs]
    gots = [executor.logits(m, x) for x in inputs]
    return vars(om.deviation(refs, gots, m.tensors[m.output].scale))


def sample_figures() -> dict:
    out: dict = {}
    for name in SAMPLES:
        d = REPO / "samples" / name / "model"
        spec = importlib.util.spec_from_file_location(f"data_{name}", d / "data.py")
        data = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(data)
        m = convert(d / "model.onnx", ConvertOptions()).model
        agreement = data.agreement_inputs()
        committed = np.load(d / "test_inputs.npz")["float"]
        for level in om.LEVELS:
            sess = om.ort_session(str(d / "model.onnx"), level)
            key = m.input_spec.onnx_name
            out[f"{name}/{level}"] = {
                "agreement_inputs": measure(sess, m, agreement, key),
                "committed_inputs": measure(sess, m, committed, key),
            }
    return out


def pattern_figures() -> dict:
    out: dict = {}
    for name, (build, shape, kw, _) in tf.PATTERNS.items():
        data = tf.qdq(build, shape, **kw)
        m = load_onnx(data)
        inputs = tf.random_inputs(shape, tf.DEVIATION_INPUTS, seed=5)
        for level in om.LEVELS:
            out[f"{name}/{level}"] = measure(om.ort_session(data, level), m, inputs, "input")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["samples", "patterns"])
    args = parser.parse_args()
    result = {"onnxruntime": ort.__version__}
    if args.only != "patterns":
        result["samples"] = sample_figures()
    if args.only != "samples":
        result["patterns"] = pattern_figures()
    json.dump(result, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
