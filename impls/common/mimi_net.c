/* mimi_net.c — codec.mimi's shared impl body (mimi_net.h): config and weights by
 * MimiModel's names, the layer graph, buffers planned once, and the float32 forward passes
 * around the impl's kernels. Written from harness/ops/mimi.h's contract alone. */
#include "mimi_net.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "encodec_st.h"
#include "mimi_stream.h"
#include "nndtype.h"

/* ---- config ------------------------------------------------------------------------ */
static void cfg_default(mn_cfg *c)
{
    *c = (mn_cfg){.rate = 24000, .hidden = 512, .filters = 64, .nratio = 4,
                  .ratio = {8, 6, 5, 4}, .kernel = 7, .last_kernel = 3, .res_kernel = 3,
                  .dil_growth = 2, .nres = 1, .compress = 2, .codebook = 2048, .cdim = 256,
                  .nq_max = 32, .nsem = 1, .groups = 512, .layers = 8, .ffn = 2048,
                  .heads = 8, .dh = 0, .window = 250, .frame_rate = 12.5, .eps = 1e-5,
                  .theta = 10000.0};
}

static int cfg_finish(mn_cfg *c, char *why, size_t n)
{
    c->hop = 1;
    for (int i = 0; i < c->nratio; i++)
        c->hop *= c->ratio[i];
    if (!c->dh && c->heads > 0)
        c->dh = c->hidden / c->heads;
    int efr = (c->rate + c->hop - 1) / c->hop;
    c->down_k = 2 * (int)(efr / c->frame_rate);
    c->frame_hop = 2 * c->hop;
    if (c->nratio < 1 || c->nratio > 8 || c->heads < 1 || c->dh * c->heads != c->hidden ||
        c->dh % 2 || c->down_k < 2 || c->groups < 1 || c->hidden % c->groups ||
        c->nsem < 1 || c->nsem >= c->nq_max || c->compress < 1) {
        snprintf(why, n, "codec.mimi: a config this impl does not run (ratios, heads, "
                 "frame_rate, groups or quantizers)");
        return -1;
    }
    return 0;
}

static void ival(json_t *o, const char *k, int *v)
{
    json_t *j = json_object_get(o, k);
    if (json_is_integer(j))
        *v = (int)json_integer_value(j);
}

static void rval(json_t *o, const char *k, double *v)
{
    json_t *j = json_object_get(o, k);
    if (json_is_number(j))
        *v = json_number_value(j);
}

/* The op's validate has refused what the contract does not support; only the sizes are
 * read here. */
static int cfg_parse(const char *text, const char *src, mn_cfg *c, char *why, size_t n)
{
    cfg_default(c);
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        snprintf(why, n, "%s: config is not JSON (%s)", src, je.text);
        return -1;
    }
    json_t *r = json_object_get(o, "upsampling_ratios");
    if (json_is_array(r) && json_array_size(r) <= 8) {
        c->nratio = (int)json_array_size(r);
        for (int i = 0; i < c->nratio; i++)
            c->ratio[i] = (int)json_integer_value(json_array_get(r, i));
    }
    ival(o, "sampling_rate", &c->rate);
    ival(o, "hidden_size", &c->hidden);
    ival(o, "num_filters", &c->filters);
    ival(o, "num_residual_layers", &c->nres);
    ival(o, "kernel_size", &c->kernel);
    ival(o, "last_kernel_size", &c->last_kernel);
    ival(o, "residual_kernel_size", &c->res_kernel);
    ival(o, "dilation_growth_rate", &c->dil_growth);
    ival(o, "compress", &c->compress);
    ival(o, "codebook_size", &c->codebook);
    ival(o, "codebook_dim", &c->cdim);
    ival(o, "num_quantizers", &c->nq_max);
    ival(o, "num_semantic_quantizers", &c->nsem);
    ival(o, "upsample_groups", &c->groups);
    ival(o, "num_hidden_layers", &c->layers);
    ival(o, "intermediate_size", &c->ffn);
    ival(o, "num_attention_heads", &c->heads);
    ival(o, "head_dim", &c->dh);
    ival(o, "sliding_window", &c->window);
    rval(o, "frame_rate", &c->frame_rate);
    rval(o, "norm_eps", &c->eps);
    rval(o, "rope_theta", &c->theta);
    json_decref(o);
    return cfg_finish(c, why, n);
}

/* The contract's cache path for weights = random (mimi.h), else the path given. */
static int weights_path(const sono_params *p, char *out, size_t n, char *why, size_t wn)
{
    const char *w = sono_param_str(p, "weights", "random");
    if (strcmp(w, "random")) {
        snprintf(out, n, "%s", w);
        return 0;
    }
    const char *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
    char base[4096], r[64] = "";
    if (x && x[0])
        snprintf(base, sizeof base, "%s", x);
    else if (h && h[0])
        snprintf(base, sizeof base, "%s/.cache", h);
    else
        snprintf(base, sizeof base, "build/cache");
    const char *rs = sono_param_str(p, "ratios", "8.6.5.4");
    if (strlen(rs) >= sizeof r || strspn(rs, "0123456789.") != strlen(rs)) {
        snprintf(why, wn, "ratios=%s: integers joined by dots", rs);
        return -1;
    }
    snprintf(r, sizeof r, "%s", rs);
    snprintf(out, n, "%s/sonobench/mimi-v1-f%lldh%lldl%llda%lldi%lldq%lldk%lldd%lldw%lldr%s"
             "s%lld.safetensors", base, sono_param_int(p, "filters", 64),
             sono_param_int(p, "hidden", 512), sono_param_int(p, "layers", 8),
             sono_param_int(p, "heads", 8), sono_param_int(p, "ffn", 2048),
             sono_param_int(p, "codebooks", 32), sono_param_int(p, "codebook_size", 2048),
             sono_param_int(p, "codebook_dim", 256), sono_param_int(p, "window", 250), r,
             sono_param_int(p, "seed", 1));
    return 0;
}

static int file_cfg(const est_file *f, const char *path, mn_cfg *c, char *why, size_t n)
{
    const char *meta = est_meta(f, "config");
    if (meta)
        return cfg_parse(meta, path, c, why, n);
    char side[4200];
    const char *slash = strrchr(path, '/');
    snprintf(side, sizeof side, "%.*sconfig.json", slash ? (int)(slash - path) + 1 : 0, path);
    json_error_t je;
    json_t *o = json_load_file(side, 0, &je);
    if (!o) {
        cfg_default(c);
        return cfg_finish(c, why, n);
    }
    char *text = json_dumps(o, 0);
    int rc = text ? cfg_parse(text, side, c, why, n) : -1;
    free(text);
    json_decref(o);
    return rc;
}

int mn_dims(const sono_params *p, mn_model *m, char *why, size_t n)
{
    memset(m, 0, sizeof *m);
    if (weights_path(p, m->path, sizeof m->path, why, n))
        return SONO_EUNSUPPORTED;
    struct stat st;
    if (stat(m->path, &st) != 0) {
        snprintf(why, n, "weights %s is not there (codec.mimi's validate writes "
                 "weights=random's when the harness plans the case)", m->path);
        return SONO_EUNSUPPORTED;
    }
    est_file *f = NULL;
    sono_error err = {0};
    if (est_open(m->path, &f, &err)) {
        snprintf(why, n, "%s", err.msg);
        return SONO_EUNSUPPORTED;
    }
    int rc = file_cfg(f, m->path, &m->c, why, n);
    est_close(f);
    if (rc)
        return SONO_EUNSUPPORTED;
    const char *md = sono_param_str(p, "mode", "roundtrip");
    m->mode = !strcmp(md, "encode") ? MN_ENCODE : !strcmp(md, "decode") ? MN_DECODE
                                                                       : MN_ROUNDTRIP;
    m->nq = (int)sono_param_int(p, "n_q", 8);
    if (m->nq < m->c.nsem || m->nq > m->c.nq_max) {
        snprintf(why, n, "n_q=%d: the model has %d codebooks", m->nq, m->c.nq_max);
        return SONO_EUNSUPPORTED;
    }
    m->samples = llround(sono_param_real(p, "seconds", 1.0) * m->c.rate);
    if (m->samples < 1 || m->samples > (1LL << 31)) {
        snprintf(why, n, "seconds=%g gives %lld samples", sono_param_real(p, "seconds", 1),
                 m->samples);
        return SONO_EUNSUPPORTED;
    }
    m->frames = (m->samples + m->c.frame_hop - 1) / m->c.frame_hop;
    m->S = (int)sono_param_int(p, "streams", 1);
    if (m->S < 1 || m->S > 1024 || m->S * m->samples > (1LL << 31)) {
        snprintf(why, n, "streams=%d x %lld samples: need 1..1024 streams and at most 2^31 "
                 "samples in all", m->S, m->samples);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

/* ---- weights ------------------------------------------------------------------------ */
static float *get(mn_model *m, const est_file *f, const char *name, int nd, long long a,
                  long long b, long long k, int *rc, sono_error *err)
{
    if (*rc)
        return NULL;
    long long sh[3] = {a, b, k};
    size_t cnt = (size_t)a * (size_t)(nd > 1 ? b : 1) * (size_t)(nd > 2 ? k : 1);
    float *w = malloc(cnt * sizeof *w);
    if (!w) {
        *rc = sono_fail(err, SONO_ENOMEM, "out of memory loading %s", name);
        return NULL;
    }
    if ((*rc = est_get(f, name, nd, sh, w, err))) {
        free(w);
        return NULL;
    }
    m->weight_floats += cnt;
    return w;
}

static void get_conv(mn_model *m, const est_file *f, const char *pre, mn_conv *cv, int tr,
                     int bias, int *rc, sono_error *err)
{
    char n[200];
    snprintf(n, sizeof n, "%s.conv.weight", pre);
    cv->w = tr ? get(m, f, n, 3, cv->cin, cv->cout / cv->groups, cv->k, rc, err)
               : get(m, f, n, 3, cv->cout, cv->cin / cv->groups, cv->k, rc, err);
    snprintf(n, sizeof n, "%s.conv.bias", pre);
    if (bias)
        cv->b = get(m, f, n, 1, cv->cout, 0, 0, rc, err);
}

static mn_layer *add(mn_model *m, int side, int kind)
{
    mn_layer *y = &m->l[side][m->n[side]++];
    y->kind = kind;
    return y;
}

static void res_block(mn_model *m, int side, int dim, int j)
{
    const mn_cfg *c = &m->c;
    int dil = 1;
    for (int i = 0; i < j; i++)
        dil *= c->dil_growth;
    mn_layer *y = add(m, side, MN_RES);
    y->c[0] = (mn_conv){dim, dim / c->compress, c->res_kernel, 1, dil, 1, 0, NULL, NULL};
    y->c[1] = (mn_conv){dim / c->compress, dim, 1, 1, 1, 1, 0, NULL, NULL};
}

/* MimiEncoder's and MimiDecoder's layer lists, in .layers order. */
static void graph(mn_model *m)
{
    const mn_cfg *c = &m->c;
    int sc = 1;
    add(m, 0, MN_CONV)->c[0] = (mn_conv){1, c->filters, c->kernel, 1, 1, 1, 0, NULL, NULL};
    for (int i = c->nratio - 1; i >= 0; i--) {
        int cur = sc * c->filters;
        for (int j = 0; j < c->nres; j++)
            res_block(m, 0, cur, j);
        add(m, 0, MN_ELU);
        add(m, 0, MN_CONV)->c[0] =
            (mn_conv){cur, 2 * cur, 2 * c->ratio[i], c->ratio[i], 1, 1, 0, NULL, NULL};
        sc *= 2;
    }
    add(m, 0, MN_ELU);
    add(m, 0, MN_CONV)->c[0] =
        (mn_conv){sc * c->filters, c->hidden, c->last_kernel, 1, 1, 1, 0, NULL, NULL};
    sc = 1 << c->nratio;
    add(m, 1, MN_CONV)->c[0] =
        (mn_conv){c->hidden, sc * c->filters, c->kernel, 1, 1, 1, 0, NULL, NULL};
    for (int i = 0; i < c->nratio; i++) {
        int cur = sc * c->filters;
        add(m, 1, MN_ELU);
        add(m, 1, MN_CONVTR)->c[0] =
            (mn_conv){cur, cur / 2, 2 * c->ratio[i], c->ratio[i], 1, 1, 0, NULL, NULL};
        for (int j = 0; j < c->nres; j++)
            res_block(m, 1, cur / 2, j);
        sc /= 2;
    }
    add(m, 1, MN_ELU);
    add(m, 1, MN_CONV)->c[0] = (mn_conv){c->filters, 1, c->last_kernel, 1, 1, 1, 0, NULL, NULL};
}

static void get_transformer(mn_model *m, const est_file *f, int side, int *rc,
                            sono_error *err)
{
    const char *w = side ? "decoder_transformer" : "encoder_transformer";
    long long D = m->c.hidden, F = m->c.ffn;
    m->t[side] = calloc((size_t)m->c.layers + 1, sizeof(mn_tlayer));
    if (!m->t[side] && !*rc)
        *rc = sono_fail(err, SONO_ENOMEM, "out of memory");
    for (int i = 0; !*rc && i < m->c.layers; i++) {
        mn_tlayer *t = &m->t[side][i];
        char n[200];
#define G(dst, suffix, nd, a, b)                                                         \
    (snprintf(n, sizeof n, "%s.layers.%d.%s", w, i, suffix),                             \
     t->dst = get(m, f, n, nd, a, b, 0, rc, err))
        G(wq, "self_attn.q_proj.weight", 2, D, D);
        G(wk, "self_attn.k_proj.weight", 2, D, D);
        G(wv, "self_attn.v_proj.weight", 2, D, D);
        G(wo, "self_attn.o_proj.weight", 2, D, D);
        G(w1, "mlp.fc1.weight", 2, F, D);
        G(w2, "mlp.fc2.weight", 2, D, F);
        G(ln1g, "input_layernorm.weight", 1, D, 0);
        G(ln1b, "input_layernorm.bias", 1, D, 0);
        G(ln2g, "post_attention_layernorm.weight", 1, D, 0);
        G(ln2b, "post_attention_layernorm.bias", 1, D, 0);
        G(ls1, "self_attn_layer_scale.scale", 1, D, 0);
        G(ls2, "mlp_layer_scale.scale", 1, D, 0);
#undef G
    }
}

static void get_rvq(mn_model *m, const est_file *f, int s, int *rc, sono_error *err)
{
    const mn_cfg *c = &m->c;
    const char *w = s ? "acoustic" : "semantic";
    mn_rvq *r = &m->q[s];
    int K = c->codebook, Q = c->cdim;
    r->n = s ? c->nq_max - c->nsem : c->nsem;
    char n[200];
    snprintf(n, sizeof n, "quantizer.%s_residual_vector_quantizer.input_proj.weight", w);
    r->in = get(m, f, n, 3, Q, c->hidden, 1, rc, err);
    snprintf(n, sizeof n, "quantizer.%s_residual_vector_quantizer.output_proj.weight", w);
    r->out = get(m, f, n, 3, c->hidden, Q, 1, rc, err);
    r->cb = *rc ? NULL : malloc((size_t)r->n * K * Q * sizeof(float));
    r->norm2 = *rc ? NULL : malloc((size_t)r->n * K * sizeof(float));
    if (!*rc && (!r->cb || !r->norm2))
        *rc = sono_fail(err, SONO_ENOMEM, "out of memory");
    for (int q = 0; !*rc && q < r->n; q++) {
        snprintf(n, sizeof n, "quantizer.%s_residual_vector_quantizer.layers.%d.codebook."
                 "embed_sum", w, q);
        float *e = get(m, f, n, 2, K, Q, 0, rc, err);
        snprintf(n, sizeof n, "quantizer.%s_residual_vector_quantizer.layers.%d.codebook."
                 "cluster_usage", w, q);
        float *u = get(m, f, n, 1, K, 0, 0, rc, err);
        for (int k = 0; !*rc && k < K; k++) {
            float d = u[k] > 1e-5f ? u[k] : 1e-5f, s2 = 0;
            float *cw = r->cb + ((size_t)q * K + k) * Q;
            for (int j = 0; j < Q; j++) {
                cw[j] = e[(size_t)k * Q + j] / d;
                s2 += cw[j] * cw[j];
            }
            r->norm2[(size_t)q * K + k] = s2;
        }
        free(e);
        free(u);
    }
}

int mn_load(const sono_params *p, mn_model *m, sono_error *err)
{
    char why[512];
    if (mn_dims(p, m, why, sizeof why))
        return sono_fail(err, SONO_EUNSUPPORTED, "%s", why);
    nn_dtype_via_f32(p, m->dtnote, sizeof m->dtnote); /* float32 loops on rounded inputs */
    graph(m);
    est_file *f = NULL;
    int rc = est_open(m->path, &f, err);
    for (int side = 0; !rc && side < 2; side++)
        for (int i = 0; i < m->n[side]; i++) {
            mn_layer *y = &m->l[side][i];
            char pre[96], p2[128];
            snprintf(pre, sizeof pre, "%s.layers.%d", side ? "decoder" : "encoder", i);
            if (y->kind == MN_CONV || y->kind == MN_CONVTR)
                get_conv(m, f, pre, &y->c[0], y->kind == MN_CONVTR, 1, &rc, err);
            else if (y->kind == MN_RES) {
                snprintf(p2, sizeof p2, "%s.block.1", pre);
                get_conv(m, f, p2, &y->c[0], 0, 1, &rc, err);
                snprintf(p2, sizeof p2, "%s.block.3", pre);
                get_conv(m, f, p2, &y->c[1], 0, 1, &rc, err);
            }
        }
    const mn_cfg *c = &m->c;
    m->down = (mn_conv){c->hidden, c->hidden, c->down_k, 2, 1, 1, 1, NULL, NULL};
    m->up = (mn_conv){c->hidden, c->hidden, c->down_k, 2, 1, c->groups, 0, NULL, NULL};
    get_conv(m, f, "downsample", &m->down, 0, 0, &rc, err);
    get_conv(m, f, "upsample", &m->up, 1, 0, &rc, err);
    get_transformer(m, f, 0, &rc, err);
    get_transformer(m, f, 1, &rc, err);
    get_rvq(m, f, 0, &rc, err);
    get_rvq(m, f, 1, &rc, err);
    est_close(f);
    if (rc)
        mn_free(m);
    return rc;
}

void mn_free(mn_model *m)
{
    for (int s = 0; s < 2; s++) {
        for (int i = 0; i < m->n[s]; i++)
            for (int j = 0; j < 2; j++) {
                free(m->l[s][i].c[j].w);
                free(m->l[s][i].c[j].b);
                m->l[s][i].c[j].w = m->l[s][i].c[j].b = NULL;
            }
        for (int i = 0; m->t[s] && i < m->c.layers; i++) {
            mn_tlayer *t = &m->t[s][i];
            float *a[] = {t->wq, t->wk, t->wv, t->wo, t->w1, t->w2, t->ln1g, t->ln1b,
                          t->ln2g, t->ln2b, t->ls1, t->ls2};
            for (size_t k = 0; k < sizeof a / sizeof a[0]; k++)
                free(a[k]);
        }
        free(m->t[s]);
        m->t[s] = NULL;
        free(m->q[s].in);
        free(m->q[s].out);
        free(m->q[s].cb);
        free(m->q[s].norm2);
        memset(&m->q[s], 0, sizeof m->q[s]);
    }
    free(m->down.w);
    free(m->up.w);
    m->down.w = m->up.w = NULL;
    m->n[0] = m->n[1] = 0;
}

/* ---- buffers -------------------------------------------------------------------------- */
static long long keff(const mn_conv *c)
{
    return (long long)(c->k - 1) * c->dil + 1;
}

/* The largest activation (channels x samples, padded or full transposed) of a side; col:
 * the largest im2col (cin k x output samples) of its convs. */
static size_t plan_side(const mn_model *m, int side, long long L, size_t *col)
{
    size_t mx = (size_t)L * (side ? (size_t)m->c.hidden : 1);
    int C = side ? m->c.hidden : 1;
    for (int i = 0; i < m->n[side]; i++) {
        const mn_layer *y = &m->l[side][i];
        const mn_conv *c = &y->c[0];
        size_t a = 0;
        if (y->kind == MN_CONV) {
            long long lo = (L + c->stride - 1) / c->stride;
            size_t cl = (size_t)c->cin * (size_t)c->k * (size_t)lo;
            *col = cl > *col ? cl : *col;
            a = (size_t)c->cin * (size_t)(lo * c->stride + keff(c));
            a = a > (size_t)c->cout * (size_t)lo ? a : (size_t)c->cout * (size_t)lo;
            L = lo;
            C = c->cout;
        } else if (y->kind == MN_CONVTR) {
            a = (size_t)c->cout * (size_t)((L - 1) * c->stride + c->k);
            size_t cl = (size_t)c->cout * (size_t)c->k * (size_t)L;
            *col = cl > *col ? cl : *col;
            L *= c->stride;
            C = c->cout;
        } else if (y->kind == MN_RES) {
            a = (size_t)C * (size_t)(L + keff(c));
            size_t cl = (size_t)C * (size_t)c->k * (size_t)L;
            *col = cl > *col ? cl : *col;
        }
        mx = a > mx ? a : mx;
    }
    return mx;
}

int mn_run_alloc(mn_run *r, const mn_model *m, const mn_kernels *k, sono_error *err)
{
    memset(r, 0, sizeof *r);
    r->m = m;
    r->k = k;
    const mn_cfg *c = &m->c;
    long long T = 2 * m->frames, F = m->frames;
    size_t col = (size_t)c->hidden * (size_t)c->down_k * (size_t)T;
    size_t a0 = plan_side(m, 0, m->samples, &col), a1 = plan_side(m, 1, T, &col);
    size_t act = a0 > a1 ? a0 : a1, D = (size_t)c->hidden;
    size_t t2 = (size_t)T * (size_t)c->hidden + (size_t)c->hidden * (size_t)(c->down_k + 2);
    act = act > t2 ? act : t2;
    act = act > (size_t)m->samples ? act : (size_t)m->samples;
    r->act = act;
    /* scratch: the largest im2col for impls that want one, attention's T scores, the
     * codebook search's F K distances */
    size_t W = (size_t)(c->window < T ? c->window : T);
    r->scr = col > (size_t)T ? col : (size_t)T;
    r->scr = r->scr > 2 * W * W ? r->scr : 2 * W * W;
    r->scr = r->scr > (size_t)F * c->codebook ? r->scr : (size_t)F * c->codebook;
    size_t TD = (size_t)T * D;
    struct { float **p; size_t n; } b[] = {
        {&r->a, act}, {&r->b, act}, {&r->e, act}, {&r->h, act}, {&r->pad, act},
        {&r->scratch, r->scr}, {&r->tq, TD}, {&r->tk, TD}, {&r->tv, TD}, {&r->ta, TD},
        {&r->tu, TD}, {&r->th, TD}, {&r->tf, (size_t)T * c->ffn},
        {&r->proj, (size_t)F * c->cdim + (size_t)F * D}, {&r->res, (size_t)F * c->cdim}};
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
        *b[i].p = malloc((b[i].n ? b[i].n : 1) * sizeof(float));
        r->bytes += b[i].n * sizeof(float);
        if (!*b[i].p) {
            mn_run_free(r);
            return sono_fail(err, SONO_ENOMEM, "codec.mimi: out of memory (%zu floats)",
                             b[i].n);
        }
    }
    r->idx = malloc(((size_t)F + 1) * sizeof *r->idx);
    if (!r->idx) {
        mn_run_free(r);
        return sono_fail(err, SONO_ENOMEM, "codec.mimi: out of memory");
    }
    return 0;
}

void mn_run_free(mn_run *r)
{
    float *b[] = {r->a, r->b, r->e, r->h, r->pad, r->scratch, r->tq, r->tk, r->tv, r->ta,
                  r->tu, r->th, r->tf, r->proj, r->res};
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++)
        free(b[i]);
    free(r->idx);
    memset(r, 0, sizeof *r);
}

/* ---- the layers ------------------------------------------------------------------------- */
static inline float elu(float v)
{
    return mn_elu(v);
}

/* MimiConv1d on x [cin][L] into y [cout][ceil(L/s)]: zeros (replicate: the edge samples)
 * keff - s before, ceil(L/s)s - L after, into r->pad, then the kernel. */
static long long conv(mn_run *r, const mn_conv *c, const float *x, long long L, float *y)
{
    long long s = c->stride, left = keff(c) - s, lo = (L + s - 1) / s, extra = lo * s - L;
    long long lp = L + left + extra;
    for (int i = 0; i < c->cin; i++) {
        float *d = r->pad + (size_t)i * (size_t)lp;
        const float *xi = x + (size_t)i * (size_t)L;
        for (long long t = 0; t < left; t++)
            d[t] = c->replicate ? xi[0] : 0.0f;
        memcpy(d + left, xi, (size_t)L * sizeof *d);
        for (long long t = 0; t < extra; t++)
            d[left + L + t] = c->replicate ? xi[L - 1] : 0.0f;
    }
    r->k->conv(c, r->pad, lp, y, lo, r->scratch);
    return lo;
}

/* MimiConvTranspose1d, causal: the full output's first L s samples per channel. */
static long long convtr(mn_run *r, const mn_conv *c, const float *x, long long L, float *y)
{
    long long full = (L - 1) * c->stride + c->k, lo = L * c->stride;
    r->k->convtr(c, x, L, r->pad, r->scratch);
    for (int o = 0; o < c->cout; o++)
        memcpy(y + (size_t)o * (size_t)lo, r->pad + (size_t)o * (size_t)full,
               (size_t)lo * sizeof *y);
    return lo;
}

/* The layer list of a side over r->a [C][L]; the result is left in r->a. */
static void run_layers(mn_run *r, int side, int *C, long long *L)
{
    const mn_model *m = r->m;
    for (int i = 0; i < m->n[side]; i++) {
        const mn_layer *y = &m->l[side][i];
        size_t n = (size_t)*C * (size_t)*L;
        float *t;
        switch (y->kind) {
        case MN_ELU:
            for (size_t j = 0; j < n; j++)
                r->a[j] = elu(r->a[j]);
            break;
        case MN_CONV:
        case MN_CONVTR:
            *L = y->kind == MN_CONV ? conv(r, &y->c[0], r->a, *L, r->b)
                                    : convtr(r, &y->c[0], r->a, *L, r->b);
            *C = y->c[0].cout;
            t = r->a;
            r->a = r->b;
            r->b = t;
            break;
        case MN_RES: {
            for (size_t j = 0; j < n; j++)
                r->e[j] = elu(r->a[j]);
            conv(r, &y->c[0], r->e, *L, r->h);
            size_t nh = (size_t)y->c[0].cout * (size_t)*L;
            for (size_t j = 0; j < nh; j++)
                r->h[j] = elu(r->h[j]);
            conv(r, &y->c[1], r->h, *L, r->b);
            for (size_t j = 0; j < n; j++)
                r->a[j] += r->b[j];
            break;
        }
        }
    }
}

/* LayerNorm of a row, mean and variance in double (a row's offset does not cancel). */
void mn_layernorm(const float *x, int D, const float *g, const float *b, double eps,
                      float *y)
{
    double mu = 0, var = 0;
    for (int j = 0; j < D; j++)
        mu += x[j];
    mu /= D;
    for (int j = 0; j < D; j++)
        var += ((double)x[j] - mu) * ((double)x[j] - mu);
    var /= D;
    float rs = (float)(1.0 / sqrt(var + eps)), mf = (float)mu;
    for (int j = 0; j < D; j++)
        y[j] = (x[j] - mf) * rs * g[j] + b[j];
}

/* RoPE (rotate_half) at positions pos0..pos0+T-1; the angle in double, then float. */
void mn_rope(const mn_cfg *c, float *x, long long T, long long pos0)
{
    int half = c->dh / 2;
    for (int i = 0; i < half; i++) {
        double inv = pow(c->theta, -2.0 * i / c->dh);
        for (long long t = 0; t < T; t++) {
            double a = (double)(pos0 + t) * inv;
            float cs = (float)cos(a), sn = (float)sin(a);
            for (int h = 0; h < c->heads; h++) {
                float *v = x + (size_t)t * c->hidden + (size_t)h * c->dh;
                float x1 = v[i], x2 = v[i + half];
                v[i] = x1 * cs - x2 * sn;
                v[i + half] = x2 * cs + x1 * sn;
            }
        }
    }
}

/* hc [D][T] in place through a side's transformer. */
static void transformer(mn_run *r, int side, float *hc, long long T)
{
    const mn_model *m = r->m;
    const mn_cfg *c = &m->c;
    int D = c->hidden, F = c->ffn;
    size_t TD = (size_t)T * D;
    float *h = r->th, *u = r->tu;
    for (long long t = 0; t < T; t++)
        for (int j = 0; j < D; j++)
            h[(size_t)t * D + j] = hc[(size_t)j * T + t];
    for (int l = 0; l < c->layers; l++) {
        const mn_tlayer *w = &m->t[side][l];
        for (long long t = 0; t < T; t++)
            mn_layernorm(h + (size_t)t * D, D, w->ln1g, w->ln1b, c->eps, u + (size_t)t * D);
        r->k->linear(u, T, D, w->wq, D, r->tq);
        r->k->linear(u, T, D, w->wk, D, r->tk);
        r->k->linear(u, T, D, w->wv, D, r->tv);
        mn_rope(c, r->tq, T, 0);
        mn_rope(c, r->tk, T, 0);
        r->k->attention(r->tq, r->tk, r->tv, T, c->heads, c->dh, c->window, r->ta,
                        r->scratch);
        r->k->linear(r->ta, T, D, w->wo, D, u);
        for (size_t i = 0; i < TD; i++)
            h[i] += w->ls1[i % D] * u[i];
        for (long long t = 0; t < T; t++)
            mn_layernorm(h + (size_t)t * D, D, w->ln2g, w->ln2b, c->eps, u + (size_t)t * D);
        r->k->linear(u, T, D, w->w1, F, r->tf);
        for (size_t i = 0; i < (size_t)T * F; i++)
            r->tf[i] = mn_gelu(r->tf[i]);
        r->k->linear(r->tf, T, F, w->w2, D, u);
        for (size_t i = 0; i < TD; i++)
            h[i] += w->ls2[i % D] * u[i];
    }
    for (long long t = 0; t < T; t++)
        for (int j = 0; j < D; j++)
            hc[(size_t)j * T + t] = h[(size_t)t * D + j];
}

/* ---- the passes ---------------------------------------------------------------------- */
void mn_encode(mn_run *r, const float *x, int *codes)
{
    const mn_model *m = r->m;
    const mn_cfg *c = &m->c;
    int C = 1, D = c->hidden, Q = c->cdim, K = c->codebook;
    long long L = m->samples, F = m->frames;
    memcpy(r->a, x, (size_t)L * sizeof *x);
    run_layers(r, 0, &C, &L);
    transformer(r, 0, r->a, L);
    conv(r, &m->down, r->a, L, r->b); /* e [D][F] */
    for (long long t = 0; t < F; t++) /* time-major for the projections */
        for (int j = 0; j < D; j++)
            r->tu[(size_t)t * D + j] = r->b[(size_t)j * F + t];
    for (int s = 0; s < 2; s++) {
        int q0 = s ? c->nsem : 0, q1 = s ? m->nq : c->nsem;
        if (q0 >= q1)
            continue;
        const mn_rvq *v = &m->q[s];
        r->k->linear(r->tu, F, D, v->in, Q, r->res); /* residual [F][Q] */
        for (int q = q0; q < q1; q++) {
            const float *cb = v->cb + (size_t)(q - q0) * K * Q;
            r->k->nearest(r->res, F, Q, cb, v->norm2 + (size_t)(q - q0) * K, K, r->idx,
                          r->scratch);
            for (long long t = 0; t < F; t++) {
                int k = r->idx[t];
                codes[(size_t)q * F + t] = k;
                for (int j = 0; j < Q; j++)
                    r->res[(size_t)t * Q + j] -= cb[(size_t)k * Q + j];
            }
        }
    }
}

void mn_decode(mn_run *r, const int *codes, float *audio)
{
    const mn_model *m = r->m;
    const mn_cfg *c = &m->c;
    int D = c->hidden, Q = c->cdim, K = c->codebook, C = D;
    long long F = m->frames, L;
    float *e = r->proj; /* [F][D] */
    memset(e, 0, (size_t)F * D * sizeof *e);
    for (int s = 0; s < 2; s++) {
        int q0 = s ? c->nsem : 0, q1 = s ? m->nq : c->nsem;
        if (q0 >= q1)
            continue;
        const mn_rvq *v = &m->q[s];
        memset(r->res, 0, (size_t)F * Q * sizeof(float));
        for (int q = q0; q < q1; q++) {
            const float *cb = v->cb + (size_t)(q - q0) * K * Q;
            for (long long t = 0; t < F; t++) {
                int k = codes[(size_t)q * F + t];
                k = k < 0 ? 0 : k >= K ? K - 1 : k;
                for (int j = 0; j < Q; j++)
                    r->res[(size_t)t * Q + j] += cb[(size_t)k * Q + j];
            }
        }
        r->k->linear(r->res, F, Q, v->out, D, r->tu);
        for (size_t i = 0; i < (size_t)F * D; i++)
            e[i] += r->tu[i];
    }
    for (long long t = 0; t < F; t++)
        for (int j = 0; j < D; j++)
            r->b[(size_t)j * F + t] = e[(size_t)t * D + j];
    L = convtr(r, &m->up, r->b, F, r->a);
    transformer(r, 1, r->a, L);
    run_layers(r, 1, &C, &L);
    memcpy(audio, r->a, (size_t)L * sizeof *audio);
}

/* ---- an impl's state -------------------------------------------------------------------- */
void mn_state_free(mn_state *st)
{
    if (!st)
        return;
    mn_stream_free(st->stream);
    mn_run_free(&st->r);
    mn_free(&st->m);
    free(st->out);
    free(st->codes);
    free(st);
}

int mn_state_setup(const sono_params *p, const mn_kernels *k, const char *who,
                   mn_state **stp, sono_error *err)
{
    mn_state *st = calloc(1, sizeof *st);
    *stp = NULL;
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "%s: out of memory", who);
    int rc = mn_load(p, &st->m, err);
    rc = rc ? rc : mn_run_alloc(&st->r, &st->m, k, err);
    const mn_model *m = &st->m;
    size_t nc = (size_t)m->nq * (size_t)m->frames;
    st->out_bytes = m->mode == MN_ENCODE ? nc * sizeof(int)
                                         : (size_t)(m->frames * m->c.frame_hop) * sizeof(float);
    st->out_bytes *= (size_t)(m->S > 0 ? m->S : 1);
    if (!rc && (!(st->out = malloc(st->out_bytes)) || !(st->codes = malloc(nc * sizeof(int)))))
        rc = sono_fail(err, SONO_ENOMEM, "%s: out of memory", who);
    if (rc) {
        mn_state_free(st);
        return rc;
    }
    *stp = st;
    return 0;
}

int mn_state_load(mn_state *st, const sono_buf *in, sono_error *err)
{
    const mn_model *m = &st->m;
    long long want = m->S * (m->mode == MN_DECODE ? (long long)m->nq * m->frames : m->samples);
    sono_dtype dt = m->mode == MN_DECODE ? SONO_I32 : SONO_F32;
    if (sono_buf_elems(in) != want || in->dtype != dt)
        return sono_fail(err, SONO_EINVAL, "codec.mimi: input has %lld values, want %lld of %s",
                         sono_buf_elems(in), want, m->mode == MN_DECODE ? "i32" : "f32");
    st->in = in->data;
    return 0;
}

/* Streams: clip s is the s-th piece of the input and of the output, each coded alone. */
void mn_state_run(mn_state *st)
{
    const mn_model *m = &st->m;
    size_t nc = (size_t)m->nq * (size_t)m->frames, na = (size_t)(m->frames * m->c.frame_hop);
    for (int s = 0; s < m->S; s++) {
        const float *x = (const float *)st->in + (size_t)s * (size_t)m->samples;
        if (m->mode == MN_ENCODE)
            mn_encode(&st->r, x, (int *)st->out + (size_t)s * nc);
        else if (m->mode == MN_DECODE)
            mn_decode(&st->r, (const int *)st->in + (size_t)s * nc,
                      (float *)st->out + (size_t)s * na);
        else {
            mn_encode(&st->r, x, st->codes);
            mn_decode(&st->r, st->codes, (float *)st->out + (size_t)s * na);
        }
    }
}

int mn_state_store(const mn_state *st, sono_buf *out, sono_error *err)
{
    const mn_model *m = &st->m;
    if (m->mode != MN_ROUNDTRIP) {
        if (out->nbytes < st->out_bytes)
            return sono_fail(err, SONO_EINVAL, "codec.mimi: output has %zu bytes, want %zu",
                             out->nbytes, st->out_bytes);
        memcpy(out->data, st->out, st->out_bytes);
        return 0;
    }
    size_t clip = (size_t)m->samples, na = (size_t)(m->frames * m->c.frame_hop);
    if (out->nbytes < (size_t)m->S * clip * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "codec.mimi: output has %zu bytes, want %zu",
                         out->nbytes, (size_t)m->S * clip * sizeof(float));
    for (int s = 0; s < m->S; s++) /* each clip cut to the input's length */
        memcpy((float *)out->data + (size_t)s * clip, (const float *)st->out + (size_t)s * na,
               clip * sizeof(float));
    return 0;
}
