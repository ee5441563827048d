/*
 * The sparse-weight engine of the Cortex-M kernels (internal header; scratch layout in
 * tinytx_arm_sparse_layout.h): a pass takes 4 input rows (tokens, or im2col rows of 4
 * output pixels), widens them once into the int16 x16 layout of the weights' format, then
 * walks every weight row's entries once for the 4 rows:
 *   BLOCK4: per block LDRB gap, ADD, LDR, 2 SXTB16, then 4 x (LDRD + 2 SMLAD);
 *   UNSTRUCTURED: per value LDRB gap, ADD, LDRSB, LDRD, 4 SMLA<B|T>B.
 * The 4 sums of a row are requantized (the tt_rq fast path, per-channel plans from the
 * scratch) and stored at out + base(row) + token * token_stride.
 */
#ifndef TINYTX_ARM_SPARSE_H
#define TINYTX_ARM_SPARSE_H

#include "tinytx_arm_common.h"
#include "tinytx_arm_sparse_layout.h"
#include "../tinytx_sparse.h"

/* A fast requantization plan (tt_rq's round and right), right 0: the exact 64-bit path. */
typedef struct {
	int32_t m, round, right;
} tt_sp_plan;

static inline tt_sp_plan tt_sp_plan_of(tinytx_requant rq)
{
	const tt_rq p = tt_rq_plan(rq);
	tt_sp_plan q = {rq.multiplier, p.round, p.fast ? p.right : 0};
	return q;
}

/* Where the rows' outputs go: row r's outputs start at (r / group) * group_stride +
 * r % group, consecutive tokens token_stride apart. */
typedef struct {
	int32_t group, group_stride, token_stride;
} tt_sp_store;

/* The call's requantization: one plan, or per-channel plans in the scratch. */
typedef struct {
	tinytx_requant rq; /* zero point; the factor of per-tensor calls */
	const int32_t *multipliers, *shifts;
	const tt_sp_plan *plans; /* [rows], or NULL: plan0 for all */
	tt_sp_plan plan0;
	int32_t lo, hi;
} tt_sp_quant;

static inline void tt_sp_quant_init(tt_sp_quant *q, tinytx_requant rq, tinytx_activation act,
				    const int32_t *multipliers, const int32_t *shifts,
				    tt_sp_plan *plans, int32_t rows)
{
	q->rq = rq;
	q->multipliers = multipliers;
	q->shifts = shifts;
	q->lo = act.min;
	q->hi = act.max;
	q->plan0 = tt_sp_plan_of(rq);
	q->plans = NULL;
	if (multipliers != NULL) {
		for (int32_t r = 0; r < rows; r++) {
			plans[r] = tt_sp_plan_of(tinytx_channel_requant(rq, multipliers, shifts, r));
		}
		q->plans = plans;
	}
}

static inline int8_t tt_sp_out(int32_t acc, const tt_sp_plan *p, const tt_sp_quant *q, int32_t r)
{
	int32_t y;
	if (p->right != 0) {
		y = __ssat(tt_smmla(acc, p->m, p->round) >> p->right, 8);
	} else {
		const tinytx_requant rq = tinytx_channel_requant(q->rq, q->multipliers, q->shifts, r);
		y = tinytx_requantize_s8(acc, rq, -128, 127);
	}
	y = y < q->lo ? q->lo : y;
	return (int8_t)(y > q->hi ? q->hi : y);
}

/*
 * Widens t (1..4) int8 rows of k values (row i at rows + i * stride; rows past t read as
 * zeros) into x16 in the format's layout (tinytx_arm_sparse_layout.h). pad4: the rows
 * hold k rounded up to 4 readable bytes (zero past k), else the last k % 4 are read
 * byte by byte.
 */
static inline uint32_t tt_sp_word(const int8_t *x, int32_t n, int pad4)
{
	if (pad4 || n >= 4) {
		return tt_read_u32(x);
	}
	uint32_t w = 0;
	for (int32_t i = 0; i < n; i++) {
		w |= (uint32_t)(uint8_t)x[i] << (8 * i);
	}
	return w;
}

static void tt_sp_widen(int32_t format, const int8_t *rows, int32_t stride, int32_t t, int32_t k,
			int pad4, int32_t *x16)
{
	const int32_t blocks = (k + 3) / 4;
	if (format == TINYTX_SPARSE_BLOCK4) {
		for (int32_t i = 0; i < TT_SPARSE_TOKENS; i++) {
			int32_t *d = x16 + 2 * i;
			if (i >= t) {
				for (int32_t p = 0; p < blocks; p++, d += 8) {
					d[0] = 0;
					d[1] = 0;
				}
				continue;
			}
			const int8_t *x = rows + (size_t)i * stride;
			for (int32_t p = 0; p < blocks; p++, d += 8, x += 4) {
				const uint32_t w = tt_sp_word(x, k - 4 * p, pad4);
				d[0] = __sxtb16(w);
				d[1] = tt_sxtb16_hi(w);
			}
		}
		return;
	}
	/* UNSTRUCTURED: pairs of rows (t0, t1) -> word 0 of each column, (t2, t3) -> word 1 */
	for (int32_t pair = 0; pair < 2; pair++) {
		const int32_t i0 = 2 * pair, i1 = i0 + 1;
		const int8_t *x0 = rows + (size_t)i0 * stride, *x1 = rows + (size_t)i1 * stride;
		int32_t *d = x16 + pair;
		for (int32_t p = 0; p < blocks; p++, d += 8) {
			const int32_t n = k - 4 * p;
			const uint32_t a = i0 < t ? tt_sp_word(x0 + 4 * p, n, pad4) : 0u;
			const uint32_t b = i1 < t ? tt_sp_word(x1 + 4 * p, n, pad4) : 0u;
			const int32_t a02 = __sxtb16(a), b02 = __sxtb16(b);
			const int32_t a13 = tt_sxtb16_hi(a), b13 = tt_sxtb16_hi(b);
			d[0] = tt_pack16(a02, b02);                                  /* k0 */
			d[2] = tt_pack16(a13, b13);                                  /* k1 */
			d[4] = (int32_t)(((uint32_t)a02 >> 16) | ((uint32_t)b02 & 0xffff0000u)); /* k2 */
			d[6] = (int32_t)(((uint32_t)a13 >> 16) | ((uint32_t)b13 & 0xffff0000u)); /* k3 */
		}
	}
}

/* Requantizes and stores the t sums of row r (any plan: the exact path when not fast). */
static inline void tt_sp_put(const int32_t *acc, int32_t t, const tt_sp_quant *q, int32_t r,
			     int8_t *o, int32_t ts)
{
	const tt_sp_plan *p = q->plans != NULL ? &q->plans[r] : &q->plan0;
	for (int32_t i = 0; i < t; i++) {
		o[i * ts] = tt_sp_out(acc[i], p, q, r);
	}
}

/* 1 when every plan of the call is fast (tt_rq_plan): the specialized passes apply. */
static inline int tt_sp_all_fast(const tt_sp_quant *q, int32_t rows)
{
	if (q->plans == NULL) {
		return q->plan0.right != 0;
	}
	for (int32_t r = 0; r < rows; r++) {
		if (q->plans[r].right == 0) {
			return 0;
		}
	}
	return 1;
}

/* Two int16-pair words of x16 in one LDRD (GCC splits a 64-bit load of an int32_t
 * pointer into two LDR): lo = the word at byte off, hi = the next one. x16 is written
 * by an earlier call (tt_sp_widen), not by the pass that reads it. */
#define TT_SP_LDRD(lo, hi, x, off)                                                                 \
	__asm__("ldrd	%0, %1, [%2, #" #off "]" : "=r"(lo), "=r"(hi) : "r"(x))

/* The entry walks: 4 sums of one row over x16 (BLOCK4, UNSTRUCTURED); g, v run on. */
#define TT_SP_WALK_BLOCK4                                                                          \
	do {                                                                                       \
		const int32_t *x = x16;                                                            \
		while (g < ge) {                                                                   \
			x += (uint32_t)*g++ << 3;                                                  \
			const uint32_t wv = *v4++;                                                 \
			const int32_t wl = __sxtb16(wv), wh = tt_sxtb16_hi(wv);                    \
			int32_t l, h;                                                              \
			TT_SP_LDRD(l, h, x, 0);                                                    \
			a0 = __smlad(l, wl, a0);                                                   \
			a0 = __smlad(h, wh, a0);                                                   \
			TT_SP_LDRD(l, h, x, 8);                                                    \
			a1 = __smlad(l, wl, a1);                                                   \
			a1 = __smlad(h, wh, a1);                                                   \
			TT_SP_LDRD(l, h, x, 16);                                                   \
			a2 = __smlad(l, wl, a2);                                                   \
			a2 = __smlad(h, wh, a2);                                                   \
			TT_SP_LDRD(l, h, x, 24);                                                   \
			a3 = __smlad(l, wl, a3);                                                   \
			a3 = __smlad(h, wh, a3);                                                   \
		}                                                                                  \
	} while (0)

#define TT_SP_WALK_UNSTRUCTURED                                                                    \
	do {                                                                                       \
		const int32_t *x = x16;                                                            \
		while (g < ge) {                                                                   \
			x += (uint32_t)*g++ << 1;                                                  \
			const int32_t wv = *v1++;                                                  \
			int32_t l, h;                                                              \
			TT_SP_LDRD(l, h, x, 0);                                                    \
			a0 = __smlabb(l, wv, a0);                                                  \
			a1 = __smlatb(l, wv, a1);                                                  \
			a2 = __smlabb(h, wv, a2);                                                  \
			a3 = __smlatb(h, wv, a3);                                                  \
		}                                                                                  \
	} while (0)

/*
 * One pass: every row of w against the x16 of t (1..4) input rows; out + the row's base
 * (tt_sp_store) receives the requantized sums. FAST: every plan is fast (tt_sp_all_fast),
 * PC: per-channel plans.
 */
#define TT_SP_PASS(NAME, WALK, FAST, PC)                                                           \
	static void NAME(const tinytx_sparse_weights *w, const int32_t *x16, int32_t t,           \
			 const int32_t *bias, const tt_sp_quant *q, const tt_sp_store *st,         \
			 int8_t *out)                                                              \
	{                                                                                          \
		const uint16_t *rp = w->row_ptr;                                                   \
		const uint8_t *gaps = w->gaps, *g = gaps;                                          \
		const uint32_t *v4 = (const uint32_t *)(const void *)w->values;                    \
		const int8_t *v1 = w->values;                                                      \
		const int32_t ts = st->token_stride, group = st->group;                           \
		const int32_t lo = q->lo, hi = q->hi, clamp = lo != -128 || hi != 127;             \
		int32_t m = q->plan0.m, round = q->plan0.round, right = q->plan0.right;           \
		int32_t j = 0;                                                                     \
		int8_t *o = out;                                                                   \
		for (int32_t r = 0; r < w->rows; r++) {                                            \
			const int32_t b = bias != NULL ? bias[r] : 0;                              \
			int32_t a0 = b, a1 = b, a2 = b, a3 = b;                                    \
			const uint8_t *ge = gaps + rp[r + 1];                                      \
			WALK;                                                                      \
			if (FAST && t == TT_SPARSE_TOKENS) {                                       \
				if (PC) {                                                          \
					m = q->plans[r].m;                                         \
					round = q->plans[r].round;                                 \
					right = q->plans[r].right;                                 \
				}                                                                  \
				a0 = __ssat(tt_smmla(a0, m, round) >> right, 8);                   \
				a1 = __ssat(tt_smmla(a1, m, round) >> right, 8);                   \
				a2 = __ssat(tt_smmla(a2, m, round) >> right, 8);                   \
				a3 = __ssat(tt_smmla(a3, m, round) >> right, 8);                   \
				if (clamp) {                                                       \
					a0 = a0 < lo ? lo : (a0 > hi ? hi : a0);                   \
					a1 = a1 < lo ? lo : (a1 > hi ? hi : a1);                   \
					a2 = a2 < lo ? lo : (a2 > hi ? hi : a2);                   \
					a3 = a3 < lo ? lo : (a3 > hi ? hi : a3);                   \
				}                                                                  \
				o[j] = (int8_t)a0;                                                 \
				o[j + ts] = (int8_t)a1;                                            \
				o[j + 2 * ts] = (int8_t)a2;                                        \
				o[j + 3 * ts] = (int8_t)a3;                                        \
			} else {                                                                   \
				const int32_t acc[4] = {a0, a1, a2, a3};                           \
				tt_sp_put(acc, t, q, r, o + j, ts);                                \
			}                                                                          \
			if (++j == group) {                                                        \
				j = 0;                                                             \
				o += st->group_stride;                                             \
			}                                                                          \
		}                                                                                  \
	}

TT_SP_PASS(tt_sp_pass_b4, TT_SP_WALK_BLOCK4, 1, 0)
TT_SP_PASS(tt_sp_pass_b4_pc, TT_SP_WALK_BLOCK4, 1, 1)
TT_SP_PASS(tt_sp_pass_u1, TT_SP_WALK_UNSTRUCTURED, 1, 0)
TT_SP_PASS(tt_sp_pass_u1_pc, TT_SP_WALK_UNSTRUCTURED, 1, 1)
TT_SP_PASS(tt_sp_pass_b4_any, TT_SP_WALK_BLOCK4, 0, 0)
TT_SP_PASS(tt_sp_pass_u1_any, TT_SP_WALK_UNSTRUCTURED, 0, 0)

typedef void (*tt_sp_pass_fn)(const tinytx_sparse_weights *w, const int32_t *x16, int32_t t,
			      const int32_t *bias, const tt_sp_quant *q, const tt_sp_store *st,
			      int8_t *out);

/* The pass for the call's format and plans. */
static inline tt_sp_pass_fn tt_sp_pass_for(const tinytx_sparse_weights *w, const tt_sp_quant *q)
{
	const int b4 = w->format == TINYTX_SPARSE_BLOCK4;
	if (!tt_sp_all_fast(q, w->rows)) {
		return b4 ? tt_sp_pass_b4_any : tt_sp_pass_u1_any;
	}
	if (q->plans != NULL) {
		return b4 ? tt_sp_pass_b4_pc : tt_sp_pass_u1_pc;
	}
	return b4 ? tt_sp_pass_b4 : tt_sp_pass_u1;
}

#endif /* TINYTX_ARM_SPARSE_H */
