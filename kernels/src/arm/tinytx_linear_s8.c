/*
 * Cortex-M DSP linear layer: 2 tokens x 2 output features per tile (SMLAD on
 * SXTB16-widened words), the output layout fused into the stores. Each output
 * goes to out[s * row_stride + col_offset(n)], with row_stride and the per-feature
 * offset derived from the layout once per feature, not per element.
 */
#include "tinytx_arm_common.h"
#include "tinytx/kernels.h"
#include "../tinytx_check.h"

typedef struct {
	int8_t *out;
	size_t row_stride;
	int32_t rows;
	int32_t head_dim;
	tinytx_layout layout;
} store_map;

static inline size_t col_offset(const store_map *m, int32_t n)
{
	switch (m->layout) {
	case TINYTX_LAYOUT_HEAD_MAJOR:
		return (size_t)(n / m->head_dim) * m->rows * m->head_dim + n % m->head_dim;
	case TINYTX_LAYOUT_HEAD_MAJOR_T:
		return (size_t)n * m->rows;
	default:
		return (size_t)n;
	}
}

tinytx_status tinytx_linear_s8(const tinytx_linear_dims *dims, const tinytx_linear_params *params,
			       const int8_t *input, const int8_t *weights, const int32_t *bias,
			       int8_t *output)
{
	tinytx_status st = tinytx_check_linear_call(dims, params, input, weights, output);
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t rows = dims->rows, k = dims->in_features, n_dim = dims->out_features;
	const tinytx_requant rq = params->requant;
	const int32_t lo = params->act.min, hi = params->act.max;
	store_map map = {output, 0, rows, n_dim / dims->heads, dims->layout};
	map.row_stride = dims->layout == TINYTX_LAYOUT_TOKEN_MAJOR   ? (size_t)n_dim
			 : dims->layout == TINYTX_LAYOUT_HEAD_MAJOR ? (size_t)map.head_dim
								    : 1u;

	int32_t n = 0;
	for (; n + 2 <= n_dim; n += 2) {
		const int8_t *w0 = weights + (size_t)n * k, *w1 = w0 + k;
		const int32_t b0 = bias != NULL ? bias[n] : 0, b1 = bias != NULL ? bias[n + 1] : 0;
		int8_t *o0 = output + col_offset(&map, n), *o1 = output + col_offset(&map, n + 1);
		int32_t s = 0;
		for (; s + 2 <= rows; s += 2) {
			const int8_t *x0 = input + (size_t)s * k;
			int32_t c[4] = {b0, b1, b0, b1};
			tt_dot_2x2(x0, x0 + k, w0, w1, k, 0, c);
			o0[s * map.row_stride] = tt_requant_s8(c[0], rq, lo, hi);
			o1[s * map.row_stride] = tt_requant_s8(c[1], rq, lo, hi);
			o0[(s + 1) * map.row_stride] = tt_requant_s8(c[2], rq, lo, hi);
			o1[(s + 1) * map.row_stride] = tt_requant_s8(c[3], rq, lo, hi);
		}
		if (s < rows) {
			int32_t c[2] = {b0, b1};
			tt_dot_1x2(input + (size_t)s * k, w0, w1, k, 0, c);
			o0[s * map.row_stride] = tt_requant_s8(c[0], rq, lo, hi);
			o1[s * map.row_stride] = tt_requant_s8(c[1], rq, lo, hi);
		}
	}
	if (n < n_dim) {
		const int8_t *w = weights + (size_t)n * k;
		const int32_t b = bias != NULL ? bias[n] : 0;
		int8_t *o = output + col_offset(&map, n);
		int32_t s = 0;
		for (; s + 2 <= rows; s += 2) {
			const int8_t *x0 = input + (size_t)s * k;
			int32_t c[2] = {b, b};
			tt_dot_1x2(w, x0, x0 + k, k, 0, c); /* one feature, two tokens */
			o[s * map.row_stride] = tt_requant_s8(c[0], rq, lo, hi);
			o[(s + 1) * map.row_stride] = tt_requant_s8(c[1], rq, lo, hi);
		}
		if (s < rows) {
			int32_t c = tt_dot_1x1(input + (size_t)s * k, w, k, 0, b);
			o[s * map.row_stride] = tt_requant_s8(c, rq, lo, hi);
		}
	}
	return TINYTX_OK;
}
