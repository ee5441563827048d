/*
 * Cortex-M requantized element-wise add (formula in tinytx/core/golden/add.py): four
 * elements per step from one word of each input (SXTB with rotation), two MLA and
 * one shift each, SSAT for the full int8 range. Output may alias either input (each
 * word of the inputs is read before its four results are stored).
 */
#include "tinytx_arm_common.h"
#include "tinytx/kernels.h"
#include "../tinytx_check.h"

/*
 * One result: MLA, MLA, shift, (+ zp), then the int8 range (full) or the activation
 * clamp. round holds 2^(shift-1), the input offset and, when it fits, the output zero
 * point shifted up (then zp is the constant 0 and costs nothing).
 */
static inline __attribute__((always_inline)) int32_t add1(int32_t a, int32_t b, int32_t ma,
							  int32_t mb, int32_t round, int32_t shift,
							  int32_t zp, int32_t lo, int32_t hi, int full)
{
	const int32_t y = ((b * mb + (a * ma + round)) >> shift) + zp;
	return full ? __ssat(y, 8) : (y < lo ? lo : (y > hi ? hi : y));
}

static inline __attribute__((always_inline)) void
add_words(int32_t size, const int8_t *in_a, const int8_t *in_b, int8_t *out, int32_t ma,
	  int32_t mb, int32_t round, int32_t shift, int32_t zp, int32_t lo, int32_t hi, int full)
{
	for (int32_t i = 0; i + 4 <= size; i += 4) {
		const uint32_t wa = tt_read_u32(in_a + i), wb = tt_read_u32(in_b + i);
		const int32_t y0 =
			add1((int8_t)wa, (int8_t)wb, ma, mb, round, shift, zp, lo, hi, full);
		const int32_t y1 = add1((int8_t)(wa >> 8), (int8_t)(wb >> 8), ma, mb, round, shift,
					zp, lo, hi, full);
		const int32_t y2 = add1((int8_t)(wa >> 16), (int8_t)(wb >> 16), ma, mb, round,
					shift, zp, lo, hi, full);
		const int32_t y3 = add1((int8_t)(wa >> 24), (int8_t)(wb >> 24), ma, mb, round,
					shift, zp, lo, hi, full);
		out[i] = (int8_t)y0;
		out[i + 1] = (int8_t)y1;
		out[i + 2] = (int8_t)y2;
		out[i + 3] = (int8_t)y3;
	}
}

tinytx_status tinytx_add_s8(int32_t size, const tinytx_add_params *params, const int8_t *input_a,
			    const int8_t *input_b, int8_t *output)
{
	tinytx_status st = tinytx_check_add_call(size, params, input_a, input_b, output);
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t ma = params->m_a, mb = params->m_b, shift = params->shift;
	/* the offset check (tinytx_check_add_call) keeps round + the sum in int32 */
	int32_t round = (int32_t)(1UL << (shift - 1)) + params->offset;
	int32_t zp = params->zero_point;
	const int64_t folded = (int64_t)round + ((int64_t)zp << shift);
	if (128 * ((int64_t)ma + mb) + (folded < 0 ? -folded : folded) <= INT32_MAX) {
		round = (int32_t)folded; /* (v + z 2^s) >> s == (v >> s) + z */
		zp = 0;
	}
	const int32_t lo = params->act.min, hi = params->act.max;
	const int full = lo == -128 && hi == 127;
	if (zp != 0) {
		add_words(size, input_a, input_b, output, ma, mb, round, shift, zp, lo, hi, 0);
	} else if (full) {
		add_words(size, input_a, input_b, output, ma, mb, round, shift, 0, lo, hi, 1);
	} else {
		add_words(size, input_a, input_b, output, ma, mb, round, shift, 0, lo, hi, 0);
	}
	for (int32_t i = size & ~3; i < size; i++) {
		int32_t y = ((input_a[i] * ma + input_b[i] * mb + round) >> shift) + zp;
		y = y < lo ? lo : (y > hi ? hi : y);
		output[i] = (int8_t)y;
	}
	return TINYTX_OK;
}
