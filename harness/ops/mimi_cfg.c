/* mimi_cfg.c — MimiConfig for the reference side (mimi.h): kyutai/mimi's values, the JSON
 * a weights file carries, the derived sizes, the params' config of weights=random, the
 * tensors a config needs (the random file's list and the header check of a user's file)
 * and the cost model's multiply-accumulate counts. */
#include "mimi.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "st_write.h"

void sono_mimi_config_default(sono_mimi_config *c)
{
    *c = (sono_mimi_config){.sampling_rate = 24000, .hidden = 512, .filters = 64,
                            .nratios = 4, .ratios = {8, 6, 5, 4}, .kernel = 7,
                            .last_kernel = 3, .res_kernel = 3, .dil_growth = 2, .nres = 1,
                            .compress = 2, .codebook_size = 2048, .codebook_dim = 256,
                            .num_quantizers = 32, .num_semantic = 1, .upsample_groups = 512,
                            .layers = 8, .ffn = 2048, .heads = 8, .head_dim = 0,
                            .window = 250, .frame_rate = 12.5, .norm_eps = 1e-5,
                            .rope_theta = 10000.0};
}

int sono_mimi_config_finish(sono_mimi_config *c, const char *what, sono_error *err)
{
    if (c->nratios < 1 || c->nratios > SONO_MIMI_MAX_RATIOS)
        return sono_fail(err, SONO_EINVAL, "%s: upsampling_ratios must have 1 to %d entries",
                         what, SONO_MIMI_MAX_RATIOS);
    c->hop = 1;
    for (int i = 0; i < c->nratios; i++) {
        if (c->ratios[i] < 1 || c->ratios[i] > 64)
            return sono_fail(err, SONO_EINVAL, "%s: upsampling_ratios[%d]=%d; need 1 to 64",
                             what, i, c->ratios[i]);
        c->hop *= c->ratios[i];
    }
    if (!c->head_dim && c->heads > 0)
        c->head_dim = c->hidden / c->heads;
    if (c->heads < 1 || c->head_dim * c->heads != c->hidden || c->head_dim % 2)
        return sono_fail(err, SONO_EINVAL, "%s: hidden_size %d, num_attention_heads %d, "
                         "head_dim %d: need head_dim * heads = hidden_size, head_dim even",
                         what, c->hidden, c->heads, c->head_dim);
    c->efr = (c->sampling_rate + c->hop - 1) / c->hop;
    if (!(c->frame_rate > 0) || fabs(c->frame_rate - c->efr) < 1e-9)
        return sono_fail(err, SONO_EINVAL, "%s: frame_rate %g equals the encoder's %d: a "
                         "model without the downsample is not supported", what,
                         c->frame_rate, c->efr);
    c->down_k = 2 * (int)(c->efr / c->frame_rate);
    c->frame_hop = 2 * c->hop;
    if (c->down_k < 2)
        return sono_fail(err, SONO_EINVAL, "%s: frame_rate %g above the encoder's %d", what,
                         c->frame_rate, c->efr);
    if (c->num_semantic < 1 || c->num_semantic >= c->num_quantizers)
        return sono_fail(err, SONO_EINVAL, "%s: num_semantic_quantizers %d must be 1 to "
                         "num_quantizers - 1 (%d)", what, c->num_semantic,
                         c->num_quantizers - 1);
    if (c->upsample_groups < 1 || c->hidden % c->upsample_groups)
        return sono_fail(err, SONO_EINVAL, "%s: upsample_groups %d does not divide "
                         "hidden_size %d", what, c->upsample_groups, c->hidden);
    if (c->codebook_dim == c->hidden)
        return sono_fail(err, SONO_EINVAL, "%s: codebook_dim = hidden_size (no quantizer "
                         "projections) is not supported", what);
    if (c->compress < 1 || c->filters < 1 || c->hidden < 1 || c->window < 1 ||
        c->codebook_size < 2 || c->codebook_dim < 1 || c->layers < 0 || c->ffn < 1)
        return sono_fail(err, SONO_EINVAL, "%s: a size in the config is out of range", what);
    return 0;
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

static int get_real(json_t *o, const char *key, double *v, const char *what, sono_error *err)
{
    json_t *j = json_object_get(o, key);
    if (!j || json_is_null(j))
        return 0;
    if (!json_is_number(j))
        return sono_fail(err, SONO_EINVAL, "%s: config key %s must be a number", what, key);
    *v = json_number_value(j);
    return 0;
}

/* A key that must hold one value (bool, string or number) where the contract supports
 * only that one. */
static int want(json_t *o, const char *key, const char *val, const char *what,
                sono_error *err)
{
    json_t *j = json_object_get(o, key);
    if (!j || json_is_null(j))
        return 0;
    char got[64] = "";
    if (json_is_boolean(j))
        snprintf(got, sizeof got, "%s", json_is_true(j) ? "true" : "false");
    else if (json_is_string(j))
        snprintf(got, sizeof got, "%s", json_string_value(j));
    else if (json_is_number(j))
        snprintf(got, sizeof got, "%g", json_number_value(j));
    if (strcmp(got, val) != 0)
        return sono_fail(err, SONO_EINVAL, "%s: config key %s is %s; codec.mimi supports %s "
                         "only", what, key, got[0] ? got : "(other)", val);
    return 0;
}

int sono_mimi_config_parse(const char *json, const char *what, sono_mimi_config *c,
                           sono_error *err)
{
    sono_mimi_config_default(c);
    json_error_t je;
    json_t *o = json_loads(json, 0, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        return sono_fail(err, SONO_EPARSE, "%s: config is not a JSON object (%s)", what,
                         je.text);
    }
    int big = 1 << 20, vq = -1, kv = -1, rc = 0;
    json_t *r = json_object_get(o, "upsampling_ratios");
    if (json_is_array(r)) {
        c->nratios = (int)json_array_size(r);
        for (int i = 0; i < c->nratios && i < SONO_MIMI_MAX_RATIOS; i++)
            c->ratios[i] = (int)json_integer_value(json_array_get(r, i));
    }
    rc = get_int(o, "sampling_rate", 1, 1000000, &c->sampling_rate, what, err) ||
         get_int(o, "hidden_size", 1, big, &c->hidden, what, err) ||
         get_int(o, "num_filters", 1, big, &c->filters, what, err) ||
         get_int(o, "num_residual_layers", 0, 16, &c->nres, what, err) ||
         get_int(o, "kernel_size", 1, 64, &c->kernel, what, err) ||
         get_int(o, "last_kernel_size", 1, 64, &c->last_kernel, what, err) ||
         get_int(o, "residual_kernel_size", 1, 64, &c->res_kernel, what, err) ||
         get_int(o, "dilation_growth_rate", 1, 16, &c->dil_growth, what, err) ||
         get_int(o, "compress", 1, 64, &c->compress, what, err) ||
         get_int(o, "codebook_size", 2, big, &c->codebook_size, what, err) ||
         get_int(o, "codebook_dim", 1, big, &c->codebook_dim, what, err) ||
         get_int(o, "vector_quantization_hidden_dimension", 1, big, &vq, what, err) ||
         get_int(o, "num_quantizers", 2, 1024, &c->num_quantizers, what, err) ||
         get_int(o, "num_semantic_quantizers", 1, 1024, &c->num_semantic, what, err) ||
         get_int(o, "upsample_groups", 1, big, &c->upsample_groups, what, err) ||
         get_int(o, "num_hidden_layers", 0, 256, &c->layers, what, err) ||
         get_int(o, "intermediate_size", 1, big, &c->ffn, what, err) ||
         get_int(o, "num_attention_heads", 1, 1024, &c->heads, what, err) ||
         get_int(o, "num_key_value_heads", 1, 1024, &kv, what, err) ||
         get_int(o, "head_dim", 0, big, &c->head_dim, what, err) ||
         get_int(o, "sliding_window", 1, 1 << 30, &c->window, what, err) ||
         get_real(o, "frame_rate", &c->frame_rate, what, err) ||
         get_real(o, "norm_eps", &c->norm_eps, what, err) ||
         get_real(o, "rope_theta", &c->rope_theta, what, err) ||
         want(o, "audio_channels", "1", what, err) ||
         want(o, "use_causal_conv", "true", what, err) ||
         want(o, "pad_mode", "constant", what, err) ||
         want(o, "trim_right_ratio", "1", what, err) ||
         want(o, "use_conv_shortcut", "false", what, err) ||
         want(o, "hidden_act", "gelu", what, err) ||
         want(o, "attention_bias", "false", what, err);
    if (rc)
        rc = err ? err->code : SONO_EINVAL;
    if (!rc && vq >= 0 && vq != c->codebook_dim)
        rc = sono_fail(err, SONO_EINVAL, "%s: vector_quantization_hidden_dimension %d != "
                       "codebook_dim %d is not supported", what, vq, c->codebook_dim);
    if (!rc && kv >= 0 && kv != c->heads)
        rc = sono_fail(err, SONO_EINVAL, "%s: num_key_value_heads %d != num_attention_heads "
                       "%d (grouped KV) is not supported", what, kv, c->heads);
    json_decref(o);
    return rc ? rc : sono_mimi_config_finish(c, what, err);
}

char *sono_mimi_config_json(const sono_mimi_config *c)
{
    json_t *r = json_array();
    for (int i = 0; i < c->nratios; i++)
        json_array_append_new(r, json_integer(c->ratios[i]));
    json_t *o = json_pack(
        "{s:s, s:i, s:f, s:i, s:i, s:i, s:i, s:o, s:i, s:i, s:i, s:i, s:b, s:s, s:i, s:f, "
        "s:i, s:i, s:i, s:b, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:f, s:f, s:i, "
        "s:b}",
        "model_type", "mimi", "sampling_rate", c->sampling_rate, "frame_rate", c->frame_rate,
        "audio_channels", 1, "hidden_size", c->hidden, "num_filters", c->filters,
        "num_residual_layers", c->nres, "upsampling_ratios", r, "kernel_size", c->kernel,
        "last_kernel_size", c->last_kernel, "residual_kernel_size", c->res_kernel,
        "dilation_growth_rate", c->dil_growth, "use_causal_conv", 1, "pad_mode", "constant",
        "compress", c->compress, "trim_right_ratio", 1.0, "codebook_size", c->codebook_size,
        "codebook_dim", c->codebook_dim, "num_quantizers", c->num_quantizers,
        "use_conv_shortcut", 0, "vector_quantization_hidden_dimension", c->codebook_dim,
        "num_semantic_quantizers", c->num_semantic, "upsample_groups", c->upsample_groups,
        "num_hidden_layers", c->layers, "intermediate_size", c->ffn, "num_attention_heads",
        c->heads, "num_key_value_heads", c->heads, "head_dim", c->head_dim, "hidden_act",
        "gelu", "norm_eps", c->norm_eps, "rope_theta", c->rope_theta, "sliding_window",
        c->window, "attention_bias", 0);
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17))
                : NULL;
    json_decref(o);
    return s;
}

/* weights = random: kyutai/mimi's config with the params' sizes over it. */
static int params_config(const sono_params *p, sono_mimi_config *c, sono_error *err)
{
    sono_mimi_config_default(c);
    c->filters = (int)sono_param_int(p, "filters", c->filters);
    c->hidden = (int)sono_param_int(p, "hidden", c->hidden);
    c->layers = (int)sono_param_int(p, "layers", c->layers);
    c->heads = (int)sono_param_int(p, "heads", c->heads);
    c->ffn = (int)sono_param_int(p, "ffn", c->ffn);
    c->num_quantizers = (int)sono_param_int(p, "codebooks", c->num_quantizers);
    c->codebook_size = (int)sono_param_int(p, "codebook_size", c->codebook_size);
    c->codebook_dim = (int)sono_param_int(p, "codebook_dim", c->codebook_dim);
    c->window = (int)sono_param_int(p, "window", c->window);
    c->upsample_groups = c->hidden; /* depthwise, as kyutai's */
    const char *r = sono_param_str(p, "ratios", "8.6.5.4");
    c->nratios = 0;
    for (const char *s = r; *s && c->nratios < SONO_MIMI_MAX_RATIOS;) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 64)
            return sono_fail(err, SONO_EINVAL, "ratios=%s: expected up to %d integers 1 to "
                             "64 separated by dots (8.6.5.4)", r, SONO_MIMI_MAX_RATIOS);
        c->ratios[c->nratios++] = (int)v;
        s = *end == '.' ? end + 1 : end;
        if (*end && *end != '.')
            return sono_fail(err, SONO_EINVAL, "ratios=%s: expected integers separated by "
                             "dots (8.6.5.4)", r);
    }
    c->head_dim = 0;
    int hop = 1;
    for (int i = 0; i < c->nratios; i++)
        hop *= c->ratios[i];
    c->frame_rate = ((c->sampling_rate + hop - 1) / hop) / 2.0; /* kyutai's 25 -> 12.5 */
    return sono_mimi_config_finish(c, "codec.mimi params", err);
}

int sono_mimi_weights_path(const sono_params *p, char *path, size_t n, sono_error *err)
{
    const char *w = sono_param_str(p, "weights", "random");
    if (strcmp(w, "random") != 0) {
        snprintf(path, n, "%s", w);
        return 0;
    }
    sono_mimi_config c;
    int rc = params_config(p, &c, err);
    if (rc)
        return rc;
    char name[256], r[64] = "";
    for (int i = 0; i < c.nratios; i++)
        snprintf(r + strlen(r), sizeof r - strlen(r), "%s%d", i ? "." : "", c.ratios[i]);
    snprintf(name, sizeof name, "mimi-v1-f%dh%dl%da%di%dq%dk%dd%dw%dr%ss%lld.safetensors",
             c.filters, c.hidden, c.layers, c.heads, c.ffn,
             c.num_quantizers, c.codebook_size, c.codebook_dim, c.window, r,
             sono_param_int(p, "seed", 1));
    return sono_st_cache_path(name, path, n, err);
}

/* ---- the tensors of a config ------------------------------------------------------- */
typedef sono_st_list tlist;

static int push(tlist *l, const char *name, int nd, long long a, long long b, long long k,
                double amp, double g)
{
    return sono_st_push(l, name, nd, a, b, k, amp, g) ? SONO_ENOMEM : 0;
}

/* A conv's weight and bias; amp: uniform +-sqrt(3 gain / fan_in) keeps the RMS. */
static int conv(tlist *l, const char *pre, int cout, int cin, int k, double gain, int bias)
{
    char n[112];
    snprintf(n, sizeof n, "%s.conv.weight", pre);
    int rc = push(l, n, 3, cout, cin, k, sqrt(3.0 * gain / ((double)cin * k)), 0);
    snprintf(n, sizeof n, "%s.conv.bias", pre);
    return rc ? rc : bias ? push(l, n, 1, cout, 0, 0, 0.02, 0) : 0;
}

static int res(tlist *l, const sono_mimi_config *c, const char *pre, int dim)
{
    char n[112];
    snprintf(n, sizeof n, "%s.block.1", pre);
    int rc = conv(l, n, dim / c->compress, dim, c->res_kernel, 2.0, 1);
    snprintf(n, sizeof n, "%s.block.3", pre);
    return rc ? rc : conv(l, n, dim, dim / c->compress, 1, 0.5, 1);
}

static int transformer(tlist *l, const sono_mimi_config *c, const char *which)
{
    long long D = c->hidden, F = c->ffn;
    double a = sqrt(3.0 / D);
    for (int i = 0; i < c->layers; i++) {
        char n[112];
#define P(suffix, nd, d0, d1, amp, g)                                                    \
    (snprintf(n, sizeof n, "%s.layers.%d.%s", which, i, suffix),                         \
     push(l, n, nd, d0, d1, 0, amp, g))
        int rc = P("self_attn.q_proj.weight", 2, D, D, a, 0) ||
                 P("self_attn.k_proj.weight", 2, D, D, a, 0) ||
                 P("self_attn.v_proj.weight", 2, D, D, a, 0) ||
                 P("self_attn.o_proj.weight", 2, D, D, a, 0) ||
                 P("mlp.fc1.weight", 2, F, D, a, 0) ||
                 P("mlp.fc2.weight", 2, D, F, sqrt(3.0 / F), 0) ||
                 P("input_layernorm.weight", 1, D, 0, 0, 1.0) ||
                 P("input_layernorm.bias", 1, D, 0, 0.02, 0) ||
                 P("post_attention_layernorm.weight", 1, D, 0, 0, 1.0) ||
                 P("post_attention_layernorm.bias", 1, D, 0, 0.02, 0) ||
                 P("self_attn_layer_scale.scale", 1, D, 0, 0, 0.1) ||
                 P("mlp_layer_scale.scale", 1, D, 0, 0, 0.1);
#undef P
        if (rc)
            return SONO_ENOMEM;
    }
    return 0;
}

/* Every tensor of c, in MimiModel's state_dict order. Scales (random weights): convs of
 * unit gain (ELU halves a signal's power, so gain 2 before it), the residual branch's
 * last conv half, layer scales 0.1 (kyutai's are learnt from 0.01; 0.1 lets the
 * transformer matter to the check), codebooks of RMS 0.1 decaying 4 % per stage (the
 * projected embeddings are ~1 RMS per dim: a codeword then shrinks the residual a little,
 * and every stage's pick depends on the signal, not on the codewords' norms alone). */
static int all_tensors(tlist *l, const sono_mimi_config *c)
{
    char n[112];
    int li = 0, rc = conv(l, "encoder.layers.0", c->filters, 1, c->kernel, 1.0, 1), scale = 1;
    li = 1;
    for (int i = c->nratios - 1; !rc && i >= 0; i--) {
        int cur = scale * c->filters;
        for (int j = 0; !rc && j < c->nres; j++) {
            snprintf(n, sizeof n, "encoder.layers.%d", li++);
            rc = res(l, c, n, cur);
        }
        li++; /* ELU */
        snprintf(n, sizeof n, "encoder.layers.%d", li++);
        rc = rc ? rc : conv(l, n, 2 * cur, cur, 2 * c->ratios[i], 2.0, 1);
        scale *= 2;
    }
    li++;
    snprintf(n, sizeof n, "encoder.layers.%d", li);
    rc = rc ? rc : conv(l, n, c->hidden, scale * c->filters, c->last_kernel, 2.0, 1);
    rc = rc ? rc : transformer(l, c, "encoder_transformer");
    rc = rc ? rc : push(l, "downsample.conv.weight", 3, c->hidden, c->hidden, c->down_k,
                        sqrt(3.0 / ((double)c->hidden * c->down_k)), 0);
    rc = rc ? rc : push(l, "upsample.conv.weight", 3, c->hidden,
                        c->hidden / c->upsample_groups, c->down_k,
                        sqrt(3.0 * 2.0 / ((double)(c->hidden / c->upsample_groups) *
                                          c->down_k)), 0);
    rc = rc ? rc : transformer(l, c, "decoder_transformer");
    scale = 1 << c->nratios;
    rc = rc ? rc : conv(l, "decoder.layers.0", scale * c->filters, c->hidden, c->kernel, 1.0, 1);
    li = 1;
    for (int i = 0; !rc && i < c->nratios; i++) {
        int cur = scale * c->filters;
        li++; /* ELU */
        char w[112];
        snprintf(w, sizeof w, "decoder.layers.%d.conv.weight", li);
        /* transposed [cin, cout, k]: each output sums cin k / stride taps */
        rc = push(l, w, 3, cur, cur / 2, 2 * c->ratios[i],
                  sqrt(3.0 * 2.0 * c->ratios[i] / ((double)cur * 2 * c->ratios[i])), 0);
        snprintf(w, sizeof w, "decoder.layers.%d.conv.bias", li++);
        rc = rc ? rc : push(l, w, 1, cur / 2, 0, 0, 0.02, 0);
        for (int j = 0; !rc && j < c->nres; j++) {
            snprintf(n, sizeof n, "decoder.layers.%d", li++);
            rc = res(l, c, n, cur / 2);
        }
        scale /= 2;
    }
    li++;
    snprintf(n, sizeof n, "decoder.layers.%d", li);
    rc = rc ? rc : conv(l, n, 1, c->filters, c->last_kernel, 2.0, 1);
    for (int s = 0; !rc && s < 2; s++) {
        const char *rv = s ? "acoustic" : "semantic";
        int nq = s ? c->num_quantizers - c->num_semantic : c->num_semantic;
        for (int q = 0; !rc && q < nq; q++) {
            int gq = s ? c->num_semantic + q : q;
            snprintf(n, sizeof n, "quantizer.%s_residual_vector_quantizer.layers.%d.codebook."
                     "cluster_usage", rv, q);
            rc = push(l, n, 1, c->codebook_size, 0, 0, 0, 1.0);
            snprintf(n, sizeof n, "quantizer.%s_residual_vector_quantizer.layers.%d.codebook."
                     "embed_sum", rv, q);
            rc = rc ? rc : push(l, n, 2, c->codebook_size, c->codebook_dim, 0,
                                sqrt(3.0) * 0.1 * pow(0.96, gq), 0);
        }
        snprintf(n, sizeof n, "quantizer.%s_residual_vector_quantizer.input_proj.weight", rv);
        rc = rc ? rc : push(l, n, 3, c->codebook_dim, c->hidden, 1, sqrt(3.0 / c->hidden), 0);
        snprintf(n, sizeof n, "quantizer.%s_residual_vector_quantizer.output_proj.weight", rv);
        rc = rc ? rc : push(l, n, 3, c->hidden, c->codebook_dim, 1,
                            sqrt(3.0 / c->codebook_dim), 0);
    }
    return rc;
}

int sono_mimi_weights_write(const char *path, const sono_mimi_config *c,
                            unsigned long long seed, sono_error *err)
{
    tlist l = {0};
    char *cfg = sono_mimi_config_json(c);
    int rc = cfg && !all_tensors(&l, c) ? 0 : SONO_ENOMEM;
    const char *meta[] = {"config", cfg, NULL};
    rc = rc ? sono_fail(err, rc, "%s: out of memory listing tensors", path)
            : sono_st_ensure_random(path, &l, meta, seed, err);
    free(cfg);
    free(l.t);
    return rc;
}

/* ---- a user's file: its header, config and tensors ---------------------------------- */
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

static int is_float(const char *t)
{
    return t && (!strcmp(t, "F32") || !strcmp(t, "F16") || !strcmp(t, "BF16") ||
                 !strcmp(t, "F64"));
}

static int check_header(const char *path, json_t *h, const sono_mimi_config *c,
                        sono_error *err)
{
    tlist l = {0};
    int rc = all_tensors(&l, c) ? sono_fail(err, SONO_ENOMEM, "out of memory") : 0;
    for (int i = 0; !rc && i < l.n; i++) {
        const sono_st_tensor *t = &l.t[i];
        json_t *e = json_object_get(h, t->name), *sh = json_object_get(e, "shape");
        char want_s[64], got[64] = "";
        int ok = json_is_array(sh) && (int)json_array_size(sh) == t->ndim;
        snprintf(want_s, sizeof want_s, t->ndim == 1 ? "%lld" : t->ndim == 2 ? "%lld, %lld"
                 : "%lld, %lld, %lld", t->shape[0], t->shape[1], t->shape[2]);
        for (size_t j = 0; json_is_array(sh) && j < json_array_size(sh); j++) {
            long long v = json_integer_value(json_array_get(sh, j));
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", j ? ", " : "", v);
            if (ok && (int)j < t->ndim)
                ok = v == t->shape[j];
        }
        if (!e)
            rc = sono_fail(err, SONO_EINVAL, "%s: tensor '%s' is missing (MimiModel names "
                           "expected)", path, t->name);
        else if (!ok)
            rc = sono_fail(err, SONO_EINVAL, "%s: tensor '%s' has shape [%s], the config "
                           "expects [%s]", path, t->name, got, want_s);
        else if (!is_float(json_string_value(json_object_get(e, "dtype"))))
            rc = sono_fail(err, SONO_EINVAL, "%s: tensor '%s' has dtype %s; weights must be "
                           "F32, F16, BF16 or F64", path, t->name,
                           json_string_value(json_object_get(e, "dtype")));
    }
    free(l.t);
    return rc;
}

/* The config of a file (metadata, else config.json beside it, else kyutai/mimi's), and
 * with check its tensors. Only the header is read (kyutai's checkpoint is 385 MB). */
static int file_config(const char *path, int check, sono_mimi_config *c, sono_error *err)
{
    json_t *h = NULL;
    int rc = read_header(path, &h, err);
    json_t *cfg = json_object_get(json_object_get(h, "__metadata__"), "config");
    if (!rc && json_is_string(cfg))
        rc = sono_mimi_config_parse(json_string_value(cfg), path, c, err);
    else if (!rc) {
        char side[4200];
        const char *slash = strrchr(path, '/');
        snprintf(side, sizeof side, "%.*sconfig.json", slash ? (int)(slash - path + 1) : 0,
                 path);
        json_error_t je;
        json_t *sj = json_load_file(side, 0, &je);
        if (sj) {
            char *text = json_dumps(sj, 0);
            rc = text ? sono_mimi_config_parse(text, side, c, err)
                      : sono_fail(err, SONO_ENOMEM, "%s: out of memory", side);
            free(text);
            json_decref(sj);
        } else {
            sono_mimi_config_default(c);
            rc = sono_mimi_config_finish(c, path, err);
        }
    }
    if (!rc && check)
        rc = check_header(path, h, c, err);
    json_decref(h);
    return rc;
}

int sono_mimi_params_config(const sono_params *p, int gen, sono_mimi_config *c,
                            sono_error *err)
{
    char path[4096];
    int rc = sono_mimi_weights_path(p, path, sizeof path, err);
    if (rc)
        return rc;
    if (strcmp(sono_param_str(p, "weights", "random"), "random") == 0) {
        if ((rc = params_config(p, c, err)))
            return rc;
        return gen ? sono_mimi_weights_write(path, c,
                                             (unsigned long long)sono_param_int(p, "seed", 1),
                                             err)
                   : 0;
    }
    return file_config(path, gen, c, err);
}

/* ---- the cost model's counts --------------------------------------------------------- */
static double transformer_macs(const sono_mimi_config *c, double T)
{
    double D = c->hidden, ctx = T < c->window ? (T + 1) / 2.0 : c->window;
    /* q k v o, fc1 fc2, scores and weighted sums over the keys each query sees */
    return c->layers * T * (4 * D * D + 2 * D * c->ffn + 2 * ctx * D);
}

double sono_mimi_macs_encoder(const sono_mimi_config *c, long long n)
{
    double m = 0, L = (double)n;
    int cur = c->filters;
    m += L * cur * c->kernel;
    for (int i = c->nratios - 1; i >= 0; i--) {
        int h = cur / c->compress;
        m += c->nres * L * ((double)cur * h * c->res_kernel + (double)h * cur);
        L = ceil(L / c->ratios[i]);
        m += L * (2.0 * cur) * cur * 2 * c->ratios[i];
        cur *= 2;
    }
    m += L * c->hidden * (double)cur * c->last_kernel;
    m += transformer_macs(c, L);
    m += ceil(L / 2) * (double)c->hidden * c->hidden * c->down_k;
    return m;
}

double sono_mimi_macs_decoder(const sono_mimi_config *c, long long f)
{
    double L = 2.0 * (double)f, m = 0;
    m += (double)f * c->hidden * (c->hidden / c->upsample_groups) * c->down_k;
    m += transformer_macs(c, L);
    int cur = (1 << c->nratios) * c->filters;
    m += L * cur * (double)c->hidden * c->kernel;
    for (int i = 0; i < c->nratios; i++) {
        m += L * (double)cur * (cur / 2) * 2 * c->ratios[i];
        L *= c->ratios[i];
        cur /= 2;
        int h = cur / c->compress;
        m += c->nres * L * ((double)cur * h * c->res_kernel + (double)h * cur);
    }
    m += L * (double)cur * c->last_kernel;
    return m;
}
