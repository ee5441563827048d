/*
 * Scratch layouts of the Cortex-M DSP kernels (internal header). Plain C99 without
 * target code: the kernels, their *_get_buffer_size (tinytx_*_size.c) and the host ABI
 * library (kernels/abi) all read the one definition here.
 */
#ifndef TINYTX_ARM_LAYOUT_H
#define TINYTX_ARM_LAYOUT_H

#include <stdint.h>

#include "tinytx/types.h"
#include "../tinytx_check.h"

/* Blocks of 4 along K (the W2 layout of tinytx_arm_common.h). */
static inline int32_t tt_w2_blocks(int32_t k)
{
	return (k + 3) >> 2;
}

static inline int64_t tt_even64(int64_t n)
{
	return (n + 1) & ~(int64_t)1;
}

/* ------------------------------------------------------------ tinytx_linear_buf_s8 */

/*
 * Scratch bytes of the fast path for these (checked) dims, 0 when it does not apply:
 * decided by the dims alone, so that the size never depends on params. Sizes beyond
 * int32 get no scratch (the scratch-free path) rather than an error.
 */
static inline int32_t tt_linear_buf_bytes(const tinytx_linear_dims *d)
{
	if (d->layout != TINYTX_LAYOUT_TOKEN_MAJOR || d->rows < 2 || d->out_features < 2) {
		return 0;
	}
	const int64_t need =
		((int64_t)((d->rows + 1) & ~1) + 2) * (int64_t)tt_w2_blocks(d->in_features) * 8;
	return need > INT32_MAX ? 0 : (int32_t)need;
}

/* ------------------------------------------------------------ tinytx_conv2d_s8 */

#define TT_CONV_BAND_MAX 65536 /* bytes: larger bands take the per-window padding path */

/*
 * Bytes of the band: a padded copy of the KH input rows under one output row, padding
 * columns included, so that every window of the row lies inside it. Used by 2-D convs
 * with padding (small images are mostly border: 28 of radar's 64 8x8 windows), not by
 * KH == 1 (Conv1d: only the few windows at the ends are padded). 0: no band.
 */
static inline int32_t tt_conv_band_bytes(const tinytx_conv2d_dims *d)
{
	if (d->kernel_h == 1 || (d->pad_top | d->pad_left | d->pad_bottom | d->pad_right) == 0) {
		return 0;
	}
	const int64_t bytes =
		(int64_t)d->kernel_h * (d->in_w + d->pad_left + d->pad_right) * d->in_c;
	return bytes <= TT_CONV_BAND_MAX ? (int32_t)((bytes + 3) & ~3) : 0;
}

/*
 * Blocks of 4 of the kernel volume: each kernel row (len = KW * C_in values) starts a
 * block, except when len % 4 == 2: then rows follow each other and every second row
 * starts half-way through a block (radar's 3x3 over 2 channels: 5 blocks, not 6).
 */
static inline int32_t tt_conv_blocks(int32_t kh, int32_t len)
{
	return (len & 3) == 2 ? (kh * len + 3) >> 2 : kh * ((len + 3) >> 2);
}

/* ------------------------------------------------------------ tinytx_mhsa_s8 */

/*
 * The output projection runs head by head (Yacc += O_h Wo_h^T, O_h two rows at a
 * time) unless the head dimension is 2 or 4: then one block of K per head would
 * leave the tiles half empty, and O [S][H*P] is kept whole for one projection at
 * the end (it is small then: 2 * S2 * HP4 bytes).
 */
static inline int tt_mhsa_out_whole(const tinytx_mhsa_dims *d)
{
	return d->head_dim == 2 || d->head_dim == 4;
}

/* Byte offsets of the layer-wise block's parts (from the scratch rounded up to 4). */
typedef struct {
	int64_t xw, w, qw, kw, vw, wo, pw, o, bias, sc, yacc, total;
} tt_mhsa_layout;

static inline tt_mhsa_layout tt_mhsa_layout_of(const tinytx_mhsa_dims *d)
{
	const int64_t s = d->seq_len, e = d->embed_dim, p = d->head_dim;
	const int64_t eb = tt_w2_blocks(d->embed_dim), pb = tt_w2_blocks(d->head_dim);
	const int64_t sb = tt_w2_blocks(d->seq_len);
	const int64_t hpb = tt_w2_blocks((int32_t)((int64_t)d->heads * d->head_dim));
	const int whole = tt_mhsa_out_whole(d);
	tt_mhsa_layout l;
	l.xw = 0;
	l.w = l.xw + 2 * tt_even64(s) * 4 * eb;
	l.qw = l.w + 2 * tt_even64(p) * 4 * eb;
	l.kw = l.qw + 2 * tt_even64(s) * 4 * pb;
	l.vw = l.kw + 2 * tt_even64(s) * 4 * pb;
	l.wo = l.vw + 2 * tt_even64(p) * 4 * sb;
	l.pw = l.wo + 2 * tt_even64(e) * 4 * (whole ? hpb : pb);
	l.o = l.pw + 2 * 2 * 4 * sb;
	l.bias = l.o + 2 * (whole ? tt_even64(s) : 2) * 4 * (whole ? hpb : pb);
	l.sc = l.bias + 4 * (tt_even64(p) + 4);
	l.yacc = l.sc + 2 * 4 * 4 * sb;
	l.total = l.yacc + 4 * tt_even64(s) * tt_even64(e);
	return l;
}

/* ------------------------------------------------------------ the depth-first engine */

/* X is widened at least this many rows at a time (fewer calls of the tile engine). */
#define TT_XROWS_MIN 16

/*
 * Scratch parts of tinytx_mhsa_dft_s8 / tinytx_fwsa_s8 / tinytx_fwsa_dft_s8 (byte offsets
 * from the 4-byte aligned scratch; see tinytx_mhsa_dft_s8.c). ymode: the output
 * projection accumulates head by head into Yacc (int32 [S][E]); otherwise the heads' A*V
 * rows are kept as O (int8 [S][H*P]) and projected at the end.
 */
typedef struct {
	int32_t rows;  /* query rows per tile: tile_rows rounded up to even */
	int32_t xrows; /* rows of the widened X buffer */
	int ymode;
	int64_t kw, xw, vw, w, qw, pw, o, wo, sc, acc, total;
} tt_attn_layout;

/* Checks dims (and H * E for FWSA) and tile_rows (1..S), fills *l. */
static inline tinytx_status tt_attn_layout_of(const tinytx_mhsa_dims *d, int32_t tile_rows,
					      int fused, tt_attn_layout *l)
{
	const tinytx_status st = tinytx_check_block_dims(d, fused);
	if (st != TINYTX_OK) {
		return st;
	}
	if (tile_rows < 1 || tile_rows > d->seq_len) {
		return TINYTX_ERR_DIMS;
	}
	const int64_t s = d->seq_len, hp = (int64_t)d->heads * d->head_dim;
	const int64_t s2 = tt_even64(s), e2 = tt_even64(d->embed_dim), p2 = tt_even64(d->head_dim);
	const int64_t eb = tt_w2_blocks(d->embed_dim), pb = tt_w2_blocks(d->head_dim);
	const int64_t sb = tt_w2_blocks(d->seq_len), qb = fused ? eb : pb;
	const int64_t rows = tt_even64(tile_rows);
	int64_t xrows = s2; /* FWSA: X whole (the keys) */
	if (!fused) {        /* grows with tile_rows, as every part (the planner relies on it) */
		xrows = rows > TT_XROWS_MIN ? rows : TT_XROWS_MIN;
		xrows = xrows < s2 ? xrows : s2;
	}
	const int64_t yacc = 4 * s2 * e2, wo = 2 * e2 * 4 * pb;
	l->rows = (int32_t)rows;
	l->xrows = (int32_t)xrows;
	l->ymode = yacc + wo <= s * hp;
	l->kw = 0;
	l->xw = l->kw + (fused ? 0 : 2 * s2 * 4 * pb);
	l->vw = l->xw + 2 * xrows * 4 * eb;
	l->w = l->vw + 2 * p2 * 4 * sb;
	l->qw = l->w + 2 * (fused && e2 > p2 ? e2 : p2) * 4 * eb;
	l->pw = l->qw + 2 * rows * 4 * qb;
	l->o = l->pw + 2 * 2 * 4 * sb;
	l->wo = l->o + 2 * 2 * 4 * pb;
	l->sc = l->wo + (l->ymode ? wo : 0);
	l->acc = l->sc + 2 * 4 * 4 * sb;
	l->total = l->acc + (l->ymode ? yacc : s * hp);
	return l->total > INT32_MAX ? TINYTX_ERR_DIMS : TINYTX_OK;
}

/* *_get_buffer_size of the depth-first engine's blocks: total bytes or a negative status. */
static inline int32_t tt_attn_buffer_size(const tinytx_mhsa_dims *dims, int32_t tile_rows,
					  int fused, int32_t num_cores)
{
	tt_attn_layout l;
	const tinytx_status st = tt_attn_layout_of(dims, tile_rows, fused, &l);
	return tinytx_size_any_cores(st != TINYTX_OK ? st : (int32_t)l.total, num_cores);
}

#endif /* TINYTX_ARM_LAYOUT_H */
