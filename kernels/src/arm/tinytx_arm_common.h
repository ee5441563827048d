/*
 * Building blocks of the Cortex-M DSP kernels (internal header).
 *
 * Four int8 values packed in a word are widened with SXTB16 (UXTB16 for the
 * uint8 attention probabilities): lo = [b0, b2], hi = [b1, b3] as int16 pairs.
 * Both operands of a dot product are widened the same way, so SMLAD(lo_a, lo_b)
 * + SMLAD(hi_a, hi_b) is a0*b0 + a1*b1 + a2*b2 + a3*b3 with no reordering.
 * Tiles of 2 x 2 dot products share each widened word twice.
 */
#ifndef TINYTX_ARM_COMMON_H
#define TINYTX_ARM_COMMON_H

#if !defined(__ARM_FEATURE_DSP) || __ARM_FEATURE_DSP != 1
#error "kernels/src/arm needs the Cortex-M DSP extension (build the ref variant instead)"
#endif

#include <arm_acle.h>
#include <stdint.h>
#include <string.h>

#include "tinytx/requant.h"
#include "tinytx/types.h"

/* Unaligned 32-bit load (Cortex-M4/M7 LDR handles unaligned addresses). */
static inline uint32_t tt_read_u32(const void *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * SXTB16/UXTB16 with their built-in ROR #8: [b1, b3]. GCC 12 does not fold a
 * rotate into the intrinsic (it emits a separate ROR), so this one instruction is
 * written as inline assembly; measured: 30 -> 26 instructions per 4-step of a
 * 2 x 2 tile.
 */
static inline int32_t tt_sxtb16_hi(uint32_t v)
{
	int32_t r;
	__asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
	return r;
}

static inline int32_t tt_uxtb16_hi(uint32_t v)
{
	int32_t r;
	__asm__("uxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
	return r;
}

/* Two rows a0, a1 (int8) against two rows b0, b1 (int8), length k. */
static inline void tt_dot_2x2_s8(const int8_t *a0, const int8_t *a1, const int8_t *b0,
				 const int8_t *b1, int32_t k, int32_t *c00, int32_t *c01,
				 int32_t *c10, int32_t *c11)
{
	int32_t s00 = *c00, s01 = *c01, s10 = *c10, s11 = *c11;
	int32_t i = 0;
	for (; i + 4 <= k; i += 4) {
		const uint32_t wa0 = tt_read_u32(a0 + i), wa1 = tt_read_u32(a1 + i);
		const uint32_t wb0 = tt_read_u32(b0 + i), wb1 = tt_read_u32(b1 + i);
		const int32_t a0l = (int32_t)__sxtb16(wa0), a0h = tt_sxtb16_hi(wa0);
		const int32_t a1l = (int32_t)__sxtb16(wa1), a1h = tt_sxtb16_hi(wa1);
		const int32_t b0l = (int32_t)__sxtb16(wb0), b0h = tt_sxtb16_hi(wb0);
		const int32_t b1l = (int32_t)__sxtb16(wb1), b1h = tt_sxtb16_hi(wb1);
		s00 = __smlad(a0l, b0l, s00);
		s00 = __smlad(a0h, b0h, s00);
		s01 = __smlad(a0l, b1l, s01);
		s01 = __smlad(a0h, b1h, s01);
		s10 = __smlad(a1l, b0l, s10);
		s10 = __smlad(a1h, b0h, s10);
		s11 = __smlad(a1l, b1l, s11);
		s11 = __smlad(a1h, b1h, s11);
	}
	for (; i < k; i++) {
		s00 += a0[i] * b0[i];
		s01 += a0[i] * b1[i];
		s10 += a1[i] * b0[i];
		s11 += a1[i] * b1[i];
	}
	*c00 = s00;
	*c01 = s01;
	*c10 = s10;
	*c11 = s11;
}

/* One row a (int8) against two rows b0, b1 (int8). */
static inline void tt_dot_1x2_s8(const int8_t *a, const int8_t *b0, const int8_t *b1, int32_t k,
				 int32_t *c0, int32_t *c1)
{
	int32_t s0 = *c0, s1 = *c1;
	int32_t i = 0;
	for (; i + 4 <= k; i += 4) {
		const uint32_t wa = tt_read_u32(a + i);
		const uint32_t wb0 = tt_read_u32(b0 + i), wb1 = tt_read_u32(b1 + i);
		const int32_t al = (int32_t)__sxtb16(wa), ah = tt_sxtb16_hi(wa);
		s0 = __smlad(al, (int32_t)__sxtb16(wb0), s0);
		s0 = __smlad(ah, tt_sxtb16_hi(wb0), s0);
		s1 = __smlad(al, (int32_t)__sxtb16(wb1), s1);
		s1 = __smlad(ah, tt_sxtb16_hi(wb1), s1);
	}
	for (; i < k; i++) {
		s0 += a[i] * b0[i];
		s1 += a[i] * b1[i];
	}
	*c0 = s0;
	*c1 = s1;
}

static inline int32_t tt_dot_1x1_s8(const int8_t *a, const int8_t *b, int32_t k, int32_t acc)
{
	int32_t i = 0;
	for (; i + 4 <= k; i += 4) {
		const uint32_t wa = tt_read_u32(a + i), wb = tt_read_u32(b + i);
		acc = __smlad((int32_t)__sxtb16(wa), (int32_t)__sxtb16(wb), acc);
		acc = __smlad(tt_sxtb16_hi(wa), tt_sxtb16_hi(wb), acc);
	}
	for (; i < k; i++) {
		acc += a[i] * b[i];
	}
	return acc;
}

/* Two rows of uint8 probabilities against two rows of int8 values. */
static inline void tt_dot_2x2_u8s8(const uint8_t *a0, const uint8_t *a1, const int8_t *b0,
				   const int8_t *b1, int32_t k, int32_t *c00, int32_t *c01,
				   int32_t *c10, int32_t *c11)
{
	int32_t s00 = 0, s01 = 0, s10 = 0, s11 = 0;
	int32_t i = 0;
	for (; i + 4 <= k; i += 4) {
		const uint32_t wa0 = tt_read_u32(a0 + i), wa1 = tt_read_u32(a1 + i);
		const uint32_t wb0 = tt_read_u32(b0 + i), wb1 = tt_read_u32(b1 + i);
		const int32_t a0l = (int32_t)__uxtb16(wa0), a0h = tt_uxtb16_hi(wa0);
		const int32_t a1l = (int32_t)__uxtb16(wa1), a1h = tt_uxtb16_hi(wa1);
		const int32_t b0l = (int32_t)__sxtb16(wb0), b0h = tt_sxtb16_hi(wb0);
		const int32_t b1l = (int32_t)__sxtb16(wb1), b1h = tt_sxtb16_hi(wb1);
		s00 = __smlad(a0l, b0l, s00);
		s00 = __smlad(a0h, b0h, s00);
		s01 = __smlad(a0l, b1l, s01);
		s01 = __smlad(a0h, b1h, s01);
		s10 = __smlad(a1l, b0l, s10);
		s10 = __smlad(a1h, b0h, s10);
		s11 = __smlad(a1l, b1l, s11);
		s11 = __smlad(a1h, b1h, s11);
	}
	for (; i < k; i++) {
		s00 += a0[i] * b0[i];
		s01 += a0[i] * b1[i];
		s10 += a1[i] * b0[i];
		s11 += a1[i] * b1[i];
	}
	*c00 = s00;
	*c01 = s01;
	*c10 = s10;
	*c11 = s11;
}

static inline int32_t tt_dot_1x1_u8s8(const uint8_t *a, const int8_t *b, int32_t k)
{
	int32_t acc = 0;
	int32_t i = 0;
	for (; i + 4 <= k; i += 4) {
		const uint32_t wa = tt_read_u32(a + i), wb = tt_read_u32(b + i);
		acc = __smlad((int32_t)__uxtb16(wa), (int32_t)__sxtb16(wb), acc);
		acc = __smlad(tt_uxtb16_hi(wa), tt_sxtb16_hi(wb), acc);
	}
	for (; i < k; i++) {
		acc += a[i] * b[i];
	}
	return acc;
}

/*
 * Requantization equal to tinytx_requantize_s8. For shift >= 33 (the usual case:
 * factors below 2^-2) the rounding bit lies in the high word of the 64-bit
 * product, so only the SMULL high half is needed:
 *   (p + 2^(s-1)) >> s == (hi + 2^(s-33)) >> (s-32).
 */
static inline int8_t tt_requant_s8(int32_t acc, tinytx_requant rq, int32_t lo, int32_t hi)
{
	int32_t y;
	if (rq.shift >= 33) {
		const int32_t top = (int32_t)(((int64_t)acc * rq.multiplier) >> 32);
		y = (top + (1 << (rq.shift - 33))) >> (rq.shift - 32);
	} else {
		int64_t wide = tinytx_scale_round(acc, rq);
		y = wide < -128 ? -128 : (wide > 127 ? 127 : (int32_t)wide);
	}
	y = __ssat(y, 8);
	y = y < lo ? lo : y;
	return (int8_t)(y > hi ? hi : y);
}

#endif /* TINYTX_ARM_COMMON_H */
