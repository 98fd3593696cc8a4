/* vq64.c — float64 nearest-codeword search, greedy residual encoding and decoding, and the
 * check of an impl's codes up to float32 near-ties, for vq.encode, rvq.encode and
 * rvq.decode (the definitions and the bound are in vq64.h). */
#include "vq64.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Four partial sums: the same double accuracy as one, a quarter of the latency chain. */
double sono_vq64_dist(const double *r, const float *c, long long D)
{
    double s[4] = {0, 0, 0, 0};
    long long j = 0;
    for (; j + 4 <= D; j += 4)
        for (int l = 0; l < 4; l++) {
            double e = r[j + l] - c[j + l];
            s[l] += e * e;
        }
    for (; j < D; j++) {
        double e = r[j] - c[j];
        s[0] += e * e;
    }
    return (s[0] + s[1]) + (s[2] + s[3]);
}

long long sono_vq64_nearest(const double *r, const float *cb, long long K, long long D,
                            double *best)
{
    long long bi = 0;
    double bd = INFINITY;
    for (long long k = 0; k < K; k++) {
        double d = sono_vq64_dist(r, cb + k * D, D);
        if (d < bd) {
            bd = d;
            bi = k;
        }
    }
    if (best)
        *best = bd;
    return bi;
}

void sono_rvq64_encode(const float *cb, int n_q, long long K, long long D, const float *x,
                       long long T, int32_t *codes)
{
    double *r = malloc((size_t)D * sizeof *r);
    for (long long t = 0; r && t < T; t++) {
        for (long long j = 0; j < D; j++)
            r[j] = x[t * D + j];
        for (int s = 0; s < n_q; s++) {
            const float *book = cb + (long long)s * K * D;
            long long k = sono_vq64_nearest(r, book, K, D, NULL);
            codes[(long long)s * T + t] = (int32_t)k;
            for (long long j = 0; j < D; j++)
                r[j] -= book[k * D + j];
        }
    }
    free(r);
}

void sono_rvq64_decode(const float *cb, int n_q, long long K, long long D,
                       const int32_t *codes, long long T, double *out)
{
    memset(out, 0, (size_t)(T * D) * sizeof *out);
    for (int s = 0; s < n_q; s++)
        for (long long t = 0; t < T; t++) {
            const float *c = cb + ((long long)s * K + codes[(long long)s * T + t]) * D;
            for (long long j = 0; j < D; j++)
                out[t * D + j] += c[j];
        }
}

double sono_rvq64_distortion(const float *cb, int n_q, long long K, long long D,
                             const float *x, const int32_t *codes, long long T)
{
    double *y = malloc((size_t)(T * D) * sizeof *y);
    if (!y)
        return NAN;
    sono_rvq64_decode(cb, n_q, K, D, codes, T, y);
    double num = 0, den = 0;
    for (long long i = 0; i < T * D; i++) {
        double e = x[i] - y[i];
        num += e * e;
        den += (double)x[i] * x[i];
    }
    free(y);
    return den > 0 ? num / den : num > 0 ? INFINITY : 0;
}

static double norm(const double *r, long long D)
{
    double s = 0;
    for (long long j = 0; j < D; j++)
        s += r[j] * r[j];
    return sqrt(s);
}

static double fnorm(const float *c, long long D)
{
    double s = 0;
    for (long long j = 0; j < D; j++)
        s += (double)c[j] * c[j];
    return sqrt(s);
}

void sono_rvq64_check(const float *cb, int n_q, long long K, long long D, const float *x,
                      long long T, const int32_t *out, const int32_t *ref, double tol,
                      sono_check *c)
{
    long long flips = 0, bad = 0, range = 0, diff = 0;
    double worst = 0, worst_gap = 0;
    double *r = malloc((size_t)D * sizeof *r);
    if (!r) {
        c->pass = 0;
        snprintf(c->detail, sizeof c->detail, "out of memory checking %lld codes",
                 (long long)n_q * T);
        return;
    }
    for (long long i = 0; i < (long long)n_q * T; i++) {
        diff += out[i] != ref[i];
        range += out[i] < 0 || out[i] >= K;
    }
    for (long long t = 0; t < T && !range; t++) {
        for (long long j = 0; j < D; j++)
            r[j] = x[t * D + j];
        double S = 0;
        int same = 1; /* on the reference's path so far: its code is the exact argmin */
        for (int s = 0; s < n_q; s++) {
            const float *book = cb + (long long)s * K * D;
            long long i = out[(long long)s * T + t];
            double rn = norm(r, D);
            if (!same || i != ref[(long long)s * T + t]) {
                same = 0;
                double best, di = sono_vq64_dist(r, book + i * D, D);
                long long k = sono_vq64_nearest(r, book, K, D, &best);
                if (k != i) {
                    double ci = fnorm(book + i * D, D), ck = fnorm(book + k * D, D);
                    double scale = (double)(D + 2) * ((rn + ci) * (rn + ci) + (rn + ck) * (rn + ck)) +
                                   2.0 * S * (ci + ck);
                    double gap = di - best, rel = scale > 0 ? gap / scale : INFINITY;
                    flips++;
                    bad += !(rel <= tol);
                    if (rel > worst)
                        worst = rel;
                    if (gap > worst_gap)
                        worst_gap = gap;
                }
            }
            S += rn;
            for (long long j = 0; j < D; j++)
                r[j] -= book[i * D + j];
        }
    }
    free(r);
    c->mismatches = diff;
    c->has_mismatches = 1;
    c->rel_l2 = range ? INFINITY : worst;
    c->max_abs = worst_gap;
    c->tol = tol;
    c->pass = !range && !bad;
    if (range) {
        snprintf(c->detail, sizeof c->detail, "%lld codes outside [0, %lld)", range, K);
        return;
    }
    double dr = sono_rvq64_distortion(cb, n_q, K, D, x, ref, T);
    double di = sono_rvq64_distortion(cb, n_q, K, D, x, out, T);
    snprintf(c->detail, sizeof c->detail,
             "%lld of %lld codes differ from the reference; %lld not the nearest on their "
             "own path (%lld beyond float32 rounding); distortion %.6g vs reference %.6g "
             "(ratio %.6f)", diff, (long long)n_q * T, flips, bad, di, dr,
             dr > 0 ? di / dr : 1.0);
}
