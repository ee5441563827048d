/*
 * The shared body of the model samples (tinytx_sample.h). Console lines, one per input:
 *
 *   input <i>: class <c> <name> expected <c'> <name'> <MATCH|MISMATCH> out <v0> <v1> ...
 *
 * then "<name>: <n> of <count> outputs equal the golden model: MATCH" (or MISMATCH); a
 * model that returns an error stops the run with
 *
 *   input <i>: ERROR: the model returned <status> (<name>)   (tinytx_status_name)
 *
 * `tinytx run` parses these lines and checks every output byte again on the host.
 */
#include "tinytx_sample.h"

#include <stddef.h>

static int32_t argmax(const int8_t *v, int32_t n)
{
	int32_t best = 0;

	for (int32_t i = 1; i < n; i++) {
		if (v[i] > v[best]) {
			best = i;
		}
	}
	return best;
}

const char *tinytx_status_name(int status)
{
	switch (status) {
	case TINYTX_OK:
		return "TINYTX_OK";
	case TINYTX_ERR_NULL:
		return "TINYTX_ERR_NULL";
	case TINYTX_ERR_DIMS:
		return "TINYTX_ERR_DIMS";
	case TINYTX_ERR_PARAM:
		return "TINYTX_ERR_PARAM";
	case TINYTX_ERR_SCRATCH:
		return "TINYTX_ERR_SCRATCH";
	case TINYTX_SAMPLE_ERR_CORES:
		return "TINYTX_<NAME>_ERR_CORES";
	default:
		return "unknown status";
	}
}

static const char *class_name(const tinytx_sample *s, int32_t c)
{
	return (s->classes != NULL && c >= 0 && c < s->class_count) ? s->classes[c] : "?";
}

int tinytx_sample_main(const tinytx_sample *s)
{
	int32_t matches = 0;

	TINYTX_SAMPLE_CYCLES_INIT();
	TINYTX_SAMPLE_PRINTF("%s: %ld test inputs, model sha256 %.16s..., arena %ld bytes\n",
			     s->name, (long)s->count, s->model_sha256, (long)s->arena_size);
	for (int32_t i = 0; i < s->count; i++) {
		const int8_t *in = s->inputs + (size_t)i * (size_t)s->input_size;
		const int8_t *want =
			s->expected != NULL ? s->expected + (size_t)i * (size_t)s->output_size : NULL;
		uint32_t t0 = TINYTX_SAMPLE_CYCLES();
		int st = s->run(in, s->output, s->arena);
		uint32_t t1 = TINYTX_SAMPLE_CYCLES();

		if (st != 0) {
			/* the number stays first: scripts read it */
			TINYTX_SAMPLE_PRINTF("input %ld: ERROR: the model returned %d (%s)\n", (long)i, st,
					     tinytx_status_name(st));
			return 2;
		}
		int same = 1;
		for (int32_t j = 0; want != NULL && j < s->output_size; j++) {
			if (s->output[j] != want[j]) {
				same = 0;
			}
		}
		matches += (want != NULL && same) ? 1 : 0;
		int32_t c = argmax(s->output, s->output_size);
		TINYTX_SAMPLE_PRINTF("input %ld: class %ld %s", (long)i, (long)c, class_name(s, c));
		if (want != NULL) {
			int32_t e = argmax(want, s->output_size);
			TINYTX_SAMPLE_PRINTF(" expected %ld %s %s", (long)e, class_name(s, e),
					     same ? "MATCH" : "MISMATCH");
		}
		if (TINYTX_SAMPLE_HAS_CYCLES) {
			TINYTX_SAMPLE_PRINTF(" cycles %lu", (unsigned long)(t1 - t0));
		}
		TINYTX_SAMPLE_PRINTF(" out");
		for (int32_t j = 0; j < s->output_size; j++) {
			TINYTX_SAMPLE_PRINTF(" %d", (int)s->output[j]);
		}
		TINYTX_SAMPLE_PRINTF("\n");
	}
	if (TINYTX_SAMPLE_HAS_CYCLES) {
		TINYTX_SAMPLE_PRINTF("%s: cycles counted by %s\n", s->name, TINYTX_SAMPLE_CYCLES_SOURCE());
	}
	if (s->expected == NULL) {
		TINYTX_SAMPLE_PRINTF("%s: no expected outputs compiled in\n", s->name);
		return 0;
	}
	TINYTX_SAMPLE_PRINTF("%s: %ld of %ld outputs equal the golden model: %s\n", s->name,
			     (long)matches, (long)s->count, matches == s->count ? "MATCH" : "MISMATCH");
	return matches == s->count ? 0 : 1;
}
