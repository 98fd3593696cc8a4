/* test_fleet.c — `harness fleet` and `run --shard` (issue 13) without a cluster: collect on
 * synthetic shard files (complete, missing shard, mismatched commit, overlap), status and
 * --retry against stand-in squeue/sacct/scontrol/sbatch scripts put first on PATH, submit's
 * script and manifest, and a real sharded run recording suite.shard. The live single-node
 * Slurm test is tests/fleet_live.sh (make test-fleet). */
#include "cli_util.h"

#include "sha256.h"

static char fl_path[PATH_MAX + 64]; /* PATH=<tmp>/bin:/usr/bin:/bin */

/* A stand-in for a Slurm command: a shell script printing text (and logging its args). */
static void fake(const char *name, const char *body)
{
    char dir[PATH_MAX], p[PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/bin", cl_tmp);
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\necho \"$0 $*\" >> %s/calls.log\n%s\n", cl_tmp, body);
    fclose(f);
    assert_int_equal(chmod(p, 0755), 0);
    snprintf(fl_path, sizeof fl_path, "PATH=%s:/usr/bin:/bin", dir);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The synthetic suite file's sha256: 64 hex digits like a real one, as the merged files
 * are validated against harness/schema/results-1.json (tests/validate_results.py). */
#define SYN_SUITE_SHA "abc1230000000000000000000000000000000000000000000000000000000000"

/* sha256 of the ids, sorted, one per line: the digest a shard records, built here. */
static void ids_digest(const char **ids, int n, char hex[65])
{
    const char *s[64];
    memcpy(s, ids, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_str);
    char buf[4096] = "";
    for (int i = 0; i < n; i++)
        strcat(strcat(buf, s[i]), "\n");
    sono_sha256_hex(buf, strlen(buf), hex);
}

static const char *const ids7[] = {"fft/cpu/a/n=64/noise", "fft/cpu/b/n=64/noise",
                                   "fft/cpu/a/n=128/noise", "fft/cpu/b/n=128/noise",
                                   "rfft/cpu/a/n=64/noise", "rfft/cpu/b/n=64/noise",
                                   "nop/cpu/nop/n=1/noise"};

/* dir/NAME-INDEX.json: shard index of count holding the suite cases at positions pos[]. */
static void shard_file(const char *dir, const char *name, int index, int count,
                       const int *pos, int npos, const char *git, const char *host)
{
    char hex[65], path[PATH_MAX];
    ids_digest((const char **)ids7, 7, hex);
    json_t *positions = json_array(), *cases = json_array();
    for (int i = 0; i < npos; i++) {
        json_array_append_new(positions, json_integer(pos[i]));
        json_array_append_new(cases, json_pack("{s:s, s:s, s:s, s:{}, s:s, s:{s:f, s:[f]}}",
                                               "id", ids7[pos[i]], "op", "fft", "impl",
                                               "cpu/a", "params", "status", "ok", "time_ns",
                                               "median", 100.0 + pos[i], "samples",
                                               100.0 + pos[i]));
    }
    json_t *doc = json_pack(
        "{s:s, s:{s:s, s:s, s:s, s:i, s:{s:i, s:i, s:i, s:s, s:o}}, "
        "s:{s:s, s:s, s:{s:s}, s:s, s:{}}, s:{s:s, s:s, s:b, s:b}, s:o}",
        "schema", "sonobench.results/1", "suite", "name", "syn", "file", "/x/syn.ini",
        "sha256", SYN_SUITE_SHA, "cases", npos, "shard", "index", index, "count", count,
        "suite_cases", 7, "ids_sha256", hex, "positions", positions, "env", "host", host,
        "git", git, "cpu", "model", "Synthetic CPU", "kernel", "6.1", "backends", "run",
        "started", index == 2 ? "2026-01-01T00:00:01Z" : "2026-01-01T00:00:05Z",
        "finished", index == 2 ? "2026-01-01T00:01:09Z" : "2026-01-01T00:01:00Z",
        "complete", 1, "interrupted", 0, "cases", cases);
    assert_non_null(doc);
    snprintf(path, sizeof path, "%s/%s-%d.json", dir, name, index);
    assert_int_equal(json_dump_file(doc, path, 0), 0);
    json_decref(doc);
}

/* The three shards of syn-hostA-cpu: {0,3,6}, {1,4}, {2,5}. */
static void three_shards(const char *dir, int skip, const char *git2)
{
    const int p1[] = {0, 3, 6}, p2[] = {1, 4}, p3[] = {2, 5};
    if (skip != 1)
        shard_file(dir, "syn-hostA-cpu", 1, 3, p1, 3, "abc", "hostA");
    if (skip != 2)
        shard_file(dir, "syn-hostA-cpu", 2, 3, p2, 2, git2 ? git2 : "abc", "hostA");
    if (skip != 3)
        shard_file(dir, "syn-hostA-cpu", 3, 3, p3, 2, "abc", "hostA");
}

static void manifest(const char *dir, const char *job)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/fleet.json", dir);
    json_t *m = json_pack("{s:s, s:{s:s, s:s, s:s, s:i}, s:i, s:s, s:s, s:s, s:[{s:s, s:[sss]}]}",
                          "schema", "sonobench.fleet/1", "suite", "name", "syn", "file",
                          "/x/syn.ini", "sha256", SYN_SUITE_SHA, "cases", 7, "shards", 3,
                          "harness", "/x/harness", "commit", "abc", "script", "/x/s.sbatch",
                          "targets", "name", "hostA", "jobs", job, job, job);
    assert_int_equal(json_dump_file(m, path, 0), 0);
    json_decref(m);
    char logs[PATH_MAX];
    snprintf(logs, sizeof logs, "%s/logs", dir);
    mkdir(logs, 0755);
    for (int k = 0; k < 3; k++) { /* what the sbatch script's first line says */
        snprintf(path, sizeof path, "%s/logs/%s_%d.out", dir, job, k);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "sonobench fleet: shard %d/3 on hostA (cpu) -> %s/syn-hostA-cpu-%d.json\n",
                k + 1, dir, k + 1);
        fclose(f);
    }
}

static void test_collect_complete(void **state)
{
    (void)state;
    char dir[PATH_MAX], out[PATH_MAX], merged[PATH_MAX + 32];
    cl_mkdir("complete", dir, sizeof dir);
    snprintf(out, sizeof out, "%s/merged", cl_tmp);
    three_shards(dir, 0, NULL);
    const int q[] = {0, 1, 2, 3, 4, 5, 6}; /* another machine, in one shard */
    shard_file(dir, "syn-hostB-nvidia-h100", 1, 1, q, 7, "abc", "hostB");
    cl_res r;
    cl_h(&r, NULL, "fleet", "collect", dir, "-o", out, NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "syn-hostA-cpu: 3 of 3 shards"));
    snprintf(merged, sizeof merged, "%s/syn-hostA-cpu.json", out);
    json_t *d = cl_load(merged);
    json_t *cases = json_object_get(d, "cases");
    assert_int_equal(json_array_size(cases), 7);
    for (int i = 0; i < 7; i++) /* the suite's order, from the positions */
        assert_string_equal(cl_str(json_array_get(cases, (size_t)i), "id"), ids7[i]);
    assert_int_equal((int)cl_num(d, "suite.cases"), 7);
    assert_null(cl_get(d, "suite.shard"));
    assert_int_equal((int)cl_num(d, "run.counts.ok"), 7);
    assert_true(json_is_true(cl_get(d, "run.complete")));
    assert_string_equal(cl_str(d, "run.started"), "2026-01-01T00:00:01Z");
    assert_string_equal(cl_str(d, "run.finished"), "2026-01-01T00:01:09Z");
    assert_int_equal((int)cl_num(d, "fleet.shards"), 3);
    json_decref(d);
    snprintf(merged, sizeof merged, "%s/syn-hostB-nvidia-h100.json", out);
    assert_true(cl_exists(merged));
    cl_free(&r);
    /* an ordinary results file: compare reads the merged files */
    char a[PATH_MAX + 32];
    snprintf(a, sizeof a, "%s/syn-hostA-cpu.json", out);
    cl_h(&r, NULL, "compare", a, merged, NULL);
    assert_true(r.code == 0 || r.code == 1);
    cl_free(&r);
}

static void test_collect_missing_shard(void **state)
{
    (void)state;
    char dir[PATH_MAX], out[PATH_MAX];
    cl_mkdir("missing", dir, sizeof dir);
    snprintf(out, sizeof out, "%s/merged-missing", cl_tmp);
    three_shards(dir, 2, NULL);
    manifest(dir, "77");
    /* Slurm's word on job 77: accounting says task 1 timed out */
    fake("squeue", "exit 0");
    fake("sacct", "echo '77_0|COMPLETED'; echo '77_1|TIMEOUT'; echo '77_2|COMPLETED'");
    fake("scontrol", "exit 1");
    const char *env[] = {fl_path, NULL};
    cl_res r;
    cl_h(&r, env, "fleet", "collect", dir, "-o", out, NULL);
    cl_expect_code(&r, 2);
    char line[1024], log[PATH_MAX + 32];
    assert_true(cl_line_with(r.out, line, sizeof line, "shard 2/3 missing", "syn-hostA-cpu"));
    snprintf(log, sizeof log, "%s/logs/77_1.out", dir);
    assert_true(cl_line_with3(r.out, line, sizeof line, "shard 2/3 (job 77_1)", "TIMEOUT", log));
    assert_non_null(strstr(r.err, "shard 2/3 missing"));
    snprintf(log, sizeof log, "%s/syn-hostA-cpu.json", out);
    assert_false(cl_exists(log));
    cl_free(&r);

    /* status: the same words per task */
    cl_h(&r, env, "fleet", "status", dir, NULL);
    cl_expect_code(&r, 0);
    assert_true(cl_line_with3(r.out, line, sizeof line, "2/3", "failed", "TIMEOUT"));
    assert_true(cl_line_with3(r.out, line, sizeof line, "1/3", "done", "COMPLETED"));
    assert_non_null(strstr(r.out, "0 pending, 0 running, 2 done, 1 failed, 0 unknown"));
    cl_free(&r);

    /* --retry resubmits shard 2 alone (array index 1), on the stand-in sbatch */
    fake("sbatch", "echo '91;cluster'");
    cl_h(&r, env, "fleet", "submit", "--retry", dir, NULL);
    cl_expect_code(&r, 0);
    assert_string_equal(r.out, "91\n");
    cl_free(&r);
    char calls[PATH_MAX];
    snprintf(calls, sizeof calls, "%s/calls.log", cl_tmp);
    char *c = cl_slurp(calls, NULL);
    assert_true(cl_line_with3(c, line, sizeof line, "sbatch", "--parsable", "--array=1 "));
    free(c);
    json_t *m;
    char mp[PATH_MAX + 16];
    snprintf(mp, sizeof mp, "%s/fleet.json", dir);
    m = cl_load(mp);
    json_t *jobs = json_object_get(json_array_get(json_object_get(m, "targets"), 0), "jobs");
    assert_string_equal(json_string_value(json_array_get(jobs, 0)), "77");
    assert_string_equal(json_string_value(json_array_get(jobs, 1)), "91");
    assert_string_equal(json_string_value(json_array_get(jobs, 2)), "77");
    json_decref(m);
}

static void test_collect_mismatched_commit(void **state)
{
    (void)state;
    char dir[PATH_MAX], out[PATH_MAX];
    cl_mkdir("commit", dir, sizeof dir);
    snprintf(out, sizeof out, "%s/merged-commit", cl_tmp);
    three_shards(dir, 0, "def");
    cl_res r;
    cl_h(&r, NULL, "fleet", "collect", dir, "-o", out, NULL);
    cl_expect_code(&r, 2);
    char line[1024];
    assert_true(cl_line_with3(r.err, line, sizeof line, "commit abc", "commit def",
                              "one build"));
    assert_non_null(strstr(line, "syn-hostA-cpu-2.json"));
    cl_free(&r);
}

/* Two shards claiming one case, a shard from another suite file: named, exit 2. */
static void test_collect_overlap(void **state)
{
    (void)state;
    char dir[PATH_MAX], out[PATH_MAX];
    cl_mkdir("overlap", dir, sizeof dir);
    snprintf(out, sizeof out, "%s/merged-overlap", cl_tmp);
    const int p1[] = {0, 1, 2, 3}, p2[] = {3, 4, 5, 6};
    shard_file(dir, "syn-h-cpu", 1, 2, p1, 4, "abc", "h");
    shard_file(dir, "syn-h-cpu", 2, 2, p2, 4, "abc", "h");
    cl_res r;
    cl_h(&r, NULL, "fleet", "collect", dir, "-o", out, NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.out, "taken twice"));
    cl_free(&r);
    cl_h(&r, NULL, "fleet", "collect", "/nonexistent-fleet", "-o", out, NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "/nonexistent-fleet"));
    cl_free(&r);
}

static void test_status_states(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    cl_mkdir("status", dir, sizeof dir);
    manifest(dir, "55");
    const int p1[] = {0, 3, 6};
    shard_file(dir, "syn-hostA-cpu", 1, 3, p1, 3, "abc", "hostA");
    /* squeue lists a running task and the pending rest of the array in one line */
    fake("squeue", "echo '55_1|RUNNING'; echo '55_[2]|PENDING'");
    fake("sacct", "echo 'Slurm accounting storage is disabled' >&2; exit 1");
    fake("scontrol", "echo 'JobId=56 ArrayJobId=55 ArrayTaskId=0 JobName=x JobState=COMPLETED "
                     "Reason=None'");
    const char *env[] = {fl_path, NULL};
    cl_res r;
    cl_h(&r, env, "fleet", "status", dir, NULL);
    cl_expect_code(&r, 0);
    char line[1024];
    assert_true(cl_line_with3(r.out, line, sizeof line, "55_0", "done", "COMPLETED"));
    assert_true(cl_line_with3(r.out, line, sizeof line, "55_1", "running", "RUNNING"));
    assert_true(cl_line_with3(r.out, line, sizeof line, "55_2", "pending", "PENDING"));
    assert_non_null(strstr(r.out, "1 pending, 1 running, 1 done, 0 failed, 0 unknown"));
    cl_free(&r);
    /* --retry leaves queued, running and done shards alone */
    fake("sbatch", "echo 99");
    cl_h(&r, env, "fleet", "submit", "--retry", dir, NULL);
    cl_expect_code(&r, 0);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "nothing to retry"));
    cl_free(&r);
    cl_h(&r, NULL, "fleet", "status", "/nonexistent-fleet", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "/nonexistent-fleet/fleet.json"));
    cl_free(&r);
}

static void test_submit(void **state)
{
    (void)state;
    char dir[PATH_MAX], line[1024];
    snprintf(dir, sizeof dir, "%s/sub", cl_tmp);
    cl_res r;
    /* --dry-run: the script and the sbatch lines, one per node; nothing written */
    cl_h(&r, NULL, "fleet", "submit", "suites/quick", "--shards", "3", "--nodes", "a,b",
         "--partition", "gpu", "--gres", "gpu:h100:1", "--out", dir, "--dry-run", NULL);
    cl_expect_code(&r, 0);
    assert_true(cl_line_with(r.out, line, sizeof line, "#SBATCH --output=", "/logs/%A_%a.out"));
    assert_non_null(strstr(r.out, "#SBATCH --partition=gpu\n"));
    assert_non_null(strstr(r.out, "#SBATCH --gres=gpu:h100:1\n"));
    assert_non_null(strstr(r.out, "#SBATCH --exclusive\n"));
    assert_non_null(strstr(r.out, "SHARDS=3\n"));
    assert_non_null(strstr(r.out, "--shard \"$shard/$SHARDS\""));
    assert_true(cl_line_with(r.out, line, sizeof line, "would run: sbatch --parsable "
                             "--array=0-2 --nodelist=a", "quick-fleet.sbatch"));
    assert_true(cl_line_with(r.out, line, sizeof line, "--array=0-2 --nodelist=b", "sbatch"));
    assert_false(cl_exists(dir));
    cl_free(&r);

    /* for real, on the stand-in sbatch */
    fake("sbatch", "echo 4242");
    const char *env[] = {fl_path, NULL};
    cl_h(&r, env, "fleet", "submit", "suites/quick", "--shards", "2", "--out", dir, NULL);
    cl_expect_code(&r, 0);
    assert_string_equal(r.out, "4242\n");
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/quick-fleet.sbatch", dir);
    assert_true(cl_exists(p));
    const char *bash_n[] = {"bash", "-n", p, NULL};
    cl_res b;
    assert_int_equal(cl_run(NULL, NULL, bash_n, &b), 0); /* the script parses */
    cl_free(&b);
    snprintf(p, sizeof p, "%s/fleet.json", dir);
    json_t *m = cl_load(p);
    assert_int_equal((int)cl_num(m, "shards"), 2);
    assert_true(cl_is_hex64(cl_str(m, "suite.sha256")));
    assert_string_equal(cl_str(m, "suite.name"), "quick");
    assert_string_equal(cl_str(m, "harness"), cl_harness);
    json_t *jobs = json_object_get(json_array_get(json_object_get(m, "targets"), 0), "jobs");
    assert_string_equal(json_string_value(json_array_get(jobs, 1)), "4242");
    json_decref(m);
    cl_free(&r);
    /* a second submit into the same folder is refused */
    cl_h(&r, env, "fleet", "submit", "suites/quick", "--out", dir, NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "--retry"));
    cl_free(&r);
    /* sbatch refusing: exit 1 with its words */
    fake("sbatch", "echo 'sbatch: error: invalid partition' >&2; exit 1");
    snprintf(p, sizeof p, "%s/sub2", cl_tmp);
    cl_h(&r, env, "fleet", "submit", "suites/quick", "--out", p, NULL);
    cl_expect_code(&r, 1);
    assert_non_null(strstr(r.err, "invalid partition"));
    cl_free(&r);
    cl_h(&r, NULL, "fleet", "submit", "suites/quick", "--shards", "0", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "--shards"));
    cl_free(&r);
}

/* A real sharded run: suite.shard recorded, the two parts together the suite. */
static void test_run_shard(void **state)
{
    (void)state;
    char o1[PATH_MAX], o2[PATH_MAX];
    snprintf(o1, sizeof o1, "%s/s1.json", cl_tmp);
    snprintf(o2, sizeof o2, "%s/s2.json", cl_tmp);
    cl_res r;
    cl_h(&r, NULL, "run", "suites/quick", "--filter", "nop/*", "--shard", "1/2", "--out", o1,
         NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    cl_h(&r, NULL, "run", "suites/quick", "--filter", "nop/*", "--shard", "2/2", "--out", o2,
         NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *a = cl_load(o1), *b = cl_load(o2);
    assert_int_equal((int)cl_num(a, "suite.shard.index"), 1);
    assert_int_equal((int)cl_num(b, "suite.shard.index"), 2);
    assert_int_equal((int)cl_num(a, "suite.shard.count"), 2);
    assert_int_equal((int)cl_num(a, "suite.shard.suite_cases"), 2); /* cpu/nop, template/copy */
    assert_string_equal(cl_str(a, "suite.shard.ids_sha256"), cl_str(b, "suite.shard.ids_sha256"));
    assert_int_equal(json_array_size(json_object_get(a, "cases")), 1);
    assert_int_equal(json_array_size(json_object_get(b, "cases")), 1);
    const char *ia = cl_str(json_array_get(json_object_get(a, "cases"), 0), "id");
    const char *ib = cl_str(json_array_get(json_object_get(b, "cases"), 0), "id");
    const char *ids[2] = {ia, ib};
    char hex[65];
    ids_digest(ids, 2, hex);
    assert_string_equal(hex, cl_str(a, "suite.shard.ids_sha256"));
    json_decref(a);
    json_decref(b);
    /* compare still reads shard files */
    cl_h(&r, NULL, "compare", o1, o1, NULL);
    assert_true(r.code == 0 || r.code == 1);
    cl_free(&r);
    cl_h(&r, NULL, "run", "suites/quick", "--shard", "3/2", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "--shard '3/2'"));
    cl_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collect_complete),
        cmocka_unit_test(test_collect_missing_shard),
        cmocka_unit_test(test_collect_mismatched_commit),
        cmocka_unit_test(test_collect_overlap),
        cmocka_unit_test(test_status_states),
        cmocka_unit_test(test_submit),
        cmocka_unit_test(test_run_shard),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
