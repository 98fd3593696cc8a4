/* conv64.c — the float64 reference of conv1d (definitions in conv1d.h): the convolution as
 * a gather over taps, the transposed one as a scatter of each input sample into the full
 * output, then the activation, every product and sum in double. */
#include <math.h>
#include <stdlib.h>

#include "conv1d.h"

static double activate(int act, double z, double alpha)
{
    if (act == SONO_ACT_ELU)
        return z > 0 ? z : expm1(z);
    if (act == SONO_ACT_SNAKE) {
        double s = sin(alpha * z);
        return z + s * s / alpha;
    }
    return z;
}

static void conv(const sono_conv_dims *d, const float *x, const float *w, const float *b,
                 double *z)
{
    long long cig = d->cin / d->groups, cog = d->cout / d->groups;
    for (long long co = 0; co < d->cout; co++) {
        long long g = co / cog;
        for (long long t = 0; t < d->out_length; t++) {
            double acc = b[co];
            for (long long c = 0; c < cig; c++) {
                const float *xc = x + (g * cig + c) * d->length;
                const float *wc = w + (co * cig + c) * d->kernel;
                for (long long j = 0; j < d->kernel; j++) {
                    long long u = t * d->stride + j * d->dilation - d->pad;
                    if (u >= 0 && u < d->length)
                        acc += (double)wc[j] * (double)xc[u];
                }
            }
            z[co * d->out_length + t] = acc;
        }
    }
}

static int transposed(const sono_conv_dims *d, const float *x, const float *w,
                      const float *b, double *z, sono_error *err)
{
    long long cig = d->cin / d->groups, cog = d->cout / d->groups, L = d->full;
    double *full = malloc((size_t)(d->cout * L) * sizeof *full);
    if (!full)
        return sono_fail(err, SONO_ENOMEM, "conv1d reference: no memory for the full "
                         "transposed output [%lld, %lld] in double", d->cout, L);
    for (long long co = 0; co < d->cout; co++)
        for (long long u = 0; u < L; u++)
            full[co * L + u] = b[co];
    for (long long ci = 0; ci < d->cin; ci++) {
        long long g = ci / cig;
        for (long long t = 0; t < d->length; t++) {
            double xv = x[ci * d->length + t];
            for (long long o = 0; o < cog; o++) {
                const float *wk = w + (ci * cog + o) * d->kernel;
                double *f = full + (g * cog + o) * L + t * d->stride;
                for (long long j = 0; j < d->kernel; j++)
                    f[j * d->dilation] += (double)wk[j] * xv;
            }
        }
    }
    for (long long co = 0; co < d->cout; co++)
        for (long long u = 0; u < d->out_length; u++)
            z[co * d->out_length + u] = full[co * L + u];
    free(full);
    return 0;
}

int sono_conv64(const sono_conv_dims *d, const float *in, double *out, sono_error *err)
{
    const float *x = in, *w = in + d->nx, *b = w + d->nw, *alpha = b + d->cout;
    if (d->transposed) {
        int rc = transposed(d, x, w, b, out, err);
        if (rc)
            return rc;
    } else
        conv(d, x, w, b, out);
    if (d->act != SONO_ACT_NONE)
        for (long long co = 0; co < d->cout; co++)
            for (long long t = 0; t < d->out_length; t++) {
                double *v = out + co * d->out_length + t;
                *v = activate(d->act, *v, d->act == SONO_ACT_SNAKE ? alpha[co] : 0);
            }
    return 0;
}
