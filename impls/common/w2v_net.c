/* w2v_net.c — wav2vec2.features' params, weights file and tensors for the impls (cpu,
 * blas, cuda): the file read with the impls' safetensors reader (encodec_st.c), hashed
 * with the harness's SHA-256 (compiled in: a plugin links nothing of the harness) so a
 * record names exactly the weights it ran. */
#include "w2v_net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../harness/core/sha256.h"
#include "encodec_st.h"
#include "nndtype.h"

const int w2v_k[W2V_LAYERS] = {10, 3, 3, 3, 3, 2, 2};
const int w2v_s[W2V_LAYERS] = {5, 2, 2, 2, 2, 2, 2};

static void cache_path(const sono_params *p, char *out, size_t n)
{
    const char *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
    char base[4096];
    if (x && *x)
        snprintf(base, sizeof base, "%s", x);
    else if (h && *h)
        snprintf(base, sizeof base, "%s/.cache", h);
    else
        snprintf(base, sizeof base, "build/cache");
    snprintf(out, n, "%s/sonobench/wav2vec2-%s-c%lld-random-v1-seed%lld.safetensors", base,
             sono_param_str(p, "norm", "group"), sono_param_int(p, "channels", 512),
             sono_param_int(p, "seed", 1));
}

int w2v_shape(const sono_params *p, w2v_net *n, char *why, size_t len)
{
    memset(n, 0, sizeof *n);
    nn_dtype_via_f32(p, n->dtnote, sizeof n->dtnote);
    double sec = sono_param_real(p, "seconds", 10);
    long long samples = llround(sec * 16000), batch = sono_param_int(p, "batch", 1),
              C = sono_param_int(p, "channels", 512);
    if (samples < 400 || batch < 1 || C < 1 || samples * batch > (1LL << 31)) {
        snprintf(why, len, "seconds=%g x batch=%lld, channels=%lld out of range", sec, batch,
                 C);
        return SONO_EUNSUPPORTED;
    }
    n->samples = (size_t)samples;
    n->batch = (size_t)batch;
    n->C = (size_t)C;
    n->layer_norm = strcmp(sono_param_str(p, "norm", "group"), "layer") == 0;
    n->len[0] = n->samples;
    for (int l = 0; l < W2V_LAYERS; l++)
        n->len[l + 1] = (n->len[l] - (size_t)w2v_k[l]) / (size_t)w2v_s[l] + 1;
    n->frames = n->len[W2V_LAYERS];
    const char *w = sono_param_str(p, "weights", "random");
    if (strcmp(w, "random"))
        snprintf(n->path, sizeof n->path, "%s", w);
    else
        cache_path(p, n->path, sizeof n->path);
    struct stat st;
    if (!strcmp(w, "random") && stat(n->path, &st) != 0) {
        snprintf(why, len, "weights=random: %s is not written yet (wav2vec2.features writes "
                 "it when it validates the params; run through the harness)", n->path);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

void w2v_free(w2v_net *n)
{
    for (int l = 0; l < W2V_LAYERS; l++) {
        free(n->w[l]);
        free(n->gamma[l]);
        free(n->beta[l]);
        n->w[l] = n->gamma[l] = n->beta[l] = NULL;
    }
}

/* The file's SHA-256, cached for the last path, size and mtime: a worker serves many
 * cases of one file, and a real checkpoint is hundreds of MB. */
static int hash_file(const char *path, char hex[65], sono_error *err)
{
    static char last[4096], last_hex[65];
    static long long last_size, last_mtime;
    struct stat st;
    if (stat(path, &st) != 0)
        return sono_fail(err, SONO_ENOTFOUND, "%s: cannot stat the weights file", path);
    if (!strcmp(last, path) && last_size == (long long)st.st_size &&
        last_mtime == (long long)st.st_mtime) {
        memcpy(hex, last_hex, 65);
        return 0;
    }
    FILE *f = fopen(path, "rb");
    if (!f)
        return sono_fail(err, SONO_EIO, "%s: cannot read the weights file", path);
    sono_sha256 c;
    sono_sha256_init(&c);
    unsigned char buf[1 << 16], d[32];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0)
        sono_sha256_update(&c, buf, k);
    fclose(f);
    sono_sha256_final(&c, d);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    snprintf(last, sizeof last, "%s", path);
    memcpy(last_hex, hex, 65);
    last_size = (long long)st.st_size;
    last_mtime = (long long)st.st_mtime;
    return 0;
}

static const char *prefix_of(const est_file *f)
{
    static const char *const pre[] = {"", "wav2vec2.", "hubert.", "wavlm.", NULL};
    for (int i = 0; pre[i]; i++) {
        char name[160];
        snprintf(name, sizeof name, "%sfeature_extractor.conv_layers.0.conv.weight", pre[i]);
        if (est_has(f, name))
            return pre[i];
    }
    return "";
}

static int get(const est_file *f, const char *pre, int l, const char *what, int ndim,
               const long long *shape, float **dst, sono_error *err)
{
    char name[160];
    snprintf(name, sizeof name, "%sfeature_extractor.conv_layers.%d.%s", pre, l, what);
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    if (!(*dst = malloc(n * sizeof(float))))
        return sono_fail(err, SONO_ENOMEM, "out of memory for %s", name);
    return est_get(f, name, ndim, shape, *dst, err);
}

int w2v_load(w2v_net *n, sono_error *err)
{
    est_file *f;
    int rc = est_open(n->path, &f, err);
    if (rc)
        return rc;
    const char *pre = prefix_of(f);
    long long C = (long long)n->C;
    char bias[160];
    snprintf(bias, sizeof bias, "%sfeature_extractor.conv_layers.0.conv.bias", pre);
    if (est_has(f, bias)) {
        est_close(f);
        return sono_fail(err, SONO_EUNSUPPORTED, "%s: tensor '%s' is there: a conv_bias = "
                         "true model, which wav2vec2.features does not define", n->path, bias);
    }
    for (int l = 0; l < W2V_LAYERS && !rc; l++) {
        long long shape[3] = {C, l ? C : 1, w2v_k[l]};
        rc = get(f, pre, l, "conv.weight", 3, shape, &n->w[l], err);
        if (!rc && (l == 0 || n->layer_norm))
            rc = get(f, pre, l, "layer_norm.weight", 1, &C, &n->gamma[l], err);
        if (!rc && (l == 0 || n->layer_norm))
            rc = get(f, pre, l, "layer_norm.bias", 1, &C, &n->beta[l], err);
    }
    est_close(f);
    if (!rc)
        rc = hash_file(n->path, n->sha256, err);
    if (rc)
        w2v_free(n);
    return rc;
}

int w2v_describe(const w2v_net *n, char *buf, size_t len)
{
    return snprintf(buf, len, "weights: %s; sha256: %s; norm: %s; C=%zu", n->path, n->sha256,
                    n->layer_norm ? "layer" : "group", n->C);
}
