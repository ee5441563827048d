/*
 * Cortex-M DSP depthwise convolution, channel multiplier 1 (tinytx/golden/conv.py).
 *
 * Channels are contiguous in HWC, in the input and in the weights [KH][KW][C], so one
 * 32-bit load brings four channels of a tap. Both words are widened with SXTB16
 * (lo = channels 0 and 2, hi with ROR #8 = channels 1 and 3) and SMLABB/SMLATT add
 * the four products to four accumulators: the sums never cross channels. A padded tap
 * reads a word of four pad_value bytes instead of the image, so padding needs no
 * correction. Channels left over (C % 4) are done one by one. No scratch.
 */
#include "tinytx_arm_common.h"
#include "tinytx/kernels.h"
#include "../tinytx_window.h"

enum { DW_GENERIC, DW_SSAT, DW_USAT7 };

static inline int8_t dw_out(int32_t acc, const tt_rq *p, int32_t lo, int32_t hi)
{
	int32_t y = tt_rq_apply(acc, p);
	y = y < lo ? lo : y;
	return (int8_t)(y > hi ? hi : y);
}

/* a[0..3] += the four channels of x . w (one word each). */
static inline __attribute__((always_inline)) void dw_tap4(uint32_t xv, uint32_t wv, int32_t *a0,
							  int32_t *a1, int32_t *a2, int32_t *a3)
{
	const int32_t xl = (int32_t)__sxtb16(xv), xh = tt_sxtb16_hi(xv);
	const int32_t wl = (int32_t)__sxtb16(wv), wh = tt_sxtb16_hi(wv);
	*a0 = __smlabb(xl, wl, *a0);
	*a2 = __smlatt(xl, wl, *a2);
	*a1 = __smlabb(xh, wh, *a1);
	*a3 = __smlatt(xh, wh, *a3);
}

tinytx_status tinytx_depthwise_conv2d_s8(const tinytx_conv2d_dims *dims,
					 const tinytx_conv2d_params *params, const int8_t *input,
					 const int8_t *weights, const int32_t *bias, int8_t *output)
{
	tinytx_status st = tinytx_check_conv2d_call(dims, params, input, weights, output, 1);
	if (st != TINYTX_OK) {
		return st;
	}
	const tinytx_window_geom g = TINYTX_WINDOW_GEOM(dims);
	const int32_t ch = dims->in_c, kh = g.kernel_h, kw = g.kernel_w;
	const int32_t c4 = ch & ~3;
	const size_t row = (size_t)g.in_w * (size_t)ch;
	const size_t kw_bytes = (size_t)kw * (size_t)ch;
	const size_t skip = row - kw_bytes; /* from the end of a window row to the next */
	const int32_t pad = params->pad_value;
	const uint32_t pad4 = ((uint32_t)pad & 0xffu) * 0x01010101u;
	const tinytx_requant rq = params->requant;
	const int32_t *const mults = params->multipliers, *const shifts = params->shifts;
	const int32_t lo = params->act.min, hi = params->act.max;
	const tt_rq plan = tt_rq_plan(rq);
	/* per-tensor factors of 2^-2 and less with the clamp [-128, 127] or [0, 127]: the
	 * requantization is SMMLA, ASR and one SSAT or USAT (as the conv2d tile engine) */
	const int mode = mults != NULL || !plan.fast ? DW_GENERIC
			 : lo == -128 && hi == 127    ? DW_SSAT
			 : lo == 0 && hi == 127       ? DW_USAT7
						      : DW_GENERIC;
	const int32_t m = rq.multiplier, round = plan.round, right = plan.right;

	for (int32_t oy = 0; oy < dims->out_h; oy++) {
		for (int32_t ox = 0; ox < dims->out_w; ox++) {
			const tinytx_window win = tinytx_window_at(&g, oy, ox);
			const int clipped = tinytx_window_clipped(&g, &win);
			int8_t *y = output + ((size_t)oy * dims->out_w + ox) * (size_t)ch;
			/* tap (0, 0) of channel 0 (only read when the window is not clipped) */
			const int8_t *x00 =
				clipped ? input
					: input + ((size_t)win.iy0 * g.in_w + (size_t)win.ix0) * ch;
			for (int32_t c = 0; c < c4; c += 4) {
				int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
				if (bias != NULL) {
					a0 = bias[c];
					a1 = bias[c + 1];
					a2 = bias[c + 2];
					a3 = bias[c + 3];
				}
				const int8_t *w = weights + c;
				if (!clipped) {
					const int8_t *x = x00 + c;
					for (int32_t ky = 0; ky < kh; ky++, x += skip) {
						const int8_t *const wend = w + kw_bytes;
						do {
							dw_tap4(tt_read_u32(x), tt_read_u32(w), &a0,
								&a1, &a2, &a3);
							x += ch;
							w += ch;
						} while (w != wend);
					}
				} else {
					for (int32_t ky = 0; ky < kh; ky++) {
						const int row_in = ky >= win.ky0 && ky < win.ky1;
						for (int32_t kx = 0; kx < kw; kx++, w += ch) {
							uint32_t xv = pad4;
							if (row_in && kx >= win.kx0 && kx < win.kx1) {
								xv = tt_read_u32(
									input +
									((size_t)(win.iy0 + ky) * g.in_w +
									 (size_t)(win.ix0 + kx)) * ch +
									c);
							}
							dw_tap4(xv, tt_read_u32(w), &a0, &a1, &a2, &a3);
						}
					}
				}
				if (mode == DW_SSAT) {
					y[c] = (int8_t)__ssat(tt_smmla(a0, m, round) >> right, 8);
					y[c + 1] = (int8_t)__ssat(tt_smmla(a1, m, round) >> right, 8);
					y[c + 2] = (int8_t)__ssat(tt_smmla(a2, m, round) >> right, 8);
					y[c + 3] = (int8_t)__ssat(tt_smmla(a3, m, round) >> right, 8);
				} else if (mode == DW_USAT7) {
					y[c] = (int8_t)__usat(tt_smmla(a0, m, round) >> right, 7);
					y[c + 1] = (int8_t)__usat(tt_smmla(a1, m, round) >> right, 7);
					y[c + 2] = (int8_t)__usat(tt_smmla(a2, m, round) >> right, 7);
					y[c + 3] = (int8_t)__usat(tt_smmla(a3, m, round) >> right, 7);
				} else if (mults == NULL) {
					y[c] = dw_out(a0, &plan, lo, hi);
					y[c + 1] = dw_out(a1, &plan, lo, hi);
					y[c + 2] = dw_out(a2, &plan, lo, hi);
					y[c + 3] = dw_out(a3, &plan, lo, hi);
				} else {
					const int32_t a[4] = {a0, a1, a2, a3};
					for (int32_t i = 0; i < 4; i++) {
						const tt_rq p = tt_rq_plan(tinytx_channel_requant(
							rq, mults, shifts, c + i));
						y[c + i] = dw_out(a[i], &p, lo, hi);
					}
				}
			}
			for (int32_t c = c4; c < ch; c++) { /* C % 4 channels, one by one */
				int32_t acc = bias != NULL ? bias[c] : 0;
				for (int32_t ky = 0; ky < kh; ky++) {
					const int row_in = ky >= win.ky0 && ky < win.ky1;
					for (int32_t kx = 0; kx < kw; kx++) {
						int32_t xv = pad;
						if (row_in && kx >= win.kx0 && kx < win.kx1) {
							xv = input[((size_t)(win.iy0 + ky) * g.in_w +
								    (size_t)(win.ix0 + kx)) * ch + c];
						}
						acc += xv * weights[((size_t)ky * kw + kx) * ch + c];
					}
				}
				const tt_rq p =
					mults == NULL
						? plan
						: tt_rq_plan(tinytx_channel_requant(rq, mults, shifts, c));
				y[c] = dw_out(acc, &p, lo, hi);
			}
		}
	}
	return TINYTX_OK;
}
