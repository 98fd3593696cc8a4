/* encodec_net.h — what cpu/naive and blas/encodec share for codec.encodec: the params
 * read, the config (from the weights file's metadata, a config.json beside it, or
 * facebook/encodec_24khz's), the weights loaded in float32 with weight norm folded, the
 * layer graph, buffers planned at setup, and the forward passes with padding, ELU,
 * residual sums and the RVQ loop. The arithmetic kernels (conv, transposed conv, LSTM
 * layer, codebook search) come from each impl. Follows harness/ops/encodec.h's contract;
 * shares no code with the reference. */
#ifndef IMPLS_ENCODEC_NET_H
#define IMPLS_ENCODEC_NET_H

#include <stddef.h>

#include "sono.h"

enum { EN_ENCODE, EN_DECODE, EN_ROUNDTRIP };
enum { EN_CONV = 1, EN_CONVTR, EN_ELU, EN_RES, EN_LSTM };
#define EN_MAX_LAYERS 64

typedef struct en_cfg {
    int rate, filters, hidden, codebook, nratio, ratio[8];
    int kernel, last_kernel, res_kernel, dil_growth, nres, compress, lstm_layers;
    int causal, shortcut;
    double trim_right;
    int nbw;
    double bw[16];
    int hop, frame_rate, nq_max;
} en_cfg;

typedef struct en_conv {
    int cin, cout, k, stride, dil, tr;
    float *w; /* conv [cout][cin][k]; transposed [cin][cout][k]; weight norm folded */
    float *b; /* [cout] */
    long long tile; /* an impl's own: blas/encodec's columns per tile (0: its default) */
    void *own;      /* an impl's own: cpu/avx512bf16's weights packed as bf16 pairs */
} en_conv;

typedef struct en_layer {
    int kind;
    en_conv c[3]; /* conv/convtr: c[0]; residual: block.1, block.3, shortcut */
    int h, nl;    /* LSTM: width, layers */
    float *wih[8], *whh[8], *bias[8]; /* bias = bias_ih + bias_hh, [4h] */
} en_layer;

/* The kernels an impl supplies. Activations are [channels][S][time], row-major: S
 * independent clips (the op's streams param, issue 11) side by side in each channel's row,
 * so a GEMM's N dimension spans all of them; a kernel never mixes two clips. */
typedef struct en_kernels {
    /* y[o][s][t] = b[o] + sum_i,k w[o][i][k] xp[i][s][t*stride + k*dil], t < lout; xp is
     * already padded to lp samples per channel and clip. */
    void (*conv)(const en_conv *c, const float *xp, long long lp, int S, float *y,
                 long long lout, float *scratch);
    /* Full transposed conv: y[o][s][t*stride + k] += x[i][s][t] w[i][o][k] plus b[o], y of
     * (l-1)*stride + k samples per channel and clip. */
    void (*convtr)(const en_conv *c, const float *x, long long l, int S, float *y,
                   float *scratch);
    /* One LSTM layer over x [S][T][h] (time-major per clip) into y [S][T][h], starting
     * from the states hc [S][2h] (h then c: zeros offline) and leaving the last step's
     * there, so a stream carries it from chunk to chunk. */
    void (*lstm)(const en_layer *l, int layer, const float *x, long long T, int S, float *y,
                 float *hc, float *scratch);
    /* For each of F rows of r [F][D], the index of the nearest of K codewords cb [K][D]
     * (norm2[k] = ||cb_k||^2), lowest index on ties. */
    void (*vq)(const float *cb, const float *norm2, int K, int D, const float *r,
               long long F, int *codes, float *scratch);
    /* y[i] = x[i] > 0 ? x[i] : expm1(x[i]) over n floats, y may be x; NULL: libm's expm1f
     * per element (en_elu, the shared forward's own loop). */
    void (*elu)(const float *x, float *y, size_t n);
    /* Optional, conv's fused forms for the residual units (NULL: conv, then the forward's
     * own ELU pass and sum): with elu, ELU applied to y as it is produced; with acc, the
     * conv (bias included) added into y instead of written. */
    void (*conv_fused)(const en_conv *c, const float *xp, long long lp, int S, float *y,
                       long long lout, float *scratch, int elu, int acc);
} en_kernels;

typedef struct en_net {
    en_cfg cfg;
    int mode, nq;
    int batch; /* the op's streams: clips coded side by side (not issue 12's streaming) */
    int threads; /* the op's threads param (blas/encodec's tiles grow with it) */
    char dtnote[96]; /* issue 26: "dtype: bf16 via fp32 ..." (the CPU rungs compute fp32) */
    long long samples, frames, out_len;
    int n[2];
    en_layer l[2][EN_MAX_LAYERS];
    float **cb, **cbn; /* nq codebooks [K][D] and their squared norms */
    const en_kernels *k;
    float *buf[5];     /* activations and padding, each of `act` floats */
    float *scratch;
    size_t act, nscratch, bytes;
    float *emb;        /* [batch][frames][hidden] residual rows */
    int *codes;        /* [nq][batch][frames] (the op's layout is [batch][nq][frames]) */
    float *audio;      /* [batch][frames * hop] */
    float *in;         /* own copy of the signal (encode, roundtrip), [batch][samples] */
    float *hc;         /* the offline LSTM's zero states, [batch][2h] */
    /* Issue 12, streaming (encodec_stream.c): the input bound by load, which fills as a
     * stream goes; codes still -1 there (the core's poison: not arrived) are accepted by
     * load when the impl streams and refused by run. */
    const void *src;
    int streams, pending;
    struct en_stream *stream;
} en_net;

/* supports(): mode, bandwidth, seconds readable and the weights' config known. */
int en_supports(const sono_params *p, char *why, size_t n);
/* Load weights and plan every buffer for p (setup, not timed); scratch_for tells how many
 * floats of scratch the impl's kernels need for one layer on all net->batch clips (NULL:
 * none). */
int en_setup(en_net *net, const sono_params *p, const en_kernels *k,
             size_t (*scratch_for)(const en_net *net, const en_layer *l, int which,
                                   long long lin),
             sono_error *err);
void en_free(en_net *net);
/* Issue 11: what en_setup would plan for p, without reading a weight: config, dims, layer
 * shapes (no weights), act and nscratch. For a device impl's memory gate in supports(). */
int en_plan_only(en_net *net, const sono_params *p,
                 size_t (*scratch_for)(const en_net *net, const en_layer *l, int which,
                                       long long lin),
                 char *why, size_t n);
/* Floats of every weight, bias and the nq codebooks (with their norms) of a planned net. */
size_t en_weight_floats(const en_net *net);
int en_load(en_net *net, const sono_buf *in, sono_error *err);
int en_run(en_net *net);
int en_store(en_net *net, sono_buf *out, sono_error *err);
/* ELU through net's kernels (k->elu, else libm): the offline and streaming passes. */
void en_elu_net(const en_net *net, const float *x, float *y, size_t n);

#endif
