/* params: in_h in_w in_c out_h out_w out_c kernel_h kernel_w stride_h stride_w
 *         pad_top pad_left pad_bottom pad_right multiplier shift act_min act_max
 *         zero_point pad_value format
 * buffers: input [in_h][in_w][in_c], row_ptr [out_c + 1] uint16, gaps uint8, values int8
 *          (tinytx_sparse_weights of the [out_c][kh * kw * in_c] weights), bias [out_c]
 *          int32 (empty: none), multipliers [out_c], shifts [out_c] int32 (empty:
 *          per-tensor), expected (the golden tinytx_conv2d_s8 on the decoded weights)
 * Then the refusals of test_linear_sparse.c. */
#include <stdlib.h>

#include "tt_case.h"
#include "tt_sparse.h"
#include "tinytx/kernels.h"

static tinytx_status run(const void *d, const void *p, const tt_case *c,
			 const tinytx_sparse_weights *w, int8_t *out, const tinytx_context *ctx)
{
	return tinytx_conv2d_sparse_s8(d, p, c->buf[0], w, c->buf[4], out, ctx);
}

void tt_test_conv2d_sparse(const tt_case *c, tt_result *r)
{
	const int32_t *v = c->params;
	if (c->n_params != 21 || c->n_buffers != 8 || c->len[7] != (uint32_t)(v[3] * v[4] * v[5])) {
		tt_fail(r, "malformed conv2d_sparse case");
		return;
	}
	tinytx_conv2d_dims d = {v[0], v[1], v[2],  v[3],  v[4],	 v[5],	v[6],
				v[7], v[8], v[9], v[10], v[11], v[12], v[13], 0, 0, 0};
	tinytx_conv2d_params cp = {{v[14], v[15], v[18]}, {v[16], v[17]}, v[19], c->buf[5],
				   c->buf[6]};
	tinytx_sparse_weights w;
	if (!tt_sparse_weights(c, 1, v[20], v[5], v[6] * v[7] * v[2], &w)) {
		tt_fail(r, "malformed conv2d_sparse weights");
		return;
	}
	const int32_t need = tinytx_conv2d_sparse_s8_get_buffer_size(&d, TT_NUM_CORES);
	if (need < 0) {
		tt_fail(r, "get_buffer_size status %d", (int)need);
		return;
	}
	uint8_t *scratch = tt_garbage_scratch(need);
	const tinytx_context ctx = {scratch, need};
	int8_t *out = tt_alloc_output(c->len[7]);
	tinytx_status st = run(&d, &cp, c, &w, out, &ctx);
	if (st != TINYTX_OK) {
		tt_fail(r, "status %d", (int)st);
	} else {
		tt_check_output(c, out, 0, r);
	}
	tt_free_output(out);
	tt_sparse_refusals(c, &w, need, scratch, run, &d, &cp, r);
	free(scratch);
}
