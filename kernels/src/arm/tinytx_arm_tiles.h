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

/* Scores of one query row against keys of one block each (tinytx_mhsa_s8.c). */
void tt_qk_row_kb1(const int32_t *a, const int32_t *k, const int32_t *k_end, int32_t *out,
		   int32_t *max);

/* The same for a head dimension <= 2, query and keys packed one word each, [x0, x1]. */
void tt_qk_row_p2(int32_t a, const int32_t *k, const int32_t *k_end, int32_t *out, int32_t *max);

#endif /* TINYTX_ARM_TILES_H */
