/* mi_mem.h — cuda/mimi's buffer plan and device memory as pure functions of the config
 * and the case's sizes: a walk of MimiModel's graph by sizes alone (no weight read), so
 * supports() can refuse a case that would not fit before any cudaMalloc and
 * tests/test_cuda_math_mimi.c can check the plan bounds what a run uses. */
#ifndef IMPLS_CUDA_MI_MEM_H
#define IMPLS_CUDA_MI_MEM_H

#include <string.h>

#include "mimi_net.h"

/* Per clip floats of the buffers (the widest activation, the widest im2col or transposed
 * columns), the weights' floats, and the transformers' lengths. */
typedef struct mi_plan {
    double act, col, weights;
    long long Te, Td;
} mi_plan;

static inline double mi_dmax(double a, double b)
{
    return a > b ? a : b;
}

/* One conv of the walk: its columns, output and weights; the output length returned. */
static inline long long mi_plan_conv(mi_plan *p, double cin, double cout, int k, long long L,
                                     int s, int bias)
{
    long long lo = (L + s - 1) / s;
    p->col = mi_dmax(p->col, cin * k * (double)lo);
    p->act = mi_dmax(p->act, cout * (double)lo);
    p->weights += cout * cin * k + (bias ? cout : 0);
    return lo;
}

static inline void mi_plan_res(mi_plan *p, const mn_cfg *c, double dim, long long L)
{
    for (int j = 0; j < c->nres; j++) {
        mi_plan_conv(p, dim, dim / c->compress, c->res_kernel, L, 1, 1);
        mi_plan_conv(p, dim / c->compress, dim, 1, L, 1, 1);
    }
}

static inline void mi_plan_walk(const mn_cfg *c, long long samples, long long F, mi_plan *p)
{
    memset(p, 0, sizeof *p);
    p->act = (double)samples;
    long long L = mi_plan_conv(p, 1, c->filters, c->kernel, samples, 1, 1);
    double sc = 1;
    for (int i = c->nratio - 1; i >= 0; i--) {
        double cur = sc * c->filters;
        mi_plan_res(p, c, cur, L);
        L = mi_plan_conv(p, cur, 2 * cur, 2 * c->ratio[i], L, c->ratio[i], 1);
        sc *= 2;
    }
    L = mi_plan_conv(p, sc * c->filters, c->hidden, c->last_kernel, L, 1, 1);
    p->Te = L;
    mi_plan_conv(p, c->hidden, c->hidden, c->down_k, L, 2, 0);
    L = 2 * F;
    p->Td = L;
    p->act = mi_dmax(p->act, (double)c->hidden * (double)L);
    p->weights += (double)c->hidden * (c->hidden / c->groups) * c->down_k;
    sc = 1 << c->nratio;
    mi_plan_conv(p, c->hidden, sc * c->filters, c->kernel, L, 1, 1);
    for (int i = 0; i < c->nratio; i++) {
        double cur = sc * c->filters, r = c->ratio[i];
        p->col = mi_dmax(p->col, cur / 2 * 2 * r * (double)L); /* Z [cout k][L] */
        p->weights += cur * (cur / 2) * 2 * r + cur / 2;
        L *= c->ratio[i];
        p->act = mi_dmax(p->act, cur / 2 * (double)L);
        mi_plan_res(p, c, cur / 2, L);
        sc /= 2;
    }
    mi_plan_conv(p, c->filters, 1, c->last_kernel, L, 1, 1);
    double D = c->hidden;
    p->weights += 2.0 * c->layers * (4 * D * D + 2 * D * c->ffn + 6 * D);
    p->weights += 2.0 * 2 * c->cdim * D + (double)c->nq_max * c->codebook * (c->cdim + 1);
}

static inline long long mi_tmax(const mi_plan *p)
{
    return p->Te > p->Td ? p->Te : p->Td;
}

/* Everything setup allocates on the device, in bytes: weights and codebooks, the signal,
 * three activations and the columns per clip, the transformer rows, the RoPE table, the
 * RVQ's rows, residuals and scores, the codes. */
static inline double mi_device_bytes(const mn_model *m, const mi_plan *p)
{
    const mn_cfg *c = &m->c;
    double S = m->S, F = (double)m->frames, T = (double)mi_tmax(p), D = c->hidden;
    double floats = p->weights + S * (3 * p->act + p->col) + T * S * (6 * D + c->ffn) +
                    T * c->dh + S * F * (D + c->cdim + c->codebook) + S * (double)m->samples;
    return 4.0 * floats + 4.0 * S * m->nq * F;
}

#endif
