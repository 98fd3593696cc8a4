/* nndtype.h — the `dtype` param (f32 | tf32 | bf16 | f16, issue 26) as impls read it. The
 * op's input hook has already rounded the inputs to the dtype's grid in float32 buffers;
 * an impl either computes float32 on them (and says so) or refuses a dtype it cannot
 * honour with the reason. Nothing here is shared with harness/ops/nndtype.c. */
#ifndef NNDTYPE_IMPL_H
#define NNDTYPE_IMPL_H

#include <stdio.h>
#include <string.h>

#include "sono.h"

enum { NN_F32 = 0, NN_TF32 = 1, NN_BF16 = 2, NN_F16 = 3 };

static inline const char *nn_dtype_str(const sono_params *p)
{
    return sono_param_str(p, "dtype", "f32");
}

static inline int nn_dtype(const sono_params *p)
{
    const char *s = nn_dtype_str(p);
    return !strcmp(s, "tf32") ? NN_TF32 : !strcmp(s, "bf16") ? NN_BF16
                                        : !strcmp(s, "f16")   ? NN_F16
                                                              : NN_F32;
}

/* For describe: "" at f32, else "dtype: bf16 via fp32 on bf16-rounded inputs" (the impl
 * reads the rounded values as floats and computes in float32, no reduced-precision unit). */
static inline void nn_dtype_via_f32(const sono_params *p, char *buf, size_t n)
{
    const char *s = nn_dtype_str(p);
    if (nn_dtype(p) == NN_F32)
        snprintf(buf, n, "%s", "");
    else
        snprintf(buf, n, "dtype: %s via fp32 on %s-rounded inputs", s, s);
}

/* supports() of an impl whose kernels are float32 only: SONO_EUNSUPPORTED with why at a
 * dtype other than f32 (a float32 GPU kernel on rounded inputs would measure nothing the
 * f32 case does not), else 0. */
static inline int nn_dtype_f32_only(const sono_params *p, const char *instead, char *why,
                                    size_t n)
{
    if (nn_dtype(p) == NN_F32)
        return 0;
    snprintf(why, n, "dtype=%s: this impl computes float32 only%s%s", nn_dtype_str(p),
             instead && *instead ? "; " : "", instead ? instead : "");
    return SONO_EUNSUPPORTED;
}

/* Append "; <note>" (or "<note>" to an empty buf) when note is not empty. */
static inline void nn_dtype_append(char *buf, size_t n, const char *note)
{
    size_t len = strlen(buf);
    if (note[0] && len < n)
        snprintf(buf + len, n - len, "%s%s", len ? "; " : "", note);
}

#endif
