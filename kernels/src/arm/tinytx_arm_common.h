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

/* Widened halves of a word of int8 (a_unsigned = 0) or uint8 (1) values. */
static inline int32_t tt_widen_lo(uint32_t w, int a_unsigned)
{
	return a_unsigned ? (int32_t)__uxtb16(w) : (int32_t)__sxtb16(w);
}

static inline int32_t tt_widen_hi(uint32_t w, int a_unsigned)
{
	return a_unsigned ? tt_uxtb16_hi(w) : tt_sxtb16_hi(w);
}

static inline int32_t tt_elem(const void *a, int32_t i, int a_unsigned)
{
	return a_unsigned ? ((const uint8_t *)a)[i] : ((const int8_t *)a)[i];
}

/*
 * Two rows a0, a1 against two int8 rows b0, b1, length k, accumulated into c.
 * The a rows are int8, or uint8 when a_unsigned (a compile-time constant at every
 * call, so the branch folds away).
 */
static inline void tt_dot_2x2(const void *a0, const void *a1, const int8_t *b0, const int8_t *b1,
			      int32_t k, int a_unsigned, int32_t c[4])
{
	const uint8_t *pa0 = a0, *pa1 = a1;
	int32_t s00 = c[0], s01 = c[1], s10 = c[2], s11 = c[3];
	int32_t i = 0;
	for (; i + 4 <= k; i += 4) {
		const uint32_t wa0 = tt_read_u32(pa0 + i), wa1 = tt_read_u32(pa1 + i);
		const uint32_t wb0 = tt_read_u32(b0 + i), wb1 = tt_read_u32(b1 + i);
		const int32_t a0l = tt_widen_lo(wa0, a_unsigned), a0h = tt_widen_hi(wa0, a_unsigned);
		const int32_t a1l = tt_widen_lo(wa1, a_unsigned), a1h = tt_widen_hi(wa1, a_unsigned);
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
		const int32_t x0 = tt_elem(a0, i, a_unsigned), x1 = tt_elem(a1, i, a_unsigned);
		s00 += x0 * b0[i];
		s01 += x0 * b1[i];
		s10 += x1 * b0[i];
		s11 += x1 * b1[i];
	}
	c[0] = s00;
	c[1] = s01;
	c[2] = s10;
	c[3] = s11;
}

/* One row a (int8, or uint8 when a_unsigned) against two int8 rows, into c. */
static inline void tt_dot_1x2(const void *a, const int8_t *b0, const int8_t *b1, int32_t k,
			      int a_unsigned, int32_t c[2])
{
	const uint8_t *pa = a;
	int32_t s0 = c[0], s1 = c[1];
	int32_t i = 0;
	for (; i + 4 <= k; i += 4) {
		const uint32_t wa = tt_read_u32(pa + i);
		const uint32_t wb0 = tt_read_u32(b0 + i), wb1 = tt_read_u32(b1 + i);
		const int32_t al = tt_widen_lo(wa, a_unsigned), ah = tt_widen_hi(wa, a_unsigned);
		s0 = __smlad(al, (int32_t)__sxtb16(wb0), s0);
		s0 = __smlad(ah, tt_sxtb16_hi(wb0), s0);
		s1 = __smlad(al, (int32_t)__sxtb16(wb1), s1);
		s1 = __smlad(ah, tt_sxtb16_hi(wb1), s1);
	}
	for (; i < k; i++) {
		const int32_t x = tt_elem(a, i, a_unsigned);
		s0 += x * b0[i];
		s1 += x * b1[i];
	}
	c[0] = s0;
	c[1] = s1;
}

/* One row a (int8, or uint8 when a_unsigned) against one int8 row, added to acc. */
static inline int32_t tt_dot_1x1(const void *a, const int8_t *b, int32_t k, int a_unsigned,
				 int32_t acc)
{
	const uint8_t *pa = a;
	int32_t i = 0;
	for (; i + 4 <= k; i += 4) {
		const uint32_t wa = tt_read_u32(pa + i), wb = tt_read_u32(b + i);
		acc = __smlad(tt_widen_lo(wa, a_unsigned), (int32_t)__sxtb16(wb), acc);
		acc = __smlad(tt_widen_hi(wa, a_unsigned), tt_sxtb16_hi(wb), acc);
	}
	for (; i < k; i++) {
		acc += tt_elem(a, i, a_unsigned) * b[i];
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
