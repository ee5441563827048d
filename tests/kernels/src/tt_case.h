/*
 * One kernel test case read from a tinytx vector file (written by
 * `tinytx vectors`, format in scripts/tinytx/core/vectors/format.py): integer
 * parameters, input buffers and, last, the golden model's expected output.
 */
#ifndef TT_CASE_H
#define TT_CASE_H

#include <stdint.h>
#include <stdio.h>

#include "tinytx/parallel.h"
#include "tinytx/types.h"

/* The num_cores of a *_get_buffer_size: the cores the kernels run on right now. */
#define TT_NUM_CORES ((int32_t)tinytx_parallel_num_cores())

#define TT_MAX_PARAMS 32
#define TT_MAX_BUFFERS 12

enum tt_kernel {
	TT_KERNEL_LINEAR = 1,
	TT_KERNEL_QK_SOFTMAX = 2,
	TT_KERNEL_AV = 3,
	TT_KERNEL_MHSA = 4,
	TT_KERNEL_FWSA = 5,
	TT_KERNEL_LAYERNORM = 6,
	TT_KERNEL_GELU = 7,
	TT_KERNEL_ADD = 8,
	TT_KERNEL_MHSA_DFT = 9,
	TT_KERNEL_CONV2D = 10,
	TT_KERNEL_DEPTHWISE_CONV2D = 11,
	TT_KERNEL_MAXPOOL2D = 12,
	TT_KERNEL_AVGPOOL2D = 13,
	TT_KERNEL_MEAN_ROWS = 14,
	TT_KERNEL_FWSA_DFT = 15,
	TT_KERNEL_LUT = 16,
	TT_KERNEL_LINEAR_SPARSE = 17,
	TT_KERNEL_CONV2D_SPARSE = 18,
	TT_KERNEL_GATHER = 19,
	TT_KERNEL_MUL = 20,
	TT_KERNEL_CONV2D_GENERAL = 21,
	TT_KERNEL_LAYERNORM_STEPS = 22,
	TT_KERNEL_ATTENTION_STEPS = 23,
	TT_KERNEL_COUNT = 24,
};

typedef struct {
	uint32_t kernel;
	uint32_t id;
	uint32_t n_params;
	int32_t params[TT_MAX_PARAMS];
	uint32_t n_buffers;
	void *buf[TT_MAX_BUFFERS]; /* each its own exact-size allocation; NULL when empty */
	uint32_t len[TT_MAX_BUFFERS];
} tt_case;

/* Test result: a failing test fills msg with what differs. */
typedef struct {
	int failed;
	char msg[200];
} tt_result;

typedef void (*tt_test_fn)(const tt_case *c, tt_result *r);

const char *tt_kernel_name(uint32_t kernel);

/* Opens a vector file and checks its header; returns the case count or -1. */
long tt_open(FILE *f);
/* Reads the next case; 1 on success, 0 at a malformed record. */
int tt_read_case(FILE *f, tt_case *c);
void tt_free_case(tt_case *c);

/* Output buffer with guard bytes after it, to catch overruns on targets without ASan. */
void *tt_alloc_output(uint32_t len);
/* Compares out with the expected (last) buffer and checks the guard; fills r. */
void tt_check_output(const tt_case *c, const void *out, int is_unsigned, tt_result *r);
void tt_free_output(void *out);

void tt_fail(tt_result *r, const char *fmt, ...);

/* One test body per kernel (tests/kernels/src/test_<kernel>.c). */
void tt_test_linear(const tt_case *c, tt_result *r);
void tt_test_qk_softmax(const tt_case *c, tt_result *r);
void tt_test_av(const tt_case *c, tt_result *r);
void tt_test_mhsa(const tt_case *c, tt_result *r);
/* The per-channel tables of an MHSA case (buffer `index`: empty, or the multipliers and
 * shifts of q, k, v and out) into w; 0 when the buffer has the wrong size. */
int tt_mhsa_channels(const tt_case *c, uint32_t index, int32_t hp, int32_t e,
		     tinytx_mhsa_weights *w);
void tt_test_fwsa(const tt_case *c, tt_result *r);
void tt_test_layernorm(const tt_case *c, tt_result *r);
void tt_test_layernorm_steps(const tt_case *c, tt_result *r);
void tt_test_attention_steps(const tt_case *c, tt_result *r);
void tt_test_gelu(const tt_case *c, tt_result *r);
void tt_test_add(const tt_case *c, tt_result *r);
void tt_test_mhsa_dft(const tt_case *c, tt_result *r);
void tt_test_fwsa_dft(const tt_case *c, tt_result *r);
void tt_test_conv2d(const tt_case *c, tt_result *r);
void tt_test_depthwise_conv2d(const tt_case *c, tt_result *r);
void tt_test_maxpool2d(const tt_case *c, tt_result *r);
void tt_test_avgpool2d(const tt_case *c, tt_result *r);
void tt_test_mean_rows(const tt_case *c, tt_result *r);
void tt_test_lut(const tt_case *c, tt_result *r);
void tt_test_linear_sparse(const tt_case *c, tt_result *r);
void tt_test_conv2d_sparse(const tt_case *c, tt_result *r);
void tt_test_gather(const tt_case *c, tt_result *r);
void tt_test_mul(const tt_case *c, tt_result *r);
void tt_test_conv2d_general(const tt_case *c, tt_result *r);

/* Argument-validation checks (no vectors); returns the number of failed checks. */
int tt_run_validation(int *checks);

#endif /* TT_CASE_H */
