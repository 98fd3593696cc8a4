/* encodec64.c — the float64 EnCodec network (encodec.h's definitions, transformers'
 * modeling_encodec.py): weights folded from weight norm at load, then convolutions,
 * transposed convolutions, residual blocks, the LSTM and the residual VQ by definition,
 * in double, on activations laid out [channels][time]. */
#include <math.h>
#include <stdlib.h>

#include "encodec.h"
#include "st64.h"

typedef struct conv64 {
    int cin, cout, k, stride, dil, tr;
    double *w, *b; /* conv [cout][cin][k]; transposed [cin][cout][k] */
} conv64;

typedef struct layer64 {
    sono_enc_kind kind;
    conv64 c[3]; /* conv / convtr: c[0]; residual: block.1, block.3, shortcut */
    int h, nl;   /* LSTM */
    double *wih[8], *whh[8], *bih[8], *bhh[8];
} layer64;

struct sono_enc64 {
    sono_enc_config cfg;
    int n[2];
    layer64 l[2][SONO_ENC_MAX_LAYERS];
    double **cb; /* num_quantizers codebooks [K][D] */
};

typedef struct act {
    double *x;
    int c;
    long long t;
} act;

/* ---- loading ------------------------------------------------------------------------ */

static int read_conv(const sono_st *st, const char *prefix, conv64 *cv, sono_error *err)
{
    char g[160], v[160], b[160];
    int d0 = cv->tr ? cv->cin : cv->cout, d1 = cv->tr ? cv->cout : cv->cin;
    long long sw[3] = {d0, d1, cv->k}, sg[3] = {d0, 1, 1}, sb[1] = {cv->cout};
    snprintf(b, sizeof b, "%s.conv.bias", prefix);
    int rc = sono_st_read(st, b, 1, sb, &cv->b, err);
    if (rc)
        return rc;
    snprintf(g, sizeof g, "%s.conv.weight_g", prefix);
    snprintf(v, sizeof v, "%s.conv.weight_v", prefix);
    if (!sono_st_has(st, g)) { /* torch's parametrizations, or no weight norm at all */
        snprintf(g, sizeof g, "%s.conv.parametrizations.weight.original0", prefix);
        snprintf(v, sizeof v, "%s.conv.parametrizations.weight.original1", prefix);
        if (!sono_st_has(st, g)) {
            snprintf(v, sizeof v, "%s.conv.weight", prefix);
            if (sono_st_has(st, v))
                return sono_st_read(st, v, 3, sw, &cv->w, err);
            snprintf(g, sizeof g, "%s.conv.weight_g", prefix);
        }
    }
    double *gv = NULL;
    if ((rc = sono_st_read(st, g, 3, sg, &gv, err)) ||
        (rc = sono_st_read(st, v, 3, sw, &cv->w, err))) {
        free(gv);
        return rc;
    }
    size_t row = (size_t)d1 * (size_t)cv->k;
    for (int i = 0; i < d0; i++) { /* w = g v / ||v||, per index of the first dim */
        double *r = cv->w + (size_t)i * row, s = 0;
        for (size_t j = 0; j < row; j++)
            s += r[j] * r[j];
        double f = s > 0 ? gv[i] / sqrt(s) : 0;
        for (size_t j = 0; j < row; j++)
            r[j] *= f;
    }
    free(gv);
    return 0;
}

int sono_enc64_read_conv(const char *path, const char *prefix, int cin, int cout, int k,
                         int transposed, double *w, double *b, sono_error *err)
{
    sono_st *st;
    int rc = sono_st_open(path, &st, err);
    if (rc)
        return rc;
    conv64 cv = {cin, cout, k, 1, 1, transposed, NULL, NULL};
    if (!(rc = read_conv(st, prefix, &cv, err))) {
        memcpy(w, cv.w, (size_t)cin * (size_t)cout * (size_t)k * sizeof *w);
        memcpy(b, cv.b, (size_t)cout * sizeof *b);
    }
    free(cv.w);
    free(cv.b);
    sono_st_close(st);
    return rc;
}

static int read_layer(const sono_st *st, const sono_enc_config *c, const sono_enc_layer *y,
                      layer64 *l, sono_error *err)
{
    char p[160];
    l->kind = y->kind;
    switch (y->kind) {
    case SONO_ENC_CONV:
    case SONO_ENC_CONVTR:
        l->c[0] = (conv64){y->cin, y->cout, y->k, y->stride, y->dil,
                           y->kind == SONO_ENC_CONVTR, NULL, NULL};
        return read_conv(st, y->name, &l->c[0], err);
    case SONO_ENC_RES: {
        int h = y->cin / c->compress, rc;
        l->c[0] = (conv64){y->cin, h, y->k, 1, y->dil, 0, NULL, NULL};
        l->c[1] = (conv64){h, y->cin, 1, 1, 1, 0, NULL, NULL};
        l->c[2] = (conv64){y->cin, y->cin, 1, 1, 1, 0, NULL, NULL};
        snprintf(p, sizeof p, "%s.block.1", y->name);
        if ((rc = read_conv(st, p, &l->c[0], err)))
            return rc;
        snprintf(p, sizeof p, "%s.block.3", y->name);
        if ((rc = read_conv(st, p, &l->c[1], err)))
            return rc;
        snprintf(p, sizeof p, "%s.shortcut", y->name);
        return c->conv_shortcut ? read_conv(st, p, &l->c[2], err) : 0;
    }
    case SONO_ENC_LSTM: {
        l->h = y->cin;
        l->nl = c->num_lstm_layers;
        long long sw[2] = {4LL * l->h, l->h}, sb[1] = {4LL * l->h};
        for (int k = 0; k < l->nl; k++) {
            int rc;
            snprintf(p, sizeof p, "%s.lstm.weight_ih_l%d", y->name, k);
            if ((rc = sono_st_read(st, p, 2, sw, &l->wih[k], err)))
                return rc;
            snprintf(p, sizeof p, "%s.lstm.weight_hh_l%d", y->name, k);
            if ((rc = sono_st_read(st, p, 2, sw, &l->whh[k], err)))
                return rc;
            snprintf(p, sizeof p, "%s.lstm.bias_ih_l%d", y->name, k);
            if ((rc = sono_st_read(st, p, 1, sb, &l->bih[k], err)))
                return rc;
            snprintf(p, sizeof p, "%s.lstm.bias_hh_l%d", y->name, k);
            if ((rc = sono_st_read(st, p, 1, sb, &l->bhh[k], err)))
                return rc;
        }
        return 0;
    }
    case SONO_ENC_ELU:
        return 0;
    }
    return 0;
}

static int read_config(const sono_st *st, sono_enc_config *c, sono_error *err)
{
    const char *cfg = sono_st_meta(st, "config");
    if (cfg)
        return sono_enc_config_parse(cfg, sono_st_path(st), c, err);
    sono_params p = {.count = 1, .v = {{.name = "weights", .type = SONO_PSTR,
                                        .s = sono_st_path(st)}}};
    return sono_enc_params_config(&p, 0, c, err); /* config.json beside it, or 24 kHz */
}

int sono_enc64_load(const char *path, sono_enc64 **out, sono_error *err)
{
    *out = NULL;
    sono_st *st;
    int rc = sono_st_open(path, &st, err);
    if (rc)
        return rc;
    sono_enc64 *m = calloc(1, sizeof *m);
    if (!m) {
        sono_st_close(st);
        return sono_fail(err, SONO_ENOMEM, "%s: out of memory", path);
    }
    rc = read_config(st, &m->cfg, err);
    for (int d = 0; d < 2 && !rc; d++) {
        sono_enc_layer y[SONO_ENC_MAX_LAYERS];
        m->n[d] = sono_enc_graph(&m->cfg, d, y);
        for (int i = 0; i < m->n[d] && !rc; i++)
            rc = read_layer(st, &m->cfg, &y[i], &m->l[d][i], err);
    }
    if (!rc && !(m->cb = calloc((size_t)m->cfg.num_quantizers, sizeof *m->cb)))
        rc = sono_fail(err, SONO_ENOMEM, "%s: out of memory", path);
    for (int q = 0; q < m->cfg.num_quantizers && !rc; q++) {
        char name[96];
        long long s[2] = {m->cfg.codebook_size, m->cfg.hidden_size};
        snprintf(name, sizeof name, "quantizer.layers.%d.codebook.embed", q);
        rc = sono_st_read(st, name, 2, s, &m->cb[q], err);
    }
    sono_st_close(st);
    if (rc) {
        sono_enc64_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

void sono_enc64_free(sono_enc64 *m)
{
    if (!m)
        return;
    for (int d = 0; d < 2; d++)
        for (int i = 0; i < m->n[d]; i++) {
            layer64 *l = &m->l[d][i];
            for (int j = 0; j < 3; j++) {
                free(l->c[j].w);
                free(l->c[j].b);
            }
            for (int k = 0; k < 8; k++) {
                free(l->wih[k]);
                free(l->whh[k]);
                free(l->bih[k]);
                free(l->bhh[k]);
            }
        }
    for (int q = 0; m->cb && q < m->cfg.num_quantizers; q++)
        free(m->cb[q]);
    free(m->cb);
    free(m);
}

const sono_enc_config *sono_enc64_config(const sono_enc64 *m)
{
    return &m->cfg;
}

/* ---- layers ------------------------------------------------------------------------- */

static int alloc_act(act *a, int c, long long t)
{
    a->c = c;
    a->t = t;
    a->x = calloc((size_t)c * (size_t)(t > 0 ? t : 1), sizeof(double));
    return a->x ? 0 : SONO_ENOMEM;
}

/* ---- padding and trimming, from transformers' definitions (issue 29) -------------------
 * Written from modeling_encodec.py's EncodecConv1d / EncodecConvTranspose1d and torch's
 * documented Conv1d / ConvTranspose1d output lengths, not from the impls (which have their
 * own reading, impls/common/encodec_net.c): tests/test_encodec_ref.c checks these two
 * functions against a table that transformers' own modules produced
 * (tests/data/encodec/padding.txt, tests/fixtures/encodec_padding_table.py). */

/* The smallest integer >= num / den (den > 0). C's division truncates toward zero, which
 * is the ceiling only for a negative quotient, so a positive one with a remainder is
 * moved up by one. */
static long long ceil_quotient(long long num, long long den)
{
    long long q = num / den;
    return q * den < num ? q + 1 : q;
}

/* The largest integer <= num / 2: Python's `// 2` on a padding that may in principle be
 * negative (it is not for EnCodec's layers: every span is at least its stride). */
static long long half_down(long long num)
{
    return num >= 0 ? num / 2 : -((-num + 1) / 2);
}

void sono_enc64_conv_padding(long long length, int kernel, int stride, int dilation,
                             int causal, long long *left, long long *right)
{
    /* __init__ keeps the dilated span as its kernel_size and pads span - stride in all,
     * so that, before any extra, (length + padding_total - span) / stride + 1 windows
     * fit. */
    long long span = (long long)dilation * (kernel - 1) + 1;
    long long padding_total = span - stride;
    /* _get_extra_padding_for_conv1d: n_frames = (length - span + padding_total) / stride
     * + 1 is fractional when the last window would run past the end; ceil(n_frames) - 1
     * windows of stride are then taken before the last one, which needs span samples
     * less the padding_total already on the left; whatever the input lacks of that ideal
     * length is added on the right (the "extra"). ceil(x + 1) - 1 = ceil(x). */
    long long windows_before_last = ceil_quotient(length - span + padding_total, stride);
    long long ideal_length = windows_before_last * stride + span - padding_total;
    long long extra = ideal_length - length;
    if (causal) { /* forward: (padding_total, extra) */
        *left = padding_total;
        *right = extra;
    } else { /* forward: right gets padding_total // 2, left the rest, extra on the right */
        long long half = half_down(padding_total);
        *left = padding_total - half;
        *right = half + extra;
    }
}

void sono_enc64_convtr_trim(int kernel, int stride, int causal, double trim_right_ratio,
                            long long *left, long long *right)
{
    /* forward: padding_total = kernel_size - stride; causal trims
     * math.ceil(padding_total * trim_right_ratio) off the right (the product in double,
     * as Python computes it, so a product that rounds a hair above an integer is trimmed
     * as Python trims it), otherwise padding_total // 2; the left loses the rest. */
    long long padding_total = (long long)kernel - stride;
    *right = causal ? (long long)ceil((double)padding_total * trim_right_ratio)
                    : half_down(padding_total);
    *left = padding_total - *right;
}

/* EncodecConv1d._pad1d with mode "reflect", in its two steps. torch's reflect padding
 * mirrors about the edge sample without repeating it and needs every pad shorter than the
 * input, so an input of n <= max(pl, pr) samples first gets max(pl, pr) - n + 1 zeros
 * appended; after padding, that many samples are dropped from the end again. */
static int pad_reflect(const act *x, long long pl, long long pr, act *y)
{
    long long maxp = pl > pr ? pl : pr;
    long long zeros = x->t <= maxp ? maxp - x->t + 1 : 0;
    long long n = x->t + zeros;               /* the zero-extended input */
    long long padded = n + pl + pr;           /* torch.nn.functional.pad's output */
    double *z = calloc((size_t)n, sizeof *z), *p = malloc((size_t)padded * sizeof *p);
    if (!z || !p || alloc_act(y, x->c, padded - zeros)) {
        free(z);
        free(p);
        return SONO_ENOMEM;
    }
    for (int c = 0; c < x->c; c++) {
        memcpy(z, x->x + (size_t)c * (size_t)x->t, (size_t)x->t * sizeof *z);
        for (long long i = 0; i < n; i++)
            p[pl + i] = z[i];
        for (long long i = 1; i <= pl; i++) /* left: z[1], z[2], ... mirrored outward */
            p[pl - i] = z[i];
        for (long long i = 1; i <= pr; i++) /* right: z[n-2], z[n-3], ... */
            p[pl + n - 1 + i] = z[n - 1 - i];
        memcpy(y->x + (size_t)c * (size_t)y->t, p, (size_t)y->t * sizeof *p);
    }
    free(z);
    free(p);
    return 0;
}

static int conv_fwd(const sono_enc_config *cfg, const conv64 *cv, const act *x, act *y)
{
    long long pl, pr;
    sono_enc64_conv_padding(x->t, cv->k, cv->stride, cv->dil, cfg->causal, &pl, &pr);
    act xp;
    if (pad_reflect(x, pl, pr, &xp))
        return SONO_ENOMEM;
    /* torch.nn.Conv1d (padding 0): L_out = floor((L_in - dilation * (kernel - 1) - 1) /
     * stride) + 1, on the padded length; L_in >= the span here, so C's division floors. */
    long long nout = (xp.t - (long long)cv->dil * (cv->k - 1) - 1) / cv->stride + 1;
    if (alloc_act(y, cv->cout, nout)) {
        free(xp.x);
        return SONO_ENOMEM;
    }
    long long s = cv->stride;
    for (int o = 0; o < cv->cout; o++) {
        double *yo = y->x + (size_t)o * (size_t)nout;
        for (long long t = 0; t < nout; t++)
            yo[t] = cv->b[o];
        for (int i = 0; i < cv->cin; i++)
            for (int k = 0; k < cv->k; k++) {
                double w = cv->w[((size_t)o * (size_t)cv->cin + (size_t)i) * (size_t)cv->k +
                                 (size_t)k];
                const double *xi = xp.x + (size_t)i * (size_t)xp.t + (size_t)k * cv->dil;
                for (long long t = 0; t < nout; t++)
                    yo[t] += w * xi[t * s];
            }
    }
    free(xp.x);
    return 0;
}

static int convtr_fwd(const sono_enc_config *cfg, const conv64 *cv, const act *x, act *y)
{
    /* torch.nn.ConvTranspose1d (padding 0, output_padding 0, dilation 1): L_out =
     * (L_in - 1) * stride + kernel; output t*stride + k gets w[k] x[t]. Then the trim. */
    long long s = cv->stride, full = (x->t - 1) * s + cv->k, tl, tr;
    sono_enc64_convtr_trim(cv->k, cv->stride, cfg->causal, cfg->trim_right_ratio, &tl, &tr);
    long long nout = full - tl - tr;
    if (alloc_act(y, cv->cout, nout))
        return SONO_ENOMEM;
    for (int o = 0; o < cv->cout; o++) {
        double *yo = y->x + (size_t)o * (size_t)nout;
        for (long long t = 0; t < nout; t++)
            yo[t] = cv->b[o];
        for (int i = 0; i < cv->cin; i++) {
            const double *xi = x->x + (size_t)i * (size_t)x->t;
            const double *w = cv->w + ((size_t)i * (size_t)cv->cout + (size_t)o) * (size_t)cv->k;
            for (long long t = 0; t < x->t; t++)
                for (int k = 0; k < cv->k; k++) {
                    long long j = t * s + k - tl; /* index after dropping tl on the left */
                    if (j >= 0 && j < nout)
                        yo[j] += w[k] * xi[t];
                }
        }
    }
    return 0;
}

static void elu(act *a)
{
    size_t n = (size_t)a->c * (size_t)a->t;
    for (size_t i = 0; i < n; i++)
        if (a->x[i] <= 0)
            a->x[i] = expm1(a->x[i]);
}

static int res_fwd(const sono_enc_config *cfg, const layer64 *l, const act *x, act *y)
{
    act a = {0}, b = {0}, c = {0}, sc = {0};
    int rc = SONO_ENOMEM;
    if (alloc_act(&a, x->c, x->t))
        goto out;
    memcpy(a.x, x->x, (size_t)x->c * (size_t)x->t * sizeof(double));
    elu(&a);
    if (conv_fwd(cfg, &l->c[0], &a, &b))
        goto out;
    elu(&b);
    if (conv_fwd(cfg, &l->c[1], &b, &c))
        goto out;
    if (cfg->conv_shortcut) {
        if (conv_fwd(cfg, &l->c[2], x, &sc))
            goto out;
    }
    size_t n = (size_t)x->c * (size_t)x->t;
    for (size_t i = 0; i < n; i++)
        c.x[i] += cfg->conv_shortcut ? sc.x[i] : x->x[i];
    *y = c;
    c.x = NULL;
    rc = 0;
out:
    free(a.x);
    free(b.x);
    free(c.x);
    free(sc.x);
    return rc;
}

static double sigm(double v)
{
    return 1.0 / (1.0 + exp(-v));
}

/* torch.nn.LSTM (gates i, f, g, o; zero initial state) over the layers, plus the skip;
 * no layers (SoundStream) is no LSTM at all: y = x (encodec.h). */
static int lstm_fwd(const layer64 *l, const act *x, act *y)
{
    int h = l->h;
    long long T = x->t;
    double *in = malloc((size_t)h * (size_t)(T ? T : 1) * sizeof(double)),
           *out = malloc((size_t)h * (size_t)(T ? T : 1) * sizeof(double)),
           *st = calloc(2 * (size_t)h + 4 * (size_t)h, sizeof(double));
    if (!in || !out || !st || alloc_act(y, x->c, T)) {
        free(in);
        free(out);
        free(st);
        return SONO_ENOMEM;
    }
    for (int c = 0; c < h; c++) /* time-major [T][h] */
        for (long long t = 0; t < T; t++)
            in[(size_t)t * h + c] = x->x[(size_t)c * (size_t)T + (size_t)t];
    for (int k = 0; k < l->nl; k++) {
        double *hs = st, *cs = st + h, *g = st + 2 * h;
        memset(st, 0, 2 * (size_t)h * sizeof(double));
        for (long long t = 0; t < T; t++) {
            const double *xt = in + (size_t)t * h;
            for (int r = 0; r < 4 * h; r++) {
                const double *wi = l->wih[k] + (size_t)r * h, *wh = l->whh[k] + (size_t)r * h;
                double s = l->bih[k][r] + l->bhh[k][r];
                for (int j = 0; j < h; j++)
                    s += wi[j] * xt[j] + wh[j] * hs[j];
                g[r] = s;
            }
            for (int j = 0; j < h; j++) {
                double ig = sigm(g[j]), fg = sigm(g[h + j]), gg = tanh(g[2 * h + j]),
                       og = sigm(g[3 * h + j]);
                cs[j] = fg * cs[j] + ig * gg;
                hs[j] = og * tanh(cs[j]);
                out[(size_t)t * h + j] = hs[j];
            }
        }
        double *tmp = in;
        in = out;
        out = tmp;
    }
    for (int c = 0; c < h; c++)
        for (long long t = 0; t < T; t++)
            y->x[(size_t)c * (size_t)T + (size_t)t] =
                (l->nl ? in[(size_t)t * h + c] : 0.0) + x->x[(size_t)c * (size_t)T + (size_t)t];
    free(in);
    free(out);
    free(st);
    return 0;
}

/* Runs layers [0, n) of side d on x (consumed), leaving the result in x. */
static int run_side(const sono_enc64 *m, int d, act *x, sono_error *err)
{
    for (int i = 0; i < m->n[d]; i++) {
        const layer64 *l = &m->l[d][i];
        act y = {0};
        int rc = 0;
        switch (l->kind) {
        case SONO_ENC_ELU:
            elu(x);
            continue;
        case SONO_ENC_CONV:
            rc = conv_fwd(&m->cfg, &l->c[0], x, &y);
            break;
        case SONO_ENC_CONVTR:
            rc = convtr_fwd(&m->cfg, &l->c[0], x, &y);
            break;
        case SONO_ENC_RES:
            rc = res_fwd(&m->cfg, l, x, &y);
            break;
        case SONO_ENC_LSTM:
            rc = lstm_fwd(l, x, &y);
            break;
        }
        free(x->x);
        *x = y;
        if (rc)
            return sono_fail(err, SONO_ENOMEM, "codec.encodec reference: out of memory at "
                             "%s layer %d", d ? "decoder" : "encoder", i);
    }
    return 0;
}

int sono_enc64_encoder(const sono_enc64 *m, const double *x, long long n, double **emb,
                       long long *frames, sono_error *err)
{
    act a;
    *emb = NULL;
    if (alloc_act(&a, 1, n))
        return sono_fail(err, SONO_ENOMEM, "codec.encodec reference: out of memory");
    memcpy(a.x, x, (size_t)n * sizeof(double));
    int rc = run_side(m, 0, &a, err);
    if (rc)
        return rc;
    *emb = a.x;
    *frames = a.t;
    return 0;
}

const double *sono_enc64_codeword(const sono_enc64 *m, int q, int c)
{
    return m->cb[q] + (size_t)c * (size_t)m->cfg.hidden_size;
}

double sono_enc64_dist(const sono_enc64 *m, int q, const double *r, int c)
{
    const double *e = sono_enc64_codeword(m, q, c);
    double s = 0;
    for (int j = 0; j < m->cfg.hidden_size; j++)
        s += (r[j] - e[j]) * (r[j] - e[j]);
    return s;
}

void sono_enc64_quantize(const sono_enc64 *m, const double *emb, long long frames, int nq,
                         int *codes)
{
    int D = m->cfg.hidden_size;
    double r[8192];
    for (long long t = 0; t < frames; t++) {
        for (int j = 0; j < D; j++)
            r[j] = emb[(size_t)j * (size_t)frames + (size_t)t];
        for (int q = 0; q < nq; q++) {
            int best = 0;
            double bd = INFINITY;
            for (int c = 0; c < m->cfg.codebook_size; c++) {
                double d = sono_enc64_dist(m, q, r, c);
                if (d < bd) { /* strict: the lowest index wins a tie */
                    bd = d;
                    best = c;
                }
            }
            codes[(size_t)q * (size_t)frames + (size_t)t] = best;
            const double *e = sono_enc64_codeword(m, q, best);
            for (int j = 0; j < D; j++)
                r[j] -= e[j];
        }
    }
}

int sono_enc64_decode(const sono_enc64 *m, const int *codes, int nq, long long frames,
                      double **audio, sono_error *err)
{
    act a;
    *audio = NULL;
    int D = m->cfg.hidden_size;
    if (alloc_act(&a, D, frames))
        return sono_fail(err, SONO_ENOMEM, "codec.encodec reference: out of memory");
    for (int q = 0; q < nq; q++)
        for (long long t = 0; t < frames; t++) {
            int c = codes[(size_t)q * (size_t)frames + (size_t)t];
            if (c < 0 || c >= m->cfg.codebook_size) {
                free(a.x);
                return sono_fail(err, SONO_EINVAL, "codec.encodec: code %d at stage %d, "
                                 "frame %lld is outside [0, %d)", c, q, t,
                                 m->cfg.codebook_size);
            }
            const double *e = sono_enc64_codeword(m, q, c);
            for (int j = 0; j < D; j++)
                a.x[(size_t)j * (size_t)frames + (size_t)t] += e[j];
        }
    int rc = run_side(m, 1, &a, err);
    if (rc)
        return rc;
    *audio = a.x;
    return 0;
}
