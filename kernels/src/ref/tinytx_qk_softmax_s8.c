/* Reference QK^T fused with the integer softmax, one query row at a time. */
#include "tinytx/kernels.h"
#include "tinytx/requant.h"
#include "../tinytx_check.h"

tinytx_status tinytx_qk_softmax_s8(const tinytx_attention_dims *dims, tinytx_requant softmax,
				   const int8_t *q, const int8_t *k, uint8_t *probs,
				   const tinytx_context *ctx)
{
	const tinytx_status st = tinytx_check_qk_softmax_ctx(dims, softmax, q, k, probs, ctx);
	if (st != TINYTX_OK) {
		return st;
	}
	void *scratch = ctx->buf;
	const int32_t sq = dims->q_rows;
	const int32_t skv = dims->kv_rows;
	const int32_t p_dim = dims->head_dim;
	int32_t *row = (int32_t *)scratch;

	for (int32_t h = 0; h < dims->heads; h++) {
		const int8_t *kh = k + (dims->k_heads == 1 ? 0 : (size_t)h * skv * p_dim);
		for (int32_t i = 0; i < sq; i++) {
			const int8_t *qi = q + ((size_t)h * sq + i) * p_dim;
			int32_t max = INT32_MIN;
			for (int32_t j = 0; j < skv; j++) {
				const int8_t *kj = kh + (size_t)j * p_dim;
				int32_t acc = 0;
				for (int32_t p = 0; p < p_dim; p++) {
					acc += (int32_t)qi[p] * kj[p];
				}
				row[j] = acc;
				max = acc > max ? acc : max;
			}
			uint32_t sum = 0;
			for (int32_t j = 0; j < skv; j++) {
				uint32_t e = tinytx_i_exp(tinytx_softmax_logit(row[j] - max, softmax));
				row[j] = (int32_t)e;
				sum += e;
			}
			uint8_t *out = probs + ((size_t)h * sq + i) * skv;
			for (int32_t j = 0; j < skv; j++) {
				out[j] = tinytx_softmax_prob((uint32_t)row[j], sum);
			}
		}
	}
	return TINYTX_OK;
}
