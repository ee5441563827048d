"""EEG sample model: synthetic seizure windows -> int8 QDQ ONNX (run: see README.md)."""

from __future__ import annotations

import sys
from pathlib import Path

from torch import nn

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1] / "common_model")]

import data  # noqa: E402
from encoder import ConvTokens, TokenClassifier  # noqa: E402
from kit import SampleSpec, build  # noqa: E402

TOKENS, EMBED, HEADS, HEAD_DIM, FFN, LAYERS = 81, 32, 8, 32, 64, 1


def make_model() -> nn.Module:
    """x [B, 4, 1, 648]: 1-D convolutions (Conv2d with H = 1) over time, 648 samples ->
    81 tokens of 32."""
    convs = nn.Sequential(
        nn.Conv2d(data.CHANNELS, 16, (1, 9), stride=(1, 2), padding=(0, 4)),  # 324
        nn.ReLU(),
        nn.AvgPool2d((1, 4)),  # 81
        nn.Conv2d(16, EMBED, (1, 3), padding=(0, 1)),  # 81 x 32
    )
    frontend = ConvTokens(convs, TOKENS, EMBED)
    return TokenClassifier(frontend, TOKENS, EMBED, HEADS, HEAD_DIM, FFN, LAYERS, len(data.CLASSES))


SPEC = SampleSpec(
    name="eeg",
    out_dir=HERE,
    classes=data.CLASSES,
    make_model=make_model,
    make_data=data.make_dataset,
    train_seed=6_000,
    test_seed=6_100,
    calib_seed=6_300,
    train_count=3_000,
    epochs=14,
    test_inputs=4,
)

if __name__ == "__main__":
    build(SPEC)
