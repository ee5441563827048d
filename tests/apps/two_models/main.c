/*
 * Two converted models in one bare-metal application (tests/python/test_two_models.py):
 * radar (tinytx convert --name radar) and ecg (--name ecg), each with its own arena,
 * run on every test input of each. Only the generated headers' names are used: their
 * symbols and macros must not collide, their shape macros must describe their inputs.
 * Prints the lines tinytx.toolchain.firmware.parse_console reads; exits 1 on a mismatch.
 */
#include <stdint.h>
#include <stdio.h>

#include "ecg_test_data.h"
#include "radar_test_data.h"

#if TINYTX_RADAR_INPUT_N * TINYTX_RADAR_INPUT_H * TINYTX_RADAR_INPUT_W * TINYTX_RADAR_INPUT_C != \
	TINYTX_RADAR_INPUT_SIZE
#error "radar: the input's axis macros do not multiply to its size"
#endif
#if TINYTX_ECG_INPUT_DIM0 * TINYTX_ECG_INPUT_DIM1 * TINYTX_ECG_INPUT_DIM2 * TINYTX_ECG_INPUT_DIM3 != \
	TINYTX_ECG_INPUT_SIZE
#error "ecg: the input's dimension macros do not multiply to its size"
#endif

typedef tinytx_status (*run_fn)(const int8_t *in, int8_t *out, uint8_t *arena);

typedef struct {
	const char *name;
	run_fn run;
	const int8_t *inputs;
	int32_t input_size;
	const int8_t *expected;
	int8_t *output;
	int32_t output_size;
	int32_t count;
	uint8_t *arena;
} model_case;

TINYTX_RADAR_ARENA(radar_arena);
TINYTX_ECG_ARENA(ecg_arena);
static int8_t radar_output[TINYTX_RADAR_OUTPUT_SIZE];
static int8_t ecg_output[TINYTX_ECG_OUTPUT_SIZE];

static int32_t argmax(const int8_t *v, int32_t n)
{
	int32_t best = 0;
	int32_t i;

	for (i = 1; i < n; i++) {
		if (v[i] > v[best]) {
			best = i;
		}
	}
	return best;
}

/* Runs every test input of one model; returns the number of mismatching outputs. */
static int32_t run_model(const model_case *m)
{
	int32_t wrong = 0;
	int32_t i, j;

	printf("%s: %ld test inputs, two models in one firmware\n", m->name, (long)m->count);
	for (i = 0; i < m->count; i++) {
		const tinytx_status st = m->run(m->inputs + i * m->input_size, m->output, m->arena);
		const int8_t *want = m->expected + i * m->output_size;
		int32_t same = st == TINYTX_OK;

		printf("input %ld: class %ld status %d out", (long)i,
		       (long)argmax(m->output, m->output_size), (int)st);
		for (j = 0; j < m->output_size; j++) {
			printf(" %d", (int)m->output[j]);
			same = same && m->output[j] == want[j];
		}
		printf("\n");
		wrong += same ? 0 : 1;
	}
	printf("%s: %ld of %ld outputs equal the golden model\n", m->name, (long)(m->count - wrong),
	       (long)m->count);
	return wrong;
}

int main(void)
{
	static const model_case models[2] = {
		{"radar", tinytx_radar_run, tinytx_radar_test_inputs, TINYTX_RADAR_INPUT_SIZE,
		 tinytx_radar_test_expected, radar_output, TINYTX_RADAR_OUTPUT_SIZE,
		 TINYTX_RADAR_TEST_COUNT, radar_arena},
		{"ecg", tinytx_ecg_run, tinytx_ecg_test_inputs, TINYTX_ECG_INPUT_SIZE,
		 tinytx_ecg_test_expected, ecg_output, TINYTX_ECG_OUTPUT_SIZE, TINYTX_ECG_TEST_COUNT,
		 ecg_arena},
	};
	int32_t wrong = 0;
	int32_t k;

	for (k = 0; k < 2; k++) {
		wrong += run_model(&models[k]);
	}
	printf(wrong == 0 ? "BOTH MATCH\n" : "MISMATCH\n");
	return wrong == 0 ? 0 : 1;
}
