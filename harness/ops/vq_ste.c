/* vq_ste.c — op "vq.ste": one training step of an EMA vector quantiser with the
 * straight-through estimator, the step every neural codec's quantiser trains with
 * (EnCodec, SoundStream, DAC). Forward: nearest codeword, q = x + sg(e[code] - x); losses:
 * codebook mean ||sg(x) - q||^2 and commitment beta mean ||x - sg(q)||^2; backward: dx =
 * the upstream g straight through plus the commitment's gradient, de the codebook loss's;
 * then the EMA update of counts and sums with Laplace smoothing and dead codes restarted
 * from the batch (a Philox choice). Layouts and definitions: ref/vqste64.h. Input: seeded
 * unit-variance vectors x, a codebook of batch vectors plus noise, EMA state with one code
 * in 16 nearly dead, upstream gradients of 1e-3. */
#include <math.h>
#include <stdlib.h>

#include "input.h"
#include "op.h"
#include "prng.h"
#include "vqste64.h"

/* The nearest-code search of the reference and of the check: K*D*N double multiply-adds. */
#define MAX_WORK (1LL << 33)

static const sono_param_spec params[] = {
    {.name = "K", .type = SONO_PINT, .imin = 1, .imax = 65536, .idflt = 1024,
     .help = "codewords"},
    {.name = "D", .type = SONO_PINT, .imin = 1, .imax = 4096, .idflt = 128,
     .help = "dimension"},
    {.name = "N", .type = SONO_PINT, .imin = 1, .imax = 1 << 22, .idflt = 4800,
     .help = "vectors in the batch (64 x 75: 64 clips of 1 s of 75 Hz frames)"},
    {.name = "beta", .type = SONO_PREAL, .rmin = 0, .rmax = 100, .rdflt = 0.25,
     .help = "commitment weight"},
    {.name = "decay", .type = SONO_PREAL, .rmin = 0, .rmax = 1, .rdflt = 0.99,
     .help = "EMA decay"},
    {.name = "eps", .type = SONO_PREAL, .rmin = 0, .rmax = 1, .rdflt = 1e-5,
     .help = "Laplace smoothing of the counts"},
    {.name = "dead", .type = SONO_PREAL, .rmin = 0, .rmax = 1e9, .rdflt = 2,
     .help = "EMA count below which a code restarts from the batch (EnCodec's 2)"},
    {.name = "seed", .type = SONO_PINT, .imin = 0, .imax = 1LL << 53, .idflt = 1,
     .help = "draws the data and keys the restarts' choice"},
};

static sono_vqste64_cfg cfg_of(const sono_params *p)
{
    return (sono_vqste64_cfg){.K = sono_param_int(p, "K", 1024),
                              .D = sono_param_int(p, "D", 128),
                              .N = sono_param_int(p, "N", 4800),
                              .beta = sono_param_real(p, "beta", 0.25),
                              .decay = sono_param_real(p, "decay", 0.99),
                              .eps = sono_param_real(p, "eps", 1e-5),
                              .dead = sono_param_real(p, "dead", 2),
                              .seed = (uint64_t)sono_param_int(p, "seed", 1)};
}

static int validate(const sono_params *p, sono_error *err)
{
    sono_vqste64_cfg c = cfg_of(p);
    if (c.K * c.D > MAX_WORK / c.N)
        return sono_fail(err, SONO_EINVAL, "vq.ste: K*D*N = %lld*%lld*%lld exceeds 2^33: the "
                         "float64 reference would take minutes", c.K, c.D, c.N);
    if (sono_vqste64_layout(&c).total + sono_vqste64_in_elems(&c) > (1LL << 28))
        return sono_fail(err, SONO_EINVAL, "vq.ste: input and output over 2^28 floats");
    return 0;
}

static void shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    sono_vqste64_cfg c = cfg_of(p);
    *in = (sono_buf){.dtype = SONO_F32, .ndim = 1, .shape = {sono_vqste64_in_elems(&c)}};
    *out = (sono_buf){.dtype = SONO_F32, .ndim = 1, .shape = {sono_vqste64_layout(&c).total}};
}

/* A batch of N frames at 75 Hz. */
static double audio_seconds(const sono_params *p)
{
    return (double)sono_param_int(p, "N", 4800) / 75.0;
}

static double unit(uint64_t s[4]) /* unit variance, mean 0: Irwin-Hall of 4 */
{
    double z = 0;
    for (int j = 0; j < 4; j++)
        z += (double)(sono_xoshiro_next(s) >> 11) * 0x1p-53;
    return (z - 2) * sqrt(3.0);
}

static int input(const sono_params *p, const sono_input_spec *spec, double r, sono_buf *in,
                 sono_error *err)
{
    (void)spec;
    (void)r;
    (void)err;
    sono_vqste64_cfg c = cfg_of(p);
    long long K = c.K, D = c.D, N = c.N;
    float *e = in->data, *cnt = e + K * D, *sum = cnt + K, *x = sum + K * D, *g = x + N * D;
    uint64_t s[4];
    sono_xoshiro_seed(s, c.seed);
    for (long long i = 0; i < N * D; i++)
        x[i] = (float)unit(s);
    double mean = (double)N / (double)K;
    for (long long k = 0; k < K; k++) {
        long long src = (long long)(sono_xoshiro_next(s) % (uint64_t)N);
        double u = (double)(sono_xoshiro_next(s) >> 11) * 0x1p-53;
        cnt[k] = (float)(k % 16 == 5 ? 0.5 * u : mean * (0.5 + u));
        for (long long j = 0; j < D; j++) {
            e[k * D + j] = (float)((double)x[src * D + j] + 0.3 * unit(s));
            sum[k * D + j] = e[k * D + j] * cnt[k];
        }
    }
    for (long long i = 0; i < N * D; i++)
        g[i] = (float)(1e-3 * unit(s));
    return 0;
}

static int reference(const sono_params *p, const sono_buf *in, sono_buf *ref,
                     sono_error *err)
{
    sono_vqste64_cfg c = cfg_of(p);
    int32_t *codes = malloc((size_t)c.N * sizeof *codes);
    if (!codes)
        return sono_fail(err, SONO_ENOMEM, "vq.ste: out of memory (N=%lld)", c.N);
    sono_vqste64_codes(in->data, &c, codes);
    long long rc = sono_vqste64_step(in->data, &c, codes, ref->data, NULL, NULL);
    free(codes);
    return rc < 0 ? sono_fail(err, SONO_ENOMEM, "vq.ste: out of memory in the reference") : 0;
}

static int check(const sono_params *p, const sono_buf *in, const sono_buf *out,
                 const sono_buf *ref, double tol, sono_check *c, sono_error *err)
{
    sono_vqste64_cfg cf = cfg_of(p);
    if (out->dtype != SONO_F32 || sono_buf_elems(out) != sono_vqste64_layout(&cf).total)
        return sono_fail(err, SONO_EINVAL, "vq.ste: output must be f32 [%lld]",
                         sono_vqste64_layout(&cf).total);
    sono_vqste64_check(in->data, &cf, out->data, ref->data, tol, c);
    return 0;
}

/* The distances (2 K D N), then per element of the batch the forward, loss and backward
 * (about 8 N D) and per codebook element the EMA update and de (about 8 K D). Bytes: the
 * input and the output once. */
static void cost(const sono_params *p, sono_cost *c)
{
    sono_vqste64_cfg cf = cfg_of(p);
    double KD = (double)(cf.K * cf.D), ND = (double)(cf.N * cf.D);
    c->flops = 2.0 * KD * (double)cf.N + 8.0 * ND + 8.0 * KD;
    c->bytes = 4.0 * (double)(sono_vqste64_in_elems(&cf) + sono_vqste64_layout(&cf).total);
}

/* The float32 unit roundoff times 2 for safety: vqste64.h sizes each part's bound in these
 * units (the length of its sums) and the codes' near-tie bound with it. */
static double tolerance(const sono_params *p, sono_err_growth g)
{
    (void)p;
    (void)g;
    return 2.0 * ldexp(1.0, -24);
}

const sono_op sono_op_vq_ste = {
    .name = "vq.ste",
    .summary = "VQ training step: STE forward, losses, backward, EMA update, restarts",
    .params = params,
    .nparams = sizeof params / sizeof params[0],
    .validate = validate,
    .shapes = shapes,
    .reference = reference,
    .cost = cost,
    .tolerance = tolerance,
    .audio_seconds = audio_seconds,
    .input = input,
    .check = check,
    .size_param = "N",
    .size_label = "vectors N",
};
