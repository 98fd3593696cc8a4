/* test_vq.c — the quantiser references and data: vq.encode's ties to the lowest index, its
 * check accepting a float32 near-tie flip and failing a far wrong code, rvq.decode's check,
 * the RVQ distortion on held-out speech falling with n_q (the curve is printed), k-means
 * training determinism by seed, and the codebook cache rejecting damaged files. */
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

#include "check.h"
#include "input.h"
#include "op.h"
#include "ops/ref/vq64.h"
#include "vqdata.h"

/* vq.encode's parameters for a hand-made K x D codebook and T vectors. */
static void vq_params(sono_params *p, long long K, long long D, long long T)
{
    *p = (sono_params){.count = 3};
    p->v[0] = (sono_param){.name = "K", .type = SONO_PINT, .i = K};
    p->v[1] = (sono_param){.name = "D", .type = SONO_PINT, .i = D};
    p->v[2] = (sono_param){.name = "T", .type = SONO_PINT, .i = T};
}

static void encode_ref(const sono_op *op, const sono_params *p, float *packed, long long n,
                       int32_t *codes, long long T)
{
    sono_buf in = {.dtype = SONO_F32, .ndim = 1, .shape = {n}, .data = packed,
                   .nbytes = (size_t)n * 4};
    sono_buf ref = {.dtype = SONO_I32, .ndim = 1, .shape = {T}, .data = codes,
                    .nbytes = (size_t)T * 4};
    sono_error err = {0};
    assert_int_equal(op->reference(p, &in, &ref, &err), 0);
}

/* Codewords 1 and 2 are equal, 0 and 3 are equally far from the second vector: the lowest
 * index wins both ties, whatever the order of the distances' sums. */
static void ties_to_lowest(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("vq.encode");
    assert_non_null(op);
    float packed[] = {
        1, 0, 0, /* c0 */
        0, 1, 0, /* c1 */
        0, 1, 0, /* c2 = c1 */
        0, 0, 1, /* c3: as far from (0,0,0) as c0 and c1 */
        0, 0.9f, 0.1f, /* x0: nearest c1 = c2 */
        0, 0, 0,       /* x1: c0, c1, c2, c3 all at distance 1 */
        0.1f, 0.1f, 2, /* x2: c3 */
    };
    sono_params p;
    vq_params(&p, 4, 3, 3);
    int32_t codes[3] = {-1, -1, -1};
    encode_ref(op, &p, packed, 21, codes, 3);
    assert_int_equal(codes[0], 1);
    assert_int_equal(codes[1], 0);
    assert_int_equal(codes[2], 3);
}

/* x = (0.5, 0, 0): c0 = 0 and c1 = (1 + 2^-22, 0, 0) are a near-tie (the gap 2^-22 is below
 * float32 rounding of distances of size ~1), c2 = (3, 0, 0) is far. */
static void check_near_tie_and_far(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("vq.encode");
    float packed[] = {0, 0, 0, 1.0f + ldexpf(1, -22), 0, 0, 3, 0, 0, 0.5f, 0, 0};
    sono_params p;
    vq_params(&p, 3, 3, 1);
    int32_t ref[1], got[1];
    encode_ref(op, &p, packed, 12, ref, 1);
    assert_int_equal(ref[0], 0);
    sono_buf in = {.dtype = SONO_F32, .ndim = 1, .shape = {12}, .data = packed, .nbytes = 48};
    sono_buf rb = {.dtype = SONO_I32, .ndim = 1, .shape = {1}, .data = ref, .nbytes = 4};
    sono_buf ob = {.dtype = SONO_I32, .ndim = 1, .shape = {1}, .data = got, .nbytes = 4};
    double tol = op->tolerance(&p, SONO_ERR_LINEAR);
    sono_error err = {0};
    const int32_t cases[] = {0, 1, 2, -1, 3};
    const int pass[] = {1, 1, 0, 0, 0};
    for (int i = 0; i < 5; i++) {
        sono_check c = {.tol = tol};
        got[0] = cases[i];
        assert_int_equal(op->check(&p, &in, &ob, &rb, tol, &c, &err), 0);
        if (c.pass != pass[i])
            print_error("code %d: pass %d, expected %d (%s)\n", cases[i], c.pass, pass[i],
                        c.detail);
        assert_int_equal(c.pass, pass[i]);
        assert_true(c.has_mismatches);
        assert_int_equal(c.mismatches, cases[i] != 0);
        assert_true(c.detail[0]);
    }
}

/* rvq.decode's check: the sum of codewords within float rounding passes, one value off by
 * 1e-3 fails. */
static void decode_check(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("rvq.decode");
    assert_non_null(op);
    sono_params p;
    vq_params(&p, 2, 2, 2);
    p.v[p.count++] = (sono_param){.name = "n_q", .type = SONO_PINT, .i = 2};
    /* codebooks [2, 2, 2], codes [2, 2] as floats, vectors [2, 2] */
    float in_v[] = {1, 2, 3, 4, 0.5f, 0.25f, -1, -2, /* books */
                    1, 0, 0, 1,                       /* codes: t0 (1, 0), t1 (0, 1) */
                    0, 0, 0, 0};
    double ref_v[4];
    float out_v[4];
    sono_buf in = {.dtype = SONO_F32, .ndim = 1, .shape = {16}, .data = in_v, .nbytes = 64};
    sono_buf ref = {.dtype = SONO_F64, .ndim = 2, .shape = {2, 2}, .data = ref_v, .nbytes = 32};
    sono_buf out = {.dtype = SONO_F32, .ndim = 2, .shape = {2, 2}, .data = out_v, .nbytes = 16};
    sono_error err = {0};
    assert_int_equal(op->reference(&p, &in, &ref, &err), 0);
    const double want[] = {3.5, 4.25, 0, 0}; /* t0: (3,4)+(0.5,0.25); t1: (1,2)+(-1,-2) */
    for (int i = 0; i < 4; i++) {
        assert_true(ref_v[i] == want[i]);
        out_v[i] = (float)want[i];
    }
    double tol = op->tolerance(&p, SONO_ERR_LINEAR);
    sono_check c = {0};
    assert_int_equal(op->check(&p, &in, &out, &ref, tol, &c, &err), 0);
    assert_true(c.pass);
    out_v[1] += 1e-3f;
    c = (sono_check){0};
    assert_int_equal(op->check(&p, &in, &out, &ref, tol, &c, &err), 0);
    assert_false(c.pass);
    in_v[8] = 2; /* a code past K: the reference refuses it */
    assert_int_equal(op->reference(&p, &in, &ref, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "code"));
}

/* The suite's codebooks (K 1024, D 128, 32 stages, seed 1; trained once into the user's
 * cache) on 300 held-out vectors: distortion at n_q = 1, 2, 4, ..., 32 strictly falls. */
static void rvq_curve_heldout(void **state)
{
    (void)state;
    const long long K = 1024, D = 128, T = 300;
    sono_rvq_cfg cfg = sono_rvq_default_cfg(K, D, 1);
    float *cb = malloc((size_t)(cfg.n_q * K * D) * sizeof *cb);
    long long n = sono_vq_samples(T, D);
    float *sig = malloc((size_t)n * sizeof *sig), *x = malloc((size_t)(T * D) * sizeof *x);
    int32_t *codes = malloc((size_t)(cfg.n_q * T) * sizeof *codes);
    assert_true(cb && sig && x && codes);
    sono_error err = {0};
    sono_input_spec spec;
    assert_int_equal(sono_input_parse("speech", NULL, &spec, &err), 0);
    if (sono_rvq_codebooks(&cfg, cb, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(sono_vq_signal(&spec, 1, n, sig, &err), 0);
    sono_vq_windows(sig, T, D, x);
    sono_rvq64_encode(cb, cfg.n_q, K, D, x, T, codes);
    double last = INFINITY;
    printf("rvq held-out distortion (K 1024, D 128, %lld vectors):", T);
    for (int q = 1; q <= 32; q *= 2) {
        double d = sono_rvq64_distortion(cb, q, K, D, x, codes, T);
        printf(" n_q=%d %.4f", q, d);
        assert_true(d < last);
        last = d;
    }
    printf("\n");
    /* one stage of 1024 trained codewords already removes most of the energy */
    assert_true(sono_rvq64_distortion(cb, 1, K, D, x, codes, T) < 0.5);
    free(cb);
    free(sig);
    free(x);
    free(codes);
}

static const sono_rvq_cfg small = {.K = 16, .D = 8, .n_q = 3, .n_train = 256, .iters = 2,
                                   .seed = 5};

static void train_deterministic(void **state)
{
    (void)state;
    size_t n = 3 * 16 * 8;
    float *a = malloc(n * 4), *b = malloc(n * 4);
    sono_error err = {0};
    assert_int_equal(sono_rvq_train(&small, a, &err), 0);
    assert_int_equal(sono_rvq_train(&small, b, &err), 0);
    assert_memory_equal(a, b, n * 4);
    sono_rvq_cfg other = small;
    other.seed = 6;
    assert_int_equal(sono_rvq_train(&other, b, &err), 0);
    assert_memory_not_equal(a, b, n * 4);
    other = small;
    other.n_train = 8; /* fewer windows than codes */
    assert_int_equal(sono_rvq_train(&other, b, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "n_train"));
    free(a);
    free(b);
}

static void cut(const char *path, long bytes)
{
    assert_int_equal(truncate(path, bytes), 0);
}

static void flip_byte(const char *path, long at)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, at, SEEK_SET), 0);
    int c = fgetc(f);
    assert_int_equal(fseek(f, at, SEEK_SET), 0);
    fputc(c ^ 0x40, f);
    fclose(f);
}

/* A truncated or corrupted cache is rejected with the file and the fault named; the
 * get-or-train call then retrains and replaces it (the codebooks equal a fresh training). */
static void cache_rejects_damage(void **state)
{
    (void)state;
    char dir[] = "/tmp/sonovq-XXXXXX", path[4096];
    assert_non_null(mkdtemp(dir));
    setenv("SONO_CACHE_DIR", dir, 1);
    size_t n = 3 * 16 * 8;
    float *fresh = malloc(n * 4), *got = malloc(n * 4);
    sono_error err = {0};
    assert_int_equal(sono_rvq_train(&small, fresh, &err), 0);
    assert_int_equal(sono_rvq_cache_path(&small, path, sizeof path, &err), 0);
    assert_int_equal(strncmp(path, dir, strlen(dir)), 0);
    assert_int_equal(sono_rvq_load(path, &small, got, &err), SONO_ENOTFOUND);
    assert_int_equal(sono_rvq_codebooks(&small, got, &err), 0); /* trains, saves */
    assert_memory_equal(got, fresh, n * 4);
    memset(got, 0, n * 4);
    assert_int_equal(sono_rvq_load(path, &small, got, &err), 0);
    assert_memory_equal(got, fresh, n * 4);

    long size = 104 + (long)n * 4 + 32;
    cut(path, size - 5);
    assert_int_equal(sono_rvq_load(path, &small, got, &err), SONO_EPARSE);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "truncated"));
    assert_int_equal(sono_rvq_codebooks(&small, got, &err), 0); /* retrained */
    assert_memory_equal(got, fresh, n * 4);
    assert_int_equal(sono_rvq_load(path, &small, got, &err), 0);

    flip_byte(path, 104 + 77); /* inside the codebooks */
    assert_int_equal(sono_rvq_load(path, &small, got, &err), SONO_EPARSE);
    assert_non_null(strstr(err.msg, "sha256"));
    flip_byte(path, 104 + 77);
    flip_byte(path, 12); /* inside the header: other settings */
    assert_int_equal(sono_rvq_load(path, &small, got, &err), SONO_EPARSE);
    assert_non_null(strstr(err.msg, "settings"));
    assert_int_equal(sono_rvq_codebooks(&small, got, &err), 0);
    assert_memory_equal(got, fresh, n * 4);
    assert_int_equal(sono_rvq_load(path, &small, got, &err), 0);

    /* other settings never share the file */
    sono_rvq_cfg other = small;
    char path2[4096];
    other.seed = 6;
    assert_int_equal(sono_rvq_cache_path(&other, path2, sizeof path2, &err), 0);
    assert_string_not_equal(path, path2);
    remove(path);
    rmdir(dir);
    unsetenv("SONO_CACHE_DIR");
    free(fresh);
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ties_to_lowest),
        cmocka_unit_test(check_near_tie_and_far),
        cmocka_unit_test(decode_check),
        cmocka_unit_test(train_deterministic),
        cmocka_unit_test(cache_rejects_damage),
        cmocka_unit_test(rvq_curve_heldout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
