/* cli_util.h — what the CLI integration tests (tests/test_cli_*.c) share: running the real
 * `harness` ($SONO_HARNESS) with posix_spawn and capturing its exit status, stdout and
 * stderr in files under a temp dir, reading text and the results JSON, the group setup.
 * Every test program is one .c file linked with build/libsonocore.a alone, so the helpers
 * are static inline functions here: each program compiles the ones it uses. */
#ifndef SONO_TESTS_CLI_UTIL_H
#define SONO_TESTS_CLI_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* ---- files, processes, JSON ----------------------------------------------------------- */

/* The whole file, NUL-terminated (NULL when it cannot be read); *len: its size, 0 then. */
static inline char *cl_slurp(const char *path, size_t *len)
{
    if (len)
        *len = 0;
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

static inline int cl_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static inline int cl_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* A fresh folder under the run's temp dir. */
static inline void cl_mkdir(const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", cl_tmp, name);
    assert_int_equal(mkdir(out, 0755), 0);
}

static inline int cl_dropped(const char *entry, const char *const *set)
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
static inline char **cl_env(const char *const *set)
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
static inline pid_t cl_spawn(const char *cwd, const char *const *set,
                             const char *const *argv, char *tag, size_t ntag)
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

static inline void cl_collect(pid_t pid, const char *tag, cl_res *r)
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

static inline void cl_free(cl_res *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

static inline int cl_run(const char *cwd, const char *const *set, const char *const *argv,
                         cl_res *r)
{
    char tag[PATH_MAX];
    pid_t pid = cl_spawn(cwd, set, argv, tag, sizeof tag);
    cl_collect(pid, tag, r);
    return r->code;
}

/* Runs the harness from the repo root: cl_h(&r, env_set, "run", "x.ini", NULL). */
static inline int cl_h(cl_res *r, const char *const *set, ...)
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
static inline void cl_expect_code(const cl_res *r, int want)
{
    if (r->code != want)
        print_error("exit %d (status 0x%x), expected %d\n--- stdout\n%s--- stderr\n%s\n",
                    r->code, r->status, want, r->out ? r->out : "", r->err ? r->err : "");
    assert_int_equal(r->code, want);
}

/* root["a"]["b"]... along a dotted path; NULL when any step is missing. */
static inline json_t *cl_get(json_t *root, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *j = root;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); j && k; k = strtok_r(NULL, ".", &save))
        j = json_object_get(j, k);
    return j;
}

static inline double cl_num(json_t *root, const char *path)
{
    json_t *j = cl_get(root, path);
    if (!json_is_number(j))
        print_error("expected a number at %s\n", path);
    assert_true(json_is_number(j));
    return json_number_value(j);
}

static inline const char *cl_str(json_t *root, const char *path)
{
    json_t *j = cl_get(root, path);
    if (!json_is_string(j))
        print_error("expected a string at %s\n", path);
    assert_true(json_is_string(j));
    return json_string_value(j);
}

static inline json_t *cl_load(const char *path)
{
    json_error_t je;
    json_t *d = json_load_file(path, 0, &je);
    if (!d)
        print_error("%s:%d: %s\n", path, je.line, je.text);
    assert_non_null(d);
    return d;
}

/* The case of doc with this id, or NULL. */
static inline json_t *cl_case(json_t *doc, const char *id)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(doc, "cases"), i, c)
        if (strcmp(json_string_value(json_object_get(c, "id")), id) == 0)
            return c;
    return NULL;
}

/* The first line of text (copied to out) that contains a and, unless NULL, b and c. */
static inline int cl_line_with3(const char *text, char *out, size_t n, const char *a,
                                const char *b, const char *c)
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

static inline int cl_line_with(const char *text, char *out, size_t n, const char *a,
                               const char *b)
{
    return cl_line_with3(text, out, n, a, b, NULL);
}

/* ---- a measured case ------------------------------------------------------------------ */

static inline int cl_is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (; *s; s++)
        if (!isxdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* Everything a measured, passing fft case must satisfy, each from its definition. */
static inline void cl_check_ok_case(json_t *c)
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

/* ---- history (issue 27) ---------------------------------------------------------------- */

/* nruns results files in dir (made here), copies of src one commit apart: env.git
 * "c0ffee<k>", run.started a day apart, every time within 2 % of src's; the cases of
 * impl `stepped` 1.5x slower (median and CI) from run step_at (0-based) on. */
static inline void cl_plant_history(const char *src, const char *dir, int nruns,
                                    const char *stepped, int step_at)
{
    for (int k = 0; k < nruns; k++) {
        json_t *d = cl_load(src);
        char git[32], when[32], path[PATH_MAX + 32];
        snprintf(git, sizeof git, "c0ffee%d", k);
        snprintf(when, sizeof when, "2026-11-%02dT10:00:00Z", 10 + k);
        json_object_set_new(json_object_get(d, "env"), "git", json_string(git));
        json_object_set_new(json_object_get(d, "run"), "started", json_string(when));
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(d, "cases"), i, c) {
            json_t *t = json_object_get(c, "time_ns");
            if (!t)
                continue;
            double f = 1 + 0.01 * (double)((k * 7 + (int)i) % 3);
            if (strcmp(json_string_value(json_object_get(c, "impl")), stepped) == 0 &&
                k >= step_at)
                f *= 1.5;
            const char *keys[] = {"median", "ci_lo", "ci_hi"};
            for (int q = 0; q < 3; q++) {
                json_t *v = json_object_get(t, keys[q]);
                if (json_is_number(v))
                    json_object_set_new(t, keys[q], json_real(json_number_value(v) * f));
            }
        }
        snprintf(path, sizeof path, "%s/run%d.json", dir, k);
        assert_int_equal(json_dump_file(d, path, JSON_COMPACT), 0);
        json_decref(d);
    }
}

/* ---- setup ------------------------------------------------------------------------------ */

/* The group setup of every CLI program: finds the harness and the test plugins (absolute
 * paths) and makes the temp dir; cl_teardown removes that dir and all in it. */
static inline int cl_setup(void **state)
{
    (void)state;
    const char *h = getenv("SONO_HARNESS") ? getenv("SONO_HARNESS") : "bin/harness";
    const char *tp = getenv("SONO_TEST_PLUGINS") ? getenv("SONO_TEST_PLUGINS")
                                                 : "build/test-plugins";
    if (!realpath(h, cl_harness) || !realpath(tp, cl_plugins) || !getcwd(cl_root, sizeof cl_root)) {
        fprintf(stderr, "%s: run from the repo root after make (harness %s, test "
                "plugins %s): %s\n", program_invocation_short_name, h, tp, strerror(errno));
        return -1;
    }
    snprintf(cl_tmp, sizeof cl_tmp, "/tmp/sono_cli_XXXXXX");
    return mkdtemp(cl_tmp) ? 0 : -1;
}

static inline int cl_teardown(void **state)
{
    (void)state;
    return nftw(cl_tmp, cl_rm, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
