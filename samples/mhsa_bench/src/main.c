/*
 * mhsa_bench: one int8 multi-head self-attention block on the target.
 * The model data (weights, input, the golden model's expected output) comes from
 * the generated mhsa_bench_data.c (`tinytx demo` writes it). The program runs the
 * block, compares every output byte with the golden model, and exits 0 on MATCH.
 *
 * Built with TINYTX_WEIGHTS_IMAGE=1 (CMake -DTINYTX_WEIGHTS_IMAGE=ON), it does not link
 * the weights: it reads them from the weight image at TINYTX_WEIGHTS_PARTITION_ADDR
 * (`tinytx weights-hex`) after checking its magic, version, model hash, length and
 * CRC-32, and refuses a bad image with one console line and exit code 3.
 *
 * The same file is the Zephyr application (samples/mhsa_bench/CMakeLists.txt): there the
 * Zephyr port (tinytx_port/zephyr.h) provides the console (printk), the arena's
 * placement (CONFIG_TINYTX_ARENA_PLACEMENT), the weights partition from the devicetree
 * (CONFIG_TINYTX_WEIGHTS_PARTITION) and, with CONFIG_TINYTX_PROFILING, the cycle count
 * of the block ("cycles: <n> (<counter>, <Hz> Hz)"). Zephyr ignores main's return value:
 * the console lines are the verdict (sample.yaml checks them).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if defined(__ZEPHYR__)
#include "tinytx_port/zephyr.h"
#define PRINTF TINYTX_PORT_PRINTF
#define ARENA_ATTR TINYTX_PORT_ARENA_ATTR
#else
#define PRINTF printf
#define ARENA_ATTR __attribute__((aligned(4), section(".bss.tinytx_arena")))
#endif

#include "mhsa_bench_data.h"
#include "tinytx/parallel.h"
#include "tinytx/tinytx.h"

#if defined(TINYTX_WEIGHTS_IMAGE) && TINYTX_WEIGHTS_IMAGE
#include "tinytx_port/weights_image.h"
#ifndef MHSA_BENCH_WEIGHTS_PAYLOAD_BYTES
#error "TINYTX_WEIGHTS_IMAGE: generate mhsa_bench_data with the weights in an image"
#endif
#endif

/*
 * Activations live in one static arena sized at generation time. Its section name is
 * what `tinytx report` counts as the activation arena.
 */
static uint8_t tinytx_arena[MHSA_BENCH_SCRATCH_BYTES] ARENA_ATTR;
static int8_t output[MHSA_BENCH_S * MHSA_BENCH_E];

#if defined(TINYTX_WEIGHTS_IMAGE) && TINYTX_WEIGHTS_IMAGE
static int open_weights(tinytx_mhsa_weights *w)
{
	const uint8_t *base = (const uint8_t *)(uintptr_t)TINYTX_WEIGHTS_PARTITION_ADDR;
	const uint8_t *payload = NULL;
	tinytx_wimg_info info;
	tinytx_wimg_status st =
		tinytx_port_wimg_open(base, TINYTX_WEIGHTS_PARTITION_SIZE, mhsa_bench_model_hash,
				      MHSA_BENCH_WEIGHTS_PAYLOAD_BYTES, &payload, &info);

	if (st != TINYTX_WIMG_OK) {
		PRINTF("ERROR: weights image at 0x%08lx refused: %s", (unsigned long)(uintptr_t)base,
		       tinytx_port_wimg_strerror(st));
		if (st == TINYTX_WIMG_ERR_CRC) {
			PRINTF(": header says 0x%08lx, computed 0x%08lx", (unsigned long)info.crc_stored,
			       (unsigned long)info.crc_computed);
		} else if (st == TINYTX_WIMG_ERR_HASH) {
			PRINTF(": image %02x%02x%02x%02x..., firmware expects %02x%02x%02x%02x...",
			       info.hash[0], info.hash[1], info.hash[2], info.hash[3],
			       mhsa_bench_model_hash[0], mhsa_bench_model_hash[1],
			       mhsa_bench_model_hash[2], mhsa_bench_model_hash[3]);
		} else if (st == TINYTX_WIMG_ERR_LENGTH) {
			PRINTF(": image %lu bytes, model %lu", (unsigned long)info.payload_bytes,
			       (unsigned long)MHSA_BENCH_WEIGHTS_PAYLOAD_BYTES);
		} else if (st == TINYTX_WIMG_ERR_VERSION) {
			PRINTF(": version %lu, header %lu bytes", (unsigned long)info.version,
			       (unsigned long)info.header_bytes);
		}
		PRINTF("\n");
		return 3;
	}
	memset(w, 0, sizeof(*w)); /* no per-channel tables: per-tensor factors */
	w->wq = (const int8_t *)(const void *)(payload + MHSA_BENCH_WQ_OFFSET);
	w->bq = (const int32_t *)(const void *)(payload + MHSA_BENCH_BQ_OFFSET);
	w->wk = (const int8_t *)(const void *)(payload + MHSA_BENCH_WK_OFFSET);
	w->bk = (const int32_t *)(const void *)(payload + MHSA_BENCH_BK_OFFSET);
	w->wv = (const int8_t *)(const void *)(payload + MHSA_BENCH_WV_OFFSET);
	w->bv = (const int32_t *)(const void *)(payload + MHSA_BENCH_BV_OFFSET);
	w->wo = (const int8_t *)(const void *)(payload + MHSA_BENCH_WO_OFFSET);
	w->bo = (const int32_t *)(const void *)(payload + MHSA_BENCH_BO_OFFSET);
	PRINTF("weights: image at 0x%08lx, %lu bytes, model hash and CRC32 0x%08lx ok\n",
	       (unsigned long)(uintptr_t)base, (unsigned long)info.payload_bytes,
	       (unsigned long)info.crc_computed);
	return 0;
}
#else
static int open_weights(tinytx_mhsa_weights *w)
{
	*w = mhsa_bench_weights;
	return 0;
}
#endif

int main(void)
{
	const tinytx_mhsa_dims dims = {MHSA_BENCH_S, MHSA_BENCH_E, MHSA_BENCH_H, MHSA_BENCH_P};
	const int32_t need = tinytx_mhsa_s8_get_buffer_size(
		&dims, (int32_t)tinytx_parallel_num_cores());
	tinytx_mhsa_weights weights;

	PRINTF("mhsa_bench: S=%d E=%d H=%d P=%d, arena %ld bytes\n", MHSA_BENCH_S, MHSA_BENCH_E,
	       MHSA_BENCH_H, MHSA_BENCH_P, (long)sizeof(tinytx_arena));
	if (need < 0 || need > (int32_t)sizeof(tinytx_arena)) { /* sized for either variant */
		PRINTF("ERROR: kernel needs %ld scratch bytes, the arena has %ld\n", (long)need,
		       (long)sizeof(tinytx_arena));
		return 2;
	}
	if (open_weights(&weights) != 0) {
		return 3;
	}
#if defined(__ZEPHYR__) && defined(TINYTX_PROFILING)
	tinytx_port_cycles_init();
	const uint32_t start = tinytx_port_cycles();
#endif
	const tinytx_context ctx = {tinytx_arena, (int32_t)sizeof(tinytx_arena)};
	tinytx_status st = tinytx_mhsa_s8(&dims, &mhsa_bench_params, &weights, mhsa_bench_input,
					  output, &ctx);
#if defined(__ZEPHYR__) && defined(TINYTX_PROFILING)
	const uint32_t cycles = tinytx_port_cycles() - start;

	PRINTF("cycles: %lu (%s, %lu Hz)\n", (unsigned long)cycles, tinytx_port_cycles_source(),
	       (unsigned long)tinytx_port_cycles_hz());
#endif
	if (st != TINYTX_OK) {
		PRINTF("ERROR: tinytx_mhsa_s8 returned %d\n", (int)st);
		return 2;
	}
	for (int i = 0; i < MHSA_BENCH_S * MHSA_BENCH_E; i++) {
		if (output[i] != mhsa_bench_expected[i]) {
			PRINTF("MISMATCH at output %d: got %d, golden model %d\n", i, output[i],
			       mhsa_bench_expected[i]);
			return 1;
		}
	}
	PRINTF("MATCH: %d outputs equal the golden model\n", MHSA_BENCH_S * MHSA_BENCH_E);
	return 0;
}
