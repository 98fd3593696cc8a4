/* test_cuda_math_whisper.c — cuda/whisper's kernel arithmetic without a GPU: wh_math.h
 * compiled by cc. The exact GELU against erf in double; the conv stem's im2col indices
 * against the convolution's definition (padding zeros at both ends, stride 2 reading
 * 2t + k - 1); LayerNorm rows with a large offset and the softmax weights against double;
 * and the whole encoder assembled on the host the way whisper.c drives its kernels
 * (im2col, a float GEMM, bias + GELU + positions, LayerNorm, scores, softmax, P V, bias
 * after each residual GEMM) on the transformers fixture (tests/data/whisper), whose
 * float32 output it must match within the op's tolerance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../impls/cuda/wh_math.h"
#include "check.h"
#include "op.h"
#include "st64.h"

static void wm_gelu(void **state)
{
    (void)state;
    double worst = 0;
    for (int i = -8000; i <= 8000; i++) {
        double x = i / 1000.0, want = 0.5 * x * (1 + erf(x / sqrt(2.0)));
        /* absolute, against |x|: 1 + erf cancels for x << 0, as in every float GELU */
        double e = fabs(wh_gelu((float)x) - want) / fmax(fabs(x), 1.0);
        worst = fmax(worst, e);
    }
    print_message("GELU: worst |error| / max(|x|, 1) %.3g\n", worst);
    assert_true(worst < 8 * 1.2e-7);
    /* not the tanh approximation: at x = -3 the two differ by ~4e-4 */
    double tanh_gelu = 0.5 * -3.0 * (1 + tanh(sqrt(2 / M_PI) * (-3.0 + 0.044715 * -27.0)));
    assert_true(fabs(wh_gelu(-3.0f) - tanh_gelu) > 2e-4);
}

static void wm_im2col(void **state)
{
    (void)state;
    const long long B = 2, M = 3, F = 7, T = F / 2, D = 3;
    for (long long e = 0; e < B * F * M * 3; e++) {
        long long c = e % (M * 3), row = e / (M * 3), t = row % F, b = row / F;
        long long i = c / 3, k = c % 3, u = t + k - 1, j = wh_col1_src(e, M, F);
        if (u < 0 || u >= F)
            assert_int_equal(j, -1);
        else
            assert_int_equal(j, (b * M + i) * F + u);
    }
    /* conv2: column t reads a1 rows 2t-1, 2t, 2t+1 of its own clip */
    assert_int_equal(wh_col2_src(0, D, F, T), -1);                   /* t 0, k 0: row -1 */
    assert_int_equal(wh_col2_src(1, D, F, T), 0);                    /* t 0, k 1: row 0 */
    assert_int_equal(wh_col2_src(D * 3 + 0, D, F, T), 1 * D + 0);    /* t 1, k 0: row 1 */
    assert_int_equal(wh_col2_src(D * 3 + 5, D, F, T), 3 * D + 1);    /* t 1, i 1, k 2 */
    assert_int_equal(wh_col2_src(T * D * 3 + 1, D, F, T), F * D + 0); /* clip 1, t 0, k 1 */
}

static void wm_layernorm_softmax(void **state)
{
    (void)state;
    float x[384];
    double mu = 0, var = 0;
    for (int c = 0; c < 384; c++) {
        x[c] = 1000.0f + (float)sin(c * 0.37);
        mu += x[c];
    }
    mu /= 384;
    for (int c = 0; c < 384; c++)
        var += (x[c] - mu) * (x[c] - mu);
    var /= 384;
    /* the kernel: mean first, then squared deviations (two passes, no cancellation) */
    float fm = 0, q = 0;
    for (int c = 0; c < 384; c++)
        fm += x[c];
    fm /= 384;
    for (int c = 0; c < 384; c++)
        q += (x[c] - fm) * (x[c] - fm);
    float rstd = wh_ln_rstd(q, 384);
    for (int c = 0; c < 384; c++) {
        double want = (x[c] - mu) / sqrt(var + 1e-5) * 1.5 + 0.25;
        assert_true(fabs(wh_ln(x[c], fm, rstd, 1.5f, 0.25f) - want) < 1e-3);
    }
    float s[1500], mx = -INFINITY, sum = 0;
    for (int u = 0; u < 1500; u++) {
        s[u] = (float)(3 * sin(u * 0.011) + 40); /* large scores: max subtracted */
        mx = fmaxf(mx, s[u]);
    }
    double dsum = 0;
    for (int u = 0; u < 1500; u++) {
        sum += expf(s[u] - mx);
        dsum += exp((double)s[u] - mx);
    }
    double total = 0;
    for (int u = 0; u < 1500; u++) {
        float w = wh_softmax_w(s[u], mx, 1.0f / sum);
        assert_true(fabs(w - exp((double)s[u] - mx) / dsum) < 1e-6 * fmax(w, 1e-3));
        total += w;
    }
    assert_true(fabs(total - 1) < 1e-5);
}

/* ---- the encoder assembled from wh_math.h, on the fixture ---------------------------- */
#define D 32
#define H 2
#define DH (D / H)
#define L 2
#define M 80
#define F 100
#define T 50
#define FF (4 * D)

static float *rd(const sono_st *st, const char *name, int nd, long long a, long long b,
                 long long c)
{
    long long shape[3] = {a, b, c};
    double *v = NULL;
    char full[160];
    sono_error err = {0};
    snprintf(full, sizeof full, "model.encoder.%s", name);
    if (sono_st_read(st, full, nd, shape, &v, &err))
        fail_msg("%s", err.msg);
    long long n = a * (nd > 1 ? b : 1) * (nd > 2 ? c : 1);
    float *f = malloc((size_t)n * sizeof *f);
    for (long long i = 0; i < n; i++)
        f[i] = (float)v[i];
    free(v);
    return f;
}

/* y [R][O] = x [R][I] w [O][I]^T (+ y when add), float sums as a GEMM makes them */
static void gemm(const float *x, int R, int I, const float *w, int O, float *y, int add)
{
    for (int r = 0; r < R; r++)
        for (int o = 0; o < O; o++) {
            float s = 0;
            for (int i = 0; i < I; i++)
                s += x[r * I + i] * w[o * I + i];
            y[r * O + o] = add ? y[r * O + o] + s : s;
        }
}

static void ln_rows(const float *x, int R, const float *g, const float *b, float *y)
{
    for (int r = 0; r < R; r++) {
        float mean = 0, q = 0;
        for (int c = 0; c < D; c++)
            mean += x[r * D + c];
        mean /= D;
        for (int c = 0; c < D; c++)
            q += (x[r * D + c] - mean) * (x[r * D + c] - mean);
        float rstd = wh_ln_rstd(q, D);
        for (int c = 0; c < D; c++)
            y[r * D + c] = wh_ln(x[r * D + c], mean, rstd, g[c], b[c]);
    }
}

static void wm_encoder_fixture(void **state)
{
    (void)state;
    sono_st *st = NULL;
    sono_error err = {0};
    if (sono_st_open("tests/data/whisper/tiny.safetensors", &st, &err))
        fail_msg("%s", err.msg);
    float *mel = malloc(M * F * sizeof *mel), *want = malloc(T * D * sizeof *want);
    FILE *f = fopen("tests/data/whisper/mel.npy", "rb");
    assert_non_null(f);
    fseek(f, -(long)(M * F * 4), SEEK_END);
    assert_int_equal(fread(mel, 4, M * F, f), M * F);
    fclose(f);
    f = fopen("tests/data/whisper/expected.npy", "rb");
    assert_non_null(f);
    fseek(f, -(long)(T * D * 4), SEEK_END);
    assert_int_equal(fread(want, 4, T * D, f), T * D);
    fclose(f);
    static float col[F * 3 * M], a1[F * D], h[T * D], u[T * D], q[T * D], k[T * D],
        v[T * D], o[T * D], ff[T * FF], S[T * T], out[T * D];
    float *c1w = rd(st, "conv1.weight", 3, D, M, 3), *c1b = rd(st, "conv1.bias", 1, D, 0, 0);
    float *c2w = rd(st, "conv2.weight", 3, D, D, 3), *c2b = rd(st, "conv2.bias", 1, D, 0, 0);
    float *pos = rd(st, "embed_positions.weight", 2, T, D, 0);
    for (long long e = 0; e < (long long)F * M * 3; e++) {
        long long j = wh_col1_src(e, M, F);
        col[e] = j >= 0 ? mel[j] : 0.0f;
    }
    gemm(col, F, 3 * M, c1w, D, a1, 0);
    for (int e = 0; e < F * D; e++)
        a1[e] = wh_gelu(a1[e] + c1b[e % D]);
    for (long long e = 0; e < (long long)T * D * 3; e++) {
        long long j = wh_col2_src(e, D, F, T);
        col[e] = j >= 0 ? a1[j] : 0.0f;
    }
    gemm(col, T, 3 * D, c2w, D, h, 0);
    for (int e = 0; e < T * D; e++)
        h[e] = wh_gelu(h[e] + c2b[e % D]) + pos[e];
    for (int l = 0; l < L; l++) {
        char n[96];
#define W(name, nd, a, b) (snprintf(n, sizeof n, "layers.%d.%s", l, name), rd(st, n, nd, a, b, 0))
        float *g1 = W("self_attn_layer_norm.weight", 1, D, 0),
              *b1 = W("self_attn_layer_norm.bias", 1, D, 0),
              *wq = W("self_attn.q_proj.weight", 2, D, D), *bq = W("self_attn.q_proj.bias", 1, D, 0),
              *wk = W("self_attn.k_proj.weight", 2, D, D), *wv = W("self_attn.v_proj.weight", 2, D, D),
              *bv = W("self_attn.v_proj.bias", 1, D, 0), *wo = W("self_attn.out_proj.weight", 2, D, D),
              *bo = W("self_attn.out_proj.bias", 1, D, 0),
              *g2 = W("final_layer_norm.weight", 1, D, 0), *b2 = W("final_layer_norm.bias", 1, D, 0),
              *w1 = W("fc1.weight", 2, FF, D), *bf1 = W("fc1.bias", 1, FF, 0),
              *w2 = W("fc2.weight", 2, D, FF), *bf2 = W("fc2.bias", 1, D, 0);
#undef W
        ln_rows(h, T, g1, b1, u);
        gemm(u, T, D, wq, D, q, 0);
        gemm(u, T, D, wk, D, k, 0);
        gemm(u, T, D, wv, D, v, 0);
        for (int e = 0; e < T * D; e++) {
            q[e] += bq[e % D];
            v[e] += bv[e % D];
        }
        float scale = 1.0f / sqrtf((float)DH);
        for (int j = 0; j < H; j++) {
            for (int t = 0; t < T; t++) {
                float mx = -INFINITY, sum = 0;
                for (int s = 0; s < T; s++) {
                    float a = 0;
                    for (int c = 0; c < DH; c++)
                        a += k[s * D + j * DH + c] * q[t * D + j * DH + c];
                    S[t * T + s] = a * scale;
                    mx = fmaxf(mx, S[t * T + s]);
                }
                for (int s = 0; s < T; s++)
                    sum += expf(S[t * T + s] - mx);
                for (int s = 0; s < T; s++)
                    S[t * T + s] = wh_softmax_w(S[t * T + s], mx, 1.0f / sum);
            }
            for (int t = 0; t < T; t++)
                for (int c = 0; c < DH; c++) {
                    float a = 0;
                    for (int s = 0; s < T; s++)
                        a += S[t * T + s] * v[s * D + j * DH + c];
                    o[t * D + j * DH + c] = a;
                }
        }
        gemm(o, T, D, wo, D, h, 1);
        for (int e = 0; e < T * D; e++)
            h[e] += bo[e % D];
        ln_rows(h, T, g2, b2, u);
        gemm(u, T, D, w1, FF, ff, 0);
        for (int e = 0; e < T * FF; e++)
            ff[e] = wh_gelu(ff[e] + bf1[e % FF]);
        gemm(ff, T, FF, w2, D, h, 1);
        for (int e = 0; e < T * D; e++)
            h[e] += bf2[e % D];
        float *all[] = {g1, b1, wq, bq, wk, wv, bv, wo, bo, g2, b2, w1, bf1, w2, bf2};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
            free(all[i]);
    }
    float *lg = rd(st, "layer_norm.weight", 1, D, 0, 0), *lb = rd(st, "layer_norm.bias", 1, D, 0, 0);
    ln_rows(h, T, lg, lb, out);
    double e2 = 0, r2 = 0;
    for (int e = 0; e < T * D; e++) {
        e2 += ((double)out[e] - want[e]) * ((double)out[e] - want[e]);
        r2 += (double)want[e] * want[e];
    }
    const sono_op *op = sono_op_find("whisper.encoder");
    sono_params p = {.count = 5,
                     .v = {{.name = "model", .type = SONO_PSTR, .s = "custom"},
                           {.name = "d_model", .type = SONO_PINT, .i = D},
                           {.name = "heads", .type = SONO_PINT, .i = H},
                           {.name = "layers", .type = SONO_PINT, .i = L},
                           {.name = "frames", .type = SONO_PINT, .i = F}}};
    double rel = sqrt(e2 / r2), tol = op->tolerance(&p, SONO_ERR_LOG);
    print_message("host-assembled cuda/whisper vs transformers float32: rel L2 %.3g (tol %.3g)\n",
                  rel, tol);
    assert_true(rel > 0 && rel <= tol);
    float *own[] = {c1w, c1b, c2w, c2b, pos, lg, lb, mel, want};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        free(own[i]);
    sono_st_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wm_gelu),
        cmocka_unit_test(wm_im2col),
        cmocka_unit_test(wm_layernorm_softmax),
        cmocka_unit_test(wm_encoder_fixture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
