/* vocoder.c — cuda/hifigan (vocoder.hifigan) and cuda/wavenet (wavenet.stack), offline:
 * weights uploaded once (HiFi-GAN's in setup from the shared body's loader; WaveNet's,
 * packed in the input, in load), a run is cuBLAS SGEMMs around own kernels (gen_kernels.cu:
 * im2col with the leaky ReLU fused, bias/residual/tanh epilogues, the transposed conv's
 * overlap-add, WaveNet's fused gated activation and skip/residual sums), FP32 throughout.
 * HiFi-GAN's layers run over the whole signal at once (a GPU has the memory the CPU rungs'
 * rings save); neither streams here. */
#include <stdlib.h>
#include <string.h>

#include <cublas_v2.h>

#include "cu.h"
#include "cuda_impls.h"
#include "gen_kernels.h"
#include "hifigan_net.h"
#include "nndtype.h"
#include "wavenet_net.h"

#define TRY(call)                                                                          \
    do {                                                                                   \
        cudaError_t e_ = (call);                                                           \
        if (e_ != cudaSuccess)                                                             \
            return cu_run_ok(e_, #call, h);                                                \
    } while (0)
#define TRYB(call)                                                                         \
    do {                                                                                   \
        int rc_ = CU_BLAS_RUN((call), h);                                                  \
        if (rc_)                                                                           \
            return rc_;                                                                    \
    } while (0)

/* ---- cuda/hifigan ----------------------------------------------------------------- */

typedef struct hg_dnode {
    const hg_node *n; /* the host graph: kind, sizes, which nodes feed it */
    float *w, *b, *y; /* device weights, bias, output [C][T] */
} hg_dnode;

typedef struct hstate {
    cu_hdr h; /* first: the device reads it */
    hg_net m;
    hg_dnode *d;
    float *mean, *scale, *x, *col, *Y;
    size_t dev_bytes;
    cublasHandle_t blas;
    int has_blas;
} hstate;

/* Device bytes: weights, every layer's output over the whole signal, the largest im2col
 * and transposed-conv tap matrix. */
static double hg_device_bytes(const hg_net *m)
{
    double ch = m->ch, F = (double)m->frames, w = ch * 80 * 7, act = 0, col = 0, L = F;
    for (int i = 0; i < 4; i++) {
        double ci = ch / (1 << i), co = ci / 2, K = i < 2 ? 16 : 4, s = i < 2 ? 8 : 2;
        w += ci * co * K + 6 * co * co * 21;
        col = col > ci * L ? col : ci * L;
        col = col > co * K * L ? col : co * K * L;
        L *= s;
        act += 21 * co * L;
        col = col > co * 11 * L ? col : co * 11 * L;
    }
    return 4.0 * (w + act + 2 * col + 80 * F + L);
}

static int hg_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    hg_net m;
    int rc = nn_dtype_f32_only(p, NULL, why, n); /* issue 26: float32 kernels and SGEMM */
    if (rc)
        return rc;
    if (hg_dims(p, &m, why, n))
        return SONO_EUNSUPPORTED;
    return cu_supports_common(p, hg_device_bytes(&m), why, n);
}

static void hg_teardown(void *vst)
{
    hstate *st = vst;
    if (!st)
        return;
    if (st->has_blas)
        (void)cublasDestroy(st->blas);
    for (int i = 0; st->d && i < st->m.nn; i++) {
        cu_free(st->d[i].w);
        cu_free(st->d[i].b);
        cu_free(st->d[i].y);
    }
    float *f[] = {st->mean, st->scale, st->x, st->col, st->Y};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        cu_free(f[i]);
    free(st->d);
    hg_free(&st->m);
    free(st);
}

static int dalloc(hstate *st, float **dst, const float *host, size_t n, sono_error *err)
{
    st->dev_bytes += n * sizeof(float);
    int rc = cu_alloc((void **)dst, (n ? n : 1) * sizeof(float), st->h.label, err);
    if (!rc && host)
        rc = CU_OK(cudaMemcpy(*dst, host, n * sizeof(float), cudaMemcpyHostToDevice),
                   st->h.label, err);
    return rc;
}

static int hg_cuda_run(void *vst);

static int hg_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[512];
    int rc;
    *stp = NULL;
    if ((rc = hg_supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cuda/hifigan: %s", why);
    hstate *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/hifigan: cannot allocate its state");
    if ((rc = cu_hdr_init(&st->h, "vocoder.hifigan", "hifigan", hg_cuda_run, p, err))) {
        free(st);
        return rc;
    }
    cu_range_push(&st->h, "setup");
    /* the host graph (rings of one round: small) names the layers and holds the weights */
    rc = hg_load(p, &st->m, 1, err);
    if (!rc && !(st->d = calloc((size_t)st->m.nn, sizeof *st->d)))
        rc = sono_fail(err, SONO_ENOMEM, "cuda/hifigan: out of memory");
    size_t colmax = 1, Ymax = 1;
    for (int i = 0; !rc && i < st->m.nn; i++) {
        const hg_node *n = &st->m.node[i];
        hg_dnode *d = &st->d[i];
        d->n = n;
        size_t T = (size_t)n->T;
        rc = dalloc(st, &d->y, NULL, (size_t)n->C * T, err);
        if (!rc && (n->kind == HG_CONV || n->kind == HG_TCONV)) {
            size_t nw = (size_t)n->C * (size_t)n->cin * (size_t)n->K;
            rc = dalloc(st, &d->w, n->w, nw, err);
            if (!rc)
                rc = dalloc(st, &d->b, n->b, (size_t)n->C, err);
        }
        if (n->kind == HG_CONV) {
            size_t c = (size_t)n->cin * (size_t)n->K * T;
            colmax = c > colmax ? c : colmax;
        } else if (n->kind == HG_TCONV) {
            size_t tin = (size_t)n->in->T, c = (size_t)n->cin * tin;
            size_t y = (size_t)n->C * (size_t)n->K * tin;
            colmax = c > colmax ? c : colmax;
            Ymax = y > Ymax ? y : Ymax;
        }
    }
    if (!rc)
        rc = dalloc(st, &st->mean, st->m.mean, 80, err);
    if (!rc)
        rc = dalloc(st, &st->scale, st->m.scale, 80, err);
    if (!rc)
        rc = dalloc(st, &st->x, NULL, (size_t)(80 * st->m.frames), err);
    if (!rc)
        rc = dalloc(st, &st->col, NULL, colmax, err);
    if (!rc)
        rc = dalloc(st, &st->Y, NULL, Ymax, err);
    if (!rc)
        rc = cu_blas_create(&st->h, &st->blas, &st->has_blas, err);
    if (!rc)
        rc = CU_OK(cudaDeviceSynchronize(), st->h.label, err);
    cu_range_pop();
    if (rc) {
        hg_teardown(st);
        return rc;
    }
    *stp = st;
    return 0;
}

static int hg_cuda_load(void *vst, const sono_buf *in, sono_error *err)
{
    hstate *st = vst;
    long long want = 80 * st->m.frames;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != want)
        return sono_fail(err, SONO_EINVAL, "%s: input must be f32 [80, %lld]", st->h.label,
                         st->m.frames);
    int rc = CU_OK(cudaMemcpyAsync(st->x, in->data, (size_t)want * sizeof(float),
                                   cudaMemcpyHostToDevice, st->h.dev->stream), st->h.label,
                   err);
    return rc ? rc : CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
}

static const float *dev_of(const hstate *st, const hg_node *n)
{
    return st->d[n - st->m.node].y;
}

static int hg_cuda_run(void *vst)
{
    hstate *st = vst;
    cu_hdr *h = &st->h;
    cudaStream_t cs = h->dev->stream;
    const float one = 1.0f, zero = 0.0f;
    for (int i = 0; i < st->m.nn; i++) {
        const hg_node *n = &st->m.node[i];
        hg_dnode *d = &st->d[i];
        long long T = n->T;
        if (n->kind == HG_IN) {
            TRY(cu_gen_norm_launch(st->x, st->mean, st->scale, n->C, T, d->y, cs));
        } else if (n->kind == HG_MEAN) {
            TRY(cu_gen_mean3_launch(dev_of(st, n->in), dev_of(st, n->m1), dev_of(st, n->m2),
                                    (long long)n->C * T, d->y, cs));
        } else if (n->kind == HG_CONV) {
            int Kc = n->cin * n->K;
            TRY(cu_gen_im2col_launch(dev_of(st, n->in), n->cin, T, n->K, n->dil, n->pad,
                                     n->slope, st->col, cs));
            /* y [C][T] = W [C][Kc] col [Kc][T], row-major: column-major y^T = col^T W^T */
            TRYB(cublasSgemm(st->blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)T, n->C, Kc, &one,
                             st->col, (int)T, d->w, Kc, &zero, d->y, (int)T));
            TRY(cu_gen_bias_launch(d->y, d->b, n->res ? dev_of(st, n->res) : NULL, n->C, T,
                                   n->tanh_out, cs));
        } else {
            long long Tin = n->in->T;
            int CK = n->C * n->K;
            TRY(cu_gen_lrelu_launch(dev_of(st, n->in), (long long)n->cin * Tin, n->slope,
                                    st->col, cs));
            /* Y [C K][Tin] = W^T x with W [cin][C K]: column-major Y^T = x^T W */
            TRYB(cublasSgemm(st->blas, CUBLAS_OP_N, CUBLAS_OP_T, (int)Tin, CK, n->cin, &one,
                             st->col, (int)Tin, d->w, CK, &zero, st->Y, (int)Tin));
            TRY(cu_gen_tconv_add_launch(st->Y, d->b, n->C, n->K, n->stride, n->pad, Tin, d->y,
                                        cs));
        }
    }
    return 0;
}

static int hg_cuda_store(void *vst, sono_buf *out, sono_error *err)
{
    hstate *st = vst;
    size_t n = (size_t)st->m.samples;
    if (out->dtype != SONO_F32 || (size_t)sono_buf_elems(out) != n)
        return sono_fail(err, SONO_EINVAL, "%s: output must be f32 [%zu]", st->h.label, n);
    int rc = CU_OK(cudaMemcpyAsync(out->data, st->d[st->m.nn - 1].y, n * sizeof(float),
                                   cudaMemcpyDeviceToHost, st->h.dev->stream), st->h.label,
                   err);
    return rc ? rc : CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
}

static int hg_cuda_describe(void *vst, char *buf, size_t n)
{
    const hstate *st = vst;
    const char *base = strrchr(st->m.path, '/');
    snprintf(buf, n, "weights on the device: %s; channels %d; each conv im2col (leaky ReLU "
             "fused) + cublasSgemm over the whole signal, transposed convs SGEMM + "
             "overlap-add, own bias/residual/tanh kernels; FP32",
             base ? base + 1 : st->m.path, st->m.ch);
    return 0;
}

static size_t hg_cuda_workspace(void *vst)
{
    const hstate *st = vst;
    return sizeof *st + st->dev_bytes;
}

/* ---- cuda/wavenet ----------------------------------------------------------------- */

typedef struct wstate {
    cu_hdr h;
    wv_net n;
    size_t K;
    float *hWg, *hWsr; /* host repacks, [L][2R][K] and [L][S + R][R] */
    float *x, *w, *Wg, *Wsr, *hh, *col, *z, *a, *y, *skip, *out;
    size_t dev_bytes;
    cublasHandle_t blas;
    int has_blas;
} wstate;

static double wv_device_bytes(const wv_net *n)
{
    double T = (double)n->T, R = n->R, S = n->S, K = 2 * R + n->Cc;
    return 4.0 * ((double)n->nin + n->L * (2 * R * K + (S + R) * R) +
                  T * (R + K + 2 * R + R + S + R + S + S));
}

static int wv_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    wv_net w;
    int rc = nn_dtype_f32_only(p, NULL, why, n); /* issue 26: float32 kernels and SGEMM */
    if (rc)
        return rc;
    if (wv_dims(p, &w, why, n))
        return SONO_EUNSUPPORTED;
    return cu_supports_common(p, wv_device_bytes(&w), why, n);
}

static void wv_teardown(void *vst)
{
    wstate *st = vst;
    if (!st)
        return;
    if (st->has_blas)
        (void)cublasDestroy(st->blas);
    float *f[] = {st->x, st->w, st->Wg, st->Wsr, st->hh, st->col, st->z, st->a, st->y,
                  st->skip, st->out};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        cu_free(f[i]);
    free(st->hWg);
    free(st->hWsr);
    wv_free(&st->n);
    free(st);
}

static int wv_cuda_run(void *vst);

static int wv_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[512];
    int rc;
    *stp = NULL;
    if ((rc = wv_supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cuda/wavenet: %s", why);
    wstate *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/wavenet: cannot allocate its state");
    if ((rc = cu_hdr_init(&st->h, "wavenet.stack", "wavenet", wv_cuda_run, p, err))) {
        free(st);
        return rc;
    }
    (void)wv_dims(p, &st->n, why, sizeof why);
    rc = wv_alloc(&st->n, err);
    size_t T = (size_t)st->n.T, R = (size_t)st->n.R, S = (size_t)st->n.S;
    size_t L = (size_t)st->n.L;
    st->K = 2 * R + (size_t)st->n.Cc;
    if (!rc && (!(st->hWg = malloc(L * 2 * R * st->K * sizeof(float))) ||
                !(st->hWsr = malloc(L * (S + R) * R * sizeof(float)))))
        rc = sono_fail(err, SONO_ENOMEM, "cuda/wavenet: out of memory");
    struct { float **d; size_t n; } a[] = {
        {&st->x, st->n.nin}, {&st->Wg, L * 2 * R * st->K}, {&st->Wsr, L * (S + R) * R},
        {&st->hh, T * R}, {&st->col, T * st->K}, {&st->z, T * 2 * R}, {&st->a, T * R},
        {&st->y, T * (S + R)}, {&st->skip, T * S}, {&st->out, T * S}};
    for (size_t i = 0; !rc && i < sizeof a / sizeof a[0]; i++) {
        st->dev_bytes += a[i].n * sizeof(float);
        rc = cu_alloc((void **)a[i].d, a[i].n * sizeof(float), st->h.label, err);
    }
    if (!rc)
        rc = cu_blas_create(&st->h, &st->blas, &st->has_blas, err);
    if (rc) {
        wv_teardown(st);
        return rc;
    }
    *stp = st;
    return 0;
}

/* The packed input up as is; the gate and 1x1 weights repacked for the GEMMs. */
static int wv_cuda_load(void *vst, const sono_buf *in, sono_error *err)
{
    wstate *st = vst;
    int rc = wv_bind(&st->n, in, err);
    if (rc)
        return rc;
    size_t R = (size_t)st->n.R, S = (size_t)st->n.S, Cc = (size_t)st->n.Cc, K = st->K;
    size_t L = (size_t)st->n.L;
    for (size_t l = 0; l < L; l++) {
        const wv_layer *y = &st->n.layer[l];
        float *W = st->hWg + l * 2 * R * K, *Ws = st->hWsr + l * (S + R) * R;
        for (size_t g = 0; g < 2; g++)
            for (size_t c = 0; c < R; c++) {
                const float *src = g ? y->Wg : y->Wf, *v = g ? y->Vg : y->Vf;
                float *row = W + (g * R + c) * K;
                for (size_t i = 0; i < R; i++) {
                    row[i] = src[(c * R + i) * 2];
                    row[R + i] = src[(c * R + i) * 2 + 1];
                }
                for (size_t j = 0; j < Cc; j++)
                    row[2 * R + j] = v[c * Cc + j];
            }
        memcpy(Ws, y->Ws, S * R * sizeof(float));
        memcpy(Ws + S * R, y->Wr, R * R * sizeof(float));
    }
    cudaStream_t cs = st->h.dev->stream;
    rc = CU_OK(cudaMemcpyAsync(st->x, in->data, st->n.nin * sizeof(float),
                               cudaMemcpyHostToDevice, cs), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaMemcpyAsync(st->Wg, st->hWg, L * 2 * R * K * sizeof(float),
                                   cudaMemcpyHostToDevice, cs), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaMemcpyAsync(st->Wsr, st->hWsr, L * (S + R) * R * sizeof(float),
                                   cudaMemcpyHostToDevice, cs), st->h.label, err);
    return rc ? rc : CU_OK(cudaStreamSynchronize(cs), st->h.label, err);
}

/* A device pointer to the packed input's float at host pointer p. */
static const float *wv_dev(const wstate *st, const float *p)
{
    return st->x + (p - st->n.x);
}

static int wv_cuda_run(void *vst)
{
    wstate *st = vst;
    cu_hdr *h = &st->h;
    cudaStream_t cs = h->dev->stream;
    const wv_net *n = &st->n;
    int R = n->R, S = n->S, K = (int)st->K, T = (int)n->T;
    const float one = 1.0f, zero = 0.0f;
    TRY(cu_wv_input_launch(st->x, wv_dev(st, n->w_in), wv_dev(st, n->b_in), R, T, st->hh, cs));
    TRY(cudaMemsetAsync(st->skip, 0, (size_t)T * (size_t)S * sizeof(float), cs));
    for (int l = 0; l < n->L; l++) {
        const wv_layer *y = &n->layer[l];
        TRY(cu_wv_col_launch(st->hh, st->x, R, n->Cc, T, y->dil, st->col, cs));
        /* z [T][2R] = col [T][K] Wg^T: column-major z^T = Wg col^T */
        TRYB(cublasSgemm(st->blas, CUBLAS_OP_T, CUBLAS_OP_N, 2 * R, T, K, &one,
                         st->Wg + (size_t)l * 2 * R * K, K, st->col, K, &zero, st->z, 2 * R));
        TRY(cu_wv_gate_launch(st->z, wv_dev(st, y->bf), wv_dev(st, y->bg), R, T, st->a, cs));
        TRYB(cublasSgemm(st->blas, CUBLAS_OP_T, CUBLAS_OP_N, S + R, T, R, &one,
                         st->Wsr + (size_t)l * (S + R) * R, R, st->a, R, &zero, st->y, S + R));
        TRY(cu_wv_accum_launch(st->y, wv_dev(st, y->bs), wv_dev(st, y->br), S, R, T, st->skip,
                               st->hh, cs));
    }
    TRY(cu_wv_transpose_launch(st->skip, S, T, st->out, cs));
    return 0;
}

static int wv_cuda_store(void *vst, sono_buf *out, sono_error *err)
{
    wstate *st = vst;
    size_t n = (size_t)st->n.S * (size_t)st->n.T;
    if (out->dtype != SONO_F32 || (size_t)sono_buf_elems(out) != n)
        return sono_fail(err, SONO_EINVAL, "%s: output must be f32 [%d, %lld]", st->h.label,
                         st->n.S, st->n.T);
    int rc = CU_OK(cudaMemcpyAsync(out->data, st->out, n * sizeof(float),
                                   cudaMemcpyDeviceToHost, st->h.dev->stream), st->h.label,
                   err);
    return rc ? rc : CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
}

static int wv_cuda_describe(void *vst, char *buf, size_t n)
{
    const wstate *st = vst;
    snprintf(buf, n, "layers %d, R %d, S %d, cond %d; per layer: column kernel, cublasSgemm "
             "gates, fused gated activation, cublasSgemm skip+residual, fused sums; FP32",
             st->n.L, st->n.R, st->n.S, st->n.Cc);
    return 0;
}

static size_t wv_cuda_workspace(void *vst)
{
    const wstate *st = vst;
    return sizeof *st + st->dev_bytes;
}

const sono_impl cu_gen_impls[2] = {
    {.abi = SONO_ABI_VERSION, .op = "vocoder.hifigan", .name = "hifigan",
     .summary = "HiFi-GAN on the GPU: im2col (fused leaky ReLU) + cuBLAS SGEMM convs, SGEMM + "
                "overlap-add transposed convs, own epilogue kernels",
     .device = "cuda:0", .growth = SONO_ERR_LOG, .supports = hg_supports, .setup = hg_setup,
     .load = hg_cuda_load, .run = hg_cuda_run, .store = hg_cuda_store,
     .teardown = hg_teardown, .describe = hg_cuda_describe, .workspace = hg_cuda_workspace},
    {.abi = SONO_ABI_VERSION, .op = "wavenet.stack", .name = "wavenet",
     .summary = "WaveNet stack on the GPU: cuBLAS SGEMMs over time, own fused gated-"
                "activation and skip/residual kernels",
     .device = "cuda:0", .growth = SONO_ERR_LOG, .supports = wv_supports, .setup = wv_setup,
     .load = wv_cuda_load, .run = wv_cuda_run, .store = wv_cuda_store,
     .teardown = wv_teardown, .describe = wv_cuda_describe, .workspace = wv_cuda_workspace},
};
