/* naive_dft.c — cpu/naive-dft: the DFT by its definition, O(n^2), summed in float32.
 * It is the honest textbook baseline every faster rung is measured against, and its
 * error grows like eps*n (SONO_ERR_LINEAR), which the op's tolerance accounts for. */
#include <math.h>

#include "cpu_impls.h"

typedef struct dft {
    fft_io io; /* first, so fft_load and fft_store can take this state */
    cfloat *w; /* w[m] = e^{-2 pi i m/n}, m in [0, n) */
} dft;

int dft_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    fft_io io;
    return fft_shape(ctx, p, 0, &io, why, n);
}

void dft_teardown(void *vst)
{
    dft *st = vst;
    if (!st)
        return;
    fft_io_free(&st->io);
    free(st->w);
    free(st);
}

int dft_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    dft *st = calloc(1, sizeof *st);
    int rc;

    *stp = NULL;
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "naive-dft: cannot allocate its state");
    if ((rc = fft_shape(ctx, p, 0, &st->io, why, sizeof why)) < 0) {
        free(st);
        return sono_fail(err, rc, "naive-dft: %s", why);
    }
    size_t n = st->io.n;
    st->w = amalloc(n * sizeof *st->w);
    if (!st->w) {
        dft_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "naive-dft: cannot allocate %zu twiddles", n);
    }
    if ((rc = fft_io_alloc(&st->io, err)) < 0) {
        dft_teardown(st);
        return rc;
    }
    /* In double, so the table itself adds only float rounding to the sums. */
    for (size_t m = 0; m < n; m++) {
        double a = -TWO_PI * (double)m / (double)n;
        st->w[m] = (cfloat){(float)cos(a), (float)sin(a)};
    }
    *stp = st;
    return 0;
}

/* The state, the input and output copies, and the n-entry twiddle table. */
size_t dft_workspace(void *vst)
{
    const dft *st = vst;
    return sizeof *st + fft_io_bytes(&st->io) + st->io.n * sizeof *st->w;
}

int dft_run(void *vst)
{
    const dft *st = vst;
    const cfloat *w = st->w;
    size_t n = st->io.n;

    for (size_t b = 0; b < st->io.batch; b++) {
        cfloat *y = st->io.out + b * n;
        for (size_t k = 0; k < st->io.nout; k++) {
            float re = 0.0f, im = 0.0f;
            size_t m = 0; /* (j*k) mod n, stepped so j*k never has to fit */
            if (st->io.real) {
                const float *x = (const float *)st->io.in + b * n;
                for (size_t j = 0; j < n; j++) {
                    re += x[j] * w[m].re;
                    im += x[j] * w[m].im;
                    m += k;
                    if (m >= n)
                        m -= n;
                }
            } else {
                const cfloat *x = (const cfloat *)st->io.in + b * n;
                for (size_t j = 0; j < n; j++) {
                    re += x[j].re * w[m].re - x[j].im * w[m].im;
                    im += x[j].re * w[m].im + x[j].im * w[m].re;
                    m += k;
                    if (m >= n)
                        m -= n;
                }
            }
            y[k] = (cfloat){re, im};
        }
    }
    return 0;
}
