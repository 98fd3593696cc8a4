/* attn_step.c — cpu/naive for attention.step: a KV cache of its own (the last `window`
 * tokens in a ring, else all L + 1), filled from the packed cache in load; run appends the
 * new token's k and v and attends its query with attn_naive.c's row kernel, so the step
 * is bit for bit row L of cpu/naive attention. Single-threaded. */
#include "nndtype.h"
#include "cpu_impls.h"
#include "nnstep.h"

typedef struct step_state {
    nn_step a;
    float *kc, *vc; /* [heads, cap, d] */
    float *s;       /* [nk] scores */
    float *o;       /* [heads, d] */
    const float *q, *k, *v; /* the new token's, bound in load */
    char dtnote[80]; /* issue 26: "dtype: bf16 via fp32 ...", "" at f32 */
} step_state;

int attn_step_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    nn_step a;
    (void)ctx;
    return nn_step_shape(p, 1, &a, why, n);
}

void attn_step_naive_teardown(void *vst)
{
    step_state *st = vst;
    if (st) {
        free(st->kc);
        free(st->vc);
        free(st->s);
        free(st->o);
    }
    free(st);
}

int attn_step_naive_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    nn_step a;
    (void)ctx;
    *stp = NULL;
    if (nn_step_shape(p, 1, &a, why, sizeof why))
        return sono_fail(err, SONO_EUNSUPPORTED, "cpu/naive attention.step: %s", why);
    step_state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cpu/naive attention.step: no memory");
    nn_dtype_via_f32(p, st->dtnote, sizeof st->dtnote);
    st->a = a;
    st->kc = amalloc(a.heads * a.cap * a.d * sizeof(float));
    st->vc = amalloc(a.heads * a.cap * a.d * sizeof(float));
    st->s = amalloc(a.nk * sizeof(float));
    st->o = amalloc(a.heads * a.d * sizeof(float));
    if (!st->kc || !st->vc || !st->s || !st->o) {
        attn_step_naive_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "cpu/naive attention.step: no memory for a KV "
                         "cache of %zu tokens x %zu heads x %zu", a.cap, a.heads, a.d);
    }
    *stp = st;
    return 0;
}

int attn_step_naive_load(void *vst, const sono_buf *in, sono_error *err)
{
    step_state *st = vst;
    const nn_step *a = &st->a;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != (long long)a->nin)
        return sono_fail(err, SONO_EINVAL, "cpu/naive attention.step: input must be f32 [%zu] "
                         "(Kc, Vc, q, k, v); got dtype %d, %lld elements", a->nin,
                         (int)in->dtype, sono_buf_elems(in));
    nn_step_fill(a, in->data, st->kc, st->vc);
    st->q = (const float *)in->data + 2 * a->heads * a->len * a->d;
    st->k = st->q + a->heads * a->d;
    st->v = st->k + a->heads * a->d;
    return 0;
}

/* Appending to slot L % cap again on the next run rewrites the same values: runs repeat. */
int attn_step_naive_run(void *vst)
{
    step_state *st = vst;
    const nn_step *a = &st->a;
    for (size_t h = 0; h < a->heads; h++) {
        float *kc = st->kc + h * a->cap * a->d, *vc = st->vc + h * a->cap * a->d;
        size_t slot = (a->len % a->cap) * a->d;
        memcpy(kc + slot, st->k + h * a->d, a->d * sizeof(float));
        memcpy(vc + slot, st->v + h * a->d, a->d * sizeof(float));
        attn_naive_row(st->q + h * a->d, kc, vc, a->cap, a->first, a->len + 1, a->d, st->s,
                       st->o + h * a->d);
    }
    return 0;
}

int attn_step_naive_store(void *vst, sono_buf *out, sono_error *err)
{
    step_state *st = vst;
    size_t n = st->a.heads * st->a.d;
    if (out->dtype != SONO_F32 || out->nbytes < n * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "cpu/naive attention.step: output must be f32 "
                         "[%zu, %zu]", st->a.heads, st->a.d);
    memcpy(out->data, st->o, n * sizeof(float));
    return 0;
}

/* The KV cache (the memory a stream holds per layer), one row of scores, the output. */
size_t attn_step_naive_workspace(void *vst)
{
    const step_state *st = vst;
    const nn_step *a = &st->a;
    return (2 * a->heads * a->cap * a->d + a->nk + a->heads * a->d) * sizeof(float);
}

int attn_step_naive_describe(void *vst, char *buf, size_t n)
{
    int rc = nn_step_describe(&((step_state *)vst)->a, buf, n);
    nn_dtype_append(buf, n, ((step_state *)vst)->dtnote);
    return rc;
}
