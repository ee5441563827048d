/*
 * The 2 x 2 tile engine of the fused attention blocks (internal header).
 *
 * The assembly routines are defined in tinytx_mhsa_s8.c (its comment describes each
 * one); this header declares them, and the context they read, for every fused block
 * (tinytx_mhsa_s8.c, and tinytx_mhsa_dft_s8.c: the depth-first MHSA and FWSA). The
 * assembly addresses the context's fields by offset, checked below.
 */
#ifndef TINYTX_ARM_TILES_H
#define TINYTX_ARM_TILES_H

#include <stddef.h>
#include <stdint.h>

#include "tinytx_arm_common.h"

typedef struct {
	int32_t m;            /* -20 */
	int32_t round;        /* -16 */
	int32_t right;        /* -12 */
	int16_t *out;         /* -8 */
	int32_t delta;        /* -4 */
	const int16_t *a;     /* 0 */
	int32_t steps;        /* 4: unused (the assembly keeps its state in its frame) */
	int32_t c[4];         /* 8: constant init */
	const int32_t *i0;    /* 24: unused (tt_tiles_raw_s: in place at o0, o1) */
	const int32_t *i1;    /* 28: unused */
	int32_t *o0;          /* 32 */
	int32_t *o1;          /* 36 */
	const int16_t *b_end; /* 40 */
	int32_t max0, max1;   /* 44, 48 */
	int32_t kb;           /* 52: blocks, >= 1 */
	uintptr_t entry;      /* 56: unused */
	int32_t m1;           /* 60: rq_pc, rqt_pc: the factor of a's second row */
	int32_t round1;       /* 64 */
	int32_t right1;       /* 68 */
} tt_tiles;

/* Offsets from &t->a, as the assembly uses them (32-bit pointers: Cortex-M). */
#define TT_TILES_AT(f) ((long)offsetof(tt_tiles, f) - (long)offsetof(tt_tiles, a))
_Static_assert(TT_TILES_AT(m) == -20 && TT_TILES_AT(round) == -16 && TT_TILES_AT(right) == -12,
	       "tt_tiles: requantization fields");
_Static_assert(TT_TILES_AT(out) == -8 && TT_TILES_AT(delta) == -4, "tt_tiles: out, delta");
_Static_assert(TT_TILES_AT(steps) == 4 && TT_TILES_AT(c) == 8 && TT_TILES_AT(i0) == 24 &&
		       TT_TILES_AT(i1) == 28,
	       "tt_tiles: init fields");
_Static_assert(TT_TILES_AT(o0) == 32 && TT_TILES_AT(o1) == 36 && TT_TILES_AT(b_end) == 40,
	       "tt_tiles: outputs");
_Static_assert(TT_TILES_AT(max0) == 44 && TT_TILES_AT(max1) == 48 && TT_TILES_AT(kb) == 52 &&
		       TT_TILES_AT(entry) == 56,
	       "tt_tiles: maxima, blocks, entry");
_Static_assert(TT_TILES_AT(m1) == 60 && TT_TILES_AT(round1) == 64 && TT_TILES_AT(right1) == 68,
	       "tt_tiles: per-channel fields");

/* `at` is &t->a of a tt_tiles t. */
void tt_tiles_raw_c(void *at, const int16_t *b);
void tt_tiles_raw_s(void *at, const int16_t *b);
void tt_tiles_max_c(void *at, const int16_t *b);
void tt_tiles_rq_c(void *at, const int16_t *b);
void tt_tiles_rqt_c(void *at, const int16_t *b);
void tt_tiles_rq_c_pc(void *at, const int16_t *b);
void tt_tiles_rqt_c_pc(void *at, const int16_t *b);

/*
 * nt tiles with constant init stored as requantized int16 (tt_tiles_rq_c, or transposed
 * tt_tiles_rqt_c; the _pc routines when rq1 != rq), the first at `out`, tile `first` (0
 * or 1) of its block; factors the assembly cannot take go through tt_tiles_raw_c and C
 * (tinytx_mhsa_s8.c).
 */
void tt_tiles_rq(tt_tiles *t, int transposed, const int16_t *b, int32_t nt, const tt_rq *rq,
		 const tt_rq *rq1, int16_t *out, int32_t first, size_t step);

/* An assembly exp pass over a score row of a multiple of 4 logits (tt_exp4_* of
 * tinytx_arm_common.h): k = {max, multiplier, 1}; returns the sum of the i-exps. */
typedef uint32_t (*tt_exp4_fn)(int32_t *row, int32_t *end, const int32_t *k);

/* The C exp loops for modes without an assembly pass (tinytx_mhsa_s8.c): the i-exp of
 * sc[0 .. s) in place, sc[s .. s4) zeroed; returns the sum (modulo 2^32). */
uint32_t tt_exp_row_c(int32_t *sc, int32_t s, int32_t s4, int32_t max, const tt_softmax_plan *sm);

/* Sets the 0 to 3 words p[0 .. n) to v (a row's padding, without a loop). */
static inline void tt_pad_words(int32_t *p, int32_t n, int32_t v)
{
	if (n > 0) {
		p[0] = v;
		if (n > 1) {
			p[1] = v;
			if (n > 2) {
				p[2] = v;
			}
		}
	}
}

/*
 * The i-exp of the score row sc[0 .. s) (max its maximum) in place, sc[s .. s4) zeroed;
 * returns their sum (modulo 2^32). With an assembly pass (exp4 not NULL) the row is
 * padded to s4 with max, a logit of 0 in range for every pass, and the padding's i-exp
 * values (TT_EXP_ONE each) are taken out of the sum.
 */
static inline uint32_t tt_exp_row(int32_t *sc, int32_t s, int32_t s4, int32_t max,
				  tt_exp4_fn exp4, const tt_softmax_plan *sm)
{
	if (exp4 == NULL) {
		return tt_exp_row_c(sc, s, s4, max, sm);
	}
	tt_pad_words(sc + s, s4 - s, max);
	const int32_t k[3] = {max, sm->rq.multiplier, 1};
	const uint32_t sum = exp4(sc, sc + s4, k) - (uint32_t)(s4 - s) * TT_EXP_ONE;
	tt_pad_words(sc + s, s4 - s, 0);
	return sum;
}

/* Y [s][e] int8 = requant(Yacc [s][e rounded up to even]) with the output factor `out`, or
 * one per feature (ch.multipliers not NULL) (tinytx_mhsa_s8.c). */
void tt_yacc_to_output(const int32_t *yacc, int32_t s, int32_t e, const tt_rq *out,
		       tinytx_channels ch, int8_t *y_out);

/* Scores of one query row against keys of one block each (tinytx_mhsa_s8.c). */
void tt_qk_row_kb1(const int32_t *a, const int32_t *k, const int32_t *k_end, int32_t *out,
		   int32_t *max);

/* The same for a head dimension <= 2, query and keys packed one word each, [x0, x1]. */
void tt_qk_row_p2(int32_t a, const int32_t *k, const int32_t *k_end, int32_t *out, int32_t *max);

#endif /* TINYTX_ARM_TILES_H */
