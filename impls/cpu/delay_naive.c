/* delay_naive.c — cpu/naive for codes.delay: each codebook row is one memcpy into its
 * shifted place (delay) or out of it (undelay), the k leading and K - 1 - k trailing
 * slots of a delayed row filled with the pad token. Layouts: harness/ops/delay.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "gen_cpu.h"

typedef struct delay_state {
    long long B, K, T;
    int undelay;
    int32_t pad;
    const int32_t *x; /* bound to the input */
    int32_t *y;
} delay_state;

static long long out_elems(const delay_state *st)
{
    return st->B * st->K * (st->undelay ? st->T : st->T + st->K - 1);
}

int delay_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    long long threads = sono_param_int(p, "threads", 1);
    if (threads != 1) {
        snprintf(why, n, "single-threaded impl (threads=1 only), got threads=%lld", threads);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

void delay_naive_teardown(void *vst)
{
    delay_state *st = vst;
    if (st)
        free(st->y);
    free(st);
}

int delay_naive_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[200];
    int rc = delay_naive_supports(ctx, p, why, sizeof why);
    *stp = NULL;
    if (rc)
        return sono_fail(err, rc, "cpu/naive: %s", why);
    delay_state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cpu/naive: cannot allocate its state");
    st->B = sono_param_int(p, "batch", 1);
    st->K = sono_param_int(p, "K", 4);
    st->T = sono_param_int(p, "T", 1500);
    st->undelay = strcmp(sono_param_str(p, "direction", "delay"), "undelay") == 0;
    st->pad = (int32_t)sono_param_int(p, "pad", 2048);
    st->y = malloc((size_t)out_elems(st) * sizeof *st->y);
    if (!st->y) {
        delay_naive_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "cpu/naive: cannot allocate the output");
    }
    *stp = st;
    return 0;
}

int delay_naive_load(void *vst, const sono_buf *in, sono_error *err)
{
    delay_state *st = vst;
    long long need = st->B * st->K * (st->undelay ? st->T + st->K - 1 : st->T);
    if (in->dtype != SONO_I32 || sono_buf_elems(in) != need)
        return sono_fail(err, SONO_EINVAL, "cpu/naive: input must be i32 [%lld] codes; got "
                         "dtype %d, %lld elements", need, (int)in->dtype, sono_buf_elems(in));
    st->x = in->data;
    return 0;
}

int delay_naive_run(void *vst)
{
    delay_state *st = vst;
    long long K = st->K, T = st->T, S = T + K - 1;
    for (long long r = 0; r < st->B * K; r++) {
        long long k = r % K;
        if (st->undelay) {
            memcpy(st->y + r * T, st->x + r * S + k, (size_t)T * sizeof *st->y);
            continue;
        }
        int32_t *y = st->y + r * S;
        for (long long s = 0; s < k; s++)
            y[s] = st->pad;
        memcpy(y + k, st->x + r * T, (size_t)T * sizeof *y);
        for (long long s = k + T; s < S; s++)
            y[s] = st->pad;
    }
    return 0;
}

int delay_naive_store(void *vst, sono_buf *out, sono_error *err)
{
    delay_state *st = vst;
    size_t need = (size_t)out_elems(st) * sizeof(int32_t);
    if (out->dtype != SONO_I32 || out->nbytes < need)
        return sono_fail(err, SONO_EINVAL, "cpu/naive: output must be i32 [%lld] codes",
                         out_elems(st));
    memcpy(out->data, st->y, need);
    return 0;
}

size_t delay_naive_workspace(void *vst)
{
    return (size_t)out_elems(vst) * sizeof(int32_t);
}
