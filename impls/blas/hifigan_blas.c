/* hifigan_blas.c — blas/hifigan for vocoder.hifigan: each conv as im2col + SGEMMs over
 * the round's output steps (the leaky ReLU fused into the im2col copy), each transposed
 * conv as SGEMMs of its input steps against all K taps ([C K, cin] x [cin, steps]) then
 * an overlap-add in a fixed order per output; bias, residual and tanh are added by the
 * shared body (impls/common/hifigan_net.c). Offline walks the mel in rounds of 32 frames;
 * a stream's rounds follow its chunks; the GEMMs' tiles are aligned to absolute steps, so
 * both give the same bits. `threads` lanes of a pool share each layer (OpenBLAS runs
 * single-threaded inside them). */
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "blas_impls.h"
#include "hifigan_net.h"
#include "nndtype.h"
#include "pool.h"

#define BLOCK 32

/* Every SGEMM is over one tile of TILE output steps (transposed convs: input steps)
 * aligned to multiples of TILE from step 0, the columns outside the round zero and
 * dropped: an output step is then always column u mod TILE of a GEMM of the same shape,
 * whatever the rounds, so a stream's output equals the offline one bit for bit (the
 * other columns of a GEMM do not enter a column's sums). */
#define TILE 256

/* Threads. OpenBLAS's own threads did not help (0.95x at 2 threads): most layers' GEMMs
 * are small (32..128 rows at the late stages) and the im2col beside them ran on one
 * thread. So the lanes of a pool share each layer, in one of two ways fixed per node (so
 * a stream and offline split a node the same way, whatever their rounds):
 * - tiles: a layer whose round spans at least two tiles per lane gives each lane whole
 *   tiles (i = lane, lane + lanes, ...), each with its own im2col and GEMM buffers; a
 *   tile's GEMM is then the one-thread GEMM, the same bits at any thread count;
 * - rows: the early layers (a round of one to a few tiles, 256..512 channels) go tile by
 *   tile, the lanes filling shares of the im2col rows, then computing shares of the
 *   GEMM's output rows (split at multiples of 16, OpenBLAS's widest row kernel). */
#define ROW_ALIGN 16

enum { JOB_TILES, JOB_FILL, JOB_GEMM, JOB_OLA };

typedef struct hgb_state {
    hg_net m;
    int threads;
    cpu_pool *pool;       /* NULL for one lane */
    float **col, **yt;    /* per lane: a tile's im2col and GEMM output */
    float *ycol;          /* a transposed conv's taps [C K][steps of the round] */
    unsigned char *rows;  /* per node: 1 where the lanes split rows, 0 whole tiles */
    size_t colcap, ytcap, ycap;
    long long done;
    /* the layer the lanes are on */
    const hg_node *n;
    long long u0, u1;     /* its output steps */
    long long t0, t1;     /* a transposed conv's input steps (inclusive) */
    long long a;          /* rows mode: the tile */
    float *y;
} hgb_state;

/* Lane's share [*lo, *hi) of n items, cut at multiples of align. */
static void share(size_t n, int lane, int lanes, size_t align, size_t *lo, size_t *hi)
{
    size_t per = (n + (size_t)lanes - 1) / (size_t)lanes;
    per = (per + align - 1) / align * align;
    *lo = per * (size_t)lane < n ? per * (size_t)lane : n;
    *hi = *lo + per < n ? *lo + per : n;
}

/* A tile's clip of the range [lo, hi) and its zero columns before and after. */
typedef struct tile_span {
    long long lo, hi;
    size_t pre, mid, post;
} tile_span;

static tile_span span_of(long long a, long long r0, long long r1)
{
    tile_span t;
    t.lo = a > r0 ? a : r0;
    t.hi = a + TILE < r1 ? a + TILE : r1;
    t.pre = (size_t)(t.lo - a);
    t.mid = (size_t)(t.hi - t.lo);
    t.post = TILE - t.pre - t.mid;
    return t;
}

/* Conv: im2col rows [r0, r1) (row c K + k) of tile a. */
static void conv_fill(const hg_node *n, tile_span t, float *col, size_t r0, size_t r1)
{
    for (size_t r = r0; r < r1; r++) {
        int c = (int)(r / (size_t)n->K), k = (int)(r % (size_t)n->K);
        float *dst = col + r * TILE;
        memset(dst, 0, t.pre * sizeof(float));
        hg_read_row(n->in, c, t.lo + (long long)k * n->dil - n->pad, t.mid, n->slope,
                    dst + t.pre);
        memset(dst + t.pre + t.mid, 0, t.post * sizeof(float));
    }
}

/* Conv: output rows [o0, o1) of tile a's GEMM, then into y with the bias. */
static void conv_gemm(const hgb_state *s, tile_span t, const float *col, float *yt, size_t o0,
                      size_t o1)
{
    const hg_node *n = s->n;
    size_t len = (size_t)(s->u1 - s->u0), rows = (size_t)n->cin * (size_t)n->K;
    if (o1 <= o0)
        return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(o1 - o0), TILE, (int)rows,
                1.0f, n->w + o0 * rows, (int)rows, col, TILE, 0.0f, yt + o0 * TILE, TILE);
    for (size_t o = o0; o < o1; o++)
        for (size_t j = 0; j < t.mid; j++)
            s->y[o * len + (size_t)(t.lo - s->u0) + j] = yt[o * TILE + t.pre + j] + n->b[o];
}

/* Transposed conv: input rows [c0, c1) of tile a. */
static void tconv_fill(const hg_node *n, tile_span t, float *col, size_t c0, size_t c1)
{
    for (size_t c = c0; c < c1; c++) {
        float *dst = col + c * TILE;
        memset(dst, 0, t.pre * sizeof(float));
        hg_read_row(n->in, (int)c, t.lo, t.mid, n->slope, dst + t.pre);
        memset(dst + t.pre + t.mid, 0, t.post * sizeof(float));
    }
}

/* Transposed conv: tap rows [r0, r1) ([C K]) of tile a's GEMM, into the round's taps. */
static void tconv_gemm(const hgb_state *s, tile_span t, const float *col, float *yt, size_t r0,
                       size_t r1)
{
    const hg_node *n = s->n;
    size_t CK = (size_t)n->C * (size_t)n->K, nt = (size_t)(s->t1 - s->t0 + 1);
    if (r1 <= r0)
        return;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(r1 - r0), TILE, n->cin, 1.0f,
                n->w + r0, (int)CK, col, TILE, 0.0f, yt + r0 * TILE, TILE);
    for (size_t r = r0; r < r1; r++)
        memcpy(s->ycol + r * nt + (size_t)(t.lo - s->t0), yt + r * TILE + t.pre,
               t.mid * sizeof(float));
}

/* Outputs [u0, u1) of channels [o0, o1): output u (full index v = u + pad) adds
 * Y[o K + v - t s][t] over its inputs, t rising. */
static void tconv_ola(const hgb_state *s, size_t o0, size_t o1)
{
    const hg_node *n = s->n;
    long long st = n->stride, K = n->K, t1 = s->t1, t0 = s->t0;
    size_t nt = (size_t)(t1 - t0 + 1), len = (size_t)(s->u1 - s->u0);
    for (size_t o = o0; o < o1; o++)
        for (long long u = s->u0; u < s->u1; u++) {
            long long v = u + n->pad, hi = v / st, lo = v - K + 1 <= 0 ? 0 : (v - K + 1 + st - 1) / st;
            if (hi > t1)
                hi = t1;
            float acc = n->b[o];
            for (long long t = lo; t <= hi; t++)
                acc += s->ycol[(o * (size_t)K + (size_t)(v - t * st)) * nt + (size_t)(t - t0)];
            s->y[o * len + (size_t)(u - s->u0)] = acc;
        }
}

/* The range the current layer's tiles cover: output steps, or a transposed conv's inputs. */
static void tiled_range(const hgb_state *s, long long *r0, long long *r1)
{
    int t = s->n->kind == HG_TCONV;
    *r0 = t ? s->t0 : s->u0;
    *r1 = t ? s->t1 + 1 : s->u1;
}

static void lane_job(void *ctx, int job, int lane)
{
    hgb_state *s = ctx;
    const hg_node *n = s->n;
    int lanes = s->threads, tc = n->kind == HG_TCONV;
    long long r0, r1;
    tiled_range(s, &r0, &r1);
    size_t lo, hi;
    if (job == JOB_TILES) { /* whole tiles, i = lane, lane + lanes, ... */
        size_t fill = tc ? (size_t)n->cin : (size_t)n->cin * (size_t)n->K;
        size_t out = tc ? (size_t)n->C * (size_t)n->K : (size_t)n->C;
        long long first = r0 / TILE * TILE + (long long)lane * TILE;
        for (long long a = first; a < r1; a += (long long)lanes * TILE) {
            tile_span t = span_of(a, r0, r1);
            if (tc) {
                tconv_fill(n, t, s->col[lane], 0, fill);
                tconv_gemm(s, t, s->col[lane], s->yt[lane], 0, out);
            } else {
                conv_fill(n, t, s->col[lane], 0, fill);
                conv_gemm(s, t, s->col[lane], s->yt[lane], 0, out);
            }
        }
    } else if (job == JOB_FILL) { /* rows mode: a share of tile a's im2col rows */
        tile_span t = span_of(s->a, r0, r1);
        if (tc) {
            share((size_t)n->cin, lane, lanes, 1, &lo, &hi);
            tconv_fill(n, t, s->col[0], lo, hi);
        } else {
            share((size_t)n->cin * (size_t)n->K, lane, lanes, 1, &lo, &hi);
            conv_fill(n, t, s->col[0], lo, hi);
        }
    } else if (job == JOB_GEMM) { /* rows mode: a share of tile a's output rows */
        tile_span t = span_of(s->a, r0, r1);
        if (tc) {
            share((size_t)n->C * (size_t)n->K, lane, lanes, ROW_ALIGN, &lo, &hi);
            tconv_gemm(s, t, s->col[0], s->yt[0], lo, hi);
        } else {
            share((size_t)n->C, lane, lanes, ROW_ALIGN, &lo, &hi);
            conv_gemm(s, t, s->col[0], s->yt[0], lo, hi);
        }
    } else { /* JOB_OLA: a transposed conv's overlap-add, a share of the channels */
        share((size_t)n->C, lane, lanes, 1, &lo, &hi);
        tconv_ola(s, lo, hi);
    }
}

static void run_job(hgb_state *s, int job)
{
    if (s->pool)
        cpu_pool_run(s->pool, job);
    else
        lane_job(s, job, 0);
}

/* The current layer's tiles, whole per lane or row by row (fixed per node). */
static void tiles(hgb_state *s)
{
    if (!s->rows[s->n - s->m.node]) {
        run_job(s, JOB_TILES);
        return;
    }
    long long r0, r1;
    tiled_range(s, &r0, &r1);
    for (s->a = r0 / TILE * TILE; s->a < r1; s->a += TILE) {
        run_job(s, JOB_FILL);
        run_job(s, JOB_GEMM);
    }
}

static void conv(void *ctx, const hg_node *n, long long u0, long long u1, float *y)
{
    hgb_state *s = ctx;
    s->n = n;
    s->u0 = u0;
    s->u1 = u1;
    s->y = y;
    tiles(s);
}

/* Inputs t0..t1 feed outputs [u0, u1): Y[o K + k][t] = sum_c W[c][o][k] x[c][t] by tiles
 * of input steps, then the overlap-add. */
static void tconv(void *ctx, const hg_node *n, long long u0, long long u1, float *y)
{
    hgb_state *s = ctx;
    long long st = n->stride, K = n->K, v0 = u0 + n->pad, v1 = u1 - 1 + n->pad;
    s->n = n;
    s->u0 = u0;
    s->u1 = u1;
    s->y = y;
    s->t0 = v0 - K + 1 <= 0 ? 0 : (v0 - K + 1 + st - 1) / st;
    s->t1 = v1 / st;
    if (s->t1 > n->in->T - 1)
        s->t1 = n->in->T - 1;
    tiles(s);
    run_job(s, JOB_OLA);
}

int hifigan_blas_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    long long th = sono_param_int(p, "threads", 1);
    if (th < 1 || th > 1024) {
        snprintf(why, n, "threads=%lld is not in 1..1024", th);
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
    cpu_pool_free(s->pool);
    hg_free(&s->m);
    for (int l = 0; s->col && l < s->threads; l++) {
        free(s->col[l]);
        free(s->yt[l]);
    }
    free(s->col);
    free(s->yt);
    free(s->ycol);
    free(s->rows);
    free(s);
}

/* Tiles a round of node n can span (its rounds start anywhere, hence the one more). */
static size_t round_tiles(const hg_node *n)
{
    size_t steps = n->kind == HG_TCONV ? n->round / (size_t)n->stride + (size_t)n->K + 2
                                       : n->round;
    return (steps + TILE - 1) / TILE + 1;
}

int hifigan_blas_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    (void)ctx;
    hgb_state *s = calloc(1, sizeof *s);
    if (!s)
        return sono_fail(err, SONO_ENOMEM, "blas/hifigan: out of memory");
    s->threads = (int)sono_param_int(p, "threads", 1);
    int rc = hg_load(p, &s->m, BLOCK, err);
    if (!rc && !(s->rows = calloc((size_t)s->m.nn, 1)))
        rc = sono_fail(err, SONO_ENOMEM, "blas/hifigan: out of memory");
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
        s->rows[i] = s->threads > 1 && round_tiles(n) < 2 * (size_t)s->threads;
        s->colcap = c > s->colcap ? c : s->colcap;
        s->ytcap = yt > s->ytcap ? yt : s->ytcap;
        s->ycap = y > s->ycap ? y : s->ycap;
    }
    if (!rc && (!(s->col = calloc((size_t)s->threads, sizeof *s->col)) ||
                !(s->yt = calloc((size_t)s->threads, sizeof *s->yt)) ||
                !(s->ycol = malloc((s->ycap ? s->ycap : 1) * sizeof(float)))))
        rc = sono_fail(err, SONO_ENOMEM, "blas/hifigan: out of memory");
    for (int l = 0; !rc && l < s->threads; l++)
        if (!(s->col[l] = malloc(s->colcap * sizeof(float))) ||
            !(s->yt[l] = malloc(s->ytcap * sizeof(float))))
            rc = sono_fail(err, SONO_ENOMEM, "blas/hifigan: out of memory for lane %d", l);
    if (!rc && s->threads > 1)
        rc = cpu_pool_new(s->threads, lane_job, s, "blas/hifigan", &s->pool, err);
    if (rc) {
        hifigan_blas_teardown(s);
        return rc;
    }
    openblas_set_num_threads(1); /* the lanes are the threads */
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
    return hg_bytes(&s->m) + cpu_pool_bytes(s->pool) +
           ((s->colcap + s->ytcap) * (size_t)s->threads + s->ycap) * sizeof(float);
}

int hifigan_blas_describe(void *st, char *buf, size_t n)
{
    hgb_state *s = st;
    const char *base = strrchr(s->m.path, '/');
    int split = 0;
    for (int i = 0; i < s->m.nn; i++)
        split += s->rows[i];
    snprintf(buf, n, "core %s; threads=%d (a pool of %d lanes, OpenBLAS at %d); channels: %d; "
             "rounds of %d frames; SGEMMs on aligned tiles of %d steps; layers split by rows: "
             "%d of %d, the rest by tiles; weights: %s", openblas_get_corename(), s->threads,
             cpu_pool_threads(s->pool) + 1, openblas_get_num_threads(), s->m.ch, BLOCK, TILE,
             split, s->m.nn, base ? base + 1 : s->m.path);
    nn_dtype_append(buf, n, s->m.dtnote); /* issue 26: float32 SGEMM on rounded inputs */
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
