/* params: in_h in_w channels out_h out_w kernel_h kernel_w stride_h stride_w
 *         pad_top pad_left pad_bottom pad_right
 *         [avgpool: multiplier shift act_min act_max count_include_pad zero_point
 *          input_zero_point tflite_rounding]
 * buffers: input [in_h][in_w][channels], expected [out_h][out_w][channels] */
#include "tt_case.h"
#include "tinytx/kernels.h"

static int decode(const tt_case *c, uint32_t n_params, tinytx_pool2d_dims *d)
{
	const int32_t *v = c->params;
	if (c->n_params != n_params || c->n_buffers != 2) {
		return 0;
	}
	*d = (tinytx_pool2d_dims){v[0], v[1], v[2], v[3], v[4], v[5], v[6],
				  v[7], v[8], v[9], v[10], v[11], v[12]};
	return c->len[1] == (uint32_t)(v[2] * v[3] * v[4]);
}

void tt_test_maxpool2d(const tt_case *c, tt_result *r)
{
	tinytx_pool2d_dims d;
	if (!decode(c, 13, &d)) {
		tt_fail(r, "malformed maxpool2d case");
		return;
	}
	int8_t *out = tt_alloc_output(c->len[1]);
	tinytx_status st = tinytx_maxpool2d_s8(&d, c->buf[0], out);
	if (st != TINYTX_OK) {
		tt_fail(r, "status %d", (int)st);
	} else {
		tt_check_output(c, out, 0, r);
	}
	tt_free_output(out);
}

void tt_test_avgpool2d(const tt_case *c, tt_result *r)
{
	tinytx_pool2d_dims d;
	if (!decode(c, 21, &d)) {
		tt_fail(r, "malformed avgpool2d case");
		return;
	}
	const int32_t *v = c->params;
	tinytx_avgpool2d_params p = {{v[13], v[14], v[18]}, {v[15], v[16]}, v[17], v[19], v[20]};
	int8_t *out = tt_alloc_output(c->len[1]);
	tinytx_status st = tinytx_avgpool2d_s8(&d, &p, c->buf[0], out);
	if (st != TINYTX_OK) {
		tt_fail(r, "status %d", (int)st);
	} else {
		tt_check_output(c, out, 0, r);
	}
	tt_free_output(out);
}
