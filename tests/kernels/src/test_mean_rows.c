/* params: rows features multiplier shift act_min act_max zero_point input_zero_point
 * buffers: input [rows][features], expected [features] */
#include "tt_case.h"
#include "tinytx/kernels.h"

void tt_test_mean_rows(const tt_case *c, tt_result *r)
{
	const int32_t *p = c->params;
	if (c->n_params != 8 || c->n_buffers != 2 || c->len[1] != (uint32_t)p[1]) {
		tt_fail(r, "malformed mean_rows case");
		return;
	}
	tinytx_mean_rows_dims d = {p[0], p[1]};
	tinytx_mean_rows_params mp = {{p[2], p[3], p[6]}, {p[4], p[5]}, p[7]};
	int8_t *out = tt_alloc_output(c->len[1]);
	tinytx_status st = tinytx_mean_rows_s8(&d, &mp, c->buf[0], out);
	if (st != TINYTX_OK) {
		tt_fail(r, "status %d", (int)st);
	} else {
		tt_check_output(c, out, 0, r);
	}
	tt_free_output(out);
}
