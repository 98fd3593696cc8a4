/* fft_common.c — the size limit and tolerance model shared by the fft and rfft ops. */
#include "fft_common.h"

#include <float.h>
#include <math.h>

/* n and batch: the same contract for the complex and the real transform. */
const sono_param_spec sono_fft_params[2] = {
    {.name = "n", .type = SONO_PINT, .imin = 1, .imax = 1 << 24, .idflt = 1024,
     .help = "transform length (samples per row)"},
    {.name = "batch", .type = SONO_PINT, .imin = 1, .imax = 1 << 16, .idflt = 1,
     .help = "independent transforms, one per row"},
};

/* 2^28 complex samples is 2 GiB per buffer: past that a case is a memory test. */
int sono_fft_validate(const sono_params *p, sono_error *err)
{
    long long n = sono_param_int(p, "n", 1), b = sono_param_int(p, "batch", 1);
    if (n * b > (1LL << 28))
        return sono_fail(err, SONO_EINVAL, "n*batch = %lld exceeds 2^28 samples", n * b);
    return 0;
}

/* Relative L2 error of a float32 FFT. A fast algorithm passes each value through log2 N
 * butterfly levels, each adding a rounding of about eps (FLT_EPSILON; twiddles rounded to
 * float add as much again), so the error grows like eps * log2 N; the errors are random
 * in sign, so the norm usually stays near eps * sqrt(log2 N), and 4 eps log2 N leaves
 * room without hiding a wrong twiddle (which costs ~1e-3 or more). The direct O(N^2)
 * DFT sums N products per bin in float: its bound grows like eps * N. */
double sono_fft_tolerance(const sono_params *p, sono_err_growth g)
{
    double n = (double)sono_param_int(p, "n", 1);
    double lg = n > 2 ? log2(n) : 1.0;
    if (g == SONO_ERR_LINEAR)
        return FLT_EPSILON * (n > 16 ? n : 16);
    return 4.0 * FLT_EPSILON * lg;
}
