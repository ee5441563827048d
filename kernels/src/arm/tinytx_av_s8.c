/*
 * Cortex-M DSP A*V: uint8 probabilities x int8 V^T in 2 x 2 tiles (two query rows,
 * two value features) of the scratch-free engine of tinytx_linear_s8.c, results
 * written straight into the head concatenation [S][H*P].
 */
#include "tinytx_arm_common.h"
#include "tinytx/kernels.h"
#include "../tinytx_check.h"

/* One output per dot product (factors not below 2^-2, or a single row or feature). */
static void av_c(const tinytx_attention_dims *dims, tinytx_requant requant, const uint8_t *probs,
		 const int8_t *vt, int8_t *output)
{
	const int32_t sq = dims->q_rows, skv = dims->kv_rows, p_dim = dims->head_dim;
	const size_t stride = (size_t)dims->heads * p_dim;
	for (int32_t h = 0; h < dims->heads; h++) {
		for (int32_t i = 0; i < sq; i++) {
			const uint8_t *a = probs + ((size_t)h * sq + i) * skv;
			int8_t *o = output + (size_t)i * stride + (size_t)h * p_dim;
			for (int32_t p = 0; p < p_dim; p++) {
				const int8_t *v = vt + ((size_t)h * p_dim + p) * skv;
				o[p] = tt_requant_s8(tt_dot_1x1(a, v, skv, 1, 0), requant, -128, 127);
			}
		}
	}
}

tinytx_status tinytx_av_s8(const tinytx_attention_dims *dims, tinytx_requant requant,
			   const uint8_t *probs, const int8_t *vt, int8_t *output)
{
	tinytx_status st = tinytx_check_av_call(dims, requant, probs, vt, output);
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t sq = dims->q_rows, skv = dims->kv_rows, p_dim = dims->head_dim;
	const int32_t stride = dims->heads * p_dim;
	const tt_rq rq = tt_rq_plan(requant);
	if (!rq.fast || sq < 2 || p_dim < 2) {
		av_c(dims, requant, probs, vt, output);
		return TINYTX_OK;
	}
	for (int32_t h = 0; h < dims->heads; h++) {
		const uint8_t *ah = probs + (size_t)h * sq * skv;
		const int8_t *vh = vt + (size_t)h * p_dim * skv;
		int8_t *oh = output + (size_t)h * p_dim;
		for (int32_t p = 0; p < p_dim; p += 2) {
			const int32_t p0 = p + 1 < p_dim ? p : p - 1; /* odd P: the last pair overlaps */
			tt_rows_column(tt_rows_u8, ah, vh + (size_t)p0 * skv, skv, sq, 0, 0, &rq, NULL,
				       oh + p0, oh + p0 + 1, stride);
		}
	}
	return TINYTX_OK;
}
