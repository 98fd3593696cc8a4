/* nnshape.c — conv1d and attention params into the sizes the impls use, each limit with
 * its reason for supports(); the input and output checks of load() and store(). */
#include "nnshape.h"

#include <stdarg.h>
#include <stdint.h>
#include <string.h>

/* Far past a real case, and small enough that float counts times 8 never overflow. */
#define MAX_VALUES (1ULL << 31)

__attribute__((format(printf, 3, 4))) static int say(char *why, size_t n, const char *fmt,
                                                     ...)
{
    if (why && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, n, fmt, ap);
        va_end(ap);
    }
    return SONO_EUNSUPPORTED;
}

static int threads_ok(const sono_params *p, int threads_max, char *why, size_t n)
{
    long long t = sono_param_int(p, "threads", 1);
    if (t < 1 || t > threads_max)
        return threads_max == 1
                   ? say(why, n, "single-threaded impl (threads=1 only), got threads=%lld", t)
                   : say(why, n, "threads=%lld must be in [1, %d]", t, threads_max);
    return 0;
}

int nn_conv_shape(const sono_params *p, int threads_max, nn_conv *c, char *why, size_t n)
{
    memset(c, 0, sizeof *c);
    if (threads_ok(p, threads_max, why, n))
        return SONO_EUNSUPPORTED;
    long long v[7];
    static const char *const names[7] = {"cin", "cout", "kernel", "stride",
                                         "dilation", "groups", "length"};
    for (int i = 0; i < 7; i++) {
        if (!sono_param_find(p, names[i]))
            return say(why, n, "parameter %s is missing", names[i]);
        v[i] = sono_param_int(p, names[i], 0);
        if (v[i] < 1 || (unsigned long long)v[i] > (1ULL << 26))
            return say(why, n, "%s=%lld must be in [1, 2^26]", names[i], v[i]);
    }
    c->cin = (size_t)v[0], c->cout = (size_t)v[1], c->k = (size_t)v[2];
    c->stride = (size_t)v[3], c->dil = (size_t)v[4], c->groups = (size_t)v[5];
    c->T = (size_t)v[6];
    c->transposed = sono_param_int(p, "transposed", 0) != 0;
    c->causal = sono_param_int(p, "causal", 1) != 0;
    const char *act = sono_param_str(p, "activation", "none");
    c->act = !strcmp(act, "elu") ? NN_ACT_ELU : !strcmp(act, "snake") ? NN_ACT_SNAKE
                                                                      : NN_ACT_NONE;
    if (c->act == NN_ACT_NONE && strcmp(act, "none") != 0)
        return say(why, n, "activation=%s: none, elu or snake", act);
    if (c->cin % c->groups || c->cout % c->groups)
        return say(why, n, "groups=%zu must divide cin=%zu and cout=%zu", c->groups, c->cin,
                   c->cout);
    c->cig = c->cin / c->groups;
    c->cog = c->cout / c->groups;
    size_t span = c->dil * (c->k - 1); /* < 2^52 */
    if (c->transposed) {
        c->full = (c->T - 1) * c->stride + span + 1;
        c->tout = c->full - (c->causal && span + 1 > c->stride ? span + 1 - c->stride : 0);
    } else {
        c->pad = c->causal ? span : 0;
        if (c->T + c->pad <= span)
            return say(why, n, "length=%zu is shorter than the kernel's span %zu (causal=0)",
                       c->T, span + 1);
        c->tout = (c->T + c->pad - span - 1) / c->stride + 1;
    }
    size_t longest = c->transposed ? c->full : c->tout;
    if (c->cin > MAX_VALUES / c->T || c->cout > MAX_VALUES / longest ||
        c->cin * c->cog > MAX_VALUES / c->k)
        return say(why, n, "an operand exceeds 2^31 values");
    c->nx = c->cin * c->T;
    c->nw = c->cin * c->cog * c->k; /* = cout * cig * k */
    c->nin = c->nx + c->nw + c->cout * (c->act == NN_ACT_SNAKE ? 2 : 1);
    return 0;
}

int nn_attn_shape(const sono_params *p, int threads_max, nn_attn *a, char *why, size_t n)
{
    memset(a, 0, sizeof *a);
    if (threads_ok(p, threads_max, why, n))
        return SONO_EUNSUPPORTED;
    long long seq = sono_param_int(p, "seq", 0), heads = sono_param_int(p, "heads", 0),
              d = sono_param_int(p, "head_dim", 0);
    if (seq < 1 || seq > (1 << 20) || heads < 1 || heads > 4096 || d < 1 || d > 4096)
        return say(why, n, "seq=%lld, heads=%lld, head_dim=%lld out of range", seq, heads, d);
    a->seq = (size_t)seq, a->heads = (size_t)heads, a->d = (size_t)d;
    a->causal = sono_param_int(p, "causal", 0) != 0;
    long long w = sono_param_int(p, "window", 0);
    if (w < 0 || (w > 0 && !a->causal))
        return say(why, n, "window=%lld needs causal=1 and must be >= 0", w);
    a->window = (size_t)w;
    a->per_head = a->seq * a->d;
    if (a->per_head > MAX_VALUES / a->heads / 3)
        return say(why, n, "3*heads*seq*head_dim exceeds 2^31 values");
    return 0;
}

int nn_check_input(const char *who, const sono_buf *in, size_t want, sono_error *err)
{
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != (long long)want ||
        in->nbytes < want * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "%s: input must be f32 [%zu] (packed operands); "
                         "got dtype %d, %lld elements, %zu bytes", who, want, (int)in->dtype,
                         sono_buf_elems(in), in->nbytes);
    return 0;
}

int nn_check_output(const char *who, const sono_buf *out, size_t want, sono_error *err)
{
    if (out->dtype != SONO_F32 || out->nbytes < want * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "%s: output must be f32 with %zu values; got "
                         "dtype %d, %zu bytes", who, want, (int)out->dtype, out->nbytes);
    return 0;
}
