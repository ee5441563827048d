/*
 * Stand-in for <zephyr/ztest.h> in tinytx's CI: the ztest API the twister suites use
 * (ZTEST_SUITE, ZTEST, zassert_*, TC_PRINT; Zephyr v4.2.0 names and arguments), so that
 * a suite file also builds for the host and for QEMU through module/ports/baremetal.
 * ../../src/ztest_shim.c runs the registered tests in order, prints ztest-like
 * "START - <test>" / " PASS - <test>" / " FAIL - <test>" lines and a summary, and
 * exits 1 if any test failed. ZTEST_SUITE's setup/before/after/teardown hooks must
 * be NULL here (the suites that use the stand-in have none).
 */
#ifndef TINYTX_STUB_ZEPHYR_ZTEST_H
#define TINYTX_STUB_ZEPHYR_ZTEST_H

#include <stddef.h>
#include <stdio.h>

typedef void (*ztest_shim_test_fn)(void);

void ztest_shim_register_test(const char *suite, const char *name, ztest_shim_test_fn fn);
void ztest_shim_register_suite(const char *suite, int has_hooks);
void ztest_shim_fail(const char *file, int line, const char *what);

#define ZTEST(suite, fn)                                                                        \
	static void suite##_##fn(void);                                                         \
	__attribute__((constructor)) static void suite##_##fn##_register(void)                  \
	{                                                                                       \
		ztest_shim_register_test(#suite, #fn, suite##_##fn);                            \
	}                                                                                       \
	static void suite##_##fn(void)

#define ZTEST_SUITE(suite, predicate, setup, before, after, teardown)                          \
	__attribute__((constructor)) static void suite##_suite_register(void)                   \
	{                                                                                       \
		ztest_shim_register_suite(#suite, (predicate) != NULL || (setup) != NULL ||     \
							  (before) != NULL || (after) != NULL ||        \
							  (teardown) != NULL);                          \
	}

#define TC_PRINT(...) printf(__VA_ARGS__)

#define zassert_true(cond, ...)                                                                 \
	do {                                                                                    \
		if (!(cond)) {                                                                  \
			printf("    Assertion failed at %s:%d: %s: ", __FILE__, __LINE__, #cond);   \
			printf(__VA_ARGS__);                                                    \
			printf("\n");                                                           \
			ztest_shim_fail(__FILE__, __LINE__, #cond);                             \
		}                                                                               \
	} while (0)
#define zassert_false(cond, ...) zassert_true(!(cond), __VA_ARGS__)
#define zassert_equal(a, b, ...) zassert_true((a) == (b), __VA_ARGS__)
#define zassert_not_null(ptr, ...) zassert_true((ptr) != NULL, __VA_ARGS__)
#define zassert_unreachable(...) zassert_true(0, __VA_ARGS__)

#endif /* TINYTX_STUB_ZEPHYR_ZTEST_H */
