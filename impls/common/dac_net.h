/* dac_net.h — what cpu/naive and blas/dac share for codec.dac: the params and config read
 * (harness/ops/dac.h's contract), DacModel's weights loaded in float32 with weight norm
 * folded, buffers planned at setup, and the forward passes (Snake, residual sums, the RVQ
 * loop, tanh). The arithmetic kernels (conv, transposed conv, the codebook search) come
 * from each impl. Shares no code with the reference. */
#ifndef IMPLS_DAC_NET_H
#define IMPLS_DAC_NET_H

#include <stddef.h>

#include "sono.h"

enum { DN_ENCODE, DN_DECODE, DN_ROUNDTRIP };

typedef struct dn_cfg {
    int rate, enc, dec, nratio, ratio[8], ncb, K, Dc;
    int H, hop;
} dn_cfg;

typedef struct dn_conv {
    int cin, cout, k, s, d, p, tr;
    float *w; /* conv [cout][cin][k]; transposed [cin][cout][k]; weight norm folded */
    float *b; /* [cout] */
    void *own; /* an impl's own: cpu/avx512bf16's weights packed as bf16 pairs */
} dn_conv;

typedef struct dn_res {
    float *a1, *a2; /* Snake alphas [C] */
    dn_conv c1, c2;
} dn_res;

typedef struct dn_block {
    dn_res r[3];
    float *alpha;
    dn_conv c;
} dn_block;

/* Activations are [channels][S][time]: the op's S streams (clips) side by side in each
 * channel's row, each padded on its own; per-frame steps (Snake, the RVQ, the
 * projections) see S * frames columns. */
typedef struct dn_kernels {
    /* y [cout][S][T] = b + conv(x [cin][S][L]) with zero padding c->p per clip, T its
     * output length */
    void (*conv)(const dn_conv *c, const float *x, long long L, int S, float *y, long long T,
                 float *scratch);
    /* y [cout][S][T] = b + conv_transpose(x [cin][S][L]), T = (L-1)s - 2p + k */
    void (*convtr)(const dn_conv *c, const float *x, long long L, int S, float *y,
                   long long T, float *scratch);
    /* codes[t] = argmax_k (2 zn_t.cn_k - zz_t + cc_k), lowest index on ties; zn [F][Dc]
     * unit rows, zz [F] their squared norms, cn [K][Dc] unit codewords, cc [K] theirs */
    void (*vq)(const float *cn, const float *cc, int K, int Dc, const float *zn,
               const float *zz, long long F, int *codes, float *scratch);
    /* z [F][Dc] = (W [Dc][H] r [H][F])^T + b */
    void (*proj_in)(const dn_conv *c, const float *r, long long F, float *z);
    /* r [H][F] += sign (W [H][Dc] e [Dc][F] + b) */
    void (*proj_out)(const dn_conv *c, const float *e, long long F, float sign, float *r);
} dn_kernels;

typedef struct dn_net {
    dn_cfg cfg;
    int mode, nq, S; /* S: the op's streams */
    long long samples, frames; /* per clip */
    dn_conv e_in, e_out, d_in, d_out;
    float *e_alpha, *d_alpha;
    dn_block eb[8], db[8];
    dn_conv *inp, *outp;
    float **cn, **cc, **cb; /* normalised codebooks [K][Dc], their squared norms, raw */
    const dn_kernels *k;
    float *buf[3], *scratch, *z, *zz, *e;
    size_t act, nscratch, bytes;
    int *codes; /* [nq][S][frames] */
    float *in;  /* own copy of the signal [S][samples] */
    float *audio;
    char dtnote[80]; /* issue 26: "dtype: bf16 via fp32 ...", "" at f32 */
} dn_net;

typedef size_t (*dn_scratch_fn)(const dn_conv *c, long long L, long long T, int S);

int dn_supports(const sono_params *p, char *why, size_t n);
/* scratch_for: floats of scratch a conv of c on L input samples of S clips needs (NULL:
 * none); the VQ's scratch is vq_scratch(K, F) floats, F = S * frames. */
int dn_setup(dn_net *net, const sono_params *p, const dn_kernels *k, dn_scratch_fn scratch_for,
             size_t (*vq_scratch)(int K, long long F), sono_error *err);
/* For impls with their own buffers (cuda/dac): the config, dims and float32 weights of
 * p (load = 0: the layer shapes only, no weight read, for a memory estimate), then the
 * largest activation (floats of [C][S][L]) and scratch of one forward pass. */
int dn_open(dn_net *net, const sono_params *p, int load, sono_error *err);
int dn_plan(dn_net *net, dn_scratch_fn scratch_for, size_t (*vq_scratch)(int K, long long F),
            size_t *act, size_t *scratch, sono_error *err);
/* The weights' floats (the stages used), as dn_open(load = 1) holds them. */
size_t dn_weight_floats(const dn_net *net);
void dn_free(dn_net *net);
int dn_load(dn_net *net, const sono_buf *in, sono_error *err);
int dn_run(dn_net *net);
int dn_store(dn_net *net, sono_buf *out, sono_error *err);

#endif
