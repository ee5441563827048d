/*
 * main() of every model sample. The generated test data header (tinytx convert, next to
 * the model's header) names the model's run function and sizes: test_data.h, or the one
 * the compile definition TINYTX_TEST_DATA_HEADER names (a model converted with --name
 * kws: "kws_test_data.h"). The sample's own src/main.c only defines tinytx_sample_name.
 */
#include <stdint.h>

#ifdef TINYTX_TEST_DATA_HEADER
#include TINYTX_TEST_DATA_HEADER
#else
#include "test_data.h"
#endif
#include "tinytx_sample.h"

#define ARENA_BYTES (TINYTX_TEST_ARENA_SIZE > 0 ? TINYTX_TEST_ARENA_SIZE : 4)

static uint8_t arena[ARENA_BYTES] TINYTX_SAMPLE_ARENA_ATTR;
static int8_t output[TINYTX_TEST_OUTPUT_SIZE];

int main(void)
{
	static const tinytx_sample sample = {
		tinytx_sample_name,
		TINYTX_TEST_SHA256,
		TINYTX_TEST_RUN,
		TINYTX_TEST_INPUT_SIZE,
		TINYTX_TEST_OUTPUT_SIZE,
		arena,
		TINYTX_TEST_ARENA_SIZE,
		output,
		TINYTX_TEST_INPUTS,
		TINYTX_TEST_EXPECTED,
		TINYTX_TEST_COUNT,
		TINYTX_TEST_CLASS_NAMES,
		TINYTX_TEST_CLASSES,
	};

	return tinytx_sample_main(&sample);
}
