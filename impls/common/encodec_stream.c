/* encodec_stream.c — codec.encodec streamed (encodec_stream.h). Each push is cut into rounds
 * (up to 8 hops of samples, or 8 frames of codes); a round runs through the layers in order,
 * each layer taking the steps its predecessor completed and emitting those it can complete
 * now. What makes that exact (harness/ops/encodec.h, "Streaming"): a conv's reflect
 * padding is read from the history by the same index rule as the offline pad, so an output
 * waits until every sample it reflects has arrived (the start's look-ahead), and the right
 * padding comes from the known length as soon as the last samples are in. */
#include "encodec_stream.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* A conv's input history, padded coordinates computed on the fly. */
typedef struct es_conv {
    const en_conv *cv;
    long long L, lout, pl, pr, ext, keff;
    float *h;                 /* [cin][cap]: input steps [hbase, hbase + hlen) */
    long long cap, hbase, hlen, fed, done;
    float *xp;                /* a round's padded window [cin][xpcap]; transposed: its
                                 untrimmed output [cout][xpcap] */
    long long xpcap, bout;
} es_conv;

typedef struct es_stage {
    const en_layer *l;
    long long L, bin, bout;   /* input steps in all; most in and out per round */
    es_conv c;                /* conv, transposed conv, residual block.1 */
    float *y;                 /* this round's output [cout][bout] */
    float *q;                 /* residual: raw input [cin][c.cap] from qbase; LSTM: state */
    long long qbase, qlen;
    float *t[3];              /* residual and LSTM temporaries */
    long long plt;            /* transposed: the untrimmed steps before output 0 */
} es_stage;

typedef struct es_side {
    int n;
    es_stage s[EN_MAX_LAYERS];
} es_side;

struct en_stream {
    es_side side[2];
    float *x0;                /* a round's input to a side [C][bin] */
    float *res;               /* a round's RVQ residuals [enc_frames][D] */
    int *code;                /* a stage's codes of a round's frames */
    long long enc_frames;     /* most frames an encoder round emits */
    long long dec_frames;     /* most frames a decoder round takes */
    long long fed, frames_out, samples_out;
    size_t bytes;
};

static void *grab(struct en_stream *st, size_t floats, int *fail)
{
    float *p = calloc(floats ? floats : 1, sizeof(float));
    st->bytes += floats * sizeof(float);
    *fail |= !p;
    return p;
}

/* ---- a conv layer with reflect padding ------------------------------------------------- */

/* The input step padded position p reads (EncodecConv1d._pad1d), or -1 for a zero. */
static long long src_of(const es_conv *c, long long p)
{
    long long j = p - c->pl;
    j = j < 0 ? -j : j;
    j = j >= c->ext ? 2 * (c->ext - 1) - j : j;
    return j < c->L ? j : -1;
}

static int conv_ready(const es_conv *c, long long u)
{
    long long s = c->cv->stride;
    for (long long p = u * s; p < u * s + c->keff; p++)
        if (src_of(c, p) >= c->fed)
            return 0;
    return 1;
}

static void conv_init(es_conv *c, const en_cfg *cfg, const en_conv *cv, long long L,
                      long long bin, long long *bout)
{
    long long s = cv->stride;
    c->cv = cv;
    c->L = L;
    c->keff = (long long)(cv->k - 1) * cv->dil + 1;
    long long ptot = c->keff - s;
    c->lout = (L + s - 1) / s;
    c->pl = cfg->causal ? ptot : ptot - ptot / 2;
    c->pr = (cfg->causal ? 0 : ptot / 2) + c->lout * s - L;
    long long mp = c->pl > c->pr ? c->pl : c->pr;
    c->ext = L <= mp ? mp + 1 : L;
    /* a round completes what it brings plus what the start's reflection or the end held */
    c->bout = (bin + 2 * c->keff + c->pl + c->pr) / s + 3;
    c->bout = c->bout < c->lout ? c->bout : c->lout;
    c->cap = bin + 2 * c->keff + 2 * mp + 2 * s + 8;
    c->xpcap = (c->bout - 1) * s + c->keff;
    *bout = c->bout;
}

static int conv_alloc(struct en_stream *st, es_conv *c)
{
    int fail = 0;
    c->h = grab(st, (size_t)c->cv->cin * (size_t)c->cap, &fail);
    c->xp = grab(st, (size_t)c->cv->cin * (size_t)c->xpcap, &fail);
    return fail;
}

static void conv_begin(es_conv *c)
{
    c->hbase = c->hlen = c->fed = c->done = 0;
}

/* Appends x's n steps (row stride ldx) to the history. */
static int hist_append(es_conv *c, const float *x, long long ldx, long long n, sono_error *err)
{
    if (c->hlen + n > c->cap)
        return sono_fail(err, SONO_EINTERNAL, "codec.encodec stream: a layer's history of "
                         "%lld steps overflows (%lld + %lld)", c->cap, c->hlen, n);
    for (int i = 0; i < c->cv->cin; i++)
        memcpy(c->h + (size_t)i * (size_t)c->cap + c->hlen, x + (size_t)i * (size_t)ldx,
               (size_t)n * sizeof(float));
    c->hlen += n;
    c->fed += n;
    return 0;
}

/* Outputs newly complete after the last append, into y [cout][m] (*m of them). */
static int conv_emit(en_net *net, es_conv *c, float *y, long long *m, sono_error *err)
{
    long long s = c->cv->stride, r = c->done;
    while (r < c->lout && (c->fed == c->L || conv_ready(c, r)))
        r++;
    *m = r - c->done;
    if (*m > c->bout)
        return sono_fail(err, SONO_EINTERNAL, "codec.encodec stream: %lld outputs in a "
                         "round, planned %lld", *m, c->bout);
    if (*m > 0) {
        long long p0 = c->done * s, lp = (r - 1) * s + c->keff - p0;
        for (long long p = p0; p < p0 + lp; p++) {
            long long j = src_of(c, p);
            if (j >= 0 && (j < c->hbase || j >= c->hbase + c->hlen))
                return sono_fail(err, SONO_EINTERNAL, "codec.encodec stream: step %lld "
                                 "left the history [%lld, %lld)", j, c->hbase,
                                 c->hbase + c->hlen);
            for (int i = 0; i < c->cv->cin; i++)
                c->xp[(size_t)i * (size_t)lp + (size_t)(p - p0)] =
                    j < 0 ? 0.0f : c->h[(size_t)i * (size_t)c->cap + (size_t)(j - c->hbase)];
        }
        net->k->conv(c->cv, c->xp, lp, 1, y, *m, net->scratch);
        c->done = r;
    }
    /* later windows start at done * s: they reflect nothing below it but the start's
     * x[1..pl] (while done * s < pl) and the end's last max-pad steps */
    long long mp = c->pl > c->pr ? c->pl : c->pr;
    long long keep = c->done * s < c->pl ? 0 : c->done * s - c->pl;
    keep = keep < c->L - 1 - mp ? keep : c->L - 1 - mp;
    if (keep > c->hbase) {
        long long gone = keep - c->hbase < c->hlen ? keep - c->hbase : c->hlen;
        for (int i = 0; i < c->cv->cin; i++)
            memmove(c->h + (size_t)i * (size_t)c->cap, c->h + (size_t)i * (size_t)c->cap + gone,
                    (size_t)(c->hlen - gone) * sizeof(float));
        c->hlen -= gone;
        c->hbase += gone;
    }
    return 0;
}

/* ---- a transposed conv, trimmed --------------------------------------------------------- */

static void convtr_init(es_stage *g, const en_cfg *cfg, const en_conv *cv, long long L,
                        long long bin)
{
    es_conv *c = &g->c;
    long long s = cv->stride, ptot = cv->k - s;
    long long pr = cfg->causal ? (long long)ceil((double)ptot * cfg->trim_right) : ptot / 2;
    c->cv = cv;
    c->L = L;
    c->lout = L * s;
    g->plt = ptot - pr;
    c->bout = bin * s + cv->k + s;
    c->bout = c->bout < c->lout ? c->bout : c->lout;
    c->cap = bin + cv->k / s + 4;          /* inputs a window needs, plus a round's */
    c->xpcap = (c->cap - 1) * s + cv->k;   /* the untrimmed output of a window */
}

static int convtr_alloc(struct en_stream *st, es_conv *c)
{
    int fail = 0;
    c->h = grab(st, (size_t)c->cv->cin * (size_t)c->cap, &fail);
    c->xp = grab(st, (size_t)c->cv->cout * (size_t)c->xpcap, &fail);
    return fail;
}

/* The first input whose kernel reaches untrimmed step P. */
static long long tr_first(const en_conv *cv, long long P)
{
    return P >= cv->k ? (P - cv->k) / cv->stride + 1 : 0;
}

/* Untrimmed step P sums the inputs t with t s <= P < t s + k: complete once input
 * floor(P / s) is in; the window holds every input of the steps taken, so each sums the
 * same terms in the same order as offline. */
static int convtr_emit(en_net *net, es_stage *g, float *win, float *y, long long *m,
                       sono_error *err)
{
    es_conv *c = &g->c;
    const en_conv *cv = c->cv;
    long long s = cv->stride, r = c->fed == c->L ? c->lout : c->fed * s - g->plt;
    r = r < 0 ? 0 : r > c->lout ? c->lout : r;
    *m = r > c->done ? r - c->done : 0;
    if (*m > c->bout)
        return sono_fail(err, SONO_EINTERNAL, "codec.encodec stream: %lld outputs in a "
                         "round, planned %lld", *m, c->bout);
    if (*m > 0) {
        long long wa = tr_first(cv, c->done + g->plt), l = c->fed - wa;
        if (wa < c->hbase)
            return sono_fail(err, SONO_EINTERNAL, "codec.encodec stream: input %lld left "
                             "the history", wa);
        for (int i = 0; i < cv->cin; i++)
            memcpy(win + (size_t)i * (size_t)l,
                   c->h + (size_t)i * (size_t)c->cap + (size_t)(wa - c->hbase),
                   (size_t)l * sizeof(float));
        long long full = (l - 1) * s + cv->k, at = c->done + g->plt - wa * s;
        net->k->convtr(cv, win, l, 1, c->xp, net->scratch);
        for (int o = 0; o < cv->cout; o++)
            memcpy(y + (size_t)o * (size_t)*m, c->xp + (size_t)o * (size_t)full + (size_t)at,
                   (size_t)*m * sizeof(float));
        c->done = r;
    }
    long long keep = tr_first(cv, c->done + g->plt);
    keep = keep < c->fed ? keep : c->fed;
    if (keep > c->hbase) {
        long long gone = keep - c->hbase;
        for (int i = 0; i < cv->cin; i++)
            memmove(c->h + (size_t)i * (size_t)c->cap, c->h + (size_t)i * (size_t)c->cap + gone,
                    (size_t)(c->hlen - gone) * sizeof(float));
        c->hlen -= gone;
        c->hbase += gone;
    }
    return 0;
}

/* ---- the layers of a side -------------------------------------------------------------- */

static void elu(const en_net *net, float *x, size_t n)
{
    en_elu_net(net, x, x, n);
}

static void side_plan(en_net *net, int d, long long L, long long bin, es_side *sd)
{
    sd->n = net->n[d];
    for (int i = 0; i < sd->n; i++) {
        es_stage *g = &sd->s[i];
        const en_layer *y = &net->l[d][i];
        memset(g, 0, sizeof *g);
        g->l = y;
        g->L = L;
        g->bin = bin;
        g->bout = bin;
        if (y->kind == EN_CONV || y->kind == EN_RES) {
            conv_init(&g->c, &net->cfg, &y->c[0], L, bin, &g->bout);
            L = g->c.lout;
        } else if (y->kind == EN_CONVTR) {
            convtr_init(g, &net->cfg, &y->c[0], L, bin);
            g->bout = g->c.bout;
            L = g->c.lout;
        }
        bin = g->bout;
    }
}

static int side_alloc(struct en_stream *st, es_side *sd)
{
    int fail = 0;
    for (int i = 0; i < sd->n; i++) {
        es_stage *g = &sd->s[i];
        const en_layer *y = g->l;
        size_t ci = (size_t)y->c[0].cin, co = (size_t)y->c[0].cout, bo = (size_t)g->bout;
        switch (y->kind) {
        case EN_CONV:
            fail |= conv_alloc(st, &g->c);
            g->y = grab(st, co * bo, &fail);
            break;
        case EN_CONVTR:
            fail |= convtr_alloc(st, &g->c);
            g->t[0] = grab(st, ci * (size_t)g->c.cap, &fail);
            g->y = grab(st, co * bo, &fail);
            break;
        case EN_RES: /* q: raw input; t0: ELU(input); t1: block.1 out; t2: block.3 out */
            fail |= conv_alloc(st, &g->c);
            g->q = grab(st, ci * (size_t)g->c.cap, &fail);
            g->t[0] = grab(st, ci * (size_t)(g->bin > g->bout ? g->bin : g->bout), &fail);
            g->t[1] = grab(st, co * bo, &fail);
            g->t[2] = grab(st, ci * bo, &fail);
            g->y = grab(st, ci * bo, &fail);
            break;
        case EN_LSTM: /* q: h and c per layer; t0, t1: time-major activations */
            g->q = grab(st, 2 * (size_t)y->h * (size_t)y->nl, &fail);
            g->t[0] = grab(st, (size_t)y->h * (size_t)g->bin, &fail);
            g->t[1] = grab(st, (size_t)y->h * (size_t)g->bin, &fail);
            g->y = grab(st, (size_t)y->h * (size_t)g->bin, &fail);
            break;
        }
    }
    return fail;
}

static void side_free(es_side *sd)
{
    for (int i = 0; i < sd->n; i++) {
        es_stage *g = &sd->s[i];
        free(g->c.h);
        free(g->c.xp);
        free(g->y);
        free(g->q);
        for (int j = 0; j < 3; j++)
            free(g->t[j]);
    }
    sd->n = 0;
}

static void side_begin(es_side *sd)
{
    for (int i = 0; i < sd->n; i++) {
        es_stage *g = &sd->s[i];
        conv_begin(&g->c);
        g->qbase = g->qlen = 0;
        if (g->l->kind == EN_LSTM)
            memset(g->q, 0, 2 * (size_t)g->l->h * (size_t)g->l->nl * sizeof(float));
    }
}

/* Residual unit: block.1 streams over ELU(x); each step it completes is finished with the
 * raw x kept for it: shortcut(x) + block.3(ELU(block.1)). */
static int res_round(en_net *net, es_stage *g, const float *x, long long n, long long *m,
                     sono_error *err)
{
    const en_layer *y = g->l;
    int C = y->c[0].cin, Hh = y->c[0].cout;
    es_conv *c = &g->c;
    if (g->qlen + n > c->cap)
        return sono_fail(err, SONO_EINTERNAL, "codec.encodec stream: residual queue overflows");
    for (int i = 0; i < C; i++) {
        memcpy(g->q + (size_t)i * (size_t)c->cap + g->qlen, x + (size_t)i * (size_t)n,
               (size_t)n * sizeof(float));
        memcpy(g->t[0] + (size_t)i * (size_t)n, x + (size_t)i * (size_t)n,
               (size_t)n * sizeof(float));
    }
    g->qlen += n;
    elu(net, g->t[0], (size_t)C * (size_t)n);
    int rc = hist_append(c, g->t[0], n, n, err);
    if (rc || (rc = conv_emit(net, c, g->t[1], m, err)) || *m == 0)
        return rc;
    long long k = *m;
    elu(net, g->t[1], (size_t)Hh * (size_t)k);
    net->k->conv(&y->c[1], g->t[1], k, 1, g->t[2], k, net->scratch);
    /* the raw steps [qbase, qbase + k) into t0 as a compact block for the shortcut */
    for (int i = 0; i < C; i++)
        memcpy(g->t[0] + (size_t)i * (size_t)k, g->q + (size_t)i * (size_t)c->cap,
               (size_t)k * sizeof(float));
    if (net->cfg.shortcut)
        net->k->conv(&y->c[2], g->t[0], k, 1, g->y, k, net->scratch);
    else
        memcpy(g->y, g->t[0], (size_t)C * (size_t)k * sizeof(float));
    for (size_t j = 0; j < (size_t)C * (size_t)k; j++)
        g->y[j] += g->t[2][j];
    for (int i = 0; i < C; i++)
        memmove(g->q + (size_t)i * (size_t)c->cap, g->q + (size_t)i * (size_t)c->cap + k,
                (size_t)(g->qlen - k) * sizeof(float));
    g->qlen -= k;
    g->qbase += k;
    return 0;
}

/* LSTM: the offline wrapper's transposes and skip sum around the kernel, state carried. */
static void lstm_round(en_net *net, es_stage *g, const float *x, long long T)
{
    const en_layer *l = g->l;
    int H = l->h;
    float *a = g->t[0], *b = g->t[1];
    for (int c = 0; c < H; c++)
        for (long long t = 0; t < T; t++)
            a[(size_t)t * H + c] = x[(size_t)c * (size_t)T + (size_t)t];
    for (int k = 0; k < l->nl; k++) {
        net->k->lstm(l, k, a, T, 1, b, g->q + 2 * (size_t)H * (size_t)k, net->scratch);
        float *s = a;
        a = b;
        b = s;
    }
    for (int c = 0; c < H; c++)
        for (long long t = 0; t < T; t++)
            g->y[(size_t)c * (size_t)T + (size_t)t] =
                (l->nl ? a[(size_t)t * H + c] : 0.0f) + x[(size_t)c * (size_t)T + (size_t)t];
}

/* x [C][n] (row stride n) through the side; *out, *m: the last layer's new steps. ELU works
 * in place on its predecessor's output, which nothing reads again. */
static int side_round(en_net *net, es_side *sd, float *x, int C, long long n, float **out,
                      long long *m, sono_error *err)
{
    int rc = 0;
    for (int i = 0; i < sd->n && n > 0 && !rc; i++) {
        es_stage *g = &sd->s[i];
        const en_layer *y = g->l;
        long long k = 0;
        switch (y->kind) {
        case EN_ELU:
            elu(net, x, (size_t)C * (size_t)n);
            continue;
        case EN_CONV:
            if (!(rc = hist_append(&g->c, x, n, n, err)))
                rc = conv_emit(net, &g->c, g->y, &k, err);
            C = y->c[0].cout;
            break;
        case EN_CONVTR:
            if (!(rc = hist_append(&g->c, x, n, n, err)))
                rc = convtr_emit(net, g, g->t[0], g->y, &k, err);
            C = y->c[0].cout;
            break;
        case EN_RES:
            rc = res_round(net, g, x, n, &k, err);
            break;
        case EN_LSTM:
            lstm_round(net, g, x, n);
            k = n;
            break;
        }
        x = g->y;
        n = k;
    }
    *out = x;
    *m = n;
    return rc;
}

/* ---- the stream ------------------------------------------------------------------------- */

void en_stream_free(en_net *net)
{
    struct en_stream *st = net->stream;
    if (!st)
        return;
    side_free(&st->side[0]);
    side_free(&st->side[1]);
    free(st->x0);
    free(st->res);
    free(st->code);
    free(st);
    net->stream = NULL;
}

size_t en_stream_bytes(const en_net *net)
{
    return net->stream ? net->stream->bytes : 0;
}

/* Rounds of up to ES_ROUND_HOPS hops of samples into the encoder, ES_ROUND_FRAMES frames
 * (or what one encoder round emits) into the decoder: a chunk of 80 ms or less is one
 * round, each layer one kernel call on it, while the state stays bounded. */
#define ES_ROUND_HOPS 8
#define ES_ROUND_FRAMES 8

static int stream_alloc(en_net *net, sono_error *err)
{
    struct en_stream *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "codec.encodec stream: out of memory");
    net->stream = st;
    int fail = 0;
    long long D = net->cfg.hidden, in = (long long)ES_ROUND_HOPS * net->cfg.hop;
    st->dec_frames = ES_ROUND_FRAMES;
    if (net->mode != EN_DECODE) {
        es_side *e = &st->side[0];
        side_plan(net, 0, net->samples, in, e);
        fail |= side_alloc(st, e);
        st->enc_frames = e->s[e->n - 1].bout;
        st->dec_frames = st->enc_frames > st->dec_frames ? st->enc_frames : st->dec_frames;
    }
    if (net->mode != EN_ENCODE) {
        side_plan(net, 1, net->frames, st->dec_frames, &st->side[1]);
        fail |= side_alloc(st, &st->side[1]);
    }
    in = in > D * st->dec_frames ? in : D * st->dec_frames;
    st->x0 = grab(st, (size_t)in, &fail);
    st->res = grab(st, (size_t)(D * st->enc_frames), &fail);
    st->code = calloc((size_t)(st->enc_frames ? st->enc_frames : 1), sizeof(int));
    st->bytes += (size_t)st->enc_frames * sizeof(int);
    fail |= !st->code;
    net->bytes += st->bytes;
    if (fail) {
        en_stream_free(net);
        return sono_fail(err, SONO_ENOMEM, "codec.encodec stream: cannot allocate the state");
    }
    return 0;
}

int en_stream_begin(en_net *net, sono_error *err)
{
    if (!net->src)
        return sono_fail(err, SONO_EINVAL, "codec.encodec: stream_begin before load");
    if (net->batch > 1) /* issue 11: the op streams one clip only */
        return sono_fail(err, SONO_EUNSUPPORTED, "codec.encodec: streams=%d; streaming "
                         "takes one clip", net->batch);
    int rc = net->stream ? 0 : stream_alloc(net, err);
    if (rc)
        return rc;
    struct en_stream *st = net->stream;
    side_begin(&st->side[0]);
    side_begin(&st->side[1]);
    st->fed = st->frames_out = st->samples_out = 0;
    return 0;
}

/* Decoded samples a [m] to out, cut to the output's length. */
static void put_audio(en_net *net, const float *a, long long m, sono_buf *out)
{
    struct en_stream *st = net->stream;
    long long k = net->out_len - st->samples_out;
    k = m < k ? m : k;
    if (k > 0)
        memcpy((float *)out->data + st->samples_out, a, (size_t)k * sizeof(float));
    st->samples_out += k;
}

/* Frames [f0, f0 + m) of codes [nq][frames] through the decoder, m <= dec_frames: the
 * codewords summed per stage in order, as offline. */
static int decode_frames(en_net *net, const int *codes, long long f0, long long m,
                         sono_buf *out, sono_error *err)
{
    struct en_stream *st = net->stream;
    int D = net->cfg.hidden;
    memset(st->x0, 0, (size_t)D * (size_t)m * sizeof(float));
    for (int q = 0; q < net->nq; q++)
        for (long long t = 0; t < m; t++) {
            const float *e =
                net->cb[q] + (size_t)codes[(size_t)q * (size_t)net->frames + (size_t)(f0 + t)] * D;
            for (int j = 0; j < D; j++)
                st->x0[(size_t)j * (size_t)m + (size_t)t] += e[j];
        }
    float *a;
    long long k;
    int rc = side_round(net, &st->side[1], st->x0, D, m, &a, &k, err);
    if (!rc)
        put_audio(net, a, k, out);
    return rc;
}

/* The encoder's new frames emb [D][m]: the RVQ on them as offline (stage by stage over the
 * frames), codes out (encode) or on to the decoder (roundtrip). */
static int quantize_frames(en_net *net, const float *emb, long long m, sono_buf *out,
                           sono_error *err)
{
    struct en_stream *st = net->stream;
    int D = net->cfg.hidden, K = net->cfg.codebook;
    long long f0 = st->frames_out;
    int *codes = net->mode == EN_ENCODE ? (int *)out->data : net->codes;
    for (int j = 0; j < D; j++)
        for (long long t = 0; t < m; t++)
            st->res[(size_t)t * D + j] = emb[(size_t)j * (size_t)m + (size_t)t];
    for (int q = 0; q < net->nq; q++) {
        net->k->vq(net->cb[q], net->cbn[q], K, D, st->res, m, st->code, net->scratch);
        for (long long t = 0; t < m; t++) {
            codes[(size_t)q * (size_t)net->frames + (size_t)(f0 + t)] = st->code[t];
            const float *e = net->cb[q] + (size_t)st->code[t] * D;
            float *r = st->res + (size_t)t * D;
            for (int j = 0; j < D; j++)
                r[j] -= e[j];
        }
    }
    st->frames_out += m;
    return net->mode == EN_ROUNDTRIP ? decode_frames(net, codes, f0, m, out, err) : 0;
}

int en_stream_push(en_net *net, long long t0, long long n, int last, sono_buf *out,
                   long long *done, sono_error *err)
{
    struct en_stream *st = net->stream;
    long long total = net->mode == EN_DECODE ? net->frames : net->samples;
    if (!st)
        return sono_fail(err, SONO_EINVAL, "codec.encodec: push before stream_begin");
    if (t0 != st->fed || n < 1 || t0 + n > total || (last && t0 + n != total))
        return sono_fail(err, SONO_EINVAL, "codec.encodec stream: push of steps [%lld, %lld) "
                         "(last %d) after %lld of %lld", t0, t0 + n, last, st->fed, total);
    int rc = 0;
    if (net->mode == EN_DECODE) {
        const int32_t *c = net->src;
        for (long long f = t0; f < t0 + n; f++)
            for (int q = 0; q < net->nq; q++) {
                int32_t v = c[(size_t)q * (size_t)net->frames + (size_t)f];
                if (v < 0 || v >= net->cfg.codebook)
                    return sono_fail(err, SONO_EINVAL, "codec.encodec: code %d of stage %d, "
                                     "frame %lld is outside [0, %d)", v, q, f,
                                     net->cfg.codebook);
            }
        for (long long f = t0; f < t0 + n && !rc; f += st->dec_frames) {
            long long m = t0 + n - f < st->dec_frames ? t0 + n - f : st->dec_frames;
            rc = decode_frames(net, c, f, m, out, err);
        }
    } else {
        const float *x = net->src;
        long long round = (long long)ES_ROUND_HOPS * net->cfg.hop;
        for (long long t = t0; t < t0 + n && !rc; t += round) {
            long long k = t0 + n - t < round ? t0 + n - t : round, m;
            float *emb;
            memcpy(st->x0, x + t, (size_t)k * sizeof(float));
            rc = side_round(net, &st->side[0], st->x0, 1, k, &emb, &m, err);
            if (!rc && m > 0)
                rc = quantize_frames(net, emb, m, out, err);
        }
    }
    st->fed = t0 + n;
    if (rc)
        return rc;
    *done = net->mode == EN_ENCODE ? st->frames_out : st->samples_out;
    long long want = net->mode == EN_ENCODE ? net->frames : net->out_len;
    if (last && *done != want)
        return sono_fail(err, SONO_EINTERNAL, "codec.encodec stream: %lld of %lld output "
                         "steps after the last push", *done, want);
    return 0;
}
