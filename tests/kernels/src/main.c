/*
 * tinytx kernel test runner: the same body on host, QEMU Cortex-M4/M7 and RV32.
 * Usage: tinytx_kernel_tests <vectors.bin>  (on QEMU the path comes through
 * semihosting arguments). Prints one SUMMARY line per kernel and a TOTAL line;
 * exits 0 only when every case matched the golden model.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tt_case.h"
#include "tt_cores.h"

#ifndef TT_TARGET_NAME
#define TT_TARGET_NAME "unknown"
#endif

static const tt_test_fn tests[TT_KERNEL_COUNT] = {
	NULL,
	tt_test_linear,
	tt_test_qk_softmax,
	tt_test_av,
	tt_test_mhsa,
	tt_test_fwsa,
	tt_test_layernorm,
	tt_test_gelu,
	tt_test_add,
	tt_test_mhsa_dft,
	tt_test_conv2d,
	tt_test_depthwise_conv2d,
	tt_test_maxpool2d,
	tt_test_avgpool2d,
	tt_test_mean_rows,
	tt_test_fwsa_dft,
	tt_test_lut,
	tt_test_linear_sparse,
	tt_test_conv2d_sparse,
	tt_test_gather,
	tt_test_mul,
	tt_test_conv2d_general,
	tt_test_layernorm_steps,
	tt_test_attention_steps,
};

int main(int argc, char **argv)
{
	unsigned long passed[TT_KERNEL_COUNT] = {0};
	unsigned long failed[TT_KERNEL_COUNT] = {0};
	unsigned long total_pass = 0, total_fail = 0;

	printf("tinytx-kernel-tests target=%s\n", TT_TARGET_NAME);
	if (argc < 2) {
		printf("ERROR usage: tinytx_kernel_tests <vectors.bin>\n");
		return 2;
	}
	if (tt_cores_parse(argc, argv) != 0) {
		printf("ERROR bad --cores list (1..available cores, comma-separated)\n");
		return 2;
	}
	tt_cores_print();
	const char *path = argv[argc - 1];
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		printf("ERROR cannot open %s\n", path);
		return 2;
	}
	long count = tt_open(f);
	if (count < 0) {
		printf("ERROR %s is not a tinytx vector file (bad magic or version)\n", path);
		fclose(f);
		return 2;
	}
	for (long n = 0; n < count; n++) {
		tt_case c;
		tt_result r = {0, ""};
		if (!tt_read_case(f, &c)) {
			printf("ERROR malformed record %ld in %s\n", n, path);
			tt_free_case(&c);
			fclose(f);
			return 2;
		}
		if (c.kernel == 0 || c.kernel >= TT_KERNEL_COUNT) {
			tt_fail(&r, "unknown kernel id %lu", (unsigned long)c.kernel);
			c.kernel = 0;
		} else {
			tt_cores_run(tests[c.kernel], &c, &r);
		}
		if (r.failed) {
			failed[c.kernel]++;
			printf("FAIL kernel=%s case=%lu %s\n", tt_kernel_name(c.kernel),
			       (unsigned long)c.id, r.msg);
		} else {
			passed[c.kernel]++;
		}
		tt_free_case(&c);
	}
	fclose(f);

	for (uint32_t k = 1; k < TT_KERNEL_COUNT; k++) {
		printf("SUMMARY kernel=%s passed=%lu failed=%lu\n", tt_kernel_name(k), passed[k],
		       failed[k]);
		total_pass += passed[k];
		total_fail += failed[k] + (k == 1 ? failed[0] : 0);
	}
	int checks = 0;
	tt_cores_reset();
	int vfail = tt_run_validation(&checks);
	printf("SUMMARY kernel=validation passed=%d failed=%d\n", checks - vfail, vfail);
	total_pass += (unsigned long)(checks - vfail);
	total_fail += (unsigned long)vfail;
	printf("TOTAL passed=%lu failed=%lu\n", total_pass, total_fail);
	return total_fail == 0 ? 0 : 1;
}
