/*
 * Cortex-M DSP 2-D convolution of one HWC image (semantics: tinytx/golden/conv.py).
 *
 * im2col of two output pixels at a time, then 2 x 2 tiles (two pixels x two output
 * channels) of SMLAD over the whole kernel volume K = KH * KW * C_in, so the inner
 * loop is as long as the kernel volume whatever C_in is (the former kernel ran one
 * SMLAD loop per window row: 2 * KW bytes for a 2-channel input).
 *
 * Scratch (tinytx_conv2d_s8_get_buffer_size), all int16 in the W2 layout of
 * tinytx_arm_common.h (rows in pairs, K in blocks of 4 in SXTB16 order):
 * - the weights, widened once per call: ceil(C_out / 2) pairs of kb = ceil(K / 4)
 *   blocks (16 bytes each), zero-padded;
 * - one W2 pair holding the window of the two current pixels (kb blocks), padded
 *   taps filled with pad_value, so padding needs no correction term;
 * - when a window row cannot be widened straight from the image (a row or tap that
 *   does not start on a multiple of 4 in the kernel volume), a K4-byte int8 copy of
 *   one window first (K4 = 4 * kb).
 * tinytx.ir.scratch.arm_conv2d_scratch_bytes mirrors the size (test_bench.py checks it).
 *
 * A window is widened straight from the image when every run of it starts on a
 * multiple of 4: C_in % 4 == 0 (each tap), or no left/right padding and either
 * KH == 1 (Conv1d: the whole window is one run) or KW * C_in % 4 == 0 (each row).
 * Integer sums are exact, so the result is bit-exact with the reference in any order.
 */
#include "tinytx_arm_common.h"
#include "tinytx/kernels.h"
#include "../tinytx_window.h"

/* The window of every pixel can be widened straight from the image (see above). */
static int cv_direct(const tinytx_conv2d_dims *d)
{
	if (d->in_c % 4 == 0) {
		return 1;
	}
	return d->pad_left == 0 && d->pad_right == 0 &&
	       (d->kernel_h == 1 || (d->kernel_w * d->in_c) % 4 == 0);
}

int32_t tinytx_conv2d_s8_get_buffer_size(const tinytx_conv2d_dims *dims)
{
	if (dims == NULL) {
		return TINYTX_ERR_NULL;
	}
	tinytx_status st = tinytx_check_conv2d_dims(dims, 0);
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t kb = tt_w2_blocks(dims->kernel_h * dims->kernel_w * dims->in_c);
	const int32_t pairs = (dims->out_c + 1) / 2 + 1; /* weights, then the two pixels */
	return 16 * kb * pairs + (cv_direct(dims) ? 0 : 4 * kb);
}

/* The call's constants. */
typedef struct {
	tinytx_window_geom g;
	const int8_t *input;
	int32_t in_c, k, kb, row_len; /* row_len = KW * C_in */
	int32_t pad;                  /* pad_value */
	int32_t pad2;                 /* pad_value in both halves */
	int8_t *stage;                /* NULL when every window is widened straight */
} cv_ctx;

/* n int8 values from src into row `row` (0, 1) of the pair, from k (k % 4 == 0) on. */
static inline void cv_put_run(int16_t *pair, int32_t row, int32_t k, const int8_t *src, int32_t n)
{
	int32_t *d = (int32_t *)(pair + (size_t)(k >> 2) * 8u + (size_t)row * 4u);
	const int8_t *const end = src + (n & ~3);
	while (src != end) {
		const uint32_t v = tt_read_u32(src);
		d[0] = (int32_t)__sxtb16(v);
		d[1] = tt_sxtb16_hi(v);
		d += 4;
		src += 4;
	}
	int16_t *h = (int16_t *)d;
	for (int32_t i = 0; i < (n & 3); i++) {
		h[tt_w2_kpos(i)] = src[i];
	}
}

/* n padded taps' values (pad_value) into the pair from k (k % 4 == 0) on. */
static inline void cv_put_pad(int16_t *pair, int32_t row, int32_t k, int32_t n, int32_t pad2)
{
	int32_t *d = (int32_t *)(pair + (size_t)(k >> 2) * 8u + (size_t)row * 4u);
	for (int32_t i = 0; i < (n >> 2); i++) {
		d[0] = pad2;
		d[1] = pad2;
		d += 4;
	}
	int16_t *h = (int16_t *)d;
	for (int32_t i = 0; i < (n & 3); i++) {
		h[tt_w2_kpos(i)] = (int16_t)pad2;
	}
}

static inline void cv_fill_bytes(int8_t *d, int32_t n, int32_t v)
{
	for (int32_t i = 0; i < n; i++) {
		__asm__("" : "+r"(d)); /* a loop, not a call of the C library's memset */
		d[i] = (int8_t)v;
	}
}

static inline void cv_copy_bytes(int8_t *d, const int8_t *s, int32_t n)
{
	int32_t i = 0;
	for (; i + 4 <= n; i += 4) {
		const uint32_t v = tt_read_u32(s + i);
		memcpy(d + i, &v, sizeof(v)); /* STR: unaligned stores are fine too */
	}
	for (; i < n; i++) {
		d[i] = s[i];
	}
}

/* The window of output pixel (oy, ox) into row `row` of the pair. */
static void cv_im2col(const cv_ctx *c, int16_t *pair, int32_t row, int32_t oy, int32_t ox)
{
	const tinytx_window win = tinytx_window_at(&c->g, oy, ox);
	const int32_t in_c = c->in_c, len = c->row_len, kh = c->g.kernel_h;
	const int32_t left = win.kx0 * in_c, run = (win.kx1 - win.kx0) * in_c;
	const int32_t right = len - left - run;
	const int inside = run > 0 && win.ky1 > win.ky0; /* else: all padding */
	const int8_t *src = inside ? c->input + ((size_t)(win.iy0 + win.ky0) * c->g.in_w +
						 (size_t)(win.ix0 + win.kx0)) * (size_t)in_c
				   : c->input;
	const size_t stride = (size_t)c->g.in_w * (size_t)in_c;
	if (c->stage == NULL) {
		if (win.ky0 == 0 && win.ky1 == kh && run == len) {
			if (kh == 1) { /* Conv1d / 1x1 inside the image: one run */
				cv_put_run(pair, row, 0, src, len);
				return;
			}
			for (int32_t ky = 0, k = 0; ky < kh; ky++, k += len, src += stride) {
				cv_put_run(pair, row, k, src, len);
			}
			return;
		}
		for (int32_t ky = 0, k = 0; ky < kh; ky++, k += len) {
			if (ky < win.ky0 || ky >= win.ky1 || run <= 0) {
				cv_put_pad(pair, row, k, len, c->pad2);
				continue;
			}
			cv_put_pad(pair, row, k, left, c->pad2);
			cv_put_run(pair, row, k + left, src, run);
			cv_put_pad(pair, row, k + left + run, right, c->pad2);
			src += stride;
		}
		return;
	}
	int8_t *s = c->stage;
	for (int32_t ky = 0; ky < kh; ky++, s += len) {
		if (ky < win.ky0 || ky >= win.ky1 || run <= 0) {
			cv_fill_bytes(s, len, c->pad);
			continue;
		}
		cv_fill_bytes(s, left, c->pad);
		cv_copy_bytes(s + left, src, run);
		cv_fill_bytes(s + left + run, right, c->pad);
		src += stride;
	}
	cv_put_run(pair, row, 0, c->stage, c->k);
}

/* c[0..3] += x pair . w pair over kb blocks: c00 (x0 w0), c01 (x0 w1), c10, c11. */
static inline __attribute__((always_inline)) void cv_tile(const int32_t *x, const int32_t *w,
							  int32_t kb, int32_t *c)
{
	int32_t c00 = c[0], c01 = c[1], c10 = c[2], c11 = c[3];
	const int32_t *const end = w + 4 * kb;
	while (w != end) {
		const int32_t x0a = x[0], x0b = x[1], x1a = x[2], x1b = x[3];
		const int32_t w0a = w[0], w0b = w[1], w1a = w[2], w1b = w[3];
		c00 = __smlad(x0a, w0a, c00);
		c00 = __smlad(x0b, w0b, c00);
		c10 = __smlad(x1a, w0a, c10);
		c10 = __smlad(x1b, w0b, c10);
		c01 = __smlad(x0a, w1a, c01);
		c01 = __smlad(x0b, w1b, c01);
		c11 = __smlad(x1a, w1a, c11);
		c11 = __smlad(x1b, w1b, c11);
		x += 4;
		w += 4;
	}
	c[0] = c00;
	c[1] = c01;
	c[2] = c10;
	c[3] = c11;
}

static inline int8_t cv_out(int32_t acc, const tt_rq *p, int32_t lo, int32_t hi)
{
	int32_t y = tt_rq_apply(acc, p);
	y = y < lo ? lo : y;
	return (int8_t)(y > hi ? hi : y);
}

tinytx_status tinytx_conv2d_s8(const tinytx_conv2d_dims *dims, const tinytx_conv2d_params *params,
			       const int8_t *input, const int8_t *weights, const int32_t *bias,
			       int8_t *output, void *scratch)
{
	tinytx_status st = tinytx_check_conv2d_call(dims, params, input, weights, output, 0);
	if (st != TINYTX_OK) {
		return st;
	}
	if (scratch == NULL) {
		return TINYTX_ERR_NULL;
	}
	const int32_t out_c = dims->out_c;
	cv_ctx c;
	c.g = (tinytx_window_geom)TINYTX_WINDOW_GEOM(dims);
	c.input = input;
	c.in_c = dims->in_c;
	c.k = dims->kernel_h * dims->kernel_w * dims->in_c;
	c.kb = tt_w2_blocks(c.k);
	c.row_len = dims->kernel_w * dims->in_c;
	c.pad = params->pad_value;
	c.pad2 = (int32_t)(((uint32_t)params->pad_value & 0xffffu) |
			   ((uint32_t)params->pad_value << 16));

	const int32_t kb = c.kb, wpairs = (out_c + 1) / 2;
	int16_t *wbuf = scratch;
	int16_t *pair = wbuf + (size_t)wpairs * (size_t)kb * 8u;
	c.stage = cv_direct(dims) ? NULL : (int8_t *)(pair + (size_t)kb * 8u);
	/* zero padding of the weights (K, an odd last channel) and of the pair (K) */
	tt_zero_words(wbuf, (size_t)(wpairs + 1) * (size_t)kb * 16u);
	tt_w2_widen(wbuf, weights, out_c, c.k, (size_t)c.k);

	const tinytx_requant rq = params->requant;
	const int32_t lo = params->act.min, hi = params->act.max;
	const int32_t *const mults = params->multipliers, *const shifts = params->shifts;
	const tt_rq plan = tt_rq_plan(rq);
	const int32_t ow = dims->out_w, npix = dims->out_h * dims->out_w;

	for (int32_t p = 0; p < npix; p += 2) {
		const int32_t two = p + 1 < npix;
		cv_im2col(&c, pair, 0, p / ow, p % ow);
		if (two) {
			cv_im2col(&c, pair, 1, (p + 1) / ow, (p + 1) % ow);
		}
		int8_t *y0 = output + (size_t)p * (size_t)out_c;
		int8_t *y1 = y0 + out_c;
		const int32_t *w = (const int32_t *)wbuf;
		for (int32_t co = 0; co < out_c; co += 2, w += 4 * kb) {
			const int32_t co1 = co + 1 < out_c ? co + 1 : co;
			const int32_t b0 = bias != NULL ? bias[co] : 0;
			const int32_t b1 = bias != NULL ? bias[co1] : 0;
			int32_t acc[4] = {b0, b1, b0, b1};
			cv_tile((const int32_t *)pair, w, kb, acc);
			tt_rq p0 = plan, p1 = plan;
			if (mults != NULL) {
				p0 = tt_rq_plan(tinytx_channel_requant(rq, mults, shifts, co));
				p1 = tt_rq_plan(tinytx_channel_requant(rq, mults, shifts, co1));
			}
			y0[co] = cv_out(acc[0], &p0, lo, hi);
			if (co + 1 < out_c) {
				y0[co + 1] = cv_out(acc[1], &p1, lo, hi);
			}
			if (two) {
				y1[co] = cv_out(acc[2], &p0, lo, hi);
				if (co + 1 < out_c) {
					y1[co + 1] = cv_out(acc[3], &p1, lo, hi);
				}
			}
		}
	}
	return TINYTX_OK;
}
