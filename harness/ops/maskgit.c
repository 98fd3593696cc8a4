/* maskgit.c — ops "maskgit.step" and "maskgit.decode": SoundStorm / MaskGIT parallel
 * decoding of RVQ tokens [levels, frames] at 50 Hz (definitions in ref/maskgit64.h).
 * step: one iteration at `level`, t = `iter` of `iters`; input F32 [tokens L*F (SONO_MASK -1
 *   where masked, codes as floats) | logits F*K], seeded: levels below `level` decoded,
 *   `level` with the frames the schedule leaves masked before iteration `iter` masked (a
 *   seeded choice), levels above masked; logits Irwin-Hall draws times `spread`. Output I32
 *   [L, F], the tokens after the iteration.
 * decode: the whole loop (iters0 iterations for level 0, iters_rest for each level after)
 *   from all masked, logits from a seeded MLP over the current tokens (ref/maskgit64.h), so
 *   the loop is closed and deterministic. Input F32 the MLP's weights; output I32
 *   [iterations, L, F], the tokens after each iteration, so the check follows the impl's
 *   own path (each iteration checked from the impl's state before it). */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "input.h"
#include "maskgit64.h"
#include "op.h"
#include "prng.h"

#define FPS 50.0
/* decode's reference and check each evaluate the MLP in double on every iteration */
#define MAX_WORK (1LL << 34)

#define COMMON                                                                               \
    {.name = "levels", .type = SONO_PINT, .imin = 1, .imax = 64, .idflt = 8,                 \
     .help = "RVQ levels (SoundStorm: 12 at 50 Hz; 8 here)"},                                \
    {.name = "frames", .type = SONO_PINT, .imin = 1, .imax = 1 << 20, .idflt = 500,          \
     .help = "frames at 50 Hz (500 = 10 s)"},                                                \
    {.name = "K", .type = SONO_PINT, .imin = 2, .imax = 65536, .idflt = 1024,                \
     .help = "codebook size"},                                                               \
    {.name = "seed", .type = SONO_PINT, .imin = 0, .imax = 1LL << 53, .idflt = 1,            \
     .help = "draws the data and keys the Philox draws"}

static const sono_param_spec step_params[] = {
    COMMON,
    {.name = "level", .type = SONO_PINT, .imin = 0, .imax = 63, .idflt = 0,
     .help = "the level being decoded"},
    {.name = "iter", .type = SONO_PINT, .imin = 0, .imax = 1023, .idflt = 0,
     .help = "the iteration t (0-based)"},
    {.name = "iters", .type = SONO_PINT, .imin = 1, .imax = 1024, .idflt = 16,
     .help = "iterations of the level (the cosine schedule's n)"},
    {.name = "temperature", .type = SONO_PREAL, .rmin = 0, .rmax = 100, .rdflt = 1,
     .help = "sampling temperature (0: argmax)"},
    {.name = "spread", .type = SONO_PREAL, .rmin = 0, .rmax = 100, .rdflt = 3,
     .help = "standard deviation of the synthetic logits"},
};

static const sono_param_spec decode_params[] = {
    COMMON,
    {.name = "d", .type = SONO_PINT, .imin = 1, .imax = 4096, .idflt = 128,
     .help = "the logits MLP's width"},
    {.name = "iters0", .type = SONO_PINT, .imin = 1, .imax = 1024, .idflt = 16,
     .help = "iterations for level 0 (SoundStorm: 16)"},
    {.name = "iters_rest", .type = SONO_PINT, .imin = 1, .imax = 1024, .idflt = 1,
     .help = "iterations for each later level (SoundStorm: 1)"},
    {.name = "temperature", .type = SONO_PREAL, .rmin = 0, .rmax = 100, .rdflt = 1,
     .help = "sampling temperature of level 0"},
    {.name = "temperature_rest", .type = SONO_PREAL, .rmin = 0, .rmax = 100, .rdflt = 0,
     .help = "of the later levels (0: greedy, as SoundStorm)"},
};

typedef struct mg_dims {
    long long L, F, K;
} mg_dims;

static mg_dims get(const sono_params *p)
{
    return (mg_dims){sono_param_int(p, "levels", 8), sono_param_int(p, "frames", 500),
                     sono_param_int(p, "K", 1024)};
}

static double audio_seconds(const sono_params *p)
{
    return (double)sono_param_int(p, "frames", 500) / FPS;
}

static double uniform(uint64_t s[4])
{
    return (double)(sono_xoshiro_next(s) >> 11) * 0x1p-53;
}

static double unit(uint64_t s[4]) /* Irwin-Hall of 4, unit variance */
{
    double z = 0;
    for (int j = 0; j < 4; j++)
        z += uniform(s);
    return (z - 2) * sqrt(3.0);
}

/* ---- maskgit.step ------------------------------------------------------------------ */

static int step_validate(const sono_params *p, sono_error *err)
{
    mg_dims d = get(p);
    if (sono_param_int(p, "level", 0) >= d.L)
        return sono_fail(err, SONO_EINVAL, "maskgit.step: level %lld must be below levels=%lld",
                         (long long)sono_param_int(p, "level", 0), d.L);
    if (sono_param_int(p, "iter", 0) >= sono_param_int(p, "iters", 16))
        return sono_fail(err, SONO_EINVAL, "maskgit.step: iter must be below iters");
    if (d.F > (1LL << 28) / (d.K + d.L))
        return sono_fail(err, SONO_EINVAL, "maskgit.step: frames*(K+levels) over 2^28");
    return 0;
}

static void step_shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    mg_dims d = get(p);
    *in = (sono_buf){.dtype = SONO_F32, .ndim = 1, .shape = {d.L * d.F + d.F * d.K}};
    *out = (sono_buf){.dtype = SONO_I32, .ndim = 2, .shape = {d.L, d.F}};
}

static int step_input(const sono_params *p, const sono_input_spec *spec, double r,
                      sono_buf *in, sono_error *err)
{
    (void)spec;
    (void)r;
    (void)err;
    mg_dims d = get(p);
    long long level = sono_param_int(p, "level", 0), it = sono_param_int(p, "iter", 0);
    long long iters = sono_param_int(p, "iters", 16);
    float *tok = in->data, *l = tok + d.L * d.F;
    uint64_t s[4];
    sono_xoshiro_seed(s, (unsigned long long)sono_param_int(p, "seed", 1));
    /* masked before iteration it: all at 0, else what iteration it - 1 left */
    long long m = it == 0 ? d.F : sono_maskgit64_nmask(d.F, d.F, it - 1, iters);
    if (m < 1)
        m = 1;
    for (long long lv = 0; lv < d.L; lv++)
        for (long long f = 0; f < d.F; f++)
            tok[lv * d.F + f] = lv < level ? (float)(sono_xoshiro_next(s) % (uint64_t)d.K)
                                           : (float)SONO_MASK;
    /* level: m masked frames by a partial Fisher-Yates over the frames; the rest decoded */
    long long *idx = malloc((size_t)d.F * sizeof *idx);
    if (!idx)
        return sono_fail(err, SONO_ENOMEM, "maskgit.step: cannot allocate %lld frames", d.F);
    for (long long f = 0; f < d.F; f++)
        idx[f] = f;
    for (long long i = 0; i < d.F - m; i++) {
        long long j = i + (long long)(sono_xoshiro_next(s) % (uint64_t)(d.F - i));
        long long t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        tok[level * d.F + idx[i]] = (float)(sono_xoshiro_next(s) % (uint64_t)d.K);
    }
    free(idx);
    double spread = sono_param_real(p, "spread", 3);
    for (long long i = 0; i < d.F * d.K; i++)
        l[i] = (float)(spread * unit(s));
    return 0;
}

static int tokens_of(const float *f, long long n, int32_t *t)
{
    for (long long i = 0; i < n; i++)
        t[i] = (int32_t)f[i];
    return 0;
}

static int step_reference(const sono_params *p, const sono_buf *in, sono_buf *ref,
                          sono_error *err)
{
    mg_dims d = get(p);
    int32_t *prev = malloc((size_t)(d.L * d.F) * sizeof *prev);
    int rc = !prev;
    if (prev) {
        tokens_of(in->data, d.L * d.F, prev);
        rc = sono_maskgit64_step(prev, d.L, d.F, d.K, sono_param_int(p, "level", 0),
                                 sono_param_int(p, "iter", 0), sono_param_int(p, "iters", 16),
                                 sono_param_real(p, "temperature", 1),
                                 (uint64_t)sono_param_int(p, "seed", 1),
                                 (const float *)in->data + d.L * d.F, ref->data);
    }
    free(prev);
    return rc ? sono_fail(err, SONO_ENOMEM, "maskgit.step: out of memory") : 0;
}

static int step_check(const sono_params *p, const sono_buf *in, const sono_buf *out,
                      const sono_buf *ref, double tol, sono_check *c, sono_error *err)
{
    (void)ref;
    mg_dims d = get(p);
    if (out->dtype != SONO_I32 || sono_buf_elems(out) != d.L * d.F)
        return sono_fail(err, SONO_EINVAL, "maskgit.step: output must be i32 [%lld, %lld]",
                         d.L, d.F);
    int32_t *prev = malloc((size_t)(d.L * d.F) * sizeof *prev);
    if (!prev)
        return sono_fail(err, SONO_ENOMEM, "maskgit.step: out of memory in the check");
    tokens_of(in->data, d.L * d.F, prev);
    long long differ = 0;
    double worst = 0;
    char why[160] = "";
    long long bad = sono_maskgit64_check_step(
        prev, d.L, d.F, d.K, sono_param_int(p, "level", 0), sono_param_int(p, "iter", 0),
        sono_param_int(p, "iters", 16), sono_param_real(p, "temperature", 1),
        (uint64_t)sono_param_int(p, "seed", 1), (const float *)in->data + d.L * d.F, NULL,
        out->data, tol, &differ, &worst, why, sizeof why);
    free(prev);
    if (bad < 0)
        return sono_fail(err, SONO_ENOMEM, "maskgit.step: out of memory in the check");
    c->tol = tol;
    c->pass = bad == 0;
    c->mismatches = differ;
    c->has_mismatches = 1;
    c->rel_l2 = bad ? INFINITY : worst;
    if (bad)
        snprintf(c->detail, sizeof c->detail, "%lld violations: %s", bad, why);
    else
        snprintf(c->detail, sizeof c->detail, "%lld tokens differ from the reference's, all "
                 "near-ties", differ);
    return 0;
}

/* Per masked frame: the softmax and the draw over K classes (5 flops each by this
 * convention: subtract, exp, add for the confidence's sum; scale, add for the draw);
 * bytes: input and output once. */
static void step_cost(const sono_params *p, sono_cost *c)
{
    mg_dims d = get(p);
    c->flops = 5.0 * (double)(d.F * d.K);
    c->bytes = 4.0 * (double)(d.L * d.F + d.F * d.K) + 4.0 * (double)(d.L * d.F);
}

/* The float32 unit roundoff times 2: sample64.h and maskgit64.h size the near-ties of the
 * draws and of the confidence ranking in these units. */
static double tolerance(const sono_params *p, sono_err_growth g)
{
    (void)p;
    (void)g;
    return 2.0 * ldexp(1.0, -24);
}

const sono_op sono_op_maskgit_step = {
    .name = "maskgit.step",
    .summary = "one MaskGIT/SoundStorm iteration: draw, confidences, cosine re-masking",
    .params = step_params,
    .nparams = sizeof step_params / sizeof step_params[0],
    .validate = step_validate,
    .shapes = step_shapes,
    .reference = step_reference,
    .cost = step_cost,
    .tolerance = tolerance,
    .audio_seconds = audio_seconds,
    .input = step_input,
    .check = step_check,
    .size_param = "frames",
    .size_label = "frames (50 Hz)",
    .merit = SONO_MERIT_XRT,
};

/* ---- maskgit.decode ---------------------------------------------------------------- */

static long long total_iters(const sono_params *p)
{
    return sono_param_int(p, "iters0", 16) +
           (sono_param_int(p, "levels", 8) - 1) * sono_param_int(p, "iters_rest", 1);
}

static int decode_validate(const sono_params *p, sono_error *err)
{
    mg_dims d = get(p);
    long long h = sono_param_int(p, "d", 128), n = total_iters(p);
    double work = (double)n * (double)d.F * (double)(d.L * h + h * h + h * d.K);
    if (work > (double)MAX_WORK)
        return sono_fail(err, SONO_EINVAL, "maskgit.decode: iterations*frames*(d*d + d*K) = "
                         "%.3g over 2^34: the float64 reference would take minutes", work);
    if (n * d.L * d.F > (1LL << 28) || sono_maskgit64_weights(d.L, d.K, h) > (1LL << 28))
        return sono_fail(err, SONO_EINVAL, "maskgit.decode: output or weights over 2^28");
    return 0;
}

static void decode_shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    mg_dims d = get(p);
    long long n = total_iters(p);
    *in = (sono_buf){.dtype = SONO_F32, .ndim = 1,
                     .shape = {sono_maskgit64_weights(d.L, d.K, sono_param_int(p, "d", 128))}};
    *out = (sono_buf){.dtype = SONO_I32, .ndim = 3, .shape = {n, d.L, d.F}};
}

/* E unit variance (h: variance L); W1 scaled 1/sqrt(L d) (pre-activations ~ 1); W2 2 /
 * sqrt(d / 2) (logits of standard deviation ~ 2, a few nats between likely codes); biases
 * small. */
static int decode_input(const sono_params *p, const sono_input_spec *spec, double r,
                        sono_buf *in, sono_error *err)
{
    (void)spec;
    (void)r;
    (void)err;
    mg_dims d = get(p);
    long long h = sono_param_int(p, "d", 128);
    float *w = in->data;
    sono_maskgit64_net n = sono_maskgit64_bind(w, d.L, d.K, h);
    uint64_t s[4];
    sono_xoshiro_seed(s, (unsigned long long)sono_param_int(p, "seed", 1));
    double s1 = 1 / sqrt((double)(d.L * h)), s2 = 2 / sqrt((double)h / 2);
    for (long long i = 0; i < d.L * (d.K + 1) * h; i++)
        w[i] = (float)unit(s);
    for (long long i = 0; i < h * h; i++)
        ((float *)n.W1)[i] = (float)(s1 * unit(s));
    for (long long i = 0; i < h; i++)
        ((float *)n.b1)[i] = (float)(0.1 * unit(s));
    for (long long i = 0; i < h * d.K; i++)
        ((float *)n.W2)[i] = (float)(s2 * unit(s));
    for (long long i = 0; i < d.L * d.K; i++)
        ((float *)n.b2)[i] = (float)(0.1 * unit(s));
    return 0;
}

typedef struct dec_ctx {
    mg_dims d;
    long long h, iters0, iters_rest;
    double t0, trest;
    uint64_t seed;
    sono_maskgit64_net net;
} dec_ctx;

static dec_ctx dec_of(const sono_params *p, const sono_buf *in)
{
    dec_ctx c = {.d = get(p), .h = sono_param_int(p, "d", 128),
                 .iters0 = sono_param_int(p, "iters0", 16),
                 .iters_rest = sono_param_int(p, "iters_rest", 1),
                 .t0 = sono_param_real(p, "temperature", 1),
                 .trest = sono_param_real(p, "temperature_rest", 0),
                 .seed = (uint64_t)sono_param_int(p, "seed", 1)};
    c.net = sono_maskgit64_bind(in->data, c.d.L, c.d.K, c.h);
    return c;
}

static int decode_reference(const sono_params *p, const sono_buf *in, sono_buf *ref,
                            sono_error *err)
{
    dec_ctx c = dec_of(p, in);
    long long LF = c.d.L * c.d.F, i = 0;
    int32_t *cur = malloc((size_t)LF * sizeof *cur), *o = ref->data;
    float *lg = malloc((size_t)(c.d.F * c.d.K) * sizeof *lg);
    int rc = cur && lg ? 0 : -1;
    for (long long k = 0; k < LF && !rc; k++)
        cur[k] = SONO_MASK;
    for (long long lv = 0; lv < c.d.L && !rc; lv++) {
        long long n = sono_maskgit64_iters(lv, c.iters0, c.iters_rest);
        for (long long t = 0; t < n && !rc; t++, i++) {
            rc = sono_maskgit64_logits(&c.net, cur, c.d.F, lv, 0, lg, NULL);
            if (!rc)
                rc = sono_maskgit64_step(cur, c.d.L, c.d.F, c.d.K, lv, t, n,
                                         lv ? c.trest : c.t0, c.seed, lg, o + i * LF);
            if (!rc)
                memcpy(cur, o + i * LF, (size_t)LF * sizeof *cur);
        }
    }
    free(cur);
    free(lg);
    return rc ? sono_fail(err, SONO_ENOMEM, "maskgit.decode: out of memory") : 0;
}

static int decode_check(const sono_params *p, const sono_buf *in, const sono_buf *out,
                        const sono_buf *ref, double tol, sono_check *chk, sono_error *err)
{
    (void)ref;
    dec_ctx c = dec_of(p, in);
    long long LF = c.d.L * c.d.F, n = total_iters(p), i = 0, bad = 0, differ = 0;
    if (out->dtype != SONO_I32 || sono_buf_elems(out) != n * LF)
        return sono_fail(err, SONO_EINVAL, "maskgit.decode: output must be i32 [%lld, %lld, "
                         "%lld]", n, c.d.L, c.d.F);
    const int32_t *o = out->data;
    int32_t *start = malloc((size_t)LF * sizeof *start);
    float *lg = malloc((size_t)(c.d.F * c.d.K) * sizeof *lg);
    double *dl = malloc((size_t)c.d.F * sizeof *dl), worst = 0;
    char why[160] = "";
    int oom = !start || !lg || !dl;
    for (long long k = 0; k < LF && !oom; k++)
        start[k] = SONO_MASK;
    for (long long lv = 0; lv < c.d.L && !oom && !bad; lv++) {
        long long it = sono_maskgit64_iters(lv, c.iters0, c.iters_rest);
        for (long long t = 0; t < it && !oom && !bad; t++, i++) {
            const int32_t *prev = i ? o + (i - 1) * LF : start;
            if (sono_maskgit64_logits(&c.net, prev, c.d.F, lv, tol, lg, dl)) {
                oom = 1;
                break;
            }
            long long b = sono_maskgit64_check_step(prev, c.d.L, c.d.F, c.d.K, lv, t, it,
                                                    lv ? c.trest : c.t0, c.seed, lg, dl,
                                                    o + i * LF, tol, &differ, &worst, why,
                                                    sizeof why);
            if (b < 0)
                oom = 1;
            else if (b > 0) {
                bad = b;
                char tmp[160];
                snprintf(tmp, sizeof tmp, "iteration %lld: %s", i, why);
                snprintf(why, sizeof why, "%s", tmp);
            }
        }
    }
    free(start);
    free(lg);
    free(dl);
    if (oom)
        return sono_fail(err, SONO_ENOMEM, "maskgit.decode: out of memory in the check");
    chk->tol = tol;
    chk->pass = bad == 0;
    chk->mismatches = differ;
    chk->has_mismatches = 1;
    chk->rel_l2 = bad ? INFINITY : worst;
    if (bad)
        snprintf(chk->detail, sizeof chk->detail, "%lld violations at %s", bad, why);
    else
        snprintf(chk->detail, sizeof chk->detail, "%lld iterations each checked from the "
                 "impl's own state; %lld tokens differ from a fresh step (near-ties)", n,
                 differ);
    return 0;
}

/* Per iteration and frame: the MLP (2 (L d + d d + d K), the embedding sum counted as L d
 * adds) and the draw (5 K); bytes: the weights and the output once. */
static void decode_cost(const sono_params *p, sono_cost *c)
{
    mg_dims d = get(p);
    double h = (double)sono_param_int(p, "d", 128), n = (double)total_iters(p);
    c->flops = n * (double)d.F * (2.0 * (h * h + h * (double)d.K) + (double)d.L * h +
                                  5.0 * (double)d.K);
    c->bytes = 4.0 * (double)sono_maskgit64_weights(d.L, d.K, (long long)h) +
               4.0 * n * (double)(d.L * d.F);
}

const sono_op sono_op_maskgit_decode = {
    .name = "maskgit.decode",
    .summary = "SoundStorm/MaskGIT decoding of [levels, frames] tokens, seeded MLP logits",
    .params = decode_params,
    .nparams = sizeof decode_params / sizeof decode_params[0],
    .validate = decode_validate,
    .shapes = decode_shapes,
    .reference = decode_reference,
    .cost = decode_cost,
    .tolerance = tolerance,
    .audio_seconds = audio_seconds,
    .input = decode_input,
    .check = decode_check,
    .size_param = "frames",
    .size_label = "frames (50 Hz)",
    .merit = SONO_MERIT_XRT,
};
