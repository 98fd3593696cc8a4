/* gdt_math.h — the element conversions of gemm_dt (issue 26): float32 to bf16 and f16 by
 * round to nearest even, to the tf32 grid likewise, and what cuBLAS's TF32 path does with
 * a float32 it is handed (the tensor core reads the top 19 bits: truncation). Compiled by
 * nvcc for gdt_kernels.cu and by cc for tests/test_cuda_math_gdt.c. */
#ifndef IMPLS_CUDA_GDT_MATH_H
#define IMPLS_CUDA_GDT_MATH_H

#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#define GDT_HD __host__ __device__ __forceinline__ static
#else
#define GDT_HD static inline
#endif

GDT_HD uint32_t gdt_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

GDT_HD float gdt_float(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* bf16 is the float's top half: adding 0x7fff plus the lowest kept bit carries into the
 * kept bits exactly when the dropped half exceeds half an ulp, or equals it on an odd
 * kept value. A carry out of the mantissa lands in the exponent (up to infinity), which is
 * the correct rounding too. NaN stays a quiet NaN of the same sign. */
GDT_HD uint16_t gdt_bf16_rne(float x)
{
    uint32_t u = gdt_bits(x);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40u);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

GDT_HD float gdt_bf16_to_f32(uint16_t h)
{
    return gdt_float((uint32_t)h << 16);
}

/* binary16 (1, 5, 10; bias 15): normals keep the float's top 10 mantissa bits with the
 * same carry rule; from 65520 up the result is infinity; below 2^-14 the grid is 2^-24,
 * so the significand (with its hidden bit) is shifted right by more and rounded by hand. */
GDT_HD uint16_t gdt_f16_rne(float x)
{
    uint32_t u = gdt_bits(x), sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
    if (a > 0x7f800000u)
        return (uint16_t)(sign | 0x7e00u);
    if (a >= 0x477ff000u)
        return (uint16_t)(sign | 0x7c00u);
    if (a >= 0x38800000u) { /* 2^-14 and up: normal */
        uint32_t r = a + 0xfffu + ((a >> 13) & 1u);
        return (uint16_t)(sign | ((r >> 13) - (112u << 10)));
    }
    if (a < 0x33000000u) /* below 2^-25, half the smallest subnormal: zero (2^-25 ties to 0) */
        return (uint16_t)sign;
    uint32_t m = (a & 0x7fffffu) | 0x800000u;
    int shift = 126 - (int)(a >> 23); /* 14..24: value m 2^(e-150) in units of 2^-24 */
    uint32_t keep = m >> shift, rest = m & ((1u << shift) - 1u), half = 1u << (shift - 1);
    if (rest > half || (rest == half && (keep & 1u)))
        keep++;
    return (uint16_t)(sign | keep); /* keep 0x400: the smallest normal, by the same bits */
}

GDT_HD float gdt_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0x1fu)
        return gdt_float(sign | 0x7f800000u | (m << 13));
    if (e == 0) {
        float v = (float)m * (1.0f / 16777216.0f); /* m 2^-24, exact */
        return sign ? -v : v;
    }
    return gdt_float(sign | ((e + 112u) << 23) | (m << 13));
}

/* tf32 (1, 8, 10) kept in a float: round to nearest even at mantissa bit 13, low 13 bits
 * cleared. Infinity and NaN pass through; a carry to the exponent may give infinity. */
GDT_HD float gdt_tf32_rne(float x)
{
    uint32_t u = gdt_bits(x);
    if ((u & 0x7fffffffu) >= 0x7f800000u)
        return x;
    u += 0xfffu + ((u >> 13) & 1u);
    return gdt_float(u & ~0x1fffu);
}

/* What a TF32 tensor-core product reads of a float32 operand that cuBLAS passes on
 * unconverted (CUBLAS_COMPUTE_32F_FAST_TF32): its top 19 bits, the low 13 dropped. So
 * gemm_dt rounds activations with gdt_tf32_rne first: on that grid truncation is exact,
 * and the product is the one the float64 reference of rounded values predicts. */
GDT_HD float gdt_tf32_trunc(float x)
{
    return gdt_float(gdt_bits(x) & ~0x1fffu);
}

/* cuda/vq-lt's argmin: a lane scans its columns in ascending order keeping a strict <, so
 * its best is the lowest index of its minimum; lanes' bests then merge pairwise, where an
 * equal value keeps the lower index. The result: the first column of the row's minimum. */
GDT_HD void gdt_argmin_merge(float *bv, int *bi, float v, int i)
{
    if (v < *bv || (v == *bv && i < *bi)) {
        *bv = v;
        *bi = i;
    }
}

#endif
