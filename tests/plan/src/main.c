/*
 * tinytx_plan_canary: proof that a memory plan is real.
 *
 * Reads a plan-case file (written by tinytx.toolchain.canary; path from the semihosting
 * arguments). Each case is one planned attention block: its weights and input, the
 * golden output, the planner's arena size and a list of kernel calls whose buffers are
 * offsets into the arena. For each case and each of two canary bytes (0xA5, 0x5A) the
 * program fills a guard zone, the arena and everything after it with the canary, copies
 * the inputs to their offsets, runs the calls, checks the output against the golden
 * model and reports the high-water mark: one past the highest byte that differs from the
 * canary. A byte the block writes differs from at least one of the two canaries, so the
 * larger of the two marks is exactly the end of the highest byte the block touched.
 *
 *   CASE id=<n> planned=<bytes> highwater=<bytes> match=<0|1> guard=<0|1> status=<s>
 *
 * guard=1: no byte before the arena changed. No byte after the arena changed iff
 * highwater <= planned. Exit 0 iff every case matched with highwater == planned.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tinytx/tinytx.h"

#define PLAN_MAGIC 0x4C505454u /* "TTPL" */
#define PLAN_VERSION 1u
#define GUARD 256u
#ifndef ARENA_CAPACITY
#define ARENA_CAPACITY (1024u * 1024u)
#endif
#define MAX_BLOBS 16u
#define MAX_OPS 16u
#define MAX_ARGS 32u
#define MAX_COPIES 4u

enum { OP_LINEAR = 1, OP_QK_SOFTMAX = 2, OP_AV = 3, OP_MHSA_DFT = 4, OP_FWSA_DFT = 5 };

static uint8_t region[GUARD + ARENA_CAPACITY + GUARD] __attribute__((aligned(16)));
static uint8_t *const arena = region + GUARD;

typedef struct {
	uint32_t opcode, n_args;
	int32_t args[MAX_ARGS];
} plan_op;

typedef struct {
	uint32_t id, planned, n_blobs, n_copies, n_ops, out_offset, out_len, expected;
	void *blob[MAX_BLOBS];
	uint32_t blob_len[MAX_BLOBS];
	uint32_t copy[MAX_COPIES][2]; /* blob, arena offset */
	plan_op op[MAX_OPS];
} plan_case;

static int read_u32(FILE *f, uint32_t *v)
{
	uint8_t b[4];
	if (fread(b, 1, 4, f) != 4) {
		return 0;
	}
	*v = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
	return 1;
}

static int read_case(FILE *f, plan_case *c)
{
	memset(c, 0, sizeof(*c));
	if (!read_u32(f, &c->id) || !read_u32(f, &c->planned) || !read_u32(f, &c->n_blobs) ||
	    !read_u32(f, &c->n_copies) || !read_u32(f, &c->n_ops) || !read_u32(f, &c->out_offset) ||
	    !read_u32(f, &c->out_len) || !read_u32(f, &c->expected)) {
		return 0;
	}
	if (c->n_blobs > MAX_BLOBS || c->n_copies > MAX_COPIES || c->n_ops > MAX_OPS ||
	    c->expected >= c->n_blobs || c->planned > ARENA_CAPACITY ||
	    c->out_offset + c->out_len > c->planned) {
		return 0;
	}
	for (uint32_t i = 0; i < c->n_blobs; i++) {
		uint32_t len;
		if (!read_u32(f, &len)) {
			return 0;
		}
		c->blob_len[i] = len;
		c->blob[i] = malloc(len + 4u);
		if (c->blob[i] == NULL || fread(c->blob[i], 1, len, f) != len) {
			return 0;
		}
		uint8_t pad[3];
		uint32_t npad = (4u - (len & 3u)) & 3u;
		if (npad != 0 && fread(pad, 1, npad, f) != npad) {
			return 0;
		}
	}
	for (uint32_t i = 0; i < c->n_copies; i++) {
		if (!read_u32(f, &c->copy[i][0]) || !read_u32(f, &c->copy[i][1]) ||
		    c->copy[i][0] >= c->n_blobs ||
		    c->copy[i][1] + c->blob_len[c->copy[i][0]] > c->planned) {
			return 0;
		}
	}
	for (uint32_t i = 0; i < c->n_ops; i++) {
		plan_op *op = &c->op[i];
		if (!read_u32(f, &op->opcode) || !read_u32(f, &op->n_args) || op->n_args > MAX_ARGS) {
			return 0;
		}
		for (uint32_t a = 0; a < op->n_args; a++) {
			uint32_t v;
			if (!read_u32(f, &v)) {
				return 0;
			}
			op->args[a] = (int32_t)v;
		}
	}
	return 1;
}

static void free_case(plan_case *c)
{
	for (uint32_t i = 0; i < MAX_BLOBS; i++) {
		free(c->blob[i]);
		c->blob[i] = NULL;
	}
}

/* A blob argument: index or -1 for NULL. */
static const void *blob(const plan_case *c, int32_t index)
{
	return index < 0 || (uint32_t)index >= c->n_blobs ? NULL : c->blob[index];
}

static void *at(int32_t offset)
{
	return arena + offset;
}

/*
 * The scratch at arena offset `offset` as a context of the kernel's own size (need < 0:
 * the kernel reports the bad dims itself). The canary measures what the kernels touch.
 */
static tinytx_context scratch_at(int32_t offset, int32_t need)
{
	const tinytx_context ctx = {at(offset), need < 0 ? 0 : need};
	return ctx;
}

static int run_op(const plan_case *c, const plan_op *op)
{
	const int32_t cores = (int32_t)tinytx_parallel_num_cores();
	const int32_t *a = op->args;
	switch (op->opcode) {
	case OP_LINEAR: {
		if (op->n_args != 13) {
			return -100;
		}
		tinytx_linear_dims d = {a[0], a[1], a[2], a[3], (tinytx_layout)a[4]};
		tinytx_linear_params p = {{a[5], a[6], 0}, {a[7], a[8]}, NULL, NULL};
		return tinytx_linear_s8(&d, &p, at(a[9]), blob(c, a[10]), blob(c, a[11]), at(a[12]));
	}
	case OP_QK_SOFTMAX: {
		if (op->n_args != 11) {
			return -100;
		}
		tinytx_attention_dims d = {a[0], a[1], a[2], a[3], a[4]};
		tinytx_requant rq = {a[5], a[6], 0};
		const tinytx_context ctx =
			scratch_at(a[10], tinytx_qk_softmax_s8_get_buffer_size(&d, cores));
		return tinytx_qk_softmax_s8(&d, rq, at(a[7]), at(a[8]), at(a[9]), &ctx);
	}
	case OP_AV: {
		if (op->n_args != 10) {
			return -100;
		}
		tinytx_attention_dims d = {a[0], a[1], a[2], a[3], a[4]};
		tinytx_requant rq = {a[5], a[6], 0};
		return tinytx_av_s8(&d, rq, at(a[7]), at(a[8]), at(a[9]));
	}
	case OP_MHSA_DFT: {
		if (op->n_args != 28) {
			return -100;
		}
		tinytx_mhsa_dims d = {a[0], a[1], a[2], a[3]};
		tinytx_mhsa_params p = {{a[5], a[6], 0},   {a[7], a[8], 0},   {a[9], a[10], 0},
					{a[11], a[12], 0}, {a[13], a[14], 0}, {a[15], a[16], 0}};
		tinytx_mhsa_weights w = {blob(c, a[17]), blob(c, a[18]), blob(c, a[19]),
					 blob(c, a[20]), blob(c, a[21]), blob(c, a[22]),
					 blob(c, a[23]), blob(c, a[24]), {NULL, NULL},
					 {NULL, NULL},	 {NULL, NULL},	 {NULL, NULL}};
		const tinytx_context ctx =
			scratch_at(a[27], tinytx_mhsa_dft_s8_get_buffer_size(&d, a[4], cores));
		return tinytx_mhsa_dft_s8(&d, a[4], &p, &w, at(a[25]), at(a[26]), &ctx);
	}
	case OP_FWSA_DFT: {
		if (op->n_args != 24) {
			return -100;
		}
		tinytx_mhsa_dims d = {a[0], a[1], a[2], a[3]};
		tinytx_fwsa_params p = {
			{a[5], a[6], 0},   {a[7], a[8], 0},   {a[9], a[10], 0},
			{a[11], a[12], 0}, {a[13], a[14], 0}};
		tinytx_fwsa_weights w = {blob(c, a[15]), blob(c, a[16]), blob(c, a[17]),
					 blob(c, a[18]), blob(c, a[19]), blob(c, a[20])};
		const tinytx_context ctx =
			scratch_at(a[23], tinytx_fwsa_dft_s8_get_buffer_size(&d, a[4], cores));
		return tinytx_fwsa_dft_s8(&d, a[4], &p, &w, at(a[21]), at(a[22]), &ctx);
	}
	default:
		return -101;
	}
}

/* One run with canary byte `fill`; returns the high-water mark, sets *match, *guard_ok. */
static uint32_t run_case(const plan_case *c, uint8_t fill, int *match, int *guard_ok,
			 int *status)
{
	memset(region, fill, sizeof(region));
	for (uint32_t i = 0; i < c->n_copies; i++) {
		memcpy(arena + c->copy[i][1], c->blob[c->copy[i][0]], c->blob_len[c->copy[i][0]]);
	}
	*status = 0;
	for (uint32_t i = 0; i < c->n_ops && *status == 0; i++) {
		*status = run_op(c, &c->op[i]);
	}
	*match = *status == 0 && c->out_len == c->blob_len[c->expected] &&
		 memcmp(arena + c->out_offset, c->blob[c->expected], c->out_len) == 0;
	*guard_ok = 1;
	for (uint32_t i = 0; i < GUARD; i++) {
		if (region[i] != fill) {
			*guard_ok = 0;
		}
	}
	uint32_t hw = ARENA_CAPACITY + GUARD;
	while (hw > 0 && arena[hw - 1] == fill) {
		hw--;
	}
	return hw;
}

int main(int argc, char **argv)
{
	printf("tinytx-plan-canary capacity=%lu\n", (unsigned long)ARENA_CAPACITY);
	if (argc < 2) {
		printf("ERROR usage: tinytx_plan_canary <cases.bin>\n");
		return 2;
	}
	FILE *f = fopen(argv[argc - 1], "rb");
	uint32_t magic = 0, version = 0, count = 0;
	if (f == NULL || !read_u32(f, &magic) || !read_u32(f, &version) || !read_u32(f, &count) ||
	    magic != PLAN_MAGIC || version != PLAN_VERSION) {
		printf("ERROR %s is not a plan-case file\n", argv[argc - 1]);
		return 2;
	}
	int failed = 0;
	for (uint32_t n = 0; n < count; n++) {
		static plan_case c;
		if (!read_case(f, &c)) {
			printf("ERROR malformed case %lu\n", (unsigned long)n);
			free_case(&c);
			fclose(f);
			return 2;
		}
		int match = 1, guard_ok = 1, status = 0;
		uint32_t hw = 0;
		static const uint8_t fills[2] = {0xA5u, 0x5Au};
		for (int i = 0; i < 2; i++) {
			int m, g, s;
			uint32_t h = run_case(&c, fills[i], &m, &g, &s);
			hw = h > hw ? h : hw;
			match &= m;
			guard_ok &= g;
			status = status != 0 ? status : s;
		}
		printf("CASE id=%lu planned=%lu highwater=%lu match=%d guard=%d status=%d\n",
		       (unsigned long)c.id, (unsigned long)c.planned, (unsigned long)hw, match,
		       guard_ok, status);
		failed += !(match && guard_ok && hw == c.planned);
		free_case(&c);
	}
	fclose(f);
	printf("TOTAL cases=%lu failed=%d\n", (unsigned long)count, failed);
	return failed == 0 ? 0 : 1;
}
