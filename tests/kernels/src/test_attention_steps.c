/* params: seq_len heads head_dim
 * buffers: q, k, v [S][H*P] int8, exp_table int32 [256], tinytx_attention_steps_params
 * as int32 fields in declaration order, expected [S][H*P] */
#include <string.h>

#include "tt_case.h"
#include "tinytx/kernels.h"

void tt_test_attention_steps(const tt_case *c, tt_result *r)
{
	const int32_t *p = c->params;
	tinytx_attention_steps_params ap;
	if (c->n_params != 3 || c->n_buffers != 6 || c->len[3] != 256 * sizeof(int32_t) ||
	    c->len[4] != sizeof(ap)) {
		tt_fail(r, "malformed attention_steps case");
		return;
	}
	const uint32_t size = (uint32_t)(p[0] * p[1] * p[2]);
	if (c->len[0] != size || c->len[1] != size || c->len[2] != size || c->len[5] != size) {
		tt_fail(r, "malformed attention_steps case");
		return;
	}
	tinytx_attention_steps_dims dims = {p[0], p[1], p[2]};
	static int32_t table[256]; /* off the stack: 1 KB */
	memcpy(table, c->buf[3], sizeof(table));
	memcpy(&ap, c->buf[4], sizeof(ap));
	int8_t *out = tt_alloc_output(c->len[5]);
	tinytx_status st = tinytx_attention_steps_s8(&dims, &ap, c->buf[0], c->buf[1], c->buf[2],
						     table, out);
	if (st != TINYTX_OK) {
		tt_fail(r, "status %d", (int)st);
	} else {
		tt_check_output(c, out, 0, r);
	}
	tt_free_output(out);
}
