"""Synthetic classification data for the model zoo (numpy only: tests regenerate inputs).

Every sample is drawn from its own generator seeded with ``(task seed, set seed, index)``,
so a set of ``count`` samples is a prefix of any larger set with the same seed. Values
are rounded to multiples of 1/64 so that the float32 inputs do not depend on the last
bits of ``sin``/``cos`` on a given machine.

Tasks (every one has ``CLASSES`` classes):

- ``sequence(count, seed, tokens, features)`` -> ``[count, tokens, features]``: each
  class has its own smooth multi-channel prototype (per-feature frequency and phase);
  a sample is its class prototype circularly shifted by a random number of tokens,
  scaled by a random gain, plus Gaussian noise;
- ``signal(count, seed, channels, length)`` -> ``[count, channels, length]``: the same
  signals with channels first (Conv1d input);
- ``image(count, seed, channels, size)`` -> ``[count, channels, size, size]``: class =
  orientation of a grating (0, 45, 90, 135 degrees) with random frequency, phase and
  per-channel contrast, plus noise.
"""

from __future__ import annotations

import numpy as np

CLASSES = 4
GRID = 64.0  # inputs are multiples of 1/GRID
TASK_SEED = 20_240_402


def _round(x: np.ndarray) -> np.ndarray:
    return (np.rint(np.clip(x, -4.0, 4.0) * GRID) / GRID).astype(np.float32)


def _labels(count: int, seed: int) -> np.ndarray:
    return np.array(
        [np.random.default_rng([TASK_SEED, seed, i, 0]).integers(CLASSES) for i in range(count)],
        dtype=np.int64,
    )


def _prototypes(tokens: int, features: int) -> np.ndarray:
    """[CLASSES, tokens, features]: fixed for a given shape (independent of the set seed)."""
    rng = np.random.default_rng([TASK_SEED, tokens, features])
    t = np.arange(tokens, dtype=np.float64)[:, None] / tokens
    protos = []
    for _ in range(CLASSES):
        freq = rng.integers(1, 4, size=features)[None, :]
        phase = rng.uniform(0, 2 * np.pi, size=features)[None, :]
        amp = rng.uniform(0.5, 1.5, size=features)[None, :]
        protos.append(amp * np.sin(2 * np.pi * freq * t + phase))
    return np.stack(protos)


def sequence(
    count: int, seed: int, tokens: int = 16, features: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    labels = _labels(count, seed)
    protos = _prototypes(tokens, features)
    xs = []
    for i, c in enumerate(labels):
        rng = np.random.default_rng([TASK_SEED, seed, i, 1])
        shift = int(rng.integers(tokens))
        gain = rng.uniform(0.6, 1.4)
        noise = rng.standard_normal((tokens, features)) * 0.8
        xs.append(np.roll(protos[c], shift, axis=0) * gain + noise)
    return _round(np.stack(xs)), labels


def signal(
    count: int, seed: int, channels: int = 4, length: int = 32
) -> tuple[np.ndarray, np.ndarray]:
    x, y = sequence(count, seed, tokens=length, features=channels)
    return np.ascontiguousarray(x.transpose(0, 2, 1)), y


def image(
    count: int, seed: int, channels: int = 1, size: int = 32
) -> tuple[np.ndarray, np.ndarray]:
    labels = _labels(count, seed)
    yy, xx = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    xs = []
    for i, c in enumerate(labels):
        rng = np.random.default_rng([TASK_SEED, seed, i, 2])
        angle = np.pi * c / CLASSES
        freq = rng.uniform(2.0, 5.0) / size
        phase = rng.uniform(0, 2 * np.pi)
        proj = xx * np.cos(angle) + yy * np.sin(angle)
        grating = np.sin(2 * np.pi * freq * proj + phase)
        contrast = rng.uniform(0.5, 1.5, size=channels)[:, None, None]
        noise = rng.standard_normal((channels, size, size)) * 1.5
        xs.append(contrast * grating[None] + noise)
    return _round(np.stack(xs)), labels


TASKS = {"sequence": sequence, "signal": signal, "image": image}


def make(task: str, count: int, seed: int, **shape: int) -> tuple[np.ndarray, np.ndarray]:
    """Dispatch by task name (the names ``index.json`` records)."""
    return TASKS[task](count, seed, **shape)
