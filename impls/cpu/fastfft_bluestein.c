/* fastfft_bluestein.c — any n with a prime factor above 7, as a chirp-z convolution:
 * jk = (j^2 + k^2 - (k-j)^2)/2 turns the DFT into X[k] = c[k] sum_j (x[j] c[j]) conj(c[k-j])
 * with c[j] = e^{-pi i j^2/n}, a cyclic convolution of length m (a power of two >= 2n-1)
 * done with two m-point FFTs; the inverse is conj(FFT(conj(.)))/m, 1/m folded into bfft. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastfft_internal.h"

#define FF_PI 3.141592653589793238462643383279502884

int ff_bluestein_init(fastfft_plan *p, char *why, size_t whylen)
{
    const size_t n = p->n;
    size_t m = 1;
    while (m < 2 * n - 1)
        m *= 2;
    p->bm = m;
    p->inner = ff_plan_complex(m, p->simd, why, whylen);
    if (!p->inner)
        return -1;
    p->chirp = aligned_alloc(64, ff_round64(2 * n) * sizeof(float));
    p->bfft = aligned_alloc(64, ff_round64(2 * m) * sizeof(float));
    ffc *b = aligned_alloc(64, ff_round64(2 * m) * sizeof(float));
    float *scratch = aligned_alloc(64, ff_round64(p->inner->work + 1) * sizeof(float));
    if (!p->chirp || !p->bfft || !b || !scratch) {
        free(b);
        free(scratch);
        if (why && whylen)
            snprintf(why, whylen, "fastfft: out of memory for Bluestein n=%zu (m=%zu)", n,
                     m);
        return -1;
    }
    /* j^2 mod 2n in integers: the angle stays exact however large j^2 grows. */
    memset(b, 0, m * sizeof *b);
    for (size_t j = 0; j < n; j++) {
        uint64_t e = (uint64_t)j * j % (2 * (uint64_t)n);
        double a = -FF_PI * (double)e / (double)n;
        p->chirp[j] = (ffc){(float)cos(a), (float)sin(a)};
        ffc cc = {(float)(cos(a) / (double)m), (float)(-sin(a) / (double)m)};
        b[j] = cc;
        if (j)
            b[m - j] = cc;
    }
    fastfft_exec(p->inner, (const float *)b, (float *)p->bfft, scratch);
    free(b);
    free(scratch);
    p->work = 4 * m + p->inner->work;
    snprintf(p->desc, sizeof p->desc, "%s; bluestein m=%zu, %s",
             ff_path(p->simd), m, ff_desc_rest(p->inner));
    return 0;
}

void ff_bluestein_exec(const fastfft_plan *p, const ffc *in, ffc *out, float *work)
{
    const size_t n = p->n, m = p->bm;
    const ffc *c = p->chirp, *bf = p->bfft;
    ffc *a = (ffc *)work, *fa = (ffc *)(work + 2 * m);
    float *rest = work + 4 * m;

    for (size_t j = 0; j < n; j++)
        a[j] = (ffc){in[j].re * c[j].re - in[j].im * c[j].im,
                     in[j].re * c[j].im + in[j].im * c[j].re};
    memset(a + n, 0, (m - n) * sizeof *a);
    fastfft_exec(p->inner, (const float *)a, (float *)fa, rest);
    for (size_t k = 0; k < m; k++) /* conj(FA * bfft) */
        a[k] = (ffc){fa[k].re * bf[k].re - fa[k].im * bf[k].im,
                     -(fa[k].re * bf[k].im + fa[k].im * bf[k].re)};
    fastfft_exec(p->inner, (const float *)a, (float *)fa, rest);
    for (size_t k = 0; k < n; k++) /* c[k] conj(E[k]) */
        out[k] = (ffc){c[k].re * fa[k].re + c[k].im * fa[k].im,
                       c[k].im * fa[k].re - c[k].re * fa[k].im};
}
