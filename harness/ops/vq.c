/* vq.c — op "vq.encode": the nearest codeword by L2 of T vectors of dim D in a K x D
 * codebook, ties to the lowest index. Input, built from the signal (datasets/vqdata.h):
 * F32 [K*D + T*D], the codebook [K, D] then the vectors [T, D], both row-major; the
 * vectors are the signal's windows (D samples every 320 at 24 kHz, unit RMS), the codebook
 * K windows of the same signal at offsets drawn from seed. Output I32 [T]. */
#include <math.h>
#include <stdlib.h>

#include "nndtype.h"
#include "op.h"
#include "prng.h"
#include "vq64.h"
#include "vqdata.h"

/* The reference and the check cost K*D*T multiply-adds in double: past 2^33 (~10 s) a
 * case would wait on its own reference. */
#define MAX_WORK (1LL << 33)

static const sono_param_spec params[] = {
    {.name = "K", .type = SONO_PINT, .imin = 1, .imax = 65536, .idflt = 1024,
     .help = "codewords"},
    {.name = "D", .type = SONO_PINT, .imin = 1, .imax = 4096, .idflt = 128,
     .help = "dimension of a vector (samples per window)"},
    {.name = "T", .type = SONO_PINT, .imin = 1, .imax = 1 << 22, .idflt = 750,
     .help = "vectors (75 per second of audio: 750 = 10 s of EnCodec frames)"},
    {.name = "seed", .type = SONO_PINT, .imin = 0, .imax = 1LL << 53, .idflt = 1,
     .help = "draws the codebook's windows"},
    SONO_NN_DTYPE_PARAM, /* issue 26 */
};

static void dims(const sono_params *p, long long *K, long long *D, long long *T)
{
    *K = sono_param_int(p, "K", 1024);
    *D = sono_param_int(p, "D", 128);
    *T = sono_param_int(p, "T", 750);
}

static int validate(const sono_params *p, sono_error *err)
{
    long long K, D, T;
    dims(p, &K, &D, &T);
    if (K * D > MAX_WORK / T)
        return sono_fail(err, SONO_EINVAL, "vq.encode: K*D*T = %lld*%lld*%lld exceeds 2^33: "
                         "the float64 reference would take minutes", K, D, T);
    if (K * D + T * D > (1LL << 28))
        return sono_fail(err, SONO_EINVAL, "vq.encode: K*D + T*D over 2^28 floats");
    return 0;
}

static void shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    long long K, D, T;
    dims(p, &K, &D, &T);
    *in = (sono_buf){.dtype = SONO_F32, .ndim = 1, .shape = {K * D + T * D}};
    *out = (sono_buf){.dtype = SONO_I32, .ndim = 1, .shape = {T}};
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

static int input(const sono_params *p, const sono_input_spec *spec, double r, sono_buf *in,
                 sono_error *err)
{
    long long K, D, T, n;
    (void)r;
    dims(p, &K, &D, &T);
    n = sono_vq_samples(T, D);
    float *sig = malloc((size_t)n * sizeof *sig), *cb = in->data;
    if (!sig)
        return sono_fail(err, SONO_ENOMEM, "vq.encode: cannot allocate %lld samples", n);
    int rc = sono_vq_signal(spec, 0, n, sig, err);
    if (!rc) {
        uint64_t s[4];
        sono_xoshiro_seed(s, (unsigned long long)sono_param_int(p, "seed", 1));
        for (long long k = 0; k < K; k++) {
            long long off = (long long)(sono_xoshiro_next(s) % (uint64_t)(n - D + 1));
            for (long long j = 0; j < D; j++)
                cb[k * D + j] = sig[off + j];
        }
        sono_vq_windows(sig, T, D, cb + K * D);
        /* issue 26: codebook and vectors stored in dtype */
        sono_nn_round_buf(cb, K * D + T * D, sono_nn_dtype_get(p));
    }
    free(sig);
    return rc;
}

static int reference(const sono_params *p, const sono_buf *in, sono_buf *ref,
                     sono_error *err)
{
    long long K, D, T;
    (void)err;
    dims(p, &K, &D, &T);
    const float *cb = in->data;
    sono_rvq64_encode(cb, 1, K, D, cb + K * D, T, ref->data);
    return 0;
}

static int check(const sono_params *p, const sono_buf *in, const sono_buf *out,
                 const sono_buf *ref, double tol, sono_check *c, sono_error *err)
{
    long long K, D, T;
    dims(p, &K, &D, &T);
    if (out->dtype != SONO_I32 || sono_buf_elems(out) != T)
        return sono_fail(err, SONO_EINVAL, "vq.encode: output must be i32 [%lld]", T);
    const float *cb = in->data;
    sono_rvq64_check(cb, 1, K, D, cb + K * D, T, out->data, ref->data, tol, c);
    return 0;
}

/* 2 flops per multiply-add of x.c for every pair, plus the codebook's squared norms once;
 * bytes: the input and the output once. */
static void cost(const sono_params *p, sono_cost *c)
{
    long long K, D, T;
    dims(p, &K, &D, &T);
    c->flops = 2.0 * (double)K * (double)D * (double)T + 2.0 * (double)K * (double)D;
    c->bytes = sono_nn_dtype_bytes(sono_nn_dtype_get(p)) * (double)(K * D + T * D) +
               4.0 * (double)T;
}

/* issue 26, dtype != f32: the input hook rounds every input and weight to the dtype, and
 * the reference reads those rounded values; the product of two bf16, f16 or tf32 values is
 * exact in float32 (8+8, 11+11 significand bits <= 24) and accumulates in float32, so a
 * kernel in any of the dtypes makes only float32's errors: the same tolerance. */
/* The unit roundoff of float32 with a safety factor of 2; vq64.h turns it into a bound on
 * the distance gap of a flipped near-tie. */
static double tolerance(const sono_params *p, sono_err_growth g)
{
    (void)p;
    (void)g;
    return 2.0 * ldexp(1.0, -24);
}

const sono_op sono_op_vq_encode = {
    .name = "vq.encode",
    .summary = "nearest codeword (L2) of T vectors in a K x D codebook, ties to the lowest",
    .params = params,
    .nparams = sizeof params / sizeof params[0],
    .validate = validate,
    .shapes = shapes,
    .reference = reference,
    .cost = cost,
    .tolerance = tolerance,
    .rate = rate,
    .audio_seconds = audio_seconds,
    .input = input,
    .check = check,
    .size_param = "T",
    .size_label = "vectors T",
    .merit = SONO_MERIT_GFLOPS,
};
