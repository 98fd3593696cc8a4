/* mi_kernels.h — the C entry points of mi_kernels.cu (cuda/mimi's own kernels); each
 * enqueues on the stream and returns the launch's cudaError_t. Activations are
 * [channels][S][time] row-major, transformer rows [S*T][D] (mi_math.h). */
#ifndef IMPLS_CUDA_MI_KERNELS_H
#define IMPLS_CUDA_MI_KERNELS_H

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* col [cin*k][S][lout] from x [cin][S][L] (mi_col_src), ELU applied on read when elu */
cudaError_t cu_mi_col_launch(const float *x, int cin, int k, int stride, int dil, long long L,
                             long long left, long long lout, int S, int replicate, int elu,
                             float *col, cudaStream_t s);
/* out[o][n] = mi_epilogue(y[o][n], b ? b[o] : 0, res ? res[o][n] : 0, act), o < rows,
 * n < N; out may be y or res */
cudaError_t cu_mi_epilogue_launch(const float *y, const float *b, const float *res,
                                  long long rows, long long N, int act, float *out,
                                  cudaStream_t s);
/* y [cout][S][L*stride] = b + the causal taps of z [cout*k][S][L] (ELU when act) */
cudaError_t cu_mi_col2im_launch(const float *z, const float *b, int cout, int k, int stride,
                                long long L, int S, int act, float *y, cudaStream_t s);
/* Grouped causal transposed conv (the upsample): x [cin][S][L], w [cin][cout/g][k] ->
 * y [cout][S][L*stride] (b may be NULL) */
cudaError_t cu_mi_convtr_grouped_launch(const float *x, const float *w, const float *b,
                                        int cin, int cout, int groups, int k, int stride,
                                        long long L, int S, float *y, cudaStream_t s);
/* x = ELU(x) */
cudaError_t cu_mi_elu_launch(float *x, long long n, cudaStream_t s);
/* x = GELU(x) */
cudaError_t cu_mi_gelu_launch(float *x, long long n, cudaStream_t s);
/* out [cols][rows] = in [rows][cols]^T */
cudaError_t cu_mi_transpose_launch(const float *in, long long rows, long long cols, float *out,
                                   cudaStream_t s);
/* y [rows][D] = LayerNorm(x) with g, b (one block per row, mean and variance in double) */
cudaError_t cu_mi_layernorm_launch(const float *x, long long rows, int D, const float *g,
                                   const float *b, double eps, float *y, cudaStream_t s);
/* RoPE in place on x [rows][heads*dh], row r at position r % T; cs, sn [T][dh/2] */
cudaError_t cu_mi_rope_launch(float *x, long long rows, long long T, int heads, int dh,
                              const float *cs, const float *sn, cudaStream_t s);
/* Causal sliding-window attention over S clips of T rows: q, k, v, o [S*T][heads*dh] */
cudaError_t cu_mi_attention_launch(const float *q, const float *k, const float *v, int S,
                                   long long T, int heads, int dh, long long window, float *o,
                                   cudaStream_t s);
/* h [rows][D] += ls[col] * u */
cudaError_t cu_mi_ls_add_launch(float *h, const float *ls, const float *u, long long rows,
                                int D, cudaStream_t s);
/* Per row r of res [R][Q]: the nearest of K codewords cb [K][Q] by scores sc [R][K] =
 * res cb^T and norm2 [K] (mi_nn_dist, mi_nn_better), its index to codes at
 * mi_code_at(r, q, nq, F), and res[r] -= cb[code] */
cudaError_t cu_mi_nearest_launch(const float *sc, const float *norm2, const float *cb,
                                 long long R, int K, int Q, int q, int nq, long long F,
                                 float *res, int *codes, cudaStream_t s);
/* res [R][Q] = the sum over stages q0 <= q < q1 of cb[q - q0][code] (codes [S][nq][F],
 * clamped to [0, K)) */
cudaError_t cu_mi_gather_launch(const float *cb, const int *codes, int q0, int q1, int nq,
                                int K, int Q, long long R, long long F, float *res,
                                cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif
