/* test_codec_blocks_impls.c — the codec building blocks' impls (conv1d: cpu/naive,
 * blas/im2col; attention: cpu/naive, blas/gemm) through the real CLI: tests/data/blocks/
 * blocks.ini run by `harness run`, every case checked by the harness against the op's
 * float64 reference, the workspace each impl reports (naive attention's seq^2 scores vs
 * gemm's tile), and `harness exec` showing that no causal conv reads the future: an
 * impulse at t0 against silence leaves every earlier output untouched. */
#include "cli_util.h"

#define BLOCKS_SUITE "tests/data/blocks/blocks.ini"

static const char *const bl_ops[] = {"conv1d", "attention", NULL};
static const char *const bl_impls[2][3] = {{"cpu/naive", "blas/im2col", NULL},
                                           {"cpu/naive", "blas/gemm", NULL}};

static void blocks_suite_all_ok(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/blocks.json", cl_tmp);
    cl_res r;
    cl_h(&r, NULL, "run", BLOCKS_SUITE, "--out", out, "--quiet", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    cl_h(&r, NULL, "run", BLOCKS_SUITE, "--dry-run", NULL);
    cl_expect_code(&r, 0);
    size_t planned = 0;
    for (const char *s = r.out; (s = strchr(s, '\n')); s++)
        planned++;
    cl_free(&r);

    json_t *doc = cl_load(out);
    json_t *cases = json_object_get(doc, "cases");
    assert_int_equal(json_array_size(cases), planned);
    int seen[2][2] = {{0}}, transposed = 0, causal_attn = 0, snake = 0, elu = 0, grouped = 0;
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *id = cl_str(c, "id"), *status = cl_str(c, "status");
        if (strcmp(status, "ok") != 0) {
            json_t *why = cl_get(c, "error");
            print_error("%s: %s %s\n", id, status,
                        json_is_string(why) ? json_string_value(why) : "");
        }
        assert_string_equal(status, "ok");
        assert_true(json_is_true(cl_get(c, "check.pass")));
        assert_true(cl_num(c, "check.rel_l2") <= cl_num(c, "check.tol"));
        int o = 0, m = 0;
        while (bl_ops[o] && strcmp(bl_ops[o], cl_str(c, "op")) != 0)
            o++;
        assert_non_null(bl_ops[o]);
        while (bl_impls[o][m] && strcmp(bl_impls[o][m], cl_str(c, "impl")) != 0)
            m++;
        assert_non_null(bl_impls[o][m]);
        seen[o][m]++;
        double ws = cl_num(c, "memory.workspace_bytes");
        if (o == 0) {
            transposed += json_integer_value(cl_get(c, "params.transposed")) == 1;
            grouped += json_integer_value(cl_get(c, "params.groups")) > 1;
            snake += strcmp(cl_str(c, "params.activation"), "snake") == 0;
            elu += strcmp(cl_str(c, "params.activation"), "elu") == 0;
            assert_true(ws > 0); /* both hold their own output */
        } else {
            double seq = cl_num(c, "params.seq"), heads = cl_num(c, "params.heads"),
                   d = cl_num(c, "params.head_dim");
            causal_attn += json_integer_value(cl_get(c, "params.causal")) == 1;
            if (m == 0) /* the whole score matrix of a head, and the output */
                assert_true(ws >= 4.0 * (seq * seq + heads * seq * d));
            else { /* the output and one 128 x 256 tile per thread, whatever seq (and the
                    * pool's own few hundred bytes) */
                json_t *th = cl_get(c, "params.threads");
                double lanes = json_is_integer(th) ? (double)json_integer_value(th) : 1;
                assert_true(ws <= 4.0 * (heads * seq * d + lanes * (128 * 256 + 256)) + 4096);
            }
        }
    }
    for (int o = 0; o < 2; o++)
        for (int m = 0; m < 2; m++) {
            if (!seen[o][m])
                print_error("no case of %s/%s\n", bl_ops[o], bl_impls[o][m]);
            assert_true(seen[o][m] > 0);
        }
    assert_true(transposed > 0 && causal_attn > 0 && snake > 0 && elu > 0 && grouped > 0);
    json_decref(doc);
}

/* ---- exec ------------------------------------------------------------------------------ */

typedef struct bl_npy {
    long long shape[4];
    int ndim;
    const float *v;
    size_t nfloats;
    char *raw;
} bl_npy;

/* An .npy file per the NumPy format (version 1.0 header, little-endian float32). */
static void bl_npy_read(const char *path, bl_npy *f)
{
    size_t len;
    memset(f, 0, sizeof *f);
    f->raw = cl_slurp(path, &len);
    assert_non_null(f->raw);
    const unsigned char *u = (const unsigned char *)f->raw;
    assert_true(len >= 10);
    assert_memory_equal(u, "\x93NUMPY\x01\x00", 8);
    size_t hl = (size_t)u[8] | (size_t)u[9] << 8;
    assert_true(10 + hl <= len);
    char dict[1024];
    assert_true(hl < sizeof dict);
    memcpy(dict, f->raw + 10, hl);
    dict[hl] = 0;
    assert_non_null(strstr(dict, "'descr': '<f4'"));
    const char *s = strstr(dict, "'shape': (");
    assert_non_null(s);
    for (s += 10; *s != ')';) {
        char *end;
        assert_true(f->ndim < 4);
        f->shape[f->ndim++] = strtoll(s, &end, 10);
        assert_true(end != s);
        s = end + strspn(end, ", ");
    }
    f->v = (const float *)(const void *)(f->raw + 10 + hl);
    f->nfloats = (len - 10 - hl) / sizeof(float);
}

/* exec of conv1d/impl with params (NULL-terminated "k=v") on input, into f. */
static void bl_exec(const char *impl, const char *input, const char **params, bl_npy *f)
{
    char name[128], out[PATH_MAX];
    snprintf(name, sizeof name, "conv1d/%s", impl);
    snprintf(out, sizeof out, "%s/conv_%d.npy", cl_tmp, ++cl_seq);
    const char *argv[40] = {cl_harness, "exec", name, "--input", input, "--output", out};
    int n = 7;
    for (int i = 0; params[i] && n < 38; i++) {
        argv[n++] = "--param";
        argv[n++] = params[i];
    }
    argv[n] = NULL;
    cl_res r;
    cl_run(NULL, NULL, argv, &r);
    cl_expect_code(&r, 0);
    cl_free(&r);
    bl_npy_read(out, f);
}

/* x is the signal in channel 0 and delayed copies in the others (never earlier), so an
 * impulse at t0 differs from silence in x at t0 and later only. Outputs that may see only
 * earlier input (conv: t*stride < t0; transposed: u < t0*stride) must be bit-identical;
 * some later one must differ. expect_causal = 0: the valid conv looks ahead, and an
 * earlier output differs: the test can see a leak. */
static void bl_future(const char *impl, const char **params, long long t0, long long first,
                      long long rows, long long cols, int expect_causal)
{
    char imp[64];
    snprintf(imp, sizeof imp, "impulse(pos=%lld)", t0);
    bl_npy a, b;
    bl_exec(impl, imp, params, &a);
    bl_exec(impl, "silence", params, &b);
    assert_int_equal(a.ndim, 2);
    assert_int_equal(a.shape[0], rows);
    assert_int_equal(a.shape[1], cols);
    assert_int_equal(a.nfloats, (size_t)(rows * cols));
    assert_int_equal(b.nfloats, a.nfloats);
    int early = 0, late = 0;
    for (long long r = 0; r < rows; r++)
        for (long long t = 0; t < cols; t++) {
            int differs = a.v[r * cols + t] != b.v[r * cols + t];
            early |= differs && t < first;
            late |= differs && t >= first;
        }
    if (early == expect_causal)
        print_error("%s %s: an output before %lld %s\n", impl, params[0], first,
                    early ? "read the future" : "did not differ");
    assert_int_equal(early, !expect_causal);
    assert_true(late);
    free(a.raw);
    free(b.raw);
}

static void causal_conv_never_reads_the_future(void **state)
{
    (void)state;
    const char *dil[] = {"cin=4", "cout=3", "kernel=3", "dilation=4", "length=400", NULL};
    const char *strided[] = {"cin=4", "cout=6", "kernel=8", "stride=4", "groups=2",
                             "activation=elu", "length=400", NULL};
    const char *snake[] = {"cin=3", "cout=5", "kernel=7", "activation=snake", "length=300",
                           NULL};
    const char *up[] = {"cin=6", "cout=4", "kernel=16", "stride=8", "transposed=1",
                        "length=50", NULL};
    const char *valid[] = {"cin=4", "cout=3", "kernel=3", "dilation=4", "causal=0",
                           "length=400", NULL};
    const char *const impls[] = {"cpu/naive", "blas/im2col"};
    for (int m = 0; m < 2; m++) {
        bl_future(impls[m], dil, 200, 200, 3, 400, 1);
        bl_future(impls[m], strided, 201, 51, 6, 100, 1); /* first t with 4t >= 201 */
        bl_future(impls[m], snake, 150, 150, 5, 300, 1);
        bl_future(impls[m], up, 20, 160, 4, 400, 1);      /* u >= 20*8 */
        bl_future(impls[m], valid, 200, 200, 3, 392, 0);
    }
}

/* Params the contract rules out are refused with the parameter named. */
static void blocks_refused(void **state)
{
    (void)state;
    cl_res r;
    cl_h(&r, NULL, "exec", "conv1d/blas/im2col", "--param", "cin=6", "--param", "groups=4",
         NULL);
    assert_true(r.code != 0);
    assert_true(strstr(r.out, "groups") || strstr(r.err, "groups"));
    cl_free(&r);
    cl_h(&r, NULL, "exec", "attention/cpu/naive", "--param", "threads=2", NULL);
    assert_true(r.code != 0);
    assert_true(strstr(r.out, "threads") || strstr(r.err, "threads"));
    cl_free(&r);
    cl_h(&r, NULL, "exec", "attention/blas/gemm", "--param", "seq=16384", "--param",
         "head_dim=128", NULL);
    assert_true(r.code != 0);
    assert_true(strstr(r.out, "2^36") || strstr(r.err, "2^36"));
    cl_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blocks_suite_all_ok),
        cmocka_unit_test(causal_conv_never_reads_the_future),
        cmocka_unit_test(blocks_refused),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
