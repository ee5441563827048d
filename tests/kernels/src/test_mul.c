/* params: size multiplier shift zero_point act_min act_max a_zero_point b_zero_point
 * buffers: a, b, expected (TFLite's integer MUL) */
#include "tt_case.h"
#include "tinytx/kernels.h"

void tt_test_mul(const tt_case *c, tt_result *r)
{
	const int32_t *p = c->params;
	if (c->n_params != 8 || c->n_buffers != 3 || c->len[2] != (uint32_t)p[0]) {
		tt_fail(r, "malformed mul case");
		return;
	}
	tinytx_mul_params mp = {p[1], p[2], p[3], {p[4], p[5]}, p[6], p[7]};
	int8_t *out = tt_alloc_output(c->len[2]);
	tinytx_status st = tinytx_mul_s8(p[0], &mp, c->buf[0], c->buf[1], out);
	if (st != TINYTX_OK) {
		tt_fail(r, "status %d", (int)st);
	} else {
		tt_check_output(c, out, 0, r);
	}
	tt_free_output(out);
}
