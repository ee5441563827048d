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
	tinytx_status st = tinytx_check_av_call(dims, requant, probs, vt, output);
	if (st != TINYTX_OK) {
		return st;
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
				int32_t c[4] = {0, 0, 0, 0};
				tt_dot_2x2(a0, a0 + skv, v0, v0 + skv, skv, 1, c);
				o0[p] = tt_requant_s8(c[0], requant, -128, 127);
				o0[p + 1] = tt_requant_s8(c[1], requant, -128, 127);
				o1[p] = tt_requant_s8(c[2], requant, -128, 127);
				o1[p + 1] = tt_requant_s8(c[3], requant, -128, 127);
			}
			if (p < p_dim) {
				const int8_t *v = vh + (size_t)p * skv;
				o0[p] = tt_requant_s8(tt_dot_1x1(a0, v, skv, 1, 0), requant, -128, 127);
				o1[p] = tt_requant_s8(tt_dot_1x1(a0 + skv, v, skv, 1, 0), requant, -128,
						      127);
			}
		}
		if (i < sq) {
			const uint8_t *a = ah + (size_t)i * skv;
			int8_t *o = oh + (size_t)i * stride;
			for (int32_t p = 0; p < p_dim; p++) {
				o[p] = tt_requant_s8(tt_dot_1x1(a, vh + (size_t)p * skv, skv, 1, 0),
						     requant, -128, 127);
			}
		}
	}
	return TINYTX_OK;
}
