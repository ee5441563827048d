/*
 * Reference average pooling of one HWC image (formula in tinytx/core/golden/pool.py):
 * y = round_half_up(sum * m / (count * 2^s)), one rounding, then the clamp.
 */
#include "tinytx/kernels.h"
#include "tinytx/requant.h"
#include "../tinytx_window.h"

tinytx_status tinytx_avgpool2d_s8(const tinytx_pool2d_dims *dims,
				  const tinytx_avgpool2d_params *params, const int8_t *input,
				  int8_t *output)
{
	const tinytx_status st = tinytx_check_avgpool2d_call(dims, params, input, output);
	if (st != TINYTX_OK) {
		return st;
	}
	const tinytx_window_geom g = TINYTX_WINDOW_GEOM(dims);
	const int32_t ch = dims->channels;

	for (int32_t oy = 0; oy < dims->out_h; oy++) {
		for (int32_t ox = 0; ox < dims->out_w; ox++) {
			const tinytx_window win = tinytx_window_at(&g, oy, ox);
			const int32_t count = params->count_include_pad
						      ? g.kernel_h * g.kernel_w
						      : (win.ky1 - win.ky0) * (win.kx1 - win.kx0);
			const int32_t inside = (win.ky1 - win.ky0) * (win.kx1 - win.kx0);
			int8_t *y = output + ((size_t)oy * dims->out_w + ox) * ch;
			for (int32_t c = 0; c < ch; c++) {
				int32_t sum = -inside * params->input_zero_point;
				for (int32_t ky = win.ky0; ky < win.ky1; ky++) {
					const int8_t *xr = input + (size_t)(win.iy0 + ky) * g.in_w * ch + c;
					for (int32_t kx = win.kx0; kx < win.kx1; kx++) {
						sum += xr[(size_t)(win.ix0 + kx) * ch];
					}
				}
				y[c] = params->tflite_rounding
					       ? tinytx_avgpool_tflite(
							 sum + inside * params->input_zero_point,
							 count, params->act)
					       : tinytx_avgpool_round(sum, count, params->requant,
								      params->act);
			}
		}
	}
	return TINYTX_OK;
}
