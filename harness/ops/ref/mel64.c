/* mel64.c — mel scales (librosa.hz_to_mel / mel_to_hz), the triangular filterbank
 * (librosa.filters.mel) and the mel spectrogram in float64. Each weight is the formula of
 * dsp_common.h evaluated at the bin's frequency; nothing is tabulated or folded. */
#include "mel64.h"

#include <math.h>
#include <stdlib.h>

#include "spec64.h"

/* Slaney: linear below 1000 Hz (200/3 Hz per mel), logarithmic above, 27 mels per
 * factor 6.4; the two pieces meet at 1000 Hz = 15 mels. */
double sono_hz_to_mel64(double f, int htk)
{
    if (htk)
        return 2595.0 * log10(1.0 + f / 700.0);
    if (f < 1000.0)
        return 3.0 * f / 200.0;
    return 15.0 + 27.0 * log(f / 1000.0) / log(6.4);
}

double sono_mel_to_hz64(double m, int htk)
{
    if (htk)
        return 700.0 * (pow(10.0, m / 2595.0) - 1.0);
    if (m < 15.0)
        return 200.0 * m / 3.0;
    return 1000.0 * exp((m - 15.0) * log(6.4) / 27.0);
}

/* f_0..f_{n_mels+1}: equally spaced in mel from mel(fmin) to mel(fmax), as Hz. */
static double *mel_points(const sono_dsp_dims *d)
{
    long long n = d->n_mels + 2;
    double *f = malloc(sizeof *f * (size_t)n);
    if (!f)
        return NULL;
    double lo = sono_hz_to_mel64(d->fmin, d->htk), hi = sono_hz_to_mel64(d->fmax, d->htk);
    for (long long i = 0; i < n; i++)
        f[i] = sono_mel_to_hz64(lo + (hi - lo) * (double)i / (double)(n - 1), d->htk);
    return f;
}

static double weight(const sono_dsp_dims *d, const double *f, long long m, long long k)
{
    double hz = (double)k * d->sample_rate / (double)d->n_fft;
    double up = (hz - f[m]) / (f[m + 1] - f[m]);
    double down = (f[m + 2] - hz) / (f[m + 2] - f[m + 1]);
    double v = fmax(0.0, fmin(up, down));
    return d->slaney_norm ? v * 2.0 / (f[m + 2] - f[m]) : v;
}

int sono_melbank64(const sono_dsp_dims *d, double *W)
{
    double *f = mel_points(d);
    if (!f)
        return SONO_ENOMEM;
    for (long long m = 0; m < d->n_mels; m++)
        for (long long k = 0; k < d->nbins; k++)
            W[m * d->nbins + k] = weight(d, f, m, k);
    free(f);
    return 0;
}

long long sono_melbank64_nnz(const sono_dsp_dims *d)
{
    double *f = mel_points(d);
    if (!f)
        return d->n_mels * d->nbins; /* no memory: count the dense product */
    long long nnz = 0;
    for (long long m = 0; m < d->n_mels; m++)
        for (long long k = 0; k < d->nbins; k++)
            nnz += weight(d, f, m, k) != 0.0;
    free(f);
    return nnz;
}

int sono_melspec64(const sono_dsp_dims *d, const float *x, double *M, sono_error *err)
{
    long long nb = d->nbins, nt = d->frames;
    double *W = malloc(sizeof *W * (size_t)(d->n_mels * nb));
    double *P = malloc(sizeof *P * (size_t)(nb * nt));
    int rc = W && P ? 0 : sono_fail(err, SONO_ENOMEM, "mel reference: no memory for "
                                    "%lld bins x %lld frames", nb, nt);
    if (!rc)
        rc = sono_stft64_pow(d, x, d->power, P, err);
    if (!rc && sono_melbank64(d, W))
        rc = sono_fail(err, SONO_ENOMEM, "mel reference: no memory for the filterbank");
    /* The sum over k in ascending order, frames innermost for the cache; a zero weight
     * adds exactly 0 (P is finite), so skipping it changes no bit and saves 95%. */
    for (long long m = 0; !rc && m < d->n_mels; m++) {
        for (long long t = 0; t < nt; t++)
            M[m * nt + t] = 0.0;
        for (long long k = 0; k < nb; k++)
            if (W[m * nb + k] != 0.0)
                for (long long t = 0; t < nt; t++)
                    M[m * nt + t] += W[m * nb + k] * P[k * nt + t];
    }
    free(W);
    free(P);
    return rc;
}
