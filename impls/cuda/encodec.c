/* encodec.c — cuda/encodec for codec.encodec: impls/common/encodec_net reads the weights
 * (weight norm folded), builds the layer graph and plans the buffer sizes on the host in
 * setup; every weight, bias and codebook is then uploaded once, and run() walks the same
 * graph on the device: reflect padding, convolutions as im2col + cuBLAS SGEMM + bias
 * (1x1 convs straight on the activation), transposed convolutions as one SGEMM into
 * columns then col2im and the causal trim, ELU, residual sums, each LSTM layer as one
 * SGEMM of its input projections plus per step an SGEMV and a cell kernel, and the RVQ
 * with the fused codebook-search kernel. The op's streams (issue 11): S clips side by side
 * in each channel's row, so every SGEMM's N dimension and every kernel's grid span all
 * of them, the LSTM's recurrence one SGEMM per step over all clips and the RVQ one pass
 * over S * frames rows. Mirrors encodec_net.c's forward() step for step. Issue 26: with
 * dtype tf32, bf16 or f16 (codec.encodec's param) the convolutions and transposed
 * convolutions are gemm_dt.h's cuBLASLt GEMMs in that dtype: weights converted once in
 * setup, each activation converted by gdt_kernels.cu before its GEMM, fp32 accumulation;
 * the plans are made by one forward pass in setup (so run() only launches). The LSTM and
 * the RVQ stay float32. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "cuda_impls.h"
#include "en_kernels.h"
#include "en_mem.h"
#include "encodec_net.h"
#include "gdt_kernels.h"
#include "gemm_dt.h"
#include "nndtype.h"
#include "nn_kernels.h"
#include "vq_kernels.h"

typedef struct dconv {
    float *w, *b;
    void *wx; /* issue 26: the weight in the case's dtype (dtype != f32; w is then NULL) */
} dconv;

typedef struct dlayer {
    dconv c[3];
    float *wih[8], *whh[8], *bias[8];
} dlayer;

typedef struct state {
    cu_hdr h; /* first: the device's time_runs reads it */
    en_net net;
    dlayer l[2][EN_MAX_LAYERS];
    float *cb, *cbn;  /* [nq][K][D], [nq][K] */
    float *buf[5];    /* activations, each net.act floats */
    float *scratch;   /* im2col / Z columns / LSTM gates, net.nscratch floats */
    float *lh;        /* LSTM h [S][H] then c [S][H], 2 * S * max width */
    float *emb;       /* [S*F][D] residuals */
    int *codes;       /* [nq][S][F] */
    float *in;        /* [S][samples] */
    size_t dev_bytes;
    cublasHandle_t blas;
    int has_blas;
    const char *err;  /* run(): the failing step, for h.msg */
    int dt;           /* issue 26: NN_F32 (cuBLAS SGEMM) or a gemm_dt dtype */
    gdt_ctx lt;
    gdt_plan *plans;  /* one per conv GEMM of a run, in the order run() meets them */
    int nplans, cap, pi, planning;
    void *xdt;        /* the GEMM's activation operand in dtype, max(act, nscratch) */
} state;

/* The memory gate gets what setup will allocate (en_mem.h: weights and activations of S
 * streams), planned from the config and shapes without reading a weight. */
static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    int rc = en_supports(p, why, n);
    if (rc)
        return rc;
    en_net *net = malloc(sizeof *net);
    if (!net) {
        snprintf(why, n, "out of host memory planning the case");
        return SONO_EUNSUPPORTED;
    }
    rc = en_plan_only(net, p, cu_en_scratch_for, why, n);
    double bytes = rc ? 0 : cu_en_device_bytes(net);
    if (!rc && nn_dtype(p) != NN_F32) /* issue 26: the converted operand and the workspace
                                       * (the weights in dtype take no more than in FP32) */
        bytes += (double)(net->act > net->nscratch ? net->act : net->nscratch) *
                     gdt_types_of(nn_dtype(p)).esize + GDT_WORKSPACE_BYTES;
    free(net);
    return rc ? rc : cu_supports_common(p, bytes, why, n);
}

static void teardown(void *vst)
{
    state *st = vst;
    if (!st)
        return;
    if (st->has_blas)
        (void)cublasDestroy(st->blas);
    for (int i = 0; i < st->nplans; i++)
        gdt_plan_free(&st->plans[i]);
    free(st->plans);
    gdt_ctx_free(&st->lt);
    cu_free(st->xdt);
    for (int d = 0; d < 2; d++)
        for (int i = 0; i < EN_MAX_LAYERS; i++) {
            dlayer *y = &st->l[d][i];
            for (int j = 0; j < 3; j++) {
                cu_free(y->c[j].w);
                cu_free(y->c[j].b);
                cu_free(y->c[j].wx);
            }
            for (int k = 0; k < 8; k++) {
                cu_free(y->wih[k]);
                cu_free(y->whh[k]);
                cu_free(y->bias[k]);
            }
        }
    void *bufs[] = {st->cb, st->cbn, st->buf[0], st->buf[1], st->buf[2], st->buf[3],
                    st->buf[4], st->scratch, st->lh, st->emb, st->codes, st->in};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        cu_free(bufs[i]);
    en_free(&st->net);
    free(st);
}

/* A device copy of floats host[0..n) (NULL stays NULL), counted in dev_bytes. */
static int up(state *st, float **dst, const float *host, size_t n, sono_error *err)
{
    if (!host)
        return 0;
    int rc = cu_alloc((void **)dst, n * sizeof(float), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaMemcpy(*dst, host, n * sizeof(float), cudaMemcpyHostToDevice),
                   st->h.label, err);
    st->dev_bytes += n * sizeof(float);
    return rc;
}

static int upload(state *st, sono_error *err)
{
    en_net *net = &st->net;
    int rc = 0;
    for (int d = 0; d < 2 && !rc; d++)
        for (int i = 0; i < net->n[d] && !rc; i++) {
            const en_layer *y = &net->l[d][i];
            dlayer *g = &st->l[d][i];
            for (int j = 0; j < 3 && !rc; j++) {
                const en_conv *c = &y->c[j];
                size_t nw = (size_t)c->cin * (size_t)c->cout * (size_t)c->k;
                if (st->dt != NN_F32 && c->w) /* issue 26: converted once, here */
                    rc = gdt_upload(c->w, nw, st->dt, &g->c[j].wx, &st->dev_bytes,
                                    st->h.label, err);
                else
                    rc = up(st, &g->c[j].w, c->w, nw, err);
                if (!rc)
                    rc = up(st, &g->c[j].b, c->b, (size_t)c->cout, err);
            }
            for (int k = 0; y->kind == EN_LSTM && k < y->nl && !rc; k++) {
                size_t H = (size_t)y->h;
                if (!(rc = up(st, &g->wih[k], y->wih[k], 4 * H * H, err)) &&
                    !(rc = up(st, &g->whh[k], y->whh[k], 4 * H * H, err)))
                    rc = up(st, &g->bias[k], y->bias[k], 4 * H, err);
            }
        }
    size_t K = (size_t)net->cfg.codebook, D = (size_t)net->cfg.hidden;
    const char *who = st->h.label;
    if (!rc)
        rc = cu_alloc((void **)&st->cb, (size_t)net->nq * K * D * sizeof(float), who, err);
    if (!rc)
        rc = cu_alloc((void **)&st->cbn, (size_t)net->nq * K * sizeof(float), who, err);
    for (int q = 0; q < net->nq && !rc; q++)
        if (!(rc = CU_OK(cudaMemcpy(st->cb + (size_t)q * K * D, net->cb[q],
                                    K * D * sizeof(float), cudaMemcpyHostToDevice), who, err)))
            rc = CU_OK(cudaMemcpy(st->cbn + (size_t)q * K, net->cbn[q], K * sizeof(float),
                                  cudaMemcpyHostToDevice), who, err);
    st->dev_bytes += (size_t)net->nq * K * (D + 1) * sizeof(float);
    return rc;
}

static int en_cuda_run(void *vst);

/* Issue 26: the activation buffer in dtype, the cuBLASLt context, and the plans, made by
 * one forward pass on zeroed input (conv() and convtr() make a plan where run() would use
 * one); the pass doubles as a warm-up. */
static int make_plans(state *st, sono_error *err)
{
    en_net *net = &st->net;
    const char *who = st->h.label;
    size_t n = net->act > net->nscratch ? (size_t)net->act : (size_t)net->nscratch;
    size_t nb = n * (size_t)gdt_types_of(st->dt).esize;
    int rc = cu_alloc(&st->xdt, nb, who, err);
    st->dev_bytes += nb + GDT_WORKSPACE_BYTES;
    if (!rc)
        rc = gdt_ctx_init(&st->lt, who, err);
    if (!rc)
        rc = CU_OK(cudaMemset(st->in, 0, (size_t)net->samples * (size_t)net->batch *
                              sizeof(float)), who, err);
    if (!rc)
        rc = CU_OK(cudaMemset(st->codes, 0, (size_t)net->nq * (size_t)net->frames *
                              (size_t)net->batch * sizeof(int)), who, err);
    if (rc)
        return rc;
    st->planning = 1;
    rc = en_cuda_run(st);
    st->planning = 0;
    if (rc)
        return sono_fail(err, rc, "%s: planning pass: %s", who, st->h.msg);
    return CU_OK(cudaStreamSynchronize(st->h.dev->stream), who, err);
}

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[512];
    int rc;
    *stp = NULL;
    if ((rc = supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cuda/encodec: %s", why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/encodec: cannot allocate its state");
    st->dt = nn_dtype(p); /* f32 where the op has no dtype (codec.soundstream) */
    if ((rc = cu_hdr_init(&st->h, "codec.encodec", "encodec", en_cuda_run, p, err))) {
        free(st);
        return rc;
    }
    cu_range_push(&st->h, "setup");
    rc = en_setup(&st->net, p, NULL, cu_en_scratch_for, err);
    en_net *net = &st->net;
    const char *who = st->h.label;
    size_t S = (size_t)net->batch, F = (size_t)net->frames * S, D = (size_t)net->cfg.hidden,
           hmax = cu_en_hmax(net);
    if (!rc)
        rc = upload(st, err);
    for (int i = 0; i < 5 && !rc; i++)
        rc = cu_alloc((void **)&st->buf[i], net->act * sizeof(float), who, err);
    if (!rc)
        rc = cu_alloc((void **)&st->scratch, (net->nscratch ? net->nscratch : 1) *
                      sizeof(float), who, err);
    if (!rc)
        rc = cu_alloc((void **)&st->lh, 2 * hmax * S * sizeof(float), who, err);
    if (!rc)
        rc = cu_alloc((void **)&st->emb, F * D * sizeof(float), who, err);
    if (!rc)
        rc = cu_alloc((void **)&st->codes, (size_t)net->nq * F * sizeof(int), who, err);
    if (!rc)
        rc = cu_alloc((void **)&st->in, (size_t)net->samples * S * sizeof(float), who, err);
    st->dev_bytes += (size_t)cu_en_act_bytes(net);
    if (!rc)
        rc = cu_blas_create(&st->h, &st->blas, &st->has_blas, err);
    if (!rc && st->dt != NN_F32)
        rc = make_plans(st, err);
    if (!rc)
        rc = CU_OK(cudaDeviceSynchronize(), who, err);
    cu_range_pop();
    if (rc) {
        teardown(st);
        return rc;
    }
    *stp = st;
    return 0;
}

static int load(void *vst, const sono_buf *in, sono_error *err)
{
    state *st = vst;
    en_net *net = &st->net;
    int rc = en_load(net, in, err); /* checks the shape and the codes' range */
    if (rc)
        return rc;
    cu_range_push(&st->h, "load");
    size_t S = (size_t)net->batch;
    if (net->mode == EN_DECODE) /* en_load left them [nq][S][F], the device's layout */
        rc = CU_OK(cudaMemcpyAsync(st->codes, net->codes, (size_t)net->nq *
                                   (size_t)net->frames * S * sizeof(int),
                                   cudaMemcpyHostToDevice, st->h.dev->stream),
                   st->h.label, err);
    else
        rc = CU_OK(cudaMemcpyAsync(st->in, in->data, (size_t)net->samples * S * sizeof(float),
                                   cudaMemcpyHostToDevice, st->h.dev->stream), st->h.label,
                   err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

/* ---- the forward pass on the device (encodec_net.c's forward(), kernel by kernel) ---- */

#define TRY(call)                                                                          \
    do {                                                                                   \
        cudaError_t e_ = (call);                                                           \
        if (e_ != cudaSuccess)                                                             \
            return cu_run_ok(e_, #call, &st->h);                                           \
    } while (0)
#define TRYB(call)                                                                         \
    do {                                                                                   \
        int rc_ = CU_BLAS_RUN((call), &st->h);                                             \
        if (rc_)                                                                           \
            return rc_;                                                                    \
    } while (0)

/* Issue 26: row-major D [M][N] = op(W) X [K][N] through gemm_dt: X converted into xdt,
 * then the next plan of the pass (made here in setup's planning pass, checked against the
 * shape in run()). */
static int gemm_dt(state *st, int M, long long N, int K, int w_t, const void *w,
                   const float *X, float *D)
{
    if (st->pi == st->nplans) {
        if (!st->planning) {
            snprintf(st->h.msg, sizeof st->h.msg, "gemm_dt: GEMM %d has no plan", st->pi);
            return SONO_EINTERNAL;
        }
        if (st->nplans == st->cap) {
            int cap = st->cap ? 2 * st->cap : 64;
            gdt_plan *np = realloc(st->plans, (size_t)cap * sizeof *np);
            if (!np) {
                snprintf(st->h.msg, sizeof st->h.msg, "no memory for %d GEMM plans", cap);
                return SONO_ENOMEM;
            }
            st->plans = np;
            st->cap = cap;
        }
        sono_error e = {0};
        int rc = gdt_plan_init(&st->lt, &st->plans[st->nplans], st->dt, M, N, K, w_t, 0, NULL,
                               256, 256, 256, st->h.label, &e);
        if (rc) {
            snprintf(st->h.msg, sizeof st->h.msg, "%s", e.msg);
            return rc;
        }
        st->nplans++;
    }
    const gdt_plan *p = &st->plans[st->pi++];
    if (p->map.n != M || p->map.m != N || p->map.k != K) {
        snprintf(st->h.msg, sizeof st->h.msg, "gemm_dt: GEMM %d is [%d x %lld x %d], its plan "
                 "[%lld x %lld x %lld]", st->pi - 1, M, N, K, p->map.n, p->map.m, p->map.k);
        return SONO_EINTERNAL;
    }
    TRY(cu_gdt_convert_launch(X, st->xdt, (long long)K * N, st->dt, st->h.dev->stream));
    TRYB(gdt_matmul(&st->lt, p, 1.0f, w, st->xdt, 0.0f, D, st->h.dev->stream));
    return 0;
}

/* EncodecConv1d's padding: causal all left (plus what completes the last stride). */
static long long pads(const en_cfg *c, const en_conv *cv, long long L, long long *pl,
                      long long *pr)
{
    long long keff = (long long)(cv->k - 1) * cv->dil + 1, s = cv->stride, ptot = keff - s;
    long long nout = (L + s - 1) / s, extra = nout * s - L;
    *pl = c->causal ? ptot : ptot - ptot / 2;
    *pr = c->causal ? extra : ptot / 2 + extra;
    return nout;
}

/* y [cout][S][lo] = conv of x [cin][S][L]; P is padding space. The output length in *lo. */
static int conv(state *st, const en_conv *cv, const dconv *dc, const float *x, long long L,
                float *P, float *y, long long *lo)
{
    cudaStream_t s = st->h.dev->stream;
    int S = st->net.batch;
    long long pl, pr, n = pads(&st->net.cfg, cv, L, &pl, &pr), lp = L + pl + pr, N = n * S;
    *lo = n;
    if (pl || pr) { /* each clip's row on its own */
        TRY(cu_en_pad_launch(x, cv->cin * S, L, pl, pr, P, s));
        x = P;
    }
    nnc_dims c = {.cin = cv->cin, .cout = cv->cout, .k = cv->k, .stride = cv->stride,
                  .dil = cv->dil, .groups = 1, .T = lp, .tout = N, .pad = 0, .cig = cv->cin,
                  .cog = cv->cout, .act = 0};
    const float *B = x;
    if (cv->k != 1 || cv->stride != 1 || lp != n) {
        TRY(cu_en_im2col_launch(x, cv->cin, cv->k, cv->stride, cv->dil, lp, n, S,
                                st->scratch, s));
        B = st->scratch;
    }
    /* row-major y [cout][N] = W [cout][cin*k] B [cin*k][N]: column-major y^T = B^T W^T */
    const float one = 1.0f, zero = 0.0f;
    int kk = cv->cin * cv->k, rc;
    if (st->dt != NN_F32) { /* issue 26 */
        if ((rc = gemm_dt(st, cv->cout, N, kk, 0, dc->wx, B, y)))
            return rc;
    } else
        TRYB(cublasSgemm(st->blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)N, cv->cout, kk, &one, B,
                         (int)N, dc->w, kk, &zero, y, (int)N));
    TRY(cu_bias_act_launch(&c, dc->b, NULL, y, s)); /* rows of N: tout = N */
    return 0;
}

/* Transposed: Z [cout*k][S*L] = W^T x, col2im into P [cout][S][full], then the trim of
 * every clip's row into y. */
static int convtr(state *st, const en_conv *cv, const dconv *dc, const float *x, long long L,
                  float *P, float *y, long long *lo)
{
    cudaStream_t s = st->h.dev->stream;
    const en_cfg *cfg = &st->net.cfg;
    long long full = (L - 1) * cv->stride + cv->k, ptot = cv->k - cv->stride;
    long long pr = cfg->causal ? (long long)ceil((double)ptot * cfg->trim_right) : ptot / 2,
              pl = ptot - pr;
    *lo = full - ptot;
    int S = st->net.batch;
    long long N = L * S;
    nnc_dims c = {.cin = cv->cin, .cout = cv->cout, .k = cv->k, .stride = cv->stride,
                  .dil = 1, .groups = 1, .T = L, .tout = full, .pad = 0, .cig = cv->cin,
                  .cog = cv->cout, .act = 0};
    const float one = 1.0f, zero = 0.0f;
    int ok = cv->cout * cv->k, rc;
    if (st->dt != NN_F32) { /* issue 26: W stored [cin][cout k], read transposed */
        if ((rc = gemm_dt(st, ok, N, cv->cin, 1, dc->wx, x, st->scratch)))
            return rc;
    } else
        TRYB(cublasSgemm(st->blas, CUBLAS_OP_N, CUBLAS_OP_T, (int)N, ok, cv->cin, &one, x,
                         (int)N, dc->w, ok, &zero, st->scratch, (int)N));
    TRY(cu_en_col2im_launch(&c, S, st->scratch, dc->b, P, s));
    TRY(cudaMemcpy2DAsync(y, (size_t)*lo * sizeof(float), P + pl, (size_t)full * sizeof(float),
                          (size_t)*lo * sizeof(float), (size_t)cv->cout * (size_t)S,
                          cudaMemcpyDeviceToDevice, s));
    return 0;
}

/* x [H][S*T] -> a [S*T][H], the layers, then y [H][S*T] = a^T + x (the skip). Per step,
 * the recurrence of all S clips at once: an SGEMV for one clip, else one SGEMM of h
 * [S][H] into the gates of step t, rows T * 4H apart. */
static int lstm(state *st, const en_layer *l, const dlayer *g, const float *x, long long T,
                float *a, float *b, float *y)
{
    cudaStream_t s = st->h.dev->stream;
    int H = l->h, S = st->net.batch;
    long long ST = T * S, ld = T * 4 * H;
    float *G = st->scratch, *h = st->lh, *c = h + (size_t)S * (size_t)H;
    const float one = 1.0f;
    if (l->nl == 0) { /* num_lstm_layers 0 (SoundStream): no LSTM, y = x (encodec.h) */
        TRY(cudaMemcpyAsync(y, x, (size_t)H * (size_t)ST * sizeof(float),
                            cudaMemcpyDeviceToDevice, s));
        return 0;
    }
    TRY(cu_en_transpose_launch(x, H, ST, NULL, a, s));
    for (int k = 0; k < l->nl; k++) {
        /* G [S*T][4H] = bias + a [S*T][H] W_ih^T: column-major G^T = W_ih a^T */
        TRY(cu_en_rows_launch(G, g->bias[k], ST, 4 * H, s));
        TRYB(cublasSgemm(st->blas, CUBLAS_OP_T, CUBLAS_OP_N, 4 * H, (int)ST, H, &one,
                         g->wih[k], H, a, H, &one, G, 4 * H));
        TRY(cudaMemsetAsync(h, 0, 2 * (size_t)S * (size_t)H * sizeof(float), s));
        for (long long t = 0; t < T; t++) {
            float *gt = G + (size_t)t * 4 * (size_t)H;
            if (S == 1)
                TRYB(cublasSgemv(st->blas, CUBLAS_OP_T, H, 4 * H, &one, g->whh[k], H, h, 1,
                                 &one, gt, 1));
            else
                TRYB(cublasSgemm(st->blas, CUBLAS_OP_T, CUBLAS_OP_N, 4 * H, S, H, &one,
                                 g->whh[k], H, h, H, &one, gt, (int)ld));
            TRY(cu_en_cell_launch(gt, h, c, b + (size_t)t * (size_t)H, H, S, T, s));
        }
        float *sw = a;
        a = b;
        b = sw;
    }
    TRY(cu_en_transpose_launch(a, ST, H, x, y, s));
    return 0;
}

/* Side d over the activation in buf[0] ([C][S][L]); the result is left in buf[0]. */
static int forward(state *st, int d, int C, long long *Lp)
{
    en_net *net = &st->net;
    cudaStream_t s = st->h.dev->stream;
    float **B = st->buf; /* 0: x, 1: y, 2: padding, 3 and 4: residual temporaries */
    long long L = *Lp, t, S = net->batch;
    int rc;
    for (int i = 0; i < net->n[d]; i++) {
        const en_layer *y = &net->l[d][i];
        const dlayer *g = &st->l[d][i];
        long long n = (long long)C * S * L;
        switch (y->kind) {
        case EN_ELU:
            TRY(cu_en_elu_launch(B[0], n, s));
            continue;
        case EN_CONV:
            if ((rc = conv(st, &y->c[0], &g->c[0], B[0], L, B[2], B[1], &L)))
                return rc;
            C = y->c[0].cout;
            break;
        case EN_CONVTR:
            if ((rc = convtr(st, &y->c[0], &g->c[0], B[0], L, B[2], B[1], &L)))
                return rc;
            C = y->c[0].cout;
            break;
        case EN_RES:
            TRY(cudaMemcpyAsync(B[3], B[0], (size_t)n * sizeof(float), cudaMemcpyDeviceToDevice,
                                s));
            TRY(cu_en_elu_launch(B[3], n, s));
            if ((rc = conv(st, &y->c[0], &g->c[0], B[3], L, B[2], B[4], &t)))
                return rc;
            TRY(cu_en_elu_launch(B[4], (long long)y->c[0].cout * S * L, s));
            if ((rc = conv(st, &y->c[1], &g->c[1], B[4], L, B[2], B[3], &t)))
                return rc;
            if (net->cfg.shortcut) {
                if ((rc = conv(st, &y->c[2], &g->c[2], B[0], L, B[2], B[1], &t)))
                    return rc;
            } else
                TRY(cudaMemcpyAsync(B[1], B[0], (size_t)n * sizeof(float),
                                    cudaMemcpyDeviceToDevice, s));
            TRY(cu_en_add_launch(B[1], B[3], n, s));
            break;
        case EN_LSTM:
            if ((rc = lstm(st, y, g, B[0], L, B[3], B[4], B[1])))
                return rc;
            break;
        }
        float *sw = B[0];
        B[0] = B[1];
        B[1] = sw;
    }
    *Lp = L;
    return 0;
}

static int encode(state *st)
{
    en_net *net = &st->net;
    cudaStream_t s = st->h.dev->stream;
    int D = net->cfg.hidden, K = net->cfg.codebook, rc;
    long long F = net->frames * net->batch, L = net->samples; /* F: every clip's frames */
    TRY(cudaMemcpyAsync(st->buf[0], st->in, (size_t)(L * net->batch) * sizeof(float),
                        cudaMemcpyDeviceToDevice, s));
    if ((rc = forward(st, 0, 1, &L)))
        return rc;
    TRY(cu_en_transpose_launch(st->buf[0], D, F, NULL, st->emb, s)); /* -> [F][D] */
    for (int q = 0; q < net->nq; q++) {
        const float *cb = st->cb + (size_t)q * K * D;
        int *codes = st->codes + (size_t)q * (size_t)F;
        TRY(cu_vq_fused_launch(cb, st->cbn + (size_t)q * K, st->emb, F, K, D, codes, s));
        if (q + 1 < net->nq)
            TRY(cu_vq_subtract_launch(st->emb, cb, codes, F, D, s));
    }
    return 0;
}

static int decode(state *st)
{
    en_net *net = &st->net;
    cudaStream_t s = st->h.dev->stream;
    int D = net->cfg.hidden;
    long long F = net->frames * net->batch, L = net->frames;
    /* the codewords summed into [S*F][D], then [D][S*F] for the decoder's first conv */
    TRY(cu_vq_gather_launch(st->cb, st->codes, net->nq, net->cfg.codebook, F, D, st->emb, s));
    TRY(cu_en_transpose_launch(st->emb, F, D, NULL, st->buf[0], s));
    return forward(st, 1, D, &L);
}

static int en_cuda_run(void *vst)
{
    state *st = vst;
    int rc = 0;
    st->pi = 0; /* issue 26: the pass meets the GEMMs in the order of their plans */
    /* forward() leaves its result in whichever buffer is buf[0] then; all five are the
     * same size, so a run may start from any assignment */
    if (st->net.mode != EN_DECODE)
        rc = encode(st);
    if (!rc && st->net.mode != EN_ENCODE)
        rc = decode(st);
    return rc;
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    en_net *net = &st->net;
    int enc = net->mode == EN_ENCODE;
    size_t S = (size_t)net->batch, F = (size_t)net->frames, nq = (size_t)net->nq;
    size_t len = (size_t)net->out_len, full = F * (size_t)net->cfg.hop;
    size_t need = enc ? nq * F * S * sizeof(int32_t) : len * S * sizeof(float);
    if (out->dtype != (enc ? SONO_I32 : SONO_F32) || out->nbytes < need)
        return sono_fail(err, SONO_EINVAL, "%s: output must be %s (%zu bytes); got dtype %d, "
                         "%zu bytes", st->h.label, enc ? "i32 codes [n_q, frames]"
                         : "f32 audio", need, (int)out->dtype, out->nbytes);
    cu_range_push(&st->h, "store");
    cudaStream_t cs = st->h.dev->stream;
    int rc = 0;
    if (enc) /* [nq][S][F] there, [S][nq][F] out: one 2D copy per clip */
        for (size_t s = 0; s < S && !rc; s++)
            rc = CU_OK(cudaMemcpy2DAsync((int32_t *)out->data + s * nq * F, F * sizeof(int),
                                         st->codes + s * F, S * F * sizeof(int),
                                         F * sizeof(int), nq, cudaMemcpyDeviceToHost, cs),
                       st->h.label, err);
    else /* each clip's row [full] cut to its output length (roundtrip: the input's) */
        rc = CU_OK(cudaMemcpy2DAsync(out->data, len * sizeof(float), st->buf[0],
                                     full * sizeof(float), len * sizeof(float), S,
                                     cudaMemcpyDeviceToHost, cs), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

static int describe(void *vst, char *buf, size_t n)
{
    const state *st = vst;
    static const char *const dts[] = {"", "TF32 (FP32 in, CUBLAS_COMPUTE_32F_FAST_TF32)",
                                      "BF16", "FP16"};
    if (st->dt != NN_F32) { /* issue 26 */
        snprintf(buf, n, "weights on the device; convs (im2col) and transposed convs as "
                 "%d cublasLtMatmul GEMMs in %s (weights converted at setup, activations "
                 "by a rounding kernel before each; FP32 out and accumulation; plans and "
                 "algorithms chosen at setup); LSTM (SGEMM, SGEMV, cell kernel) and fused "
                 "VQ kernel in FP32; n_q=%d, %lld frames x %d streams", st->nplans,
                 dts[st->dt], st->net.nq, st->net.frames, st->net.batch);
        return 0;
    }
    snprintf(buf, n, "weights on the device; im2col + cublasSgemm convs, SGEMM + col2im "
             "transposed, LSTM SGEMM + per-step SGEMV (SGEMM over streams) + cell kernel, "
             "fused VQ kernel; n_q=%d, %lld frames x %d streams, FP32", st->net.nq,
             st->net.frames, st->net.batch);
    return 0;
}

static size_t workspace(void *vst)
{
    const state *st = vst;
    return sizeof *st + st->dev_bytes;
}

const sono_impl cu_encodec_impls[2] = {
    {.abi = SONO_ABI_VERSION, .op = "codec.encodec", .name = "encodec",
     .summary = "EnCodec on the GPU: cuBLAS convs and LSTM, fused RVQ kernel; weights "
                "uploaded in setup; dtype tf32|bf16|f16 convs through cuBLASLt",
     .device = "cuda:0", .growth = SONO_ERR_LINEAR, .supports = supports, .setup = setup,
     .load = load, .run = en_cuda_run, .store = store, .teardown = teardown,
     .describe = describe, .workspace = workspace},
    /* issue 24: SoundStream on the same network (encodec.h; no LSTM) */
    {.abi = SONO_ABI_VERSION, .op = "codec.soundstream", .name = "encodec",
     .summary = "SoundStream on cuda/encodec's network: cuBLAS convs, fused RVQ kernel",
     .device = "cuda:0", .growth = SONO_ERR_LINEAR, .supports = supports, .setup = setup,
     .load = load, .run = en_cuda_run, .store = store, .teardown = teardown,
     .describe = describe, .workspace = workspace},
};
