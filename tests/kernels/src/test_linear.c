/* params: rows K N heads layout multiplier shift act_min act_max zero_point
 * buffers: input [rows][K], weights [N][K], bias [N] int32 (empty: none),
 *          multipliers [N], shifts [N] int32 (empty: per-tensor), expected */
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
}
