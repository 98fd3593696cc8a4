/* resample_oct.c — pystoi's resample_oct (pystoi/utils.py, a port of Octave's resample
 * filter) through scipy.signal.resample_poly's zero-padded polyphase filtering, so STOI
 * here reads the same 10 kHz samples as pystoi's; see resample_oct.h. */
#include "resample_oct.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static long long gcd_ll(long long a, long long b)
{
    while (b) {
        long long t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Modified Bessel function of the first kind, order 0 (numpy.kaiser's i0), by its power
 * series: converges for every argument, terms < 1e-17 of the sum end it. */
static double bessel_i0(double x)
{
    double sum = 1.0, term = 1.0, q = x * x / 4.0;
    for (int k = 1; k < 500; k++) {
        term *= q / ((double)k * (double)k);
        sum += term;
        if (term < 1e-17 * sum)
            break;
    }
    return sum;
}

static double sinc(double x)
{
    if (x == 0)
        return 1.0;
    return sin(M_PI * x) / (M_PI * x);
}

long long sono_resample_oct_len(long long n, long long rate_in, long long rate_out)
{
    if (n < 1 || rate_in < 1 || rate_out < 1)
        return 0;
    long long g = gcd_ll(rate_in, rate_out), up = rate_out / g, down = rate_in / g;
    return (n * up) / down + ((n * up) % down != 0);
}

/* The filter of pystoi's _resample_window_oct(p = up, q = down), normalised to unit sum
 * and scaled by up as resample_poly does; 2L + 1 taps, centred on tap L. */
static double *oct_filter(long long up, long long down, long long *L_out)
{
    double mx = (double)(up > down ? up : down);
    double stop = 1.0 / (2 * mx), roll = stop / 10;
    double rejection_db = 60.0; /* -20 * log10_rejection, log10_rejection = -3 */
    long long L = (long long)ceil((rejection_db - 8) / (28.714 * roll));
    double beta = 0.1102 * (rejection_db - 8.7); /* Kaiser's formula above 50 dB */
    double *h = malloc(sizeof *h * (size_t)(2 * L + 1));
    if (!h)
        return NULL;
    double sum = 0, i0b = bessel_i0(beta);
    for (long long i = 0; i <= 2 * L; i++) {
        double t = (double)(i - L), r = (double)(i - L) / (double)L;
        double w = bessel_i0(beta * sqrt(fmax(0.0, 1.0 - r * r))) / i0b;
        h[i] = w * (2 * (double)up * stop * sinc(2 * stop * t));
        sum += h[i];
    }
    for (long long i = 0; i <= 2 * L; i++)
        h[i] = h[i] / sum * (double)up;
    *L_out = L;
    return h;
}

int sono_resample_oct(const double *x, long long n, long long rate_in, long long rate_out,
                      double **y, long long *ny, sono_error *err)
{
    *y = NULL;
    *ny = 0;
    if (rate_in < 1 || rate_out < 1 || rate_in > 1000000 || rate_out > 1000000)
        return sono_fail(err, SONO_EINVAL, "resample: rates %lld -> %lld Hz, want 1..1e6",
                         rate_in, rate_out);
    if (n < 1)
        return sono_fail(err, SONO_EINVAL, "resample: %lld samples", n);
    long long g = gcd_ll(rate_in, rate_out), up = rate_out / g, down = rate_in / g;
    long long m = sono_resample_oct_len(n, rate_in, rate_out);
    double *out = malloc(sizeof *out * (size_t)m);
    if (!out)
        return sono_fail(err, SONO_ENOMEM, "resample: no memory for %lld samples", m);
    if (up == 1 && down == 1) {
        memcpy(out, x, sizeof *out * (size_t)n);
        *y = out;
        *ny = n;
        return 0;
    }
    long long L;
    double *h = oct_filter(up, down, &L);
    if (!h) {
        free(out);
        return sono_fail(err, SONO_ENOMEM, "resample: no memory for the filter");
    }
    /* y[k] = sum_j x[j] h[L + k * down - j * up] over the taps in [0, 2L]: the upsampled
     * signal filtered with the filter centred, x zero outside (resample_poly's 'constant'
     * padding), every down-th sample from 0. */
    for (long long k = 0; k < m; k++) {
        long long c = L + k * down; /* h index for j = 0 */
        long long jlo = c - 2 * L <= 0 ? 0 : (c - 2 * L + up - 1) / up;
        long long jhi = c / up;
        if (jhi > n - 1)
            jhi = n - 1;
        double s = 0;
        for (long long j = jlo; j <= jhi; j++)
            s += x[j] * h[c - j * up];
        out[k] = s;
    }
    free(h);
    *y = out;
    *ny = m;
    return 0;
}
