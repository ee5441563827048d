/*
 * tinytx public types: status codes, quantization parameters and the dims/params
 * structs of every kernel. C99, no dependencies beyond <stdint.h>.
 */
#ifndef TINYTX_TYPES_H
#define TINYTX_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
	TINYTX_OK = 0,
	TINYTX_ERR_NULL = -1,  /* a required pointer is NULL */
	TINYTX_ERR_DIMS = -2,  /* a dimension is zero, negative, inconsistent or too large */
	TINYTX_ERR_PARAM = -3, /* a quantization parameter is out of its documented range */
	TINYTX_ERR_SCRATCH = -4, /* scratch missing or below the kernel's *_get_buffer_size */
} tinytx_status;

/*
 * The scratch of a kernel call (CMSIS-NN style): buf, 4-byte aligned, of size bytes. A
 * kernel refuses (TINYTX_ERR_SCRATCH, before touching any memory) a context that is
 * missing or smaller than its *_get_buffer_size(dims, tinytx_parallel_num_cores()).
 */
typedef struct {
	void *buf;
	int32_t size;
} tinytx_context;

/* Limits shared with the golden model (tinytx.core.golden). */
#define TINYTX_MAX_REDUCTION 65535 /* inner (K) dimension: keeps int32 accumulators exact */
#define TINYTX_SOFTMAX_MAX_KV 1024 /* keys per softmax row: keeps the uint32 row sum exact */
#define TINYTX_LAYERNORM_MAX_FEATURES 4096
#define TINYTX_BIAS_BOUND (1L << 30)
#define TINYTX_REQUANT_SHIFT_MAX 62      /* tinytx_requant.shift: 1..62 */
#define TINYTX_ADD_MULTIPLIER_MAX (1L << 22) /* tinytx_add_params.m_a, m_b */
#define TINYTX_ADD_SHIFT_MAX 31           /* tinytx_add_params.shift: 1..31 */
#define TINYTX_GELU_Q_ONE_LIMIT (1L << 22) /* tinytx_gelu_params.q_one < this */

/*
 * Requantization factor multiplier / 2^shift, 0 <= multiplier < 2^31, 1 <= shift <= 62,
 * and the output zero point (-128..127) added after the rounding shift:
 * y = clamp(((acc * multiplier + 2^(shift-1)) >> shift) + zero_point). Factors that do
 * not produce a tensor (softmax logits, the LayerNorm row normalizer) ignore it. An
 * initializer {m, s} leaves zero_point 0 (symmetric).
 */
typedef struct {
	int32_t multiplier;
	int32_t shift;
	int32_t zero_point;
} tinytx_requant;

/* Output clamp, -128 <= min <= max <= 127 (fused ReLU is min = zero point). */
typedef struct {
	int32_t min;
	int32_t max;
} tinytx_activation;

typedef enum {
	TINYTX_LAYOUT_TOKEN_MAJOR = 0,  /* [S][N] */
	TINYTX_LAYOUT_HEAD_MAJOR = 1,   /* [H][S][P], N = H * P */
	TINYTX_LAYOUT_HEAD_MAJOR_T = 2, /* [H][P][S] */
} tinytx_layout;

typedef struct {
	int32_t rows;         /* S: tokens */
	int32_t in_features;  /* K */
	int32_t out_features; /* N = heads * head_dim */
	int32_t heads;        /* H, 1 for TOKEN_MAJOR */
	tinytx_layout layout;
} tinytx_linear_dims;

/*
 * multipliers/shifts: NULL (per-tensor: requant's factor) or one factor per output
 * feature, [out_features] each (per-channel weight scales); requant.zero_point and act
 * apply to every feature either way.
 */
typedef struct {
	tinytx_requant requant;
	tinytx_activation act;
	const int32_t *multipliers;
	const int32_t *shifts;
} tinytx_linear_params;

typedef struct {
	int32_t heads;    /* H */
	int32_t q_rows;   /* query rows processed by this call */
	int32_t kv_rows;  /* S_kv: keys / values */
	int32_t head_dim; /* P (for FWSA: E) */
	int32_t k_heads;  /* heads in K: H, or 1 when all heads share K (FWSA: K = X) */
} tinytx_attention_dims;

typedef struct {
	int32_t seq_len;   /* S */
	int32_t embed_dim; /* E */
	int32_t heads;     /* H */
	int32_t head_dim;  /* P */
} tinytx_mhsa_dims;

/* Per-channel factors of one projection: both NULL (per-tensor) or one per row. */
typedef struct {
	const int32_t *multipliers;
	const int32_t *shifts;
} tinytx_channels;

typedef struct {
	const int8_t *wq; /* [H*P][E] */
	const int32_t *bq; /* [H*P] or NULL */
	const int8_t *wk;
	const int32_t *bk;
	const int8_t *wv;
	const int32_t *bv;
	const int8_t *wo; /* [E][H*P] */
	const int32_t *bo; /* [E] or NULL */
	/* per-channel weight scales: the factors of q, k, v ([H*P] each) and out ([E])
	 * replace params->q/k/v/out's factor (their zero point stays); NULL: per-tensor */
	tinytx_channels q_ch, k_ch, v_ch, out_ch;
} tinytx_mhsa_weights;

typedef struct {
	tinytx_requant q, k, v;
	tinytx_requant softmax; /* raw score -> Q10 logit */
	tinytx_requant av;
	tinytx_requant out;
} tinytx_mhsa_params;

typedef struct {
	const int8_t *wt;  /* [H*E][E]: fused W_h = Wq_h Wk_h^T, stored transposed per head */
	const int32_t *bt; /* [H*E] or NULL: fused key bias Wk_h bq_h */
	const int8_t *wv;  /* [H*P][E] */
	const int32_t *bv;
	const int8_t *wo;  /* [E][H*P] */
	const int32_t *bo;
} tinytx_fwsa_weights;

typedef struct {
	tinytx_requant t, v;
	tinytx_requant softmax;
	tinytx_requant av;
	tinytx_requant out;
} tinytx_fwsa_params;

typedef struct {
	int32_t rows;     /* tokens */
	int32_t features; /* E, normalized over */
} tinytx_layernorm_dims;

typedef struct {
	tinytx_requant requant; /* factor s_gamma / 128 / s_out */
	int32_t eps_q16;        /* eps / s_in^2 * 2^16, >= 0 */
} tinytx_layernorm_params;

typedef struct {
	int32_t q_clip;         /* floor(1.769 / (s_in / sqrt 2)), >= 1 */
	int32_t q_one;          /* floor(1 / (0.2888 * (s_in / sqrt 2)^2)), < 2^22, >= q_clip^2 */
	tinytx_requant requant; /* factor s_in / (2 * q_one) / s_out, output zero point */
	int32_t input_zero_point; /* -128..127 */
} tinytx_gelu_params;

/*
 * y = clamp(((a * m_a + b * m_b + offset + 2^(shift-1)) >> shift) + zero_point, act);
 * offset = -(z_a * m_a + z_b * m_b) folds the input zero points. A nonzero offset
 * needs 128 * (m_a + m_b) + |offset| + 2^(shift-1) <= 2^31 - 1.
 */
typedef struct {
	int32_t m_a; /* 0 <= m_a, m_b <= 2^22 */
	int32_t m_b;
	int32_t shift; /* 1..31 */
	tinytx_activation act;
	int32_t offset;
	int32_t zero_point; /* -128..127 */
} tinytx_add_params;

/*
 * Convolution frontends (tinytx/core/golden/conv.py, pool.py). One image, channels last:
 * input [in_h][in_w][in_c], output [out_h][out_w][out_c] with
 * out_h = (in_h + pad_top + pad_bottom - kernel_h) / stride_h + 1 (likewise out_w);
 * the kernels check that out_h/out_w equal this. Padded positions hold pad_value,
 * the input zero point (with the zero point folded into the bias: b - z * sum(w)).
 */
#define TINYTX_MAX_DIM 32767 /* any image side, kernel side, stride or pad */

typedef struct {
	int32_t in_h, in_w, in_c;
	int32_t out_h, out_w, out_c; /* depthwise: out_c == in_c */
	int32_t kernel_h, kernel_w;
	int32_t stride_h, stride_w;
	int32_t pad_top, pad_left, pad_bottom, pad_right;
	/* 0 (what an initializer leaves out) or 1: none. Dilation: taps dilation_h rows and
	 * dilation_w columns apart, the window spans (kernel_h - 1) * dilation_h + 1 rows,
	 * which replaces kernel_h in out_h. depth_multiplier (depthwise only): out_c =
	 * in_c * depth_multiplier, output channel c filters input channel c / multiplier. */
	int32_t dilation_h, dilation_w;
	int32_t depth_multiplier;
} tinytx_conv2d_dims;

typedef struct {
	tinytx_requant requant; /* s_in * s_w / s_out, output zero point */
	tinytx_activation act;  /* fused ReLU: min = output zero point */
	int32_t pad_value;      /* -128..127: the input zero point */
	const int32_t *multipliers; /* NULL or [out_c]: per-channel factors (as linear) */
	const int32_t *shifts;
} tinytx_conv2d_params;

/* Pooling: each pad must be smaller than the kernel side it pads. */
typedef struct {
	int32_t in_h, in_w, channels;
	int32_t out_h, out_w;
	int32_t kernel_h, kernel_w;
	int32_t stride_h, stride_w;
	int32_t pad_top, pad_left, pad_bottom, pad_right;
} tinytx_pool2d_dims;

typedef struct {
	tinytx_requant requant;    /* s_in / s_out, WITHOUT the 1/count (the kernel divides) */
	tinytx_activation act;
	int32_t count_include_pad; /* 0 (ONNX default): count = pixels inside the image; 1: KH*KW */
	int32_t input_zero_point;  /* -128..127, subtracted from each pixel inside the image */
	/* 1: TFLite's int8 AVERAGE_POOL_2D (requant the identity, multiplier == 2^shift, and
	 * requant.zero_point == input_zero_point): the average of the codes themselves, rounded
	 * half away from zero, then the clamp; 0 (default): the rounding above. */
	int32_t tflite_rounding;
} tinytx_avgpool2d_params;

typedef struct {
	int32_t rows;     /* S, averaged over (<= TINYTX_MAX_REDUCTION) */
	int32_t features; /* E */
} tinytx_mean_rows_dims;

typedef struct {
	tinytx_requant requant; /* s_in / (S * s_out): includes the 1/S */
	tinytx_activation act;
	int32_t input_zero_point; /* -128..127 */
} tinytx_mean_rows_params;

/*
 * A sparse int8 weight matrix W [rows][cols] stored by its entries (the converter writes
 * it from the dense weights; docs/kernel-api.md). linear: [out_features][in_features];
 * conv2d: [out_c][kernel_h * kernel_w * in_c], the dense weights' order. An entry is one
 * value (TINYTX_SPARSE_UNSTRUCTURED) or 4 consecutive values along cols
 * (TINYTX_SPARSE_BLOCK4: block column c / 4; cols padded with zeros to a multiple of 4).
 * Row r holds entries row_ptr[r] .. row_ptr[r + 1] - 1 in increasing position; an
 * entry's position is the running sum of the row's gaps from 0 (the first gap is the
 * first position, 0..255; later gaps are 1..255). Longer distances are bridged by
 * entries whose values are all zero, so every gap fits a byte. A row without entries contributes bias only. The semantics are
 * the dense kernel's on the decoded matrix, bit for bit.
 */
#define TINYTX_SPARSE_MAX_ENTRIES 65535 /* row_ptr is uint16 */

typedef enum {
	TINYTX_SPARSE_UNSTRUCTURED = 1, /* one value per entry */
	TINYTX_SPARSE_BLOCK4 = 4,       /* 1 x 4 blocks along the reduction axis */
} tinytx_sparse_format;

typedef struct {
	int32_t format; /* tinytx_sparse_format: the values per entry */
	int32_t rows;
	int32_t cols;
	const uint16_t *row_ptr; /* [rows + 1]: row_ptr[0] = 0, row_ptr[rows] = entries */
	const uint8_t *gaps;     /* [entries] */
	const int8_t *values;    /* [entries * format]; 4-byte aligned for BLOCK4 */
} tinytx_sparse_weights;

/*
 * Gather of constant indices along one axis (tinytx/core/golden/gather.py): the input
 * is [outer][axis_len][block], the output rows are out_stride elements apart and
 * output[o * out_stride + j * block + b] = input[(o * axis_len + indices[j]) * block + b]
 * for j < count (out_stride >= count * block; a concatenation writes each input's
 * columns of a wider output).
 */
typedef struct {
	int32_t outer;
	int32_t axis_len;
	int32_t block;
	int32_t count;
	int32_t out_stride;
} tinytx_gather_dims;

/*
 * Element-wise product, TFLite's integer reference MUL (tinytx/core/golden/mul.py):
 * y = clamp(zero_point + MultiplyByQuantizedMultiplier((a - a_zero_point) *
 * (b - b_zero_point), multiplier, shift), act), multiplier / 2^31 * 2^shift = s_a s_b / s_y.
 */
#define TINYTX_MUL_LEFT_SHIFT_MAX 14 /* tinytx_mul_params.shift: -31..14 (2^16 * 2^14 < 2^31) */
typedef struct {
	int32_t multiplier; /* 2^30..2^31-1 */
	int32_t shift;      /* > 0: left shift of the product first; < 0: rounding right shift */
	int32_t zero_point; /* -128..127: the output's */
	tinytx_activation act;
	int32_t a_zero_point; /* -128..127 */
	int32_t b_zero_point; /* -128..127 */
} tinytx_mul_params;

/*
 * TFLite's int8 arithmetic (its reference kernels), for ops that must equal the TFLite
 * interpreter bit for bit (tinytx/core/golden/layernorm_steps.py). A factor is
 * multiplier * 2^(shift - 31): MultiplyByQuantizedMultiplier, i.e. a left shift by
 * max(shift, 0), the rounding doubling high multiply, then a rounding (half away from
 * zero) right shift by max(-shift, 0). 0 <= multiplier < 2^31; shift -31..0 except where
 * a struct says otherwise.
 */
typedef struct {
	int32_t zero_point_a, zero_point_b; /* inputs */
	int32_t multiplier, shift;          /* s_a * s_b / s_out; shift -31..14 */
	int32_t zero_point;                 /* output */
} tinytx_tfl_mul_params;

/* ADD (left shift 20) or SQUARED_DIFFERENCE (left shift 7): each input by its factor,
 * then the sum (or the squared difference) by the output factor. */
typedef struct {
	int32_t zero_point_a, zero_point_b;
	int32_t multiplier_a, shift_a;
	int32_t multiplier_b, shift_b;
	int32_t multiplier, shift;
	int32_t zero_point;
} tinytx_tfl_add_params;

/* MEAN over the features of a row; the factor includes 1 / E; shift -31..(31 - bits of
 * 255 * E). */
typedef struct {
	int32_t zero_point_in;
	int32_t multiplier, shift;
	int32_t zero_point;
} tinytx_tfl_mean_params;

/* The decomposed LayerNorm of the TFLite converter, step by step (all int32 fields). */
typedef struct {
	tinytx_tfl_mean_params mean;               /* m = MEAN(x) */
	int32_t neg_zero_point;                    /* nm = clamp(z_nm - (m - z_m)) */
	tinytx_tfl_add_params squared_difference;  /* d = SQUARED_DIFFERENCE(x, m) */
	tinytx_tfl_mean_params var;                /* v = MEAN(d); r = table[(uint8_t)v] */
	tinytx_tfl_mul_params gamma;               /* g = MUL(r, gamma) */
	tinytx_tfl_mul_params x_gamma;             /* xg = MUL(x, g) */
	tinytx_tfl_mul_params mean_gamma;          /* mg = MUL(nm, g) */
	tinytx_tfl_add_params beta;                /* bm = ADD(mg, beta) */
	tinytx_tfl_add_params out;                 /* y = ADD(xg, bm) */
} tinytx_layernorm_steps_params;

/* Tokens of tinytx_attention_steps_s8: the sum of a softmax row's exponentials (each up
 * to 2^19 in Q12.19) stays below 2^28, as TFLite's reciprocal needs. */
#define TINYTX_ATTENTION_STEPS_MAX_SEQ 511

/* Self-attention's scores, softmax and A*V (tinytx_attention_steps_s8): S tokens
 * (1..TINYTX_ATTENTION_STEPS_MAX_SEQ), H heads of P values (1..TINYTX_MAX_REDUCTION / 2: a sum of
 * P products of zero-pointed codes, up to 255^2 each, stays within int32). */
typedef struct {
	int32_t seq_len;  /* S */
	int32_t heads;    /* H */
	int32_t head_dim; /* P */
} tinytx_attention_steps_dims;

/* TFLite's int8 reference SOFTMAX (output scale 1/256, zero point -128): the input
 * difference to the row maximum times 2^left_shift (0..30) by multiplier is Q5.26;
 * differences below diff_min (-radius..0) give -128. */
typedef struct {
	int32_t multiplier, left_shift;
	int32_t diff_min;
} tinytx_tfl_softmax_params;

/* The attention steps of the TFLite converter (all int32 fields). The BATCH_MATMULs are
 * requantized like MUL (one sum of products instead of one product); their shift goes up
 * to 31 - the bit length of 255^2 times the terms (P for the scores, S for A*V). */
typedef struct {
	tinytx_tfl_mul_params scores;      /* s = BATCH_MATMUL(q, k^T): a = q, b = k */
	tinytx_tfl_mul_params scale;       /* t = MUL(s, scale_code); a = s */
	int32_t scale_code;                /* the scalar constant's code */
	tinytx_tfl_softmax_params softmax; /* a = SOFTMAX(t) */
	tinytx_tfl_mul_params av;          /* o = BATCH_MATMUL(a, v): a zero point -128 */
} tinytx_attention_steps_params;

#ifdef __cplusplus
}
#endif

#endif /* TINYTX_TYPES_H */
