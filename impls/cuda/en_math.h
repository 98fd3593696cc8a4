/* en_math.h — the arithmetic of cuda/encodec's own kernels (en_kernels.cu), compiled by
 * nvcc for the device and by cc for tests/test_cuda_math_nn.c: EncodecConv1d's reflect
 * padding (with its zero extension of inputs shorter than the pad) and the LSTM cell. */
#ifndef IMPLS_CUDA_EN_MATH_H
#define IMPLS_CUDA_EN_MATH_H

#include <math.h>

#ifdef __CUDACC__
#define EN_HD __host__ __device__ static inline
#else
#define EN_HD static inline
#endif

/* Sample i of a channel of L samples padded by pl on the left and pr on the right,
 * reflected without repeating the edge: the source index, or -1 for a zero. An input no
 * longer than the larger pad is first extended by zeros to that pad + 1 samples (so the
 * reflection may land on one of those zeros), as EncodecConv1d._pad1d does. */
EN_HD long long en_pad_src(long long i, long long L, long long pl, long long pr)
{
    long long mp = pl > pr ? pl : pr, ext = L <= mp ? mp + 1 : L;
    long long j = i - pl;
    j = j < 0 ? -j : j;
    j = j >= ext ? 2 * (ext - 1) - j : j;
    return j < L ? j : -1;
}

/* Issue 11, S clips side by side in each channel's row ([C][S][len]): element e of the
 * im2col columns col [cin*k][S][lout] (row i*k + j, column s*lout + t, so one GEMM's N
 * spans every clip) reads xp [cin][S][lp] (already padded) at the returned index. */
EN_HD long long en_im2col_src(long long e, long long k, long long stride, long long dil,
                              long long lp, long long lout, long long S)
{
    long long t = e % lout, s = (e / lout) % S, row = e / (lout * S);
    long long j = row % k, i = row / k;
    return (i * S + s) * lp + t * stride + j * dil;
}

EN_HD float en_sigmoid(float v)
{
    return 1.0f / (1.0f + expf(-v));
}

/* One LSTM unit for one step, gates in PyTorch's order (input, forget, cell, output),
 * each already W_ih x + W_hh h + biases: the new cell state in *c, the new h returned. */
EN_HD float en_lstm_cell(float gi, float gf, float gg, float go, float *c)
{
    *c = en_sigmoid(gf) * *c + en_sigmoid(gi) * tanhf(gg);
    return en_sigmoid(go) * tanhf(*c);
}

#endif
