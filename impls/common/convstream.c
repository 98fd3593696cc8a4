/* convstream.c — the per-layer state of a streamed conv1d (convstream.h): the history
 * buffer, which output steps a chunk completes, and dropping what no later step needs.
 * Conv: output u reads padded steps [u*stride, u*stride + span], so it is complete once
 * step u*stride + span has arrived (the padding is there from the start); transposed:
 * output u sums inputs t with t*stride <= u, complete once step floor(u/stride) has
 * arrived, or at the end for the tail past the last input (non-causal: full length). */
#include <stdlib.h>
#include <string.h>

#include "convstream.h"

static size_t span_of(const nn_conv *c)
{
    return c->dil * (c->k - 1);
}

int nn_cstream_init(nn_cstream *s, const nn_conv *c, size_t block)
{
    memset(s, 0, sizeof *s);
    s->c = *c;
    s->block = block;
    /* after a round the history keeps at most span steps (conv, padding included) or
     * span/stride + 1 (transposed); a round appends at most block */
    s->cap = span_of(c) + 1 + block;
    s->h = calloc(c->cin * s->cap, sizeof(float));
    return s->h ? 0 : SONO_ENOMEM;
}

void nn_cstream_free(nn_cstream *s)
{
    free(s->h);
    s->h = NULL;
}

void nn_cstream_begin(nn_cstream *s)
{
    s->base = 0;
    s->fed = 0;
    s->done = 0;
    s->len = s->c.transposed ? 0 : s->c.pad;
    for (size_t ci = 0; ci < s->c.cin; ci++)
        memset(s->h + ci * s->cap, 0, s->len * sizeof(float));
}

size_t nn_cstream_max_out(const nn_cstream *s)
{
    const nn_conv *c = &s->c;
    /* conv: one output per stride of the history; transposed: stride per input, plus
     * the tail of span + 1 at the end */
    return c->transposed ? (s->block + 1) * c->stride + span_of(c) + 1
                         : s->cap / c->stride + 1;
}

size_t nn_cstream_bytes(const nn_cstream *s)
{
    return s->c.cin * s->cap * sizeof(float);
}

/* Output steps complete once x's first `fed` steps are in (all of them at the end). */
static size_t ready(const nn_cstream *s, int end)
{
    const nn_conv *c = &s->c;
    if (end)
        return c->tout;
    size_t r;
    if (c->transposed) {
        r = s->fed * c->stride; /* u < fed*stride: every input it sums has arrived */
    } else {
        size_t avail = s->fed + c->pad, span = span_of(c);
        r = avail > span ? (avail - span - 1) / c->stride + 1 : 0;
    }
    return r < c->tout ? r : c->tout;
}

/* The first input step output u needs: what the history must keep for it. */
static size_t first_needed(const nn_conv *c, size_t u)
{
    if (!c->transposed)
        return u * c->stride;
    size_t span = span_of(c);
    return u > span ? (u - span + c->stride - 1) / c->stride : 0;
}

static void drop_before(nn_cstream *s, size_t keep)
{
    if (keep <= s->base)
        return;
    size_t gone = keep - s->base < s->len ? keep - s->base : s->len;
    for (size_t ci = 0; ci < s->c.cin && gone < s->len; ci++)
        memmove(s->h + ci * s->cap, s->h + ci * s->cap + gone, (s->len - gone) * sizeof(float));
    s->len -= gone;
    s->base = keep; /* steps in [old end, keep) are never stored: no output reads them */
}

int nn_cstream_push(nn_cstream *s, size_t t0, size_t n, int last, float *y,
                    nn_cstream_kernel k, void *kctx, long long *done, sono_error *err)
{
    const nn_conv *c = &s->c;
    if (t0 != s->fed || n < 1 || t0 + n > c->T)
        return sono_fail(err, SONO_EINVAL, "conv1d stream: push of steps [%zu, %zu) after "
                         "%zu of %zu", t0, t0 + n, s->fed, c->T);
    size_t off = c->transposed ? 0 : c->pad; /* history positions are x's plus off */
    while (n > 0) {
        size_t m = n < s->block ? n : s->block;
        /* append x's steps [t0, t0 + m) at positions from t0 + off; those before base
         * (skipped by a stride past the kernel) are not kept */
        size_t p0 = t0 + off, skip = s->base > p0 ? s->base - p0 : 0;
        if (skip < m) {
            for (size_t ci = 0; ci < c->cin; ci++)
                memcpy(s->h + ci * s->cap + s->len, s->x + ci * c->T + t0 + skip,
                       (m - skip) * sizeof(float));
            s->len += m - skip;
        }
        s->fed += m;
        t0 += m;
        n -= m;
        size_t r = ready(s, last && n == 0);
        if (r > s->done) {
            size_t nu = r - s->done;
            k(kctx, s->h, s->cap, s->base, s->done, nu, y + s->done, c->tout);
            if (c->act != NN_ACT_NONE)
                for (size_t co = 0; co < c->cout; co++)
                    nn_activate(y + co * c->tout + s->done, nu, c->act,
                                c->act == NN_ACT_SNAKE ? s->alpha[co] : 0.0f);
            s->done = r;
        }
        drop_before(s, first_needed(c, s->done));
    }
    *done = (long long)s->done;
    return 0;
}
