/*
 * C runtime of the RV32 SMP port on hart 0 (in place of picolibc's crt0, which every
 * hart would run): initialized data, .bss, TLS and constructors as picolibc's linker
 * script lays them out, argv from the semihosting command line, main(), exit().
 * _exit() leaves through QEMU virt's test device, so the exit code comes back as
 * QEMU's, as with semihosting. Also the trap report and the UART writer.
 */
#include <picolibc.h> /* PICOLIBC_TLS, which <picotls.h> needs */
#include <picotls.h>
#include <semihost.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tinytx_port/rv32_smp.h"

#define TEST_DEVICE 0x00100000u /* sifive_test: 0x5555 pass, (code << 16) | 0x3333 fail */
#define UART_BASE 0x10000000u
#define UART_LSR 5u
#define UART_LSR_THRE 0x20u
#define MAX_ARGS 32
#define CMDLINE_BYTES 1024

/* Symbols of picolibc's linker script (picolibc.ld). */
extern char __data_start[], __data_source[], __data_size[];
extern char __bss_start[], __bss_size[];
extern char __tls_base[];
extern void __libc_init_array(void);
extern int main(int argc, char **argv);

void tinytx_rv32_smp_cstart(const void *fdt) __attribute__((noreturn, used));
/* The device tree QEMU passed to hart 0 (rv32_smp_parallel.c counts its cpu nodes). */
extern const void *tinytx_rv32_smp_fdt;
void tinytx_rv32_trap(uint32_t mcause, uint32_t mepc, uint32_t mtval, uint32_t hart)
	__attribute__((noreturn, used));

void _exit(int status)
{
	volatile uint32_t *finisher = (volatile uint32_t *)TEST_DEVICE;
	*finisher = status == 0 ? 0x5555u : (((uint32_t)status & 0xffffu) << 16) | 0x3333u;
	for (;;) {
		__asm__ volatile("wfi");
	}
}

void tinytx_rv32_uart_write(const char *s)
{
	volatile uint8_t *uart = (volatile uint8_t *)UART_BASE;
	for (; *s != '\0'; s++) {
		while ((uart[UART_LSR] & UART_LSR_THRE) == 0) {
		}
		uart[0] = (uint8_t)*s;
	}
}

static char *put_hex(char *p, uint32_t v)
{
	for (int shift = 28; shift >= 0; shift -= 4) {
		*p++ = "0123456789abcdef"[(v >> shift) & 0xfu];
	}
	return p;
}

void tinytx_rv32_trap(uint32_t mcause, uint32_t mepc, uint32_t mtval, uint32_t hart)
{
	char msg[96];
	char *p = msg;
	const char *head = "tinytx rv32_smp: trap on hart ";
	while (*head != '\0') {
		*p++ = *head++;
	}
	*p++ = (char)('0' + (hart % 10u));
	const char *parts[3] = {" mcause=0x", " mepc=0x", " mtval=0x"};
	const uint32_t values[3] = {mcause, mepc, mtval};
	for (int i = 0; i < 3; i++) {
		for (const char *s = parts[i]; *s != '\0'; s++) {
			*p++ = *s;
		}
		p = put_hex(p, values[i]);
	}
	*p++ = '\n';
	*p = '\0';
	tinytx_rv32_uart_write(msg);
	sys_semihost_write0(msg);
	_exit(3);
}

static int split_args(char *line, char **argv)
{
	int argc = 0;
	char *p = line;
	while (*p != '\0' && argc < MAX_ARGS - 1) {
		while (*p == ' ') {
			p++;
		}
		if (*p == '\0') {
			break;
		}
		argv[argc++] = p;
		while (*p != '\0' && *p != ' ') {
			p++;
		}
		if (*p == ' ') {
			*p++ = '\0';
		}
	}
	argv[argc] = NULL;
	return argc;
}

void tinytx_rv32_smp_cstart(const void *fdt)
{
	static char cmdline[CMDLINE_BYTES];
	static char *argv[MAX_ARGS];
	memcpy(__data_start, __data_source, (size_t)(uintptr_t)__data_size);
	memset(__bss_start, 0, (size_t)(uintptr_t)__bss_size);
	tinytx_rv32_smp_fdt = fdt; /* after .bss is cleared */
	_set_tls(__tls_base);
	__libc_init_array();
	int argc = 0;
	if (sys_semihost_get_cmdline(cmdline, (int)sizeof(cmdline)) == 0) {
		argc = split_args(cmdline, argv);
	}
	exit(main(argc, argv));
}
