/* whisper_naive.c — cpu/naive for whisper.encoder: the definitions as loops in float32
 * (the conv stem direct, every linear layer a dot product per output, attention one query
 * at a time with its scores, softmax and weighted sum of V); the rest is the shared body
 * (impls/common/whisper_net.c). */
#include <math.h>
#include <stdlib.h>

#include "cpu_impls.h"
#include "whisper_net.h"
#include "nndtype.h"

static void linear(const float *x, long long rows, int in, const float *w, const float *b,
                   int out, float *y, int add, int gelu)
{
    for (long long r = 0; r < rows; r++)
        for (int o = 0; o < out; o++) {
            const float *xr = x + (size_t)r * in, *wr = w + (size_t)o * in;
            float s = b ? b[o] : 0.0f;
            for (int i = 0; i < in; i++)
                s += xr[i] * wr[i];
            float *yo = y + (size_t)r * out + o;
            s = add ? *yo + s : s;
            *yo = gelu ? wn_gelu(s) : s;
        }
}

static void attention(const float *q, const float *k, const float *v, long long T, int heads,
                      int dh, int ld, float *o, float *s)
{
    float scale = 1.0f / sqrtf((float)dh);
    for (int j = 0; j < heads; j++)
        for (long long t = 0; t < T; t++) {
            const float *qt = q + (size_t)t * ld + (size_t)j * dh;
            float mx = -INFINITY, sum = 0;
            for (long long u = 0; u < T; u++) {
                const float *ku = k + (size_t)u * ld + (size_t)j * dh;
                float a = 0;
                for (int c = 0; c < dh; c++)
                    a += qt[c] * ku[c];
                s[u] = a * scale;
                mx = fmaxf(mx, s[u]);
            }
            float *ot = o + (size_t)t * ld + (size_t)j * dh;
            for (int c = 0; c < dh; c++)
                ot[c] = 0;
            for (long long u = 0; u < T; u++) {
                float e = expf(s[u] - mx);
                const float *vu = v + (size_t)u * ld + (size_t)j * dh;
                sum += e;
                for (int c = 0; c < dh; c++)
                    ot[c] += e * vu[c];
            }
            for (int c = 0; c < dh; c++)
                ot[c] /= sum;
        }
}

/* conv1 (k 3, pad 1) and conv2 (k 3, stride 2, pad 1) by their sums. */
static void stem(const wn_model *m, const float *x, float *a1, float *h, float *col)
{
    (void)col;
    long long F = m->frames;
    int M = m->n_mels, D = m->d;
    for (long long t = 0; t < F; t++)
        for (int o = 0; o < D; o++) {
            float s = m->c1b[o];
            for (int i = 0; i < M; i++)
                for (int k = 0; k < 3; k++) {
                    long long u = t + k - 1;
                    if (u >= 0 && u < F)
                        s += m->c1w[((size_t)o * M + i) * 3 + k] * x[(size_t)i * F + u];
                }
            a1[(size_t)t * D + o] = wn_gelu(s);
        }
    for (long long t = 0; t < m->T; t++)
        for (int o = 0; o < D; o++) {
            float s = m->c2b[o];
            for (int i = 0; i < D; i++)
                for (int k = 0; k < 3; k++) {
                    long long u = 2 * t + k - 1;
                    if (u >= 0 && u < F)
                        s += m->c2w[((size_t)o * D + i) * 3 + k] * a1[(size_t)u * D + i];
                }
            h[(size_t)t * D + o] = wn_gelu(s);
        }
}

static const wn_kernels kernels = {.linear = linear, .attention = attention, .stem = stem};

typedef struct nstate {
    wn_model m;
    wn_run r;
    const float *in;
    float *out;
} nstate;

int whisper_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    wn_model m;
    if (sono_param_int(p, "threads", 1) != 1) {
        snprintf(why, n, "cpu/naive runs one thread");
        return SONO_EUNSUPPORTED;
    }
    return wn_dims(p, &m, why, n) ? SONO_EUNSUPPORTED : 0;
}

void whisper_naive_teardown(void *vst)
{
    nstate *st = vst;
    if (!st)
        return;
    wn_run_free(&st->r);
    wn_free(&st->m);
    free(st->out);
    free(st);
}

int whisper_naive_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    (void)ctx;
    nstate *st = calloc(1, sizeof *st);
    *stp = NULL;
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cpu/naive whisper: out of memory");
    int rc = wn_load(p, &st->m, err);
    if (!rc)
        rc = wn_run_alloc(&st->r, &st->m, &kernels, err);
    size_t no = (size_t)(st->m.batch * st->m.T * st->m.d);
    if (!rc && !(st->out = malloc(no * sizeof(float))))
        rc = sono_fail(err, SONO_ENOMEM, "cpu/naive whisper: out of memory");
    if (rc) {
        whisper_naive_teardown(st);
        return rc;
    }
    *stp = st;
    return 0;
}

int whisper_naive_load(void *vst, const sono_buf *in, sono_error *err)
{
    nstate *st = vst;
    long long want = st->m.batch * st->m.n_mels * st->m.frames;
    if (sono_buf_elems(in) != want)
        return sono_fail(err, SONO_EINVAL, "whisper: input has %lld values, want %lld",
                         sono_buf_elems(in), want);
    st->in = in->data;
    return 0;
}

int whisper_naive_run(void *vst)
{
    nstate *st = vst;
    wn_forward(&st->r, st->in, st->out);
    return 0;
}

int whisper_naive_store(void *vst, sono_buf *out, sono_error *err)
{
    nstate *st = vst;
    size_t no = (size_t)(st->m.batch * st->m.T * st->m.d);
    if ((size_t)sono_buf_elems(out) != no)
        return sono_fail(err, SONO_EINVAL, "whisper: output has %lld values, want %zu",
                         sono_buf_elems(out), no);
    memcpy(out->data, st->out, no * sizeof(float));
    return 0;
}

size_t whisper_naive_workspace(void *vst)
{
    nstate *st = vst;
    return st->m.weight_floats * sizeof(float) + st->r.bytes;
}

int whisper_naive_describe(void *vst, char *buf, size_t n)
{
    nstate *st = vst;
    snprintf(buf, n, "weights: %s (names %s); d=%d, %d layers, %d heads, %lld frames x %lld "
             "clips", st->m.path, st->m.prefix, st->m.d, st->m.layers, st->m.heads,
             st->m.frames, st->m.batch);
    nn_dtype_append(buf, n, st->m.dtnote); /* issue 26: float32 loops on rounded inputs */
    return 0;
}
