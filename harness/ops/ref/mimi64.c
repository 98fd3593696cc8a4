/* mimi64.c — the float64 Mimi network (mimi.h's definitions, transformers' modeling_mimi.py):
 * the SEANet convolutions with their causal padding, the two transformers with RoPE, the
 * causal sliding window and layer scale, the down/upsample and the split residual VQ, by
 * definition in double; activations [channels][time], the transformer's [time][channels]. */
#include <math.h>
#include <stdlib.h>

#include "mimi.h"
#include "st64.h"

enum { K_CONV = 1, K_CONVTR, K_ELU, K_RES };

typedef struct conv64 {
    int cin, cout, k, stride, dil, groups, replicate;
    double *w, *b; /* conv [cout][cin/g][k]; transposed [cin][cout/g][k]; b may be NULL */
} conv64;

typedef struct layer64 {
    int kind;
    conv64 c[2]; /* conv / convtr: c[0]; residual: block.1, block.3 */
} layer64;

typedef struct tlayer64 {
    double *wq, *wk, *wv, *wo, *w1, *w2, *ln1g, *ln1b, *ln2g, *ln2b, *ls1, *ls2;
} tlayer64;

typedef struct rvq64 {
    int n;
    double *in, *out; /* [Q][D], [D][Q] */
    double **cb;      /* n codebooks [K][Q], embed_sum / max(cluster_usage, 1e-5) */
} rvq64;

#define MAXL 64
struct sono_mimi64 {
    sono_mimi_config c;
    int n[2];
    layer64 l[2][MAXL];
    tlayer64 *t[2];
    conv64 down, up;
    rvq64 q[2];
};

/* ---- loading ---------------------------------------------------------------------- */
static int rd(const sono_st *st, const char *name, int nd, long long a, long long b,
              long long k, double **out, sono_error *err)
{
    long long sh[3] = {a, b, k};
    return sono_st_read(st, name, nd, sh, out, err);
}

static int rd_conv(const sono_st *st, const char *pre, conv64 *cv, int tr, int bias,
                   sono_error *err)
{
    char n[160];
    snprintf(n, sizeof n, "%s.conv.weight", pre);
    int rc = tr ? rd(st, n, 3, cv->cin, cv->cout / cv->groups, cv->k, &cv->w, err)
                : rd(st, n, 3, cv->cout, cv->cin / cv->groups, cv->k, &cv->w, err);
    snprintf(n, sizeof n, "%s.conv.bias", pre);
    return rc ? rc : bias ? rd(st, n, 1, cv->cout, 0, 0, &cv->b, err) : 0;
}

static void add_conv(sono_mimi64 *m, int side, int cin, int cout, int k, int s, int d)
{
    layer64 *y = &m->l[side][m->n[side]++];
    y->kind = K_CONV;
    y->c[0] = (conv64){.cin = cin, .cout = cout, .k = k, .stride = s, .dil = d, .groups = 1};
}

/* The layer lists of MimiEncoder and MimiDecoder, index = the position in .layers. */
static void graph(sono_mimi64 *m)
{
    const sono_mimi_config *c = &m->c;
    int sc = 1;
    add_conv(m, 0, 1, c->filters, c->kernel, 1, 1);
    for (int i = c->nratios - 1; i >= 0; i--) {
        int cur = sc * c->filters;
        for (int j = 0; j < c->nres; j++) {
            layer64 *y = &m->l[0][m->n[0]++];
            int dil = (int)lround(pow(c->dil_growth, j));
            y->kind = K_RES;
            y->c[0] = (conv64){.cin = cur, .cout = cur / c->compress, .k = c->res_kernel,
                               .stride = 1, .dil = dil, .groups = 1};
            y->c[1] = (conv64){.cin = cur / c->compress, .cout = cur, .k = 1, .stride = 1,
                               .dil = 1, .groups = 1};
        }
        m->l[0][m->n[0]++].kind = K_ELU;
        add_conv(m, 0, cur, 2 * cur, 2 * c->ratios[i], c->ratios[i], 1);
        sc *= 2;
    }
    m->l[0][m->n[0]++].kind = K_ELU;
    add_conv(m, 0, sc * c->filters, c->hidden, c->last_kernel, 1, 1);
    sc = 1 << c->nratios;
    add_conv(m, 1, c->hidden, sc * c->filters, c->kernel, 1, 1);
    for (int i = 0; i < c->nratios; i++) {
        int cur = sc * c->filters;
        m->l[1][m->n[1]++].kind = K_ELU;
        layer64 *y = &m->l[1][m->n[1]++];
        y->kind = K_CONVTR;
        y->c[0] = (conv64){.cin = cur, .cout = cur / 2, .k = 2 * c->ratios[i],
                           .stride = c->ratios[i], .dil = 1, .groups = 1};
        for (int j = 0; j < c->nres; j++) {
            y = &m->l[1][m->n[1]++];
            y->kind = K_RES;
            y->c[0] = (conv64){.cin = cur / 2, .cout = cur / 2 / c->compress,
                               .k = c->res_kernel, .stride = 1,
                               .dil = (int)lround(pow(c->dil_growth, j)), .groups = 1};
            y->c[1] = (conv64){.cin = cur / 2 / c->compress, .cout = cur / 2, .k = 1,
                               .stride = 1, .dil = 1, .groups = 1};
        }
        sc /= 2;
    }
    m->l[1][m->n[1]++].kind = K_ELU;
    add_conv(m, 1, c->filters, 1, c->last_kernel, 1, 1);
}

static int load_transformer(const sono_st *st, sono_mimi64 *m, int side, sono_error *err)
{
    const sono_mimi_config *c = &m->c;
    const char *w = side ? "decoder_transformer" : "encoder_transformer";
    long long D = c->hidden, F = c->ffn;
    m->t[side] = calloc((size_t)c->layers + 1, sizeof(tlayer64));
    if (!m->t[side])
        return sono_fail(err, SONO_ENOMEM, "mimi64: out of memory");
    int rc = 0;
    for (int i = 0; !rc && i < c->layers; i++) {
        tlayer64 *t = &m->t[side][i];
        char n[160];
#define R(suffix, nd, a, b, dst)                                                         \
    (snprintf(n, sizeof n, "%s.layers.%d.%s", w, i, suffix),                             \
     (rc = rd(st, n, nd, a, b, 0, dst, err)) != 0)
        if (R("self_attn.q_proj.weight", 2, D, D, &t->wq) ||
            R("self_attn.k_proj.weight", 2, D, D, &t->wk) ||
            R("self_attn.v_proj.weight", 2, D, D, &t->wv) ||
            R("self_attn.o_proj.weight", 2, D, D, &t->wo) ||
            R("mlp.fc1.weight", 2, F, D, &t->w1) || R("mlp.fc2.weight", 2, D, F, &t->w2) ||
            R("input_layernorm.weight", 1, D, 0, &t->ln1g) ||
            R("input_layernorm.bias", 1, D, 0, &t->ln1b) ||
            R("post_attention_layernorm.weight", 1, D, 0, &t->ln2g) ||
            R("post_attention_layernorm.bias", 1, D, 0, &t->ln2b) ||
            R("self_attn_layer_scale.scale", 1, D, 0, &t->ls1) ||
            R("mlp_layer_scale.scale", 1, D, 0, &t->ls2))
            break;
#undef R
    }
    return rc;
}

static int load_rvq(const sono_st *st, sono_mimi64 *m, int s, sono_error *err)
{
    const sono_mimi_config *c = &m->c;
    const char *w = s ? "acoustic" : "semantic";
    rvq64 *r = &m->q[s];
    r->n = s ? c->num_quantizers - c->num_semantic : c->num_semantic;
    r->cb = calloc((size_t)r->n, sizeof *r->cb);
    if (!r->cb)
        return sono_fail(err, SONO_ENOMEM, "mimi64: out of memory");
    char n[160];
    snprintf(n, sizeof n, "quantizer.%s_residual_vector_quantizer.input_proj.weight", w);
    int rc = rd(st, n, 3, c->codebook_dim, c->hidden, 1, &r->in, err);
    snprintf(n, sizeof n, "quantizer.%s_residual_vector_quantizer.output_proj.weight", w);
    rc = rc ? rc : rd(st, n, 3, c->hidden, c->codebook_dim, 1, &r->out, err);
    for (int q = 0; !rc && q < r->n; q++) {
        double *use = NULL;
        snprintf(n, sizeof n, "quantizer.%s_residual_vector_quantizer.layers.%d.codebook."
                 "embed_sum", w, q);
        rc = rd(st, n, 2, c->codebook_size, c->codebook_dim, 0, &r->cb[q], err);
        snprintf(n, sizeof n, "quantizer.%s_residual_vector_quantizer.layers.%d.codebook."
                 "cluster_usage", w, q);
        rc = rc ? rc : rd(st, n, 1, c->codebook_size, 0, 0, &use, err);
        for (int k = 0; !rc && k < c->codebook_size; k++)
            for (int j = 0; j < c->codebook_dim; j++)
                r->cb[q][(size_t)k * c->codebook_dim + j] /= fmax(use[k], 1e-5);
        free(use);
    }
    return rc;
}

static int read_config(const sono_st *st, const char *path, sono_mimi_config *c,
                       sono_error *err)
{
    const char *js = sono_st_meta(st, "config");
    if (js)
        return sono_mimi_config_parse(js, path, c, err);
    char side[4200];
    const char *slash = strrchr(path, '/');
    snprintf(side, sizeof side, "%.*sconfig.json", slash ? (int)(slash - path + 1) : 0, path);
    FILE *f = fopen(side, "rb");
    if (!f) {
        sono_mimi_config_default(c);
        return sono_mimi_config_finish(c, path, err);
    }
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (!buf)
        return sono_fail(err, SONO_ENOMEM, "mimi64: out of memory");
    buf[n] = 0;
    int rc = sono_mimi_config_parse(buf, side, c, err);
    free(buf);
    return rc;
}

int sono_mimi64_load(const char *path, sono_mimi64 **out, sono_error *err)
{
    sono_st *st = NULL;
    sono_mimi64 *m = calloc(1, sizeof *m);
    *out = NULL;
    if (!m)
        return sono_fail(err, SONO_ENOMEM, "mimi64: out of memory");
    int rc = sono_st_open(path, &st, err);
    rc = rc ? rc : read_config(st, path, &m->c, err);
    if (!rc)
        graph(m);
    for (int side = 0; !rc && side < 2; side++)
        for (int i = 0; !rc && i < m->n[side]; i++) {
            layer64 *y = &m->l[side][i];
            char pre[96], p2[120];
            snprintf(pre, sizeof pre, "%s.layers.%d", side ? "decoder" : "encoder", i);
            if (y->kind == K_CONV || y->kind == K_CONVTR)
                rc = rd_conv(st, pre, &y->c[0], y->kind == K_CONVTR, 1, err);
            else if (y->kind == K_RES) {
                snprintf(p2, sizeof p2, "%s.block.1", pre);
                rc = rd_conv(st, p2, &y->c[0], 0, 1, err);
                snprintf(p2, sizeof p2, "%s.block.3", pre);
                rc = rc ? rc : rd_conv(st, p2, &y->c[1], 0, 1, err);
            }
        }
    const sono_mimi_config *c = &m->c;
    m->down = (conv64){.cin = c->hidden, .cout = c->hidden, .k = c->down_k, .stride = 2,
                       .dil = 1, .groups = 1, .replicate = 1};
    m->up = (conv64){.cin = c->hidden, .cout = c->hidden, .k = c->down_k, .stride = 2,
                     .dil = 1, .groups = c->upsample_groups};
    rc = rc ? rc : rd_conv(st, "downsample", &m->down, 0, 0, err);
    rc = rc ? rc : rd_conv(st, "upsample", &m->up, 1, 0, err);
    rc = rc ? rc : load_transformer(st, m, 0, err);
    rc = rc ? rc : load_transformer(st, m, 1, err);
    rc = rc ? rc : load_rvq(st, m, 0, err);
    rc = rc ? rc : load_rvq(st, m, 1, err);
    sono_st_close(st);
    if (rc) {
        sono_mimi64_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

void sono_mimi64_free(sono_mimi64 *m)
{
    if (!m)
        return;
    for (int s = 0; s < 2; s++) {
        for (int i = 0; i < m->n[s]; i++)
            for (int j = 0; j < 2; j++) {
                free(m->l[s][i].c[j].w);
                free(m->l[s][i].c[j].b);
            }
        for (int i = 0; m->t[s] && i < m->c.layers; i++) {
            tlayer64 *t = &m->t[s][i];
            double *a[] = {t->wq, t->wk, t->wv, t->wo, t->w1, t->w2, t->ln1g, t->ln1b,
                           t->ln2g, t->ln2b, t->ls1, t->ls2};
            for (size_t k = 0; k < sizeof a / sizeof a[0]; k++)
                free(a[k]);
        }
        free(m->t[s]);
        for (int q = 0; m->q[s].cb && q < m->q[s].n; q++)
            free(m->q[s].cb[q]);
        free(m->q[s].cb);
        free(m->q[s].in);
        free(m->q[s].out);
    }
    free(m->down.w);
    free(m->up.w);
    free(m);
}

const sono_mimi_config *sono_mimi64_config(const sono_mimi64 *m)
{
    return &m->c;
}

/* ---- the layers --------------------------------------------------------------------- */
/* MimiConv1d: causal, zeros (replicate for the downsample) keff - s before and
 * ceil(L/s)s - L after; y [cout][ceil(L/s)]. The padded input is built once; each output
 * row accumulates tap by tap over time (sums in another order than a dot product per
 * output: both exact to double rounding, this one a streaming loop). */
static double *conv_fwd(const conv64 *cv, const double *x, long long L, long long *Lo)
{
    long long keff = (long long)(cv->k - 1) * cv->dil + 1, s = cv->stride;
    long long left = keff - s, to = (L + s - 1) / s, lp = to * s + keff - s;
    double *y = malloc((size_t)(to * cv->cout) * sizeof *y);
    double *xp = malloc((size_t)(lp * cv->cin) * sizeof *xp);
    if (!y || !xp) {
        free(y);
        free(xp);
        return NULL;
    }
    for (int i = 0; i < cv->cin; i++)
        for (long long u = 0; u < lp; u++) {
            long long v = u - left;
            const double *xi = x + (size_t)i * (size_t)L;
            xp[(size_t)i * lp + u] = v >= 0 && v < L ? xi[v]
                                     : cv->replicate ? (v < 0 ? xi[0] : xi[L - 1])
                                                     : 0.0;
        }
    int cig = cv->cin / cv->groups, cog = cv->cout / cv->groups;
    for (int o = 0; o < cv->cout; o++) {
        double *yo = y + (size_t)o * to;
        for (long long t = 0; t < to; t++)
            yo[t] = cv->b ? cv->b[o] : 0;
        for (int i = 0; i < cig; i++) {
            const double *xi = xp + (size_t)((o / cog) * cig + i) * (size_t)lp;
            const double *w = cv->w + ((size_t)o * cig + i) * cv->k;
            for (int k = 0; k < cv->k; k++) {
                const double *xk = xi + (size_t)k * cv->dil, wk = w[k];
                if (s == 1)
                    for (long long t = 0; t < to; t++)
                        yo[t] += wk * xk[t];
                else
                    for (long long t = 0; t < to; t++)
                        yo[t] += wk * xk[t * s];
            }
        }
    }
    free(xp);
    *Lo = to;
    return y;
}

/* MimiConvTranspose1d, causal, trim_right_ratio 1: the full (L-1)s + k, its last k - s
 * dropped. */
static double *convtr_fwd(const conv64 *cv, const double *x, long long L, long long *Lo)
{
    long long s = cv->stride, full = (L - 1) * s + cv->k, to = L * s;
    double *y = calloc((size_t)(full * cv->cout), sizeof *y);
    if (!y)
        return NULL;
    int cig = cv->cin / cv->groups, cog = cv->cout / cv->groups;
    for (int i = 0; i < cv->cin; i++) {
        int g = i / cig;
        for (int j = 0; j < cog; j++) {
            int o = g * cog + j;
            const double *w = cv->w + ((size_t)i * cog + j) * cv->k;
            for (long long t = 0; t < L; t++) {
                double v = x[(size_t)i * L + t];
                for (int k = 0; k < cv->k; k++)
                    y[(size_t)o * full + t * s + k] += w[k] * v;
            }
        }
    }
    for (int o = 0; o < cv->cout; o++) /* trim: rows of `to` packed */
        for (long long t = 0; t < to; t++)
            y[(size_t)o * to + t] = y[(size_t)o * full + t] + (cv->b ? cv->b[o] : 0);
    *Lo = to;
    return y;
}

static double elu(double v)
{
    return v > 0 ? v : expm1(v);
}

/* x [C][L] -> the layer list's output (x is consumed). */
static int run_layers(const sono_mimi64 *m, int side, double **x, int *C, long long *L,
                      sono_error *err)
{
    for (int i = 0; i < m->n[side]; i++) {
        const layer64 *y = &m->l[side][i];
        size_t n = (size_t)*C * (size_t)*L;
        long long Lo = *L;
        double *o = NULL;
        if (y->kind == K_ELU) {
            for (size_t j = 0; j < n; j++)
                (*x)[j] = elu((*x)[j]);
            continue;
        }
        if (y->kind == K_CONV || y->kind == K_CONVTR) {
            o = y->kind == K_CONV ? conv_fwd(&y->c[0], *x, *L, &Lo)
                                  : convtr_fwd(&y->c[0], *x, *L, &Lo);
            if (!o)
                return sono_fail(err, SONO_ENOMEM, "mimi64: out of memory");
            free(*x);
            *x = o;
            *C = y->c[0].cout;
            *L = Lo;
            continue;
        }
        double *e = malloc(n * sizeof *e), *h = NULL;
        if (!e)
            return sono_fail(err, SONO_ENOMEM, "mimi64: out of memory");
        for (size_t j = 0; j < n; j++)
            e[j] = elu((*x)[j]);
        h = conv_fwd(&y->c[0], e, *L, &Lo);
        free(e);
        if (!h)
            return sono_fail(err, SONO_ENOMEM, "mimi64: out of memory");
        for (size_t j = 0; j < (size_t)y->c[0].cout * (size_t)Lo; j++)
            h[j] = elu(h[j]);
        o = conv_fwd(&y->c[1], h, Lo, &Lo);
        free(h);
        if (!o)
            return sono_fail(err, SONO_ENOMEM, "mimi64: out of memory");
        for (size_t j = 0; j < n; j++)
            (*x)[j] += o[j];
        free(o);
    }
    return 0;
}

static void layernorm(const double *x, int D, const double *g, const double *b, double eps,
                      double *y)
{
    double mu = 0, var = 0;
    for (int j = 0; j < D; j++)
        mu += x[j];
    mu /= D;
    for (int j = 0; j < D; j++)
        var += (x[j] - mu) * (x[j] - mu);
    var /= D;
    double r = 1.0 / sqrt(var + eps);
    for (int j = 0; j < D; j++)
        y[j] = (x[j] - mu) * r * g[j] + b[j];
}

/* y[t][o] = sum_i x[t][i] w[o][i]. */
static void linear(const double *x, long long T, int in, const double *w, int out, double *y)
{
    for (long long t = 0; t < T; t++)
        for (int o = 0; o < out; o++) {
            double s = 0;
            for (int i = 0; i < in; i++)
                s += x[(size_t)t * in + i] * w[(size_t)o * in + i];
            y[(size_t)t * out + o] = s;
        }
}

static void rope(const sono_mimi_config *c, double *x, long long T)
{
    int dh = c->head_dim, half = dh / 2;
    for (long long t = 0; t < T; t++)
        for (int h = 0; h < c->heads; h++) {
            double *v = x + (size_t)t * c->hidden + (size_t)h * dh;
            for (int i = 0; i < half; i++) {
                double a = (double)t * pow(c->rope_theta, -2.0 * i / dh);
                double x1 = v[i], x2 = v[i + half], cs = cos(a), sn = sin(a);
                v[i] = x1 * cs - x2 * sn;
                v[i + half] = x2 * cs + x1 * sn;
            }
        }
}

/* h [D][T] in place through the transformer. */
static int transformer(const sono_mimi64 *m, int side, double *hc, long long T,
                       sono_error *err)
{
    const sono_mimi_config *c = &m->c;
    int D = c->hidden, F = c->ffn, dh = c->head_dim;
    size_t TD = (size_t)T * D;
    double *h = malloc(TD * sizeof *h), *u = malloc(TD * sizeof *u),
           *q = malloc(TD * sizeof *q), *k = malloc(TD * sizeof *k),
           *v = malloc(TD * sizeof *v), *a = malloc(TD * sizeof *a),
           *f = malloc((size_t)T * F * sizeof *f), *s = malloc((size_t)T * sizeof *s);
    int rc = h && u && q && k && v && a && f && s ? 0
             : sono_fail(err, SONO_ENOMEM, "mimi64: out of memory");
    for (long long t = 0; !rc && t < T; t++)
        for (int j = 0; j < D; j++)
            h[(size_t)t * D + j] = hc[(size_t)j * T + t];
    for (int l = 0; !rc && l < c->layers; l++) {
        const tlayer64 *w = &m->t[side][l];
        for (long long t = 0; t < T; t++)
            layernorm(h + (size_t)t * D, D, w->ln1g, w->ln1b, c->norm_eps, u + (size_t)t * D);
        linear(u, T, D, w->wq, D, q);
        linear(u, T, D, w->wk, D, k);
        linear(u, T, D, w->wv, D, v);
        rope(c, q, T);
        rope(c, k, T);
        for (int hd = 0; hd < c->heads; hd++)
            for (long long t = 0; t < T; t++) {
                long long first = t + 1 > c->window ? t + 1 - c->window : 0;
                const double *qt = q + (size_t)t * D + (size_t)hd * dh;
                double mx = -INFINITY, sum = 0;
                for (long long j = first; j <= t; j++) {
                    const double *kj = k + (size_t)j * D + (size_t)hd * dh;
                    double d = 0;
                    for (int e = 0; e < dh; e++)
                        d += qt[e] * kj[e];
                    s[j] = d / sqrt((double)dh);
                    mx = fmax(mx, s[j]);
                }
                double *o = a + (size_t)t * D + (size_t)hd * dh;
                for (int e = 0; e < dh; e++)
                    o[e] = 0;
                for (long long j = first; j <= t; j++) {
                    double p = exp(s[j] - mx);
                    sum += p;
                    for (int e = 0; e < dh; e++)
                        o[e] += p * v[(size_t)j * D + (size_t)hd * dh + e];
                }
                for (int e = 0; e < dh; e++)
                    o[e] /= sum;
            }
        linear(a, T, D, w->wo, D, u);
        for (size_t i = 0; i < TD; i++)
            h[i] += w->ls1[i % D] * u[i];
        for (long long t = 0; t < T; t++)
            layernorm(h + (size_t)t * D, D, w->ln2g, w->ln2b, c->norm_eps, u + (size_t)t * D);
        linear(u, T, D, w->w1, F, f);
        for (size_t i = 0; i < (size_t)T * F; i++)
            f[i] = 0.5 * f[i] * (1.0 + erf(f[i] / sqrt(2.0)));
        linear(f, T, F, w->w2, D, u);
        for (size_t i = 0; i < TD; i++)
            h[i] += w->ls2[i % D] * u[i];
    }
    for (long long t = 0; !rc && t < T; t++)
        for (int j = 0; j < D; j++)
            hc[(size_t)j * T + t] = h[(size_t)t * D + j];
    free(h);
    free(u);
    free(q);
    free(k);
    free(v);
    free(a);
    free(f);
    free(s);
    return rc;
}

/* ---- the network -------------------------------------------------------------------- */
int sono_mimi64_encoder(const sono_mimi64 *m, const double *x, long long n, double **e,
                        long long *frames, sono_error *err)
{
    double *h = malloc((size_t)n * sizeof *h);
    if (!h)
        return sono_fail(err, SONO_ENOMEM, "mimi64: out of memory");
    memcpy(h, x, (size_t)n * sizeof *h);
    int C = 1;
    long long L = n;
    int rc = run_layers(m, 0, &h, &C, &L, err);
    rc = rc ? rc : transformer(m, 0, h, L, err);
    double *d = rc ? NULL : conv_fwd(&m->down, h, L, frames);
    free(h);
    if (!rc && !d)
        rc = sono_fail(err, SONO_ENOMEM, "mimi64: out of memory");
    *e = d;
    return rc;
}

int sono_mimi64_project(const sono_mimi64 *m, const double *e, long long frames, int q,
                        double **p, sono_error *err)
{
    const sono_mimi_config *c = &m->c;
    const double *w = m->q[q >= c->num_semantic].in;
    int Q = c->codebook_dim, D = c->hidden;
    double *r = malloc((size_t)Q * (size_t)frames * sizeof *r);
    if (!r)
        return sono_fail(err, SONO_ENOMEM, "mimi64: out of memory");
    for (int o = 0; o < Q; o++)
        for (long long t = 0; t < frames; t++) {
            double s = 0;
            for (int i = 0; i < D; i++)
                s += w[(size_t)o * D + i] * e[(size_t)i * frames + t];
            r[(size_t)o * frames + t] = s;
        }
    *p = r;
    return 0;
}

const double *sono_mimi64_codeword(const sono_mimi64 *m, int q, int c)
{
    int s = q >= m->c.num_semantic, j = s ? q - m->c.num_semantic : q;
    return m->q[s].cb[j] + (size_t)c * m->c.codebook_dim;
}

int sono_mimi64_quantize(const sono_mimi64 *m, const double *e, long long frames, int nq,
                         int *codes, sono_error *err)
{
    const sono_mimi_config *c = &m->c;
    int Q = c->codebook_dim, K = c->codebook_size;
    double r[8192];
    if (Q > 8192)
        return sono_fail(err, SONO_EINVAL, "mimi64: codebook_dim %d over 8192", Q);
    for (int s = 0; s < 2; s++) {
        int q0 = s ? c->num_semantic : 0, q1 = s ? nq : c->num_semantic;
        if (q0 >= q1)
            continue;
        double *p = NULL;
        int rc = sono_mimi64_project(m, e, frames, q0, &p, err);
        if (rc)
            return rc;
        for (long long t = 0; t < frames; t++) {
            for (int j = 0; j < Q; j++)
                r[j] = p[(size_t)j * frames + t];
            for (int q = q0; q < q1; q++) {
                int best = 0;
                double bd = INFINITY;
                for (int k = 0; k < K; k++) {
                    const double *w = sono_mimi64_codeword(m, q, k);
                    double d = 0;
                    for (int j = 0; j < Q; j++)
                        d += (r[j] - w[j]) * (r[j] - w[j]);
                    if (d < bd) {
                        bd = d;
                        best = k;
                    }
                }
                codes[(size_t)q * frames + t] = best;
                const double *w = sono_mimi64_codeword(m, q, best);
                for (int j = 0; j < Q; j++)
                    r[j] -= w[j];
            }
        }
        free(p);
    }
    return 0;
}

int sono_mimi64_decode(const sono_mimi64 *m, const int *codes, int nq, long long frames,
                       double **audio, sono_error *err)
{
    const sono_mimi_config *c = &m->c;
    int Q = c->codebook_dim, D = c->hidden, K = c->codebook_size;
    double *e = calloc((size_t)D * (size_t)frames, sizeof *e), *z = malloc((size_t)Q * sizeof *z);
    if (!e || !z) {
        free(e);
        free(z);
        return sono_fail(err, SONO_ENOMEM, "mimi64: out of memory");
    }
    for (int s = 0; s < 2; s++) {
        int q0 = s ? c->num_semantic : 0, q1 = s ? nq : c->num_semantic;
        if (q0 >= q1)
            continue;
        const double *w = m->q[s].out;
        for (long long t = 0; t < frames; t++) {
            for (int j = 0; j < Q; j++)
                z[j] = 0;
            for (int q = q0; q < q1; q++) {
                int k = codes[(size_t)q * frames + t];
                k = k < 0 ? 0 : k >= K ? K - 1 : k;
                const double *cw = sono_mimi64_codeword(m, q, k);
                for (int j = 0; j < Q; j++)
                    z[j] += cw[j];
            }
            for (int o = 0; o < D; o++) {
                double acc = 0;
                for (int j = 0; j < Q; j++)
                    acc += w[(size_t)o * Q + j] * z[j];
                e[(size_t)o * frames + t] += acc;
            }
        }
    }
    free(z);
    long long L;
    double *h = convtr_fwd(&m->up, e, frames, &L);
    free(e);
    if (!h)
        return sono_fail(err, SONO_ENOMEM, "mimi64: out of memory");
    int C = D;
    int rc = transformer(m, 1, h, L, err);
    rc = rc ? rc : run_layers(m, 1, &h, &C, &L, err);
    if (rc) {
        free(h);
        return rc;
    }
    *audio = h;
    return 0;
}
