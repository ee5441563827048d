"""How a frontend lowers a dilated convolution: with the dilation in the kernel dims
(the kernels' general loop, the taps as they are) or as an undilated convolution whose
weights hold the dilation as zero taps (the optimized kernels, more MACs and weights).
Both are exact: a zero tap adds nothing, padded taps hold the input zero point.

Measured on the emulated Cortex-M4 (exact instructions, unicorn, ``arm`` kernels,
``tinytx run tests/data/tflite_ops/dilated/model.tflite --profile``, each way): a 3x3
CONV_2D with dilation (2, 3) over 8 channels, 221,184 MACs, took 2,265,755 instructions
in the general loop and 972,550 as zero taps (860,160 MACs): zero taps win up to about
9 times the taps. A 3x3 depthwise with dilation 2 took 356,328 in the general loop and
518,212 as zero taps; with depth multiplier 2 as well, 517,076 against 619,960 (channel
repeat and depthwise): a depthwise convolution keeps its dilation in the dims.
"""

from __future__ import annotations

import numpy as np

#: the largest (dilated kernel taps / kernel taps) still written as zero taps (1: never)
ZERO_TAPS_MAX_RATIO = {"conv2d": 8.0, "depthwise_conv2d": 1.0}


def extent(kernel: tuple[int, ...], dilation: tuple[int, ...]) -> tuple[int, ...]:
    return tuple((k - 1) * d + 1 for k, d in zip(kernel, dilation, strict=True))


def as_zero_taps(kernel: tuple[int, ...], dilation: tuple[int, ...], depthwise: bool) -> bool:
    """True: write the dilation into the weights (see the module docstring)."""
    if all(d == 1 for d in dilation):
        return False
    ratio = float(np.prod(extent(kernel, dilation))) / float(np.prod(kernel))
    return ratio <= ZERO_TAPS_MAX_RATIO["depthwise_conv2d" if depthwise else "conv2d"]


def zero_taps(w: np.ndarray, dilation: tuple[int, ...], axes: tuple[int, ...]) -> np.ndarray:
    """``w`` with its kernel ``axes`` spread ``dilation`` apart, zeros between."""
    shape = list(w.shape)
    for a, d in zip(axes, dilation, strict=True):
        shape[a] = (shape[a] - 1) * d + 1
    out = np.zeros(shape, w.dtype)
    index = [slice(None)] * w.ndim
    for a, d in zip(axes, dilation, strict=True):
        index[a] = slice(None, None, d)
    out[tuple(index)] = w
    return out
