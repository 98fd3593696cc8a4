/* ctc_io.c — the cpu CTC decoders' shared plumbing (ctc_cpu.h): params, the bound input,
 * the output rows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_impls.h"
#include "ctc_cpu.h"

const int ctc_kinds[2] = {0, 1};

int ctc_io_shape(const sono_params *p, int beam, ctc_io *io, char *why, size_t n)
{
    double s = sono_param_real(p, "seconds", 10);
    long long threads = sono_param_int(p, "threads", 1);
    memset(io, 0, sizeof *io);
    io->T = llround(s * 50.0); /* 50 CTC frames per second */
    io->T = io->T < 1 ? 1 : io->T;
    io->V = sono_param_int(p, "V", 32);
    io->B = sono_param_int(p, "batch", 1);
    io->beam = beam ? (int)sono_param_int(p, "beam", 8) : 1;
    io->prune = beam ? (float)sono_param_real(p, "prune", 0) : 0;
    if (threads != 1) {
        snprintf(why, n, "single-threaded impl (threads=1 only), got threads=%lld", threads);
        return SONO_EUNSUPPORTED;
    }
    if (io->V < 2 || io->V > (1 << 24) || io->B < 1 || io->T > (1LL << 26) ||
        io->B > (1LL << 40) / io->T / io->V || io->beam < 1 || io->beam > 4096) {
        snprintf(why, n, "T=%lld V=%lld batch=%lld beam=%d out of range", io->T, io->V,
                 io->B, io->beam);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

int ctc_io_alloc(ctc_io *io, sono_error *err)
{
    io->rows = amalloc((size_t)(io->B * (io->T + 1)) * sizeof *io->rows);
    if (!io->rows)
        return sono_fail(err, SONO_ENOMEM, "%s: cannot allocate %lld output rows", io->who,
                         io->B);
    return 0;
}

int ctc_io_load(void *st, const sono_buf *in, sono_error *err)
{
    ctc_io *io = st;
    long long need = io->B * io->T * io->V;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != need ||
        in->nbytes < (size_t)need * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "%s: input must be f32 [batch=%lld, T=%lld, "
                         "V=%lld]; got dtype %d, %lld elements", io->who, io->B, io->T, io->V,
                         (int)in->dtype, sono_buf_elems(in));
    io->lp = in->data;
    return 0;
}

int ctc_io_store(void *st, sono_buf *out, sono_error *err)
{
    const ctc_io *io = st;
    size_t need = (size_t)(io->B * (io->T + 1)) * sizeof(int32_t);
    if (out->dtype != SONO_I32 || out->nbytes < need)
        return sono_fail(err, SONO_EINVAL, "%s: output must be i32 [%lld, %lld]; got dtype "
                         "%d, %zu bytes", io->who, io->B, io->T + 1, (int)out->dtype,
                         out->nbytes);
    memcpy(out->data, io->rows, need);
    return 0;
}

void ctc_io_row(ctc_io *io, long long b, const int32_t *l, long long L, float score)
{
    int32_t *row = io->rows + b * (io->T + 1);
    for (long long i = 0; i < io->T; i++)
        row[i] = i < L ? l[i] : -1;
    memcpy(&row[io->T], &score, sizeof score);
}
