/* params: rows K N heads layout multiplier shift act_min act_max zero_point format
 * buffers: input [rows][K], row_ptr [N + 1] uint16, gaps [entries] uint8,
 *          values [entries * format] int8 (tinytx_sparse_weights of the [N][K] weights),
 *          bias [N] int32 (empty: none), multipliers [N], shifts [N] int32 (empty:
 *          per-tensor), expected (the golden tinytx_linear_s8 on the decoded weights)
 * Every case runs with garbage-filled scratch, then checks the kernel's refusals: a
 * short scratch, a misaligned one (arm: TINYTX_ERR_PARAM, others take it), a weights shape other than [N][K], a row_ptr not starting at 0, and
 * (with entries) a decreasing row_ptr and a last position past its row. */
#include <stdlib.h>
#include <string.h>

#include "tt_case.h"
#include "tt_sparse.h"
#include "tinytx/kernels.h"

static tinytx_status run(const void *d, const void *p, const tt_case *c,
			 const tinytx_sparse_weights *w, int8_t *out, const tinytx_context *ctx)
{
	return tinytx_linear_sparse_s8(d, p, c->buf[0], w, c->buf[4], out, ctx);
}

void tt_test_linear_sparse(const tt_case *c, tt_result *r)
{
	const int32_t *p = c->params;
	if (c->n_params != 11 || c->n_buffers != 8 || c->len[7] != (uint32_t)(p[0] * p[2])) {
		tt_fail(r, "malformed linear_sparse case");
		return;
	}
	tinytx_linear_dims dims = {p[0], p[1], p[2], p[3], (tinytx_layout)p[4]};
	tinytx_linear_params lp = {{p[5], p[6], p[9]}, {p[7], p[8]}, c->buf[5], c->buf[6]};
	tinytx_sparse_weights w;
	if (!tt_sparse_weights(c, 1, p[10], p[2], p[1], &w)) {
		tt_fail(r, "malformed linear_sparse weights");
		return;
	}
	const int32_t need = tinytx_linear_sparse_s8_get_buffer_size(&dims, TT_NUM_CORES);
	if (need < 0) {
		tt_fail(r, "get_buffer_size status %d", (int)need);
		return;
	}
	uint8_t *scratch = tt_garbage_scratch(need);
	const tinytx_context ctx = {scratch, need};
	int8_t *out = tt_alloc_output(c->len[7]);
	tinytx_status st = run(&dims, &lp, c, &w, out, &ctx);
	if (st != TINYTX_OK) {
		tt_fail(r, "status %d", (int)st);
	} else {
		tt_check_output(c, out, 0, r);
	}
	tt_free_output(out);
	tt_sparse_refusals(c, &w, need, scratch, run, &dims, &lp, r);
	free(scratch);
}

int tt_sparse_weights(const tt_case *c, uint32_t first, int32_t format, int32_t rows,
		      int32_t cols, tinytx_sparse_weights *w)
{
	if (rows < 1 || c->len[first] != (uint32_t)(rows + 1) * 2u) {
		return 0;
	}
	const uint16_t *rp = c->buf[first];
	const uint32_t entries = rp[rows];
	if (c->len[first + 1] != entries || c->len[first + 2] != entries * (uint32_t)format) {
		return 0;
	}
	*w = (tinytx_sparse_weights){format, rows, cols, rp, c->buf[first + 1], c->buf[first + 2]};
	return 1;
}

uint8_t *tt_garbage_scratch(int32_t need)
{
	uint8_t *scratch = malloc((size_t)need + 4u);
	for (int32_t i = 0; i < need + 4; i++) {
		scratch[i] = (uint8_t)(0xa5 ^ i);
	}
	return scratch;
}

/* One refusal: the call with w (and ctx) must return want. */
static void expect(const tt_case *c, const tinytx_sparse_weights *w, const tinytx_context *ctx,
		   tt_sparse_call call, const void *dims, const void *params, tinytx_status want,
		   const char *what, tt_result *r)
{
	if (r->failed) {
		return;
	}
	int8_t *out = tt_alloc_output(c->len[c->n_buffers - 1]);
	const tinytx_status st = call(dims, params, c, w, out, ctx);
	if (st != want) {
		tt_fail(r, "%s: status %d, expected %d", what, (int)st, (int)want);
	}
	tt_free_output(out);
}

void tt_sparse_refusals(const tt_case *c, const tinytx_sparse_weights *w, int32_t need,
			void *scratch, tt_sparse_call call, const void *dims, const void *params,
			tt_result *r)
{
	const tinytx_context ctx = {scratch, need};
	if (need > 0) {
		const tinytx_context shorter = {scratch, need - 1};
		expect(c, w, &shorter, call, dims, params, TINYTX_ERR_SCRATCH, "short scratch", r);
		expect(c, w, NULL, call, dims, params, TINYTX_ERR_SCRATCH, "no scratch", r);
	}
	if (need > 0) {
		/* a scratch one byte off: the arm kernels refuse it, the others take it */
		const tinytx_context off = {(uint8_t *)scratch + 1, need};
#ifdef TT_KERNELS_ARM
		expect(c, w, &off, call, dims, params, TINYTX_ERR_PARAM, "misaligned scratch", r);
#else
		expect(c, w, &off, call, dims, params, TINYTX_OK, "misaligned scratch", r);
#endif
	}
	tinytx_sparse_weights bad = *w;
	bad.rows = w->rows + 1;
	expect(c, &bad, &ctx, call, dims, params, TINYTX_ERR_DIMS, "weights rows + 1", r);
	bad = *w;
	bad.cols = w->cols + 1;
	expect(c, &bad, &ctx, call, dims, params, TINYTX_ERR_DIMS, "weights cols + 1", r);

	/* hand-made row pointers and gaps of the same shape */
	const int32_t rows = w->rows;
	const int32_t positions = w->format == TINYTX_SPARSE_BLOCK4 ? (w->cols + 3) / 4 : w->cols;
	const int32_t past = positions / 255 + 1; /* entries of gap 255: past the row */
	uint16_t *rp = calloc((size_t)rows + 1u, sizeof(uint16_t));
	uint8_t *gaps = calloc((size_t)past + 2u, 1);
	int8_t *values = calloc(((size_t)past + 2u) * 4u, 1);
	bad = *w;
	bad.row_ptr = rp;
	bad.gaps = gaps;
	bad.values = values;
	rp[0] = 1;
	for (int32_t i = 1; i <= rows; i++) {
		rp[i] = 1;
	}
	expect(c, &bad, &ctx, call, dims, params, TINYTX_ERR_PARAM, "row_ptr[0] = 1", r);
	rp[0] = 0;
	for (int32_t i = 1; i <= rows; i++) {
		rp[i] = (uint16_t)past;
	}
	for (int32_t i = 0; i < past; i++) {
		gaps[i] = 255;
	}
	expect(c, &bad, &ctx, call, dims, params, TINYTX_ERR_PARAM, "a position past its row", r);
	for (int32_t i = 1; i <= rows; i++) {
		rp[i] = 2;
	}
	gaps[0] = 0;
	gaps[1] = 0;
	expect(c, &bad, &ctx, call, dims, params, TINYTX_ERR_PARAM, "a repeated position", r);
	if (rows >= 2) {
		rp[1] = 1;
		for (int32_t i = 2; i <= rows; i++) {
			rp[i] = 0;
		}
		expect(c, &bad, &ctx, call, dims, params, TINYTX_ERR_PARAM, "a decreasing row_ptr",
		       r);
	}
	free(rp);
	free(gaps);
	free(values);
}
