"""Fuzzing the ONNX frontend with mutated and truncated QDQ models (hypothesis).

The seeds are two small committed QDQ models (a transformer block with attention,
LayerNorm, GELU and a classifier; a convolution frontend with pooling), as onnxruntime's
quantize_static writes them (tests/tools/make_fuzz_seeds.py). Mutations work on the bytes
(flips, inserted and deleted runs, truncation) and on the protobuf (an op type, an
attribute, a shape, a scale, an initializer, a node removed or its inputs swapped). A
mutated model must give an IR model that passes its own validation, runs in the golden
executor and is planned and generated, or a TinytxError whose message is one line: any
other exception is a crash, and an input that takes more than MAX_SECONDS a hang.
Examples are derandomized; TINYTX_FUZZ_EXAMPLES raises their number (default 150 each).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
import onnx  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from onnx import numpy_helper  # noqa: E402

from tinytx.core import executor, ir  # noqa: E402
from tinytx.core.codegen.model import generate  # noqa: E402
from tinytx.core.errors import TinytxError  # noqa: E402
from tinytx.core.frontend.onnx import load_onnx  # noqa: E402
from tinytx.core.plan.planning import plan_model  # noqa: E402

EXAMPLES = int(os.environ.get("TINYTX_FUZZ_EXAMPLES", "150"))
MAX_SECONDS = 5.0
COUNTS: Counter = Counter()
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
OPS = [
    "Relu",
    "MatMul",
    "Add",
    "Softmax",
    "Reshape",
    "Transpose",
    "Erf",
    "Conv",
    "Sigmoid",
    "LayerNormalization",
    "QuantizeLinear",
    "DequantizeLinear",
    "Gemm",
    "MaxPool",
    "Mul",
]


SEED_DIR = Path(__file__).parent / "data" / "fuzz_seeds"  # tests/tools/make_fuzz_seeds.py
SEEDS = {p.stem: p.read_bytes() for p in sorted(SEED_DIR.glob("*.onnx"))}


def check(data: bytes) -> None:
    start = time.monotonic()
    try:
        model = load_onnx(data)
    except TinytxError as exc:
        msg = str(exc)
        assert msg and "\n" not in msg, f"error message not one line: {msg!r}"
        COUNTS["refused"] += 1
    else:
        assert isinstance(model, ir.Model)
        ir.validate(model)
        x = np.arange(model.tensors[model.input].size, dtype=np.int64) % 251 - 125
        y = executor.run(model, x.astype(np.int8))  # a converted model runs
        assert y.size == model.tensors[model.output].size
        code = generate(plan_model(model), "fuzz.onnx")  # and is planned and generated
        assert f"tinytx_{model.name}_run" in code.source
        COUNTS["converted"] += 1
    elapsed = time.monotonic() - start
    assert elapsed < MAX_SECONDS, f"frontend took {elapsed:.1f} s (hang?)"


@st.composite
def byte_mutations(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[pos] ^= draw(st.integers(1, 255))
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 16))]
        else:
            del data[pos:]
    return bytes(data)


@st.composite
def proto_mutations(draw: st.DrawFn, seed: bytes) -> bytes:
    m = onnx.load_model_from_string(seed)
    g = m.graph
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(
            st.sampled_from(
                ["op", "attr", "remove", "swap", "scale", "init", "input", "zero_point"]
            )
        )
        nodes = list(g.node)
        node = nodes[draw(st.integers(0, len(nodes) - 1))]
        if kind == "op":
            node.op_type = draw(st.sampled_from(OPS))
        elif kind == "attr" and node.attribute:
            a = node.attribute[draw(st.integers(0, len(node.attribute) - 1))]
            if a.type == onnx.AttributeProto.INT:
                a.i = draw(st.integers(-3, 5))
            elif a.type == onnx.AttributeProto.INTS and a.ints:
                a.ints[draw(st.integers(0, len(a.ints) - 1))] = draw(st.integers(-2, 9))
            elif a.type == onnx.AttributeProto.FLOAT:
                a.f = draw(st.sampled_from([0.0, -1.0, 1e30, float("nan")]))
        elif kind == "remove":
            g.node.remove(node)
        elif kind == "swap" and len(node.input) >= 2:
            node.input[0], node.input[1] = node.input[1], node.input[0]
        elif kind in ("scale", "zero_point", "init") and len(g.initializer):
            inits = list(g.initializer)
            want = {"scale": "_scale", "zero_point": "_zero_point", "init": ""}[kind]
            pool = [i for i in inits if i.name.endswith(want)] or inits
            init = pool[draw(st.integers(0, len(pool) - 1))]
            arr = numpy_helper.to_array(init).copy()
            if kind == "init" and arr.ndim and draw(st.booleans()):
                new = numpy_helper.from_array(np.resize(arr, max(arr.size // 2, 1)), init.name)
            else:
                value = draw(st.sampled_from([0, -1, 3, 1e-40, 1e9, float("nan")]))
                flat = arr.reshape(-1)
                if flat.size:
                    with np.errstate(invalid="ignore", over="ignore"):
                        cast = np.asarray(value).astype(arr.dtype)
                    flat[draw(st.integers(0, flat.size - 1))] = cast
                new = numpy_helper.from_array(flat.reshape(arr.shape), init.name)
            init.CopyFrom(new)
        elif kind == "input":
            dims = g.input[0].type.tensor_type.shape.dim
            d = dims[draw(st.integers(0, len(dims) - 1))]
            choice = draw(st.sampled_from([0, 1, 3, 100_000, -1]))
            if choice == -1:
                d.dim_param = "n"
            else:
                d.dim_value = choice
    return m.SerializeToString()


@pytest.mark.parametrize("seed", list(SEEDS))
def test_seeds_convert(seed: str) -> None:
    assert isinstance(load_onnx(SEEDS[seed]), ir.Model)


@pytest.mark.parametrize("seed", list(SEEDS))
def test_mutated_bytes(seed: str) -> None:
    @FUZZ
    @given(byte_mutations(SEEDS[seed]))
    def run(data: bytes) -> None:
        check(data)

    run()


@pytest.mark.parametrize("seed", list(SEEDS))
def test_mutated_protobuf(seed: str) -> None:
    @FUZZ
    @given(proto_mutations(SEEDS[seed]))
    def run(data: bytes) -> None:
        check(data)

    run()


@pytest.mark.parametrize("seed", list(SEEDS))
def test_truncated_files(seed: str) -> None:
    data = SEEDS[seed]
    for cut in sorted({*range(0, 64), *range(0, len(data), max(len(data) // 97, 1))}):
        check(data[:cut])


def test_fuzzing_exercised_both_outcomes() -> None:
    """The mutations must not all be rejected at the parser: some convert, many fail."""
    if COUNTS["converted"] + COUNTS["refused"] < 50:
        pytest.skip("run together with the fuzz tests above")
    print(f"fuzzed models: {dict(COUNTS)}")
    assert COUNTS["refused"] > 0 and COUNTS["converted"] > 0
