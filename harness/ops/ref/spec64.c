/* spec64.c — the float64 STFT of dsp_common.h's definitions, one frame at a time: the
 * padded signal is never built, each sample is looked up by its reflected index, and the
 * DFT of the whole complex frame (imaginary part 0) comes from sono_dft64, so no
 * real-input packing trick is shared with an impl. */
#include "spec64.h"

#include <math.h>
#include <stdlib.h>

#include "dft64.h"

/* Frames per sono_dft64 call: the twiddle table is built once per call. */
#define CHUNK 64

void sono_window64(const sono_dsp_dims *d, double *w)
{
    long long n = d->win_length, off = (d->n_fft - d->win_length) / 2;
    for (long long j = 0; j < d->n_fft; j++)
        w[j] = 0.0;
    for (long long i = 0; i < n; i++) {
        double a = 2.0 * M_PI * (double)i / (double)n;
        double v;
        switch (d->window) {
        case SONO_WIN_HAMMING:
            v = 0.54 - 0.46 * cos(a);
            break;
        case SONO_WIN_BLACKMAN:
            v = 0.42 - 0.5 * cos(a) + 0.08 * cos(2.0 * a);
            break;
        default:
            v = 0.5 - 0.5 * cos(a);
            break;
        }
        w[off + i] = v;
    }
}

/* Sample q of the padded signal: logmel's pad_or_trim first (zeros past the input, the
 * input cut at d->used), then numpy.pad "reflect" by n_fft/2 when centred. */
static double padded(const sono_dsp_dims *d, const float *x, long long q)
{
    long long pad = d->center ? d->n_fft / 2 : 0, s = q - pad;
    if (s < 0)
        s = -s;
    if (s >= d->used)
        s = 2 * (d->used - 1) - s;
    return s < d->samples ? (double)x[s] : 0.0;
}

void sono_frame64(const sono_dsp_dims *d, const float *x, const double *w, long long t,
                  double *frame)
{
    for (long long j = 0; j < d->n_fft; j++)
        frame[j] = padded(d, x, t * d->hop + j) * w[j];
}

/* Calls put(t, k, re, im) for every bin of every frame. */
static int each_bin(const sono_dsp_dims *d, const float *x, sono_error *err,
                    void (*put)(void *ctx, long long t, long long k, double re, double im),
                    void *ctx)
{
    long long n = d->n_fft;
    double *w = malloc(sizeof *w * (size_t)n), *fr = malloc(sizeof *fr * (size_t)n);
    double *in = malloc(sizeof *in * 2 * (size_t)(n * CHUNK));
    double *out = malloc(sizeof *out * 2 * (size_t)(n * CHUNK));
    int rc = (w && fr && in && out) ? 0 : SONO_ENOMEM;
    if (!rc)
        sono_window64(d, w);
    for (long long t0 = 0; !rc && t0 < d->frames; t0 += CHUNK) {
        long long b = d->frames - t0 < CHUNK ? d->frames - t0 : CHUNK;
        for (long long i = 0; i < b; i++) {
            sono_frame64(d, x, w, t0 + i, fr);
            for (long long j = 0; j < n; j++) {
                in[2 * (i * n + j)] = fr[j];
                in[2 * (i * n + j) + 1] = 0.0;
            }
        }
        rc = sono_dft64(in, out, n, b);
        for (long long i = 0; !rc && i < b; i++)
            for (long long k = 0; k < d->nbins; k++)
                put(ctx, t0 + i, k, out[2 * (i * n + k)], out[2 * (i * n + k) + 1]);
    }
    free(w);
    free(fr);
    free(in);
    free(out);
    return rc ? sono_fail(err, rc, "stft reference: no memory (n_fft=%lld)", n) : 0;
}

typedef struct {
    const sono_dsp_dims *d;
    double *dst;
    double power;
} sink;

static void put_complex(void *ctx, long long t, long long k, double re, double im)
{
    sink *s = ctx;
    s->dst[2 * (k * s->d->frames + t)] = re;
    s->dst[2 * (k * s->d->frames + t) + 1] = im;
}

static void put_pow(void *ctx, long long t, long long k, double re, double im)
{
    sink *s = ctx;
    double p2 = re * re + im * im;
    s->dst[k * s->d->frames + t] = s->power == 2.0 ? p2 : pow(sqrt(p2), s->power);
}

int sono_stft64(const sono_dsp_dims *d, const float *x, double *X, sono_error *err)
{
    sink s = {.d = d, .dst = X};
    return each_bin(d, x, err, put_complex, &s);
}

int sono_stft64_pow(const sono_dsp_dims *d, const float *x, double power, double *P,
                    sono_error *err)
{
    sink s = {.d = d, .dst = P, .power = power};
    return each_bin(d, x, err, put_pow, &s);
}
