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
	const int32_t whole = pad4 ? blocks : k / 4; /* blocks read as one word */
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
			int32_t p = 0;
			for (; p < whole; p++, d += 8, x += 4) {
				const uint32_t w = tt_read_u32(x);
				d[0] = __sxtb16(w);
				d[1] = tt_sxtb16_hi(w);
			}
			if (p < blocks) {
				const uint32_t w = tt_sp_word(x, k - 4 * p, 0);
				d[0] = __sxtb16(w);
				d[1] = tt_sxtb16_hi(w);
			}
		}
		return;
	}
	/* UNSTRUCTURED: pairs of rows (t0, t1) -> word 0 of each column, (t2, t3) -> word 1 */
	for (int32_t pair = 0; pair < 2; pair++) {
		const int32_t i0 = 2 * pair, i1 = i0 + 1;
		const int8_t *x0 = rows + (size_t)(i0 < t ? i0 : 0) * stride;
		const int8_t *x1 = rows + (size_t)(i1 < t ? i1 : 0) * stride;
		const uint32_t m0 = i0 < t ? ~0u : 0u, m1 = i1 < t ? ~0u : 0u;
		int32_t *d = x16 + pair;
		for (int32_t p = 0; p < blocks; p++, d += 8, x0 += 4, x1 += 4) {
			uint32_t a, b;
			if (p < whole) {
				a = tt_read_u32(x0) & m0;
				b = tt_read_u32(x1) & m1;
			} else {
				a = tt_sp_word(x0, k - 4 * p, 0) & m0;
				b = tt_sp_word(x1, k - 4 * p, 0) & m1;
			}
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

/* What a pass reads besides its rows: set once per call. */
typedef struct {
	const tinytx_sparse_weights *w;
	const int32_t *x16;
	const int32_t *bias;
	const tt_sp_quant *q;
	int32_t token_stride; /* between a row's outputs of consecutive tokens */
	int32_t row_step;     /* between the outputs of consecutive rows of a group */
} tt_sp_job;

/*
 * One pass over rows r0 .. r1 - 1 of the weights against the x16 of 4 input rows (FULL),
 * or of t (1..4) rows (any plan, the exact path when needed); row r0's outputs start at o.
 * PC: per-channel plans, CLAMP: an activation narrower than int8.
 */
#define TT_SP_PASS_FULL(NAME, WALK, PC, CLAMP)                                                     \
	static void NAME(const tt_sp_job *job, int32_t r0, int32_t r1, int8_t *o, int32_t t)      \
	{                                                                                          \
		(void)t;                                                                           \
		const tinytx_sparse_weights *w = job->w;                                           \
		const uint16_t *rp = w->row_ptr;                                                   \
		const uint8_t *gaps = w->gaps, *g = gaps + rp[r0];                                 \
		const uint32_t *v4 = (const uint32_t *)(const void *)w->values + rp[r0];           \
		const int8_t *v1 = w->values + rp[r0];                                             \
		const int32_t *x16 = job->x16, *bias = job->bias;                                  \
		const tt_sp_quant *q = job->q;                                                     \
		const int32_t ts = job->token_stride, step = job->row_step;                       \
		(void)v4;                                                                          \
		(void)v1;                                                                          \
		for (int32_t r = r0; r < r1; r++, o += step) {                                     \
			const int32_t b = bias != NULL ? bias[r] : 0;                              \
			int32_t a0 = b, a1 = b, a2 = b, a3 = b;                                    \
			const uint8_t *ge = gaps + rp[r + 1];                                      \
			WALK;                                                                      \
			const tt_sp_plan *p = PC ? &q->plans[r] : &q->plan0;                       \
			const int32_t m = p->m, round = p->round, right = p->right;                \
			a0 = __ssat(tt_smmla(a0, m, round) >> right, 8);                           \
			a1 = __ssat(tt_smmla(a1, m, round) >> right, 8);                           \
			a2 = __ssat(tt_smmla(a2, m, round) >> right, 8);                           \
			a3 = __ssat(tt_smmla(a3, m, round) >> right, 8);                           \
			if (CLAMP) {                                                               \
				const int32_t lo = q->lo, hi = q->hi;                              \
				a0 = a0 < lo ? lo : (a0 > hi ? hi : a0);                           \
				a1 = a1 < lo ? lo : (a1 > hi ? hi : a1);                           \
				a2 = a2 < lo ? lo : (a2 > hi ? hi : a2);                           \
				a3 = a3 < lo ? lo : (a3 > hi ? hi : a3);                           \
			}                                                                          \
			o[0] = (int8_t)a0;                                                         \
			o[ts] = (int8_t)a1;                                                        \
			o[2 * ts] = (int8_t)a2;                                                    \
			o[3 * ts] = (int8_t)a3;                                                    \
		}                                                                                  \
	}

#define TT_SP_PASS_ANY(NAME, WALK)                                                                 \
	static void NAME(const tt_sp_job *job, int32_t r0, int32_t r1, int8_t *o, int32_t t)      \
	{                                                                                          \
		const tinytx_sparse_weights *w = job->w;                                           \
		const uint16_t *rp = w->row_ptr;                                                   \
		const uint8_t *gaps = w->gaps, *g = gaps + rp[r0];                                 \
		const uint32_t *v4 = (const uint32_t *)(const void *)w->values + rp[r0];           \
		const int8_t *v1 = w->values + rp[r0];                                             \
		const int32_t *x16 = job->x16, *bias = job->bias;                                  \
		(void)v4;                                                                          \
		(void)v1;                                                                          \
		for (int32_t r = r0; r < r1; r++, o += job->row_step) {                            \
			const int32_t b = bias != NULL ? bias[r] : 0;                              \
			int32_t a0 = b, a1 = b, a2 = b, a3 = b;                                    \
			const uint8_t *ge = gaps + rp[r + 1];                                      \
			WALK;                                                                      \
			const int32_t acc[4] = {a0, a1, a2, a3};                                   \
			tt_sp_put(acc, t, job->q, r, o, job->token_stride);                        \
		}                                                                                  \
	}

TT_SP_PASS_FULL(tt_sp_pass_b4, TT_SP_WALK_BLOCK4, 0, 0)
TT_SP_PASS_FULL(tt_sp_pass_b4_c, TT_SP_WALK_BLOCK4, 0, 1)
TT_SP_PASS_FULL(tt_sp_pass_b4_pc, TT_SP_WALK_BLOCK4, 1, 0)
TT_SP_PASS_FULL(tt_sp_pass_b4_pc_c, TT_SP_WALK_BLOCK4, 1, 1)
TT_SP_PASS_FULL(tt_sp_pass_u1, TT_SP_WALK_UNSTRUCTURED, 0, 0)
TT_SP_PASS_FULL(tt_sp_pass_u1_c, TT_SP_WALK_UNSTRUCTURED, 0, 1)
TT_SP_PASS_FULL(tt_sp_pass_u1_pc, TT_SP_WALK_UNSTRUCTURED, 1, 0)
TT_SP_PASS_FULL(tt_sp_pass_u1_pc_c, TT_SP_WALK_UNSTRUCTURED, 1, 1)
TT_SP_PASS_ANY(tt_sp_pass_b4_any, TT_SP_WALK_BLOCK4)
TT_SP_PASS_ANY(tt_sp_pass_u1_any, TT_SP_WALK_UNSTRUCTURED)

typedef void (*tt_sp_pass_fn)(const tt_sp_job *job, int32_t r0, int32_t r1, int8_t *o,
			      int32_t t);

/* The passes of a call: full (4 rows) and tail (fewer rows). */
typedef struct {
	tt_sp_pass_fn full, tail;
} tt_sp_passes;

static inline tt_sp_passes tt_sp_passes_for(const tinytx_sparse_weights *w, const tt_sp_quant *q)
{
	static const tt_sp_pass_fn fast[2][2][2] = {
		{{tt_sp_pass_u1, tt_sp_pass_u1_c}, {tt_sp_pass_u1_pc, tt_sp_pass_u1_pc_c}},
		{{tt_sp_pass_b4, tt_sp_pass_b4_c}, {tt_sp_pass_b4_pc, tt_sp_pass_b4_pc_c}},
	};
	const int b4 = w->format == TINYTX_SPARSE_BLOCK4;
	tt_sp_passes p;
	p.tail = b4 ? tt_sp_pass_b4_any : tt_sp_pass_u1_any;
	p.full = p.tail;
	if (tt_sp_all_fast(q, w->rows)) {
		p.full = fast[b4][q->plans != NULL][q->lo != -128 || q->hi != 127];
	}
	return p;
}

/* A pass of t input rows over the rows of every group (groups of `group` rows whose
 * outputs start group_stride apart; token_stride/row_step in the job). */
static inline void tt_sp_run(const tt_sp_passes *p, const tt_sp_job *job, int32_t t,
			     int32_t group, int32_t group_stride, int8_t *out)
{
	const tt_sp_pass_fn fn = t == TT_SPARSE_TOKENS ? p->full : p->tail;
	for (int32_t r0 = 0; r0 < job->w->rows; r0 += group, out += group_stride) {
		fn(job, r0, r0 + group, out, t);
	}
}

#endif /* TINYTX_ARM_SPARSE_H */
