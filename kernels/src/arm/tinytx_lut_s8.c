/*
 * Cortex-M table look-up (tinytx/core/golden/lut.py). Memory bound: the elements go four
 * per 32-bit load and store, eight per loop iteration. Each byte of a loaded word is
 * an index (UXTB with rotation, or LSR #24 for the top byte) of one LDRB from the
 * table; the four results are merged with ORR ... LSL before one STR. The first
 * elements run one by one until the output is 4-byte aligned, so the stores are
 * aligned (loads may stay unaligned, which LDR handles). In place works: every word
 * is read before it is written.
 */
#include "tinytx_arm_common.h"
#include "tinytx/kernels.h"
#include "../tinytx_check.h"

static inline uint32_t lut_word(const uint8_t *t, uint32_t w)
{
	return (uint32_t)t[w & 0xffu] | ((uint32_t)t[(w >> 8) & 0xffu] << 8) |
	       ((uint32_t)t[(w >> 16) & 0xffu] << 16) | ((uint32_t)t[w >> 24] << 24);
}

tinytx_status tinytx_lut_s8(int32_t size, const int8_t *table, const int8_t *input,
			    int8_t *output)
{
	tinytx_status st = tinytx_check_lut_call(size, table, input, output);
	if (st != TINYTX_OK) {
		return st;
	}
	const uint8_t *t = (const uint8_t *)table;
	const uint8_t *x = (const uint8_t *)input;
	uint8_t *y = (uint8_t *)output;
	uint32_t n = (uint32_t)size;
	while (n > 0 && ((uintptr_t)y & 3u) != 0) {
		*y++ = t[*x++];
		n--;
	}
	for (; n >= 8; n -= 8) {
		const uint32_t w0 = tt_read_u32(x), w1 = tt_read_u32(x + 4);
		const uint32_t r0 = lut_word(t, w0), r1 = lut_word(t, w1);
		memcpy(y, &r0, sizeof(r0));
		memcpy(y + 4, &r1, sizeof(r1));
		x += 8;
		y += 8;
	}
	if (n >= 4) {
		const uint32_t r = lut_word(t, tt_read_u32(x));
		memcpy(y, &r, sizeof(r));
		x += 4;
		y += 4;
		n -= 4;
	}
	while (n > 0) {
		*y++ = t[*x++];
		n--;
	}
	return TINYTX_OK;
}
