/* test_whisper_impls.c — whisper.encoder's CPU impls (cpu/naive, blas/whisper) through the
 * real CLI: tests/data/whisper/impls.ini run by `harness run` (every case checked by the
 * harness against the float64 reference, the check naming the weights file and its
 * sha256), `harness exec` on speech, and weights files that load (the three name prefixes
 * transformers writes) or are refused with exit 2 and the tensor and file named (missing,
 * mis-shaped). The random weights are written under this run's temp dir. */
#include <jansson.h>
#include <stdint.h>

#include "cli_util.h"

#define WH_SUITE "tests/data/whisper/impls.ini"

static char wh_cache[PATH_MAX + 32];

static void wh_suite_all_ok(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/wh.json", cl_tmp);
    const char *env[] = {wh_cache, NULL};
    cl_res r;
    cl_h(&r, env, "run", WH_SUITE, "--out", out, "--quiet", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *doc = cl_load(out);
    json_t *cases = json_object_get(doc, "cases");
    assert_int_equal(json_array_size(cases), 2 * 2 + 1 + 2);
    int naive = 0, blas = 0, batch2 = 0, threads2 = 0;
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *id = cl_str(c, "id"), *status = cl_str(c, "status");
        if (strcmp(status, "ok") != 0) {
            json_t *why = cl_get(c, "message");
            print_error("%s: %s %s\n", id, status,
                        json_is_string(why) ? json_string_value(why) : "");
        }
        assert_string_equal(status, "ok");
        assert_true(json_is_true(cl_get(c, "check.pass")));
        assert_true(cl_num(c, "check.rel_l2") <= cl_num(c, "check.tol"));
        /* a float32 network is not the float64 one: a zero error would mean no check */
        assert_true(cl_num(c, "check.rel_l2") > 0);
        const char *detail = cl_str(c, "check.detail"), *sha = strstr(detail, " sha256 ");
        assert_non_null(strstr(detail, "whisper-enc-d"));
        assert_non_null(sha);
        assert_true(cl_is_hex64(sha + 8));
        naive += strcmp(cl_str(c, "impl"), "cpu/naive") == 0;
        blas += strcmp(cl_str(c, "impl"), "blas/whisper") == 0;
        batch2 += json_integer_value(cl_get(c, "params.batch")) == 2;
        threads2 += json_integer_value(cl_get(c, "params.threads")) == 2;
        /* x real time: frames / 100 s of audio per clip */
        double secs = cl_num(c, "params.frames") / 100.0 * cl_num(c, "params.batch");
        double xrt = cl_num(c, "derived.x_realtime");
        assert_true(fabs(xrt * cl_num(c, "time_ns.median") * 1e-9 / secs - 1) < 1e-6);
        /* the cost model, counted by hand for tiny cut to 1 block on 600 frames (T 300):
         * conv1 2*600*384*240 + conv2 2*300*384*1152 + q,k,v,out 8*300*384^2 + scores and
         * P V 4*300^2*384 + MLP 4*300*384*1536 */
        if (json_integer_value(cl_get(c, "params.layers")) == 1)
            assert_true(cl_num(c, "cost.flops") == 110592000.0 + 265420800.0 + 353894400.0 +
                                                   138240000.0 + 707788800.0);
    }
    assert_int_equal(naive, 3);
    assert_int_equal(blas, 4);
    assert_int_equal(batch2, 2);
    assert_int_equal(threads2, 1);
    json_decref(doc);
}

static void wh_exec_speech(void **state)
{
    (void)state;
    char npy[PATH_MAX];
    snprintf(npy, sizeof npy, "%s/hid.npy", cl_tmp);
    const char *env[] = {wh_cache, NULL};
    cl_res r;
    cl_h(&r, env, "exec", "whisper.encoder/blas/whisper", "--param", "model=custom",
         "--param", "d_model=32", "--param", "heads=2", "--param", "frames=60", "--input",
         "speech", "--output", npy, NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "-> ok"));
    assert_non_null(strstr(r.out, "sha256"));
    cl_free(&r);
    size_t len;
    char *raw = cl_slurp(npy, &len);
    assert_non_null(raw);
    assert_non_null(strstr(raw + 10, "'descr': '<f4'"));
    assert_non_null(strstr(raw + 10, "'shape': (30, 32)"));
    free(raw);
}

/* The random file of a custom d 32 / 2 layers model, written by a first exec. */
static void random_file(char *path, size_t n)
{
    const char *env[] = {wh_cache, NULL};
    cl_res r;
    cl_h(&r, env, "exec", "whisper.encoder/cpu/naive", "--param", "model=custom", "--param",
         "d_model=32", "--param", "heads=2", "--param", "frames=20", "--input", "speech",
         NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    snprintf(path, n, "%s/cache/sonobench/whisper-enc-d32-m80-l2-random-v1-seed1.safetensors",
             cl_tmp);
    assert_true(cl_exists(path));
}

/* A copy of a safetensors file with its header edited by fn (renamed, dropped or
 * reshaped entries), the data unchanged. */
static void edited(const char *src, const char *dst, void (*fn)(json_t *h, void *), void *ctx)
{
    size_t len;
    unsigned char *raw = (unsigned char *)cl_slurp(src, &len);
    assert_non_null(raw);
    uint64_t hn = 0;
    for (int i = 7; i >= 0; i--)
        hn = hn << 8 | raw[i];
    json_error_t je;
    json_t *h = json_loadb((const char *)raw + 8, hn, 0, &je);
    assert_non_null(h);
    fn(h, ctx);
    char *text = json_dumps(h, JSON_COMPACT);
    size_t tn = strlen(text), padded = (tn + 7) & ~(size_t)7;
    FILE *f = fopen(dst, "wb");
    assert_non_null(f);
    unsigned char lb[8];
    for (int i = 0; i < 8; i++)
        lb[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    assert_int_equal(fwrite(lb, 1, 8, f), 8);
    assert_int_equal(fwrite(text, 1, tn, f), tn);
    for (size_t i = tn; i < padded; i++)
        fputc(' ', f);
    assert_int_equal(fwrite(raw + 8 + hn, 1, len - 8 - hn, f), len - 8 - hn);
    fclose(f);
    free(text);
    free(raw);
    json_decref(h);
}

/* Every "model.encoder." name renamed to ctx's prefix. */
static void reprefix(json_t *h, void *ctx)
{
    json_t *copy = json_deep_copy(h);
    const char *key;
    json_t *v;
    json_object_foreach(copy, key, v) {
        if (strncmp(key, "model.encoder.", 14) != 0)
            continue;
        char nk[256];
        snprintf(nk, sizeof nk, "%s%s", (const char *)ctx, key + 14);
        json_object_set(h, nk, v);
        json_object_del(h, key);
    }
    json_decref(copy);
}

static void drop(json_t *h, void *ctx)
{
    assert_int_equal(json_object_del(h, (const char *)ctx), 0);
}

/* fc1.weight of block 1 as [d, 4d]: the same bytes, the transposed shape. */
static void transpose_fc1(json_t *h, void *ctx)
{
    (void)ctx;
    json_t *e = json_object_get(h, "model.encoder.layers.1.fc1.weight");
    assert_non_null(e);
    json_object_set_new(e, "shape", json_pack("[i, i]", 32, 128));
}

static int exec_with(const char *weights, cl_res *r)
{
    char wp[PATH_MAX + 16];
    snprintf(wp, sizeof wp, "weights=%s", weights);
    const char *env[] = {wh_cache, NULL};
    cl_h(r, env, "exec", "whisper.encoder/blas/whisper", "--param", "model=custom", "--param",
         "d_model=32", "--param", "heads=2", "--param", "frames=20", "--param", wp, "--input",
         "speech", NULL);
    return r->code;
}

static void wh_weights_prefixes(void **state)
{
    (void)state;
    char src[PATH_MAX], dst[PATH_MAX];
    random_file(src, sizeof src);
    const char *pres[] = {"encoder.", "", NULL};
    for (int i = 0; pres[i]; i++) {
        snprintf(dst, sizeof dst, "%s/pre%d.safetensors", cl_tmp, i);
        edited(src, dst, reprefix, (void *)pres[i]);
        cl_res r;
        if (exec_with(dst, &r) != 0)
            print_error("prefix '%s': %s%s\n", pres[i], r.out, r.err);
        cl_expect_code(&r, 0);
        assert_non_null(strstr(r.out, "-> ok"));
        cl_free(&r);
    }
}

static void wh_weights_refused(void **state)
{
    (void)state;
    char src[PATH_MAX], dst[PATH_MAX];
    random_file(src, sizeof src);
    cl_res r;
    /* a missing tensor: exit 2, its name and the file in the message */
    snprintf(dst, sizeof dst, "%s/nokbias.safetensors", cl_tmp);
    edited(src, dst, drop, "model.encoder.layers.1.self_attn.v_proj.bias");
    exec_with(dst, &r);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, dst));
    assert_non_null(strstr(r.err, "'model.encoder.layers.1.self_attn.v_proj.bias' is missing"));
    cl_free(&r);
    /* a mis-shaped one */
    snprintf(dst, sizeof dst, "%s/fc1t.safetensors", cl_tmp);
    edited(src, dst, transpose_fc1, NULL);
    exec_with(dst, &r);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, dst));
    assert_non_null(strstr(r.err, "'model.encoder.layers.1.fc1.weight' has shape [32, 128], "
                                  "model=custom expects [128, 32]"));
    cl_free(&r);
    /* a file of another model's width: conv1 named */
    const char *env[] = {wh_cache, NULL};
    char wp[PATH_MAX + 16];
    snprintf(wp, sizeof wp, "weights=%s", src);
    cl_h(&r, env, "exec", "whisper.encoder/cpu/naive", "--param", "model=tiny", "--param", wp,
         "--input", "speech", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "'model.encoder.conv1.weight' has shape [32, 80, 3], "
                                  "model=tiny expects [384, 80, 3]"));
    cl_free(&r);
    /* no such file */
    snprintf(dst, sizeof dst, "%s/absent/whisper.safetensors", cl_tmp);
    exec_with(dst, &r);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, dst));
    cl_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wh_suite_all_ok),
        cmocka_unit_test(wh_exec_speech),
        cmocka_unit_test(wh_weights_prefixes),
        cmocka_unit_test(wh_weights_refused),
    };
    int rc = cl_setup(NULL);
    if (rc)
        return 1;
    snprintf(wh_cache, sizeof wh_cache, "XDG_CACHE_HOME=%s/cache", cl_tmp);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    cl_teardown(NULL);
    return rc;
}
