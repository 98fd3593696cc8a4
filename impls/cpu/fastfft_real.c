/* fastfft_real.c — the real-input transform of even n: the input read as n/2 complex
 * values z[j] = x[2j] + i x[2j+1] goes through an n/2-point complex FFT Z, and one pass
 * splits Z into the spectra of the even and odd samples and joins them:
 *   X[k] = Z[k] A_k + conj(Z[h-k]) B_k,  A_k = (1 - i W_n^k)/2,  B_k = (1 + i W_n^k)/2. */
#include <math.h>
#include <stdlib.h>

#include "fastfft_internal.h"

#define FF_TWO_PI 6.283185307179586476925286766559005768

/* rtw: A_0..A_h, then B_0..B_h */
int ff_real_tables(fastfft_plan *p)
{
    const size_t n = p->n, h = n / 2;
    p->rtw = aligned_alloc(64, ((2 * (h + 1) * sizeof(ffc)) + 63) & ~(size_t)63);
    if (!p->rtw)
        return -1;
    for (size_t k = 0; k <= h; k++) {
        double a = -FF_TWO_PI * (double)k / (double)n, wr = cos(a), wi = sin(a);
        p->rtw[k] = (ffc){(float)(0.5 * (1.0 + wi)), (float)(-0.5 * wr)};
        p->rtw[h + 1 + k] = (ffc){(float)(0.5 * (1.0 - wi)), (float)(0.5 * wr)};
    }
    return 0;
}

static inline void post_one(const ffc *z, const ffc *rtw, size_t h, size_t k, ffc *out)
{
    ffc a = z[k % h], c = z[(h - k) % h], wa = rtw[k], wb = rtw[h + 1 + k];
    c.im = -c.im;
    out[k] = (ffc){a.re * wa.re - a.im * wa.im + c.re * wb.re - c.im * wb.im,
                   a.re * wa.im + a.im * wa.re + c.re * wb.im + c.im * wb.re};
}

void ff_real_post_scalar(const ffc *z, const ffc *rtw, size_t h, ffc *out)
{
    for (size_t k = 0; k <= h; k++)
        post_one(z, rtw, h, k, out);
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma"), always_inline)) static inline

/* a * w, both interleaved */
AVX2 __m256 cmul_i(__m256 a, __m256 w)
{
    __m256 as = _mm256_permute_ps(a, 0xB1);
    return _mm256_fmaddsub_ps(a, _mm256_moveldup_ps(w),
                              _mm256_mul_ps(as, _mm256_movehdup_ps(w)));
}

__attribute__((target("avx2,fma"))) void ff_real_post_avx2(const ffc *z, const ffc *rtw,
                                                          size_t h, ffc *out)
{
    const __m256 conj = _mm256_setr_ps(0, -0.0f, 0, -0.0f, 0, -0.0f, 0, -0.0f);
    const ffc *rb = rtw + h + 1;
    size_t k = 1;

    post_one(z, rtw, h, 0, out);
    for (; k + 4 <= h; k += 4) {
        __m256 a = _mm256_loadu_ps(&z[k].re);
        __m256 c = _mm256_loadu_ps(&z[h - k - 3].re);
        c = _mm256_permute2f128_ps(c, c, 0x01);
        c = _mm256_xor_ps(_mm256_permute_ps(c, 0x4E), conj);
        __m256 x = _mm256_add_ps(cmul_i(a, _mm256_loadu_ps(&rtw[k].re)),
                                 cmul_i(c, _mm256_loadu_ps(&rb[k].re)));
        _mm256_storeu_ps(&out[k].re, x);
    }
    for (; k <= h; k++)
        post_one(z, rtw, h, k, out);
}

#else

void ff_real_post_avx2(const ffc *z, const ffc *rtw, size_t h, ffc *out)
{
    ff_real_post_scalar(z, rtw, h, out);
}

#endif
