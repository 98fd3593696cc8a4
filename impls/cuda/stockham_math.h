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

/* 8-byte aligned, so the device loads and stores a value in one 64-bit access (cuFFT's
 * cufftComplex is too: buffers from cudaMalloc are). */
#ifdef __cplusplus
#define SK_ALIGN8 alignas(8)
#else
#define SK_ALIGN8 _Alignas(8)
#endif
typedef struct sk_cf {
    SK_ALIGN8 float re;
    float im;
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

SK_HD unsigned sk_base(unsigned j, unsigned ns, unsigned R) /* where output 0 goes */
{
    unsigned k = j % ns;
    return (j - k) * R + k; /* (j / ns) ns R + j mod ns */
}

SK_HD unsigned sk_dst(unsigned j, unsigned q, unsigned ns, unsigned R)
{
    return sk_base(j, ns, R) + q * ns;
}

/* Twiddle exp(-2 pi i t / m) of a length-m transform from the table of a length-N one
 * (m divides N): entry t (N / m), t reduced mod m first (32-bit: every caller's t is a
 * product of two indices below m's factors, under 2^32). */
SK_HD sk_cf sk_tw(const sk_cf *tw, unsigned N, unsigned m, unsigned t)
{
    return tw[t % m * (N / m)];
}

SK_HD sk_cf sk_add(sk_cf a, sk_cf b)
{
    sk_cf c = {a.re + b.re, a.im + b.im};
    return c;
}

SK_HD sk_cf sk_sub(sk_cf a, sk_cf b)
{
    sk_cf c = {a.re - b.re, a.im - b.im};
    return c;
}

/* The 4-point DFT of (a, b, c, d): y_q = sum_p v_p (-i)^(pq). */
SK_HD void sk_dft4(sk_cf a, sk_cf b, sk_cf c, sk_cf d, sk_cf *y)
{
    sk_cf s0 = sk_add(a, c), d0 = sk_sub(a, c), s1 = sk_add(b, d), d1 = sk_sub(b, d);
    y[0] = sk_add(s0, s1);
    y[1] = (sk_cf){d0.re + d1.im, d0.im - d1.re}; /* d0 - i d1 */
    y[2] = sk_sub(s0, s1);
    y[3] = (sk_cf){d0.re - d1.im, d0.im + d1.re}; /* d0 + i d1 */
}

/* The R-point DFT of v into y: radix 2, 4 and 8 by hand (8 as two 4-point DFTs of the even
 * and odd terms joined by exp(-2 pi i q / 8), exact constants), 3 and 5 by their R x R
 * table (the length-N table's entries, as the twiddles). */
SK_HD void sk_dft(const sk_cf *v, sk_cf *y, unsigned R, const sk_cf *tw, unsigned N)
{
    if (R == 2) {
        y[0] = sk_add(v[0], v[1]);
        y[1] = sk_sub(v[0], v[1]);
        return;
    }
    if (R == 4) {
        sk_dft4(v[0], v[1], v[2], v[3], y);
        return;
    }
    if (R == 8) {
        const float h = 0.70710678118654752f; /* 1 / sqrt 2, rounded once */
        sk_cf e[4], o[4];
        sk_dft4(v[0], v[2], v[4], v[6], e);
        sk_dft4(v[1], v[3], v[5], v[7], o);
        sk_cf w1 = {h * (o[1].re + o[1].im), h * (o[1].im - o[1].re)}; /* x (1 - i)/sqrt 2 */
        sk_cf w2 = {o[2].im, -o[2].re};                                /* x -i */
        sk_cf w3 = {h * (o[3].im - o[3].re), -h * (o[3].re + o[3].im)}; /* x (-1 - i)/sqrt 2 */
        y[0] = sk_add(e[0], o[0]);
        y[4] = sk_sub(e[0], o[0]);
        y[1] = sk_add(e[1], w1);
        y[5] = sk_sub(e[1], w1);
        y[2] = sk_add(e[2], w2);
        y[6] = sk_sub(e[2], w2);
        y[3] = sk_add(e[3], w3);
        y[7] = sk_sub(e[3], w3);
        return;
    }
    for (unsigned q = 0; q < R; q++) {
        sk_cf acc = v[0];
        for (unsigned p = 1; p < R; p++)
            acc = sk_add(acc, sk_mul(v[p], sk_tw(tw, N, R, p * q)));
        y[q] = acc;
    }
}

/* Butterfly j of one Stockham pass over a length-n row (in -> out, element stride 1):
 * its R inputs times the twiddles exp(-2 pi i q k / (ns R)), k = j mod ns, then the
 * R-point DFT (sk_dft), written autosorted.
 * tw is the table of a length-N transform, n dividing N. */
SK_HD void sk_butterfly(const sk_cf *in, sk_cf *out, unsigned n, unsigned R, unsigned ns,
                        const sk_cf *tw, unsigned N, unsigned j)
{
    /* sk_dst and sk_tw with their divisions done once: the output's base (sk_base, output
     * q at base + q ns) and the table step N / (ns R) (q k < ns R: no reduction needed) */
    sk_cf v[SK_MAX_RADIX];
    unsigned k = j % ns, base = sk_base(j, ns, R), step = N / (ns * R);
    for (unsigned q = 0; q < R; q++) {
        v[q] = in[sk_src(j, q, n, R)];
        if (q && k)
            v[q] = sk_mul(v[q], tw[q * k * step]);
    }
    sk_cf y[SK_MAX_RADIX];
    sk_dft(v, y, R, tw, N);
    for (unsigned q = 0; q < R; q++)
        out[base + q * ns] = y[q];
}

/* One block's share of a pass: butterflies tid, tid + T, ... of n/R. Each radix is a
 * call with R a literal, so the compiler unrolls the butterfly and keeps v and y in
 * registers (a runtime R leaves them in local memory). */
SK_HD void sk_block_pass(const sk_cf *in, sk_cf *out, unsigned n, unsigned R, unsigned ns,
                         const sk_cf *tw, unsigned N, unsigned tid, unsigned T)
{
#define SK_PASS_R(RR)                                                                      \
    for (unsigned j = tid; j < n / (RR); j += T)                                           \
        sk_butterfly(in, out, n, (RR), ns, tw, N, j);                                      \
    return;
    switch (R) {
    case 2: SK_PASS_R(2)
    case 3: SK_PASS_R(3)
    case 4: SK_PASS_R(4)
    case 5: SK_PASS_R(5)
    case 8: SK_PASS_R(8)
    default: return; /* sk_plan makes no other radix (test_cuda_math_stockham's sk_plans) */
    }
#undef SK_PASS_R
}

/* A plan's radices packed 4 bits each, first pass lowest, for a kernel argument read
 * without an indexed (local-memory) array; sk_radix(code, p) unpacks pass p. */
SK_HD unsigned sk_pack_plan(const int *r, int np)
{
    unsigned code = 0;
    for (int p = np - 1; p >= 0; p--)
        code = code << 4 | (unsigned)r[p];
    return code;
}

SK_HD unsigned sk_radix(unsigned code, int p)
{
    return code >> (4 * p) & 15u;
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
        y[k * n2 + c] = sk_mul(a[k], sk_tw(tw, n, n, c * k));
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
