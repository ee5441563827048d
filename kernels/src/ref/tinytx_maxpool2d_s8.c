/* Reference max pooling of one HWC image (tinytx/core/golden/pool.py). */
#include "tinytx/kernels.h"
#include "../tinytx_window.h"

tinytx_status tinytx_maxpool2d_s8(const tinytx_pool2d_dims *dims, const int8_t *input,
				  int8_t *output)
{
	const tinytx_status st = tinytx_check_maxpool2d_call(dims, input, output);
	if (st != TINYTX_OK) {
		return st;
	}
	const tinytx_window_geom g = TINYTX_WINDOW_GEOM(dims);
	const int32_t ch = dims->channels;

	for (int32_t oy = 0; oy < dims->out_h; oy++) {
		for (int32_t ox = 0; ox < dims->out_w; ox++) {
			const tinytx_window win = tinytx_window_at(&g, oy, ox);
			int8_t *y = output + ((size_t)oy * dims->out_w + ox) * ch;
			for (int32_t c = 0; c < ch; c++) {
				int32_t best = -128;
				for (int32_t ky = win.ky0; ky < win.ky1; ky++) {
					const int8_t *xr = input + (size_t)(win.iy0 + ky) * g.in_w * ch + c;
					for (int32_t kx = win.kx0; kx < win.kx1; kx++) {
						const int32_t v = xr[(size_t)(win.ix0 + kx) * ch];
						best = v > best ? v : best;
					}
				}
				y[c] = (int8_t)best;
			}
		}
	}
	return TINYTX_OK;
}
