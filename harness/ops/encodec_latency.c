/* encodec_latency.c — codec.encodec's algorithmic latency in streaming mode (issue 12), from
 * the definition in encodec.h: for each output step, the last input step it reads through
 * every layer, so the latency is what the definition forces, not what an impl achieves. */
#include "encodec.h"

#include <math.h>

/* The last input step any of outputs [0, u] of layer l reads, on an input of L steps: a
 * stream emits outputs in order, so an earlier output's look-ahead (the reflect padding
 * at the start reads x[pl]) holds the later ones too. */
static long long need_prefix(const sono_enc_config *c, const sono_enc_layer *l, long long u,
                             long long L)
{
    long long s = l->stride, keff = (long long)(l->k - 1) * l->dil + 1, r = u;
    if (l->kind == SONO_ENC_CONV || l->kind == SONO_ENC_RES) {
        long long ptot = keff - s, pl = c->causal ? ptot : ptot - ptot / 2;
        long long last = u * s + keff - 1 - pl; /* real positions of output u's window */
        r = last > pl ? last : pl;              /* pl: output 0 reflects x[pl] */
    } else if (l->kind == SONO_ENC_CONVTR) {
        long long ptot = l->k - s, pr = c->causal ? (long long)ceil(ptot * c->trim_right_ratio)
                                                  : ptot / 2;
        r = (u + ptot - pr) / s; /* the last input whose kernel reaches the untrimmed step */
    }
    return r < L - 1 ? r : L - 1;
}

typedef struct side {
    sono_enc_layer y[SONO_ENC_MAX_LAYERS];
    long long len[SONO_ENC_MAX_LAYERS + 1];
    int n;
} side;

/* Side `decoder`'s layers and the input length of each, on an input of L steps. */
static void side_init(const sono_enc_config *c, int decoder, long long L, side *d)
{
    d->n = sono_enc_graph(c, decoder, d->y);
    d->len[0] = L;
    for (int i = 0; i < d->n; i++) {
        const sono_enc_layer *y = &d->y[i];
        d->len[i + 1] = y->kind == SONO_ENC_CONV     ? (d->len[i] + y->stride - 1) / y->stride
                        : y->kind == SONO_ENC_CONVTR ? d->len[i] * y->stride
                                                     : d->len[i];
    }
}

/* The last step of the side's input that outputs [0, u] of its last layer read. */
static long long side_need(const sono_enc_config *c, const side *d, long long u)
{
    for (int i = d->n - 1; i >= 0; i--)
        u = need_prefix(c, &d->y[i], u, d->len[i]);
    return u;
}

double sono_enc_stream_latency(const sono_enc_config *c, int mode, long long samples)
{
    long long hop = c->hop, frames = (samples + hop - 1) / hop, worst = 0;
    long long nout = mode == 0 ? frames : mode == 1 ? frames * hop : samples;
    side enc, dec;
    side_init(c, 0, samples, &enc);
    side_init(c, 1, frames, &dec);
    /* the start's look-ahead dies out within a few frames: 16 frames of outputs cover it */
    long long upto = mode == 0 ? 16 : 16 * hop;
    for (long long u = 0; u < nout && u < upto; u++) {
        long long lat;
        if (mode == 0) /* frame u covers samples [u hop, (u+1) hop) */
            lat = side_need(c, &enc, u) + 1 - u * hop;
        else if (mode == 1) /* sample u needs frame f, whose audio ends at (f+1) hop */
            lat = (side_need(c, &dec, u) + 1) * hop - u;
        else
            lat = side_need(c, &enc, side_need(c, &dec, u)) + 1 - u;
        worst = lat > worst ? lat : worst;
    }
    return (double)(worst > hop ? worst : hop) / c->sampling_rate;
}
