/* attn_step_gemv.c — blas/gemv for attention.step: the ring KV cache of nnstep.h filled in
 * load; run appends the new token's k and v and attends its query with attn_gemm.c's row
 * (two SGEMVs per contiguous run of slots: scores, then the weighted sum of V). A decode
 * step is matrix-vector work, memory-bound on the cache. Threads: OpenBLAS's. */
#include <cblas.h>
#include <string.h>

#include "nndtype.h"
#include "blas_impls.h"
#include "nnstep.h"

typedef struct step_state {
    nn_step a;
    int threads;
    float *kc, *vc; /* [heads, cap, d] */
    float *s;       /* [nk] */
    float *o;       /* [heads, d] */
    const float *q, *k, *v;
    char dtnote[80]; /* issue 26: "dtype: bf16 via fp32 ...", "" at f32 */
} step_state;

int attn_step_gemv_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    nn_step a;
    (void)ctx;
    int rc = nn_step_shape(p, 1024, &a, why, n);
    if (!rc && (a.nk > INT32_MAX || a.d > INT32_MAX)) {
        snprintf(why, n, "cache_len or head_dim exceeds INT_MAX (CBLAS takes int)");
        return SONO_EUNSUPPORTED;
    }
    return rc ? rc : blas_threads_ok(p, why, n);
}

void attn_step_gemv_teardown(void *vst)
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

int attn_step_gemv_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    int rc;
    *stp = NULL;
    if ((rc = attn_step_gemv_supports(ctx, p, why, sizeof why)))
        return sono_fail(err, rc, "blas/gemv attention.step: %s", why);
    step_state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "blas/gemv attention.step: no memory");
    nn_dtype_via_f32(p, st->dtnote, sizeof st->dtnote);
    nn_step_shape(p, 1024, &st->a, why, sizeof why);
    const nn_step a0 = st->a, *a = &a0;
    st->threads = (int)sono_param_int(p, "threads", 1);
    st->kc = blas_alloc(a->heads * a->cap * a->d * sizeof(float));
    st->vc = blas_alloc(a->heads * a->cap * a->d * sizeof(float));
    st->s = blas_alloc(a->nk * sizeof(float));
    st->o = blas_alloc(a->heads * a->d * sizeof(float));
    if (!st->kc || !st->vc || !st->s || !st->o) {
        attn_step_gemv_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "blas/gemv attention.step: no memory for a KV "
                         "cache of %zu tokens x %zu heads x %zu", a->cap, a->heads, a->d);
    }
    openblas_set_num_threads(st->threads);
    *stp = st;
    return 0;
}

int attn_step_gemv_load(void *vst, const sono_buf *in, sono_error *err)
{
    step_state *st = vst;
    const nn_step *a = &st->a;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != (long long)a->nin)
        return sono_fail(err, SONO_EINVAL, "blas/gemv attention.step: input must be f32 [%zu] "
                         "(Kc, Vc, q, k, v); got dtype %d, %lld elements", a->nin,
                         (int)in->dtype, sono_buf_elems(in));
    nn_step_fill(a, in->data, st->kc, st->vc);
    st->q = (const float *)in->data + 2 * a->heads * a->len * a->d;
    st->k = st->q + a->heads * a->d;
    st->v = st->k + a->heads * a->d;
    return 0;
}

/* Slot L % cap gets the same k and v on every run: runs repeat. */
int attn_step_gemv_run(void *vst)
{
    step_state *st = vst;
    const nn_step *a = &st->a;
    for (size_t h = 0; h < a->heads; h++) {
        float *kc = st->kc + h * a->cap * a->d, *vc = st->vc + h * a->cap * a->d;
        size_t slot = (a->len % a->cap) * a->d;
        memcpy(kc + slot, st->k + h * a->d, a->d * sizeof(float));
        memcpy(vc + slot, st->v + h * a->d, a->d * sizeof(float));
        attn_gemv_row(st->q + h * a->d, kc, vc, a->cap, a->first, a->len + 1, a->d, st->s,
                      st->o + h * a->d);
    }
    return 0;
}

int attn_step_gemv_store(void *vst, sono_buf *out, sono_error *err)
{
    step_state *st = vst;
    size_t n = st->a.heads * st->a.d;
    if (out->dtype != SONO_F32 || out->nbytes < n * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "blas/gemv attention.step: output must be f32 "
                         "[%zu, %zu]", st->a.heads, st->a.d);
    memcpy(out->data, st->o, n * sizeof(float));
    return 0;
}

int attn_step_gemv_describe(void *vst, char *buf, size_t n)
{
    const step_state *st = vst;
    char c[200];
    nn_step_describe(&st->a, c, sizeof c);
    snprintf(buf, n, "%s; OpenBLAS threads=%d (asked %d)", c, openblas_get_num_threads(),
             st->threads);
    nn_dtype_append(buf, n, st->dtnote);
    return 0;
}

/* The KV cache (the memory a stream holds per layer), one row of scores, the output. */
size_t attn_step_gemv_workspace(void *vst)
{
    const step_state *st = vst;
    const nn_step *a = &st->a;
    return (2 * a->heads * a->cap * a->d + a->nk + a->heads * a->d) * sizeof(float);
}
