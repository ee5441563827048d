/* params: in_h in_w in_c out_h out_w out_c kernel_h kernel_w stride_h stride_w
 *         pad_top pad_left pad_bottom pad_right multiplier shift act_min act_max
 *         zero_point pad_value
 * buffers: input [in_h][in_w][in_c], weights (conv [out_c][kh][kw][in_c],
 *          depthwise [kh][kw][c]), bias [out_c] int32 (empty: none),
 *          multipliers [out_c], shifts [out_c] int32 (empty: per-tensor), expected */
#include <stdlib.h>

#include "tt_case.h"
#include "tinytx/kernels.h"

static int decode(const tt_case *c, tinytx_conv2d_dims *d, tinytx_conv2d_params *p)
{
	const int32_t *v = c->params;
	if (c->n_params != 20 || c->n_buffers != 6) {
		return 0;
	}
	*d = (tinytx_conv2d_dims){v[0], v[1], v[2], v[3], v[4], v[5], v[6],
				  v[7], v[8], v[9], v[10], v[11], v[12], v[13], 0, 0, 0};
	*p = (tinytx_conv2d_params){{v[14], v[15], v[18]}, {v[16], v[17]}, v[19], c->buf[3],
				    c->buf[4]};
	return c->len[5] == (uint32_t)(v[3] * v[4] * v[5]);
}

void tt_test_conv2d(const tt_case *c, tt_result *r)
{
	tinytx_conv2d_dims d;
	tinytx_conv2d_params p;
	if (!decode(c, &d, &p)) {
		tt_fail(r, "malformed conv2d case");
		return;
	}
	int32_t need = tinytx_conv2d_s8_get_buffer_size(&d, TT_NUM_CORES);
	if (need < 0) {
		tt_fail(r, "get_buffer_size status %d", (int)need);
		return;
	}
	void *scratch = need > 0 ? malloc((size_t)need) : NULL;
	const tinytx_context ctx = {scratch, need};
	int8_t *out = tt_alloc_output(c->len[5]);
	tinytx_status st =
		tinytx_conv2d_s8(&d, &p, c->buf[0], c->buf[1], c->buf[2], out, &ctx);
	if (st != TINYTX_OK) {
		tt_fail(r, "status %d", (int)st);
	} else {
		tt_check_output(c, out, 0, r);
	}
	tt_free_output(out);
	free(scratch);
}

void tt_test_depthwise_conv2d(const tt_case *c, tt_result *r)
{
	tinytx_conv2d_dims d;
	tinytx_conv2d_params p;
	if (!decode(c, &d, &p)) {
		tt_fail(r, "malformed depthwise_conv2d case");
		return;
	}
	int8_t *out = tt_alloc_output(c->len[5]);
	tinytx_status st = tinytx_depthwise_conv2d_s8(&d, &p, c->buf[0], c->buf[1], c->buf[2], out);
	if (st != TINYTX_OK) {
		tt_fail(r, "status %d", (int)st);
	} else {
		tt_check_output(c, out, 0, r);
	}
	tt_free_output(out);
}

/* params: the 20 above, then dilation_h dilation_w depth_multiplier depthwise */
void tt_test_conv2d_general(const tt_case *c, tt_result *r)
{
	const int32_t *v = c->params;
	if (c->n_params != 24 || c->n_buffers != 6 || c->len[5] != (uint32_t)(v[3] * v[4] * v[5])) {
		tt_fail(r, "malformed conv2d_general case");
		return;
	}
	tinytx_conv2d_dims d = {v[0], v[1],  v[2],  v[3],  v[4],  v[5],  v[6],  v[7],
				v[8], v[9], v[10], v[11], v[12], v[13], v[20], v[21], v[22]};
	const tinytx_conv2d_params p = {{v[14], v[15], v[18]}, {v[16], v[17]}, v[19], c->buf[3],
					c->buf[4]};
	int8_t *out = tt_alloc_output(c->len[5]);
	tinytx_status st;
	if (v[23]) {
		st = tinytx_depthwise_conv2d_s8(&d, &p, c->buf[0], c->buf[1], c->buf[2], out);
	} else {
		const int32_t need = tinytx_conv2d_s8_get_buffer_size(&d, TT_NUM_CORES);
		st = need != 0 ? (tinytx_status)(need < 0 ? need : TINYTX_ERR_SCRATCH)
			       : tinytx_conv2d_s8(&d, &p, c->buf[0], c->buf[1], c->buf[2], out,
						  NULL);
	}
	if (st != TINYTX_OK) {
		tt_fail(r, "status %d", (int)st);
	} else {
		tt_check_output(c, out, 0, r);
	}
	tt_free_output(out);
}
