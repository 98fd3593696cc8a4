/* conv_naive.c — cpu/naive for conv1d: the definition as direct loops, one output value at
 * a time, float32 sums in tap order; the transposed conv gathers, for each output sample,
 * the input samples whose taps land on it. Streaming (issue 12): convstream.h's history
 * and the same loops over it, so streamed steps equal the offline ones (the causal
 * padding's zeros are added as +0 instead of skipped). Single-threaded; binds the input. */
#include "nndtype.h"
#include "convstream.h"
#include "cpu_impls.h"
#include "nnshape.h"

/* input steps per streaming round: the history is at most this plus the kernel's span */
#define STREAM_BLOCK 1024

typedef struct conv_state {
    nn_conv c;
    const float *x, *w, *b, *alpha; /* into the core's input, bound in load */
    float *y;                       /* [cout, tout] */
    nn_cstream s;                   /* streaming: the layer's history */
    char dtnote[80]; /* issue 26: "dtype: bf16 via fp32 ...", "" at f32 */
} conv_state;

int conv_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    nn_conv c;
    (void)ctx;
    return nn_conv_shape(p, 1, &c, why, n);
}

int conv_naive_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    nn_conv c;
    (void)ctx;
    *stp = NULL;
    if (nn_conv_shape(p, 1, &c, why, sizeof why))
        return sono_fail(err, SONO_EUNSUPPORTED, "cpu/naive conv1d: %s", why);
    conv_state *st = calloc(1, sizeof *st);
    float *y = amalloc(c.cout * c.tout * sizeof(float));
    if (!st || !y) {
        free(st);
        free(y);
        return sono_fail(err, SONO_ENOMEM, "cpu/naive conv1d: no memory for the output "
                         "[%zu, %zu]", c.cout, c.tout);
    }
    st->c = c;
    st->y = y;
    nn_dtype_via_f32(p, st->dtnote, sizeof st->dtnote);
    if (nn_cstream_init(&st->s, &c, STREAM_BLOCK)) {
        conv_naive_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "cpu/naive conv1d: no memory for the stream's "
                         "history [%zu, %zu]", c.cin, c.dil * (c.k - 1) + 1 + STREAM_BLOCK);
    }
    *stp = st;
    return 0;
}

int conv_naive_load(void *vst, const sono_buf *in, sono_error *err)
{
    conv_state *st = vst;
    int rc = nn_check_input("cpu/naive conv1d", in, st->c.nin, err);
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

/* y[co, t] = b + sum_c sum_j W[co, c, j] x[c, t*stride + j*dil - pad] */
static void conv_forward(conv_state *st)
{
    const nn_conv *c = &st->c;
    for (size_t co = 0; co < c->cout; co++) {
        size_t g = co / c->cog;
        for (size_t t = 0; t < c->tout; t++) {
            float acc = st->b[co];
            for (size_t ci = 0; ci < c->cig; ci++) {
                const float *xc = st->x + (g * c->cig + ci) * c->T;
                const float *wc = st->w + (co * c->cig + ci) * c->k;
                for (size_t j = 0; j < c->k; j++) {
                    long long u = (long long)(t * c->stride + j * c->dil) - (long long)c->pad;
                    if (u >= 0 && u < (long long)c->T)
                        acc += wc[j] * xc[u];
                }
            }
            st->y[co * c->tout + t] = acc;
        }
    }
}

/* y[co, u] = b + sum over (c, j, t) with t*stride + j*dil = u of W[c, co, j] x[c, t]:
 * the input steps t whose taps can reach u lie in [(u - span)/stride, u/stride], and
 * t contributes when u - t*stride is a multiple of dil, through tap (u - t*stride)/dil. */
static void conv_transposed(conv_state *st)
{
    const nn_conv *c = &st->c;
    size_t span = c->dil * (c->k - 1);
    for (size_t co = 0; co < c->cout; co++) {
        size_t g = co / c->cog, o = co - g * c->cog;
        for (size_t u = 0; u < c->tout; u++) {
            size_t t_lo = u > span ? (u - span + c->stride - 1) / c->stride : 0;
            size_t t_hi = u / c->stride < c->T - 1 ? u / c->stride : c->T - 1;
            float acc = st->b[co];
            for (size_t ci = g * c->cig; ci < (g + 1) * c->cig; ci++) {
                const float *xc = st->x + ci * c->T;
                const float *wc = st->w + (ci * c->cog + o) * c->k;
                for (size_t t = t_lo; t <= t_hi; t++) {
                    size_t r = u - t * c->stride;
                    if (r % c->dil == 0)
                        acc += wc[r / c->dil] * xc[t];
                }
            }
            st->y[co * c->tout + u] = acc;
        }
    }
}

int conv_naive_run(void *vst)
{
    conv_state *st = vst;
    if (st->c.transposed)
        conv_transposed(st);
    else
        conv_forward(st);
    if (st->c.act != NN_ACT_NONE)
        for (size_t co = 0; co < st->c.cout; co++)
            nn_activate(st->y + co * st->c.tout, st->c.tout, st->c.act,
                        st->c.act == NN_ACT_SNAKE ? st->alpha[co] : 0.0f);
    return 0;
}

int conv_naive_store(void *vst, sono_buf *out, sono_error *err)
{
    conv_state *st = vst;
    size_t n = st->c.cout * st->c.tout;
    int rc = nn_check_output("cpu/naive conv1d", out, n, err);
    if (!rc)
        memcpy(out->data, st->y, n * sizeof(float));
    return rc;
}

void conv_naive_teardown(void *vst)
{
    conv_state *st = vst;
    if (st) {
        free(st->y);
        nn_cstream_free(&st->s);
    }
    free(st);
}

/* Its own output and the stream's history; the input is bound, not copied. */
size_t conv_naive_workspace(void *vst)
{
    const conv_state *st = vst;
    return st->c.cout * st->c.tout * sizeof(float) + nn_cstream_bytes(&st->s);
}

/* conv_forward's loops over the history: padded step u*stride + j*dil at h[... - base]. */
static void stream_forward(void *ctx, const float *h, size_t ld, size_t base, size_t u0,
                           size_t nu, float *y, size_t ldy)
{
    const conv_state *st = ctx;
    const nn_conv *c = &st->c;
    for (size_t co = 0; co < c->cout; co++) {
        size_t g = co / c->cog;
        for (size_t i = 0; i < nu; i++) {
            float acc = st->b[co];
            for (size_t ci = 0; ci < c->cig; ci++) {
                const float *hc = h + (g * c->cig + ci) * ld + (u0 + i) * c->stride - base;
                const float *wc = st->w + (co * c->cig + ci) * c->k;
                for (size_t j = 0; j < c->k; j++)
                    acc += wc[j] * hc[j * c->dil];
            }
            y[co * ldy + i] = acc;
        }
    }
}

/* conv_transposed's loops over the history: input step t at h[t - base]. */
static void stream_transposed(void *ctx, const float *h, size_t ld, size_t base, size_t u0,
                              size_t nu, float *y, size_t ldy)
{
    const conv_state *st = ctx;
    const nn_conv *c = &st->c;
    size_t span = c->dil * (c->k - 1);
    for (size_t co = 0; co < c->cout; co++) {
        size_t g = co / c->cog, o = co - g * c->cog;
        for (size_t i = 0; i < nu; i++) {
            size_t u = u0 + i;
            size_t t_lo = u > span ? (u - span + c->stride - 1) / c->stride : 0;
            size_t t_hi = u / c->stride < c->T - 1 ? u / c->stride : c->T - 1;
            float acc = st->b[co];
            for (size_t ci = g * c->cig; ci < (g + 1) * c->cig; ci++) {
                const float *hc = h + ci * ld;
                const float *wc = st->w + (ci * c->cog + o) * c->k;
                for (size_t t = t_lo; t <= t_hi; t++) {
                    size_t r = u - t * c->stride;
                    if (r % c->dil == 0)
                        acc += wc[r / c->dil] * hc[t - base];
                }
            }
            y[co * ldy + i] = acc;
        }
    }
}

int conv_naive_stream_begin(void *vst, sono_error *err)
{
    conv_state *st = vst;
    (void)err;
    nn_cstream_begin(&st->s);
    return 0;
}

int conv_naive_push(void *vst, long long t0, long long n, int last, sono_buf *out,
                    long long *done, sono_error *err)
{
    conv_state *st = vst;
    int rc = nn_check_output("cpu/naive conv1d", out, st->c.cout * st->c.tout, err);
    if (rc)
        return rc;
    if (t0 < 0 || n < 1)
        return sono_fail(err, SONO_EINVAL, "cpu/naive conv1d: push of %lld steps at %lld",
                         n, t0);
    return nn_cstream_push(&st->s, (size_t)t0, (size_t)n, last, out->data,
                           st->c.transposed ? stream_transposed : stream_forward, st, done,
                           err);
}

/* issue 26: only the dtype the case asked for (empty at f32, as before) */
int conv_naive_describe(void *vst, char *buf, size_t n)
{
    snprintf(buf, n, "%s", ((conv_state *)vst)->dtnote);
    return 0;
}
