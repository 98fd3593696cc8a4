/* test_mimi_impls.c — codec.mimi's CPU impls through the real CLI: tests/data/mimi/impls.ini
 * run by `harness run` (cpu/naive and blas/mimi, every mode and n_q 1, 3, 8 on small
 * random dims, each case checked by the harness against the float64 reference, the check
 * naming the weights file and its sha256, the bitrate n_q log2(K) frame_rate), `harness
 * exec` writing codes that are not
 * degenerate, and weights files refused with exit 2 and the tensor and file named
 * (missing, mis-shaped, absent). The random weights are written under this run's temp
 * dir. */
#include <ctype.h>
#include <jansson.h>
#include <stdint.h>

#include "cli_util.h"

#define MI_SUITE "tests/data/mimi/impls.ini"

static char mi_cache[PATH_MAX + 32];

/* The small dims of impls.ini, as exec params. */
#define SMALL "--param", "filters=4", "--param", "hidden=32", "--param", "layers=2",        \
              "--param", "heads=4", "--param", "ffn=64", "--param", "codebooks=8",        \
              "--param", "codebook_size=64", "--param", "codebook_dim=16", "--param",     \
              "window=8", "--param", "ratios=4.3.2", "--param", "seconds=0.05"

static void mi_suite_all_ok(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/mi.json", cl_tmp);
    const char *env[] = {mi_cache, NULL};
    cl_res r;
    cl_h(&r, env, "run", MI_SUITE, "--out", out, "--quiet", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *doc = cl_load(out);
    json_t *cases = json_object_get(doc, "cases");
    /* + blas on 2 threads, + 2 impls x 2 modes with streams = 3 */
    assert_int_equal(json_array_size(cases), 2 * 3 * 3 + 1 + 4);
    size_t i;
    json_t *c;
    int encode = 0, blas = 0, streams3 = 0;
    json_array_foreach(cases, i, c) {
        const char *id = cl_str(c, "id"), *status = cl_str(c, "status");
        if (strcmp(status, "ok") != 0) {
            json_t *why = cl_get(c, "message");
            print_error("%s: %s %s\n", id, status,
                        json_is_string(why) ? json_string_value(why) : "");
        }
        assert_string_equal(status, "ok");
        assert_true(json_is_true(cl_get(c, "check.pass")));
        const char *mode = cl_str(c, "params.mode"), *detail = cl_str(c, "check.detail");
        const char *sha = strstr(detail, " sha256 ");
        assert_non_null(strstr(detail, "mimi-v1-f4h32l2a4i64q8k64d16w8r4.3.2s1"));
        assert_non_null(sha);
        for (int k = 0; k < 64; k++) /* the hash, then "; codes: ..." for encode */
            assert_true(isxdigit((unsigned char)sha[8 + k]));
        assert_true(sha[8 + 64] == 0 || sha[8 + 64] == ';');
        if (strcmp(mode, "encode") == 0) {
            encode++;
            assert_true(cl_num(c, "check.mismatches") == 0);
            if (json_integer_value(cl_get(c, "params.streams")) != 3)
                assert_non_null(strstr(detail, " 0 mismatches"));
        } else {
            assert_true(cl_num(c, "check.rel_l2") <= cl_num(c, "check.tol"));
            /* a float32 network is not the float64 one: a zero error would mean no check */
            assert_true(cl_num(c, "check.rel_l2") > 0);
        }
        /* 6 bits per code (K 64) at 500 frames/s (hop 24 at 24 kHz: 1000 Hz, halved) */
        blas += strcmp(cl_str(c, "impl"), "blas/mimi") == 0;
        json_t *sv = cl_get(c, "params.streams");
        if (json_integer_value(sv) == 3) {
            streams3++;
            assert_non_null(strstr(detail, "3 streams (worst "));
        }
        double nq = cl_num(c, "params.n_q");
        assert_true(cl_num(c, "quality.bitrate_bps") == nq * 6 * 500);
    }
    assert_int_equal(encode, 8);
    assert_int_equal(blas, 12);
    assert_int_equal(streams3, 4);
    json_decref(doc);
}

/* Codes [n_q, frames] as .npy, and not all one value (a network that collapsed every
 * frame to one code would pass an equality check trivially). */
static void mi_exec_codes(void **state)
{
    (void)state;
    char npy[PATH_MAX];
    snprintf(npy, sizeof npy, "%s/codes.npy", cl_tmp);
    const char *env[] = {mi_cache, NULL};
    cl_res r;
    /* cl_h takes 30 arguments: n_q at its default, 8 */
    cl_h(&r, env, "exec", "codec.mimi/cpu/naive", "--output", npy, "--input", "noise",
         "--param", "mode=encode", SMALL, NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "-> ok"));
    cl_free(&r);
    size_t len;
    char *raw = cl_slurp(npy, &len);
    assert_non_null(raw);
    assert_true(len > 10);
    size_t hl = (unsigned char)raw[8] | (size_t)(unsigned char)raw[9] << 8;
    char hdr[512] = "";
    snprintf(hdr, sizeof hdr, "%.*s", (int)(hl < 511 ? hl : 511), raw + 10);
    assert_non_null(strstr(hdr, "'descr': '<i4'"));
    assert_non_null(strstr(hdr, "'shape': (8, 25)"));
    assert_int_equal(len, 10 + hl + 8 * 25 * 4);
    const int32_t *codes = (const int32_t *)(raw + 10 + hl);
    for (int q = 0; q < 8; q++) {
        int distinct = 0;
        for (int t = 0; t < 25; t++) {
            int seen = 0;
            for (int u = 0; u < t; u++)
                seen |= codes[q * 25 + u] == codes[q * 25 + t];
            distinct += !seen;
            assert_true(codes[q * 25 + t] >= 0 && codes[q * 25 + t] < 64);
        }
        assert_true(distinct >= 8); /* of 25 frames of noise, 64 codes */
    }
    free(raw);
}

static void random_file(char *path, size_t n)
{
    const char *env[] = {mi_cache, NULL};
    cl_res r;
    cl_h(&r, env, "exec", "codec.mimi/cpu/naive", "--param", "mode=decode", SMALL, "--input",
         "speech", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    snprintf(path, n, "%s/cache/sonobench/mimi-v1-f4h32l2a4i64q8k64d16w8r4.3.2s1.safetensors",
             cl_tmp);
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

/* fc1.weight of the decoder's layer 1 as [32, 64]: the same bytes, transposed shape. */
static void transpose_fc1(json_t *h, void *ctx)
{
    (void)ctx;
    json_t *e = json_object_get(h, "decoder_transformer.layers.1.mlp.fc1.weight");
    assert_non_null(e);
    json_object_set_new(e, "shape", json_pack("[i, i]", 32, 64));
}

static int exec_with(const char *weights, const char *impl, cl_res *r)
{
    char wp[PATH_MAX + 16];
    snprintf(wp, sizeof wp, "weights=%s", weights);
    const char *env[] = {mi_cache, NULL};
    cl_h(r, env, "exec", impl, "--param", "mode=roundtrip", "--param", wp, "--param",
         "seconds=0.05", "--input", "speech", NULL);
    return r->code;
}

static void mi_weights_file(void **state)
{
    (void)state;
    char src[PATH_MAX], dst[PATH_MAX];
    random_file(src, sizeof src);
    cl_res r;
    /* the random file given by path: its metadata's config is used, so it runs */
    exec_with(src, "codec.mimi/cpu/naive", &r);
    if (r.code)
        print_error("%s%s\n", r.out, r.err);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "-> ok"));
    cl_free(&r);
    /* a missing tensor: exit 2, its name and the file in the message */
    snprintf(dst, sizeof dst, "%s/nousage.safetensors", cl_tmp);
    edited(src, dst, drop,
           "quantizer.acoustic_residual_vector_quantizer.layers.6.codebook.cluster_usage");
    exec_with(dst, "codec.mimi/cpu/naive", &r);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, dst));
    assert_non_null(strstr(r.err, "'quantizer.acoustic_residual_vector_quantizer.layers.6."
                                  "codebook.cluster_usage' is missing"));
    cl_free(&r);
    /* a mis-shaped one */
    snprintf(dst, sizeof dst, "%s/fc1t.safetensors", cl_tmp);
    edited(src, dst, transpose_fc1, NULL);
    exec_with(dst, "codec.mimi/cpu/naive", &r);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, dst));
    assert_non_null(strstr(r.err, "'decoder_transformer.layers.1.mlp.fc1.weight' has shape "
                                  "[32, 64], the config expects [64, 32]"));
    cl_free(&r);
    /* no such file */
    snprintf(dst, sizeof dst, "%s/absent/mimi.safetensors", cl_tmp);
    exec_with(dst, "codec.mimi/cpu/naive", &r);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, dst));
    cl_free(&r);
    /* n_q beyond the file's codebooks */
    const char *env[] = {mi_cache, NULL};
    char wp[PATH_MAX + 16];
    snprintf(wp, sizeof wp, "weights=%s", src);
    cl_h(&r, env, "exec", "codec.mimi/cpu/naive", "--param", wp, "--param", "n_q=9",
         "--param", "seconds=0.05", "--input", "speech", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "n_q=9: the model has 8 codebooks"));
    cl_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mi_suite_all_ok),
        cmocka_unit_test(mi_exec_codes),
        cmocka_unit_test(mi_weights_file),
    };
    int rc = cl_setup(NULL);
    if (rc)
        return 1;
    snprintf(mi_cache, sizeof mi_cache, "XDG_CACHE_HOME=%s/cache", cl_tmp);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    cl_teardown(NULL);
    return rc;
}
