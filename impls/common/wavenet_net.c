/* wavenet_net.c — wavenet.stack's sizes, weight pointers and stream queues for the impls
 * (wavenet_net.h). */
#include <stdlib.h>
#include <string.h>

#include "nndtype.h"
#include "wavenet_net.h"

int wv_dims(const sono_params *p, wv_net *n, char *why, size_t nwhy)
{
    memset(n, 0, sizeof *n);
    nn_dtype_via_f32(p, n->dtnote, sizeof n->dtnote);
    long long R = sono_param_int(p, "channels", 64), S = sono_param_int(p, "skip", 0);
    long long Cc = sono_param_int(p, "cond", 0), cyc = sono_param_int(p, "cycle", 10);
    long long L = sono_param_int(p, "stacks", 3) * cyc;
    double rate = (double)sono_param_int(p, "sample_rate", 16000);
    long long T = llround(sono_param_real(p, "seconds", 1.0) * rate);
    S = S ? S : R;
    if (R < 1 || S < 1 || Cc < 0 || cyc < 1 || cyc > 14 || L < 1 || T < 1) {
        snprintf(why, nwhy, "wavenet.stack: sizes out of range");
        return -1;
    }
    n->R = (int)R;
    n->S = (int)S;
    n->Cc = (int)Cc;
    n->L = (int)L;
    n->cycle = (int)cyc;
    n->T = T;
    n->nx = (size_t)((1 + Cc) * T);
    n->per_layer = (size_t)(2 * (R * R * 2 + R + R * Cc) + R * R + R + S * R + S);
    n->nin = n->nx + (size_t)(2 * R) + (size_t)L * n->per_layer;
    return 0;
}

int wv_alloc(wv_net *n, sono_error *err)
{
    n->layer = calloc((size_t)n->L, sizeof *n->layer);
    n->qoff = calloc((size_t)n->L + 1, sizeof *n->qoff);
    if (!n->layer || !n->qoff)
        return sono_fail(err, SONO_ENOMEM, "wavenet.stack: out of memory");
    for (int l = 0; l < n->L; l++) {
        n->layer[l].dil = 1 << (l % n->cycle);
        n->qoff[l + 1] = n->qoff[l] + (size_t)n->layer[l].dil * (size_t)n->R;
    }
    n->queue = calloc(n->qoff[n->L], sizeof(float));
    return n->queue ? 0 : sono_fail(err, SONO_ENOMEM, "wavenet.stack: out of memory");
}

int wv_bind(wv_net *n, const sono_buf *in, sono_error *err)
{
    if (in->dtype != SONO_F32 || (size_t)sono_buf_elems(in) != n->nin)
        return sono_fail(err, SONO_EINVAL, "wavenet.stack: input of %lld values, %zu expected",
                         sono_buf_elems(in), n->nin);
    const float *w = (const float *)in->data + n->nx;
    size_t R = (size_t)n->R, S = (size_t)n->S, Cc = (size_t)n->Cc;
    n->x = in->data;
    n->w_in = w;
    n->b_in = w + R;
    w += 2 * R;
    for (int l = 0; l < n->L; l++) {
        wv_layer *y = &n->layer[l];
        y->Wf = w;
        y->bf = y->Wf + R * R * 2;
        y->Wg = y->bf + R;
        y->bg = y->Wg + R * R * 2;
        y->Vf = y->bg + R;
        y->Vg = y->Vf + R * Cc;
        y->Wr = y->Vg + R * Cc;
        y->br = y->Wr + R * R;
        y->Ws = y->br + R;
        y->bs = y->Ws + S * R;
        w += n->per_layer;
    }
    return 0;
}

void wv_free(wv_net *n)
{
    free(n->layer);
    free(n->qoff);
    free(n->queue);
    n->layer = NULL;
    n->qoff = NULL;
    n->queue = NULL;
}

void wv_stream_reset(wv_net *n)
{
    memset(n->queue, 0, n->qoff[n->L] * sizeof(float));
    n->fed = 0;
}

size_t wv_queue_bytes(const wv_net *n)
{
    return n->qoff[n->L] * sizeof(float);
}
