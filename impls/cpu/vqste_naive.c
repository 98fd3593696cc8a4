/* vqste_naive.c — cpu/naive for vq.ste: the nearest code by sum of (x - e)^2 over every
 * codeword (first smallest), then the shared float32 step (impls/common/vqste_step.c). */
#include <math.h>
#include <stdlib.h>

#include "gen_cpu.h"
#include "vqste_step.h"

int vqste_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    long long threads = sono_param_int(p, "threads", 1);
    if (threads != 1) {
        snprintf(why, n, "single-threaded impl (threads=1 only), got threads=%lld", threads);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

int vqste_naive_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    (void)ctx;
    *stp = NULL;
    vqste_io *io = malloc(sizeof *io);
    if (!io)
        return sono_fail(err, SONO_ENOMEM, "cpu/naive: cannot allocate its state");
    int rc = vqste_io_init(p, 0, "cpu/naive", io, err);
    if (rc) {
        free(io);
        return rc;
    }
    *stp = io;
    return 0;
}

int vqste_naive_load(void *st, const sono_buf *in, sono_error *err)
{
    return vqste_io_load(st, in, err);
}

int vqste_naive_run(void *st)
{
    vqste_io *io = st;
    long long K = io->K, D = io->D;
    for (long long n = 0; n < io->N; n++) {
        const float *x = io->x + n * D;
        float best = INFINITY;
        int32_t bi = 0;
        for (long long k = 0; k < K; k++) {
            const float *e = io->e + k * D;
            float d = 0;
            for (long long j = 0; j < D; j++)
                d += (x[j] - e[j]) * (x[j] - e[j]);
            if (d < best) {
                best = d;
                bi = (int32_t)k;
            }
        }
        io->codes[n] = bi;
    }
    vqste_finish(io);
    return 0;
}

int vqste_naive_store(void *st, sono_buf *out, sono_error *err)
{
    return vqste_io_store(st, out, err);
}

void vqste_naive_teardown(void *st)
{
    if (st)
        vqste_io_free(st);
    free(st);
}

size_t vqste_naive_workspace(void *st)
{
    return vqste_io_bytes(st);
}
