/* dac64.c — codec.dac's float64 reference: DacModel's encoder, factorised residual VQ and
 * decoder by definition (dac.h), layer by layer, loading DacModel's tensors with weight
 * norm folded. Shares no code with the impls. */
#include "dac.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "st64.h"

typedef struct conv64 {
    int cin, cout, k, s, d, p, tr;
    double *w, *b; /* [cout][cin][k] (transposed: [cin][cout][k]), [cout] */
} conv64;

typedef struct res64 {
    double *a1, *a2;
    conv64 c1, c2;
} res64;

typedef struct block64 {
    res64 r[3];
    double *alpha; /* the block's own Snake */
    conv64 c;      /* encoder: the strided conv; decoder: conv_t1 */
} block64;

struct sono_dac64 {
    sono_dac_config cfg;
    conv64 e_in, e_out, d_in, d_out;
    double *e_alpha, *d_alpha;
    block64 eb[SONO_DAC_MAX_RATIOS], db[SONO_DAC_MAX_RATIOS];
    conv64 *inp, *outp; /* n_codebooks each */
    double **cb;        /* [K][Dc] */
};

typedef struct act {
    int c;
    long long t;
    double *x; /* [c][t] */
} act;

/* ---- loading ---------------------------------------------------------------------- */

static int read_conv(const sono_st *st, const char *prefix, conv64 *c, sono_error *err)
{
    char n[160], n2[160];
    int d0 = c->tr ? c->cin : c->cout, d1 = c->tr ? c->cout : c->cin;
    long long wshape[3] = {d0, d1, c->k}, gshape[3] = {d0, 1, 1}, bshape[1] = {c->cout};
    double *g = NULL, *v = NULL;
    int rc = 0;
    snprintf(n, sizeof n, "%s.weight_v", prefix);
    snprintf(n2, sizeof n2, "%s.parametrizations.weight.original1", prefix);
    const char *vn = sono_st_has(st, n) ? n : sono_st_has(st, n2) ? n2 : NULL;
    if (vn) {
        rc = sono_st_read(st, vn, 3, wshape, &v, err);
        snprintf(n, sizeof n, "%s.weight_g", prefix);
        snprintf(n2, sizeof n2, "%s.parametrizations.weight.original0", prefix);
        if (!rc)
            rc = sono_st_read(st, sono_st_has(st, n) ? n : n2, 3, gshape, &g, err);
        if (!rc) { /* w = g v / ||v||, the norm per index of dim 0 */
            size_t row = (size_t)d1 * (size_t)c->k;
            for (int i = 0; i < d0; i++) {
                double s = 0;
                for (size_t j = 0; j < row; j++)
                    s += v[i * row + j] * v[i * row + j];
                s = sqrt(s);
                for (size_t j = 0; j < row; j++)
                    v[i * row + j] *= s > 0 ? g[i] / s : 0;
            }
            c->w = v;
            v = NULL;
        }
    } else {
        snprintf(n, sizeof n, "%s.weight", prefix);
        rc = sono_st_read(st, n, 3, wshape, &c->w, err);
    }
    free(g);
    free(v);
    snprintf(n, sizeof n, "%s.bias", prefix);
    return rc ? rc : sono_st_read(st, n, 1, bshape, &c->b, err);
}

static int read_alpha(const sono_st *st, const char *prefix, int C, double **a,
                      sono_error *err)
{
    char n[160];
    long long shape[3] = {1, C, 1};
    snprintf(n, sizeof n, "%s.alpha", prefix);
    return sono_st_read(st, n, 3, shape, a, err);
}

static conv64 mk(int cin, int cout, int k, int s, int d, int p, int tr)
{
    return (conv64){.cin = cin, .cout = cout, .k = k, .s = s, .d = d, .p = p, .tr = tr};
}

static int read_res(const sono_st *st, const char *prefix, int C, int dil, res64 *r,
                    sono_error *err)
{
    char p[140];
    r->c1 = mk(C, C, 7, 1, dil, 3 * dil, 0);
    r->c2 = mk(C, C, 1, 1, 1, 0, 0);
    snprintf(p, sizeof p, "%s.snake1", prefix);
    int rc = read_alpha(st, p, C, &r->a1, err);
    snprintf(p, sizeof p, "%s.snake2", prefix);
    rc = rc ? rc : read_alpha(st, p, C, &r->a2, err);
    snprintf(p, sizeof p, "%s.conv1", prefix);
    rc = rc ? rc : read_conv(st, p, &r->c1, err);
    snprintf(p, sizeof p, "%s.conv2", prefix);
    return rc ? rc : read_conv(st, p, &r->c2, err);
}

static int load_all(sono_dac64 *m, const sono_st *st, sono_error *err)
{
    const sono_dac_config *c = &m->cfg;
    char p[120];
    static const int dil[3] = {1, 3, 9};
    m->e_in = mk(1, c->enc_dim, 7, 1, 1, 3, 0);
    int rc = read_conv(st, "encoder.conv1", &m->e_in, err);
    for (int i = 0; !rc && i < c->nratios; i++) {
        int dim = c->enc_dim << (i + 1), r = c->ratios[i];
        for (int j = 0; !rc && j < 3; j++) {
            snprintf(p, sizeof p, "encoder.block.%d.res_unit%d", i, j + 1);
            rc = read_res(st, p, dim / 2, dil[j], &m->eb[i].r[j], err);
        }
        snprintf(p, sizeof p, "encoder.block.%d.snake1", i);
        rc = rc ? rc : read_alpha(st, p, dim / 2, &m->eb[i].alpha, err);
        m->eb[i].c = mk(dim / 2, dim, 2 * r, r, 1, (r + 1) / 2, 0);
        snprintf(p, sizeof p, "encoder.block.%d.conv1", i);
        rc = rc ? rc : read_conv(st, p, &m->eb[i].c, err);
    }
    rc = rc ? rc : read_alpha(st, "encoder.snake1", c->latent, &m->e_alpha, err);
    m->e_out = mk(c->latent, c->latent, 3, 1, 1, 1, 0);
    rc = rc ? rc : read_conv(st, "encoder.conv2", &m->e_out, err);
    m->d_in = mk(c->latent, c->dec_dim, 7, 1, 1, 3, 0);
    rc = rc ? rc : read_conv(st, "decoder.conv1", &m->d_in, err);
    for (int i = 0; !rc && i < c->nratios; i++) {
        int in = c->dec_dim >> i, out = c->dec_dim >> (i + 1), u = c->ratios[c->nratios - 1 - i];
        snprintf(p, sizeof p, "decoder.block.%d.snake1", i);
        rc = read_alpha(st, p, in, &m->db[i].alpha, err);
        m->db[i].c = mk(in, out, 2 * u, u, 1, (u + 1) / 2, 1);
        snprintf(p, sizeof p, "decoder.block.%d.conv_t1", i);
        rc = rc ? rc : read_conv(st, p, &m->db[i].c, err);
        for (int j = 0; !rc && j < 3; j++) {
            snprintf(p, sizeof p, "decoder.block.%d.res_unit%d", i, j + 1);
            rc = read_res(st, p, out, dil[j], &m->db[i].r[j], err);
        }
    }
    int last = c->dec_dim >> c->nratios;
    rc = rc ? rc : read_alpha(st, "decoder.snake1", last, &m->d_alpha, err);
    m->d_out = mk(last, 1, 7, 1, 1, 3, 0);
    rc = rc ? rc : read_conv(st, "decoder.conv2", &m->d_out, err);
    int Q = c->n_codebooks;
    m->inp = calloc((size_t)Q, sizeof *m->inp);
    m->outp = calloc((size_t)Q, sizeof *m->outp);
    m->cb = calloc((size_t)Q, sizeof *m->cb);
    if (!rc && (!m->inp || !m->outp || !m->cb))
        rc = sono_fail(err, SONO_ENOMEM, "codec.dac: out of memory");
    for (int q = 0; !rc && q < Q; q++) {
        m->inp[q] = mk(c->latent, c->codebook_dim, 1, 1, 1, 0, 0);
        m->outp[q] = mk(c->codebook_dim, c->latent, 1, 1, 1, 0, 0);
        snprintf(p, sizeof p, "quantizer.quantizers.%d.in_proj", q);
        rc = read_conv(st, p, &m->inp[q], err);
        snprintf(p, sizeof p, "quantizer.quantizers.%d.out_proj", q);
        rc = rc ? rc : read_conv(st, p, &m->outp[q], err);
        snprintf(p, sizeof p, "quantizer.quantizers.%d.codebook.weight", q);
        long long shape[2] = {c->codebook_size, c->codebook_dim};
        rc = rc ? rc : sono_st_read(st, p, 2, shape, &m->cb[q], err);
    }
    return rc;
}

int sono_dac64_load(const char *path, sono_dac64 **out, sono_error *err)
{
    sono_st *st = NULL;
    int rc = sono_st_open(path, &st, err);
    if (rc)
        return rc;
    sono_dac64 *m = calloc(1, sizeof *m);
    if (!m) {
        sono_st_close(st);
        return sono_fail(err, SONO_ENOMEM, "codec.dac: out of memory");
    }
    const char *meta = sono_st_meta(st, "config");
    if (meta)
        rc = sono_dac_config_parse(meta, path, &m->cfg, err);
    else
        sono_dac_config_44k(&m->cfg, 64, 1536);
    rc = rc ? rc : load_all(m, st, err);
    sono_st_close(st);
    if (rc) {
        sono_dac64_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

static void free_conv(conv64 *c)
{
    free(c->w);
    free(c->b);
}

static void free_block(block64 *b)
{
    for (int j = 0; j < 3; j++) {
        free(b->r[j].a1);
        free(b->r[j].a2);
        free_conv(&b->r[j].c1);
        free_conv(&b->r[j].c2);
    }
    free(b->alpha);
    free_conv(&b->c);
}

void sono_dac64_free(sono_dac64 *m)
{
    if (!m)
        return;
    free_conv(&m->e_in);
    free_conv(&m->e_out);
    free_conv(&m->d_in);
    free_conv(&m->d_out);
    free(m->e_alpha);
    free(m->d_alpha);
    for (int i = 0; i < SONO_DAC_MAX_RATIOS; i++) {
        free_block(&m->eb[i]);
        free_block(&m->db[i]);
    }
    for (int q = 0; q < m->cfg.n_codebooks; q++) {
        if (m->inp)
            free_conv(&m->inp[q]);
        if (m->outp)
            free_conv(&m->outp[q]);
        if (m->cb)
            free(m->cb[q]);
    }
    free(m->inp);
    free(m->outp);
    free(m->cb);
    free(m);
}

const sono_dac_config *sono_dac64_config(const sono_dac64 *m)
{
    return &m->cfg;
}

/* ---- the layers ----------------------------------------------------------------------- */

/* PyTorch's Conv1d / ConvTranspose1d on x, by definition; y allocated. */
static int conv_fwd(const conv64 *c, const act *x, act *y)
{
    long long L = x->t, T;
    if (!c->tr)
        T = (L + 2 * c->p - (long long)c->d * (c->k - 1) - 1) / c->s + 1;
    else
        T = (L - 1) * c->s - 2 * c->p + c->k;
    if (T < 1)
        T = 0;
    y->c = c->cout;
    y->t = T;
    y->x = calloc((size_t)c->cout * (size_t)(T ? T : 1), sizeof(double));
    if (!y->x)
        return SONO_ENOMEM;
    for (int o = 0; o < c->cout; o++)
        for (long long t = 0; t < T; t++)
            y->x[(size_t)o * T + t] = c->b[o];
    if (!c->tr) {
        for (int o = 0; o < c->cout; o++)
            for (int i = 0; i < c->cin; i++) {
                const double *w = c->w + ((size_t)o * c->cin + i) * c->k, *xi = x->x + (size_t)i * L;
                double *yo = y->x + (size_t)o * T;
                for (long long t = 0; t < T; t++)
                    for (int k = 0; k < c->k; k++) {
                        long long j = t * c->s + (long long)k * c->d - c->p;
                        if (j >= 0 && j < L)
                            yo[t] += w[k] * xi[j];
                    }
            }
        return 0;
    }
    /* transposed: input t at tap k lands on output t*s + k - p */
    for (int i = 0; i < c->cin; i++)
        for (int o = 0; o < c->cout; o++) {
            const double *w = c->w + ((size_t)i * c->cout + o) * c->k, *xi = x->x + (size_t)i * L;
            double *yo = y->x + (size_t)o * T;
            for (long long t = 0; t < L; t++)
                for (int k = 0; k < c->k; k++) {
                    long long j = t * c->s + k - c->p;
                    if (j >= 0 && j < T)
                        yo[j] += w[k] * xi[t];
                }
        }
    return 0;
}

static void snake_fwd(const double *alpha, act *x)
{
    for (int c = 0; c < x->c; c++) {
        double a = alpha[c];
        for (long long t = 0; t < x->t; t++) {
            double v = x->x[(size_t)c * x->t + t], s = sin(a * v);
            x->x[(size_t)c * x->t + t] = v + s * s / (a + 1e-9);
        }
    }
}

/* y = conv(x) replacing x; with a Snake on x first when alpha is given (x is kept when
 * keep is set, the Snake then applied to a copy). */
static int step(const conv64 *c, const double *alpha, act *x, int keep)
{
    act in = *x, y;
    if (alpha && keep) {
        in.x = malloc((size_t)x->c * (size_t)(x->t ? x->t : 1) * sizeof(double));
        if (!in.x)
            return SONO_ENOMEM;
        memcpy(in.x, x->x, (size_t)x->c * (size_t)x->t * sizeof(double));
    }
    if (alpha)
        snake_fwd(alpha, &in);
    int rc = conv_fwd(c, &in, &y);
    if (in.x != x->x || !keep)
        free(in.x);
    if (rc)
        return rc;
    if (keep) { /* the caller keeps x; y goes to a new act */
        *x = y;
        return 0;
    }
    *x = y;
    return 0;
}

static int res_fwd(const res64 *r, act *x)
{
    act h = *x;
    int rc = step(&r->c1, r->a1, &h, 1); /* h = conv1(snake1(x)), x kept */
    if (!rc)
        rc = step(&r->c2, r->a2, &h, 0);
    if (rc)
        return rc;
    long long crop = (x->t - h.t) / 2; /* 0: same-length convs */
    for (int c = 0; c < x->c; c++)
        for (long long t = 0; t < h.t; t++)
            h.x[(size_t)c * h.t + t] += x->x[(size_t)c * x->t + t + crop];
    free(x->x);
    *x = h;
    return 0;
}

int sono_dac64_encoder(const sono_dac64 *m, const double *xin, long long n, double **lat,
                       long long *frames, sono_error *err)
{
    const sono_dac_config *c = &m->cfg;
    act x = {.c = 1, .t = n, .x = malloc((size_t)(n ? n : 1) * sizeof(double))};
    int rc = x.x ? 0 : SONO_ENOMEM;
    if (!rc)
        memcpy(x.x, xin, (size_t)n * sizeof(double));
    rc = rc ? rc : step(&m->e_in, NULL, &x, 0);
    for (int i = 0; !rc && i < c->nratios; i++) {
        for (int j = 0; !rc && j < 3; j++)
            rc = res_fwd(&m->eb[i].r[j], &x);
        rc = rc ? rc : step(&m->eb[i].c, m->eb[i].alpha, &x, 0);
    }
    rc = rc ? rc : step(&m->e_out, m->e_alpha, &x, 0);
    if (rc) {
        free(x.x);
        return sono_fail(err, rc, "codec.dac reference: out of memory");
    }
    *lat = x.x;
    *frames = x.t;
    return 0;
}

/* ---- the quantizer ------------------------------------------------------------------- */

/* out_proj of codeword e (Dc) at frame t, added (sign +1) or subtracted (-1) to y [H][F]. */
static void add_proj(const conv64 *op, const double *e, double sign, double *y, long long F,
                     long long t)
{
    for (int o = 0; o < op->cout; o++) {
        double s = op->b[o];
        for (int i = 0; i < op->cin; i++)
            s += op->w[(size_t)o * op->cin + i] * e[i];
        y[(size_t)o * F + t] += sign * s;
    }
}

int sono_dac64_quantize(const sono_dac64 *m, const double *lat, long long F, int nq,
                        int *codes, double *margin, double *scale, int *runner,
                        long long force, int force_code, sono_error *err)
{
    const sono_dac_config *c = &m->cfg;
    int H = c->latent, Dc = c->codebook_dim, K = c->codebook_size;
    double *r = malloc((size_t)H * (size_t)(F ? F : 1) * sizeof(double));
    double *z = malloc((size_t)Dc * sizeof(double)), *cn = malloc((size_t)K * Dc * sizeof(double));
    if (!r || !z || !cn) {
        free(r);
        free(z);
        free(cn);
        return sono_fail(err, SONO_ENOMEM, "codec.dac reference: out of memory");
    }
    memcpy(r, lat, (size_t)H * (size_t)F * sizeof(double));
    for (int q = 0; q < nq; q++) {
        const conv64 *ip = &m->inp[q];
        double wn = 0, bn = 0;
        for (size_t i = 0; i < (size_t)Dc * H; i++)
            wn += ip->w[i] * ip->w[i];
        for (int i = 0; i < Dc; i++)
            bn += ip->b[i] * ip->b[i];
        wn = sqrt(wn);
        bn = sqrt(bn);
        for (int k = 0; k < K; k++) { /* F.normalize(codebook) */
            const double *e = m->cb[q] + (size_t)k * Dc;
            double s = 0;
            for (int j = 0; j < Dc; j++)
                s += e[j] * e[j];
            s = fmax(sqrt(s), 1e-12);
            for (int j = 0; j < Dc; j++)
                cn[(size_t)k * Dc + j] = e[j] / s;
        }
        for (long long t = 0; t < F; t++) {
            double zz = 0, rn = 0;
            for (int o = 0; o < Dc; o++) {
                double s = ip->b[o];
                for (int i = 0; i < H; i++)
                    s += ip->w[(size_t)o * H + i] * r[(size_t)i * F + t];
                z[o] = s;
                zz += s * s;
            }
            for (int i = 0; i < H; i++)
                rn += r[(size_t)i * F + t] * r[(size_t)i * F + t];
            double zl = fmax(sqrt(zz), 1e-12), zn2 = zz / (zl * zl);
            double best = -INFINITY, second = -INFINITY;
            int bi = 0, si = -1;
            for (int k = 0; k < K; k++) {
                double dot = 0, c2 = 0;
                for (int j = 0; j < Dc; j++) {
                    dot += z[j] / zl * cn[(size_t)k * Dc + j];
                    c2 += cn[(size_t)k * Dc + j] * cn[(size_t)k * Dc + j];
                }
                double s = 2 * dot - zn2 + c2;
                if (s > best) {
                    second = best;
                    si = bi;
                    best = s;
                    bi = k;
                } else if (s > second) {
                    second = s;
                    si = k;
                }
            }
            if (force == (long long)q * F + t)
                bi = force_code;
            codes[(size_t)q * F + t] = bi;
            if (runner)
                runner[(size_t)q * F + t] = si;
            if (margin)
                margin[(size_t)q * F + t] = best - second;
            if (scale)
                scale[(size_t)q * F + t] = (wn * sqrt(rn) + bn) / zl;
            add_proj(&m->outp[q], m->cb[q] + (size_t)bi * Dc, -1.0, r, F, t);
        }
    }
    free(r);
    free(z);
    free(cn);
    return 0;
}

int sono_dac64_decode(const sono_dac64 *m, const int *codes, int nq, long long F,
                      double **audio, long long *n, sono_error *err)
{
    const sono_dac_config *c = &m->cfg;
    act x = {.c = c->latent, .t = F,
             .x = calloc((size_t)c->latent * (size_t)(F ? F : 1), sizeof(double))};
    if (!x.x)
        return sono_fail(err, SONO_ENOMEM, "codec.dac reference: out of memory");
    for (int q = 0; q < nq; q++)
        for (long long t = 0; t < F; t++) {
            int k = codes[(size_t)q * F + t];
            if (k < 0 || k >= c->codebook_size) {
                free(x.x);
                return sono_fail(err, SONO_EINVAL, "codec.dac: code %d at stage %d, frame "
                                 "%lld is outside [0, %d)", k, q, t, c->codebook_size);
            }
            add_proj(&m->outp[q], m->cb[q] + (size_t)k * c->codebook_dim, 1.0, x.x, F, t);
        }
    int rc = step(&m->d_in, NULL, &x, 0);
    for (int i = 0; !rc && i < c->nratios; i++) {
        rc = step(&m->db[i].c, m->db[i].alpha, &x, 0);
        for (int j = 0; !rc && j < 3; j++)
            rc = res_fwd(&m->db[i].r[j], &x);
    }
    rc = rc ? rc : step(&m->d_out, m->d_alpha, &x, 0);
    if (rc) {
        free(x.x);
        return sono_fail(err, rc, "codec.dac reference: out of memory");
    }
    for (long long t = 0; t < x.t; t++)
        x.x[t] = tanh(x.x[t]);
    *audio = x.x;
    *n = x.t;
    return 0;
}
