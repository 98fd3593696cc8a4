/* triad.c — op "triad": STREAM's triad, a[i] = b[i] + s*c[i] over n float32s with the
 * fixed scalar s = 3. It is how `harness calibrate` measures sustained memory bandwidth,
 * so its cost model counts bytes as STREAM does. */
#include <float.h>

#include "op.h"

#define TRIAD_S 3.0 /* part of the contract: impls use 3.0f, the reference 3.0 */

static const sono_param_spec params[] = {
    {.name = "n", .type = SONO_PINT, .imin = 1, .imax = 1LL << 28, .idflt = 1 << 20,
     .help = "elements per array (input holds b and c, output a)"},
};

/* Input [2, n]: row 0 is b, row 1 is c, so one generated signal fills both. */
static void shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    long long n = sono_param_int(p, "n", 1 << 20);
    *in = (sono_buf){.dtype = SONO_F32, .ndim = 2, .shape = {2, n}};
    *out = (sono_buf){.dtype = SONO_F32, .ndim = 1, .shape = {n}};
}

/* In double: 3c is exact (26 bits), and so is b + 3c unless their exponents lie more than
 * ~27 binades apart; then one double rounding, 2^29 times finer than float's. */
static int reference(const sono_params *p, const sono_buf *in, sono_buf *ref,
                     sono_error *err)
{
    (void)err;
    long long n = sono_param_int(p, "n", 1 << 20);
    const float *b = in->data, *c = b + n;
    double *a = ref->data;
    for (long long i = 0; i < n; i++)
        a[i] = (double)b[i] + TRIAD_S * (double)c[i];
    return 0;
}

/* STREAM's counting: 2 flops (multiply, add) and 12 bytes (read b and c, write a) per
 * element; the write-allocate read of a, which most caches add, is not counted, so
 * figures compare with published STREAM results. */
static void cost(const sono_params *p, sono_cost *c)
{
    double n = (double)sono_param_int(p, "n", 1 << 20);
    c->flops = 2.0 * n;
    c->bytes = 12.0 * n;
}

/* A float impl rounds twice per element: s*c (relative error <= u = eps/2) and the sum
 * (<= u of the result), so |err_i| <= u*(|3c_i| + |a_i|) and the relative L2 error is at
 * most u*(1 + ||3c||/||a||). With b and c independent, ||a||^2 ~ ||b||^2 + ||3c||^2, so
 * the ratio is below 1 and the bound below eps; 2 eps leaves room for an impl that skips
 * neither rounding nor contracts to a fused multiply-add (one rounding, smaller error).
 * A wrong element, scalar or chunk boundary costs orders of magnitude more. Growth does
 * not matter: no impl sums anything. */
static double tolerance(const sono_params *p, sono_err_growth g)
{
    (void)p;
    (void)g;
    return 2.0 * FLT_EPSILON;
}

const sono_op sono_op_triad = {
    .name = "triad",
    .summary = "STREAM triad a = b + 3*c, float32 (memory bandwidth)",
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
