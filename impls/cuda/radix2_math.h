/* radix2_math.h — cuda/radix2's kernels' arithmetic and each kernel thread's whole body, in
 * functions both nvcc (device code) and cc compile: tests/test_cuda_math.c runs these very
 * bodies over every thread of every launch the kernels make (one block or the
 * global-memory passes) against the float64 DFT. The twiddle table is built on the host
 * in double and rounded once. */
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

/* Largest n the one-block shared-memory path takes; larger powers of two go through a
 * bit-reversal pass and one global-memory pass per stage. */
#define R2_SHARED_MAX 4096u

/* Threads of the one-block path: one per butterfly, 32 to 1024. */
R2_HD unsigned r2_block_threads(unsigned n)
{
    return n / 2 < 32 ? 32 : (n / 2 > 1024 ? 1024 : n / 2);
}

/* ---- each kernel thread's body: the kernels are these and their barriers ------------- */

/* One block a row; thread tid of nthreads loads its elements of row x bit-reversed into
 * the shared s. */
R2_HD void r2_block_load(const r2_cf *x, r2_cf *s, unsigned n, int bits, unsigned tid,
                         unsigned nthreads)
{
    for (unsigned i = tid; i < n; i += nthreads)
        s[r2_bitrev(i, bits)] = x[i];
}

/* Thread tid's butterflies of the stage whose blocks are 2 half long, in shared s. */
R2_HD void r2_block_stage(r2_cf *s, const r2_cf *tw, unsigned n, unsigned half, unsigned tid,
                          unsigned nthreads)
{
    for (unsigned j = tid; j < n / 2; j += nthreads) {
        unsigned i0, t;
        r2_pair(j, half, n, &i0, &t);
        r2_butterfly(&s[i0], &s[i0 + half], tw[t]);
    }
}

R2_HD void r2_block_store(const r2_cf *s, r2_cf *y, unsigned n, unsigned tid, unsigned nthreads)
{
    for (unsigned i = tid; i < n; i += nthreads)
        y[i] = s[i];
}

/* The bit-reversal pass over all rows: element g of in (row g / n) to its place in out. */
R2_HD void r2_rev_one(const r2_cf *in, r2_cf *out, unsigned n, int bits,
                      unsigned long long g)
{
    unsigned long long row = g / n;
    unsigned i = (unsigned)(g % n);
    out[row * n + r2_bitrev(i, bits)] = in[g];
}

/* A global-memory stage: butterfly g of all rows' n/2 each, in place in y. */
R2_HD void r2_stage_one(r2_cf *y, const r2_cf *tw, unsigned n, unsigned half,
                        unsigned long long g)
{
    unsigned long long row = g / (n / 2);
    unsigned i0, t;
    r2_pair((unsigned)(g % (n / 2)), half, n, &i0, &t);
    r2_cf *r = y + row * n;
    r2_butterfly(&r[i0], &r[i0 + half], tw[t]);
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
