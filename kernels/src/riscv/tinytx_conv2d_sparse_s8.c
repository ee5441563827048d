/*
 * RISC-V 2-D convolution on sparse weights: the output pixels split over the cores of
 * tinytx_parallel_for; each core copies its pixel's window into its own im2col row of the
 * scratch (pad_value at padded taps) and walks every output channel's entries over it.
 */
#include "tinytx/kernels.h"
#include "tinytx/parallel.h"
#include "tinytx/requant.h"
#include "../tinytx_sparse.h"

typedef struct {
	const tinytx_conv2d_dims *dims;
	const tinytx_conv2d_params *params;
	const int8_t *input;
	const tinytx_sparse_weights *weights;
	const int32_t *bias;
	int8_t *output;
	int8_t *cols; /* one im2col row per core, row_bytes apart */
	int32_t row_bytes;
} rv_sparse_conv_job;

static void rv_sparse_conv_body(void *ctx, uint32_t core, uint32_t num_cores)
{
	const rv_sparse_conv_job *j = ctx;
	const tinytx_conv2d_dims *d = j->dims;
	const tinytx_conv2d_params *p = j->params;
	int8_t *col = j->cols + (size_t)core * (uint32_t)j->row_bytes;
	uint32_t q0, q1;
	tinytx_parallel_range((uint32_t)(d->out_h * d->out_w), core, num_cores, &q0, &q1);
	for (uint32_t q = q0; q < q1; q++) {
		const int32_t oy = (int32_t)q / d->out_w, ox = (int32_t)q % d->out_w;
		tinytx_im2col_pixel(d, j->input, p->pad_value, oy, ox, col);
		int8_t *y = j->output + (size_t)q * (uint32_t)d->out_c;
		for (int32_t co = 0; co < d->out_c; co++) {
			const int32_t acc = (j->bias != NULL ? j->bias[co] : 0) +
					    tinytx_sparse_row_dot(j->weights, co, col);
			const tinytx_requant rq =
				tinytx_channel_requant(p->requant, p->multipliers, p->shifts, co);
			y[co] = tinytx_requantize_s8(acc, rq, p->act.min, p->act.max);
		}
	}
}

tinytx_status tinytx_conv2d_sparse_s8(const tinytx_conv2d_dims *dims,
				      const tinytx_conv2d_params *params, const int8_t *input,
				      const tinytx_sparse_weights *weights, const int32_t *bias,
				      int8_t *output, const tinytx_context *ctx)
{
	tinytx_status st = tinytx_check_conv2d_sparse_call(dims, params, input, weights, output, 1);
	if (st == TINYTX_OK) {
		st = tinytx_check_scratch(
			ctx, tinytx_conv2d_sparse_s8_get_buffer_size(dims, tinytx_run_cores()));
	}
	if (st != TINYTX_OK) {
		return st;
	}
	const int32_t row_bytes =
		(int32_t)tinytx_bytes_aligned((int64_t)dims->kernel_h * dims->kernel_w * dims->in_c, 1);
	rv_sparse_conv_job job = {dims, params, input, weights, bias, output, ctx->buf, row_bytes};
	tinytx_parallel_for(rv_sparse_conv_body, &job);
	return TINYTX_OK;
}
