/* metrics.c — codec quality metrics in double: SI-SDR, log-mel L1 and multi-scale STFT
 * distance. The spectra come from the float64 STFT and mel filterbank of harness/ops
 * (spec64.h, mel64.h): a metric is not a reference under test, and those are tested. */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>

#include "ops/ref/mel64.h"
#include "ops/ref/spec64.h"

/* The largest window of sono_mstft: inputs shorter than it have no full frame. */
#define MIN_SAMPLES 2048

double sono_si_sdr_db(const float *ref, const float *est, long long n)
{
    if (n < 1)
        return NAN;
    double mr = 0, me = 0;
    for (long long i = 0; i < n; i++) {
        mr += ref[i];
        me += est[i];
    }
    mr /= (double)n;
    me /= (double)n;
    double rr = 0, er = 0;
    for (long long i = 0; i < n; i++) {
        double r = ref[i] - mr, e = est[i] - me;
        rr += r * r;
        er += e * r;
    }
    if (rr == 0)
        return -INFINITY; /* nothing to recover: no estimate scores */
    double alpha = er / rr, sig = 0, noise = 0;
    for (long long i = 0; i < n; i++) {
        double t = alpha * (ref[i] - mr), d = t - (est[i] - me);
        sig += t * t;
        noise += d * d;
    }
    if (sig == 0)
        return -INFINITY; /* est has nothing of ref: silent or orthogonal */
    if (noise == 0)
        return INFINITY;
    return 10.0 * log10(sig / noise);
}

/* STFT dims for the metrics: hann of n_fft, centred by reflection, the definitions of
 * dsp_common.h. */
static sono_dsp_dims dims(long long n, long long n_fft, long long hop, double rate)
{
    sono_dsp_dims d = {.sample_rate = rate, .samples = n, .used = n, .n_fft = n_fft,
                       .hop = hop, .win_length = n_fft, .window = SONO_WIN_HANN,
                       .center = 1, .nbins = n_fft / 2 + 1, .power = 2.0};
    d.frames = 1 + (n + 2 * (n_fft / 2) - n_fft) / hop;
    return d;
}

/* n_fft 1024 at 24 kHz and above (EnCodec's and DAC's mel losses at 24 and 48 kHz use
 * 1024-point frames at 24 kHz); below, halved until the frame spans no more time than
 * 1024 samples at 24 kHz: 512 at 16 kHz, 256 at 8 kHz. */
static long long mel_nfft(double rate)
{
    long long n = 1024;
    while (n > 64 && (double)n / rate > 1024.0 / 24000.0 + 1e-12)
        n /= 2;
    return n;
}

double sono_mel_l1(const float *ref, const float *est, long long n, double rate)
{
    long long nf = mel_nfft(rate);
    if (n <= nf / 2 || !(rate > 0))
        return NAN;
    sono_dsp_dims d = dims(n, nf, nf / 4, rate);
    d.n_mels = 80;
    d.fmin = 0;
    d.fmax = rate / 2;
    d.htk = 0;
    d.slaney_norm = 1;
    size_t cells = (size_t)(d.n_mels * d.frames);
    double *A = malloc(sizeof *A * cells), *B = malloc(sizeof *B * cells);
    double sum = NAN;
    if (A && B && !sono_melspec64(&d, ref, A, NULL) && !sono_melspec64(&d, est, B, NULL)) {
        sum = 0;
        for (size_t i = 0; i < cells; i++)
            sum += fabs(log10(fmax(A[i], 1e-5)) - log10(fmax(B[i], 1e-5)));
        sum /= (double)cells;
    }
    free(A);
    free(B);
    return sum;
}

/* One scale: spectral convergence ||(|Y| - |X|)||_F / ||X||_F plus the mean
 * |ln(|Y| + 1e-7) - ln(|X| + 1e-7)|. X all zero: 0 when Y is too, +inf otherwise. */
static double mstft_scale(const float *ref, const float *est, long long n, long long w)
{
    sono_dsp_dims d = dims(n, w, w / 4, 1.0);
    size_t cells = (size_t)(d.nbins * d.frames);
    double *X = malloc(sizeof *X * cells), *Y = malloc(sizeof *Y * cells);
    double v = NAN;
    if (X && Y && !sono_stft64_pow(&d, ref, 1.0, X, NULL) &&
        !sono_stft64_pow(&d, est, 1.0, Y, NULL)) {
        double diff = 0, norm = 0, lg = 0;
        for (size_t i = 0; i < cells; i++) {
            diff += (Y[i] - X[i]) * (Y[i] - X[i]);
            norm += X[i] * X[i];
            lg += fabs(log(Y[i] + 1e-7) - log(X[i] + 1e-7));
        }
        double sc = norm > 0 ? sqrt(diff / norm) : diff > 0 ? INFINITY : 0.0;
        v = sc + lg / (double)cells;
    }
    free(X);
    free(Y);
    return v;
}

double sono_mstft(const float *ref, const float *est, long long n)
{
    static const long long wins[] = {2048, 512, 128};
    if (n < MIN_SAMPLES)
        return NAN;
    double s = 0;
    for (int i = 0; i < 3; i++)
        s += mstft_scale(ref, est, n, wins[i]);
    return s / 3.0;
}

int sono_quality_audio(const float *in, const float *out, long long n, double rate,
                       sono_quality *q, sono_error *err)
{
    if (n < MIN_SAMPLES)
        return sono_fail(err, SONO_EINVAL,
                         "quality metrics: %lld samples, fewer than the %d of the largest "
                         "STFT window", n, MIN_SAMPLES);
    if (!(rate > 0))
        return sono_fail(err, SONO_EINVAL, "quality metrics: sample rate %g is not positive",
                         rate);
    for (long long i = 0; i < n; i++)
        if (!isfinite(in[i]) || !isfinite(out[i]))
            return sono_fail(err, SONO_EINVAL, "quality metrics: sample %lld of the %s is "
                             "not finite", i, isfinite(in[i]) ? "output" : "input");
    q->si_sdr_db = sono_si_sdr_db(in, out, n);
    q->mel_l1 = sono_mel_l1(in, out, n, rate);
    q->mstft = sono_mstft(in, out, n);
    if (isnan(q->mel_l1) || isnan(q->mstft))
        return sono_fail(err, SONO_ENOMEM, "quality metrics: no memory for the spectra of "
                         "%lld samples", n);
    q->has |= SONO_Q_SISDR | SONO_Q_MEL | SONO_Q_MSTFT;
    return 0;
}
