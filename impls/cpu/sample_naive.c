/* sample_naive.c — cpu/naive for sample.topk: each row by impls/common/sample_cpu.c (qsort,
 * expf weights over the top k, sequential sums for the top-p cut and the draw), u from
 * impls/common/philox.h, the same draw the cuda impl makes. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "gen_cpu.h"
#include "philox.h"
#include "sample_cpu.h"

typedef struct sample_state {
    long long B, C, V, k;
    float temp, top_p;
    uint64_t seed;
    const float *l; /* bound to the input */
    sample_pair *row; /* [V] */
    float *w;       /* [V] */
    int32_t *tok;   /* [B, C] */
} sample_state;

static int say(char *why, size_t n, const char *msg, long long v)
{
    snprintf(why, n, msg, v);
    return SONO_EUNSUPPORTED;
}

int sample_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    long long threads = sono_param_int(p, "threads", 1), V = sono_param_int(p, "V", 2048);
    if (threads != 1)
        return say(why, n, "single-threaded impl (threads=1 only), got threads=%lld", threads);
    if (V < 1 || V > INT32_MAX)
        return say(why, n, "V=%lld out of range", V);
    return 0;
}

void sample_naive_teardown(void *vst)
{
    sample_state *st = vst;
    if (!st)
        return;
    free(st->row);
    free(st->w);
    free(st->tok);
    free(st);
}

int sample_naive_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[200];
    int rc = sample_naive_supports(ctx, p, why, sizeof why);
    *stp = NULL;
    if (rc)
        return sono_fail(err, rc, "cpu/naive: %s", why);
    sample_state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cpu/naive: cannot allocate its state");
    st->B = sono_param_int(p, "batch", 1);
    st->C = sono_param_int(p, "codebooks", 8);
    st->V = sono_param_int(p, "V", 2048);
    st->k = sono_param_int(p, "top_k", 250);
    if (st->k <= 0 || st->k > st->V)
        st->k = st->V;
    st->temp = (float)sono_param_real(p, "temperature", 0.8);
    st->top_p = (float)sono_param_real(p, "top_p", 1);
    st->seed = (uint64_t)sono_param_int(p, "seed", 1);
    st->row = malloc((size_t)st->V * sizeof *st->row);
    st->w = malloc((size_t)st->V * sizeof *st->w);
    st->tok = malloc((size_t)(st->B * st->C) * sizeof *st->tok);
    if (!st->row || !st->w || !st->tok) {
        sample_naive_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "cpu/naive: cannot allocate V=%lld",
                         (long long)sono_param_int(p, "V", 2048));
    }
    *stp = st;
    return 0;
}

int sample_naive_load(void *vst, const sono_buf *in, sono_error *err)
{
    sample_state *st = vst;
    long long need = st->B * st->C * st->V;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != need)
        return sono_fail(err, SONO_EINVAL, "cpu/naive: input must be f32 [%lld, %lld, %lld] "
                         "logits; got dtype %d, %lld elements", st->B, st->C, st->V,
                         (int)in->dtype, sono_buf_elems(in));
    st->l = in->data;
    return 0;
}

int sample_naive_run(void *vst)
{
    sample_state *st = vst;
    for (long long b = 0; b < st->B; b++)
        for (long long c = 0; c < st->C; c++) {
            float u = philox_u24(st->seed, (uint32_t)b, (uint32_t)c, 0);
            st->tok[b * st->C + c] = sample_cpu_row(st->l + (b * st->C + c) * st->V, st->V, st->temp,
                                                    st->k, st->top_p, u, st->row, st->w);
        }
    return 0;
}

int sample_naive_store(void *vst, sono_buf *out, sono_error *err)
{
    sample_state *st = vst;
    size_t need = (size_t)(st->B * st->C) * sizeof(int32_t);
    if (out->dtype != SONO_I32 || out->nbytes < need)
        return sono_fail(err, SONO_EINVAL, "cpu/naive: output must be i32 [%lld, %lld]",
                         st->B, st->C);
    memcpy(out->data, st->tok, need);
    return 0;
}

size_t sample_naive_workspace(void *vst)
{
    const sample_state *st = vst;
    return (size_t)st->V * (sizeof(sample_pair) + sizeof(float)) +
           (size_t)(st->B * st->C) * sizeof(int32_t);
}
