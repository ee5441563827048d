"""Synthetic EEG windows for seizure detection (numpy only).

SYNTHETIC DATA. No recorded EEG is used (there is no network here). A sample is
``CHANNELS`` bipolar channels of ``SAMPLES`` points at ``FS`` Hz (2.53 s),
float32 ``[CHANNELS][1][SAMPLES]`` (the model's NCHW input with H = 1):

- background (both classes): 1/f ("pink") noise per channel plus a shared
  component, and in some windows an alpha (8-12 Hz) or theta (4-7 Hz) rhythm;
- "no seizure" windows may also hold artifacts that a naive detector confuses with
  a seizure: eye blinks (large slow deflections) and one or two isolated spikes;
- "seizure" windows add rhythmic 2.5-4 Hz spike-and-wave discharges (a sharp
  spike of ~25 ms then a slow wave of ~150 ms per cycle) in 2 to 4 channels with
  channel-dependent gain and polarity, a random onset within the first half of
  the window, a rising amplitude, cycle jitter, and a signal-to-background ratio
  between 0.5 and 2.5.

``make_dataset(count, seed)`` is deterministic and class-balanced;
``agreement_inputs()`` gives the 200-input agreement set (seed ``AGREEMENT_SEED``).
"""

from __future__ import annotations

import numpy as np

FS = 256
SAMPLES = 648
CHANNELS = 4
SAMPLE_SHAPE = (CHANNELS, 1, SAMPLES)
CLASSES = ("no_seizure", "seizure")
AGREEMENT_SEED = 6_200
AGREEMENT_COUNT = 200

_T = np.arange(SAMPLES) / FS


def _pink(rng: np.random.Generator, n: int) -> np.ndarray:
    spec = np.fft.rfft(rng.normal(size=n))
    f = np.fft.rfftfreq(n, 1 / FS)
    spec[1:] /= np.sqrt(f[1:])
    spec[0] = 0
    x = np.fft.irfft(spec, n)
    return x / x.std()


def _background(rng: np.random.Generator) -> np.ndarray:
    shared = _pink(rng, SAMPLES)
    x = np.stack([0.8 * _pink(rng, SAMPLES) + 0.4 * shared for _ in range(CHANNELS)])
    if rng.random() < 0.5:  # alpha or theta rhythm, waxing and waning
        f = rng.uniform(8, 12) if rng.random() < 0.7 else rng.uniform(4, 7)
        env = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.2, 0.6) * _T + rng.uniform(0, 6))
        rhythm = np.sin(2 * np.pi * f * _T + rng.uniform(0, 6)) * env
        x += rng.uniform(0.3, 1.0) * rhythm * rng.uniform(0.3, 1.0, (CHANNELS, 1))
    return x


def _spike_wave(t0: float, amp: float) -> np.ndarray:
    spike = -np.exp(-0.5 * ((_T - t0) / 0.010) ** 2)
    wave = 0.55 * np.exp(-0.5 * ((_T - t0 - 0.11) / 0.05) ** 2)
    return amp * (spike + wave)


def _artifacts(rng: np.random.Generator, x: np.ndarray) -> None:
    if rng.random() < 0.3:  # eye blink on the frontal channels
        t0 = rng.uniform(0.2, 2.3)
        blink = rng.uniform(2, 5) * np.exp(-0.5 * ((_T - t0) / 0.12) ** 2)
        x[:2] += blink * rng.uniform(0.5, 1.0, (2, 1))
    if rng.random() < 0.3:  # one or two isolated spikes
        for _ in range(int(rng.integers(1, 3))):
            ch = int(rng.integers(0, CHANNELS))
            x[ch] += _spike_wave(rng.uniform(0.1, 2.4), rng.uniform(1.5, 4))


def _seizure(rng: np.random.Generator, x: np.ndarray) -> None:
    f0 = rng.uniform(2.5, 4.0)
    onset = rng.uniform(0.0, 0.5) * SAMPLES / FS
    snr = rng.uniform(0.5, 2.5) * 3
    channels = rng.permutation(CHANNELS)[: int(rng.integers(2, CHANNELS + 1))]
    gains = rng.uniform(0.4, 1.0, CHANNELS) * rng.choice([-1, 1], CHANNELS)
    discharge = np.zeros(SAMPLES)
    t = onset
    while t < SAMPLES / FS:
        ramp = min(1.0, 0.4 + (t - onset) * 0.8)
        discharge += _spike_wave(t, ramp * rng.uniform(0.8, 1.2))
        t += 1 / f0 * rng.uniform(0.9, 1.1)
    for ch in channels:
        x[ch] += snr * gains[ch] * discharge


def make_sample(cls: int, rng: np.random.Generator) -> np.ndarray:
    x = _background(rng)
    if cls == 1:
        _seizure(rng, x)
    else:
        _artifacts(rng, x)
    x *= rng.uniform(0.7, 1.4)
    return (x / 3.0).astype(np.float32)[:, None, :]


def make_dataset(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` windows, classes balanced and shuffled: (x [count, *SAMPLE_SHAPE], labels)."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(count) % len(CLASSES)).astype(np.int64)
    return np.stack([make_sample(int(c), rng) for c in labels]), labels


def agreement_inputs(count: int = AGREEMENT_COUNT) -> np.ndarray:
    """Float model inputs ``[count][1][CHANNELS][1][SAMPLES]`` (batch 1 each) for the ORT check."""
    return make_dataset(count, AGREEMENT_SEED)[0][:, None]
