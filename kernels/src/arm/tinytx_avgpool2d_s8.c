/*
 * Cortex-M DSP average pooling of one HWC image (formula in tinytx/core/golden/pool.py):
 * y = clamp(round_half_up(sum * m / (count * 2^s)) + z).
 *
 * Fast path, for windows whose count is a power of two 2^j (2 x 2, 1 x 4, ..., and
 * every border window with count_include_pad = 1) and at most 128 taps inside the
 * image (256 with no input zero point):
 * - sums of four channels per word in two registers of int16 pairs, one SXTAB16 (with
 *   and without ROR #8) per two channels and tap; the pairs start at -inside * z_in,
 *   and |sum| <= 255 * 128 (or 128 * 256) keeps every pair within int16;
 * - with c = 2^j the golden v // c is one rounding of sum * m by 2^(s + j), and with
 *   S = s + j in 17..47 it is one SMLAWB/SMLAWT (sum * m >> 16, plus a constant) and
 *   one shift: floor((floor(sum * m / 2^16) + R) / 2^(S-16)) with
 *   R = 2^(S-17) + z * 2^(S-16) equals floor((sum * m + 2^(S-1)) / 2^S) + z (nested
 *   floors with an integer R), |sum * m| / 2^16 < 2^30 and |R| < 2^30 by the check.
 * Anything else (other counts, larger windows or factors): the reference arithmetic.
 * Each output row is cut into runs of pixels whose windows have the same shape, as in
 * the max pooling. EEG's 1 x 4 pool (Cortex-M4): 123,879 instructions with the
 * reference C.
 */
#include "tinytx_arm_common.h"
#include "tinytx/kernels.h"
#include "tinytx_arm_pool.h"

/* The fast path's constants for one run. */
typedef struct {
	int32_t m;     /* multiplier */
	int32_t round; /* R = 2^(S-17) + z * 2^(S-16) */
	int32_t right; /* S - 16 */
	int32_t init;  /* -inside * z_in in both halfwords */
	int32_t lo, hi;
} fast_plan;

/* y from a window sum (one halfword of a lane pair: SMLAWB or SMLAWT). */
#define TT_AVG_OUT(SMLAW, lanes)                                                                   \
	(full ? __ssat(SMLAW(m, (lanes), round) >> right, 8)                                       \
	      : tt_clamp(SMLAW(m, (lanes), round) >> right, act_lo, act_hi))

static inline int32_t tt_clamp(int32_t v, int32_t lo, int32_t hi)
{
	return v < lo ? lo : (v > hi ? hi : v);
}

/*
 * Fast path over n pixels, four channels per block (C % 4 channels: `tail` code
 * below), windows kw taps wide (kw = 0: read at run time); kw and full (int8 clamp)
 * are compile-time constants at every call.
 */
static inline __attribute__((always_inline)) void avg_run4(const int8_t *p, int8_t *y, int32_t n,
							   const run_geom *g, const fast_plan *fp,
							   int32_t kw, int full)
{
	/* locals: the int8 stores could alias *fp and *g for the compiler */
	const size_t ch = g->ch, row = g->row, span = g->span, step = g->step;
	const int32_t nh = g->nh;
	const int32_t m = fp->m, round = fp->round, right = fp->right, init = fp->init;
	const int32_t act_lo = fp->lo, act_hi = fp->hi;
	const size_t blocks = ch >> 2;
	for (; n > 0; n--) {
		const int8_t *pb = p;
		int8_t *yb = y;
		for (size_t b = 0; b < blocks; b++) {
			int32_t lo = init, hi = init; /* channels (0, 2) and (1, 3) */
			const int8_t *r = pb;
			for (int32_t ky = 0; ky < nh; ky++) {
				if (kw > 0) {
#pragma GCC unroll 4
					for (int32_t t = 0; t < kw; t++) {
						const uint32_t w = tt_read_u32(r + (size_t)t * ch);
						lo = __sxtab16(lo, w);
						hi = tt_sxtab16_hi(hi, w);
					}
				} else {
					for (const int8_t *q = r; q != r + span; q += ch) {
						const uint32_t w = tt_read_u32(q);
						lo = __sxtab16(lo, w);
						hi = tt_sxtab16_hi(hi, w);
					}
				}
				r += row;
			}
			yb[0] = (int8_t)TT_AVG_OUT(__smlawb, lo);
			yb[1] = (int8_t)TT_AVG_OUT(__smlawb, hi);
			yb[2] = (int8_t)TT_AVG_OUT(__smlawt, lo);
			yb[3] = (int8_t)TT_AVG_OUT(__smlawt, hi);
			pb += 4;
			yb += 4;
		}
		p += step;
		y += ch;
	}
}

static __attribute__((noinline)) void avg_fast(const int8_t *p, int8_t *y, int32_t n,
					       const run_geom *g, const fast_plan *fp, int full)
{
	const size_t nw = g->span / g->ch;
	if (full) {
		if (nw == 2) {
			avg_run4(p, y, n, g, fp, 2, 1);
		} else if (nw == 4) {
			avg_run4(p, y, n, g, fp, 4, 1);
		} else {
			avg_run4(p, y, n, g, fp, 0, 1);
		}
	} else {
		avg_run4(p, y, n, g, fp, 0, 0);
	}
}

/* Channels [c, ch) of n pixels with 32-bit sums and the reference rounding. */
static __attribute__((noinline)) void avg_slow(const int8_t *p, int8_t *y, int32_t n,
					       const run_geom *g, int32_t c, int32_t count,
					       int32_t inside, const tinytx_avgpool2d_params *params)
{
	const size_t ch = g->ch;
	for (; n > 0; n--) {
		for (size_t i = (size_t)c; i < ch; i++) {
			int32_t sum = -inside * params->input_zero_point;
			const int8_t *r = p + i;
			for (int32_t ky = 0; ky < g->nh; ky++) {
				for (size_t x = 0; x < g->span; x += ch) {
					sum += r[x];
				}
				r += g->row;
			}
			y[i] = params->tflite_rounding
				       ? tinytx_avgpool_tflite(sum + inside * params->input_zero_point,
							       count, params->act)
				       : tinytx_avgpool_round(sum, count, params->requant,
							      params->act);
		}
		p += g->step;
		y += ch;
	}
}

/* 1 and the plan when the run can take the fast path (see the top of the file). */
static int plan_fast(int32_t count, int32_t inside, const tinytx_avgpool2d_params *params,
		     fast_plan *fp)
{
	const int32_t z_in = params->input_zero_point;
	if (params->tflite_rounding || (count & (count - 1)) != 0 || inside > (z_in == 0 ? 256 : 128)) {
		return 0;
	}
	const int32_t big = 31 - __builtin_clz((uint32_t)count); /* j */
	const int32_t s = params->requant.shift + big;
	if (s < 17 || s > 47) {
		return 0;
	}
	const int64_t round = ((int64_t)1 << (s - 17)) +
			      (int64_t)params->requant.zero_point * ((int64_t)1 << (s - 16));
	if (round >= ((int64_t)1 << 30) || round <= -((int64_t)1 << 30)) {
		return 0;
	}
	const int32_t init = -inside * z_in; /* within int16 by the tap limit */
	fp->m = params->requant.multiplier;
	fp->round = (int32_t)round;
	fp->right = s - 16;
	fp->init = (int32_t)(((uint32_t)init & 0xffffu) | ((uint32_t)init << 16));
	fp->lo = params->act.min;
	fp->hi = params->act.max;
	return 1;
}

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
	const int full = params->act.min == -128 && params->act.max == 127;
	int8_t *y = output;

	int32_t ox0, ox1;
	tt_pool_interior(&g, dims->out_w, &ox0, &ox1);
	for (int32_t oy = 0; oy < dims->out_h; oy++) {
		int32_t ox = 0;
		while (ox < dims->out_w) {
			run_geom rg;
			const int8_t *p;
			const int32_t n = tt_pool_run(&g, input, ch, oy, ox, ox0, ox1, &rg, &p);
			const int32_t inside = rg.nh * (int32_t)(rg.span / (size_t)ch);
			const int32_t count =
				params->count_include_pad ? g.kernel_h * g.kernel_w : inside;
			fast_plan fp;
			int32_t c = 0;
			if (ch >= 4 && plan_fast(count, inside, params, &fp)) {
				avg_fast(p, y, n, &rg, &fp, full);
				c = ch & ~3;
			}
			if (c < ch) {
				avg_slow(p, y, n, &rg, c, count, inside, params);
			}
			y += (size_t)n * (size_t)ch;
			ox += n;
		}
	}
	return TINYTX_OK;
}
