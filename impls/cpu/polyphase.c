/* polyphase.c — impl cpu/polyphase of resample: a rational L/M polyphase FIR. The
 * prototype is a Kaiser-windowed sinc (100 dB, passband to 0.9 of the lower Nyquist, stop
 * band from it), cut into L phases of 2K contiguous float taps in setup; run() pads the
 * input with K zeros each side and takes one dot product per output sample, in eight
 * float partial sums that the AVX2+FMA build turns into one vector register. */
#include <math.h>
#include <string.h>

#include "cpu_impls.h"

#define POLY_ATTEN_DB 100.0
#define POLY_PASS 0.9
#define POLY_MAX_PHASES 4096

typedef struct poly {
    long long n_in, n_out, L, M, K; /* taps per phase: 2K */
    float *coef;                    /* L * 2K, phase-major */
    float *pad;                     /* K + n_in + K + 2K */
    const float *in;
    float *out;
    int avx2;
} poly;

static long long gcd(long long a, long long b)
{
    while (b) {
        long long t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static double i0(double x)
{
    double sum = 1, term = 1, q = x * x / 4;
    for (int k = 1; k < 200 && term > 1e-17 * sum; k++) {
        term *= q / ((double)k * k);
        sum += term;
    }
    return sum;
}

int poly_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    long long ri = sono_param_int(p, "rate_in", 44100), ro = sono_param_int(p, "rate_out", 16000);
    if (sono_param_int(p, "threads", 1) != 1) {
        snprintf(why, n, "single-threaded (threads=1 only)");
        return SONO_EUNSUPPORTED;
    }
    if (ro / gcd(ri, ro) > POLY_MAX_PHASES) {
        snprintf(why, n, "%lld -> %lld Hz needs %lld phases; at most %d", ri, ro,
                 ro / gcd(ri, ro), POLY_MAX_PHASES);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

void poly_teardown(void *vst)
{
    poly *st = vst;
    if (!st)
        return;
    free(st->coef);
    free(st->pad);
    free(st->out);
    free(st);
}

int poly_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[128];
    *stp = NULL;
    if (poly_supports(ctx, p, why, sizeof why))
        return sono_fail(err, SONO_EUNSUPPORTED, "%s", why);
    long long ri = sono_param_int(p, "rate_in", 44100), ro = sono_param_int(p, "rate_out", 16000);
    poly *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cpu/polyphase: no memory for its state");
    long long g = gcd(ri, ro);
    st->L = ro / g;
    st->M = ri / g;
    st->n_in = llround(sono_param_real(p, "seconds", 10) * (double)ri);
    st->n_out = st->n_in * ro / ri;
    /* Kaiser: beta and the half-length for a 0.1 fL transition, in input samples */
    double fl = 0.5 * (double)(ri < ro ? ri : ro);
    double fc = 0.5 * (1 + POLY_PASS) * fl / (double)ri;
    double dw = TWO_PI * (1 - POLY_PASS) * fl / (double)ri;
    double beta = 0.1102 * (POLY_ATTEN_DB - 8.7);
    st->K = (long long)ceil((POLY_ATTEN_DB - 7.95) / (2.285 * dw) / 2);
    long long taps = 2 * st->K;
    st->coef = amalloc((size_t)(st->L * taps) * sizeof(float));
    st->pad = amalloc((size_t)(st->n_in + 2 * taps) * sizeof(float));
    st->out = amalloc((size_t)st->n_out * sizeof(float));
    if (!st->coef || !st->pad || !st->out) {
        poly_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "cpu/polyphase: no memory for %lld phases of %lld "
                         "taps", ro / g, 2 * (long long)ceil((POLY_ATTEN_DB - 7.95) /
                         (2.285 * dw) / 2));
    }
    /* output j sits at t = j M / L = base + ph / L input samples; tap k multiplies
     * x[base - K + 1 + k], at distance d = ph / L + K - 1 - k from t */
    double ib = i0(beta);
    for (long long ph = 0; ph < st->L; ph++)
        for (long long k = 0; k < taps; k++) {
            double d = (double)ph / (double)st->L + (double)(st->K - 1 - k), u = d / (double)st->K;
            double s = d == 0 ? 2 * fc : sin(TWO_PI * fc * d) / (TWO_PI / 2 * d);
            double w = fabs(u) < 1 ? i0(beta * sqrt(1 - u * u)) / ib : 0;
            st->coef[ph * taps + k] = (float)(s * w);
        }
    st->avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    *stp = st;
    return 0;
}

int poly_load(void *vst, const sono_buf *in, sono_error *err)
{
    poly *st = vst;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != st->n_in)
        return sono_fail(err, SONO_EINVAL, "cpu/polyphase: input must be f32 [%lld]", st->n_in);
    st->in = in->data;
    return 0;
}

/* The dot products, one body built twice: baseline SSE2 and AVX2+FMA. */
#define POLY_BODY                                                                           \
    long long taps = 2 * st->K;                                                             \
    for (long long j = 0; j < st->n_out; j++) {                                             \
        long long num = j * st->M, base = num / st->L, ph = num % st->L;                    \
        const float *x = st->pad + base + 1; /* pad[K + i] = x[i]: i = base - K + 1 */      \
        const float *c = st->coef + ph * taps;                                              \
        float acc[8] = {0};                                                                 \
        long long k = 0;                                                                    \
        for (; k + 8 <= taps; k += 8)                                                       \
            for (int l = 0; l < 8; l++)                                                     \
                acc[l] += x[k + l] * c[k + l];                                              \
        float s = 0;                                                                        \
        for (; k < taps; k++)                                                               \
            s += x[k] * c[k];                                                               \
        st->out[j] = s + ((acc[0] + acc[4]) + (acc[1] + acc[5])) +                          \
                     ((acc[2] + acc[6]) + (acc[3] + acc[7]));                               \
    }

__attribute__((target("avx2,fma"), optimize("tree-vectorize"))) static void
dots_avx2(poly *st)
{
    POLY_BODY
}

__attribute__((optimize("tree-vectorize"))) static void dots(poly *st)
{
    POLY_BODY
}

int poly_run(void *vst)
{
    poly *st = vst;
    long long taps = 2 * st->K;
    memset(st->pad, 0, (size_t)st->K * sizeof(float));
    memcpy(st->pad + st->K, st->in, (size_t)st->n_in * sizeof(float));
    memset(st->pad + st->K + st->n_in, 0, (size_t)(taps + st->K) * sizeof(float));
    if (st->avx2)
        dots_avx2(st);
    else
        dots(st);
    return 0;
}

int poly_store(void *vst, sono_buf *out, sono_error *err)
{
    poly *st = vst;
    if (out->dtype != SONO_F32 || sono_buf_elems(out) != st->n_out)
        return sono_fail(err, SONO_EINVAL, "cpu/polyphase: output must be f32 [%lld]",
                         st->n_out);
    memcpy(out->data, st->out, (size_t)st->n_out * sizeof(float));
    return 0;
}

int poly_describe(void *vst, char *buf, size_t n)
{
    poly *st = vst;
    return snprintf(buf, n, "L/M = %lld/%lld, %lld phases x %lld taps (%.0f dB Kaiser), %s",
                    st->L, st->M, st->L, 2 * st->K, POLY_ATTEN_DB,
                    st->avx2 ? "avx2+fma" : "sse2") < 0;
}

size_t poly_workspace(void *vst)
{
    poly *st = vst;
    return (size_t)(st->L * 2 * st->K + st->n_in + 4 * st->K + st->n_out) * sizeof(float);
}
