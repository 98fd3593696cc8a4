/* test_load_batch.c — op load.batch and dataload/threads through the real CLI on a tiny
 * corpus (6 clips, its own cache folder): each source (folder, packed pcm16 and flac,
 * tar shards) at 1 and 2 threads passes against the float64 reference; the batch is a
 * function of the seed alone (same seed: the same bytes, whatever the threads; another
 * seed: another batch); a user's folder works as --input DIR/; bad inputs are refused
 * with the thing named. */
#include "cli_util.h"

static char cache_env[PATH_MAX + 32];

static const char *const *env(void)
{
    static const char *set[2];
    snprintf(cache_env, sizeof cache_env, "SONO_CACHE_DIR=%s/cache", cl_tmp);
    set[0] = cache_env;
    set[1] = NULL;
    return set;
}

/* exec with the tiny case's params plus extra (NULL-ended); returns the exit code and
 * leaves stdout/stderr in r. */
static int lb_exec(cl_res *r, const char *input, const char *out, const char *const *extra)
{
    const char *argv[40] = {cl_harness, "exec", "load.batch/dataload/threads", "--input", input,
                            "--param", "clips=6", "--param", "batches=2", "--param",
                            "batch=4", "--param", "crop_s=1"};
    int n = 13;
    for (int i = 0; extra && extra[i] && n < 36; i++) {
        argv[n++] = "--param";
        argv[n++] = extra[i];
    }
    if (out) {
        argv[n++] = "--output";
        argv[n++] = out;
    }
    argv[n] = NULL;
    return cl_run(NULL, env(), argv, r);
}

static void each_source_passes(void **state)
{
    (void)state;
    static const char *const cases[][3] = {
        {"source=dir", NULL}, {"source=sbd", "encoding=pcm16"}, {"source=sbd", "encoding=flac"},
        {"source=sbd", "encoding=f32"}, {"source=tar", "per_shard=4"}, {"source=dir", "format=wav"},
        {"source=tar", "format=vorbis"}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        for (int th = 1; th <= 2; th++) {
            const char *extra[4] = {cases[k][0], cases[k][1] ? cases[k][1] : "seed=1",
                                    th == 1 ? "threads=1" : "threads=2", NULL};
            cl_res r;
            lb_exec(&r, "speech", NULL, extra);
            if (r.code != 0 || !strstr(r.out, "-> ok"))
                fail_msg("%s %s threads=%d: exit %d\n%s%s", extra[0], extra[1], th, r.code,
                         r.out, r.err);
            cl_free(&r);
        }
}

static char *output(const char *name, size_t *len, const char *const *extra)
{
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/%s.npy", cl_tmp, name);
    cl_res r;
    lb_exec(&r, "speech", out, extra);
    cl_expect_code(&r, 0);
    cl_free(&r);
    char *d = cl_slurp(out, len);
    assert_non_null(d);
    return d;
}

static void crop_is_a_function_of_the_seed(void **state)
{
    (void)state;
    size_t la, lb, lc, ld;
    const char *a_args[] = {"seed=7", "threads=1", NULL}, *b_args[] = {"seed=7", "threads=2",
                                                                         "source=tar", NULL};
    const char *c_args[] = {"seed=8", "threads=1", NULL}, *d_args[] = {"seed=7", "threads=2",
                                                                         "prefetch=1", NULL};
    char *a = output("a", &la, a_args), *b = output("b", &lb, b_args);
    char *c = output("c", &lc, c_args), *d = output("d", &ld, d_args);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la); /* threads, queue depth and source change nothing */
    assert_int_equal(la, ld);
    assert_memory_equal(a, d, la);
    assert_int_equal(la, lc);
    /* another seed: most of the 8 crops differ (a crop may repeat by chance, not all) */
    size_t row = (la - 128) / 8, differ = 0; /* npy header is 128 bytes here */
    for (int i = 0; i < 8; i++)
        differ += memcmp(a + la - (size_t)(8 - i) * row, c + lc - (size_t)(8 - i) * row, row) != 0;
    assert_true(differ >= 6);
    free(a);
    free(b);
    free(c);
    free(d);
}

static void user_folder_and_bad_inputs(void **state)
{
    (void)state;
    char dir[PATH_MAX], in[PATH_MAX + 8];
    snprintf(dir, sizeof dir, "%s/mine", cl_tmp);
    cl_res r;
    cl_h(&r, NULL, "dataset", "corpus", "-o", dir, "--clips", "3", "--formats", "flac,wav",
         NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    snprintf(in, sizeof in, "%s/flac/", dir);
    const char *tar[] = {"source=tar", NULL};
    lb_exec(&r, in, NULL, tar);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "-> ok"));
    cl_free(&r);
    /* one file is not a corpus */
    snprintf(in, sizeof in, "%s/flac/clip00000.flac", dir);
    lb_exec(&r, in, NULL, NULL);
    assert_int_not_equal(r.code, 0);
    assert_non_null(strstr(r.err, "folder"));
    cl_free(&r);
    /* a folder without files of the format named */
    snprintf(in, sizeof in, "%s/wav/", dir);
    lb_exec(&r, in, NULL, NULL); /* format=flac by default */
    assert_int_not_equal(r.code, 0);
    assert_non_null(strstr(r.err, "no .flac files"));
    cl_free(&r);
    /* encoding=flac needs FLAC files */
    const char *mix[] = {"source=sbd", "encoding=flac", "format=wav", NULL};
    lb_exec(&r, "speech", NULL, mix);
    assert_int_not_equal(r.code, 0);
    assert_non_null(strstr(r.err, "format=flac"));
    cl_free(&r);
    /* the run's table reads in hours of audio per second and names the slowest stage */
    char suite[PATH_MAX + 16];
    snprintf(suite, sizeof suite, "%s/lb.ini", cl_tmp);
    FILE *f = fopen(suite, "w");
    assert_non_null(f);
    fprintf(f, "[suite]\ninputs = %s/flac/\nbudget_s = 0.05\nwarmup_s = 0\nmin_time_s = 0\n"
            "min_samples = 3\n\n[lb]\nop = load.batch\nimpls = dataload/threads\n"
            "batch = 2\nbatches = 1\ncrop_s = 0.5\nclips = 3\n", dir);
    fclose(f);
    char out[PATH_MAX + 16];
    snprintf(out, sizeof out, "%s/lb.json", cl_tmp);
    cl_h(&r, NULL, "run", suite, "--out", out, NULL);
    cl_expect_code(&r, 0);
    char line[1024];
    assert_true(cl_line_with(r.out, line, sizeof line, "h audio/s", "bottleneck"));
    assert_true(cl_line_with(r.out, line, sizeof line, "dataload/threads", "OK"));
    int named = 0; /* the bottleneck column, just before the status, names a stage */
    const char *stages[] = {"read", "decode", "resample", "crop+normalise"};
    for (int i = 0; i < 4; i++)
        for (const char *at = strstr(line, stages[i]); at; at = strstr(at + 1, stages[i])) {
            const char *q = at + strlen(stages[i]);
            while (*q == ' ')
                q++;
            named |= strncmp(q, "OK", 2) == 0;
        }
    if (!named)
        fail_msg("no bottleneck stage before the status in the table's row: %s", line);
    cl_free(&r);
    /* the stage times are the record's "measured", not its describe, which holds only
     * what was chosen (the same in every run: compare's plan-changed) */
    json_t *doc = cl_load(out);
    json_t *c0 = json_array_get(json_object_get(doc, "cases"), 0);
    const char *d = cl_str(c0, "describe"), *m = cl_str(c0, "measured");
    assert_non_null(strstr(d, "worker thread"));
    assert_null(strstr(d, "bottleneck"));
    assert_null(strstr(d, "MB/s"));
    assert_non_null(strstr(m, "bottleneck: "));
    assert_non_null(strstr(m, "MB/s"));
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_source_passes),
        cmocka_unit_test(crop_is_a_function_of_the_seed),
        cmocka_unit_test(user_folder_and_bad_inputs),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
