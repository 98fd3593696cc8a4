/* en_elu.c — ELU for blas/encodec (en_elu.h). libm's expm1f per element was a sixth to a
 * quarter of blas/encodec's time at 8 streams (perf, cpu-clock); the AVX2 path evaluates
 * expm1 as 2^n (p(r) + 1) - 1 = fma(2^n, p(r), 2^n - 1) with x = n ln2 + r, |r| <= ln2/2
 * and p(r) = expm1(r) by its Taylor series to r^7, so no cancellation near 0. */
#include "en_elu.h"

#include <math.h>
#include <stdlib.h>

static void elu_scalar(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] <= 0.0f ? expm1f(x[i]) : x[i];
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define AVX2_FN __attribute__((target("avx2,fma"))) static

/* Error budget (x < 0): Cody-Waite reduction with ln2 split in a 9-bit head (n * head
 * exact for |n| <= 127) leaves r within ~1 ulp of x - n ln2; the series' truncation
 * |r|^8/8! / |r| <= 0.3466^7/40320 = 1.5e-8 (a quarter ulp) relative; Horner with FMA
 * about 1 ulp of p; the final fma one rounding, and for n <= -1 the sum is at least
 * |2^n - 1| >= 0.5 so p's error shrinks by 2^n. In all: a few ulps, EN_ELU_REL_ERR. */
AVX2_FN __m256 expm1_neg8(__m256 x)
{
    const __m256 lo = _mm256_set1_ps(-87.0f); /* 2^n stays normal; expm1 is -1 in float */
    x = _mm256_max_ps(x, lo);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 q = _mm256_set1_ps(1.0f / 5040);
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.0f / 720));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.0f / 120));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.0f / 24));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.0f / 6));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(0.5f));
    __m256 p = _mm256_fmadd_ps(_mm256_mul_ps(q, r), r, r);
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    __m256 s = _mm256_castsi256_ps(e);
    return _mm256_fmadd_ps(s, p, _mm256_sub_ps(s, _mm256_set1_ps(1.0f)));
}

AVX2_FN void elu_avx2(const float *x, float *y, size_t n)
{
    const __m256 zero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 neg = _mm256_cmp_ps(v, zero, _CMP_LT_OQ); /* NaN, +-0 and x > 0 kept */
        _mm256_storeu_ps(y + i, _mm256_blendv_ps(v, expm1_neg8(v), neg));
    }
    if (i < n) { /* the tail through the same arithmetic, so every element agrees */
        float a[8] = {0}, b[8];
        for (size_t j = i; j < n; j++)
            a[j - i] = x[j];
        __m256 v = _mm256_loadu_ps(a);
        __m256 neg = _mm256_cmp_ps(v, zero, _CMP_LT_OQ);
        _mm256_storeu_ps(b, _mm256_blendv_ps(v, expm1_neg8(v), neg));
        for (size_t j = i; j < n; j++)
            y[j] = b[j - i];
    }
}

static int cpu_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#else

static void elu_avx2(const float *x, float *y, size_t n)
{
    elu_scalar(x, y, n);
}

static int cpu_avx2(void)
{
    return 0;
}

#endif

int en_elu_simd(void)
{
    const char *env = getenv("SONO_FASTFFT_SCALAR");
    return cpu_avx2() && !(env && env[0] == '1');
}

void en_elu(const float *x, float *y, size_t n, int simd)
{
    if (simd)
        elu_avx2(x, y, n);
    else
        elu_scalar(x, y, n);
}
