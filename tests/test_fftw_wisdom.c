/* test_fftw_wisdom.c — issue 22's stable FFTW plans through real runs: a first process
 * measures and saves ("wisdom: new"), a second reads the same plan ("wisdom: hit"); the
 * file's default place and the env contract; corrupt or cut files ignored and rewritten. */
#include "cli_util.h"

/* fftw/fftw c2c and r2c, and fftwblas/batched's r2c over frames: both plugins that plan. */
static const char wi_suite[] =
    "[suite]\n"
    "inputs = noise\n"
    "budget_s = 0.02\n"
    "warmup_s = 0\n"
    "min_time_s = 0.005\n"
    "max_samples = 3\n"
    "\n[fft]\nop = fft\nimpls = fftw/fftw\nn = 240\nbatch = 3\n"
    "\n[rfft]\nop = rfft\nimpls = fftw/fftw\nn = 96\nbatch = 2\n"
    "\n[stft]\nop = stft\nimpls = fftwblas/batched\nseconds = 0.0513\nn_fft = 256\n"
    "hop = 100\n";

static const char *const wi_ids[] = {
    "fft/fftw/fftw/n=240,batch=3/noise",
    "rfft/fftw/fftw/n=96,batch=2/noise",
    NULL, /* the stft case's id: found by its prefix (its params are many) */
};

static char wi_ini[PATH_MAX];

static int wi_setup(void **state)
{
    /* the children get exactly what each test sets: never a wisdom file of the caller's */
    unsetenv("SONO_FFTW_WISDOM");
    if (cl_setup(state))
        return -1;
    snprintf(wi_ini, sizeof wi_ini, "%s/wisdom.ini", cl_tmp);
    FILE *f = fopen(wi_ini, "w");
    if (!f || fputs(wi_suite, f) < 0 || fclose(f) != 0)
        return -1;
    return 0;
}

/* The describes of the three cases after one `harness run` with env; want_err: a phrase
 * stderr must hold (NULL: none required). */
typedef struct wi_run {
    char desc[3][8192];
} wi_run;

static void wi_do(const char *const *env, const char *want_err, wi_run *w)
{
    char out[PATH_MAX];
    static int seq;
    snprintf(out, sizeof out, "%s/w%d.json", cl_tmp, ++seq);
    cl_res r;
    cl_h(&r, env, "run", wi_ini, "--out", out, "--quiet", NULL);
    cl_expect_code(&r, 0);
    if (want_err && !strstr(r.err, want_err))
        fail_msg("stderr lacks '%s':\n%s", want_err, r.err);
    json_t *doc = cl_load(out);
    json_t *cases = json_object_get(doc, "cases"), *c;
    size_t i;
    memset(w, 0, sizeof *w);
    json_array_foreach(cases, i, c) {
        const char *id = json_string_value(json_object_get(c, "id"));
        int k = strcmp(id, wi_ids[0]) == 0 ? 0 : strcmp(id, wi_ids[1]) == 0 ? 1
                : strncmp(id, "stft/fftwblas/batched/", 22) == 0 ? 2 : -1;
        if (k < 0)
            continue;
        if (strcmp(cl_str(c, "status"), "ok") != 0)
            fail_msg("%s: status %s: %s", id, cl_str(c, "status"),
                     json_string_value(json_object_get(c, "message")));
        snprintf(w->desc[k], sizeof w->desc[k], "%s", cl_str(c, "describe"));
    }
    json_decref(doc);
    cl_free(&r);
    for (int k = 0; k < 3; k++)
        if (!w->desc[k][0])
            fail_msg("case %d of the wisdom suite has no record in %s", k, out);
}

/* The clause "wisdom: <state>; " (fftwblas: "fftw wisdom: ") and the plan after it. */
static const char *wi_state(const char *desc, char *state, size_t n)
{
    const char *s = strstr(desc, "wisdom: ");
    if (!s)
        fail_msg("describe has no 'wisdom: ' clause: %.300s", desc);
    s += 8;
    size_t len = strcspn(s, ";");
    snprintf(state, n, "%.*s", (int)len, s);
    return s + len;
}

static void wi_expect(const wi_run *w, const char *state)
{
    char got[32];
    for (int k = 0; k < 3; k++) {
        wi_state(w->desc[k], got, sizeof got);
        if (strcmp(got, state) != 0)
            fail_msg("case %d: wisdom %s, expected %s: %.400s", k, got, state, w->desc[k]);
    }
}

/* The same describe but for the wisdom clause: the same plan, threads and all. */
static void wi_same_plans(const wi_run *a, const wi_run *b)
{
    char sa[32], sb[32];
    for (int k = 0; k < 3; k++) {
        const char *pa = wi_state(a->desc[k], sa, sizeof sa);
        const char *pb = wi_state(b->desc[k], sb, sizeof sb);
        size_t ha = (size_t)(strstr(a->desc[k], "wisdom: ") - a->desc[k]);
        size_t hb = (size_t)(strstr(b->desc[k], "wisdom: ") - b->desc[k]);
        if (ha != hb || strncmp(a->desc[k], b->desc[k], ha) != 0 || strcmp(pa, pb) != 0)
            fail_msg("case %d: the plan changed between processes:\n%s\n---\n%s", k,
                     a->desc[k], b->desc[k]);
    }
}

static int wi_is_wisdom(const char *path)
{
    size_t len;
    char *s = cl_slurp(path, &len);
    int ok = s && strncmp(s, "(fftw-", 6) == 0 && strstr(s, "fftwf_wisdom");
    free(s);
    return ok;
}

static void wi_new_then_hit(void **state)
{
    (void)state;
    char dir[PATH_MAX], path[PATH_MAX + 16], env[PATH_MAX + 64];
    cl_mkdir("hit", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/w.txt", dir);
    snprintf(env, sizeof env, "SONO_FFTW_WISDOM=%s", path);
    const char *set[] = {env, NULL};
    wi_run a, b;
    wi_do(set, NULL, &a);
    wi_expect(&a, "new");
    assert_true(wi_is_wisdom(path));
    wi_do(set, NULL, &b); /* a fresh harness, fresh workers: only the file carries plans */
    wi_expect(&b, "hit");
    wi_same_plans(&a, &b);
    /* fftw's own prefix is untouched (test_fftw_threads parses it) */
    int asked, used;
    assert_int_equal(sscanf(b.desc[0], "threads=%d; plan_threads=%d; ", &asked, &used), 2);
}

/* Unset: the harness names <calibration dir>/fftw-wisdom-<host>.txt; empty: off. */
static void wi_default_path(void **state)
{
    (void)state;
    char dir[PATH_MAX], cal[PATH_MAX + 32], env[PATH_MAX + 64], host[256];
    char want[PATH_MAX + 300];
    cl_mkdir("cal", dir, sizeof dir);
    snprintf(cal, sizeof cal, "%s/calibration.json", dir);
    snprintf(env, sizeof env, "SONO_CALIBRATION=%s", cal);
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = 0;
    for (char *c = host; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-' && *c != '_')
            *c = '_';
    snprintf(want, sizeof want, "%s/fftw-wisdom-%s.txt", dir, host);
    wi_run w;
    const char *off[] = {env, "SONO_FFTW_WISDOM=", NULL};
    wi_do(off, NULL, &w);
    wi_expect(&w, "off");
    assert_false(cl_exists(want));
    const char *set[] = {env, NULL};
    wi_do(set, NULL, &w);
    wi_expect(&w, "new");
    if (!wi_is_wisdom(want))
        fail_msg("no wisdom file at %s", want);
    wi_do(set, NULL, &w);
    wi_expect(&w, "hit");

    /* a value a harness derived elsewhere (inherited by a fleet job: sbatch exports the
     * environment) is derived again for this host, not used */
    char other[PATH_MAX + 64], inherited[PATH_MAX + 96];
    snprintf(other, sizeof other, "%s/fftw-wisdom-another-host.txt", dir);
    snprintf(inherited, sizeof inherited, "SONO_FFTW_WISDOM=%s", other);
    const char *moved[] = {env, inherited, "SONO_FFTW_WISDOM_AUTO=1", NULL};
    wi_do(moved, NULL, &w);
    wi_expect(&w, "hit");
    assert_false(cl_exists(other));
}

static void wi_write(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Garbage, and a good file cut in half: each ignored with a warning (nothing of it used:
 * every plan is measured anew), the run still ok, then the file is good wisdom again. */
static void wi_corrupt(void **state)
{
    (void)state;
    char dir[PATH_MAX], path[PATH_MAX + 16], env[PATH_MAX + 64];
    cl_mkdir("corrupt", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/w.txt", dir);
    snprintf(env, sizeof env, "SONO_FFTW_WISDOM=%s", path);
    const char *set[] = {env, NULL};
    wi_run a, b;

    static const char junk[] = "(fftw-3.3.10 fftwf_wisdom #x1 \x01\xff not wisdom at all";
    wi_write(path, junk, sizeof junk - 1);
    wi_do(set, "is unreadable or not wisdom", &a);
    wi_expect(&a, "new");
    assert_true(wi_is_wisdom(path));
    wi_do(set, NULL, &b);
    wi_expect(&b, "hit");

    /* the good file, truncated: its first entries parse, yet none may be used */
    size_t len;
    char *good = cl_slurp(path, &len);
    assert_non_null(good);
    assert_true(len > 40);
    wi_write(path, good, len / 2);
    free(good);
    wi_do(set, "is unreadable or not wisdom", &a);
    wi_expect(&a, "new");
    assert_true(wi_is_wisdom(path));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wi_new_then_hit),
        cmocka_unit_test(wi_default_path),
        cmocka_unit_test(wi_corrupt),
    };
    return cmocka_run_group_tests(tests, wi_setup, cl_teardown);
}
