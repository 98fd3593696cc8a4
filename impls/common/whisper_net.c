/* whisper_net.c — whisper.encoder's shared impl body (whisper_net.h): params and the
 * weights path as the contract spells them, the tensors read by name through the impls'
 * safetensors reader, and the CPU forward pass around an impl's kernels. */
#include "whisper_net.h"

#include <stdlib.h>
#include <string.h>

#include "nndtype.h"
#include <sys/stat.h>

#include "encodec_st.h"

static int fail_why(char *why, size_t n, const char *msg)
{
    snprintf(why, n, "%s", msg);
    return -1;
}

int wn_dims(const sono_params *p, wn_model *m, char *why, size_t n)
{
    const char *model = sono_param_str(p, "model", "tiny");
    memset(m, 0, sizeof *m);
    nn_dtype_via_f32(p, m->dtnote, sizeof m->dtnote);
    if (!strcmp(model, "tiny"))
        m->d = 384, m->layers = 4, m->heads = 6;
    else if (!strcmp(model, "base"))
        m->d = 512, m->layers = 6, m->heads = 8;
    else if (!strcmp(model, "small"))
        m->d = 768, m->layers = 12, m->heads = 12;
    else if (!strcmp(model, "custom")) {
        m->d = (int)sono_param_int(p, "d_model", 64);
        m->heads = (int)sono_param_int(p, "heads", 2);
        m->layers = 2;
    } else {
        snprintf(why, n, "model=%s is not tiny, base, small or custom", model);
        return -1;
    }
    long long L = sono_param_int(p, "layers", 0);
    if (L > 0)
        m->layers = (int)L;
    if (m->heads < 1 || m->d < 1 || m->d % m->heads || m->layers < 1 || m->layers > 64)
        return fail_why(why, n, "d_model must be a multiple of heads; layers 1..64");
    m->dh = m->d / m->heads;
    m->ffn = 4 * m->d;
    m->n_mels = (int)sono_param_int(p, "n_mels", 80);
    m->frames = sono_param_int(p, "frames", 3000);
    m->T = m->frames / 2;
    m->batch = sono_param_int(p, "batch", 1);
    if ((m->n_mels != 80 && m->n_mels != 128) || m->frames < 2 || m->frames > 3000 ||
        m->frames % 2 || m->batch < 1 || m->batch > 64)
        return fail_why(why, n, "n_mels 80 or 128, frames even 2..3000, batch 1..64");
    const char *w = sono_param_str(p, "weights", "random");
    if (strcmp(w, "random")) {
        snprintf(m->path, sizeof m->path, "%s", w);
        return 0;
    }
    const char *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
    char base[3800];
    if (x && x[0])
        snprintf(base, sizeof base, "%s", x);
    else if (h && h[0])
        snprintf(base, sizeof base, "%s/.cache", h);
    else
        snprintf(base, sizeof base, "build/cache");
    snprintf(m->path, sizeof m->path,
             "%s/sonobench/whisper-enc-d%d-m%d-l%d-random-v1-seed%lld.safetensors", base, m->d,
             m->n_mels, m->layers, sono_param_int(p, "seed", 1));
    struct stat st;
    if (stat(m->path, &st) != 0) {
        snprintf(why, n, "weights=random: %s is not written yet (whisper.encoder's validate "
                 "writes it when the harness plans the case)", m->path);
        return -1;
    }
    return 0;
}

void wn_free(wn_model *m)
{
    free(m->pool);
    free(m->b);
    m->pool = NULL;
    m->b = NULL;
}

typedef struct want {
    const char *name;
    long long rows, cols, k; /* k > 0: a conv [rows][cols][k] */
    float **dst;
} want;

static size_t want_floats(const want *w)
{
    return (size_t)w->rows * (size_t)(w->cols ? w->cols : 1) * (size_t)(w->k ? w->k : 1);
}

static int get(const est_file *f, const char *pre, const want *w, float *dst, sono_error *err)
{
    char full[200];
    long long shape[3] = {w->rows, w->cols, w->k};
    int nd = w->k ? 3 : w->cols ? 2 : 1;
    snprintf(full, sizeof full, "%s%s", pre, w->name);
    return est_get(f, full, nd, shape, dst, err);
}

/* Every tensor of the model, in one list; n returned. */
static int wants(wn_model *m, want *w, char (*names)[96])
{
    long long D = m->d, F = m->ffn;
    int n = 0;
    w[n++] = (want){"conv1.weight", D, m->n_mels, 3, &m->c1w};
    w[n++] = (want){"conv1.bias", D, 0, 0, &m->c1b};
    w[n++] = (want){"conv2.weight", D, D, 3, &m->c2w};
    w[n++] = (want){"conv2.bias", D, 0, 0, &m->c2b};
    for (int l = 0; l < m->layers; l++) {
        wn_block *b = &m->b[l];
        struct { const char *s; long long r, c; float **p; } t[] = {
            {"self_attn_layer_norm.weight", D, 0, &b->ln1g},
            {"self_attn_layer_norm.bias", D, 0, &b->ln1b},
            {"self_attn.q_proj.weight", D, D, &b->wq}, {"self_attn.q_proj.bias", D, 0, &b->bq},
            {"self_attn.k_proj.weight", D, D, &b->wk},
            {"self_attn.v_proj.weight", D, D, &b->wv}, {"self_attn.v_proj.bias", D, 0, &b->bv},
            {"self_attn.out_proj.weight", D, D, &b->wo},
            {"self_attn.out_proj.bias", D, 0, &b->bo},
            {"final_layer_norm.weight", D, 0, &b->ln2g},
            {"final_layer_norm.bias", D, 0, &b->ln2b},
            {"fc1.weight", F, D, &b->w1}, {"fc1.bias", F, 0, &b->b1},
            {"fc2.weight", D, F, &b->w2}, {"fc2.bias", D, 0, &b->b2}};
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
            snprintf(names[n], 96, "layers.%d.%s", l, t[i].s);
            w[n] = (want){names[n], t[i].r, t[i].c, 0, t[i].p};
            n++;
        }
    }
    w[n++] = (want){"layer_norm.weight", D, 0, 0, &m->lng};
    w[n++] = (want){"layer_norm.bias", D, 0, 0, &m->lnb};
    return n;
}

int wn_load(const sono_params *p, wn_model *m, sono_error *err)
{
    char why[4400];
    if (wn_dims(p, m, why, sizeof why))
        return sono_fail(err, SONO_EUNSUPPORTED, "%s", why);
    est_file *f = NULL;
    int rc = est_open(m->path, &f, err);
    if (rc)
        return rc;
    static const char *const pres[] = {"model.encoder.", "encoder.", ""};
    for (int i = 0; i < 3 && !m->prefix[0]; i++) {
        char n[64];
        snprintf(n, sizeof n, "%sconv1.weight", pres[i]);
        if (est_has(f, n))
            snprintf(m->prefix, sizeof m->prefix, "%s", pres[i][0] ? pres[i] : "-");
    }
    if (!m->prefix[0]) {
        est_close(f);
        return sono_fail(err, SONO_EINVAL, "%s: tensor 'model.encoder.conv1.weight' is "
                         "missing (nor encoder.conv1.weight or conv1.weight)", m->path);
    }
    const char *pre = strcmp(m->prefix, "-") ? m->prefix : "";
    int cap = 6 + 15 * m->layers;
    want *w = calloc((size_t)cap, sizeof *w);
    char(*names)[96] = calloc((size_t)cap, 96);
    m->b = calloc((size_t)m->layers, sizeof *m->b);
    long long prow = 0;
    char pn[96];
    snprintf(pn, sizeof pn, "%sembed_positions.weight", pre);
    if (!w || !names || !m->b)
        rc = sono_fail(err, SONO_ENOMEM, "whisper: out of memory");
    else if (est_dim(f, pn, 0, &prow) || prow < m->T)
        rc = sono_fail(err, SONO_EINVAL, "%s: tensor '%s' is missing or has fewer than %lld "
                       "rows", m->path, pn, m->T);
    int nw = rc ? 0 : wants(m, w, names);
    size_t total = (size_t)prow * (size_t)m->d;
    for (int i = 0; i < nw; i++)
        total += want_floats(&w[i]);
    if (!rc && !(m->pool = malloc(total * sizeof(float))))
        rc = sono_fail(err, SONO_ENOMEM, "whisper: out of memory for %zu weights", total);
    float *at = m->pool;
    for (int i = 0; !rc && i < nw; i++) {
        *w[i].dst = at;
        rc = get(f, pre, &w[i], at, err);
        at += want_floats(&w[i]);
    }
    if (!rc) {
        want pw = {"embed_positions.weight", prow, m->d, 0, &m->pos};
        m->pos = at;
        rc = get(f, pre, &pw, at, err);
    }
    m->weight_floats = total;
    est_close(f);
    free(w);
    free(names);
    if (rc)
        wn_free(m);
    return rc;
}

void wn_layernorm(const float *x, long long rows, int D, const float *g, const float *b,
                  float *y)
{
    for (long long r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * D;
        float *yr = y + (size_t)r * D;
        double mu = 0, var = 0;
        for (int c = 0; c < D; c++)
            mu += xr[c];
        mu /= D;
        for (int c = 0; c < D; c++)
            var += ((double)xr[c] - mu) * ((double)xr[c] - mu);
        float inv = (float)(1.0 / sqrt(var / D + 1e-5)), fm = (float)mu;
        for (int c = 0; c < D; c++)
            yr[c] = (xr[c] - fm) * inv * g[c] + b[c];
    }
}

int wn_run_alloc(wn_run *r, const wn_model *m, const wn_kernels *k, sono_error *err)
{
    memset(r, 0, sizeof *r);
    r->m = m;
    r->k = k;
    size_t BT = (size_t)(m->batch * m->T), D = (size_t)m->d, F = (size_t)m->frames;
    size_t wide = (size_t)(m->n_mels > m->d ? m->n_mels : m->d);
    size_t sz[] = {BT * D, BT * D, BT * D, BT * D, BT * D, BT * D, BT * (size_t)m->ffn,
                   F * D, F * 3 * wide, (size_t)(m->T * m->T)};
    float **dst[] = {&r->h, &r->u, &r->q, &r->kk, &r->v, &r->o, &r->f, &r->a1, &r->col,
                     &r->scores};
    for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++) {
        *dst[i] = aligned_alloc(64, ((sz[i] * sizeof(float)) + 63) & ~(size_t)63);
        if (!*dst[i]) {
            wn_run_free(r);
            return sono_fail(err, SONO_ENOMEM, "whisper: out of memory for activations");
        }
        r->bytes += sz[i] * sizeof(float);
    }
    return 0;
}

void wn_run_free(wn_run *r)
{
    float *p[] = {r->h, r->u, r->q, r->kk, r->v, r->o, r->f, r->a1, r->col, r->scores};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        free(p[i]);
    memset(r, 0, sizeof *r);
}

/* conv1 and conv2 as im2col: col[t][i*3 + k] = input at time (stride t + k - 1), channel i
 * (0 outside), so W [d][cin][3] is already the [d][cin*3] matrix of a linear layer. */
static void stem_im2col(const wn_run *r, const float *x, float *h)
{
    const wn_model *m = r->m;
    long long F = m->frames;
    int M = m->n_mels, D = m->d;
    for (long long t = 0; t < F; t++)
        for (int i = 0; i < M; i++)
            for (int k = 0; k < 3; k++) {
                long long u = t + k - 1;
                r->col[((size_t)t * M + i) * 3 + k] = u >= 0 && u < F ? x[(size_t)i * F + u] : 0;
            }
    r->k->linear(r->col, F, 3 * M, m->c1w, m->c1b, D, r->a1, 0, 1);
    for (long long t = 0; t < m->T; t++)
        for (int k = 0; k < 3; k++) {
            long long u = 2 * t + k - 1;
            for (int i = 0; i < D; i++)
                r->col[((size_t)t * D + i) * 3 + k] =
                    u >= 0 && u < F ? r->a1[(size_t)u * D + i] : 0;
        }
    r->k->linear(r->col, m->T, 3 * D, m->c2w, m->c2b, D, h, 0, 1);
}

void wn_forward(wn_run *r, const float *x, float *out)
{
    const wn_model *m = r->m;
    const wn_kernels *k = r->k;
    long long T = m->T, BT = m->batch * T;
    int D = m->d;
    for (long long b = 0; b < m->batch; b++) {
        const float *xb = x + (size_t)b * (size_t)(m->n_mels * m->frames);
        float *hb = r->h + (size_t)(b * T) * D;
        if (k->stem)
            k->stem(m, xb, r->a1, hb, r->col);
        else
            stem_im2col(r, xb, hb);
        for (size_t i = 0; i < (size_t)(T * D); i++)
            hb[i] += m->pos[i];
    }
    for (int l = 0; l < m->layers; l++) {
        const wn_block *w = &m->b[l];
        wn_layernorm(r->h, BT, D, w->ln1g, w->ln1b, r->u);
        k->linear(r->u, BT, D, w->wq, w->bq, D, r->q, 0, 0);
        k->linear(r->u, BT, D, w->wk, NULL, D, r->kk, 0, 0);
        k->linear(r->u, BT, D, w->wv, w->bv, D, r->v, 0, 0);
        for (long long b = 0; b < m->batch; b++) {
            size_t off = (size_t)(b * T) * D;
            k->attention(r->q + off, r->kk + off, r->v + off, T, m->heads, m->dh, D,
                         r->o + off, r->scores);
        }
        k->linear(r->o, BT, D, w->wo, w->bo, D, r->h, 1, 0);
        wn_layernorm(r->h, BT, D, w->ln2g, w->ln2b, r->u);
        k->linear(r->u, BT, D, w->w1, w->b1, m->ffn, r->f, 0, 1);
        k->linear(r->f, BT, m->ffn, w->w2, w->b2, D, r->h, 1, 0);
    }
    wn_layernorm(r->h, BT, D, m->lng, m->lnb, out);
}
