/* relpos_shape.h — attention.relpos as the impls read it (the contract is
 * harness/ops/relpos.h; nothing here is shared with it): sizes and the packed input's
 * offsets, WavLM's bucket in float32 as torch computes it, and the gate. Header-only and
 * plain C, so the CUDA kernels' host test can include it too. */
#ifndef RELPOS_SHAPE_H
#define RELPOS_SHAPE_H

#include <math.h>
#include <stddef.h>
#include <stdio.h>

#include "sono.h"

typedef struct rp_shape {
    size_t H, S, D, NB, MD;
    size_t n;   /* H S D */
    size_t nin; /* the packed input */
    /* offsets in floats: Q 0, K n, V 2n, X 3n */
    size_t oE, oW, ob, oc;
} rp_shape;

static inline int rp_shape_get(const sono_params *p, rp_shape *r, char *why, size_t len)
{
    long long S = sono_param_int(p, "seq", 500), H = sono_param_int(p, "heads", 12),
              D = sono_param_int(p, "head_dim", 64), NB = sono_param_int(p, "num_buckets", 320),
              MD = sono_param_int(p, "max_distance", 800);
    if (S < 1 || H < 1 || D < 1 || NB < 4 || NB % 4 || MD <= NB / 4) {
        snprintf(why, len, "seq=%lld heads=%lld head_dim=%lld num_buckets=%lld max_distance="
                 "%lld out of range", S, H, D, NB, MD);
        return SONO_EUNSUPPORTED;
    }
    r->H = (size_t)H, r->S = (size_t)S, r->D = (size_t)D, r->NB = (size_t)NB, r->MD = (size_t)MD;
    r->n = r->H * r->S * r->D;
    r->oE = 4 * r->n;
    r->oW = r->oE + r->NB * r->H;
    r->ob = r->oW + 8 * r->D;
    r->oc = r->ob + 8;
    r->nin = r->oc + r->H;
    return 0;
}

/* The bucket of relative position r = key - query, with torch's float32 logarithm. */
static inline int rp_bucket(long long r, int NB, int MD)
{
    int n = NB / 2, m = n / 2, b = r > 0 ? n : 0;
    long long a = r < 0 ? -r : r;
    if (a < m)
        return b + (int)a;
    float v = logf((float)a / (float)m) / logf((float)MD / (float)m) * (float)(n - m);
    int big = (int)((float)m + v);
    return b + (big < n - 1 ? big : n - 1);
}

static inline float rp_sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

/* The gate of one query from its 8 projections p = Wg x + bg. */
static inline float rp_gate(const float p[8], float c)
{
    float ga = rp_sigmoid(p[0] + p[1] + p[2] + p[3]), gb = rp_sigmoid(p[4] + p[5] + p[6] + p[7]);
    return ga * (gb * c - 1.0f) + 2.0f;
}

#endif
