/* params: S E H P, then (multiplier, shift) for q k v softmax av out, out's zero point
 * buffers: x, wq, bq, wk, bk, wv, bv, wo, bo (biases may be empty), per-channel tables
 * (empty, or multipliers and shifts of q, k, v [H*P] and out [E]), expected [S][E] */
#include <stdlib.h>

#include "tt_case.h"
#include "tinytx/kernels.h"

int tt_mhsa_channels(const tt_case *c, uint32_t index, int32_t hp, int32_t e,
		     tinytx_mhsa_weights *w)
{
	const int32_t *t = c->buf[index];
	if (c->len[index] == 0) {
		return 1;
	}
	if (c->len[index] != (uint32_t)(2 * (3 * hp + e)) * sizeof(int32_t)) {
		return 0;
	}
	tinytx_channels *chs[3] = {&w->q_ch, &w->k_ch, &w->v_ch};
	for (int i = 0; i < 3; i++) {
		chs[i]->multipliers = t + 2 * i * hp;
		chs[i]->shifts = t + (2 * i + 1) * hp;
	}
	w->out_ch.multipliers = t + 6 * hp;
	w->out_ch.shifts = t + 6 * hp + e;
	return 1;
}

void tt_test_mhsa(const tt_case *c, tt_result *r)
{
	const int32_t *p = c->params;
	tinytx_mhsa_dims dims = {p[0], p[1], p[2], p[3]};
	tinytx_mhsa_params mp = {{p[4], p[5], 0},   {p[6], p[7], 0},   {p[8], p[9], 0},
				 {p[10], p[11], 0}, {p[12], p[13], 0}, {p[14], p[15], p[16]}};
	tinytx_mhsa_weights w = {c->buf[1], c->buf[2], c->buf[3], c->buf[4], c->buf[5],
				 c->buf[6], c->buf[7], c->buf[8], {NULL, NULL}, {NULL, NULL},
				 {NULL, NULL}, {NULL, NULL}};
	if (c->n_params != 17 || c->n_buffers != 11 || c->len[10] != (uint32_t)(p[0] * p[1]) ||
	    !tt_mhsa_channels(c, 9, p[2] * p[3], p[1], &w)) {
		tt_fail(r, "malformed mhsa case");
		return;
	}
	int32_t need = tinytx_mhsa_s8_get_buffer_size(&dims, TT_NUM_CORES);
	if (need <= 0) {
		tt_fail(r, "get_buffer_size returned %ld", (long)need);
		return;
	}
	void *scratch = malloc((size_t)need);
	int8_t *out = tt_alloc_output(c->len[10]);
	const tinytx_context ctx = {scratch, need};
	tinytx_status st = tinytx_mhsa_s8(&dims, &mp, &w, c->buf[0], out, &ctx);
	if (st != TINYTX_OK) {
		tt_fail(r, "status %d", (int)st);
	} else {
		tt_check_output(c, out, 0, r);
	}
	tt_free_output(out);
	free(scratch);
}
