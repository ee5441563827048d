"""The kernels' limits, as the C headers define them (kernels/include/tinytx/types.h).

The golden model refuses what the kernels refuse, with the same bounds: it reads them from
the host-compiled C (:func:`tinytx.core.kernel_abi.kernel_abi`) once, instead of keeping
copies of the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class KernelLimits:
    max_reduction: int  # TINYTX_MAX_REDUCTION: inner (K) dimension, pool window, token mean
    softmax_max_kv: int  # TINYTX_SOFTMAX_MAX_KV: keys per softmax row
    layernorm_max_features: int  # TINYTX_LAYERNORM_MAX_FEATURES
    bias_bound: int  # TINYTX_BIAS_BOUND: |bias| of a linear layer or conv
    requant_shift_max: int  # TINYTX_REQUANT_SHIFT_MAX: tinytx_requant.shift 1..this
    add_multiplier_max: int  # TINYTX_ADD_MULTIPLIER_MAX: tinytx_add_params.m_a, m_b
    add_shift_max: int  # TINYTX_ADD_SHIFT_MAX: tinytx_add_params.shift 1..this
    gelu_q_one_limit: int  # TINYTX_GELU_Q_ONE_LIMIT: tinytx_gelu_params.q_one below this
    max_dim: int  # TINYTX_MAX_DIM: any image side, kernel side, stride or pad
    mul_left_shift_max: int  # TINYTX_MUL_LEFT_SHIFT_MAX: tinytx_mul_params.shift -31..this
    sparse_max_entries: int  # TINYTX_SPARSE_MAX_ENTRIES: entries of tinytx_sparse_weights
    attention_steps_max_seq: int  # TINYTX_ATTENTION_STEPS_MAX_SEQ: tokens of the steps


#: field -> the C constant it holds
C_NAMES = {
    "max_reduction": "TINYTX_MAX_REDUCTION",
    "softmax_max_kv": "TINYTX_SOFTMAX_MAX_KV",
    "layernorm_max_features": "TINYTX_LAYERNORM_MAX_FEATURES",
    "bias_bound": "TINYTX_BIAS_BOUND",
    "requant_shift_max": "TINYTX_REQUANT_SHIFT_MAX",
    "add_multiplier_max": "TINYTX_ADD_MULTIPLIER_MAX",
    "add_shift_max": "TINYTX_ADD_SHIFT_MAX",
    "gelu_q_one_limit": "TINYTX_GELU_Q_ONE_LIMIT",
    "max_dim": "TINYTX_MAX_DIM",
    "mul_left_shift_max": "TINYTX_MUL_LEFT_SHIFT_MAX",
    "sparse_max_entries": "TINYTX_SPARSE_MAX_ENTRIES",
    "attention_steps_max_seq": "TINYTX_ATTENTION_STEPS_MAX_SEQ",
}


@cache
def kernel_limits() -> KernelLimits:
    """The limits of the kernels (the same for every variant: the reference one's)."""
    from tinytx.core.kernel_abi import kernel_abi

    abi = kernel_abi("ref")
    values = {}
    for field, name in C_NAMES.items():
        value = abi.constant(name)
        assert value is not None
        values[field] = value
    return KernelLimits(**values)
