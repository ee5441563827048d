/*
 * tinytx kernel API. Every kernel validates its arguments and returns a
 * tinytx_status; buffers are caller-owned (no allocation inside). Kernels that
 * need scratch memory have a *_get_buffer_size companion returning the bytes
 * needed, or a negative tinytx_status for invalid dims. Its last argument num_cores
 * (>= 1, else TINYTX_ERR_DIMS) is the number of cores the kernel runs on
 * (tinytx_parallel_num_cores() of the build's parallel port): the riscv kernels keep
 * per-core working sets, so their sizes grow with it; ref and arm ignore its value.
 * The sizes are plain C without target code, so the host tools compile the same
 * functions (kernels/abi) instead of re-deriving them. The kernel takes its scratch as a
 * tinytx_context (buffer and size) and returns TINYTX_ERR_SCRATCH, before touching any
 * memory, when it is missing or smaller than *_get_buffer_size(dims,
 * tinytx_parallel_num_cores()).
 *
 * Semantics are defined bit for bit by the golden model (scripts/tinytx/golden)
 * and documented in docs/golden-model.md.
 */
#ifndef TINYTX_KERNELS_H
#define TINYTX_KERNELS_H

#include "tinytx/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Linear layer y = requant(x W^T + b), x [S][K], W [N][K], b [N] (may be NULL),
 * y written in dims->layout: [S][N], [H][S][P] or [H][P][S]. The factor is per tensor
 * (params->requant) or per output feature (params->multipliers/shifts); the output
 * zero point is params->requant.zero_point (an input zero point is folded into b).
 */
tinytx_status tinytx_linear_s8(const tinytx_linear_dims *dims, const tinytx_linear_params *params,
			       const int8_t *input, const int8_t *weights, const int32_t *bias,
			       int8_t *output);

/*
 * The same linear layer with a scratch buffer (the converter uses it for the layers
 * outside attention blocks): ctx holds tinytx_linear_buf_s8_get_buffer_size() bytes,
 * 4-byte aligned, not overlapping the other buffers; 0 when the variant needs none (ref,
 * riscv: then it is tinytx_linear_s8). ctx NULL or ctx->size 0 always gives the
 * scratch-free tinytx_linear_s8; a smaller nonzero size is TINYTX_ERR_SCRATCH. arm: int16
 * copies of x and of two rows of W for token-major outputs with S >= 2 and N >= 2.
 */
int32_t tinytx_linear_buf_s8_get_buffer_size(const tinytx_linear_dims *dims, int32_t num_cores);
tinytx_status tinytx_linear_buf_s8(const tinytx_linear_dims *dims,
				   const tinytx_linear_params *params, const int8_t *input,
				   const int8_t *weights, const int32_t *bias, int8_t *output,
				   const tinytx_context *ctx);

/*
 * QK^T fused with the integer softmax: q [H][q_rows][P], k [k_heads][kv_rows][P],
 * probabilities written as uint8 (scale 1/256) [H][q_rows][kv_rows].
 * ctx: tinytx_qk_softmax_s8_get_buffer_size() bytes (one int32 score row; riscv: one
 * per core), 4-byte aligned.
 */
int32_t tinytx_qk_softmax_s8_get_buffer_size(const tinytx_attention_dims *dims,
					     int32_t num_cores);
tinytx_status tinytx_qk_softmax_s8(const tinytx_attention_dims *dims, tinytx_requant softmax,
				   const int8_t *q, const int8_t *k, uint8_t *probs,
				   const tinytx_context *ctx);

/*
 * A*V: probs [H][q_rows][kv_rows] uint8, vt [H][P][kv_rows] int8, output written
 * straight into the head concatenation [q_rows][H*P] (row stride H*P).
 */
tinytx_status tinytx_av_s8(const tinytx_attention_dims *dims, tinytx_requant requant,
			   const uint8_t *probs, const int8_t *vt, int8_t *output);

/*
 * Multi-head self-attention block, input and output [S][E], bit-exact with the
 * layer-wise golden block. ctx: tinytx_mhsa_s8_get_buffer_size() bytes, which
 * depend on the kernel variant (ref: Q, K, V^T and the H x S x S map; arm: int16
 * operands of one head and two rows of the map, docs/kernel-api.md).
 */
int32_t tinytx_mhsa_s8_get_buffer_size(const tinytx_mhsa_dims *dims, int32_t num_cores);
tinytx_status tinytx_mhsa_s8(const tinytx_mhsa_dims *dims, const tinytx_mhsa_params *params,
			     const tinytx_mhsa_weights *weights, const int8_t *input,
			     int8_t *output, const tinytx_context *ctx);

/*
 * Depth-first tiled MHSA (same result as tinytx_mhsa_s8): per head, K and V^T once,
 * then query rows in tiles of tile_rows (1..S) rows, so the S x S map is never held.
 * ctx: tinytx_mhsa_dft_s8_get_buffer_size(dims, tile_rows, n) bytes, 4-byte aligned.
 * The output may alias the input; neither may overlap the scratch.
 */
int32_t tinytx_mhsa_dft_s8_get_buffer_size(const tinytx_mhsa_dims *dims, int32_t tile_rows,
					   int32_t num_cores);
tinytx_status tinytx_mhsa_dft_s8(const tinytx_mhsa_dims *dims, int32_t tile_rows,
				 const tinytx_mhsa_params *params,
				 const tinytx_mhsa_weights *weights, const int8_t *input,
				 int8_t *output, const tinytx_context *ctx);

/* Fused-weight self-attention block (scores = (X W_h) X^T), input and output [S][E]. */
int32_t tinytx_fwsa_s8_get_buffer_size(const tinytx_mhsa_dims *dims, int32_t num_cores);
tinytx_status tinytx_fwsa_s8(const tinytx_mhsa_dims *dims, const tinytx_fwsa_params *params,
			     const tinytx_fwsa_weights *weights, const int8_t *input,
			     int8_t *output, const tinytx_context *ctx);

/* Depth-first tiled FWSA (same result as tinytx_fwsa_s8); tile_rows, scratch and
 * aliasing as for tinytx_mhsa_dft_s8. */
int32_t tinytx_fwsa_dft_s8_get_buffer_size(const tinytx_mhsa_dims *dims, int32_t tile_rows,
					   int32_t num_cores);
tinytx_status tinytx_fwsa_dft_s8(const tinytx_mhsa_dims *dims, int32_t tile_rows,
				 const tinytx_fwsa_params *params,
				 const tinytx_fwsa_weights *weights, const int8_t *input,
				 int8_t *output, const tinytx_context *ctx);

/* Integer LayerNorm over the features of each row; gamma int8 [E], beta int32 [E]. */
tinytx_status tinytx_layernorm_s8(const tinytx_layernorm_dims *dims,
				  const tinytx_layernorm_params *params, const int8_t *input,
				  const int8_t *gamma, const int32_t *beta, int8_t *output);

/*
 * Integer GELU of size elements (input and output may alias). arm: from 256 elements
 * on, a 256-byte table of every int8 input on the stack.
 */
tinytx_status tinytx_gelu_s8(int32_t size, const tinytx_gelu_params *params, const int8_t *input,
			     int8_t *output);

/*
 * Any unary function of int8 values (Sigmoid, Tanh, HardSwish, LeakyRelu, SiLU, GELU,
 * ...) through a 256-entry table built offline (tinytx/core/golden/lut.py):
 * output[i] = table[(uint8_t)input[i]], i.e. indexed by the input byte (code & 0xFF),
 * so table[0..127] holds the codes 0..127 and table[128..255] the codes -128..-1.
 * The output may be the input itself (in place) or not overlap it; it must not overlap
 * the table. Any alignment. arm: four elements per 32-bit load/store; riscv: the
 * elements split over the cores.
 */
tinytx_status tinytx_lut_s8(int32_t size, const int8_t *table, const int8_t *input,
			    int8_t *output);

/* Requantized element-wise add (output may alias either input). */
tinytx_status tinytx_add_s8(int32_t size, const tinytx_add_params *params, const int8_t *input_a,
			    const int8_t *input_b, int8_t *output);

/*
 * Convolution frontends: one int8 image, channels last ([H][W][C]), padded positions
 * hold params->pad_value (the input zero point), per-tensor or per-channel factors.
 * conv2d weights [out_c][kernel_h][kernel_w][in_c], bias [out_c] (may be NULL).
 * ctx: tinytx_conv2d_s8_get_buffer_size() bytes (4-byte aligned); may be NULL
 * when that is 0 (it is for the reference kernel).
 */
int32_t tinytx_conv2d_s8_get_buffer_size(const tinytx_conv2d_dims *dims, int32_t num_cores);
tinytx_status tinytx_conv2d_s8(const tinytx_conv2d_dims *dims, const tinytx_conv2d_params *params,
			       const int8_t *input, const int8_t *weights, const int32_t *bias,
			       int8_t *output, const tinytx_context *ctx);

/* Depthwise convolution: weights [kernel_h][kernel_w][out_c], bias [out_c] (out_c = in_c
 * times dims->depth_multiplier). Either conv with a dilation or a depth multiplier in its
 * dims runs one straightforward loop in every variant (no scratch). */
tinytx_status tinytx_depthwise_conv2d_s8(const tinytx_conv2d_dims *dims,
					 const tinytx_conv2d_params *params, const int8_t *input,
					 const int8_t *weights, const int32_t *bias, int8_t *output);

/* Max pooling; padded positions never win. Input and output share one scale. */
tinytx_status tinytx_maxpool2d_s8(const tinytx_pool2d_dims *dims, const int8_t *input,
				  int8_t *output);

/* Average pooling: the window sum rescaled and divided by its count with one rounding. */
tinytx_status tinytx_avgpool2d_s8(const tinytx_pool2d_dims *dims,
				  const tinytx_avgpool2d_params *params, const int8_t *input,
				  int8_t *output);

/* Mean over the rows of [S][E] (ReduceMean over tokens, global average pooling): [E]. */
tinytx_status tinytx_mean_rows_s8(const tinytx_mean_rows_dims *dims,
				  const tinytx_mean_rows_params *params, const int8_t *input,
				  int8_t *output);

/*
 * Sparse weights (tinytx_sparse_weights): the same layers with W stored by its nonzero
 * entries, bit-exact with tinytx_linear_s8 / tinytx_conv2d_s8 on the decoded W. The
 * weights' rows/cols must equal out_features/in_features (linear) or
 * out_c/kernel_h*kernel_w*in_c (conv2d), else TINYTX_ERR_DIMS; a row_ptr that does not
 * rise or a gap that leaves the row is TINYTX_ERR_PARAM. ctx: the *_get_buffer_size
 * bytes (4-byte aligned), which depend on the dims only; 0 bytes allows ctx NULL.
 */
int32_t tinytx_linear_sparse_s8_get_buffer_size(const tinytx_linear_dims *dims, int32_t num_cores);
tinytx_status tinytx_linear_sparse_s8(const tinytx_linear_dims *dims,
				      const tinytx_linear_params *params, const int8_t *input,
				      const tinytx_sparse_weights *weights, const int32_t *bias,
				      int8_t *output, const tinytx_context *ctx);
int32_t tinytx_conv2d_sparse_s8_get_buffer_size(const tinytx_conv2d_dims *dims, int32_t num_cores);
tinytx_status tinytx_conv2d_sparse_s8(const tinytx_conv2d_dims *dims,
				      const tinytx_conv2d_params *params, const int8_t *input,
				      const tinytx_sparse_weights *weights, const int32_t *bias,
				      int8_t *output, const tinytx_context *ctx);

/*
 * Gather (data movement, tinytx_gather_dims): indices [count] each in [0, axis_len), or
 * NULL for 0..count-1 (a copy of rows into a wider output). The output must not overlap
 * the input. Bytes are copied unchanged.
 */
tinytx_status tinytx_gather_s8(const tinytx_gather_dims *dims, const int32_t *indices,
			       const int8_t *input, int8_t *output);

/* Requantized element-wise product (output may alias either input). */
tinytx_status tinytx_mul_s8(int32_t size, const tinytx_mul_params *params, const int8_t *input_a,
			    const int8_t *input_b, int8_t *output);

/*
 * LayerNorm over the features of each row as the TFLite converter decomposes it, each
 * step in TFLite's int8 arithmetic (tinytx/core/golden/layernorm_steps.py): equal to
 * the TFLite interpreter's reference kernels bit for bit. gamma, beta int8 [E] (TFLite's
 * constants), table int8 [256] (ADD eps then RSQRT of the variance code, indexed by its
 * byte). dims as for tinytx_layernorm_s8; input and output must not overlap.
 */
tinytx_status tinytx_layernorm_steps_s8(const tinytx_layernorm_dims *dims,
					const tinytx_layernorm_steps_params *params,
					const int8_t *input, const int8_t *gamma, const int8_t *beta,
					const int8_t *table, int8_t *output);

/*
 * Self-attention's scores, scalar MUL, softmax and A*V as the TFLite converter emits them
 * (BATCH_MATMUL, MUL, SOFTMAX, BATCH_MATMUL), each step in TFLite's int8 arithmetic
 * (tinytx/core/golden/attention_steps.py): equal to the TFLite interpreter's reference
 * kernels bit for bit. q, k, v int8 [S][H*P] (column h*P + p: position p of head h; the
 * projections' outputs, zero points in params), output int8 [S][H*P] (the heads
 * merged). exp_table int32 [256]: the softmax's exponential (Q0.31) of each difference
 * -i to the row maximum, 0 below diff_min (attention_steps.py: exp_table, a function of
 * params->softmax). No scratch (a row of up to 128 scores and 16 accumulators stay on the
 * stack: 192 bytes); the output must not overlap an input.
 */
tinytx_status tinytx_attention_steps_s8(const tinytx_attention_steps_dims *dims,
					const tinytx_attention_steps_params *params, const int8_t *q,
					const int8_t *k, const int8_t *v, const int32_t *exp_table,
					int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TINYTX_KERNELS_H */
