/* dac.c — cuda/dac for codec.dac: impls/common/dac_net reads the config and DacModel's
 * weights (weight norm folded) and plans the buffer sizes on the host in setup, the same
 * loader as cpu/naive and blas/dac; every weight is uploaded once and run() walks the
 * network on the device: convolutions as im2col + cuBLAS SGEMM (1x1 straight on the
 * activation), transposed ones as one SGEMM into columns + an overlap-add kernel, and
 * every Snake fused: into the epilogue (with the bias and the residual) of the layer
 * that feeds it, or, for a residual unit's first Snake (whose input the skip needs as
 * it is), into the im2col that gathers its conv's input. The factorised RVQ: the in_proj
 * SGEMM, one kernel for bias + L2 normalisation + the nearest of the K unit codewords,
 * the raw codewords gathered, the out_proj SGEMM and one kernel for the residual and the
 * quantized sum. The op's streams: S clips side by side in each channel's row, so every
 * SGEMM's N and every grid span all of them. */
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "cuda_impls.h"
#include "dac_net.h"
#include "dc_kernels.h"
#include "nndtype.h"

typedef struct dconv {
    float *w, *b;
} dconv;

typedef struct dres {
    float *a1, *a2;
    dconv c1, c2;
} dres;

typedef struct dblock {
    dres r[3];
    float *alpha;
    dconv c;
} dblock;

typedef struct state {
    cu_hdr h; /* first: the device's time_runs reads it */
    dn_net net;
    dconv e_in, e_out, d_in, d_out, *inp, *outp;
    float *e_alpha, *d_alpha;
    dblock eb[8], db[8];
    float *cb, *cn, *cc; /* [nq][K][Dc] raw, unit; [nq][K] squared norms */
    float *buf[3];       /* activations, act floats each */
    float *scratch;      /* im2col / transposed columns */
    float *z, *e;        /* [Dc][S*F] */
    int *codes;          /* [nq][S][F] */
    float *in;           /* [S][samples] */
    size_t act, nscratch, dev_bytes;
    cublasHandle_t blas;
    int has_blas;
} state;

/* Columns the im2col or the transposed conv writes (dn_plan's scratch_for). */
static size_t scratch_for(const dn_conv *c, long long L, long long T, int S)
{
    if (c->tr)
        return (size_t)c->cout * (size_t)c->k * (size_t)S * (size_t)L;
    return c->k == 1 && c->s == 1 && c->p == 0 ? 0
                                               : (size_t)c->cin * (size_t)c->k * (size_t)S *
                                                     (size_t)T;
}

/* Device floats of a planned net: the weights once, three activations, the columns, the
 * RVQ's z and e, the input and the codes. */
static double device_bytes(const dn_net *net, size_t act, size_t scratch)
{
    double SF = (double)net->frames * net->S;
    return 4.0 * ((double)dn_weight_floats(net) + 3.0 * (double)act + (double)scratch +
                  2.0 * net->cfg.Dc * SF + (double)net->samples * net->S + net->nq * SF);
}

/* The memory gate gets what setup will allocate, planned from the config and shapes
 * without reading a weight. */
static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    int rc = nn_dtype_f32_only(p, NULL, why, n);
    if (rc || (rc = dn_supports(p, why, n)))
        return rc;
    dn_net *net = calloc(1, sizeof *net);
    size_t act = 0, scr = 0;
    sono_error err = {0};
    if (!net) {
        snprintf(why, n, "out of host memory planning the case");
        return SONO_EUNSUPPORTED;
    }
    rc = dn_open(net, p, 0, &err);
    if (!rc && net->cfg.Dc > DC_MAX_CODEBOOK_DIM)
        rc = sono_fail(&err, SONO_EUNSUPPORTED, "codebook_dim %d: cuda/dac's search kernel "
                       "holds a projected vector of at most %d in shared memory",
                       net->cfg.Dc, DC_MAX_CODEBOOK_DIM);
    if (!rc)
        rc = dn_plan(net, scratch_for, NULL, &act, &scr, &err);
    double bytes = rc ? 0 : device_bytes(net, act, scr);
    dn_free(net);
    free(net);
    if (rc) {
        snprintf(why, n, "%s", err.msg);
        return SONO_EUNSUPPORTED;
    }
    return cu_supports_common(p, bytes, why, n);
}

static void free_conv(dconv *c)
{
    cu_free(c->w);
    cu_free(c->b);
}

static void teardown(void *vst)
{
    state *st = vst;
    if (!st)
        return;
    if (st->has_blas)
        (void)cublasDestroy(st->blas);
    free_conv(&st->e_in);
    free_conv(&st->e_out);
    free_conv(&st->d_in);
    free_conv(&st->d_out);
    for (int q = 0; q < st->net.nq; q++) {
        if (st->inp)
            free_conv(&st->inp[q]);
        if (st->outp)
            free_conv(&st->outp[q]);
    }
    free(st->inp);
    free(st->outp);
    for (int i = 0; i < 8; i++)
        for (int s = 0; s < 2; s++) {
            dblock *b = s ? &st->db[i] : &st->eb[i];
            for (int j = 0; j < 3; j++) {
                cu_free(b->r[j].a1);
                cu_free(b->r[j].a2);
                free_conv(&b->r[j].c1);
                free_conv(&b->r[j].c2);
            }
            cu_free(b->alpha);
            free_conv(&b->c);
        }
    void *bufs[] = {st->e_alpha, st->d_alpha, st->cb,      st->cn, st->cc, st->buf[0],
                    st->buf[1],  st->buf[2],  st->scratch, st->z,  st->e,  st->codes,
                    st->in};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        cu_free(bufs[i]);
    dn_free(&st->net);
    free(st);
}

/* A device copy of floats host[0..n), counted in dev_bytes. */
static int up(state *st, float **dst, const float *host, size_t n, sono_error *err)
{
    int rc = cu_alloc((void **)dst, (n ? n : 1) * sizeof(float), st->h.label, err);
    if (!rc && n)
        rc = CU_OK(cudaMemcpy(*dst, host, n * sizeof(float), cudaMemcpyHostToDevice),
                   st->h.label, err);
    st->dev_bytes += n * sizeof(float);
    return rc;
}

static int up_conv(state *st, const dn_conv *c, dconv *d, sono_error *err)
{
    int rc = up(st, &d->w, c->w, (size_t)c->cin * (size_t)c->cout * (size_t)c->k, err);
    return rc ? rc : up(st, &d->b, c->b, (size_t)c->cout, err);
}

static int up_block(state *st, const dn_block *b, dblock *d, sono_error *err)
{
    int rc = 0;
    for (int j = 0; j < 3 && !rc; j++) {
        const dn_res *r = &b->r[j];
        int C = r->c1.cin;
        if (!(rc = up(st, &d->r[j].a1, r->a1, (size_t)C, err)) &&
            !(rc = up(st, &d->r[j].a2, r->a2, (size_t)C, err)) &&
            !(rc = up_conv(st, &r->c1, &d->r[j].c1, err)))
            rc = up_conv(st, &r->c2, &d->r[j].c2, err);
    }
    if (!rc)
        rc = up(st, &d->alpha, b->alpha, (size_t)b->c.cin, err);
    return rc ? rc : up_conv(st, &b->c, &d->c, err);
}

static int upload(state *st, sono_error *err)
{
    const dn_net *net = &st->net;
    const dn_cfg *c = &net->cfg;
    int rc = up_conv(st, &net->e_in, &st->e_in, err);
    for (int i = 0; i < c->nratio && !rc; i++)
        if (!(rc = up_block(st, &net->eb[i], &st->eb[i], err)))
            rc = up_block(st, &net->db[i], &st->db[i], err);
    if (!rc && !(rc = up(st, &st->e_alpha, net->e_alpha, (size_t)c->H, err)) &&
        !(rc = up_conv(st, &net->e_out, &st->e_out, err)) &&
        !(rc = up_conv(st, &net->d_in, &st->d_in, err)) &&
        !(rc = up(st, &st->d_alpha, net->d_alpha, (size_t)net->d_out.cin, err)))
        rc = up_conv(st, &net->d_out, &st->d_out, err);
    st->inp = calloc((size_t)net->nq, sizeof *st->inp);
    st->outp = calloc((size_t)net->nq, sizeof *st->outp);
    if (!rc && (!st->inp || !st->outp))
        rc = sono_fail(err, SONO_ENOMEM, "cuda/dac: out of memory");
    size_t KD = (size_t)c->K * (size_t)c->Dc, K = (size_t)c->K, nq = (size_t)net->nq;
    const char *who = st->h.label;
    if (!rc && !(rc = cu_alloc((void **)&st->cb, nq * KD * sizeof(float), who, err)) &&
        !(rc = cu_alloc((void **)&st->cn, nq * KD * sizeof(float), who, err)))
        rc = cu_alloc((void **)&st->cc, nq * K * sizeof(float), who, err);
    st->dev_bytes += nq * (2 * KD + K) * sizeof(float);
    for (size_t q = 0; q < nq && !rc; q++) {
        if (!(rc = up_conv(st, &net->inp[q], &st->inp[q], err)))
            rc = up_conv(st, &net->outp[q], &st->outp[q], err);
        if (!rc)
            rc = CU_OK(cudaMemcpy(st->cb + q * KD, net->cb[q], KD * sizeof(float),
                                  cudaMemcpyHostToDevice), who, err);
        if (!rc)
            rc = CU_OK(cudaMemcpy(st->cn + q * KD, net->cn[q], KD * sizeof(float),
                                  cudaMemcpyHostToDevice), who, err);
        if (!rc)
            rc = CU_OK(cudaMemcpy(st->cc + q * K, net->cc[q], K * sizeof(float),
                                  cudaMemcpyHostToDevice), who, err);
    }
    return rc;
}

static int dac_cuda_run(void *vst);

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[512];
    int rc;
    *stp = NULL;
    if ((rc = supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cuda/dac: %s", why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/dac: cannot allocate its state");
    if ((rc = cu_hdr_init(&st->h, "codec.dac", "dac", dac_cuda_run, p, err))) {
        free(st);
        return rc;
    }
    cu_range_push(&st->h, "setup");
    dn_net *net = &st->net;
    rc = dn_open(net, p, 1, err);
    if (!rc)
        rc = dn_plan(net, scratch_for, NULL, &st->act, &st->nscratch, err);
    size_t S = (size_t)net->S, SF = (size_t)net->frames * S, nq = (size_t)net->nq;
    /* dn_load's host buffers: it checks the codes' range and reorders them */
    if (!rc) {
        net->in = malloc((size_t)net->samples * S * sizeof(float));
        net->codes = malloc(nq * SF * sizeof(int));
        if (!net->in || !net->codes)
            rc = sono_fail(err, SONO_ENOMEM, "cuda/dac: out of host memory");
    }
    if (!rc)
        rc = upload(st, err);
    const char *who = st->h.label;
    for (int i = 0; i < 3 && !rc; i++)
        rc = cu_alloc((void **)&st->buf[i], st->act * sizeof(float), who, err);
    if (!rc)
        rc = cu_alloc((void **)&st->scratch, (st->nscratch ? st->nscratch : 1) * sizeof(float),
                      who, err);
    if (!rc)
        rc = cu_alloc((void **)&st->z, SF * (size_t)net->cfg.Dc * sizeof(float), who, err);
    if (!rc)
        rc = cu_alloc((void **)&st->e, SF * (size_t)net->cfg.Dc * sizeof(float), who, err);
    if (!rc)
        rc = cu_alloc((void **)&st->codes, nq * SF * sizeof(int), who, err);
    if (!rc)
        rc = cu_alloc((void **)&st->in, (size_t)net->samples * S * sizeof(float), who, err);
    st->dev_bytes += (3 * st->act + st->nscratch + 2 * SF * (size_t)net->cfg.Dc +
                      (size_t)net->samples * S) * sizeof(float) + nq * SF * sizeof(int);
    if (!rc)
        rc = cu_blas_create(&st->h, &st->blas, &st->has_blas, err);
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
    dn_net *net = &st->net;
    int rc = dn_load(net, in, err); /* checks the size and the codes' range */
    if (rc)
        return rc;
    cu_range_push(&st->h, "load");
    size_t S = (size_t)net->S;
    if (net->mode == DN_DECODE) /* dn_load left them [nq][S][F], the device's layout */
        rc = CU_OK(cudaMemcpyAsync(st->codes, net->codes, (size_t)net->nq *
                                   (size_t)net->frames * S * sizeof(int),
                                   cudaMemcpyHostToDevice, st->h.dev->stream),
                   st->h.label, err);
    else
        rc = CU_OK(cudaMemcpyAsync(st->in, net->in, (size_t)net->samples * S * sizeof(float),
                                   cudaMemcpyHostToDevice, st->h.dev->stream), st->h.label,
                   err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

/* ---- the forward pass on the device ------------------------------------------------- */

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

/* row-major C [M][N] = A [M][K] B [K][N]: column-major C^T = B^T A^T */
static int gemm(state *st, int M, long long N, int K, const float *A, const float *B, float *C)
{
    const float one = 1.0f, zero = 0.0f;
    TRYB(cublasSgemm(st->blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)N, M, K, &one, B, (int)N, A, K,
                     &zero, C, (int)N));
    return 0;
}

/* What follows a conv's output in the same pass: a residual to add (res), the next
 * layer's Snake (alpha) or tanh. */
typedef struct epi {
    const float *res, *alpha;
    int tanh_out;
} epi;

/* y [cout][S][T] = epilogue(conv(x [cin][S][L])), x Snake'd on load with `load` (not
 * NULL); returns T. */
static int conv(state *st, const dn_conv *c, const dconv *d, const float *x, long long L,
                const float *load, float *y, epi ep, long long *To)
{
    cudaStream_t s = st->h.dev->stream;
    int S = st->net.S;
    long long T = (L + 2LL * c->p - (long long)c->d * (c->k - 1) - 1) / c->s + 1,
              N = T * S;
    const float *B = x;
    if (load || c->k != 1 || c->s != 1 || c->p != 0) {
        TRY(cu_dc_im2col_launch(x, load, c->cin, c->k, c->s, c->d, c->p, L, T, S, st->scratch,
                                s));
        B = st->scratch;
    }
    int rc = gemm(st, c->cout, N, c->cin * c->k, d->w, B, y);
    if (rc)
        return rc;
    TRY(cu_dc_epilogue_launch(y, d->b, ep.res, ep.alpha, ep.tanh_out, c->cout, N, s));
    *To = T;
    return 0;
}

/* Transposed: col [cout*k][S*L] = W^T x (W [cin][cout*k]), then the overlap-add. */
static int convtr(state *st, const dn_conv *c, const dconv *d, const float *x, long long L,
                  float *y, long long *To)
{
    cudaStream_t s = st->h.dev->stream;
    int S = st->net.S, ok = c->cout * c->k;
    long long T = (L - 1) * c->s - 2LL * c->p + c->k, N = L * S;
    const float one = 1.0f, zero = 0.0f;
    TRYB(cublasSgemm(st->blas, CUBLAS_OP_N, CUBLAS_OP_T, (int)N, ok, c->cin, &one, x, (int)N,
                     d->w, ok, &zero, st->scratch, (int)N));
    TRY(cu_dc_ola_launch(st->scratch, d->b, c->cout, c->k, c->s, c->p, L, T, S, y, s));
    *To = T;
    return 0;
}

static void swap(float **a, float **b)
{
    float *t = *a;
    *a = *b;
    *b = t;
}

/* The unit on buf[0] ([C][S][L]) in place: conv1 on snake1 (on load), snake2 in its
 * epilogue, conv2 (1x1) with the skip in its epilogue, then `after` (the next layer's
 * Snake) when not NULL. */
static int res(state *st, const dn_res *r, const dres *d, long long L, const float *after)
{
    float **B = st->buf;
    long long T;
    int rc = conv(st, &r->c1, &d->c1, B[0], L, d->a1, B[1], (epi){.alpha = d->a2}, &T);
    if (!rc)
        rc = conv(st, &r->c2, &d->c2, B[1], T, NULL, B[2], (epi){.res = B[0], .alpha = after},
                  &T);
    if (!rc)
        swap(&B[0], &B[2]);
    return rc;
}

static int encoder(state *st)
{
    const dn_net *net = &st->net;
    float **B = st->buf;
    int n = net->cfg.nratio, rc;
    long long L = net->samples;
    TRY(cudaMemcpyAsync(B[0], st->in, (size_t)(L * net->S) * sizeof(float),
                        cudaMemcpyDeviceToDevice, st->h.dev->stream));
    if ((rc = conv(st, &net->e_in, &st->e_in, B[0], L, NULL, B[1],
                   (epi){.alpha = n ? NULL : st->e_alpha}, &L)))
        return rc;
    swap(&B[0], &B[1]);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < 3; j++)
            if ((rc = res(st, &net->eb[i].r[j], &st->eb[i].r[j], L,
                          j == 2 ? st->eb[i].alpha : NULL)))
                return rc;
        if ((rc = conv(st, &net->eb[i].c, &st->eb[i].c, B[0], L, NULL, B[1],
                       (epi){.alpha = i == n - 1 ? st->e_alpha : NULL}, &L)))
            return rc;
        swap(&B[0], &B[1]);
    }
    if ((rc = conv(st, &net->e_out, &st->e_out, B[0], L, NULL, B[1], (epi){0}, &L)))
        return rc;
    swap(&B[0], &B[1]);
    return 0;
}

/* The quantized sum in buf[0] ([H][S*F]) through the decoder; audio left in buf[0]. */
static int decoder(state *st)
{
    const dn_net *net = &st->net;
    float **B = st->buf;
    int n = net->cfg.nratio, rc;
    long long L = net->frames;
    if ((rc = conv(st, &net->d_in, &st->d_in, B[0], L, NULL, B[1],
                   (epi){.alpha = n ? st->db[0].alpha : st->d_alpha}, &L)))
        return rc;
    swap(&B[0], &B[1]);
    for (int i = 0; i < n; i++) {
        if ((rc = convtr(st, &net->db[i].c, &st->db[i].c, B[0], L, B[1], &L)))
            return rc;
        swap(&B[0], &B[1]);
        for (int j = 0; j < 3; j++) {
            const float *after = j < 2 ? NULL : i + 1 < n ? st->db[i + 1].alpha : st->d_alpha;
            if ((rc = res(st, &net->db[i].r[j], &st->db[i].r[j], L, after)))
                return rc;
        }
    }
    if ((rc = conv(st, &net->d_out, &st->d_out, B[0], L, NULL, B[1], (epi){.tanh_out = 1},
                   &L)))
        return rc;
    swap(&B[0], &B[1]);
    return 0;
}

/* Stage q's codes (in st->codes) projected back: buf[1] = W_out e, then qs += that + b
 * (and r -= it when r is not NULL). */
static int project_back(state *st, int q, float *r, float *qs)
{
    const dn_net *net = &st->net;
    const dn_cfg *c = &net->cfg;
    cudaStream_t s = st->h.dev->stream;
    long long SF = net->frames * net->S;
    const int *codes = st->codes + (size_t)q * (size_t)SF;
    TRY(cu_dc_gather_launch(st->cb + (size_t)q * c->K * c->Dc, codes, c->Dc, SF, st->e, s));
    int rc = gemm(st, c->H, SF, c->Dc, st->outp[q].w, st->e, st->buf[1]);
    if (rc)
        return rc;
    TRY(cu_dc_resid_launch(st->buf[1], st->outp[q].b, c->H, SF, r, qs, s));
    return 0;
}

/* The residual (the latent) in buf[0]; the quantized sum left in buf[2]. */
static int quantize(state *st)
{
    const dn_net *net = &st->net;
    const dn_cfg *c = &net->cfg;
    cudaStream_t s = st->h.dev->stream;
    long long SF = net->frames * net->S;
    float *r = st->buf[0], *qs = st->buf[2];
    TRY(cudaMemsetAsync(qs, 0, (size_t)c->H * (size_t)SF * sizeof(float), s));
    for (int q = 0; q < net->nq; q++) {
        int rc = gemm(st, c->Dc, SF, c->H, st->inp[q].w, r, st->z);
        if (rc)
            return rc;
        TRY(cu_dc_vq_launch(st->z, st->inp[q].b, c->Dc, SF, st->cn + (size_t)q * c->K * c->Dc,
                            st->cc + (size_t)q * c->K, c->K,
                            st->codes + (size_t)q * (size_t)SF, s));
        if ((rc = project_back(st, q, r, qs)))
            return rc;
    }
    return 0;
}

static int dac_cuda_run(void *vst)
{
    state *st = vst;
    const dn_net *net = &st->net;
    int rc;
    /* the passes leave their result in whichever buffer is buf[0] then; all three are the
     * same size, so a run may start from any assignment */
    if (net->mode != DN_DECODE) {
        if ((rc = encoder(st)) || (rc = quantize(st)))
            return rc;
        if (net->mode == DN_ENCODE)
            return 0;
        swap(&st->buf[0], &st->buf[2]);
    } else {
        long long SF = net->frames * net->S;
        TRY(cudaMemsetAsync(st->buf[0], 0, (size_t)net->cfg.H * (size_t)SF * sizeof(float),
                            st->h.dev->stream));
        for (int q = 0; q < net->nq; q++)
            if ((rc = project_back(st, q, NULL, st->buf[0])))
                return rc;
    }
    return decoder(st);
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    const dn_net *net = &st->net;
    int enc = net->mode == DN_ENCODE;
    size_t S = (size_t)net->S, F = (size_t)net->frames, nq = (size_t)net->nq;
    size_t need = enc ? nq * F * S * sizeof(int) : (size_t)net->samples * S * sizeof(float);
    if (out->dtype != (enc ? SONO_I32 : SONO_F32) || out->nbytes < need)
        return sono_fail(err, SONO_EINVAL, "%s: output must be %s (%zu bytes); got dtype %d, "
                         "%zu bytes", st->h.label, enc ? "i32 codes" : "f32 audio", need,
                         (int)out->dtype, out->nbytes);
    cu_range_push(&st->h, "store");
    cudaStream_t cs = st->h.dev->stream;
    int rc = 0;
    if (enc) /* [nq][S][F] there, [S][nq][F] out: one 2D copy per clip */
        for (size_t s = 0; s < S && !rc; s++)
            rc = CU_OK(cudaMemcpy2DAsync((int *)out->data + s * nq * F, F * sizeof(int),
                                         st->codes + s * F, S * F * sizeof(int),
                                         F * sizeof(int), nq, cudaMemcpyDeviceToHost, cs),
                       st->h.label, err);
    else
        rc = CU_OK(cudaMemcpyAsync(out->data, st->buf[0], need, cudaMemcpyDeviceToHost, cs),
                   st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(cs), st->h.label, err);
    cu_range_pop();
    return rc;
}

static int describe(void *vst, char *buf, size_t n)
{
    const state *st = vst;
    snprintf(buf, n, "weights on the device (weight norm folded); im2col + cublasSgemm convs "
             "(1x1 straight), SGEMM + overlap-add transposed, Snake fused into the conv "
             "epilogues (or the im2col of a residual unit's conv1), factorised RVQ: SGEMM "
             "in_proj + one normalise-and-search kernel (warp per frame) + SGEMM out_proj; "
             "n_q=%d, %lld frames x %d streams, FP32", st->net.nq, st->net.frames, st->net.S);
    return 0;
}

static size_t workspace(void *vst)
{
    const state *st = vst;
    return sizeof *st + st->dev_bytes;
}

const sono_impl cu_dac_impls[1] = {
    {.abi = SONO_ABI_VERSION, .op = "codec.dac", .name = "dac",
     .summary = "DAC on the GPU: cuBLAS convs with Snake fused into the epilogues, "
                "factorised RVQ kernel; weights uploaded in setup",
     .device = "cuda:0", .growth = SONO_ERR_LINEAR, .supports = supports, .setup = setup,
     .load = load, .run = dac_cuda_run, .store = store, .teardown = teardown,
     .describe = describe, .workspace = workspace},
};
