/* test_device_check.c — ci/device-check.sh refuses (exit 3, saying why) to produce results
 * from uncommitted code: a bin/harness built from a dirty tree or naming no commit, a git
 * checkout with uncommitted changes, or a build of another commit; DC_ALLOW_DIRTY=1 goes
 * on with results/dirty/ in place of results/reference/. Runs a copy of the script in a
 * scratch folder beside a stub bin/harness (its `version` line chosen per case) and asks
 * for a stage that does not exist, so a script that gets past the check stops at once
 * (exit 2) having started nothing.
 * Issue 26: with the real harness and suites, on this GPU-less machine, a run under a
 * small DC_TOTAL_S ends inside it, and every results file it wrote is whole
 * (complete: true): each stage is sized to its budget, not cut. */
#include <dirent.h>
#include <time.h>

#include "cli_util.h"

static char dc_dir[PATH_MAX];

/* The scratch tree: ci/device-check.sh copied, bin/harness a stub printing `version`. */
static void dc_tree(const char *name, const char *version)
{
    char path[PATH_MAX + 64], cmd[3 * PATH_MAX];
    snprintf(dc_dir, sizeof dc_dir, "%s/%s", cl_tmp, name);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/ci' '%s/bin' && cp '%s/ci/device-check.sh' '%s/ci/'",
             dc_dir, dc_dir, cl_root, dc_dir);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/bin/harness", dc_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\necho '%s'\n", version);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, 0755), 0);
}

static void dc_run(const char *const *set, cl_res *r)
{
    char script[PATH_MAX + 32];
    snprintf(script, sizeof script, "%s/ci/device-check.sh", dc_dir);
    const char *argv[] = {"bash", script, "no-such-stage", NULL};
    cl_run(dc_dir, set, argv, r);
}

static void dc_expect_refused(const char *const *set, const char *why)
{
    cl_res r;
    dc_run(set, &r);
    cl_expect_code(&r, 3);
    if (!strstr(r.err, "refusing") || !strstr(r.err, why) || !strstr(r.err, "DC_ALLOW_DIRTY=1"))
        fail_msg("no refusal naming '%s':\n%s", why, r.err);
    assert_null(strstr(r.err, "unknown stage"));
    cl_free(&r);
}

static void dc_expect_past(const char *const *set)
{
    cl_res r;
    dc_run(set, &r);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "unknown stage 'no-such-stage'"));
    assert_null(strstr(r.err, "refusing"));
    cl_free(&r);
}

#define DC_V(git) "harness 0.1.0 (git " git ", plugin ABI 5, results schema sonobench.results/1)"

static void dc_clean_build_goes_on(void **state)
{
    (void)state;
    dc_tree("clean", DC_V("1234abc"));
    dc_expect_past(NULL);
    char dir[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/results/reference", dc_dir);
    assert_true(cl_exists(dir));
}

static void dc_dirty_build_refused(void **state)
{
    (void)state;
    dc_tree("dirty", DC_V("1234abc-dirty"));
    dc_expect_refused(NULL, "dirty tree (1234abc-dirty)");
    dc_tree("nocommit", "harness 0.1.0 (plugin ABI 5, results schema sonobench.results/1)");
    dc_expect_refused(NULL, "names no commit");
    dc_tree("unknown", DC_V("unknown"));
    dc_expect_refused(NULL, "names no commit");
}

static void dc_override(void **state)
{
    (void)state;
    dc_tree("override", DC_V("1234abc-dirty"));
    const char *set[] = {"DC_ALLOW_DIRTY=1", NULL};
    cl_res r;
    dc_run(set, &r);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.out, "results go to results/dirty/"));
    cl_free(&r);
    char dir[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/results/dirty", dc_dir);
    assert_true(cl_exists(dir));
    snprintf(dir, sizeof dir, "%s/results/reference", dc_dir);
    assert_false(cl_exists(dir));
}

/* A git checkout: clean at the build's commit goes on; an edit to a tracked file, or a
 * build of another commit, is refused even when bin/harness says clean. */
static void dc_git_checkout(void **state)
{
    (void)state;
    dc_tree("git", DC_V("0000000"));
    char cmd[2 * PATH_MAX], head[64] = "";
    snprintf(cmd, sizeof cmd,
             "cd '%s' && git init -q && git add ci && git -c user.name=t -c user.email=t@t "
             "commit -qm t && git describe --always",
             dc_dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(head, sizeof head, p));
    assert_int_equal(pclose(p), 0);
    head[strcspn(head, "\n")] = 0;
    dc_expect_refused(NULL, "built at 0000000, the tree is at");
    char version[128];
    snprintf(version, sizeof version, "harness 0.1.0 (git %s, plugin ABI 5, x)", head);
    dc_tree("git", version);
    dc_expect_past(NULL);
    snprintf(cmd, sizeof cmd, "echo '# edit' >> '%s/ci/device-check.sh'", dc_dir);
    assert_int_equal(system(cmd), 0);
    dc_expect_refused(NULL, "uncommitted changes");
}

/* The real harness names its commit on its version line. */
static void dc_harness_names_commit(void **state)
{
    (void)state;
    cl_res r;
    cl_h(&r, NULL, "version", NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "(git "));
    cl_free(&r);
}

/* The whole script on the real harness: stages execs (no GPU impls here: nothing to do),
 * dspfig and frontfig (suites/gpu's CPU rows run; the cuda ones skip) under a total of
 * DC_TOTAL_S = 50 s, dspfig given 30 s of it. Exit 0, the wall time within the total
 * (plus 10 s: the SIGINT-then-KILL grace and the script's own start), each stage either
 * done or skipped with its reason, at least one results file and every one complete. */
static void dc_budget_kept(void **state)
{
    (void)state;
    char cmd[4 * PATH_MAX];
    snprintf(dc_dir, sizeof dc_dir, "%s/budget", cl_tmp);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/ci' '%s/bin' && cp '%s/ci/device-check.sh' '%s/ci/' && "
             "ln -s '%s' '%s/bin/harness' && ln -s '%s/suites' '%s/suites'", dc_dir, dc_dir,
             cl_root, dc_dir, cl_harness, dc_dir, cl_root, dc_dir);
    assert_int_equal(system(cmd), 0);
    char script[PATH_MAX + 32];
    snprintf(script, sizeof script, "%s/ci/device-check.sh", dc_dir);
    const char *argv[] = {"bash", script, "execs", "dspfig", "frontfig", NULL};
    /* a cautious starting ratio (plan x 6): this machine may be shared and slow, and the
     * test is that what runs completes, not that much runs */
    char logs[PATH_MAX + 32];
    snprintf(logs, sizeof logs, "DC_LOG_DIR=%s/logs", dc_dir);
    const char *set[] = {"DC_ALLOW_DIRTY=1", "DC_TOTAL_S=50", "DC_DSPFIG_S=30",
                         "DC_PLAN_RATIO=600", "OUT=", logs, NULL};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cl_res r;
    cl_run(dc_dir, set, argv, &r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    if (r.code != 0 || wall > 60.0)
        fail_msg("exit %d after %.1f s (total 50 s):\n%s\n%s", r.code, wall, r.out, r.err);
    const char *stages[] = {"execs", "dspfig", "frontfig"};
    for (size_t i = 0; i < 3; i++) {
        char done[64], skip[64];
        snprintf(done, sizeof done, "stage %s done in", stages[i]);
        snprintf(skip, sizeof skip, "stage %s skipped: ", stages[i]);
        if (!strstr(r.out, done) && !strstr(r.out, skip))
            fail_msg("stage %s neither done nor skipped:\n%s", stages[i], r.out);
    }
    assert_null(strstr(r.err, "FAIL"));
    int files = 0;
    const char *dirs[] = {"results/dirty", "results/reference"};
    for (size_t d = 0; d < 2; d++) {
        char dir[PATH_MAX + 32];
        snprintf(dir, sizeof dir, "%s/%s", dc_dir, dirs[d]);
        DIR *dp = opendir(dir);
        struct dirent *e;
        while (dp && (e = readdir(dp))) {
            size_t n = strlen(e->d_name);
            if (n < 5 || strcmp(e->d_name + n - 5, ".json") || strstr(e->d_name, "calibration"))
                continue;
            char path[2 * PATH_MAX];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            json_error_t je;
            json_t *j = json_load_file(path, 0, &je);
            if (!j)
                fail_msg("%s: not JSON: %s", path, je.text);
            if (!json_is_true(json_object_get(json_object_get(j, "run"), "complete")))
                fail_msg("%s: complete is not true\n%s", path, r.out);
            json_decref(j);
            files++;
        }
        if (dp)
            closedir(dp);
    }
    if (files < 1)
        fail_msg("no results file written:\n%s", r.out);
    cl_free(&r);
}

/* `run --dry-run` ends with the planned line device-check sizes stages by (stderr): the
 * cases that run here (the lines without a skip reason) of all listed, and a time that is
 * positive when any runs. */
static void dc_dry_run_planned(void **state)
{
    (void)state;
    cl_res r;
    cl_h(&r, NULL, "run", "suites/gpu", "--dry-run", "--filter", "fft/*", NULL);
    cl_expect_code(&r, 0);
    int all = 0, here = 0;
    for (const char *l = r.out; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l)) {
        const char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l) : strlen(l);
        if (!len)
            continue;
        all++;
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)(len < 1000 ? len : 1000), l);
        here += strstr(line, "  (skip: ") == NULL;
    }
    int pr = -1, pa = -1;
    double s = -1;
    const char *p = strstr(r.err, "planned: ");
    assert_non_null(p);
    assert_int_equal(sscanf(p, "planned: %d of %d cases run here, about %lf s", &pr, &pa, &s), 3);
    assert_int_equal(pr, here);
    assert_int_equal(pa, all);
    assert_true(all > 0 && here > 0 && s > 0);
    cl_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dc_clean_build_goes_on), cmocka_unit_test(dc_dirty_build_refused),
        cmocka_unit_test(dc_override),            cmocka_unit_test(dc_git_checkout),
        cmocka_unit_test(dc_harness_names_commit), cmocka_unit_test(dc_budget_kept),
        cmocka_unit_test(dc_dry_run_planned),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
