/* w2v_net.h — wav2vec2.features as the impls read it (the contract is harness/ops/w2v.h;
 * nothing here is shared with it): params into sizes with reasons for supports(), the
 * weights file's path (weights = random's cache file), its tensors as float32 and its
 * sha256 for describe(), and the float epilogue pieces (norm statistics in double, GELU). */
#ifndef W2V_NET_H
#define W2V_NET_H

#include <math.h>
#include <stddef.h>

#include "sono.h"

#define W2V_LAYERS 7

extern const int w2v_k[W2V_LAYERS], w2v_s[W2V_LAYERS];

typedef struct w2v_net {
    size_t C, samples, batch, frames;
    size_t len[W2V_LAYERS + 1]; /* T_0 (samples) .. T_7 (frames) */
    int layer_norm;             /* 0: group (layer 0 only), 1: layer (every layer) */
    char path[4096];
    char sha256[65];
    char dtnote[96];            /* issue 26: "dtype: bf16 via fp32 ..." for the fp32 rungs */
    float *w[W2V_LAYERS];       /* [C][cin][k], as the file holds them */
    float *gamma[W2V_LAYERS];   /* NULL where the layer has no norm */
    float *beta[W2V_LAYERS];
} w2v_net;

/* Sizes and the weights path; SONO_EUNSUPPORTED with the reason (weights = random whose
 * file is not written yet: the op writes it when it validates). */
int w2v_shape(const sono_params *p, w2v_net *n, char *why, size_t len);
/* Read every tensor (n from w2v_shape) and hash the file; messages name file and tensor. */
int w2v_load(w2v_net *n, sono_error *err);
void w2v_free(w2v_net *n);
/* "weights: <path>; sha256: <hex>; norm: group; C=512" */
int w2v_describe(const w2v_net *n, char *buf, size_t len);

static inline float w2v_gelu(float x)
{
    return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
}

/* mean and 1/sqrt(var + 1e-5) of n values at stride `step`, sums in double. */
static inline void w2v_stats(const float *x, size_t n, size_t step, float *mean, float *inv)
{
    double s = 0, q = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i * step];
    double m = s / (double)n;
    for (size_t i = 0; i < n; i++) {
        double d = x[i * step] - m;
        q += d * d;
    }
    *mean = (float)m;
    *inv = (float)(1.0 / sqrt(q / (double)n + 1e-5));
}

#endif
