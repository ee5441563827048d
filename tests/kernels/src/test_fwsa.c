/* params: S E H P, then (multiplier, shift) for t v softmax av out, out's zero point
 * buffers: x, wt, bt, wv, bv, wo, bo (biases may be empty), expected [S][E] */
#include <stdlib.h>

#include "tt_case.h"
#include "tinytx/kernels.h"

void tt_test_fwsa(const tt_case *c, tt_result *r)
{
	const int32_t *p = c->params;
	tinytx_mhsa_dims dims = {p[0], p[1], p[2], p[3]};
	tinytx_fwsa_params fp = {{p[4], p[5], 0},   {p[6], p[7], 0}, {p[8], p[9], 0},
				 {p[10], p[11], 0}, {p[12], p[13], p[14]}};
	if (c->n_params != 15 || c->n_buffers != 8 || c->len[7] != (uint32_t)(p[0] * p[1])) {
		tt_fail(r, "malformed fwsa case");
		return;
	}
	tinytx_fwsa_weights w = {c->buf[1], c->buf[2], c->buf[3], c->buf[4], c->buf[5], c->buf[6]};
	int32_t need = tinytx_fwsa_s8_get_buffer_size(&dims, TT_NUM_CORES);
	if (need <= 0) {
		tt_fail(r, "get_buffer_size returned %ld", (long)need);
		return;
	}
	void *scratch = malloc((size_t)need);
	int8_t *out = tt_alloc_output(c->len[7]);
	const tinytx_context ctx = {scratch, need};
	tinytx_status st = tinytx_fwsa_s8(&dims, &fp, &w, c->buf[0], out, &ctx);
	if (st != TINYTX_OK) {
		tt_fail(r, "status %d", (int)st);
	} else {
		tt_check_output(c, out, 0, r);
	}
	tt_free_output(out);
	free(scratch);
}
