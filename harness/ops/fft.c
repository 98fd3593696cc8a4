/* fft.c — op "fft": batched complex-to-complex forward DFT in float32,
 * X[k] = sum_j x[j] e^{-2 pi i jk/n}, unnormalised; rows of n contiguous samples. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "dft64.h"
#include "fft_common.h"
#include "op.h"


static void shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    long long n = sono_param_int(p, "n", 1024), b = sono_param_int(p, "batch", 1);
    *in = (sono_buf){.dtype = SONO_C64, .ndim = 2, .shape = {b, n}};
    *out = (sono_buf){.dtype = SONO_C64, .ndim = 2, .shape = {b, n}};
}

static int reference(const sono_params *p, const sono_buf *in, sono_buf *ref,
                     sono_error *err)
{
    long long n = sono_param_int(p, "n", 1024), b = sono_param_int(p, "batch", 1);
    size_t count = (size_t)(2 * n * b);
    double *x = malloc(count * sizeof *x);
    if (!x)
        return sono_fail(err, SONO_ENOMEM, "fft reference: no memory for %zu doubles", count);
    const float *f = in->data;
    for (size_t i = 0; i < count; i++)
        x[i] = f[i];
    int rc = sono_dft64(x, ref->data, n, b);
    free(x);
    return rc ? sono_fail(err, rc, "fft reference: no memory (n=%lld)", n) : 0;
}

/* benchFFT's convention: 5 N log2 N "flops" for a complex transform of any N, so rates
 * compare across algorithms; bytes = input + output once. */
static void cost(const sono_params *p, sono_cost *c)
{
    double n = (double)sono_param_int(p, "n", 1024), b = (double)sono_param_int(p, "batch", 1);
    c->flops = b * 5.0 * n * log2(n);
    c->bytes = b * n * 8.0 * 2.0;
}

const sono_op sono_op_fft = {
    .name = "fft",
    .summary = "complex-to-complex forward DFT, float32, batched",
    .params = sono_fft_params,
    .nparams = 2,
    .validate = sono_fft_validate,
    .shapes = shapes,
    .reference = reference,
    .cost = cost,
    .tolerance = sono_fft_tolerance,
    .size_param = "n",
    .size_label = "transform size n (complex points)",
    .merit = SONO_MERIT_GFLOPS,
};
