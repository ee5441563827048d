/*
 * RV32 SMP port of tinytx/parallel.h for QEMU virt (-bios none -smp N, N <= 8).
 *
 * Every hart enters the start code at 0x80000000 (src/rv32_smp_start.c): hart 0
 * sets up the C runtime (picolibc: data, bss, TLS, constructors, argv from
 * semihosting) and runs main(); harts 1..N-1 sleep (wfi) until hart 0 first needs
 * them, then take a stack of their own (TINYTX_RV32_SMP_STACK bytes each) and wait for
 * work. tinytx_parallel_for publishes (body, ctx, n) and a new generation number,
 * wakes harts 1..n-1 with a machine software interrupt (CLINT msip), runs core 0
 * itself and waits until every hart has written the generation into its own done
 * flag: per-hart flags, fence and interrupts, no atomic instruction (rv32imc has
 * none). exit() leaves through the test device (0x100000) with the exit code; a trap
 * on any hart prints its cause (semihosting and the UART at 0x10000000) and exits 3.
 */
#ifndef TINYTX_PORT_RV32_SMP_H
#define TINYTX_PORT_RV32_SMP_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef TINYTX_RV32_SMP_MAX_HARTS
#define TINYTX_RV32_SMP_MAX_HARTS 8
#endif
#ifndef TINYTX_RV32_SMP_STACK
#define TINYTX_RV32_SMP_STACK 16384 /* bytes per secondary hart (a multiple of 16) */
#endif

/* Harts that answered at start-up (1 .. TINYTX_RV32_SMP_MAX_HARTS). */
uint32_t tinytx_rv32_smp_available_harts(void);

/*
 * Harts tinytx_parallel_for uses from now on (default: all available).
 * Returns 0, or -1 when n is 0 or more than are available.
 */
int tinytx_rv32_smp_set_harts(uint32_t n);

/* Writes a string to the UART (ns16550 at 0x10000000; QEMU -serial). */
void tinytx_rv32_uart_write(const char *s);

#ifdef __cplusplus
}
#endif

#endif /* TINYTX_PORT_RV32_SMP_H */
