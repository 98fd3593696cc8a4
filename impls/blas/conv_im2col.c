/* conv_im2col.c — blas/im2col for conv1d: per group, the taps of a chunk of output steps
 * laid out as a matrix (im2col) and one SGEMM with the weights; pointwise convs (kernel 1,
 * stride 1) multiply x directly. Transposed convs run the SGEMM first (W_g^T X_g: every
 * input sample times every tap) and scatter-add the products into the output (col2im).
 * Chunks keep the column buffer near 4 MiB whatever the length; bias and activation are
 * one pass over the output at the end. Streaming (issue 12): convstream.h's history per
 * layer; each round's complete output steps are one im2col + SGEMM (conv) or SGEMM +
 * col2im over the inputs they read (transposed). Threads, offline convs: lanes of a pool
 * take (group, chunk) pairs from a shared counter, each with its own column buffer and
 * OpenBLAS single-threaded, then rows of the bias and activation pass (with OpenBLAS's
 * threads inside each SGEMM the columns and the ELU stayed on one thread: 1.12x at 2).
 * Transposed convs (their scatter-adds overlap between chunks) and streams: OpenBLAS's. */
#include <cblas.h>
#include <stdatomic.h>
#include <string.h>

#include "nndtype.h"
#include "blas_impls.h"
#include "convstream.h"
#include "nnshape.h"
#include "pool.h"

enum { JOB_CONV, JOB_POST };

/* Floats in the column buffer: 4 MiB, about an L2 + L3 share on current x86. With lanes,
 * each lane's buffer is kept within its core's L2 (512 KiB): on the 2-core VM the 4 MiB
 * buffers of two lanes went through the shared L3 and 2 threads measured 1.0-1.7x, the
 * L2-sized ones 1.8-2.5x (suites/threads' conv1d, 2 runs each; 1 thread is noisier there
 * and keeps the 4 MiB). */
#define COL_FLOATS (1u << 20)
#define LANE_COL_FLOATS (1u << 17)

typedef struct im2col_state {
    nn_conv c;
    int threads;
    const float *x, *w, *b, *alpha;
    float *y;      /* [cout, tout] */
    float *col;    /* [rows, chunk] */
    size_t rows;   /* conv: cig*k; transposed: cog*k */
    size_t chunk;  /* columns per SGEMM: output steps (conv) or input steps (transposed) */
    int direct;    /* pointwise: B is x itself */
    nn_cstream s;  /* streaming: the layer's history */
    float *scol;   /* streaming: [rows, scols] */
    size_t scols;  /* streaming: most columns of a round */
    char dtnote[80]; /* issue 26: "dtype: bf16 via fp32 ...", "" at f32 */
    cpu_pool *pool;  /* offline convs with threads > 1 */
    float **lcol;    /* [threads]: the lanes' column buffers (lane 0's is col) */
    atomic_size_t item; /* the next (group, chunk) a lane takes */
    int blas_threads;   /* what OpenBLAS was last set to */
} im2col_state;

static void lane_job(void *ctx, int job, int lane);

/* The setting is the process's: each mode sets it when it changes. */
static void use_blas_threads(im2col_state *st, int n)
{
    if (st->blas_threads != n)
        openblas_set_num_threads(n);
    st->blas_threads = n;
}

int blas_threads_ok(const sono_params *p, char *why, size_t n)
{
    long long t = sono_param_int(p, "threads", 1);
    if (t > 1 && openblas_get_parallel() == 0) {
        snprintf(why, n, "this OpenBLAS is the sequential build; threads=%lld needs the "
                 "pthread or OpenMP one", t);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

int im2col_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    nn_conv c;
    (void)ctx;
    int rc = nn_conv_shape(p, 1024, &c, why, n);
    if (!rc && (c.cig * c.k > INT32_MAX || c.cog * c.k > INT32_MAX || c.T > INT32_MAX ||
                c.tout > INT32_MAX)) {
        snprintf(why, n, "a matrix dimension exceeds INT_MAX (CBLAS takes int)");
        return SONO_EUNSUPPORTED;
    }
    return rc ? rc : blas_threads_ok(p, why, n);
}

void im2col_teardown(void *vst)
{
    im2col_state *st = vst;
    if (st) {
        cpu_pool_free(st->pool);
        for (int i = 1; st->lcol && i < st->threads; i++)
            free(st->lcol[i]);
        free(st->lcol);
        free(st->y);
        free(st->col);
        free(st->scol);
        nn_cstream_free(&st->s);
    }
    free(st);
}

int im2col_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    int rc;
    *stp = NULL;
    if ((rc = im2col_supports(ctx, p, why, sizeof why)))
        return sono_fail(err, rc, "blas/im2col: %s", why);
    im2col_state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "blas/im2col: no memory for its state");
    nn_dtype_via_f32(p, st->dtnote, sizeof st->dtnote);
    nn_conv_shape(p, 1024, &st->c, why, sizeof why);
    const nn_conv *c = &st->c;
    st->threads = (int)sono_param_int(p, "threads", 1);
    st->rows = (c->transposed ? c->cog : c->cig) * c->k;
    size_t steps = c->transposed ? c->T : c->tout;
    st->chunk = COL_FLOATS / st->rows;
    st->chunk = st->chunk < 64 ? 64 : st->chunk > steps ? steps : st->chunk;
    int lanes = st->threads > 1 && !c->transposed;
    if (lanes) { /* an L2's worth per lane, and at least a chunk per lane */
        size_t per = (steps + (size_t)st->threads - 1) / (size_t)st->threads,
               l2 = LANE_COL_FLOATS / st->rows;
        per = per < l2 ? per : l2;
        st->chunk = st->chunk > per ? (per < 64 ? 64 : per) : st->chunk;
        st->chunk = st->chunk > steps ? steps : st->chunk;
    }
    st->direct = !c->transposed && c->k == 1 && c->stride == 1;
    st->y = blas_alloc(c->cout * c->tout * sizeof(float));
    st->col = st->direct ? NULL : blas_alloc(st->rows * st->chunk * sizeof(float));
    if (!st->y || (!st->direct && !st->col)) {
        size_t rows = st->rows, chunk = st->chunk, cout = c->cout, tout = c->tout;
        im2col_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "blas/im2col: no memory for the output [%zu, %zu] "
                         "and a column buffer [%zu, %zu]", cout, tout, rows, chunk);
    }
    if (lanes) {
        int ok = (st->lcol = calloc((size_t)st->threads, sizeof *st->lcol)) != NULL;
        if (ok)
            st->lcol[0] = st->col;
        for (int i = 1; ok && !st->direct && i < st->threads; i++)
            ok = (st->lcol[i] = blas_alloc(st->rows * st->chunk * sizeof(float))) != NULL;
        if (!ok)
            rc = sono_fail(err, SONO_ENOMEM, "blas/im2col: no memory for %d column buffers",
                           st->threads);
        if (!rc)
            rc = cpu_pool_new(st->threads, lane_job, st, "blas/im2col", &st->pool, err);
        if (rc) {
            im2col_teardown(st);
            return rc;
        }
    }
    use_blas_threads(st, st->pool ? 1 : st->threads);
    *stp = st;
    return 0;
}

int im2col_load(void *vst, const sono_buf *in, sono_error *err)
{
    im2col_state *st = vst;
    int rc = nn_check_input("blas/im2col conv1d", in, st->c.nin, err);
    if (rc)
        return rc;
    st->x = in->data;
    st->w = st->x + st->c.nx;
    st->b = st->w + st->c.nw;
    st->alpha = st->b + st->c.cout;
    st->s.x = st->x;
    st->s.alpha = st->alpha;
    return 0;
}

/* col[(ci*k + j), tt] = x[g*cig + ci, (t0 + tt)*stride + j*dil - pad], 0 outside x. */
static void fill_cols(const im2col_state *st, float *col, size_t g, size_t t0, size_t nt)
{
    const nn_conv *c = &st->c;
    for (size_t ci = 0; ci < c->cig; ci++) {
        const float *xc = st->x + (g * c->cig + ci) * c->T;
        for (size_t j = 0; j < c->k; j++) {
            float *row = col + (ci * c->k + j) * nt;
            long long u = (long long)(t0 * c->stride + j * c->dil) - (long long)c->pad;
            for (size_t tt = 0; tt < nt; tt++, u += (long long)c->stride)
                row[tt] = u >= 0 && u < (long long)c->T ? xc[u] : 0.0f;
        }
    }
}

/* Output steps [t0, t0 + nt) of group g: im2col into col, then one SGEMM (pointwise: x's
 * columns as they are). */
static void forward_chunk(const im2col_state *st, float *col, size_t g, size_t t0, size_t nt)
{
    const nn_conv *c = &st->c;
    int kk = (int)(c->cig * c->k);
    const float *wg = st->w + g * c->cog * c->cig * c->k;
    float *yg = st->y + g * c->cog * c->tout;
    if (st->direct) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)c->cog, (int)nt, kk, 1.0f,
                    wg, kk, st->x + g * c->cig * c->T + t0, (int)c->T, 0.0f, yg + t0,
                    (int)c->tout);
        return;
    }
    fill_cols(st, col, g, t0, nt);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)c->cog, (int)nt, kk, 1.0f, wg,
                kk, col, (int)nt, 0.0f, yg + t0, (int)c->tout);
}

static void forward(im2col_state *st)
{
    const nn_conv *c = &st->c;
    for (size_t g = 0; g < c->groups; g++) {
        if (st->direct) { /* one SGEMM over every step */
            forward_chunk(st, NULL, g, 0, c->tout);
            continue;
        }
        for (size_t t0 = 0; t0 < c->tout; t0 += st->chunk)
            forward_chunk(st, st->col, g, t0, c->tout - t0 < st->chunk ? c->tout - t0 : st->chunk);
    }
}

/* Output rows [co0, co1): the bias, then the activation. */
static void post(const im2col_state *st, size_t co0, size_t co1)
{
    const nn_conv *c = &st->c;
    for (size_t co = co0; co < co1; co++) {
        float *yr = st->y + co * c->tout, b = st->b[co];
        for (size_t t = 0; t < c->tout; t++)
            yr[t] += b;
        if (c->act != NN_ACT_NONE)
            nn_activate(yr, c->tout, c->act, c->act == NN_ACT_SNAKE ? st->alpha[co] : 0.0f);
    }
}

static void lane_job(void *ctx, int job, int lane)
{
    im2col_state *st = ctx;
    const nn_conv *c = &st->c;
    if (job == JOB_POST) {
        size_t per = (c->cout + (size_t)st->threads - 1) / (size_t)st->threads,
               co0 = per * (size_t)lane < c->cout ? per * (size_t)lane : c->cout;
        post(st, co0, co0 + per < c->cout ? co0 + per : c->cout);
        return;
    }
    size_t nch = (c->tout + st->chunk - 1) / st->chunk, items = c->groups * nch;
    for (;;) {
        size_t i = atomic_fetch_add_explicit(&st->item, 1, memory_order_relaxed);
        if (i >= items)
            return;
        size_t g = i / nch, t0 = (i % nch) * st->chunk;
        forward_chunk(st, st->lcol[lane], g, t0,
                      c->tout - t0 < st->chunk ? c->tout - t0 : st->chunk);
    }
}

/* cols = W_g^T X_g for input steps [t0, t0+nt): cols[(o*k + j), tt] is what input step
 * t0+tt adds through tap j to output (o, (t0+tt)*stride + j*dil); then scattered. */
static void transposed(im2col_state *st)
{
    const nn_conv *c = &st->c;
    int m = (int)(c->cog * c->k);
    for (size_t co = 0; co < c->cout; co++)
        for (size_t u = 0; u < c->tout; u++)
            st->y[co * c->tout + u] = 0.0f;
    for (size_t g = 0; g < c->groups; g++) {
        const float *wg = st->w + g * c->cig * c->cog * c->k;
        for (size_t t0 = 0; t0 < c->T; t0 += st->chunk) {
            size_t nt = c->T - t0 < st->chunk ? c->T - t0 : st->chunk;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, (int)nt, (int)c->cig,
                        1.0f, wg, m, st->x + g * c->cig * c->T + t0, (int)c->T, 0.0f,
                        st->col, (int)nt);
            for (size_t o = 0; o < c->cog; o++) {
                float *yo = st->y + (g * c->cog + o) * c->tout;
                for (size_t j = 0; j < c->k; j++) {
                    const float *row = st->col + (o * c->k + j) * nt;
                    size_t u = t0 * c->stride + j * c->dil;
                    for (size_t tt = 0; tt < nt && u < c->tout; tt++, u += c->stride)
                        yo[u] += row[tt];
                }
            }
        }
    }
}

int im2col_run(void *vst)
{
    im2col_state *st = vst;
    const nn_conv *c = &st->c;
    use_blas_threads(st, st->pool ? 1 : st->threads);
    if (st->pool) {
        atomic_store(&st->item, 0);
        cpu_pool_run(st->pool, JOB_CONV);
        cpu_pool_run(st->pool, JOB_POST);
        return 0;
    }
    if (c->transposed)
        transposed(st);
    else
        forward(st);
    post(st, 0, c->cout);
    return 0;
}

int im2col_store(void *vst, sono_buf *out, sono_error *err)
{
    im2col_state *st = vst;
    size_t n = st->c.cout * st->c.tout;
    int rc = nn_check_output("blas/im2col conv1d", out, n, err);
    if (!rc)
        memcpy(out->data, st->y, n * sizeof(float));
    return rc;
}

int im2col_describe(void *vst, char *buf, size_t n)
{
    const im2col_state *st = vst;
    snprintf(buf, n, "%s; %zu SGEMM(s) per group of %zu x %zu x %zu%s; %s threads=%d",
             st->c.transposed ? "SGEMM then col2im scatter-add" : "im2col then SGEMM",
             st->direct ? 1 : ((st->c.transposed ? st->c.T : st->c.tout) + st->chunk - 1) /
                                  st->chunk,
             st->c.transposed ? st->rows : st->c.cog, st->direct ? st->c.tout : st->chunk,
             st->c.transposed ? st->c.cig : st->rows,
             st->direct ? " (pointwise: x used as is)" : "",
             st->pool ? "offline a pool of lanes taking (group, chunk) pairs, OpenBLAS at 1;"
                      : "OpenBLAS",
             st->threads);
    nn_dtype_append(buf, n, st->dtnote);
    return 0;
}

/* The output and the column buffer; once streamed, the history and its column buffer. The
 * input is bound, not copied. */
size_t im2col_workspace(void *vst)
{
    const im2col_state *st = vst;
    size_t stream = st->scol ? nn_cstream_bytes(&st->s) + st->rows * st->scols * sizeof(float)
                             : 0;
    size_t cols = st->direct ? 0 : st->rows * st->chunk * (st->pool ? (size_t)st->threads : 1);
    return (st->c.cout * st->c.tout + cols) * sizeof(float) + stream + cpu_pool_bytes(st->pool);
}

/* Output steps [u0, u0 + nu): their taps from the history into columns, one SGEMM per
 * group, then the bias, as forward() and im2col_run() do offline. */
static void stream_forward(void *ctx, const float *h, size_t ld, size_t base, size_t u0,
                           size_t nu, float *y, size_t ldy)
{
    im2col_state *st = ctx;
    const nn_conv *c = &st->c;
    int kk = (int)(c->cig * c->k);
    for (size_t g = 0; g < c->groups; g++) {
        for (size_t ci = 0; ci < c->cig; ci++) {
            const float *hc = h + (g * c->cig + ci) * ld + u0 * c->stride - base;
            for (size_t j = 0; j < c->k; j++) {
                float *row = st->scol + (ci * c->k + j) * nu;
                for (size_t i = 0; i < nu; i++)
                    row[i] = hc[i * c->stride + j * c->dil];
            }
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)c->cog, (int)nu, kk, 1.0f,
                    st->w + g * c->cog * c->cig * c->k, kk, st->scol, (int)nu, 0.0f,
                    y + g * c->cog * ldy, (int)ldy);
    }
    for (size_t co = 0; co < c->cout; co++)
        for (size_t i = 0; i < nu; i++)
            y[co * ldy + i] += st->b[co];
}

/* Output steps [u0, u0 + nu) of a transposed conv: W_g^T times the inputs they read,
 * scattered onto the zeroed outputs (taps landing outside the run belong to other
 * rounds' steps and are dropped), then the bias. */
static void stream_transposed(void *ctx, const float *h, size_t ld, size_t base, size_t u0,
                              size_t nu, float *y, size_t ldy)
{
    im2col_state *st = ctx;
    const nn_conv *c = &st->c;
    size_t span = c->dil * (c->k - 1), last = u0 + nu - 1;
    size_t tlo = u0 > span ? (u0 - span + c->stride - 1) / c->stride : 0;
    size_t thi = last / c->stride < c->T - 1 ? last / c->stride : c->T - 1;
    size_t nt = thi + 1 - tlo;
    int m = (int)(c->cog * c->k);
    for (size_t co = 0; co < c->cout; co++)
        memset(y + co * ldy, 0, nu * sizeof(float));
    for (size_t g = 0; g < c->groups; g++) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, (int)nt, (int)c->cig, 1.0f,
                    st->w + g * c->cig * c->cog * c->k, m, h + g * c->cig * ld + tlo - base,
                    (int)ld, 0.0f, st->scol, (int)nt);
        for (size_t o = 0; o < c->cog; o++) {
            float *yo = y + (g * c->cog + o) * ldy;
            for (size_t j = 0; j < c->k; j++) {
                const float *row = st->scol + (o * c->k + j) * nt;
                for (size_t tt = 0; tt < nt; tt++) {
                    size_t u = (tlo + tt) * c->stride + j * c->dil;
                    if (u >= u0 && u <= last)
                        yo[u - u0] += row[tt];
                }
            }
        }
    }
    for (size_t co = 0; co < c->cout; co++)
        for (size_t i = 0; i < nu; i++)
            y[co * ldy + i] += st->b[co];
}

/* The history and the column buffer are made on the first stream, so offline cases carry
 * neither; a round takes enough input steps to keep the columns near COL_FLOATS. */
int im2col_stream_begin(void *vst, sono_error *err)
{
    im2col_state *st = vst;
    const nn_conv *c = &st->c;
    if (!st->scol) {
        size_t block = COL_FLOATS / st->rows / (c->transposed ? 1 : c->stride + 1);
        block = block < 16 ? 16 : block > 4096 ? 4096 : block;
        if (nn_cstream_init(&st->s, c, block))
            return sono_fail(err, SONO_ENOMEM, "blas/im2col: no memory for the stream's "
                             "history [%zu, %zu]", c->cin, c->dil * (c->k - 1) + 1 + block);
        st->s.x = st->x;
        st->s.alpha = st->alpha;
        /* conv: one column per output step of a round; transposed: per input step read */
        st->scols = c->transposed ? st->s.cap : nn_cstream_max_out(&st->s);
        st->scol = blas_alloc(st->rows * st->scols * sizeof(float));
        if (!st->scol)
            return sono_fail(err, SONO_ENOMEM, "blas/im2col: no memory for the stream's "
                             "columns [%zu, %zu]", st->rows, st->scols);
    }
    use_blas_threads(st, st->threads);
    nn_cstream_begin(&st->s);
    return 0;
}

int im2col_push(void *vst, long long t0, long long n, int last, sono_buf *out,
                long long *done, sono_error *err)
{
    im2col_state *st = vst;
    int rc = nn_check_output("blas/im2col conv1d", out, st->c.cout * st->c.tout, err);
    if (rc)
        return rc;
    if (t0 < 0 || n < 1)
        return sono_fail(err, SONO_EINVAL, "blas/im2col conv1d: push of %lld steps at %lld",
                         n, t0);
    return nn_cstream_push(&st->s, (size_t)t0, (size_t)n, last, out->data,
                           st->c.transposed ? stream_transposed : stream_forward, st, done,
                           err);
}
