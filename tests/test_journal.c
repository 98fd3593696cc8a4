/* test_journal.c — the results journal: a run killed with SIGKILL leaves FILE.journal
 * holding every completed case, `harness results repair` and sono_results_load rebuild
 * FILE from it (a torn last line dropped, a bad header refused), and a live run's
 * journal is read but never repaired under it. */
#include "cli_util.h"

#include <signal.h>
#include <time.h>

#include "results.h"

/* ---- helpers ------------------------------------------------------------------------- */

/* Whole lines (each ended by '\n') in the file at path; -1 when it cannot be read. */
static long jn_lines(const char *path)
{
    size_t n;
    char *b = cl_slurp(path, &n);
    if (!b)
        return -1;
    long k = 0;
    for (size_t i = 0; i < n; i++)
        k += b[i] == '\n';
    free(b);
    return k;
}

static void jn_append(const char *path, const char *text)
{
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void jn_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* The tiny suite's results file (4 whole fft cases), run once for the tests that need
 * real records to journal. */
static char jn_tiny[PATH_MAX];

static json_t *jn_tiny_doc(void)
{
    if (!jn_tiny[0]) {
        snprintf(jn_tiny, sizeof jn_tiny, "%s/tiny.json", cl_tmp);
        cl_res r;
        cl_h(&r, NULL, "run", CL_DATA "/tiny.ini", "--out", jn_tiny, "--quiet", NULL);
        cl_expect_code(&r, 0);
        cl_free(&r);
    }
    json_t *d = cl_load(jn_tiny);
    assert_int_equal(json_array_size(json_object_get(d, "cases")), 4);
    return d;
}

/* What a run killed after k cases leaves, made by the library's own writer: the file
 * (no cases) and its journal (header and k records), its lock gone with the writer. */
static void jn_dead_run(const char *path, size_t k)
{
    json_t *tiny = jn_tiny_doc();
    sono_results *r = NULL;
    sono_error err = {0};
    assert_int_equal(sono_results_open(path, json_incref(json_object_get(tiny, "suite")),
                                       json_incref(json_object_get(tiny, "env")), &r, &err), 0);
    for (size_t i = 0; i < k; i++)
        assert_int_equal(sono_results_add(r, json_array_get(json_object_get(tiny, "cases"), i),
                                          &err), 0);
    sono_results_abandon(r);
    json_decref(tiny);
}

/* The i-th case id of the tiny run. */
static const char *jn_tiny_id(json_t *tiny, size_t i)
{
    return json_string_value(json_object_get(json_array_get(json_object_get(tiny, "cases"), i),
                                             "id"));
}

/* ---- (a) kill -9 mid-run, then harness results repair -------------------------------------- */

static void jn_sigkill_then_repair(void **state)
{
    (void)state;
    char dir[PATH_MAX], out[PATH_MAX + 16], jpath[PATH_MAX + 32], tag[PATH_MAX];
    cl_mkdir("kill", dir, sizeof dir);
    snprintf(out, sizeof out, "%s/k.json", dir);
    snprintf(jpath, sizeof jpath, "%s.journal", out);
    const char *argv[] = {cl_harness, "run", CL_DATA "/slow.ini", "--out", out, "--quiet", NULL};
    pid_t pid = cl_spawn(NULL, NULL, argv, tag, sizeof tag);
    /* two cases journaled (header + 2 lines) of the 12 of ~0.3 s each: mid-run */
    struct timespec nap = {0, 20 * 1000 * 1000};
    long lines = -1;
    int st, ended = 0;
    for (int i = 0; i < 1500 && lines < 3 && !ended; i++) { /* 30 s */
        ended = waitpid(pid, &st, WNOHANG) == pid;
        lines = jn_lines(jpath);
        if (lines < 3)
            nanosleep(&nap, NULL);
    }
    if (ended)
        print_error("the run ended by itself (status 0x%x)\n", st);
    assert_false(ended);
    kill(pid, SIGKILL);
    cl_res r;
    cl_collect(pid, tag, &r);
    cl_free(&r);
    assert_true(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGKILL);
    assert_true(lines >= 3);

    /* what the kill left: the file as it was opened, and the journal */
    json_t *raw = cl_load(out);
    assert_true(json_is_false(cl_get(raw, "run.complete")));
    assert_int_equal(json_array_size(json_object_get(raw, "cases")), 0);
    json_decref(raw);
    assert_true(cl_exists(jpath));
    lines = jn_lines(jpath); /* whole lines now, after the kill: the header and N cases */
    assert_true(lines >= 3 && lines <= 13);
    long n = lines - 1;
    size_t jlen;
    char *journal = cl_slurp(jpath, &jlen);
    assert_non_null(journal);
    assert_true(jlen > 0 && journal[jlen - 1] == '\n'); /* whole lines only */

    assert_int_equal(cl_h(&r, NULL, "results", "repair", out, NULL), 0);
    char want[PATH_MAX + 128];
    snprintf(want, sizeof want, "%s: repaired from journal: %ld cases (run interrupted)\n", out,
             n);
    if (!strstr(r.out, want))
        print_error("expected \"%s\" in:\n%s", want, r.out);
    assert_non_null(strstr(r.out, want));
    cl_free(&r);
    assert_false(cl_exists(jpath));

    json_t *doc = cl_load(out);
    assert_true(json_is_false(cl_get(doc, "run.complete")));
    assert_true(json_is_true(cl_get(doc, "run.interrupted")));
    assert_int_equal(cl_num(doc, "run.counts.ok"), (double)n);
    json_t *cases = json_object_get(doc, "cases");
    assert_int_equal(json_array_size(cases), (size_t)n);
    /* every journaled case, in the journal's order (batch 1, 2, ... as the suite runs
     * them), each whole */
    char *line = strchr(journal, '\n') + 1;
    for (long i = 0; i < n; i++) {
        json_t *c = json_array_get(cases, (size_t)i);
        cl_check_ok_case(c);
        assert_int_equal(json_integer_value(cl_get(c, "params.batch")), i + 1);
        char *nl = strchr(line, '\n');
        json_t *j = json_loadb(line, (size_t)(nl - line), 0, NULL);
        assert_non_null(j);
        assert_string_equal(cl_str(j, "id"), cl_str(c, "id"));
        assert_true(json_equal(cl_get(j, "time_ns.samples"), cl_get(c, "time_ns.samples")));
        json_decref(j);
        line = nl + 1;
    }
    json_decref(doc);
    free(journal);

    /* a second repair finds nothing to do, and says so */
    assert_int_equal(cl_h(&r, NULL, "results", "repair", out, NULL), 0);
    snprintf(want, sizeof want, "%s: no journal, nothing to repair\n", out);
    assert_non_null(strstr(r.out, want));
    cl_free(&r);
}

/* ---- (b) a torn last line ----------------------------------------------------------------- */

static void jn_torn_last_line(void **state)
{
    (void)state;
    json_t *tiny = jn_tiny_doc();
    const char *torn[] = {
        /* a record cut mid-write: no newline */
        "{\"id\":\"fft/cpu/radix2/n=64,batch=1/noise\",\"op\":\"fft\",\"impl\":\"cpu/rad",
        /* a line with its newline that is not JSON */
        "{\"id\":\"fft/cpu/radix2/n=64\n",
    };
    for (int k = 0; k < 2; k++) {
        char out[PATH_MAX], jpath[PATH_MAX + 16];
        snprintf(out, sizeof out, "%s/torn%d.json", cl_tmp, k);
        snprintf(jpath, sizeof jpath, "%s.journal", out);
        jn_dead_run(out, 3);
        jn_append(jpath, torn[k]);
        cl_res r;
        assert_int_equal(cl_h(&r, NULL, "results", "repair", out, NULL), 0);
        char want[PATH_MAX + 128];
        snprintf(want, sizeof want, "%s: repaired from journal: 3 cases (run interrupted)\n",
                 out);
        assert_non_null(strstr(r.out, want));
        snprintf(want, sizeof want, "%s:5: dropped the torn last line", jpath);
        if (!strstr(r.err, want))
            print_error("expected \"%s\" in stderr:\n%s", want, r.err);
        assert_non_null(strstr(r.err, want));
        cl_free(&r);
        assert_false(cl_exists(jpath));
        json_t *doc = cl_load(out);
        json_t *cases = json_object_get(doc, "cases");
        assert_int_equal(json_array_size(cases), 3); /* nothing before the torn line lost */
        for (size_t i = 0; i < 3; i++)
            assert_string_equal(cl_str(json_array_get(cases, i), "id"), jn_tiny_id(tiny, i));
        assert_true(json_equal(cl_get(doc, "env"), cl_get(tiny, "env")));
        assert_true(json_equal(cl_get(doc, "suite"), cl_get(tiny, "suite")));
        json_decref(doc);
    }
    json_decref(tiny);
}

/* A bad line that is not the last is damage, not a torn write: refused, naming the
 * journal and the line, and nothing is changed or removed. */
static void jn_bad_middle_line(void **state)
{
    (void)state;
    char out[PATH_MAX], jpath[PATH_MAX + 16];
    snprintf(out, sizeof out, "%s/middle.json", cl_tmp);
    snprintf(jpath, sizeof jpath, "%s.journal", out);
    jn_dead_run(out, 1);
    jn_append(jpath, "not json\n");
    jn_append(jpath, "{\"id\": \"x\"}\n");
    size_t n0;
    char *before = cl_slurp(jpath, &n0);
    cl_res r;
    assert_int_equal(cl_h(&r, NULL, "results", "repair", out, NULL), 2);
    char want[PATH_MAX + 32];
    snprintf(want, sizeof want, "%s:3: not JSON", jpath);
    if (!strstr(r.err, want))
        print_error("expected \"%s\" in stderr:\n%s", want, r.err);
    assert_non_null(strstr(r.err, want));
    cl_free(&r);
    size_t n1;
    char *after = cl_slurp(jpath, &n1);
    assert_non_null(after);
    assert_true(n0 == n1 && memcmp(before, after, n0) == 0);
    free(before);
    free(after);
}

/* ---- (c) a garbage header ----------------------------------------------------------------- */

static void jn_garbage_header(void **state)
{
    (void)state;
    json_t *tiny = jn_tiny_doc();
    char out[PATH_MAX], jpath[PATH_MAX + 16];
    snprintf(out, sizeof out, "%s/garbage.json", cl_tmp);
    snprintf(jpath, sizeof jpath, "%s.journal", out);
    jn_dead_run(out, 2);
    size_t nf;
    char *file_before = cl_slurp(out, &nf);
    const char *heads[] = {"\x01garbage{{\n", "{\"journal\": \"other/9\"}\n", ""};
    for (int k = 0; k < 3; k++) {
        jn_write(jpath, heads[k]);
        if (k < 2) /* a whole record after it: the header alone is what is wrong */
            jn_append(jpath, "{\"id\":\"a\",\"op\":\"fft\",\"impl\":\"cpu/radix2\","
                             "\"status\":\"skip\",\"params\":{}}\n");
        cl_res r;
        assert_int_equal(cl_h(&r, NULL, "results", "repair", out, NULL), 2);
        char want[PATH_MAX + 32];
        snprintf(want, sizeof want, "%s:1:", jpath);
        if (!strstr(r.err, want))
            print_error("expected \"%s\" in stderr:\n%s", want, r.err);
        assert_non_null(strstr(r.err, want));
        assert_string_equal(r.out, "");
        cl_free(&r);
        /* nothing deleted, nothing changed */
        assert_true(cl_exists(jpath));
        size_t n;
        char *now = cl_slurp(out, &n);
        assert_true(n == nf && memcmp(now, file_before, n) == 0);
        free(now);
        /* every reader refuses it the same way */
        json_t *doc = (json_t *)1;
        sono_error err = {0};
        assert_int_equal(sono_results_load(out, &doc, &err), SONO_EPARSE);
        assert_null(doc);
        assert_non_null(strstr(err.msg, want));
        assert_true(cl_exists(jpath));
        assert_int_equal(cl_h(&r, NULL, "compare", out, jn_tiny, NULL), 2);
        assert_non_null(strstr(r.err, want));
        cl_free(&r);
    }
    free(file_before);
    json_decref(tiny);
}

/* ---- (d) sono_results_load repairs ---------------------------------------------------------- */

static void jn_load_repairs(void **state)
{
    (void)state;
    json_t *tiny = jn_tiny_doc();
    char out[PATH_MAX], jpath[PATH_MAX + 16];
    snprintf(out, sizeof out, "%s/load.json", cl_tmp);
    snprintf(jpath, sizeof jpath, "%s.journal", out);
    jn_dead_run(out, 4);
    assert_int_equal(jn_lines(jpath), 5);
    json_t *raw = cl_load(out);
    assert_int_equal(json_array_size(json_object_get(raw, "cases")), 0);
    json_decref(raw);

    json_t *doc = NULL;
    sono_error err = {0};
    int rc = sono_results_load(out, &doc, &err);
    if (rc)
        print_error("%s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_false(cl_exists(jpath));
    assert_true(json_is_false(cl_get(doc, "run.complete")));
    assert_true(json_is_true(cl_get(doc, "run.interrupted")));
    /* the records come back as they went in: the file's cases are the run's */
    assert_true(json_equal(json_object_get(doc, "cases"), json_object_get(tiny, "cases")));
    json_decref(doc);
    raw = cl_load(out); /* and the file on disk is the repaired one */
    assert_int_equal(json_array_size(json_object_get(raw, "cases")), 4);
    json_decref(raw);
    json_decref(tiny);
}

/* A command that reads results files (export here) repairs through the same path. */
static void jn_export_repairs(void **state)
{
    (void)state;
    char out[PATH_MAX], jpath[PATH_MAX + 16];
    snprintf(out, sizeof out, "%s/export.json", cl_tmp);
    snprintf(jpath, sizeof jpath, "%s.journal", out);
    jn_dead_run(out, 2);
    cl_res r;
    assert_int_equal(cl_h(&r, NULL, "export", out, "--format", "csv", NULL), 0);
    assert_int_equal(jn_lines(jpath), -1);
    long rows = 0;
    for (const char *s = r.out; *s; s++)
        rows += *s == '\n';
    assert_int_equal(rows, 1 + 2); /* the header row and the two journaled cases */
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "%s: repaired from journal: 2 cases", out);
    assert_non_null(strstr(r.err, want));
    cl_free(&r);
}

/* ---- a live run's journal ---------------------------------------------------------------- */

/* While a run holds its journal, readers see its cases so far and nothing is repaired
 * under it, from another process or this one; its close then writes the file whole. */
static void jn_live_not_repaired(void **state)
{
    (void)state;
    json_t *tiny = jn_tiny_doc();
    char out[PATH_MAX], jpath[PATH_MAX + 16];
    snprintf(out, sizeof out, "%s/live.json", cl_tmp);
    snprintf(jpath, sizeof jpath, "%s.journal", out);
    sono_results *w = NULL;
    sono_error err = {0};
    assert_int_equal(sono_results_open(out, json_incref(json_object_get(tiny, "suite")),
                                       json_incref(json_object_get(tiny, "env")), &w, &err), 0);
    json_t *cases = json_object_get(tiny, "cases");
    for (size_t i = 0; i < 2; i++)
        assert_int_equal(sono_results_add(w, json_array_get(cases, i), &err), 0);
    assert_int_equal(jn_lines(jpath), 3); /* one line per record, appended */

    cl_res r;
    assert_int_equal(cl_h(&r, NULL, "results", "repair", out, NULL), 1);
    assert_non_null(strstr(r.out, "still writing"));
    cl_free(&r);
    json_t *doc = NULL;
    assert_int_equal(sono_results_load(out, &doc, &err), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "cases")), 2);
    assert_true(json_is_false(cl_get(doc, "run.complete")));
    assert_true(json_is_false(cl_get(doc, "run.interrupted")));
    json_decref(doc);
    assert_int_equal(jn_lines(jpath), 3);

    for (size_t i = 2; i < 4; i++)
        assert_int_equal(sono_results_add(w, json_array_get(cases, i), &err), 0);
    assert_int_equal(sono_results_close(w, 0, &err), 0);
    assert_false(cl_exists(jpath));
    doc = cl_load(out);
    assert_true(json_is_true(cl_get(doc, "run.complete")));
    assert_true(json_is_false(cl_get(doc, "run.interrupted")));
    assert_int_equal(cl_num(doc, "run.counts.ok"), 4);
    assert_true(json_equal(json_object_get(doc, "cases"), cases));
    json_decref(doc);
    json_decref(tiny);
}

static void jn_usage(void **state)
{
    (void)state;
    cl_res r;
    assert_int_equal(cl_h(&r, NULL, "results", NULL), 2);
    assert_non_null(strstr(r.err, "usage: harness results repair FILE..."));
    cl_free(&r);
    char missing[PATH_MAX];
    snprintf(missing, sizeof missing, "%s/missing.json", cl_tmp);
    assert_int_equal(cl_h(&r, NULL, "results", "repair", missing, NULL), 2);
    assert_non_null(strstr(r.err, missing));
    cl_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jn_sigkill_then_repair),
        cmocka_unit_test(jn_torn_last_line),
        cmocka_unit_test(jn_bad_middle_line),
        cmocka_unit_test(jn_garbage_header),
        cmocka_unit_test(jn_load_repairs),
        cmocka_unit_test(jn_export_repairs),
        cmocka_unit_test(jn_live_not_repaired),
        cmocka_unit_test(jn_usage),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
