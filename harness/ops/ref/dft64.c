/* dft64.c — the reference DFT in float64. Deliberately not the impls' algorithm: it
 * recurses on the smallest prime factor p (any n, not only powers of two), combines the
 * p sub-transforms with a direct p-point DFT, and takes every twiddle from one table of
 * e^{-2 pi i m / n} computed with cos/sin of the exact ratio m/n in double. */
#include "dft64.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sono.h"

static long long smallest_factor(long long n)
{
    if (n % 2 == 0)
        return 2;
    for (long long f = 3; f * f <= n; f += 2)
        if (n % f == 0)
            return f;
    return n;
}

/* y[0..n) = DFT of x[0], x[s], x[2s], ... ; w holds W_N^m for the top-level N, and
 * W_n^e = w[e * ws] with ws = N / n. tmp holds 4 * p doubles for the combine step. */
static void rec(const double *x, long long s, long long n, double *y, const double *w,
                long long ws, long long N, double *tmp)
{
    if (n == 1) {
        y[0] = x[0];
        y[1] = x[1];
        return;
    }
    long long p = smallest_factor(n), m = n / p;
    for (long long r = 0; r < p; r++)
        rec(x + 2 * r * s, s * p, m, y + 2 * r * m, w, ws * p, N, tmp);
    /* Y_r[k] sits at y[r*m + k]; X[k + m*q] = sum_r W_n^{r(k + m q)} Y_r[k]. The outputs
     * for one k occupy exactly the slots of its inputs, so each k is done in place. */
    double *t = tmp;
    for (long long k = 0; k < m; k++) {
        for (long long r = 0; r < p; r++) {
            const double *yr = y + 2 * (r * m + k);
            long long e = ((r * k) % n) * ws % N;
            double c = w[2 * e], d = w[2 * e + 1];
            t[2 * r] = yr[0] * c - yr[1] * d;
            t[2 * r + 1] = yr[0] * d + yr[1] * c;
        }
        for (long long q = 0; q < p; q++) {
            double re = 0, im = 0;
            for (long long r = 0; r < p; r++) {
                long long e = ((r * q) % p) * m * ws % N; /* W_p^{rq} = W_n^{rqm} */
                double c = w[2 * e], d = w[2 * e + 1];
                re += t[2 * r] * c - t[2 * r + 1] * d;
                im += t[2 * r] * d + t[2 * r + 1] * c;
            }
            y[2 * (k + m * q)] = re;
            y[2 * (k + m * q) + 1] = im;
        }
    }
}

int sono_dft64(const double *in, double *out, long long n, long long batch)
{
    double *w = malloc(sizeof(double) * 2 * (size_t)n);
    double *tmp = malloc(sizeof(double) * 2 * (size_t)n);
    if (!w || !tmp) {
        free(w);
        free(tmp);
        return SONO_ENOMEM;
    }
    /* Octant symmetry would be faster; the exact ratio keeps each twiddle within an ulp
     * or two of e^{-2 pi i m/n}, which is what a reference needs. */
    for (long long m = 0; m < n; m++) {
        double a = -2.0 * M_PI * ((double)m / (double)n);
        w[2 * m] = cos(a);
        w[2 * m + 1] = sin(a);
    }
    for (long long b = 0; b < batch; b++)
        rec(in + 2 * b * n, 1, n, out + 2 * b * n, w, 1, n, tmp);
    free(w);
    free(tmp);
    return 0;
}
