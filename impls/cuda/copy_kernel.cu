/* copy_kernel.cu — cuda/copy-kernel's one kernel: a grid-stride loop over copy_math.h's
 * work items (float4 body, scalar tail), sized to fill every SM a few times over. */
#include "copy_math.h"
#include "kernels.h"

__global__ void cp_kernel(const float *__restrict__ in, float *__restrict__ out, size_t n)
{
    size_t items = cp_items(n), stride = (size_t)gridDim.x * blockDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < items; i += stride)
        cp_item(in, out, n, i);
}

extern "C" cudaError_t cu_copy_launch(const float *in, float *out, size_t n, int blocks,
                                      cudaStream_t s)
{
    size_t items = cp_items(n), need = (items + 255) / 256;
    unsigned grid = (unsigned)(need < (size_t)blocks ? (need ? need : 1) : (size_t)blocks);
    cp_kernel<<<grid, 256, 0, s>>>(in, out, n);
    return cudaGetLastError();
}
