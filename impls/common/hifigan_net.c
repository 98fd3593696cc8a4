/* hifigan_net.c — vocoder.hifigan's shared impl body (hifigan_net.h): params, weights by
 * SpeechT5HifiGan's names, the layer graph with its rings, and the round-by-round walk that
 * computes whatever each layer's inputs now determine. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "encodec_st.h"
#include "hifigan_net.h"
#include "nndtype.h"

#define MELS 80
#define HOP 256
static const int rates[4] = {8, 8, 2, 2}, ukern[4] = {16, 16, 4, 4};
static const int rkern[3] = {3, 7, 11}, dils[3] = {1, 3, 5};

int hg_dims(const sono_params *p, hg_net *m, char *why, size_t n)
{
    memset(m, 0, sizeof *m);
    nn_dtype_via_f32(p, m->dtnote, sizeof m->dtnote);
    const char *c = sono_param_str(p, "config", "v1");
    m->ch = !strcmp(c, "v1") ? 512 : !strcmp(c, "v2") ? 128 : !strcmp(c, "custom")
                                                                   ? (int)sono_param_int(p, "channels", 32)
                                                                   : 0;
    if (m->ch < 16 || m->ch % 16) {
        snprintf(why, n, "vocoder.hifigan: config=%s, channels %d not supported", c, m->ch);
        return -1;
    }
    m->frames = sono_param_int(p, "frames", 862);
    m->samples = m->frames * HOP;
    const char *w = sono_param_str(p, "weights", "random");
    if (strcmp(w, "random") != 0) {
        snprintf(m->path, sizeof m->path, "%s", w);
        return 0;
    }
    const char *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
    char base[4096];
    if (x && *x)
        snprintf(base, sizeof base, "%s", x);
    else if (h && *h)
        snprintf(base, sizeof base, "%s/.cache", h);
    else
        snprintf(base, sizeof base, "build/cache");
    snprintf(m->path, sizeof m->path, "%s/sonobench/hifigan-ch%d-random-v1-seed%lld"
             ".safetensors", base, m->ch, sono_param_int(p, "seed", 1));
    FILE *f = fopen(m->path, "rb");
    if (!f) {
        snprintf(why, n, "weights=random: %s not written yet (the op writes it)", m->path);
        return -1;
    }
    fclose(f);
    return 0;
}

/* Ring slots for a node at f output steps per mel frame: a round's new steps (block
 * frames plus the look-ahead a final round releases, under 16 frames) and the history
 * its consumers read (the widest dilated pad, 25, and the resblocks' lag, under 512). */
static size_t cap_for(long long block, long long f, long long T)
{
    long long c = (block + 16) * f + 512;
    return (size_t)(c < T ? c : T > 0 ? T : 1);
}

static hg_node *add(hg_net *m, int kind, int C, long long T, long long f, long long block)
{
    hg_node *n = &m->node[m->nn++];
    n->kind = kind;
    n->C = C;
    n->T = T;
    n->cap = n->round = cap_for(block, f, T);
    n->slope = 1.0f;
    return n;
}

/* Read tensor `name` of the given shape into the pool at *at. */
static int get(est_file *f, const char *name, long long a, long long b, long long c,
               float *pool, size_t *at, const float **out, sono_error *err)
{
    long long sh[3] = {a, b, c};
    int nd = c ? 3 : 1;
    int rc = est_get(f, name, nd, sh, pool + *at, err);
    if (rc == SONO_ENOTFOUND)
        rc = SONO_EINVAL; /* a missing tensor is a bad weights file: exit 2 */
    *out = pool + *at;
    *at += (size_t)(a * (b ? b : 1) * (c ? c : 1));
    return rc;
}

int hg_load(const sono_params *p, hg_net *m, long long block, sono_error *err)
{
    char why[4200];
    if (hg_dims(p, m, why, sizeof why))
        return sono_fail(err, SONO_EUNSUPPORTED, "%s", why);
    m->block = block;
    long long ch = m->ch;
    /* floats of every weight */
    size_t nw = (size_t)(ch * MELS * 7 + ch + 2 * MELS + 7 * (ch >> 4) + 1);
    for (int i = 0; i < 4; i++) {
        long long ci = ch >> i, co = ch >> (i + 1);
        nw += (size_t)(ci * co * ukern[i] + co);
        for (int j = 0; j < 3; j++)
            nw += (size_t)(6 * (co * co * rkern[j] + co));
    }
    m->pool = malloc(nw * sizeof(float));
    m->node = calloc(96, sizeof *m->node);
    if (!m->pool || !m->node)
        return sono_fail(err, SONO_ENOMEM, "vocoder.hifigan: out of memory");
    est_file *f = NULL;
    int rc = est_open(m->path, &f, err);
    if (rc)
        return rc == SONO_ENOTFOUND ? SONO_EINVAL : rc;
    size_t at = 0;
    char nm[128], nb[128];
    long long F = m->frames, T = F, fr = 1;
    hg_node *in = add(m, HG_IN, MELS, F, 1, block);
    rc = get(f, "mean", MELS, 0, 0, m->pool, &at, &m->mean, err);
    if (!rc)
        rc = get(f, "scale", MELS, 0, 0, m->pool, &at, &m->scale, err);
    hg_node *x = add(m, HG_CONV, (int)ch, T, fr, block);
    *x = (hg_node){.kind = HG_CONV, .C = (int)ch, .cin = MELS, .K = 7, .dil = 1, .pad = 3,
                   .stride = 1, .T = T, .cap = x->cap, .round = x->cap, .in = in, .slope = 1.0f};
    if (!rc)
        rc = get(f, "conv_pre.weight", ch, MELS, 7, m->pool, &at, &x->w, err);
    if (!rc)
        rc = get(f, "conv_pre.bias", ch, 0, 0, m->pool, &at, &x->b, err);
    for (int i = 0; !rc && i < 4; i++) {
        int ci = (int)(ch >> i), co = (int)(ch >> (i + 1));
        T *= rates[i];
        fr *= rates[i];
        hg_node *u = add(m, HG_TCONV, co, T, fr, block);
        *u = (hg_node){.kind = HG_TCONV, .C = co, .cin = ci, .K = ukern[i], .dil = 1,
                       .pad = (ukern[i] - rates[i]) / 2, .stride = rates[i], .T = T,
                       .cap = u->cap, .round = u->cap, .in = x, .slope = 0.1f};
        snprintf(nm, sizeof nm, "upsampler.%d.weight", i);
        snprintf(nb, sizeof nb, "upsampler.%d.bias", i);
        rc = get(f, nm, ci, co, ukern[i], m->pool, &at, &u->w, err);
        if (!rc)
            rc = get(f, nb, co, 0, 0, m->pool, &at, &u->b, err);
        hg_node *r[3];
        for (int j = 0; !rc && j < 3; j++) {
            hg_node *h = u;
            for (int k = 0; !rc && k < 3; k++) {
                hg_node *a = add(m, HG_CONV, co, T, fr, block), *h2;
                *a = (hg_node){.kind = HG_CONV, .C = co, .cin = co, .K = rkern[j],
                               .dil = dils[k], .pad = dils[k] * (rkern[j] - 1) / 2,
                               .stride = 1, .T = T, .cap = a->cap, .round = a->cap, .in = h, .slope = 0.1f};
                snprintf(nm, sizeof nm, "resblocks.%d.convs1.%d.weight", 3 * i + j, k);
                snprintf(nb, sizeof nb, "resblocks.%d.convs1.%d.bias", 3 * i + j, k);
                rc = get(f, nm, co, co, rkern[j], m->pool, &at, &a->w, err);
                if (!rc)
                    rc = get(f, nb, co, 0, 0, m->pool, &at, &a->b, err);
                h2 = add(m, HG_CONV, co, T, fr, block);
                *h2 = (hg_node){.kind = HG_CONV, .C = co, .cin = co, .K = rkern[j], .dil = 1,
                                .pad = (rkern[j] - 1) / 2, .stride = 1, .T = T,
                                .cap = h2->cap, .round = h2->cap, .in = a, .res = h, .slope = 0.1f};
                snprintf(nm, sizeof nm, "resblocks.%d.convs2.%d.weight", 3 * i + j, k);
                snprintf(nb, sizeof nb, "resblocks.%d.convs2.%d.bias", 3 * i + j, k);
                if (!rc)
                    rc = get(f, nm, co, co, rkern[j], m->pool, &at, &h2->w, err);
                if (!rc)
                    rc = get(f, nb, co, 0, 0, m->pool, &at, &h2->b, err);
                h = h2;
            }
            r[j] = h;
        }
        if (rc)
            break;
        x = add(m, HG_MEAN, co, T, fr, block);
        x->in = r[0];
        x->m1 = r[1];
        x->m2 = r[2];
    }
    hg_node *post = rc ? NULL : add(m, HG_CONV, 1, T, fr, block);
    if (post) {
        *post = (hg_node){.kind = HG_CONV, .C = 1, .cin = (int)(ch >> 4), .K = 7, .dil = 1,
                          .pad = 3, .stride = 1, .T = T, .cap = (size_t)T,
                          .round = cap_for(block, fr, T), .in = x,
                          .slope = 0.01f, .tanh_out = 1};
        rc = get(f, "conv_post.weight", 1, ch >> 4, 7, m->pool, &at, &post->w, err);
        if (!rc)
            rc = get(f, "conv_post.bias", 1, 0, 0, m->pool, &at, &post->b, err);
    }
    est_close(f);
    size_t ymax = 0;
    for (int i = 0; !rc && i < m->nn; i++) {
        hg_node *n = &m->node[i];
        if (!(n->buf = malloc((size_t)n->C * n->cap * sizeof(float))))
            rc = sono_fail(err, SONO_ENOMEM, "vocoder.hifigan: out of memory");
        size_t y = ((size_t)n->C + 1) * n->round; /* + the residual's row */
        ymax = y > ymax ? y : ymax;
    }
    if (!rc && !(m->y = malloc(ymax * sizeof(float))))
        rc = sono_fail(err, SONO_ENOMEM, "vocoder.hifigan: out of memory");
    m->ybytes = ymax * sizeof(float);
    return rc;
}

void hg_free(hg_net *m)
{
    for (int i = 0; m->node && i < m->nn; i++)
        free(m->node[i].buf);
    free(m->node);
    free(m->pool);
    free(m->y);
    m->node = NULL;
    m->pool = NULL;
    m->y = NULL;
}

void hg_begin(hg_net *m)
{
    for (int i = 0; i < m->nn; i++)
        m->node[i].done = 0;
    m->fed = 0;
}

const float *hg_wave(const hg_net *m)
{
    return m->node[m->nn - 1].buf;
}

size_t hg_bytes(const hg_net *m)
{
    size_t b = m->ybytes;
    for (int i = 0; i < m->nn; i++)
        b += (size_t)m->node[i].C * m->node[i].cap * sizeof(float);
    return b;
}

/* The leaky ReLU of the im2col copies, four lanes at a time through GCC's vector
 * extension (one SSE register on the x86-64 baseline; wider vectors were lowered to scalar
 * compares): the scalar loop's data-dependent branch mispredicted on every other sample
 * and made hg_read_row a third of blas/hifigan's time (perf, cpu-clock). The select gives
 * the scalar form's bits, NaN and -0 included. */
typedef float hg_v4 __attribute__((vector_size(16)));
typedef int hg_i4 __attribute__((vector_size(16)));

static void lrelu_copy(const float *src, size_t n, float slope, float *dst)
{
    const hg_v4 zero = {0.0f, 0.0f, 0.0f, 0.0f};
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        hg_v4 v, neg;
        memcpy(&v, src + i, sizeof v);
        neg = v * slope;
        hg_i4 keep = v >= zero;
        hg_i4 out = ((hg_i4)v & keep) | ((hg_i4)neg & ~keep);
        memcpy(dst + i, &out, sizeof out);
    }
    for (; i < n; i++)
        dst[i] = hg_lrelu(src[i], slope);
}

void hg_read_row(const hg_node *n, int c, long long t0, size_t len, float slope, float *dst)
{
    const float *row = n->buf + (size_t)c * n->cap;
    size_t j = 0;
    for (; j < len && t0 + (long long)j < 0; j++)
        dst[j] = 0.0f;
    while (j < len && t0 + (long long)j < n->T) {
        size_t at = (size_t)(t0 + (long long)j) % n->cap, run = n->cap - at;
        size_t left = (size_t)(n->T - (t0 + (long long)j));
        run = run < len - j ? run : len - j;
        run = run < left ? run : left;
        if (slope == 1.0f) {
            memcpy(dst + j, row + at, run * sizeof(float));
        } else {
            lrelu_copy(row + at, run, slope, dst + j);
        }
        j += run;
    }
    for (; j < len; j++)
        dst[j] = 0.0f;
}

static long long min3(long long a, long long b, long long c)
{
    long long m = a < b ? a : b;
    return m < c ? m : c;
}

/* Steps of n computable now: all at the end of its input, else those whose window has
 * arrived. */
static long long ready(const hg_node *n, long long fed)
{
    long long r;
    switch (n->kind) {
    case HG_IN:
        return fed;
    case HG_CONV:
        r = n->in->done == n->in->T ? n->T : n->in->done - n->pad;
        if (n->res && n->res->done < r)
            r = n->res->done;
        break;
    case HG_TCONV:
        r = n->in->done == n->in->T ? n->T : n->in->done * n->stride - n->pad;
        break;
    default:
        r = min3(n->in->done, n->m1->done, n->m2->done);
    }
    return r < 0 ? 0 : r > n->T ? n->T : r;
}

/* Does node s's ring still hold steps [lo, ...)? */
static int holds(const hg_node *s, long long lo)
{
    return lo < 0 || lo >= s->done - (long long)s->cap;
}

static int step(hg_net *m, hg_node *n, hg_kernel conv, hg_kernel tconv, void *ctx,
                sono_error *err)
{
    long long u0 = n->done, u1 = ready(n, m->fed);
    if (u1 <= u0)
        return 0;
    if (u1 - u0 > (long long)n->round)
        return sono_fail(err, SONO_EINTERNAL, "vocoder.hifigan: a round of %lld steps "
                         "exceeds the %zu a ring allows", u1 - u0, n->round);
    long long lo = n->kind == HG_CONV ? u0 - n->pad
                   : n->kind == HG_TCONV ? (u0 + n->pad - n->K + 1) / n->stride - 1 : u0;
    int ok = n->kind == HG_IN || (holds(n->in, lo) && (!n->res || holds(n->res, u0)) &&
                                  (!n->m1 || (holds(n->m1, u0) && holds(n->m2, u0))));
    if (!ok)
        return sono_fail(err, SONO_EINTERNAL, "vocoder.hifigan: a ring lost history a "
                         "later step needs (node %d, steps %lld..%lld)", (int)(n - m->node),
                         u0, u1);
    size_t len = (size_t)(u1 - u0);
    if (n->kind == HG_IN) {
        for (int c = 0; c < n->C; c++)
            for (long long t = u0; t < u1; t++)
                n->buf[(size_t)c * n->cap + (size_t)t % n->cap] =
                    (m->x[(size_t)c * (size_t)m->frames + (size_t)t] - m->mean[c]) / m->scale[c];
    } else if (n->kind == HG_MEAN) {
        for (int c = 0; c < n->C; c++)
            for (long long t = u0; t < u1; t++) {
                float s = hg_at(n->in, c, t) + hg_at(n->m1, c, t);
                s += hg_at(n->m2, c, t);
                n->buf[(size_t)c * n->cap + (size_t)t % n->cap] = s / 3.0f;
            }
    } else {
        (n->kind == HG_CONV ? conv : tconv)(ctx, n, u0, u1, m->y);
        for (int c = 0; c < n->C; c++) {
            float *y = m->y + (size_t)c * len, *row = n->buf + (size_t)c * n->cap;
            if (n->res) { /* the residual's row beside y's: y's rows are not needed after */
                float *r = m->y + (size_t)n->C * len;
                hg_read_row(n->res, c, u0, len, 1.0f, r);
                for (size_t j = 0; j < len; j++)
                    y[j] += r[j];
            }
            if (n->tanh_out)
                for (size_t j = 0; j < len; j++)
                    y[j] = tanhf(y[j]);
            size_t at = (size_t)u0 % n->cap, first = n->cap - at < len ? n->cap - at : len;
            memcpy(row + at, y, first * sizeof(float));
            memcpy(row, y + first, (len - first) * sizeof(float));
        }
    }
    n->done = u1;
    return 0;
}

int hg_push(hg_net *m, long long t0, long long n, hg_kernel conv, hg_kernel tconv, void *ctx,
            long long *done, sono_error *err)
{
    if (t0 != m->fed || n < 1 || t0 + n > m->frames)
        return sono_fail(err, SONO_EINVAL, "vocoder.hifigan stream: push of frames [%lld, "
                         "%lld) after %lld of %lld", t0, t0 + n, m->fed, m->frames);
    while (n > 0) {
        long long k = n < m->block ? n : m->block;
        m->fed += k;
        n -= k;
        for (int i = 0; i < m->nn; i++) {
            int rc = step(m, &m->node[i], conv, tconv, ctx, err);
            if (rc)
                return rc;
        }
    }
    *done = m->node[m->nn - 1].done;
    return 0;
}
