/* Depth-first tiled blocks (tinytx_mhsa_dft_s8, tinytx_fwsa_dft_s8); expected output:
 * the golden *layer-wise* block.
 * mhsa_dft params: S E H P tile_rows in_place, (multiplier, shift) for q k v softmax av out,
 *          out's zero point
 *          buffers: x, wq, bq, wk, bk, wv, bv, wo, bo (biases may be empty), per-channel
 *          tables (as for mhsa), expected [S][E]
 * fwsa_dft params: S E H P tile_rows in_place, (multiplier, shift) for t v softmax av out,
 *          out's zero point
 *          buffers: x, wt, bt, wv, bv, wo, bo, expected [S][E]
 * in_place = 1: the output aliases the input. The scratch has exactly get_buffer_size
 * bytes and guard bytes after it. */
#include <stdlib.h>
#include <string.h>

#include "tt_case.h"
#include "tinytx/kernels.h"

#define SCRATCH_GUARD 16
#define SCRATCH_GUARD_BYTE 0x3Cu

/* Runs one DFT block call through `call` with a guarded scratch and checks it. */
typedef tinytx_status (*dft_call)(const tt_case *c, const int8_t *in, int8_t *out,
				  const tinytx_context *ctx);
typedef int32_t (*dft_size)(const tt_case *c);

static void run_dft(const tt_case *c, tt_result *r, uint32_t n_params, dft_size size,
		    dft_call call)
{
	const uint32_t last = c->n_buffers - 1;
	const int32_t *p = c->params;
	if (c->n_params != n_params || c->len[last] != (uint32_t)(p[0] * p[1]) ||
	    c->len[0] != c->len[last]) {
		tt_fail(r, "malformed %s case", tt_kernel_name(c->kernel));
		return;
	}
	const int32_t tile_rows = p[4], in_place = p[5];
	int32_t need = size(c);
	if (need <= 0) {
		tt_fail(r, "get_buffer_size returned %ld", (long)need);
		return;
	}
	uint8_t *scratch = malloc((size_t)need + SCRATCH_GUARD);
	if (scratch == NULL) {
		tt_fail(r, "out of memory for %ld scratch bytes", (long)need);
		return;
	}
	memset(scratch + need, SCRATCH_GUARD_BYTE, SCRATCH_GUARD);
	int8_t *out = tt_alloc_output(c->len[last]);
	const int8_t *in = c->buf[0];
	if (in_place) {
		memcpy(out, c->buf[0], c->len[0]);
		in = out;
	}
	const tinytx_context ctx = {scratch, need};
	tinytx_status st = call(c, in, out, &ctx);
	if (st != TINYTX_OK) {
		tt_fail(r, "status %d (tile_rows=%ld)", (int)st, (long)tile_rows);
	} else {
		tt_check_output(c, out, 0, r);
		for (int32_t i = 0; i < SCRATCH_GUARD && !r->failed; i++) {
			if (scratch[need + i] != SCRATCH_GUARD_BYTE) {
				tt_fail(r, "wrote past the end of the scratch (tile_rows=%ld)",
					(long)tile_rows);
			}
		}
	}
	tt_free_output(out);
	free(scratch);
}

static tinytx_mhsa_dims dims_of(const tt_case *c)
{
	tinytx_mhsa_dims d = {c->params[0], c->params[1], c->params[2], c->params[3]};
	return d;
}

static int32_t mhsa_dft_size(const tt_case *c)
{
	tinytx_mhsa_dims d = dims_of(c);
	return tinytx_mhsa_dft_s8_get_buffer_size(&d, c->params[4], TT_NUM_CORES);
}

static tinytx_status mhsa_dft_call(const tt_case *c, const int8_t *in, int8_t *out,
				   const tinytx_context *ctx)
{
	const int32_t *p = c->params;
	tinytx_mhsa_dims d = dims_of(c);
	tinytx_mhsa_params mp = {{p[6], p[7], 0},   {p[8], p[9], 0},   {p[10], p[11], 0},
				 {p[12], p[13], 0}, {p[14], p[15], 0}, {p[16], p[17], p[18]}};
	tinytx_mhsa_weights w = {c->buf[1], c->buf[2], c->buf[3], c->buf[4], c->buf[5],
				 c->buf[6], c->buf[7], c->buf[8], {NULL, NULL}, {NULL, NULL},
				 {NULL, NULL}, {NULL, NULL}};
	if (!tt_mhsa_channels(c, 9, p[2] * p[3], p[1], &w)) {
		return TINYTX_ERR_PARAM; /* malformed case */
	}
	return tinytx_mhsa_dft_s8(&d, p[4], &mp, &w, in, out, ctx);
}

static int32_t fwsa_dft_size(const tt_case *c)
{
	tinytx_mhsa_dims d = dims_of(c);
	return tinytx_fwsa_dft_s8_get_buffer_size(&d, c->params[4], TT_NUM_CORES);
}

static tinytx_status fwsa_dft_call(const tt_case *c, const int8_t *in, int8_t *out,
				   const tinytx_context *ctx)
{
	const int32_t *p = c->params;
	tinytx_mhsa_dims d = dims_of(c);
	tinytx_fwsa_params fp = {{p[6], p[7], 0},   {p[8], p[9], 0}, {p[10], p[11], 0},
				 {p[12], p[13], 0}, {p[14], p[15], p[16]}};
	tinytx_fwsa_weights w = {c->buf[1], c->buf[2], c->buf[3], c->buf[4], c->buf[5], c->buf[6]};
	return tinytx_fwsa_dft_s8(&d, p[4], &fp, &w, in, out, ctx);
}

void tt_test_mhsa_dft(const tt_case *c, tt_result *r)
{
	if (c->n_buffers != 11) {
		tt_fail(r, "malformed mhsa_dft case");
		return;
	}
	run_dft(c, r, 19, mhsa_dft_size, mhsa_dft_call);
}

void tt_test_fwsa_dft(const tt_case *c, tt_result *r)
{
	if (c->n_buffers != 8) {
		tt_fail(r, "malformed fwsa_dft case");
		return;
	}
	run_dft(c, r, 17, fwsa_dft_size, fwsa_dft_call);
}
