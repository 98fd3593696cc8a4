/* encodec_net.c — the shared body of the codec.encodec impls (encodec_net.h): config and
 * weights in, buffers planned once, then the layer graph walked with the impl's kernels. */
#include "encodec_net.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "encodec_st.h"
#include "encodec_stream.h"
#include "nndtype.h"

/* ---- params, config ------------------------------------------------------------------ */

static void cfg_24k(en_cfg *c)
{
    *c = (en_cfg){.rate = 24000, .filters = 32, .hidden = 128, .codebook = 1024, .nratio = 4,
                  .ratio = {8, 5, 4, 2}, .kernel = 7, .last_kernel = 7, .res_kernel = 3,
                  .dil_growth = 2, .nres = 1, .compress = 2, .lstm_layers = 2, .causal = 1,
                  .shortcut = 1, .trim_right = 1.0, .nbw = 5, .bw = {1.5, 3, 6, 12, 24}};
}

/* codec.soundstream's config (harness/ops/encodec.h): param config = soundstream. */
static int is_soundstream(const sono_params *p)
{
    return strcmp(sono_param_str(p, "config", "encodec"), "soundstream") == 0;
}

static void cfg_soundstream(en_cfg *c)
{
    cfg_24k(c);
    c->res_kernel = 7;
    c->dil_growth = 3;
    c->nres = 3;
    c->compress = 1;
    c->lstm_layers = 0;
    c->shortcut = 0;
    c->nbw = 4;
    c->bw[0] = 3;
    c->bw[1] = 6;
    c->bw[2] = 12;
    c->bw[3] = 18;
    c->bw[4] = 0;
}

static void cfg_finish(en_cfg *c)
{
    c->hop = 1;
    for (int i = 0; i < c->nratio; i++)
        c->hop *= c->ratio[i];
    c->frame_rate = (c->rate + c->hop - 1) / c->hop;
    c->nq_max = (int)floor(1000.0 * c->bw[c->nbw - 1] /
                           (c->frame_rate * log2((double)c->codebook)));
}

static int jint(json_t *o, const char *k, int lo, int hi, int *v)
{
    json_t *j = json_object_get(o, k);
    if (!j || json_is_null(j))
        return 0;
    if (json_is_boolean(j) && lo == 0 && hi == 1) {
        *v = json_is_true(j);
        return 0;
    }
    if (!json_is_integer(j) || json_integer_value(j) < lo || json_integer_value(j) > hi)
        return -1;
    *v = (int)json_integer_value(j);
    return 0;
}

static int cfg_parse(const char *text, const char *src, en_cfg *c, char *why, size_t n)
{
    cfg_24k(c);
    json_error_t je;
    json_t *o = json_loads(text, 0, &je), *j;
    const char *bad = NULL;
    if (!json_is_object(o))
        bad = "the config is not a JSON object";
    struct { const char *k; int lo, hi; int *v; } ints[] = {
        {"sampling_rate", 1000, 384000, &c->rate}, {"audio_channels", 1, 1, NULL},
        {"num_filters", 1, 4096, &c->filters}, {"hidden_size", 1, 8192, &c->hidden},
        {"codebook_size", 2, 1 << 20, &c->codebook}, {"kernel_size", 1, 64, &c->kernel},
        {"last_kernel_size", 1, 64, &c->last_kernel},
        {"residual_kernel_size", 1, 64, &c->res_kernel},
        {"dilation_growth_rate", 1, 16, &c->dil_growth},
        {"num_residual_layers", 0, 5, &c->nres}, {"compress", 1, 64, &c->compress},
        {"num_lstm_layers", 0, 8, &c->lstm_layers}, {"use_causal_conv", 0, 1, &c->causal},
        {"use_conv_shortcut", 0, 1, &c->shortcut},
    };
    for (size_t i = 0; !bad && i < sizeof ints / sizeof ints[0]; i++) {
        int dummy;
        if (jint(o, ints[i].k, ints[i].lo, ints[i].hi, ints[i].v ? ints[i].v : &dummy))
            bad = ints[i].k;
    }
    if (!bad && (j = json_object_get(o, "norm_type")) &&
        strcmp(json_string_value(j) ? json_string_value(j) : "", "weight_norm"))
        bad = "norm_type (only weight_norm)";
    if (!bad && (j = json_object_get(o, "pad_mode")) &&
        strcmp(json_string_value(j) ? json_string_value(j) : "", "reflect"))
        bad = "pad_mode (only reflect)";
    if (!bad && (j = json_object_get(o, "normalize")) && !json_is_false(j))
        bad = "normalize (only false)";
    if (!bad && (j = json_object_get(o, "chunk_length_s")) && !json_is_null(j))
        bad = "chunk_length_s (only null)";
    if (!bad && (j = json_object_get(o, "codebook_dim")) && !json_is_null(j) &&
        json_integer_value(j) != c->hidden)
        bad = "codebook_dim (must equal hidden_size)";
    if (!bad && (j = json_object_get(o, "trim_right_ratio")) && !json_is_null(j)) {
        c->trim_right = json_number_value(j);
        if (!json_is_number(j) || c->trim_right < 0 || c->trim_right > 1)
            bad = "trim_right_ratio";
    }
    if (!bad && (j = json_object_get(o, "upsampling_ratios"))) {
        c->nratio = (int)json_array_size(j);
        if (c->nratio < 1 || c->nratio > 8)
            bad = "upsampling_ratios";
        for (int i = 0; !bad && i < c->nratio; i++)
            if (!json_is_integer(json_array_get(j, (size_t)i)) ||
                (c->ratio[i] = (int)json_integer_value(json_array_get(j, (size_t)i))) < 1 ||
                c->ratio[i] > 64)
                bad = "upsampling_ratios";
    }
    if (!bad && (j = json_object_get(o, "target_bandwidths"))) {
        c->nbw = (int)json_array_size(j);
        if (c->nbw < 1 || c->nbw > 16)
            bad = "target_bandwidths";
        for (int i = 0; !bad && i < c->nbw; i++)
            if ((c->bw[i] = json_number_value(json_array_get(j, (size_t)i))) <= 0)
                bad = "target_bandwidths";
    }
    json_decref(o);
    if (!bad && (c->codebook & (c->codebook - 1)))
        bad = "codebook_size (a power of two)";
    if (!bad && c->nratio * (c->nres + 2) + 4 > EN_MAX_LAYERS)
        bad = "upsampling_ratios x num_residual_layers (too many layers)";
    if (!bad) {
        cfg_finish(c);
        if (c->nq_max < 1)
            bad = "target_bandwidths (no quantizer)";
    }
    if (bad)
        snprintf(why, n, "%s: unsupported or invalid config: %s", src, bad);
    return bad ? -1 : 0;
}

/* The contract's cache path for weights = random, else the path given. */
static void weights_path(const sono_params *p, char *out, size_t n)
{
    const char *w = sono_param_str(p, "weights", "random");
    if (strcmp(w, "random")) {
        snprintf(out, n, "%s", w);
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
    snprintf(out, n, "%s/sonobench/%s-random-v2-seed%lld.safetensors", base,
             is_soundstream(p) ? "soundstream24k" : "encodec24k", sono_param_int(p, "seed", 1));
}

/* Config of the file: metadata "config", else config.json next to it, else 24 kHz. */
static int file_cfg(const est_file *f, const char *path, en_cfg *c, char *why, size_t n)
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
        cfg_24k(c);
        cfg_finish(c);
        return 0;
    }
    char *text = json_dumps(o, 0);
    int rc = text ? cfg_parse(text, side, c, why, n) : -1;
    free(text);
    json_decref(o);
    return rc;
}

static int read_dims(const sono_params *p, const en_cfg *c, int *mode, int *nq,
                     long long *samples, int *batch, char *why, size_t n)
{
    const char *m = sono_param_str(p, "mode", "roundtrip");
    *mode = !strcmp(m, "encode") ? EN_ENCODE : !strcmp(m, "decode") ? EN_DECODE : EN_ROUNDTRIP;
    double bw = sono_param_real(p, "bandwidth", 6);
    int known = 0;
    for (int i = 0; i < c->nbw; i++)
        known |= fabs(c->bw[i] - bw) <= 1e-9 * c->bw[i];
    if (!known) {
        snprintf(why, n, "bandwidth=%g is not one of the model's target_bandwidths", bw);
        return -1;
    }
    int q = (int)floor(bw * 1000.0 / (c->frame_rate * log2((double)c->codebook)));
    *nq = q < 1 ? 1 : q > c->nq_max ? c->nq_max : q;
    *samples = llround(sono_param_real(p, "seconds", 1.0) * c->rate);
    if (*samples < 1 || *samples > (1LL << 31)) {
        snprintf(why, n, "seconds=%g gives %lld samples", sono_param_real(p, "seconds", 1),
                 *samples);
        return -1;
    }
    long long S = sono_param_int(p, "streams", 1);
    if (S < 1 || S > 1024 || S * *samples > (1LL << 31)) {
        snprintf(why, n, "streams=%lld x %lld samples: need 1..1024 streams and at most 2^31 "
                 "samples in all", S, *samples);
        return -1;
    }
    *batch = (int)S;
    return 0;
}

/* The config of p's weights, read from the file's header only. */
static int cfg_of(const sono_params *p, en_cfg *cfg, char *why, size_t n)
{
    char path[4200];
    weights_path(p, path, sizeof path);
    en_cfg c;
    if (strcmp(sono_param_str(p, "weights", "random"), "random") == 0) {
        struct stat st;
        if (stat(path, &st) != 0) {
            snprintf(why, n, "weights=random: %s is not written yet (codec.encodec's "
                     "validate writes it when the harness plans the case)", path);
            return SONO_EUNSUPPORTED;
        }
        if (is_soundstream(p))
            cfg_soundstream(&c);
        else
            cfg_24k(&c);
        cfg_finish(&c);
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
    *cfg = c;
    return 0;
}

int en_supports(const sono_params *p, char *why, size_t n)
{
    en_cfg c;
    int mode, nq, batch;
    long long samples;
    if (cfg_of(p, &c, why, n))
        return SONO_EUNSUPPORTED;
    return read_dims(p, &c, &mode, &nq, &samples, &batch, why, n) ? SONO_EUNSUPPORTED : 0;
}

/* ---- weights ------------------------------------------------------------------------- */

static int get_conv(const est_file *f, const char *prefix, en_conv *cv, sono_error *err)
{
    int d0 = cv->tr ? cv->cin : cv->cout, d1 = cv->tr ? cv->cout : cv->cin;
    size_t row = (size_t)d1 * (size_t)cv->k;
    long long sw[3] = {d0, d1, cv->k}, sg[3] = {d0, 1, 1}, sb[1] = {cv->cout};
    char g[200], v[200], b[200];
    cv->w = malloc((size_t)d0 * row * sizeof(float));
    cv->b = malloc((size_t)cv->cout * sizeof(float));
    float *gv = malloc((size_t)d0 * sizeof(float));
    int rc = 0;
    if (!cv->w || !cv->b || !gv)
        rc = sono_fail(err, SONO_ENOMEM, "out of memory loading %s", prefix);
    snprintf(b, sizeof b, "%s.conv.bias", prefix);
    if (!rc)
        rc = est_get(f, b, 1, sb, cv->b, err);
    snprintf(g, sizeof g, "%s.conv.weight_g", prefix);
    snprintf(v, sizeof v, "%s.conv.weight_v", prefix);
    if (!rc && !est_has(f, g)) {
        snprintf(g, sizeof g, "%s.conv.parametrizations.weight.original0", prefix);
        snprintf(v, sizeof v, "%s.conv.parametrizations.weight.original1", prefix);
        if (!est_has(f, g)) {
            snprintf(v, sizeof v, "%s.conv.weight", prefix);
            if (est_has(f, v)) { /* already plain weights */
                rc = est_get(f, v, 3, sw, cv->w, err);
                free(gv);
                return rc;
            }
            snprintf(g, sizeof g, "%s.conv.weight_g", prefix);
        }
    }
    if (!rc && !(rc = est_get(f, g, 3, sg, gv, err)))
        rc = est_get(f, v, 3, sw, cv->w, err);
    for (int i = 0; !rc && i < d0; i++) { /* w = g v / ||v||, the norm in double */
        float *r = cv->w + (size_t)i * row;
        double ss = 0;
        for (size_t j = 0; j < row; j++)
            ss += (double)r[j] * r[j];
        double s = ss > 0 ? gv[i] / sqrt(ss) : 0;
        for (size_t j = 0; j < row; j++)
            r[j] = (float)(r[j] * s);
    }
    free(gv);
    return rc;
}

static int get_lstm(const est_file *f, const char *prefix, en_layer *l, sono_error *err)
{
    long long H = l->h, sw[2] = {4 * H, H}, sb[1] = {4 * H};
    for (int k = 0; k < l->nl; k++) {
        char nm[200];
        float *tmp = malloc((size_t)(4 * H) * sizeof(float));
        l->wih[k] = malloc((size_t)(4 * H * H) * sizeof(float));
        l->whh[k] = malloc((size_t)(4 * H * H) * sizeof(float));
        l->bias[k] = malloc((size_t)(4 * H) * sizeof(float));
        if (!tmp || !l->wih[k] || !l->whh[k] || !l->bias[k]) {
            free(tmp);
            return sono_fail(err, SONO_ENOMEM, "out of memory loading %s", prefix);
        }
        int rc;
        snprintf(nm, sizeof nm, "%s.lstm.weight_ih_l%d", prefix, k);
        if (!(rc = est_get(f, nm, 2, sw, l->wih[k], err))) {
            snprintf(nm, sizeof nm, "%s.lstm.weight_hh_l%d", prefix, k);
            rc = est_get(f, nm, 2, sw, l->whh[k], err);
        }
        if (!rc) {
            snprintf(nm, sizeof nm, "%s.lstm.bias_ih_l%d", prefix, k);
            rc = est_get(f, nm, 1, sb, l->bias[k], err);
        }
        if (!rc) {
            snprintf(nm, sizeof nm, "%s.lstm.bias_hh_l%d", prefix, k);
            rc = est_get(f, nm, 1, sb, tmp, err);
        }
        for (long long i = 0; !rc && i < 4 * H; i++)
            l->bias[k][i] += tmp[i];
        free(tmp);
        if (rc)
            return rc;
    }
    return 0;
}

/* EncodecEncoder / EncodecDecoder's module lists, with their indices as names. */
static int graph(const en_cfg *c, int dec, en_layer *l)
{
    int n = 0, nf = c->filters, sc = dec ? 1 << c->nratio : 1;
#define ADD(K, CI, CO, KS, S, D)                                                           \
    (l[n] = (en_layer){.kind = K, .c = {{CI, CO, KS, S, D, K == EN_CONVTR, 0, 0, 0}}}, n++)
    if (!dec) {
        ADD(EN_CONV, 1, nf, c->kernel, 1, 1);
        for (int r = c->nratio - 1; r >= 0; r--, sc *= 2) {
            for (int j = 0, d = 1; j < c->nres; j++, d *= c->dil_growth)
                ADD(EN_RES, sc * nf, sc * nf, c->res_kernel, 1, d);
            ADD(EN_ELU, 0, 0, 0, 1, 1);
            ADD(EN_CONV, sc * nf, 2 * sc * nf, 2 * c->ratio[r], c->ratio[r], 1);
        }
        ADD(EN_LSTM, sc * nf, sc * nf, 0, 1, 1);
        ADD(EN_ELU, 0, 0, 0, 1, 1);
        ADD(EN_CONV, sc * nf, c->hidden, c->last_kernel, 1, 1);
    } else {
        ADD(EN_CONV, c->hidden, sc * nf, c->kernel, 1, 1);
        ADD(EN_LSTM, sc * nf, sc * nf, 0, 1, 1);
        for (int r = 0; r < c->nratio; r++, sc /= 2) {
            ADD(EN_ELU, 0, 0, 0, 1, 1);
            ADD(EN_CONVTR, sc * nf, sc * nf / 2, 2 * c->ratio[r], c->ratio[r], 1);
            for (int j = 0, d = 1; j < c->nres; j++, d *= c->dil_growth)
                ADD(EN_RES, sc * nf / 2, sc * nf / 2, c->res_kernel, 1, d);
        }
        ADD(EN_ELU, 0, 0, 0, 1, 1);
        ADD(EN_CONV, nf, 1, c->last_kernel, 1, 1);
    }
#undef ADD
    for (int i = 0; i < n; i++) {
        en_layer *y = &l[i];
        if (y->kind == EN_RES) {
            int dim = y->c[0].cin, h = dim / c->compress, k = y->c[0].k, d = y->c[0].dil;
            y->c[0] = (en_conv){dim, h, k, 1, d, 0, 0, 0, 0, 0};
            y->c[1] = (en_conv){h, dim, 1, 1, 1, 0, 0, 0, 0, 0};
            y->c[2] = (en_conv){dim, dim, 1, 1, 1, 0, 0, 0, 0, 0};
        } else if (y->kind == EN_LSTM) {
            y->h = y->c[0].cin;
            y->nl = c->lstm_layers;
        }
    }
    return n;
}

static int load_weights(en_net *net, const est_file *f, sono_error *err)
{
    const en_cfg *c = &net->cfg;
    for (int d = 0; d < 2; d++) {
        net->n[d] = graph(c, d, net->l[d]);
        for (int i = 0; i < net->n[d]; i++) {
            en_layer *y = &net->l[d][i];
            char p[160];
            int rc = 0;
            snprintf(p, sizeof p, "%s.layers.%d", d ? "decoder" : "encoder", i);
            if (y->kind == EN_CONV || y->kind == EN_CONVTR)
                rc = get_conv(f, p, &y->c[0], err);
            else if (y->kind == EN_LSTM)
                rc = get_lstm(f, p, y, err);
            else if (y->kind == EN_RES) {
                char q[200];
                const char *part[3] = {"block.1", "block.3", "shortcut"};
                for (int j = 0; j < (c->shortcut ? 3 : 2) && !rc; j++) {
                    snprintf(q, sizeof q, "%s.%s", p, part[j]);
                    rc = get_conv(f, q, &y->c[j], err);
                }
            }
            if (rc)
                return rc;
        }
    }
    net->cb = calloc((size_t)net->nq, sizeof *net->cb);
    net->cbn = calloc((size_t)net->nq, sizeof *net->cbn);
    if (!net->cb || !net->cbn)
        return sono_fail(err, SONO_ENOMEM, "out of memory for codebooks");
    for (int q = 0; q < net->nq; q++) {
        long long s[2] = {c->codebook, c->hidden};
        char nm[96];
        snprintf(nm, sizeof nm, "quantizer.layers.%d.codebook.embed", q);
        net->cb[q] = malloc((size_t)(c->codebook * c->hidden) * sizeof(float));
        net->cbn[q] = malloc((size_t)c->codebook * sizeof(float));
        if (!net->cb[q] || !net->cbn[q])
            return sono_fail(err, SONO_ENOMEM, "out of memory for codebooks");
        int rc = est_get(f, nm, 2, s, net->cb[q], err);
        if (rc)
            return rc;
        for (int k = 0; k < c->codebook; k++) {
            double ss = 0;
            for (int j = 0; j < c->hidden; j++)
                ss += (double)net->cb[q][(size_t)k * c->hidden + j] *
                      net->cb[q][(size_t)k * c->hidden + j];
            net->cbn[q][k] = (float)ss;
        }
    }
    return 0;
}

/* ---- planning ------------------------------------------------------------------------ */

static long long conv_pads(const en_cfg *c, const en_conv *cv, long long L, long long *pl,
                           long long *pr)
{
    long long keff = (long long)(cv->k - 1) * cv->dil + 1, s = cv->stride, ptot = keff - s;
    long long nout = (L + s - 1) / s, extra = nout * s - L;
    *pl = c->causal ? ptot : ptot - ptot / 2;
    *pr = c->causal ? extra : ptot / 2 + extra;
    return nout;
}

static void need(size_t *m, long long v)
{
    if (v > 0 && (size_t)v > *m)
        *m = (size_t)v;
}

/* Walk both sides with lengths only, to size the buffers once. */
static void plan(en_net *net, size_t (*sf)(const en_net *, const en_layer *, int, long long))
{
    size_t act = 0, scr = 0;
    for (int d = 0; d < 2; d++) {
        if ((d == 0 && net->mode == EN_DECODE) || (d == 1 && net->mode == EN_ENCODE))
            continue;
        long long L = d ? net->frames : net->samples, pl, pr, S = net->batch;
        int C = d ? net->cfg.hidden : 1;
        need(&act, (long long)C * S * L);
        for (int i = 0; i < net->n[d]; i++) {
            const en_layer *y = &net->l[d][i];
            const en_conv *cv = &y->c[0];
            if (y->kind == EN_CONV) {
                long long lo = conv_pads(&net->cfg, cv, L, &pl, &pr);
                need(&act, (long long)cv->cin * S * (L + pl + pr));
                if (sf)
                    need(&scr, (long long)sf(net, y, 0, L));
                L = lo;
                C = cv->cout;
            } else if (y->kind == EN_CONVTR) {
                need(&act, (long long)cv->cout * S * ((L - 1) * cv->stride + cv->k));
                if (sf)
                    need(&scr, (long long)sf(net, y, 0, L));
                L *= cv->stride;
                C = cv->cout;
            } else if (y->kind == EN_RES) {
                conv_pads(&net->cfg, cv, L, &pl, &pr);
                need(&act, (long long)C * S * (L + pl + pr));
                for (int j = 0; sf && j < 3; j++)
                    need(&scr, (long long)sf(net, y, j, L));
            } else if (y->kind == EN_LSTM && sf)
                need(&scr, (long long)sf(net, y, 0, L));
            need(&act, (long long)C * S * L);
        }
    }
    if (net->mode != EN_DECODE && sf)
        need(&scr, (long long)sf(net, NULL, 0, net->frames));
    net->act = act;
    net->nscratch = scr;
}

int en_setup(en_net *net, const sono_params *p, const en_kernels *k,
             size_t (*sf)(const en_net *, const en_layer *, int, long long), sono_error *err)
{
    char path[4200], why[512];
    memset(net, 0, sizeof *net);
    net->k = k;
    nn_dtype_via_f32(p, net->dtnote, sizeof net->dtnote);
    weights_path(p, path, sizeof path);
    est_file *f = NULL;
    int rc = est_open(path, &f, err);
    if (rc) {
        if (!strcmp(sono_param_str(p, "weights", "random"), "random"))
            snprintf(err->msg + strlen(err->msg), sizeof err->msg - strlen(err->msg),
                     " (weights=random: the op's input hook writes it; run through the "
                     "harness)");
        return rc;
    }
    if (file_cfg(f, path, &net->cfg, why, sizeof why) ||
        read_dims(p, &net->cfg, &net->mode, &net->nq, &net->samples, &net->batch, why,
                  sizeof why)) {
        est_close(f);
        return sono_fail(err, SONO_EINVAL, "codec.encodec: %s", why);
    }
    net->frames = (net->samples + net->cfg.hop - 1) / net->cfg.hop;
    net->threads = (int)sono_param_int(p, "threads", 1);
    net->out_len = net->mode == EN_DECODE ? net->frames * net->cfg.hop : net->samples;
    rc = load_weights(net, f, err);
    est_close(f);
    if (rc)
        return rc;
    plan(net, sf);
    size_t D = (size_t)net->cfg.hidden, S = (size_t)net->batch, F = (size_t)net->frames * S;
    for (int i = 0; i < 5; i++)
        net->buf[i] = malloc(net->act * sizeof(float));
    net->scratch = malloc((net->nscratch ? net->nscratch : 1) * sizeof(float));
    net->emb = malloc(F * D * sizeof(float));
    net->codes = malloc((size_t)net->nq * F * sizeof(int));
    net->audio = malloc(F * (size_t)net->cfg.hop * sizeof(float));
    net->in = malloc((size_t)net->samples * S * sizeof(float));
    int H = 1;
    for (int d = 0; d < 2; d++)
        for (int i = 0; i < net->n[d]; i++)
            H = net->l[d][i].kind == EN_LSTM && net->l[d][i].h > H ? net->l[d][i].h : H;
    net->hc = malloc(2 * (size_t)H * S * sizeof(float));
    net->bytes = (5 * net->act + net->nscratch + F * D + F * (size_t)net->cfg.hop +
                  (size_t)net->samples * S + 2 * (size_t)H * S) * sizeof(float) +
                 (size_t)net->nq * F * sizeof(int);
    for (int i = 0; i < 5; i++)
        rc |= !net->buf[i];
    if (rc || !net->scratch || !net->emb || !net->codes || !net->audio || !net->in || !net->hc)
        return sono_fail(err, SONO_ENOMEM, "codec.encodec: cannot allocate %zu bytes of "
                         "buffers", net->bytes);
    return 0;
}

int en_plan_only(en_net *net, const sono_params *p,
                 size_t (*sf)(const en_net *, const en_layer *, int, long long), char *why,
                 size_t n)
{
    memset(net, 0, sizeof *net);
    if (cfg_of(p, &net->cfg, why, n) ||
        read_dims(p, &net->cfg, &net->mode, &net->nq, &net->samples, &net->batch, why, n))
        return SONO_EUNSUPPORTED;
    net->frames = (net->samples + net->cfg.hop - 1) / net->cfg.hop;
    net->threads = (int)sono_param_int(p, "threads", 1);
    net->out_len = net->mode == EN_DECODE ? net->frames * net->cfg.hop : net->samples;
    for (int d = 0; d < 2; d++)
        net->n[d] = graph(&net->cfg, d, net->l[d]);
    plan(net, sf);
    return 0;
}

size_t en_weight_floats(const en_net *net)
{
    size_t n = (size_t)net->nq * (size_t)net->cfg.codebook * ((size_t)net->cfg.hidden + 1);
    for (int d = 0; d < 2; d++)
        for (int i = 0; i < net->n[d]; i++) {
            const en_layer *y = &net->l[d][i];
            int nc = y->kind == EN_RES ? (net->cfg.shortcut ? 3 : 2)
                     : y->kind == EN_CONV || y->kind == EN_CONVTR ? 1 : 0;
            for (int j = 0; j < nc; j++)
                n += (size_t)y->c[j].cin * (size_t)y->c[j].cout * (size_t)y->c[j].k +
                     (size_t)y->c[j].cout;
            if (y->kind == EN_LSTM)
                n += (size_t)y->nl * (8 * (size_t)y->h * (size_t)y->h + 4 * (size_t)y->h);
        }
    return n;
}

void en_free(en_net *net)
{
    for (int d = 0; d < 2; d++)
        for (int i = 0; i < net->n[d]; i++) {
            en_layer *y = &net->l[d][i];
            for (int j = 0; j < 3; j++) {
                free(y->c[j].w);
                free(y->c[j].b);
            }
            for (int k = 0; k < 8; k++) {
                free(y->wih[k]);
                free(y->whh[k]);
                free(y->bias[k]);
            }
        }
    for (int q = 0; q < net->nq; q++) {
        if (net->cb)
            free(net->cb[q]);
        if (net->cbn)
            free(net->cbn[q]);
    }
    free(net->cb);
    free(net->cbn);
    for (int i = 0; i < 5; i++)
        free(net->buf[i]);
    free(net->scratch);
    free(net->emb);
    free(net->codes);
    free(net->audio);
    free(net->in);
    free(net->hc);
    en_stream_free(net);
}

/* ---- forward ------------------------------------------------------------------------- */

/* Reflect without the edge; an input no longer than the larger pad is extended by zeros
 * first, cut again after (EncodecConv1d._pad1d). */
static void pad(const float *x, int C, long long L, long long pl, long long pr, float *y)
{
    long long mp = pl > pr ? pl : pr, ext = L <= mp ? mp + 1 : L, lp = L + pl + pr;
    for (int c = 0; c < C; c++) {
        const float *s = x + (size_t)c * (size_t)L;
        float *o = y + (size_t)c * (size_t)lp;
        memcpy(o + pl, s, (size_t)L * sizeof(float));
        for (long long i = 0; i < lp; i += i + 1 == pl ? L + 1 : 1) {
            long long j = i - pl;
            j = j < 0 ? -j : j;
            j = j >= ext ? 2 * (ext - 1) - j : j;
            o[i] = j < L ? s[j] : 0.0f;
        }
    }
}

void en_elu_net(const en_net *net, const float *x, float *y, size_t n)
{
    if (net->k && net->k->elu) {
        net->k->elu(x, y, n);
        return;
    }
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] <= 0.0f ? expm1f(x[i]) : x[i];
}

static void elu(const en_net *net, float *x, size_t n)
{
    en_elu_net(net, x, x, n);
}

/* conv of x [cin][S][L] into y; P is padding space (each clip's row padded on its own).
 * Returns the output length. */
static long long conv_f(en_net *net, const en_conv *cv, const float *x, long long L,
                        float *P, float *y, int elu, int acc)
{
    long long pl, pr, lo = conv_pads(&net->cfg, cv, L, &pl, &pr);
    if (pl || pr) {
        pad(x, cv->cin * net->batch, L, pl, pr, P);
        x = P;
    }
    if (elu || acc)
        net->k->conv_fused(cv, x, L + pl + pr, net->batch, y, lo, net->scratch, elu, acc);
    else
        net->k->conv(cv, x, L + pl + pr, net->batch, y, lo, net->scratch);
    return lo;
}

static long long conv(en_net *net, const en_conv *cv, const float *x, long long L, float *P,
                      float *y)
{
    return conv_f(net, cv, x, L, P, y, 0, 0);
}

static long long convtr(en_net *net, const en_conv *cv, const float *x, long long L, float *P,
                        float *y)
{
    long long full = (L - 1) * cv->stride + cv->k, ptot = cv->k - cv->stride;
    long long pr = net->cfg.causal ? (long long)ceil((double)ptot * net->cfg.trim_right)
                                   : ptot / 2,
              pl = ptot - pr, lo = full - ptot;
    net->k->convtr(cv, x, L, net->batch, P, net->scratch);
    for (int o = 0; o < cv->cout * net->batch; o++) /* rows of every clip */
        memcpy(y + (size_t)o * (size_t)lo, P + (size_t)o * (size_t)full + pl,
               (size_t)lo * sizeof(float));
    return lo;
}

/* x [H][S*T] (clip-major within a channel) to a [S*T][H], the layers, back with the skip;
 * no layers (num_lstm_layers 0, SoundStream) is the identity. */
static void lstm(en_net *net, const en_layer *l, const float *x, long long T, float *a,
                 float *b, float *y)
{
    int H = l->h;
    long long ST = T * net->batch;
    for (int c = 0; c < H; c++)
        for (long long t = 0; t < ST; t++)
            a[(size_t)t * H + c] = x[(size_t)c * (size_t)ST + (size_t)t];
    for (int k = 0; k < l->nl; k++) {
        memset(net->hc, 0, 2 * (size_t)H * (size_t)net->batch * sizeof(float));
        net->k->lstm(l, k, a, T, net->batch, b, net->hc, net->scratch);
        float *s = a;
        a = b;
        b = s;
    }
    for (int c = 0; c < H; c++)
        for (long long t = 0; t < ST; t++)
            y[(size_t)c * (size_t)ST + (size_t)t] =
                (l->nl ? a[(size_t)t * H + c] : 0.0f) + x[(size_t)c * (size_t)ST + (size_t)t];
}

/* Side d over the activation in buf[0] ([C][S][L]); the result is left in buf[0]. */
static long long forward(en_net *net, int d, int C, long long L)
{
    float **B = net->buf; /* 0: x, 1: y, 2: padding, 3 and 4: residual temporaries */
    for (int i = 0; i < net->n[d]; i++) {
        const en_layer *y = &net->l[d][i];
        size_t n = (size_t)C * (size_t)net->batch * (size_t)L;
        switch (y->kind) {
        case EN_ELU:
            elu(net, B[0], n);
            continue;
        case EN_CONV:
            L = conv(net, &y->c[0], B[0], L, B[2], B[1]);
            C = y->c[0].cout;
            break;
        case EN_CONVTR:
            L = convtr(net, &y->c[0], B[0], L, B[2], B[1]);
            C = y->c[0].cout;
            break;
        case EN_RES:
            en_elu_net(net, B[0], B[3], n);
            if (net->k->conv_fused) { /* shortcut(x) first, block.3 added onto it */
                conv_f(net, &y->c[0], B[3], L, B[2], B[4], 1, 0);
                if (net->cfg.shortcut)
                    conv(net, &y->c[2], B[0], L, B[2], B[1]);
                else
                    memcpy(B[1], B[0], n * sizeof(float));
                conv_f(net, &y->c[1], B[4], L, B[2], B[1], 0, 1);
                break;
            }
            conv(net, &y->c[0], B[3], L, B[2], B[4]);
            elu(net, B[4], (size_t)y->c[0].cout * (size_t)net->batch * (size_t)L);
            conv(net, &y->c[1], B[4], L, B[2], B[3]);
            if (net->cfg.shortcut)
                conv(net, &y->c[2], B[0], L, B[2], B[1]);
            else
                memcpy(B[1], B[0], n * sizeof(float));
            for (size_t j = 0; j < n; j++)
                B[1][j] += B[3][j];
            break;
        case EN_LSTM:
            lstm(net, y, B[0], L, B[3], B[4], B[1]);
            break;
        }
        float *s = B[0];
        B[0] = B[1];
        B[1] = s;
    }
    return L;
}

int en_load(en_net *net, const sono_buf *in, sono_error *err)
{
    long long S = net->batch, F = net->frames;
    if (net->mode == EN_DECODE) {
        long long n = (long long)net->nq * F * S;
        if (in->dtype != SONO_I32 || sono_buf_elems(in) != n)
            return sono_fail(err, SONO_EINVAL, "codec.encodec: input must be i32 codes "
                             "[%lld, %d, %lld] (streams, n_q, frames)", S, net->nq, F);
        const int32_t *c = in->data;
        net->src = c;
        net->pending = 0;
        for (long long i = 0; i < n; i++) {
            if (c[i] == -1 && net->streams) { /* checked by push as it arrives */
                net->pending = 1;
                continue;
            }
            if (c[i] < 0 || c[i] >= net->cfg.codebook)
                return sono_fail(err, SONO_EINVAL, "codec.encodec: code %d at %lld is "
                                 "outside [0, %d)", c[i], i, net->cfg.codebook);
        }
        /* [S][nq][F] in, [nq][S][F] here: each stage's codes of all clips in one row */
        for (long long s = 0; s < S; s++)
            for (int q = 0; q < net->nq; q++)
                memcpy(net->codes + ((size_t)q * (size_t)S + (size_t)s) * (size_t)F,
                       c + ((size_t)s * (size_t)net->nq + (size_t)q) * (size_t)F,
                       (size_t)F * sizeof(int));
        return 0;
    }
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != net->samples * S)
        return sono_fail(err, SONO_EINVAL, "codec.encodec: input must be f32 [%lld, %lld] "
                         "(streams, samples)", S, net->samples);
    memcpy(net->in, in->data, (size_t)(net->samples * S) * sizeof(float));
    net->src = in->data;
    return 0;
}

/* The S clips' frames as F = S * frames rows throughout: the RVQ is per frame. */
static void encode(en_net *net)
{
    int D = net->cfg.hidden, K = net->cfg.codebook;
    long long F = net->frames * net->batch;
    memcpy(net->buf[0], net->in, (size_t)(net->samples * net->batch) * sizeof(float));
    forward(net, 0, 1, net->samples); /* -> [D][F] */
    for (int j = 0; j < D; j++)
        for (long long t = 0; t < F; t++)
            net->emb[(size_t)t * D + j] = net->buf[0][(size_t)j * (size_t)F + (size_t)t];
    for (int q = 0; q < net->nq; q++) {
        int *codes = net->codes + (size_t)q * (size_t)F;
        net->k->vq(net->cb[q], net->cbn[q], K, D, net->emb, F, codes, net->scratch);
        for (long long t = 0; t < F; t++) {
            const float *e = net->cb[q] + (size_t)codes[t] * D;
            float *r = net->emb + (size_t)t * D;
            for (int j = 0; j < D; j++)
                r[j] -= e[j];
        }
    }
}

static void decode(en_net *net)
{
    int D = net->cfg.hidden;
    long long F = net->frames * net->batch;
    float *x = net->buf[0];
    memset(x, 0, (size_t)D * (size_t)F * sizeof(float));
    for (int q = 0; q < net->nq; q++)
        for (long long t = 0; t < F; t++) {
            const float *e = net->cb[q] + (size_t)net->codes[(size_t)q * F + t] * D;
            for (int j = 0; j < D; j++)
                x[(size_t)j * (size_t)F + (size_t)t] += e[j];
        }
    long long L = forward(net, 1, D, net->frames);
    memcpy(net->audio, net->buf[0], (size_t)(L * net->batch) * sizeof(float));
}

int en_run(en_net *net)
{
    if (net->pending) /* codes of -1 that load let through for a stream */
        return SONO_EINVAL;
    if (net->mode != EN_DECODE)
        encode(net);
    if (net->mode != EN_ENCODE)
        decode(net);
    return 0;
}

int en_store(en_net *net, sono_buf *out, sono_error *err)
{
    size_t S = (size_t)net->batch, F = (size_t)net->frames, nq = (size_t)net->nq;
    if (net->mode == EN_ENCODE) {
        size_t need = nq * F * S * sizeof(int32_t);
        if (out->dtype != SONO_I32 || out->nbytes < need)
            return sono_fail(err, SONO_EINVAL, "codec.encodec: output must be i32 [%zu, %d, "
                             "%lld] (streams, n_q, frames)", S, net->nq, net->frames);
        int32_t *o = out->data;
        for (size_t s = 0; s < S; s++) /* [nq][S][F] here, [S][nq][F] out */
            for (size_t q = 0; q < nq; q++)
                memcpy(o + (s * nq + q) * F, net->codes + (q * S + s) * F, F * sizeof(int));
        return 0;
    }
    size_t len = (size_t)net->out_len, full = F * (size_t)net->cfg.hop;
    if (out->dtype != SONO_F32 || out->nbytes < len * S * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "codec.encodec: output must be f32 [%zu, %zu] "
                         "(streams, samples)", S, len);
    for (size_t s = 0; s < S; s++) /* each clip cut to its input length (roundtrip) */
        memcpy((float *)out->data + s * len, net->audio + s * full, len * sizeof(float));
    return 0;
}
