/*
 * Convolution with dilation and (depthwise) a depth multiplier: the checks and the one
 * straightforward implementation every variant runs for such dims (internal header;
 * formula in tinytx/core/golden/conv.py). A padded tap reads pad_value.
 */
#ifndef TINYTX_CONV_GENERAL_H
#define TINYTX_CONV_GENERAL_H

#include <stdint.h>

#include "tinytx/requant.h"
#include "tinytx/types.h"
#include "tinytx_window.h"

/* A dims factor: 0 means 1. */
static inline int32_t tinytx_conv2d_factor(int32_t v)
{
	return v == 0 ? 1 : v;
}

static inline tinytx_status tinytx_check_conv2d_general_dims(const tinytx_conv2d_dims *d,
							     int depthwise)
{
	const int32_t dh = tinytx_conv2d_factor(d->dilation_h);
	const int32_t dw = tinytx_conv2d_factor(d->dilation_w);
	const int32_t m = tinytx_conv2d_factor(d->depth_multiplier);
	if (!tinytx_dim_ok(dh, 1) || !tinytx_dim_ok(dw, 1) || !tinytx_dim_ok(m, 1) ||
	    (!depthwise && m != 1) || !tinytx_dim_ok(d->in_c, 1) || !tinytx_dim_ok(d->out_c, 1) ||
	    !tinytx_dim_ok(d->kernel_h, 1) || !tinytx_dim_ok(d->kernel_w, 1)) {
		return TINYTX_ERR_DIMS;
	}
	if (depthwise && (int64_t)d->in_c * m != d->out_c) {
		return TINYTX_ERR_DIMS;
	}
	const int64_t span_h = (int64_t)(d->kernel_h - 1) * dh + 1;
	const int64_t span_w = (int64_t)(d->kernel_w - 1) * dw + 1;
	if (span_h > TINYTX_MAX_DIM || span_w > TINYTX_MAX_DIM) {
		return TINYTX_ERR_DIMS;
	}
	tinytx_status st = tinytx_check_window(d->in_h, d->in_w, d->out_h, d->out_w,
					       (int32_t)span_h, (int32_t)span_w, d->stride_h,
					       d->stride_w, d->pad_top, d->pad_left, d->pad_bottom,
					       d->pad_right);
	if (st != TINYTX_OK) {
		return st;
	}
	const int64_t taps = (int64_t)d->kernel_h * d->kernel_w * (depthwise ? 1 : d->in_c);
	if (taps > TINYTX_MAX_REDUCTION || !tinytx_fits_i32_3(d->in_h, d->in_w, d->in_c) ||
	    !tinytx_fits_i32_3(d->out_h, d->out_w, d->out_c) || !tinytx_fits_i32(taps, d->out_c)) {
		return TINYTX_ERR_DIMS;
	}
	return TINYTX_OK;
}

/* The taps k in [*lo, *hi) of one axis whose position i0 + k * d lies in [0, n). */
static inline void tinytx_dilated_taps(int32_t i0, int32_t d, int32_t k, int32_t n, int32_t *lo,
				       int32_t *hi)
{
	int32_t a = i0 < 0 ? (-i0 + d - 1) / d : 0;
	int32_t b = n - i0 <= 0 ? 0 : (n - i0 + d - 1) / d;
	b = b > k ? k : b;
	*lo = a > b ? b : a;
	*hi = b;
}

static inline tinytx_status tinytx_conv2d_general_s8(const tinytx_conv2d_dims *d,
						     const tinytx_conv2d_params *params,
						     const int8_t *input, const int8_t *weights,
						     const int32_t *bias, int8_t *output, int depthwise)
{
	if (params == NULL || input == NULL || weights == NULL || output == NULL) {
		return TINYTX_ERR_NULL;
	}
	tinytx_status st = tinytx_check_conv2d_general_dims(d, depthwise);
	if (st != TINYTX_OK) {
		return st;
	}
	if (!tinytx_requant_valid(params->requant) || !tinytx_activation_valid(params->act) ||
	    params->pad_value < -128 || params->pad_value > 127 ||
	    !tinytx_channels_valid(params->multipliers, params->shifts, d->out_c)) {
		return TINYTX_ERR_PARAM;
	}
	const int32_t dh = tinytx_conv2d_factor(d->dilation_h);
	const int32_t dw = tinytx_conv2d_factor(d->dilation_w);
	const int32_t m = tinytx_conv2d_factor(d->depth_multiplier);
	const int32_t in_c = d->in_c, out_c = d->out_c, kh = d->kernel_h, kw = d->kernel_w;
	const int32_t pad = params->pad_value;
	/* weights of one output channel: taps tap_stride apart, width values each */
	const int32_t width = depthwise ? 1 : in_c;
	const int32_t tap_stride = depthwise ? out_c : in_c;
	for (int32_t oy = 0; oy < d->out_h; oy++) {
		const int32_t iy0 = oy * d->stride_h - d->pad_top;
		int32_t ky0, ky1;
		tinytx_dilated_taps(iy0, dh, kh, d->in_h, &ky0, &ky1);
		for (int32_t ox = 0; ox < d->out_w; ox++) {
			const int32_t ix0 = ox * d->stride_w - d->pad_left;
			int32_t kx0, kx1;
			tinytx_dilated_taps(ix0, dw, kw, d->in_w, &kx0, &kx1);
			const int clipped = ky0 != 0 || ky1 != kh || kx0 != 0 || kx1 != kw;
			int8_t *y = output + ((size_t)oy * d->out_w + ox) * out_c;
			for (int32_t co = 0; co < out_c; co++) {
				const int8_t *wc = depthwise ? weights + co
							     : weights + (size_t)co * kh * kw * in_c;
				const int32_t xc = depthwise ? co / m : 0; /* first input channel */
				int32_t acc = bias != NULL ? bias[co] : 0;
				if (pad != 0 && clipped) { /* padded taps read pad_value */
					int32_t sum = 0;
					for (int32_t ky = 0; ky < kh; ky++) {
						const int row = ky >= ky0 && ky < ky1;
						for (int32_t kx = 0; kx < kw; kx++) {
							if (row && kx >= kx0 && kx < kx1) {
								continue;
							}
							const int8_t *wp =
								wc + ((size_t)ky * kw + kx) * tap_stride;
							for (int32_t ci = 0; ci < width; ci++) {
								sum += wp[ci];
							}
						}
					}
					acc += pad * sum;
				}
				for (int32_t ky = ky0; ky < ky1; ky++) {
					const int8_t *xrow =
						input + (size_t)(iy0 + ky * dh) * d->in_w * in_c + xc;
					const int8_t *wrow = wc + (size_t)ky * kw * tap_stride;
					for (int32_t kx = kx0; kx < kx1; kx++) {
						const int8_t *xp = xrow + (size_t)(ix0 + kx * dw) * in_c;
						const int8_t *wp = wrow + (size_t)kx * tap_stride;
						for (int32_t ci = 0; ci < width; ci++) {
							acc += xp[ci] * wp[ci];
						}
					}
				}
				const tinytx_requant rq = tinytx_channel_requant(
					params->requant, params->multipliers, params->shifts, co);
				y[co] = tinytx_requantize_s8(acc, rq, params->act.min,
							     params->act.max);
			}
		}
	}
	return TINYTX_OK;
}

/* get_buffer_size of dims with dilation or a depth multiplier: 0 (no scratch). */
static inline int32_t tinytx_conv2d_general_size(const tinytx_conv2d_dims *dims, int depthwise)
{
	const tinytx_status st = tinytx_check_conv2d_general_dims(dims, depthwise);
	return st != TINYTX_OK ? st : 0;
}

#endif /* TINYTX_CONV_GENERAL_H */
