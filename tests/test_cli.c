/* test_cli.c — integration tests of the `harness` command line: each test runs the real
 * executable ($SONO_HARNESS) with posix_spawn on the suites in tests/data/cli/, captures
 * its exit status, stdout and stderr in files, and checks them and the results JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <ctype.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "results.h"
#include "sha256.h"
#include "version.h"

extern char **environ;

#define CL_DATA "tests/data/cli"

static char cl_harness[PATH_MAX]; /* absolute, so children may run in any folder */
static char cl_root[PATH_MAX];    /* the repo root: the working directory of the tests */
static char cl_plugins[PATH_MAX]; /* the test-only plugins, absolute */
static char cl_tmp[64];           /* everything this run writes */
static int cl_seq;                /* numbers the capture files */

typedef struct cl_res {
    int status; /* raw wait status */
    int code;   /* exit code, or -1 when ended by a signal */
    char *out, *err;
} cl_res;

/* ---- helpers: files, processes, JSON -------------------------------------------------- */

static char *cl_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *b = realloc(buf, 2 * cap + 1);
            if (!b) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

static int cl_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int cl_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* A fresh folder under the run's temp dir. */
static void cl_mkdir(const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", cl_tmp, name);
    assert_int_equal(mkdir(out, 0755), 0);
}

static int cl_dropped(const char *entry, const char *const *set)
{
    static const char *const drop[] = {"SONO_PLUGIN_PATH=", "MAKEFLAGS=", "MFLAGS=",
                                       "MAKELEVEL=", NULL};
    for (int i = 0; drop[i]; i++)
        if (strncmp(entry, drop[i], strlen(drop[i])) == 0)
            return 1;
    for (int i = 0; set && set[i]; i++) {
        size_t k = strcspn(set[i], "=") + 1;
        if (strncmp(entry, set[i], k) == 0)
            return 1;
    }
    return 0;
}

/* The child's environment: ours, less SONO_PLUGIN_PATH and make's job-server variables
 * (so each test says which plugins it means), plus the "K=V" entries of set. Under
 * `make asan` a leak report would turn every exit status into LeakSanitizer's, hiding
 * what a test checks; leaks are reported but leave the status alone, unless set names
 * LSAN_OPTIONS (cl_no_leaks does, to check them on their own). */
static char **cl_env(const char *const *set)
{
    static char lsan[1024];
    const char *was = getenv("LSAN_OPTIONS");
    snprintf(lsan, sizeof lsan, "LSAN_OPTIONS=%s%sexitcode=0", was ? was : "",
             was && *was ? ":" : "");
    size_t n = 0, ns = 0;
    int own_lsan = 0;
    while (environ[n])
        n++;
    while (set && set[ns])
        own_lsan |= strncmp(set[ns++], "LSAN_OPTIONS=", 13) == 0;
    char **env = calloc(n + ns + 2, sizeof *env);
    assert_non_null(env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!cl_dropped(environ[i], set) && strncmp(environ[i], "LSAN_OPTIONS=", 13) != 0)
            env[k++] = environ[i];
    for (size_t i = 0; i < ns; i++)
        env[k++] = (char *)set[i];
    if (!own_lsan)
        env[k++] = lsan;
    return env;
}

/* Starts argv (PATH is searched when argv[0] has no '/') in cwd (NULL: ours) with stdout
 * and stderr going to files in cl_tmp; *tag receives their common stem. */
static pid_t cl_spawn(const char *cwd, const char *const *set, const char *const *argv,
                      char *tag, size_t ntag)
{
    char out[PATH_MAX], err[PATH_MAX];
    snprintf(tag, ntag, "%s/p%03d", cl_tmp, ++cl_seq);
    snprintf(out, sizeof out, "%s.out", tag);
    snprintf(err, sizeof err, "%s.err", tag);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (cwd)
        posix_spawn_file_actions_addchdir_np(&fa, cwd);
    char **env = cl_env(set);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, env);
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    if (rc != 0)
        print_error("cannot start %s: %s\n", argv[0], strerror(rc));
    assert_int_equal(rc, 0);
    return pid;
}

static void cl_collect(pid_t pid, const char *tag, cl_res *r)
{
    char path[PATH_MAX];
    while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR)
        ;
    r->code = WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1;
    snprintf(path, sizeof path, "%s.out", tag);
    r->out = cl_slurp(path, NULL);
    snprintf(path, sizeof path, "%s.err", tag);
    r->err = cl_slurp(path, NULL);
    assert_non_null(r->out);
    assert_non_null(r->err);
}

static void cl_free(cl_res *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

static int cl_run(const char *cwd, const char *const *set, const char *const *argv, cl_res *r)
{
    char tag[PATH_MAX];
    pid_t pid = cl_spawn(cwd, set, argv, tag, sizeof tag);
    cl_collect(pid, tag, r);
    return r->code;
}

/* Runs the harness from the repo root: cl_h(&r, env_set, "run", "x.ini", NULL). */
static int cl_h(cl_res *r, const char *const *set, ...)
{
    const char *argv[32] = {cl_harness};
    int n = 1;
    va_list ap;
    va_start(ap, set);
    const char *a;
    while ((a = va_arg(ap, const char *)) && n < 31)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    return cl_run(NULL, set, argv, r);
}

/* Shows what the harness said when an exit status is not the expected one. */
static void cl_expect_code(const cl_res *r, int want)
{
    if (r->code != want)
        print_error("exit %d (status 0x%x), expected %d\n--- stdout\n%s--- stderr\n%s\n",
                    r->code, r->status, want, r->out ? r->out : "", r->err ? r->err : "");
    assert_int_equal(r->code, want);
}

/* root["a"]["b"]... along a dotted path; NULL when any step is missing. */
static json_t *cl_get(json_t *root, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *j = root;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); j && k; k = strtok_r(NULL, ".", &save))
        j = json_object_get(j, k);
    return j;
}

static double cl_num(json_t *root, const char *path)
{
    json_t *j = cl_get(root, path);
    if (!json_is_number(j))
        print_error("expected a number at %s\n", path);
    assert_true(json_is_number(j));
    return json_number_value(j);
}

static const char *cl_str(json_t *root, const char *path)
{
    json_t *j = cl_get(root, path);
    if (!json_is_string(j))
        print_error("expected a string at %s\n", path);
    assert_true(json_is_string(j));
    return json_string_value(j);
}

static json_t *cl_load(const char *path)
{
    json_error_t je;
    json_t *d = json_load_file(path, 0, &je);
    if (!d)
        print_error("%s:%d: %s\n", path, je.line, je.text);
    assert_non_null(d);
    return d;
}

/* The case of doc with this id, or NULL. */
static json_t *cl_case(json_t *doc, const char *id)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(doc, "cases"), i, c)
        if (strcmp(json_string_value(json_object_get(c, "id")), id) == 0)
            return c;
    return NULL;
}

/* The first line of text (copied to out) that contains a and, unless NULL, b and c. */
static int cl_line_with3(const char *text, char *out, size_t n, const char *a, const char *b,
                         const char *c)
{
    for (const char *s = text; s && *s;) {
        const char *e = strchr(s, '\n');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        snprintf(out, n, "%.*s", (int)len, s);
        if (strstr(out, a) && (!b || strstr(out, b)) && (!c || strstr(out, c)))
            return 1;
        s = e ? e + 1 : NULL;
    }
    return 0;
}

static int cl_line_with(const char *text, char *out, size_t n, const char *a, const char *b)
{
    return cl_line_with3(text, out, n, a, b, NULL);
}

/* The first data row of the "== op ==" table (after its header line), copied to out. */
static void cl_first_row(const char *text, const char *op, char *out, size_t n)
{
    char head[64];
    snprintf(head, sizeof head, "\n== %s ==\n", op);
    const char *t = strstr(text, head);
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

static int cl_is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (; *s; s++)
        if (!isxdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* Everything a measured, passing fft case must satisfy, each from its definition. */
static void cl_check_ok_case(json_t *c)
{
    const char *id = cl_str(c, "id");
    json_t *jn = cl_get(c, "params.n"), *jb = cl_get(c, "params.batch");
    assert_true(json_is_integer(jn));
    assert_true(json_is_integer(jb));
    long long n = json_integer_value(jn), batch = json_integer_value(jb);
    char want[512];
    snprintf(want, sizeof want, "%s/%s/n=%lld,batch=%lld/%s", cl_str(c, "op"),
             cl_str(c, "impl"), n, batch, cl_str(c, "input.name"));
    assert_string_equal(id, want);
    assert_string_equal(cl_str(c, "status"), "ok");
    assert_string_equal(cl_str(c, "device"), "cpu");
    assert_true(cl_is_hex64(cl_str(c, "input.sha256")));
    /* seconds of audio one run processes: batch*n samples at the sample rate */
    double rate = cl_num(c, "input.sample_rate");
    assert_true(fabs(cl_num(c, "input.audio_s") - (double)(n * batch) / rate) <=
                1e-9 * (double)(n * batch) / rate);

    assert_true(json_is_true(cl_get(c, "check.pass")));
    assert_true(cl_num(c, "check.rel_l2") <= cl_num(c, "check.tol"));
    assert_true(cl_num(c, "check.nonfinite") == 0);

    double min = cl_num(c, "time_ns.min"), med = cl_num(c, "time_ns.median"),
           p95 = cl_num(c, "time_ns.p95"), p99 = cl_num(c, "time_ns.p99"),
           max = cl_num(c, "time_ns.max"), lo = cl_num(c, "time_ns.ci_lo"),
           hi = cl_num(c, "time_ns.ci_hi");
    assert_true(med > 0);
    assert_true(min <= med && med <= p95 && p95 <= p99 && p99 <= max);
    assert_true(lo <= med && med <= hi);
    json_t *samples = cl_get(c, "time_ns.samples");
    assert_true(json_is_array(samples));
    assert_true(json_is_integer(cl_get(c, "time_ns.n")));
    assert_int_equal(json_array_size(samples), (size_t)cl_num(c, "time_ns.n"));
    assert_true(json_array_size(samples) >= 1);
    double smin = INFINITY, smax = -INFINITY;
    size_t i;
    json_t *s;
    json_array_foreach(samples, i, s) {
        assert_true(json_is_number(s));
        double v = json_number_value(s);
        assert_true(v > 0);
        smin = v < smin ? v : smin;
        smax = v > smax ? v : smax;
    }
    assert_true(smin == min); /* the summary is of these very samples */
    assert_true(smax == max);
    const char *stop = cl_str(c, "time_ns.stop");
    assert_true(strcmp(stop, "converged") == 0 || strcmp(stop, "budget") == 0 ||
                strcmp(stop, "max-samples") == 0);

    /* benchFFT's 5 N log2 N per transform; GFLOP/s = flop / ns */
    double flops = cl_num(c, "cost.flops");
    assert_true(fabs(flops - 5.0 * (double)batch * (double)n * log2((double)n)) < 1e-6 * flops);
    double gf = cl_num(c, "derived.gflops");
    assert_true(fabs(gf - flops / med) <= 1e-6 * (flops / med));
}

/* ---- help, version, usage ------------------------------------------------------------- */

static void cl_help_and_version(void **state)
{
    (void)state;
    cl_res r;
    cl_h(&r, NULL, "--help", NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "usage: harness COMMAND"));
    for (const char *const *w = (const char *const[]){"run SUITE", "list", "exec OP/IMPL",
                                                      "help COMMAND", "version", NULL};
         *w; w++)
        assert_non_null(strstr(r.out, *w));
    cl_free(&r);

    cl_res h, h2;
    cl_h(&h, NULL, "help", "run", NULL);
    cl_expect_code(&h, 0);
    assert_non_null(strstr(h.out, "usage: harness run SUITE"));
    for (const char *const *w = (const char *const[]){"--filter", "--out", "--dry-run",
                                                      "--quiet", NULL};
         *w; w++)
        assert_non_null(strstr(h.out, *w));
    cl_h(&h2, NULL, "run", "--help", NULL); /* the same text from the command's --help */
    cl_expect_code(&h2, 0);
    assert_string_equal(h.out, h2.out);
    cl_free(&h);
    cl_free(&h2);

    cl_h(&r, NULL, "version", NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "harness " SONO_VERSION));
    assert_non_null(strstr(r.out, SONO_RESULTS_SCHEMA));
    cl_free(&r);

    cl_h(&r, NULL, NULL); /* no command at all: usage, and a usage error */
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.out, "usage: harness"));
    cl_free(&r);
}

static void cl_unknown_command(void **state)
{
    (void)state;
    cl_res r;
    cl_h(&r, NULL, "frobnicate", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "frobnicate"));
    cl_free(&r);
    cl_h(&r, NULL, "help", "frobnicate", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "frobnicate"));
    cl_free(&r);
    cl_h(&r, NULL, "list", "gadgets", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "gadgets"));
    cl_free(&r);
    cl_h(&r, NULL, "run", NULL);
    cl_expect_code(&r, 2);
    cl_free(&r);
    cl_h(&r, NULL, "run", CL_DATA "/tiny.ini", "--bogus-flag", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "--bogus-flag"));
    cl_free(&r);
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

/* ---- run: stopped part-way --------------------------------------------------------------- */

/* Cases in the results file at path so far (-1: no valid file yet). */
static int cl_cases_now(const char *path)
{
    json_t *d = json_load_file(path, 0, NULL);
    int n = d ? (int)json_array_size(json_object_get(d, "cases")) : -1;
    json_decref(d);
    return n;
}

/* Starts the slow suite, waits for its first case in the file, sends sig, reaps it.
 * Returns cases seen before the signal (0: timed out or the run ended first). */
static int cl_stop_slow(const char *out, int sig, cl_res *r)
{
    char tag[PATH_MAX];
    const char *argv[] = {cl_harness, "run", CL_DATA "/slow.ini", "--out", out, "--quiet", NULL};
    pid_t pid = cl_spawn(NULL, NULL, argv, tag, sizeof tag);
    int seen = 0, st;
    struct timespec nap = {0, 20 * 1000 * 1000};
    for (int i = 0; i < 1500 && seen < 1; i++) { /* 30 s */
        if (waitpid(pid, &st, WNOHANG) == pid) { /* it ended before we could stop it */
            print_error("the run ended by itself (status 0x%x)\n", st);
            r->status = st;
            r->code = -2;
            return 0;
        }
        seen = cl_cases_now(out);
        if (seen < 1)
            nanosleep(&nap, NULL);
    }
    kill(pid, seen >= 1 ? sig : SIGKILL);
    cl_collect(pid, tag, r);
    return seen < 0 ? 0 : seen;
}

static void cl_check_partial(const char *out, json_t **docp)
{
    json_t *doc = cl_load(out);
    json_t *loaded;
    sono_error err = {0};
    int rc = sono_results_load(out, &loaded, &err);
    if (rc)
        print_error("%s\n", err.msg);
    assert_int_equal(rc, 0);
    json_decref(loaded);
    assert_true(json_is_false(cl_get(doc, "run.complete")));
    size_t n = json_array_size(json_object_get(doc, "cases"));
    assert_true(n >= 1 && n < 12);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(doc, "cases"), i, c)
        cl_check_ok_case(c); /* every recorded case is whole */
    *docp = doc;
}

static void cl_run_sigkill(void **state)
{
    (void)state;
    char dir[PATH_MAX], out[PATH_MAX + 16];
    cl_mkdir("kill", dir, sizeof dir);
    snprintf(out, sizeof out, "%s/k.json", dir);
    cl_res r;
    assert_true(cl_stop_slow(out, SIGKILL, &r) >= 1);
    assert_true(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGKILL);
    json_t *doc;
    cl_check_partial(out, &doc);
    assert_true(json_is_false(cl_get(doc, "run.interrupted")));
    json_decref(doc);
    DIR *d = opendir(dir); /* the file and at most its .tmp, nothing else */
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.' && strcmp(de->d_name, "k.json") != 0 &&
            strcmp(de->d_name, "k.json.tmp") != 0) {
            print_error("left behind: %s\n", de->d_name);
            fail();
        }
    closedir(d);
    cl_free(&r);
}

static void cl_run_sigint(void **state)
{
    (void)state;
    const int sigs[] = {SIGINT, SIGTERM};
    for (int k = 0; k < 2; k++) {
        char out[PATH_MAX];
        snprintf(out, sizeof out, "%s/int%d.json", cl_tmp, k);
        cl_res r;
        assert_true(cl_stop_slow(out, sigs[k], &r) >= 1);
        cl_expect_code(&r, 130);
        json_t *doc;
        cl_check_partial(out, &doc);
        assert_true(json_is_true(cl_get(doc, "run.interrupted")));
        /* the table shows every completed case, and says the run was interrupted */
        assert_non_null(strstr(r.out, "\n== fft ==\n"));
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(doc, "cases"), i, c) {
            char params[64], row[1024];
            snprintf(params, sizeof params, "n=1024,batch=%lld ",
                     (long long)json_integer_value(cl_get(c, "params.batch")));
            assert_true(cl_line_with(r.out, row, sizeof row, params, "OK"));
        }
        char summary[64];
        snprintf(summary, sizeof summary, "%zu ok, 0 fail, 0 skip, 0 error (interrupted)",
                 json_array_size(json_object_get(doc, "cases")));
        assert_non_null(strstr(r.out, summary));
        json_decref(doc);
        cl_free(&r);
    }
}

/* The first SIGINT stops after the current sample; a second one means now: the process
 * ends by SIGINT while the kernel is still running (here a run() of seconds), and the
 * file on disk is the valid one written before. (Once a BUG: the second SIGINT only
 * restored SIG_DFL, so it took a third.) */
static void cl_second_sigint_stops_now(void **state)
{
    (void)state;
    char out[PATH_MAX], tag[PATH_MAX], errf[PATH_MAX + 8];
    snprintf(out, sizeof out, "%s/long.json", cl_tmp);
    const char *argv[] = {cl_harness, "run", CL_DATA "/long.ini", "--out", out, "--quiet", NULL};
    pid_t pid = cl_spawn(NULL, NULL, argv, tag, sizeof tag);
    snprintf(errf, sizeof errf, "%s.err", tag);
    struct timespec nap = {0, 20 * 1000 * 1000};
    int st = 0, started = 0, alive_after_first = 0, dead_after_second = 0;
    for (int i = 0; i < 1500 && !started; i++) { /* "cases -> FILE": handlers come next */
        char *e = cl_slurp(errf, NULL);
        started = e && strstr(e, "cases -> ");
        free(e);
        if (!started)
            nanosleep(&nap, NULL);
    }
    if (started) {
        struct timespec settle = {0, 300 * 1000 * 1000};
        nanosleep(&settle, NULL);
        kill(pid, SIGINT);
        struct timespec gap = {0, 200 * 1000 * 1000};
        nanosleep(&gap, NULL);
        alive_after_first = waitpid(pid, &st, WNOHANG) == 0; /* first: stop gracefully */
        if (alive_after_first) {
            kill(pid, SIGINT);
            for (int i = 0; i < 100 && !dead_after_second; i++) { /* 2 s */
                dead_after_second = waitpid(pid, &st, WNOHANG) == pid;
                if (!dead_after_second)
                    nanosleep(&nap, NULL);
            }
        }
    }
    int reaped = dead_after_second || (started && !alive_after_first);
    if (!reaped) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    assert_true(started);
    assert_true(alive_after_first); /* the first SIGINT must not kill: it is caught */
    if (!dead_after_second)
        print_error("still running 2 s after a second SIGINT\n");
    assert_true(dead_after_second);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT);
    json_t *doc;
    sono_error err = {0};
    assert_int_equal(sono_results_load(out, &doc, &err), 0);
    assert_true(json_is_false(cl_get(doc, "run.complete")));
    assert_int_equal(json_array_size(json_object_get(doc, "cases")), 0);
    json_decref(doc);
}

/* ---- leaks (meaningful under make asan; plain builds have no LeakSanitizer) --------- */

/* Runs the harness with LeakSanitizer's own exit status and expects a clean exit. */
static void cl_leak_free(const char *const *set_extra, int want, const char *const *args)
{
    const char *set[4] = {"LSAN_OPTIONS=exitcode=23", NULL};
    for (int i = 0; set_extra && set_extra[i] && i < 2; i++)
        set[i + 1] = set_extra[i];
    const char *argv[16] = {cl_harness};
    int n = 1;
    for (; args[n - 1] && n < 15; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    cl_res r;
    cl_run(NULL, set, argv, &r);
    int leaked = strstr(r.err, "LeakSanitizer") != NULL, code = r.code;
    if (leaked || code != want)
        print_error("harness %s %s: exit %d, expected %d\n%s\n", args[0],
                    args[1] ? args[1] : "", code, want, r.err);
    cl_free(&r); /* before the asserts, so a failure here leaks nothing of ours */
    assert_false(leaked);
    assert_int_equal(code, want);
}

static void cl_no_leaks(void **state)
{
    (void)state;
    char out[PATH_MAX], envp[PATH_MAX + 32];
    snprintf(out, sizeof out, "%s/leak.json", cl_tmp);
    snprintf(envp, sizeof envp, "SONO_PLUGIN_PATH=%s", cl_plugins);
    const char *tp[] = {envp, NULL};
    cl_leak_free(NULL, 0, (const char *const[]){"list", NULL});
    cl_leak_free(NULL, 0, (const char *const[]){"run", CL_DATA "/tiny.ini", "--filter",
                                                "fft/cpu/*", "--out", out, NULL});
    cl_leak_free(NULL, 2, (const char *const[]){"run", CL_DATA "/bad_impl.ini", NULL});
    cl_leak_free(NULL, 0, (const char *const[]){"exec", "fft/radix2", "--param", "n=64",
                                                NULL});
    cl_leak_free(NULL, 2, (const char *const[]){"exec", "fft/radix2", "--param", "n=48",
                                                NULL});
    cl_leak_free(tp, 1, (const char *const[]){"exec", "fft/wrong/fft", "--param", "n=64",
                                              NULL});
}

/* FFTW keeps its planner and wisdom in library globals, and sono_reg_free dlcloses the
 * plugin: unless the plugin releases them (fftwf_cleanup) first, every run or exec that
 * planned with FFTW ends, under make asan, in a leak report and exit status 1. (Once a
 * BUG: 118 kB in 1353 blocks per run.) */
static void cl_fftw_no_leaks_at_exit(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/leak-fftw.json", cl_tmp);
    cl_leak_free(NULL, 0, (const char *const[]){"exec", "fft/fftw", "--param", "n=64", NULL});
    cl_leak_free(NULL, 0, (const char *const[]){"run", CL_DATA "/tiny.ini", "--filter",
                                                "fft/fftw/*", "--out", out, NULL});
}

/* ---- exec ----------------------------------------------------------------------------- */

typedef struct cl_npy {
    char descr[16];
    long long shape[4];
    int ndim;
    unsigned char *data; /* points into raw */
    size_t ndata;
    char *raw;
} cl_npy;

/* Reads an .npy file per the NumPy format description (version 1.0 header). */
static void cl_npy_read(const char *path, cl_npy *f)
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
    assert_int_equal((10 + hl) % 64, 0);
    char dict[1024];
    assert_true(hl < sizeof dict);
    memcpy(dict, f->raw + 10, hl);
    dict[hl] = 0;
    assert_int_equal(dict[hl - 1], '\n');
    assert_non_null(strstr(dict, "'fortran_order': False"));
    const char *d = strstr(dict, "'descr': '");
    assert_non_null(d);
    d += 10;
    snprintf(f->descr, sizeof f->descr, "%.*s", (int)strcspn(d, "'"), d);
    const char *s = strstr(dict, "'shape': (");
    assert_non_null(s);
    s += 10;
    while (*s != ')') {
        char *end;
        assert_true(f->ndim < 4);
        f->shape[f->ndim++] = strtoll(s, &end, 10);
        assert_true(end != s);
        s = end + strspn(end, ", ");
    }
    f->data = (unsigned char *)f->raw + 10 + hl;
    f->ndata = len - 10 - hl;
}

/* Relative L2 distance of y (complex float) from the DFT of x, by definition, in long
 * double: X[k] = sum_j x[j] e^{-2 pi i jk/n}. */
static double cl_dft_error(const float *x, const float *y, size_t n)
{
    long double *w = malloc(2 * n * sizeof *w);
    assert_non_null(w);
    const long double pi = 3.141592653589793238462643383279502884L;
    for (size_t m = 0; m < n; m++) {
        w[2 * m] = cosl(2 * pi * (long double)m / (long double)n);
        w[2 * m + 1] = -sinl(2 * pi * (long double)m / (long double)n);
    }
    long double num = 0, den = 0;
    for (size_t k = 0; k < n; k++) {
        long double re = 0, im = 0;
        for (size_t j = 0, m = 0; j < n; j++, m = (m + k) % n) {
            re += x[2 * j] * w[2 * m] - x[2 * j + 1] * w[2 * m + 1];
            im += x[2 * j] * w[2 * m + 1] + x[2 * j + 1] * w[2 * m];
        }
        long double dr = y[2 * k] - re, di = y[2 * k + 1] - im;
        num += dr * dr + di * di;
        den += re * re + im * im;
    }
    free(w);
    return den > 0 ? (double)sqrtl(num / den) : INFINITY;
}

static void cl_exec_fft(void **state)
{
    (void)state;
    char out[PATH_MAX], in[PATH_MAX];
    snprintf(out, sizeof out, "%s/OUT.npy", cl_tmp);
    snprintf(in, sizeof in, "%s/IN.npy", cl_tmp);
    cl_res r;
    cl_h(&r, NULL, "exec", "fft/radix2", "--param", "n=1024", "--param", "batch=4", "--input",
         "noise", "--output", out, "--input-out", in, NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    cl_npy o, x;
    cl_npy_read(out, &o);
    cl_npy_read(in, &x);
    for (int k = 0; k < 2; k++) {
        const cl_npy *f = k ? &x : &o;
        assert_string_equal(f->descr, "<c8");
        assert_int_equal(f->ndim, 2);
        assert_int_equal(f->shape[0], 4);
        assert_int_equal(f->shape[1], 1024);
        assert_int_equal(f->ndata, 4 * 1024 * 8);
    }
    const float *xf = (const float *)(const void *)x.data;
    const float *of = (const float *)(const void *)o.data;
    for (size_t row = 0; row < 4; row += 3) { /* the first and the last row */
        double e = cl_dft_error(xf + row * 2048, of + row * 2048, 1024);
        if (!(e < 1e-5))
            print_error("row %zu: rel. L2 error %g against the DFT by definition\n", row, e);
        assert_true(e < 1e-5);
    }
    free(o.raw);
    free(x.raw);
}

static void cl_exec_sine_peak(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/sine.npy", cl_tmp);
    const long long n = 64;
    const double freq = 1000, rate = 8000;
    cl_res r;
    cl_h(&r, NULL, "exec", "rfft/fftw", "--input", "sine(freq=1000)", "--sample-rate", "8000",
         "--param", "n=64", "--output", out, NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    cl_npy o;
    cl_npy_read(out, &o);
    assert_string_equal(o.descr, "<c8");
    assert_int_equal(o.shape[o.ndim - 1], n / 2 + 1);
    assert_int_equal(o.ndata, (size_t)(n / 2 + 1) * 8);
    const float *y = (const float *)(const void *)o.data;
    long long peak = -1;
    double best = -1;
    for (long long k = 0; k <= n / 2; k++) {
        double m = hypot(y[2 * k], y[2 * k + 1]);
        if (m > best) {
            best = m;
            peak = k;
        }
    }
    assert_int_equal(peak, (long long)(n * freq / rate)); /* bin 8 */
    free(o.raw);
}

static void cl_exec_errors(void **state)
{
    (void)state;
    cl_res r;
    cl_h(&r, NULL, "exec", "fft/radix2", "--param", "n=480", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "power of two"));
    cl_free(&r);
    cl_h(&r, NULL, "exec", "fft/radix2", "--param", "colour=blue", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "colour"));
    cl_free(&r);
    cl_h(&r, NULL, "exec", "fft/radix2", "--param", "n=0", NULL);
    cl_expect_code(&r, 2);
    cl_free(&r);
    cl_h(&r, NULL, "exec", "fftt/radix2", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "fftt"));
    cl_free(&r);
    cl_h(&r, NULL, "exec", "fft/radix2", "--param", NULL);
    cl_expect_code(&r, 2);
    cl_free(&r);

    char envp[PATH_MAX + 32];
    snprintf(envp, sizeof envp, "SONO_PLUGIN_PATH=%s", cl_plugins);
    const char *set[] = {envp, NULL};
    cl_h(&r, set, "exec", "fft/wrong/fft", "--param", "n=64", NULL);
    cl_expect_code(&r, 1);
    assert_non_null(strstr(r.out, "FAIL"));
    cl_free(&r);
}

/* ---- what the core binary links, and an installed tree -------------------------------- */

/* DT_NEEDED entries of an ELF64 file, from its SHT_DYNAMIC section and that section's
 * string table; returns how many (at most max). */
static int cl_needed(const char *path, char names[][128], int max)
{
    size_t len;
    char *f = cl_slurp(path, &len);
    assert_non_null(f);
    assert_true(len >= sizeof(Elf64_Ehdr));
    Elf64_Ehdr eh;
    memcpy(&eh, f, sizeof eh);
    assert_memory_equal(eh.e_ident, ELFMAG, SELFMAG);
    assert_int_equal(eh.e_ident[EI_CLASS], ELFCLASS64);
    assert_true(eh.e_shoff + (size_t)eh.e_shnum * sizeof(Elf64_Shdr) <= len);
    int n = 0;
    for (int i = 0; i < eh.e_shnum; i++) {
        Elf64_Shdr sh, str;
        memcpy(&sh, f + eh.e_shoff + (size_t)i * sizeof sh, sizeof sh);
        if (sh.sh_type != SHT_DYNAMIC)
            continue;
        assert_true(sh.sh_link < eh.e_shnum);
        memcpy(&str, f + eh.e_shoff + (size_t)sh.sh_link * sizeof str, sizeof str);
        assert_true(sh.sh_offset + sh.sh_size <= len && str.sh_offset + str.sh_size <= len);
        for (size_t off = 0; off + sizeof(Elf64_Dyn) <= sh.sh_size; off += sizeof(Elf64_Dyn)) {
            Elf64_Dyn dyn;
            memcpy(&dyn, f + sh.sh_offset + off, sizeof dyn);
            if (dyn.d_tag == DT_NULL)
                break;
            if (dyn.d_tag == DT_NEEDED && n < max) {
                assert_true(dyn.d_un.d_val < str.sh_size);
                snprintf(names[n++], 128, "%s", f + str.sh_offset + dyn.d_un.d_val);
            }
        }
    }
    free(f);
    return n;
}

static const char *cl_banned(const char *text)
{
    static const char *const libs[] = {"fftw", "openblas", "cuda", "cufft", "cublas", NULL};
    for (int i = 0; libs[i]; i++)
        if (strcasestr(text, libs[i]))
            return libs[i];
    return NULL;
}

static void cl_core_links_no_backend(void **state)
{
    (void)state;
    char names[64][128];
    int n = cl_needed(cl_harness, names, 64), jansson = 0;
    assert_true(n >= 1);
    for (int i = 0; i < n; i++) {
        if (cl_banned(names[i]))
            print_error("%s needs %s\n", cl_harness, names[i]);
        assert_null(cl_banned(names[i]));
        jansson |= strncmp(names[i], "libjansson", 10) == 0;
    }
    assert_true(jansson); /* the reader sees the real table: the core does need jansson */

    /* the same reader does see FFTW where it belongs, in the fftw plugin */
    const char *build = getenv("SONO_BUILD") ? getenv("SONO_BUILD") : "build";
    char so[PATH_MAX];
    snprintf(so, sizeof so, "%s/plugins/fftw.so", build);
    int m = cl_needed(so, names, 64), fftw = 0;
    for (int i = 0; i < m; i++)
        fftw |= strstr(names[i], "fftw") != NULL;
    assert_true(fftw);

    /* and ldd, which follows the whole tree of libraries */
    cl_res r;
    const char *argv[] = {"ldd", cl_harness, NULL};
    cl_run(NULL, NULL, argv, &r);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "libjansson"));
    if (cl_banned(r.out))
        print_error("ldd %s:\n%s", cl_harness, r.out);
    assert_null(cl_banned(r.out));
    cl_free(&r);
}

static void cl_install(void **state)
{
    (void)state;
    const char *build = getenv("SONO_BUILD");
    if (build && strcmp(build, "build") != 0)
        skip(); /* make asan builds under build/asan; install covers the plain build */
    char prefix[PATH_MAX], arg[PATH_MAX + 16], other[PATH_MAX], bin[PATH_MAX + 32];
    snprintf(prefix, sizeof prefix, "%s/inst", cl_tmp);
    snprintf(arg, sizeof arg, "PREFIX=%s", prefix);
    cl_mkdir("elsewhere", other, sizeof other);
    cl_res r;
    const char *make[] = {"make", "--no-print-directory", "-C", cl_root, "install", arg, NULL};
    cl_run(NULL, NULL, make, &r);
    cl_expect_code(&r, 0);
    cl_free(&r);

    snprintf(bin, sizeof bin, "%s/bin/harness", prefix);
    const char *list[] = {bin, "list", NULL};
    cl_run(other, NULL, list, &r);
    cl_expect_code(&r, 0);
    char line[1024];
    for (const char *const *b = (const char *const[]){"backend cpu ", "backend fftw ", NULL};
         *b; b++) {
        assert_true(cl_line_with(r.out, line, sizeof line, *b, "available"));
        assert_null(strstr(line, "UNAVAILABLE"));
    }
    assert_true(cl_line_with(r.out, line, sizeof line, "fft", "cpu/radix2"));
    const char *suites = strstr(r.out, "\nsuites:\n");
    assert_non_null(suites);
    for (const char *const *s = (const char *const[]){"  quick ", "  fft ", NULL}; *s; s++) {
        assert_true(cl_line_with(suites, line, sizeof line, *s, " cases "));
        assert_null(strstr(line, "INVALID"));
    }
    cl_free(&r);

    /* a suite by name, and the plugins it loads come from the installed tree */
    const char *dry[] = {bin, "run", "quick", "--dry-run", NULL};
    cl_run(other, NULL, dry, &r);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "fft/cpu/radix2/"));
    cl_free(&r);
    char suite[PATH_MAX + 64], out[PATH_MAX + 16];
    snprintf(suite, sizeof suite, "%s/%s/tiny.ini", cl_root, CL_DATA);
    snprintf(out, sizeof out, "%s/inst.json", other);
    const char *run[] = {bin, "run", suite, "--out", out, "--quiet", "--filter",
                         "fft/cpu/*", NULL};
    cl_run(other, NULL, run, &r);
    cl_expect_code(&r, 0);
    json_t *doc = cl_load(out);
    const char *p = cl_str(doc, "env.backends.cpu.path");
    if (strncmp(p, prefix, strlen(prefix)) != 0)
        print_error("cpu plugin loaded from %s, not under %s\n", p, prefix);
    assert_int_equal(strncmp(p, prefix, strlen(prefix)), 0);
    json_decref(doc);
    cl_free(&r);
}

/* ---- setup ------------------------------------------------------------------------------ */

static int cl_setup(void **state)
{
    (void)state;
    const char *h = getenv("SONO_HARNESS") ? getenv("SONO_HARNESS") : "bin/harness";
    const char *tp = getenv("SONO_TEST_PLUGINS") ? getenv("SONO_TEST_PLUGINS")
                                                 : "build/test-plugins";
    if (!realpath(h, cl_harness) || !realpath(tp, cl_plugins) || !getcwd(cl_root, sizeof cl_root)) {
        fprintf(stderr, "test_cli: run from the repo root after make (harness %s, test "
                "plugins %s): %s\n", h, tp, strerror(errno));
        return -1;
    }
    snprintf(cl_tmp, sizeof cl_tmp, "/tmp/sono_cli_XXXXXX");
    return mkdtemp(cl_tmp) ? 0 : -1;
}

static int cl_teardown(void **state)
{
    (void)state;
    cl_free(&cl_tiny_res);
    return nftw(cl_tmp, cl_rm, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cl_help_and_version),
        cmocka_unit_test(cl_unknown_command),
        cmocka_unit_test(cl_run_table),
        cmocka_unit_test(cl_run_env_and_suite),
        cmocka_unit_test(cl_run_cases),
        cmocka_unit_test(cl_run_deterministic),
        cmocka_unit_test(cl_run_wrong_plugin),
        cmocka_unit_test(cl_run_broken_plugin),
        cmocka_unit_test(cl_run_unsupported_skips),
        cmocka_unit_test(cl_run_filter),
        cmocka_unit_test(cl_run_dry),
        cmocka_unit_test(cl_run_default_out),
        cmocka_unit_test(cl_run_bad_suites),
        cmocka_unit_test(cl_run_sigkill),
        cmocka_unit_test(cl_run_sigint),
        cmocka_unit_test(cl_second_sigint_stops_now),
        cmocka_unit_test(cl_no_leaks),
        cmocka_unit_test(cl_fftw_no_leaks_at_exit),
        cmocka_unit_test(cl_exec_fft),
        cmocka_unit_test(cl_exec_sine_peak),
        cmocka_unit_test(cl_exec_errors),
        cmocka_unit_test(cl_core_links_no_backend),
        cmocka_unit_test(cl_install),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
