/* gen_math.h — the index map of the codes.delay kernel (gen_kernels.cu), compiled by nvcc
 * and by cc for tests/test_cuda_math_sample.c: which input code an output code reads. */
#ifndef IMPLS_CUDA_GEN_MATH_H
#define IMPLS_CUDA_GEN_MATH_H

#ifdef __CUDACC__
#define GEN_HD __host__ __device__ static inline
#else
#define GEN_HD static inline
#endif

/* Output code o of [B, K, Tout] (Tout = T + K - 1 for delay, T for undelay): the input
 * index it copies, or -1 for the pad. Input rows are T (delay) or T + K - 1 (undelay). */
GEN_HD long long gen_delay_src(long long o, int K, int T, int undelay)
{
    long long S = (long long)T + K - 1, tout = undelay ? T : S, tin = undelay ? S : T;
    long long row = o / tout, s = o % tout, k = row % K;
    long long src = undelay ? s + k : s - k;
    return src >= 0 && src < tin ? row * tin + src : -1;
}

#endif
