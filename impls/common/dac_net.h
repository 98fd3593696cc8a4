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

typedef struct dn_kernels {
    /* y [cout][T] = b + conv(x [cin][L]) with zero padding c->p, T its output length */
    void (*conv)(const dn_conv *c, const float *x, long long L, float *y, long long T,
                 float *scratch);
    /* y [cout][T] = b + conv_transpose(x [cin][L]), T = (L-1)s - 2p + k */
    void (*convtr)(const dn_conv *c, const float *x, long long L, float *y, long long T,
                   float *scratch);
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
    int mode, nq;
    long long samples, frames;
    dn_conv e_in, e_out, d_in, d_out;
    float *e_alpha, *d_alpha;
    dn_block eb[8], db[8];
    dn_conv *inp, *outp;
    float **cn, **cc, **cb; /* normalised codebooks [K][Dc], their squared norms, raw */
    const dn_kernels *k;
    float *buf[3], *scratch, *z, *zz, *e;
    size_t act, nscratch, bytes;
    int *codes; /* [nq][frames] */
    float *in;  /* own copy of the signal / the output audio */
    float *audio;
} dn_net;

int dn_supports(const sono_params *p, char *why, size_t n);
/* scratch_for: floats of scratch a conv of c on L input samples needs (NULL: none); the
 * VQ's scratch is vq_scratch(K, F) floats. */
int dn_setup(dn_net *net, const sono_params *p, const dn_kernels *k,
             size_t (*scratch_for)(const dn_conv *c, long long L, long long T),
             size_t (*vq_scratch)(int K, long long F), sono_error *err);
void dn_free(dn_net *net);
int dn_load(dn_net *net, const sono_buf *in, sono_error *err);
int dn_run(dn_net *net);
int dn_store(dn_net *net, sono_buf *out, sono_error *err);

#endif
