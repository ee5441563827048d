/* Reference A*V writing the head concatenation [S][H*P] directly. */
#include "tinytx/kernels.h"
#include "tinytx/requant.h"
#include "../tinytx_check.h"

tinytx_status tinytx_av_s8(const tinytx_attention_dims *dims, tinytx_requant requant,
			   const uint8_t *probs, const int8_t *vt, int8_t *output)
{
	tinytx_status st = tinytx_check_av_call(dims, requant, probs, vt, output);
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t sq = dims->q_rows;
	const int32_t skv = dims->kv_rows;
	const int32_t p_dim = dims->head_dim;
	const size_t stride = (size_t)dims->heads * p_dim;

	for (int32_t h = 0; h < dims->heads; h++) {
		for (int32_t i = 0; i < sq; i++) {
			const uint8_t *a = probs + ((size_t)h * sq + i) * skv;
			for (int32_t p = 0; p < p_dim; p++) {
				const int8_t *v = vt + ((size_t)h * p_dim + p) * skv;
				int32_t acc = 0;
				for (int32_t j = 0; j < skv; j++) {
					acc += (int32_t)a[j] * v[j];
				}
				output[(size_t)i * stride + (size_t)h * p_dim + p] =
					tinytx_requantize_s8(acc, requant, -128, 127);
			}
		}
	}
	return TINYTX_OK;
}
