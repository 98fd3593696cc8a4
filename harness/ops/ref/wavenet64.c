/* wavenet64.c — the float64 WaveNet stack (wavenet.h's definitions), written literally
 * over whole signals [channel][time], every sum in double. Shares no code with the
 * impls. */
#include <math.h>
#include <stdlib.h>

#include "wavenet.h"

int sono_wn64(const sono_wn_dims *d, const float *in, double *out, sono_error *err)
{
    long long R = d->R, S = d->S, Cc = d->Cc, T = d->T;
    double *h = malloc((size_t)(R * T) * sizeof *h), *a = malloc((size_t)(R * T) * sizeof *a);
    if (!h || !a) {
        free(h);
        free(a);
        return sono_fail(err, SONO_ENOMEM, "wavenet.stack reference: out of memory");
    }
    const float *x = in, *w = in + d->nx;
    for (long long c = 0; c < R; c++)
        for (long long t = 0; t < T; t++)
            h[c * T + t] = (double)w[c] * x[t] + w[R + c];
    w += 2 * R;
    for (long long e = 0; e < S * T; e++)
        out[e] = 0;
    for (long long l = 0; l < d->L; l++) {
        long long dil = 1LL << (l % d->cycle);
        const float *Wf = w, *bf = Wf + R * R * 2, *Wg = bf + R, *bg = Wg + R * R * 2;
        const float *Vf = bg + R, *Vg = Vf + R * Cc, *Wr = Vg + R * Cc, *br = Wr + R * R;
        const float *Ws = br + R, *bs = Ws + S * R;
        w += d->per_layer;
        for (long long c = 0; c < R; c++)
            for (long long t = 0; t < T; t++) {
                double zf = bf[c], zg = bg[c];
                for (long long i = 0; i < R; i++) {
                    double past = t >= dil ? h[i * T + t - dil] : 0.0, now = h[i * T + t];
                    zf += Wf[(c * R + i) * 2] * past + Wf[(c * R + i) * 2 + 1] * now;
                    zg += Wg[(c * R + i) * 2] * past + Wg[(c * R + i) * 2 + 1] * now;
                }
                for (long long j = 0; j < Cc; j++) {
                    zf += (double)Vf[c * Cc + j] * x[(1 + j) * T + t];
                    zg += (double)Vg[c * Cc + j] * x[(1 + j) * T + t];
                }
                a[c * T + t] = tanh(zf) / (1.0 + exp(-zg));
            }
        for (long long s = 0; s < S; s++)
            for (long long t = 0; t < T; t++) {
                double v = bs[s];
                for (long long c = 0; c < R; c++)
                    v += Ws[s * R + c] * a[c * T + t];
                out[s * T + t] += v;
            }
        for (long long c = 0; c < R; c++)
            for (long long t = 0; t < T; t++) {
                double v = br[c];
                for (long long i = 0; i < R; i++)
                    v += Wr[c * R + i] * a[i * T + t];
                h[c * T + t] += v;
            }
    }
    free(h);
    free(a);
    return 0;
}
