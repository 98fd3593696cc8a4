/* test_cli_run.c — `harness run` end to end: the tiny suite's table and results JSON (env,
 * suite, every case field), determinism, failing, unavailable and unsupported impls, --filter,
 * --dry-run, the default results path, and suites that must be refused before anything runs. */
#include "cli_util.h"

#include <dirent.h>
#include <fnmatch.h>
#include <time.h>

#include "results.h"
#include "sha256.h"

/* ---- helpers: tables, suite files ------------------------------------------------------ */

/* The first data row of the "== op ==" table (after its header line), copied to out. */
/* In the full tables at the end (after the live rows, when they were printed). */
static void cl_first_row(const char *text, const char *op, char *out, size_t n)
{
    char head[64];
    snprintf(head, sizeof head, "\n== %s ==\n", op);
    const char *all = strstr(text, "\n-- all cases, failures first --\n");
    const char *t = strstr(all ? all : text, head);
    assert_non_null(t);
    t = strchr(t + strlen(head), '\n'); /* past the column header */
    assert_non_null(t);
    t++;
    snprintf(out, n, "%.*s", (int)strcspn(t, "\n"), t);
}

/* 1-based number of the line of file that reads exactly `line`. */
static int cl_line_number(const char *file, const char *line)
{
    char *text = cl_slurp(file, NULL);
    assert_non_null(text);
    int no = 0, found = 0;
    for (char *s = text, *e; s && *s && !found; s = e ? e + 1 : NULL) {
        e = strchr(s, '\n');
        no++;
        found = strncmp(s, line, strlen(line)) == 0 &&
                (s[strlen(line)] == '\n' || s[strlen(line)] == 0);
    }
    free(text);
    assert_true(found);
    return no;
}

static void cl_file_sha256(const char *path, char hex[65])
{
    size_t n;
    char *b = cl_slurp(path, &n);
    assert_non_null(b);
    sono_sha256_hex(b, n, hex);
    free(b);
}

/* ---- the tiny suite, run once and shared ----------------------------------------------- */

static char cl_tiny_out[PATH_MAX];
static cl_res cl_tiny_res;
static int cl_tiny_done;

static json_t *cl_tiny(cl_res **r)
{
    if (!cl_tiny_done) {
        snprintf(cl_tiny_out, sizeof cl_tiny_out, "%s/tiny.json", cl_tmp);
        cl_h(&cl_tiny_res, NULL, "run", CL_DATA "/tiny.ini", "--out", cl_tiny_out, NULL);
        cl_tiny_done = 1;
    }
    if (r)
        *r = &cl_tiny_res;
    cl_expect_code(&cl_tiny_res, 0);
    return cl_load(cl_tiny_out);
}

/* Ids the suite expands to, from --dry-run. */
static int cl_dry_ids(const char *suite, char ids[][256], int max)
{
    cl_res r;
    cl_h(&r, NULL, "run", suite, "--dry-run", NULL);
    cl_expect_code(&r, 0);
    int n = 0;
    for (char *s = r.out, *e; s && *s && n < max; s = e ? e + 1 : NULL) {
        e = strchr(s, '\n');
        snprintf(ids[n++], 256, "%.*s", (int)(e ? e - s : (long)strlen(s)), s);
    }
    cl_free(&r);
    return n;
}

/* ---- run: the tiny suite --------------------------------------------------------------- */

static void cl_run_table(void **state)
{
    (void)state;
    cl_res *r;
    json_t *doc = cl_tiny(&r);
    assert_non_null(strstr(r->out, "\n== fft ==\n"));
    char line[1024];
    assert_true(cl_line_with(r->out, line, sizeof line, "impl", "params"));
    const char *cols[] = {"impl", "params", "input", "median", "+-CI", "GFLOP/s", "GB/s",
                          "x realtime", "rel.err", "status", NULL};
    const char *at = line;
    for (int i = 0; cols[i]; i++) { /* every column, in this order */
        const char *p = strstr(at, cols[i]);
        if (!p)
            print_error("column '%s' missing or out of order in: %s\n", cols[i], line);
        assert_non_null(p);
        at = p + strlen(cols[i]);
    }
    size_t i, ncases = json_array_size(json_object_get(doc, "cases"));
    json_t *c;
    json_array_foreach(json_object_get(doc, "cases"), i, c) {
        char params[64], row[1024];
        snprintf(params, sizeof params, " n=%lld,batch=1 ",
                 (long long)json_integer_value(cl_get(c, "params.n")));
        assert_true(cl_line_with3(r->out, row, sizeof row, cl_str(c, "impl"), params, " OK"));
    }
    char summary[64];
    snprintf(summary, sizeof summary, "%zu ok, 0 fail, 0 skip, 0 error", ncases);
    assert_non_null(strstr(r->out, summary));
    assert_non_null(strstr(r->out, cl_tiny_out));
    json_decref(doc);
}

static void cl_run_env_and_suite(void **state)
{
    (void)state;
    json_t *doc = cl_tiny(NULL);
    assert_string_equal(cl_str(doc, "schema"), "sonobench.results/1");
    assert_string_equal(cl_str(doc, "suite.name"), "tiny");
    assert_string_equal(cl_str(doc, "suite.file"), CL_DATA "/tiny.ini");
    char hex[65];
    cl_file_sha256(CL_DATA "/tiny.ini", hex);
    assert_string_equal(cl_str(doc, "suite.sha256"), hex);

    char host[256];
    assert_int_equal(gethostname(host, sizeof host), 0);
    assert_string_equal(cl_str(doc, "env.host"), host);
    assert_true(strlen(cl_str(doc, "env.cpu.model")) > 0);
    assert_true(strlen(cl_str(doc, "env.os")) > 0);
    assert_true(strlen(cl_str(doc, "env.compiler.version")) > 0);
    assert_true(strlen(cl_str(doc, "env.libs.fftw")) > 0);
    assert_true(strlen(cl_str(doc, "env.git")) > 0);
    assert_true(cl_num(doc, "env.harness_overhead_ns.cpu") > 0);

    assert_true(json_is_true(cl_get(doc, "run.complete")));
    assert_true(json_is_false(cl_get(doc, "run.interrupted")));
    size_t n = json_array_size(json_object_get(doc, "cases"));
    char ids[16][256];
    assert_int_equal(n, (size_t)cl_dry_ids(CL_DATA "/tiny.ini", ids, 16));
    assert_int_equal(n, 4); /* 2 impls x 2 sizes */
    assert_int_equal((size_t)cl_num(doc, "suite.cases"), n);
    assert_int_equal((size_t)cl_num(doc, "run.counts.ok"), n);
    json_decref(doc);
}

static void cl_run_cases(void **state)
{
    (void)state;
    json_t *doc = cl_tiny(NULL);
    size_t i;
    json_t *c;
    char ids[16][256];
    int n = cl_dry_ids(CL_DATA "/tiny.ini", ids, 16);
    assert_int_equal(json_array_size(json_object_get(doc, "cases")), (size_t)n);
    json_array_foreach(json_object_get(doc, "cases"), i, c) {
        assert_string_equal(cl_str(c, "id"), ids[i]); /* the order the plan listed */
        cl_check_ok_case(c);
    }
    json_decref(doc);

    json_t *loaded = NULL;
    sono_error err = {0};
    assert_int_equal(sono_results_load(cl_tiny_out, &loaded, &err), 0);
    assert_non_null(loaded);
    json_decref(loaded);
}

/* Two runs, and exec, see the same bytes for the same input: the generators are seeded. */
static void cl_run_deterministic(void **state)
{
    (void)state;
    json_t *a = cl_tiny(NULL);
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/tiny2.json", cl_tmp);
    cl_res r;
    cl_h(&r, NULL, "run", CL_DATA "/tiny.ini", "--out", out, "--quiet", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *b = cl_load(out);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(a, "cases"), i, c) {
        json_t *d = cl_case(b, cl_str(c, "id"));
        assert_non_null(d);
        assert_string_equal(cl_str(c, "input.sha256"), cl_str(d, "input.sha256"));
    }

    /* exec writes the input it used; its bytes hash to what the run recorded */
    char in[PATH_MAX];
    snprintf(in, sizeof in, "%s/det_in.npy", cl_tmp);
    cl_h(&r, NULL, "exec", "fft/radix2", "--param", "n=16", "--input", "noise",
         "--input-out", in, NULL);
    cl_expect_code(&r, 0);
    json_t *rec = cl_case(a, "fft/cpu/radix2/n=16,batch=1/noise");
    assert_non_null(rec);
    const char *sha = cl_str(rec, "input.sha256");
    char said[128];
    snprintf(said, sizeof said, "input sha256 %s", sha);
    assert_non_null(strstr(r.out, said));
    size_t len;
    unsigned char *npy = (unsigned char *)cl_slurp(in, &len);
    assert_non_null(npy);
    size_t head = 10 + (size_t)(npy[8] | npy[9] << 8);
    assert_int_equal(len - head, 16 * 8);
    char hex[65];
    sono_sha256_hex(npy + head, len - head, hex);
    assert_string_equal(hex, sha);
    free(npy);
    cl_free(&r);
    json_decref(a);
    json_decref(b);
}

/* ---- run: failing, unavailable and unsupported impls ----------------------------------- */

static void cl_run_wrong_plugin(void **state)
{
    (void)state;
    char envp[PATH_MAX + 32], out[PATH_MAX];
    snprintf(envp, sizeof envp, "SONO_PLUGIN_PATH=%s", cl_plugins);
    const char *set[] = {envp, NULL};
    snprintf(out, sizeof out, "%s/wrong.json", cl_tmp);
    cl_res r;
    cl_h(&r, set, "run", CL_DATA "/wrong.ini", "--out", out, NULL);
    cl_expect_code(&r, 1);
    json_t *doc = cl_load(out);
    json_t *w = cl_case(doc, "fft/wrong/fft/n=64,batch=1/noise");
    assert_non_null(w);
    assert_string_equal(cl_str(w, "status"), "fail");
    assert_true(json_is_false(cl_get(w, "check.pass")));
    assert_true(cl_num(w, "check.rel_l2") > cl_num(w, "check.tol"));
    assert_true(strlen(cl_str(w, "message")) > 0);
    json_t *nan = cl_case(doc, "rfft/wrong/rfft-nan/n=64,batch=1/noise");
    assert_non_null(nan);
    assert_string_equal(cl_str(nan, "status"), "fail");
    assert_true(json_is_false(cl_get(nan, "check.pass")));
    assert_true(cl_num(nan, "check.nonfinite") > 0);
    for (int k = 0; k < 2; k++) {
        json_t *ok = cl_case(doc, k ? "rfft/fftw/fftw/n=64,batch=1/noise"
                                    : "fft/fftw/fftw/n=64,batch=1/noise");
        assert_non_null(ok);
        assert_string_equal(cl_str(ok, "status"), "ok");
    }
    assert_true(json_is_true(cl_get(doc, "run.complete")));

    /* the suite lists fftw first; the table must still put the failure on top */
    char row[1024];
    cl_first_row(r.out, "fft", row, sizeof row);
    assert_int_equal(strncmp(row, "wrong/fft ", 10), 0);
    assert_non_null(strstr(row, "FAIL"));
    cl_first_row(r.out, "rfft", row, sizeof row);
    assert_int_equal(strncmp(row, "wrong/rfft-nan ", 15), 0);
    assert_non_null(strstr(row, "FAIL"));
    assert_non_null(strstr(r.out, "2 ok, 2 fail, 0 skip, 0 error"));
    cl_free(&r);
    json_decref(doc);

    /* without SONO_PLUGIN_PATH the test plugin is nowhere: the suite names unknown impls */
    cl_h(&r, NULL, "run", CL_DATA "/wrong.ini", "--dry-run", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "wrong/fft"));
    cl_free(&r);
}

static void cl_run_broken_plugin(void **state)
{
    (void)state;
    char dir[PATH_MAX], so[PATH_MAX + 16], envp[PATH_MAX + 32], out[PATH_MAX];
    cl_mkdir("broken", dir, sizeof dir);
    snprintf(so, sizeof so, "%s/broken.so", dir);
    FILE *f = fopen(so, "w");
    assert_non_null(f);
    fputs("this is not a shared object\n", f);
    fclose(f);
    snprintf(envp, sizeof envp, "SONO_PLUGIN_PATH=%s", dir);
    const char *set[] = {envp, NULL};

    cl_res r;
    cl_h(&r, set, "list", "impls", NULL);
    cl_expect_code(&r, 0);
    char line[2048];
    assert_true(cl_line_with(r.out, line, sizeof line, "backend broken ", "UNAVAILABLE: "));
    assert_non_null(strstr(line, so)); /* the reason names the file */
    assert_true(cl_line_with(r.out, line, sizeof line, "backend cpu ", NULL));
    assert_non_null(strstr(line, "available"));
    assert_null(strstr(line, "UNAVAILABLE"));
    cl_free(&r);

    snprintf(out, sizeof out, "%s/broken.json", cl_tmp);
    cl_h(&r, set, "run", CL_DATA "/broken.ini", "--out", out, NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.err, "backend broken unavailable"));
    json_t *doc = cl_load(out);
    json_t *b = cl_case(doc, "fft/broken/thing/n=16,batch=1/noise");
    assert_non_null(b);
    assert_string_equal(cl_str(b, "status"), "skip");
    assert_non_null(strstr(cl_str(b, "message"), "unavailable"));
    assert_null(cl_get(b, "time_ns"));
    json_t *ok = cl_case(doc, "fft/cpu/radix2/n=16,batch=1/noise");
    assert_non_null(ok);
    cl_check_ok_case(ok);
    json_t *loaded;
    sono_error err = {0};
    assert_int_equal(sono_results_load(out, &loaded, &err), 0);
    json_decref(loaded);
    json_decref(doc);
    cl_free(&r);
}

static void cl_run_unsupported_skips(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/pow2.json", cl_tmp);
    cl_res r;
    cl_h(&r, NULL, "run", CL_DATA "/pow2.ini", "--out", out, NULL);
    cl_expect_code(&r, 0);
    json_t *doc = cl_load(out);
    json_t *c = cl_case(doc, "fft/cpu/radix2/n=480,batch=1/noise");
    assert_non_null(c);
    assert_string_equal(cl_str(c, "status"), "skip");
    assert_non_null(strstr(cl_str(c, "message"), "power of two"));
    char row[1024];
    cl_first_row(r.out, "fft", row, sizeof row);
    assert_non_null(strstr(row, "SKIP"));
    assert_non_null(strstr(r.out, "0 ok, 0 fail, 1 skip, 0 error"));
    json_decref(doc);
    cl_free(&r);

    /* a dry run already says so: the impl's supports() is asked (it is pure) */
    cl_h(&r, NULL, "run", CL_DATA "/pow2.ini", "--dry-run", NULL);
    cl_expect_code(&r, 0);
    const char *line = strstr(r.out, "fft/cpu/radix2/n=480,batch=1/noise  (skip: ");
    assert_non_null(line);
    const char *eol = strchr(line, '\n');
    assert_non_null(eol);
    char text[512];
    snprintf(text, sizeof text, "%.*s", (int)(eol - line), line);
    assert_non_null(strstr(text, "power of two"));
    cl_free(&r);
}

/* ---- run: filter, dry run, default output, bad suites ---------------------------------- */

static void cl_run_filter(void **state)
{
    (void)state;
    char ids[16][256], out[PATH_MAX];
    int n = cl_dry_ids(CL_DATA "/tiny.ini", ids, 16), want = 0;
    for (int i = 0; i < n; i++)
        want += strncmp(ids[i], "fft/fftw/", 9) == 0;
    assert_true(want > 0 && want < n);
    snprintf(out, sizeof out, "%s/filter.json", cl_tmp);
    cl_res r;
    cl_h(&r, NULL, "run", CL_DATA "/tiny.ini", "--filter", "fft/fftw/*", "--out", out,
         "--quiet", NULL);
    cl_expect_code(&r, 0);
    json_t *doc = cl_load(out);
    json_t *cases = json_object_get(doc, "cases");
    assert_int_equal(json_array_size(cases), (size_t)want);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (strncmp(ids[i], "fft/fftw/", 9) == 0)
            assert_string_equal(cl_str(json_array_get(cases, (size_t)k++), "id"), ids[i]);
    json_decref(doc);
    cl_free(&r);

    /* a filter that matches nothing is a usage error, and nothing is written */
    snprintf(out, sizeof out, "%s/filter-none.json", cl_tmp);
    cl_h(&r, NULL, "run", CL_DATA "/tiny.ini", "--filter", "nothing/*", "--out", out, NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "nothing/*"));
    assert_non_null(strstr(r.err, "no case matches"));
    assert_false(cl_exists(out));
    cl_free(&r);
}

static void cl_run_dry(void **state)
{
    (void)state;
    char wd[PATH_MAX], suite[PATH_MAX + 64], out[PATH_MAX + 16];
    cl_mkdir("dry", wd, sizeof wd);
    snprintf(suite, sizeof suite, "%s/%s/tiny.ini", cl_root, CL_DATA);
    snprintf(out, sizeof out, "%s/d.json", wd);
    const char *argv[] = {cl_harness, "run", suite, "--dry-run", NULL};
    const char *argv2[] = {cl_harness, "run", suite, "--dry-run", "--out", out, NULL};
    for (int pass = 0; pass < 2; pass++) {
        cl_res r;
        cl_run(wd, NULL, pass ? argv2 : argv, &r);
        cl_expect_code(&r, 0);
        int lines = 0;
        for (char *s = r.out, *e; s && *s; s = e ? e + 1 : NULL, lines++) {
            e = strchr(s, '\n');
            char id[256];
            snprintf(id, sizeof id, "%.*s", (int)(e ? e - s : (long)strlen(s)), s);
            assert_int_equal(fnmatch("fft/*/*/n=*,batch=1/noise", id, FNM_PATHNAME), 0);
        }
        assert_int_equal(lines, 4);
        cl_free(&r);
    }
    DIR *d = opendir(wd); /* no results/ folder, no --out file: nothing at all */
    assert_non_null(d);
    struct dirent *de;
    int entries = 0;
    while ((de = readdir(d)))
        entries += de->d_name[0] != '.';
    closedir(d);
    assert_int_equal(entries, 0);
}

static void cl_run_default_out(void **state)
{
    (void)state;
    char wd[PATH_MAX], suite[PATH_MAX + 64], dir[PATH_MAX + 16], host[256];
    cl_mkdir("default", wd, sizeof wd);
    snprintf(suite, sizeof suite, "%s/%s/tiny.ini", cl_root, CL_DATA);
    assert_int_equal(gethostname(host, sizeof host), 0);
    const char *argv[] = {cl_harness, "run", suite, "--quiet", "--filter", "fft/fftw/*", NULL};
    time_t t0 = time(NULL);
    cl_res r;
    cl_run(wd, NULL, argv, &r);
    time_t t1 = time(NULL);
    cl_expect_code(&r, 0);
    snprintf(dir, sizeof dir, "%s/results", wd);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    char name[256] = "";
    int files = 0;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.') {
            files++;
            snprintf(name, sizeof name, "%s", de->d_name);
        }
    closedir(d);
    assert_int_equal(files, 1);
    /* results/<suite>-<host>-<UTC time>.json */
    char prefix[300];
    snprintf(prefix, sizeof prefix, "tiny-%s-", host);
    assert_int_equal(strncmp(name, prefix, strlen(prefix)), 0);
    const char *when = name + strlen(prefix);
    assert_int_equal(fnmatch("[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9]"
                             "[0-9][0-9]Z.json", when, 0), 0);
    struct tm tm = {0};
    assert_non_null(strptime(when, "%Y%m%dT%H%M%SZ", &tm));
    time_t t = timegm(&tm);
    assert_true(t >= t0 - 1 && t <= t1 + 1);
    char path[PATH_MAX + 300], rel[300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    json_t *doc;
    sono_error err = {0};
    assert_int_equal(sono_results_load(path, &doc, &err), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "cases")), 2);
    json_decref(doc);
    snprintf(rel, sizeof rel, "results/%s", name);
    assert_non_null(strstr(r.out, rel)); /* the summary says where */
    cl_free(&r);
}

static void cl_run_bad_suites(void **state)
{
    (void)state;
    static const struct {
        const char *file, *line, *says;
    } bad[] = {
        {CL_DATA "/bad_op.ini", "op = fftt", "unknown op"},
        {CL_DATA "/bad_impl.ini", "impls = cpu/no-such-impl", "cpu/no-such-impl"},
        {CL_DATA "/bad_range.ini", "n = 16, 0", "out of range"},
        {CL_DATA "/bad_syntax.ini", "[fft", "syntax error"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[PATH_MAX], where[PATH_MAX + 32];
        snprintf(out, sizeof out, "%s/bad%zu.json", cl_tmp, i);
        snprintf(where, sizeof where, "%s:%d:", bad[i].file,
                 cl_line_number(bad[i].file, bad[i].line));
        cl_res r;
        cl_h(&r, NULL, "run", bad[i].file, "--out", out, NULL);
        cl_expect_code(&r, 2);
        if (!strstr(r.err, where) || !strstr(r.err, bad[i].says))
            print_error("expected '%s' and '%s' in: %s\n", where, bad[i].says, r.err);
        assert_non_null(strstr(r.err, where));
        assert_non_null(strstr(r.err, bad[i].says));
        assert_string_equal(r.out, ""); /* nothing ran */
        assert_false(cl_exists(out));
        cl_free(&r);
    }

    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/missing.json", cl_tmp);
    cl_res r;
    cl_h(&r, NULL, "run", CL_DATA "/no-such-suite.ini", "--out", out, NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "no-such-suite.ini"));
    assert_false(cl_exists(out));
    cl_free(&r);

    /* a results file that cannot be created is a usage error naming it */
    snprintf(out, sizeof out, "%s/no/such/dir/r.json", cl_tmp);
    cl_h(&r, NULL, "run", CL_DATA "/tiny.ini", "--out", out, NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, out));
    cl_free(&r);
}

/* The shared tiny run's captured output is this program's alone: free it, then the temp dir. */
static int cl_run_teardown(void **state)
{
    cl_free(&cl_tiny_res);
    return cl_teardown(state);
}

/* --input replaces the suite's inputs: each (op, impl, params) once per given input, in
 * the suite's order; a missing file is exit 2 naming it, before anything runs. */
static void cl_run_input_override(void **state)
{
    (void)state;
    char wd[PATH_MAX], suite[PATH_MAX + 64], wav[PATH_MAX + 16];
    cl_mkdir("input", wd, sizeof wd);
    snprintf(suite, sizeof suite, "%s/%s/tiny.ini", cl_root, CL_DATA);
    snprintf(wav, sizeof wav, "%s/missing.wav", wd);
    const char *argv[] = {cl_harness, "run", suite, "--dry-run", "--input", "sine",
                          "--input", "silence", NULL};
    cl_res r;
    cl_run(wd, NULL, argv, &r);
    cl_expect_code(&r, 0);
    int lines = 0, sine = 0;
    for (char *s = r.out, *e; s && *s; s = e ? e + 1 : NULL, lines++) {
        e = strchr(s, '\n');
        char id[256];
        snprintf(id, sizeof id, "%.*s", (int)(e ? e - s : (long)strlen(s)), s);
        assert_true(fnmatch("fft/*/*/n=*,batch=1/sine", id, FNM_PATHNAME) == 0 ||
                    fnmatch("fft/*/*/n=*,batch=1/silence", id, FNM_PATHNAME) == 0);
        sine += strstr(id, "/sine") != NULL;
    }
    assert_int_equal(lines, 8); /* tiny.ini: 4 cases on noise */
    assert_int_equal(sine, 4);
    cl_free(&r);
    const char *twice[] = {cl_harness, "run", suite, "--dry-run", "--input", "sine",
                           "--input", "sine", NULL};
    cl_run(wd, NULL, twice, &r); /* one id for two cases: refused */
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "'sine'"));
    cl_free(&r);
    const char *bad[] = {cl_harness, "run", suite, "--input", wav, NULL};
    cl_run(wd, NULL, bad, &r);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "missing.wav"));
    cl_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cl_run_table),
        cmocka_unit_test(cl_run_env_and_suite),
        cmocka_unit_test(cl_run_cases),
        cmocka_unit_test(cl_run_deterministic),
        cmocka_unit_test(cl_run_wrong_plugin),
        cmocka_unit_test(cl_run_broken_plugin),
        cmocka_unit_test(cl_run_unsupported_skips),
        cmocka_unit_test(cl_run_filter),
        cmocka_unit_test(cl_run_dry),
        cmocka_unit_test(cl_run_input_override),
        cmocka_unit_test(cl_run_default_out),
        cmocka_unit_test(cl_run_bad_suites),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_run_teardown);
}
