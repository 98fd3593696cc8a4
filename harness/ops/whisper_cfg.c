/* whisper_cfg.c — whisper.encoder's dims from its params, the weights file's path, the
 * check of a file's header against the tensors the dims need (names, shapes, dtypes: only
 * the header is read, a real checkpoint is tens of MB) and the random weights' writer. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "st_write.h"
#include "whisper.h"

int sono_wh_dims_get(const sono_params *p, sono_wh_dims *d, sono_error *err)
{
    static const struct { const char *name; int d, layers, heads; } models[] = {
        {"tiny", 384, 4, 6}, {"base", 512, 6, 8}, {"small", 768, 12, 12}};
    const char *m = sono_param_str(p, "model", "tiny");
    *d = (sono_wh_dims){.model = m};
    int found = 0;
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
        if (strcmp(m, models[i].name) == 0) {
            d->d = models[i].d;
            d->layers = models[i].layers;
            d->heads = models[i].heads;
            found = 1;
        }
    if (!found && strcmp(m, "custom") == 0) {
        d->d = (int)sono_param_int(p, "d_model", 64);
        d->heads = (int)sono_param_int(p, "heads", 2);
        d->layers = 2;
        found = 1;
    }
    if (!found)
        return sono_fail(err, SONO_EINVAL, "whisper.encoder: model=%s; expected tiny, base, "
                         "small or custom", m);
    long long L = sono_param_int(p, "layers", 0);
    if (L > 0 && strcmp(m, "custom") != 0 && L > d->layers)
        return sono_fail(err, SONO_EINVAL, "whisper.encoder: layers=%lld, but model=%s has "
                         "%d", L, m, d->layers);
    if (L > 0)
        d->layers = (int)L;
    if (d->heads < 1 || d->d < 1 || d->d % d->heads)
        return sono_fail(err, SONO_EINVAL, "whisper.encoder: d_model=%d is not a multiple "
                         "of heads=%d", d->d, d->heads);
    d->dh = d->d / d->heads;
    d->ffn = 4 * d->d;
    d->n_mels = (int)sono_param_int(p, "n_mels", 80);
    if (d->n_mels != 80 && d->n_mels != 128)
        return sono_fail(err, SONO_EINVAL, "whisper.encoder: n_mels=%d; Whisper's front end "
                         "has 80 or 128", d->n_mels);
    d->frames = sono_param_int(p, "frames", 3000);
    if (d->frames < 2 || d->frames > 3000 || d->frames % 2)
        return sono_fail(err, SONO_EINVAL, "whisper.encoder: frames=%lld must be even, 2 to "
                         "3000 (30 s of log-mel)", d->frames);
    d->T = d->frames / 2;
    d->batch = sono_param_int(p, "batch", 1);
    return 0;
}

int sono_wh_weights_path(const sono_params *p, const sono_wh_dims *d, char *path,
                         size_t n, sono_error *err)
{
    const char *w = sono_param_str(p, "weights", "random");
    if (strcmp(w, "random") != 0) {
        snprintf(path, n, "%s", w);
        return 0;
    }
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char base[4096];
    if (xdg && *xdg)
        snprintf(base, sizeof base, "%s", xdg);
    else if (home && *home)
        snprintf(base, sizeof base, "%s/.cache", home);
    else
        snprintf(base, sizeof base, "build/cache");
    int k = snprintf(path, n, "%s/sonobench/whisper-enc-d%d-m%d-l%d-random-v1-seed%lld"
                     ".safetensors", base, d->d, d->n_mels, d->layers,
                     sono_param_int(p, "seed", 1));
    if (k < 0 || (size_t)k >= n)
        return sono_fail(err, SONO_EINVAL, "weights cache path too long under %s", base);
    return 0;
}

/* The tensors of dims d, in the order the random file lists them. */
static int tensors(const sono_wh_dims *d, const char *pre, sono_st_list *l)
{
    long long D = d->d, F = d->ffn;
    double lin = sqrt(3.0 / D), lin4 = sqrt(3.0 / F), b = 0.02;
    char n[112];
#define T(suffix, nd, a0, a1, a2, a, g)                                                  \
    (snprintf(n, sizeof n, "%s%s", pre, suffix), sono_st_push(l, n, nd, a0, a1, a2, a, g))
    int rc = T("conv1.weight", 3, D, d->n_mels, 3, sqrt(3.0 / (3.0 * d->n_mels)), 0) ||
             T("conv1.bias", 1, D, 0, 0, b, 0) ||
             T("conv2.weight", 3, D, D, 3, sqrt(3.0 / (3.0 * D)), 0) ||
             T("conv2.bias", 1, D, 0, 0, b, 0) ||
             T("embed_positions.weight", 2, 1500, D, 0, 1.0, 0);
    for (int i = 0; !rc && i < d->layers; i++) {
        char s[112];
#define LT(suffix, nd, a0, a1, a, g)                                                     \
    (snprintf(s, sizeof s, "layers.%d.%s", i, suffix), T(s, nd, a0, a1, 0, a, g))
        rc = LT("self_attn.k_proj.weight", 2, D, D, lin, 0) ||
             LT("self_attn.v_proj.weight", 2, D, D, lin, 0) ||
             LT("self_attn.v_proj.bias", 1, D, 0, b, 0) ||
             LT("self_attn.q_proj.weight", 2, D, D, lin, 0) ||
             LT("self_attn.q_proj.bias", 1, D, 0, b, 0) ||
             LT("self_attn.out_proj.weight", 2, D, D, lin, 0) ||
             LT("self_attn.out_proj.bias", 1, D, 0, b, 0) ||
             LT("self_attn_layer_norm.weight", 1, D, 0, 0, 1.0) ||
             LT("self_attn_layer_norm.bias", 1, D, 0, b, 0) ||
             LT("fc1.weight", 2, F, D, lin, 0) || LT("fc1.bias", 1, F, 0, b, 0) ||
             LT("fc2.weight", 2, D, F, lin4, 0) || LT("fc2.bias", 1, D, 0, b, 0) ||
             LT("final_layer_norm.weight", 1, D, 0, 0, 1.0) ||
             LT("final_layer_norm.bias", 1, D, 0, b, 0);
#undef LT
    }
    if (!rc)
        rc = T("layer_norm.weight", 1, D, 0, 0, 0, 1.0) || T("layer_norm.bias", 1, D, 0, 0, b, 0);
#undef T
    return rc ? SONO_ENOMEM : 0;
}

int sono_wh_weights_write(const char *path, const sono_wh_dims *d, unsigned long long seed,
                          sono_error *err)
{
    sono_st_list l = {0};
    int rc = tensors(d, "model.encoder.", &l);
    if (rc)
        rc = sono_fail(err, rc, "%s: out of memory listing tensors", path);
    else
        rc = sono_st_write_random(path, &l, NULL, seed, err);
    free(l.t);
    return rc;
}

/* The header of a safetensors file as JSON (only the header is read). */
static int read_header(const char *path, json_t **out, sono_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return sono_fail(err, SONO_ENOTFOUND, "weights=%s: cannot open (%s)", path,
                         strerror(errno));
    unsigned char b[8];
    uint64_t hn = 0;
    char *hdr = NULL;
    int rc = 0;
    if (fread(b, 1, 8, f) != 8)
        rc = sono_fail(err, SONO_EPARSE, "%s: truncated (no header length)", path);
    for (int i = 7; !rc && i >= 0; i--)
        hn = hn << 8 | b[i];
    if (!rc && (hn > (1u << 28) || !(hdr = malloc(hn + 1)) || fread(hdr, 1, hn, f) != hn))
        rc = sono_fail(err, SONO_EPARSE, "%s: truncated or oversized header (%llu bytes)",
                       path, (unsigned long long)hn);
    fclose(f);
    if (!rc) {
        json_error_t je;
        hdr[hn] = 0;
        *out = json_loads(hdr, 0, &je);
        if (!json_is_object(*out)) {
            json_decref(*out);
            *out = NULL;
            rc = sono_fail(err, SONO_EPARSE, "%s: header is not a JSON object (%s)", path,
                           je.text);
        }
    }
    free(hdr);
    return rc;
}

static const char *find_prefix(json_t *h)
{
    static const char *const pre[] = {"model.encoder.", "encoder.", ""};
    for (int i = 0; i < 3; i++) {
        char n[64];
        snprintf(n, sizeof n, "%sconv1.weight", pre[i]);
        if (json_object_get(h, n))
            return pre[i];
    }
    return NULL;
}

int sono_wh_prefix(const char *path, char *prefix, size_t n, sono_error *err)
{
    json_t *h = NULL;
    int rc = read_header(path, &h, err);
    const char *pre = rc ? NULL : find_prefix(h);
    if (!rc && !pre)
        rc = sono_fail(err, SONO_EINVAL, "%s: tensor 'model.encoder.conv1.weight' is missing "
                       "(nor encoder.conv1.weight or conv1.weight: not a Whisper checkpoint)",
                       path);
    if (!rc)
        snprintf(prefix, n, "%s", pre);
    json_decref(h);
    return rc;
}

static int is_float(const char *t)
{
    return t && (!strcmp(t, "F32") || !strcmp(t, "F16") || !strcmp(t, "BF16") ||
                 !strcmp(t, "F64"));
}

/* Every tensor of d in h with its shape; embed_positions needs T rows or more. */
static int check_header(const char *path, json_t *h, const sono_wh_dims *d, sono_error *err)
{
    const char *pre = find_prefix(h);
    if (!pre)
        return sono_fail(err, SONO_EINVAL, "%s: tensor 'model.encoder.conv1.weight' is "
                         "missing (nor encoder.conv1.weight or conv1.weight: not a Whisper "
                         "checkpoint)", path);
    sono_st_list l = {0};
    int rc = tensors(d, pre, &l);
    for (int i = 0; !rc && i < l.n; i++) {
        const sono_st_tensor *t = &l.t[i];
        json_t *e = json_object_get(h, t->name), *sh = json_object_get(e, "shape");
        char want[64], got[64] = "";
        int pos = strstr(t->name, "embed_positions") != NULL, ok = json_is_array(sh) &&
                  (int)json_array_size(sh) == t->ndim;
        snprintf(want, sizeof want, t->ndim == 1 ? "%lld" : t->ndim == 2 ? "%lld, %lld"
                 : "%lld, %lld, %lld", pos ? d->T : t->shape[0], t->shape[1], t->shape[2]);
        if (pos)
            snprintf(want, sizeof want, ">= %lld, %lld", d->T, t->shape[1]);
        for (size_t j = 0; json_is_array(sh) && j < json_array_size(sh); j++) {
            long long v = json_integer_value(json_array_get(sh, j));
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", j ? ", " : "", v);
            if (ok && (int)j < t->ndim)
                ok = pos && j == 0 ? v >= d->T : v == t->shape[j];
        }
        if (!e)
            rc = sono_fail(err, SONO_EINVAL, "%s: tensor '%s' is missing (model=%s, %d "
                           "layers)", path, t->name, d->model, d->layers);
        else if (!ok)
            rc = sono_fail(err, SONO_EINVAL, "%s: tensor '%s' has shape [%s], model=%s "
                           "expects [%s]", path, t->name, got, d->model, want);
        else if (!is_float(json_string_value(json_object_get(e, "dtype"))))
            rc = sono_fail(err, SONO_EINVAL, "%s: tensor '%s' has dtype %s; weights must be "
                           "F32, F16, BF16 or F64", path, t->name,
                           json_string_value(json_object_get(e, "dtype")));
    }
    free(l.t);
    return rc;
}

int sono_wh_weights_ready(const sono_params *p, const sono_wh_dims *d, sono_error *err)
{
    char path[4096];
    int rc = sono_wh_weights_path(p, d, path, sizeof path, err);
    if (rc)
        return rc;
    if (strcmp(sono_param_str(p, "weights", "random"), "random") == 0) {
        sono_st_list l = {0};
        if ((rc = tensors(d, "model.encoder.", &l)) == 0)
            rc = sono_st_ensure_random(path, &l, NULL,
                                       (unsigned long long)sono_param_int(p, "seed", 1), err);
        else
            rc = sono_fail(err, rc, "%s: out of memory listing tensors", path);
        free(l.t);
        return rc;
    }
    json_t *h = NULL;
    if ((rc = read_header(path, &h, err)))
        return rc;
    rc = check_header(path, h, d, err);
    json_decref(h);
    return rc;
}
