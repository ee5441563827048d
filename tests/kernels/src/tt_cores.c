#include "tt_cores.h"

#include <stdio.h>
#include <string.h>

#include "tinytx/parallel.h"

#ifndef TT_DEFAULT_CORES
#define TT_DEFAULT_CORES "1"
#endif

#ifdef TINYTX_PARALLEL_PORT_RV32_SMP
#include "tinytx_port/rv32_smp.h"
#define TT_PORT "rv32_smp"
static int set_cores(uint32_t n)
{
	return tinytx_rv32_smp_set_harts(n);
}
static uint32_t available_cores(void)
{
	return tinytx_rv32_smp_available_harts();
}
#else
#define TT_PORT "serial"
static int set_cores(uint32_t n)
{
	return tinytx_parallel_serial_set_cores(n);
}
static uint32_t available_cores(void)
{
	return TINYTX_PARALLEL_SERIAL_MAX_CORES;
}
#endif

static uint32_t configs[TT_MAX_CORE_CONFIGS];
static uint32_t n_configs;

static int parse_list(const char *s)
{
	n_configs = 0;
	while (*s != '\0') {
		uint32_t v = 0;
		int digits = 0;
		while (*s >= '0' && *s <= '9' && digits < 4) {
			v = v * 10u + (uint32_t)(*s++ - '0');
			digits++;
		}
		if (digits == 0 || v == 0 || v > available_cores() || n_configs == TT_MAX_CORE_CONFIGS) {
			return -1;
		}
		configs[n_configs++] = v;
		if (*s == ',' || *s == ':') { /* ':' passes QEMU's option parser unescaped */
			s++;
		} else if (*s != '\0') {
			return -1;
		}
	}
	return n_configs > 0 ? 0 : -1;
}

int tt_cores_parse(int argc, char **argv)
{
	const char *list = TT_DEFAULT_CORES;
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--cores=", 8) == 0) {
			list = argv[i] + 8;
		}
	}
	return parse_list(list);
}

void tt_cores_print(void)
{
	printf("CORES port=%s list=", TT_PORT);
	for (uint32_t i = 0; i < n_configs; i++) {
		printf(i == 0 ? "%lu" : ",%lu", (unsigned long)configs[i]);
	}
	printf(" available=%lu\n", (unsigned long)available_cores());
}

void tt_cores_run(tt_test_fn test, const tt_case *c, tt_result *r)
{
	for (uint32_t i = 0; i < n_configs && !r->failed; i++) {
		if (set_cores(configs[i]) != 0) {
			tt_fail(r, "cannot use %lu cores", (unsigned long)configs[i]);
			return;
		}
		test(c, r);
		if (r->failed) {
			size_t len = strlen(r->msg);
			snprintf(r->msg + len, sizeof(r->msg) - len, " cores=%lu",
				 (unsigned long)configs[i]);
		}
	}
}

void tt_cores_reset(void)
{
	(void)set_cores(1);
}
