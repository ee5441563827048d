/* tinytx_linear_sparse_s8_get_buffer_size of the reference kernel: it needs no scratch. */
#include "tinytx/kernels.h"
#include "../tinytx_sparse.h"

int32_t tinytx_linear_sparse_s8_get_buffer_size(const tinytx_linear_dims *dims, int32_t num_cores)
{
	const tinytx_status st = tinytx_check_linear_sparse_dims(dims, num_cores);
	return st != TINYTX_OK ? st : 0;
}
