/* test_codec_dtype.c — codec.mimi's and codec.dac's dtype param (issue 26) without a GPU:
 * the tolerance f32 + 4 u sqrt(G) against hand counts of the models' GEMM stages, the
 * round trip refused at a reduced dtype, the encoder's signal stored in dtype, and the
 * float64 networks on dtype-rounded weights staying within the tolerance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "dac.h"
#include "input.h"
#include "mimi.h"
#include "nndtype.h"
#include "op.h"
#include "params.h"

#include "op_params.h"

static char tmp[64];

/* test_mimi_impls' small dims: 3 ratios, 1 residual block each, 2 layers */
#define MIMI_SMALL                                                                          \
    "filters", "4", "hidden", "32", "layers", "2", "heads", "4", "ffn", "64", "codebooks",  \
        "8", "codebook_size", "64", "codebook_dim", "16", "window", "8", "ratios", "4.3.2"
#define DAC_TINY "weights", "tests/data/dac/tiny.safetensors", "n_q", "3"

/* The dtype term over the f32 tol, for both error growths, and f32 unchanged. */
static void check_term(const sono_op *op, const char *const *kv, int G)
{
    const char *dts[] = {"tf32", "bf16", "f16"};
    const double u[] = {0x1p-11, 0x1p-8, 0x1p-11};
    const char *modes[] = {"encode", "decode"};
    for (int m = 0; m < 2; m++) {
        sono_params p32 = op_params(op, kv);
        op_param_set(op, &p32, "mode", modes[m]);
        double l32 = op->tolerance(&p32, SONO_ERR_LINEAR), g32 = op->tolerance(&p32, SONO_ERR_LOG);
        for (int t = 0; t < 3; t++) {
            sono_params p = op_params(op, kv);
            op_param_set(op, &p, "mode", modes[m]);
            op_param_set(op, &p, "dtype", dts[t]);
            double want = 4.0 * u[t] * sqrt((double)G);
            op_near(op->tolerance(&p, SONO_ERR_LINEAR), l32 + want, 1e-15);
            op_near(op->tolerance(&p, SONO_ERR_LOG), g32 + want, 1e-15);
            sono_params_free(&p);
        }
        op_param_set(op, &p32, "dtype", "f32");
        op_near(op->tolerance(&p32, SONO_ERR_LINEAR), l32, 0);
        sono_params_free(&p32);
    }
}

/* kyutai/mimi (ratios 8.6.5.4, one residual block a ratio, 8 layers), one side: the first
 * and last SEANet convs (2), per ratio the residual block's two convs and the strided or
 * transposed conv (4 x 3), six per transformer layer (q/k/v, scores, P V, o_proj, fc1,
 * fc2: 48), the down- or upsample and the RVQ projection (2): 64. The small dims: 2 + 3 x
 * 3 + 6 x 2 + 2 = 25. */
static void mimi_tolerance_counts_the_gemm_stages(void **s)
{
    (void)s;
    const sono_op *op = sono_op_find("codec.mimi");
    check_term(op, NULL, 64);
    check_term(op, (const char *const[]){MIMI_SMALL, NULL}, 25);
    /* the f32 tol is the one issue 23 set, not moved by the param's presence */
    sono_params p = op_params(op, (const char *const[]){"mode", "decode", NULL});
    assert_true(op->tolerance(&p, SONO_ERR_LINEAR) < 1e-3);
    sono_params_free(&p);
}

/* dac_44khz (ratios 2.4.8.8), one side: encode, the first conv, per block three residual
 * units of two convs and the strided conv (4 x 7), the last conv, in_proj: 31; decode,
 * out_proj, the first conv, per block the transposed conv and three residual units (4 x
 * 7), the last conv: 31. The tiny fixture (ratios 2.4): 3 + 2 x 7 = 17. */
static void dac_tolerance_counts_the_gemm_stages(void **s)
{
    (void)s;
    const sono_op *op = sono_op_find("codec.dac");
    check_term(op, NULL, 31);
    check_term(op, (const char *const[]){DAC_TINY, NULL}, 17);
    sono_params p = op_params(op, (const char *const[]){"mode", "decode", NULL});
    op_near(op->tolerance(&p, SONO_ERR_LOG), 1e-3, 0); /* blas/dac's f32 tol, unchanged */
    sono_params_free(&p);
}

static void refused(const sono_op *op, const char *const *kv)
{
    sono_params p = op_params(op, kv);
    op_param_set(op, &p, "mode", "roundtrip");
    op_param_set(op, &p, "dtype", "bf16");
    sono_error err = {0};
    assert_int_equal(op->validate(&p, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "dtype=bf16 takes mode encode or decode"));
    const char *ok[][2] = {{"mode", "encode"}, {"mode", "decode"}};
    for (int i = 0; i < 2; i++) {
        op_param_set(op, &p, ok[i][0], ok[i][1]);
        err = (sono_error){0};
        if (op->validate(&p, &err))
            fail_msg("%s %s: %s", op->name, ok[i][1], err.msg);
    }
    op_param_set(op, &p, "mode", "roundtrip");
    op_param_set(op, &p, "dtype", "f32");
    assert_int_equal(op->validate(&p, &err), 0);
    sono_params_free(&p);
}

static void roundtrip_refused_at_reduced_dtype(void **s)
{
    (void)s;
    refused(sono_op_find("codec.mimi"), (const char *const[]){MIMI_SMALL, NULL});
    refused(sono_op_find("codec.dac"), (const char *const[]){DAC_TINY, NULL});
}

/* The encoder's input: every sample unchanged by rounding to the dtype again, and at f32
 * some sample off the bf16 grid (the noise is not on it by chance). */
static void stored(const sono_op *op, const char *const *kv)
{
    const char *dts[] = {"f32", "tf32", "bf16", "f16"};
    for (int t = 0; t < 4; t++) {
        sono_params p = op_params(op, kv);
        op_param_set(op, &p, "mode", "encode");
        op_param_set(op, &p, "dtype", dts[t]);
        sono_error err = {0};
        assert_int_equal(op->validate(&p, &err), 0);
        sono_buf in, out;
        op->shapes(&p, &in, &out);
        sono_input_spec spec;
        assert_int_equal(sono_input_parse("noise", ".", &spec, &err), 0);
        assert_int_equal(sono_buf_alloc(&in, &err), 0);
        assert_int_equal(op->input(&p, &spec, op->rate(&p), &in, &err), 0);
        const float *x = in.data;
        long long n = sono_buf_elems(&in), off_bf16 = 0;
        assert_true(n > 100);
        sono_nn_dtype d = sono_nn_dtype_get(&p);
        for (long long i = 0; i < n; i++) {
            assert_true(sono_nn_round(x[i], d) == x[i]);
            off_bf16 += sono_nn_round(x[i], SONO_NN_BF16) != x[i];
        }
        if (t == 0)
            assert_true(off_bf16 > 0);
        sono_buf_free(&in);
        sono_params_free(&p);
    }
}

static void input_is_stored_in_dtype(void **s)
{
    (void)s;
    stored(sono_op_find("codec.mimi"), (const char *const[]){MIMI_SMALL, "seconds", "0.05", NULL});
    stored(sono_op_find("codec.dac"), (const char *const[]){DAC_TINY, "seconds", "0.01", NULL});
}

/* ---- the float64 networks on rounded weights ----------------------------------------- */

/* A copy of safetensors file src at dst with every F32 tensor rounded to t. */
static void round_file(const char *src, const char *dst, sono_nn_dtype t)
{
    FILE *f = fopen(src, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    uint64_t hn = 0;
    for (int i = 7; i >= 0; i--)
        hn = hn << 8 | b[i];
    json_error_t je;
    json_t *h = json_loadb((const char *)b + 8, (size_t)hn, 0, &je);
    assert_non_null(h);
    const char *key;
    json_t *v;
    int rounded = 0;
    json_object_foreach(h, key, v) {
        if (!strcmp(key, "__metadata__"))
            continue;
        const char *dt = json_string_value(json_object_get(v, "dtype"));
        json_t *off = json_object_get(v, "data_offsets");
        if (!dt || strcmp(dt, "F32") != 0)
            continue;
        size_t a = (size_t)json_integer_value(json_array_get(off, 0)),
               z = (size_t)json_integer_value(json_array_get(off, 1));
        for (size_t o = a; o + 4 <= z; o += 4) {
            float x;
            memcpy(&x, b + 8 + hn + o, 4);
            x = sono_nn_round(x, t);
            memcpy(b + 8 + hn + o, &x, 4);
        }
        rounded++;
    }
    assert_true(rounded > 4);
    json_decref(h);
    f = fopen(dst, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    free(b);
}

static double rel_l2(const double *a, const double *b, long long n)
{
    double num = 0, den = 0;
    for (long long i = 0; i < n; i++) {
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i];
    }
    assert_true(den > 0);
    return sqrt(num / den);
}

/* Decoding the same codes with the weights rounded to bf16 and f16 moves the float64
 * audio by a relative L2 of the order of u sqrt(G) / sqrt 3, above the float32 tol at bf16
 * (so the dtype term is needed) and below the dtype's (a kernel's activations add about as much again: sqrt 2 more, still
 * inside the margin of ~5). The weights are half the operands a reduced-dtype kernel
 * rounds, so this bounds the model from one side; the GPU rungs are checked on a GPU. */
typedef int (*decode_fn)(const char *path, const int *codes, int nq, long long F,
                         double **audio, long long *n, sono_error *err);

static int mimi_decode(const char *path, const int *codes, int nq, long long F, double **audio,
                       long long *n, sono_error *err)
{
    sono_mimi64 *m = NULL;
    int rc = sono_mimi64_load(path, &m, err);
    if (!rc) {
        rc = sono_mimi64_decode(m, codes, nq, F, audio, err);
        *n = F * sono_mimi64_config(m)->frame_hop;
    }
    sono_mimi64_free(m);
    return rc;
}

static int dac_decode(const char *path, const int *codes, int nq, long long F, double **audio,
                      long long *n, sono_error *err)
{
    sono_dac64 *m = NULL;
    int rc = sono_dac64_load(path, &m, err);
    if (!rc)
        rc = sono_dac64_decode(m, codes, nq, F, audio, n, err);
    sono_dac64_free(m);
    return rc;
}

static void weights_in_dtype(const sono_op *op, const char *const *kv, const char *path,
                             int K, decode_fn dec)
{
    sono_params p = op_params(op, kv);
    op_param_set(op, &p, "mode", "decode");
    sono_error err = {0};
    assert_int_equal(op->validate(&p, &err), 0);
    int nq = (int)sono_param_int(&p, "n_q", 1);
    long long F = 12;
    int *codes = malloc((size_t)nq * (size_t)F * sizeof *codes);
    assert_non_null(codes);
    uint32_t s = 12345;
    for (long long i = 0; i < nq * F; i++) {
        s = s * 1664525u + 1013904223u;
        codes[i] = (int)((s >> 8) % (uint32_t)K);
    }
    double *a64 = NULL;
    long long n64 = 0;
    assert_int_equal(dec(path, codes, nq, F, &a64, &n64, &err), 0);
    sono_nn_dtype ts[] = {SONO_NN_BF16, SONO_NN_F16};
    const char *names[] = {"bf16", "f16"};
    for (int k = 0; k < 2; k++) {
        char rp[128];
        snprintf(rp, sizeof rp, "%s/rounded-%s.safetensors", tmp, names[k]);
        round_file(path, rp, ts[k]);
        double *a = NULL;
        long long n = 0;
        if (dec(rp, codes, nq, F, &a, &n, &err))
            fail_msg("%s: %s", rp, err.msg);
        assert_int_equal(n, n64);
        op_param_set(op, &p, "dtype", names[k]);
        double tol = op->tolerance(&p, SONO_ERR_LOG), rel = rel_l2(a, a64, n);
        op_param_set(op, &p, "dtype", "f32");
        double t32 = op->tolerance(&p, SONO_ERR_LOG);
        print_message("%s %s: weights rounded: rel_l2 %.3g, tol %.3g (float32's %.3g)\n",
                      op->name, names[k], rel, tol, t32);
        assert_true(rel <= tol);
        if (ts[k] == SONO_NN_BF16) /* f16's can sit under dac's loose f32 tol (1e-3) */
            assert_true(rel > t32);
        assert_true(rel > 0.1 * sono_nn_dtype_unit(ts[k]));
        free(a);
        unlink(rp);
    }
    free(a64);
    free(codes);
    sono_params_free(&p);
}

static void mimi_weights_in_dtype(void **s)
{
    (void)s;
    const sono_op *op = sono_op_find("codec.mimi");
    const char *const kv[] = {MIMI_SMALL, "n_q", "3", NULL};
    sono_params p = op_params(op, kv);
    sono_error err = {0};
    char path[4096];
    assert_int_equal(op->validate(&p, &err), 0);
    assert_int_equal(sono_mimi_weights_path(&p, path, sizeof path, &err), 0);
    sono_params_free(&p);
    weights_in_dtype(op, kv, path, 64, mimi_decode);
}

static void dac_weights_in_dtype(void **s)
{
    (void)s;
    weights_in_dtype(sono_op_find("codec.dac"), (const char *const[]){DAC_TINY, NULL},
                     "tests/data/dac/tiny.safetensors", 32, dac_decode);
}

static int setup(void **s)
{
    (void)s;
    snprintf(tmp, sizeof tmp, "/tmp/sono-codec-dtype-XXXXXX");
    if (!mkdtemp(tmp))
        return -1;
    setenv("XDG_CACHE_HOME", tmp, 1); /* mimi's random weights */
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(mimi_tolerance_counts_the_gemm_stages),
        cmocka_unit_test(dac_tolerance_counts_the_gemm_stages),
        cmocka_unit_test(roundtrip_refused_at_reduced_dtype),
        cmocka_unit_test(input_is_stored_in_dtype),
        cmocka_unit_test(mimi_weights_in_dtype),
        cmocka_unit_test(dac_weights_in_dtype),
    };
    return cmocka_run_group_tests(t, setup, teardown);
}
