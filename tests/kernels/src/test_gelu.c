/* params: size q_clip q_one multiplier shift zero_point input_zero_point;
 * buffers: x, expected */
#include "tt_case.h"
#include "tinytx/kernels.h"

void tt_test_gelu(const tt_case *c, tt_result *r)
{
	const int32_t *p = c->params;
	tinytx_gelu_params gp = {p[1], p[2], {p[3], p[4], p[5]}, p[6]};
	if (c->n_params != 7 || c->n_buffers != 2 || c->len[1] != (uint32_t)p[0]) {
		tt_fail(r, "malformed gelu case");
		return;
	}
	int8_t *out = tt_alloc_output(c->len[1]);
	tinytx_status st = tinytx_gelu_s8(p[0], &gp, c->buf[0], out);
	if (st != TINYTX_OK) {
		tt_fail(r, "status %d", (int)st);
	} else {
		tt_check_output(c, out, 0, r);
	}
	tt_free_output(out);
}
