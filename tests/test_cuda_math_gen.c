/* test_cuda_math_gen.c — cuda/hifigan's and cuda/wavenet's kernel arithmetic without a GPU:
 * gen_math.h compiled by cc. The im2col source map (dilation, symmetric padding, the
 * leaky ReLU fused) against a conv's definition; the transposed conv's input range against
 * its scatter definition (every (input, tap) pair summed exactly once); WaveNet's gate
 * against tanh and the logistic in double and its stacked columns against the layer's
 * definition; and the whole HiFi-GAN assembled on the host the way vocoder.c drives its
 * kernels (normalise, im2col + GEMM + bias/residual/tanh, leaky ReLU + GEMM + overlap-add,
 * mean of three) on the transformers fixture (tests/data/hifigan), whose float32 output it
 * must match within the op's tolerance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../impls/cuda/gen_math.h"
#include "check.h"
#include "op.h"
#include "st64.h"

static uint64_t rs = 0x25;
static double rnd(void)
{
    rs = rs * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rs >> 11) * 0x1p-53 * 2 - 1;
}

static double lrelu64(double v, double s)
{
    return v >= 0 ? v : v * s;
}

/* im2col + GEMM in double equals the direct sum over the window, for dilations and pads
 * of every resblock shape. */
static void gm_conv(void **state)
{
    (void)state;
    const int shapes[][3] = {{3, 1, 1}, {7, 3, 9}, {11, 5, 25}, {7, 1, 3}};
    for (size_t s = 0; s < 4; s++) {
        int K = shapes[s][0], dil = shapes[s][1], pad = shapes[s][2], cin = 3, C = 2;
        long long T = 41;
        double x[3 * 41], w[2 * 3 * 11], col[3 * 11 * 41];
        for (int i = 0; i < cin * T; i++)
            x[i] = rnd();
        for (int i = 0; i < C * cin * K; i++)
            w[i] = rnd();
        for (long long e = 0; e < cin * K * T; e++) {
            long long src = gen_conv_src(e, T, K, dil, pad);
            col[e] = src < 0 ? 0 : lrelu64(x[src], 0.1);
        }
        for (int o = 0; o < C; o++)
            for (long long u = 0; u < T; u++) {
                double g = 0, d = 0;
                for (int r = 0; r < cin * K; r++)
                    g += w[o * cin * K + r] * col[r * T + u];
                for (int c = 0; c < cin; c++)
                    for (int k = 0; k < K; k++) {
                        long long t = u + (long long)k * dil - pad;
                        if (t >= 0 && t < T)
                            d += w[(o * cin + c) * K + k] * lrelu64(x[c * T + t], 0.1);
                    }
                assert_true(fabs(g - d) <= 1e-12 * (1 + fabs(d)));
            }
    }
    assert_true(gen_lrelu(-2.0f, 0.1f) == -2.0f * 0.1f);
    assert_true(gen_lrelu(3.0f, 0.01f) == 3.0f);
}

/* Every output u of a transposed conv sums exactly the (t, k) with t s + k = u + pad:
 * counted against the scatter over all inputs and taps, for HiFi-GAN's four shapes. */
static void gm_tconv(void **state)
{
    (void)state;
    const int sk[4][2] = {{8, 16}, {8, 16}, {2, 4}, {2, 4}};
    for (int i = 0; i < 4; i++) {
        int s = sk[i][0], K = sk[i][1], pad = (K - s) / 2;
        long long Tin = 9, Tout = Tin * s;
        int hits[9 * 8] = {0}, want[9 * 8] = {0};
        for (long long t = 0; t < Tin; t++)
            for (int k = 0; k < K; k++) {
                long long u = t * s + k - pad;
                if (u >= 0 && u < Tout)
                    want[u] += (int)(t * 100 + k);
            }
        for (long long u = 0; u < Tout; u++) {
            long long lo, hi;
            gen_tconv_range(u, s, K, pad, Tin, &lo, &hi);
            for (long long t = lo; t <= hi; t++) {
                long long k = u + pad - t * s;
                assert_true(k >= 0 && k < K && t >= 0 && t < Tin);
                hits[u] += (int)(t * 100 + k);
            }
            assert_int_equal(hits[u], want[u]);
        }
    }
}

static void gm_gate(void **state)
{
    (void)state;
    double worst = 0;
    for (int i = -300; i <= 300; i++)
        for (int j = -300; j <= 300; j += 7) {
            double zf = i / 30.0, zg = j / 30.0, want = tanh(zf) / (1 + exp(-zg));
            double got = gen_gate((float)zf, (float)zg);
            double e = fabs(got - want);
            worst = e > worst ? e : worst;
        }
    print_message("gate: worst abs error %.3g\n", worst);
    assert_true(worst < 8 * 0x1p-24); /* a few float roundings of values below 1 */
}

/* The gate columns times the packed gate weights equal the layer's definition. */
static void gm_wavenet_cols(void **state)
{
    (void)state;
    int R = 3, Cc = 2;
    long long T = 13, d = 4, K = 2 * R + Cc;
    double h[13 * 3], x[3 * 13], col[13 * 8], Wf[3 * 3 * 2], Vf[3 * 2];
    for (int i = 0; i < T * R; i++)
        h[i] = rnd();
    for (int i = 0; i < (1 + Cc) * T; i++)
        x[i] = rnd();
    for (int i = 0; i < R * R * 2; i++)
        Wf[i] = rnd();
    for (int i = 0; i < R * Cc; i++)
        Vf[i] = rnd();
    for (long long e = 0; e < T * K; e++) {
        int from;
        long long src = gen_wv_col_src(e, R, Cc, T, d, &from);
        col[e] = src < 0 ? 0 : from ? x[src] : h[src];
    }
    for (long long t = 0; t < T; t++)
        for (int c = 0; c < R; c++) {
            double g = 0, want = 0;
            for (int i = 0; i < R; i++) {
                g += Wf[(c * R + i) * 2] * col[t * K + i] + Wf[(c * R + i) * 2 + 1] *
                                                                 col[t * K + R + i];
                want += Wf[(c * R + i) * 2] * (t >= d ? h[(t - d) * R + i] : 0) +
                        Wf[(c * R + i) * 2 + 1] * h[t * R + i];
            }
            for (int j = 0; j < Cc; j++) {
                g += Vf[c * Cc + j] * col[t * K + 2 * R + j];
                want += Vf[c * Cc + j] * x[(1 + j) * T + t];
            }
            assert_true(fabs(g - want) <= 1e-12);
        }
}

/* ---- the whole HiFi-GAN on the host, vocoder.c's kernel sequence, float32 ---------- */

#define FIX "tests/data/hifigan/"

static float *readf(sono_st *st, const char *name, int nd, long long a, long long b,
                    long long c)
{
    long long sh[3] = {a, b, c};
    double *d = NULL;
    sono_error err = {0};
    if (sono_st_read(st, name, nd, sh, &d, &err))
        fail_msg("%s", err.msg);
    long long n = a * (nd > 1 ? b : 1) * (nd > 2 ? c : 1);
    float *f = malloc((size_t)n * sizeof *f);
    for (long long i = 0; i < n; i++)
        f[i] = (float)d[i];
    free(d);
    return f;
}

/* conv: im2col (lrelu fused) + float GEMM + bias (+ res) (tanh) */
static float *conv(sono_st *st, const char *pre, const float *x, int cin, long long T, int C,
                   int K, int dil, float slope, const float *res, int th)
{
    char n[128];
    snprintf(n, sizeof n, "%s.weight", pre);
    float *w = readf(st, n, 3, C, cin, K);
    snprintf(n, sizeof n, "%s.bias", pre);
    float *b = readf(st, n, 1, C, 0, 0);
    int pad = dil * (K - 1) / 2;
    float *col = malloc((size_t)(cin * K * T) * sizeof *col), *y = malloc((size_t)(C * T) * 4);
    for (long long e = 0; e < cin * K * T; e++) {
        long long src = gen_conv_src(e, T, K, dil, pad);
        col[e] = src < 0 ? 0.0f : gen_lrelu(x[src], slope);
    }
    for (int o = 0; o < C; o++)
        for (long long u = 0; u < T; u++) {
            float acc = 0;
            for (int r = 0; r < cin * K; r++)
                acc += w[o * cin * K + r] * col[r * T + u];
            float v = acc + b[o];
            if (res)
                v += res[o * T + u];
            y[o * T + u] = th ? tanhf(v) : v;
        }
    free(w);
    free(b);
    free(col);
    return y;
}

static float *tconv(sono_st *st, int i, const float *x, int cin, long long Tin, int C, int s,
                    int K)
{
    char n[64];
    snprintf(n, sizeof n, "upsampler.%d.weight", i);
    float *w = readf(st, n, 3, cin, C, K);
    snprintf(n, sizeof n, "upsampler.%d.bias", i);
    float *b = readf(st, n, 1, C, 0, 0);
    float *Y = malloc((size_t)(C * K * Tin) * 4), *y = malloc((size_t)(C * Tin * s) * 4);
    for (int r = 0; r < C * K; r++)
        for (long long t = 0; t < Tin; t++) {
            float acc = 0;
            for (int c = 0; c < cin; c++)
                acc += w[c * C * K + r] * gen_lrelu(x[c * Tin + t], 0.1f);
            Y[r * Tin + t] = acc;
        }
    int pad = (K - s) / 2;
    for (int o = 0; o < C; o++)
        for (long long u = 0; u < Tin * s; u++) {
            long long lo, hi;
            gen_tconv_range(u, s, K, pad, Tin, &lo, &hi);
            float acc = b[o];
            for (long long t = lo; t <= hi; t++)
                acc += Y[(o * K + (u + pad - t * s)) * Tin + t];
            y[o * Tin * s + u] = acc;
        }
    free(w);
    free(b);
    free(Y);
    return y;
}

static void *npy(const char *path, size_t n, size_t es)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char h[10];
    assert_int_equal(fread(h, 1, 10, f), 10);
    size_t hl = h[8] | (size_t)h[9] << 8;
    assert_int_equal(fseek(f, (long)(10 + hl), SEEK_SET), 0);
    void *d = malloc(n * es);
    assert_int_equal(fread(d, es, n, f), n);
    fclose(f);
    return d;
}

static void gm_hifigan_fixture(void **state)
{
    (void)state;
    sono_st *st = NULL;
    sono_error err = {0};
    if (sono_st_open(FIX "tiny.safetensors", &st, &err))
        fail_msg("%s", err.msg);
    const int rates[4] = {8, 8, 2, 2}, uk[4] = {16, 16, 4, 4}, rk[3] = {3, 7, 11};
    const int dil[3] = {1, 3, 5};
    long long F = 10, T = F;
    int C = 16;
    float *mel = npy(FIX "mel.npy", 800, 4), *want = npy(FIX "expected.npy", 2560, 4);
    float *mean = readf(st, "mean", 1, 80, 0, 0), *scale = readf(st, "scale", 1, 80, 0, 0);
    float *xn = malloc(800 * 4);
    for (int c = 0; c < 80; c++)
        for (long long t = 0; t < F; t++)
            xn[c * F + t] = (mel[c * F + t] - mean[c]) / scale[c];
    float *x = conv(st, "conv_pre", xn, 80, T, C, 7, 1, 1.0f, NULL, 0);
    for (int i = 0; i < 4; i++) {
        float *u = tconv(st, i, x, C, T, C / 2, rates[i], uk[i]);
        free(x);
        C /= 2;
        T *= rates[i];
        float *r[3];
        for (int j = 0; j < 3; j++) {
            float *h = u;
            for (int m = 0; m < 3; m++) {
                char pre[64];
                snprintf(pre, sizeof pre, "resblocks.%d.convs1.%d", 3 * i + j, m);
                float *a = conv(st, pre, h, C, T, C, rk[j], dil[m], 0.1f, NULL, 0);
                snprintf(pre, sizeof pre, "resblocks.%d.convs2.%d", 3 * i + j, m);
                float *h2 = conv(st, pre, a, C, T, C, rk[j], 1, 0.1f, h, 0);
                free(a);
                if (h != u)
                    free(h);
                h = h2;
            }
            r[j] = h;
        }
        x = malloc((size_t)(C * T) * 4);
        for (long long e = 0; e < C * T; e++) {
            float s = r[0][e] + r[1][e];
            s += r[2][e];
            x[e] = s / 3.0f;
        }
        free(u);
        for (int j = 0; j < 3; j++)
            free(r[j]);
    }
    float *y = conv(st, "conv_post", x, C, T, 1, 7, 1, 0.01f, NULL, 1);
    double num = 0, den = 0;
    for (int i = 0; i < 2560; i++) {
        num += ((double)y[i] - want[i]) * ((double)y[i] - want[i]);
        den += (double)want[i] * want[i];
    }
    const sono_op *op = sono_op_find("vocoder.hifigan");
    sono_params p = {.count = 3, .v = {{.name = "config", .type = SONO_PSTR, .s = "custom"},
                                       {.name = "channels", .type = SONO_PINT, .i = 16},
                                       {.name = "frames", .type = SONO_PINT, .i = 10}}};
    double rel = sqrt(num / den), tol = op->tolerance(&p, SONO_ERR_LOG);
    print_message("host assembly vs transformers float32: rel L2 %.3g (tol %.3g)\n", rel, tol);
    assert_true(rel > 0 && rel <= tol);
    free(y);
    free(x);
    free(xn);
    free(mean);
    free(scale);
    free(mel);
    free(want);
    sono_st_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gm_conv),          cmocka_unit_test(gm_tconv),
        cmocka_unit_test(gm_gate),          cmocka_unit_test(gm_wavenet_cols),
        cmocka_unit_test(gm_hifigan_fixture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
