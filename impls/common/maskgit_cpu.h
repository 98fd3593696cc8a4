/* maskgit_cpu.h — the float32 MaskGIT iteration on the host (harness/ops/ref/maskgit64.h
 * defines it) and maskgit.decode's state, shared by the cpu and blas impls: they differ
 * only in how the MLP's logits are computed (loops or SGEMMs). */
#ifndef IMPLS_MASKGIT_CPU_H
#define IMPLS_MASKGIT_CPU_H

#include <stdint.h>

#include "sample_cpu.h"
#include "sono.h"

#define MG_MASK (-1)

typedef struct mg_conf {
    float c;
    int32_t f;
} mg_conf;

typedef struct mg_scratch {
    sample_pair *pairs; /* [K] */
    float *w;           /* [K] */
    mg_conf *conf;      /* [F] */
} mg_scratch;

int mg_scratch_alloc(mg_scratch *s, long long F, long long K);
void mg_scratch_free(mg_scratch *s);

/* floor(F cos(pi/2 (t+1)/iters)) clamped to [0, masked - 1], in double (a scalar). */
long long mg_nmask(long long F, long long masked, long long t, long long iters);

/* One iteration's draws for frames [f0, f1) of `level` (logits [F, K]): each masked frame
 * gets its token and conf[f] its confidence; conf[f].f = -1 where the frame was not
 * masked. pairs and w: [K] scratch of the caller's own (one per thread). */
void mg_draw(int32_t *tok, long long F, long long K, long long level, long long t, float temp,
             uint64_t seed, const float *logits, long long f0, long long f1, sample_pair *pairs,
             float *w, mg_conf *conf);
/* After mg_draw over every frame: the least confident re-masked (conf reordered). */
void mg_remask(int32_t *tok, long long F, long long level, long long t, long long iters,
               mg_conf *conf);
/* One iteration in place on tok [L, F] with logits [F, K] of `level`: mg_draw over every
 * frame, then mg_remask. */
void mg_step(int32_t *tok, long long L, long long F, long long K, long long level,
             long long t, long long iters, float temp, uint64_t seed, const float *logits,
             mg_scratch *s);

/* maskgit.decode: the case, the weights bound at load, the current tokens, the snapshots. */
typedef struct mg_dec {
    long long L, F, K, d, iters0, iters_rest, n;
    float temp0, temp_rest;
    uint64_t seed;
    const float *E, *W1, *b1, *W2, *b2; /* bound to the input */
    int32_t *cur;                       /* [L, F] */
    int32_t *snap;                      /* [n, L, F] */
    float *logits;                      /* [F, K] */
    mg_scratch s;
    const char *who;
} mg_dec;

int mg_dec_init(const sono_params *p, const char *who, mg_dec *m, sono_error *err);
void mg_dec_free(mg_dec *m);
int mg_dec_load(mg_dec *m, const sono_buf *in, sono_error *err);
int mg_dec_store(const mg_dec *m, sono_buf *out, sono_error *err);
size_t mg_dec_bytes(const mg_dec *m);
/* One iteration of the loop: the logits of `level` from m->cur, then mg_draw over every
 * frame into m->s.conf (on as many threads as the impl likes). */
typedef void (*mg_iter_fn)(void *ctx, mg_dec *m, long long level, long long t, float temp);
/* The loop: iter, then the re-masking and the snapshot, per iteration. */
void mg_dec_run(mg_dec *m, mg_iter_fn iter, void *ctx);
/* The MLP by loops, frame by frame (h and a: [d] scratch each). */
void mg_logits_loops(mg_dec *m, long long level, float *h, float *a);

#endif
