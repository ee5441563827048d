/*
 * Sparse weights (tinytx_sparse_weights, tinytx/types.h): the argument checks and the
 * portable row walk shared by the kernel variants (internal header).
 */
#ifndef TINYTX_SPARSE_H
#define TINYTX_SPARSE_H

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_SIMD32) && __ARM_FEATURE_SIMD32
#include <arm_acle.h>
#endif

#include "tinytx/kernels.h"
#include "tinytx/requant.h"
#include "tinytx/types.h"
#include "tinytx_check.h"
#include "tinytx_window.h"

/* Positions (columns, or block columns for BLOCK4) of a row of cols values. */
static inline int32_t tinytx_sparse_positions(int32_t format, int32_t cols)
{
	return format == TINYTX_SPARSE_BLOCK4 ? (cols + 3) / 4 : cols;
}

/*
 * Adds the n gaps at g to *sum; 0 when one of them is 0 (a repeated position). Four gaps
 * per aligned word: a zero byte shows in (w - 0x01010101) & ~w & 0x80808080.
 */
static inline int tinytx_sparse_gap_sum(const uint8_t *g, uint32_t n, uint32_t *sum)
{
	uint32_t s = *sum;
	const uint8_t *end = g + n;
	if (n < 16) { /* short rows: byte by byte */
		while (g < end) {
			if (*g == 0) {
				return 0;
			}
			s += *g++;
		}
		*sum = s;
		return 1;
	}
	while (g < end && ((uintptr_t)g & 3u) != 0) {
		if (*g == 0) {
			return 0;
		}
		s += *g++;
	}
	while (end - g >= 4) {
		uint32_t v;
		memcpy(&v, g, sizeof(v));
		g += 4;
		if (((v - 0x01010101u) & ~v & 0x80808080u) != 0) {
			return 0;
		}
#if defined(__ARM_FEATURE_SIMD32) && __ARM_FEATURE_SIMD32
		s = __usada8(v, 0u, s);
#else
		v = (v & 0x00ff00ffu) + ((v >> 8) & 0x00ff00ffu);
		s += (v & 0xffffu) + (v >> 16);
#endif
	}
	while (g < end) {
		if (*g == 0) {
			return 0;
		}
		s += *g++;
	}
	*sum = s;
	return 1;
}

/*
 * Row r of weights whose shape passed tinytx_check_sparse_shape: TINYTX_OK, ERR_PARAM for
 * a decreasing row_ptr, a repeated position (a gap of 0 after the row's first entry) or a
 * position past the row, ERR_NULL for entries without gaps or values.
 */
static inline tinytx_status tinytx_check_sparse_row(const tinytx_sparse_weights *w, int32_t r,
						    uint32_t positions)
{
	const uint32_t lo = w->row_ptr[r], hi = w->row_ptr[r + 1];
	if (hi <= lo) {
		return hi == lo ? TINYTX_OK : TINYTX_ERR_PARAM;
	}
	if (w->gaps == NULL || w->values == NULL) {
		return TINYTX_ERR_NULL;
	}
	uint32_t pos = w->gaps[lo];
	if (!tinytx_sparse_gap_sum(w->gaps + lo + 1, hi - lo - 1, &pos) || pos >= positions) {
		return TINYTX_ERR_PARAM;
	}
	return TINYTX_OK;
}

/*
 * The weights of a layer whose dense matrix is rows x cols, but their rows: the pointers
 * (ERR_NULL), the shape (ERR_DIMS), then the format, a BLOCK4 values array that is not
 * 4-byte aligned or row_ptr[0] != 0 (ERR_PARAM).
 */
static inline tinytx_status tinytx_check_sparse_shape(const tinytx_sparse_weights *w,
						      int32_t rows, int32_t cols)
{
	if (w == NULL || w->row_ptr == NULL) {
		return TINYTX_ERR_NULL;
	}
	if (w->rows != rows || w->cols != cols) {
		return TINYTX_ERR_DIMS;
	}
	if (w->format != TINYTX_SPARSE_UNSTRUCTURED && w->format != TINYTX_SPARSE_BLOCK4) {
		return TINYTX_ERR_PARAM;
	}
	if (w->row_ptr[0] != 0 ||
	    (w->format == TINYTX_SPARSE_BLOCK4 && ((uintptr_t)w->values & 3u) != 0)) {
		return TINYTX_ERR_PARAM;
	}
	return TINYTX_OK;
}

/*
 * Every check of the weights (tinytx_check_sparse_shape, then tinytx_check_sparse_row of
 * every row; walk_rows 0: the kernel checks its rows itself, before it writes its output).
 */
static inline tinytx_status tinytx_check_sparse_weights(const tinytx_sparse_weights *w,
							int32_t rows, int32_t cols, int walk_rows)
{
	tinytx_status st = tinytx_check_sparse_shape(w, rows, cols);
	const uint32_t positions = (uint32_t)tinytx_sparse_positions(w->format, cols);
	for (int32_t r = 0; walk_rows && st == TINYTX_OK && r < rows; r++) {
		st = tinytx_check_sparse_row(w, r, positions);
	}
	return st;
}

/* Every check of a tinytx_linear_sparse_s8 call but the scratch (shared by the variants). */
static inline tinytx_status tinytx_check_linear_sparse_call(const tinytx_linear_dims *dims,
							   const tinytx_linear_params *params,
							   const void *input,
							   const tinytx_sparse_weights *w,
							   const void *output, int walk_rows)
{
	if (w == NULL) {
		return TINYTX_ERR_NULL;
	}
	tinytx_status st = tinytx_check_linear_call(dims, params, input, w, output);
	if (st == TINYTX_OK) {
		st = tinytx_check_sparse_weights(w, dims->out_features, dims->in_features,
						 walk_rows);
	}
	return st;
}

/* Every check of a tinytx_conv2d_sparse_s8 call but the scratch. */
static inline tinytx_status tinytx_check_conv2d_sparse_call(const tinytx_conv2d_dims *dims,
							   const tinytx_conv2d_params *params,
							   const void *input,
							   const tinytx_sparse_weights *w,
							   const void *output, int walk_rows)
{
	if (w == NULL) {
		return TINYTX_ERR_NULL;
	}
	tinytx_status st = tinytx_check_conv2d_call(dims, params, input, w, output, 0);
	if (st == TINYTX_OK) {
		st = tinytx_check_sparse_weights(
			w, dims->out_c, dims->kernel_h * dims->kernel_w * dims->in_c, walk_rows);
	}
	return st;
}

/* The dims checks of the *_get_buffer_size functions. */
static inline tinytx_status tinytx_check_linear_sparse_dims(const tinytx_linear_dims *dims,
							   int32_t num_cores)
{
	if (dims == NULL) {
		return TINYTX_ERR_NULL;
	}
	const tinytx_status st = tinytx_check_linear_dims(dims);
	return st != TINYTX_OK ? st : tinytx_check_cores(num_cores);
}

static inline tinytx_status tinytx_check_conv2d_sparse_dims(const tinytx_conv2d_dims *dims,
							   int32_t num_cores)
{
	if (dims == NULL) {
		return TINYTX_ERR_NULL;
	}
	const tinytx_status st = tinytx_check_conv2d_dims(dims, 0);
	return st != TINYTX_OK ? st : tinytx_check_cores(num_cores);
}

/*
 * Row r of the (checked) weights against x, a row of cols int8 values: the dot product of
 * the decoded row with x (the columns of a BLOCK4 row's padding are skipped).
 */
static inline int32_t tinytx_sparse_row_dot(const tinytx_sparse_weights *w, int32_t r,
					    const int8_t *x)
{
	const int32_t per = w->format, cols = w->cols;
	const uint32_t lo = w->row_ptr[r], hi = w->row_ptr[r + 1];
	const int8_t *v = w->values + (size_t)lo * (uint32_t)per;
	int32_t acc = 0, col = 0;
	for (uint32_t j = lo; j < hi; j++, v += per) {
		col += (int32_t)w->gaps[j] * per;
		const int32_t n = cols - col < per ? cols - col : per;
		for (int32_t i = 0; i < n; i++) {
			acc += (int32_t)x[col + i] * v[i];
		}
	}
	return acc;
}

/* Where output feature n of token s goes in a linear layer's layout. */
static inline size_t tinytx_linear_out_index(const tinytx_linear_dims *dims, int32_t s, int32_t n)
{
	const int32_t head_dim = dims->out_features / dims->heads;
	switch (dims->layout) {
	case TINYTX_LAYOUT_HEAD_MAJOR:
		return ((size_t)(n / head_dim) * dims->rows + s) * head_dim + n % head_dim;
	case TINYTX_LAYOUT_HEAD_MAJOR_T:
		return (size_t)n * dims->rows + s;
	default:
		return (size_t)s * dims->out_features + n;
	}
}

/*
 * The im2col row of output pixel (oy, ox): its kernel_h * kernel_w * in_c values in the
 * dense weights' order, pad_value at the padded taps.
 */
static inline void tinytx_im2col_pixel(const tinytx_conv2d_dims *d, const int8_t *input,
				       int32_t pad_value, int32_t oy, int32_t ox, int8_t *col)
{
	const tinytx_window_geom g = TINYTX_WINDOW_GEOM(d);
	const tinytx_window win = tinytx_window_at(&g, oy, ox);
	const int32_t in_c = d->in_c;
	for (int32_t ky = 0; ky < d->kernel_h; ky++) {
		for (int32_t kx = 0; kx < d->kernel_w; kx++) {
			int8_t *dst = col + ((size_t)ky * d->kernel_w + kx) * in_c;
			if (ky >= win.ky0 && ky < win.ky1 && kx >= win.kx0 && kx < win.kx1) {
				const int8_t *src =
					input + ((size_t)(win.iy0 + ky) * d->in_w + (win.ix0 + kx)) *
							in_c;
				for (int32_t c = 0; c < in_c; c++) {
					dst[c] = src[c];
				}
			} else {
				for (int32_t c = 0; c < in_c; c++) {
					dst[c] = (int8_t)pad_value;
				}
			}
		}
	}
}

#endif /* TINYTX_SPARSE_H */
