/* params: rows features
 * buffers: x [rows][E], gamma [E] int8, beta [E] int8, table [256] int8,
 * tinytx_layernorm_steps_params as int32 fields in declaration order, expected */
#include <string.h>

#include "tt_case.h"
#include "tinytx/kernels.h"

void tt_test_layernorm_steps(const tt_case *c, tt_result *r)
{
	const int32_t *p = c->params;
	tinytx_layernorm_steps_params lp;
	if (c->n_params != 2 || c->n_buffers != 6 || c->len[4] != sizeof(lp) ||
	    c->len[5] != (uint32_t)(p[0] * p[1])) {
		tt_fail(r, "malformed layernorm_steps case");
		return;
	}
	tinytx_layernorm_dims dims = {p[0], p[1]};
	memcpy(&lp, c->buf[4], sizeof(lp));
	int8_t *out = tt_alloc_output(c->len[5]);
	tinytx_status st = tinytx_layernorm_steps_s8(&dims, &lp, c->buf[0], c->buf[1], c->buf[2],
						     c->buf[3], out);
	if (st != TINYTX_OK) {
		tt_fail(r, "status %d", (int)st);
	} else {
		tt_check_output(c, out, 0, r);
	}
	tt_free_output(out);
}
