/* nop.c — op "nop": the identity on n floats. Its impls do (next to) nothing in run(),
 * so their measured time is the harness's own cost per call: the floor under every
 * other figure, recorded in the results' environment. */
#include <string.h>

#include "op.h"

static const sono_param_spec params[] = {
    {.name = "n", .type = SONO_PINT, .imin = 1, .imax = 1 << 24, .idflt = 1,
     .help = "floats passed through"},
};

static void shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    long long n = sono_param_int(p, "n", 1);
    *in = (sono_buf){.dtype = SONO_F32, .ndim = 1, .shape = {n}};
    *out = (sono_buf){.dtype = SONO_F32, .ndim = 1, .shape = {n}};
}

static int reference(const sono_params *p, const sono_buf *in, sono_buf *ref,
                     sono_error *err)
{
    (void)err;
    const float *x = in->data;
    double *y = ref->data;
    for (long long i = 0; i < sono_param_int(p, "n", 1); i++)
        y[i] = x[i];
    return 0;
}

static void cost(const sono_params *p, sono_cost *c)
{
    c->flops = 0;
    c->bytes = 8.0 * (double)sono_param_int(p, "n", 1);
}

/* A copy is exact. */
static double tolerance(const sono_params *p, sono_err_growth g)
{
    (void)p;
    (void)g;
    return 0.0;
}

/* Streaming (issue 12): one step per float, at a nominal 48 kHz so chunk_ms means
 * something; no look-ahead. Its impls' pushes measure the streaming loop's own cost. */
static int stream_shape(const sono_params *p, sono_stream_shape *s, sono_error *err)
{
    (void)err;
    long long n = sono_param_int(p, "n", 1);
    *s = (sono_stream_shape){.in = {1, n, 1}, .out = {1, n, 1}, .step_rate = 48000,
                             .algo_latency_s = 0};
    return 0;
}

const sono_op sono_op_nop = {
    .name = "nop",
    .summary = "identity; measures the harness's own overhead per call",
    .params = params,
    .nparams = 1,
    .shapes = shapes,
    .reference = reference,
    .cost = cost,
    .tolerance = tolerance,
    .stream_shape = stream_shape,
    .size_param = "n",
    .size_label = "n (float32 elements)",
    .merit = SONO_MERIT_GFLOPS,
};
