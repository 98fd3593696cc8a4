/* relpos64.c — the float64 reference of attention.relpos (definitions in relpos.h): the
 * bucket from the exact logarithm, the gate, the scores with their bias, a softmax with
 * the row's max subtracted, the weighted sum of V — every step in double. */
#include <math.h>
#include <stdlib.h>

#include "relpos.h"

long long sono_relpos64_bucket(long long r, long long buckets, long long max_distance)
{
    long long n = buckets / 2, m = n / 2, a = r < 0 ? -r : r, b = r > 0 ? n : 0;
    if (a < m)
        return b + a;
    double v = (double)m + log((double)a / (double)m) / log((double)max_distance / (double)m) *
                               (double)(n - m);
    long long big = (long long)floor(v);
    return b + (big < n - 1 ? big : n - 1);
}

static double sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

int sono_relpos64(const sono_relpos_dims *d, const float *in, double *out, sono_error *err)
{
    long long H = d->heads, S = d->seq, D = d->d, n = d->n;
    const float *Q = in, *K = Q + n, *V = K + n, *X = V + n, *E = X + n, *Wg = E + d->buckets * H,
                *bg = Wg + 8 * D, *c = bg + 8;
    double *w = malloc((size_t)S * sizeof *w);
    long long *bucket = malloc((size_t)(2 * S - 1) * sizeof *bucket);
    if (!w || !bucket) {
        free(w);
        free(bucket);
        return sono_fail(err, SONO_ENOMEM, "attention.relpos reference: no memory for a "
                         "row of %lld scores", S);
    }
    for (long long r = -(S - 1); r < S; r++)
        bucket[r + S - 1] = sono_relpos64_bucket(r, d->buckets, d->max_distance);
    double scale = 1.0 / sqrt((double)D);
    for (long long h = 0; h < H; h++)
        for (long long i = 0; i < S; i++) {
            const float *q = Q + (h * S + i) * D, *x = X + (h * S + i) * D;
            double p[8];
            for (int k = 0; k < 8; k++) {
                p[k] = bg[k];
                for (long long e = 0; e < D; e++)
                    p[k] += (double)Wg[k * D + e] * x[e];
            }
            double ga = sigmoid(p[0] + p[1] + p[2] + p[3]), gb = sigmoid(p[4] + p[5] + p[6] + p[7]);
            double gate = ga * (gb * c[h] - 1.0) + 2.0, mx = -INFINITY;
            for (long long j = 0; j < S; j++) {
                const float *k = K + (h * S + j) * D;
                double s = 0;
                for (long long e = 0; e < D; e++)
                    s += (double)q[e] * k[e];
                w[j] = s * scale + gate * E[bucket[j - i + S - 1] * H + h];
                mx = w[j] > mx ? w[j] : mx;
            }
            double *o = out + (h * S + i) * D, sum = 0;
            for (long long e = 0; e < D; e++)
                o[e] = 0;
            for (long long j = 0; j < S; j++) {
                double ex = exp(w[j] - mx);
                const float *v = V + (h * S + j) * D;
                sum += ex;
                for (long long e = 0; e < D; e++)
                    o[e] += ex * v[e];
            }
            for (long long e = 0; e < D; e++)
                o[e] /= sum;
        }
    free(w);
    free(bucket);
    return 0;
}
