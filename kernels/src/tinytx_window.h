/* Sliding-window geometry checks shared by the conv and pooling kernels (internal). */
#ifndef TINYTX_WINDOW_H
#define TINYTX_WINDOW_H

#include <stdint.h>

#include "tinytx/requant.h"
#include "tinytx/types.h"
#include "tinytx_check.h"

static inline int tinytx_dim_ok(int32_t v, int32_t lo)
{
	return v >= lo && v <= TINYTX_MAX_DIM;
}

/* 1 when a * b * c (each >= 1) fits in int32. */
static inline int tinytx_fits_i32_3(int64_t a, int64_t b, int64_t c)
{
	return a >= 1 && b >= 1 && c >= 1 && a * b <= INT32_MAX && a * b * c <= INT32_MAX;
}

/* Every geometry field in range, the window fits the padded image, out_h/out_w right. */
static inline tinytx_status tinytx_check_window(int32_t in_h, int32_t in_w, int32_t out_h,
						int32_t out_w, int32_t kernel_h, int32_t kernel_w,
						int32_t stride_h, int32_t stride_w, int32_t pad_top,
						int32_t pad_left, int32_t pad_bottom,
						int32_t pad_right)
{
	if (!tinytx_dim_ok(in_h, 1) || !tinytx_dim_ok(in_w, 1) || !tinytx_dim_ok(kernel_h, 1) ||
	    !tinytx_dim_ok(kernel_w, 1) || !tinytx_dim_ok(stride_h, 1) ||
	    !tinytx_dim_ok(stride_w, 1) || !tinytx_dim_ok(pad_top, 0) ||
	    !tinytx_dim_ok(pad_left, 0) || !tinytx_dim_ok(pad_bottom, 0) ||
	    !tinytx_dim_ok(pad_right, 0)) {
		return TINYTX_ERR_DIMS;
	}
	const int32_t span_h = in_h + pad_top + pad_bottom; /* <= 3 * 32767 */
	const int32_t span_w = in_w + pad_left + pad_right;
	if (span_h < kernel_h || span_w < kernel_w) {
		return TINYTX_ERR_DIMS;
	}
	if (out_h != (span_h - kernel_h) / stride_h + 1 ||
	    out_w != (span_w - kernel_w) / stride_w + 1) {
		return TINYTX_ERR_DIMS;
	}
	return TINYTX_OK;
}

/* 1 when a conv's dims set a dilation or a depth multiplier (tinytx_conv_general.h). */
static inline int tinytx_conv2d_general(const tinytx_conv2d_dims *d)
{
	return (d->dilation_h != 0 && d->dilation_h != 1) ||
	       (d->dilation_w != 0 && d->dilation_w != 1) ||
	       (d->depth_multiplier != 0 && d->depth_multiplier != 1);
}

/* Dims of a conv without dilation or depth multiplier (depthwise: out_c == in_c,
 * reduction KH*KW instead of KH*KW*C_in). */
static inline tinytx_status tinytx_check_conv2d_dims(const tinytx_conv2d_dims *d, int depthwise)
{
	if (tinytx_conv2d_general(d)) {
		return TINYTX_ERR_DIMS;
	}
	if (!tinytx_dim_ok(d->in_c, 1) || !tinytx_dim_ok(d->out_c, 1) ||
	    (depthwise && d->out_c != d->in_c)) {
		return TINYTX_ERR_DIMS;
	}
	tinytx_status st = tinytx_check_window(d->in_h, d->in_w, d->out_h, d->out_w, d->kernel_h,
					       d->kernel_w, d->stride_h, d->stride_w, d->pad_top,
					       d->pad_left, d->pad_bottom, d->pad_right);
	if (st != TINYTX_OK) {
		return st;
	}
	const int64_t taps = (int64_t)d->kernel_h * d->kernel_w * (depthwise ? 1 : d->in_c);
	if (taps > TINYTX_MAX_REDUCTION) {
		return TINYTX_ERR_DIMS;
	}
	/* Input, output and weight tensors are indexed with int32-sized offsets. */
	if (!tinytx_fits_i32_3(d->in_h, d->in_w, d->in_c) ||
	    !tinytx_fits_i32_3(d->out_h, d->out_w, d->out_c) ||
	    !tinytx_fits_i32_3(taps, d->out_c, depthwise ? d->in_c : 1)) {
		return TINYTX_ERR_DIMS;
	}
	return TINYTX_OK;
}

/* Every check of a conv2d / depthwise call (shared by the kernel variants). */
static inline tinytx_status tinytx_check_conv2d_call(const tinytx_conv2d_dims *dims,
						     const tinytx_conv2d_params *params,
						     const void *input, const void *weights,
						     const void *output, int depthwise)
{
	if (dims == NULL || params == NULL || input == NULL || weights == NULL || output == NULL) {
		return TINYTX_ERR_NULL;
	}
	tinytx_status st = tinytx_check_conv2d_dims(dims, depthwise);
	if (st != TINYTX_OK) {
		return st;
	}
	if (!tinytx_requant_valid(params->requant) || !tinytx_activation_valid(params->act) ||
	    params->pad_value < -128 || params->pad_value > 127 ||
	    !tinytx_channels_valid(params->multipliers, params->shifts, dims->out_c)) {
		return TINYTX_ERR_PARAM;
	}
	return TINYTX_OK;
}

/* get_buffer_size of a conv2d variant that needs no scratch: 0, or a negative status. */
static inline int32_t tinytx_conv2d_no_scratch(const tinytx_conv2d_dims *dims)
{
	if (dims == NULL) {
		return TINYTX_ERR_NULL;
	}
	tinytx_status st = tinytx_check_conv2d_dims(dims, 0);
	return st != TINYTX_OK ? st : 0;
}

static inline tinytx_status tinytx_check_pool2d_dims(const tinytx_pool2d_dims *d)
{
	if (!tinytx_dim_ok(d->channels, 1)) {
		return TINYTX_ERR_DIMS;
	}
	tinytx_status st = tinytx_check_window(d->in_h, d->in_w, d->out_h, d->out_w, d->kernel_h,
					       d->kernel_w, d->stride_h, d->stride_w, d->pad_top,
					       d->pad_left, d->pad_bottom, d->pad_right);
	if (st != TINYTX_OK) {
		return st;
	}
	if (d->pad_top >= d->kernel_h || d->pad_bottom >= d->kernel_h ||
	    d->pad_left >= d->kernel_w || d->pad_right >= d->kernel_w ||
	    (int64_t)d->kernel_h * d->kernel_w > TINYTX_MAX_REDUCTION) {
		return TINYTX_ERR_DIMS;
	}
	if (!tinytx_fits_i32_3(d->in_h, d->in_w, d->channels) ||
	    !tinytx_fits_i32_3(d->out_h, d->out_w, d->channels)) {
		return TINYTX_ERR_DIMS;
	}
	return TINYTX_OK;
}

/* The arguments of tinytx_maxpool2d_s8 (every variant). */
static inline tinytx_status tinytx_check_maxpool2d_call(const tinytx_pool2d_dims *dims,
							const int8_t *input, const int8_t *output)
{
	if (dims == NULL || input == NULL || output == NULL) {
		return TINYTX_ERR_NULL;
	}
	return tinytx_check_pool2d_dims(dims);
}

/* The arguments of tinytx_avgpool2d_s8 (every variant). */
static inline tinytx_status tinytx_check_avgpool2d_call(const tinytx_pool2d_dims *dims,
							const tinytx_avgpool2d_params *params,
							const int8_t *input, const int8_t *output)
{
	if (params == NULL) {
		return TINYTX_ERR_NULL;
	}
	const tinytx_status st = tinytx_check_maxpool2d_call(dims, input, output);
	if (st != TINYTX_OK) {
		return st;
	}
	if (!tinytx_requant_valid(params->requant) || !tinytx_activation_valid(params->act) ||
	    (params->count_include_pad != 0 && params->count_include_pad != 1) ||
	    params->input_zero_point < -128 || params->input_zero_point > 127 ||
	    (params->tflite_rounding != 0 && params->tflite_rounding != 1)) {
		return TINYTX_ERR_PARAM;
	}
	if (params->tflite_rounding &&
	    ((int64_t)params->requant.multiplier != ((int64_t)1 << params->requant.shift) ||
	     params->requant.zero_point != params->input_zero_point)) {
		return TINYTX_ERR_PARAM;
	}
	return TINYTX_OK;
}

/* TFLite's int8 average of a window (tflite_rounding): the sum of the codes over count,
 * rounded half away from zero, clamped. */
static inline int8_t tinytx_avgpool_tflite(int32_t codes, int32_t count, tinytx_activation act)
{
	const int32_t half = count / 2;
	const int32_t q = codes >= 0 ? (codes + half) / count : -((-codes + half) / count);
	return (int8_t)(q < act.min ? act.min : (q > act.max ? act.max : q));
}

/*
 * The average of a window (every variant): clamp(floor(v / c) + z, lo, hi) for a count
 * c >= 1 with v = ((sum*m + (c&1)*2^(s-1)) >> s) + c/2 and z the output zero point:
 * floor(v / c) is clamped to [lo - z, hi - z].
 */
static inline int8_t tinytx_avgpool_round(int32_t sum, int32_t count, tinytx_requant rq,
					  tinytx_activation act)
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

/* The geometry a window iteration needs (from either dims struct). */
typedef struct {
	int32_t in_h, in_w, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left;
} tinytx_window_geom;

/* One output pixel's window: input position of kernel tap (0, 0), which may lie in
 * the padding, and the kernel rows [ky0, ky1) and columns [kx0, kx1) inside the image
 * (empty when the window is all padding). */
typedef struct {
	int32_t iy0, ix0;
	int32_t ky0, ky1, kx0, kx1;
} tinytx_window;

/* Initializer of a tinytx_window_geom from a tinytx_conv2d_dims or tinytx_pool2d_dims
 * pointer (the two structs use the same field names). */
#define TINYTX_WINDOW_GEOM(d)                                                              \
	{(d)->in_h,     (d)->in_w,     (d)->kernel_h, (d)->kernel_w,                        \
	 (d)->stride_h, (d)->stride_w, (d)->pad_top,  (d)->pad_left}

static inline tinytx_window tinytx_window_at(const tinytx_window_geom *g, int32_t oy, int32_t ox)
{
	tinytx_window w;
	w.iy0 = oy * g->stride_h - g->pad_top;
	w.ix0 = ox * g->stride_w - g->pad_left;
	w.ky0 = w.iy0 < 0 ? -w.iy0 : 0;
	w.ky1 = g->in_h - w.iy0 < g->kernel_h ? g->in_h - w.iy0 : g->kernel_h;
	w.kx0 = w.ix0 < 0 ? -w.ix0 : 0;
	w.kx1 = g->in_w - w.ix0 < g->kernel_w ? g->in_w - w.ix0 : g->kernel_w;
	return w;
}

/*
 * Sum of the weights of output channel c over the window's padded taps (those outside
 * [ky0, ky1) x [kx0, kx1)): w points at the channel's first tap, taps are tap_stride
 * apart with in_c consecutive weights each (conv: tap_stride = in_c; depthwise:
 * tap_stride = C, in_c = 1). A padded tap adds pad_value * this to the accumulator.
 */
static inline int32_t tinytx_padded_weight_sum(const tinytx_window_geom *g,
					       const tinytx_window *win, const int8_t *w,
					       int32_t in_c, int32_t tap_stride)
{
	int32_t sum = 0;
	for (int32_t ky = 0; ky < g->kernel_h; ky++) {
		const int row_in = ky >= win->ky0 && ky < win->ky1;
		for (int32_t kx = 0; kx < g->kernel_w; kx++) {
			if (row_in && kx >= win->kx0 && kx < win->kx1) {
				continue;
			}
			const int8_t *wp = w + ((size_t)ky * g->kernel_w + kx) * tap_stride;
			for (int32_t ci = 0; ci < in_c; ci++) {
				sum += wp[ci];
			}
		}
	}
	return sum;
}

/* 1 when the window covers padded taps. */
static inline int tinytx_window_clipped(const tinytx_window_geom *g, const tinytx_window *win)
{
	return win->ky0 != 0 || win->kx0 != 0 || win->ky1 != g->kernel_h || win->kx1 != g->kernel_w;
}

#endif /* TINYTX_WINDOW_H */
