/* test_dsp_ref.c — the float64 references of stft, melspec, logmel and mfcc (spec64.c,
 * mel64.c, logmel.c, mfcc.c) against published values and definitions written again here;
 * then their tolerances: a float32 pipeline written here must pass them with margin and
 * the references of deliberately wrong variants must fail them by 10x or more. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "op.h"
#include "ops/dsp_common.h"
#include "ops/ref/mel64.h"
#include "ops/ref/spec64.h"
#include "params.h"

#define PI 3.141592653589793238462643383279502884

/* ---- helpers ---------------------------------------------------------------------- */

static uint64_t dr_seed = 0x9e3779b97f4a7c15ull;

/* splitmix64, uniform in [-1, 1) */
static double dr_rand(void)
{
    uint64_t z = (dr_seed += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1p-52 - 1.0;
}

/* The op's params from "k=v,k=v" plus its defaults; free with sono_params_free. */
static sono_params dr_params(const char *opname, const char *text)
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

static sono_dsp_dims dr_dims(const char *op, const sono_params *p)
{
    sono_dsp_dims d;
    sono_error err = {0};
    if (sono_dsp_dims_get(op, p, &d, &err))
        fail_msg("%s: %s", op, err.msg);
    return d;
}

/* The op's reference for x through its sono_op, in a malloc'ed array; *count scalars. */
static double *dr_ref(const char *opname, const sono_params *p, const float *x,
                      long long *count)
{
    const sono_op *op = sono_op_find(opname);
    sono_buf in, out;
    op->shapes(p, &in, &out);
    in.data = (void *)x;
    out.dtype = sono_dtype_wide(out.dtype);
    *count = sono_buf_elems(&out) * (out.dtype == SONO_C128 ? 2 : 1);
    out.data = malloc(sizeof(double) * (size_t)*count);
    assert_non_null(out.data);
    sono_error err = {0};
    if (op->reference(p, &in, &out, &err))
        fail_msg("%s reference: %s", opname, err.msg);
    return out.data;
}

/* Relative L2 error of o against r as the harness checks it; *pass: the whole verdict
 * (max-abs bound included) at tolerance tol. */
static double dr_err(const float *o, const double *r, long long count, double tol, int *pass,
                     double *max_rel)
{
    sono_buf bo = {.dtype = SONO_F32, .ndim = 1, .shape = {count}, .data = (void *)o};
    sono_buf br = {.dtype = SONO_F64, .ndim = 1, .shape = {count}, .data = (void *)r};
    sono_check c;
    sono_error err = {0};
    assert_int_equal(sono_check_output(&bo, &br, tol, &c, &err), 0);
    if (pass)
        *pass = c.pass;
    if (max_rel)
        *max_rel = c.max_abs / (c.ref_peak > 0 ? c.ref_peak : 1.0);
    return c.rel_l2;
}

static float *dr_to_float(const double *r, long long count)
{
    float *f = malloc(sizeof *f * (size_t)count);
    assert_non_null(f);
    for (long long i = 0; i < count; i++)
        f[i] = (float)r[i];
    return f;
}

/* X[k] = sum_j x[j] e^{-2 pi i jk/n} directly, k < nbins, in long double. */
static void dr_direct_dft(const double *x, long long n, long double *re, long double *im)
{
    for (long long k = 0; k <= n / 2; k++) {
        long double a = 0, b = 0;
        for (long long j = 0; j < n; j++) {
            long double ph = -2.0L * (long double)PI * (long double)((j * k) % n) / n;
            a += x[j] * cosl(ph);
            b += x[j] * sinl(ph);
        }
        re[k] = a;
        im[k] = b;
    }
}

/* numpy.pad(x, n_fft//2, mode="reflect"), written again: index q of the padded signal. */
static long long dr_reflect(long long q, long long pad, long long len)
{
    long long s = q - pad;
    while (s < 0 || s >= len)
        s = s < 0 ? -s : 2 * (len - 1) - s;
    return s;
}

/* ---- test signals at rate sr ------------------------------------------------------ */

enum { SIG_NOISE, SIG_SINE, SIG_SPEECH, SIG_IMPULSE, SIG_SILENCE, NSIG };
static const char *const sig_names[NSIG] = {"noise", "sine", "speech", "impulse", "silence"};

/* Speech-like: a voiced source gliding 110 -> 140 Hz whose harmonics are shaped by two
 * formants, in 4 Hz syllables, a high-passed noise burst (a fricative), quiet gaps. */
static float *dr_signal(int kind, long long n, double sr)
{
    float *x = calloc((size_t)n, sizeof *x);
    assert_non_null(x);
    double prev = 0;
    for (long long i = 0; i < n; i++) {
        double t = (double)i / sr, v = 0;
        if (kind == SIG_NOISE)
            v = 0.5 * dr_rand();
        else if (kind == SIG_SINE)
            v = 0.5 * sin(2 * PI * fmod(1000.0 * t, 1.0));
        else if (kind == SIG_IMPULSE)
            v = i == n / 3 ? 1.0 : 0.0;
        else if (kind == SIG_SPEECH) {
            double f0 = 110.0 + 30.0 * fmod(t, 1.0), ph = 110.0 * t + 15.0 * fmod(t, 1.0) *
                                                                         fmod(t, 1.0);
            double env = pow(sin(PI * fmod(4.0 * t, 1.0)), 2);
            for (int h = 1; f0 * h < sr / 2 && h < 60; h++) {
                double f = f0 * h;
                double g = exp(-pow((f - 700) / 150, 2)) + 0.5 * exp(-pow((f - 1200) / 200, 2)) +
                           0.01;
                v += 0.1 * g * sin(2 * PI * fmod(ph * h, 1.0));
            }
            v *= env;
            double r = dr_rand();
            if (fmod(t, 0.5) > 0.35 && fmod(t, 0.5) < 0.45) /* fricative */
                v += 0.05 * (r - prev);
            prev = r;
            if (fmod(t, 0.5) > 0.45) /* a gap with a faint floor */
                v = 1e-4 * r;
        }
        x[i] = (float)v;
    }
    return x;
}

/* ---- a float32 pipeline: what an honest impl computes ---------------------------- */
/* Window, framing, FFT, |X|^2, filterbank (its edges computed in float, as torchaudio
 * does), log and DCT, every step rounded to float. FAST: a mixed-radix FFT in float
 * (error ~ eps log n); NAIVE: the direct O(n^2) sum in float (~ eps n). */
enum { F32_FAST, F32_NAIVE };

static long long f32_factor(long long n)
{
    for (long long f = 2; f * f <= n; f++)
        if (n % f == 0)
            return f;
    return n;
}

/* Decimation in time on the smallest factor p; tw[m] = e^{-2 pi i m/N} rounded to float. */
static void f32_fft(const float *x, long long s, long long n, float *y, const float *tw,
                    long long ws, long long N, float *tmp)
{
    if (n == 1) {
        y[0] = x[0];
        y[1] = x[1];
        return;
    }
    long long p = f32_factor(n), m = n / p;
    for (long long r = 0; r < p; r++)
        f32_fft(x + 2 * r * s, s * p, m, y + 2 * r * m, tw, ws * p, N, tmp);
    for (long long k = 0; k < m; k++) {
        for (long long r = 0; r < p; r++) {
            const float *a = y + 2 * (r * m + k);
            const float *w = tw + 2 * ((r * k % n) * ws % N);
            tmp[2 * r] = a[0] * w[0] - a[1] * w[1];
            tmp[2 * r + 1] = a[0] * w[1] + a[1] * w[0];
        }
        for (long long q = 0; q < p; q++) {
            float re = 0, im = 0;
            for (long long r = 0; r < p; r++) {
                const float *w = tw + 2 * ((r * q % p) * m * ws % N);
                re += tmp[2 * r] * w[0] - tmp[2 * r + 1] * w[1];
                im += tmp[2 * r] * w[1] + tmp[2 * r + 1] * w[0];
            }
            y[2 * (k + m * q)] = re;
            y[2 * (k + m * q) + 1] = im;
        }
    }
}

/* The window in float: the definition evaluated in double and rounded once, so every
 * sample is within eps/2 of its value. (0.5f - 0.5f * cosf(a) in float arithmetic loses
 * the relative accuracy of the tails to cancellation: w[1] of a 400-point hann is 6e-5
 * with an absolute error near eps/4, 5e-4 relative, which a frame holding only the edge of
 * a signal, or an impulse, turns into a logmel error above the tolerance.) */
static float f32_window(sono_window_kind kind, long long i, long long n)
{
    double a = 2.0 * PI * (double)i / (double)n;
    if (kind == SONO_WIN_HAMMING)
        return (float)(0.54 - 0.46 * cos(a));
    if (kind == SONO_WIN_BLACKMAN)
        return (float)(0.42 - 0.5 * cos(a) + 0.08 * cos(2.0 * a));
    return (float)(0.5 - 0.5 * cos(a));
}

/* Complex STFT in float, [nbins, frames] interleaved. */
static float *f32_stft(const sono_dsp_dims *d, const float *x, int kind)
{
    long long n = d->n_fft, nb = d->nbins, nt = d->frames;
    long long pad = d->center ? n / 2 : 0, off = (n - d->win_length) / 2;
    float *X = malloc(sizeof *X * 2 * (size_t)(nb * nt)), *w = calloc((size_t)n, sizeof *w);
    float *tw = malloc(sizeof *tw * 2 * (size_t)n), *fr = malloc(sizeof *fr * 2 * (size_t)n);
    float *y = malloc(sizeof *y * 2 * (size_t)n), *tmp = malloc(sizeof *tmp * 2 * (size_t)n);
    assert_true(X && w && tw && fr && y && tmp);
    for (long long i = 0; i < d->win_length; i++)
        w[off + i] = f32_window(d->window, i, d->win_length);
    for (long long m = 0; m < n; m++) {
        tw[2 * m] = (float)cos(-2 * PI * (double)m / (double)n);
        tw[2 * m + 1] = (float)sin(-2 * PI * (double)m / (double)n);
    }
    for (long long t = 0; t < nt; t++) {
        for (long long j = 0; j < n; j++) {
            long long s = dr_reflect(t * d->hop + j, pad, d->used);
            fr[2 * j] = (s < d->samples ? x[s] : 0.0f) * w[j];
            fr[2 * j + 1] = 0.0f;
        }
        if (kind == F32_FAST)
            f32_fft(fr, 1, n, y, tw, 1, n, tmp);
        else
            for (long long k = 0; k < nb; k++) {
                float re = 0, im = 0;
                for (long long j = 0; j < n; j++) {
                    re += fr[2 * j] * tw[2 * (j * k % n)];
                    im += fr[2 * j] * tw[2 * (j * k % n) + 1];
                }
                y[2 * k] = re;
                y[2 * k + 1] = im;
            }
        for (long long k = 0; k < nb; k++) {
            X[2 * (k * nt + t)] = y[2 * k];
            X[2 * (k * nt + t) + 1] = y[2 * k + 1];
        }
    }
    free(w);
    free(tw);
    free(fr);
    free(y);
    free(tmp);
    return X;
}

static float *f32_pow(const sono_dsp_dims *d, const float *X, float power)
{
    long long count = d->nbins * d->frames;
    float *P = malloc(sizeof *P * (size_t)count);
    assert_non_null(P);
    for (long long i = 0; i < count; i++) {
        float p2 = X[2 * i] * X[2 * i] + X[2 * i + 1] * X[2 * i + 1];
        P[i] = power == 2.0f ? p2 : power == 1.0f ? sqrtf(p2) : powf(sqrtf(p2), power);
    }
    return P;
}

/* The filterbank is tabulated in double and rounded once (as Whisper's mel_filters and
 * librosa are): edges computed in float sit eps f from their place, and a bin close to an
 * edge of a narrow filter (128 mels over 201 bins) then gets a weight off by 1e-3
 * relative, which log10 shows in logmel's max error. Own double formulas, not mel64's. */
static double f32_hz_to_mel(double f, int htk)
{
    if (htk)
        return 2595.0 * log10(1.0 + f / 700.0);
    return f < 1000.0 ? 3.0 * f / 200.0 : 15.0 + log(f / 1000.0) * (27.0 / log(6.4));
}

static double f32_mel_to_hz(double m, int htk)
{
    if (htk)
        return 700.0 * (pow(10.0, m / 2595.0) - 1.0);
    return m < 15.0 ? 200.0 * m / 3.0 : 1000.0 * exp((m - 15.0) * (log(6.4) / 27.0));
}

static float *f32_melspec(const sono_dsp_dims *d, const float *x, int kind)
{
    long long nb = d->nbins, nt = d->frames, nm = d->n_mels;
    float *X = f32_stft(d, x, kind), *P = f32_pow(d, X, (float)d->power);
    double *f = malloc(sizeof *f * (size_t)(nm + 2));
    float *W = malloc(sizeof *W * (size_t)(nm * nb)), *M = calloc((size_t)(nm * nt), sizeof *M);
    assert_true(f && W && M);
    double lo = f32_hz_to_mel(d->fmin, d->htk), hi = f32_hz_to_mel(d->fmax, d->htk);
    for (long long i = 0; i < nm + 2; i++)
        f[i] = f32_mel_to_hz(lo + (hi - lo) * (double)i / (double)(nm + 1), d->htk);
    for (long long m = 0; m < nm; m++)
        for (long long k = 0; k < nb; k++) {
            double hz = (double)k * d->sample_rate / (double)d->n_fft;
            double v = fmax(0.0, fmin((hz - f[m]) / (f[m + 1] - f[m]),
                                      (f[m + 2] - hz) / (f[m + 2] - f[m + 1])));
            W[m * nb + k] = (float)(d->slaney_norm ? v * (2.0 / (f[m + 2] - f[m])) : v);
        }
    for (long long m = 0; m < nm; m++)
        for (long long t = 0; t < nt; t++) {
            float s = 0;
            for (long long k = 0; k < nb; k++)
                s += W[m * nb + k] * P[k * nt + t];
            M[m * nt + t] = s;
        }
    free(X);
    free(P);
    free(f);
    free(W);
    return M;
}

static float *f32_logmel(const sono_dsp_dims *d, const float *x, int kind)
{
    long long n = d->n_mels * d->frames;
    float *L = f32_melspec(d, x, kind), top = -INFINITY;
    for (long long i = 0; i < n; i++) {
        L[i] = log10f(fmaxf(L[i], 1e-10f));
        top = fmaxf(top, L[i]);
    }
    for (long long i = 0; i < n; i++)
        L[i] = (fmaxf(L[i], top - 8.0f) + 4.0f) / 4.0f;
    return L;
}

/* torchaudio's create_dct in float: cos(pi / n_mels * (m + 0.5) * c). */
static float *f32_mfcc(const sono_dsp_dims *d, const float *x, int kind)
{
    long long nm = d->n_mels, nt = d->frames, nc = d->n_mfcc;
    float *D = f32_melspec(d, x, kind), top = -INFINITY;
    float *out = malloc(sizeof *out * (size_t)(nc * nt));
    assert_non_null(out);
    for (long long i = 0; i < nm * nt; i++) {
        D[i] = 10.0f * log10f(fmaxf(D[i], 1e-10f));
        top = fmaxf(top, D[i]);
    }
    if (d->top_db > 0)
        for (long long i = 0; i < nm * nt; i++)
            D[i] = fmaxf(D[i], top - (float)d->top_db);
    for (long long c = 0; c < nc; c++) {
        float s = c == 0 ? sqrtf(1.0f / (float)nm) : sqrtf(2.0f / (float)nm);
        for (long long t = 0; t < nt; t++) {
            float acc = 0;
            for (long long m = 0; m < nm; m++)
                acc += D[m * nt + t] * s * cosf((float)PI / (float)nm * ((float)m + 0.5f) * (float)c);
            out[c * nt + t] = acc;
        }
    }
    free(D);
    return out;
}

/* ---- tolerances: honest float32 inside, bugs far outside ------------------------- */

enum { BUG_HAMMING, BUG_HTK, BUG_NORM, BUG_SHIFT, BUG_NOCLAMP, NBUG };
static const char *const bug_names[NBUG] = {"hamming for hann", "htk for slaney",
                                            "wrong norm", "frames off by one", "no clamp"};

/* The reference of op from (possibly altered) dims, in a malloc'ed array. */
static double *dr_ref_dims(const char *op, const sono_dsp_dims *d, const float *x,
                           long long *count)
{
    int is_stft = !strcmp(op, "stft"), cplx = is_stft && d->stft_output == 2;
    long long rows = is_stft ? d->nbins : !strcmp(op, "mfcc") ? d->n_mfcc : d->n_mels;
    *count = rows * d->frames * (cplx ? 2 : 1);
    long long alloc = *count > d->n_mels * d->frames ? *count : d->n_mels * d->frames;
    double *r = malloc(sizeof *r * (size_t)alloc);
    assert_non_null(r);
    sono_error err = {0};
    int rc = cplx      ? sono_stft64(d, x, r, &err)
             : is_stft ? sono_stft64_pow(d, x, d->stft_output == 1 ? 1.0 : 2.0, r, &err)
             : !strcmp(op, "melspec") ? sono_melspec64(d, x, r, &err)
             : !strcmp(op, "logmel")  ? sono_logmel64(d, x, r, &err)
                                      : sono_mfcc64(d, x, r, &err);
    if (rc)
        fail_msg("%s: %s", op, err.msg);
    return r;
}

/* The reference as it would come out of an impl with this bug; NULL where the bug does
 * not apply to the op. ref: the true reference (count scalars), for the shifted frames. */
static double *dr_bug(const char *op, sono_dsp_dims d, const float *x, int bug,
                      const double *ref, long long *count)
{
    int is_stft = !strcmp(op, "stft"), is_log = !strcmp(op, "logmel");
    switch (bug) {
    case BUG_HAMMING:
        d.window = SONO_WIN_HAMMING;
        return dr_ref_dims(op, &d, x, count);
    case BUG_HTK:
    case BUG_NORM:
        if (is_stft)
            return NULL;
        if (bug == BUG_HTK)
            d.htk = !d.htk;
        else
            d.slaney_norm = !d.slaney_norm;
        return dr_ref_dims(op, &d, x, count);
    case BUG_SHIFT: { /* slot t holds frame t + 1; the last slot repeats itself */
        double *r = malloc(sizeof *r * (size_t)*count);
        assert_non_null(r);
        memcpy(r, ref, sizeof *r * (size_t)*count);
        long long rows = *count / d.frames, nt = d.frames, w = is_stft && d.stft_output == 2;
        rows >>= w;
        for (long long k = 0; k < rows; k++)
            for (long long t = 0; t + 1 < nt; t++)
                for (long long c = 0; c <= w; c++)
                    r[((k * nt + t) << w) + c] = r[((k * nt + t + 1) << w) + c];
        return r;
    }
    case BUG_NOCLAMP:
        if (!strcmp(op, "mfcc")) {
            d.top_db = 0;
            return dr_ref_dims(op, &d, x, count);
        }
        if (!is_log)
            return NULL;
        double *r = dr_ref_dims("melspec", &d, x, count);
        *count = d.n_mels * d.frames;
        for (long long i = 0; i < *count; i++)
            r[i] = (log10(fmax(r[i], 1e-10)) + 4.0) / 4.0;
        return r;
    }
    return NULL;
}

static float *dr_f32(const char *op, const sono_dsp_dims *d, const float *x, int kind)
{
    if (!strcmp(op, "melspec"))
        return f32_melspec(d, x, kind);
    if (!strcmp(op, "logmel"))
        return f32_logmel(d, x, kind);
    if (!strcmp(op, "mfcc"))
        return f32_mfcc(d, x, kind);
    float *X = f32_stft(d, x, kind);
    if (d->stft_output == 2)
        return X;
    float *P = f32_pow(d, X, d->stft_output == 1 ? 1.0f : 2.0f);
    free(X);
    return P;
}

/* fast_only: 3000 frames, too many for the O(n^2) float DFT and the bugs' references in
 * a unit test (the case before covers them). */
static const struct {
    const char *op, *params;
    int fast_only;
} dr_cases[] = {
    {"stft", "seconds=0.5,output=power", 0},
    {"stft", "seconds=0.5,output=complex", 0},
    {"stft", "seconds=0.5,output=magnitude,n_fft=400,hop=160", 0},
    {"melspec", "seconds=0.5", 0},
    {"melspec", "seconds=0.5,power=1,mel_scale=htk,norm=none,n_fft=512,n_mels=40,fmin=60,"
                "fmax=7600", 0},
    {"logmel", "seconds=1,pad_or_trim=0", 0},
    {"logmel", "seconds=0.7,pad_or_trim=1,n_mels=128", 1},
    {"mfcc", "seconds=0.5", 0},
    {"mfcc", "seconds=0.5,n_mels=128,n_mfcc=40,n_fft=1024,hop=256", 0},
};

/* A bug a signal cannot show: no clamp where nothing is 80 dB down. */
static int dr_bug_visible(int bug, int sig)
{
    return sig != SIG_SILENCE && !(bug == BUG_NOCLAMP && sig == SIG_NOISE);
}

/* The claims of dsp_tol.c: the float32 pipeline (fast FFT against the fast-algorithm
 * tolerance, direct DFT against the direct-sum one) passes the whole check at a quarter
 * of its tolerance on every signal; every bug misses the fast-algorithm tolerance by
 * 10x or more on every signal that can show it. */
static void dr_tolerance_claims(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof dr_cases / sizeof dr_cases[0]; c++) {
        const char *op = dr_cases[c].op;
        const sono_op *sop = sono_op_find(op);
        sono_params p = dr_params(op, dr_cases[c].params);
        sono_dsp_dims d = dr_dims(op, &p);
        double tl = sop->tolerance(&p, SONO_ERR_LOG), tn = sop->tolerance(&p, SONO_ERR_LINEAR);
        double honest[2] = {0, 0}, least = INFINITY, least_lin = INFINITY;
        for (int s = 0; s < NSIG; s++) {
            float *x = dr_signal(s, d.samples, d.sample_rate);
            long long count;
            double *ref = dr_ref(op, &p, x, &count);
            for (int kind = F32_FAST; kind <= (dr_cases[c].fast_only ? F32_FAST : F32_NAIVE);
                 kind++) {
                double tol = kind == F32_FAST ? tl : tn;
                float *o = dr_f32(op, &d, x, kind);
                int pass;
                double mx, e = dr_err(o, ref, count, tol / 4, &pass, &mx);
                if (!pass)
                    fail_msg("%s %s on %s, float32 %s: rel L2 %.3g, or its max error, is "
                             "not within a quarter of the tolerance %.3g", op,
                             dr_cases[c].params, sig_names[s],
                             kind == F32_FAST ? "FFT" : "direct DFT", e, tol);
                honest[kind] = fmax(honest[kind], fmax(e, mx) / tol);
                free(o);
            }
            for (int b = 0; b < NBUG && !dr_cases[c].fast_only; b++) {
                if (!dr_bug_visible(b, s))
                    continue;
                long long bc = count;
                double *v = dr_bug(op, d, x, b, ref, &bc);
                if (!v)
                    continue;
                assert_int_equal(bc, count);
                float *vf = dr_to_float(v, count);
                double e = dr_err(vf, ref, count, tl, NULL, NULL);
                if (!(e >= 10 * tl))
                    fail_msg("%s %s on %s: bug '%s' has rel L2 %.3g, not 10x the tolerance "
                             "%.3g", op, dr_cases[c].params, sig_names[s], bug_names[b], e, tl);
                least = fmin(least, e / tl);
                least_lin = fmin(least_lin, e / tn);
                free(v);
                free(vf);
            }
            free(ref);
            free(x);
        }
        print_message("%-7s %-40.40s tol %.2g / %.2g: honest <= %.2g / %.2g of it (L2 or "
                      "max), bugs >= %.0fx / %.1fx\n", op, dr_cases[c].params, tl, tn, honest[0],
                      honest[1], least, least_lin);
        sono_params_free(&p);
    }
}

/* ---- definitions: mel scale, filterbank, framing, sizes -------------------------- */

static void dr_mel_scale(void **state)
{
    (void)state;
    /* Slaney: 3 mels per 200 Hz below 1 kHz, so 1000 Hz is 15 and 200 Hz is 3 */
    assert_float_equal(sono_hz_to_mel64(1000.0, 0), 15.0, 1e-12);
    assert_float_equal(sono_hz_to_mel64(200.0, 0), 3.0, 1e-12);
    /* above: 27 mels per factor 6.4 */
    assert_float_equal(sono_hz_to_mel64(6400.0, 0), 42.0, 1e-12);
    /* HTK: 2595 log10(1 + 1000/700) = 999.98553... */
    assert_float_equal(sono_hz_to_mel64(1000.0, 1), 999.9855371396243, 1e-9);
    assert_float_equal(sono_hz_to_mel64(0.0, 1), 0.0, 0);
    const double fs[] = {0, 1, 60, 200, 999.999, 1000, 1000.001, 4000, 8000, 22050, 96000};
    for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++)
        for (int htk = 0; htk <= 1; htk++) {
            double back = sono_mel_to_hz64(sono_hz_to_mel64(fs[i], htk), htk);
            if (fabs(back - fs[i]) > 1e-9 * (1 + fs[i]))
                fail_msg("htk=%d: %g Hz -> mel -> %.17g Hz", htk, fs[i], back);
        }
}

/* Whisper's filterbank: 80 slaney mels, slaney norm, 0..8000 Hz over 201 bins of 40 Hz. */
static void dr_filterbank(void **state)
{
    (void)state;
    sono_params p = dr_params("melspec", "n_fft=400,n_mels=80,sample_rate=16000");
    sono_dsp_dims d = dr_dims("melspec", &p);
    assert_int_equal(d.nbins, 201);
    double *W = malloc(sizeof *W * 80 * 201);
    assert_non_null(W);
    assert_int_equal(sono_melbank64(&d, W), 0);
    /* by hand: mel(8000) = 15 + 27 ln 8 / ln 6.4; 81 steps; both first edges < 1000 Hz */
    double top = 15.0 + 27.0 * log(8.0) / log(6.4), step = top / 81.0;
    double f1 = 200.0 * step / 3.0, f2 = 200.0 * 2.0 * step / 3.0;
    for (int k = 0; k < 201; k++) {
        double f = 40.0 * k, want = 0;
        if (f > 0 && f < f1)
            want = f / f1;
        else if (f >= f1 && f < f2)
            want = (f2 - f) / (f2 - f1);
        want *= 2.0 / f2;
        if (fabs(W[k] - want) > 1e-12)
            fail_msg("filter 0, bin %d: %.17g, by hand %.17g", k, W[k], want);
    }
    assert_true(W[0] == 0.0 && W[1] > 0.0 && W[2] == 0.0); /* f1 = 37 Hz, f2 = 74 Hz */
    /* slaney norm: area (sum of weights x 40 Hz) ~ 1 where the filter spans >= 8 bins */
    int wide = 0;
    for (int m = 0; m < 80; m++) {
        double lo = sono_mel_to_hz64(m * step, 0), hi = sono_mel_to_hz64((m + 2) * step, 0);
        if (hi - lo < 8 * 40.0)
            continue;
        double area = 0;
        for (int k = 0; k < 201; k++)
            area += W[m * 201 + k] * 40.0;
        if (fabs(area - 1.0) > 0.02)
            fail_msg("filter %d (%.0f..%.0f Hz): area %.4f", m, lo, hi, area);
        wide++;
    }
    assert_true(wide >= 10); /* the filters above ~4 kHz */
    sono_params_free(&p);

    /* htk, no norm: triangles of peak 1, each sampled within a bin of its apex */
    p = dr_params("melspec", "n_fft=2048,n_mels=40,sample_rate=16000,mel_scale=htk,norm=none");
    d = dr_dims("melspec", &p);
    double *H = malloc(sizeof *H * 40 * (size_t)d.nbins);
    assert_non_null(H);
    assert_int_equal(sono_melbank64(&d, H), 0);
    double hs = 2595.0 * log10(1.0 + 8000.0 / 700.0) / 41.0, bw = 16000.0 / 2048;
    for (int m = 0; m < 40; m++) {
        double peak = 0;
        for (long long k = 0; k < d.nbins; k++)
            peak = fmax(peak, H[m * d.nbins + k]);
        double f0 = 700 * (pow(10, m * hs / 2595) - 1), f1h = 700 * (pow(10, (m + 1) * hs / 2595) - 1);
        double f2h = 700 * (pow(10, (m + 2) * hs / 2595) - 1);
        /* the sample nearest the apex is within half a bin: 1 - (bw/2)/min(side) at worst */
        double floor_ = 1.0 - bw / 2 / fmin(f1h - f0, f2h - f1h);
        if (!(peak <= 1.0 + 1e-12 && peak >= floor_))
            fail_msg("htk filter %d: peak %.6f outside [%.6f, 1]", m, peak, floor_);
    }
    free(W);
    free(H);
    sono_params_free(&p);
}

/* The padded frame t of x by the definition, written again: reflect, then window. */
static void dr_expected_frame(const float *x, long long len, long long n_fft, long long hop,
                              int center, const double *w, long long t, double *fr)
{
    for (long long j = 0; j < n_fft; j++)
        fr[j] = x[dr_reflect(t * hop + j, center ? n_fft / 2 : 0, len)] * w[j];
}

/* The stft complex reference of frame t against a direct DFT of the expected frame. */
static void dr_check_frame(const double *X, long long nbins, long long frames, long long t,
                           const double *fr, long long n_fft)
{
    long double re[64], im[64];
    dr_direct_dft(fr, n_fft, re, im);
    for (long long k = 0; k < nbins; k++) {
        double a = X[2 * (k * frames + t)], b = X[2 * (k * frames + t) + 1];
        if (fabsl(a - re[k]) > 1e-12L * (1 + fabsl(re[k])) ||
            fabsl(b - im[k]) > 1e-12L * (1 + fabsl(im[k])))
            fail_msg("frame %lld bin %lld: (%.15g, %.15g), direct (%.15Lg, %.15Lg)", t, k, a,
                     b, re[k], im[k]);
    }
}

static void dr_framing(void **state)
{
    (void)state;
    /* x[i] = i, 32 samples at 1 kHz, n_fft 8, hop 4, centred, hamming (no zero at j = 0) */
    float x[64];
    for (int i = 0; i < 64; i++)
        x[i] = (float)i;
    const struct {
        int len;
        double first[8], last[8];
    } ramps[] = {{32, {4, 3, 2, 1, 0, 1, 2, 3}, {28, 29, 30, 31, 30, 29, 28, 27}},
                 {30, {4, 3, 2, 1, 0, 1, 2, 3}, {24, 25, 26, 27, 28, 29, 28, 27}}};
    for (int r = 0; r < 2; r++) {
        char text[128];
        snprintf(text, sizeof text, "sample_rate=1000,seconds=%g,n_fft=8,hop=4,window=hamming,"
                 "output=complex", ramps[r].len / 1000.0);
        sono_params p = dr_params("stft", text);
        sono_dsp_dims d = dr_dims("stft", &p);
        assert_int_equal(d.samples, ramps[r].len);
        assert_int_equal(d.frames, 1 + (ramps[r].len + 8 - 8) / 4);
        double w[8], fr[8], got[8];
        for (int j = 0; j < 8; j++)
            w[j] = 0.54 - 0.46 * cos(2 * PI * j / 8);
        /* the frames themselves, without the window's help */
        double ones[8] = {1, 1, 1, 1, 1, 1, 1, 1};
        sono_frame64(&d, x, ones, 0, got);
        for (int j = 0; j < 8; j++)
            assert_float_equal(got[j], ramps[r].first[j], 0);
        sono_frame64(&d, x, ones, d.frames - 1, got);
        for (int j = 0; j < 8; j++)
            assert_float_equal(got[j], ramps[r].last[j], 0);
        /* through the op's reference: frame 0 and the last against a direct DFT */
        long long count;
        double *X = dr_ref("stft", &p, x, &count);
        assert_int_equal(count, 2 * 5 * d.frames);
        for (int j = 0; j < 8; j++)
            fr[j] = ramps[r].first[j] * w[j];
        dr_check_frame(X, 5, d.frames, 0, fr, 8);
        for (int j = 0; j < 8; j++)
            fr[j] = ramps[r].last[j] * w[j];
        dr_check_frame(X, 5, d.frames, d.frames - 1, fr, 8);
        free(X);
        sono_params_free(&p);
    }
}

/* Odd length and odd n_fft: librosa's frame count and every frame by the definition. */
static void dr_odd_sizes(void **state)
{
    (void)state;
    float *x = dr_signal(SIG_NOISE, 1001, 1000);
    for (int center = 0; center <= 1; center++) {
        char text[160];
        snprintf(text, sizeof text, "sample_rate=1000,seconds=1.001,n_fft=9,hop=3,center=%d,"
                 "window=blackman,win_length=7,output=complex", center);
        sono_params p = dr_params("stft", text);
        sono_dsp_dims d = dr_dims("stft", &p);
        long long want = center ? 1 + (1001 + 2 * (9 / 2) - 9) / 3 : 1 + (1001 - 9) / 3;
        assert_int_equal(d.samples, 1001);
        assert_int_equal(d.frames, want);
        assert_int_equal(d.nbins, 5);
        sono_buf in, out;
        sono_op_find("stft")->shapes(&p, &in, &out);
        assert_int_equal(in.shape[0], 1001);
        assert_int_equal(out.dtype, SONO_C64);
        assert_int_equal(out.shape[0], 5);
        assert_int_equal(out.shape[1], want);
        /* blackman of 7 centred in 9: zeros at j = 0 and 8 */
        double w[9] = {0}, fr[9];
        for (int i = 0; i < 7; i++)
            w[1 + i] = 0.42 - 0.5 * cos(2 * PI * i / 7) + 0.08 * cos(4 * PI * i / 7);
        long long count;
        double *X = dr_ref("stft", &p, x, &count);
        for (long long t = 0; t < want; t++) {
            dr_expected_frame(x, 1001, 9, 3, center, w, t, fr);
            dr_check_frame(X, 5, want, t, fr, 9);
        }
        free(X);
        sono_params_free(&p);
    }
    free(x);
}

static void dr_logmel_sizes_and_silence(void **state)
{
    (void)state;
    const struct {
        const char *params;
        long long samples, frames;
    } cs[] = {{"seconds=30", 480000, 3000},
              {"seconds=1,pad_or_trim=1", 16000, 3000},
              {"seconds=1,pad_or_trim=0", 16000, 100},
              {"seconds=31,pad_or_trim=1", 496000, 3000}};
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        sono_params p = dr_params("logmel", cs[i].params);
        sono_buf in, out;
        sono_op_find("logmel")->shapes(&p, &in, &out);
        assert_int_equal(in.shape[0], cs[i].samples);
        assert_int_equal(out.shape[0], 80);
        assert_int_equal(out.shape[1], cs[i].frames);
        assert_true(sono_op_find("logmel")->rate(&p) == 16000.0);
        if (i == 1) { /* silence: log10(1e-10) = -10 everywhere, (-10 + 4) / 4 */
            float *x = calloc((size_t)cs[i].samples, sizeof *x);
            assert_non_null(x);
            long long count;
            double *L = dr_ref("logmel", &p, x, &count);
            assert_int_equal(count, 80 * 3000);
            for (long long j = 0; j < count; j++)
                if (L[j] != -1.5)
                    fail_msg("silence: value %lld is %.17g, not -1.5", j, L[j]);
            /* the check on an all-equal nonzero reference: exact passes, a 1% slip fails */
            float *o = dr_to_float(L, count);
            int pass;
            double tol = sono_op_find("logmel")->tolerance(&p, SONO_ERR_LOG);
            assert_true(dr_err(o, L, count, tol, &pass, NULL) == 0.0 && pass);
            o[5] = -1.515f;
            dr_err(o, L, count, tol, &pass, NULL);
            assert_false(pass);
            free(o);
            free(L);
            free(x);
        }
        sono_params_free(&p);
    }
}

static void dr_mfcc_dct(void **state)
{
    (void)state;
    /* silence: a constant -100 dB over mels; only c0 = sqrt(n_mels) * -100 is nonzero */
    sono_params p = dr_params("mfcc", "seconds=0.1,n_mels=40,n_mfcc=13");
    sono_dsp_dims d = dr_dims("mfcc", &p);
    float *z = calloc((size_t)d.samples, sizeof *z);
    assert_non_null(z);
    long long count;
    double *c = dr_ref("mfcc", &p, z, &count);
    for (long long t = 0; t < d.frames; t++) {
        assert_float_equal(c[t], sqrt(40.0) * -100.0, 1e-10);
        for (int k = 1; k < 13; k++)
            assert_float_equal(c[k * d.frames + t], 0.0, 1e-10);
    }
    free(c);
    free(z);
    sono_params_free(&p);

    /* all n_mels kept: the DCT preserves each frame's L2 norm (orthonormal), and c0 is
     * the mean dB times sqrt(n_mels); D by the definition from the melspec reference */
    p = dr_params("mfcc", "seconds=0.1,n_mels=32,n_mfcc=32,top_db=0");
    d = dr_dims("mfcc", &p);
    float *x = dr_signal(SIG_SPEECH, d.samples, d.sample_rate);
    c = dr_ref("mfcc", &p, x, &count);
    double *M = malloc(sizeof *M * (size_t)(32 * d.frames));
    assert_non_null(M);
    assert_int_equal(sono_melspec64(&d, x, M, NULL), 0);
    for (long long t = 0; t < d.frames; t++) {
        double nd = 0, nc = 0, sum = 0;
        for (int m = 0; m < 32; m++) {
            double db = 10 * log10(fmax(M[m * d.frames + t], 1e-10));
            nd += db * db;
            sum += db;
            nc += c[m * d.frames + t] * c[m * d.frames + t];
        }
        assert_float_equal(sqrt(nc), sqrt(nd), 1e-9 * sqrt(nd));
        assert_float_equal(c[t], sum / sqrt(32.0), 1e-9 * sqrt(nd));
    }
    free(M);
    free(c);
    free(x);
    sono_params_free(&p);
}

/* Each bad combination is SONO_EINVAL with the parameter named in the message. */
static void dr_validate(void **state)
{
    (void)state;
    const struct {
        const char *op, *params, *named;
    } bad[] = {
        {"melspec", "sample_rate=16000,fmax=9000", "fmax"},
        {"mfcc", "sample_rate=8000,fmax=4001", "fmax"},
        {"melspec", "fmin=5000,fmax=4000", "fmin"},
        {"stft", "n_fft=256,win_length=257", "win_length"},
        {"stft", "sample_rate=1000,seconds=0.008,n_fft=16,center=1", "seconds"},
        {"stft", "sample_rate=1000,seconds=0.015,n_fft=16,center=0", "seconds"},
        {"logmel", "n_mels=64", "n_mels"},
        {"mfcc", "n_mels=20,n_mfcc=21", "n_mfcc"},
        {"logmel", "seconds=0.005,pad_or_trim=0", "seconds"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sono_params p = dr_params(bad[i].op, bad[i].params);
        sono_error err = {0};
        int rc = sono_op_find(bad[i].op)->validate(&p, &err);
        if (rc != SONO_EINVAL || !strstr(err.msg, bad[i].named))
            fail_msg("%s %s: rc %d, message '%s' (expected EINVAL naming %s)", bad[i].op,
                     bad[i].params, rc, err.msg, bad[i].named);
        sono_params_free(&p);
    }
    /* the edges that are fine */
    const struct {
        const char *op, *params;
    } good[] = {{"melspec", "sample_rate=16000,fmax=8000"},
                {"stft", "sample_rate=1000,seconds=0.009,n_fft=16,center=1"},
                {"stft", "sample_rate=1000,seconds=0.016,n_fft=16,center=0"},
                {"mfcc", "n_mels=20,n_mfcc=20"},
                {"logmel", "n_mels=128"}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        sono_params p = dr_params(good[i].op, good[i].params);
        sono_error err = {0};
        if (sono_op_find(good[i].op)->validate(&p, &err))
            fail_msg("%s %s: %s", good[i].op, good[i].params, err.msg);
        sono_params_free(&p);
    }
}

/* The op table: param counts agree with dsp_common.c, every op has every function. */
static void dr_ops_table(void **state)
{
    (void)state;
    const struct {
        const char *name;
        int n;
    } ops[] = {{"stft", sono_stft_nparams},
               {"melspec", sono_melspec_nparams},
               {"logmel", sono_logmel_nparams},
               {"mfcc", sono_mfcc_nparams}};
    for (size_t i = 0; i < 4; i++) {
        const sono_op *op = sono_op_find(ops[i].name);
        assert_non_null(op);
        assert_int_equal(op->nparams, ops[i].n);
        assert_true(op->validate && op->shapes && op->reference && op->cost &&
                    op->tolerance && op->rate);
    }
}

/* Cost: benchFFT's 2.5 n log2 n per frame plus the counted steps, by hand. */
static void dr_cost(void **state)
{
    (void)state;
    sono_params p = dr_params("stft", "sample_rate=16000,seconds=1,n_fft=512,hop=128");
    sono_cost c;
    sono_op_find("stft")->cost(&p, &c);
    double frames = 1 + 16000 / 128; /* centred: 16000 + 512 - 512 */
    assert_float_equal(c.flops, frames * (2.5 * 512 * 9 + 512 + 3 * 257), 1e-6);
    assert_float_equal(c.bytes, 16000 * 4.0 + 257 * frames * 4.0, 1e-9);
    sono_params_free(&p);
    /* melspec: 2 flops per nonzero weight, counted here from the reference filterbank */
    p = dr_params("melspec", "n_fft=400,hop=160,n_mels=80");
    sono_dsp_dims d = dr_dims("melspec", &p);
    double *W = malloc(sizeof *W * 80 * 201);
    assert_non_null(W);
    assert_int_equal(sono_melbank64(&d, W), 0);
    long long nnz = 0;
    for (int i = 0; i < 80 * 201; i++)
        nnz += W[i] > 0;
    assert_true(nnz > 160 && nnz < 80 * 201 / 4);
    sono_op_find("melspec")->cost(&p, &c);
    assert_float_equal(c.flops,
                       101.0 * (2.5 * 400 * log2(400.0) + 400 + 3 * 201 + 2.0 * (double)nnz),
                       1e-6);
    free(W);
    sono_params_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dr_mel_scale),
        cmocka_unit_test(dr_filterbank),
        cmocka_unit_test(dr_framing),
        cmocka_unit_test(dr_odd_sizes),
        cmocka_unit_test(dr_logmel_sizes_and_silence),
        cmocka_unit_test(dr_mfcc_dct),
        cmocka_unit_test(dr_validate),
        cmocka_unit_test(dr_ops_table),
        cmocka_unit_test(dr_cost),
        cmocka_unit_test(dr_tolerance_claims),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
