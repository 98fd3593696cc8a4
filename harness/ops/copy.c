/* copy.c — op "copy": out = in over n float32s (issue 10). It is how `harness calibrate`
 * measures a device's copy bandwidth (device-to-device on a GPU), and a roofline row of
 * its own in the GPU suite. Bytes count the read and the write; there is no arithmetic. */
#include "op.h"

static const sono_param_spec params[] = {
    {.name = "n", .type = SONO_PINT, .imin = 1, .imax = 1LL << 30, .idflt = 1 << 20,
     .help = "float32 elements copied"},
};

static void shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    long long n = sono_param_int(p, "n", 1 << 20);
    *in = (sono_buf){.dtype = SONO_F32, .ndim = 1, .shape = {n}};
    *out = (sono_buf){.dtype = SONO_F32, .ndim = 1, .shape = {n}};
}

/* The input widened: every float is exactly a double, so a right copy matches it bitwise. */
static int reference(const sono_params *p, const sono_buf *in, sono_buf *ref,
                     sono_error *err)
{
    (void)err;
    long long n = sono_param_int(p, "n", 1 << 20);
    const float *x = in->data;
    double *y = ref->data;
    for (long long i = 0; i < n; i++)
        y[i] = (double)x[i];
    return 0;
}

/* One read and one write of 4 bytes per element, as cudaMemcpy bandwidth is quoted. */
static void cost(const sono_params *p, sono_cost *c)
{
    c->flops = 0;
    c->bytes = 8.0 * (double)sono_param_int(p, "n", 1 << 20);
}

/* A copy is exact: any difference at all is a wrong element. */
static double tolerance(const sono_params *p, sono_err_growth g)
{
    (void)p;
    (void)g;
    return 0;
}

const sono_op sono_op_copy = {
    .name = "copy",
    .summary = "out = in, float32 (copy bandwidth: device to device on a GPU)",
    .params = params,
    .nparams = 1,
    .shapes = shapes,
    .reference = reference,
    .cost = cost,
    .tolerance = tolerance,
    .size_param = "n",
    .size_label = "vector length n (float32 elements)",
    .merit = SONO_MERIT_GFLOPS,
};
