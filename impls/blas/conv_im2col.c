/* conv_im2col.c — blas/im2col for conv1d: per group, the taps of a chunk of output steps
 * laid out as a matrix (im2col) and one SGEMM with the weights; pointwise convs (kernel 1,
 * stride 1) multiply x directly. Transposed convs run the SGEMM first (W_g^T X_g: every
 * input sample times every tap) and scatter-add the products into the output (col2im).
 * Chunks keep the column buffer near 4 MiB whatever the length; bias and activation are
 * one pass over the output at the end. Streaming (issue 12): convstream.h's history per
 * layer; each round's complete output steps are one im2col + SGEMM (conv) or SGEMM +
 * col2im over the inputs they read (transposed). Threads: OpenBLAS's, inside each SGEMM. */
#include <cblas.h>
#include <string.h>

#include "nndtype.h"
#include "blas_impls.h"
#include "convstream.h"
#include "nnshape.h"

/* Floats in the column buffer: 4 MiB, about an L2 + L3 share on current x86. */
#define COL_FLOATS (1u << 20)

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
} im2col_state;

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
    st->direct = !c->transposed && c->k == 1 && c->stride == 1;
    st->y = blas_alloc(c->cout * c->tout * sizeof(float));
    st->col = st->direct ? NULL : blas_alloc(st->rows * st->chunk * sizeof(float));
    if (!st->y || (!st->direct && !st->col)) {
        size_t rows = st->rows, chunk = st->chunk, cout = c->cout, tout = c->tout;
        im2col_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "blas/im2col: no memory for the output [%zu, %zu] "
                         "and a column buffer [%zu, %zu]", cout, tout, rows, chunk);
    }
    openblas_set_num_threads(st->threads);
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
static void fill_cols(im2col_state *st, size_t g, size_t t0, size_t nt)
{
    const nn_conv *c = &st->c;
    for (size_t ci = 0; ci < c->cig; ci++) {
        const float *xc = st->x + (g * c->cig + ci) * c->T;
        for (size_t j = 0; j < c->k; j++) {
            float *row = st->col + (ci * c->k + j) * nt;
            long long u = (long long)(t0 * c->stride + j * c->dil) - (long long)c->pad;
            for (size_t tt = 0; tt < nt; tt++, u += (long long)c->stride)
                row[tt] = u >= 0 && u < (long long)c->T ? xc[u] : 0.0f;
        }
    }
}

static void forward(im2col_state *st)
{
    const nn_conv *c = &st->c;
    int kk = (int)(c->cig * c->k);
    for (size_t g = 0; g < c->groups; g++) {
        const float *wg = st->w + g * c->cog * c->cig * c->k;
        float *yg = st->y + g * c->cog * c->tout;
        if (st->direct) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)c->cog, (int)c->tout,
                        kk, 1.0f, wg, kk, st->x + g * c->cig * c->T, (int)c->T, 0.0f, yg,
                        (int)c->tout);
            continue;
        }
        for (size_t t0 = 0; t0 < c->tout; t0 += st->chunk) {
            size_t nt = c->tout - t0 < st->chunk ? c->tout - t0 : st->chunk;
            fill_cols(st, g, t0, nt);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)c->cog, (int)nt, kk,
                        1.0f, wg, kk, st->col, (int)nt, 0.0f, yg + t0, (int)c->tout);
        }
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
    if (c->transposed)
        transposed(st);
    else
        forward(st);
    for (size_t co = 0; co < c->cout; co++) {
        float *yr = st->y + co * c->tout, b = st->b[co];
        for (size_t t = 0; t < c->tout; t++)
            yr[t] += b;
        if (c->act != NN_ACT_NONE)
            nn_activate(yr, c->tout, c->act, c->act == NN_ACT_SNAKE ? st->alpha[co] : 0.0f);
    }
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
    snprintf(buf, n, "%s; %zu SGEMM(s) per group of %zu x %zu x %zu%s; OpenBLAS threads=%d",
             st->c.transposed ? "SGEMM then col2im scatter-add" : "im2col then SGEMM",
             st->direct ? 1 : ((st->c.transposed ? st->c.T : st->c.tout) + st->chunk - 1) /
                                  st->chunk,
             st->c.transposed ? st->rows : st->c.cog, st->direct ? st->c.tout : st->chunk,
             st->c.transposed ? st->c.cig : st->rows,
             st->direct ? " (pointwise: x used as is)" : "", openblas_get_num_threads());
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
    return (st->c.cout * st->c.tout + (st->direct ? 0 : st->rows * st->chunk)) *
               sizeof(float) + stream;
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
