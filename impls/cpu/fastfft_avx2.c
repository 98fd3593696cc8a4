/* fastfft_avx2.c — AVX2+FMA Stockham passes: four interleaved complex values per vector.
 * Passes with s a multiple of 4 vectorise over q (the twiddle is one broadcast per p);
 * the first radix-4 pass (s = 1) vectorises over p and transposes 4x4 on the way out.
 * Compiled with a target attribute, never -mavx2, so the plugin loads on any x86-64. */
#include "fastfft_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma"), always_inline)) static inline
#define AVX2_FN __attribute__((target("avx2,fma"))) static
/* -O2 leaves short loops over vector arrays rolled, with the arrays on the stack */
#define UNROLL _Pragma("GCC unroll 8")

#define S3 0.86602540378443864676f
#define C51 0.30901699437494742410f
#define C52 -0.80901699437494742410f
#define S51 0.95105651629515357212f
#define S52 0.58778525229247312917f

/* (re, im) -> (im, re) in every pair */
AVX2 __m256 swap_ri(__m256 a)
{
    return _mm256_permute_ps(a, 0xB1);
}

/* a * w with w given as (wr, wr) and (wi, wi) pairs */
AVX2 __m256 cmul_d(__m256 a, __m256 wr, __m256 wi)
{
    return _mm256_fmaddsub_ps(a, wr, _mm256_mul_ps(swap_ri(a), wi));
}

/* t + (-i) d and t - (-i) d, from ds = swap_ri(d) = (d.im, d.re) */
AVX2 __m256 add_mi(__m256 t, __m256 ds)
{
    return _mm256_fmsubadd_ps(t, _mm256_set1_ps(1.0f), ds);
}

AVX2 __m256 sub_mi(__m256 t, __m256 ds)
{
    return _mm256_addsub_ps(t, ds);
}

/* The forward radix-r DFT of a[0..r) into b[0..r), r known at compile time. */
AVX2 void dft_v(int r, const __m256 *a, __m256 *b)
{
    if (r == 2) {
        b[0] = _mm256_add_ps(a[0], a[1]);
        b[1] = _mm256_sub_ps(a[0], a[1]);
    } else if (r == 3) {
        __m256 t = _mm256_add_ps(a[1], a[2]), d = _mm256_sub_ps(a[1], a[2]);
        __m256 m = _mm256_fnmadd_ps(_mm256_set1_ps(0.5f), t, a[0]);
        __m256 e = _mm256_mul_ps(_mm256_set1_ps(S3), swap_ri(d));
        b[0] = _mm256_add_ps(a[0], t);
        b[1] = add_mi(m, e);
        b[2] = sub_mi(m, e);
    } else if (r == 4) {
        __m256 t0 = _mm256_add_ps(a[0], a[2]), t1 = _mm256_sub_ps(a[0], a[2]);
        __m256 t2 = _mm256_add_ps(a[1], a[3]), t3 = swap_ri(_mm256_sub_ps(a[1], a[3]));
        b[0] = _mm256_add_ps(t0, t2);
        b[2] = _mm256_sub_ps(t0, t2);
        b[1] = add_mi(t1, t3);
        b[3] = sub_mi(t1, t3);
    } else { /* 5 */
        __m256 s1 = _mm256_add_ps(a[1], a[4]), d1 = _mm256_sub_ps(a[1], a[4]);
        __m256 s2 = _mm256_add_ps(a[2], a[3]), d2 = _mm256_sub_ps(a[2], a[3]);
        __m256 c51 = _mm256_set1_ps(C51), c52 = _mm256_set1_ps(C52);
        __m256 s51 = _mm256_set1_ps(S51), s52 = _mm256_set1_ps(S52);
        __m256 m1 = _mm256_fmadd_ps(c52, s2, _mm256_fmadd_ps(c51, s1, a[0]));
        __m256 m2 = _mm256_fmadd_ps(c51, s2, _mm256_fmadd_ps(c52, s1, a[0]));
        __m256 d1s = swap_ri(d1), d2s = swap_ri(d2);
        __m256 e1 = _mm256_fmadd_ps(s52, d2s, _mm256_mul_ps(s51, d1s));
        __m256 e2 = _mm256_fnmadd_ps(s51, d2s, _mm256_mul_ps(s52, d1s));
        b[0] = _mm256_add_ps(a[0], _mm256_add_ps(s1, s2));
        b[1] = add_mi(m1, e1);
        b[4] = sub_mi(m1, e1);
        b[2] = add_mi(m2, e2);
        b[3] = sub_mi(m2, e2);
    }
}

/* s % 4 == 0: four q's per vector, the twiddles of p broadcast once for all q; r and
 * tw are compile-time constants after inlining, so each variant is straight-line code. */
AVX2 void pass_q(int r, int tw, const ff_stage *st, const ffc *x, ffc *y)
{
    const size_t s = st->s, m = st->m;
    __m256 a[5], b[5], wr[5] = {0}, wi[5] = {0};

    for (size_t p = 0; p < m; p++) {
        UNROLL
        for (int k = 1; k < r && tw; k++) {
            const float *w = &st->tw[p * (size_t)(r - 1) + (size_t)k - 1].re;
            wr[k] = _mm256_broadcast_ss(w);
            wi[k] = _mm256_broadcast_ss(w + 1);
        }
        const ffc *xi = x + s * p;
        ffc *yo = y + s * (size_t)r * p;
        for (size_t q = 0; q < s; q += 4) {
            UNROLL
            for (int j = 0; j < r; j++)
                a[j] = _mm256_loadu_ps(&xi[q + s * m * (size_t)j].re);
            dft_v(r, a, b);
            _mm256_storeu_ps(&yo[q].re, b[0]);
            UNROLL
            for (int k = 1; k < r; k++)
                _mm256_storeu_ps(&yo[q + s * (size_t)k].re,
                                 tw ? cmul_d(b[k], wr[k], wi[k]) : b[k]);
        }
    }
}

#define PASS_Q(r)                                                                   \
    AVX2_FN void pass_q##r(const ff_stage *st, const ffc *x, ffc *y)                \
    {                                                                               \
        if (st->tw)                                                                 \
            pass_q(r, 1, st, x, y);                                                 \
        else                                                                        \
            pass_q(r, 0, st, x, y);                                                 \
    }
PASS_Q(2)
PASS_Q(3)
PASS_Q(4)
PASS_Q(5)

/* The radix-4 butterfly of one p of an s == 1 pass, for the p's after the last full
 * vector of four (n/2 = 200 of n_fft 400 has m = 50): y[4p + k] = W^{pk} DFT_4(x)_k. */
static void pass_p4_one(const ff_stage *st, const ffc *x, ffc *y, size_t p)
{
    const size_t m = st->m;
    ffc a[4], b[4];
    for (int j = 0; j < 4; j++)
        a[j] = x[p + m * (size_t)j];
    ffc t0 = {a[0].re + a[2].re, a[0].im + a[2].im}, t1 = {a[0].re - a[2].re, a[0].im - a[2].im};
    ffc t2 = {a[1].re + a[3].re, a[1].im + a[3].im};
    ffc t3 = {a[1].im - a[3].im, a[3].re - a[1].re}; /* -i (a1 - a3) */
    b[0] = (ffc){t0.re + t2.re, t0.im + t2.im};
    b[1] = (ffc){t1.re + t3.re, t1.im + t3.im};
    b[2] = (ffc){t0.re - t2.re, t0.im - t2.im};
    b[3] = (ffc){t1.re - t3.re, t1.im - t3.im};
    y[4 * p] = b[0];
    for (int k = 1; k < 4; k++) {
        ffc w = st->tw[p * 3 + (size_t)k - 1];
        y[4 * p + (size_t)k] = (ffc){b[k].re * w.re - b[k].im * w.im,
                                     b[k].re * w.im + b[k].im * w.re};
    }
}

/* s == 1, radix 4, m >= 4: four p's per vector, per-lane twiddles from twv (kept
 * interleaved: this pass has the largest table, 3n/4 values, and at n = 65536 the
 * duplicated layout's extra L2 traffic cost more than the two shuffles), and a
 * 4x4 transpose of complex values (as 64-bit lanes) so that y[4p + k] is contiguous. */
AVX2_FN void pass_p4(const ff_stage *st, const ffc *x, ffc *y)
{
    const size_t m = st->m;
    const float *tv = st->twv;
    __m256 a[4], b[4];

    size_t p = 0;
    for (; p + 4 <= m; p += 4, tv += 24) {
        UNROLL
        for (int j = 0; j < 4; j++)
            a[j] = _mm256_loadu_ps(&x[p + m * (size_t)j].re);
        dft_v(4, a, b);
        UNROLL
        for (int k = 1; k < 4; k++)
        {
            __m256 w = _mm256_load_ps(tv + 8 * (k - 1));
            b[k] = cmul_d(b[k], _mm256_moveldup_ps(w), _mm256_movehdup_ps(w));
        }
        __m256d u0 = _mm256_unpacklo_pd(_mm256_castps_pd(b[0]), _mm256_castps_pd(b[1]));
        __m256d u1 = _mm256_unpackhi_pd(_mm256_castps_pd(b[0]), _mm256_castps_pd(b[1]));
        __m256d u2 = _mm256_unpacklo_pd(_mm256_castps_pd(b[2]), _mm256_castps_pd(b[3]));
        __m256d u3 = _mm256_unpackhi_pd(_mm256_castps_pd(b[2]), _mm256_castps_pd(b[3]));
        float *o = &y[4 * p].re;
        _mm256_storeu_ps(o, _mm256_castpd_ps(_mm256_permute2f128_pd(u0, u2, 0x20)));
        _mm256_storeu_ps(o + 8, _mm256_castpd_ps(_mm256_permute2f128_pd(u1, u3, 0x20)));
        _mm256_storeu_ps(o + 16, _mm256_castpd_ps(_mm256_permute2f128_pd(u0, u2, 0x31)));
        _mm256_storeu_ps(o + 24, _mm256_castpd_ps(_mm256_permute2f128_pd(u1, u3, 0x31)));
    }
    for (; p < m; p++)
        pass_p4_one(st, x, y, p);
}

ff_stage_fn ff_pick_avx2(const ff_stage *st)
{
    if (st->s % 4 == 0) {
        switch (st->r) {
        case 2: return pass_q2;
        case 3: return pass_q3;
        case 4: return pass_q4;
        case 5: return pass_q5;
        default: return NULL;
        }
    }
    if (st->s == 1 && st->r == 4 && st->m >= 4 && st->twv)
        return pass_p4;
    return NULL;
}

int ff_cpu_has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

int ff_cpu_has_avx512vl(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
}

#else /* not x86: the scalar passes serve every plan */

ff_stage_fn ff_pick_avx2(const ff_stage *st)
{
    (void)st;
    return NULL;
}

int ff_cpu_has_avx2(void)
{
    return 0;
}

int ff_cpu_has_avx512vl(void)
{
    return 0;
}

#endif
