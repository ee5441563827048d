/* params: rows features multiplier shift eps_q16 zero_point
 * buffers: x [rows][E], gamma [E] int8, beta [E] int32, expected */
#include "tt_case.h"
#include "tinytx/kernels.h"

void tt_test_layernorm(const tt_case *c, tt_result *r)
{
	const int32_t *p = c->params;
	tinytx_layernorm_dims dims = {p[0], p[1]};
	tinytx_layernorm_params lp = {{p[2], p[3], p[5]}, p[4]};
	if (c->n_params != 6 || c->n_buffers != 4 || c->len[3] != (uint32_t)(p[0] * p[1])) {
		tt_fail(r, "malformed layernorm case");
		return;
	}
	int8_t *out = tt_alloc_output(c->len[3]);
	tinytx_status st = tinytx_layernorm_s8(&dims, &lp, c->buf[0], c->buf[1], c->buf[2], out);
	if (st != TINYTX_OK) {
		tt_fail(r, "status %d", (int)st);
	} else {
		tt_check_output(c, out, 0, r);
	}
	tt_free_output(out);
}
