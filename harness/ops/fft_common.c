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
 * DFT (SONO_ERR_LINEAR) sums N products per bin in float, in order: its worst case is eps
 * N (every rounding of one sign), but roundings go up as often as down and add like a
 * random walk, eps sqrt(N) relative to the bin (issue 29: eps N left the tolerance 160x
 * above the worst honest error at N = 4096). Measured with cpu/naive-dft over the fft
 * suite's sizes (16..4096, 480, 1920; batch 1 and 64) on noise, sine, chirp, impulse,
 * pink, sweep, clicks, square and speech (bin/harness exec, fft and rfft, 242 cases): the
 * worst is 1.06 eps sqrt(N) (fft, a square wave at N = 1920: 5.5e-6; noise 0.18, rfft
 * 0.24), the periodic input's partial sums staying large; DIRECT_SUM_C = 4 leaves 3.8x
 * there and 16x on rfft. N below 16 counts as 16 (twiddles rounded once each). */
#define DIRECT_SUM_C 4.0
double sono_fft_tolerance(const sono_params *p, sono_err_growth g)
{
    double n = (double)sono_param_int(p, "n", 1);
    double lg = n > 2 ? log2(n) : 1.0;
    if (g == SONO_ERR_LINEAR)
        return DIRECT_SUM_C * FLT_EPSILON * sqrt(n > 16 ? n : 16);
    return 4.0 * FLT_EPSILON * lg;
}
