/*
 * Core counts every test case runs with: the riscv kernels split their work over
 * the cores of tinytx_parallel_for, so each case is checked with 1, 2, 4 and 8
 * cores in one run of the runner. On the RV32 SMP port (QEMU virt -smp 8) those are
 * real harts; on the serial port (host, one-hart QEMU) the cores run in turn.
 * Default list: TT_DEFAULT_CORES (CMake: "1,2,4,8" for the riscv variant, "1"
 * otherwise); `--cores=LIST` on the command line overrides it.
 */
#ifndef TT_CORES_H
#define TT_CORES_H

#include <stdint.h>

#include "tt_case.h"

#define TT_MAX_CORE_CONFIGS 8

/* Reads --cores=LIST ("1,2,4,8" or "1:2:4:8") from argv, before the vector file; 0 or -1. */
int tt_cores_parse(int argc, char **argv);
/* Prints "CORES port=<port> list=1,2,4,8 available=N". */
void tt_cores_print(void);
/* Runs test on c with every core count; a failure message gets " cores=N". */
void tt_cores_run(tt_test_fn test, const tt_case *c, tt_result *r);
/* Back to one core (the argument checks expect the one-core scratch sizes). */
void tt_cores_reset(void);

#endif /* TT_CORES_H */
