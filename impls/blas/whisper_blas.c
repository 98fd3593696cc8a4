/* whisper_blas.c — blas/whisper for whisper.encoder: every linear layer one SGEMM over the
 * rows of all clips (bias written first, GELU in the same pass over the output), the conv
 * stem as im2col + SGEMM (the shared body's), attention per head as two SGEMMs around a
 * row softmax (scores [T, T] of one head at a time); `threads` is OpenBLAS's. */
#include <math.h>
#include <stdlib.h>

#include <cblas.h>

#include "blas_impls.h"
#include "whisper_net.h"
#include "nndtype.h"

static void linear(const float *x, long long rows, int in, const float *w, const float *b,
                   int out, float *y, int add, int gelu)
{
    size_t R = (size_t)rows, O = (size_t)out;
    if (b)
        for (size_t r = 0; r < R; r++) {
            float *yr = y + r * O;
            if (add)
                for (size_t o = 0; o < O; o++)
                    yr[o] += b[o];
            else
                memcpy(yr, b, O * sizeof(float));
        }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, out, in, 1.0f, x, in, w,
                in, add || b ? 1.0f : 0.0f, y, out);
    if (gelu)
        for (size_t i = 0; i < R * O; i++)
            y[i] = wn_gelu(y[i]);
}

/* Per head: S = (q_j k_j^T) / sqrt(dh); each row exp(s - max) / sum; o_j = S v_j. */
static void attention(const float *q, const float *k, const float *v, long long T, int heads,
                      int dh, int ld, float *o, float *S)
{
    int n = (int)T;
    float scale = 1.0f / sqrtf((float)dh);
    for (int j = 0; j < heads; j++) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, dh, scale, q + j * dh, ld,
                    k + j * dh, ld, 0.0f, S, n);
        for (long long t = 0; t < T; t++) {
            float *s = S + (size_t)t * T, mx = -INFINITY, sum = 0;
            for (long long u = 0; u < T; u++)
                mx = fmaxf(mx, s[u]);
            for (long long u = 0; u < T; u++) {
                s[u] = expf(s[u] - mx);
                sum += s[u];
            }
            float inv = 1.0f / sum;
            for (long long u = 0; u < T; u++)
                s[u] *= inv;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, dh, n, 1.0f, S, n,
                    v + j * dh, ld, 0.0f, o + j * dh, ld);
    }
}

static const wn_kernels kernels = {.linear = linear, .attention = attention};

typedef struct bstate {
    wn_model m;
    wn_run r;
    const float *in;
    float *out;
    int threads;
} bstate;

int whisper_blas_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    wn_model m;
    long long th = sono_param_int(p, "threads", 1);
    if (th < 1 || th > 1024 || (th > 1 && openblas_get_parallel() == 0)) {
        snprintf(why, n, "threads=%lld needs a threaded OpenBLAS (1..1024)", th);
        return SONO_EUNSUPPORTED;
    }
    return wn_dims(p, &m, why, n) ? SONO_EUNSUPPORTED : 0;
}

void whisper_blas_teardown(void *vst)
{
    bstate *st = vst;
    if (!st)
        return;
    wn_run_free(&st->r);
    wn_free(&st->m);
    free(st->out);
    free(st);
}

int whisper_blas_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    (void)ctx;
    bstate *st = calloc(1, sizeof *st);
    *stp = NULL;
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "blas/whisper: out of memory");
    st->threads = (int)sono_param_int(p, "threads", 1);
    int rc = wn_load(p, &st->m, err);
    if (!rc)
        rc = wn_run_alloc(&st->r, &st->m, &kernels, err);
    size_t no = (size_t)(st->m.batch * st->m.T * st->m.d);
    if (!rc && !(st->out = blas_alloc(no * sizeof(float))))
        rc = sono_fail(err, SONO_ENOMEM, "blas/whisper: out of memory");
    if (rc) {
        whisper_blas_teardown(st);
        return rc;
    }
    openblas_set_num_threads(st->threads);
    *stp = st;
    return 0;
}

int whisper_blas_load(void *vst, const sono_buf *in, sono_error *err)
{
    bstate *st = vst;
    long long want = st->m.batch * st->m.n_mels * st->m.frames;
    if (sono_buf_elems(in) != want)
        return sono_fail(err, SONO_EINVAL, "whisper: input has %lld values, want %lld",
                         sono_buf_elems(in), want);
    st->in = in->data;
    return 0;
}

int whisper_blas_run(void *vst)
{
    bstate *st = vst;
    wn_forward(&st->r, st->in, st->out);
    return 0;
}

int whisper_blas_store(void *vst, sono_buf *out, sono_error *err)
{
    bstate *st = vst;
    size_t no = (size_t)(st->m.batch * st->m.T * st->m.d);
    if ((size_t)sono_buf_elems(out) != no)
        return sono_fail(err, SONO_EINVAL, "whisper: output has %lld values, want %zu",
                         sono_buf_elems(out), no);
    memcpy(out->data, st->out, no * sizeof(float));
    return 0;
}

size_t whisper_blas_workspace(void *vst)
{
    bstate *st = vst;
    return st->m.weight_floats * sizeof(float) + st->r.bytes;
}

int whisper_blas_describe(void *vst, char *buf, size_t n)
{
    const bstate *st = vst;
    snprintf(buf, n, "%s; core %s; threads=%d (asked %d); weights: %s (names %s); d=%d, %d "
             "layers, %lld frames x %lld clips", openblas_get_config(),
             openblas_get_corename(), openblas_get_num_threads(), st->threads, st->m.path,
             st->m.prefix, st->m.d, st->m.layers, st->m.frames, st->m.batch);
    nn_dtype_append(buf, n, st->m.dtnote); /* issue 26: float32 SGEMM on rounded inputs */
    return 0;
}
