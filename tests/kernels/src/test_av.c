/* params: heads q_rows kv_rows head_dim multiplier shift
 * buffers: probs [H][Sq][Skv] uint8, vt [H][P][Skv], expected [Sq][H*P] */
#include "tt_case.h"
#include "tinytx/kernels.h"

void tt_test_av(const tt_case *c, tt_result *r)
{
	const int32_t *p = c->params;
	tinytx_attention_dims dims = {p[0], p[1], p[2], p[3], p[0]};
	tinytx_requant rq = {p[4], p[5], 0};
	if (c->n_params != 6 || c->n_buffers != 3 || c->len[2] != (uint32_t)(p[0] * p[1] * p[3])) {
		tt_fail(r, "malformed av case");
		return;
	}
	int8_t *out = tt_alloc_output(c->len[2]);
	tinytx_status st = tinytx_av_s8(&dims, rq, c->buf[0], c->buf[1], out);
	if (st != TINYTX_OK) {
		tt_fail(r, "status %d", (int)st);
	} else {
		tt_check_output(c, out, 0, r);
	}
	tt_free_output(out);
}
