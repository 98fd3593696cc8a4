/* encodec_weights.c — random EnCodec weights (encodec_weights.h). Scaled so activations
 * keep their size through the network: each weight-normed conv row has norm g ~ 1 (a
 * transposed conv sqrt(stride/2), as each output sums cin*k/stride taps of cout*k-long
 * rows), the residual branch half of that, LSTMs uniform in +-1/sqrt(H) as torch
 * initialises them, codebook stage q uniform with RMS 0.05 * 0.96^q: a random codeword
 * of 128 dims aligns with the residual by ~3/sqrt(128) at best of 1024, so ~0.28 of the
 * residual's size (the encoder's output is ~0.2 RMS) is the scale that shrinks it most,
 * ~4% per stage; late stages then still differ by far more than float32 rounding. */
#include "encodec_weights.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#include "st_write.h"

/* The list and the writer are st_write.c's, shared with wav2vec2.features. */
typedef sono_st_list tlist;
#define push sono_st_push

/* weight_g [d0,1,1], weight_v [d0,d1,k], bias [cout]: HF's order within a conv. */
static int conv(tlist *l, const char *prefix, int d0, int d1, int k, int cout, double g)
{
    char p[96];
    snprintf(p, sizeof p, "%s.conv.", prefix);
    return push(l, p, "bias", 1, cout, 0, 0, 0.05, 0) ||
           push(l, p, "weight_g", 3, d0, 1, 1, 0, g) ||
           push(l, p, "weight_v", 3, d0, d1, k, 1.0, 0);
}

static int layer_tensors(tlist *l, const sono_enc_config *c, const sono_enc_layer *y)
{
    char p[96];
    switch (y->kind) {
    case SONO_ENC_CONV:
        return conv(l, y->name, y->cout, y->cin, y->k, y->cout, 1.0);
    case SONO_ENC_CONVTR:
        return conv(l, y->name, y->cin, y->cout, y->k, y->cout, sqrt(y->stride / 2.0));
    case SONO_ENC_RES: {
        int h = y->cin / c->compress;
        snprintf(p, sizeof p, "%s.block.1", y->name);
        if (conv(l, p, h, y->cin, y->k, h, 1.0))
            return SONO_ENOMEM;
        snprintf(p, sizeof p, "%s.block.3", y->name);
        if (conv(l, p, y->cin, h, 1, y->cin, 0.5))
            return SONO_ENOMEM;
        snprintf(p, sizeof p, "%s.shortcut", y->name);
        return c->conv_shortcut ? conv(l, p, y->cin, y->cin, 1, y->cin, 1.0) : 0;
    }
    case SONO_ENC_LSTM: {
        long long hh = y->cin;
        double a = 1.0 / sqrt((double)hh);
        for (int k = 0; k < c->num_lstm_layers; k++) {
            char s[32];
            snprintf(p, sizeof p, "%s.lstm.", y->name);
            snprintf(s, sizeof s, "weight_ih_l%d", k);
            if (push(l, p, s, 2, 4 * hh, hh, 0, a, 0))
                return SONO_ENOMEM;
            snprintf(s, sizeof s, "weight_hh_l%d", k);
            if (push(l, p, s, 2, 4 * hh, hh, 0, a, 0))
                return SONO_ENOMEM;
            snprintf(s, sizeof s, "bias_ih_l%d", k);
            if (push(l, p, s, 1, 4 * hh, 0, 0, a, 0))
                return SONO_ENOMEM;
            snprintf(s, sizeof s, "bias_hh_l%d", k);
            if (push(l, p, s, 1, 4 * hh, 0, 0, a, 0))
                return SONO_ENOMEM;
        }
        return 0;
    }
    case SONO_ENC_ELU:
        return 0;
    }
    return 0;
}

static int all_tensors(tlist *l, const sono_enc_config *c)
{
    sono_enc_layer y[SONO_ENC_MAX_LAYERS];
    for (int dec = 0; dec < 2; dec++) {
        int n = sono_enc_graph(c, dec, y);
        for (int i = 0; i < n; i++)
            if (layer_tensors(l, c, &y[i]))
                return SONO_ENOMEM;
    }
    for (int q = 0; q < c->num_quantizers; q++) {
        char p[96];
        snprintf(p, sizeof p, "quantizer.layers.%d.codebook.", q);
        if (push(l, p, "embed", 2, c->codebook_size, c->hidden_size, 0,
                 sqrt(3.0) * 0.05 * pow(0.96, q), 0))
            return SONO_ENOMEM;
    }
    return 0;
}

char *sono_encodec_config_json(const sono_enc_config *c)
{
    json_t *r = json_array(), *b = json_array();
    for (int i = 0; i < c->nratios; i++)
        json_array_append_new(r, json_integer(c->ratios[i]));
    for (int i = 0; i < c->nbw; i++)
        json_array_append_new(b, json_real(c->bandwidths[i]));
    json_t *o = json_pack(
        "{s:s, s:o, s:i, s:i, s:b, s:n, s:n, s:i, s:i, s:i, s:o, s:s, s:i, s:i, s:i, s:i, "
        "s:b, s:s, s:i, s:i, s:f, s:i, s:i, s:b}",
        "model_type", "encodec", "target_bandwidths", b, "sampling_rate", c->sampling_rate,
        "audio_channels", c->channels, "normalize", 0, "chunk_length_s", "overlap",
        "hidden_size", c->hidden_size, "num_filters", c->num_filters, "num_residual_layers",
        c->num_residual_layers, "upsampling_ratios", r, "norm_type", "weight_norm",
        "kernel_size", c->kernel_size, "last_kernel_size", c->last_kernel_size,
        "residual_kernel_size", c->residual_kernel_size, "dilation_growth_rate",
        c->dilation_growth_rate, "use_causal_conv", c->causal, "pad_mode", "reflect",
        "compress", c->compress, "num_lstm_layers", c->num_lstm_layers, "trim_right_ratio",
        c->trim_right_ratio, "codebook_size", c->codebook_size, "codebook_dim",
        c->hidden_size, "use_conv_shortcut", c->conv_shortcut);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

typedef struct write_args {
    const sono_enc_config *c;
    unsigned long long seed;
} write_args;

static int write_cb(const char *path, void *ctx, sono_error *err)
{
    const write_args *a = ctx;
    return sono_encodec_weights_write(path, a->c, a->seed, err);
}

int sono_encodec_weights_write(const char *path, const sono_enc_config *c,
                               unsigned long long seed, sono_error *err)
{
    tlist l = {0};
    if (all_tensors(&l, c)) {
        free(l.t);
        return sono_fail(err, SONO_ENOMEM, "%s: out of memory listing tensors", path);
    }
    char *cfg = sono_encodec_config_json(c);
    int rc = sono_st_write_random(path, &l, cfg ? cfg : "{}", seed, "EnCodec", err);
    free(cfg);
    free(l.t);
    return rc;
}

int sono_encodec_weights_ensure(const char *path, const sono_enc_config *c,
                                unsigned long long seed, sono_error *err)
{
    write_args a = {c, seed};
    return sono_st_ensure(path, write_cb, &a, err);
}
