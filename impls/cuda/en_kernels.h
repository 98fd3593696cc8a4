/* en_kernels.h — the C entry points of en_kernels.cu (cuda/encodec's own kernels); like
 * kernels.h, each enqueues on the stream and returns the launch's cudaError_t.
 * Activations are [channels][time], row-major, as in impls/common/encodec_net.c. */
#ifndef IMPLS_CUDA_EN_KERNELS_H
#define IMPLS_CUDA_EN_KERNELS_H

#include <cuda_runtime_api.h>

#include "nn_math.h"

#ifdef __cplusplus
extern "C" {
#endif

/* y [C][L+pl+pr] = x [C][L] reflect-padded (en_pad_src) */
cudaError_t cu_en_pad_launch(const float *x, int C, long long L, long long pl, long long pr,
                             float *y, cudaStream_t s);
/* x = ELU(x), alpha 1 */
cudaError_t cu_en_elu_launch(float *x, long long n, cudaStream_t s);
/* y += x */
cudaError_t cu_en_add_launch(float *y, const float *x, long long n, cudaStream_t s);
/* out [cols][rows] = in [rows][cols]^T (+ add [cols][rows] when not NULL) */
cudaError_t cu_en_transpose_launch(const float *in, long long rows, long long cols,
                                   const float *add, float *out, cudaStream_t s);
/* g [T][n] = the row b, T times */
cudaError_t cu_en_rows_launch(float *g, const float *b, long long T, int n, cudaStream_t s);
/* One LSTM step of H units of S clips from the gates of step t (g: G [S][T][4H] + t*4H):
 * c [S][H], h [S][H] updated, h copied to y [S][T][H] + t*H. */
cudaError_t cu_en_cell_launch(const float *g, float *h, float *c, float *y, int H, int S,
                              long long T, cudaStream_t s);
/* Issue 11: col [cin*k][S][lout] from xp [cin][S][lp] (en_im2col_src) */
cudaError_t cu_en_im2col_launch(const float *xp, int cin, int k, int stride, int dil,
                                long long lp, long long lout, int S, float *col,
                                cudaStream_t s);
/* Transposed, S clips: y [cout][S][c->tout] = b + col2im of z [cout*k][S][c->T] */
cudaError_t cu_en_col2im_launch(const nnc_dims *c, int S, const float *z, const float *b,
                                float *y, cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif
