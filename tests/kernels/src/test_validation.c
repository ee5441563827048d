/* Impossible arguments must come back as error codes, never as a crash. */
#include <stdio.h>
#include <string.h>

#include "tt_case.h"
#include "tinytx/kernels.h"

static int checks_run;
static int checks_failed;

static void expect(long got, long want, const char *what)
{
	checks_run++;
	if (got != want) {
		checks_failed++;
		printf("FAIL kernel=validation check=\"%s\" got=%ld expected=%ld\n", what, got, want);
	}
}

#define EXPECT(call, want) expect((long)(call), (long)(want), #call)

/* EXPECT inside a loop over tile sizes: the message names the tile size x. */
static void expect_tile(long got, long want, const char *what, int32_t x)
{
	char at[192];
	snprintf(at, sizeof(at), "%s with x=%ld", what, (long)x);
	expect(got, want, at);
}

#define EXPECT_TILE(call, want) expect_tile((long)(call), (long)(want), #call, x)

static int8_t in8[64];
static int8_t out8[64];
static uint8_t probs[64];
static int32_t scratch[512];
static const tinytx_context full = {scratch, (int32_t)sizeof(scratch)};

static void linear_checks(void)
{
	const tinytx_linear_params ok_p = {{1 << 30, 31, 0}, {-128, 127}, NULL, NULL};
	tinytx_linear_params p = ok_p;
	tinytx_linear_dims d = {2, 3, 4, 2, TINYTX_LAYOUT_HEAD_MAJOR};
	EXPECT(tinytx_linear_s8(&d, &p, in8, in8, NULL, out8), TINYTX_OK);
	EXPECT(tinytx_linear_s8(NULL, &p, in8, in8, NULL, out8), TINYTX_ERR_NULL);
	EXPECT(tinytx_linear_s8(&d, NULL, in8, in8, NULL, out8), TINYTX_ERR_NULL);
	EXPECT(tinytx_linear_s8(&d, &p, NULL, in8, NULL, out8), TINYTX_ERR_NULL);
	EXPECT(tinytx_linear_s8(&d, &p, in8, NULL, NULL, out8), TINYTX_ERR_NULL);
	EXPECT(tinytx_linear_s8(&d, &p, in8, in8, NULL, NULL), TINYTX_ERR_NULL);
	d.rows = 0;
	EXPECT(tinytx_linear_s8(&d, &p, in8, in8, NULL, out8), TINYTX_ERR_DIMS);
	d.rows = -5;
	EXPECT(tinytx_linear_s8(&d, &p, in8, in8, NULL, out8), TINYTX_ERR_DIMS);
	d.rows = 2;
	d.in_features = TINYTX_MAX_REDUCTION + 1;
	EXPECT(tinytx_linear_s8(&d, &p, in8, in8, NULL, out8), TINYTX_ERR_DIMS);
	d.in_features = 3;
	d.heads = 3; /* 4 outputs do not split into 3 heads */
	EXPECT(tinytx_linear_s8(&d, &p, in8, in8, NULL, out8), TINYTX_ERR_DIMS);
	d.heads = 0;
	EXPECT(tinytx_linear_s8(&d, &p, in8, in8, NULL, out8), TINYTX_ERR_DIMS);
	d.heads = 2;
	d.rows = 65536;
	d.out_features = 65536; /* rows * N overflows int32 */
	EXPECT(tinytx_linear_s8(&d, &p, in8, in8, NULL, out8), TINYTX_ERR_DIMS);
	d.rows = 2;
	d.out_features = 4;
	d.layout = (tinytx_layout)7;
	EXPECT(tinytx_linear_s8(&d, &p, in8, in8, NULL, out8), TINYTX_ERR_DIMS);
	d.layout = TINYTX_LAYOUT_TOKEN_MAJOR;
	p.requant.shift = 0;
	EXPECT(tinytx_linear_s8(&d, &p, in8, in8, NULL, out8), TINYTX_ERR_PARAM);
	p.requant.shift = 63;
	EXPECT(tinytx_linear_s8(&d, &p, in8, in8, NULL, out8), TINYTX_ERR_PARAM);
	p = ok_p;
	p.requant.multiplier = -1;
	EXPECT(tinytx_linear_s8(&d, &p, in8, in8, NULL, out8), TINYTX_ERR_PARAM);
	p = ok_p;
	p.act.min = 10;
	p.act.max = 5;
	EXPECT(tinytx_linear_s8(&d, &p, in8, in8, NULL, out8), TINYTX_ERR_PARAM);
	p.act.min = -129;
	p.act.max = 127;
	EXPECT(tinytx_linear_s8(&d, &p, in8, in8, NULL, out8), TINYTX_ERR_PARAM);

	/* tinytx_linear_buf_s8: the same checks; a NULL scratch is the scratch-free path */
	p = ok_p;
	d = (tinytx_linear_dims){2, 3, 4, 1, TINYTX_LAYOUT_TOKEN_MAJOR};
	const int32_t need = tinytx_linear_buf_s8_get_buffer_size(&d, 1);
	EXPECT(need >= 0 && need <= (int32_t)sizeof(scratch), 1);
	EXPECT(tinytx_linear_buf_s8(&d, &p, in8, in8, NULL, out8, &full), TINYTX_OK);
	EXPECT(tinytx_linear_buf_s8(&d, &p, in8, in8, NULL, out8, NULL), TINYTX_OK);
	EXPECT(tinytx_linear_buf_s8(NULL, &p, in8, in8, NULL, out8, &full), TINYTX_ERR_NULL);
	EXPECT(tinytx_linear_buf_s8(&d, NULL, in8, in8, NULL, out8, &full), TINYTX_ERR_NULL);
	EXPECT(tinytx_linear_buf_s8(&d, &p, NULL, in8, NULL, out8, &full), TINYTX_ERR_NULL);
	EXPECT(tinytx_linear_buf_s8(&d, &p, in8, NULL, NULL, out8, &full), TINYTX_ERR_NULL);
	EXPECT(tinytx_linear_buf_s8(&d, &p, in8, in8, NULL, NULL, &full), TINYTX_ERR_NULL);
	EXPECT(tinytx_linear_buf_s8_get_buffer_size(NULL, 1), TINYTX_ERR_NULL);
	p.requant.shift = 63;
	EXPECT(tinytx_linear_buf_s8(&d, &p, in8, in8, NULL, out8, &full), TINYTX_ERR_PARAM);
	p = ok_p;
	d.rows = 0;
	EXPECT(tinytx_linear_buf_s8_get_buffer_size(&d, 1), TINYTX_ERR_DIMS);
	EXPECT(tinytx_linear_buf_s8(&d, &p, in8, in8, NULL, out8, &full), TINYTX_ERR_DIMS);
	d.rows = 65536;
	d.out_features = 65536; /* rows * N overflows int32 */
	EXPECT(tinytx_linear_buf_s8_get_buffer_size(&d, 1), TINYTX_ERR_DIMS);
}

/* Zero points, pad values, offsets and per-channel tables out of their ranges. */
static void zero_point_checks(void)
{
	static const int32_t mults[4] = {1 << 30, 1 << 30, 1 << 30, 1 << 30};
	static const int32_t shifts[4] = {31, 31, 63, 31}; /* channel 2: bad shift */
	static const int32_t good_shifts[4] = {31, 32, 40, 62};
	tinytx_linear_params p = {{1 << 30, 31, 127}, {127, 127}, NULL, NULL};
	tinytx_linear_dims d = {2, 3, 4, 1, TINYTX_LAYOUT_TOKEN_MAJOR};
	EXPECT(tinytx_linear_s8(&d, &p, in8, in8, NULL, out8), TINYTX_OK);
	p.requant.zero_point = 128;
	EXPECT(tinytx_linear_s8(&d, &p, in8, in8, NULL, out8), TINYTX_ERR_PARAM);
	p.requant.zero_point = -129;
	EXPECT(tinytx_linear_s8(&d, &p, in8, in8, NULL, out8), TINYTX_ERR_PARAM);
	p.requant.zero_point = -3;
	p.act.min = -128;
	p.multipliers = mults;
	p.shifts = good_shifts;
	EXPECT(tinytx_linear_s8(&d, &p, in8, in8, NULL, out8), TINYTX_OK);
	p.shifts = shifts;
	EXPECT(tinytx_linear_s8(&d, &p, in8, in8, NULL, out8), TINYTX_ERR_PARAM);
	p.shifts = NULL; /* only one of the two tables */
	EXPECT(tinytx_linear_s8(&d, &p, in8, in8, NULL, out8), TINYTX_ERR_PARAM);

	const tinytx_conv2d_dims cd = {4, 4, 2, 4, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 0};
	tinytx_conv2d_params cp = {{1 << 30, 31, 5}, {-128, 127}, -128, mults, good_shifts};
	EXPECT(tinytx_conv2d_s8(&cd, &cp, in8, in8, NULL, out8, &full), TINYTX_OK);
	cp.pad_value = 128;
	EXPECT(tinytx_conv2d_s8(&cd, &cp, in8, in8, NULL, out8, &full), TINYTX_ERR_PARAM);
	cp.pad_value = 0;
	cp.shifts = shifts;
	EXPECT(tinytx_conv2d_s8(&cd, &cp, in8, in8, NULL, out8, &full), TINYTX_ERR_PARAM);
	const tinytx_conv2d_dims dd = {4, 4, 2, 4, 4, 2, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 0};
	cp.shifts = good_shifts;
	cp.pad_value = 127;
	EXPECT(tinytx_depthwise_conv2d_s8(&dd, &cp, in8, in8, NULL, out8), TINYTX_OK);
	cp.multipliers = NULL;
	EXPECT(tinytx_depthwise_conv2d_s8(&dd, &cp, in8, in8, NULL, out8), TINYTX_ERR_PARAM);

	tinytx_add_params ap = {1 << 21, 1 << 21, 20, {-128, 127}, -(1 << 29), 100};
	EXPECT(tinytx_add_s8(8, &ap, in8, in8, out8), TINYTX_OK);
	ap.offset = (1 << 30) + (1 << 29); /* the sum could leave int32 */
	EXPECT(tinytx_add_s8(8, &ap, in8, in8, out8), TINYTX_ERR_PARAM);
	ap.offset = 0;
	ap.zero_point = 128;
	EXPECT(tinytx_add_s8(8, &ap, in8, in8, out8), TINYTX_ERR_PARAM);

	tinytx_gelu_params gp = {80, 7091, {1 << 30, 40, -7}, 127};
	EXPECT(tinytx_gelu_s8(8, &gp, in8, out8), TINYTX_OK);
	gp.input_zero_point = -129;
	EXPECT(tinytx_gelu_s8(8, &gp, in8, out8), TINYTX_ERR_PARAM);

	tinytx_mean_rows_dims md = {2, 4};
	tinytx_mean_rows_params mp = {{1 << 30, 33, 0}, {-128, 127}, 200};
	EXPECT(tinytx_mean_rows_s8(&md, &mp, in8, out8), TINYTX_ERR_PARAM);
	mp.input_zero_point = -128;
	EXPECT(tinytx_mean_rows_s8(&md, &mp, in8, out8), TINYTX_OK);
}

static void attention_checks(void)
{
	const tinytx_requant rq = {1 << 30, 31, 0};
	tinytx_attention_dims d = {2, 3, 4, 2, 2};
	EXPECT(tinytx_qk_softmax_s8_get_buffer_size(&d, 1), 4 * sizeof(int32_t));
	EXPECT(tinytx_qk_softmax_s8(&d, rq, in8, in8, probs, &full), TINYTX_OK);
	EXPECT(tinytx_av_s8(&d, rq, probs, in8, out8), TINYTX_OK);
	EXPECT(tinytx_qk_softmax_s8_get_buffer_size(NULL, 1), TINYTX_ERR_NULL);
	EXPECT(tinytx_qk_softmax_s8(&d, rq, in8, in8, probs, NULL), TINYTX_ERR_SCRATCH);
	EXPECT(tinytx_qk_softmax_s8(&d, rq, NULL, in8, probs, &full), TINYTX_ERR_NULL);
	EXPECT(tinytx_av_s8(&d, rq, NULL, in8, out8), TINYTX_ERR_NULL);
	EXPECT(tinytx_av_s8(&d, rq, probs, in8, NULL), TINYTX_ERR_NULL);
	tinytx_requant bad = {1 << 30, 0, 0};
	EXPECT(tinytx_qk_softmax_s8(&d, bad, in8, in8, probs, &full), TINYTX_ERR_PARAM);
	EXPECT(tinytx_av_s8(&d, bad, probs, in8, out8), TINYTX_ERR_PARAM);
	d.k_heads = 3; /* neither H nor 1 */
	EXPECT(tinytx_qk_softmax_s8(&d, rq, in8, in8, probs, &full), TINYTX_ERR_DIMS);
	d.k_heads = 1;
	EXPECT(tinytx_qk_softmax_s8(&d, rq, in8, in8, probs, &full), TINYTX_OK);
	d.kv_rows = 0;
	EXPECT(tinytx_qk_softmax_s8_get_buffer_size(&d, 1), TINYTX_ERR_DIMS);
	EXPECT(tinytx_av_s8(&d, rq, probs, in8, out8), TINYTX_ERR_DIMS);
	d.kv_rows = TINYTX_SOFTMAX_MAX_KV + 1;
	EXPECT(tinytx_qk_softmax_s8_get_buffer_size(&d, 1), TINYTX_ERR_DIMS);
	d.kv_rows = 4;
	d.head_dim = 0;
	EXPECT(tinytx_av_s8(&d, rq, probs, in8, out8), TINYTX_ERR_DIMS);
	d.head_dim = 2;
	d.heads = 40000;
	d.q_rows = 40000; /* H * Sq * Skv overflows int32 */
	d.k_heads = 40000;
	EXPECT(tinytx_qk_softmax_s8_get_buffer_size(&d, 1), TINYTX_ERR_DIMS);
	EXPECT(tinytx_av_s8(&d, rq, probs, in8, out8), TINYTX_ERR_DIMS);
}

/*
 * The depth-first blocks side by side (S=3 E=4 P=2 H=2, as tinytx.core.plan.mhsa): scratch
 * bytes per tile size x, or the error of both the size and the call, then each call
 * with the output separate or aliasing the input.
 *   MHSA: row 12 | K 6->8 | V^T 8 | Q x*2 | A x*3 | O 12
 *   FWSA: row 12 | V^T 6->8 | tile x*max(E,P) | A x*3 | O 12
 */
static const struct {
	int32_t tile, mhsa, fwsa;
	int in_place;
} dft_tiles[] = {
#ifdef TT_KERNELS_ARM
	/* arm (kernels/src/arm/tinytx_mhsa_dft_s8.c, int16 W2 parts, O kept as int8):
	 *   MHSA: Kw 32 | Xw 32 | Vw 16 | W 16 | Q 16 (x = 1, 2) or 32 (x = 3) | P 16 | O 16 |
	 *         scores 32 | O 12
	 *   FWSA: Xw 32 | Vw 16 | W 32 | T 16 or 32 | P 16 | O 16 | scores 32 | O 12 */
	{1, 188, 172, 0},
	{2, 188, 172, 1},
	{3, 204, 188, 1},
#else
	{1, 48, 40, 0},
	{2, 52, 48, 1},
	{3, 60, 56, 1},
#endif
	{0, TINYTX_ERR_DIMS, TINYTX_ERR_DIMS, 0},
	{4, TINYTX_ERR_DIMS, TINYTX_ERR_DIMS, 0},
	{-1, TINYTX_ERR_DIMS, TINYTX_ERR_DIMS, 0},
};

static void block_checks(void)
{
	const tinytx_requant rq = {1 << 30, 31, 0};
	tinytx_mhsa_dims d = {3, 4, 2, 2};
	tinytx_mhsa_params mp = {rq, rq, rq, rq, rq, rq};
	tinytx_mhsa_weights mw = {in8,	NULL, in8, NULL, in8, NULL, in8, NULL,
				  {NULL, NULL}, {NULL, NULL}, {NULL, NULL}, {NULL, NULL}};
	tinytx_fwsa_params fp = {rq, rq, rq, rq, rq};
	tinytx_fwsa_weights fw = {in8, NULL, in8, NULL, in8, NULL};
	int32_t need = tinytx_mhsa_s8_get_buffer_size(&d, 1);
	EXPECT(need > 0 && need <= (int32_t)sizeof(scratch), 1);
	EXPECT(tinytx_mhsa_s8(&d, &mp, &mw, in8, out8, &full), TINYTX_OK);
	need = tinytx_fwsa_s8_get_buffer_size(&d, 1);
	EXPECT(need > 0 && need <= (int32_t)sizeof(scratch), 1);
	/* num_cores < 1: ERR_DIMS from every size, whatever the variant does with it */
	EXPECT(tinytx_mhsa_s8_get_buffer_size(&d, 0), TINYTX_ERR_DIMS);
	EXPECT(tinytx_fwsa_s8_get_buffer_size(&d, -1), TINYTX_ERR_DIMS);
	EXPECT(tinytx_mhsa_dft_s8_get_buffer_size(&d, 1, 0), TINYTX_ERR_DIMS);
	EXPECT(tinytx_fwsa_dft_s8_get_buffer_size(&d, 1, 0), TINYTX_ERR_DIMS);
	{
		const tinytx_attention_dims ad = {1, 2, 3, 4, 1};
		const tinytx_linear_dims ld = {2, 4, 4, 1, TINYTX_LAYOUT_TOKEN_MAJOR};
		const tinytx_conv2d_dims cd = {3, 3, 1, 1, 1, 1, 3, 3, 1, 1, 0, 0, 0, 0, 0, 0, 0};
		EXPECT(tinytx_qk_softmax_s8_get_buffer_size(&ad, 0), TINYTX_ERR_DIMS);
		EXPECT(tinytx_linear_buf_s8_get_buffer_size(&ld, 0), TINYTX_ERR_DIMS);
		EXPECT(tinytx_conv2d_s8_get_buffer_size(&cd, 0), TINYTX_ERR_DIMS);
	}
	EXPECT(tinytx_fwsa_s8(&d, &fp, &fw, in8, out8, &full), TINYTX_OK);
	mp.out.zero_point = -9; /* the block output may have a zero point */
	EXPECT(tinytx_mhsa_s8(&d, &mp, &mw, in8, out8, &full), TINYTX_OK);
	mp.v.zero_point = 1; /* an internal one may not */
	EXPECT(tinytx_mhsa_s8(&d, &mp, &mw, in8, out8, &full), TINYTX_ERR_PARAM);
	mp.v.zero_point = 0;
	mp.out.zero_point = 0;
	static const int32_t ch_m[4] = {1 << 30, 1 << 30, 1 << 30, 1 << 30};
	static const int32_t ch_s[4] = {31, 40, 33, 62};
	mw.k_ch = (tinytx_channels){ch_m, ch_s};
	mw.out_ch = (tinytx_channels){ch_m, ch_s};
	EXPECT(tinytx_mhsa_s8(&d, &mp, &mw, in8, out8, &full), TINYTX_OK);
	mw.out_ch.shifts = NULL; /* one table of a pair */
	EXPECT(tinytx_mhsa_s8(&d, &mp, &mw, in8, out8, &full), TINYTX_ERR_PARAM);
	EXPECT(tinytx_mhsa_dft_s8(&d, 1, &mp, &mw, in8, out8, &full), TINYTX_ERR_PARAM);
	mw.out_ch = (tinytx_channels){NULL, NULL};
	mw.k_ch = (tinytx_channels){ch_m, ch_m}; /* shifts of 2^30: out of range */
	EXPECT(tinytx_mhsa_s8(&d, &mp, &mw, in8, out8, &full), TINYTX_ERR_PARAM);
	mw.k_ch = (tinytx_channels){NULL, NULL};
	fp.av.zero_point = 1;
	EXPECT(tinytx_fwsa_s8(&d, &fp, &fw, in8, out8, &full), TINYTX_ERR_PARAM);
	fp.av.zero_point = 0;
	for (size_t i = 0; i < sizeof(dft_tiles) / sizeof(dft_tiles[0]); i++) {
		const int32_t x = dft_tiles[i].tile;
		const long mhsa = dft_tiles[i].mhsa, fwsa = dft_tiles[i].fwsa;
		const long mhsa_call = mhsa < 0 ? mhsa : TINYTX_OK;
		const long fwsa_call = fwsa < 0 ? fwsa : TINYTX_OK;
		int8_t *out = dft_tiles[i].in_place ? in8 : out8;
		EXPECT_TILE(tinytx_mhsa_dft_s8_get_buffer_size(&d, x, 1), mhsa);
		EXPECT_TILE(tinytx_fwsa_dft_s8_get_buffer_size(&d, x, 1), fwsa);
		EXPECT_TILE(tinytx_mhsa_dft_s8(&d, x, &mp, &mw, in8, out, &full), mhsa_call);
		EXPECT_TILE(tinytx_fwsa_dft_s8(&d, x, &fp, &fw, in8, out, &full), fwsa_call);
	}
	EXPECT(tinytx_mhsa_dft_s8_get_buffer_size(NULL, 1, 1), TINYTX_ERR_NULL);
	EXPECT(tinytx_fwsa_dft_s8_get_buffer_size(NULL, 1, 1), TINYTX_ERR_NULL);
	EXPECT(tinytx_mhsa_dft_s8(&d, 1, &mp, &mw, in8, out8, NULL), TINYTX_ERR_SCRATCH);
	EXPECT(tinytx_fwsa_dft_s8(&d, 1, &fp, &fw, in8, out8, NULL), TINYTX_ERR_SCRATCH);
	EXPECT(tinytx_mhsa_dft_s8(&d, 1, NULL, &mw, in8, out8, &full), TINYTX_ERR_NULL);
	EXPECT(tinytx_mhsa_dft_s8(&d, 1, &mp, &mw, NULL, out8, &full), TINYTX_ERR_NULL);
	mw.wv = NULL;
	fw.wo = NULL;
	EXPECT(tinytx_mhsa_dft_s8(&d, 1, &mp, &mw, in8, out8, &full), TINYTX_ERR_NULL);
	EXPECT(tinytx_fwsa_dft_s8(&d, 1, &fp, &fw, in8, out8, &full), TINYTX_ERR_NULL);
	mw.wv = in8;
	fw.wo = in8;
	mp.av.shift = 0;
	fp.t.shift = 63;
	EXPECT(tinytx_mhsa_dft_s8(&d, 1, &mp, &mw, in8, out8, &full), TINYTX_ERR_PARAM);
	EXPECT(tinytx_fwsa_dft_s8(&d, 1, &fp, &fw, in8, out8, &full), TINYTX_ERR_PARAM);
	mp.av = rq;
	fp.t = rq;
	d.embed_dim = 40000; /* H * E over the limit */
	EXPECT(tinytx_fwsa_dft_s8_get_buffer_size(&d, 1, 1), TINYTX_ERR_DIMS);
	d.embed_dim = 4;
	d.seq_len = 0;
	EXPECT(tinytx_mhsa_dft_s8_get_buffer_size(&d, 1, 1), TINYTX_ERR_DIMS);
	d.seq_len = TINYTX_SOFTMAX_MAX_KV + 1;
	EXPECT(tinytx_mhsa_dft_s8_get_buffer_size(&d, 1, 1), TINYTX_ERR_DIMS);
	d.seq_len = 3;
	EXPECT(tinytx_mhsa_s8_get_buffer_size(NULL, 1), TINYTX_ERR_NULL);
	EXPECT(tinytx_mhsa_s8(&d, &mp, &mw, in8, out8, NULL), TINYTX_ERR_SCRATCH);
	mw.wq = NULL;
	EXPECT(tinytx_mhsa_s8(&d, &mp, &mw, in8, out8, &full), TINYTX_ERR_NULL);
	fw.wt = NULL;
	EXPECT(tinytx_fwsa_s8(&d, &fp, &fw, in8, out8, &full), TINYTX_ERR_NULL);
	mw.wq = in8;
	fw.wt = in8;
	mp.softmax.shift = 99;
	EXPECT(tinytx_mhsa_s8(&d, &mp, &mw, in8, out8, &full), TINYTX_ERR_PARAM);
	fp.out.multiplier = -7;
	EXPECT(tinytx_fwsa_s8(&d, &fp, &fw, in8, out8, &full), TINYTX_ERR_PARAM);
	d.seq_len = 0;
	EXPECT(tinytx_mhsa_s8_get_buffer_size(&d, 1), TINYTX_ERR_DIMS);
	EXPECT(tinytx_fwsa_s8_get_buffer_size(&d, 1), TINYTX_ERR_DIMS);
	d.seq_len = TINYTX_SOFTMAX_MAX_KV + 1;
	EXPECT(tinytx_mhsa_s8_get_buffer_size(&d, 1), TINYTX_ERR_DIMS);
	d.seq_len = 3;
	d.heads = 60000;
	d.head_dim = 60000; /* H * P overflows the reduction limit */
	EXPECT(tinytx_mhsa_s8_get_buffer_size(&d, 1), TINYTX_ERR_DIMS);
	d.heads = 2;
	d.head_dim = 2;
	d.embed_dim = 40000; /* FWSA: H * E over the limit */
	EXPECT(tinytx_fwsa_s8_get_buffer_size(&d, 1), TINYTX_ERR_DIMS);
}

static void elementwise_checks(void)
{
	const int32_t beta[4] = {0, 0, 0, 0};
	tinytx_layernorm_dims ld = {2, 4};
	tinytx_layernorm_params lp = {{1 << 30, 31, 0}, 0};
	EXPECT(tinytx_layernorm_s8(&ld, &lp, in8, in8, beta, out8), TINYTX_OK);
	EXPECT(tinytx_layernorm_s8(&ld, &lp, in8, NULL, beta, out8), TINYTX_ERR_NULL);
	EXPECT(tinytx_layernorm_s8(&ld, &lp, in8, in8, NULL, out8), TINYTX_ERR_NULL);
	lp.eps_q16 = -1;
	EXPECT(tinytx_layernorm_s8(&ld, &lp, in8, in8, beta, out8), TINYTX_ERR_PARAM);
	lp.eps_q16 = 0;
	ld.features = 0;
	EXPECT(tinytx_layernorm_s8(&ld, &lp, in8, in8, beta, out8), TINYTX_ERR_DIMS);
	ld.features = TINYTX_LAYERNORM_MAX_FEATURES + 1;
	EXPECT(tinytx_layernorm_s8(&ld, &lp, in8, in8, beta, out8), TINYTX_ERR_DIMS);
	ld.features = 4;
	ld.rows = -1;
	EXPECT(tinytx_layernorm_s8(&ld, &lp, in8, in8, beta, out8), TINYTX_ERR_DIMS);

	tinytx_gelu_params gp = {80, 7091, {1 << 30, 40, 0}, 0};
	EXPECT(tinytx_gelu_s8(8, &gp, in8, out8), TINYTX_OK);
	EXPECT(tinytx_gelu_s8(0, &gp, in8, out8), TINYTX_ERR_DIMS);
	EXPECT(tinytx_gelu_s8(8, NULL, in8, out8), TINYTX_ERR_NULL);
	EXPECT(tinytx_gelu_s8(8, &gp, in8, NULL), TINYTX_ERR_NULL);
	gp.q_one = 1 << 22;
	EXPECT(tinytx_gelu_s8(8, &gp, in8, out8), TINYTX_ERR_PARAM);
	gp.q_one = 100;
	gp.q_clip = 11; /* q_clip^2 > q_one */
	EXPECT(tinytx_gelu_s8(8, &gp, in8, out8), TINYTX_ERR_PARAM);
	gp.q_clip = 0;
	EXPECT(tinytx_gelu_s8(8, &gp, in8, out8), TINYTX_ERR_PARAM);

	tinytx_add_params ap = {1 << 20, 1 << 20, 21, {-128, 127}, 0, 0};
	EXPECT(tinytx_add_s8(8, &ap, in8, in8, out8), TINYTX_OK);
	EXPECT(tinytx_add_s8(-1, &ap, in8, in8, out8), TINYTX_ERR_DIMS);
	EXPECT(tinytx_add_s8(8, &ap, in8, NULL, out8), TINYTX_ERR_NULL);
	ap.m_a = (1 << 22) + 1;
	EXPECT(tinytx_add_s8(8, &ap, in8, in8, out8), TINYTX_ERR_PARAM);
	ap.m_a = 1 << 20;
	ap.shift = 32;
	EXPECT(tinytx_add_s8(8, &ap, in8, in8, out8), TINYTX_ERR_PARAM);
	ap.shift = 21;
	ap.act.max = 200;
	EXPECT(tinytx_add_s8(8, &ap, in8, in8, out8), TINYTX_ERR_PARAM);
}

static void lut_checks(void)
{
	int8_t table[256];
	for (int32_t i = 0; i < 256; i++) {
		table[i] = (int8_t)(255 - i); /* ~x: any int8 code maps to a distinct one */
	}
	for (int32_t i = 0; i < 64; i++) {
		in8[i] = (int8_t)(i * 37 - 100);
	}
	EXPECT(tinytx_lut_s8(64, table, in8, out8), TINYTX_OK);
	int wrong = 0;
	for (int32_t i = 0; i < 64; i++) {
		wrong += out8[i] != (int8_t)(255 - (uint8_t)in8[i]);
	}
	EXPECT(wrong, 0);
	/* in place, from an odd address, an odd count: the same values */
	for (int32_t i = 0; i < 64; i++) {
		out8[i] = in8[i];
	}
	EXPECT(tinytx_lut_s8(61, table, out8 + 1, out8 + 1), TINYTX_OK);
	wrong = 0;
	for (int32_t i = 1; i < 62; i++) {
		wrong += out8[i] != (int8_t)(255 - (uint8_t)in8[i]);
	}
	wrong += out8[0] != in8[0] || out8[62] != in8[62] || out8[63] != in8[63];
	EXPECT(wrong, 0);
	EXPECT(tinytx_lut_s8(0, table, in8, out8), TINYTX_ERR_DIMS);
	EXPECT(tinytx_lut_s8(-5, table, in8, out8), TINYTX_ERR_DIMS);
	EXPECT(tinytx_lut_s8(8, NULL, in8, out8), TINYTX_ERR_NULL);
	EXPECT(tinytx_lut_s8(8, table, NULL, out8), TINYTX_ERR_NULL);
	EXPECT(tinytx_lut_s8(8, table, in8, NULL), TINYTX_ERR_NULL);
	EXPECT(tinytx_lut_s8(0, NULL, in8, out8), TINYTX_ERR_NULL);
}

/* gather, mul and the convolutions with dilation or a depth multiplier */
static void movement_checks(void)
{
	const int32_t idx[3] = {1, 0, 3};
	const int32_t bad_idx[2] = {0, 4};
	const int32_t neg_idx[1] = {-1};
	tinytx_gather_dims gd = {2, 4, 3, 3, 9};
	EXPECT(tinytx_gather_s8(&gd, idx, in8, out8), TINYTX_OK);
	EXPECT(tinytx_gather_s8(NULL, idx, in8, out8), TINYTX_ERR_NULL);
	EXPECT(tinytx_gather_s8(&gd, idx, NULL, out8), TINYTX_ERR_NULL);
	EXPECT(tinytx_gather_s8(&gd, idx, in8, NULL), TINYTX_ERR_NULL);
	gd.count = 2;
	EXPECT(tinytx_gather_s8(&gd, bad_idx, in8, out8), TINYTX_ERR_PARAM);
	gd.count = 1;
	EXPECT(tinytx_gather_s8(&gd, neg_idx, in8, out8), TINYTX_ERR_PARAM);
	gd.count = 5; /* identity rows beyond the axis */
	gd.out_stride = 15;
	EXPECT(tinytx_gather_s8(&gd, NULL, in8, out8), TINYTX_ERR_DIMS);
	gd.count = 3;
	gd.out_stride = 8; /* narrower than count * block */
	EXPECT(tinytx_gather_s8(&gd, idx, in8, out8), TINYTX_ERR_DIMS);
	gd.out_stride = 9;
	gd.outer = 0;
	EXPECT(tinytx_gather_s8(&gd, idx, in8, out8), TINYTX_ERR_DIMS);

	tinytx_mul_params mp = {1 << 30, -3, 4, {-128, 127}, 7, -9};
	EXPECT(tinytx_mul_s8(8, &mp, in8, in8, out8), TINYTX_OK);
	EXPECT(tinytx_mul_s8(8, NULL, in8, in8, out8), TINYTX_ERR_NULL);
	EXPECT(tinytx_mul_s8(8, &mp, in8, NULL, out8), TINYTX_ERR_NULL);
	EXPECT(tinytx_mul_s8(0, &mp, in8, in8, out8), TINYTX_ERR_DIMS);
	mp.shift = TINYTX_MUL_LEFT_SHIFT_MAX + 1;
	EXPECT(tinytx_mul_s8(8, &mp, in8, in8, out8), TINYTX_ERR_PARAM);
	mp.shift = -32;
	EXPECT(tinytx_mul_s8(8, &mp, in8, in8, out8), TINYTX_ERR_PARAM);
	mp.shift = 0;
	mp.multiplier = (1 << 30) - 1; /* not normalized */
	EXPECT(tinytx_mul_s8(8, &mp, in8, in8, out8), TINYTX_ERR_PARAM);
	mp.multiplier = 1 << 30;
	mp.b_zero_point = 128;
	EXPECT(tinytx_mul_s8(8, &mp, in8, in8, out8), TINYTX_ERR_PARAM);

	/* 4x4x2 input, 2x2 kernel with dilation 2 (spans 3): 2x2 output */
	tinytx_conv2d_dims cd = {4, 4, 2, 2, 2, 3, 2, 2, 1, 1, 0, 0, 0, 0, 2, 2, 0};
	const tinytx_conv2d_params cp = {{1 << 30, 31, 0}, {-128, 127}, 3, NULL, NULL};
	EXPECT(tinytx_conv2d_s8_get_buffer_size(&cd, 1), 0);
	EXPECT(tinytx_conv2d_s8(&cd, &cp, in8, in8, NULL, out8, NULL), TINYTX_OK);
	EXPECT(tinytx_conv2d_s8(&cd, NULL, in8, in8, NULL, out8, NULL), TINYTX_ERR_NULL);
	cd.out_h = 3; /* the undilated size */
	EXPECT(tinytx_conv2d_s8(&cd, &cp, in8, in8, NULL, out8, NULL), TINYTX_ERR_DIMS);
	EXPECT(tinytx_conv2d_s8_get_buffer_size(&cd, 1), TINYTX_ERR_DIMS);
	cd.out_h = 2;
	cd.depth_multiplier = 2; /* a plain conv has none */
	EXPECT(tinytx_conv2d_s8(&cd, &cp, in8, in8, NULL, out8, NULL), TINYTX_ERR_DIMS);
	cd.depth_multiplier = 0;
	cd.dilation_w = -1;
	EXPECT(tinytx_conv2d_s8(&cd, &cp, in8, in8, NULL, out8, NULL), TINYTX_ERR_DIMS);
	/* depthwise, multiplier 2: out_c = 4 */
	tinytx_conv2d_dims dd = {4, 4, 2, 2, 2, 4, 2, 2, 1, 1, 0, 0, 0, 0, 2, 2, 2};
	EXPECT(tinytx_depthwise_conv2d_s8(&dd, &cp, in8, in8, NULL, out8), TINYTX_OK);
	dd.dilation_h = dd.dilation_w = 1; /* the multiplier alone takes the same path */
	dd.out_h = dd.out_w = 3;
	EXPECT(tinytx_depthwise_conv2d_s8(&dd, &cp, in8, in8, NULL, out8), TINYTX_OK);
	dd.out_c = 3;
	EXPECT(tinytx_depthwise_conv2d_s8(&dd, &cp, in8, in8, NULL, out8), TINYTX_ERR_DIMS);
}

static void frontend_checks(void)
{
	const tinytx_conv2d_dims ok_d = {4, 4, 2, 2, 2, 3, 3, 3, 1, 1, 0, 0, 0, 0, 0, 0, 0};
	const tinytx_conv2d_params ok_p = {{1 << 30, 31, 0}, {0, 127}, 0, NULL, NULL};
	tinytx_conv2d_dims d = ok_d;
	tinytx_conv2d_params p = ok_p;
	/* ref: no scratch; arm: int16 weights and im2col pair (a variant's own size) */
	const int32_t need = tinytx_conv2d_s8_get_buffer_size(&d, 1);
	EXPECT(need >= 0 && need <= (int32_t)sizeof(scratch), 1);
	EXPECT(tinytx_conv2d_s8_get_buffer_size(NULL, 1), TINYTX_ERR_NULL);
	EXPECT(tinytx_conv2d_s8(&d, &p, in8, in8, NULL, out8, &full), TINYTX_OK);
	EXPECT(tinytx_conv2d_s8(&d, &p, in8, in8, NULL, out8, NULL),
	       need > 0 ? TINYTX_ERR_SCRATCH : TINYTX_OK); /* scratch needed, none given */
	EXPECT(tinytx_conv2d_s8(NULL, &p, in8, in8, NULL, out8, &full), TINYTX_ERR_NULL);
	EXPECT(tinytx_conv2d_s8(&d, NULL, in8, in8, NULL, out8, &full), TINYTX_ERR_NULL);
	EXPECT(tinytx_conv2d_s8(&d, &p, NULL, in8, NULL, out8, &full), TINYTX_ERR_NULL);
	EXPECT(tinytx_conv2d_s8(&d, &p, in8, NULL, NULL, out8, &full), TINYTX_ERR_NULL);
	EXPECT(tinytx_conv2d_s8(&d, &p, in8, in8, NULL, NULL, &full), TINYTX_ERR_NULL);
	d.out_h = 3; /* not (4 - 3) / 1 + 1 */
	EXPECT(tinytx_conv2d_s8_get_buffer_size(&d, 1), TINYTX_ERR_DIMS);
	EXPECT(tinytx_conv2d_s8(&d, &p, in8, in8, NULL, out8, &full), TINYTX_ERR_DIMS);
	d = ok_d;
	d.kernel_w = 5; /* wider than the unpadded 4-wide image */
	EXPECT(tinytx_conv2d_s8(&d, &p, in8, in8, NULL, out8, &full), TINYTX_ERR_DIMS);
	d.pad_right = 1; /* now it fits: out_w = (4 + 1 - 5) / 1 + 1 = 1 */
	d.out_w = 1;
	EXPECT(tinytx_conv2d_s8_get_buffer_size(&d, 1) >= 0, 1);
	d = ok_d;
	d.stride_h = 0;
	EXPECT(tinytx_conv2d_s8(&d, &p, in8, in8, NULL, out8, &full), TINYTX_ERR_DIMS);
	d = ok_d;
	d.pad_left = -1;
	EXPECT(tinytx_conv2d_s8(&d, &p, in8, in8, NULL, out8, &full), TINYTX_ERR_DIMS);
	d = ok_d;
	d.in_c = 0;
	EXPECT(tinytx_conv2d_s8(&d, &p, in8, in8, NULL, out8, &full), TINYTX_ERR_DIMS);
	d.in_c = 8000; /* 3 * 3 * 8000 taps over the reduction limit */
	EXPECT(tinytx_conv2d_s8_get_buffer_size(&d, 1), TINYTX_ERR_DIMS);
	d = ok_d;
	d.in_h = TINYTX_MAX_DIM + 1;
	EXPECT(tinytx_conv2d_s8_get_buffer_size(&d, 1), TINYTX_ERR_DIMS);
	d = (tinytx_conv2d_dims){30000, 30000, 4, 30000, 30000, 4, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0};
	EXPECT(tinytx_conv2d_s8_get_buffer_size(&d, 1), TINYTX_ERR_DIMS); /* tensor > int32 */
	d = ok_d;
	p.requant.shift = 63;
	EXPECT(tinytx_conv2d_s8(&d, &p, in8, in8, NULL, out8, &full), TINYTX_ERR_PARAM);
	p = ok_p;
	p.act.min = 100;
	p.act.max = 99;
	EXPECT(tinytx_conv2d_s8(&d, &p, in8, in8, NULL, out8, &full), TINYTX_ERR_PARAM);
	p = ok_p;

	d.out_c = 2; /* depthwise: out_c == in_c */
	EXPECT(tinytx_depthwise_conv2d_s8(&d, &p, in8, in8, NULL, out8), TINYTX_OK);
	EXPECT(tinytx_depthwise_conv2d_s8(&d, &p, in8, NULL, NULL, out8), TINYTX_ERR_NULL);
	d.out_c = 3;
	EXPECT(tinytx_depthwise_conv2d_s8(&d, &p, in8, in8, NULL, out8), TINYTX_ERR_DIMS);
	d.out_c = 2;
	p.requant.multiplier = -1;
	EXPECT(tinytx_depthwise_conv2d_s8(&d, &p, in8, in8, NULL, out8), TINYTX_ERR_PARAM);

	const tinytx_pool2d_dims ok_pd = {5, 4, 2, 3, 2, 2, 2, 2, 2, 1, 0, 1, 1};
	const tinytx_avgpool2d_params ok_ap = {{1 << 30, 30, 0}, {-128, 127}, 0, 0, 0};
	tinytx_pool2d_dims pd = ok_pd;
	tinytx_avgpool2d_params ap = ok_ap;
	EXPECT(tinytx_maxpool2d_s8(&pd, in8, out8), TINYTX_OK);
	EXPECT(tinytx_avgpool2d_s8(&pd, &ap, in8, out8), TINYTX_OK);
	EXPECT(tinytx_maxpool2d_s8(&pd, NULL, out8), TINYTX_ERR_NULL);
	EXPECT(tinytx_avgpool2d_s8(&pd, NULL, in8, out8), TINYTX_ERR_NULL);
	EXPECT(tinytx_avgpool2d_s8(NULL, &ap, in8, out8), TINYTX_ERR_NULL);
	pd.pad_top = 2; /* a pad as large as the kernel: a window could miss the image */
	pd.out_h = 4;
	EXPECT(tinytx_maxpool2d_s8(&pd, in8, out8), TINYTX_ERR_DIMS);
	EXPECT(tinytx_avgpool2d_s8(&pd, &ap, in8, out8), TINYTX_ERR_DIMS);
	pd = ok_pd;
	pd.out_w = 3;
	EXPECT(tinytx_maxpool2d_s8(&pd, in8, out8), TINYTX_ERR_DIMS);
	pd = ok_pd;
	pd.channels = 0;
	EXPECT(tinytx_avgpool2d_s8(&pd, &ap, in8, out8), TINYTX_ERR_DIMS);
	pd = ok_pd;
	ap.count_include_pad = 2;
	EXPECT(tinytx_avgpool2d_s8(&pd, &ap, in8, out8), TINYTX_ERR_PARAM);
	ap = ok_ap;
	ap.requant.shift = 0;
	EXPECT(tinytx_avgpool2d_s8(&pd, &ap, in8, out8), TINYTX_ERR_PARAM);

	tinytx_mean_rows_dims md = {8, 4};
	tinytx_mean_rows_params mp = {{1 << 30, 33, 0}, {-128, 127}, 0};
	EXPECT(tinytx_mean_rows_s8(&md, &mp, in8, out8), TINYTX_OK);
	EXPECT(tinytx_mean_rows_s8(&md, &mp, NULL, out8), TINYTX_ERR_NULL);
	EXPECT(tinytx_mean_rows_s8(NULL, &mp, in8, out8), TINYTX_ERR_NULL);
	md.rows = 0;
	EXPECT(tinytx_mean_rows_s8(&md, &mp, in8, out8), TINYTX_ERR_DIMS);
	md.rows = TINYTX_MAX_REDUCTION + 1;
	EXPECT(tinytx_mean_rows_s8(&md, &mp, in8, out8), TINYTX_ERR_DIMS);
	md.rows = 8;
	mp.act.max = 128;
	EXPECT(tinytx_mean_rows_s8(&md, &mp, in8, out8), TINYTX_ERR_PARAM);
}

/* The checks every variant shares (kernels/src/tinytx_tfl_steps.h); all-zero factors are
 * valid (multiplier 0 is allowed). */
static void layernorm_steps_checks(void)
{
	static const int8_t table[256];
	tinytx_layernorm_dims ld = {2, 4};
	tinytx_layernorm_steps_params p;
	memset(&p, 0, sizeof(p));
	EXPECT(tinytx_layernorm_steps_s8(&ld, &p, in8, in8, in8, table, out8), TINYTX_OK);
	EXPECT(tinytx_layernorm_steps_s8(NULL, &p, in8, in8, in8, table, out8), TINYTX_ERR_NULL);
	EXPECT(tinytx_layernorm_steps_s8(&ld, &p, in8, in8, in8, NULL, out8), TINYTX_ERR_NULL);
	EXPECT(tinytx_layernorm_steps_s8(&ld, &p, in8, in8, NULL, table, out8), TINYTX_ERR_NULL);
	ld.features = 0;
	EXPECT(tinytx_layernorm_steps_s8(&ld, &p, in8, in8, in8, table, out8), TINYTX_ERR_DIMS);
	ld.features = TINYTX_LAYERNORM_MAX_FEATURES + 1;
	EXPECT(tinytx_layernorm_steps_s8(&ld, &p, in8, in8, in8, table, out8), TINYTX_ERR_DIMS);
	ld.features = 4;
	ld.rows = 0;
	EXPECT(tinytx_layernorm_steps_s8(&ld, &p, in8, in8, in8, table, out8), TINYTX_ERR_DIMS);
	ld.rows = 2;
	p.mean.shift = 21; /* 31 - bit length of 255 * 4 */
	EXPECT(tinytx_layernorm_steps_s8(&ld, &p, in8, in8, in8, table, out8), TINYTX_OK);
	p.mean.shift = 22;
	EXPECT(tinytx_layernorm_steps_s8(&ld, &p, in8, in8, in8, table, out8), TINYTX_ERR_PARAM);
	p.mean.shift = 0;
	p.gamma.shift = 15;
	EXPECT(tinytx_layernorm_steps_s8(&ld, &p, in8, in8, in8, table, out8), TINYTX_ERR_PARAM);
	p.gamma.shift = 0;
	p.x_gamma.multiplier = -1;
	EXPECT(tinytx_layernorm_steps_s8(&ld, &p, in8, in8, in8, table, out8), TINYTX_ERR_PARAM);
	p.x_gamma.multiplier = 0;
	p.beta.shift_a = 1;
	EXPECT(tinytx_layernorm_steps_s8(&ld, &p, in8, in8, in8, table, out8), TINYTX_ERR_PARAM);
	p.beta.shift_a = 0;
	p.out.zero_point = 128;
	EXPECT(tinytx_layernorm_steps_s8(&ld, &p, in8, in8, in8, table, out8), TINYTX_ERR_PARAM);
	p.out.zero_point = 0;
	p.neg_zero_point = -129;
	EXPECT(tinytx_layernorm_steps_s8(&ld, &p, in8, in8, in8, table, out8), TINYTX_ERR_PARAM);
}

/* 1 when none of the n bytes at p was written since fill_guard. */
static int guard_intact(const void *p, size_t n)
{
	const uint8_t *b = (const uint8_t *)p;
	for (size_t i = 0; i < n; i++) {
		if (b[i] != 0x5A) {
			return 0;
		}
	}
	return 1;
}

static void fill_guard(void)
{
	memset(out8, 0x5A, sizeof(out8));
	memset(probs, 0x5A, sizeof(probs));
}

/*
 * Every scratch kernel with a scratch one byte short of its *_get_buffer_size (for the
 * cores it runs on): TINYTX_ERR_SCRATCH, and no output byte written. A kernel whose
 * variant needs no scratch takes a NULL context.
 */
static void scratch_size_checks(void)
{
	const tinytx_requant rq = {1 << 30, 31, 0};
	const int32_t cores = TT_NUM_CORES;
	tinytx_context short_ctx = {scratch, 0};
	int32_t need;

	const tinytx_linear_dims ld = {4, 8, 4, 1, TINYTX_LAYOUT_TOKEN_MAJOR};
	const tinytx_linear_params lp = {rq, {-128, 127}, NULL, NULL};
	need = tinytx_linear_buf_s8_get_buffer_size(&ld, cores);
	EXPECT(need >= 0 && need <= (int32_t)sizeof(scratch), 1);
	if (need > 0) {
		short_ctx.size = need - 1;
		fill_guard();
		EXPECT(tinytx_linear_buf_s8(&ld, &lp, in8, in8, NULL, out8, &short_ctx),
		       TINYTX_ERR_SCRATCH);
		EXPECT(guard_intact(out8, sizeof(out8)), 1);
	}
	short_ctx.size = 0; /* size 0: the scratch-free path, whatever the variant needs */
	EXPECT(tinytx_linear_buf_s8(&ld, &lp, in8, in8, NULL, out8, &short_ctx), TINYTX_OK);

	const tinytx_attention_dims ad = {2, 3, 5, 4, 2};
	need = tinytx_qk_softmax_s8_get_buffer_size(&ad, cores);
	EXPECT(need > 0 && need <= (int32_t)sizeof(scratch), 1);
	short_ctx.size = need - 1;
	fill_guard();
	EXPECT(tinytx_qk_softmax_s8(&ad, rq, in8, in8, probs, &short_ctx), TINYTX_ERR_SCRATCH);
	EXPECT(guard_intact(probs, sizeof(probs)), 1);
	short_ctx.size = need;
	EXPECT(tinytx_qk_softmax_s8(&ad, rq, in8, in8, probs, &short_ctx), TINYTX_OK);

	const tinytx_mhsa_dims d = {3, 4, 2, 2};
	const tinytx_mhsa_params mp = {rq, rq, rq, rq, rq, rq};
	const tinytx_mhsa_weights mw = {in8,	NULL, in8, NULL, in8, NULL, in8, NULL,
					{NULL, NULL}, {NULL, NULL}, {NULL, NULL}, {NULL, NULL}};
	const tinytx_fwsa_params fp = {rq, rq, rq, rq, rq};
	const tinytx_fwsa_weights fw = {in8, NULL, in8, NULL, in8, NULL};
	const int32_t tile = 2; /* tile rows of the depth-first blocks */
	for (int32_t x = 0; x < 4; x++) { /* the kernel: x in the failure message */
		const int32_t kind = x;
		need = kind == 0   ? tinytx_mhsa_s8_get_buffer_size(&d, cores)
		       : kind == 1 ? tinytx_fwsa_s8_get_buffer_size(&d, cores)
		       : kind == 2 ? tinytx_mhsa_dft_s8_get_buffer_size(&d, tile, cores)
				   : tinytx_fwsa_dft_s8_get_buffer_size(&d, tile, cores);
		EXPECT_TILE(need > 0 && need <= (int32_t)sizeof(scratch), 1);
		for (int32_t cut = 1; cut >= 0; cut--) {
			short_ctx.size = need - cut;
			fill_guard();
			const tinytx_context *sc = &short_ctx;
			const tinytx_status st =
				kind == 0   ? tinytx_mhsa_s8(&d, &mp, &mw, in8, out8, sc)
				: kind == 1 ? tinytx_fwsa_s8(&d, &fp, &fw, in8, out8, sc)
				: kind == 2 ? tinytx_mhsa_dft_s8(&d, tile, &mp, &mw, in8, out8, sc)
					    : tinytx_fwsa_dft_s8(&d, tile, &fp, &fw, in8, out8, sc);
			EXPECT_TILE(st, cut ? TINYTX_ERR_SCRATCH : TINYTX_OK);
			if (cut) {
				EXPECT_TILE(guard_intact(out8, sizeof(out8)), 1);
			}
		}
	}

	const tinytx_conv2d_dims cd = {4, 4, 2, 2, 2, 3, 3, 3, 1, 1, 0, 0, 0, 0, 0, 0, 0};
	const tinytx_conv2d_params cp = {rq, {-128, 127}, 0, NULL, NULL};
	need = tinytx_conv2d_s8_get_buffer_size(&cd, cores);
	EXPECT(need >= 0 && need <= (int32_t)sizeof(scratch), 1);
	if (need > 0) {
		short_ctx.size = need - 1;
		fill_guard();
		EXPECT(tinytx_conv2d_s8(&cd, &cp, in8, in8, NULL, out8, &short_ctx),
		       TINYTX_ERR_SCRATCH);
		EXPECT(guard_intact(out8, sizeof(out8)), 1);
	} else {
		EXPECT(tinytx_conv2d_s8(&cd, &cp, in8, in8, NULL, out8, NULL), TINYTX_OK);
	}
	short_ctx.size = need;
	EXPECT(tinytx_conv2d_s8(&cd, &cp, in8, in8, NULL, out8, &short_ctx), TINYTX_OK);
}

int tt_run_validation(int *checks)
{
	checks_run = 0;
	checks_failed = 0;
	linear_checks();
	zero_point_checks();
	attention_checks();
	block_checks();
	scratch_size_checks();
	elementwise_checks();
	layernorm_steps_checks();
	frontend_checks();
	movement_checks();
	lut_checks(); /* last: it writes in8 */
	*checks = checks_run;
	return checks_failed;
}
