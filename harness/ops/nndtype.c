/* nndtype.c — the dtype param's conversions: round to nearest even from float32 to bf16,
 * f16 and tf32, by bit manipulation (no compiler half type needed), and the constants the
 * ops' tolerances use. tests/test_dtype.c checks every bf16 and f16 bit pattern. */
#include "nndtype.h"

#include <string.h>

static uint32_t bits_of(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static float float_of(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

sono_nn_dtype sono_nn_dtype_get(const sono_params *p)
{
    const char *s = sono_param_str(p, "dtype", "f32");
    if (strcmp(s, "tf32") == 0)
        return SONO_NN_TF32;
    if (strcmp(s, "bf16") == 0)
        return SONO_NN_BF16;
    if (strcmp(s, "f16") == 0)
        return SONO_NN_F16;
    return SONO_NN_F32;
}

const char *sono_nn_dtype_name(sono_nn_dtype t)
{
    static const char *const n[] = {"f32", "tf32", "bf16", "f16"};
    return (unsigned)t < 4 ? n[t] : "?";
}

double sono_nn_dtype_unit(sono_nn_dtype t)
{
    switch (t) {
    case SONO_NN_TF32: return 0x1p-11; /* 10 stored mantissa bits */
    case SONO_NN_BF16: return 0x1p-8;  /* 7 */
    case SONO_NN_F16: return 0x1p-11;  /* 10 */
    case SONO_NN_F32: break;
    }
    return 0x1p-24;
}

double sono_nn_dtype_bytes(sono_nn_dtype t)
{
    return t == SONO_NN_BF16 || t == SONO_NN_F16 ? 2.0 : 4.0;
}

/* Adding 0x7fff plus the lowest kept bit carries into the kept bits exactly when the
 * dropped half is above one half ulp, or equal to it with the kept value odd. */
uint16_t sono_f32_to_bf16_bits(float x)
{
    uint32_t u = bits_of(x);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40); /* NaN: keep it quiet */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float sono_bf16_bits_to_f32(uint16_t h)
{
    return float_of((uint32_t)h << 16);
}

float sono_round_tf32(float x)
{
    uint32_t u = bits_of(x);
    if ((u & 0x7fffffffu) >= 0x7f800000u)
        return x;
    u += 0xfffu + ((u >> 13) & 1u);
    return float_of(u & ~0x1fffu);
}

/* binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. Normal results keep the top
 * 10 of the float's 23 mantissa bits; below 2^-14 the grid is 2^-24 and the shift grows;
 * a carry out of the mantissa moves into the exponent by the same addition. */
uint16_t sono_f32_to_f16_bits(float x)
{
    uint32_t u = bits_of(x), sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
    if (a > 0x7f800000u)
        return (uint16_t)(sign | 0x7e00u); /* NaN */
    if (a >= 0x477ff000u)                  /* >= 65520: rounds to infinity */
        return (uint16_t)(sign | 0x7c00u);
    int e = (int)(a >> 23) - 127;
    if (e >= -14) { /* normal in f16 */
        uint32_t r = a + 0xfffu + ((a >> 13) & 1u);
        uint32_t h = ((r >> 13) - ((uint32_t)(127 - 15) << 10));
        return (uint16_t)(sign | h);
    }
    if (e < -25) /* below half the smallest subnormal 2^-24 (or exactly 2^-26..): zero */
        return (uint16_t)sign;
    /* subnormal: value = m * 2^-24 with m = round(a_significand * 2^(e + 24)) */
    uint32_t m = (a & 0x7fffffu) | 0x800000u; /* 24-bit significand, value m * 2^(e-23) */
    int shift = -e - 1;                       /* to units of 2^-24: 2^(e-23) / 2^-24 */
    uint32_t keep = m >> shift, rest = m & ((1u << shift) - 1u), half = 1u << (shift - 1);
    if (rest > half || (rest == half && (keep & 1u)))
        keep++;
    return (uint16_t)(sign | keep); /* keep == 0x400 is the smallest normal: correct bits */
}

float sono_f16_bits_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0x1f)
        return float_of(sign | 0x7f800000u | (m << 13));
    if (e == 0) { /* zero or subnormal: m * 2^-24, exact in float */
        float v = (float)m * 0x1p-24f;
        return sign ? -v : v;
    }
    return float_of(sign | ((e + 127 - 15) << 23) | (m << 13));
}

float sono_nn_round(float x, sono_nn_dtype t)
{
    switch (t) {
    case SONO_NN_TF32: return sono_round_tf32(x);
    case SONO_NN_BF16: return sono_bf16_bits_to_f32(sono_f32_to_bf16_bits(x));
    case SONO_NN_F16: return sono_f16_bits_to_f32(sono_f32_to_f16_bits(x));
    case SONO_NN_F32: break;
    }
    return x;
}

void sono_nn_round_buf(float *v, long long n, sono_nn_dtype t)
{
    if (t == SONO_NN_F32)
        return;
    for (long long i = 0; i < n; i++)
        v[i] = sono_nn_round(v[i], t);
}
