/* rvq.c — ops "rvq.encode" and "rvq.decode": residual vector quantisation with n_q stages of
 * K x D codebooks trained by k-means on speech (datasets/rvq_train.c, cached), the vectors
 * cut from the signal (datasets/vqdata.h; `speech` gives the held-out recordings).
 * rvq.encode: input F32 [n_q*K*D + T*D], the codebooks [n_q, K, D] then the vectors
 *   [T, D]; output I32 [n_q, T]: stage s codes the nearest codeword of codebook s to what
 *   stages < s leave, ties to the lowest index.
 * rvq.decode: input F32 [n_q*K*D + n_q*T + T*D], the codebooks, the codes [n_q, T] as
 *   exact float integers (< 2^24), then the original vectors [T, D] (for the distortion
 *   only: impls read the first two parts); output F32 [T, D] = sum over s of the codewords
 *   cb[s, codes[s, t]]. The codes are the float64 reference encoding of the vectors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nndtype.h"
#include "op.h"
#include "vq64.h"
#include "vqdata.h"

#define MAX_WORK (1LL << 33)  /* n_q*K*D*T: the float64 reference (~10 s) */
#define MAX_TRAIN (1LL << 39) /* 1024 K^2 D: training, 4x the default's ~2^37 */
#define FRAME_RATE 75.0       /* vectors per second of audio */

static const sono_param_spec params[] = {
    {.name = "K", .type = SONO_PINT, .imin = 2, .imax = 65536, .idflt = 1024,
     .help = "codewords per stage"},
    {.name = "D", .type = SONO_PINT, .imin = 1, .imax = 4096, .idflt = 128,
     .help = "dimension of a vector (samples per window)"},
    {.name = "T", .type = SONO_PINT, .imin = 1, .imax = 1 << 22, .idflt = 750,
     .help = "vectors (75 per second of audio: 750 = 10 s of EnCodec frames)"},
    {.name = "n_q", .type = SONO_PINT, .imin = 1, .imax = 32, .idflt = 8,
     .help = "stages (EnCodec 24 kHz: 2, 4, 8, 16, 32 for 1.5, 3, 6, 12, 24 kbps)"},
    {.name = "seed", .type = SONO_PINT, .imin = 0, .imax = 1LL << 53, .idflt = 1,
     .help = "seed of the codebooks' k-means training"},
    SONO_NN_DTYPE_PARAM, /* issue 26 */
};

typedef struct dims {
    long long K, D, T;
    int n_q;
} dims;

static dims get(const sono_params *p)
{
    return (dims){sono_param_int(p, "K", 1024), sono_param_int(p, "D", 128),
                  sono_param_int(p, "T", 750), (int)sono_param_int(p, "n_q", 8)};
}

static int validate(const sono_params *p, sono_error *err)
{
    dims d = get(p);
    if (d.n_q * d.K * d.D > MAX_WORK / d.T)
        return sono_fail(err, SONO_EINVAL, "rvq: n_q*K*D*T = %d*%lld*%lld*%lld exceeds 2^33: "
                         "the float64 reference would take minutes", d.n_q, d.K, d.D, d.T);
    if (1024 * d.K * d.K > MAX_TRAIN / d.D)
        return sono_fail(err, SONO_EINVAL, "rvq: K=%lld D=%lld: training the codebooks "
                         "(1024 K^2 D multiply-adds) would exceed 2^39", d.K, d.D);
    if (32 * d.K * d.D + d.n_q * d.T + 2 * d.T * d.D > (1LL << 28))
        return sono_fail(err, SONO_EINVAL, "rvq: codebooks and vectors over 2^28 floats");
    return 0;
}

static void shapes_enc(const sono_params *p, sono_buf *in, sono_buf *out)
{
    dims d = get(p);
    *in = (sono_buf){.dtype = SONO_F32, .ndim = 1, .shape = {d.n_q * d.K * d.D + d.T * d.D}};
    *out = (sono_buf){.dtype = SONO_I32, .ndim = 2, .shape = {d.n_q, d.T}};
}

static void shapes_dec(const sono_params *p, sono_buf *in, sono_buf *out)
{
    dims d = get(p);
    *in = (sono_buf){.dtype = SONO_F32, .ndim = 1,
                     .shape = {d.n_q * d.K * d.D + d.n_q * d.T + d.T * d.D}};
    *out = (sono_buf){.dtype = SONO_F32, .ndim = 2, .shape = {d.T, d.D}};
}

static double rate(const sono_params *p)
{
    (void)p;
    return SONO_VQ_RATE;
}

/* One vector per EnCodec frame: T vectors stand for T frames of 1/75 s of audio. */
static double audio_seconds(const sono_params *p)
{
    return (double)sono_param_int(p, "T", 750) * (double)SONO_VQ_HOP / SONO_VQ_RATE;
}

/* Codebooks, then (decode) the codes, then the vectors. */
static int build(const sono_params *p, const sono_input_spec *spec, int dec, sono_buf *in,
                 sono_error *err)
{
    dims d = get(p);
    sono_rvq_cfg cfg = sono_rvq_default_cfg(d.K, d.D, (unsigned long long)sono_param_int(p, "seed", 1));
    long long ncb = d.n_q * d.K * d.D, n = sono_vq_samples(d.T, d.D);
    float *all = malloc((size_t)(cfg.n_q * d.K * d.D) * sizeof *all);
    float *sig = malloc((size_t)n * sizeof *sig), *buf = in->data;
    int32_t *codes = dec ? malloc((size_t)(d.n_q * d.T) * sizeof *codes) : NULL;
    int rc = 0;
    if (!all || !sig || (dec && !codes))
        rc = sono_fail(err, SONO_ENOMEM, "rvq: cannot allocate codebooks and %lld samples", n);
    if (!rc)
        rc = sono_rvq_codebooks(&cfg, all, err);
    if (!rc)
        rc = sono_vq_signal(spec, 1, n, sig, err);
    if (!rc) {
        memcpy(buf, all, (size_t)ncb * sizeof *buf);
        float *x = buf + ncb + (dec ? d.n_q * d.T : 0);
        sono_vq_windows(sig, d.T, d.D, x);
        /* issue 26: codebooks (and the encoder's vectors) stored in dtype; the decoder's
         * codes are integers and stay as they are */
        sono_nn_round_buf(buf, ncb, sono_nn_dtype_get(p));
        if (!dec)
            sono_nn_round_buf(x, d.T * d.D, sono_nn_dtype_get(p));
        if (dec) {
            sono_rvq64_encode(buf, d.n_q, d.K, d.D, x, d.T, codes);
            for (long long i = 0; i < d.n_q * d.T; i++)
                buf[ncb + i] = (float)codes[i];
        }
    }
    free(all);
    free(sig);
    free(codes);
    return rc;
}

static int input_enc(const sono_params *p, const sono_input_spec *spec, double r,
                     sono_buf *in, sono_error *err)
{
    (void)r;
    return build(p, spec, 0, in, err);
}

static int input_dec(const sono_params *p, const sono_input_spec *spec, double r,
                     sono_buf *in, sono_error *err)
{
    (void)r;
    return build(p, spec, 1, in, err);
}

static int ref_enc(const sono_params *p, const sono_buf *in, sono_buf *ref, sono_error *err)
{
    dims d = get(p);
    const float *cb = in->data;
    (void)err;
    sono_rvq64_encode(cb, d.n_q, d.K, d.D, cb + d.n_q * d.K * d.D, d.T, ref->data);
    return 0;
}

/* The decoder's codes, checked: integers in [0, K). NULL with err filled otherwise. */
static int32_t *dec_codes(const dims *d, const float *in, sono_error *err)
{
    const float *f = in + d->n_q * d->K * d->D;
    int32_t *c = malloc((size_t)(d->n_q * d->T) * sizeof *c);
    if (!c) {
        sono_fail(err, SONO_ENOMEM, "rvq.decode: cannot allocate %lld codes", d->n_q * d->T);
        return NULL;
    }
    for (long long i = 0; i < d->n_q * d->T; i++) {
        if (!(f[i] >= 0 && f[i] < (float)d->K && f[i] == floorf(f[i]))) {
            sono_fail(err, SONO_EINVAL, "rvq.decode: code %lld of the input is %g, not an "
                      "integer in [0, %lld)", i, (double)f[i], d->K);
            free(c);
            return NULL;
        }
        c[i] = (int32_t)f[i];
    }
    return c;
}

static int ref_dec(const sono_params *p, const sono_buf *in, sono_buf *ref, sono_error *err)
{
    dims d = get(p);
    int32_t *c = dec_codes(&d, in->data, err);
    if (!c)
        return err ? err->code : SONO_EINVAL;
    sono_rvq64_decode(in->data, d.n_q, d.K, d.D, c, d.T, ref->data);
    free(c);
    return 0;
}

static int check_enc(const sono_params *p, const sono_buf *in, const sono_buf *out,
                     const sono_buf *ref, double tol, sono_check *c, sono_error *err)
{
    dims d = get(p);
    if (out->dtype != SONO_I32 || sono_buf_elems(out) != d.n_q * d.T)
        return sono_fail(err, SONO_EINVAL, "rvq.encode: output must be i32 [%d, %lld]",
                         d.n_q, d.T);
    const float *cb = in->data;
    sono_rvq64_check(cb, d.n_q, d.K, d.D, cb + d.n_q * d.K * d.D, d.T, out->data, ref->data,
                     tol, c);
    return 0;
}

/* Elementwise, as float32 sums of n_q codewords in any order are bounded: |out - ref| <=
 * gamma_{n_q} * sum_s |c_s| (gamma_n ~ n u); rel_l2, max_abs and ref_peak as usual. */
static int check_dec(const sono_params *p, const sono_buf *in, const sono_buf *out,
                     const sono_buf *ref, double tol, sono_check *c, sono_error *err)
{
    dims d = get(p);
    int rc = sono_check_output(out, ref, INFINITY, c, err);
    if (rc)
        return rc;
    int32_t *codes = dec_codes(&d, in->data, err);
    if (!codes)
        return err ? err->code : SONO_EINVAL;
    const float *cb = in->data, *o = out->data;
    const double *r = ref->data;
    long long over = 0;
    double worst = 0;
    for (long long t = 0; t < d.T; t++)
        for (long long j = 0; j < d.D; j++) {
            double mag = 0;
            for (int s = 0; s < d.n_q; s++)
                mag += fabs(cb[((long long)s * d.K + codes[(long long)s * d.T + t]) * d.D + j]);
            double e = fabs(o[t * d.D + j] - r[t * d.D + j]), bound = tol * mag;
            over += !(e <= bound);
            if (e > 0 && e / bound > worst)
                worst = e / bound;
        }
    free(codes);
    c->tol = tol;
    c->pass = over == 0 && c->nonfinite == 0;
    snprintf(c->detail, sizeof c->detail, "%lld of %lld values beyond %g * sum_s |c_s|; "
             "worst error / bound %.3g", over, d.T * d.D, tol, worst);
    return 0;
}

/* Stage by stage: 2 K D flops per vector for the dot products, K D for the norms, D for
 * the residual. Decode: n_q D adds per vector. Bytes: what the impl reads and writes once
 * (the decoder's copy of the vectors is not read). */
static void cost_enc(const sono_params *p, sono_cost *c)
{
    dims d = get(p);
    double K = (double)d.K, D = (double)d.D, T = (double)d.T, q = d.n_q;
    c->flops = q * (2.0 * K * D * T + K * D + D * T);
    c->bytes = sono_nn_dtype_bytes(sono_nn_dtype_get(p)) * (q * K * D + T * D) + 4.0 * q * T;
}

static void cost_dec(const sono_params *p, sono_cost *c)
{
    dims d = get(p);
    double K = (double)d.K, D = (double)d.D, T = (double)d.T, q = d.n_q;
    c->flops = q * D * T;
    c->bytes = sono_nn_dtype_bytes(sono_nn_dtype_get(p)) * q * K * D + 4.0 * q * T +
               4.0 * T * D;
}

/* issue 26, dtype != f32: the input hook rounds every input and weight to the dtype, and
 * the reference reads those rounded values; the product of two bf16, f16 or tf32 values is
 * exact in float32 (8+8, 11+11 significand bits <= 24) and accumulates in float32 (the
 * residuals too, in the impls here: one that rounds them to d between stages would need
 * u_d more per stage), so a kernel in any of the dtypes makes only float32's errors: the same tolerance. */
static double tol_enc(const sono_params *p, sono_err_growth g)
{
    (void)p;
    (void)g;
    return 2.0 * ldexp(1.0, -24); /* see vq64.h: the unit roundoff, safety 2 */
}

static double tol_dec(const sono_params *p, sono_err_growth g)
{
    (void)g;
    return 2.0 * get(p).n_q * ldexp(1.0, -24); /* gamma_{n_q}, safety 2 */
}

static void fill_quality(const dims *d, double dist, sono_quality *q)
{
    q->has = SONO_Q_BITRATE;
    q->bitrate_bps = d->n_q * log2((double)d->K) * FRAME_RATE;
    if (isfinite(dist)) {
        q->has |= SONO_Q_DIST;
        q->distortion = dist;
    }
    snprintf(q->note, sizeof q->note, "distortion %.4g = |x - decode(encode(x))|^2 / |x|^2 "
             "of %lld-sample windows", dist, d->D);
}

static int quality_enc(const sono_params *p, const sono_buf *in, const sono_buf *out,
                       sono_quality *q, sono_error *err)
{
    dims d = get(p);
    const int32_t *codes = out->data;
    (void)err;
    for (long long i = 0; i < d.n_q * d.T; i++)
        if (codes[i] < 0 || codes[i] >= d.K) {
            q->has = 0;
            snprintf(q->note, sizeof q->note, "codes out of range: no distortion");
            return 0;
        }
    const float *cb = in->data;
    fill_quality(&d, sono_rvq64_distortion(cb, d.n_q, d.K, d.D, cb + d.n_q * d.K * d.D,
                                           codes, d.T), q);
    return 0;
}

static int quality_dec(const sono_params *p, const sono_buf *in, const sono_buf *out,
                       sono_quality *q, sono_error *err)
{
    dims d = get(p);
    const float *x = (const float *)in->data + d.n_q * d.K * d.D + d.n_q * d.T, *y = out->data;
    double num = 0, den = 0;
    (void)err;
    for (long long i = 0; i < d.T * d.D; i++) {
        double e = (double)x[i] - y[i];
        num += e * e;
        den += (double)x[i] * x[i];
    }
    fill_quality(&d, den > 0 ? num / den : NAN, q);
    return 0;
}

const sono_op sono_op_rvq_encode = {
    .name = "rvq.encode",
    .summary = "residual VQ: n_q stages of K x D k-means codebooks (speech), codes [n_q, T]",
    .params = params,
    .nparams = sizeof params / sizeof params[0],
    .validate = validate,
    .shapes = shapes_enc,
    .reference = ref_enc,
    .cost = cost_enc,
    .tolerance = tol_enc,
    .rate = rate,
    .audio_seconds = audio_seconds,
    .input = input_enc,
    .check = check_enc,
    .quality = quality_enc,
    .size_param = "T",
    .size_label = "vectors T",
    .merit = SONO_MERIT_GFLOPS,
};

const sono_op sono_op_rvq_decode = {
    .name = "rvq.decode",
    .summary = "residual VQ decoder: sum of n_q codewords per vector, [T, D]",
    .params = params,
    .nparams = sizeof params / sizeof params[0],
    .validate = validate,
    .shapes = shapes_dec,
    .reference = ref_dec,
    .cost = cost_dec,
    .tolerance = tol_dec,
    .rate = rate,
    .audio_seconds = audio_seconds,
    .input = input_dec,
    .check = check_dec,
    .quality = quality_dec,
    .size_param = "T",
    .size_label = "vectors T",
    .merit = SONO_MERIT_GFLOPS,
};
