"""ECG sample model: synthetic AAMI-class beats -> int8 QDQ ONNX (run: see README.md)."""

from __future__ import annotations

import sys
from pathlib import Path

from torch import nn

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1] / "common_model")]

import data  # noqa: E402
from encoder import ConvTokens, TokenClassifier  # noqa: E402
from kit import SampleSpec, build  # noqa: E402

TOKENS, EMBED, HEADS, HEAD_DIM, FFN, LAYERS = 66, 16, 8, 2, 32, 1


def make_model() -> nn.Module:
    """x [B, 1, 1, 264]: 1-D conv, depthwise conv, max pool (all Conv2d/MaxPool2d with
    H = 1), 264 samples -> 66 tokens of 16."""
    convs = nn.Sequential(
        nn.Conv2d(1, 8, (1, 7), stride=(1, 2), padding=(0, 3)),  # 132
        nn.ReLU(),
        nn.Conv2d(8, 8, (1, 5), padding=(0, 2), groups=8),  # depthwise, 132
        nn.ReLU(),
        nn.MaxPool2d((1, 2)),  # 66
        nn.Conv2d(8, EMBED, (1, 1)),  # 66 x 16
    )
    frontend = ConvTokens(convs, TOKENS, EMBED)
    return TokenClassifier(frontend, TOKENS, EMBED, HEADS, HEAD_DIM, FFN, LAYERS, len(data.CLASSES))


SPEC = SampleSpec(
    name="ecg",
    out_dir=HERE,
    classes=data.CLASSES,
    make_model=make_model,
    make_data=data.make_dataset,
    train_seed=7_000,
    test_seed=7_100,
    calib_seed=7_300,
    train_count=4_000,
    epochs=20,
    lr=3e-3,
    test_inputs=5,
)

if __name__ == "__main__":
    build(SPEC)
