/* attention.c — op "attention": multi-head scaled dot-product attention, batch 1, with an
 * optional causal mask and sliding window. Input float32, one 1-D buffer packed [Q | K | V],
 * each [heads, seq, head_dim] row-major; output float32 [heads, seq, head_dim]:
 *   O[h, i] = sum_j P[h, i, j] V[h, j],  P[h, i, :] = softmax_j(Q[h, i] . K[h, j] / sqrt(d)
 *             + M[i, j]),  M[i, j] = -inf for j > i when causal = 1, and for j <= i - window
 *             when window > 0 (a sliding window of the last `window` keys: j in
 *             (i - window, i]; window needs causal = 1), else 0.
 * Streaming (causal = 1): the input is {3 * heads, seq, d} (q, k, v of one token per step),
 * the output {heads, seq, d}; token i needs tokens <= i only, so an impl keeps a KV cache
 * (a ring of `window` entries when window > 0) and emits row i when token i arrives.
 * Q, K, V are seeded N(0, 1) values (a fixed seed; the suite's signal does not enter, so
 * run it with inputs = noise): unit-variance entries as after a LayerNorm, so the scores
 * have variance ~1 and the softmax is neither one-hot nor flat. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "nndtype.h"
#include "nnrand.h"
#include "op.h"

#define SEED 0xa77e5eedull
/* The reference costs ~2 multiply-adds per heads*seq^2*head_dim in double, a few ns
 * each: 2^36 (8 heads of 8192 x 128) is about a minute; past it, minutes. */
#define MAX_WORK (1LL << 36)

static const sono_param_spec params[] = {
    {.name = "seq", .type = SONO_PINT, .imin = 1, .imax = 16384, .idflt = 1024,
     .help = "sequence length (queries = keys)"},
    {.name = "heads", .type = SONO_PINT, .imin = 1, .imax = 256, .idflt = 8,
     .help = "attention heads"},
    {.name = "head_dim", .type = SONO_PINT, .imin = 1, .imax = 512, .idflt = 64,
     .help = "d, the size of each query, key and value vector (64 or 128 in practice)"},
    {.name = "causal", .type = SONO_PINT, .imin = 0, .imax = 1, .idflt = 0,
     .help = "1: query i attends to keys j <= i only"},
    /* issue 12 (streaming): sliding-window attention and the token rate of a stream */
    {.name = "window", .type = SONO_PINT, .imin = 0, .imax = 1 << 20, .idflt = 0,
     .help = "sliding window: query i attends to keys j in (i - window, i]; 0: unlimited "
             "(needs causal=1 when > 0)",
     .late = 1},
    {.name = "token_rate", .type = SONO_PREAL, .rmin = 0.1, .rmax = 1e6, .rdflt = 12.5,
     .help = "tokens per second of audio when streamed (12.5: Mimi/Moshi's frame rate)",
     .late = 1},
    SONO_NN_DTYPE_PARAM, /* issue 26 */
};

typedef struct dims {
    long long seq, heads, d, window;
    int causal;
} dims;

static dims get(const sono_params *p)
{
    return (dims){.seq = sono_param_int(p, "seq", 1024),
                  .heads = sono_param_int(p, "heads", 8),
                  .d = sono_param_int(p, "head_dim", 64),
                  .window = sono_param_int(p, "window", 0),
                  .causal = (int)sono_param_int(p, "causal", 0)};
}

static int validate(const sono_params *p, sono_error *err)
{
    dims a = get(p);
    if (a.window > 0 && !a.causal)
        return sono_fail(err, SONO_EINVAL, "attention: window=%lld needs causal=1 (the window "
                         "is the last `window` keys up to the query)", a.window);
    if (a.heads * a.seq * a.seq > MAX_WORK / a.d)
        return sono_fail(err, SONO_EINVAL,
                         "attention: heads*seq^2*head_dim = %lld*%lld^2*%lld exceeds 2^36: the "
                         "float64 reference would take minutes; use fewer heads", a.heads,
                         a.seq, a.d);
    return 0;
}

static void shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    dims a = get(p);
    long long n = a.heads * a.seq * a.d;
    *in = (sono_buf){.dtype = SONO_F32, .ndim = 1, .shape = {3 * n}};
    *out = (sono_buf){.dtype = SONO_F32, .ndim = 3, .shape = {a.heads, a.seq, a.d}};
}

static int input(const sono_params *p, const struct sono_input_spec *spec, double rate,
                 sono_buf *in, sono_error *err)
{
    (void)spec;
    (void)rate;
    (void)err;
    uint64_t s = SEED;
    float *v = in->data;
    long long n = sono_buf_elems(in);
    for (long long i = 0; i < n; i++)
        v[i] = (float)sono_nn_normal(&s);
    sono_nn_round_buf(v, n, sono_nn_dtype_get(p)); /* issue 26: Q, K, V stored in dtype */
    return 0;
}

/* Per query: the scores in double, their max subtracted before exp (so no term overflows
 * and the largest is exactly 1), the weighted sum of V, divided by the sum of weights. */
static int reference(const sono_params *p, const sono_buf *in, sono_buf *ref,
                     sono_error *err)
{
    dims a = get(p);
    long long n = a.heads * a.seq * a.d;
    if (sono_buf_elems(in) != 3 * n || sono_buf_elems(ref) != n)
        return sono_fail(err, SONO_EINVAL, "attention reference: input has %lld values, "
                         "output %lld; the params give %lld and %lld", sono_buf_elems(in),
                         sono_buf_elems(ref), 3 * n, n);
    size_t hs = (size_t)(a.seq * a.d);
    double *k = malloc(hs * sizeof *k), *v = malloc(hs * sizeof *v),
           *w = malloc((size_t)a.seq * sizeof *w);
    if (!k || !v || !w) {
        free(k);
        free(v);
        free(w);
        return sono_fail(err, SONO_ENOMEM, "attention reference: no memory for one head "
                         "(seq=%lld, head_dim=%lld) in double", a.seq, a.d);
    }
    const float *Q = in->data, *K = Q + n, *V = K + n;
    double *O = ref->data, scale = 1.0 / sqrt((double)a.d);
    for (long long h = 0; h < a.heads; h++) {
        for (size_t i = 0; i < hs; i++) {
            k[i] = K[h * (long long)hs + (long long)i];
            v[i] = V[h * (long long)hs + (long long)i];
        }
        for (long long i = 0; i < a.seq; i++) {
            const float *q = Q + h * (long long)hs + i * a.d;
            long long nk = a.causal ? i + 1 : a.seq;
            long long j0 = a.window > 0 && i + 1 > a.window ? i + 1 - a.window : 0;
            double m = -INFINITY;
            for (long long j = j0; j < nk; j++) {
                const double *kj = k + j * a.d;
                double s = 0;
                for (long long c = 0; c < a.d; c++)
                    s += (double)q[c] * kj[c];
                w[j] = s * scale;
                m = w[j] > m ? w[j] : m;
            }
            double *o = O + h * (long long)hs + i * a.d, sum = 0;
            for (long long c = 0; c < a.d; c++)
                o[c] = 0;
            for (long long j = j0; j < nk; j++) {
                double e = exp(w[j] - m);
                const double *vj = v + j * a.d;
                sum += e;
                for (long long c = 0; c < a.d; c++)
                    o[c] += e * vj[c];
            }
            for (long long c = 0; c < a.d; c++)
                o[c] /= sum;
        }
    }
    free(k);
    free(v);
    free(w);
    return 0;
}

/* 4*heads*d per (query, key) pair: 2d for the score, 2d for its share of P V (the
 * softmax's exp and sums are not counted, as FlashAttention counts); pairs = seq^2, or
 * seq(seq+1)/2 under the causal mask, less the pairs a window drops. Bytes: Q, K, V and O
 * once. */
static void cost(const sono_params *p, sono_cost *c)
{
    dims a = get(p);
    double s = (double)a.seq, pairs = a.causal ? s * (s + 1) / 2 : s * s;
    if (a.window > 0 && a.window < a.seq) {
        double w = (double)a.window; /* rows i >= w see w keys, the first w rows i + 1 */
        pairs = w * (w + 1) / 2 + (s - w) * w;
    }
    c->flops = 4.0 * (double)a.heads * (double)a.d * pairs;
    /* issue 26: Q, K, V in the dtype's storage, O in float32 */
    c->bytes = (3.0 * sono_nn_dtype_bytes(sono_nn_dtype_get(p)) + 4.0) *
               (double)(a.heads * a.seq * a.d);
}

/* Errors, relative to an output row: a score is a float32 dot product of d terms, off by
 * ~eps*sqrt(d) typically (eps*d at worst); exp turns an error in a score into the same
 * relative error in its weight (softmax is well conditioned: d log p / d s <= 1). The
 * weighted sum of V and the normaliser are sums of up to seq terms: eps*sqrt(seq)
 * typically, eps*seq at worst. LINEAR takes the worst-case growth of both plus 16 eps for
 * expf and the rescaling of a streaming softmax; a dropped key costs ~1/sqrt(seq), a
 * mask off by one ~1/sqrt(i) on row i. LOG (blocked sums) takes 4 eps log2 of each. */
/* issue 26, dtype d != f32: the reference sees the rounded Q, K, V, so the products of
 * the scores are exact in float32 (an 8x8-bit, 11x11-bit significand product fits float32's
 * 24) and accumulate in float32: the terms above. The one rounding to d in a tensor-core
 * kernel is P's, each weight off by a relative u_d before P V (the mma takes P in d); the
 * errors are independent across the seq terms of a row, so the row's relative error is
 * ~u_d sqrt(sum p_j^2 v_j^2) / |sum p_j v_j|, about u_d for random V; 4 u_d leaves room
 * for rows that partly cancel, while a dropped key or a wrong mask costs ~1/sqrt(seq)
 * (>= 7.8e-3 up to seq 16384, above 4 u_bf16 = 1.6e-2 only from seq 4096 on: there the
 * float32 checks of the same kernel catch them). An impl that computes float32 on the
 * rounded inputs stays within the float32 terms alone. */
static double dtype_term(const sono_params *p)
{
    sono_nn_dtype t = sono_nn_dtype_get(p);
    return t == SONO_NN_F32 ? 0.0 : 4.0 * sono_nn_dtype_unit(t);
}

static double tolerance(const sono_params *p, sono_err_growth g)
{
    dims a = get(p);
    double d = (double)(a.d > 16 ? a.d : 16), s = (double)(a.seq > 16 ? a.seq : 16);
    if (g == SONO_ERR_LINEAR)
        return FLT_EPSILON * (d + s + 16) + dtype_term(p);
    return FLT_EPSILON * (4 * (log2(d) + log2(s)) + 16) + dtype_term(p);
}

/* Seeded Q, K, V: no seconds of audio to compare the time with. */
static double no_audio(const sono_params *p)
{
    (void)p;
    return 0;
}

/* Causal attention streams by tokens: row i waits for token i and nothing later, so the
 * algorithmic latency is one token (its frame, at token_rate); without the mask every row
 * needs the last token, and the op does not stream. */
static int stream_shape(const sono_params *p, sono_stream_shape *s, sono_error *err)
{
    dims a = get(p);
    if (!a.causal)
        return sono_fail(err, SONO_EUNSUPPORTED, "attention: streams only with causal=1 (a "
                         "query without the mask needs every later key)");
    double rate = sono_param_real(p, "token_rate", 12.5);
    *s = (sono_stream_shape){.in = {3 * a.heads, a.seq, a.d},
                             .out = {a.heads, a.seq, a.d},
                             .step_rate = rate,
                             .algo_latency_s = 1.0 / rate};
    return 0;
}

const sono_op sono_op_attention = {
    .name = "attention",
    .summary = "multi-head scaled dot-product attention, optional causal mask [heads, seq, d]",
    .params = params,
    .nparams = sizeof params / sizeof params[0],
    .validate = validate,
    .shapes = shapes,
    .reference = reference,
    .cost = cost,
    .tolerance = tolerance,
    .input = input,
    .audio_seconds = no_audio,
    .stream_shape = stream_shape,
    .size_param = "seq",
    .size_label = "sequence length (queries = keys)",
    .merit = SONO_MERIT_GFLOPS,
};
