/* mimi_stream.c — codec.mimi's stream (mimi_stream.h): a list of stages (conv, transposed
 * conv, ELU, residual block, transformer) each turning the columns it is fed into the
 * columns it can now complete, with the history it keeps trimmed to what later outputs
 * read; the last push flushes each conv's right padding in order. */
#include "mimi_stream.h"

#include <stdlib.h>
#include <string.h>

enum { S_CONV = 1, S_CONVTR, S_ELU, S_RES, S_TF };

/* Columns [base, n) of C rows: row c's column u at d[c * cap + u - base]. */
typedef struct colbuf {
    float *d;
    int C;
    long long cap, base, n;
} colbuf;

typedef struct tcache { /* one layer's K and V rows [base, n), row u at (u - base) D */
    float *k, *v;
    long long cap, base, n;
} tcache;

typedef struct stage {
    int kind, side, C; /* C: the input's channels */
    const mn_conv *c, *c2;
    colbuf h;           /* conv, res: padded input (res: of ELU(x)); convtr: input */
    long long L, done;  /* inputs received (unpadded), outputs produced */
    float *out, *t1, *t2;
    size_t out_cap, t1_cap, t2_cap;
    tcache *kv;         /* transformer: per layer */
} stage;

struct mn_stream {
    mn_state *st;
    stage *s;
    int n, n_enc;       /* stages; the first n_enc encode (through the downsample) */
    long long fed, frames_done, samples_done;
    float *rows, *u, *q, *k, *v, *a, *f, *res, *sc;
    size_t rows_cap;
    int *codes;         /* roundtrip: codes of the frames being decoded */
    size_t bytes;
};

static int grow(float **p, size_t *cap, size_t want)
{
    if (want <= *cap)
        return 0;
    size_t nc = want > 2 * *cap ? want : 2 * *cap;
    float *q = realloc(*p, nc * sizeof *q);
    if (!q)
        return -1;
    *p = q;
    *cap = nc;
    return 0;
}

/* Room for m more columns, the ones before keep dropped. */
static int cb_reserve(colbuf *b, long long keep, long long m)
{
    if (keep > b->n)
        keep = b->n;
    if (keep > b->base) {
        long long drop = keep - b->base, live = b->n - keep;
        for (int c = 0; c < b->C; c++)
            memmove(b->d + (size_t)c * b->cap, b->d + (size_t)c * b->cap + drop,
                    (size_t)live * sizeof(float));
        b->base = keep;
    }
    long long need = b->n - b->base + m;
    if (need <= b->cap)
        return 0;
    long long nc = need > 2 * b->cap ? need + 64 : 2 * b->cap;
    float *d = malloc((size_t)nc * (size_t)b->C * sizeof *d);
    if (!d)
        return -1;
    for (int c = 0; c < b->C && b->d; c++)
        memcpy(d + (size_t)c * nc, b->d + (size_t)c * b->cap,
               (size_t)(b->n - b->base) * sizeof *d);
    free(b->d);
    b->d = d;
    b->cap = nc;
    return 0;
}

static float *cb_at(const colbuf *b, long long u)
{
    return b->d + (u - b->base);
}

/* Append m columns of x [C][ld] (or, x NULL, m copies of column src_u of b itself when
 * rep, else zeros). */
static int cb_append(colbuf *b, const float *x, long long ld, long long m, long long keep,
                     int rep, long long src_u)
{
    if (cb_reserve(b, keep, m))
        return -1;
    for (int c = 0; c < b->C; c++) {
        float *dst = b->d + (size_t)c * b->cap + (b->n - b->base);
        float v = rep ? b->d[(size_t)c * b->cap + (src_u - b->base)] : 0.0f;
        for (long long t = 0; t < m; t++)
            dst[t] = x ? x[(size_t)c * ld + t] : v;
    }
    b->n += m;
    return 0;
}

/* ---- the stages ------------------------------------------------------------------------ */
static long long keff(const mn_conv *c)
{
    return (long long)(c->k - 1) * c->dil + 1;
}

/* MimiConv1d: the left padding before the first column (zeros, or the first sample for the
 * downsample), the right padding at the end; outputs t while t s + keff fits. */
static int conv_feed(mn_stream *S, stage *g, const float *x, long long m, int last,
                     long long *mo)
{
    const mn_conv *c = g->c;
    long long s = c->stride, left = keff(c) - s, keep = g->done * s;
    *mo = 0;
    if (m > 0) {
        if (g->L == 0) { /* the left pad: zeros, or copies of the first sample */
            if (cb_reserve(&g->h, 0, left + m))
                return -1;
            for (int ch = 0; ch < g->h.C; ch++)
                for (long long t = 0; t < left; t++)
                    g->h.d[(size_t)ch * g->h.cap + (g->h.n - g->h.base) + t] =
                        c->replicate ? x[(size_t)ch * m] : 0.0f;
            g->h.n += left;
        }
        if (cb_append(&g->h, x, m, m, keep, 0, 0))
            return -1;
        g->L += m;
    }
    long long total = (g->L + s - 1) / s;
    if (last) {
        long long extra = total * s - g->L;
        if (cb_append(&g->h, NULL, 0, extra, keep < g->h.n - 1 ? keep : g->h.n - 1,
                      c->replicate, g->h.n - 1))
            return -1;
    }
    long long avail = g->h.n >= keff(c) ? (g->h.n - keff(c)) / s + 1 : 0;
    if (avail > total)
        avail = total;
    long long nout = avail - g->done;
    if (nout <= 0)
        return 0;
    if (grow(&g->out, &g->out_cap, (size_t)c->cout * (size_t)nout))
        return -1;
    S->st->r.k->conv(c, cb_at(&g->h, g->done * s), g->h.cap, g->out, nout, S->st->r.scratch);
    g->done = avail;
    *mo = nout;
    return 0;
}

/* MimiConvTranspose1d: input t completes output samples [t s, (t+1) s); the kernel runs on
 * the inputs that overlap them (ceil(k/s) - 1 before), contiguous in t1. */
static int convtr_feed(mn_stream *S, stage *g, const float *x, long long m, long long *mo)
{
    const mn_conv *c = g->c;
    long long s = c->stride, hist = (c->k + s - 1) / s - 1;
    long long keep = g->done > hist ? g->done - hist : 0;
    *mo = 0;
    if (m <= 0)
        return 0;
    if (cb_append(&g->h, x, m, m, keep, 0, 0))
        return -1;
    g->L += m;
    long long t0 = g->done, t1 = g->L, start = t0 > hist ? t0 - hist : 0, l = t1 - start;
    long long full = (l - 1) * s + c->k, nout = (t1 - t0) * s;
    if (grow(&g->t1, &g->t1_cap, (size_t)c->cin * (size_t)l) ||
        grow(&g->t2, &g->t2_cap, (size_t)c->cout * (size_t)full) ||
        grow(&g->out, &g->out_cap, (size_t)c->cout * (size_t)nout))
        return -1;
    for (int i = 0; i < c->cin; i++)
        memcpy(g->t1 + (size_t)i * l, g->h.d + (size_t)i * g->h.cap + (start - g->h.base),
               (size_t)l * sizeof(float));
    S->st->r.k->convtr(c, g->t1, l, g->t2, S->st->r.scratch);
    for (int o = 0; o < c->cout; o++)
        memcpy(g->out + (size_t)o * nout, g->t2 + (size_t)o * full + (t0 - start) * s,
               (size_t)nout * sizeof(float));
    g->done = t1;
    *mo = nout;
    return 0;
}

/* Residual block: ELU(x) into the padded history of block.1 (stride 1: no right pad), its
 * outputs for the new columns, ELU, block.3 (1x1), plus x. */
static int res_feed(mn_stream *S, stage *g, const float *x, long long m, long long *mo)
{
    const mn_conv *c = g->c, *c2 = g->c2;
    int C = c->cin;
    *mo = 0;
    if (m <= 0)
        return 0;
    if (g->L == 0 && cb_append(&g->h, NULL, 0, keff(c) - 1, 0, 0, 0))
        return -1;
    if (grow(&g->t1, &g->t1_cap, (size_t)C * (size_t)m) ||
        grow(&g->t2, &g->t2_cap, (size_t)c->cout * (size_t)m) ||
        grow(&g->out, &g->out_cap, (size_t)C * (size_t)m))
        return -1;
    for (size_t j = 0; j < (size_t)C * (size_t)m; j++)
        g->t1[j] = mn_elu(x[j]);
    if (cb_append(&g->h, g->t1, m, m, g->done, 0, 0))
        return -1;
    g->L += m;
    S->st->r.k->conv(c, cb_at(&g->h, g->done), g->h.cap, g->t2, m, S->st->r.scratch);
    for (size_t j = 0; j < (size_t)c->cout * (size_t)m; j++)
        g->t2[j] = mn_elu(g->t2[j]);
    S->st->r.k->conv(c2, g->t2, m, g->out, m, S->st->r.scratch);
    for (size_t j = 0; j < (size_t)C * (size_t)m; j++)
        g->out[j] = x[j] + g->out[j];
    g->done += m;
    *mo = m;
    return 0;
}

static int rows_room(mn_stream *S, long long m)
{
    const mn_cfg *c = &S->st->m.c;
    int wd = c->ffn > c->hidden ? c->ffn : c->hidden;
    wd = wd > c->cdim ? wd : c->cdim;
    size_t want = (size_t)m * (size_t)wd;
    if (want <= S->rows_cap)
        return 0;
    float **b[] = {&S->rows, &S->u, &S->q, &S->k, &S->v, &S->a, &S->f};
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
        float *p = realloc(*b[i], want * sizeof(float));
        if (!p)
            return -1;
        *b[i] = p;
    }
    S->rows_cap = want;
    return 0;
}

/* Query t over the cached keys (t - window, t]: cpu/naive's attention, one row. */
static void attend(const mn_cfg *c, const tcache *kv, const float *q, long long t, float *o,
                   float *s)
{
    int D = c->hidden, dh = c->dh;
    long long first = t + 1 > c->window ? t + 1 - c->window : 0;
    float scale = 1.0f / sqrtf((float)dh);
    for (int h = 0; h < c->heads; h++) {
        const float *qt = q + (size_t)h * dh;
        float mx = -INFINITY, sum = 0;
        for (long long u = first; u <= t; u++) {
            const float *ku = kv->k + (size_t)(u - kv->base) * D + (size_t)h * dh;
            float a = 0;
            for (int e = 0; e < dh; e++)
                a += qt[e] * ku[e];
            s[u - first] = a * scale;
            mx = fmaxf(mx, s[u - first]);
        }
        float *ot = o + (size_t)h * dh;
        for (int e = 0; e < dh; e++)
            ot[e] = 0;
        for (long long u = first; u <= t; u++) {
            float p = expf(s[u - first] - mx);
            sum += p;
            const float *vu = kv->v + (size_t)(u - kv->base) * D + (size_t)h * dh;
            for (int e = 0; e < dh; e++)
                ot[e] += p * vu[e];
        }
        for (int e = 0; e < dh; e++)
            ot[e] /= sum;
    }
}

static int kv_append(tcache *kv, const float *k, const float *v, long long m, int D,
                     long long keep)
{
    if (keep > kv->base) {
        long long drop = keep - kv->base, live = kv->n - keep;
        memmove(kv->k, kv->k + (size_t)drop * D, (size_t)live * D * sizeof(float));
        memmove(kv->v, kv->v + (size_t)drop * D, (size_t)live * D * sizeof(float));
        kv->base = keep;
    }
    long long need = kv->n - kv->base + m;
    if (need > kv->cap) {
        long long nc = need > 2 * kv->cap ? need + 16 : 2 * kv->cap;
        float *nk = realloc(kv->k, (size_t)nc * D * sizeof(float));
        if (!nk)
            return -1;
        kv->k = nk;
        float *nv = realloc(kv->v, (size_t)nc * D * sizeof(float));
        if (!nv)
            return -1;
        kv->v = nv;
        kv->cap = nc;
    }
    memcpy(kv->k + (size_t)(kv->n - kv->base) * D, k, (size_t)m * D * sizeof(float));
    memcpy(kv->v + (size_t)(kv->n - kv->base) * D, v, (size_t)m * D * sizeof(float));
    kv->n += m;
    return 0;
}

/* The transformer on m new positions: row-wise as mimi_net.c's pass, attention over the
 * per-layer caches. */
static int tf_feed(mn_stream *S, stage *g, const float *x, long long m, long long *mo)
{
    const mn_model *md = &S->st->m;
    const mn_cfg *c = &md->c;
    const mn_kernels *kn = S->st->r.k;
    int D = c->hidden, F = c->ffn;
    long long pos0 = g->done;
    *mo = 0;
    if (m <= 0)
        return 0;
    if (rows_room(S, m) || grow(&g->out, &g->out_cap, (size_t)D * (size_t)m))
        return -1;
    float *h = S->rows, *u = S->u;
    for (long long t = 0; t < m; t++)
        for (int j = 0; j < D; j++)
            h[(size_t)t * D + j] = x[(size_t)j * m + t];
    for (int l = 0; l < c->layers; l++) {
        const mn_tlayer *w = &md->t[g->side][l];
        tcache *kv = &g->kv[l];
        for (long long t = 0; t < m; t++)
            mn_layernorm(h + (size_t)t * D, D, w->ln1g, w->ln1b, c->eps, u + (size_t)t * D);
        kn->linear(u, m, D, w->wq, D, S->q);
        kn->linear(u, m, D, w->wk, D, S->k);
        kn->linear(u, m, D, w->wv, D, S->v);
        mn_rope(c, S->q, m, pos0);
        mn_rope(c, S->k, m, pos0);
        long long keep = pos0 + 1 > c->window ? pos0 + 1 - c->window : 0;
        if (kv_append(kv, S->k, S->v, m, D, keep))
            return -1;
        for (long long t = 0; t < m; t++)
            attend(c, kv, S->q + (size_t)t * D, pos0 + t, S->a + (size_t)t * D, S->sc);
        kn->linear(S->a, m, D, w->wo, D, u);
        for (size_t i = 0; i < (size_t)m * D; i++)
            h[i] += w->ls1[i % D] * u[i];
        for (long long t = 0; t < m; t++)
            mn_layernorm(h + (size_t)t * D, D, w->ln2g, w->ln2b, c->eps, u + (size_t)t * D);
        kn->linear(u, m, D, w->w1, F, S->f);
        for (size_t i = 0; i < (size_t)m * F; i++)
            S->f[i] = mn_gelu(S->f[i]);
        kn->linear(S->f, m, F, w->w2, D, u);
        for (size_t i = 0; i < (size_t)m * D; i++)
            h[i] += w->ls2[i % D] * u[i];
    }
    for (long long t = 0; t < m; t++)
        for (int j = 0; j < D; j++)
            g->out[(size_t)j * m + t] = h[(size_t)t * D + j];
    g->done += m;
    *mo = m;
    return 0;
}

/* Stages [a, b) on a chunk x [C][m]; the result (that of the last stage that ran) in *y. */
static int run_stages(mn_stream *S, int a, int b, const float *x, long long m, int last,
                      const float **y, long long *my)
{
    for (int i = a; i < b; i++) {
        stage *g = &S->s[i];
        long long mo = 0;
        int rc = 0;
        switch (g->kind) {
        case S_CONV:
            rc = conv_feed(S, g, x, m, last, &mo);
            break;
        case S_CONVTR:
            rc = convtr_feed(S, g, x, m, &mo);
            break;
        case S_RES:
            rc = res_feed(S, g, x, m, &mo);
            break;
        case S_TF:
            rc = tf_feed(S, g, x, m, &mo);
            break;
        case S_ELU: {
            size_t n = (size_t)g->C * (size_t)m;
            if (grow(&g->out, &g->out_cap, n ? n : 1))
                return -1;
            for (size_t j = 0; j < n; j++)
                g->out[j] = mn_elu(x[j]);
            mo = m;
            break;
        }
        }
        if (rc)
            return rc;
        x = g->out;
        m = mo;
    }
    *y = x;
    *my = m;
    return 0;
}

/* ---- building, pushing -------------------------------------------------------------------- */
/* A stage on inputs of *w channels; *w becomes its output's. */
static void add(mn_stream *S, int kind, const mn_conv *c, const mn_conv *c2, int side, int *w)
{
    stage *g = &S->s[S->n++];
    memset(g, 0, sizeof *g);
    g->kind = kind;
    g->c = c;
    g->c2 = c2;
    g->side = side;
    g->C = g->h.C = *w;
    if (kind == S_CONV || kind == S_CONVTR)
        *w = c->cout;
}

static void stage_reset(stage *g, const mn_cfg *c)
{
    g->h.base = g->h.n = 0;
    g->L = g->done = 0;
    for (int l = 0; g->kv && l < c->layers; l++)
        g->kv[l].base = g->kv[l].n = 0;
}

static void stage_free(stage *g, const mn_cfg *c)
{
    free(g->h.d);
    free(g->out);
    free(g->t1);
    free(g->t2);
    for (int l = 0; g->kv && l < c->layers; l++) {
        free(g->kv[l].k);
        free(g->kv[l].v);
    }
    free(g->kv);
}

void mn_stream_free(mn_stream *S)
{
    if (!S)
        return;
    for (int i = 0; i < S->n; i++)
        stage_free(&S->s[i], &S->st->m.c);
    free(S->s);
    float *b[] = {S->rows, S->u, S->q, S->k, S->v, S->a, S->f, S->res, S->sc};
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++)
        free(b[i]);
    free(S->codes);
    free(S);
}

int mn_stream_begin(mn_state *st, mn_stream **sp, sono_error *err)
{
    mn_stream *S = *sp;
    const mn_model *m = &st->m;
    const mn_cfg *c = &m->c;
    if (m->S != 1)
        return sono_fail(err, SONO_EUNSUPPORTED, "codec.mimi: streaming takes one clip "
                         "(streams=%d)", m->S);
    if (!S) {
        S = calloc(1, sizeof *S);
        int max = m->n[0] + m->n[1] + 4;
        if (!S || !(S->s = calloc((size_t)max, sizeof *S->s)))
            goto oom;
        S->st = st;
        int w = 1;
        for (int i = 0; i < m->n[0]; i++) {
            const mn_layer *y = &m->l[0][i];
            add(S, y->kind == MN_CONV ? S_CONV : y->kind == MN_ELU ? S_ELU : S_RES, &y->c[0],
                &y->c[1], 0, &w);
        }
        add(S, S_TF, NULL, NULL, 0, &w);
        add(S, S_CONV, &m->down, NULL, 0, &w);
        S->n_enc = S->n;
        w = c->hidden;
        add(S, S_CONVTR, &m->up, NULL, 1, &w);
        add(S, S_TF, NULL, NULL, 1, &w);
        for (int i = 0; i < m->n[1]; i++) {
            const mn_layer *y = &m->l[1][i];
            add(S, y->kind == MN_CONV ? S_CONV : y->kind == MN_ELU ? S_ELU
                   : y->kind == MN_CONVTR ? S_CONVTR : S_RES, &y->c[0], &y->c[1], 1, &w);
        }
        for (int i = 0; i < S->n; i++)
            if (S->s[i].kind == S_TF &&
                !(S->s[i].kv = calloc((size_t)c->layers + 1, sizeof *S->s[i].kv)))
                goto oom;
        size_t W = (size_t)c->window, F = (size_t)m->frames + 1;
        if (!(S->sc = malloc(W * sizeof(float))) ||
            !(S->res = malloc(F * (size_t)(c->cdim + c->hidden) * sizeof(float))) ||
            !(S->codes = malloc((size_t)m->nq * F * sizeof(int))))
            goto oom;
        *sp = S;
    }
    for (int i = 0; i < S->n; i++)
        stage_reset(&S->s[i], c);
    S->fed = S->frames_done = S->samples_done = 0;
    return 0;
oom:
    mn_stream_free(S);
    return sono_fail(err, SONO_ENOMEM, "codec.mimi stream: out of memory");
}

/* e [D][mf] of new frames -> codes of frames [f0, f0 + mf) into codes [nq][frames]. */
static void quantize(mn_stream *S, const float *e, long long mf, long long f0, int *codes)
{
    const mn_model *m = &S->st->m;
    const mn_cfg *c = &m->c;
    int D = c->hidden, Q = c->cdim, K = c->codebook;
    float *rows = S->res + (size_t)mf * Q, *res = S->res;
    for (long long t = 0; t < mf; t++)
        for (int j = 0; j < D; j++)
            rows[(size_t)t * D + j] = e[(size_t)j * mf + t];
    for (int s = 0; s < 2; s++) {
        int q0 = s ? c->nsem : 0, q1 = s ? m->nq : c->nsem;
        if (q0 >= q1)
            continue;
        const mn_rvq *v = &m->q[s];
        S->st->r.k->linear(rows, mf, D, v->in, Q, res);
        for (int q = q0; q < q1; q++) {
            const float *cb = v->cb + (size_t)(q - q0) * K * Q;
            S->st->r.k->nearest(res, mf, Q, cb, v->norm2 + (size_t)(q - q0) * K, K,
                                S->st->r.idx, S->st->r.scratch);
            for (long long t = 0; t < mf; t++) {
                int k = S->st->r.idx[t];
                codes[(size_t)q * m->frames + f0 + t] = k;
                for (int j = 0; j < Q; j++)
                    res[(size_t)t * Q + j] -= cb[(size_t)k * Q + j];
            }
        }
    }
}

/* codes of frames [f0, f0 + mf) -> e [D][mf] in S->res's tail (the decoder's input). */
static float *embed(mn_stream *S, const int *codes, long long mf, long long f0)
{
    const mn_model *m = &S->st->m;
    const mn_cfg *c = &m->c;
    int D = c->hidden, Q = c->cdim, K = c->codebook;
    float *z = S->u, *e = S->res, *tu = S->q, *out = S->a;
    memset(e, 0, (size_t)mf * D * sizeof *e);
    for (int s = 0; s < 2; s++) {
        int q0 = s ? c->nsem : 0, q1 = s ? m->nq : c->nsem;
        if (q0 >= q1)
            continue;
        const mn_rvq *v = &m->q[s];
        memset(z, 0, (size_t)mf * Q * sizeof *z);
        for (int q = q0; q < q1; q++) {
            const float *cb = v->cb + (size_t)(q - q0) * K * Q;
            for (long long t = 0; t < mf; t++) {
                int k = codes[(size_t)q * m->frames + f0 + t];
                k = k < 0 ? 0 : k >= K ? K - 1 : k;
                for (int j = 0; j < Q; j++)
                    z[(size_t)t * Q + j] += cb[(size_t)k * Q + j];
            }
        }
        S->st->r.k->linear(z, mf, Q, v->out, D, tu);
        for (size_t i = 0; i < (size_t)mf * D; i++)
            e[i] += tu[i];
    }
    for (long long t = 0; t < mf; t++)
        for (int j = 0; j < D; j++)
            out[(size_t)j * mf + t] = e[(size_t)t * D + j];
    return out;
}

/* The decoder on new frames [f0, f0 + mf) of codes; audio into out up to `limit` samples. */
static int decode_frames(mn_stream *S, const int *codes, long long mf, long long f0, int last,
                         float *audio, long long limit)
{
    const float *y = NULL;
    long long my = 0;
    const float *e = NULL;
    if (mf > 0) {
        if (rows_room(S, mf))
            return -1;
        e = embed(S, codes, mf, f0);
    }
    if (run_stages(S, S->n_enc, S->n, e, mf, last, &y, &my))
        return -1;
    for (long long t = 0; t < my; t++, S->samples_done++)
        if (S->samples_done < limit)
            audio[S->samples_done] = y[t];
    return 0;
}

int mn_stream_push(mn_stream *S, long long t0, long long n, int last, sono_buf *out,
                   long long *done, sono_error *err)
{
    const mn_model *m = &S->st->m;
    long long steps = m->mode == MN_DECODE ? m->frames : m->samples;
    if (t0 != S->fed || n < 1 || t0 + n > steps)
        return sono_fail(err, SONO_EINVAL, "codec.mimi push: steps [%lld, %lld) after %lld "
                         "of %lld", t0, t0 + n, S->fed, steps);
    S->fed += n;
    int rc = 0;
    if (m->mode == MN_DECODE) {
        rc = decode_frames(S, S->st->in, n, t0, last, out->data, m->frames * m->c.frame_hop);
        *done = S->samples_done;
    } else {
        const float *e;
        long long mf;
        rc = run_stages(S, 0, S->n_enc, (const float *)S->st->in + t0, n, last, &e, &mf);
        int *codes = m->mode == MN_ENCODE ? out->data : S->codes;
        long long f0 = S->frames_done;
        if (!rc && mf > 0) {
            if (rows_room(S, mf))
                rc = -1;
            else
                quantize(S, e, mf, f0, codes);
            S->frames_done += mf;
        }
        if (!rc && m->mode == MN_ROUNDTRIP)
            rc = decode_frames(S, codes, mf, f0, last, out->data, m->samples);
        *done = m->mode == MN_ENCODE ? S->frames_done
                : S->samples_done < m->samples ? S->samples_done : m->samples;
    }
    if (rc)
        return err && err->code ? rc : sono_fail(err, SONO_ENOMEM, "codec.mimi stream: out "
                                                 "of memory");
    return 0;
}

size_t mn_stream_bytes(const mn_stream *S)
{
    if (!S)
        return 0;
    size_t b = 0;
    const mn_cfg *c = &S->st->m.c;
    for (int i = 0; i < S->n; i++) {
        const stage *g = &S->s[i];
        b += (size_t)g->h.cap * g->h.C + g->out_cap + g->t1_cap + g->t2_cap;
        for (int l = 0; g->kv && l < c->layers; l++)
            b += 2 * (size_t)g->kv[l].cap * c->hidden;
    }
    return (b + 7 * S->rows_cap) * sizeof(float);
}
