/*
 * tinytx kernel API. Every kernel validates its arguments and returns a
 * tinytx_status; buffers are caller-owned (no allocation inside). Kernels that
 * need scratch memory have a *_get_buffer_size companion returning the bytes
 * needed, or a negative tinytx_status for invalid dims.
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
 * y written in dims->layout: [S][N], [H][S][P] or [H][P][S].
 */
tinytx_status tinytx_linear_s8(const tinytx_linear_dims *dims, const tinytx_linear_params *params,
			       const int8_t *input, const int8_t *weights, const int32_t *bias,
			       int8_t *output);

/*
 * QK^T fused with the integer softmax: q [H][q_rows][P], k [k_heads][kv_rows][P],
 * probabilities written as uint8 (scale 1/256) [H][q_rows][kv_rows].
 * scratch: tinytx_qk_softmax_s8_get_buffer_size() bytes, 4-byte aligned.
 */
int32_t tinytx_qk_softmax_s8_get_buffer_size(const tinytx_attention_dims *dims);
tinytx_status tinytx_qk_softmax_s8(const tinytx_attention_dims *dims, tinytx_requant softmax,
				   const int8_t *q, const int8_t *k, uint8_t *probs,
				   void *scratch);

/*
 * A*V: probs [H][q_rows][kv_rows] uint8, vt [H][P][kv_rows] int8, output written
 * straight into the head concatenation [q_rows][H*P] (row stride H*P).
 */
tinytx_status tinytx_av_s8(const tinytx_attention_dims *dims, tinytx_requant requant,
			   const uint8_t *probs, const int8_t *vt, int8_t *output);

/* Layer-wise multi-head self-attention block, input and output [S][E]. */
int32_t tinytx_mhsa_s8_get_buffer_size(const tinytx_mhsa_dims *dims);
tinytx_status tinytx_mhsa_s8(const tinytx_mhsa_dims *dims, const tinytx_mhsa_params *params,
			     const tinytx_mhsa_weights *weights, const int8_t *input,
			     int8_t *output, void *scratch);

/* Fused-weight self-attention block (scores = (X W_h) X^T), input and output [S][E]. */
int32_t tinytx_fwsa_s8_get_buffer_size(const tinytx_mhsa_dims *dims);
tinytx_status tinytx_fwsa_s8(const tinytx_mhsa_dims *dims, const tinytx_fwsa_params *params,
			     const tinytx_fwsa_weights *weights, const int8_t *input,
			     int8_t *output, void *scratch);

/* Integer LayerNorm over the features of each row; gamma int8 [E], beta int32 [E]. */
tinytx_status tinytx_layernorm_s8(const tinytx_layernorm_dims *dims,
				  const tinytx_layernorm_params *params, const int8_t *input,
				  const int8_t *gamma, const int32_t *beta, int8_t *output);

/* Integer GELU of size elements (input and output may alias). */
tinytx_status tinytx_gelu_s8(int32_t size, const tinytx_gelu_params *params, const int8_t *input,
			     int8_t *output);

/* Requantized element-wise add (output may alias either input). */
tinytx_status tinytx_add_s8(int32_t size, const tinytx_add_params *params, const int8_t *input_a,
			    const int8_t *input_b, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TINYTX_KERNELS_H */
