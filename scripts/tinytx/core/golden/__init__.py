"""The integer golden model: the bit-exact specification of every tinytx kernel.

numpy with integer arithmetic only (floats appear only in the offline parameter
helpers ``*_params`` and in the ``*_float`` references). The reference C kernels,
the optimized kernels and generated model code must equal these functions bit for
bit. The formulas are in each module's docstring and in docs/golden-model.md.
"""

from tinytx.core.golden.add import AddParams, add_params, add_s8
from tinytx.core.golden.attention import (
    FwsaQuant,
    FwsaWeights,
    MhsaQuant,
    MhsaWeights,
    av_s8,
    fwsa_float,
    fwsa_s8,
    fwsa_trace,
    mhsa_float,
    mhsa_s8,
    mhsa_trace,
)
from tinytx.core.golden.attention_steps import AttentionStepsParams, attention_steps_s8
from tinytx.core.golden.attention_steps import check_params as check_attention_steps_params
from tinytx.core.golden.conv import (
    conv2d_float,
    conv2d_s8,
    depthwise_conv2d_float,
    depthwise_conv2d_s8,
)
from tinytx.core.golden.gather import concat_s8, gather_dims, gather_s8
from tinytx.core.golden.gelu import GeluParams, gelu_float, gelu_params, gelu_s8
from tinytx.core.golden.layernorm import layernorm_float, layernorm_params, layernorm_s8
from tinytx.core.golden.layernorm_steps import LayerNormStepsParams, layernorm_steps_s8
from tinytx.core.golden.layernorm_steps import check_params as check_layernorm_steps_params
from tinytx.core.golden.linear import (
    Layout,
    fold_bias,
    fold_bias_depthwise,
    linear_float,
    linear_s8,
)
from tinytx.core.golden.lut import UnarySpec, build_unary_table, lut_s8, make_unary
from tinytx.core.golden.mul import MulParams, mul_params, mul_s8
from tinytx.core.golden.pool import (
    avgpool2d_float,
    avgpool2d_s8,
    maxpool2d_float,
    maxpool2d_s8,
    mean_rows_float,
    mean_rows_s8,
)
from tinytx.core.golden.quant import ChannelRequant, Requant, quantize_multiplier, requantize
from tinytx.core.golden.softmax import i_exp, qk_softmax_s8, softmax_float, softmax_requant

__all__ = [
    "AddParams",
    "AttentionStepsParams",
    "ChannelRequant",
    "FwsaQuant",
    "FwsaWeights",
    "GeluParams",
    "LayerNormStepsParams",
    "Layout",
    "MhsaQuant",
    "MhsaWeights",
    "MulParams",
    "Requant",
    "UnarySpec",
    "add_params",
    "add_s8",
    "attention_steps_s8",
    "av_s8",
    "avgpool2d_float",
    "avgpool2d_s8",
    "build_unary_table",
    "check_attention_steps_params",
    "check_layernorm_steps_params",
    "concat_s8",
    "conv2d_float",
    "conv2d_s8",
    "depthwise_conv2d_float",
    "depthwise_conv2d_s8",
    "fold_bias",
    "fold_bias_depthwise",
    "fwsa_float",
    "fwsa_s8",
    "fwsa_trace",
    "gather_dims",
    "gather_s8",
    "gelu_float",
    "gelu_params",
    "gelu_s8",
    "i_exp",
    "layernorm_float",
    "layernorm_params",
    "layernorm_s8",
    "layernorm_steps_s8",
    "linear_float",
    "linear_s8",
    "lut_s8",
    "make_unary",
    "maxpool2d_float",
    "maxpool2d_s8",
    "mean_rows_float",
    "mean_rows_s8",
    "mhsa_float",
    "mhsa_s8",
    "mhsa_trace",
    "mul_params",
    "mul_s8",
    "qk_softmax_s8",
    "quantize_multiplier",
    "requantize",
    "softmax_float",
    "softmax_requant",
]
