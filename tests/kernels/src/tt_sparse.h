/* Helpers of the sparse-weights test bodies (test_linear_sparse.c, test_conv2d_sparse.c). */
#ifndef TT_SPARSE_H
#define TT_SPARSE_H

#include <stdint.h>

#include "tt_case.h"
#include "tinytx/types.h"

/* A kernel call on the case's input, bias and output: run(dims, params, case, w, out, ctx). */
typedef tinytx_status (*tt_sparse_call)(const void *dims, const void *params, const tt_case *c,
					const tinytx_sparse_weights *w, int8_t *out,
					const tinytx_context *ctx);

/* The weights of buffers first .. first + 2 (row_ptr, gaps, values); 0 when malformed. */
int tt_sparse_weights(const tt_case *c, uint32_t first, int32_t format, int32_t rows,
		      int32_t cols, tinytx_sparse_weights *w);

/* need bytes (at least one) of scratch filled with garbage: kernels must not rely on zeros. */
uint8_t *tt_garbage_scratch(int32_t need);

/* The refusals every sparse kernel owes (ERR_SCRATCH, ERR_DIMS, ERR_PARAM); fills r. */
void tt_sparse_refusals(const tt_case *c, const tinytx_sparse_weights *w, int32_t need,
			void *scratch, tt_sparse_call call, const void *dims, const void *params,
			tt_result *r);

#endif /* TT_SPARSE_H */
