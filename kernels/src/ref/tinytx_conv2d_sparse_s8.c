/*
 * Reference 2-D convolution on sparse weights: tinytx_conv2d_s8 on the decoded matrix.
 * Each output pixel's window is copied into the scratch (im2col, pad_value at padded
 * taps), then every output channel walks its row of entries over it.
 */
#include "tinytx/kernels.h"
#include "tinytx/requant.h"
#include "../tinytx_sparse.h"

tinytx_status tinytx_conv2d_sparse_s8(const tinytx_conv2d_dims *dims,
				      const tinytx_conv2d_params *params, const int8_t *input,
				      const tinytx_sparse_weights *weights, const int32_t *bias,
				      int8_t *output, const tinytx_context *ctx)
{
	tinytx_status st = tinytx_check_conv2d_sparse_call(dims, params, input, weights, output, 1);
	if (st == TINYTX_OK) {
		st = tinytx_check_scratch(ctx, tinytx_conv2d_sparse_s8_get_buffer_size(dims, 1));
	}
	if (st != TINYTX_OK) {
		return st;
	}
	int8_t *col = ctx->buf;
	const int32_t out_c = dims->out_c;
	for (int32_t oy = 0; oy < dims->out_h; oy++) {
		for (int32_t ox = 0; ox < dims->out_w; ox++) {
			tinytx_im2col_pixel(dims, input, params->pad_value, oy, ox, col);
			int8_t *y = output + ((size_t)oy * dims->out_w + ox) * out_c;
			for (int32_t co = 0; co < out_c; co++) {
				const int32_t acc = (bias != NULL ? bias[co] : 0) +
						    tinytx_sparse_row_dot(weights, co, col);
				const tinytx_requant rq = tinytx_channel_requant(
					params->requant, params->multipliers, params->shifts, co);
				y[co] = tinytx_requantize_s8(acc, rq, params->act.min, params->act.max);
			}
		}
	}
	return TINYTX_OK;
}
