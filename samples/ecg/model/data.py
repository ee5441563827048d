"""Synthetic single-lead ECG beats in the five AAMI classes (numpy only).

SYNTHETIC DATA. No recorded ECG is used (there is no network here). A sample is
one beat window of ``SAMPLES`` points at ``FS`` Hz (0.73 s) centred on the R
peak, float32 ``[1][1][SAMPLES]`` (the model's NCHW input with C = H = 1). Beats
are sums of Gaussian waves (P, Q, R, S, T), the parametric model of ECGSYN
(McSharry et al., 2003), with class-specific morphology:

- N (normal): upright P ~200 ms before a narrow QRS, upright T;
- S (supraventricular ectopic): premature, so the P wave is early, small or
  inverted and rides on the previous beat's T wave; narrow QRS;
- V (ventricular ectopic): no P wave, wide (80-140 ms) large QRS of either
  polarity, T wave opposite to the QRS;
- F (fusion of ventricular and normal): a blend of an N and a V beat;
- Q (unclassifiable, here: paced): a pacemaker spike (~2 ms) before a wide QRS.

Every beat gets random amplitude, heart-rate-dependent wave positions and widths,
a shift of a few samples, baseline wander, and Gaussian plus 50 Hz noise.

``make_dataset(count, seed)`` is deterministic and class-balanced;
``agreement_inputs()`` gives the 200-input agreement set (seed ``AGREEMENT_SEED``).
"""

from __future__ import annotations

import numpy as np

FS = 360
SAMPLES = 264
SAMPLE_SHAPE = (1, 1, SAMPLES)
CLASSES = ("N", "S", "V", "F", "Q")
AGREEMENT_SEED = 7_200
AGREEMENT_COUNT = 200

_T = (np.arange(SAMPLES) - SAMPLES // 2) / FS  # seconds from the R peak


def _wave(t0: float, amp: float, width: float) -> np.ndarray:
    return amp * np.exp(-0.5 * ((_T - t0) / width) ** 2)


def _normal(rng: np.random.Generator, hr: float, p_wave: bool = True) -> np.ndarray:
    k = np.sqrt(60.0 / hr)  # intervals shrink with heart rate
    p_amp = rng.uniform(0.08, 0.2) if p_wave else 0.0
    return (
        _wave(-0.20 * k, p_amp, 0.025)
        + _wave(-0.035, -rng.uniform(0.05, 0.15), 0.010)
        + _wave(0.0, rng.uniform(0.8, 1.2), rng.uniform(0.009, 0.013))
        + _wave(0.035, -rng.uniform(0.1, 0.3), 0.010)
        + _wave(0.26 * k, rng.uniform(0.15, 0.4), rng.uniform(0.04, 0.06))
    )


def _ventricular(rng: np.random.Generator) -> np.ndarray:
    sign = rng.choice([-1.0, 1.0])
    width = rng.uniform(0.025, 0.045)
    return sign * (
        _wave(0.0, rng.uniform(1.0, 1.8), width)
        + _wave(0.06, -rng.uniform(0.2, 0.5), width)
        + _wave(rng.uniform(0.25, 0.32), -rng.uniform(0.3, 0.6), rng.uniform(0.05, 0.08))
    )


def make_sample(cls: int, rng: np.random.Generator) -> np.ndarray:
    hr = rng.uniform(55, 110)
    if cls == 0:  # N
        x = _normal(rng, hr)
    elif cls == 1:  # S: premature, early/inverted P on the previous T wave
        x = _normal(rng, hr * rng.uniform(1.3, 1.7), p_wave=False)
        x += _wave(-rng.uniform(0.11, 0.16), rng.uniform(-0.15, 0.06), 0.02)  # early P
        x += _wave(-rng.uniform(0.24, 0.34), rng.uniform(0.15, 0.35), 0.05)  # previous T
    elif cls == 2:  # V
        x = _ventricular(rng)
    elif cls == 3:  # F
        a = rng.uniform(0.35, 0.65)
        x = a * _normal(rng, hr) + (1 - a) * _ventricular(rng)
    else:  # Q: paced
        x = _wave(-0.045, rng.uniform(1.0, 2.0) * rng.choice([-1, 1]), 0.0015)
        x += _ventricular(rng) * rng.uniform(0.7, 1.0)
    x = np.roll(x, int(rng.integers(-6, 7))) * rng.uniform(0.6, 1.5)
    wander = rng.uniform(0.0, 0.3) * np.sin(
        2 * np.pi * rng.uniform(0.1, 0.5) * _T + rng.uniform(0, 6)
    )
    mains = rng.uniform(0.0, 0.05) * np.sin(2 * np.pi * 50 * _T + rng.uniform(0, 6))
    x = x + wander + mains + rng.normal(0, rng.uniform(0.01, 0.08), SAMPLES)
    return x.astype(np.float32)[None, None, :]


def make_dataset(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` beats, classes balanced and shuffled: (x [count, *SAMPLE_SHAPE], labels)."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(count) % len(CLASSES)).astype(np.int64)
    return np.stack([make_sample(int(c), rng) for c in labels]), labels


def agreement_inputs(count: int = AGREEMENT_COUNT) -> np.ndarray:
    """Float model inputs ``[count][1][1][1][SAMPLES]`` (batch 1 each) for the ORT check."""
    return make_dataset(count, AGREEMENT_SEED)[0][:, None]
