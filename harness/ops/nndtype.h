/* nndtype.h — the `dtype` param of the GEMM-shaped ops (issue 26): f32 | tf32 | bf16 | f16.
 * The op's input hook rounds its inputs and weights to the dtype's grid (kept in float32
 * buffers: every bf16, f16 and tf32 value is a float32), so the float64 reference sees the
 * very values a reduced-precision kernel reads and the tolerance measures the kernel's own
 * arithmetic. Conversions here are the harness's; kernels convert with their own code. */
#ifndef SONO_NNDTYPE_H
#define SONO_NNDTYPE_H

#include <stdint.h>

#include "op.h"

typedef enum { SONO_NN_F32 = 0, SONO_NN_TF32 = 1, SONO_NN_BF16 = 2, SONO_NN_F16 = 3 } sono_nn_dtype;

/* The param spec each op that takes a dtype lists among its own params: late (absent from
 * case ids at f32, so published ids still match) and checked against its choices where
 * params are parsed (harness/plan/params.c), so a bad value is refused once, there. An op
 * without it refuses `dtype` as an unknown param instead of silently running float32. */
#define SONO_NN_DTYPE_PARAM                                                                 \
    {.name = "dtype", .type = SONO_PSTR, .choices = "f32|tf32|bf16|f16", .sdflt = "f32",     \
     .help = "storage dtype of inputs and weights (rounded to it by the input hook); "      \
             "accumulation float32: f32, tf32 (10-bit mantissa), bf16, f16",                \
     .late = 1}

/* The dtype a case asks for (f32 when absent; the parser has already refused others). */
sono_nn_dtype sono_nn_dtype_get(const sono_params *p);
const char *sono_nn_dtype_name(sono_nn_dtype t);
/* Unit roundoff u = 2^-(p) for a p+1-bit significand under round to nearest: f32 2^-24,
 * tf32 2^-11, bf16 2^-8, f16 2^-11. */
double sono_nn_dtype_unit(sono_nn_dtype t);
/* Bytes one stored element takes in a kernel's memory (tf32 is float32 storage). */
double sono_nn_dtype_bytes(sono_nn_dtype t);

/* Round to nearest, ties to even. bf16: the top 16 bits of the float; f16: IEEE binary16
 * with its subnormals and overflow to infinity; tf32: the float with its low 13 mantissa
 * bits cleared after rounding. NaN stays NaN. */
uint16_t sono_f32_to_bf16_bits(float x);
float sono_bf16_bits_to_f32(uint16_t h);
uint16_t sono_f32_to_f16_bits(float x);
float sono_f16_bits_to_f32(uint16_t h);
float sono_round_tf32(float x);
float sono_nn_round(float x, sono_nn_dtype t);
/* Round n floats in place to t's grid (nothing for f32). */
void sono_nn_round_buf(float *v, long long n, sono_nn_dtype t);

#endif
