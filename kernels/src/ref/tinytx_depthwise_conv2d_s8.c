/* Reference depthwise convolution (tinytx/core/golden/conv.py); a dilation or a depth
 * multiplier runs the general path (tinytx_conv_general.h). */
#include "tinytx/kernels.h"
#include "tinytx/requant.h"
#include "../tinytx_window.h"
#include "../tinytx_conv_general.h"

tinytx_status tinytx_depthwise_conv2d_s8(const tinytx_conv2d_dims *dims,
					 const tinytx_conv2d_params *params, const int8_t *input,
					 const int8_t *weights, const int32_t *bias, int8_t *output)
{
	if (dims != NULL && tinytx_conv2d_general(dims)) { /* dilation, depth multiplier */
		return tinytx_conv2d_general_s8(dims, params, input, weights, bias, output, 1);
	}
	tinytx_status st = tinytx_check_conv2d_call(dims, params, input, weights, output, 1);
	if (st != TINYTX_OK) {
		return st;
	}
	const tinytx_window_geom g = TINYTX_WINDOW_GEOM(dims);
	const int32_t ch = dims->in_c;

	for (int32_t oy = 0; oy < dims->out_h; oy++) {
		for (int32_t ox = 0; ox < dims->out_w; ox++) {
			const tinytx_window win = tinytx_window_at(&g, oy, ox);
			int8_t *y = output + ((size_t)oy * dims->out_w + ox) * ch;
			for (int32_t c = 0; c < ch; c++) {
				int32_t acc = bias != NULL ? bias[c] : 0;
				if (params->pad_value != 0 && tinytx_window_clipped(&g, &win)) {
					acc += params->pad_value *
					       tinytx_padded_weight_sum(&g, &win, weights + c, 1, ch);
				}
				for (int32_t ky = win.ky0; ky < win.ky1; ky++) {
					for (int32_t kx = win.kx0; kx < win.kx1; kx++) {
						const size_t xi = ((size_t)(win.iy0 + ky) * g.in_w +
								   (win.ix0 + kx)) * ch + c;
						const size_t wi = ((size_t)ky * g.kernel_w + kx) * ch + c;
						acc += (int32_t)input[xi] * weights[wi];
					}
				}
				const tinytx_requant rq = tinytx_channel_requant(
					params->requant, params->multipliers, params->shifts, c);
				y[c] = tinytx_requantize_s8(acc, rq, params->act.min, params->act.max);
			}
		}
	}
	return TINYTX_OK;
}
