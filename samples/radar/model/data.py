"""Synthetic radar gestures: short sequences of range-Doppler maps (numpy only).

SYNTHETIC DATA. No recorded radar data is used (there is no network here). Each
sample is ``FRAMES`` range-Doppler maps from ``ANTENNAS`` receive antennas,
``[FRAMES][ANTENNAS][RANGE_BINS][DOPPLER_BINS]`` float32, shaped like the
TinyRadar (Soli-style) input: a hand is one or two point scatterers whose range
``r(t)`` and radial velocity ``v(t)`` follow a class-dependent trajectory; the
antenna gains follow the angle of arrival (a lateral swipe moves the energy from
one antenna to the other). Each frame adds static body clutter at zero Doppler,
Doppler smearing, random time warp (onset, duration), speed and amplitude
jitter, and exponential (speckle-like) noise, then log compression.

The 11 classes (TinyRadar's gesture set, simplified):
push, pull, swipe left, swipe right, circle clockwise, circle counter-clockwise,
palm tilt, finger rub, fast swipe, slow swipe, no gesture.

``make_dataset(count, seed)`` is deterministic; ``agreement_inputs()`` gives the
200-input agreement set (seed ``AGREEMENT_SEED``).
"""

from __future__ import annotations

import numpy as np

FRAMES = 16
ANTENNAS = 2
RANGE_BINS = 16
DOPPLER_BINS = 16
SAMPLE_SHAPE = (FRAMES, ANTENNAS, RANGE_BINS, DOPPLER_BINS)
CLASSES = (
    "push",
    "pull",
    "swipe_left",
    "swipe_right",
    "circle_cw",
    "circle_ccw",
    "palm_tilt",
    "finger_rub",
    "fast_swipe",
    "slow_swipe",
    "no_gesture",
)
AGREEMENT_SEED = 5_200
AGREEMENT_COUNT = 200

_R = np.arange(RANGE_BINS, dtype=np.float64)[:, None]
_V = np.arange(DOPPLER_BINS, dtype=np.float64)[None, :]


def _trajectory(cls: int, t: np.ndarray, rng: np.random.Generator):
    """Range in [0, 1], velocity in [-1, 1], antenna-1 share in [0, 1], per frame."""
    r0 = rng.uniform(0.35, 0.65)
    a = rng.uniform(0.6, 1.4)  # speed jitter
    side = np.full_like(t, 0.5)
    s = np.sin(2 * np.pi * t)
    if cls == 0:  # push: towards the radar
        r, v = r0 + 0.2 - 0.4 * a * t, np.full_like(t, -0.55 * a)
    elif cls == 1:  # pull
        r, v = r0 - 0.2 + 0.4 * a * t, np.full_like(t, 0.55 * a)
    elif cls in (2, 3):  # lateral swipe: Doppler up then down, energy crosses antennas
        r, v = np.full_like(t, r0), 0.5 * a * s
        side = 0.5 + 0.25 * np.cos(np.pi * t) * (1 if cls == 2 else -1)
    elif cls in (4, 5):  # circle: range and Doppler in quadrature
        d = 1 if cls == 4 else -1
        r, v = r0 + d * 0.15 * s, d * 0.6 * a * np.cos(2 * np.pi * t)
        side = 0.5 + 0.3 * d * np.sin(2 * np.pi * t + np.pi / 2)
    elif cls == 6:  # palm tilt: small fast oscillation
        r, v = np.full_like(t, r0), 0.3 * a * np.sin(4 * np.pi * t)
    elif cls == 7:  # finger rub: handled as two scatterers in make_sample
        r, v = np.full_like(t, r0), 0.15 * a * np.sign(np.sin(6 * np.pi * t))
    elif cls == 8:  # fast swipe: short and strong
        r, v = np.full_like(t, r0), 0.95 * np.sin(2 * np.pi * np.clip(2 * t - 0.5, 0, 1))
        side = 0.5 + 0.45 * np.cos(np.pi * np.clip(2 * t - 0.5, 0, 1))
    elif cls == 9:  # slow swipe
        r, v = np.full_like(t, r0), 0.22 * a * s
        side = 0.5 + 0.45 * np.cos(np.pi * t)
    else:  # no gesture: nothing moves
        r, v = np.full_like(t, r0), np.zeros_like(t)
    return np.clip(r, 0.02, 0.98), np.clip(v, -0.98, 0.98), side


def _blob(r: float, v: float, sr: float, sv: float) -> np.ndarray:
    rb = r * (RANGE_BINS - 1)
    vb = (v + 1) / 2 * (DOPPLER_BINS - 1)
    return np.exp(-0.5 * (((_R - rb) / sr) ** 2 + ((_V - vb) / sv) ** 2))


def make_sample(cls: int, rng: np.random.Generator) -> np.ndarray:
    # time warp: the gesture occupies [onset, onset + length] of the window
    length = rng.uniform(0.6, 1.0)
    onset = rng.uniform(0.0, 1.0 - length)
    frames = np.arange(FRAMES) / (FRAMES - 1)
    t = np.clip((frames - onset) / length, 0.0, 1.0)
    r, v, side = _trajectory(cls, t, rng)
    active = (frames >= onset) & (frames <= onset + length)
    amp = rng.uniform(0.35, 1.2)
    clutter_r = rng.uniform(0.1, 0.9)
    clutter_a = rng.uniform(0.2, 1.0)
    imbalance = rng.uniform(0.7, 1.3)  # antenna gain mismatch
    noise = rng.uniform(0.1, 0.45)
    x = np.zeros(SAMPLE_SHAPE)
    for f in range(FRAMES):
        clutter = clutter_a * _blob(clutter_r, 0.0, 1.2, 0.6)
        hand = np.zeros((RANGE_BINS, DOPPLER_BINS))
        if cls != 10 and active[f]:
            sv = 0.8 + 2.0 * abs(v[f])  # faster motion smears more Doppler bins
            hand = amp * _blob(r[f], v[f], 1.0, sv)
            if cls == 7:
                hand += 0.7 * amp * _blob(r[f] + 0.05, -v[f], 0.8, 0.8)
        elif cls == 10 and rng.random() < 0.3:  # idle hand: a weak static return
            hand = 0.3 * amp * _blob(r[f], 0.0, 1.0, 0.8)
        for a_i, gain in enumerate((side[f] * imbalance, 1.0 - side[f])):
            power = (0.3 + 1.4 * gain) * hand + clutter
            power = power + noise * rng.exponential(1.0, power.shape)
            x[f, a_i] = np.log1p(8.0 * power)
    return x.astype(np.float32)


def make_dataset(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` samples, classes balanced and shuffled: (x [count, *SAMPLE_SHAPE], labels)."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(count) % len(CLASSES)).astype(np.int64)
    x = np.stack([make_sample(int(c), rng) for c in labels])
    return x, labels


def agreement_inputs(count: int = AGREEMENT_COUNT) -> np.ndarray:
    """Float model inputs ``[count][FRAMES][ANTENNAS][RANGE][DOPPLER]`` for the ORT check."""
    return make_dataset(count, AGREEMENT_SEED)[0]
