/* conv1d.h — the contract of op "conv1d" (a 1-D convolution layer of a neural audio codec:
 * causal or valid, strided, dilated, grouped, transposed, fused ELU or Snake): its
 * parameters, derived sizes, packed input and output layout. Impls follow this comment and
 * share no code with it; the float64 reference is conv64.c.
 *
 * Sizes: G = groups, cin and cout multiples of G; T = length (samples per input channel).
 * Input, float32, one 1-D buffer, packed in this order:
 *   x     [cin, T]
 *   W     conv:       [cout, cin/G, kernel]  (torch.nn.Conv1d.weight)
 *         transposed: [cin, cout/G, kernel]  (torch.nn.ConvTranspose1d.weight)
 *   b     [cout]
 *   alpha [cout]  only when activation = snake
 * Convolution (transposed = 0), cross-correlation as in PyTorch:
 *   causal = 1: x is padded with P = (kernel-1)*dilation zeros on the left, none on the
 *     right (EnCodec's streaming SConv1d without its extra right padding): output t sees
 *     inputs t*stride and earlier only.
 *   causal = 0: no padding at all ('valid', PyTorch's padding=0).
 *   T_out = floor((T + P - dilation*(kernel-1) - 1) / stride) + 1, must be >= 1;
 *   z[co, t] = b[co] + sum_{c < cin/G} sum_{j < kernel} W[co, c, j] xp[g*cin/G + c,
 *              t*stride + j*dilation],  g = co / (cout/G), xp the padded x.
 * Transposed (transposed = 1), PyTorch's ConvTranspose1d with padding 0:
 *   full[co, u] = b[co] + sum over c < cin/G, j < kernel and t < T with
 *                 t*stride + j*dilation = u of W[g*cin/G + c, co - g*cout/G, j] x[g*cin/G + c, t],
 *   u < L = (T-1)*stride + dilation*(kernel-1) + 1, g = co / (cout/G).
 *   causal = 0: z = full, T_out = L.
 *   causal = 1: the last R = max(0, dilation*(kernel-1) + 1 - stride) samples of full are
 *     dropped (EnCodec's causal SConvTranspose1d, trim_right_ratio 1), T_out = L - R
 *     (= T*stride when the kernel spans a stride): output u sees inputs t <= u/stride only.
 * Activation, per output value: none y = z; elu y = z > 0 ? z : exp(z) - 1 (alpha 1, as
 *   EnCodec); snake y = z + sin^2(alpha[co] z) / alpha[co] (DAC, BigVGAN). In SEANet and
 *   DAC the activation precedes the next convolution; fused here as the epilogue of the
 *   previous one, it is the same arithmetic.
 * Output, float32, [cout, T_out], row-major.
 * Input data (op->input): x[0, t] = s[t], x[c, t] = g_c s[t - c] (0 for t < c), s the
 *   suite's signal at sample_rate, g_c seeded in +-[0.5, 1): every channel carries the
 *   signal and none sees it early, so causality is a property of the signal too. W and b
 *   uniform in [-1/sqrt(F), 1/sqrt(F)), F = W's dim 1 times kernel (torch's default init),
 *   alpha uniform in [0.25, 2); all from a fixed seed, the same for every input. */
#ifndef SONO_CONV1D_H
#define SONO_CONV1D_H

#include "op.h"

enum { SONO_ACT_NONE = 0, SONO_ACT_ELU = 1, SONO_ACT_SNAKE = 2 };

typedef struct sono_conv_dims {
    long long cin, cout, kernel, stride, dilation, groups, length;
    int transposed, causal, act;
    double sample_rate;
    long long out_length; /* T_out */
    long long pad;        /* P: conv's left zeros */
    long long full;       /* L: transposed's untrimmed length */
    long long nx, nw;     /* elements of x and W */
    long long nin;        /* the whole packed input */
    long long terms;      /* products summed per output value, at most */
} sono_conv_dims;

int sono_conv_dims_get(const sono_params *p, sono_conv_dims *d, sono_error *err);

/* conv64.c: the float64 reference of the definitions above: in packed, out [cout, T_out]. */
int sono_conv64(const sono_conv_dims *d, const float *in, double *out, sono_error *err);

#endif
