/* dac_cfg.c — codec.dac's config (DacConfig: dac_44khz's values, the JSON a weights file
 * carries), where weights = random lives and its tensors (DacModel's names and shapes,
 * seeded), and the multiply-add counts of the cost model (dac.h has the definitions). */
#include "dac.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref/st64.h"
#include "st_write.h"

static void derive(sono_dac_config *c)
{
    c->hop = 1;
    for (int i = 0; i < c->nratios; i++)
        c->hop *= c->ratios[i];
    c->latent = c->enc_dim << c->nratios;
}

void sono_dac_config_44k(sono_dac_config *c, int enc_dim, int dec_dim)
{
    *c = (sono_dac_config){.sampling_rate = 44100, .enc_dim = enc_dim, .dec_dim = dec_dim,
                           .nratios = 4, .ratios = {2, 4, 8, 8}, .n_codebooks = 9,
                           .codebook_size = 1024, .codebook_dim = 8};
    derive(c);
}

static int get_int(json_t *o, const char *key, int lo, int hi, int *v, const char *what,
                   sono_error *err)
{
    json_t *j = json_object_get(o, key);
    if (!j || json_is_null(j))
        return 0;
    if (!json_is_integer(j) || json_integer_value(j) < lo || json_integer_value(j) > hi)
        return sono_fail(err, SONO_EINVAL, "%s: config key %s must be an integer in "
                         "[%d, %d]", what, key, lo, hi);
    *v = (int)json_integer_value(j);
    return 0;
}

int sono_dac_config_parse(const char *text, const char *what, sono_dac_config *c,
                          sono_error *err)
{
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    sono_dac_config_44k(c, 64, 1536);
    if (!json_is_object(o)) {
        json_decref(o);
        return sono_fail(err, SONO_EPARSE, "%s: config is not a JSON object (%s)", what,
                         je.text);
    }
    int rc = get_int(o, "sampling_rate", 1000, 384000, &c->sampling_rate, what, err);
    if (!rc)
        rc = get_int(o, "encoder_hidden_size", 1, 4096, &c->enc_dim, what, err);
    if (!rc)
        rc = get_int(o, "decoder_hidden_size", 2, 65536, &c->dec_dim, what, err);
    if (!rc)
        rc = get_int(o, "n_codebooks", 1, 64, &c->n_codebooks, what, err);
    if (!rc)
        rc = get_int(o, "codebook_size", 2, 1 << 20, &c->codebook_size, what, err);
    if (!rc)
        rc = get_int(o, "codebook_dim", 1, 1024, &c->codebook_dim, what, err);
    json_t *r = json_object_get(o, "downsampling_ratios"), *v;
    size_t i;
    if (!rc && r) {
        if (!json_is_array(r) || json_array_size(r) < 1 ||
            json_array_size(r) > SONO_DAC_MAX_RATIOS)
            rc = sono_fail(err, SONO_EINVAL, "%s: downsampling_ratios must be 1 to %d "
                           "integers", what, SONO_DAC_MAX_RATIOS);
        else {
            c->nratios = (int)json_array_size(r);
            json_array_foreach(r, i, v) {
                if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                    json_integer_value(v) > 64) {
                    rc = sono_fail(err, SONO_EINVAL, "%s: downsampling_ratios must be "
                                   "integers in [1, 64]", what);
                    break;
                }
                c->ratios[i] = (int)json_integer_value(v);
            }
        }
    }
    json_decref(o);
    if (rc)
        return rc;
    if ((long long)c->enc_dim << c->nratios > 65536)
        return sono_fail(err, SONO_EINVAL, "%s: encoder_hidden_size %d * 2^%d is over 65536",
                         what, c->enc_dim, c->nratios);
    if (c->dec_dim >> c->nratios < 1)
        return sono_fail(err, SONO_EINVAL, "%s: decoder_hidden_size %d is under 2^%d", what,
                         c->dec_dim, c->nratios);
    derive(c);
    return 0;
}

int sono_dac_weights_path(const sono_params *p, char *path, size_t n, sono_error *err)
{
    const char *w = sono_param_str(p, "weights", "random");
    if (strcmp(w, "random") != 0) {
        snprintf(path, n, "%s", w);
        return 0;
    }
    char name[160];
    snprintf(name, sizeof name, "dac44k-e%lld-d%lld-random-v1-seed%lld.safetensors",
             sono_param_int(p, "enc_dim", 64), sono_param_int(p, "dec_dim", 1536),
             sono_param_int(p, "seed", 1));
    return sono_st_cache_path(name, path, n, err);
}

/* The config of a file: its metadata, else config.json beside it, else dac_44khz's. */
static int file_config(const char *path, sono_dac_config *c, sono_error *err)
{
    sono_st *st = NULL;
    int rc = sono_st_open(path, &st, err);
    if (rc)
        return rc;
    const char *meta = sono_st_meta(st, "config");
    if (meta)
        rc = sono_dac_config_parse(meta, path, c, err);
    else {
        char side[4200];
        const char *slash = strrchr(path, '/');
        snprintf(side, sizeof side, "%.*sconfig.json", slash ? (int)(slash - path + 1) : 0,
                 path);
        json_error_t je;
        json_t *sj = json_load_file(side, 0, &je);
        char *text = sj ? json_dumps(sj, 0) : NULL;
        if (text)
            rc = sono_dac_config_parse(text, side, c, err);
        else
            sono_dac_config_44k(c, 64, 1536);
        free(text);
        json_decref(sj);
    }
    sono_st_close(st);
    return rc;
}

int sono_dac_params_config(const sono_params *p, int gen, sono_dac_config *c,
                           sono_error *err)
{
    char path[4096];
    int rc = sono_dac_weights_path(p, path, sizeof path, err);
    if (rc)
        return rc;
    if (strcmp(sono_param_str(p, "weights", "random"), "random") == 0) {
        sono_dac_config_44k(c, (int)sono_param_int(p, "enc_dim", 64),
                            (int)sono_param_int(p, "dec_dim", 1536));
        return gen ? sono_dac_weights_ensure(path, c,
                                             (unsigned long long)sono_param_int(p, "seed", 1),
                                             err)
                   : 0;
    }
    return file_config(path, c, err);
}

/* ---- random weights --------------------------------------------------------------------
 * Scales: each weight-normed row has norm g = 1 (a conv keeps its input's size; a
 * conv-transpose sqrt(stride / 2), as each output sums cin k / stride taps), the residual
 * branch's last conv 0.5, biases +-0.05, Snake's alpha 1 +- 10 %, codebooks uniform +-1
 * (only their direction picks a code), out_proj rows 0.5. */
static int conv(sono_st_list *l, const char *prefix, int d0, int d1, int k, int cout,
                double g)
{
    char n[112];
    snprintf(n, sizeof n, "%s.bias", prefix);
    if (sono_st_push(l, n, 1, cout, 0, 0, 0.05, 0))
        return SONO_ENOMEM;
    snprintf(n, sizeof n, "%s.weight_g", prefix);
    if (sono_st_push(l, n, 3, d0, 1, 1, 0, g))
        return SONO_ENOMEM;
    snprintf(n, sizeof n, "%s.weight_v", prefix);
    return sono_st_push(l, n, 3, d0, d1, k, 1.0, 0);
}

static int snake(sono_st_list *l, const char *prefix, int C)
{
    char n[112];
    snprintf(n, sizeof n, "%s.alpha", prefix);
    return sono_st_push(l, n, 3, 1, C, 1, 0, 1.0);
}

static int resunit(sono_st_list *l, const char *prefix, int C)
{
    char p[100];
    snprintf(p, sizeof p, "%s.snake1", prefix);
    int rc = snake(l, p, C);
    snprintf(p, sizeof p, "%s.conv1", prefix);
    rc = rc ? rc : conv(l, p, C, C, 7, C, 1.0);
    snprintf(p, sizeof p, "%s.snake2", prefix);
    rc = rc ? rc : snake(l, p, C);
    snprintf(p, sizeof p, "%s.conv2", prefix);
    return rc ? rc : conv(l, p, C, C, 1, C, 0.5);
}

static int all_tensors(sono_st_list *l, const sono_dac_config *c)
{
    char p[100];
    int rc = conv(l, "encoder.conv1", c->enc_dim, 1, 7, c->enc_dim, 1.0);
    for (int i = 0; !rc && i < c->nratios; i++) {
        int dim = c->enc_dim << (i + 1);
        for (int j = 1; !rc && j <= 3; j++) {
            snprintf(p, sizeof p, "encoder.block.%d.res_unit%d", i, j);
            rc = resunit(l, p, dim / 2);
        }
        snprintf(p, sizeof p, "encoder.block.%d.snake1", i);
        rc = rc ? rc : snake(l, p, dim / 2);
        snprintf(p, sizeof p, "encoder.block.%d.conv1", i);
        rc = rc ? rc : conv(l, p, dim, dim / 2, 2 * c->ratios[i], dim, 1.0);
    }
    rc = rc ? rc : snake(l, "encoder.snake1", c->latent);
    rc = rc ? rc : conv(l, "encoder.conv2", c->latent, c->latent, 3, c->latent, 1.0);
    rc = rc ? rc : conv(l, "decoder.conv1", c->dec_dim, c->latent, 7, c->dec_dim, 1.0);
    for (int i = 0; !rc && i < c->nratios; i++) {
        int in = c->dec_dim >> i, out = c->dec_dim >> (i + 1), u = c->ratios[c->nratios - 1 - i];
        snprintf(p, sizeof p, "decoder.block.%d.snake1", i);
        rc = snake(l, p, in);
        snprintf(p, sizeof p, "decoder.block.%d.conv_t1", i);
        rc = rc ? rc : conv(l, p, in, out, 2 * u, out, sqrt(u / 2.0));
        for (int j = 1; !rc && j <= 3; j++) {
            snprintf(p, sizeof p, "decoder.block.%d.res_unit%d", i, j);
            rc = resunit(l, p, out);
        }
    }
    int last = c->dec_dim >> c->nratios;
    rc = rc ? rc : snake(l, "decoder.snake1", last);
    rc = rc ? rc : conv(l, "decoder.conv2", 1, last, 7, 1, 1.0);
    for (int q = 0; !rc && q < c->n_codebooks; q++) {
        snprintf(p, sizeof p, "quantizer.quantizers.%d.in_proj", q);
        rc = conv(l, p, c->codebook_dim, c->latent, 1, c->codebook_dim, 1.0);
        snprintf(p, sizeof p, "quantizer.quantizers.%d.out_proj", q);
        rc = rc ? rc : conv(l, p, c->latent, c->codebook_dim, 1, c->latent, 0.5);
        snprintf(p, sizeof p, "quantizer.quantizers.%d.codebook.weight", q);
        rc = rc ? rc : sono_st_push(l, p, 2, c->codebook_size, c->codebook_dim, 0, 1.0, 0);
    }
    return rc;
}

int sono_dac_weights_ensure(const char *path, const sono_dac_config *c,
                            unsigned long long seed, sono_error *err)
{
    sono_st_list l = {0};
    if (all_tensors(&l, c)) {
        free(l.t);
        return sono_fail(err, SONO_ENOMEM, "%s: out of memory listing tensors", path);
    }
    json_t *r = json_array();
    for (int i = 0; i < c->nratios; i++)
        json_array_append_new(r, json_integer(c->ratios[i]));
    json_t *o = json_pack("{s:s, s:i, s:o, s:i, s:i, s:i, s:i, s:i}", "model_type", "dac",
                          "encoder_hidden_size", c->enc_dim, "downsampling_ratios", r,
                          "decoder_hidden_size", c->dec_dim, "n_codebooks", c->n_codebooks,
                          "codebook_size", c->codebook_size, "codebook_dim", c->codebook_dim,
                          "sampling_rate", c->sampling_rate);
    char *cfg = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    const char *meta[] = {"config", cfg ? cfg : "{}", NULL};
    int rc = sono_st_ensure_random(path, &l, meta, seed, err);
    free(cfg);
    free(l.t);
    return rc;
}

/* ---- cost --------------------------------------------------------------------------- */
static long long conv_len(long long L, int k, int s, int d, int p)
{
    long long o = (L + 2 * p - (long long)d * (k - 1) - 1) / s + 1;
    return o > 0 ? o : 0;
}

double sono_dac_macs_encoder(const sono_dac_config *c, long long n)
{
    double m = 7.0 * c->enc_dim * (double)n, L = (double)n;
    for (int i = 0; i < c->nratios; i++) {
        double C = c->enc_dim << i, s = c->ratios[i];
        m += 3 * (C * C * 7 + C * C) * L;
        L = (double)conv_len((long long)L, 2 * c->ratios[i], c->ratios[i], 1,
                             (c->ratios[i] + 1) / 2);
        m += 2 * C * C * 2 * s * L;
    }
    return m + (double)c->latent * c->latent * 3 * L;
}

double sono_dac_macs_decoder(const sono_dac_config *c, long long f)
{
    double L = (double)f, m = (double)c->latent * c->dec_dim * 7 * L;
    for (int i = 0; i < c->nratios; i++) {
        double in = c->dec_dim >> i, out = c->dec_dim >> (i + 1),
               u = c->ratios[c->nratios - 1 - i];
        m += in * out * 2 * u * L; /* every input sample meets the whole kernel */
        L *= u;
        m += 3 * (out * out * 7 + out * out) * L;
    }
    return m + (double)(c->dec_dim >> c->nratios) * 7 * L;
}
