/* dsp_block.c — cpu/fast's block kernels (dsp_block.h): the mel filterbank and the log over
 * DSPB_W frames in the lanes of a vector, and the polynomial log10 both paths share.
 * The AVX2 functions carry a target attribute, never -mavx2, so the plugin loads on any
 * x86-64; the caller picks the path (dsp_fast.c follows fastfft's, SONO_FASTFFT_SCALAR). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "dsp_block.h"

/* Cephes' logf/log10f (S. Moshier): x = 2^e (1 + f) with 1 + f in [sqrt(1/2), sqrt(2)),
 * log(1 + f) = f - f^2/2 + f^3 P(f), P of degree 8 (relative error of the fit 2^-24
 * over that range, Cephes' own bound); log10(2) split in a part exact in float times e
 * (e < 2^8) and a small remainder, so e log10(2) adds no rounding of its own. */
#define LG_P0 7.0376836292e-2f
#define LG_P1 -1.1514610310e-1f
#define LG_P2 1.1676998740e-1f
#define LG_P3 -1.2420140846e-1f
#define LG_P4 1.4249322787e-1f
#define LG_P5 -1.6668057665e-1f
#define LG_P6 2.0000714765e-1f
#define LG_P7 -2.4999993993e-1f
#define LG_P8 3.3333331174e-1f
#define LG_L10E 0.43429448190325182765f /* log10(e) */
#define LG_L102A 0.30078125f            /* 77/256: e * this is exact */
#define LG_L102B 2.48745663981195213739e-4f /* log10(2) - LG_L102A */
#define LG_SQRTH 0.70710678118654752440f
#define LG_FLOOR 1e-10f

/* The domain is the positive normal floats below infinity: every caller first takes
 * max(v, 1e-10), and power spectra of finite audio stay far below FLT_MAX. */
float dspb_log10(float x)
{
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    float e = (float)((int)(bits >> 23) - 126);
    uint32_t mb = (bits & 0x007fffffu) | 0x3f000000u; /* the mantissa in [1/2, 1) */
    float m;
    memcpy(&m, &mb, sizeof m);
    float f = m - 1.0f;
    if (m < LG_SQRTH) {
        e -= 1.0f;
        f += m;
    }
    float z = f * f;
    float p = LG_P0;
    p = p * f + LG_P1;
    p = p * f + LG_P2;
    p = p * f + LG_P3;
    p = p * f + LG_P4;
    p = p * f + LG_P5;
    p = p * f + LG_P6;
    p = p * f + LG_P7;
    p = p * f + LG_P8;
    float y = p * f * z - 0.5f * z;
    return y * LG_L10E + f * LG_L10E + e * LG_L102B + e * LG_L102A;
}

void dspb_power_lane(double power, const float *spec, size_t n, float *pt, int lane)
{
    float *o = pt + lane;
    if (power == 2) {
        for (size_t k = 0; k < n; k++)
            o[k * DSPB_W] = spec[2 * k] * spec[2 * k] + spec[2 * k + 1] * spec[2 * k + 1];
    } else if (power == 1) {
        for (size_t k = 0; k < n; k++)
            o[k * DSPB_W] = sqrtf(spec[2 * k] * spec[2 * k] + spec[2 * k + 1] * spec[2 * k + 1]);
    } else {
        float half = (float)(power / 2);
        for (size_t k = 0; k < n; k++)
            o[k * DSPB_W] = powf(spec[2 * k] * spec[2 * k] + spec[2 * k + 1] * spec[2 * k + 1],
                                 half);
    }
}

static void mel_scalar(const fe_melbank *b, const float *pt, float *mel)
{
    for (size_t m = 0; m < b->n_mels; m++) {
        const float *w = b->wt + b->off[m], *x = pt + b->first[m] * DSPB_W;
        float acc[DSPB_W] = {0};
        for (size_t i = 0; i < b->len[m]; i++)
            for (int l = 0; l < DSPB_W; l++)
                acc[l] += w[i] * x[i * DSPB_W + l];
        memcpy(mel + m * DSPB_W, acc, sizeof acc);
    }
}

static float log_scalar(float *v, size_t n, float scale)
{
    float max = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        float y = scale * dspb_log10(v[i] > LG_FLOOR ? v[i] : LG_FLOOR);
        v[i] = y;
        max = y > max ? y : max;
    }
    return max;
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define AVX2_FN __attribute__((target("avx2,fma"))) static

AVX2_FN void mel_avx2(const fe_melbank *b, const float *pt, float *mel)
{
    for (size_t m = 0; m < b->n_mels; m++) {
        const float *w = b->wt + b->off[m], *x = pt + b->first[m] * DSPB_W;
        /* two accumulators: the FMA chain's latency, not its throughput, bounds one */
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        size_t i = 0, len = b->len[m];
        for (; i + 2 <= len; i += 2) {
            a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + i), _mm256_loadu_ps(x + i * DSPB_W), a0);
            a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + i + 1),
                                 _mm256_loadu_ps(x + (i + 1) * DSPB_W), a1);
        }
        if (i < len)
            a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + i), _mm256_loadu_ps(x + i * DSPB_W), a0);
        _mm256_storeu_ps(mel + m * DSPB_W, _mm256_add_ps(a0, a1));
    }
}

/* dspb_log10 over eight lanes, with FMAs where the scalar path rounds twice. */
AVX2_FN __m256 log10_avx2(__m256 x)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256i bits = _mm256_castps_si256(x);
    __m256 e = _mm256_cvtepi32_ps(
        _mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(126)));
    __m256 m = _mm256_castsi256_ps(_mm256_or_si256(
        _mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x3f000000)));
    __m256 lo = _mm256_cmp_ps(m, _mm256_set1_ps(LG_SQRTH), _CMP_LT_OQ);
    e = _mm256_sub_ps(e, _mm256_and_ps(lo, one));
    __m256 f = _mm256_add_ps(_mm256_sub_ps(m, one), _mm256_and_ps(lo, m));
    __m256 z = _mm256_mul_ps(f, f);
    __m256 p = _mm256_set1_ps(LG_P0);
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(LG_P1));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(LG_P2));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(LG_P3));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(LG_P4));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(LG_P5));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(LG_P6));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(LG_P7));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(LG_P8));
    __m256 y = _mm256_fmadd_ps(_mm256_set1_ps(-0.5f), z, _mm256_mul_ps(_mm256_mul_ps(p, f), z));
    __m256 r = _mm256_mul_ps(y, _mm256_set1_ps(LG_L10E));
    r = _mm256_fmadd_ps(f, _mm256_set1_ps(LG_L10E), r);
    r = _mm256_fmadd_ps(e, _mm256_set1_ps(LG_L102B), r);
    return _mm256_fmadd_ps(e, _mm256_set1_ps(LG_L102A), r);
}

AVX2_FN float log_avx2(float *v, size_t n, float scale)
{
    const __m256 floor = _mm256_set1_ps(LG_FLOOR), sc = _mm256_set1_ps(scale);
    __m256 mx = _mm256_set1_ps(-INFINITY);
    for (size_t i = 0; i < n; i += DSPB_W) {
        /* max(v, floor) with v first: a NaN takes the floor, as the scalar path's does */
        __m256 y = _mm256_mul_ps(sc, log10_avx2(_mm256_max_ps(_mm256_loadu_ps(v + i), floor)));
        _mm256_storeu_ps(v + i, y);
        mx = _mm256_max_ps(mx, y);
    }
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
    return _mm_cvtss_f32(h);
}

int dspb_has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#else

static void mel_avx2(const fe_melbank *b, const float *pt, float *mel)
{
    mel_scalar(b, pt, mel);
}

static float log_avx2(float *v, size_t n, float scale)
{
    return log_scalar(v, n, scale);
}

int dspb_has_avx2(void)
{
    return 0;
}

#endif

void dspb_mel(const fe_melbank *b, const float *pt, float *mel, int simd)
{
    if (simd)
        mel_avx2(b, pt, mel);
    else
        mel_scalar(b, pt, mel);
}

float dspb_log(float *v, size_t n, float scale, int simd)
{
    return simd ? log_avx2(v, n, scale) : log_scalar(v, n, scale);
}
