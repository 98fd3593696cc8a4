/* test_cuda_math_speech.c — the arithmetic of issue 23's CUDA kernels without a GPU:
 * sp_math.h compiled by cc, assembled here into host versions of wav2vec2.features (conv
 * by the im2col index, double norm statistics, fused norm + GELU) and attention.relpos
 * (bucket table, gate, biased scores, softmax) and checked against the ops' float64
 * references and tolerances; a bucket with the direction flipped fails the check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../impls/cuda/sp_math.h"
#include "buf.h"
#include "check.h"
#include "params.h"
#include "relpos.h"
#include "st64.h"
#include "w2v.h"

static char sm_tmp[64];

static sono_params sm_params(const char *opname, const char *const *kv)
{
    const sono_op *op = sono_op_find(opname);
    sono_params p = {0};
    sono_error err = {0};
    for (int i = 0; kv[i]; i += 2)
        if (sono_param_parse(sono_op_param(op, kv[i]), kv[i + 1], &p.v[p.count++], &err))
            fail_msg("%s=%s: %s", kv[i], kv[i + 1], err.msg);
    sono_params_defaults(op, &p);
    if (op->validate(&p, &err))
        fail_msg("%s: %s", opname, err.msg);
    return p;
}

/* wav2vec2.features as cuda/cublas computes it, on the host: im2col by sp_col_src, the
 * GEMM as dot products, stats as the kernel sums them (double), sp_norm_gelu. */
static void sm_w2v_host(const sono_params *p, const float *x, float *out)
{
    sono_w2v_dims d;
    assert_int_equal(sono_w2v_dims_get(p, &d, NULL), 0);
    char path[4096];
    assert_int_equal(sono_w2v_weights_path(p, path, sizeof path, NULL), 0);
    sono_st *st;
    assert_int_equal(sono_st_open(path, &st, NULL), 0);
    long long C = d.channels;
    float *a = malloc((size_t)(d.len[1] * C) * sizeof *a), *b = malloc((size_t)(d.len[1] * C) * sizeof *b);
    const float *in = x;
    for (int l = 0; l < SONO_W2V_LAYERS; l++) {
        long long cin = l ? C : 1, k = sono_w2v_kernel[l], s = sono_w2v_stride[l],
                  To = d.len[l + 1], K = k * cin;
        char name[128];
        double *w, *g = NULL, *be = NULL;
        snprintf(name, sizeof name, "feature_extractor.conv_layers.%d.conv.weight", l);
        assert_int_equal(sono_st_read(st, name, 3, (long long[]){C, cin, k}, &w, NULL), 0);
        int mode = d.layer_norm ? SP_NORM_LAYER : l == 0 ? SP_NORM_GROUP : SP_NORM_NONE;
        if (mode != SP_NORM_NONE) {
            snprintf(name, sizeof name, "feature_extractor.conv_layers.%d.layer_norm.weight", l);
            assert_int_equal(sono_st_read(st, name, 1, &C, &g, NULL), 0);
            snprintf(name, sizeof name, "feature_extractor.conv_layers.%d.layer_norm.bias", l);
            assert_int_equal(sono_st_read(st, name, 1, &C, &be, NULL), 0);
        }
        float *y = l == SONO_W2V_LAYERS - 1 ? out : (l & 1) ? b : a;
        for (long long t = 0; t < To; t++)
            for (long long co = 0; co < C; co++) {
                float acc = 0;
                for (long long i = 0; i < K; i++) { /* i = j*cin + ci: weights [C][k][cin] */
                    long long j = i / cin, ci = i % cin;
                    acc += (float)w[(co * cin + ci) * k + j] * in[sp_col_src(t, i, s, cin)];
                }
                y[t * C + co] = acc;
            }
        long long rows = mode == SP_NORM_GROUP ? C : To, n = mode == SP_NORM_GROUP ? To : C;
        float *mean = calloc((size_t)rows + 1, sizeof *mean), *inv = calloc((size_t)rows + 1, sizeof *inv);
        for (long long r = 0; mode != SP_NORM_NONE && r < rows; r++) {
            double su = 0, sq = 0;
            for (long long i = 0; i < n; i++) {
                double v = mode == SP_NORM_GROUP ? y[i * C + r] : y[r * C + i];
                su += v;
                sq += v * v;
            }
            sp_stats(su, sq, (double)n, &mean[r], &inv[r]);
        }
        for (long long t = 0; t < To; t++)
            for (long long c = 0; c < C; c++) {
                float *v = &y[t * C + c];
                if (mode == SP_NORM_NONE)
                    *v = sp_gelu(*v);
                else {
                    long long r = mode == SP_NORM_GROUP ? c : t;
                    *v = sp_norm_gelu(*v, mean[r], inv[r], (float)g[c], (float)be[c]);
                }
            }
        free(mean);
        free(inv);
        free(w);
        free(g);
        free(be);
        in = y;
    }
    free(a);
    free(b);
    sono_st_close(st);
}

static void sm_w2v_passes_reference(void **state)
{
    (void)state;
    const char *norms[] = {"group", "layer"};
    for (int m = 0; m < 2; m++) {
        const char *kv[] = {"seconds", "0.15", "channels", "12", "norm", norms[m], NULL};
        sono_params p = sm_params("wav2vec2.features", kv);
        const sono_op *op = sono_op_find("wav2vec2.features");
        sono_buf in, out, ref;
        op->shapes(&p, &in, &out);
        ref = out;
        ref.dtype = SONO_F64;
        assert_int_equal(sono_buf_alloc(&in, NULL), 0);
        assert_int_equal(sono_buf_alloc(&out, NULL), 0);
        assert_int_equal(sono_buf_alloc(&ref, NULL), 0);
        float *x = in.data;
        for (long long i = 0; i < sono_buf_elems(&in); i++)
            x[i] = 0.25f * sinf(0.031f * (float)i) + 0.05f * cosf(0.7f * (float)i);
        sm_w2v_host(&p, x, out.data);
        sono_error err = {0};
        assert_int_equal(op->reference(&p, &in, &ref, &err), 0);
        sono_check c;
        assert_int_equal(sono_check_output(&out, &ref, op->tolerance(&p, SONO_ERR_LINEAR), &c,
                                           &err), 0);
        print_message("w2v host-cuda (%s): rel_l2 %.3g tol %.3g\n", norms[m], c.rel_l2, c.tol);
        assert_true(c.pass);
        sono_buf_free(&in);
        sono_buf_free(&out);
        sono_buf_free(&ref);
        sono_params_free(&p);
    }
}

/* attention.relpos as cuda/cublas computes it; flip = 1 takes the bucket of -r. */
static void sm_relpos_host(const sono_relpos_dims *d, const float *in, float *out, int flip)
{
    long long H = d->heads, S = d->seq, D = d->d, n = d->n;
    const float *Q = in, *K = Q + n, *V = K + n, *X = V + n, *E = X + n,
                *Wg = E + d->buckets * H, *bg = Wg + 8 * D, *c = bg + 8;
    int *bucket = malloc((size_t)(2 * S - 1) * sizeof *bucket);
    float *row = malloc((size_t)S * sizeof *row);
    for (long long i = 0; i < 2 * S - 1; i++)
        bucket[i] = sp_bucket(flip ? (S - 1) - i : i - (S - 1), (int)d->buckets,
                              (int)d->max_distance);
    float scale = 1.0f / sqrtf((float)D);
    for (long long h = 0; h < H; h++)
        for (long long i = 0; i < S; i++) {
            float gate = sp_gate(X + (h * S + i) * D, Wg, bg, c[h], (int)D), mx = -INFINITY;
            for (long long j = 0; j < S; j++) {
                float s = 0;
                for (long long e = 0; e < D; e++)
                    s += Q[(h * S + i) * D + e] * K[(h * S + j) * D + e];
                row[j] = sp_biased(s * scale, gate, E, bucket, i, j, S, (int)H, (int)h);
                mx = fmaxf(mx, row[j]);
            }
            float sum = 0;
            for (long long j = 0; j < S; j++)
                sum += row[j] = expf(row[j] - mx);
            for (long long e = 0; e < D; e++) {
                float o = 0;
                for (long long j = 0; j < S; j++)
                    o += row[j] / sum * V[(h * S + j) * D + e];
                out[(h * S + i) * D + e] = o;
            }
        }
    free(bucket);
    free(row);
}

static int sm_relpos_passes(const char *seq, int flip, double *rel)
{
    const char *kv[] = {"seq", seq, "heads", "2", "head_dim", "16", NULL};
    sono_params p = sm_params("attention.relpos", kv);
    const sono_op *op = sono_op_find("attention.relpos");
    sono_relpos_dims d;
    assert_int_equal(sono_relpos_dims_get(&p, &d, NULL), 0);
    sono_buf in, out, ref;
    op->shapes(&p, &in, &out);
    ref = out;
    ref.dtype = SONO_F64;
    assert_int_equal(sono_buf_alloc(&in, NULL), 0);
    assert_int_equal(sono_buf_alloc(&out, NULL), 0);
    assert_int_equal(sono_buf_alloc(&ref, NULL), 0);
    sono_error err = {0};
    assert_int_equal(op->input(&p, NULL, 0, &in, &err), 0);
    sm_relpos_host(&d, in.data, out.data, flip);
    assert_int_equal(op->reference(&p, &in, &ref, &err), 0);
    sono_check c;
    assert_int_equal(sono_check_output(&out, &ref, op->tolerance(&p, SONO_ERR_LINEAR), &c, &err),
                     0);
    *rel = c.rel_l2;
    sono_buf_free(&in);
    sono_buf_free(&out);
    sono_buf_free(&ref);
    sono_params_free(&p);
    return c.pass;
}

static void sm_relpos_passes_reference(void **state)
{
    (void)state;
    double r;
    assert_true(sm_relpos_passes("3", 0, &r));
    assert_true(sm_relpos_passes("181", 0, &r));
    print_message("relpos host-cuda seq 181: rel_l2 %.3g\n", r);
    assert_false(sm_relpos_passes("181", 1, &r)); /* keys before and after swapped */
    print_message("relpos host-cuda with the direction flipped: rel_l2 %.3g\n", r);
}

static void sm_buckets(void **state)
{
    (void)state;
    for (long long r = -5000; r <= 5000; r++)
        assert_int_equal(sp_bucket(r, 320, 800), sono_relpos64_bucket(r, 320, 800));
    assert_true(fabsf(sp_gelu(1.0f) - 0.8413447f) < 1e-6f);
    assert_true(sp_gelu(-10.0f) > -1e-6f && sp_gelu(-10.0f) <= 0);
    assert_int_equal(sp_col_src(3, 5, 2, 512), 3 * 2 * 512 + 5);
}

static int sm_setup(void **state)
{
    (void)state;
    snprintf(sm_tmp, sizeof sm_tmp, "/tmp/sono_spm_XXXXXX");
    if (!mkdtemp(sm_tmp))
        return -1;
    setenv("XDG_CACHE_HOME", sm_tmp, 1);
    return 0;
}

static int sm_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", sm_tmp);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sm_buckets),
        cmocka_unit_test(sm_w2v_passes_reference),
        cmocka_unit_test(sm_relpos_passes_reference),
    };
    return cmocka_run_group_tests(tests, sm_setup, sm_teardown);
}
