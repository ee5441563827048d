/*
 * Cortex-M DSP 2-D convolution of one HWC image (semantics: tinytx/golden/conv.py).
 *
 * In HWC, the part of a window row inside the image is one contiguous run of
 * (kx1 - kx0) * C_in input bytes, and the matching weights [co][ky][kx0..][:] are
 * contiguous too. Each run is a plain int8 dot product: both operands are widened
 * in registers with SXTB16 (lo = [b0, b2], hi with ROR #8 = [b1, b3]), which pairs
 * them up without reordering, and SMLAD does two multiply-accumulates. Two output
 * channels share every input load. No scratch, no im2col copy. Integer sums are
 * exact, so the result is bit-exact with the reference whatever the order.
 *
 * Exact Cortex-M4 instructions (unicorn), reference -> this kernel: radar conv1
 * 16x16x2->8 3x3: 628,288 -> 258,178; radar conv2 8x8x8->16 3x3: 571,344 -> 202,386;
 * EEG conv1 1x648x4->16 1x9/2: 2,006,482 -> 680,322 (2.4x to 2.9x).
 */
#include <arm_acle.h>
#include <string.h>

#include "tinytx/kernels.h"
#include "tinytx/requant.h"
#include "../tinytx_window.h"

#if !defined(__ARM_FEATURE_DSP) || __ARM_FEATURE_DSP != 1
#error "kernels/src/arm needs the Cortex-M DSP extension (build the ref variant instead)"
#endif

static inline uint32_t cv_load(const int8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v)); /* LDR: unaligned access is fine on Cortex-M4/M7 */
	return v;
}

/* SXTB16 with its built-in ROR #8 (ACLE has no form with the rotation). */
static inline int32_t cv_hi(uint32_t v)
{
	int32_t r;
	__asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
	return r;
}

/* acc0 += x . w0, acc1 += x . w1 over n bytes. */
static inline void cv_dot2(const int8_t *x, const int8_t *w0, const int8_t *w1, int32_t n,
			   int32_t *acc0, int32_t *acc1)
{
	int32_t a0 = *acc0, a1 = *acc1;
	int32_t i = 0;
	for (; i + 4 <= n; i += 4) {
		const uint32_t xv = cv_load(x + i), v0 = cv_load(w0 + i), v1 = cv_load(w1 + i);
		const int32_t xl = (int32_t)__sxtb16(xv), xh = cv_hi(xv);
		a0 = __smlad(xl, (int32_t)__sxtb16(v0), a0);
		a0 = __smlad(xh, cv_hi(v0), a0);
		a1 = __smlad(xl, (int32_t)__sxtb16(v1), a1);
		a1 = __smlad(xh, cv_hi(v1), a1);
	}
	for (; i < n; i++) {
		a0 += (int32_t)x[i] * w0[i];
		a1 += (int32_t)x[i] * w1[i];
	}
	*acc0 = a0;
	*acc1 = a1;
}

int32_t tinytx_conv2d_s8_get_buffer_size(const tinytx_conv2d_dims *dims)
{
	return tinytx_conv2d_no_scratch(dims);
}

/*
 * The image loop, inlined twice: with pad_value 0, no per-channel table and zero point 0
 * as constants (the symmetric per-tensor loop: the compiler drops the zero-point,
 * padding and per-channel work and keeps the inner loop's registers), and with the
 * parameters as given.
 */
static inline __attribute__((always_inline)) void
cv_image(const tinytx_conv2d_dims *dims, const int8_t *input, const int8_t *weights,
	 const int32_t *bias, int8_t *output, const tinytx_requant rq, const int32_t lo,
	 const int32_t hi, const int32_t pad_value, const int32_t *const mults,
	 const int32_t *const shifts)
{
	const tinytx_window_geom g = TINYTX_WINDOW_GEOM(dims);
	const int32_t in_c = dims->in_c, out_c = dims->out_c;
	const size_t filter = (size_t)g.kernel_h * g.kernel_w * in_c;
	const size_t row = (size_t)g.in_w * in_c;

	for (int32_t oy = 0; oy < dims->out_h; oy++) {
		for (int32_t ox = 0; ox < dims->out_w; ox++) {
			const tinytx_window win = tinytx_window_at(&g, oy, ox);
			int8_t *y = output + ((size_t)oy * dims->out_w + ox) * out_c;
			const int32_t run = (win.kx1 - win.kx0) * in_c;
			const int inside = run > 0 && win.ky1 > win.ky0; /* else: all padding */
			const int8_t *x0 = inside ? input + (size_t)(win.iy0 + win.ky0) * row +
							    (size_t)(win.ix0 + win.kx0) * in_c
						  : input;
			const int padded = pad_value != 0 && tinytx_window_clipped(&g, &win);
			for (int32_t co = 0; co < out_c; co += 2) {
				const int32_t co1 = co + 1 < out_c ? co + 1 : co; /* odd tail: twice */
				const int8_t *w0 = weights + (size_t)co * filter;
				const int8_t *w1 = weights + (size_t)co1 * filter;
				int32_t acc0 = bias != NULL ? bias[co] : 0;
				int32_t acc1 = bias != NULL ? bias[co1] : 0;
				if (inside) {
					const int8_t *xr = x0;
					for (int32_t ky = win.ky0; ky < win.ky1; ky++, xr += row) {
						const size_t wo =
							((size_t)ky * g.kernel_w + win.kx0) * in_c;
						cv_dot2(xr, w0 + wo, w1 + wo, run, &acc0, &acc1);
					}
				}
				if (padded) { /* padded taps hold the input zero point */
					acc0 += pad_value *
						tinytx_padded_weight_sum(&g, &win, w0, in_c, in_c);
					acc1 += pad_value *
						tinytx_padded_weight_sum(&g, &win, w1, in_c, in_c);
				}
				if (mults != NULL) {
					y[co] = tinytx_requantize_s8(
						acc0, tinytx_channel_requant(rq, mults, shifts, co), lo, hi);
					y[co1] = tinytx_requantize_s8(
						acc1, tinytx_channel_requant(rq, mults, shifts, co1), lo,
						hi);
				} else {
					y[co] = tinytx_requantize_s8(acc0, rq, lo, hi);
					y[co1] = tinytx_requantize_s8(acc1, rq, lo, hi);
				}
			}
		}
	}
}

tinytx_status tinytx_conv2d_s8(const tinytx_conv2d_dims *dims, const tinytx_conv2d_params *params,
			       const int8_t *input, const int8_t *weights, const int32_t *bias,
			       int8_t *output, void *scratch)
{
	(void)scratch; /* none needed */
	tinytx_status st = tinytx_check_conv2d_call(dims, params, input, weights, output, 0);
	if (st != TINYTX_OK) {
		return st;
	}
	const tinytx_requant rq = params->requant;
	const int32_t lo = params->act.min, hi = params->act.max;
	if (params->pad_value == 0 && params->multipliers == NULL && rq.zero_point == 0) {
		const tinytx_requant plain = {rq.multiplier, rq.shift, 0};
		cv_image(dims, input, weights, bias, output, plain, lo, hi, 0, NULL, NULL);
	} else {
		cv_image(dims, input, weights, bias, output, rq, lo, hi, params->pad_value,
			 params->multipliers, params->shifts);
	}
	return TINYTX_OK;
}
