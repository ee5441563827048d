/*
 * tinytx_bench: the firmware `tinytx bench` measures. It holds every public kernel
 * and nothing else of interest: the benchmark never runs main() but calls each
 * kernel directly under unicorn (scripts/tinytx/toolchain/bench), with the workload data
 * written into emulated memory. main() only takes the address of every kernel so
 * that none of them is dropped by --gc-sections; it is also a valid program
 * (exit 0) when run on QEMU.
 */
#include <stdint.h>

#include "tinytx/tinytx.h"

int main(void)
{
	static volatile uintptr_t keep;

	keep = (uintptr_t)&tinytx_linear_s8;
	keep = (uintptr_t)&tinytx_linear_buf_s8_get_buffer_size;
	keep = (uintptr_t)&tinytx_linear_buf_s8;
	keep = (uintptr_t)&tinytx_qk_softmax_s8_get_buffer_size;
	keep = (uintptr_t)&tinytx_qk_softmax_s8;
	keep = (uintptr_t)&tinytx_av_s8;
	keep = (uintptr_t)&tinytx_mhsa_s8_get_buffer_size;
	keep = (uintptr_t)&tinytx_mhsa_s8;
	keep = (uintptr_t)&tinytx_fwsa_s8_get_buffer_size;
	keep = (uintptr_t)&tinytx_fwsa_s8;
	keep = (uintptr_t)&tinytx_mhsa_dft_s8_get_buffer_size; /* bench/fwsa_cases.py */
	keep = (uintptr_t)&tinytx_mhsa_dft_s8;
	keep = (uintptr_t)&tinytx_fwsa_dft_s8_get_buffer_size;
	keep = (uintptr_t)&tinytx_fwsa_dft_s8;
	keep = (uintptr_t)&tinytx_layernorm_s8;
	keep = (uintptr_t)&tinytx_gelu_s8;
	keep = (uintptr_t)&tinytx_lut_s8;
	keep = (uintptr_t)&tinytx_add_s8;
	keep = (uintptr_t)&tinytx_conv2d_s8_get_buffer_size; /* test_bench.py: the planner's */
	keep = (uintptr_t)&tinytx_conv2d_s8;
	keep = (uintptr_t)&tinytx_depthwise_conv2d_s8;
	keep = (uintptr_t)&tinytx_linear_sparse_s8_get_buffer_size; /* bench/sparse.py */
	keep = (uintptr_t)&tinytx_linear_sparse_s8;
	keep = (uintptr_t)&tinytx_conv2d_sparse_s8_get_buffer_size;
	keep = (uintptr_t)&tinytx_conv2d_sparse_s8;
	return keep == 0u;
}
