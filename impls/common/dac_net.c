/* dac_net.c — codec.dac's shared impl body (dac_net.h): params, config, DacModel's weights
 * in float32 with weight norm folded, buffers planned once at setup, and the forward
 * passes over three activation buffers; the impl's kernels do the arithmetic. */
#include "dac_net.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "encodec_st.h"
#include "nndtype.h"

/* ---- params, config ------------------------------------------------------------------ */

static void cfg_44k(dn_cfg *c, int enc, int dec)
{
    *c = (dn_cfg){.rate = 44100, .enc = enc, .dec = dec, .nratio = 4, .ratio = {2, 4, 8, 8},
                  .ncb = 9, .K = 1024, .Dc = 8};
}

static int cfg_finish(dn_cfg *c, char *why, size_t n)
{
    c->hop = 1;
    for (int i = 0; i < c->nratio; i++)
        c->hop *= c->ratio[i];
    if ((long long)c->enc << c->nratio > 65536 || c->dec >> c->nratio < 1) {
        snprintf(why, n, "config: encoder_hidden_size %d or decoder_hidden_size %d out of "
                 "range for %d ratios", c->enc, c->dec, c->nratio);
        return -1;
    }
    c->H = c->enc << c->nratio;
    return 0;
}

static int cfg_parse(const char *text, const char *src, dn_cfg *c, char *why, size_t n)
{
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    cfg_44k(c, 64, 1536);
    if (!json_is_object(o)) {
        json_decref(o);
        snprintf(why, n, "%s: config is not a JSON object", src);
        return -1;
    }
    struct {
        const char *key;
        int lo, hi, *v;
    } keys[] = {{"sampling_rate", 1000, 384000, &c->rate},
                {"encoder_hidden_size", 1, 4096, &c->enc},
                {"decoder_hidden_size", 2, 65536, &c->dec},
                {"n_codebooks", 1, 64, &c->ncb},
                {"codebook_size", 2, 1 << 20, &c->K},
                {"codebook_dim", 1, 1024, &c->Dc}};
    const char *bad = NULL;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0] && !bad; i++) {
        json_t *j = json_object_get(o, keys[i].key);
        if (!j || json_is_null(j))
            continue;
        if (!json_is_integer(j) || json_integer_value(j) < keys[i].lo ||
            json_integer_value(j) > keys[i].hi)
            bad = keys[i].key;
        else
            *keys[i].v = (int)json_integer_value(j);
    }
    json_t *r = json_object_get(o, "downsampling_ratios");
    if (!bad && r) {
        if (!json_is_array(r) || json_array_size(r) < 1 || json_array_size(r) > 8)
            bad = "downsampling_ratios";
        else {
            c->nratio = (int)json_array_size(r);
            for (int i = 0; i < c->nratio && !bad; i++) {
                json_t *v = json_array_get(r, (size_t)i);
                if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                    json_integer_value(v) > 64)
                    bad = "downsampling_ratios";
                else
                    c->ratio[i] = (int)json_integer_value(v);
            }
        }
    }
    json_decref(o);
    if (bad) {
        snprintf(why, n, "%s: invalid config key %s", src, bad);
        return -1;
    }
    return cfg_finish(c, why, n);
}

static int is_random(const sono_params *p)
{
    return strcmp(sono_param_str(p, "weights", "random"), "random") == 0;
}

/* The contract's cache path for weights = random, else the path given. */
static void weights_path(const sono_params *p, char *out, size_t n)
{
    if (!is_random(p)) {
        snprintf(out, n, "%s", sono_param_str(p, "weights", "random"));
        return;
    }
    const char *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
    char base[4096];
    if (x && x[0])
        snprintf(base, sizeof base, "%s", x);
    else if (h && h[0])
        snprintf(base, sizeof base, "%s/.cache", h);
    else
        snprintf(base, sizeof base, "build/cache");
    snprintf(out, n, "%s/sonobench/dac44k-e%lld-d%lld-random-v1-seed%lld.safetensors", base,
             sono_param_int(p, "enc_dim", 64), sono_param_int(p, "dec_dim", 1536),
             sono_param_int(p, "seed", 1));
}

static int file_cfg(const est_file *f, const char *path, dn_cfg *c, char *why, size_t n)
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
        cfg_44k(c, 64, 1536);
        return cfg_finish(c, why, n);
    }
    char *text = json_dumps(o, 0);
    int rc = text ? cfg_parse(text, side, c, why, n) : -1;
    free(text);
    json_decref(o);
    return rc;
}

static int read_dims(const sono_params *p, const dn_cfg *c, dn_net *net, char *why, size_t n)
{
    const char *m = sono_param_str(p, "mode", "roundtrip");
    net->mode = !strcmp(m, "encode") ? DN_ENCODE : !strcmp(m, "decode") ? DN_DECODE
                                                                        : DN_ROUNDTRIP;
    net->nq = (int)sono_param_int(p, "n_q", 9);
    if (net->nq < 1 || net->nq > c->ncb) {
        snprintf(why, n, "n_q=%d: the model has %d codebooks", net->nq, c->ncb);
        return -1;
    }
    net->frames = llround(sono_param_real(p, "seconds", 1.0) * c->rate / c->hop);
    if (net->frames < 1)
        net->frames = 1;
    net->samples = net->frames * c->hop;
    long long S = sono_param_int(p, "streams", 1);
    if (S < 1 || S > 1024 || S * net->samples > (1LL << 31)) {
        snprintf(why, n, "streams=%lld x %lld samples: need 1..1024 streams and at most 2^31 "
                 "samples in all", S, net->samples);
        return -1;
    }
    net->S = (int)S;
    return 0;
}

int dn_supports(const sono_params *p, char *why, size_t n)
{
    char path[4200];
    weights_path(p, path, sizeof path);
    dn_cfg c;
    dn_net d;
    if (is_random(p)) {
        struct stat st;
        if (stat(path, &st) != 0) {
            snprintf(why, n, "weights=random: %s is not written yet (codec.dac's validate "
                     "writes it when the harness plans the case)", path);
            return SONO_EUNSUPPORTED;
        }
        cfg_44k(&c, (int)sono_param_int(p, "enc_dim", 64), (int)sono_param_int(p, "dec_dim",
                                                                                1536));
        if (cfg_finish(&c, why, n))
            return SONO_EUNSUPPORTED;
    } else {
        est_file *f = NULL;
        sono_error err = {0};
        if (est_open(path, &f, &err)) {
            snprintf(why, n, "%s", err.msg);
            return SONO_EUNSUPPORTED;
        }
        int rc = file_cfg(f, path, &c, why, n);
        est_close(f);
        if (rc)
            return SONO_EUNSUPPORTED;
    }
    return read_dims(p, &c, &d, why, n) ? SONO_EUNSUPPORTED : 0;
}

/* ---- weights ------------------------------------------------------------------------- */

static float *falloc(dn_net *net, size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof(float));
    net->bytes += n * sizeof(float);
    return p;
}

static int get_conv(dn_net *net, const est_file *f, const char *prefix, dn_conv *c,
                    sono_error *err)
{
    char a[160], b[160];
    if (!f) /* dn_open(load = 0): the shapes only */
        return 0;
    int d0 = c->tr ? c->cin : c->cout, d1 = c->tr ? c->cout : c->cin;
    size_t row = (size_t)d1 * (size_t)c->k;
    long long ws[3] = {d0, d1, c->k}, gs[3] = {d0, 1, 1}, bs[1] = {c->cout};
    c->w = falloc(net, (size_t)d0 * row);
    c->b = falloc(net, (size_t)c->cout);
    float *g = malloc((size_t)d0 * sizeof *g);
    if (!c->w || !c->b || !g) {
        free(g);
        return sono_fail(err, SONO_ENOMEM, "codec.dac: out of memory");
    }
    snprintf(a, sizeof a, "%s.weight_v", prefix);
    snprintf(b, sizeof b, "%s.parametrizations.weight.original1", prefix);
    const char *vn = est_has(f, a) ? a : est_has(f, b) ? b : NULL;
    int rc;
    if (vn) {
        rc = est_get(f, vn, 3, ws, c->w, err);
        snprintf(a, sizeof a, "%s.weight_g", prefix);
        snprintf(b, sizeof b, "%s.parametrizations.weight.original0", prefix);
        if (!rc)
            rc = est_get(f, est_has(f, a) ? a : b, 3, gs, g, err);
        for (int i = 0; !rc && i < d0; i++) { /* w = g v / ||v||, in double */
            double s = 0;
            for (size_t j = 0; j < row; j++)
                s += (double)c->w[i * row + j] * c->w[i * row + j];
            double scale = s > 0 ? g[i] / sqrt(s) : 0;
            for (size_t j = 0; j < row; j++)
                c->w[i * row + j] = (float)(c->w[i * row + j] * scale);
        }
    } else {
        snprintf(a, sizeof a, "%s.weight", prefix);
        rc = est_get(f, a, 3, ws, c->w, err);
    }
    free(g);
    snprintf(a, sizeof a, "%s.bias", prefix);
    return rc ? rc : est_get(f, a, 1, bs, c->b, err);
}

static int get_alpha(dn_net *net, const est_file *f, const char *prefix, int C, float **a,
                     sono_error *err)
{
    char n[160];
    long long s[3] = {1, C, 1};
    if (!f)
        return 0;
    snprintf(n, sizeof n, "%s.alpha", prefix);
    *a = falloc(net, (size_t)C);
    return *a ? est_get(f, n, 3, s, *a, err) : sono_fail(err, SONO_ENOMEM, "out of memory");
}

static dn_conv mk(int cin, int cout, int k, int s, int d, int p, int tr)
{
    return (dn_conv){.cin = cin, .cout = cout, .k = k, .s = s, .d = d, .p = p, .tr = tr};
}

static int get_res(dn_net *net, const est_file *f, const char *prefix, int C, int dil,
                   dn_res *r, sono_error *err)
{
    char p[140];
    r->c1 = mk(C, C, 7, 1, dil, 3 * dil, 0);
    r->c2 = mk(C, C, 1, 1, 1, 0, 0);
    snprintf(p, sizeof p, "%s.snake1", prefix);
    int rc = get_alpha(net, f, p, C, &r->a1, err);
    snprintf(p, sizeof p, "%s.snake2", prefix);
    rc = rc ? rc : get_alpha(net, f, p, C, &r->a2, err);
    snprintf(p, sizeof p, "%s.conv1", prefix);
    rc = rc ? rc : get_conv(net, f, p, &r->c1, err);
    snprintf(p, sizeof p, "%s.conv2", prefix);
    return rc ? rc : get_conv(net, f, p, &r->c2, err);
}

static int get_all(dn_net *net, const est_file *f, sono_error *err)
{
    const dn_cfg *c = &net->cfg;
    static const int dil[3] = {1, 3, 9};
    char p[120];
    net->e_in = mk(1, c->enc, 7, 1, 1, 3, 0);
    int rc = get_conv(net, f, "encoder.conv1", &net->e_in, err);
    for (int i = 0; !rc && i < c->nratio; i++) {
        int dim = c->enc << (i + 1), r = c->ratio[i];
        for (int j = 0; !rc && j < 3; j++) {
            snprintf(p, sizeof p, "encoder.block.%d.res_unit%d", i, j + 1);
            rc = get_res(net, f, p, dim / 2, dil[j], &net->eb[i].r[j], err);
        }
        snprintf(p, sizeof p, "encoder.block.%d.snake1", i);
        rc = rc ? rc : get_alpha(net, f, p, dim / 2, &net->eb[i].alpha, err);
        net->eb[i].c = mk(dim / 2, dim, 2 * r, r, 1, (r + 1) / 2, 0);
        snprintf(p, sizeof p, "encoder.block.%d.conv1", i);
        rc = rc ? rc : get_conv(net, f, p, &net->eb[i].c, err);
    }
    rc = rc ? rc : get_alpha(net, f, "encoder.snake1", c->H, &net->e_alpha, err);
    net->e_out = mk(c->H, c->H, 3, 1, 1, 1, 0);
    rc = rc ? rc : get_conv(net, f, "encoder.conv2", &net->e_out, err);
    net->d_in = mk(c->H, c->dec, 7, 1, 1, 3, 0);
    rc = rc ? rc : get_conv(net, f, "decoder.conv1", &net->d_in, err);
    for (int i = 0; !rc && i < c->nratio; i++) {
        int in = c->dec >> i, out = c->dec >> (i + 1), u = c->ratio[c->nratio - 1 - i];
        snprintf(p, sizeof p, "decoder.block.%d.snake1", i);
        rc = get_alpha(net, f, p, in, &net->db[i].alpha, err);
        net->db[i].c = mk(in, out, 2 * u, u, 1, (u + 1) / 2, 1);
        snprintf(p, sizeof p, "decoder.block.%d.conv_t1", i);
        rc = rc ? rc : get_conv(net, f, p, &net->db[i].c, err);
        for (int j = 0; !rc && j < 3; j++) {
            snprintf(p, sizeof p, "decoder.block.%d.res_unit%d", i, j + 1);
            rc = get_res(net, f, p, out, dil[j], &net->db[i].r[j], err);
        }
    }
    int last = c->dec >> c->nratio;
    rc = rc ? rc : get_alpha(net, f, "decoder.snake1", last, &net->d_alpha, err);
    net->d_out = mk(last, 1, 7, 1, 1, 3, 0);
    rc = rc ? rc : get_conv(net, f, "decoder.conv2", &net->d_out, err);
    int Q = net->nq; /* the stages used; later ones are not read */
    net->inp = calloc((size_t)Q, sizeof *net->inp);
    net->outp = calloc((size_t)Q, sizeof *net->outp);
    net->cn = calloc((size_t)Q, sizeof *net->cn);
    net->cc = calloc((size_t)Q, sizeof *net->cc);
    net->cb = calloc((size_t)Q, sizeof *net->cb);
    if (!rc && (!net->inp || !net->outp || !net->cn || !net->cc || !net->cb))
        rc = sono_fail(err, SONO_ENOMEM, "codec.dac: out of memory");
    for (int q = 0; !rc && q < Q; q++) {
        net->inp[q] = mk(c->H, c->Dc, 1, 1, 1, 0, 0);
        net->outp[q] = mk(c->Dc, c->H, 1, 1, 1, 0, 0);
        snprintf(p, sizeof p, "quantizer.quantizers.%d.in_proj", q);
        rc = get_conv(net, f, p, &net->inp[q], err);
        snprintf(p, sizeof p, "quantizer.quantizers.%d.out_proj", q);
        rc = rc ? rc : get_conv(net, f, p, &net->outp[q], err);
        if (!f)
            continue;
        net->cb[q] = falloc(net, (size_t)c->K * c->Dc);
        net->cn[q] = falloc(net, (size_t)c->K * c->Dc);
        net->cc[q] = falloc(net, (size_t)c->K);
        if (!rc && (!net->cb[q] || !net->cn[q] || !net->cc[q]))
            rc = sono_fail(err, SONO_ENOMEM, "codec.dac: out of memory");
        snprintf(p, sizeof p, "quantizer.quantizers.%d.codebook.weight", q);
        long long s[2] = {c->K, c->Dc};
        rc = rc ? rc : est_get(f, p, 2, s, net->cb[q], err);
        for (int k = 0; !rc && k < c->K; k++) { /* F.normalize, eps 1e-12 */
            const float *e = net->cb[q] + (size_t)k * c->Dc;
            float *o = net->cn[q] + (size_t)k * c->Dc, s2 = 0;
            double nn = 0;
            for (int j = 0; j < c->Dc; j++)
                nn += (double)e[j] * e[j];
            double l = fmax(sqrt(nn), 1e-12);
            for (int j = 0; j < c->Dc; j++) {
                o[j] = (float)(e[j] / l);
                s2 += o[j] * o[j];
            }
            net->cc[q][k] = s2;
        }
    }
    return rc;
}

/* ---- the forward pass (dry: sizes only, for the plan) -------------------------------- */

typedef struct plan {
    int dry;
    size_t act, scratch;
    dn_scratch_fn sf;
} plan;

static long long out_len(const dn_conv *c, long long L)
{
    long long T = c->tr ? (L - 1) * c->s - 2 * c->p + c->k
                        : (L + 2 * c->p - (long long)c->d * (c->k - 1) - 1) / c->s + 1;
    return T < 0 ? 0 : T;
}

static void snake(const float *alpha, float *x, int C, long long T)
{
    for (int c = 0; c < C; c++) {
        float a = alpha[c], inv = 1.0f / (a + 1e-9f);
        float *r = x + (size_t)c * (size_t)T;
        for (long long t = 0; t < T; t++) {
            float s = sinf(a * r[t]);
            r[t] += inv * s * s;
        }
    }
}

static void note(plan *pl, size_t act, size_t scratch)
{
    pl->act = act > pl->act ? act : pl->act;
    pl->scratch = scratch > pl->scratch ? scratch : pl->scratch;
}

/* y = conv(x); returns the output length */
static long long conv(dn_net *net, plan *pl, const dn_conv *c, const float *x, long long L,
                      float *y)
{
    long long T = out_len(c, L);
    if (pl->dry) {
        note(pl, (size_t)c->cout * (size_t)net->S * (size_t)T,
             pl->sf ? pl->sf(c, L, T, net->S) : 0);
        return T;
    }
    (c->tr ? net->k->convtr : net->k->conv)(c, x, L, net->S, y, T, net->scratch);
    return T;
}

/* x in B[0] ([C][S][L]) through a residual unit, in place. Snake is per channel, so it
 * runs over each channel's S clips as one row. */
static void res(dn_net *net, plan *pl, const dn_res *r, long long L)
{
    float **B = net->buf;
    int C = r->c1.cin;
    long long S = net->S;
    if (!pl->dry) {
        memcpy(B[2], B[0], (size_t)C * (size_t)(S * L) * sizeof(float));
        snake(r->a1, B[2], C, S * L);
    }
    long long T = conv(net, pl, &r->c1, B[2], L, B[1]);
    if (!pl->dry)
        snake(r->a2, B[1], C, S * T);
    T = conv(net, pl, &r->c2, B[1], T, B[2]);
    if (pl->dry)
        return;
    long long crop = (L - T) / 2; /* 0: same-length convs */
    for (long long row = 0; row < C * S; row++) /* (channel, clip) rows */
        for (long long t = 0; t < T; t++)
            B[2][(size_t)(row * T + t)] += B[0][(size_t)(row * L + t + crop)];
    float *s = B[0];
    B[0] = B[2];
    B[2] = s;
}

static long long snake_conv(dn_net *net, plan *pl, const float *alpha, const dn_conv *c,
                            long long L)
{
    float **B = net->buf;
    if (!pl->dry && alpha)
        snake(alpha, B[0], c->cin, net->S * L);
    long long T = conv(net, pl, c, B[0], L, B[1]);
    float *s = B[0];
    B[0] = B[1];
    B[1] = s;
    return T;
}

static long long encoder(dn_net *net, plan *pl, long long L)
{
    const dn_cfg *c = &net->cfg;
    note(pl, (size_t)net->S * (size_t)L, 0);
    L = snake_conv(net, pl, NULL, &net->e_in, L);
    for (int i = 0; i < c->nratio; i++) {
        for (int j = 0; j < 3; j++)
            res(net, pl, &net->eb[i].r[j], L);
        L = snake_conv(net, pl, net->eb[i].alpha, &net->eb[i].c, L);
    }
    return snake_conv(net, pl, net->e_alpha, &net->e_out, L);
}

static long long decoder(dn_net *net, plan *pl, long long F)
{
    const dn_cfg *c = &net->cfg;
    long long L = snake_conv(net, pl, NULL, &net->d_in, F);
    for (int i = 0; i < c->nratio; i++) {
        L = snake_conv(net, pl, net->db[i].alpha, &net->db[i].c, L);
        for (int j = 0; j < 3; j++)
            res(net, pl, &net->db[i].r[j], L);
    }
    L = snake_conv(net, pl, net->d_alpha, &net->d_out, L);
    for (long long t = 0; !pl->dry && t < net->S * L; t++)
        net->buf[0][t] = tanhf(net->buf[0][t]);
    return L;
}

/* Codeword rows of stage q's codes into e [Dc][F]. */
static void gather(dn_net *net, int q, const int *codes, long long F)
{
    int Dc = net->cfg.Dc;
    for (long long t = 0; t < F; t++)
        for (int j = 0; j < Dc; j++)
            net->e[(size_t)j * (size_t)F + (size_t)t] = net->cb[q][(size_t)codes[t] * Dc + j];
}

/* The residual in B[0] ([H][F], F = S * frames) quantized; the quantized sum left in B[2]. */
static void quantize(dn_net *net, long long F)
{
    const dn_cfg *c = &net->cfg;
    float *r = net->buf[0], *qs = net->buf[2];
    memset(qs, 0, (size_t)c->H * (size_t)F * sizeof(float));
    for (int q = 0; q < net->nq; q++) {
        int *codes = net->codes + (size_t)q * (size_t)F;
        net->k->proj_in(&net->inp[q], r, F, net->z);
        for (long long t = 0; t < F; t++) { /* F.normalize, eps 1e-12 */
            float *z = net->z + (size_t)t * c->Dc;
            double nn = 0;
            for (int j = 0; j < c->Dc; j++)
                nn += (double)z[j] * z[j];
            double l = fmax(sqrt(nn), 1e-12);
            float s2 = 0;
            for (int j = 0; j < c->Dc; j++) {
                z[j] = (float)(z[j] / l);
                s2 += z[j] * z[j];
            }
            net->zz[t] = s2;
        }
        net->k->vq(net->cn[q], net->cc[q], c->K, c->Dc, net->z, net->zz, F, codes,
                   net->scratch);
        gather(net, q, codes, F);
        net->k->proj_out(&net->outp[q], net->e, F, 1.0f, qs);
        net->k->proj_out(&net->outp[q], net->e, F, -1.0f, r);
    }
}

int dn_open(dn_net *net, const sono_params *p, int load, sono_error *err)
{
    char path[4200], why[512];
    memset(net, 0, sizeof *net);
    nn_dtype_via_f32(p, net->dtnote, sizeof net->dtnote); /* float32 on rounded inputs */
    weights_path(p, path, sizeof path);
    est_file *f = NULL;
    int rc = est_open(path, &f, err);
    if (rc)
        return rc;
    if (file_cfg(f, path, &net->cfg, why, sizeof why) ||
        read_dims(p, &net->cfg, net, why, sizeof why)) {
        est_close(f);
        return sono_fail(err, SONO_EINVAL, "%s", why);
    }
    rc = get_all(net, load ? f : NULL, err);
    est_close(f);
    return rc;
}

int dn_plan(dn_net *net, dn_scratch_fn sf, size_t (*vq_scratch)(int K, long long F),
            size_t *act, size_t *scratch, sono_error *err)
{
    plan pl = {.dry = 1, .sf = sf};
    const dn_cfg *c = &net->cfg;
    long long F = net->frames, SF = F * net->S;
    if (net->mode != DN_DECODE && encoder(net, &pl, net->samples) != F)
        return sono_fail(err, SONO_EINTERNAL, "codec.dac: the encoder's frames differ from "
                         "samples / hop");
    note(&pl, (size_t)c->H * (size_t)SF, vq_scratch ? vq_scratch(c->K, SF) : 0);
    if (net->mode != DN_ENCODE && decoder(net, &pl, F) != net->samples)
        return sono_fail(err, SONO_EINTERNAL, "codec.dac: the decoder's length differs "
                         "from frames * hop");
    *act = pl.act;
    *scratch = pl.scratch;
    return 0;
}

static size_t conv_floats(const dn_conv *c)
{
    return (size_t)c->cin * (size_t)c->cout * (size_t)c->k + (size_t)c->cout;
}

static size_t res_floats(const dn_res *r)
{
    return 2 * (size_t)r->c1.cin + conv_floats(&r->c1) + conv_floats(&r->c2);
}

size_t dn_weight_floats(const dn_net *net)
{
    const dn_cfg *c = &net->cfg;
    size_t n = conv_floats(&net->e_in) + conv_floats(&net->e_out) + conv_floats(&net->d_in) +
               conv_floats(&net->d_out) + (size_t)c->H + (size_t)net->d_out.cin;
    for (int i = 0; i < c->nratio; i++)
        for (int s = 0; s < 2; s++) {
            const dn_block *b = s ? &net->db[i] : &net->eb[i];
            n += conv_floats(&b->c) + (size_t)b->c.cin;
            for (int j = 0; j < 3; j++)
                n += res_floats(&b->r[j]);
        }
    for (int q = 0; q < net->nq; q++) /* projections, raw and unit codebooks, their norms */
        n += conv_floats(&net->inp[q]) + conv_floats(&net->outp[q]) +
             (size_t)c->K * (2 * (size_t)c->Dc + 1);
    return n;
}

int dn_setup(dn_net *net, const sono_params *p, const dn_kernels *k, dn_scratch_fn sf,
             size_t (*vq_scratch)(int K, long long F), sono_error *err)
{
    int rc = dn_open(net, p, 1, err);
    net->k = k;
    if (rc || (rc = dn_plan(net, sf, vq_scratch, &net->act, &net->nscratch, err)))
        return rc;
    const dn_cfg *c = &net->cfg;
    size_t SF = (size_t)net->frames * (size_t)net->S;
    for (int i = 0; i < 3; i++)
        if (!(net->buf[i] = falloc(net, net->act)))
            return sono_fail(err, SONO_ENOMEM, "codec.dac: out of memory (%zu floats of "
                             "activations)", net->act);
    net->scratch = falloc(net, net->nscratch);
    net->z = falloc(net, SF * c->Dc);
    net->zz = falloc(net, SF);
    net->e = falloc(net, SF * c->Dc);
    net->in = falloc(net, (size_t)net->samples * (size_t)net->S);
    net->codes = malloc((size_t)net->nq * SF * sizeof(int));
    net->bytes += (size_t)net->nq * SF * sizeof(int);
    if (!net->scratch || !net->z || !net->zz || !net->e || !net->in || !net->codes)
        return sono_fail(err, SONO_ENOMEM, "codec.dac: out of memory");
    return 0;
}

static void free_conv(dn_conv *c)
{
    free(c->w);
    free(c->b);
}

static void free_res(dn_res *r)
{
    free(r->a1);
    free(r->a2);
    free_conv(&r->c1);
    free_conv(&r->c2);
}

void dn_free(dn_net *net)
{
    free_conv(&net->e_in);
    free_conv(&net->e_out);
    free_conv(&net->d_in);
    free_conv(&net->d_out);
    free(net->e_alpha);
    free(net->d_alpha);
    for (int i = 0; i < 8; i++)
        for (int s = 0; s < 2; s++) {
            dn_block *b = s ? &net->db[i] : &net->eb[i];
            for (int j = 0; j < 3; j++)
                free_res(&b->r[j]);
            free(b->alpha);
            free_conv(&b->c);
        }
    for (int q = 0; q < net->nq; q++) {
        if (net->inp)
            free_conv(&net->inp[q]);
        if (net->outp)
            free_conv(&net->outp[q]);
        if (net->cb)
            free(net->cb[q]);
        if (net->cn)
            free(net->cn[q]);
        if (net->cc)
            free(net->cc[q]);
    }
    free(net->inp);
    free(net->outp);
    free(net->cb);
    free(net->cn);
    free(net->cc);
    for (int i = 0; i < 3; i++)
        free(net->buf[i]);
    free(net->scratch);
    free(net->z);
    free(net->zz);
    free(net->e);
    free(net->in);
    free(net->codes);
}

/* Codes [S][nq][F] outside, [nq][S][F] here (each stage's codes of every clip in one
 * row, as the RVQ sees S * frames columns). */
int dn_load(dn_net *net, const sono_buf *in, sono_error *err)
{
    size_t S = (size_t)net->S, F = (size_t)net->frames, nq = (size_t)net->nq;
    if (net->mode == DN_DECODE) {
        const int *c = in->data;
        if (in->dtype != SONO_I32 || in->nbytes < S * nq * F * sizeof(int))
            return sono_fail(err, SONO_EINVAL, "codec.dac: codes must be i32 [%zu, %zu, %zu] "
                             "(streams, n_q, frames)", S, nq, F);
        for (size_t i = 0; i < S * nq * F; i++)
            if (c[i] < 0 || c[i] >= net->cfg.K)
                return sono_fail(err, SONO_EINVAL, "codec.dac: code %d at %zu outside [0, "
                                 "%d)", c[i], i, net->cfg.K);
        for (size_t s = 0; s < S; s++)
            for (size_t q = 0; q < nq; q++)
                memcpy(net->codes + (q * S + s) * F, c + (s * nq + q) * F, F * sizeof(int));
        return 0;
    }
    if (in->dtype != SONO_F32 || in->nbytes < S * (size_t)net->samples * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "codec.dac: input must be f32 [%zu, %lld] "
                         "(streams, samples)", S, net->samples);
    memcpy(net->in, in->data, S * (size_t)net->samples * sizeof(float));
    return 0;
}

int dn_run(dn_net *net)
{
    plan pl = {0};
    long long F = net->frames, SF = F * net->S;
    if (net->mode != DN_DECODE) {
        memcpy(net->buf[0], net->in, (size_t)(net->samples * net->S) * sizeof(float));
        encoder(net, &pl, net->samples);
        quantize(net, SF);
        if (net->mode == DN_ENCODE)
            return 0;
        float *s = net->buf[0]; /* the quantized sum is the decoder's input */
        net->buf[0] = net->buf[2];
        net->buf[2] = s;
    } else {
        memset(net->buf[0], 0, (size_t)net->cfg.H * (size_t)SF * sizeof(float));
        for (int q = 0; q < net->nq; q++) {
            gather(net, q, net->codes + (size_t)q * (size_t)SF, SF);
            net->k->proj_out(&net->outp[q], net->e, SF, 1.0f, net->buf[0]);
        }
    }
    decoder(net, &pl, F);
    return 0;
}

int dn_store(dn_net *net, sono_buf *out, sono_error *err)
{
    size_t S = (size_t)net->S, F = (size_t)net->frames, nq = (size_t)net->nq;
    int enc = net->mode == DN_ENCODE;
    size_t need = enc ? S * nq * F * sizeof(int) : S * (size_t)net->samples * sizeof(float);
    if (out->dtype != (enc ? SONO_I32 : SONO_F32) || out->nbytes < need)
        return sono_fail(err, SONO_EINVAL, "codec.dac: output must be %zu bytes of %s",
                         need, enc ? "i32 codes" : "f32 audio");
    if (enc) {
        int *o = out->data;
        for (size_t s = 0; s < S; s++)
            for (size_t q = 0; q < nq; q++)
                memcpy(o + (s * nq + q) * F, net->codes + (q * S + s) * F, F * sizeof(int));
    } else
        memcpy(out->data, net->buf[0], need);
    return 0;
}
