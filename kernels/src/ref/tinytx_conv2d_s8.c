/* Reference 2-D convolution of one HWC image (formula in tinytx/core/golden/conv.py). */
#include "tinytx/kernels.h"
#include "tinytx/requant.h"
#include "../tinytx_window.h"
#include "../tinytx_conv_general.h"

tinytx_status tinytx_conv2d_s8(const tinytx_conv2d_dims *dims, const tinytx_conv2d_params *params,
			       const int8_t *input, const int8_t *weights, const int32_t *bias,
			       int8_t *output, const tinytx_context *ctx)
{
	if (dims != NULL && tinytx_conv2d_general(dims)) { /* dilation, depth multiplier */
		return tinytx_conv2d_general_s8(dims, params, input, weights, bias, output, 0);
	}
	tinytx_status st = tinytx_check_conv2d_call(dims, params, input, weights, output, 0);
	if (st == TINYTX_OK) { /* the reference kernel needs none: ctx may be NULL */
		st = tinytx_check_scratch(ctx, tinytx_conv2d_s8_get_buffer_size(dims, 1));
	}
	if (st != TINYTX_OK) {
		return st;
	}
	const tinytx_window_geom g = TINYTX_WINDOW_GEOM(dims);
	const int32_t in_c = dims->in_c, out_c = dims->out_c;
	const size_t filter = (size_t)dims->kernel_h * dims->kernel_w * in_c;

	for (int32_t oy = 0; oy < dims->out_h; oy++) {
		for (int32_t ox = 0; ox < dims->out_w; ox++) {
			const tinytx_window win = tinytx_window_at(&g, oy, ox);
			int8_t *y = output + ((size_t)oy * dims->out_w + ox) * out_c;
			for (int32_t co = 0; co < out_c; co++) {
				const int8_t *w = weights + (size_t)co * filter;
				int32_t acc = bias != NULL ? bias[co] : 0;
				if (params->pad_value != 0 && tinytx_window_clipped(&g, &win)) {
					acc += params->pad_value *
					       tinytx_padded_weight_sum(&g, &win, w, in_c, in_c);
				}
				for (int32_t ky = win.ky0; ky < win.ky1; ky++) {
					for (int32_t kx = win.kx0; kx < win.kx1; kx++) {
						const int8_t *xp =
							input + ((size_t)(win.iy0 + ky) * g.in_w +
								 (win.ix0 + kx)) * in_c;
						const int8_t *wp =
							w + ((size_t)ky * g.kernel_w + kx) * in_c;
						for (int32_t ci = 0; ci < in_c; ci++) {
							acc += (int32_t)xp[ci] * wp[ci];
						}
					}
				}
				const tinytx_requant rq = tinytx_channel_requant(
					params->requant, params->multipliers, params->shifts, co);
				y[co] = tinytx_requantize_s8(acc, rq, params->act.min, params->act.max);
			}
		}
	}
	return TINYTX_OK;
}
