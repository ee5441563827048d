/*
 * Linked with bench_main.c into tinytx_bench_rv32x8, the firmware `tinytx bench
 * --target rv32x8` measures (scripts/tinytx/toolchain/bench/rv32x8.py): keeps, beyond what
 * bench_main.c keeps, the depth-first MHSA and the serial port's core-count setter
 * from --gc-sections (a constructor is always linked).
 */
#include <stdint.h>

#include "tinytx/parallel.h"
#include "tinytx/tinytx.h"

static volatile uintptr_t keep_rv32x8;

__attribute__((constructor)) static void keep_rv32x8_functions(void)
{
	keep_rv32x8 = (uintptr_t)&tinytx_parallel_serial_set_cores;
	keep_rv32x8 = (uintptr_t)&tinytx_mhsa_dft_s8_get_buffer_size;
	keep_rv32x8 = (uintptr_t)&tinytx_mhsa_dft_s8;
}
