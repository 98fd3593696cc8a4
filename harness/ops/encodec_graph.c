/* encodec_graph.c — the layer lists of EncodecEncoder and EncodecDecoder (transformers'
 * modeling_encodec.py) with their Hugging Face names, for the reference network, the
 * cost model and the random-weights generator. */
#include "encodec.h"

#include <math.h>
#include <stdio.h>

static int add(sono_enc_layer *l, int n, const char *side, sono_enc_kind kind, int cin,
               int cout, int k, int stride, int dil)
{
    l[n] = (sono_enc_layer){.kind = kind, .cin = cin, .cout = cout, .k = k, .stride = stride,
                            .dil = dil};
    snprintf(l[n].name, sizeof l[n].name, "%s.layers.%d", side, n);
    return n + 1;
}

int sono_enc_graph(const sono_enc_config *c, int decoder, sono_enc_layer *l)
{
    int n = 0, nf = c->num_filters;
    if (!decoder) {
        int scale = 1;
        n = add(l, n, "encoder", SONO_ENC_CONV, c->channels, nf, c->kernel_size, 1, 1);
        for (int r = c->nratios - 1; r >= 0; r--) {
            int dim = scale * nf, dil = 1;
            for (int j = 0; j < c->num_residual_layers; j++, dil *= c->dilation_growth_rate)
                n = add(l, n, "encoder", SONO_ENC_RES, dim, dim, c->residual_kernel_size, 1,
                        dil);
            n = add(l, n, "encoder", SONO_ENC_ELU, dim, dim, 0, 1, 1);
            n = add(l, n, "encoder", SONO_ENC_CONV, dim, 2 * dim, 2 * c->ratios[r],
                    c->ratios[r], 1);
            scale *= 2;
        }
        n = add(l, n, "encoder", SONO_ENC_LSTM, scale * nf, scale * nf, 0, 1, 1);
        n = add(l, n, "encoder", SONO_ENC_ELU, scale * nf, scale * nf, 0, 1, 1);
        return add(l, n, "encoder", SONO_ENC_CONV, scale * nf, c->hidden_size,
                   c->last_kernel_size, 1, 1);
    }
    int scale = 1 << c->nratios;
    n = add(l, n, "decoder", SONO_ENC_CONV, c->hidden_size, scale * nf, c->kernel_size, 1, 1);
    n = add(l, n, "decoder", SONO_ENC_LSTM, scale * nf, scale * nf, 0, 1, 1);
    for (int r = 0; r < c->nratios; r++) {
        int dim = scale * nf, dil = 1;
        n = add(l, n, "decoder", SONO_ENC_ELU, dim, dim, 0, 1, 1);
        n = add(l, n, "decoder", SONO_ENC_CONVTR, dim, dim / 2, 2 * c->ratios[r],
                c->ratios[r], 1);
        for (int j = 0; j < c->num_residual_layers; j++, dil *= c->dilation_growth_rate)
            n = add(l, n, "decoder", SONO_ENC_RES, dim / 2, dim / 2, c->residual_kernel_size,
                    1, dil);
        scale /= 2;
    }
    n = add(l, n, "decoder", SONO_ENC_ELU, nf, nf, 0, 1, 1);
    return add(l, n, "decoder", SONO_ENC_CONV, nf, c->channels, c->last_kernel_size, 1, 1);
}

double sono_enc_macs_encoder(const sono_enc_config *c, long long n)
{
    sono_enc_layer y[SONO_ENC_MAX_LAYERS];
    int nl = sono_enc_graph(c, 0, y);
    double macs = 0, L = (double)n;
    for (int i = 0; i < nl; i++) {
        const sono_enc_layer *l = &y[i];
        double h = l->cin / c->compress;
        switch (l->kind) {
        case SONO_ENC_CONV:
            L = ceil(L / l->stride);
            macs += (double)l->cout * l->cin * l->k * L;
            break;
        case SONO_ENC_RES:
            macs += (l->cin * h * l->k + h * l->cin + (c->conv_shortcut ? l->cin * l->cin : 0)) * L;
            break;
        case SONO_ENC_LSTM:
            macs += L * c->num_lstm_layers * 8.0 * l->cin * l->cin;
            break;
        default:
            break;
        }
    }
    return macs;
}

double sono_enc_macs_decoder(const sono_enc_config *c, long long f)
{
    sono_enc_layer y[SONO_ENC_MAX_LAYERS];
    int nl = sono_enc_graph(c, 1, y);
    double macs = 0, L = (double)f;
    for (int i = 0; i < nl; i++) {
        const sono_enc_layer *l = &y[i];
        double h = l->cin / c->compress;
        switch (l->kind) {
        case SONO_ENC_CONV:
            macs += (double)l->cout * l->cin * l->k * L;
            break;
        case SONO_ENC_CONVTR: /* every input sample meets the whole kernel */
            macs += (double)l->cout * l->cin * l->k * L;
            L *= l->stride;
            break;
        case SONO_ENC_RES:
            macs += (l->cin * h * l->k + h * l->cin + (c->conv_shortcut ? l->cin * l->cin : 0)) * L;
            break;
        case SONO_ENC_LSTM:
            macs += L * c->num_lstm_layers * 8.0 * l->cin * l->cin;
            break;
        default:
            break;
        }
    }
    return macs;
}
