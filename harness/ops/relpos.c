/* relpos.c — op "attention.relpos": WavLM's gated relative-position-bias attention
 * (definitions and the packed input in relpos.h), beside op "attention", checked against
 * ref/relpos64.c. Seeded operands, so no audio: measured by GFLOP/s. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "nnrand.h"
#include "relpos.h"

#define SEED 0x5e1a7b05eedull
/* As attention's: heads*seq^2*head_dim past 2^36 makes the reference take minutes. */
#define MAX_WORK (1LL << 36)

static const sono_param_spec params[] = {
    {.name = "seq", .type = SONO_PINT, .imin = 1, .imax = 16384, .idflt = 500,
     .help = "sequence length (frames: 50 per second of audio, 1500 = 30 s)"},
    {.name = "heads", .type = SONO_PINT, .imin = 1, .imax = 256, .idflt = 12,
     .help = "attention heads (12 in WavLM Base, 16 in Large)"},
    {.name = "head_dim", .type = SONO_PINT, .imin = 1, .imax = 512, .idflt = 64,
     .help = "D, size of each head's query, key, value (64 in WavLM)"},
    {.name = "num_buckets", .type = SONO_PINT, .imin = 4, .imax = 4096, .idflt = 320,
     .help = "relative-position buckets, half for each direction (WavLM: 320)"},
    {.name = "max_distance", .type = SONO_PINT, .imin = 2, .imax = 1 << 20, .idflt = 800,
     .help = "distance at which the log-spaced buckets end (WavLM: 800)"},
};

int sono_relpos_dims_get(const sono_params *p, sono_relpos_dims *d, sono_error *err)
{
    d->seq = sono_param_int(p, "seq", 500);
    d->heads = sono_param_int(p, "heads", 12);
    d->d = sono_param_int(p, "head_dim", 64);
    d->buckets = sono_param_int(p, "num_buckets", 320);
    d->max_distance = sono_param_int(p, "max_distance", 800);
    d->n = d->heads * d->seq * d->d;
    d->nin = 4 * d->n + d->buckets * d->heads + 8 * d->d + 8 + d->heads;
    if (d->buckets % 4 || d->max_distance <= d->buckets / 4)
        return sono_fail(err, SONO_EINVAL, "attention.relpos: num_buckets=%lld must be a "
                         "multiple of 4 and max_distance=%lld above num_buckets/4 (where the "
                         "exact buckets end)", d->buckets, d->max_distance);
    if (d->heads * d->seq * d->seq > MAX_WORK / d->d)
        return sono_fail(err, SONO_EINVAL, "attention.relpos: heads*seq^2*head_dim = "
                         "%lld*%lld^2*%lld exceeds 2^36: the float64 reference would take "
                         "minutes", d->heads, d->seq, d->d);
    return 0;
}

static int validate(const sono_params *p, sono_error *err)
{
    sono_relpos_dims d;
    return sono_relpos_dims_get(p, &d, err);
}

static void shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    sono_relpos_dims d;
    if (sono_relpos_dims_get(p, &d, NULL))
        d = (sono_relpos_dims){.heads = 1, .seq = 1, .d = 1, .nin = 1};
    *in = (sono_buf){.dtype = SONO_F32, .ndim = 1, .shape = {d.nin}};
    *out = (sono_buf){.dtype = SONO_F32, .ndim = 3, .shape = {d.heads, d.seq, d.d}};
}

static int input(const sono_params *p, const struct sono_input_spec *spec, double rate,
                 sono_buf *in, sono_error *err)
{
    (void)spec;
    (void)rate;
    sono_relpos_dims d;
    int rc = sono_relpos_dims_get(p, &d, err);
    if (rc)
        return rc;
    uint64_t s = SEED;
    float *v = in->data;
    long long i = 0, nE = 4 * d.n + d.buckets * d.heads;
    for (; i < nE; i++) /* Q, K, V, X, E */
        v[i] = (float)sono_nn_normal(&s);
    double a = 1.0 / sqrt((double)d.d);
    for (; i < nE + 8 * d.d + 8; i++) /* Wg, bg */
        v[i] = (float)sono_nn_uniform(&s, -a, a);
    for (; i < d.nin; i++) /* c */
        v[i] = (float)sono_nn_uniform(&s, 0.5, 1.5);
    return 0;
}

static int reference(const sono_params *p, const sono_buf *in, sono_buf *ref,
                     sono_error *err)
{
    sono_relpos_dims d;
    int rc = sono_relpos_dims_get(p, &d, err);
    if (rc)
        return rc;
    if (sono_buf_elems(in) != d.nin || sono_buf_elems(ref) != d.n)
        return sono_fail(err, SONO_EINVAL, "attention.relpos reference: input has %lld "
                         "values, output %lld; the params give %lld and %lld",
                         sono_buf_elems(in), sono_buf_elems(ref), d.nin, d.n);
    return sono_relpos64(&d, in->data, ref->data, err);
}

/* As attention's 4 H D per (query, key) pair (2D for the score, 2D for P V), S^2 pairs,
 * plus the gate's 16 D per query; the bias add and exp are not counted. Bytes: the packed
 * input and the output once. */
static void cost(const sono_params *p, sono_cost *c)
{
    sono_relpos_dims d;
    *c = (sono_cost){0};
    if (sono_relpos_dims_get(p, &d, NULL))
        return;
    double S = (double)d.seq;
    c->flops = 4.0 * (double)(d.heads * d.d) * S * S + 16.0 * (double)(d.heads * d.d) * S;
    c->bytes = 4.0 * (double)(d.nin + d.n);
}

/* Relative L2 of the output, as attention's: a score is a float32 dot product of D terms
 * (eps sqrt D typically, eps D at worst); the bias adds gate x E, the gate a float32 dot
 * product of D terms through two sigmoids (slope <= 1/4) and a product (a few eps, but
 * multiplied by |E| ~ 1-3 against scores ~ 1: 2 eps D more at worst); softmax passes
 * score errors on at gain <= 1; the weighted sum of V and the normaliser sum S terms.
 * LINEAR: eps (3D + S + 32); LOG (blocked sums): eps (4 (2 log2 D + log2 S) + 32). A
 * wrong bucket or a sign flipped in the gate moves the scores by O(1): errors ~0.1+.
 * Measured (issue 29, ci/tolerance-table.py on suites/speech's relpos rows at seq 500
 * and 1500): worst honest rel_l2 5.7e-7 (cpu/naive) against 8.6e-5, 152x. It stays the
 * worst-case (eps S) bound of the S-term sums, which random-sign rounding reaches only as
 * eps sqrt(S); the faults it exists for (a bucket, the gate's sign) sit 1000x above it. */
static double tolerance(const sono_params *p, sono_err_growth g)
{
    sono_relpos_dims d;
    if (sono_relpos_dims_get(p, &d, NULL))
        return 0;
    double D = (double)(d.d > 16 ? d.d : 16), S = (double)(d.seq > 16 ? d.seq : 16);
    if (g == SONO_ERR_LINEAR)
        return FLT_EPSILON * (3 * D + S + 32);
    return FLT_EPSILON * (4 * (2 * log2(D) + log2(S)) + 32);
}

static double no_audio(const sono_params *p)
{
    (void)p;
    return 0;
}

const sono_op sono_op_attention_relpos = {
    .name = "attention.relpos",
    .summary = "WavLM gated relative-position-bias attention [heads, seq, d] (320 buckets)",
    .params = params,
    .nparams = sizeof params / sizeof params[0],
    .validate = validate,
    .shapes = shapes,
    .reference = reference,
    .cost = cost,
    .tolerance = tolerance,
    .input = input,
    .audio_seconds = no_audio,
    .size_param = "seq",
    .size_label = "sequence length (queries = keys)",
    .merit = SONO_MERIT_GFLOPS,
};
