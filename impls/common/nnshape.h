/* nnshape.h — the layer ops (conv1d, attention) as impls read them: params into checked
 * sizes with reasons for supports(), the packed input's offsets, and the activations. The
 * contract is harness/ops/conv1d.h and attention.c's opening comment; nothing here is
 * shared with them. */
#ifndef NNSHAPE_H
#define NNSHAPE_H

#include <math.h>
#include <stddef.h>

#include "sono.h"

enum { NN_ACT_NONE = 0, NN_ACT_ELU = 1, NN_ACT_SNAKE = 2 };

typedef struct nn_conv {
    size_t cin, cout, k, stride, dil, groups, T;
    int transposed, causal, act;
    size_t tout;  /* output samples per channel */
    size_t pad;   /* conv: zeros before x; 0 for transposed */
    size_t full;  /* transposed: untrimmed output length */
    size_t cig, cog; /* channels per group, in and out */
    size_t nx, nw, nin; /* floats of x, of W, of the whole packed input */
} nn_conv;

/* 0, or SONO_EUNSUPPORTED with the reason in why. threads_max: the most threads the impl
 * takes (1 for single-threaded ones). */
int nn_conv_shape(const sono_params *p, int threads_max, nn_conv *c, char *why, size_t n);

typedef struct nn_attn {
    size_t seq, heads, d;
    int causal;
    size_t window;   /* 0: every key up to the mask; else keys (i - window, i] */
    size_t per_head; /* seq * d floats */
} nn_attn;

/* The first key query i sees under the window (0 without one). */
static inline size_t nn_attn_first(const nn_attn *a, size_t i)
{
    return a->window && i + 1 > a->window ? i + 1 - a->window : 0;
}

int nn_attn_shape(const sono_params *p, int threads_max, nn_attn *a, char *why, size_t n);

/* The input check every layer impl's load() does: f32, exactly want floats. */
int nn_check_input(const char *who, const sono_buf *in, size_t want, sono_error *err);
/* The output check of store(): f32 with room for want floats. */
int nn_check_output(const char *who, const sono_buf *out, size_t want, sono_error *err);

/* y = act(y) over n values of one channel (alpha: that channel's Snake parameter). */
static inline void nn_activate(float *y, size_t n, int act, float alpha)
{
    if (act == NN_ACT_ELU) {
        for (size_t i = 0; i < n; i++)
            y[i] = y[i] > 0 ? y[i] : expm1f(y[i]);
    } else if (act == NN_ACT_SNAKE) {
        float inv = 1.0f / alpha;
        for (size_t i = 0; i < n; i++) {
            float s = sinf(alpha * y[i]);
            y[i] += s * s * inv;
        }
    }
}

#endif
