/* params: rows K N heads layout multiplier shift act_min act_max zero_point
 * buffers: input [rows][K], weights [N][K], bias [N] int32 (empty: none),
 *          multipliers [N], shifts [N] int32 (empty: per-tensor), expected
 * Every case runs tinytx_linear_s8 and tinytx_linear_buf_s8 (with its scratch). */
#include <stdlib.h>
#include <string.h>

#include "tt_case.h"
#include "tinytx/kernels.h"

void tt_test_linear(const tt_case *c, tt_result *r)
{
	const int32_t *p = c->params;
	tinytx_linear_dims dims = {p[0], p[1], p[2], p[3], (tinytx_layout)p[4]};
	tinytx_linear_params lp = {{p[5], p[6], p[9]}, {p[7], p[8]}, c->buf[3], c->buf[4]};
	if (c->n_params != 10 || c->n_buffers != 6 || c->len[5] != (uint32_t)(p[0] * p[2])) {
		tt_fail(r, "malformed linear case");
		return;
	}
	int8_t *out = tt_alloc_output(c->len[5]);
	tinytx_status st = tinytx_linear_s8(&dims, &lp, c->buf[0], c->buf[1], c->buf[2], out);
	if (st != TINYTX_OK) {
		tt_fail(r, "status %d", (int)st);
	} else {
		tt_check_output(c, out, 0, r);
	}
	tt_free_output(out);
	if (r->failed) {
		return;
	}
	const int32_t need = tinytx_linear_buf_s8_get_buffer_size(&dims, TT_NUM_CORES);
	if (need < 0) {
		tt_fail(r, "linear_buf: get_buffer_size status %d", (int)need);
		return;
	}
	/* the scratch is filled with garbage: the kernel must not rely on zeros; a second
	 * run at a misaligned address must take the scratch-free path */
	uint8_t *scratch = malloc((size_t)need + 4u);
	for (int32_t i = 0; i < need + 4; i++) {
		scratch[i] = (uint8_t)(0xa5 ^ i);
	}
	for (int shift = 0; shift < 2 && !r->failed; shift++) {
		out = tt_alloc_output(c->len[5]);
		const tinytx_context ctx = {scratch + shift, need};
		st = tinytx_linear_buf_s8(&dims, &lp, c->buf[0], c->buf[1], c->buf[2], out, &ctx);
		if (st != TINYTX_OK) {
			tt_fail(r, "linear_buf: status %d", (int)st);
		} else {
			tt_check_output(c, out, 0, r);
			if (r->failed) {
				char what[sizeof(r->msg)];
				memcpy(what, r->msg, sizeof(what));
				tt_fail(r, "linear_buf (scratch %ld bytes at +%d): %s", (long)need, shift,
					what);
			}
		}
		tt_free_output(out);
	}
	free(scratch);
}
