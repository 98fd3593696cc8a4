/* rfft.c — op "rfft": batched real-to-complex forward DFT in float32; each row of n real
 * samples gives bins 0..n/2 (the rest are their conjugates), as numpy.fft.rfft. */
#include <math.h>
#include <stdlib.h>

#include "dft64.h"
#include "fft_common.h"
#include "op.h"


static void shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    long long n = sono_param_int(p, "n", 1024), b = sono_param_int(p, "batch", 1);
    *in = (sono_buf){.dtype = SONO_F32, .ndim = 2, .shape = {b, n}};
    *out = (sono_buf){.dtype = SONO_C64, .ndim = 2, .shape = {b, n / 2 + 1}};
}

/* The full complex DFT of the real rows, truncated: no use of the real-input symmetry,
 * so a wrong packing trick in an impl cannot hide behind the same trick here. */
static int reference(const sono_params *p, const sono_buf *in, sono_buf *ref,
                     sono_error *err)
{
    long long n = sono_param_int(p, "n", 1024), b = sono_param_int(p, "batch", 1);
    long long h = n / 2 + 1;
    double *x = calloc((size_t)(2 * n * b), sizeof *x);
    double *y = malloc((size_t)(2 * n * b) * sizeof *y);
    if (!x || !y) {
        free(x);
        free(y);
        return sono_fail(err, SONO_ENOMEM, "rfft reference: no memory (n=%lld)", n);
    }
    const float *f = in->data;
    for (long long i = 0; i < n * b; i++)
        x[2 * i] = f[i];
    int rc = sono_dft64(x, y, n, b);
    double *r = ref->data;
    for (long long row = 0; rc == 0 && row < b; row++)
        for (long long k = 0; k < 2 * h; k++)
            r[row * 2 * h + k] = y[row * 2 * n + k];
    free(x);
    free(y);
    return rc ? sono_fail(err, rc, "rfft reference: no memory (n=%lld)", n) : 0;
}

/* benchFFT counts a real transform as half a complex one: 2.5 N log2 N. */
static void cost(const sono_params *p, sono_cost *c)
{
    double n = (double)sono_param_int(p, "n", 1024), b = (double)sono_param_int(p, "batch", 1);
    c->flops = b * 2.5 * n * log2(n);
    c->bytes = b * (n * 4.0 + (floor(n / 2) + 1) * 8.0);
}

const sono_op sono_op_rfft = {
    .name = "rfft",
    .summary = "real-to-complex forward DFT, float32, batched (n/2+1 bins)",
    .params = sono_fft_params,
    .nparams = 2,
    .validate = sono_fft_validate,
    .shapes = shapes,
    .reference = reference,
    .cost = cost,
    .tolerance = sono_fft_tolerance,
    .size_param = "n",
    .size_label = "transform size n (real points)",
    .merit = SONO_MERIT_GFLOPS,
};
