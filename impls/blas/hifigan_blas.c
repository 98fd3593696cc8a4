/* hifigan_blas.c — blas/hifigan for vocoder.hifigan: each conv as im2col + SGEMMs over
 * the round's output steps (the leaky ReLU fused into the im2col copy), each transposed
 * conv as SGEMMs of its input steps against all K taps ([C K, cin] x [cin, steps]) then
 * an overlap-add in a fixed order per output; bias, residual and tanh are added by the
 * shared body (impls/common/hifigan_net.c). Offline walks the mel in rounds of 32 frames;
 * a stream's rounds follow its chunks; the GEMMs' tiles are aligned to absolute steps, so
 * both give the same bits. `threads` is OpenBLAS's. */
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "blas_impls.h"
#include "hifigan_net.h"

#define BLOCK 32

typedef struct hgb_state {
    hg_net m;
    int threads;
    float *col, *yt, *ycol; /* a tile's im2col and GEMM output; the taps [C K][steps] */
    size_t colcap, ytcap, ycap;
    long long done;
} hgb_state;

/* Every SGEMM is over one tile of TILE output steps (transposed convs: input steps)
 * aligned to multiples of TILE from step 0, the columns outside the round zero and
 * dropped: an output step is then always column u mod TILE of a GEMM of the same shape,
 * whatever the rounds, so a stream's output equals the offline one bit for bit (the
 * other columns of a GEMM do not enter a column's sums). */
#define TILE 256

static void conv(void *ctx, const hg_node *n, long long u0, long long u1, float *y)
{
    hgb_state *s = ctx;
    size_t len = (size_t)(u1 - u0), rows = (size_t)n->cin * (size_t)n->K;
    for (long long a = u0 / TILE * TILE; a < u1; a += TILE) {
        long long lo = a > u0 ? a : u0, hi = a + TILE < u1 ? a + TILE : u1;
        size_t pre = (size_t)(lo - a), mid = (size_t)(hi - lo), post = TILE - pre - mid;
        for (int c = 0; c < n->cin; c++)
            for (int k = 0; k < n->K; k++) {
                float *dst = s->col + ((size_t)c * n->K + k) * TILE;
                memset(dst, 0, pre * sizeof(float));
                hg_read_row(n->in, c, lo + (long long)k * n->dil - n->pad, mid, n->slope,
                            dst + pre);
                memset(dst + pre + mid, 0, post * sizeof(float));
            }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n->C, TILE, (int)rows, 1.0f,
                    n->w, (int)rows, s->col, TILE, 0.0f, s->yt, TILE);
        for (int o = 0; o < n->C; o++)
            for (size_t j = 0; j < mid; j++)
                y[(size_t)o * len + (size_t)(lo - u0) + j] = s->yt[(size_t)o * TILE + pre + j] +
                                                             n->b[o];
    }
}

/* Inputs t0..t1 feed outputs [u0, u1): Y[o K + k][t] = sum_c W[c][o][k] x[c][t] by tiles
 * of input steps, then output u (full index v = u + pad) adds Y[o K + v - t s][t] over its
 * inputs, t rising. */
static void tconv(void *ctx, const hg_node *n, long long u0, long long u1, float *y)
{
    hgb_state *s = ctx;
    long long st = n->stride, K = n->K, v0 = u0 + n->pad, v1 = u1 - 1 + n->pad;
    long long t0 = v0 - K + 1 <= 0 ? 0 : (v0 - K + 1 + st - 1) / st, t1 = v1 / st;
    if (t1 > n->in->T - 1)
        t1 = n->in->T - 1;
    size_t nt = (size_t)(t1 - t0 + 1), len = (size_t)(u1 - u0), CK = (size_t)n->C * (size_t)K;
    for (long long a = t0 / TILE * TILE; a <= t1; a += TILE) {
        long long lo = a > t0 ? a : t0, hi = a + TILE <= t1 + 1 ? a + TILE : t1 + 1;
        size_t pre = (size_t)(lo - a), mid = (size_t)(hi - lo), post = TILE - pre - mid;
        for (int c = 0; c < n->cin; c++) {
            float *dst = s->col + (size_t)c * TILE;
            memset(dst, 0, pre * sizeof(float));
            hg_read_row(n->in, c, lo, mid, n->slope, dst + pre);
            memset(dst + pre + mid, 0, post * sizeof(float));
        }
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)CK, TILE, n->cin, 1.0f, n->w,
                    (int)CK, s->col, TILE, 0.0f, s->yt, TILE);
        for (size_t r = 0; r < CK; r++)
            memcpy(s->ycol + r * nt + (size_t)(lo - t0), s->yt + r * TILE + pre,
                   mid * sizeof(float));
    }
    for (int o = 0; o < n->C; o++)
        for (long long u = u0; u < u1; u++) {
            long long v = u + n->pad, hi = v / st, lo = v - K + 1 <= 0 ? 0 : (v - K + 1 + st - 1) / st;
            if (hi > t1)
                hi = t1;
            float acc = n->b[o];
            for (long long t = lo; t <= hi; t++)
                acc += s->ycol[((size_t)o * K + (size_t)(v - t * st)) * nt + (size_t)(t - t0)];
            y[(size_t)o * len + (size_t)(u - u0)] = acc;
        }
}

int hifigan_blas_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    long long th = sono_param_int(p, "threads", 1);
    if (th < 1 || th > 1024 || (th > 1 && openblas_get_parallel() == 0)) {
        snprintf(why, n, "threads=%lld needs a threaded OpenBLAS (1..1024)", th);
        return SONO_EUNSUPPORTED;
    }
    hg_net m;
    return hg_dims(p, &m, why, n) ? SONO_EUNSUPPORTED : 0;
}

void hifigan_blas_teardown(void *st)
{
    hgb_state *s = st;
    if (!s)
        return;
    hg_free(&s->m);
    free(s->col);
    free(s->yt);
    free(s->ycol);
    free(s);
}

int hifigan_blas_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    (void)ctx;
    hgb_state *s = calloc(1, sizeof *s);
    if (!s)
        return sono_fail(err, SONO_ENOMEM, "blas/hifigan: out of memory");
    int rc = hg_load(p, &s->m, BLOCK, err);
    /* the largest operands: a tile's im2col and output, a round's transposed-conv taps */
    for (int i = 0; !rc && i < s->m.nn; i++) {
        const hg_node *n = &s->m.node[i];
        size_t c = 0, yt = 0, y = 0;
        if (n->kind == HG_CONV) {
            c = (size_t)n->cin * (size_t)n->K * TILE;
            yt = (size_t)n->C * TILE;
        }
        if (n->kind == HG_TCONV) {
            size_t nt = n->round / (size_t)n->stride + (size_t)n->K + 2;
            c = (size_t)n->cin * TILE;
            yt = (size_t)n->C * (size_t)n->K * TILE;
            y = (size_t)n->C * (size_t)n->K * nt;
        }
        s->colcap = c > s->colcap ? c : s->colcap;
        s->ytcap = yt > s->ytcap ? yt : s->ytcap;
        s->ycap = y > s->ycap ? y : s->ycap;
    }
    if (!rc && (!(s->col = malloc(s->colcap * sizeof(float))) ||
                !(s->yt = malloc(s->ytcap * sizeof(float))) ||
                !(s->ycol = malloc((s->ycap ? s->ycap : 1) * sizeof(float)))))
        rc = sono_fail(err, SONO_ENOMEM, "blas/hifigan: out of memory");
    if (rc) {
        hifigan_blas_teardown(s);
        return rc;
    }
    s->threads = (int)sono_param_int(p, "threads", 1);
    openblas_set_num_threads(s->threads);
    *stp = s;
    return 0;
}

int hifigan_blas_load(void *st, const sono_buf *in, sono_error *err)
{
    hgb_state *s = st;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != 80 * s->m.frames)
        return sono_fail(err, SONO_EINVAL, "blas/hifigan: input is not [80, %lld] float32",
                         s->m.frames);
    s->m.x = in->data;
    return 0;
}

int hifigan_blas_run(void *st)
{
    hgb_state *s = st;
    hg_begin(&s->m);
    return hg_push(&s->m, 0, s->m.frames, conv, tconv, s, &s->done, NULL);
}

int hifigan_blas_store(void *st, sono_buf *out, sono_error *err)
{
    hgb_state *s = st;
    if (out->dtype != SONO_F32 || sono_buf_elems(out) != s->m.samples)
        return sono_fail(err, SONO_EINVAL, "blas/hifigan: output is not [%lld] float32",
                         s->m.samples);
    memcpy(out->data, hg_wave(&s->m), (size_t)s->m.samples * sizeof(float));
    return 0;
}

size_t hifigan_blas_workspace(void *st)
{
    hgb_state *s = st;
    return hg_bytes(&s->m) + (s->colcap + s->ytcap + s->ycap) * sizeof(float);
}

int hifigan_blas_describe(void *st, char *buf, size_t n)
{
    hgb_state *s = st;
    const char *base = strrchr(s->m.path, '/');
    snprintf(buf, n, "core %s; threads=%d (asked %d); channels: %d; rounds of %d frames; "
             "SGEMMs on aligned tiles of %d steps; weights: %s", openblas_get_corename(),
             openblas_get_num_threads(), s->threads, s->m.ch, BLOCK, TILE,
             base ? base + 1 : s->m.path);
    return 0;
}

int hifigan_blas_stream_begin(void *st, sono_error *err)
{
    (void)err;
    hg_begin(&((hgb_state *)st)->m);
    return 0;
}

int hifigan_blas_push(void *st, long long t0, long long n, int last, sono_buf *out,
                      long long *done, sono_error *err)
{
    (void)last;
    hgb_state *s = st;
    long long before = s->m.node[s->m.nn - 1].done;
    int rc = hg_push(&s->m, t0, n, conv, tconv, s, done, err);
    if (!rc && *done > before)
        memcpy((float *)out->data + before, hg_wave(&s->m) + before,
               (size_t)(*done - before) * sizeof(float));
    return rc;
}
