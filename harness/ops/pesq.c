/* pesq.c — op "metric.pesq": PESQ MOS-LQO of a degraded speech signal against its
 * reference, by the ITU-T reference code (P.862 narrowband at 8 kHz with P.862.1's
 * mapping, P.862.2 wideband at 16 kHz). No own PESQ exists here: the impl that plays
 * SONO_ROLE_PESQ (py's, the `pesq` package) is the codec ops' PESQ scorer (speechq.h),
 * and this op also times it like any other.
 *
 * Input  F32 [2, samples]: row 0 the reference, row 1 the degraded signal.
 * Output F32 [1]: the MOS-LQO.
 * No float64 truth: the check is the score's range (P.862.1's mapping spans 1.02-4.55,
 * P.862.2's 1.02-4.64) and a finite value; the reference is a stand-in (zero). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "input.h"
#include "op.h"

static const sono_param_spec params[] = {
    {.name = "sample_rate", .type = SONO_PINT, .imin = 8000, .imax = 16000, .idflt = 16000,
     .help = "Hz: 16000 (P.862.2 wideband) or 8000 (P.862 narrowband)"},
    {.name = "samples", .type = SONO_PINT, .imin = 4000, .imax = 16000 * 600, .idflt = 48000,
     .help = "samples of each signal (PESQ wants at least 0.25 s of speech)"},
};

static double rate(const sono_params *p)
{
    return (double)sono_param_int(p, "sample_rate", 16000);
}

static int validate(const sono_params *p, sono_error *err)
{
    long long sr = sono_param_int(p, "sample_rate", 16000);
    if (sr != 8000 && sr != 16000)
        return sono_fail(err, SONO_EINVAL, "metric.pesq: sample_rate=%lld; PESQ is defined "
                         "at 8000 (narrowband) and 16000 Hz (wideband)", sr);
    return 0;
}

static void shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    long long n = sono_param_int(p, "samples", 48000);
    *in = (sono_buf){.dtype = SONO_F32, .ndim = 2, .shape = {2, n}};
    *out = (sono_buf){.dtype = SONO_F32, .ndim = 1, .shape = {1}};
}

/* The suite's signal as the reference and the same plus seeded white noise 20 dB below
 * it as the degraded signal: a pair whose score is well inside the scale. */
static int input(const sono_params *p, const struct sono_input_spec *spec, double r,
                 sono_buf *in, sono_error *err)
{
    long long n = sono_param_int(p, "samples", 48000);
    sono_buf one = {.dtype = SONO_F32, .ndim = 1, .shape = {n}, .data = in->data,
                    .nbytes = sizeof(float) * (size_t)n};
    int rc = sono_input_fill_at(spec, r, &one, err);
    if (rc)
        return rc;
    float *x = in->data, *y = x + n;
    double px = 0, pn = 0;
    uint64_t s = 0x5E50B0A7ull;
    for (long long i = 0; i < n; i++) {
        /* splitmix64 to uniform [-1, 1) */
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        y[i] = (float)((double)((z ^ (z >> 31)) >> 11) * 0x1p-52 - 1.0);
        px += (double)x[i] * x[i];
        pn += (double)y[i] * y[i];
    }
    double k = pn > 0 ? sqrt(px / pn / 100.0) : 0;
    for (long long i = 0; i < n; i++)
        y[i] = (float)(x[i] + k * y[i]);
    return 0;
}

static int reference(const sono_params *p, const sono_buf *in, sono_buf *ref,
                     sono_error *err)
{
    (void)p, (void)in, (void)err;
    ((double *)ref->data)[0] = 0;
    return 0;
}

/* PESQ's own cost has no agreed count: flops 0; bytes: both signals and the score. */
static void cost(const sono_params *p, sono_cost *c)
{
    c->flops = 0;
    c->bytes = 8.0 * (double)sono_param_int(p, "samples", 48000) + 4.0;
}

static double tolerance(const sono_params *p, sono_err_growth g)
{
    (void)p, (void)g;
    return 0;
}

static double audio_seconds(const sono_params *p)
{
    return (double)sono_param_int(p, "samples", 48000) / rate(p);
}

static int check(const sono_params *p, const sono_buf *in, const sono_buf *out,
                 const sono_buf *ref, double tol, sono_check *c, sono_error *err)
{
    (void)in, (void)ref;
    if (sono_buf_elems(out) != 1 || out->dtype != SONO_F32)
        return sono_fail(err, SONO_EINVAL, "metric.pesq check: want one f32 score");
    double v = ((const float *)out->data)[0], hi = rate(p) == 8000 ? 4.56 : 4.65;
    c->tol = tol;
    c->pass = isfinite(v) && v >= 1.0 && v <= hi;
    c->nonfinite = !isfinite(v);
    snprintf(c->detail, sizeof c->detail, "MOS-LQO %.3f (%s: 1.0..%.2f)", v,
             c->pass ? "ok" : "FAIL", hi);
    return 0;
}

const sono_op sono_op_metric_pesq = {
    .name = "metric.pesq",
    .summary = "PESQ MOS-LQO of a degraded signal against its reference (ITU-T P.862 / "
               "P.862.2 reference code; the codec ops' PESQ scorer)",
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
    .size_param = "samples",
    .merit = SONO_MERIT_XRT,
};
