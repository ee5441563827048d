/*
 * Start code of the RV32 SMP port (tinytx_port/rv32_smp.h). QEMU virt without
 * firmware (-bios none) starts every hart at 0x80000000, the start of the flash region
 * of boards/targets.yaml, where picolibc's linker script puts .text.init.enter first.
 * Builds with this port link with -nostartfiles: this _start replaces picolibc's crt0.
 *
 * Hart 0: gp, trap vector, the stack at __stack, then tinytx_rv32_smp_cstart(fdt), with
 * the address of the flattened device tree QEMU passes in a1 (it counts the harts).
 * Harts 1..7: trap vector and the software-interrupt enable only, then wfi until
 * tinytx_rv32_smp_go holds the magic value. Until then they touch no RAM but that
 * word, so hart 0 may clear .bss (their stacks included) meanwhile; the word is in
 * .bss, which QEMU starts at zero and hart 0 clears to zero, so it cannot read as the
 * magic value early. Then each takes its stack and enters tinytx_rv32_smp_worker().
 * Harts beyond TINYTX_RV32_SMP_MAX_HARTS park in wfi for good.
 */
#include "tinytx_port/rv32_smp.h"

#define TINYTX_STR2(x) #x
#define TINYTX_STR(x) TINYTX_STR2(x)

__asm__(
	"	.section .text.init.enter, \"ax\"\n"
	"	.globl _start\n"
	"	.type _start, @function\n"
	"_start:\n"
	"	.option push\n"
	"	.option norelax\n"
	"	la gp, __global_pointer$\n"
	"	.option pop\n"
	"	la t0, tinytx_rv32_trap_entry\n"
	"	csrw mtvec, t0\n"
	"	li t0, 8\n" /* mie.MSIE: msip wakes wfi (mstatus.MIE stays 0: no trap) */
	"	csrw mie, t0\n"
	"	csrr a0, mhartid\n"
	"	bnez a0, 1f\n"
	"	la sp, __stack\n"
	"	mv a0, a1\n" /* QEMU's reset code passes the device tree's address in a1 */
	"	call tinytx_rv32_smp_cstart\n"
	"0:	wfi\n"
	"	j 0b\n"
	"1:	li t0, " TINYTX_STR(TINYTX_RV32_SMP_MAX_HARTS) "\n"
	"	bgeu a0, t0, 0b\n"
	"	la t1, tinytx_rv32_smp_go\n"
	"	li t2, 0x54585356\n" /* "VSXT" */
	"	li t4, 0x02000000\n" /* CLINT msip[0] */
	"	slli t5, a0, 2\n"
	"	add t4, t4, t5\n"
	"2:	sw zero, 0(t4)\n" /* clear our msip, then look */
	"	fence rw, rw\n"
	"	lw t3, 0(t1)\n"
	"	beq t3, t2, 3f\n"
	"	wfi\n"
	"	j 2b\n"
	"3:	fence rw, rw\n"
	"	la sp, tinytx_rv32_smp_stacks\n"
	"	li t0, " TINYTX_STR(TINYTX_RV32_SMP_STACK) "\n"
	"	mul t0, t0, a0\n" /* hart h (>= 1) owns block h-1: its top is h * size */
	"	add sp, sp, t0\n"
	"	call tinytx_rv32_smp_worker\n"
	"	j 0b\n"
	"	.size _start, . - _start\n"
	"\n"
	"	.text\n"
	"	.balign 4\n"
	"	.globl tinytx_rv32_trap_entry\n"
	"tinytx_rv32_trap_entry:\n"
	"	csrr a0, mcause\n"
	"	csrr a1, mepc\n"
	"	csrr a2, mtval\n"
	"	csrr a3, mhartid\n"
	"	call tinytx_rv32_trap\n"
	"4:	wfi\n"
	"	j 4b\n");
