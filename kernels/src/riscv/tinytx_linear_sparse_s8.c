/*
 * RISC-V linear layer on sparse weights: the output features (weight rows) split over the
 * cores of tinytx_parallel_for; each core walks its rows' entries once per token.
 */
#include "tinytx/kernels.h"
#include "tinytx/parallel.h"
#include "tinytx/requant.h"
#include "../tinytx_sparse.h"

typedef struct {
	const tinytx_linear_dims *dims;
	const tinytx_linear_params *params;
	const int8_t *input;
	const tinytx_sparse_weights *weights;
	const int32_t *bias;
	int8_t *output;
} rv_sparse_linear_job;

static void rv_sparse_linear_body(void *ctx, uint32_t core, uint32_t num_cores)
{
	const rv_sparse_linear_job *j = ctx;
	const tinytx_linear_dims *d = j->dims;
	const tinytx_linear_params *p = j->params;
	uint32_t n0, n1;
	tinytx_parallel_range((uint32_t)d->out_features, core, num_cores, &n0, &n1);
	for (int32_t n = (int32_t)n0; n < (int32_t)n1; n++) {
		const int32_t b = j->bias != NULL ? j->bias[n] : 0;
		const tinytx_requant rq =
			tinytx_channel_requant(p->requant, p->multipliers, p->shifts, n);
		const int8_t *x = j->input;
		for (int32_t s = 0; s < d->rows; s++, x += d->in_features) {
			const int32_t acc = b + tinytx_sparse_row_dot(j->weights, n, x);
			j->output[tinytx_linear_out_index(d, s, n)] =
				tinytx_requantize_s8(acc, rq, p->act.min, p->act.max);
		}
	}
}

tinytx_status tinytx_linear_sparse_s8(const tinytx_linear_dims *dims,
				      const tinytx_linear_params *params, const int8_t *input,
				      const tinytx_sparse_weights *weights, const int32_t *bias,
				      int8_t *output, const tinytx_context *ctx)
{
	tinytx_status st = tinytx_check_linear_sparse_call(dims, params, input, weights, output, 1);
	if (st == TINYTX_OK) {
		st = tinytx_check_scratch(
			ctx, tinytx_linear_sparse_s8_get_buffer_size(dims, tinytx_run_cores()));
	}
	if (st != TINYTX_OK) {
		return st;
	}
	rv_sparse_linear_job job = {dims, params, input, weights, bias, output};
	tinytx_parallel_for(rv_sparse_linear_body, &job);
	return TINYTX_OK;
}
