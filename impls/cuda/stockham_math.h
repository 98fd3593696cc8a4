/* stockham_math.h — the arithmetic and index maps of the own GPU FFTs (issue 26): a
 * mixed-radix (2, 3, 4, 5, 8) Stockham autosort pass, the radix plan of a length, and the
 * four-step split of a long row into column and row FFTs. Compiled by nvcc for
 * sk_kernels.cu and lm_kernels.cu and by cc for tests/test_cuda_math_stockham.c, which runs
 * these bodies over every thread of every launch against the float64 DFT. Twiddles come
 * from one table of exp(-2 pi i t / N) built on the host in double and rounded once. */
#ifndef IMPLS_CUDA_STOCKHAM_MATH_H
#define IMPLS_CUDA_STOCKHAM_MATH_H

#ifdef __CUDACC__
#define SK_HD __host__ __device__ static inline
#else
#define SK_HD static inline
#endif

#define SK_MAX_PASSES 24 /* 2^24 in radix-2 passes at worst: far past any plan */
#define SK_MAX_RADIX 8

typedef struct sk_cf {
    float re, im;
} sk_cf;

/* The radices of n, in pass order, into r[]: radix 8 for the power of two in threes,
 * with a 4 or 4 x 4 (not 8 x 2: a radix-2 pass is a wasted sweep) for what is left over,
 * then 5s and 3s. Whisper's 400 is 4 4 5 5, 512 is 8 8 8. Returns the count, or 0 when n
 * has another prime factor (or is 0 or 1). */
SK_HD int sk_plan(unsigned n, int *r)
{
    int e = 0, np = 0;
    if (n < 2)
        return 0;
    while (n % 2 == 0) {
        n /= 2;
        e++;
    }
    int eights = e / 3, rest = e % 3;
    if (rest == 1 && eights > 0) { /* 8 x 2 -> 4 x 4 */
        eights--;
        rest = 4;
    }
    for (int i = 0; i < eights; i++)
        r[np++] = 8;
    if (rest == 4) {
        r[np++] = 4;
        r[np++] = 4;
    } else if (rest == 2) {
        r[np++] = 4;
    } else if (rest == 1) {
        r[np++] = 2;
    }
    while (n % 5 == 0) {
        n /= 5;
        r[np++] = 5;
    }
    while (n % 3 == 0) {
        n /= 3;
        r[np++] = 3;
    }
    return n == 1 ? np : 0;
}

SK_HD sk_cf sk_mul(sk_cf a, sk_cf b)
{
    sk_cf c = {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
    return c;
}

/* Where butterfly j (0 <= j < n/R) of the pass with radix R after sub-transforms of
 * length ns (1 for the first pass, times each radix after) reads element q: j + q n/R;
 * and writes its output q: (j / ns) ns R + j % ns + q ns. */
SK_HD unsigned sk_src(unsigned j, unsigned q, unsigned n, unsigned R)
{
    return j + q * (n / R);
}

SK_HD unsigned sk_dst(unsigned j, unsigned q, unsigned ns, unsigned R)
{
    return (j / ns) * ns * R + j % ns + q * ns;
}

/* Twiddle exp(-2 pi i t / m) of a length-m transform from the table of a length-N one
 * (m divides N): entry t (N / m), t reduced mod m first. */
SK_HD sk_cf sk_tw(const sk_cf *tw, unsigned N, unsigned m, unsigned long long t)
{
    return tw[(unsigned)(t % m) * (N / m)];
}

/* Butterfly j of one Stockham pass over a length-n row (in -> out, element stride 1):
 * its R inputs times the twiddles exp(-2 pi i q k / (ns R)), k = j mod ns, then the
 * R-point DFT (radix 4 by hand, the others by their R x R table), written autosorted.
 * tw is the table of a length-N transform, n dividing N. */
SK_HD void sk_butterfly(const sk_cf *in, sk_cf *out, unsigned n, unsigned R, unsigned ns,
                        const sk_cf *tw, unsigned N, unsigned j)
{
    sk_cf v[SK_MAX_RADIX];
    unsigned k = j % ns;
    for (unsigned q = 0; q < R; q++) {
        v[q] = in[sk_src(j, q, n, R)];
        if (q && k)
            v[q] = sk_mul(v[q], sk_tw(tw, N, ns * R, (unsigned long long)q * k));
    }
    if (R == 4) { /* y_q = sum_p v_p (-i)^(pq) */
        sk_cf a = {v[0].re + v[2].re, v[0].im + v[2].im};
        sk_cf b = {v[0].re - v[2].re, v[0].im - v[2].im};
        sk_cf c = {v[1].re + v[3].re, v[1].im + v[3].im};
        sk_cf d = {v[1].re - v[3].re, v[1].im - v[3].im}; /* times -i: (d.im, -d.re) */
        out[sk_dst(j, 0, ns, 4)] = (sk_cf){a.re + c.re, a.im + c.im};
        out[sk_dst(j, 1, ns, 4)] = (sk_cf){b.re + d.im, b.im - d.re};
        out[sk_dst(j, 2, ns, 4)] = (sk_cf){a.re - c.re, a.im - c.im};
        out[sk_dst(j, 3, ns, 4)] = (sk_cf){b.re - d.im, b.im + d.re};
        return;
    }
    for (unsigned q = 0; q < R; q++) {
        sk_cf acc = v[0];
        for (unsigned p = 1; p < R; p++) {
            sk_cf t = sk_mul(v[p], sk_tw(tw, N, R, (unsigned long long)p * q));
            acc.re += t.re;
            acc.im += t.im;
        }
        out[sk_dst(j, q, ns, R)] = acc;
    }
}

/* One block's share of a pass: butterflies tid, tid + T, ... of n/R. */
SK_HD void sk_block_pass(const sk_cf *in, sk_cf *out, unsigned n, unsigned R, unsigned ns,
                         const sk_cf *tw, unsigned N, unsigned tid, unsigned T)
{
    for (unsigned j = tid; j < n / R; j += T)
        sk_butterfly(in, out, n, R, ns, tw, N, j);
}

/* ---- the long rows: four-step, n = n1 x n2 with n2 <= SK_SHARED_MAX ------------------ */

#define SK_SHARED_MAX 4096u /* a whole row in shared memory: 2 x 32 KiB ping-pong */
#define SK_COLS 16u        /* columns per block of the column pass: 128-byte loads */

/* n1 (the column FFTs' length) of a row of n: 1 when n fits in shared memory, else the
 * smallest n / SK_SHARED_MAX-or-more factor that leaves n2 = n / n1 <= SK_SHARED_MAX
 * with both planable; 0 when there is none. */
SK_HD unsigned sk_split(unsigned n)
{
    int r[SK_MAX_PASSES];
    if (n <= SK_SHARED_MAX)
        return sk_plan(n, r) ? 1u : 0u;
    for (unsigned n1 = (n + SK_SHARED_MAX - 1) / SK_SHARED_MAX; n1 <= 64; n1++)
        if (n % n1 == 0 && sk_plan(n1, r) && sk_plan(n / n1, r))
            return n1;
    return 0;
}

/* Column pass, column c (0 <= c < n2) of a row viewed as x[j1 n2 + c], j1 < n1: its
 * n1-point DFT by the Stockham passes in the scratch a/b (2 x n1 values, a thread's own),
 * times exp(-2 pi i c k1 / n), stored back at y[k1 n2 + c]. The row pass then does the
 * n2-point DFT of each k1's row and writes X[k1 + n1 k2] (the four-step identity). */
SK_HD void sk_column(const sk_cf *x, sk_cf *y, unsigned n, unsigned n1, unsigned c,
                     const sk_cf *tw, sk_cf *a, sk_cf *b)
{
    unsigned n2 = n / n1;
    int r[SK_MAX_PASSES], np = sk_plan(n1, r);
    for (unsigned j = 0; j < n1; j++)
        a[j] = x[j * n2 + c];
    unsigned ns = 1;
    for (int p = 0; p < np; p++) {
        for (unsigned j = 0; j < n1 / (unsigned)r[p]; j++)
            sk_butterfly(a, b, n1, (unsigned)r[p], ns, tw, n, j);
        ns *= (unsigned)r[p];
        sk_cf *t = a;
        a = b;
        b = t;
    }
    for (unsigned k = 0; k < n1; k++)
        y[k * n2 + c] = sk_mul(a[k], sk_tw(tw, n, n, (unsigned long long)c * k));
}

/* Where the row pass writes bin k2 of row k1: X[k1 + n1 k2]. */
SK_HD unsigned sk_row_dst(unsigned k1, unsigned k2, unsigned n1)
{
    return k1 + n1 * k2;
}

/* Threads per block of the row kernel: one per butterfly of the widest pass (m / 4 for
 * the radix-4/8 plans), at least a warp, at most 256 (each then loops). */
SK_HD unsigned sk_row_threads(unsigned m)
{
    unsigned t = m / 4;
    return t < 32 ? 32 : t > 256 ? 256 : t;
}

/* The row kernel's block g (of batch x n1) on a row of n = n1 m: its m inputs, contiguous
 * at src + g m (the column pass's output, or the input when n1 = 1), into shared s. */
SK_HD void sk_row_load(const sk_cf *src, sk_cf *s, unsigned m, unsigned long long g,
                       unsigned tid, unsigned T)
{
    for (unsigned j = tid; j < m; j += T)
        s[j] = src[g * m + j];
}

/* ... and its m outputs, bin k2 of sub-row k1 = g mod n1 of row b = g / n1, to
 * dst[b n + k1 + n1 k2]. */
SK_HD void sk_row_store(const sk_cf *s, sk_cf *dst, unsigned m, unsigned n1,
                        unsigned long long g, unsigned tid, unsigned T)
{
    unsigned long long b = g / n1;
    unsigned k1 = (unsigned)(g % n1);
    for (unsigned k = tid; k < m; k += T)
        dst[b * m * n1 + sk_row_dst(k1, k, n1)] = s[k];
}

/* rfft by the two-for-one: rows 2p and 2p+1 of the real input as one complex row z = a +
 * i b (b = 0 past the last row), element j of pair p. */
SK_HD sk_cf sk_pack_one(const float *x, unsigned n, unsigned long long rows,
                        unsigned long long p, unsigned j)
{
    sk_cf z = {x[2 * p * n + j], 2 * p + 1 < rows ? x[(2 * p + 1) * n + j] : 0.0f};
    return z;
}

/* ... and bin k (0 <= k <= n/2) of both rows from Z = DFT(z): A_k = (Z_k + conj Z_{n-k})
 * / 2, B_k = (Z_k - conj Z_{n-k}) / 2i. */
SK_HD void sk_split_one(const sk_cf *Z, unsigned n, unsigned k, sk_cf *a, sk_cf *b)
{
    sk_cf z = Z[k], w = Z[(n - k) % n];
    a->re = 0.5f * (z.re + w.re);
    a->im = 0.5f * (z.im - w.im);
    b->re = 0.5f * (z.im + w.im);
    b->im = -0.5f * (z.re - w.re);
}

#endif
