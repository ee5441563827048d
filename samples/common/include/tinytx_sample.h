/*
 * The shared body of the tinytx model samples (radar, eeg, ecg): run a generated model
 * (tinytx convert: model.c/model.h, or <name>.c/.h) on its committed test inputs (test_data.c/.h, with
 * the golden executor's expected outputs), print the predicted class of each input, the
 * arena size and, where the port has a cycle counter, the cycles of each inference.
 *
 * main() is samples/common/src/sample_main.c; a sample's own src/main.c only defines
 * tinytx_sample_name.
 */
#ifndef TINYTX_SAMPLE_H
#define TINYTX_SAMPLE_H

#include <stdint.h>

#include "tinytx/types.h"
#include "tinytx_sample_port.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef tinytx_status (*tinytx_sample_run_fn)(const int8_t *in, int8_t *out, uint8_t *arena);

typedef struct {
	const char *name;           /* sample name, printed first */
	const char *model_sha256;   /* sha256 of the .onnx the model was generated from */
	tinytx_sample_run_fn run;   /* tinytx_<model>_run */
	int32_t input_size;         /* int8 values per input */
	int32_t output_size;        /* int8 values per output (logits) */
	uint8_t *arena;             /* the activation arena, 4-byte aligned */
	int32_t arena_size;         /* its bytes (TINYTX_<MODEL>_ARENA_SIZE) */
	int8_t *output;             /* output_size values */
	const int8_t *inputs;       /* count * input_size values */
	const int8_t *expected;     /* count * output_size values (golden executor), or NULL */
	int32_t count;              /* test inputs */
	const char *const *classes; /* class names, or NULL */
	int32_t class_count;
} tinytx_sample;

/*
 * The status a generated run function returns when the firmware runs its kernels on
 * another number of cores than the model was planned for: every model's
 * TINYTX_<NAME>_ERR_CORES has this value (tinytx convert; a test keeps them equal).
 */
#define TINYTX_SAMPLE_ERR_CORES (-16)

/*
 * The name of a status a kernel or a generated run function returns ("TINYTX_ERR_DIMS",
 * "TINYTX_<NAME>_ERR_CORES"), "unknown status" for any other value. An int, not a
 * tinytx_status: the model's own statuses are outside that enum.
 */
const char *tinytx_status_name(int status);

/* The sample's name (its src/main.c). */
extern const char tinytx_sample_name[];

/*
 * Runs every test input; returns 0 when every output equals the expected one, 1 on a
 * mismatch, 2 when the model returns an error.
 */
int tinytx_sample_main(const tinytx_sample *s);

#ifdef __cplusplus
}
#endif

#endif /* TINYTX_SAMPLE_H */
