/* gen_kernels.h — the C entry points of gen_kernels.cu (cuda/hifigan's and cuda/wavenet's
 * own kernels, gen_math.h's arithmetic); each enqueues on the stream and returns the
 * launch's cudaError_t. HiFi-GAN activations are [C][T]; WaveNet's [T][R]. */
#ifndef IMPLS_CUDA_GEN_KERNELS_H
#define IMPLS_CUDA_GEN_KERNELS_H

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* y[c][t] = (x[c][t] - mean[c]) / scale[c] */
cudaError_t cu_gen_norm_launch(const float *x, const float *mean, const float *scale, int C,
                               long long T, float *y, cudaStream_t s);
/* col [cin K][T] = lrelu(x) at gen_conv_src (0 for the padding) */
cudaError_t cu_gen_im2col_launch(const float *x, int cin, long long T, int K, int dil, int pad,
                                 float slope, float *col, cudaStream_t s);
/* y [n] = lrelu(x) */
cudaError_t cu_gen_lrelu_launch(const float *x, long long n, float slope, float *y,
                                cudaStream_t s);
/* y[c][t] += b[c] (+ res[c][t]), then tanh when th */
cudaError_t cu_gen_bias_launch(float *y, const float *b, const float *res, int C, long long T,
                               int th, cudaStream_t s);
/* y[o][u] = b[o] + sum over gen_tconv_range of Y[o K + u + pad - t s][t], Y [C K][Tin] */
cudaError_t cu_gen_tconv_add_launch(const float *Y, const float *b, int C, int K, int stride,
                                    int pad, long long Tin, float *y, cudaStream_t s);
/* y = ((a + b) + c) / 3 */
cudaError_t cu_gen_mean3_launch(const float *a, const float *b, const float *c, long long n,
                                float *y, cudaStream_t s);
/* WaveNet: h[t][c] = w[c] x[t] + b[c] */
cudaError_t cu_wv_input_launch(const float *x, const float *w, const float *b, int R,
                               long long T, float *h, cudaStream_t s);
/* col [T][2R + Cc] at gen_wv_col_src */
cudaError_t cu_wv_col_launch(const float *h, const float *x, int R, int Cc, long long T,
                             long long d, float *col, cudaStream_t s);
/* a[t][c] = gen_gate(z[t][c] + bf[c], z[t][R + c] + bg[c]) */
cudaError_t cu_wv_gate_launch(const float *z, const float *bf, const float *bg, int R,
                              long long T, float *a, cudaStream_t s);
/* skip[t][k] += y[t][k] + bs[k] (k < S); h[t][c] += y[t][S + c] + br[c] */
cudaError_t cu_wv_accum_launch(const float *y, const float *bs, const float *br, int S, int R,
                               long long T, float *skip, float *h, cudaStream_t s);
/* out [S][T] = skip [T][S] transposed */
cudaError_t cu_wv_transpose_launch(const float *skip, int S, long long T, float *out,
                                   cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif
