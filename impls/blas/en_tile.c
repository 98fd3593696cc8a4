/* en_tile.c — blas/encodec's convolutions on column tiles (en_tile.h). At 8 streams the
 * untiled im2col matrices reached 73 MB (the 32-channel residual convs) and the transposed
 * convs' products 49 MB: each written to memory and read back by OpenBLAS's packing. A
 * tile of EN_TILE_BYTES is written and packed while it sits in L2. */
#include "en_tile.h"

#include "en_elu.h"

#include <string.h>

#include <cblas.h>

long long en_tile_cols(long long rows)
{
    long long tw = EN_TILE_BYTES / (long long)sizeof(float) / (rows > 0 ? rows : 1);
    return tw < EN_TILE_MIN ? EN_TILE_MIN : tw;
}

/* col [cin*k][w] = the im2col columns n0 .. n0+w-1 of all clips (column n = s*lout + t) */
static void im2col(const en_conv *c, const float *xp, long long lp, int S, long long lout,
                   long long n0, long long w, float *col)
{
    for (int i = 0; i < c->cin; i++)
        for (int k = 0; k < c->k; k++) {
            float *dst = col + ((size_t)i * (size_t)c->k + (size_t)k) * (size_t)w;
            for (long long n = n0; n < n0 + w;) {
                long long s = n / lout, t = n - s * lout, m = lout - t;
                m = m < n0 + w - n ? m : n0 + w - n;
                const float *src = xp + ((size_t)i * (size_t)S + (size_t)s) * (size_t)lp +
                                   (size_t)k * (size_t)c->dil + (size_t)(t * c->stride);
                float *d = dst + (n - n0);
                if (c->stride == 1)
                    memcpy(d, src, (size_t)m * sizeof(float));
                else
                    for (long long j = 0; j < m; j++)
                        d[j] = src[j * c->stride];
                n += m;
            }
        }
}

/* y[0][n0 .. n0+w) += sum_i,k w[i][k] xp[i][s][t + k*dil], one SAXPY per tap and clip
 * segment: for a single output channel (the decoder's last conv, 32 -> 1) the im2col
 * matrix would be written and packed only to be read once by a GEMV-shaped SGEMM. */
static void axpy_taps(const en_conv *c, const float *xp, long long lp, int S, float *y,
                      long long lout, long long n0, long long w)
{
    for (long long n = n0; n < n0 + w;) {
        long long s = n / lout, t = n - s * lout, m = lout - t;
        m = m < n0 + w - n ? m : n0 + w - n;
        for (int i = 0; i < c->cin; i++)
            for (int k = 0; k < c->k; k++)
                cblas_saxpy((int)m, c->w[(size_t)i * (size_t)c->k + (size_t)k],
                            xp + ((size_t)i * (size_t)S + (size_t)s) * (size_t)lp +
                                (size_t)k * (size_t)c->dil + (size_t)t,
                            1, y + (n - n0), 1);
        n += m;
    }
}

void en_tile_conv(const en_conv *c, const float *xp, long long lp, int S, float *y,
                  long long lout, float *col, long long tw, int flags)
{
    int K = c->cin * c->k;
    long long N = (long long)S * lout;
    int direct = c->k == 1 && c->stride == 1 && lp == lout;
    if (tw <= 0 || tw > N)
        tw = N;
    for (long long n0 = 0; n0 < N; n0 += tw) {
        long long w = tw < N - n0 ? tw : N - n0;
        const float *B = xp + n0;
        long long ldb = N;
        if (c->cout == 1 && c->stride == 1) {
            float *yo = y + n0;
            for (long long t = 0; t < w; t++)
                yo[t] = (flags & EN_TILE_ACC ? yo[t] : 0.0f) + c->b[0];
            axpy_taps(c, xp, lp, S, yo, lout, n0, w);
            if (flags & EN_TILE_ELU)
                en_elu(yo, yo, (size_t)w, flags & EN_TILE_SIMD);
            continue;
        }
        if (!direct) {
            im2col(c, xp, lp, S, lout, n0, w, col);
            B = col;
            ldb = w;
        }
        for (int o = 0; o < c->cout; o++) { /* the bias, while the tile's y is cached */
            float *yo = y + (size_t)o * (size_t)N + (size_t)n0;
            if (flags & EN_TILE_ACC)
                for (long long t = 0; t < w; t++)
                    yo[t] += c->b[o];
            else
                for (long long t = 0; t < w; t++)
                    yo[t] = c->b[o];
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->cout, (int)w, K, 1.0f, c->w,
                    K, B, (int)ldb, 1.0f, y + n0, (int)N);
        for (int o = 0; (flags & EN_TILE_ELU) && o < c->cout; o++) {
            float *yo = y + (size_t)o * (size_t)N + (size_t)n0;
            en_elu(yo, yo, (size_t)w, flags & EN_TILE_SIMD);
        }
    }
}

void en_tile_convtr(const en_conv *c, const float *x, long long l, int S, float *y, float *z,
                    long long tw)
{
    long long full = (l - 1) * c->stride + c->k, N = (long long)S * l;
    int ok = c->cout * c->k;
    if (tw <= 0 || tw > N)
        tw = N;
    for (int o = 0; o < c->cout; o++)
        for (int s = 0; s < S; s++) {
            float *yo = y + ((size_t)o * (size_t)S + (size_t)s) * (size_t)full;
            for (long long t = 0; t < full; t++)
                yo[t] = c->b[o];
        }
    for (long long n0 = 0; n0 < N; n0 += tw) {
        long long w = tw < N - n0 ? tw : N - n0;
        /* Z [cout*k][w] = W^T . x[:, n0 .. n0+w), W [cin][cout*k] */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ok, (int)w, c->cin, 1.0f, c->w,
                    ok, x + n0, (int)N, 0.0f, z, (int)w);
        for (long long n = n0; n < n0 + w;) { /* y[o][s][t*stride + k] += Z[o*k + k][n] */
            long long s = n / l, t0 = n - s * l, m = l - t0;
            m = m < n0 + w - n ? m : n0 + w - n;
            for (int o = 0; o < c->cout; o++) {
                float *yo = y + ((size_t)o * (size_t)S + (size_t)s) * (size_t)full +
                            (size_t)(t0 * c->stride);
                for (int k = 0; k < c->k; k++) {
                    const float *zr = z + ((size_t)o * (size_t)c->k + (size_t)k) * (size_t)w +
                                      (size_t)(n - n0);
                    for (long long j = 0; j < m; j++)
                        yo[j * c->stride + k] += zr[j];
                }
            }
            n += m;
        }
    }
}
