/*
 * Scratch of the Cortex-M sparse-weight kernels (plain C: the size files and the host ABI
 * include it). Both kernels run 4 tokens (linear) or 4 output pixels (conv2d) per pass
 * over the weight rows; the scratch holds
 *   plans  [rows] x 10 words: each row's bias (4 copies: the 4 sums' start), end of gaps,
 *          x16, requantization plan and output offset (tt_sp_row);
 *   x16    kpad * 8 bytes: the pass's 4 input rows as int16 (kpad = cols rounded up to 4):
 *          BLOCK4: per block column p, for token t = 0..3 the words [x(4p), x(4p+2)] and
 *          [x(4p+1), x(4p+3)] (SXTB16 order, one SMLAD each against a widened block);
 *          UNSTRUCTURED: per column k, the words [x_0(k), x_1(k)] and [x_2(k), x_3(k)]
 *          (SMLABB/SMLATB against one weight);
 *   cols   conv2d only, 4 x kpad bytes: the im2col rows of the pass's pixels (int8).
 */
#ifndef TINYTX_ARM_SPARSE_LAYOUT_H
#define TINYTX_ARM_SPARSE_LAYOUT_H

#include <stdint.h>

#define TT_SPARSE_TOKENS 4     /* tokens or pixels per pass */
#define TT_SPARSE_PLAN_BYTES 40 /* one row (tt_sp_row): bias x 4, end of gaps, x16, plan, output */

typedef struct {
	int64_t plans, x16, cols, total;
} tt_sparse_layout;

/* The layout for `rows` weight rows of `cols` columns (conv: with the im2col rows). */
static inline tt_sparse_layout tt_sparse_layout_of(int32_t rows, int32_t cols, int conv)
{
	const int64_t kpad = ((int64_t)cols + 3) & ~(int64_t)3;
	tt_sparse_layout l;
	l.plans = 0;
	l.x16 = (int64_t)rows * TT_SPARSE_PLAN_BYTES;
	l.cols = l.x16 + kpad * 2 * TT_SPARSE_TOKENS;
	l.total = l.cols + (conv ? kpad * TT_SPARSE_TOKENS : 0);
	return l;
}

/*
 * The direct path of tinytx_conv2d_sparse_s8 (no im2col): the 4 pixels of a pass are the
 * same pixel of 4 "tokens" (ymode: 4 bands of q output rows; else 4 runs of q pixels of
 * one output row; the last band or run of the image or row overlaps the one before so
 * that every pass is full), and their input is widened once into an image of rows x pitch
 * cells (in_c * 8 bytes: every input value of the 4 tokens as int16), so that every
 * weight entry reads its 4 pixels at one offset from the pass's cell,
 * (ky * pitch + kx) * in_c * 8 + c * 8, computed once per call into the program:
 *   program  per weight row a head (bias x 4; the code address of its first unrolled
 *            entry, or the end of its entries; their count), its entries, a tail (its
 *            plan and output offset): TT_SPC_ROW_WORDS words and the entries, BLOCK4 3
 *            words each (the offsets of its two pairs of values, the pairs widened),
 *            UNSTRUCTURED one (offset << 16 | value); then a last head that ends the pass;
 *   image    the cells, per 4 channels of a cell: BLOCK4 over in_c % 4 == 0 the 4
 *            tokens' [x0, x2] then their [x1, x3] (SXTB16 order), over in_c % 4 == 2 per
 *            2 channels the 4 tokens' [x0, x1]; UNSTRUCTURED per channel [x_0, x_1],
 *            [x_2, x_3] (tokens 0..3);
 *   pads     pitch * in_c bytes of pad_value (rounded up to 4): the cells outside the
 *            input.
 * It applies when the image fits TT_SPC_IMAGE_MAX (16-bit offsets) and, BLOCK4, in_c is
 * even (a block's two pairs each inside one tap); else the im2col path.
 */
#define TT_SPC_IMAGE_MAX 16384
#define TT_SPC_ROW_WORDS 10

typedef struct {
	int fits;      /* the image fits (the direct path: UNSTRUCTURED, BLOCK4 with even in_c) */
	int ymode;     /* tokens: 4 bands of q output rows; else 4 runs of q pixels of a row */
	int32_t q;     /* output rows (ymode) or pixels per token of a chunk */
	int32_t pitch; /* cells per image row */
	int32_t rows;  /* image rows */
	int64_t prog, image, pad, total;
} tt_spc_layout;

/* The largest n >= 1 with ((n - 1) * step + k) * unit <= TT_SPC_IMAGE_MAX (1 if none). */
static inline int64_t tt_spc_fit(int64_t unit, int32_t k, int32_t step)
{
	if (unit > TT_SPC_IMAGE_MAX) {
		return 1;
	}
	const int32_t n = TT_SPC_IMAGE_MAX / (int32_t)unit; /* 32-bit: one UDIV */
	return n >= k ? (n - k) / step + 1 : 1;
}

static inline tt_spc_layout tt_spc_layout_of(int32_t in_c, int32_t out_h, int32_t out_w,
					     int32_t out_c, int32_t kh, int32_t kw, int32_t sh,
					     int32_t sw)
{
	tt_spc_layout l;
	const int64_t cell = (int64_t)in_c * 8, cols = (int64_t)kh * kw * in_c;
	const int64_t kpad = (cols + 3) & ~(int64_t)3;
	int64_t q, pitch, rows;
	l.ymode = out_h >= 4;
	if (l.ymode) {
		pitch = ((int64_t)out_w - 1) * sw + kw;
		const int64_t fit = tt_spc_fit(pitch * cell, kh, sh), need = ((int64_t)out_h + 3) / 4;
		q = fit < need ? fit : need;
		rows = (q - 1) * sh + kh;
	} else {
		const int64_t fit = tt_spc_fit(kh * cell, kw, sw), need = ((int64_t)out_w + 3) / 4;
		q = fit < need ? fit : need;
		pitch = (q - 1) * sw + kw;
		rows = kh;
	}
	l.q = (int32_t)q;
	l.pitch = (int32_t)pitch;
	l.rows = (int32_t)rows;
	l.image = rows * pitch * cell;
	l.fits = l.image <= TT_SPC_IMAGE_MAX;
	l.prog = (int64_t)out_c *
			 (TT_SPC_ROW_WORDS * 4 + (3 * kpad > 4 * cols ? 3 * kpad : 4 * cols)) +
		 TT_SPC_ROW_WORDS * 4; /* a last head */
	l.pad = (pitch * in_c + 3) & ~(int64_t)3;
	l.total = l.prog + l.image + l.pad;
	return l;
}


/*
 * Scratch bytes of tinytx_conv2d_sparse_s8 (the size file and the kernel): the direct
 * path's, or the im2col path's when the image does not fit or (odd in_c: BLOCK4) might
 * take it.
 */
static inline int64_t tt_spc_scratch(const tt_spc_layout *l, int32_t in_c, int32_t out_c,
				     int32_t cols)
{
	const int64_t im2col = tt_sparse_layout_of(out_c, cols, 1).total;
	if (!l->fits) {
		return im2col;
	}
	return (in_c & 1) != 0 && im2col > l->total ? im2col : l->total;
}

#endif /* TINYTX_ARM_SPARSE_LAYOUT_H */
