/* params: heads q_rows kv_rows head_dim k_heads multiplier shift
 * buffers: q [H][Sq][P], k [k_heads][Skv][P], expected probs [H][Sq][Skv] uint8 */
#include <stdlib.h>

#include "tt_case.h"
#include "tinytx/kernels.h"

void tt_test_qk_softmax(const tt_case *c, tt_result *r)
{
	const int32_t *p = c->params;
	tinytx_attention_dims dims = {p[0], p[1], p[2], p[3], p[4]};
	tinytx_requant rq = {p[5], p[6], 0};
	if (c->n_params != 7 || c->n_buffers != 3 || c->len[2] != (uint32_t)(p[0] * p[1] * p[2])) {
		tt_fail(r, "malformed qk_softmax case");
		return;
	}
	int32_t need = tinytx_qk_softmax_s8_get_buffer_size(&dims, TT_NUM_CORES);
	if (need <= 0) {
		tt_fail(r, "get_buffer_size returned %ld", (long)need);
		return;
	}
	void *scratch = malloc((size_t)need);
	uint8_t *out = tt_alloc_output(c->len[2]);
	const tinytx_context ctx = {scratch, need};
	tinytx_status st = tinytx_qk_softmax_s8(&dims, rq, c->buf[0], c->buf[1], out, &ctx);
	if (st != TINYTX_OK) {
		tt_fail(r, "status %d", (int)st);
	} else {
		tt_check_output(c, out, 1, r);
	}
	tt_free_output(out);
	free(scratch);
}
