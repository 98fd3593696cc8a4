/* sgemm.c — op "sgemm": C = A*B in float32, A [m,k] and B [k,n] row-major, C [m,n]. It is
 * how `harness calibrate` measures peak FLOP/s. The input is one 1-D buffer of m*k + k*n
 * floats, A then B, each row-major, so one generated signal fills both. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "input.h"
#include "nndtype.h"
#include "op.h"

/* The reference is a plain triple loop in double: m*n*k multiply-adds at ~1 ns each.
 * Past 2^33 (8.6e9, 2048^3) it would take longer than the case it checks. */
#define MAX_MNK (1LL << 33)

static const sono_param_spec params[] = {
    {.name = "m", .type = SONO_PINT, .imin = 1, .imax = 1 << 16, .idflt = 256,
     .help = "rows of A and C"},
    {.name = "n", .type = SONO_PINT, .imin = 1, .imax = 1 << 16, .idflt = 256,
     .help = "columns of B and C"},
    {.name = "k", .type = SONO_PINT, .imin = 1, .imax = 1 << 16, .idflt = 256,
     .help = "columns of A, rows of B (the summed dimension)"},
    /* issue 26: the tensor-core peaks of `harness calibrate` (tf32, bf16, f16 GEMMs) */
    SONO_NN_DTYPE_PARAM,
};

static void dims(const sono_params *p, long long *m, long long *n, long long *k)
{
    *m = sono_param_int(p, "m", 256);
    *n = sono_param_int(p, "n", 256);
    *k = sono_param_int(p, "k", 256);
}

static int validate(const sono_params *p, sono_error *err)
{
    long long m, n, k;
    dims(p, &m, &n, &k);
    if (m * n > MAX_MNK / k)
        return sono_fail(err, SONO_EINVAL,
                         "m*n*k = %lld*%lld*%lld exceeds 2^33: the float64 reference (a "
                         "plain triple loop) would take minutes", m, n, k);
    if (m * k + k * n > (1LL << 28) || m * n > (1LL << 28))
        return sono_fail(err, SONO_EINVAL, "m=%lld n=%lld k=%lld: a matrix over 2^28 "
                         "elements", m, n, k);
    return 0;
}

static void shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    long long m, n, k;
    dims(p, &m, &n, &k);
    *in = (sono_buf){.dtype = SONO_F32, .ndim = 1, .shape = {m * k + k * n}};
    *out = (sono_buf){.dtype = SONO_F32, .ndim = 2, .shape = {m, n}};
}

/* Row by row, i-p-j order: each product a[i,p]*b[p,j] is exact in double and the sums
 * round at 2^-53, far below float's 2^-24, whatever order a BLAS picks. */
static int reference(const sono_params *p, const sono_buf *in, sono_buf *ref,
                     sono_error *err)
{
    long long m, n, k;
    dims(p, &m, &n, &k);
    const float *a = in->data, *bf = a + m * k;
    double *b = malloc((size_t)(k * n) * sizeof *b);
    if (!b)
        return sono_fail(err, SONO_ENOMEM, "sgemm reference: no memory for B (k=%lld, "
                         "n=%lld) in double", k, n);
    for (long long i = 0; i < k * n; i++)
        b[i] = bf[i];
    double *c = ref->data;
    for (long long i = 0; i < m; i++) {
        double *ci = c + i * n;
        for (long long j = 0; j < n; j++)
            ci[j] = 0.0;
        for (long long q = 0; q < k; q++) {
            double aiq = a[i * k + q];
            const double *bq = b + q * n;
            for (long long j = 0; j < n; j++)
                ci[j] += aiq * bq[j];
        }
    }
    free(b);
    return 0;
}

/* The signal, as without a hook, then A and B rounded to the dtype (issue 26) so the
 * reference multiplies what a reduced-precision GEMM reads. */
static int input(const sono_params *p, const sono_input_spec *spec, double rate, sono_buf *in,
                 sono_error *err)
{
    int rc = sono_input_fill_at(spec, rate, in, err);
    if (!rc)
        sono_nn_round_buf(in->data, sono_buf_elems(in), sono_nn_dtype_get(p));
    return rc;
}

/* The usual convention: 2mnk (one multiply and one add per term); bytes: A, B and C once. */
static void cost(const sono_params *p, sono_cost *c)
{
    long long m, n, k;
    dims(p, &m, &n, &k);
    c->flops = 2.0 * (double)m * (double)n * (double)k;
    c->bytes = sono_nn_dtype_bytes(sono_nn_dtype_get(p)) * (double)(m * k + k * n) +
               4.0 * (double)(m * n);
}

/* Each c[i,j] sums k products. Summed in one running float (a BLAS's register tiles do
 * so along k), the rounding errors are random in sign, so for data of random sign the
 * relative error is about eps*sqrt(k/2), and eps*k (the classic worst-case growth) leaves
 * a factor sqrt(2k) of room; a missing or doubled term costs ~1/sqrt(k), a wrong layout
 * ~1. Pairwise or blocked sums (SONO_ERR_LOG) stay within 4 eps log2 k. The floor of 16
 * covers k = 1, where the one product rounds once. */
/* issue 26, dtype != f32: A and B are on the dtype's grid, so every product is exact in
 * float32 and accumulates in float32: the same bound. */
static double tolerance(const sono_params *p, sono_err_growth g)
{
    double k = (double)sono_param_int(p, "k", 256);
    if (g == SONO_ERR_LINEAR)
        return FLT_EPSILON * (k > 16 ? k : 16);
    return 4.0 * FLT_EPSILON * (k > 16 ? log2(k) : 4);
}

const sono_op sono_op_sgemm = {
    .name = "sgemm",
    .summary = "matrix product C = A*B, float32, row-major (peak FLOP/s)",
    .params = params,
    .nparams = sizeof params / sizeof params[0],
    .validate = validate,
    .shapes = shapes,
    .reference = reference,
    .cost = cost,
    .tolerance = tolerance,
    .input = input,
    .size_param = "n",
    .size_label = "matrix size n (C is m × n)",
    .merit = SONO_MERIT_GFLOPS,
};
