/*
 * params: size; buffers: x, table (256), expected.
 * Each case runs three times: separate buffers, in place (output == input), and with
 * the input and output at odd offsets (1 and 3 bytes past an allocation).
 */
#include <stdlib.h>
#include <string.h>

#include "tt_case.h"
#include "tinytx/kernels.h"

static void lut_run(const tt_case *c, tt_result *r, int mode)
{
	const uint32_t n = c->len[0];
	const uint32_t out_off = mode == 2 ? 3u : 0u;
	int8_t *base = tt_alloc_output(n + out_off);
	int8_t *out = base + out_off;
	uint8_t *shifted = NULL;
	const int8_t *in = c->buf[0];
	if (base == NULL) {
		tt_fail(r, "out of memory");
		return;
	}
	if (mode == 1) {
		memcpy(out, c->buf[0], n);
		in = out;
	} else if (mode == 2) {
		shifted = malloc((size_t)n + 1u);
		if (shifted == NULL) {
			tt_fail(r, "out of memory");
			tt_free_output(base);
			return;
		}
		memcpy(shifted + 1, c->buf[0], n);
		in = (const int8_t *)(shifted + 1);
	}
	tinytx_status st = tinytx_lut_s8((int32_t)c->params[0], c->buf[1], in, out);
	if (st != TINYTX_OK) {
		tt_fail(r, "status %d", (int)st);
	} else {
		tt_check_output(c, out, 0, r);
		if (r->failed && mode > 0) {
			char msg[sizeof(r->msg)];
			memcpy(msg, r->msg, sizeof(msg));
			tt_fail(r, "%s: %.150s", mode == 1 ? "in place" : "unaligned", msg);
		}
	}
	free(shifted);
	tt_free_output(base);
}

void tt_test_lut(const tt_case *c, tt_result *r)
{
	if (c->n_params != 1 || c->n_buffers != 3 || c->len[1] != 256 ||
	    c->len[0] != (uint32_t)c->params[0] || c->len[2] != c->len[0] || c->params[0] < 1) {
		tt_fail(r, "malformed lut case");
		return;
	}
	for (int mode = 0; mode < 3 && !r->failed; mode++) {
		lut_run(c, r, mode);
	}
}
