/* test_generation_impls.c — vocoder.hifigan and wavenet.stack's CPU impls through the real
 * CLI: tests/data/generation/impls.ini run by `harness run` (every case checked by the
 * harness against the float64 reference; streamed cases also against the impl's own
 * offline run, bit for bit on cpu/naive and blas/hifigan), the cost models against hand
 * counts, `harness exec` of each op, and HiFi-GAN weights files refused with exit 2 and
 * the tensor and file named (missing, mis-shaped, absent); the py/torch peers pass the same checks (or, with
 * no Python with torch, skip saying so). The random weights go under this run's temp dir. */
#include <jansson.h>
#include <stdint.h>

#include "cli_util.h"

#define GEN_SUITE "tests/data/generation/impls.ini"
#define GEN_PY "tests/data/generation/py.ini"

static char gen_cache[PATH_MAX + 32];

static void gen_suite_all_ok(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/gen.json", cl_tmp);
    const char *env[] = {gen_cache, NULL};
    cl_res r;
    cl_h(&r, env, "run", GEN_SUITE, "--out", out, "--quiet", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *doc = cl_load(out);
    json_t *cases = json_object_get(doc, "cases");
    /* hifigan 2 + 2 streamed, wavenet 4 + 2 streamed, [threads] and [wavenet_threads]
     * 1 + 1 each */
    assert_int_equal(json_array_size(cases), 2 + 2 + 4 + 2 + 2 + 2);
    int streams = 0, exact = 0, hg = 0, wv = 0;
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
        const char *op = cl_str(c, "op"), *impl = cl_str(c, "impl");
        int is_hg = strcmp(op, "vocoder.hifigan") == 0;
        hg += is_hg;
        wv += !is_hg;
        if (is_hg)
            assert_non_null(strstr(cl_str(c, "check.detail"), "hifigan-ch"));
        json_t *off = cl_get(c, "stream.offline.exact");
        if (off) {
            streams++;
            /* cpu/naive streams with the same sums in the same order as offline, and
             * blas/hifigan with the same GEMM tiles */
            if (strcmp(impl, "cpu/naive") == 0 || strcmp(impl, "blas/hifigan") == 0) {
                assert_true(json_is_true(off));
                exact++;
            }
            continue;
        }
        /* x real time: audio seconds over the median time */
        double secs = is_hg ? cl_num(c, "params.frames") * 256 / 22050.0
                            : cl_num(c, "params.seconds");
        double xrt = cl_num(c, "derived.x_realtime");
        assert_true(fabs(xrt * cl_num(c, "time_ns.median") * 1e-9 / secs - 1) < 1e-6);
        /* the cost models counted by hand. HiFi-GAN ch 32, 40 frames: conv_pre
         * 2*40*32*80*7; per stage (in, out, K, length L after it) the transposed conv
         * 2*(L/r)*in*out*K and the resblocks 2*L*out^2*6*(3+7+11): (32,16,16,320),
         * (16,8,16,2560), (8,4,4,5120), (4,2,4,10240); conv_post 2*10240*2*7. WaveNet
         * R = S = 16, 8 layers, 320 samples, no conditioning: per sample and layer the
         * gates 2*2*16*32, residual and skip 2*16*16 each; the input conv 2*16. */
        if (is_hg)
            assert_true(cl_num(c, "cost.flops") ==
                        1433600.0 + 655360.0 + 20643840.0 + 1310720.0 + 41287680.0 +
                            655360.0 + 20643840.0 + 327680.0 + 10321920.0 + 286720.0);
        else if (json_integer_value(cl_get(c, "params.cond")) == 0)
            assert_true(cl_num(c, "cost.flops") == 320.0 * (32 + 8 * (2048 + 512 + 512)));
    }
    assert_int_equal(hg, 6);
    assert_int_equal(wv, 8);
    assert_int_equal(streams, 6);
    assert_int_equal(exact, 4);
    json_decref(doc);
}

static void gen_exec(void **state)
{
    (void)state;
    char npy[PATH_MAX];
    const char *env[] = {gen_cache, NULL};
    cl_res r;
    snprintf(npy, sizeof npy, "%s/wave.npy", cl_tmp);
    cl_h(&r, env, "exec", "vocoder.hifigan/blas/hifigan", "--param", "config=custom",
         "--param", "channels=16", "--param", "frames=8", "--input", "speech", "--output", npy,
         NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "-> ok"));
    cl_free(&r);
    size_t len;
    char *raw = cl_slurp(npy, &len);
    assert_non_null(raw);
    assert_non_null(strstr(raw + 10, "'shape': (2048,)"));
    free(raw);
    snprintf(npy, sizeof npy, "%s/skip.npy", cl_tmp);
    cl_h(&r, env, "exec", "wavenet.stack/cpu/naive", "--param", "channels=8", "--param",
         "skip=4", "--param", "stacks=1", "--param", "cycle=3", "--param", "cond=2", "--param",
         "seconds=0.005", "--input", "speech", "--output", npy, NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "-> ok"));
    cl_free(&r);
    raw = cl_slurp(npy, &len);
    assert_non_null(raw);
    assert_non_null(strstr(raw + 10, "'shape': (4, 80)"));
    free(raw);
}

/* The random file of a custom 16-channel HiFi-GAN, written by a first exec. */
static void random_file(char *path, size_t n)
{
    const char *env[] = {gen_cache, NULL};
    cl_res r;
    cl_h(&r, env, "exec", "vocoder.hifigan/cpu/naive", "--param", "config=custom", "--param",
         "channels=16", "--param", "frames=4", "--input", "speech", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    snprintf(path, n, "%s/cache/sonobench/hifigan-ch16-random-v1-seed1.safetensors", cl_tmp);
    assert_true(cl_exists(path));
}

/* A copy of a safetensors file with its header edited by fn, the data unchanged. */
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

static void drop(json_t *h, void *ctx)
{
    assert_int_equal(json_object_del(h, (const char *)ctx), 0);
}

/* upsampler.1.weight [8, 4, 16] as [4, 8, 16]: the same bytes, a Conv1d's layout. */
static void swap_up1(json_t *h, void *ctx)
{
    (void)ctx;
    json_t *e = json_object_get(h, "upsampler.1.weight");
    assert_non_null(e);
    json_object_set_new(e, "shape", json_pack("[i, i, i]", 4, 8, 16));
}

static int exec_with(const char *weights, cl_res *r)
{
    char wp[PATH_MAX + 16];
    snprintf(wp, sizeof wp, "weights=%s", weights);
    const char *env[] = {gen_cache, NULL};
    cl_h(r, env, "exec", "vocoder.hifigan/blas/hifigan", "--param", "config=custom", "--param",
         "channels=16", "--param", "frames=4", "--param", wp, "--input", "speech", NULL);
    return r->code;
}

static void gen_weights_refused(void **state)
{
    (void)state;
    char src[PATH_MAX], dst[PATH_MAX];
    random_file(src, sizeof src);
    cl_res r;
    /* the file itself loads */
    exec_with(src, &r);
    cl_expect_code(&r, 0);
    cl_free(&r);
    snprintf(dst, sizeof dst, "%s/noconv.safetensors", cl_tmp);
    edited(src, dst, drop, "resblocks.7.convs2.1.bias");
    exec_with(dst, &r);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, dst));
    assert_non_null(strstr(r.err, "'resblocks.7.convs2.1.bias' is missing"));
    cl_free(&r);
    snprintf(dst, sizeof dst, "%s/up1.safetensors", cl_tmp);
    edited(src, dst, swap_up1, NULL);
    exec_with(dst, &r);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, dst));
    assert_non_null(strstr(r.err, "'upsampler.1.weight' has shape [4, 8, 16], config=custom "
                                  "(channels 16) expects [8, 4, 16]"));
    cl_free(&r);
    snprintf(dst, sizeof dst, "%s/nomean.safetensors", cl_tmp);
    edited(src, dst, drop, "mean");
    exec_with(dst, &r);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "'mean' is missing"));
    cl_free(&r);
    /* a file of another width: v2's conv_pre named */
    const char *env[] = {gen_cache, NULL};
    char wp[PATH_MAX + 16];
    snprintf(wp, sizeof wp, "weights=%s", src);
    cl_h(&r, env, "exec", "vocoder.hifigan/cpu/naive", "--param", "config=v2", "--param",
         "frames=4", "--param", wp, "--input", "speech", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "'conv_pre.weight' has shape [16, 80, 7], config=v2 "
                                  "(channels 128) expects [128, 80, 7]"));
    cl_free(&r);
    snprintf(dst, sizeof dst, "%s/absent/hifigan.safetensors", cl_tmp);
    exec_with(dst, &r);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, dst));
    cl_free(&r);
}


/* py/torch: every case ok and checked, or (no numpy/torch/transformers) skipped with the
 * missing package named. */
static void gen_py_peers(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/genpy.json", cl_tmp);
    const char *env[] = {gen_cache, NULL};
    cl_res r;
    cl_h(&r, env, "run", GEN_PY, "--out", out, "--quiet", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *doc = cl_load(out), *cases = json_object_get(doc, "cases"), *c;
    assert_int_equal(json_array_size(cases), 4);
    size_t i;
    int ok = 0;
    json_array_foreach(cases, i, c) {
        const char *st = cl_str(c, "status");
        if (strcmp(st, "skip") == 0) {
            const char *msg = cl_str(c, "message");
            print_message("%s: skip (%s)\n", cl_str(c, "id"), msg);
            assert_true(strstr(msg, "not installed") || strstr(msg, "numpy") ||
                        strstr(msg, "Python"));
            continue;
        }
        assert_string_equal(st, "ok");
        assert_true(json_is_true(cl_get(c, "check.pass")));
        assert_true(cl_num(c, "check.rel_l2") > 0);
        ok++;
    }
    print_message("py/torch: %d of 4 cases ran\n", ok);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gen_suite_all_ok),
        cmocka_unit_test(gen_exec),
        cmocka_unit_test(gen_weights_refused),
        cmocka_unit_test(gen_py_peers),
    };
    int rc = cl_setup(NULL);
    if (rc)
        return 1;
    snprintf(gen_cache, sizeof gen_cache, "XDG_CACHE_HOME=%s/cache", cl_tmp);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    cl_teardown(NULL);
    return rc;
}
