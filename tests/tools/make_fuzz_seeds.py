"""Write the seed models of tests/python/test_frontend_fuzz.py (tests/python/data/fuzz_seeds).

    .venv/bin/python tests/tools/make_fuzz_seeds.py

Two small QDQ models as onnxruntime's quantize_static writes them: a transformer block
(attention, LayerNorm, GELU, a classifier) and a convolution frontend with pooling. They
are committed files because quantize_static calibrates with onnxruntime, whose float
results differ in the last bits between CPUs: a seed made during the test run would not
be the same model on every machine.
"""

from __future__ import annotations

from pathlib import Path

from tinytx.core.frontend.onnx.testing import GraphBuilder, quantize_qdq, random_inputs

OUT = Path(__file__).resolve().parents[1] / "python" / "data" / "fuzz_seeds"


def transformer() -> bytes:
    b = GraphBuilder(seed=4)
    x = b.input((1, 5, 8))
    y = b.layernorm(b.add(b.mhsa(x, 2), x))
    y = b.linear(b.mean(b.linear(b.gelu(b.linear(y, 16)), 8), (1,)), 3, gemm=True)
    return quantize_qdq(b.model(y), random_inputs((1, 5, 8), 8))


def convnet() -> bytes:
    b = GraphBuilder(seed=5)
    x = b.input((2, 2, 6, 6))
    y = b.pool(b.relu(b.conv(x, 4, bn=True)), "MaxPool")
    y = b.linear(b.reshape(b.transpose(y, (0, 2, 3, 1)), (1, 2, 36)), 8, bias=False)
    return quantize_qdq(
        b.model(b.linear(b.mean(y, (1,)), 3, gemm=True)), random_inputs((2, 2, 6, 6), 8)
    )


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, make in (("transformer", transformer), ("convnet", convnet)):
        path = OUT / f"{name}.onnx"
        path.write_bytes(make())
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
