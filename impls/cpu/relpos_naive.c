/* relpos_naive.c — cpu/naive for attention.relpos: the definition row by row: the
 * query's gate (8 float32 dot products), its scores with gate x E[bucket] added, softmax
 * with the max subtracted, P V; one running float per sum; single-threaded. */
#include <string.h>

#include "cpu_impls.h"
#include "relpos_shape.h"

typedef struct rp_naive {
    rp_shape r;
    const float *in;
    float *w;   /* one row of scores [S] */
    int *bk;    /* buckets of r = -(S-1) .. S-1 */
    float *out; /* [H, S, D] */
} rp_naive;

int relpos_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    rp_shape r;
    (void)ctx;
    if (sono_param_int(p, "threads", 1) > 1) {
        snprintf(why, n, "single-threaded (the definition's loops): threads=%lld",
                 sono_param_int(p, "threads", 1));
        return SONO_EUNSUPPORTED;
    }
    return rp_shape_get(p, &r, why, n);
}

void relpos_naive_teardown(void *vst)
{
    rp_naive *st = vst;
    if (st) {
        free(st->w);
        free(st->bk);
        free(st->out);
    }
    free(st);
}

int relpos_naive_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    *stp = NULL;
    rp_naive *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cpu/naive: no memory");
    int rc = relpos_naive_supports(ctx, p, why, sizeof why);
    if (rc) {
        free(st);
        return sono_fail(err, rc, "cpu/naive: %s", why);
    }
    rp_shape_get(p, &st->r, why, sizeof why);
    st->w = amalloc(st->r.S * sizeof(float));
    st->bk = amalloc(2 * st->r.S * sizeof(int));
    st->out = amalloc(st->r.n * sizeof(float));
    if (!st->w || !st->bk || !st->out) {
        relpos_naive_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "cpu/naive: no memory for the output");
    }
    *stp = st;
    return 0;
}

int relpos_naive_load(void *vst, const sono_buf *in, sono_error *err)
{
    rp_naive *st = vst;
    if (in->dtype != SONO_F32 || (size_t)sono_buf_elems(in) != st->r.nin)
        return sono_fail(err, SONO_EINVAL, "cpu/naive attention.relpos: input must be f32 of "
                         "%zu values", st->r.nin);
    st->in = in->data;
    return 0;
}

int relpos_naive_run(void *vst)
{
    rp_naive *st = vst;
    const rp_shape *r = &st->r;
    size_t H = r->H, S = r->S, D = r->D;
    const float *Q = st->in, *K = Q + r->n, *V = K + r->n, *X = V + r->n, *E = st->in + r->oE,
                *Wg = st->in + r->oW, *bg = st->in + r->ob, *c = st->in + r->oc;
    for (long long d = -(long long)(S - 1); d < (long long)S; d++)
        st->bk[d + (long long)S - 1] = rp_bucket(d, (int)r->NB, (int)r->MD);
    float scale = 1.0f / sqrtf((float)D);
    for (size_t h = 0; h < H; h++)
        for (size_t i = 0; i < S; i++) {
            const float *q = Q + (h * S + i) * D, *x = X + (h * S + i) * D;
            float p[8];
            for (int k = 0; k < 8; k++) {
                float a = bg[k];
                for (size_t e = 0; e < D; e++)
                    a += Wg[k * D + e] * x[e];
                p[k] = a;
            }
            float gate = rp_gate(p, c[h]), mx = -INFINITY;
            for (size_t j = 0; j < S; j++) {
                const float *kk = K + (h * S + j) * D;
                float s = 0;
                for (size_t e = 0; e < D; e++)
                    s += q[e] * kk[e];
                st->w[j] = s * scale + gate * E[(size_t)st->bk[j + S - 1 - i] * H + h];
                mx = st->w[j] > mx ? st->w[j] : mx;
            }
            float *o = st->out + (h * S + i) * D, sum = 0;
            memset(o, 0, D * sizeof(float));
            for (size_t j = 0; j < S; j++) {
                float ex = expf(st->w[j] - mx);
                const float *v = V + (h * S + j) * D;
                sum += ex;
                for (size_t e = 0; e < D; e++)
                    o[e] += ex * v[e];
            }
            for (size_t e = 0; e < D; e++)
                o[e] /= sum;
        }
    return 0;
}

int relpos_naive_store(void *vst, sono_buf *out, sono_error *err)
{
    rp_naive *st = vst;
    if (out->dtype != SONO_F32 || (size_t)sono_buf_elems(out) != st->r.n)
        return sono_fail(err, SONO_EINVAL, "cpu/naive attention.relpos: output must be f32 of "
                         "%zu values", st->r.n);
    memcpy(out->data, st->out, st->r.n * sizeof(float));
    return 0;
}

size_t relpos_naive_workspace(void *vst)
{
    const rp_naive *st = vst;
    return (st->r.S * 3 + st->r.n) * sizeof(float);
}
