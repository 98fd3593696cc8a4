/* copy_math.h — how cuda/copy-kernel splits a copy of n floats into work items, compiled
 * by nvcc (the kernel) and by cc (tests/test_cuda_math_copy.c, which runs every item on
 * the host): n/4 float4 items, then one item per leftover float. Buffers from cudaMalloc
 * are 256-byte aligned, so item i's float4 at 4i is aligned too. */
#ifndef IMPLS_CUDA_COPY_MATH_H
#define IMPLS_CUDA_COPY_MATH_H

#include <stddef.h>
#include <string.h>

#ifdef __CUDACC__
#define CP_HD __host__ __device__ static inline
#else
#define CP_HD static inline
#endif

/* Work items for n floats: one per float4, one per float of the tail. */
CP_HD size_t cp_items(size_t n)
{
    return n / 4 + n % 4;
}

/* Copy item i (< cp_items(n)) of in to out. On the GPU a float4 (one 128-bit load and
 * store); on the host the same 16 bytes by memcpy, which aliasing rules allow. */
CP_HD void cp_item(const float *in, float *out, size_t n, size_t i)
{
    size_t vec = n / 4;
    if (i < vec) {
#ifdef __CUDACC__
        ((float4 *)out)[i] = ((const float4 *)in)[i];
#else
        memcpy(out + 4 * i, in + 4 * i, 4 * sizeof(float));
#endif
    } else {
        size_t j = 4 * vec + (i - vec);
        out[j] = in[j];
    }
}

#endif
