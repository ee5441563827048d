/*
 * Building blocks of the Cortex-M DSP kernels (internal header).
 *
 * Dot products use SMLAD (two 16 x 16 multiply-accumulates per instruction) on
 * int8/uint8 values widened to int16 pairs:
 *
 * - in registers: SXTB16 (UXTB16 for the uint8 attention probabilities) widens a
 *   word of four bytes into lo = [b0, b2] and, with its built-in ROR #8,
 *   hi = [b1, b3]. Both operands widened the same way pair up without reordering.
 * - in memory, "W2" layout (scratch of the fused MHSA block): a matrix of R rows
 *   and reduction length K stored as int16, rows in pairs and K in blocks of 4:
 *   block (pair i, b) is 8 halfwords, row 2i's four values then row 2i+1's, each
 *   four in SXTB16 order (k0, k2, k1, k3) so that an int8 word widened in
 *   registers lines up with it. Pairs of rows follow each other, blocks of a pair
 *   are contiguous; rows and K are padded (to even, to a multiple of 4) with zeros.
 *   The tile engine of tinytx_mhsa_s8.c reads one pair of each of two W2 matrices
 *   with two LDM per block: 10 instructions for 16 multiply-accumulates.
 *
 * Inline assembly is used only where it was measured better than what GCC 12
 * makes of the C (each use says by how much), or for instructions ACLE has no
 * intrinsic for (SMMLA, SMMULR, SXTB16 with ROR).
 */
#ifndef TINYTX_ARM_COMMON_H
#define TINYTX_ARM_COMMON_H

#if !defined(__ARM_FEATURE_DSP) || __ARM_FEATURE_DSP != 1
#error "kernels/src/arm needs the Cortex-M DSP extension (build the ref variant instead)"
#endif

#include <arm_acle.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tinytx/requant.h"
#include "tinytx/types.h"
#include "tinytx_arm_layout.h"

/* ------------------------------------------------------------ single instructions */

/* Unaligned 32-bit load (Cortex-M4/M7 LDR handles unaligned addresses). */
static inline uint32_t tt_read_u32(const void *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * SXTB16/UXTB16 with their built-in ROR #8: [b1, b3]. GCC 12 does not fold a
 * rotate into the intrinsic (it emits a separate ROR): measured 30 -> 26
 * instructions per 4-step of a 2 x 2 int8 tile.
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

/* acc + SXTB16(w ROR #8) per halfword (GCC 12: no rotate form of __sxtab16). */
static inline int32_t tt_sxtab16_hi(int32_t acc, uint32_t w)
{
	int32_t r;
	__asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(w));
	return r;
}

/* acc + ((a * b) >> 32): one SMMLA (GCC emits SMULL + ADD for the C). */
static inline int32_t tt_smmla(int32_t a, int32_t b, int32_t acc)
{
	int32_t r;
	__asm__("smmla %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
	return r;
}

/* (a * b + 2^31) >> 32: one SMMULR (GCC emits SMULL + ADDS + ADC for the C). */
static inline int32_t tt_smmulr(int32_t a, int32_t b)
{
	int32_t r;
	__asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
	return r;
}

/* (a * b) >> 32 (SMULL, high word). */
static inline int32_t tt_mulhi(int32_t a, int32_t b)
{
	return (int32_t)(((int64_t)a * b) >> 32);
}

/* [lo's low half, hi's low half] (one PKHBT; GCC 12's arm_acle.h has no __pkhbt). */
static inline int32_t tt_pack16(int32_t lo, int32_t hi)
{
	return (int32_t)(((uint32_t)lo & 0xffffu) | ((uint32_t)hi << 16));
}

static inline int32_t tt_max(int32_t a, int32_t b)
{
	return a > b ? a : b;
}

/* ------------------------------------------------------------ requantization */

/*
 * tinytx_requantize_s8 split into a per-call plan. For shift >= 33 (factors below
 * 2^-2, the usual case) the rounding bit lies in the high word of the 64-bit
 * product, so one SMMLA and one shift give the exact result:
 *   (p + 2^(s-1)) >> s == (hi(p) + 2^(s-33)) >> (s-32)   for p = acc * m.
 * The output zero point z rides in the rounding term at no cost:
 *   ((hi(p) + 2^(s-33)) >> (s-32)) + z == (hi(p) + 2^(s-33) + z * 2^(s-32)) >> (s-32),
 * which stays in int32 (|hi(p)| <= 2^30) while |round| < 2^30; otherwise (z != 0 with a
 * shift near 62) the plan is not fast.
 */
typedef struct {
	tinytx_requant rq;
	int32_t round; /* 2^(shift-33) + zero_point * 2^(shift-32) */
	int32_t right; /* shift - 32 */
	int32_t fast;  /* shift >= 33 and round in range */
} tt_rq;

static inline tt_rq tt_rq_plan(tinytx_requant rq)
{
	tt_rq p;
	p.rq = rq;
	p.fast = 0;
	p.right = 0;
	p.round = 0;
	if (rq.shift >= 33) {
		const int64_t round = ((int64_t)1 << (rq.shift - 33)) +
				      (int64_t)rq.zero_point * ((int64_t)1 << (rq.shift - 32));
		if (round < ((int64_t)1 << 30) && round > -((int64_t)1 << 30)) {
			p.fast = 1;
			p.right = rq.shift - 32;
			p.round = (int32_t)round;
		}
	}
	return p;
}

/* Requantized value (zero point included) clamped to int8 (the caller applies a
 * narrower clamp). */
static inline int32_t tt_rq_apply(int32_t acc, const tt_rq *p)
{
	if (p->fast) {
		return __ssat(tt_smmla(acc, p->rq.multiplier, p->round) >> p->right, 8);
	}
	int64_t y = tinytx_scale_round(acc, p->rq) + p->rq.zero_point;
	return y < -128 ? -128 : (y > 127 ? 127 : (int32_t)y);
}

/* Same as tinytx_requantize_s8 (kept for the kernels' simple paths). */
static inline int8_t tt_requant_s8(int32_t acc, tinytx_requant rq, int32_t lo, int32_t hi)
{
	const tt_rq p = tt_rq_plan(rq);
	int32_t y = tt_rq_apply(acc, &p);
	y = y < lo ? lo : y;
	return (int8_t)(y > hi ? hi : y);
}

/*
 * Zeroes n bytes (a multiple of 4) at the 4-byte aligned p, 16 bytes per step. The
 * empty asm keeps GCC from turning the loop back into a call of the C library's
 * memset (picolibc's stores a byte at a time: 4 instructions per byte).
 */
static inline void tt_zero_words(void *p, size_t n)
{
	uint32_t *w = p;
	size_t words = n / 4u;
	for (; words >= 4u; words -= 4u) {
		__asm__("" : "+r"(w));
		w[0] = 0;
		w[1] = 0;
		w[2] = 0;
		w[3] = 0;
		w += 4;
	}
	for (; words > 0u; words--) {
		*w++ = 0;
	}
}

/* Sets n words at p to v, and copies n words; loops kept out of memset/memcpy as above. */
static inline void tt_fill_words(int32_t *p, int32_t n, int32_t v)
{
	for (int32_t i = 0; i < n; i++) {
		__asm__("" : "+r"(p));
		p[i] = v;
	}
}

static inline void tt_copy_words(int32_t *dst, const int32_t *src, size_t n)
{
	for (; n >= 2u; n -= 2u) {
		__asm__("" : "+r"(dst));
		const int32_t a = src[0], b = src[1];
		dst[0] = a;
		dst[1] = b;
		dst += 2;
		src += 2;
	}
	if (n > 0u) {
		*dst = *src;
	}
}

/* ------------------------------------------------------------ W2 layout */

/* Halfwords of a W2 matrix of `rows` rows and `blocks` blocks. */
static inline size_t tt_w2_halfwords(int32_t rows, int32_t blocks)
{
	return (size_t)((rows + 1) >> 1) * (size_t)blocks * 8u;
}

/* Position of k within its block (SXTB16 order k0, k2, k1, k3). */
static inline int32_t tt_w2_kpos(int32_t k)
{
	return ((k & 1) << 1) | ((k >> 1) & 1);
}

/* Index of element (row, k) in a W2 matrix of `blocks` blocks. */
static inline size_t tt_w2_index(int32_t blocks, int32_t row, int32_t k)
{
	return ((size_t)(row >> 1) * (size_t)blocks + (size_t)(k >> 2)) * 8u +
	       (size_t)((row & 1) << 2) + (size_t)tt_w2_kpos(k);
}

/*
 * Widens `rows` int8 rows of length k (row i at src + i * stride) into the W2
 * matrix dst (which already holds zeros in its padding). Full blocks two per step
 * (assembly: 10 instructions per eight values, GCC 12 makes 13 of the C): one LDR,
 * two SXTB16 and one STRD per four values.
 */
static inline void tt_w2_widen(int16_t *dst, const int8_t *src, int32_t rows, int32_t k,
			       size_t stride)
{
	const int32_t blocks = tt_w2_blocks(k), full = k >> 2;
	for (int32_t r = 0; r < rows; r++) {
		const int8_t *s = src + (size_t)r * stride;
		int32_t *d = (int32_t *)(dst + tt_w2_index(blocks, r, 0));
		const int8_t *const end2 = s + 4 * (full & ~1);
		if (full >= 2) { /* the next block of this row lies 8 halfwords on */
			const int8_t *p = s;
			uint32_t w0, w1, t0, t1;
			__asm__ volatile("1:	ldr	%[w0], [%[p]], #4\n"
					 "	ldr	%[w1], [%[p]], #4\n"
					 "	sxtb16	%[t0], %[w0]\n"
					 "	sxtb16	%[w0], %[w0], ror #8\n"
					 "	sxtb16	%[t1], %[w1]\n"
					 "	sxtb16	%[w1], %[w1], ror #8\n"
					 "	strd	%[t1], %[w1], [%[d], #16]\n"
					 "	strd	%[t0], %[w0], [%[d]], #32\n"
					 "	cmp	%[p], %[e]\n"
					 "	bne	1b\n"
					 : [p] "+r"(p), [d] "+r"(d), [w0] "=&r"(w0), [w1] "=&r"(w1),
					   [t0] "=&r"(t0), [t1] "=&r"(t1)
					 : [e] "r"(end2)
					 : "cc", "memory");
		}
		if (full & 1) {
			const uint32_t w = tt_read_u32(end2);
			d[0] = (int32_t)__sxtb16(w);
			d[1] = tt_sxtb16_hi(w);
		}
		for (int32_t i = full * 4; i < k; i++) {
			dst[tt_w2_index(blocks, r, i)] = s[i];
		}
	}
}

/* ------------------------------------------------------------ integer softmax */

/*
 * i-exp of the golden model (tinytx/golden/softmax.py) without a division or a
 * polynomial per element. For a Q10 logit x in [-16384, 0]:
 *   z = floor(-x / LN2_Q) = (-x * TT_LN2_RECIP) >> 32   (exact for -x < 2.1e7)
 *   r = x + z * LN2_Q                                     in (-LN2_Q, 0]
 *   e = TT_EXP_TABLE[r] >> z
 * TT_EXP_TABLE[r] = (r + EXP_B_Q)^2 + EXP_C_Q < 2^22, so e = 0 once z >= 22: every
 * logit below -15620 (the golden model's clamp at LOGIT_MIN included) gives 0,
 * which is why clamping x to [-16384, 0] with one SSAT is exact.
 * tests/python/test_arm_softmax.py checks all of this exhaustively.
 */
#define TT_LN2_RECIP 6049250 /* ceil(2^32 / TINYTX_LN2_Q) */
#define TT_LOGIT_SAT_BITS 15 /* __ssat(x, 15): x in [-16384, 16383] */

extern const uint32_t tt_exp_table[TINYTX_LN2_Q]; /* r = -709 .. 0 */

/* The table entry of r = 0: index it with r in (-LN2_Q, 0]. */
#define TT_EXP_TABLE_R0 (tt_exp_table + (TINYTX_LN2_Q - 1))

/* e for a logit x in [-16384, 0]; tz = TT_EXP_TABLE_R0 (kept in a register by loops). */
static inline uint32_t tt_exp_q10(int32_t x, const uint32_t *tz)
{
	const int32_t z = tt_mulhi(x, -TT_LN2_RECIP);
	const int32_t r = x + z * TINYTX_LN2_Q;
	return tz[r] >> z;
}

/*
 * TINYTX_ARM_EXP_TABLE=1 (build option, default 0): the same values for every clamped
 * logit, tt_exp_x_table[x + 16384] = tt_exp_q10(x) for x = -16384 .. 0
 * (tinytx_qk_softmax_s8.c), one load per element; the exp passes of the fused MHSA
 * blocks then use it (tt_exp4x_*). 64 KiB of flash in every firmware with an attention
 * block, hence off unless asked for; the results are the same either way.
 */
#ifndef TINYTX_ARM_EXP_TABLE
#define TINYTX_ARM_EXP_TABLE 0
#endif
#if TINYTX_ARM_EXP_TABLE
#define TT_EXP_X_ENTRIES 16385
extern const uint32_t tt_exp_x_table[TT_EXP_X_ENTRIES];
#endif

/* i-exp of x = 0, the value of every row maximum: the largest e of any row. */
#define TT_EXP_ONE ((uint32_t)(TINYTX_EXP_B_Q * TINYTX_EXP_B_Q + TINYTX_EXP_C_Q))

/*
 * How a row of raw scores becomes Q10 logits, chosen once per call:
 * - TT_LOGIT_HIGH (shift >= 33): x = (SMMLA(diff, m, 2^(s-33))) >> (s-32);
 * - TT_LOGIT_SCALED (shift <= 32, scores pre-multiplied by 2^up, up = 32 - s,
 *   when that cannot overflow): x = SMMULR(diff, m);
 * - TT_LOGIT_WIDE: the 64-bit formula.
 * In every mode x is then clamped with SSAT to [-16384, 0] (see tt_exp_q10).
 */
enum { TT_LOGIT_HIGH, TT_LOGIT_SCALED, TT_LOGIT_WIDE };

typedef struct {
	tinytx_requant rq;
	int32_t mode;
	int32_t up;    /* TT_LOGIT_SCALED: scores are raw scores << up */
	int32_t round; /* TT_LOGIT_HIGH */
	int32_t right; /* TT_LOGIT_HIGH */
	int32_t clamp_free; /* TT_LOGIT_SCALED: every logit lies in (-TT_LOGIT_NOCLAMP, 0] */
} tt_softmax_plan;

/*
 * Logits above -TT_LOGIT_NOCLAMP need no clamp before tt_exp_q10's steps: z stays
 * below 256 (a register shift by z uses its low byte: z >= 32 gives 0, as does
 * 22 <= z < 32 since the table is below 2^22, so e = 0 as after the clamp) and is
 * exact, so r indexes the table.
 */
#define TT_LOGIT_NOCLAMP (256 * TINYTX_LN2_Q)

/*
 * max_abs_score bounds |raw score|; scaled scores must keep |diff| << up within
 * int32, and (for pre-shifted int16 operands) up <= max_up.
 */
static inline tt_softmax_plan tt_softmax_plan_for(tinytx_requant rq, int64_t max_abs_score,
						  int32_t max_up)
{
	tt_softmax_plan p;
	p.rq = rq;
	p.up = 0;
	p.round = 0;
	p.right = 0;
	p.clamp_free = 0;
	if (rq.shift >= 33) {
		p.mode = TT_LOGIT_HIGH;
		p.round = (int32_t)1 << (rq.shift - 33);
		p.right = rq.shift - 32;
	} else if (32 - rq.shift <= max_up &&
		   (2 * max_abs_score) << (32 - rq.shift) <= (int64_t)1 << 31) {
		p.mode = TT_LOGIT_SCALED;
		p.up = 32 - rq.shift;
		/* |logit| <= (|diff| * |m| + 2^31) >> 32 with |diff| <= 2 * max_abs_score << up */
		const int64_t m = rq.multiplier < 0 ? -(int64_t)rq.multiplier : rq.multiplier;
		const int64_t top = (((2 * max_abs_score) << p.up) * m + ((int64_t)1 << 31)) >> 32;
		p.clamp_free = top < TT_LOGIT_NOCLAMP;
	} else {
		p.mode = TT_LOGIT_WIDE;
	}
	return p;
}

/*
 * Replaces row[0..n) (scores, max their maximum) by their i-exp values and returns
 * the sum. Two elements per step; the logit mode is a constant of each loop.
 */
#define TT_EXP_LOOP(LOGIT)                                                                         \
	do {                                                                                       \
		int32_t *r = row;                                                                  \
		int32_t *const end = row + (n & ~1);                                               \
		while (r != end) {                                                                 \
			const int32_t d0 = r[0] - max, d1 = r[1] - max;                            \
			const uint32_t e0 = tt_exp_q10(__ssat(LOGIT(d0), TT_LOGIT_SAT_BITS), tz);  \
			const uint32_t e1 = tt_exp_q10(__ssat(LOGIT(d1), TT_LOGIT_SAT_BITS), tz);  \
			r[0] = (int32_t)e0;                                                        \
			r[1] = (int32_t)e1;                                                        \
			r += 2;                                                                    \
			sum += e0;                                                                 \
			sum += e1;                                                                 \
		}                                                                                  \
		if (n & 1) {                                                                       \
			const uint32_t e0 =                                                        \
				tt_exp_q10(__ssat(LOGIT(r[0] - max), TT_LOGIT_SAT_BITS), tz);      \
			r[0] = (int32_t)e0;                                                        \
			sum += e0;                                                                 \
		}                                                                                  \
	} while (0)

/*
 * Assembly loops (tinytx_qk_softmax_s8.c) over row[0 .. end - row), a multiple of 4
 * elements and at least 4: tt_exp4_* replace scores by i-exp values and return
 * their sum (k = {max, multiplier, 1} for tt_exp4_h1, the TT_LOGIT_HIGH mode with
 * shift 33; {max, multiplier} for tt_exp4_scaled, the TT_LOGIT_SCALED mode);
 * tt_prob4_* write the probabilities of i-exp values, eight per step, as uint8
 * (tt_prob4_u8) or into one row of a W2 pair (tt_prob4_w2: dst is the row's first
 * word, advancing 16 bytes per four values), with the clamp at 255 (_clamp) or
 * without (when tt_prob_unclamped).
 */
uint32_t tt_exp4_h1(int32_t *row, int32_t *end, const int32_t *k);
uint32_t tt_exp4_scaled(int32_t *row, int32_t *end, const int32_t *k);
uint32_t tt_exp4_scaled_nc(int32_t *row, int32_t *end, const int32_t *k); /* clamp_free */
#if TINYTX_ARM_EXP_TABLE
/* The same on tt_exp_x_table (the clamp kept in both modes): 5.75 instructions per
 * element against 9 (tt_exp4_h1, tt_exp4_scaled) and 8 (tt_exp4_scaled_nc). */
uint32_t tt_exp4x_h1(int32_t *row, int32_t *end, const int32_t *k);
uint32_t tt_exp4x_scaled(int32_t *row, int32_t *end, const int32_t *k);
#endif
/*
 * Head dimension <= 2 (keys packed one word each, k..k_end a multiple of 4 and at
 * least 4): tt_exp4_p2_* compute each score q . k and its i-exp value in one pass
 * (kx = {-max, multiplier, q}, q scaled by 2^up: the TT_LOGIT_SCALED mode), writing
 * e and returning the sum; tt_qk_max2_p2 returns the maxima of the unscaled scores
 * of q0 and q1 in its two int16 lanes (and their minima in *min2's), each score
 * within int16.
 */
uint32_t tt_exp4_p2_scaled(const int32_t *k, const int32_t *k_end, int32_t *e, const int32_t *kx);
uint32_t tt_exp4_p2_scaled_nc(const int32_t *k, const int32_t *k_end, int32_t *e,
			      const int32_t *kx);
int32_t tt_qk_max2_p2(int32_t q0, int32_t q1, const int32_t *k, const int32_t *k_end,
		      int32_t *min2);
/*
 * ... and tt_prob4_av_p2* the probabilities of one row of i-exp values (as
 * tt_prob4_w2*) multiplied straight into the W2 block row of V^T's feature pair v:
 * acc[f] = sum_j p_j v[f][j], the probabilities never stored.
 */
void tt_prob4_av_p2(const uint32_t *e, const uint32_t *end, const int32_t *v, uint32_t sum,
		    int32_t acc[2]);
void tt_prob4_av_p2_clamp(const uint32_t *e, const uint32_t *end, const int32_t *v,
			  uint32_t sum, int32_t acc[2]);
void tt_prob4_w2(const uint32_t *e, const uint32_t *end, int32_t *dst, uint32_t sum);
void tt_prob4_w2_clamp(const uint32_t *e, const uint32_t *end, int32_t *dst, uint32_t sum);
void tt_prob4_u8(const uint32_t *e, const uint32_t *end, uint8_t *dst, uint32_t sum);
void tt_prob4_u8_clamp(const uint32_t *e, const uint32_t *end, uint8_t *dst, uint32_t sum);

static inline uint32_t tt_softmax_exp_row(int32_t *row, int32_t n, int32_t max,
					  const tt_softmax_plan *p)
{
	uint32_t sum = 0;
	const int32_t m = p->rq.multiplier;
	const uint32_t *const tz = TT_EXP_TABLE_R0;
	const int32_t n4 = n & ~3;
	if (n4 > 0 && (p->mode == TT_LOGIT_SCALED || (p->mode == TT_LOGIT_HIGH && p->right == 1))) {
		const int32_t k[3] = {max, m, 1};
		sum = p->mode != TT_LOGIT_SCALED ? tt_exp4_h1(row, row + n4, k)
		      : p->clamp_free            ? tt_exp4_scaled_nc(row, row + n4, k)
						 : tt_exp4_scaled(row, row + n4, k);
		row += n4;
		n -= n4;
	}
	if (p->mode == TT_LOGIT_HIGH) {
		const int32_t round = p->round, right = p->right;
#define TT_LOGIT_H(d) (tt_smmla((d), m, round) >> right)
		TT_EXP_LOOP(TT_LOGIT_H);
#undef TT_LOGIT_H
	} else if (p->mode == TT_LOGIT_SCALED) {
#define TT_LOGIT_S(d) tt_smmulr((d), m)
		TT_EXP_LOOP(TT_LOGIT_S);
#undef TT_LOGIT_S
	} else {
		const tinytx_requant rq = p->rq;
#define TT_LOGIT_W(d) tinytx_softmax_logit((d), rq)
		TT_EXP_LOOP(TT_LOGIT_W);
#undef TT_LOGIT_W
	}
	return sum;
}

/* uint8 probability of i-exp value e given the row sum (golden: min(255, ...)). */
static inline int32_t tt_prob(uint32_t e, uint32_t half, uint32_t sum)
{
	return (int32_t)__usat((int32_t)((e * 256u + half) / sum), 8);
}

/*
 * 1 when no probability of a row with this sum can exceed 255, so the clamp can be
 * skipped: the largest e of a row is TT_EXP_ONE (its maximum, x = 0).
 */
static inline int tt_prob_unclamped(uint32_t sum)
{
	return (uint64_t)TT_EXP_ONE * 256u + sum / 2u < (uint64_t)sum * 256u;
}

/* ------------------------------------------------------------ scratch-free 2 x 2 engine */

/*
 * A column of 2 x 2 tiles without scratch (tinytx_linear_s8.c): rows b, b + stride
 * (int8) against the pairs of rows a, a + stride, a + 2 * stride, ... (int8 for
 * tt_rows_s8, uint8 for tt_rows_u8) until a_end, any k = stride >= 1. Per pair:
 * c0j = bias_j + a0 . bj, c1j = bias_j + a1 . bj, requantized (shift >= 33, full
 * int8 range) and stored as int8: c00 at o0, c10 at o0 + row_stride, c01 at o1,
 * c11 at o1 + row_stride, o0 and o1 advancing 2 * row_stride per pair. The order
 * of the fields is used by the assembly.
 */
typedef struct {
	const int8_t *b;
	int32_t stride;
	int32_t steps; /* stride / 4 */
	int32_t tail;  /* stride % 4 */
	int32_t bias0, bias1;
	int32_t m, round, right;
	int8_t *o0, *o1;
	int32_t row_stride;
	const void *a_end;
	int32_t m1, round1, right1; /* tt_rows_s8_pc: b1's factor (m, round, right: b0's) */
} tt_rows;

void tt_rows_s8(tt_rows *t, const void *a);
void tt_rows_u8(tt_rows *t, const void *a);
void tt_rows_s8_pc(tt_rows *t, const void *a);

typedef void (*tt_rows_fn)(tt_rows *t, const void *a);

/*
 * Outputs of two b rows for every a row (rows >= 2; an odd last row is done as
 * the pair (rows - 2, rows - 1), recomputing row rows - 2). rq1: b1's factor for
 * tt_rows_s8_pc (per-channel), NULL for the engines with one factor.
 */
static inline void tt_rows_column(tt_rows_fn fn, const void *a, const int8_t *b, int32_t k,
				  int32_t rows, int32_t bias0, int32_t bias1, const tt_rq *rq,
				  const tt_rq *rq1, int8_t *o0, int8_t *o1, int32_t row_stride)
{
	tt_rows t;
	t.b = b;
	t.stride = k;
	t.steps = k >> 2;
	t.tail = k & 3;
	t.bias0 = bias0;
	t.bias1 = bias1;
	t.m = rq->rq.multiplier;
	t.round = rq->round;
	t.right = rq->right;
	t.o0 = o0;
	t.o1 = o1;
	t.row_stride = row_stride;
	if (rq1 != NULL) {
		t.m1 = rq1->rq.multiplier;
		t.round1 = rq1->round;
		t.right1 = rq1->right;
	}
	t.a_end = (const uint8_t *)a + (size_t)(rows & ~1) * (size_t)k;
	fn(&t, a);
	if (rows & 1) {
		const size_t last = (size_t)(rows - 2);
		t.o0 = o0 + last * (size_t)row_stride;
		t.o1 = o1 + last * (size_t)row_stride;
		t.a_end = (const uint8_t *)a + (size_t)rows * (size_t)k;
		fn(&t, (const uint8_t *)a + last * (size_t)k);
	}
}

/* ------------------------------------------------------------ in-register int8 dots */

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

#endif /* TINYTX_ARM_COMMON_H */
