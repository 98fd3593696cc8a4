/* attention_step.c — op "attention.step": one decode step of causal multi-head attention
 * with a KV cache, the inner loop of a streaming transformer (Moshi): the new token's
 * query attends to the cache and to its own key. The time of one run is the time per token.
 *
 * Sizes: H = heads, d = head_dim, L = cache_len (tokens already cached), W = window.
 * Input float32, one 1-D buffer packed in this order:
 *   Kc [H, L, d], Vc [H, L, d]   the cache: keys and values of tokens 0 .. L-1
 *   q [H, d], k [H, d], v [H, d]  token L's query, key and value
 * The new token sits at position L; key/value j is Kc[h, j] / Vc[h, j] for j < L and k[h] /
 * v[h] for j = L. It attends to j in (L - W, L] (all of 0..L when W = 0):
 *   o[h] = sum_j p_j V_j,  p = softmax_j(q[h] . K_j / sqrt(d)).
 * Output float32 [H, d]. This is row L of op "attention" with causal = 1, window = W on the
 * sequence Kc + k (the test compares them). An impl keeps its own cache (a ring of W slots
 * under a window), filled in load; run appends k, v and attends, so the record's workspace
 * is the KV cache's bytes: the memory a stream holds per layer. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "nndtype.h"
#include "nnrand.h"
#include "op.h"

#define SEED 0x57e95eedull

static const sono_param_spec params[] = {
    {.name = "heads", .type = SONO_PINT, .imin = 1, .imax = 256, .idflt = 8,
     .help = "attention heads"},
    {.name = "head_dim", .type = SONO_PINT, .imin = 1, .imax = 512, .idflt = 64,
     .help = "d, the size of each query, key and value vector"},
    /* not "cache": that is the common hot|cold parameter */
    {.name = "cache_len", .type = SONO_PINT, .imin = 0, .imax = 8192, .idflt = 512,
     .help = "L, tokens already in the KV cache; the new token is token L"},
    {.name = "window", .type = SONO_PINT, .imin = 0, .imax = 1 << 20, .idflt = 0,
     .help = "sliding window: keys j in (L - window, L]; 0: the whole cache"},
    SONO_NN_DTYPE_PARAM, /* issue 26 */
};

typedef struct dims {
    long long heads, d, len, window;
    long long first, nk; /* the first key the query sees, and how many */
} dims;

static dims get(const sono_params *p)
{
    dims a = {.heads = sono_param_int(p, "heads", 8), .d = sono_param_int(p, "head_dim", 64),
              .len = sono_param_int(p, "cache_len", 512),
              .window = sono_param_int(p, "window", 0)};
    a.first = a.window > 0 && a.len + 1 > a.window ? a.len + 1 - a.window : 0;
    a.nk = a.len + 1 - a.first;
    return a;
}

static int validate(const sono_params *p, sono_error *err)
{
    dims a = get(p);
    if (a.heads < 1 || a.d < 1 || a.len < 0 || a.window < 0)
        return sono_fail(err, SONO_EINVAL, "attention.step: heads=%lld, head_dim=%lld, "
                         "cache_len=%lld, window=%lld: heads and head_dim must be >= 1, the "
                         "others >= 0", a.heads, a.d, a.len, a.window);
    return 0;
}

static void shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    dims a = get(p);
    *in = (sono_buf){.dtype = SONO_F32, .ndim = 1,
                     .shape = {2 * a.heads * a.len * a.d + 3 * a.heads * a.d}};
    *out = (sono_buf){.dtype = SONO_F32, .ndim = 2, .shape = {a.heads, a.d}};
}

/* N(0, 1) values as op "attention" uses: scores of variance ~1, a softmax that is
 * neither one-hot nor flat. */
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
    sono_nn_round_buf(v, n, sono_nn_dtype_get(p)); /* issue 26: stored in dtype */
    return 0;
}

/* In double: the scores, their max subtracted before exp, the weighted sum of the values
 * divided by the sum of the weights. */
static int reference(const sono_params *p, const sono_buf *in, sono_buf *ref,
                     sono_error *err)
{
    dims a = get(p);
    long long want = 2 * a.heads * a.len * a.d + 3 * a.heads * a.d;
    if (sono_buf_elems(in) != want || sono_buf_elems(ref) != a.heads * a.d)
        return sono_fail(err, SONO_EINVAL, "attention.step reference: input has %lld values, "
                         "output %lld; the params give %lld and %lld", sono_buf_elems(in),
                         sono_buf_elems(ref), want, a.heads * a.d);
    double *w = malloc((size_t)a.nk * sizeof *w);
    if (!w)
        return sono_fail(err, SONO_ENOMEM, "attention.step reference: no memory for %lld "
                         "scores", a.nk);
    const float *Kc = in->data, *Vc = Kc + a.heads * a.len * a.d, *q = Vc + a.heads * a.len * a.d,
                *k = q + a.heads * a.d, *v = k + a.heads * a.d;
    double *o = ref->data, scale = 1.0 / sqrt((double)a.d);
    for (long long h = 0; h < a.heads; h++) {
        const float *qh = q + h * a.d;
        double m = -INFINITY, sum = 0;
        for (long long j = a.first; j <= a.len; j++) {
            const float *kj = j < a.len ? Kc + (h * a.len + j) * a.d : k + h * a.d;
            double s = 0;
            for (long long c = 0; c < a.d; c++)
                s += (double)qh[c] * (double)kj[c];
            w[j - a.first] = s * scale;
            m = w[j - a.first] > m ? w[j - a.first] : m;
        }
        double *oh = o + h * a.d;
        for (long long c = 0; c < a.d; c++)
            oh[c] = 0;
        for (long long j = a.first; j <= a.len; j++) {
            const float *vj = j < a.len ? Vc + (h * a.len + j) * a.d : v + h * a.d;
            double e = exp(w[j - a.first] - m);
            sum += e;
            for (long long c = 0; c < a.d; c++)
                oh[c] += e * (double)vj[c];
        }
        for (long long c = 0; c < a.d; c++)
            oh[c] /= sum;
    }
    free(w);
    return 0;
}

/* 4*heads*d per key seen (2d for the score, 2d for its share of p V), as op "attention"
 * counts. Bytes: what a step must read, the keys and values it sees (the cache is the
 * traffic: a decode step is memory-bound), plus q, k, v and o once. */
static void cost(const sono_params *p, sono_cost *c)
{
    dims a = get(p);
    c->flops = 4.0 * (double)a.heads * (double)a.d * (double)a.nk;
    c->bytes = 4.0 * (double)a.heads * (double)a.d * (2.0 * (double)a.nk + 4.0);
}

/* As op "attention" for one row of nk keys: the score is a dot product of d terms, the
 * weighted sum and the normaliser sums of nk terms; 16 eps for expf and rescaling.
 * Measured (issue 29, ci/tolerance-table.py on suites/codecs' attention_step rows): worst
 * honest rel_l2 5.5e-7 (cpu/naive) against 7.1e-5, 129x. The reason it stays: LINEAR is
 * the worst case of a sequential float sum of nk = 8192 terms (eps nk), which seeded
 * random-sign inputs reach only as eps sqrt(nk); a dropped key, a missing 1/sqrt(d) or a
 * stale cache slot moves the output by >= 1e-3, 14x above it (tests/mutants). */
static double tolerance(const sono_params *p, sono_err_growth g)
{
    dims a = get(p);
    double d = (double)(a.d > 16 ? a.d : 16), s = (double)(a.nk > 16 ? a.nk : 16);
    /* issue 26: + 4 u_d for a kernel that rounds the weights P to d before P V, as op
     * "attention" argues (harness/ops/attention.c, dtype_term) */
    sono_nn_dtype t = sono_nn_dtype_get(p);
    double du = t == SONO_NN_F32 ? 0.0 : 4.0 * sono_nn_dtype_unit(t);
    if (g == SONO_ERR_LINEAR)
        return FLT_EPSILON * (d + s + 16) + du;
    return FLT_EPSILON * (4 * (log2(d) + log2(s)) + 16) + du;
}

/* Seeded vectors: no seconds of audio behind a run. */
static double no_audio(const sono_params *p)
{
    (void)p;
    return 0;
}

const sono_op sono_op_attention_step = {
    .name = "attention.step",
    .summary = "one attention decode step: a new query against a KV cache of cache_len [heads, d]",
    .params = params,
    .nparams = sizeof params / sizeof params[0],
    .validate = validate,
    .shapes = shapes,
    .reference = reference,
    .cost = cost,
    .tolerance = tolerance,
    .input = input,
    .audio_seconds = no_audio,
    .size_param = "cache_len",
    .size_label = "KV cache length (keys)",
    .merit = SONO_MERIT_GFLOPS,
};
