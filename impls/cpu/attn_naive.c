/* attn_naive.c — cpu/naive for attention: per head, the whole score matrix S = Q K^T /
 * sqrt(d) [seq, seq] in float32 (row by row: a row's scores, its softmax with the max
 * subtracted, then P V), heads one after another, so the workspace is one head's seq^2
 * floats (256 MiB at seq 8192). Streaming (causal, issue 12): a KV cache that each token
 * appends to (a ring of `window` slots under a sliding window), made on the first stream,
 * and the same row kernel, so streamed rows equal the offline ones bit for bit; the row
 * kernel is attn_step.c's too. Single-threaded; binds the input. */
#include <math.h>

#include "nndtype.h"
#include "cpu_impls.h"
#include "nnshape.h"

typedef struct attn_state {
    nn_attn a;
    const float *q, *k, *v;
    float *s;      /* [seq, seq]: one head's scores, then weights */
    float *o;      /* [heads, seq, d] */
    float *kc, *vc; /* streaming: [heads, cap, d] key and value caches */
    size_t cap;    /* slots per head: window, or seq without one */
    long long next; /* streaming: the next token expected */
    char dtnote[80]; /* issue 26: "dtype: bf16 via fp32 ...", "" at f32 */
} attn_state;

int attn_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    nn_attn a;
    (void)ctx;
    return nn_attn_shape(p, 1, &a, why, n);
}

void attn_naive_teardown(void *vst)
{
    attn_state *st = vst;
    if (st) {
        free(st->s);
        free(st->o);
        free(st->kc);
        free(st->vc);
    }
    free(st);
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
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cpu/naive attention: no memory for its state");
    nn_dtype_via_f32(p, st->dtnote, sizeof st->dtnote);
    st->a = a;
    st->cap = a.window && a.window < a.seq ? a.window : a.seq;
    st->s = amalloc(a.seq * a.seq * sizeof(float));
    st->o = amalloc(a.heads * a.per_head * sizeof(float));
    if (!st->s || !st->o) {
        attn_naive_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "cpu/naive attention: no memory for the score "
                         "matrix [%zu, %zu] and the output", a.seq, a.seq);
    }
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

void attn_naive_row(const float *q, const float *K, const float *V, size_t cap, size_t j0,
                    size_t j1, size_t d, float *s, float *o)
{
    float scale = 1.0f / sqrtf((float)d);
    for (size_t j = j0; j < j1; j++) {
        const float *kj = K + (j % cap) * d;
        float acc = 0;
        for (size_t c = 0; c < d; c++)
            acc += q[c] * kj[c];
        s[j - j0] = acc * scale;
    }
    size_t nk = j1 - j0;
    float m = s[0], sum = 0;
    for (size_t j = 1; j < nk; j++)
        m = s[j] > m ? s[j] : m;
    for (size_t j = 0; j < nk; j++) {
        s[j] = expf(s[j] - m);
        sum += s[j];
    }
    float inv = 1.0f / sum;
    for (size_t c = 0; c < d; c++)
        o[c] = 0;
    for (size_t j = 0; j < nk; j++) {
        float p = s[j] * inv;
        const float *vj = V + ((j0 + j) % cap) * d;
        for (size_t c = 0; c < d; c++)
            o[c] += p * vj[c];
    }
}

int attn_naive_run(void *vst)
{
    attn_state *st = vst;
    const nn_attn *a = &st->a;
    for (size_t h = 0; h < a->heads; h++) {
        const float *K = st->k + h * a->per_head, *V = st->v + h * a->per_head;
        for (size_t i = 0; i < a->seq; i++) {
            size_t j0 = a->causal ? nn_attn_first(a, i) : 0, j1 = a->causal ? i + 1 : a->seq;
            attn_naive_row(st->q + h * a->per_head + i * a->d, K, V, a->seq, j0, j1, a->d,
                           st->s + i * a->seq, st->o + h * a->per_head + i * a->d);
        }
    }
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

/* One head's score matrix and the output; once streamed, the KV cache. */
size_t attn_naive_workspace(void *vst)
{
    const attn_state *st = vst;
    size_t cache = st->kc ? 2 * st->a.heads * st->cap * st->a.d : 0;
    return (st->a.seq * st->a.seq + st->a.heads * st->a.per_head + cache) * sizeof(float);
}

/* The cache is made on the first stream (not timed), so offline cases do not carry it. */
int attn_naive_stream_begin(void *vst, sono_error *err)
{
    attn_state *st = vst;
    const nn_attn *a = &st->a;
    if (!a->causal)
        return sono_fail(err, SONO_EUNSUPPORTED, "cpu/naive attention: streams only with "
                         "causal=1");
    if (!st->kc) {
        st->kc = amalloc(a->heads * st->cap * a->d * sizeof(float));
        st->vc = amalloc(a->heads * st->cap * a->d * sizeof(float));
        if (!st->kc || !st->vc) {
            free(st->kc);
            free(st->vc);
            st->kc = st->vc = NULL;
            return sono_fail(err, SONO_ENOMEM, "cpu/naive attention: no memory for a KV cache "
                             "of %zu tokens x %zu heads x %zu", st->cap, a->heads, a->d);
        }
    }
    st->next = 0;
    return 0;
}

/* Token t's k and v go into slot t % cap of each head's cache (overwriting token t - cap,
 * which no later query sees); its query attends to the slots of tokens first(t)..t. */
int attn_naive_push(void *vst, long long t0, long long n, int last, sono_buf *out,
                    long long *done, sono_error *err)
{
    attn_state *st = vst;
    const nn_attn *a = &st->a;
    (void)last;
    if (t0 != st->next || n < 1 || t0 + n > (long long)a->seq)
        return sono_fail(err, SONO_EINVAL, "cpu/naive attention: push of tokens [%lld, %lld) "
                         "after %lld of %zu", t0, t0 + n, st->next, a->seq);
    int rc = nn_check_output("cpu/naive attention", out, a->heads * a->per_head, err);
    if (rc)
        return rc;
    float *y = out->data;
    for (size_t t = (size_t)t0; t < (size_t)(t0 + n); t++)
        for (size_t h = 0; h < a->heads; h++) {
            size_t src = h * a->per_head + t * a->d, slot = (h * st->cap + t % st->cap) * a->d;
            memcpy(st->kc + slot, st->k + src, a->d * sizeof(float));
            memcpy(st->vc + slot, st->v + src, a->d * sizeof(float));
            attn_naive_row(st->q + src, st->kc + h * st->cap * a->d,
                           st->vc + h * st->cap * a->d, st->cap, nn_attn_first(a, t), t + 1,
                           a->d, st->s, y + src);
        }
    st->next = t0 + n;
    *done = st->next;
    return 0;
}

/* issue 26: only the dtype the case asked for (empty at f32, as before) */
int attn_naive_describe(void *vst, char *buf, size_t n)
{
    snprintf(buf, n, "%s", ((attn_state *)vst)->dtnote);
    return 0;
}
