/* mimi_net.h — what cpu/naive (and later blas) share for codec.mimi: the params read, the
 * config (the weights file's metadata, a config.json beside it, or kyutai/mimi's), the
 * weights loaded in float32 by MimiModel's names, buffers planned at setup, and the
 * forward passes (causal padding, ELU, residual sums, LayerNorm, RoPE, layer scale, the
 * split RVQ loop) around arithmetic kernels each impl supplies. Follows
 * harness/ops/mimi.h's contract; shares no code with the reference. */
#ifndef IMPLS_MIMI_NET_H
#define IMPLS_MIMI_NET_H

#include <math.h>
#include <stddef.h>

#include "sono.h"

enum { MN_ENCODE, MN_DECODE, MN_ROUNDTRIP };
enum { MN_CONV = 1, MN_CONVTR, MN_ELU, MN_RES };
#define MN_MAX_LAYERS 64

typedef struct mn_cfg {
    int rate, hidden, filters, nratio, ratio[8], kernel, last_kernel, res_kernel;
    int dil_growth, nres, compress, codebook, cdim, nq_max, nsem, groups;
    int layers, ffn, heads, dh, window;
    double frame_rate, eps, theta;
    int hop, down_k, frame_hop;
} mn_cfg;

typedef struct mn_conv {
    int cin, cout, k, stride, dil, groups, replicate;
    float *w; /* conv [cout][cin/g][k]; transposed [cin][cout/g][k] */
    float *b; /* [cout] or NULL */
} mn_conv;

typedef struct mn_layer {
    int kind;
    mn_conv c[2]; /* conv/convtr: c[0]; residual: block.1, block.3 */
} mn_layer;

typedef struct mn_tlayer {
    float *wq, *wk, *wv, *wo, *w1, *w2, *ln1g, *ln1b, *ln2g, *ln2b, *ls1, *ls2;
} mn_tlayer;

typedef struct mn_rvq {
    int n;
    float *in, *out; /* [Q][D], [D][Q] */
    float *cb;       /* n codebooks [K][Q], embed_sum / max(cluster_usage, 1e-5) */
    float *norm2;    /* [n][K] */
} mn_rvq;

typedef struct mn_model {
    mn_cfg c;
    int mode, nq, S; /* S: the op's streams, independent clips coded one after another */
    long long samples, frames;
    char path[4096];
    int n[2];
    mn_layer l[2][MN_MAX_LAYERS];
    mn_tlayer *t[2];
    mn_conv down, up;
    mn_rvq q[2];
    float *pool; /* every weight, one allocation */
    size_t weight_floats;
    char dtnote[80]; /* issue 26: "dtype: bf16 via fp32 ...", "" at f32 */
} mn_model;

/* The kernels an impl supplies; activations [channels][time] row-major. */
typedef struct mn_kernels {
    /* y[o][t] = b[o] + sum_{i in o's group, k} w[o][i][k] xp[i][t*stride + k*dil],
     * t < lout; xp is already padded to lp samples per channel. */
    void (*conv)(const mn_conv *c, const float *xp, long long lp, float *y, long long lout,
                 float *scratch);
    /* Full transposed conv: y[o][t*stride + k] += x[i][t] w[i][o][k] (groups), plus b[o];
     * y has (l-1)*stride + k samples per channel. */
    void (*convtr)(const mn_conv *c, const float *x, long long l, float *y, float *scratch);
    /* y[t][o] = sum_i x[t][i] w[o][i], t < rows. */
    void (*linear)(const float *x, long long rows, int in, const float *w, int out,
                   float *y);
    /* Causal sliding-window attention, q k v o [T][D], head j in columns j*dh ..; query t
     * sees keys (t - window, t]; scratch holds max(T, 2 window^2) floats. */
    void (*attention)(const float *q, const float *k, const float *v, long long T, int heads,
                      int dh, int window, float *o, float *scratch);
    /* For each of F rows of r [F][Q], the nearest of K codewords cb [K][Q] (norm2[k] =
     * ||cb_k||^2), lowest index on ties. */
    void (*nearest)(const float *r, long long F, int Q, const float *cb, const float *norm2,
                    int K, int *idx, float *scratch);
} mn_kernels;

static inline float mn_elu(float v)
{
    return v > 0 ? v : expm1f(v);
}

/* The exact GELU, x Phi(x), in float (erff). */
static inline float mn_gelu(float v)
{
    return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
}

/* Row-wise pieces of the transformer, shared by the offline pass and the stream. */
void mn_layernorm(const float *x, int D, const float *g, const float *b, double eps,
                  float *y);
/* RoPE on rows x [T][hidden] at positions pos0 .. pos0 + T - 1. */
void mn_rope(const mn_cfg *c, float *x, long long T, long long pos0);

/* Dims and the weights path of p; SONO_EUNSUPPORTED with a reason in why otherwise. */
int mn_dims(const sono_params *p, mn_model *m, char *why, size_t n);
/* mn_dims, the config, then every tensor; errors name the file and the tensor. */
int mn_load(const sono_params *p, mn_model *m, sono_error *err);
void mn_free(mn_model *m);

typedef struct mn_run {
    const mn_model *m;
    const mn_kernels *k;
    float *a, *b, *e, *h, *pad, *scratch;    /* conv activations, ELU, residual hidden, padded */
    float *tq, *tk, *tv, *ta, *tu, *tf, *th; /* transformer, time-major */
    float *proj, *res;                       /* RVQ */
    int *idx;
    size_t act, scr, bytes;
} mn_run;

int mn_run_alloc(mn_run *r, const mn_model *m, const mn_kernels *k, sono_error *err);
void mn_run_free(mn_run *r);
/* x [samples] -> codes [nq][frames]. */
void mn_encode(mn_run *r, const float *x, int *codes);
/* codes [nq][frames] -> audio [frames * frame_hop]. */
void mn_decode(mn_run *r, const int *codes, float *audio);

/* An impl's state around the body: setup loads the model and plans the buffers with the
 * impl's kernels (who names it in messages); load checks the input's size and dtype; run
 * does the mode (roundtrip: encode into codes, then decode); store copies the output
 * (roundtrip: cut to the input's length). */
struct mn_stream;

typedef struct mn_state {
    mn_model m;
    mn_run r;
    const void *in;
    void *out;
    int *codes;
    size_t out_bytes;
    struct mn_stream *stream; /* mimi_stream.c's, from the first stream_begin */
} mn_state;

int mn_state_setup(const sono_params *p, const mn_kernels *k, const char *who,
                   mn_state **st, sono_error *err);
void mn_state_free(mn_state *st);
int mn_state_load(mn_state *st, const sono_buf *in, sono_error *err);
void mn_state_run(mn_state *st);
int mn_state_store(const mn_state *st, sono_buf *out, sono_error *err);

#endif
