/* dc_kernels.h — the C entry points of dc_kernels.cu (cuda/dac's own kernels); like
 * en_kernels.h, each enqueues on the stream and returns the launch's cudaError_t.
 * Activations are [channels][S][time] (the op's S streams side by side in each channel's
 * row), as impls/common/dac_net.h; the arithmetic is dc_math.h's. */
#ifndef IMPLS_CUDA_DC_KERNELS_H
#define IMPLS_CUDA_DC_KERNELS_H

#include <cuda_runtime_api.h>

/* The largest codebook_dim the search kernel takes (its shared vector per warp). */
#define DC_MAX_CODEBOOK_DIM 64

#ifdef __cplusplus
extern "C" {
#endif

/* col [cin*k][S*T] = im2col of x [cin][S][L], zero padding pad per clip; alpha (not NULL):
 * Snake of channel i applied to each sample gathered (the unit's snake1 before its conv) */
cudaError_t cu_dc_im2col_launch(const float *x, const float *alpha, int cin, int k,
                                int stride, int dil, int pad, long long L, long long T,
                                int S, float *col, cudaStream_t s);
/* y [C][N] = dc_epilogue(y, b[c], res (NULL: none), alpha[c] (NULL: none), tanh_out) */
cudaError_t cu_dc_epilogue_launch(float *y, const float *b, const float *res,
                                  const float *alpha, int tanh_out, int C, long long N,
                                  cudaStream_t s);
/* y [cout][S][T] = b + the overlap-add of col [cout*k][S*L] (dc_ola_range / dc_ola_col) */
cudaError_t cu_dc_ola_launch(const float *col, const float *b, int cout, int k, int stride,
                             int pad, long long L, long long T, int S, float *y,
                             cudaStream_t s);
/* codes[n] = the nearest unit codeword of F.normalize(z[:, n] + b) for n < N: z [D][N] (the
 * raw in_proj SGEMM), cn [K][D] unit codewords, cc [K] their squared norms; a warp per
 * column, the lowest index on ties (dc_better). D <= DC_MAX_CODEBOOK_DIM. */
cudaError_t cu_dc_vq_launch(const float *z, const float *b, int D, long long N,
                            const float *cn, const float *cc, int K, int *codes,
                            cudaStream_t s);
/* e [D][N] = cb[codes[n]] (raw codewords, [K][D]) */
cudaError_t cu_dc_gather_launch(const float *cb, const int *codes, int D, long long N,
                                float *e, cudaStream_t s);
/* v = t + b[c] for t [C][N]: qs += v, and r -= v when r is not NULL (the residual) */
cudaError_t cu_dc_resid_launch(const float *t, const float *b, int C, long long N, float *r,
                               float *qs, cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif
