/*
 * Cortex-M DSP A*V: 2 query rows x 2 value features per tile, uint8
 * probabilities widened with UXTB16 and int8 values with SXTB16, results written
 * straight into the head concatenation [S][H*P].
 */
#include "tinytx_arm_common.h"
#include "tinytx/kernels.h"
#include "../tinytx_check.h"

tinytx_status tinytx_av_s8(const tinytx_attention_dims *dims, tinytx_requant requant,
			   const uint8_t *probs, const int8_t *vt, int8_t *output)
{
	if (dims == NULL || probs == NULL || vt == NULL || output == NULL) {
		return TINYTX_ERR_NULL;
	}
	tinytx_status st = tinytx_check_attention_dims(dims);
	if (st != TINYTX_OK) {
		return st;
	}
	if (!tinytx_requant_valid(requant)) {
		return TINYTX_ERR_PARAM;
	}
	const int32_t sq = dims->q_rows, skv = dims->kv_rows, p_dim = dims->head_dim;
	const size_t stride = (size_t)dims->heads * p_dim;

	for (int32_t h = 0; h < dims->heads; h++) {
		const uint8_t *ah = probs + (size_t)h * sq * skv;
		const int8_t *vh = vt + (size_t)h * p_dim * skv;
		int8_t *oh = output + (size_t)h * p_dim;
		int32_t i = 0;
		for (; i + 2 <= sq; i += 2) {
			const uint8_t *a0 = ah + (size_t)i * skv;
			int8_t *o0 = oh + (size_t)i * stride, *o1 = o0 + stride;
			int32_t p = 0;
			for (; p + 2 <= p_dim; p += 2) {
				const int8_t *v0 = vh + (size_t)p * skv;
				int32_t c00, c01, c10, c11;
				tt_dot_2x2_u8s8(a0, a0 + skv, v0, v0 + skv, skv, &c00, &c01, &c10,
						&c11);
				o0[p] = tt_requant_s8(c00, requant, -128, 127);
				o0[p + 1] = tt_requant_s8(c01, requant, -128, 127);
				o1[p] = tt_requant_s8(c10, requant, -128, 127);
				o1[p + 1] = tt_requant_s8(c11, requant, -128, 127);
			}
			if (p < p_dim) {
				const int8_t *v = vh + (size_t)p * skv;
				o0[p] = tt_requant_s8(tt_dot_1x1_u8s8(a0, v, skv), requant, -128, 127);
				o1[p] = tt_requant_s8(tt_dot_1x1_u8s8(a0 + skv, v, skv), requant, -128,
						      127);
			}
		}
		if (i < sq) {
			const uint8_t *a = ah + (size_t)i * skv;
			int8_t *o = oh + (size_t)i * stride;
			for (int32_t p = 0; p < p_dim; p++) {
				o[p] = tt_requant_s8(tt_dot_1x1_u8s8(a, vh + (size_t)p * skv, skv),
						     requant, -128, 127);
			}
		}
	}
	return TINYTX_OK;
}
