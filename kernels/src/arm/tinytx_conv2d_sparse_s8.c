/*
 * Cortex-M DSP 2-D convolution on sparse weights: the im2col rows of 4 output pixels
 * (int8, in the scratch), widened to int16 once, then every output channel's entries
 * walked once for the 4 pixels (tinytx_arm_sparse.h). Bit-exact with tinytx_conv2d_s8 on
 * the decoded weights (padded taps hold pad_value, as the dense kernel's folded sums).
 */
#include "tinytx_arm_sparse.h"
#include "tinytx/kernels.h"

/* n bytes from src to dst, a word at a time (unaligned LDR/STR), then bytes. */
static inline void copy_bytes(int8_t *dst, const int8_t *src, int32_t n)
{
	int32_t c = 0;
	for (; c + 4 <= n; c += 4) {
		const uint32_t v = tt_read_u32(src + c);
		memcpy(dst + c, &v, sizeof(v));
	}
	for (; c < n; c++) {
		dst[c] = src[c];
	}
}

static inline void fill_bytes(int8_t *dst, uint32_t pad4, int32_t n)
{
	int32_t c = 0;
	for (; c + 4 <= n; c += 4) {
		memcpy(dst + c, &pad4, sizeof(pad4));
	}
	for (; c < n; c++) {
		dst[c] = (int8_t)pad4;
	}
}

/*
 * The im2col row of output pixel (oy, ox): per kernel row, the taps inside the image are
 * one contiguous run of the input (copied a word at a time), the padded ones pad_value.
 */
static void im2col(const tinytx_conv2d_dims *d, const tinytx_window_geom *g, const int8_t *input,
		   uint32_t pad4, int32_t oy, int32_t ox, int8_t *col)
{
	const tinytx_window win = tinytx_window_at(g, oy, ox);
	const int32_t in_c = d->in_c, row = d->kernel_w * in_c;
	if (!tinytx_window_clipped(g, &win)) { /* inside the image: one run per kernel row */
		const size_t in_row = (size_t)d->in_w * in_c;
		const int8_t *src = input + ((size_t)win.iy0 * d->in_w + win.ix0) * in_c;
		if ((row & 3) == 0) {
			for (int32_t ky = 0; ky < d->kernel_h; ky++, col += row, src += in_row) {
				for (int32_t c = 0; c < row; c += 4) {
					const uint32_t v = tt_read_u32(src + c);
					memcpy(col + c, &v, sizeof(v));
				}
			}
		} else {
			for (int32_t ky = 0; ky < d->kernel_h; ky++, col += row, src += in_row) {
				copy_bytes(col, src, row);
			}
		}
		return;
	}
	const int32_t left = win.kx0 * in_c, inside = (win.kx1 - win.kx0) * in_c;
	for (int32_t ky = 0; ky < d->kernel_h; ky++, col += row) {
		if (ky < win.ky0 || ky >= win.ky1 || inside <= 0) {
			fill_bytes(col, pad4, row);
			continue;
		}
		const int8_t *src =
			input + ((size_t)(win.iy0 + ky) * d->in_w + win.ix0 + win.kx0) * in_c;
		fill_bytes(col, pad4, left);
		copy_bytes(col + left, src, inside);
		fill_bytes(col + left + inside, pad4, row - left - inside);
	}
}

tinytx_status tinytx_conv2d_sparse_s8(const tinytx_conv2d_dims *dims,
				      const tinytx_conv2d_params *params, const int8_t *input,
				      const tinytx_sparse_weights *weights, const int32_t *bias,
				      int8_t *output, const tinytx_context *ctx)
{
	tinytx_status st = tinytx_check_conv2d_sparse_call(dims, params, input, weights, output, 0);
	if (st == TINYTX_OK) {
		st = tinytx_check_scratch(
			ctx, tinytx_conv2d_sparse_s8_get_buffer_size(dims, tinytx_run_cores()));
	}
	if (st == TINYTX_OK && ((uintptr_t)ctx->buf & 3u) != 0) {
		st = TINYTX_ERR_PARAM; /* the row table and LDRD/LDM/STM need a word-aligned scratch */
	}
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t out_c = dims->out_c;
	const int32_t cols = dims->kernel_h * dims->kernel_w * dims->in_c;
	const int32_t kpad = (cols + 3) & ~3;
	const tt_sparse_layout l = tt_sparse_layout_of(out_c, cols, 1);
	uint8_t *buf = ctx->buf;
	int32_t *x16 = (int32_t *)(void *)(buf + l.x16);
	int8_t *col = (int8_t *)(buf + l.cols);
	for (int32_t i = 0; i < TT_SPARSE_TOKENS; i++) { /* the columns past the filter */
		for (int32_t c = cols; c < kpad; c++) {
			col[i * kpad + c] = 0;
		}
	}
	tt_sp_quant q;
	st = tt_sp_quant_init(&q, weights, params->requant, params->act, params->multipliers,
			 params->shifts, bias, x16, (tt_sp_row *)(void *)(buf + l.plans), out_c, 0,
			 1);
	if (st != TINYTX_OK) {
		return st;
	}
	const tinytx_window_geom g = TINYTX_WINDOW_GEOM(dims);
	const uint32_t pad4 = (uint8_t)params->pad_value * 0x01010101u;
	const int32_t pixels = dims->out_h * dims->out_w;
	int32_t oy = 0, ox = 0;
	for (int32_t p = 0; p < pixels; p += TT_SPARSE_TOKENS) {
		const int32_t t = pixels - p < TT_SPARSE_TOKENS ? pixels - p : TT_SPARSE_TOKENS;
		for (int32_t i = 0; i < t; i++) {
			im2col(dims, &g, input, pad4, oy, ox, col + (size_t)i * kpad);
			if (++ox == dims->out_w) {
				ox = 0;
				oy++;
			}
		}
		tt_sp_widen(weights->format, col, kpad, t, kpad, 1, x16);
		tt_sp_pass(weights, &q, x16, t, out_c, output + (size_t)p * out_c);
	}
	return TINYTX_OK;
}
