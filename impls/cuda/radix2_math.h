/* radix2_math.h — the arithmetic of cuda/radix2's kernels, in functions both nvcc (device
 * code) and cc (tests/test_cuda_math.c, which runs a host radix-2 built from them against
 * the float64 DFT) compile: bit reversal, the butterfly's indices and its complex
 * arithmetic. The twiddle table is built on the host in double and rounded once. */
#ifndef IMPLS_CUDA_RADIX2_MATH_H
#define IMPLS_CUDA_RADIX2_MATH_H

#ifdef __CUDACC__
#define R2_HD __host__ __device__ static inline
#else
#define R2_HD static inline
#endif

typedef struct r2_cf {
    float re, im;
} r2_cf;

/* log2 n for a power of two n >= 1; -1 otherwise. */
R2_HD int r2_log2(unsigned long long n)
{
    int l = 0;
    if (n == 0 || (n & (n - 1)))
        return -1;
    while ((1ULL << l) < n)
        l++;
    return l;
}

/* i with its low `bits` bits reversed. */
R2_HD unsigned r2_bitrev(unsigned i, int bits)
{
    unsigned r = 0;
    for (int b = 0; b < bits; b++, i >>= 1)
        r = (r << 1) | (i & 1u);
    return r;
}

R2_HD r2_cf r2_cmul(r2_cf a, r2_cf b)
{
    r2_cf c = {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
    return c;
}

/* Butterfly j (0 <= j < n/2) of the stage whose blocks are `half` * 2 long: the pair it
 * combines (i0, i0 + half) and its twiddle's index in the n/2-entry table, exp(-2 pi i
 * t / n) at t = (j mod half) * (n / (2 half)). */
R2_HD void r2_pair(unsigned j, unsigned half, unsigned n, unsigned *i0, unsigned *tw)
{
    unsigned pos = j % half;
    *i0 = (j / half) * 2u * half + pos;
    *tw = pos * (n / (2u * half));
}

/* (a, b) <- (a + w b, a - w b) */
R2_HD void r2_butterfly(r2_cf *a, r2_cf *b, r2_cf w)
{
    r2_cf t = r2_cmul(w, *b);
    r2_cf x = *a;
    a->re = x.re + t.re;
    a->im = x.im + t.im;
    b->re = x.re - t.re;
    b->im = x.im - t.im;
}

#ifndef __CUDACC__
#include <math.h>
/* tw[t] = exp(-2 pi i t / n), t < n/2, each from double and rounded once. */
static inline void r2_twiddles(r2_cf *tw, unsigned n)
{
    for (unsigned t = 0; t < n / 2; t++) {
        double a = -2.0 * 3.14159265358979323846 * (double)t / (double)n;
        tw[t].re = (float)cos(a);
        tw[t].im = (float)sin(a);
    }
}
#endif

#endif
