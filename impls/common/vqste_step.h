/* vqste_step.h — what the vq.ste impls (cpu/naive, blas/gemm) share: the case's shape from
 * its params, the input bound at load, and everything after the nearest-code search in
 * float32 (forward, losses, backward, EMA update, restarts), so the impls differ only in
 * how they find the codes. Layouts: harness/ops/ref/vqste64.h. */
#ifndef IMPLS_VQSTE_STEP_H
#define IMPLS_VQSTE_STEP_H

#include <stdint.h>

#include "sono.h"

typedef struct vqste_io {
    long long K, D, N;
    float beta, decay, eps, dead;
    uint64_t seed;
    const float *e, *cnt0, *sum0, *x, *g; /* the input's parts, bound at load */
    int32_t *codes;                      /* [N]: the impl's search fills it */
    float *out;                          /* the output layout */
    float *nk, *sk;                      /* [K], [K, D] scratch */
    long long total;                     /* output floats */
    const char *who;
} vqste_io;

/* Params -> io with its buffers; SONO_EUNSUPPORTED (threads != 1 unless threads_ok) or
 * SONO_ENOMEM with the message in err. */
int vqste_io_init(const sono_params *p, int threads_ok, const char *who, vqste_io *io,
                  sono_error *err);
void vqste_io_free(vqste_io *io);
int vqste_io_load(vqste_io *io, const sono_buf *in, sono_error *err);
int vqste_io_store(const vqste_io *io, sono_buf *out, sono_error *err);
size_t vqste_io_bytes(const vqste_io *io);
/* Everything after the codes, in float32. */
void vqste_finish(vqste_io *io);

#endif
