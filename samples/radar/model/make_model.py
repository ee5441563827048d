"""Radar sample model: synthetic range-Doppler gestures -> int8 QDQ ONNX (run: see README.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1] / "common_model")]

import data  # noqa: E402
from encoder import BatchAware, TokenClassifier  # noqa: E402
from kit import SampleSpec, build  # noqa: E402

EMBED, HEADS, HEAD_DIM, FFN, LAYERS = 32, 4, 8, 64, 2


class Frontend(BatchAware):
    """Per frame: Conv3x3-ReLU-MaxPool2 twice, then the frame's feature map is one token."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv2d(data.ANTENNAS, 8, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.features = 16 * (data.RANGE_BINS // 4) * (data.DOPPLER_BINS // 4)
        self.embed = nn.Linear(self.features, EMBED, bias=False)

    def forward(self, x):  # x [B*T, 2, 16, 16]: the batch axis carries the frames
        f = self.convs(x).permute(0, 2, 3, 1)  # NHWC, tinytx's own layout
        return self.embed(f.reshape(self.batch, data.FRAMES, self.features))


def make_model() -> nn.Module:
    return TokenClassifier(
        Frontend(), data.FRAMES, EMBED, HEADS, HEAD_DIM, FFN, LAYERS, len(data.CLASSES)
    )


def to_model_input(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.reshape(-1, *data.SAMPLE_SHAPE[1:]), dtype=np.float32)


SPEC = SampleSpec(
    name="radar",
    out_dir=HERE,
    classes=data.CLASSES,
    make_model=make_model,
    make_data=data.make_dataset,
    to_model_input=to_model_input,
    train_seed=5_000,
    test_seed=5_100,
    calib_seed=5_300,
    train_count=4_400,
    epochs=12,
    test_inputs=4,
)

if __name__ == "__main__":
    build(SPEC)
