/* maskgit_naive.c — cpu/naive for maskgit.step (one float32 iteration on a copy of the
 * tokens) and maskgit.decode (the MLP by loops, frame by frame), both over
 * impls/common/maskgit_cpu.c. Layouts: harness/ops/maskgit.c. */
#include <stdio.h>
#include <stdlib.h>

#include "gen_cpu.h"
#include "maskgit_cpu.h"

typedef struct mg_naive {
    int decode;
    /* step */
    long long L, F, K, level, t, iters;
    float temp;
    uint64_t seed;
    const float *in;
    int32_t *tok;
    mg_scratch s;
    /* decode */
    mg_dec dec;
    float *h, *a;
} mg_naive;

const int maskgit_naive_kinds[2] = {0, 1};

int maskgit_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    long long threads = sono_param_int(p, "threads", 1);
    if (threads != 1) {
        snprintf(why, n, "single-threaded impl (threads=1 only), got threads=%lld", threads);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

void maskgit_naive_teardown(void *vst)
{
    mg_naive *st = vst;
    if (!st)
        return;
    free(st->tok);
    mg_scratch_free(&st->s);
    mg_dec_free(&st->dec);
    free(st->h);
    free(st->a);
    free(st);
}

int maskgit_naive_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[200];
    *stp = NULL;
    if (maskgit_naive_supports(ctx, p, why, sizeof why))
        return sono_fail(err, SONO_EUNSUPPORTED, "cpu/naive: %s", why);
    mg_naive *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cpu/naive: cannot allocate its state");
    st->decode = *(const int *)ctx;
    if (st->decode) {
        int rc = mg_dec_init(p, "cpu/naive", &st->dec, err);
        if (rc) {
            free(st);
            return rc;
        }
        st->h = malloc((size_t)st->dec.d * sizeof *st->h);
        st->a = malloc((size_t)st->dec.d * sizeof *st->a);
        if (!st->h || !st->a) {
            maskgit_naive_teardown(st);
            return sono_fail(err, SONO_ENOMEM, "cpu/naive: cannot allocate d");
        }
        *stp = st;
        return 0;
    }
    st->L = sono_param_int(p, "levels", 8);
    st->F = sono_param_int(p, "frames", 500);
    st->K = sono_param_int(p, "K", 1024);
    st->level = sono_param_int(p, "level", 0);
    st->t = sono_param_int(p, "iter", 0);
    st->iters = sono_param_int(p, "iters", 16);
    st->temp = (float)sono_param_real(p, "temperature", 1);
    st->seed = (uint64_t)sono_param_int(p, "seed", 1);
    st->tok = malloc((size_t)(st->L * st->F) * sizeof *st->tok);
    if (!st->tok || mg_scratch_alloc(&st->s, st->F, st->K)) {
        maskgit_naive_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "cpu/naive: cannot allocate frames=%lld K=%lld",
                         (long long)sono_param_int(p, "frames", 500),
                         (long long)sono_param_int(p, "K", 1024));
    }
    *stp = st;
    return 0;
}

int maskgit_naive_load(void *vst, const sono_buf *in, sono_error *err)
{
    mg_naive *st = vst;
    if (st->decode)
        return mg_dec_load(&st->dec, in, err);
    long long need = st->L * st->F + st->F * st->K;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != need)
        return sono_fail(err, SONO_EINVAL, "cpu/naive: input must be f32 [%lld] (tokens, "
                         "logits); got dtype %d, %lld elements", need, (int)in->dtype,
                         sono_buf_elems(in));
    st->in = in->data;
    return 0;
}

static void loops(void *ctx, mg_dec *m, long long level, long long t, float temp)
{
    mg_naive *st = ctx;
    mg_logits_loops(m, level, st->h, st->a);
    mg_draw(m->cur, m->F, m->K, level, t, temp, m->seed, m->logits, 0, m->F, m->s.pairs,
            m->s.w, m->s.conf);
}

int maskgit_naive_run(void *vst)
{
    mg_naive *st = vst;
    if (st->decode) {
        mg_dec_run(&st->dec, loops, st);
        return 0;
    }
    for (long long i = 0; i < st->L * st->F; i++)
        st->tok[i] = (int32_t)st->in[i];
    mg_step(st->tok, st->L, st->F, st->K, st->level, st->t, st->iters, st->temp, st->seed,
            st->in + st->L * st->F, &st->s);
    return 0;
}

int maskgit_naive_store(void *vst, sono_buf *out, sono_error *err)
{
    mg_naive *st = vst;
    if (st->decode)
        return mg_dec_store(&st->dec, out, err);
    size_t need = (size_t)(st->L * st->F) * sizeof(int32_t);
    if (out->dtype != SONO_I32 || out->nbytes < need)
        return sono_fail(err, SONO_EINVAL, "cpu/naive: output must be i32 [%lld, %lld]",
                         st->L, st->F);
    memcpy(out->data, st->tok, need);
    return 0;
}

size_t maskgit_naive_workspace(void *vst)
{
    mg_naive *st = vst;
    if (st->decode)
        return mg_dec_bytes(&st->dec) + 2 * (size_t)st->dec.d * sizeof(float);
    return (size_t)(st->L * st->F) * 4 + (size_t)st->K * (sizeof(sample_pair) + 4) +
           (size_t)st->F * sizeof(mg_conf);
}
