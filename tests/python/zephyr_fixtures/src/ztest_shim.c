/*
 * Runner of the ztest stand-in (include/zephyr/ztest.h). With picolibc it also prints
 * how far the heap grew ("HEAP peak=<bytes>", from sbrk), which tinytx's CI compares
 * with the malloc arena the Zephyr build configures.
 */
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#if defined(__PICOLIBC__)
#include <unistd.h>
extern char __heap_start[];
#endif

#include <zephyr/ztest.h>

#define SHIM_MAX_TESTS 64

struct shim_test {
	const char *suite;
	const char *name;
	ztest_shim_test_fn fn;
};

static struct shim_test tests[SHIM_MAX_TESTS];
static int n_tests, n_suites, suite_has_hooks, overflow;
/* Outside main: longjmp would leave locals of main indeterminate. */
static int passed, failed;
static jmp_buf test_exit;

void ztest_shim_register_test(const char *suite, const char *name, ztest_shim_test_fn fn)
{
	if (n_tests == SHIM_MAX_TESTS) {
		overflow = 1;
		return;
	}
	tests[n_tests].suite = suite;
	tests[n_tests].name = name;
	tests[n_tests].fn = fn;
	n_tests++;
}

void ztest_shim_register_suite(const char *suite, int has_hooks)
{
	(void)suite;
	n_suites++;
	suite_has_hooks |= has_hooks;
}

void ztest_shim_fail(const char *file, int line, const char *what)
{
	(void)file;
	(void)line;
	(void)what;
	longjmp(test_exit, 1);
}

int main(void)
{
	if (overflow || n_suites != 1 || suite_has_hooks) {
		printf("ERROR ztest stand-in: %d suites (1 without hooks expected), %d tests%s\n",
		       n_suites, n_tests, overflow ? " (too many)" : "");
		return 2;
	}
	printf("Running TESTSUITE %s\n", n_tests ? tests[0].suite : "?");
	for (int i = 0; i < n_tests; i++) {
		printf("START - %s\n", tests[i].name);
		if (setjmp(test_exit) == 0) {
			tests[i].fn();
			printf(" PASS - %s\n", tests[i].name);
			passed++;
		} else {
			printf(" FAIL - %s\n", tests[i].name);
			failed++;
		}
	}
	printf("SUMMARY tests=%d passed=%d failed=%d\n", n_tests, passed, failed);
#if defined(__PICOLIBC__)
	printf("HEAP peak=%ld\n", (long)((char *)sbrk(0) - __heap_start));
#endif
	printf("PROJECT EXECUTION %s\n", failed || n_tests == 0 ? "FAILED" : "SUCCESSFUL");
	return failed || n_tests == 0 ? 1 : 0;
}
