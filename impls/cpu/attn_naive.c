/* attn_naive.c — cpu/naive for attention: per head, the whole score matrix S = Q K^T /
 * sqrt(d) [seq, seq] in float32, a softmax per row (max subtracted), then O = P V; heads
 * one after another, so the workspace is one head's seq^2 floats (256 MiB at seq 8192).
 * Single-threaded; binds the input. */
#include <math.h>

#include "cpu_impls.h"
#include "nnshape.h"

typedef struct attn_state {
    nn_attn a;
    const float *q, *k, *v;
    float *s; /* [seq, seq], one head */
    float *o; /* [heads, seq, d] */
} attn_state;

int attn_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    nn_attn a;
    (void)ctx;
    return nn_attn_shape(p, 1, &a, why, n);
}

int attn_naive_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    nn_attn a;
    (void)ctx;
    *stp = NULL;
    if (nn_attn_shape(p, 1, &a, why, sizeof why))
        return sono_fail(err, SONO_EUNSUPPORTED, "cpu/naive attention: %s", why);
    attn_state *st = calloc(1, sizeof *st);
    float *s = amalloc(a.seq * a.seq * sizeof(float));
    float *o = amalloc(a.heads * a.per_head * sizeof(float));
    if (!st || !s || !o) {
        free(st);
        free(s);
        free(o);
        return sono_fail(err, SONO_ENOMEM, "cpu/naive attention: no memory for the score "
                         "matrix [%zu, %zu] and the output", a.seq, a.seq);
    }
    st->a = a;
    st->s = s;
    st->o = o;
    *stp = st;
    return 0;
}

int attn_naive_load(void *vst, const sono_buf *in, sono_error *err)
{
    attn_state *st = vst;
    size_t n = st->a.heads * st->a.per_head;
    int rc = nn_check_input("cpu/naive attention", in, 3 * n, err);
    if (rc)
        return rc;
    st->q = in->data;
    st->k = st->q + n;
    st->v = st->k + n;
    return 0;
}

static void one_head(attn_state *st, size_t h)
{
    const nn_attn *a = &st->a;
    const float *q = st->q + h * a->per_head, *k = st->k + h * a->per_head,
                *v = st->v + h * a->per_head;
    float *o = st->o + h * a->per_head, scale = 1.0f / sqrtf((float)a->d);
    for (size_t i = 0; i < a->seq; i++) {
        size_t nk = a->causal ? i + 1 : a->seq;
        float *s = st->s + i * a->seq;
        for (size_t j = 0; j < nk; j++) {
            float acc = 0;
            for (size_t c = 0; c < a->d; c++)
                acc += q[i * a->d + c] * k[j * a->d + c];
            s[j] = acc * scale;
        }
    }
    for (size_t i = 0; i < a->seq; i++) {
        size_t nk = a->causal ? i + 1 : a->seq;
        float *s = st->s + i * a->seq, m = s[0], sum = 0;
        for (size_t j = 1; j < nk; j++)
            m = s[j] > m ? s[j] : m;
        for (size_t j = 0; j < nk; j++) {
            s[j] = expf(s[j] - m);
            sum += s[j];
        }
        float *oi = o + i * a->d, inv = 1.0f / sum;
        for (size_t c = 0; c < a->d; c++)
            oi[c] = 0;
        for (size_t j = 0; j < nk; j++) {
            float p = s[j] * inv;
            for (size_t c = 0; c < a->d; c++)
                oi[c] += p * v[j * a->d + c];
        }
    }
}

int attn_naive_run(void *vst)
{
    attn_state *st = vst;
    for (size_t h = 0; h < st->a.heads; h++)
        one_head(st, h);
    return 0;
}

int attn_naive_store(void *vst, sono_buf *out, sono_error *err)
{
    attn_state *st = vst;
    size_t n = st->a.heads * st->a.per_head;
    int rc = nn_check_output("cpu/naive attention", out, n, err);
    if (!rc)
        memcpy(out->data, st->o, n * sizeof(float));
    return rc;
}

void attn_naive_teardown(void *vst)
{
    attn_state *st = vst;
    if (st) {
        free(st->s);
        free(st->o);
    }
    free(st);
}

/* One head's score matrix and the output. */
size_t attn_naive_workspace(void *vst)
{
    const attn_state *st = vst;
    return (st->a.seq * st->a.seq + st->a.heads * st->a.per_head) * sizeof(float);
}
