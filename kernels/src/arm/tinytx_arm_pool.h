/*
 * Runs of output pixels of the Cortex-M pooling kernels (internal header): each output
 * row is cut into runs whose windows have the same shape, the interior at once and each
 * border pixel alone, so the kernels read only the taps inside the image.
 */
#ifndef TINYTX_ARM_POOL_H
#define TINYTX_ARM_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "../tinytx_window.h"

/* Where a run of output pixels reads: the same window shape for every pixel. */
typedef struct {
	size_t row;  /* bytes between image rows */
	size_t ch;   /* bytes between pixels (the channel count) */
	size_t step; /* bytes between the windows of consecutive output pixels */
	int32_t nh;  /* window rows inside the image */
	size_t span; /* taps per window row * ch: bytes of one window row */
} run_geom;

/* The output columns [*ox0, *ox1) whose windows lie inside the image horizontally. */
static inline void tt_pool_interior(const tinytx_window_geom *g, int32_t out_w, int32_t *ox0,
				    int32_t *ox1)
{
	const int32_t sw = g->stride_w;
	int32_t lo = (g->pad_left + sw - 1) / sw;
	int32_t hi = g->in_w + g->pad_left - g->kernel_w < 0
			     ? 0
			     : (g->in_w + g->pad_left - g->kernel_w) / sw + 1;
	hi = hi > out_w ? out_w : hi;
	*ox0 = lo > hi ? hi : lo;
	*ox1 = hi;
}

/*
 * The run that starts at output pixel (oy, ox) of an image of ch channels: its length
 * (the interior [ox0, ox1) when ox == ox0, else 1), its geometry and its first tap.
 */
static inline int32_t tt_pool_run(const tinytx_window_geom *g, const int8_t *input, int32_t ch,
				  int32_t oy, int32_t ox, int32_t ox0, int32_t ox1, run_geom *rg,
				  const int8_t **first)
{
	const tinytx_window win = tinytx_window_at(g, oy, ox);
	const size_t row = (size_t)g->in_w * (size_t)ch;
	rg->row = row;
	rg->ch = (size_t)ch;
	rg->step = (size_t)g->stride_w * (size_t)ch;
	rg->nh = win.ky1 - win.ky0;
	rg->span = (size_t)(win.kx1 - win.kx0) * (size_t)ch;
	*first = input + (size_t)(win.iy0 + win.ky0) * row + (size_t)(win.ix0 + win.kx0) * (size_t)ch;
	return ox == ox0 && ox1 > ox0 ? ox1 - ox0 : 1;
}

#endif /* TINYTX_ARM_POOL_H */
