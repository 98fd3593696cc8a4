/* test_checks.c — issue 29: the op checks themselves fail the planted bugs' outputs. Each
 * bad output is built here from an honest one (scaled, negated, biased, perturbed), with
 * no impl and no reference run, so `make test` catches the bug classes that only
 * `make mutants` (tests/mutants/) plants in real impls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dft64.h"
#include "op.h"
#include "params.h"

/* ---- helpers ---------------------------------------------------------------------- */

static sono_params params_of(const char *opname, const char *text)
{
    const sono_op *op = sono_op_find(opname);
    assert_non_null(op);
    sono_params p = {0};
    char *buf = strdup(text), *save = NULL;
    assert_non_null(buf);
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        assert_non_null(eq);
        *eq = '\0';
        const sono_param_spec *s = sono_op_param(op, tok);
        if (!s)
            fail_msg("%s has no parameter %s", opname, tok);
        sono_error err = {0};
        if (sono_param_parse(s, eq + 1, &p.v[p.count], &err))
            fail_msg("%s=%s: %s", tok, eq + 1, err.msg);
        p.count++;
    }
    free(buf);
    sono_params_defaults(op, &p);
    return p;
}

/* splitmix64, uniform in [-1, 1) */
static double urand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1p-52 - 1.0;
}

/* Speech-like: a 140 Hz voice with 12 harmonics under a 4 Hz syllable envelope, plus
 * noise 26 dB down. */
static void voice(float *x, long long n, double rate, uint64_t seed)
{
    for (long long i = 0; i < n; i++) {
        double t = (double)i / rate, v = 0;
        for (int h = 1; h <= 12; h++)
            v += sin(2 * M_PI * 140.0 * h * t + h) / h;
        x[i] = (float)(0.2 * v * (0.6 + 0.4 * sin(2 * M_PI * 4.0 * t)) + 0.01 * urand(&seed));
    }
}

static sono_buf buf_of(sono_dtype t, long long n, void *data)
{
    return (sono_buf){.dtype = t, .ndim = 1, .shape = {n}, .data = data,
                      .nbytes = (size_t)n * sono_dtype_size(t)};
}

static int run_check(const char *opname, const sono_params *p, const sono_buf *in,
                     const sono_buf *out, const sono_buf *ref, double tol, sono_check *c)
{
    const sono_op *op = sono_op_find(opname);
    sono_error err = {0};
    *c = (sono_check){0};
    int rc = op->check ? op->check(p, in, out, ref, tol, c, &err)
                       : sono_check_output(out, ref, tol, c, &err);
    if (rc)
        fail_msg("%s check: %s", opname, err.msg);
    return c->pass;
}

/* ---- codec.opus: gain and sign --------------------------------------------------- */

/* A stand-in for an honest round trip: the input at 0.9x plus coding noise 20 dB down,
 * aligned, and the target's byte count (24 kbps for 1 s: 3000 bytes) in the last slot.
 * The planted bugs: x 32768 (an int16 scale applied to float output) and negated. */
static void opus_gain_sign(void **state)
{
    (void)state;
    const long long n = 48000;
    sono_params p = params_of("codec.opus", "seconds=1,bitrate=24000");
    float *x = malloc(sizeof *x * (size_t)n), *y = malloc(sizeof *y * (size_t)(n + 1));
    assert_non_null(x);
    assert_non_null(y);
    voice(x, n, 48000, 1);
    uint64_t s = 7;
    sono_buf in = buf_of(SONO_F32, n, x), out = buf_of(SONO_F32, n + 1, y), ref = {0};
    const sono_op *op = sono_op_find("codec.opus");
    double tol = op->tolerance(&p, SONO_ERR_LOG);
    static const struct {
        double gain;
        int pass;
        const char *fails; /* the part of the detail that must say FAIL */
    } cases[] = {
        {0.9, 1, NULL},           {-0.9, 0, "sign"},         {0.9 * 32768, 0, "gain"},
        {-0.9 * 32768, 0, "sign"}, {0.9 / 8, 0, "gain"},     {1.5, 1, NULL},
        /* issue 29: 0.3x and 0.4x passed the old whole-signal floor of -12 dB */
        {0.25, 0, "gain"},        {0.3, 0, "gain"},          {0.4, 0, "gain"},
        {0.9 * 3, 0, "gain"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        s = 7;
        for (long long i = 0; i < n; i++)
            y[i] = (float)(cases[k].gain * (x[i] + 0.1 * 0.2 * urand(&s)));
        y[n] = 3000;
        sono_check c;
        int pass = run_check("codec.opus", &p, &in, &out, &ref, tol, &c);
        if (pass != cases[k].pass)
            fail_msg("gain %g: pass %d, want %d (%s)", cases[k].gain, pass, cases[k].pass,
                     c.detail);
        if (cases[k].fails) {
            char want[32];
            snprintf(want, sizeof want, "%s", cases[k].fails);
            const char *at = strstr(c.detail, want);
            assert_non_null(at);
            const char *f = strstr(at, "FAIL");
            if (!f || (strchr(at, ';') && f > strchr(at, ';')))
                fail_msg("gain %g: '%s' should say FAIL: %s", cases[k].gain, want, c.detail);
        }
    }
    free(x);
    free(y);
    sono_params_free(&p);
}

/* Honest 6 kbps white noise at 48 kHz: the codec keeps its band below 4 kHz at its level
 * and drops the rest (-8.4 dB over the whole signal, measured); a stand-in is the input
 * low-passed at 4 kHz (a zero-phase windowed sinc) plus coding noise 10 dB down in the
 * band. It must pass, and the same at 0.25x must fail on the gain. */
static void opus_lowpassed_noise(void **state)
{
    (void)state;
    const long long n = 48000;
    enum { H = 96 }; /* half the filter's taps: a 4 kHz cutoff, 1 kHz wide */
    sono_params p = params_of("codec.opus", "seconds=1,bitrate=6000");
    float *x = malloc(sizeof *x * (size_t)n), *y = malloc(sizeof *y * (size_t)(n + 1));
    double h[2 * H + 1], fc = 4000.0 / 48000.0;
    assert_true(x && y);
    uint64_t s = 11;
    for (long long i = 0; i < n; i++)
        x[i] = (float)(0.5 * urand(&s));
    for (int k = -H; k <= H; k++) /* Hann-windowed sinc */
        h[k + H] = (k == 0 ? 2 * fc : sin(2 * M_PI * fc * k) / (M_PI * k)) *
                   (0.5 + 0.5 * cos(M_PI * k / (H + 1)));
    sono_buf in = buf_of(SONO_F32, n, x), out = buf_of(SONO_F32, n + 1, y), ref = {0};
    double tol = sono_op_find("codec.opus")->tolerance(&p, SONO_ERR_LOG);
    const double gains[] = {1.0, 0.25};
    for (int g = 0; g < 2; g++) {
        s = 5;
        for (long long i = 0; i < n; i++) {
            double v = 0;
            for (int k = -H; k <= H; k++)
                if (i - k >= 0 && i - k < n)
                    v += h[k + H] * x[i - k];
            y[i] = (float)(gains[g] * (v + 0.05 * urand(&s)));
        }
        y[n] = 750; /* 6 kbps for 1 s */
        sono_check c;
        int pass = run_check("codec.opus", &p, &in, &out, &ref, tol, &c);
        if (pass != (g == 0))
            fail_msg("low-passed noise at %gx: pass %d (%s)", gains[g], pass, c.detail);
        if (g == 1)
            assert_non_null(strstr(c.detail, ": FAIL)"));
    }
    free(x);
    free(y);
    sono_params_free(&p);
}

/* ---- fft: the direct sum's tolerance ---------------------------------------------- */

/* An honest O(N^2) DFT's output (float sums in order, float twiddles from double, as a
 * direct-sum impl computes it) passes the LINEAR tolerance on noise and on the worst
 * input measured (a square wave, N = 1920); the same output off by a gain of 1 + 1e-4 (a
 * bug the old eps N tolerance, 4.9e-4 at N = 4096, let through) fails. */
static void fft_direct_sum(void **state)
{
    (void)state;
    const long long ns[] = {1920, 4096};
    for (int kind = 0; kind < 2; kind++)
        for (int k = 0; k < 2; k++) {
            long long n = ns[k];
            char text[64];
            snprintf(text, sizeof text, "n=%lld,batch=1", n);
            sono_params p = params_of("fft", text);
            float *x = malloc(sizeof *x * 2 * (size_t)n), *y = malloc(sizeof *y * 2 * (size_t)n);
            float *w = malloc(sizeof *w * 2 * (size_t)n);
            double *xd = malloc(sizeof *xd * 2 * (size_t)n), *r = malloc(sizeof *r * 2 * (size_t)n);
            assert_true(x && y && w && xd && r);
            uint64_t s = 3;
            for (long long i = 0; i < n; i++) {
                double sq = fmax(-1.0, fmin(1.0, 10 * sin(2 * M_PI * 1000.0 * (double)i / 48000)));
                x[2 * i] = (float)(kind ? sq : 0.5 * urand(&s));
                x[2 * i + 1] = (float)(kind ? 0.0 : 0.5 * urand(&s));
                xd[2 * i] = x[2 * i];
                xd[2 * i + 1] = x[2 * i + 1];
                w[2 * i] = (float)cos(-2 * M_PI * (double)i / (double)n);
                w[2 * i + 1] = (float)sin(-2 * M_PI * (double)i / (double)n);
            }
            for (long long b = 0; b < n; b++) {
                float re = 0, im = 0;
                for (long long j = 0, m = 0; j < n; j++, m = (m + b) % n) {
                    re += x[2 * j] * w[2 * m] - x[2 * j + 1] * w[2 * m + 1];
                    im += x[2 * j] * w[2 * m + 1] + x[2 * j + 1] * w[2 * m];
                }
                y[2 * b] = re;
                y[2 * b + 1] = im;
            }
            assert_int_equal(sono_dft64(xd, r, n, 1), 0);
            sono_buf out = {.dtype = SONO_C64, .ndim = 2, .shape = {1, n}, .data = y,
                            .nbytes = sizeof *y * 2 * (size_t)n};
            sono_buf ref = {.dtype = SONO_C128, .ndim = 2, .shape = {1, n}, .data = r,
                            .nbytes = sizeof *r * 2 * (size_t)n};
            sono_buf in = {0};
            double tol = sono_op_find("fft")->tolerance(&p, SONO_ERR_LINEAR);
            sono_check c;
            if (!run_check("fft", &p, &in, &out, &ref, tol, &c))
                fail_msg("honest direct sum, %s n=%lld: rel_l2 %.3g over tol %.3g",
                         kind ? "square" : "noise", n, c.rel_l2, tol);
            for (long long i = 0; i < 2 * n; i++)
                y[i] *= 1.0001f;
            if (run_check("fft", &p, &in, &out, &ref, tol, &c))
                fail_msg("gain 1 + 1e-4, %s n=%lld: rel_l2 %.3g passed tol %.3g",
                         kind ? "square" : "noise", n, c.rel_l2, tol);
            free(x);
            free(y);
            free(w);
            free(xd);
            free(r);
            sono_params_free(&p);
        }
}

/* ---- load.batch: per-crop RMS and unresampled crops ------------------------------ */

/* Two clips, both at `rate` Hz or both at 44.1 kHz; names and hashes are never opened by
 * the check (it reads the rates and lengths, for the crop rule). */
static char *manifest(int clip_rate, size_t *len)
{
    *len = 16384;
    char *t = calloc(1, *len);
    assert_non_null(t);
    snprintf(t, *len, "sonobench load.batch 1\nsource dir\nformat flac\nroot /nonexistent\n"
             "clips 2\na.flac 1000 %064d %d %d 1\nb.flac 1000 %064d %d %d 1\n", 0, clip_rate,
             2 * clip_rate, 0, clip_rate, 3 * clip_rate);
    return t;
}

static void load_batch_crops(void **state)
{
    (void)state;
    const long long B = 4, crop = 320; /* crop_s 0.02 at 16 kHz */
    sono_params p = params_of("load.batch", "batch=4,batches=1,crop_s=0.02,rate=16000");
    const sono_op *op = sono_op_find("load.batch");
    double tol = op->tolerance(&p, SONO_ERR_LOG);
    double *r = malloc(sizeof *r * (size_t)(B * crop));
    float *y = malloc(sizeof *y * (size_t)(B * crop));
    assert_non_null(r);
    assert_non_null(y);
    /* the reference crops: each a different mix, scaled to RMS 1 in double */
    uint64_t s = 3;
    for (long long b = 0; b < B; b++) {
        double ss = 0;
        for (long long i = 0; i < crop; i++) {
            double *v = &r[b * crop + i];
            *v = sin(2 * M_PI * (200.0 + 90 * b) * (double)i / 16000.0) + 0.3 * urand(&s);
            ss += *v * *v;
        }
        for (long long i = 0; i < crop; i++)
            r[b * crop + i] /= sqrt(ss / (double)crop);
    }
    sono_buf out = {.dtype = SONO_F32, .ndim = 3, .shape = {1, B, crop}, .data = y,
                    .nbytes = sizeof *y * (size_t)(B * crop)},
             ref = {.dtype = SONO_F64, .ndim = 3, .shape = {1, B, crop}, .data = r,
                    .nbytes = sizeof *r * (size_t)(B * crop)};
    for (int resampled = 0; resampled <= 1; resampled++) {
        size_t len;
        char *text = manifest(resampled ? 44100 : 16000, &len);
        sono_buf in = buf_of(SONO_I32, (long long)(len / 4), text);
        sono_check c;
        /* honest: the reference rounded to float */
        for (long long i = 0; i < B * crop; i++)
            y[i] = (float)r[i];
        assert_true(run_check("load.batch", &p, &in, &out, &ref, tol, &c));
        /* the planted gain 1.03: within the batch tolerance, caught by the crop RMS */
        for (long long i = 0; i < B * crop; i++)
            y[i] = (float)(1.03 * r[i]);
        assert_false(run_check("load.batch", &p, &in, &out, &ref, tol, &c));
        assert_true(c.rel_l2 < tol);
        assert_non_null(strstr(c.detail, "crop RMS"));
        /* a gain of 1 + 1e-4: still caught by the RMS bound (1e-5) */
        for (long long i = 0; i < B * crop; i++)
            y[i] = (float)(1.0001 * r[i]);
        assert_false(run_check("load.batch", &p, &in, &out, &ref, tol, &c));
        /* a filtered crop (a neighbour mixed in at 1e-4), renormalised to RMS 1: only a
         * crop nobody resampled must match to float rounding */
        for (long long b = 0; b < B; b++) {
            double ss = 0, t[320];
            for (long long i = 0; i < crop; i++) {
                t[i] = r[b * crop + i] + 1e-4 * r[b * crop + (i + 1) % crop];
                ss += t[i] * t[i];
            }
            for (long long i = 0; i < crop; i++)
                y[b * crop + i] = (float)(t[i] / sqrt(ss / (double)crop));
        }
        int pass = run_check("load.batch", &p, &in, &out, &ref, tol, &c);
        if (pass != resampled)
            fail_msg("clips at %d Hz, crop filtered at 1e-4: pass %d (%s)",
                     resampled ? 44100 : 16000, pass, c.detail);
        free(text);
    }
    free(r);
    free(y);
    sono_params_free(&p);
}

/* ---- codec.encodec: the tolerance sees a dropped bias ---------------------------- */

/* Decode is checked by relative L2 against the float64 network. The planted bug (the
 * decoder LSTM without bias_hh) moved the tiny model's output by 1.88e-3 relative; here
 * an output biased by a constant of that size, and one 1000x smaller (the honest
 * float32 error is 3e-8 to 1e-6), against the tolerance of both growth classes. */
static void encodec_bias(void **state)
{
    (void)state;
    sono_params p = params_of("codec.encodec", "mode=decode,weights=random,seconds=0.05");
    const sono_op *op = sono_op_find("codec.encodec");
    sono_buf in0, out0;
    op->shapes(&p, &in0, &out0);
    long long n = sono_buf_elems(&out0);
    assert_true(n > 1000);
    double *r = malloc(sizeof *r * (size_t)n);
    float *y = malloc(sizeof *y * (size_t)n);
    int32_t *codes = calloc((size_t)sono_buf_elems(&in0), sizeof *codes);
    assert_non_null(r);
    assert_non_null(y);
    assert_non_null(codes);
    float *v = malloc(sizeof *v * (size_t)n);
    assert_non_null(v);
    voice(v, n, 24000, 5);
    double rr = 0;
    for (long long i = 0; i < n; i++) {
        r[i] = v[i];
        rr += r[i] * r[i];
    }
    double rms = sqrt(rr / (double)n);
    in0.data = codes;
    in0.nbytes = (size_t)sono_buf_elems(&in0) * sono_dtype_size(in0.dtype);
    out0.data = y;
    out0.nbytes = (size_t)n * sizeof *y;
    sono_buf ref = out0;
    ref.dtype = SONO_F64;
    ref.data = r;
    ref.nbytes = (size_t)n * sizeof *r;
    for (int g = 0; g < 2; g++) {
        double tol = op->tolerance(&p, g ? SONO_ERR_LINEAR : SONO_ERR_LOG);
        static const struct {
            double bias, sign;
            int pass;
        } cases[] = {{0, 1, 1}, {1.88e-6, 1, 1}, {1.88e-3, 1, 0}, {0, -1, 0}};
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            for (long long i = 0; i < n; i++)
                y[i] = (float)(cases[k].sign * r[i] + cases[k].bias * rms);
            sono_check c;
            int pass = run_check("codec.encodec", &p, &in0, &out0, &ref, tol, &c);
            if (pass != cases[k].pass)
                fail_msg("%s, bias %g x RMS, sign %g: pass %d (rel_l2 %g, tol %g)",
                         g ? "linear" : "log", cases[k].bias, cases[k].sign, pass, c.rel_l2,
                         tol);
        }
    }
    free(r);
    free(y);
    free(v);
    free(codes);
    sono_params_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(opus_gain_sign),
        cmocka_unit_test(opus_lowpassed_noise),
        cmocka_unit_test(fft_direct_sum),
        cmocka_unit_test(load_batch_crops),
        cmocka_unit_test(encodec_bias),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
