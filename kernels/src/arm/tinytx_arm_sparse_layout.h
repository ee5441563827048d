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

#endif /* TINYTX_ARM_SPARSE_LAYOUT_H */
