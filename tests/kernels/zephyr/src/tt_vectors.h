/*
 * The kernel test vectors of the twister suite, built into the firmware (a C array
 * generated from `tinytx vectors` at build time) and read through stdio like the
 * semihosting runner's file, so tests/kernels/src/tt_case.c reads them unchanged.
 */
#ifndef TT_VECTORS_H
#define TT_VECTORS_H

#include <stdio.h>

/* A stream over the vectors, positioned at their start; NULL when none can be made. */
FILE *tt_vectors_open(void);
void tt_vectors_close(FILE *f);

#endif /* TT_VECTORS_H */
