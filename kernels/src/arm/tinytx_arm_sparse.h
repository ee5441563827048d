/*
 * The sparse-weight engine of the Cortex-M kernels (internal header; scratch layout in
 * tinytx_arm_sparse_layout.h): a pass takes 4 input rows (tokens, or im2col rows of 4
 * output pixels), widens them once into the int16 x16 layout of the weights' format, then
 * walks every weight row's entries once for the 4 rows:
 *   BLOCK4: per block LDRB gap, ADD, LDR, 2 SXTB16, 4 x (LDRD + 2 SMLAD);
 *   UNSTRUCTURED: per value LDRB gap, ADD, LDRSB, LDRD, 4 SMLA<B|T>B.
 * Each row's end of gaps, bias, requantization plan and output offset come from a table
 * the call writes once into the scratch (tt_sp_row); the 4 sums are requantized with the
 * tt_rq fast path and stored at out + offset + token * token_stride. Full passes with
 * every plan fast and no clamp run in assembly (tinytx_linear_sparse_s8.c), the rest in C.
 */
#ifndef TINYTX_ARM_SPARSE_H
#define TINYTX_ARM_SPARSE_H

#include "tinytx_arm_common.h"
#include "tinytx_arm_sparse_layout.h"
#include "../tinytx_sparse.h"

/* One weight row of the call (the assembly reads these fields in this order). */
typedef struct {
	int32_t bias[4];           /* the 4 sums' start (one LDM) */
	const uint8_t *ge;         /* the end of the row's gaps */
	const int32_t *x16;        /* the pass's widened inputs (the same for every row) */
	int32_t m, round, right;   /* the fast plan (tt_rq); right 0: the exact 64-bit path */
	int32_t out;               /* offset of the row's output for token 0 */
} tt_sp_row;

typedef char tt_sp_row_bytes[sizeof(tt_sp_row) == TT_SPARSE_PLAN_BYTES ? 1 : -1];

/* The call's requantization and rows. */
typedef struct {
	tinytx_requant rq; /* zero point; the factor of per-tensor calls */
	const int32_t *multipliers, *shifts;
	int32_t lo, hi;
	int all_fast;
	int no_empty; /* every row has an entry */
	int contiguous; /* row r's output at out + r (conv, token-major linear) */
	const tt_sp_row *rows; /* [weights->rows] */
} tt_sp_quant;

/*
 * The weights' rows (tinytx_check_sparse_row, inlined for short rows); *no_empty: every
 * row has an entry.
 */
static inline tinytx_status tt_sp_check_rows(const tinytx_sparse_weights *w, int *no_empty)
{
	const uint32_t positions = (uint32_t)tinytx_sparse_positions(w->format, w->cols);
	const uint16_t *rp = w->row_ptr;
	const uint8_t *gaps = w->gaps;
	const int have = gaps != NULL && w->values != NULL;
	const int32_t n = w->rows;
	uint32_t lo = rp[0];
	*no_empty = 1;
	for (int32_t r = 0; r < n; r++) {
		const uint32_t hi = rp[r + 1];
		*no_empty &= hi != lo;
		if (hi != lo) {
			if (hi < lo) {
				return TINYTX_ERR_PARAM;
			}
			if (!have) {
				return TINYTX_ERR_NULL;
			}
			const uint8_t *g = gaps + lo, *e = gaps + hi;
			uint32_t pos = *g++;
			if (e - g >= 16) {
				if (!tinytx_sparse_gap_sum(g, (uint32_t)(e - g), &pos)) {
					return TINYTX_ERR_PARAM;
				}
			} else {
				while (g < e) {
					const uint32_t d = *g++;
					if (d == 0) {
						return TINYTX_ERR_PARAM;
					}
					pos += d;
				}
			}
			if (pos >= positions) {
				return TINYTX_ERR_PARAM;
			}
		}
		lo = hi;
	}
	return TINYTX_OK;
}

/*
 * Checks the weights' rows (tinytx_check_sparse_row) while it writes their table:
 * out_offset(r) = (r / group) * group_stride + (r % group) * row_step (linear layouts;
 * conv: group = rows, row_step = 1).
 */
static inline tinytx_status tt_sp_quant_init(tt_sp_quant *q, const tinytx_sparse_weights *w,
					     tinytx_requant rq, tinytx_activation act,
					     const int32_t *multipliers, const int32_t *shifts,
					     const int32_t *bias, const int32_t *x16, tt_sp_row *rows,
					     int32_t group, int32_t group_stride, int32_t row_step)
{
	q->rq = rq;
	q->multipliers = multipliers;
	q->shifts = shifts;
	q->lo = act.min;
	q->hi = act.max;
	q->rows = rows;
	q->contiguous = group >= w->rows && row_step == 1;
	const tinytx_status st = tt_sp_check_rows(w, &q->no_empty);
	if (st != TINYTX_OK) {
		return st;
	}
	const uint16_t *rp = w->row_ptr;
	const uint8_t *gaps = w->gaps;
	const int32_t n = w->rows;
	/* bias, end of gaps, x16, the plan (one for all rows, or per channel), output offset */
	const tt_rq p0 = tt_rq_plan(rq);
	const int32_t m0 = rq.multiplier, round0 = p0.round, right0 = p0.fast ? p0.right : 0;
	q->all_fast = p0.fast;
	int32_t j = 0, base = 0, out = 0;
	for (int32_t r = 0; r < n; r++) {
		tt_sp_row *row = &rows[r];
		const int32_t b = bias != NULL ? bias[r] : 0;
		row->bias[0] = b;
		row->bias[1] = b;
		row->bias[2] = b;
		row->bias[3] = b;
		row->ge = gaps + rp[r + 1];
		row->x16 = x16;
		row->m = m0;
		row->round = round0;
		row->right = right0;
		row->out = out;
		out += row_step;
		if (++j == group) {
			j = 0;
			base += group_stride;
			out = base;
		}
	}
	if (multipliers != NULL) {
		q->all_fast = 1;
		for (int32_t r = 0; r < n; r++) {
			const tt_rq p = tt_rq_plan(tinytx_channel_requant(rq, multipliers, shifts, r));
			rows[r].m = p.rq.multiplier;
			rows[r].round = p.round;
			rows[r].right = p.fast ? p.right : 0;
			q->all_fast &= p.fast;
		}
	}
	return TINYTX_OK;
}

/* Requantized, clamped output of row r (any plan). */
static inline int8_t tt_sp_out(int32_t acc, const tt_sp_row *p, const tt_sp_quant *q, int32_t r)
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

/* The 4-row BLOCK4 widening of `words` block columns (tinytx_linear_sparse_s8.c). */
void tt_sp_widen4_b4(const int8_t *x, int32_t stride, int32_t *x16, int32_t words);

static void tt_sp_widen(int32_t format, const int8_t *rows, int32_t stride, int32_t t, int32_t k,
			int pad4, int32_t *x16)
{
	const int32_t blocks = (k + 3) / 4;
	const int32_t whole = pad4 ? blocks : k / 4; /* blocks read as one word */
	if (format == TINYTX_SPARSE_BLOCK4 && t == TT_SPARSE_TOKENS) {
		/* the 4 rows' words of a block column side by side: 8 consecutive words */
		const size_t s1 = (size_t)stride;
		tt_sp_widen4_b4(rows, stride, x16, whole);
		const int8_t *x = rows + 4 * (size_t)whole;
		int32_t *d = x16 + 8 * (size_t)whole;
		const int32_t p = whole;
		if (p < blocks) {
			for (int32_t i = 0; i < TT_SPARSE_TOKENS; i++) {
				const uint32_t w = tt_sp_word(x + (size_t)i * s1, k - 4 * p, 0);
				d[2 * i] = __sxtb16(w);
				d[2 * i + 1] = tt_sxtb16_hi(w);
			}
		}
		return;
	}
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

/* Two int16-pair words of x16 in one LDRD (GCC splits a 64-bit load of an int32_t
 * pointer into two LDR): lo = the word at byte off, hi = the next one; the "m" operand
 * orders the load after the stores of tt_sp_widen. */
typedef struct {
	int32_t w[2];
} tt_sp_pair;

#define TT_SP_LDRD(lo, hi, x, off)                                                                 \
	__asm__("ldrd	%0, %1, [%2, #" #off "]"                                                  \
		: "=r"(lo), "=r"(hi)                                                               \
		: "r"(x), "m"(*(const tt_sp_pair *)(const void *)((const char *)(x) + (off))))

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
 * One pass in C over every row against the x16 of t (1..4) input rows (the tail, clamps,
 * plans that are not fast); row r's outputs go to out + rows[r].out + token * ts.
 */
#define TT_SP_PASS_C(NAME, WALK)                                                                   \
	static void NAME(const tinytx_sparse_weights *w, const tt_sp_quant *q,                    \
			 const int32_t *x16, int32_t t, int32_t ts, int8_t *out)                   \
	{                                                                                          \
		const uint8_t *g = w->gaps;                                                        \
		const uint32_t *v4 = (const uint32_t *)(const void *)w->values;                    \
		const int8_t *v1 = w->values;                                                      \
		(void)v4;                                                                          \
		(void)v1;                                                                          \
		for (int32_t r = 0; r < w->rows; r++) {                                            \
			const tt_sp_row *row = &q->rows[r];                                        \
			const uint8_t *ge = row->ge;                                               \
			int32_t a0 = row->bias[0], a1 = a0, a2 = a0, a3 = a0;                      \
			WALK;                                                                      \
			const int32_t acc[4] = {a0, a1, a2, a3};                                   \
			int8_t *o = out + row->out;                                                \
			for (int32_t i = 0; i < t; i++) {                                          \
				o[i * ts] = tt_sp_out(acc[i], row, q, r);                          \
			}                                                                          \
		}                                                                                  \
	}

TT_SP_PASS_C(tt_sp_pass_b4, TT_SP_WALK_BLOCK4)
TT_SP_PASS_C(tt_sp_pass_u1, TT_SP_WALK_UNSTRUCTURED)

/*
 * The assembly passes (tinytx_linear_sparse_s8.c): every row for 4 input rows, every plan
 * fast, no clamp; BLOCK4 19 instructions per block, UNSTRUCTURED 10 per value, 31 per row.
 * Their context, at these offsets:
 */
typedef struct {
	const tt_sp_row *rows;    /* 0 */
	const tt_sp_row *rows_end; /* 4 */
	const int32_t *x16;       /* 8 */
	int8_t *out;              /* 12 */
	int32_t token_stride;     /* 16 */
	const uint8_t *gaps;      /* 20 */
	const void *values;       /* 24 */
} tt_sp_asm;

void tt_sp_rows_b4(const tt_sp_asm *c);
void tt_sp_rows_u1(const tt_sp_asm *c);
void tt_sp_rows_b4_ne(const tt_sp_asm *c); /* every row has an entry */
void tt_sp_rows_u1_ne(const tt_sp_asm *c);

/*
 * The fused activation of a pass the assembly ran: it saturates to int8 only, and for
 * -128 <= lo <= hi <= 127 clamp(saturate(v)) == clamp(v), so clamping its bytes after
 * keeps a ReLU layer on the assembly path.
 */
static inline void tt_sp_clamp(const tt_sp_quant *q, int32_t rows, int32_t ts, int8_t *out)
{
	const int32_t lo = q->lo, hi = q->hi;
	if (q->contiguous) { /* four bytes at a time: SSUB8 sets a GE flag per byte, SEL picks */
		const uint32_t lo4 = (uint8_t)lo * 0x01010101u, hi4 = (uint8_t)hi * 0x01010101u;
		for (int32_t i = 0; i < TT_SPARSE_TOKENS; i++, out += ts) {
			int32_t r = 0;
			for (; r + 4 <= rows; r += 4) {
				uint32_t v = tt_read_u32(out + r);
				(void)__ssub8(v, lo4);
				v = __sel(v, lo4);
				(void)__ssub8(hi4, v);
				v = __sel(v, hi4);
				memcpy(out + r, &v, sizeof(v));
			}
			for (; r < rows; r++) {
				const int32_t v = out[r];
				out[r] = (int8_t)(v < lo ? lo : (v > hi ? hi : v));
			}
		}
		return;
	}
	for (int32_t r = 0; r < rows; r++) {
		int8_t *o = out + q->rows[r].out;
		for (int32_t i = 0; i < TT_SPARSE_TOKENS; i++, o += ts) {
			const int32_t v = *o;
			*o = (int8_t)(v < lo ? lo : (v > hi ? hi : v));
		}
	}
}

/* One pass of t input rows (x16 widened) over every weight row; outputs from out. */
static inline void tt_sp_pass(const tinytx_sparse_weights *w, const tt_sp_quant *q,
			      const int32_t *x16, int32_t t, int32_t ts, int8_t *out)
{
	const int b4 = w->format == TINYTX_SPARSE_BLOCK4;
	if (t == TT_SPARSE_TOKENS && q->all_fast) {
		const tt_sp_asm c = {q->rows, q->rows + w->rows, x16, out, ts, w->gaps, w->values};
		if (b4) {
			(q->no_empty ? tt_sp_rows_b4_ne : tt_sp_rows_b4)(&c);
		} else {
			(q->no_empty ? tt_sp_rows_u1_ne : tt_sp_rows_u1)(&c);
		}
		if (q->lo != -128 || q->hi != 127) {
			tt_sp_clamp(q, w->rows, ts, out);
		}
	} else if (b4) {
		tt_sp_pass_b4(w, q, x16, t, ts, out);
	} else {
		tt_sp_pass_u1(w, q, x16, t, ts, out);
	}
}

#endif /* TINYTX_ARM_SPARSE_H */
