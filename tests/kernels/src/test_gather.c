/* params: outer axis_len block count out_stride lead concat
 * buffers: input [outer][axis_len][block], indices [count], expected [outer][out_stride]
 * (a concat case passes NULL indices and writes columns lead.. of a prefilled output) */
#include <string.h>

#include "tt_case.h"
#include "tinytx/kernels.h"

void tt_test_gather(const tt_case *c, tt_result *r)
{
	const int32_t *p = c->params;
	if (c->n_params != 7 || c->n_buffers != 3 || c->len[1] != (uint32_t)p[3] * 4u ||
	    c->len[2] != (uint32_t)(p[0] * p[4])) {
		tt_fail(r, "malformed gather case");
		return;
	}
	tinytx_gather_dims d = {p[0], p[1], p[2], p[3], p[4]};
	const int32_t *indices = p[6] ? NULL : (const int32_t *)c->buf[1];
	int8_t *out = tt_alloc_output(c->len[2]);
	memset(out, 0x5A, c->len[2]);
	tinytx_status st = tinytx_gather_s8(&d, indices, c->buf[0], out + p[5]);
	if (st != TINYTX_OK) {
		tt_fail(r, "status %d", (int)st);
	} else {
		tt_check_output(c, out, 0, r);
	}
	tt_free_output(out);
}
