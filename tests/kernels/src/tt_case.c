#include "tt_case.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define TT_MAGIC 0x56585454u /* "TTXV" little-endian */
#define TT_VERSION 1u
#define TT_GUARD 16u
#define TT_GUARD_BYTE 0xA5u

static const char *const kernel_names[TT_KERNEL_COUNT] = {
	"?", "linear", "qk_softmax", "av", "mhsa", "fwsa", "layernorm", "gelu", "add", "mhsa_dft",
	"conv2d", "depthwise_conv2d", "maxpool2d", "avgpool2d", "mean_rows",
	"fwsa_dft", "lut", "linear_sparse", "conv2d_sparse", "gather", "mul",
	"conv2d_general", "layernorm_steps", "attention_steps",
};

const char *tt_kernel_name(uint32_t kernel)
{
	return kernel < TT_KERNEL_COUNT ? kernel_names[kernel] : "?";
}

static int read_u32(FILE *f, uint32_t *v)
{
	uint8_t b[4];
	if (fread(b, 1, 4, f) != 4) {
		return 0;
	}
	*v = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
	return 1;
}

long tt_open(FILE *f)
{
	uint32_t magic, version, count;
	if (!read_u32(f, &magic) || !read_u32(f, &version) || !read_u32(f, &count)) {
		return -1;
	}
	if (magic != TT_MAGIC || version != TT_VERSION) {
		return -1;
	}
	return (long)count;
}

int tt_read_case(FILE *f, tt_case *c)
{
	memset(c, 0, sizeof(*c));
	if (!read_u32(f, &c->kernel) || !read_u32(f, &c->id) || !read_u32(f, &c->n_params) ||
	    !read_u32(f, &c->n_buffers)) {
		return 0;
	}
	if (c->n_params > TT_MAX_PARAMS || c->n_buffers > TT_MAX_BUFFERS || c->n_buffers == 0) {
		return 0;
	}
	for (uint32_t i = 0; i < c->n_params; i++) {
		uint32_t v;
		if (!read_u32(f, &v)) {
			return 0;
		}
		c->params[i] = (int32_t)v;
	}
	for (uint32_t i = 0; i < c->n_buffers; i++) {
		uint32_t len;
		if (!read_u32(f, &len)) {
			return 0;
		}
		c->len[i] = len;
		if (len == 0) {
			continue;
		}
		c->buf[i] = malloc(len);
		if (c->buf[i] == NULL || fread(c->buf[i], 1, len, f) != len) {
			return 0;
		}
		uint8_t pad[3];
		uint32_t npad = (4u - (len & 3u)) & 3u;
		if (npad != 0 && fread(pad, 1, npad, f) != npad) {
			return 0;
		}
	}
	return 1;
}

void tt_free_case(tt_case *c)
{
	for (uint32_t i = 0; i < TT_MAX_BUFFERS; i++) {
		free(c->buf[i]);
		c->buf[i] = NULL;
	}
}

void *tt_alloc_output(uint32_t len)
{
	uint8_t *p = malloc((size_t)len + TT_GUARD);
	if (p != NULL) {
		memset(p, 0, len);
		memset(p + len, TT_GUARD_BYTE, TT_GUARD);
	}
	return p;
}

void tt_free_output(void *out)
{
	free(out);
}

void tt_fail(tt_result *r, const char *fmt, ...)
{
	va_list ap;
	r->failed = 1;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
}

void tt_check_output(const tt_case *c, const void *out, int is_unsigned, tt_result *r)
{
	const uint32_t last = c->n_buffers - 1;
	const uint8_t *got = out;
	const uint8_t *exp = c->buf[last];
	for (uint32_t i = 0; i < c->len[last]; i++) {
		if (got[i] != exp[i]) {
			if (is_unsigned) {
				tt_fail(r, "index=%lu got=%u expected=%u", (unsigned long)i, got[i], exp[i]);
			} else {
				tt_fail(r, "index=%lu got=%d expected=%d", (unsigned long)i,
					(int8_t)got[i], (int8_t)exp[i]);
			}
			return;
		}
	}
	for (uint32_t i = 0; i < TT_GUARD; i++) {
		if (got[c->len[last] + i] != TT_GUARD_BYTE) {
			tt_fail(r, "wrote past the end of the output (guard byte %lu)", (unsigned long)i);
			return;
		}
	}
}
