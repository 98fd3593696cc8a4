/* whisper_net.h — what cpu/naive, blas/whisper and cuda/whisper share for whisper.encoder
 * (harness/ops/whisper.h's contract): the params read, the weights path rule, the weights
 * loaded as float32 by transformers' names, and the CPU forward pass (LayerNorm, residual
 * sums, positions, the batch of clips stacked as rows) around kernels each impl supplies.
 * Shares no code with the reference. */
#ifndef IMPLS_WHISPER_NET_H
#define IMPLS_WHISPER_NET_H

#include <math.h>
#include <stddef.h>

#include "sono.h"

typedef struct wn_block {
    float *ln1g, *ln1b, *wq, *bq, *wk, *wv, *bv, *wo, *bo, *ln2g, *ln2b, *w1, *b1, *w2, *b2;
} wn_block;

typedef struct wn_model {
    int d, heads, dh, layers, n_mels, ffn;
    long long frames, T, batch;
    char path[4096];
    char prefix[32];
    char dtnote[96];      /* issue 26: "dtype: bf16 via fp32 ..." for the fp32 rungs */
    float *c1w, *c1b, *c2w, *c2b, *pos, *lng, *lnb; /* pos: its first T rows */
    wn_block *b;
    float *pool;          /* every weight, one allocation */
    size_t weight_floats;
} wn_model;

/* The exact GELU, x Phi(x), in float (erff). */
static inline float wn_gelu(float x)
{
    return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
}

/* Dims and the weights path of p; -1 with a reason in why when unsupported (model, sizes,
 * weights=random's file not written yet). */
int wn_dims(const sono_params *p, wn_model *m, char *why, size_t n);
/* wn_dims, then every tensor read into m->pool; errors name the file and the tensor. */
int wn_load(const sono_params *p, wn_model *m, sono_error *err);
void wn_free(wn_model *m);

/* Row-wise LayerNorm (eps 1e-5, biased variance; mean and variance in double so a row's
 * offset does not cancel): y may be x. */
void wn_layernorm(const float *x, long long rows, int D, const float *g, const float *b,
                  float *y);

/* The kernels a CPU impl supplies. */
typedef struct wn_kernels {
    /* y[r][o] = b[o] + sum_i x[r][i] w[o][i] (+ y[r][o] when add), then GELU when gelu;
     * b may be NULL. */
    void (*linear)(const float *x, long long rows, int in, const float *w, const float *b,
                   int out, float *y, int add, int gelu);
    /* One clip's attention: q, k, v, o [T][ld], head j in columns j*dh .. j*dh+dh-1;
     * scratch holds T*T floats. */
    void (*attention)(const float *q, const float *k, const float *v, long long T, int heads,
                      int dh, int ld, float *o, float *scratch);
    /* Optional conv stem of one clip: x [n_mels][frames] -> h [T][d] (GELUs included,
     * positions not); NULL: im2col and linear. col holds frames * 3 * max(n_mels, d). */
    void (*stem)(const wn_model *m, const float *x, float *a1, float *h, float *col);
} wn_kernels;

typedef struct wn_run {
    const wn_model *m;
    const wn_kernels *k;
    float *h, *u, *q, *kk, *v, *o, *f, *a1, *col, *scores; /* activations, B*T rows */
    size_t bytes;
} wn_run;

int wn_run_alloc(wn_run *r, const wn_model *m, const wn_kernels *k, sono_error *err);
void wn_run_free(wn_run *r);
/* x [B][n_mels][frames] -> out [B][T][d]. */
void wn_forward(wn_run *r, const float *x, float *out);

#endif
