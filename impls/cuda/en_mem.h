/* en_mem.h — cuda/encodec's device memory, as pure functions of a planned en_net (issue
 * 11): its scratch per layer and the bytes setup will allocate for S streams, so supports()
 * can refuse a case that would not fit before any cudaMalloc, and tests/
 * test_encodec_cudamem.c can check the figure without a device. */
#ifndef IMPLS_CUDA_EN_MEM_H
#define IMPLS_CUDA_EN_MEM_H

#include <stddef.h>

#include "encodec_net.h"

/* Floats of scratch per layer on all net->batch clips, as blas/encodec's: im2col columns,
 * transposed-conv columns, LSTM gates; the fused VQ kernel needs no score matrix. */
static inline size_t cu_en_scratch_for(const en_net *net, const en_layer *l, int which,
                                       long long lin)
{
    if (!l)
        return 0;
    const en_conv *c = &l->c[which];
    size_t S = (size_t)net->batch;
    long long s = c->stride, lout = (lin + s - 1) / s;
    switch (l->kind) {
    case EN_CONV:
    case EN_RES:
        return S * (size_t)c->cin * (size_t)c->k * (size_t)lout;
    case EN_CONVTR:
        return S * (size_t)c->cout * (size_t)c->k * (size_t)lin;
    case EN_LSTM:
        return S * (size_t)lin * 4 * (size_t)l->h;
    }
    return 0;
}

/* The widest LSTM (its h and c per clip live on the device). */
static inline size_t cu_en_hmax(const en_net *net)
{
    size_t h = 1;
    for (int d = 0; d < 2; d++)
        for (int i = 0; i < net->n[d]; i++)
            if (net->l[d][i].kind == EN_LSTM && (size_t)net->l[d][i].h > h)
                h = (size_t)net->l[d][i].h;
    return h;
}

/* Bytes of activations setup allocates: five activation buffers, the scratch, LSTM
 * states, residual rows [S*F][D], the signal [S][samples] and the codes [nq][S][F]. */
static inline double cu_en_act_bytes(const en_net *net)
{
    double S = net->batch, F = (double)net->frames, D = net->cfg.hidden;
    double floats = 5.0 * (double)net->act + (double)(net->nscratch ? net->nscratch : 1) +
                    2.0 * (double)cu_en_hmax(net) * S + S * F * D +
                    S * (double)net->samples;
    return 4.0 * floats + 4.0 * (double)net->nq * S * F;
}

/* Everything on the device: weights, biases, codebooks and their norms, activations. */
static inline double cu_en_device_bytes(const en_net *net)
{
    return 4.0 * (double)en_weight_floats(net) + cu_en_act_bytes(net);
}

#endif
