/*
 * Cortex-M DSP max pooling of one HWC image (tinytx/core/golden/pool.py): four channels
 * per word, the maximum of two words as SSUB8 (GE flags per byte) + SEL; blocks of
 * 16, 8 and 4 channels stay in registers over the window's taps, the last C % 4
 * channels one by one. Each output row is cut into runs of pixels whose windows have
 * the same shape (the interior, and each border pixel alone), and windows 1, 2 or 3
 * taps wide get their rows unrolled. Padded positions never win: only the taps inside
 * the image are read (tinytx_window). Radar's two 2 x 2 pools (Cortex-M4): 824,896
 * instructions with the reference C, 87,392 here.
 */
#include "tinytx_arm_common.h"
#include "tinytx/kernels.h"
#include "tinytx_arm_pool.h"

/* Byte-wise signed maximum of two words of four int8 values. */
static inline __attribute__((always_inline)) uint32_t max4(uint32_t a, uint32_t b)
{
	(void)__ssub8((int8x4_t)a, (int8x4_t)b);
	return __sel(a, b);
}

#define TT_MAX_TAP(q)                                                                              \
	do {                                                                                       \
		m0 = max4(m0, tt_read_u32(q));                                                     \
		if (nwords > 1) {                                                                  \
			m1 = max4(m1, tt_read_u32((q) + 4));                                       \
		}                                                                                  \
		if (nwords > 2) {                                                                  \
			m2 = max4(m2, tt_read_u32((q) + 8));                                       \
			m3 = max4(m3, tt_read_u32((q) + 12));                                      \
		}                                                                                  \
	} while (0)

/*
 * Taps [k0, nw) of one window row at q (taps ch bytes apart): unrolled when nw is a
 * compile-time constant (kw > 0), else a loop.
 */
#define TT_MAX_ROW(q, k0)                                                                          \
	do {                                                                                       \
		if (kw > 0) {                                                                      \
			_Pragma("GCC unroll 4") for (int32_t t = (k0); t < kw; t++) {              \
				TT_MAX_TAP((q) + (size_t)t * ch);                                  \
			}                                                                          \
		} else {                                                                           \
			const int8_t *const e_ = (q) + span;                                       \
			for (const int8_t *t = (q) + (size_t)(k0) * ch; t != e_; t += ch) {        \
				TT_MAX_TAP(t);                                                     \
			}                                                                          \
		}                                                                                  \
	} while (0)

/*
 * n output pixels, 4 * nwords channels each, windows kw taps wide (kw = 0: g->span /
 * ch, read at run time); nwords and kw are compile-time constants at every call. The
 * first tap initializes the maxima, so no tap is read twice.
 */
static inline __attribute__((always_inline)) void max_run(const int8_t *p, int8_t *y, int32_t n,
							  const run_geom *g, int nwords, int32_t kw)
{
	const size_t ch = g->ch, row = g->row, span = g->span, step = g->step;
	const int32_t nh = g->nh;
	for (; n > 0; n--) {
		uint32_t m0 = tt_read_u32(p), m1 = 0, m2 = 0, m3 = 0;
		if (nwords > 1) {
			m1 = tt_read_u32(p + 4);
		}
		if (nwords > 2) {
			m2 = tt_read_u32(p + 8);
			m3 = tt_read_u32(p + 12);
		}
		TT_MAX_ROW(p, 1);
		const int8_t *r = p;
		for (int32_t ky = 1; ky < nh; ky++) {
			r += row;
			TT_MAX_ROW(r, 0);
		}
		memcpy(y, &m0, 4);
		if (nwords > 1) {
			memcpy(y + 4, &m1, 4);
		}
		if (nwords > 2) {
			memcpy(y + 8, &m2, 4);
			memcpy(y + 12, &m3, 4);
		}
		p += step;
		y += ch;
	}
}

/* Every block of 16, 8 and 4 channels of n pixels with windows kw wide (as max_run). */
static inline __attribute__((always_inline)) int32_t max_words(const int8_t *p, int8_t *y,
							       int32_t n, const run_geom *g,
							       int32_t kw)
{
	const int32_t ch = (int32_t)g->ch;
	int32_t c = 0;
	for (; c + 16 <= ch; c += 16) {
		max_run(p + c, y + c, n, g, 4, kw);
	}
	if (c + 8 <= ch) {
		max_run(p + c, y + c, n, g, 2, kw);
		c += 8;
	}
	if (c + 4 <= ch) {
		max_run(p + c, y + c, n, g, 1, kw);
		c += 4;
	}
	return c;
}

/* The maxima of the last ch % 4 channels (from channel c) one by one. */
static void max_run_bytes(const int8_t *p, int8_t *y, int32_t n, const run_geom *g, int32_t c)
{
	const size_t ch = g->ch;
	for (; n > 0; n--) {
		for (size_t i = (size_t)c; i < ch; i++) {
			int32_t best = -128;
			const int8_t *r = p + i;
			for (int32_t ky = 0; ky < g->nh; ky++) {
				for (size_t x = 0; x < g->span; x += ch) {
					const int32_t v = r[x];
					best = v > best ? v : best;
				}
				r += g->row;
			}
			y[i] = (int8_t)best;
		}
		p += g->step;
		y += ch;
	}
}

/* n pixels: windows of 1, 2 or 3 taps per row (the usual pools) get unrolled rows. */
static __attribute__((noinline)) void max_pixels(const int8_t *p, int8_t *y, int32_t n,
						  const run_geom *g)
{
	const size_t nw = g->span / g->ch;
	int32_t c;
	if (nw == 2) {
		c = max_words(p, y, n, g, 2);
	} else if (nw == 3) {
		c = max_words(p, y, n, g, 3);
	} else if (nw == 1) {
		c = max_words(p, y, n, g, 1);
	} else {
		c = max_words(p, y, n, g, 0);
	}
	if (c < (int32_t)g->ch) {
		max_run_bytes(p, y, n, g, c);
	}
}

tinytx_status tinytx_maxpool2d_s8(const tinytx_pool2d_dims *dims, const int8_t *input,
				  int8_t *output)
{
	const tinytx_status st = tinytx_check_maxpool2d_call(dims, input, output);
	if (st != TINYTX_OK) {
		return st;
	}
	const tinytx_window_geom g = TINYTX_WINDOW_GEOM(dims);
	const int32_t ch = dims->channels;
	int8_t *y = output;

	int32_t ox0, ox1;
	tt_pool_interior(&g, dims->out_w, &ox0, &ox1);
	for (int32_t oy = 0; oy < dims->out_h; oy++) {
		int32_t ox = 0;
		while (ox < dims->out_w) {
			run_geom rg;
			const int8_t *p;
			const int32_t n = tt_pool_run(&g, input, ch, oy, ox, ox0, ox1, &rg, &p);
			max_pixels(p, y, n, &rg);
			y += (size_t)n * (size_t)ch;
			ox += n;
		}
	}
	return TINYTX_OK;
}
