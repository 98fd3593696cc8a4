/* radix2.c — cpu/radix2: the textbook iterative Cooley-Tukey FFT, decimation in time,
 * out-of-place (a bit-reversed copy of the input, then log2 n in-place butterfly stages).
 * It is the first O(n log n) rung: no packing for real input, no vectorising, by design. */
#include <math.h>

#include "cpu_impls.h"

typedef struct radix2 {
    fft_io io;   /* first, so fft_load and fft_store can take this state */
    cfloat *w;   /* w[k] = e^{-2 pi i k/n}, k in [0, n/2) */
    size_t *rev; /* rev[i]: i with its log2 n bits reversed */
} radix2;

int radix2_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    fft_io io;
    return fft_shape(ctx, p, 1, &io, why, n);
}

void radix2_teardown(void *vst)
{
    radix2 *st = vst;
    if (!st)
        return;
    fft_io_free(&st->io);
    free(st->w);
    free(st->rev);
    free(st);
}

int radix2_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    radix2 *st = calloc(1, sizeof *st);
    int rc;

    *stp = NULL;
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "radix2: cannot allocate its state");
    if ((rc = fft_shape(ctx, p, 1, &st->io, why, sizeof why)) < 0) {
        free(st);
        return sono_fail(err, rc, "radix2: %s", why);
    }
    size_t n = st->io.n;
    st->w = amalloc(n / 2 * sizeof *st->w);
    st->rev = amalloc(n * sizeof *st->rev);
    if (!st->w || !st->rev) {
        radix2_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "radix2: cannot allocate tables for n=%zu", n);
    }
    if ((rc = fft_io_alloc(&st->io, err)) < 0) {
        radix2_teardown(st);
        return rc;
    }
    /* In double, so each twiddle is the correctly rounded float, not a recurrence. */
    for (size_t k = 0; k < n / 2; k++) {
        double a = -TWO_PI * (double)k / (double)n;
        st->w[k] = (cfloat){(float)cos(a), (float)sin(a)};
    }
    unsigned bits = 0;
    while (((size_t)1 << bits) < n)
        bits++;
    st->rev[0] = 0;
    for (size_t i = 1; i < n; i++)
        st->rev[i] = (st->rev[i >> 1] >> 1) | ((i & 1) << (bits - 1));
    *stp = st;
    return 0;
}

/* The state, the input and output copies, n/2 twiddles and the n-entry bit-reversal
 * table (size_t: at n = 65536 it is twice the twiddles, a cost worth seeing). */
size_t radix2_workspace(void *vst)
{
    const radix2 *st = vst;
    size_t n = st->io.n;
    return sizeof *st + fft_io_bytes(&st->io) + n / 2 * sizeof *st->w + n * sizeof *st->rev;
}

int radix2_run(void *vst)
{
    const radix2 *st = vst;
    const cfloat *w = st->w;
    const size_t *rev = st->rev;
    size_t n = st->io.n;

    for (size_t b = 0; b < st->io.batch; b++) {
        cfloat *y = st->io.out + b * n;
        if (st->io.real) {
            const float *x = (const float *)st->io.in + b * n;
            for (size_t i = 0; i < n; i++)
                y[i] = (cfloat){x[rev[i]], 0.0f};
        } else {
            const cfloat *x = (const cfloat *)st->io.in + b * n;
            for (size_t i = 0; i < n; i++)
                y[i] = x[rev[i]];
        }
        for (size_t len = 2; len <= n; len <<= 1) {
            size_t half = len / 2, step = n / len;
            for (size_t i = 0; i < n; i += len) {
                for (size_t j = 0; j < half; j++) {
                    cfloat t = w[j * step], *a = &y[i + j], *c = &y[i + j + half];
                    float re = c->re * t.re - c->im * t.im;
                    float im = c->re * t.im + c->im * t.re;
                    c->re = a->re - re;
                    c->im = a->im - im;
                    a->re += re;
                    a->im += im;
                }
            }
        }
    }
    return 0;
}
