/* ctc_cpu.h — what the cpu backend's CTC decoders share (ctc_naive.c, ctc_fast.c): the
 * case's shape read from its params, the input bound at load, the output rows (labels,
 * -1 padding, the score's float32 bits) written at store. Layouts: harness/ops/ctc.c. */
#ifndef CPU_CTC_H
#define CPU_CTC_H

#include <stdint.h>

#include "sono.h"

typedef struct ctc_io {
    long long T, V, B; /* frames, classes (blank 0), utterances */
    int beam;
    float prune;       /* 0: off */
    const float *lp;   /* [B, T, V], bound to the core's input */
    int32_t *rows;     /* [B, T + 1] the result */
    const char *who;   /* "cpu/naive", for messages */
} ctc_io;

/* Params -> io (beam: the op is ctc.beam); SONO_EUNSUPPORTED with why when out of range
 * or threads != 1. */
int ctc_io_shape(const sono_params *p, int beam, ctc_io *io, char *why, size_t n);
int ctc_io_alloc(ctc_io *io, sono_error *err);
/* load and store of every cpu CTC state (each begins with its ctc_io) */
int ctc_io_load(void *st, const sono_buf *in, sono_error *err);
int ctc_io_store(void *st, sono_buf *out, sono_error *err);
/* Row b: labels l [L] padded with -1, then the score's bits. */
void ctc_io_row(ctc_io *io, long long b, const int32_t *l, long long L, float score);

/* ctc_naive.c and ctc_fast.c; ctx: &ctc_kinds[0] greedy, [1] beam */
extern const int ctc_kinds[2];
int ctc_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int ctc_naive_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int ctc_naive_run(void *st);
void ctc_naive_teardown(void *st);
int ctc_naive_describe(void *st, char *buf, size_t n);
size_t ctc_naive_workspace(void *st);
int ctc_fast_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int ctc_fast_run(void *st);
void ctc_fast_teardown(void *st);
int ctc_fast_describe(void *st, char *buf, size_t n);
size_t ctc_fast_workspace(void *st);

#endif
