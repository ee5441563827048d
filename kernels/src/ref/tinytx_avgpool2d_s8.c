/*
 * Reference average pooling of one HWC image (formula in tinytx/golden/pool.py):
 * y = round_half_up(sum * m / (count * 2^s)), one rounding, then the clamp.
 */
#include "tinytx/kernels.h"
#include "tinytx/requant.h"
#include "../tinytx_window.h"

/*
 * clamp(floor(v / c) + z, lo, hi) for c >= 1 with v = ((sum*m + (c&1)*2^(s-1)) >> s) + c/2
 * and z the output zero point: floor(v / c) is clamped to [lo - z, hi - z].
 */
static int8_t mean_round(int32_t sum, int32_t count, tinytx_requant rq, tinytx_activation act)
{
	const int64_t t = (int64_t)sum * rq.multiplier;
	const int64_t half = (count & 1) ? ((int64_t)1 << (rq.shift - 1)) : 0;
	const int64_t v = ((t + half) >> rq.shift) + (count >> 1);
	const int32_t lo = act.min - rq.zero_point, hi = act.max - rq.zero_point;
	if (v < (int64_t)lo * count) {
		return (int8_t)act.min;
	}
	if (v >= (int64_t)(hi + 1) * count) {
		return (int8_t)act.max;
	}
	const int32_t vi = (int32_t)v; /* within [-255 * count, 256 * count) */
	int32_t q = vi / count;
	if (vi % count != 0 && vi < 0) {
		q--; /* floor, not truncation */
	}
	return (int8_t)(q + rq.zero_point);
}

tinytx_status tinytx_avgpool2d_s8(const tinytx_pool2d_dims *dims,
				  const tinytx_avgpool2d_params *params, const int8_t *input,
				  int8_t *output)
{
	if (dims == NULL || params == NULL || input == NULL || output == NULL) {
		return TINYTX_ERR_NULL;
	}
	tinytx_status st = tinytx_check_pool2d_dims(dims);
	if (st != TINYTX_OK) {
		return st;
	}
	if (!tinytx_requant_valid(params->requant) || !tinytx_activation_valid(params->act) ||
	    (params->count_include_pad != 0 && params->count_include_pad != 1) ||
	    params->input_zero_point < -128 || params->input_zero_point > 127) {
		return TINYTX_ERR_PARAM;
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
				y[c] = mean_round(sum, count, params->requant, params->act);
			}
		}
	}
	return TINYTX_OK;
}
