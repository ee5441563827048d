"""How far onnxruntime may be from the golden executor: the margins every test that
compares with onnxruntime uses, and the measurements they rest on.

The golden executor is the exact reference (committed golden outputs, bit-exact
firmware). onnxruntime is compared as a statistic, never with exact equality: its int8
kernels differ per CPU instruction set (AVX-512 VNNI, AVX2, ...) and per graph
optimization level. Each margin leaves at least 2x headroom over the worst figure
measured with tests/tools/measure_ort_margins.py at ORT_DISABLE_ALL and ORT_ENABLE_ALL,
natively on an AVX-512 VNNI Xeon and under `qemu-x86_64 -cpu Haswell` (AVX2, no
AVX-512, the code path of e.g. an AMD EPYC without VNNI), onnxruntime as pinned in
requirements/constraints.txt. Deviations are in output LSB (the output tensor's scale).

Tests that bound one op tightly (a few LSB) compare with ORT_DISABLE_ALL only: onnxruntime
then runs the QDQ graph as written, which gave the same figures on both CPUs, whereas
its fused ORT_ENABLE_ALL kernels are themselves up to 11 LSB (one linear layer) off on
AVX2, and a steep function after them (Tanh) multiplies that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

# a developer machine without onnxruntime skips the tests that compare with it (CI fails)
ort = pytest.importorskip("onnxruntime")

LEVELS = ("ORT_DISABLE_ALL", "ORT_ENABLE_ALL")


@dataclass(frozen=True)
class Margin:
    min_top1: float  # agreement of the argmax over the inputs
    max_lsb: float  # worst element
    mean_lsb: float  # mean over every output element of every input
    basis: str  # the worst measured figures (top-1, max, mean) it was derived from


# Samples, golden executor vs onnxruntime on the 200 inputs of each sample's
# agreement_inputs() and on its committed test inputs. Worst measured of the eight
# (native, AVX2) x (ORT_DISABLE_ALL, ORT_ENABLE_ALL) x (200, committed) figures; top-1's
# headroom is on the disagreement (0.5 % measured -> 1 % allowed). ORT_DISABLE_ALL gave
# the same figures on both CPUs; the spread is ORT_ENABLE_ALL's fused int8 kernels.
SAMPLE_MARGINS = {
    "radar": Margin(0.99, 60.0, 6.6, "top-1 0.995, max 30 LSB, mean 3.30 LSB (AVX2, ENABLE_ALL)"),
    "eeg": Margin(0.98, 30.0, 7.9, "top-1 0.990, max 15 LSB, mean 3.92 LSB (AVX2, ENABLE_ALL)"),
    "ecg": Margin(0.99, 36.0, 3.6, "top-1 0.995, max 18 LSB, mean 1.76 LSB (AVX2, ENABLE_ALL)"),
}

# The frontend's pattern models (tests/python/test_frontend.py), worst element over the
# DEVIATION_INPUTS inputs of each pattern, at both levels. Measured worst: 3 LSB natively
# and with ORT_DISABLE_ALL on AVX2; 11 LSB on AVX2 with ORT_ENABLE_ALL (the Gemm pattern:
# onnxruntime's fused AVX2 u8s8 kernel saturates int16 pair sums, VNNI does not).
PATTERN_MAX_LSB = 22.0

# The zoo fixtures (tests/python/test_zoo.py), on each fixture's 200 evaluation inputs.
# ORT_DISABLE_ALL only, as the zoo's figures are stated against the QDQ graph as written;
# the same on both CPUs. (ORT_ENABLE_ALL on AVX2 reached top-1 0.965, max 34, mean 6.8
# LSB on the per-channel fixtures: its fused per-channel kernels, not tinytx.)
ZOO_MARGIN = Margin(0.96, 34.0, 2.6, "top-1 0.980, max 17 LSB, mean 1.29 LSB (DISABLE_ALL)")


def ort_session(model: str | bytes, level: str = "ORT_DISABLE_ALL") -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])


@dataclass(frozen=True)
class Deviation:
    top1: float
    max_lsb: float
    mean_lsb: float

    def within(self, margin: Margin) -> bool:
        return (
            self.top1 >= margin.min_top1
            and self.max_lsb <= margin.max_lsb
            and self.mean_lsb <= margin.mean_lsb
        )


def max_deviation_lsb(
    data: bytes, model, inputs: list[np.ndarray], level: str = "ORT_DISABLE_ALL"
) -> float:
    """Largest |onnxruntime - golden executor| over ``inputs`` in output LSB, for a QDQ
    model (``data``) and its tinytx conversion ``model``."""
    from tinytx.core import executor

    sess = ort_session(data, level)
    key = sess.get_inputs()[0].name
    scale = model.tensors[model.output].scale
    worst = 0.0
    for x in inputs:
        ref = sess.run(None, {key: x})[0]
        got = executor.logits(model, x)
        assert got.shape == ref.shape
        worst = max(worst, float(np.abs(ref - got).max()) / scale)
    return round(worst, 3)


def deviation(refs: list[np.ndarray], gots: list[np.ndarray], scale: float) -> Deviation:
    """Agreement of two lists of float outputs, deviations in units of ``scale``."""
    pairs = list(zip(refs, gots, strict=True))
    agree = sum(int(r.argmax() == g.argmax()) for r, g in pairs)
    lsb = np.concatenate([np.abs(r.ravel() - g.ravel()) / scale for r, g in pairs])
    return Deviation(agree / len(refs), round(float(lsb.max()), 3), round(float(lsb.mean()), 4))
