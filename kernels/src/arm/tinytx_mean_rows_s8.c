/*
 * Cortex-M DSP mean over the rows of [S][E] (tinytx/core/golden/pool.py): four columns per
 * word, their sums as int16 pairs (SXTAB16 with and without ROR #8, one LDR and two
 * instructions per four elements) over chunks of up to 256 rows (|sum| <= 128 * 256
 * stays within int16), added to int32 column sums; the last E % 4 columns one by one.
 * The requantization is the shared plan (tt_rq), the input zero point one constant
 * per column (-S * z_in).
 */
#include "tinytx_arm_common.h"
#include "tinytx/kernels.h"
#include "tinytx/requant.h"
#include "../tinytx_check.h"

#define TT_MEAN_CHUNK 256

/* Out of line: inlined at its five calls, the 64-bit fallback of tt_rq_apply made the
 * kernel 1.6 KB. */
static __attribute__((noinline)) int8_t mean_out(int32_t sum, const tt_rq *rq, int32_t lo,
						 int32_t hi)
{
	const int32_t y = tt_rq_apply(sum, rq);
	return (int8_t)(y < lo ? lo : (y > hi ? hi : y));
}

tinytx_status tinytx_mean_rows_s8(const tinytx_mean_rows_dims *dims,
				  const tinytx_mean_rows_params *params, const int8_t *input,
				  int8_t *output)
{
	const tinytx_status st = tinytx_check_mean_rows_call(dims, params, input, output);
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t rows = dims->rows, e = dims->features;
	const tt_rq rq = tt_rq_plan(params->requant);
	const int32_t lo = params->act.min, hi = params->act.max;
	const int32_t base = -rows * params->input_zero_point; /* |sum| <= 255 * 65535 */
	const size_t stride = (size_t)e;
	int32_t j = 0;
	for (; j + 4 <= e; j += 4) {
		int32_t s0 = base, s1 = base, s2 = base, s3 = base;
		for (int32_t r0 = 0; r0 < rows; r0 += TT_MEAN_CHUNK) {
			const int32_t n = rows - r0 < TT_MEAN_CHUNK ? rows - r0 : TT_MEAN_CHUNK;
			const int8_t *p = input + (size_t)r0 * stride + (size_t)j;
			int32_t even = 0, odd = 0; /* columns (j, j + 2) and (j + 1, j + 3) */
			for (int32_t r = 0; r < n; r++) {
				const uint32_t w = tt_read_u32(p);
				even = __sxtab16(even, w);
				odd = tt_sxtab16_hi(odd, w);
				p += stride;
			}
			s0 += (int16_t)even;
			s1 += (int16_t)odd;
			s2 += even >> 16;
			s3 += odd >> 16;
		}
		output[j] = mean_out(s0, &rq, lo, hi);
		output[j + 1] = mean_out(s1, &rq, lo, hi);
		output[j + 2] = mean_out(s2, &rq, lo, hi);
		output[j + 3] = mean_out(s3, &rq, lo, hi);
	}
	for (; j < e; j++) {
		int32_t sum = base;
		for (int32_t s = 0; s < rows; s++) {
			sum += input[(size_t)s * stride + (size_t)j];
		}
		output[j] = mean_out(sum, &rq, lo, hi);
	}
	return TINYTX_OK;
}
