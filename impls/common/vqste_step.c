/* vqste_step.c — vq.ste's float32 body after the code search (vqste_step.h): per vector the
 * straight-through output x + (e - x), the squared error, dx = g + 2 beta (x - q) / ND and
 * the cluster sums; per code de, the EMA count and sum, the smoothed count, the new row or
 * a restart from the batch chosen by Philox (impls/common/philox.h). */
#include <stdio.h>
#include <stdlib.h>

#include "philox.h"
#include "vqste_step.h"

int vqste_io_init(const sono_params *p, int threads_ok, const char *who, vqste_io *io,
                  sono_error *err)
{
    memset(io, 0, sizeof *io);
    io->who = who;
    long long threads = sono_param_int(p, "threads", 1);
    if (!threads_ok && threads != 1)
        return sono_fail(err, SONO_EUNSUPPORTED, "%s: single-threaded impl (threads=1 only), "
                         "got threads=%lld", who, threads);
    io->K = sono_param_int(p, "K", 1024);
    io->D = sono_param_int(p, "D", 128);
    io->N = sono_param_int(p, "N", 4800);
    io->beta = (float)sono_param_real(p, "beta", 0.25);
    io->decay = (float)sono_param_real(p, "decay", 0.99);
    io->eps = (float)sono_param_real(p, "eps", 1e-5);
    io->dead = (float)sono_param_real(p, "dead", 2);
    io->seed = (uint64_t)sono_param_int(p, "seed", 1);
    long long KD = io->K * io->D, ND = io->N * io->D;
    if (io->K < 1 || io->D < 1 || io->N < 1 || KD > (1LL << 28) || ND > (1LL << 28))
        return sono_fail(err, SONO_EUNSUPPORTED, "%s: K*D and N*D must be in [1, 2^28]", who);
    io->total = io->N + ND + 2 + ND + KD + KD;
    io->codes = malloc((size_t)io->N * sizeof *io->codes);
    io->out = malloc((size_t)io->total * sizeof *io->out);
    io->nk = malloc((size_t)io->K * sizeof *io->nk);
    io->sk = malloc((size_t)KD * sizeof *io->sk);
    if (!io->codes || !io->out || !io->nk || !io->sk) {
        vqste_io_free(io);
        return sono_fail(err, SONO_ENOMEM, "%s: cannot allocate K=%lld D=%lld N=%lld", who,
                         (long long)sono_param_int(p, "K", 1024),
                         (long long)sono_param_int(p, "D", 128),
                         (long long)sono_param_int(p, "N", 4800));
    }
    return 0;
}

void vqste_io_free(vqste_io *io)
{
    free(io->codes);
    free(io->out);
    free(io->nk);
    free(io->sk);
    io->codes = NULL;
    io->out = io->nk = io->sk = NULL;
}

int vqste_io_load(vqste_io *io, const sono_buf *in, sono_error *err)
{
    long long KD = io->K * io->D, ND = io->N * io->D, need = 2 * KD + io->K + 2 * ND;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != need)
        return sono_fail(err, SONO_EINVAL, "%s: input must be f32 [%lld] (codebook, EMA "
                         "counts and sums, x, g); got dtype %d, %lld elements", io->who, need,
                         (int)in->dtype, sono_buf_elems(in));
    io->e = in->data;
    io->cnt0 = io->e + KD;
    io->sum0 = io->cnt0 + io->K;
    io->x = io->sum0 + KD;
    io->g = io->x + ND;
    return 0;
}

int vqste_io_store(const vqste_io *io, sono_buf *out, sono_error *err)
{
    size_t need = (size_t)io->total * sizeof(float);
    if (out->dtype != SONO_F32 || out->nbytes < need)
        return sono_fail(err, SONO_EINVAL, "%s: output must be f32 [%lld]", io->who,
                         io->total);
    memcpy(out->data, io->out, need);
    return 0;
}

size_t vqste_io_bytes(const vqste_io *io)
{
    return (size_t)(io->N + io->total + io->K + io->K * io->D) * 4;
}

void vqste_finish(vqste_io *io)
{
    long long K = io->K, D = io->D, N = io->N, ND = N * D, KD = K * D;
    float *codes = io->out, *q = codes + N, *loss = q + ND, *dx = loss + 2, *de = dx + ND,
          *en = de + KD;
    float s = 2.0f * io->beta / (float)ND, sq = 0;
    memset(io->nk, 0, (size_t)K * sizeof *io->nk);
    memset(io->sk, 0, (size_t)KD * sizeof *io->sk);
    for (long long n = 0; n < N; n++) {
        long long k = io->codes[n];
        const float *x = io->x + n * D, *e = io->e + k * D, *g = io->g + n * D;
        float row = 0, *sk = io->sk + k * D;
        codes[n] = (float)k;
        io->nk[k] += 1;
        for (long long j = 0; j < D; j++) {
            float d = x[j] - e[j];
            q[n * D + j] = x[j] + (e[j] - x[j]);
            dx[n * D + j] = g[j] + s * d;
            row += d * d;
            sk[j] += x[j];
        }
        sq += row;
    }
    loss[0] = sq / (float)ND;
    loss[1] = io->beta * loss[0];
    float tot = 0, keep = 1 - io->decay, two = 2.0f / (float)ND;
    for (long long k = 0; k < K; k++) {
        for (long long j = 0; j < D; j++)
            de[k * D + j] = two * (io->nk[k] * io->e[k * D + j] - io->sk[k * D + j]);
        io->nk[k] = io->decay * io->cnt0[k] + keep * io->nk[k];
        tot += io->nk[k];
    }
    for (long long k = 0; k < K; k++) {
        float *row = en + k * D;
        if (io->nk[k] < io->dead) {
            uint32_t r = philox_u32(io->seed, (uint32_t)k, 0, 1) % (uint32_t)N;
            memcpy(row, io->x + (long long)r * D, (size_t)D * sizeof *row);
            continue;
        }
        float sm = (io->nk[k] + io->eps) / (tot + (float)K * io->eps) * tot;
        for (long long j = 0; j < D; j++)
            row[j] = (io->decay * io->sum0[k * D + j] + keep * io->sk[k * D + j]) / sm;
    }
}
