/* test_repeat.c — repetitions (issue 22): a case's record from its repetitions (median of
 * medians, the between-repetition CI, samples, metrics, status, the noisy flag) on
 * hand-made records; the run loop's round-robin order and hooks, in process; buffers at
 * random offsets; a run killed between rounds keeping its finished repetitions; and the
 * run's folder of references that later rounds read. */
#include "cli_util.h"

#include <math.h>

#include <dirent.h>

#include "buf.h"
#include "noise.h"
#include "record.h"
#include "refcache.h"
#include "registry.h"
#include "runner.h"
#include "sink.h"
#include "stats.h"
#include "suite.h"

static sono_reg rp_R;
static sono_case rp_case = {.id = "fft/cpu/radix2/n=64/noise", .impl_name = "cpu/radix2",
                            .cfg = {.target_ci = 0.02, .repetitions = 5}};

static int rp_setup(void **state)
{
    const char *b = getenv("SONO_BUILD");
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/plugins", b && *b ? b : "build");
    if (sono_reg_init(&rp_R, NULL))
        return -1;
    sono_reg_load_dir(&rp_R, dir);
    if (!sono_reg_backend(&rp_R, "cpu")) {
        fprintf(stderr, "test_repeat: no cpu plugin under %s (make all)\n", dir);
        return -1;
    }
    rp_case.op = sono_op_find("fft"); /* the record's JSON names its op */
    return cl_setup(state);
}

static int rp_teardown(void **state)
{
    sono_reg_free(&rp_R);
    return cl_teardown(state);
}


/* A measured repetition whose samples are median +- 0.1 %. */
static void rp_rep(sono_record *r, double median, const char *status, double other_cpu)
{
    memset(r, 0, sizeof *r);
    r->c = &rp_case;
    sono_record_status(r, status, strcmp(status, "ok") ? "planted" : NULL);
    r->measured = 1;
    r->m.nsamples = 11;
    r->m.samples = malloc(11 * sizeof(double));
    for (int i = 0; i < 11; i++)
        r->m.samples[i] = median * (1 + 0.001 * (i - 5) / 5.0);
    r->m.k = 3;
    r->m.converged = 1;
    r->m.stop = "converged";
    sono_summarize(r->m.samples, 11, &r->m.s);
    sono_record_metric(r, "derived.gflops", 1000.0 / median, "GFLOP/s", SONO_BETTER_HIGHER, NULL);
    sono_record_metric(r, "noise.other_cpu_pct", other_cpu, "%", SONO_BETTER_LOWER, NULL);
}

static void rp_aggregate_statistics(void **state)
{
    (void)state;
    const double med[5] = {100, 104, 98, 101, 103};
    sono_record reps[5], agg;
    for (int i = 0; i < 5; i++)
        rp_rep(&reps[i], med[i], "ok", 0);
    sono_error err = {0};
    assert_int_equal(sono_record_aggregate(reps, 5, &agg, &err), 0);
    assert_string_equal(agg.status, "ok");
    assert_true(agg.measured);
    /* the median of the medians, and the CI between them: n = 5 < 6, so min .. max */
    assert_true(agg.m.s.median == 101);
    assert_true(agg.m.s.ci_lo == 98 && agg.m.s.ci_hi == 104);
    assert_true(fabs(agg.m.s.ci_rel - 3.0 / 101) < 1e-12);
    /* every sample kept, each repetition's own figures too */
    assert_int_equal(agg.m.nsamples, 55);
    assert_int_equal(agg.nreps, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(agg.reps[i].index, i + 1);
        assert_true(fabs(agg.reps[i].m.s.median - med[i]) < 1e-9);
    }
    /* a metric is the median over repetitions: 1000/101 for the rate */
    assert_true(fabs(sono_record_value(&agg, "derived.gflops", 0) - 1000.0 / 101) < 1e-12);
    /* 3 % spread: within what fresh runs do, not noisy */
    assert_false(agg.noisy);
    json_t *j = sono_record_to_json(&agg);
    assert_string_equal(cl_str(j, "time_ns.ci_scope"), "repetitions");
    assert_int_equal(json_array_size(json_object_get(j, "repetitions")), 5);
    assert_true(json_is_false(json_object_get(j, "noisy")));
    json_decref(j);
    sono_record_free(&agg);
    for (int i = 0; i < 5; i++)
        sono_record_free(&reps[i]);
}

static void rp_aggregate_noisy_and_status(void **state)
{
    (void)state;
    sono_record reps[5], agg;
    sono_error err = {0};
    /* one repetition 30 % slow against 0.1 % within: they disagree beyond their spread */
    const double med[5] = {100, 100.5, 130, 99.5, 100};
    for (int i = 0; i < 5; i++)
        rp_rep(&reps[i], med[i], "ok", 0);
    assert_int_equal(sono_record_aggregate(reps, 5, &agg, &err), 0);
    assert_true(agg.noisy);
    assert_non_null(strstr(agg.noise_why, "spread"));
    sono_record_free(&agg);
    for (int i = 0; i < 5; i++)
        sono_record_free(&reps[i]);
    /* the medians agree, but another process held the CPUs during one repetition */
    for (int i = 0; i < 5; i++)
        rp_rep(&reps[i], 100, "ok", i == 3 ? 80.0 : 0.0);
    assert_int_equal(sono_record_aggregate(reps, 5, &agg, &err), 0);
    assert_true(agg.noisy);
    assert_non_null(strstr(agg.noise_why, "repetition 4"));
    sono_record_free(&agg);
    for (int i = 0; i < 5; i++)
        sono_record_free(&reps[i]);
    /* the first repetition that did not end ok speaks for the case */
    rp_rep(&reps[0], 100, "ok", 0);
    rp_rep(&reps[1], 100, "fail", 0);
    assert_int_equal(sono_record_aggregate(reps, 2, &agg, &err), 0);
    assert_string_equal(agg.status, "fail");
    assert_non_null(strstr(agg.message, "repetition 2 of 2: planted"));
    sono_record_free(&agg);
    for (int i = 0; i < 2; i++)
        sono_record_free(&reps[i]);
}

/* Over many simulated cases, the min..max of five repetition medians covers the true
 * median of a repetition's median 1 - 2 / 2^5 = 93.75 % of the time. */
static void rp_between_ci_coverage(void **state)
{
    (void)state;
    unsigned long long s = 12345;
    int covered = 0, trials = 4000;
    for (int t = 0; t < trials; t++) {
        sono_record reps[5], agg;
        sono_error err = {0};
        for (int i = 0; i < 5; i++) {
            double u = 0; /* sum of 12 uniforms - 6: near-normal, sd 1 */
            for (int k = 0; k < 12; k++) {
                s = s * 6364136223846793005ULL + 1442695040888963407ULL;
                u += (double)(s >> 11) / 9007199254740992.0;
            }
            rp_rep(&reps[i], 100 * (1 + 0.03 * (u - 6)), "ok", 0);
        }
        assert_int_equal(sono_record_aggregate(reps, 5, &agg, &err), 0);
        covered += agg.m.s.ci_lo <= 100 && 100 <= agg.m.s.ci_hi;
        sono_record_free(&agg);
        for (int i = 0; i < 5; i++)
            sono_record_free(&reps[i]);
    }
    double p = 0.9375, sd = sqrt(p * (1 - p) / trials), got = (double)covered / trials;
    if (fabs(got - p) > 4 * sd)
        fail_msg("coverage %.4f, expected %.4f +- %.4f", got, p, 4 * sd);
}

/* ---- the run loop ------------------------------------------------------------------------ */

typedef struct order {
    char log[8192];
    int reps, records, nreps_seen[16];
} order;

static void add(order *o, const char *s)
{
    size_t n = strlen(o->log);
    snprintf(o->log + n, sizeof o->log - n, "%s%s", n ? " " : "", s);
}

static void ord_start(sono_sink *s, const sono_run_info *run, int i)
{
    (void)run;
    char t[16];
    snprintf(t, sizeof t, "S%d", i);
    add(s->ctx, t);
}

static int ord_rep(sono_sink *s, const sono_run_info *run, const sono_record *rec,
                   sono_error *err)
{
    (void)err;
    order *o = s->ctx;
    char t[24];
    snprintf(t, sizeof t, "P%d.%d", (int)(rec->c - run->plan->cases), rec->repetition);
    add(o, t);
    o->reps++;
    return 0;
}

static int ord_record(sono_sink *s, const sono_run_info *run, const sono_record *rec,
                      sono_error *err)
{
    (void)err;
    order *o = s->ctx;
    char t[16];
    int i = (int)(rec->c - run->plan->cases);
    snprintf(t, sizeof t, "R%d", i);
    add(o, t);
    if (i < 16)
        o->nreps_seen[i] = rec->nreps;
    o->records++;
    return 0;
}

static void rp_round_robin(void **state)
{
    (void)state;
    sono_plan plan;
    sono_error err = {0};
    if (sono_suite_load(CL_DATA "/tiny.ini", &rp_R, &plan, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(plan.ncases, 4);
    for (int i = 0; i < plan.ncases; i++)
        plan.cases[i].cfg.repetitions = 3;
    order o = {0};
    sono_sink s = {.name = "order", .ctx = &o, .case_start = ord_start, .record = ord_record,
                   .repetition = ord_rep};
    sono_sink *sinks[] = {&s};
    sono_run_opts opts = {.sinks = sinks, .nsinks = 1};
    sono_run_counts n;
    assert_int_equal(sono_run_plan(&plan, &opts, &n, &err), 0);
    /* round by round over the whole plan; each case's record after its third */
    assert_string_equal(o.log,
                        "S0 P0.1 S1 P1.1 S2 P2.1 S3 P3.1 "
                        "S0 P0.2 S1 P1.2 S2 P2.2 S3 P3.2 "
                        "S0 P0.3 R0 S1 P1.3 R1 S2 P2.3 R2 S3 P3.3 R3");
    assert_int_equal(o.reps, 12);
    assert_int_equal(o.records, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(o.nreps_seen[i], 3);
    assert_int_equal(n.ok, 4);
    sono_plan_free(&plan);
}

/* A case that skips in the first round is finished at once, but its record waits for the
 * cases before it: records leave in plan order, whatever the rounds. */
static void rp_plan_order(void **state)
{
    (void)state;
    sono_plan plan;
    sono_error err = {0};
    if (sono_suite_load(CL_DATA "/tiny.ini", &rp_R, &plan, &err))
        fail_msg("%s", err.msg);
    for (int i = 0; i < plan.ncases; i++)
        plan.cases[i].cfg.repetitions = 2;
    snprintf(plan.cases[2].skip, sizeof plan.cases[2].skip, "planted skip");
    order o = {0};
    sono_sink s = {.name = "order", .ctx = &o, .case_start = ord_start, .record = ord_record,
                   .repetition = ord_rep};
    sono_sink *sinks[] = {&s};
    sono_run_opts opts = {.sinks = sinks, .nsinks = 1};
    sono_run_counts n;
    assert_int_equal(sono_run_plan(&plan, &opts, &n, &err), 0);
    assert_string_equal(o.log, "S0 P0.1 S1 P1.1 S2 P2.1 S3 P3.1 "
                               "S0 P0.2 R0 S1 P1.2 R1 R2 S3 P3.2 R3");
    assert_int_equal(n.skip, 1);
    assert_int_equal(n.ok, 3);
    sono_plan_free(&plan);
}

/* ---- buffers at random offsets ------------------------------------------------------------ */

static void rp_random_layout(void **state)
{
    (void)state;
    sono_buf b[16];
    int offsets[64] = {0}, distinct = 0;
    sono_buf_random_layout(42);
    for (int i = 0; i < 16; i++) {
        b[i] = (sono_buf){.dtype = SONO_F32, .ndim = 1, .shape = {1000}};
        assert_int_equal(sono_buf_alloc(&b[i], NULL), 0);
        uintptr_t p = (uintptr_t)b[i].data;
        assert_int_equal(p % 64, 0); /* still aligned for AVX-512 and FFTW */
        memset(b[i].data, 0xab, b[i].nbytes); /* the whole buffer is ours (asan) */
        int off = (int)((p % 4096) / 64);
        distinct += !offsets[off]++;
    }
    for (int i = 0; i < 16; i++)
        sono_buf_free(&b[i]);
    sono_buf_random_layout(0);
    assert_true(distinct >= 4); /* 16 draws from 64 offsets: all alike would be a bug */
}

/* ---- a run killed between rounds ------------------------------------------------------------ */

static void rp_killed_between_rounds(void **state)
{
    (void)state;
    char dir[PATH_MAX], out[PATH_MAX + 16], jpath[PATH_MAX + 32], tag[PATH_MAX];
    char genv[PATH_MAX + 64], penv[PATH_MAX + 32];
    cl_mkdir("repkill", dir, sizeof dir);
    snprintf(out, sizeof out, "%s/k.json", dir);
    snprintf(jpath, sizeof jpath, "%s.journal", out);
    snprintf(genv, sizeof genv, "SONO_TEST_GATE=%s/never", dir); /* never opened */
    snprintf(penv, sizeof penv, "SONO_PLUGIN_PATH=%s", cl_plugins);
    const char *set[] = {genv, penv, NULL};
    const char *argv[] = {cl_harness, "run", CL_DATA "/repgate.ini", "--out", out, "--quiet",
                          NULL};
    pid_t pid = cl_spawn(NULL, set, argv, tag, sizeof tag);
    /* n=1's first repetition journaled; n=2 then waits at the gate */
    struct timespec nap = {0, 20 * 1000 * 1000};
    int found = 0;
    for (int i = 0; i < 1000 && !found; i++) { /* 20 s */
        char *j = cl_slurp(jpath, NULL);
        found = j && strstr(j, "\"repetition_of\"") && strchr(strstr(j, "\"repetition_of\""),
                                                              '\n');
        free(j);
        if (!found)
            nanosleep(&nap, NULL);
    }
    kill(pid, SIGKILL);
    cl_res r;
    cl_collect(pid, tag, &r);
    cl_free(&r);
    assert_true(found);
    assert_int_equal(cl_h(&r, NULL, "results", "repair", out, NULL), 0);
    cl_free(&r);
    json_t *doc = cl_load(out);
    assert_true(json_is_false(cl_get(doc, "run.complete")));
    assert_int_equal(json_array_size(json_object_get(doc, "cases")), 0);
    json_t *part = json_object_get(doc, "partial_repetitions");
    assert_int_equal(json_array_size(part), 1);
    json_t *p0 = json_array_get(part, 0);
    assert_non_null(strstr(cl_str(p0, "id"), "n=1"));
    assert_true(cl_num(p0, "repetition") == 1);
    assert_true(cl_num(p0, "time_ns.median") > 0);
    json_decref(doc);
}

/* The reference folder: what is put comes back bit for bit; another key, a cut file, or
 * no folder is a miss, never a wrong reference. */
static void rp_refcache_unit(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    cl_mkdir("refcache", dir, sizeof dir);
    setenv("SONO_REF_CACHE", dir, 1);
    double a[5] = {1.5, -2.25, 3e-300, 0.1, -0.0}, b[5] = {0};
    sono_buf A = {.dtype = SONO_F64, .ndim = 1, .shape = {5}, .data = a};
    sono_buf B = A;
    B.data = b;
    assert_int_equal(sono_refcache_get("fft|n=8|abc", &B), 0); /* nothing yet */
    sono_refcache_put("fft|n=8|abc", &A);
    assert_int_equal(sono_refcache_get("fft|n=8|abc", &B), 1);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(sono_refcache_get("fft|n=8|abd", &B), 0); /* another input's hash */
    sono_buf C = A; /* a longer buffer than the file holds: the size check refuses it */
    double c[6];
    C.shape[0] = 6;
    C.data = c;
    assert_int_equal(sono_refcache_get("fft|n=8|abc", &C), 0);
    C.shape[0] = 4; /* and a shorter one: the file has bytes left over */
    assert_int_equal(sono_refcache_get("fft|n=8|abc", &C), 0);
    unsetenv("SONO_REF_CACHE");
    assert_int_equal(sono_refcache_get("fft|n=8|abc", &B), 0);
    /* the runner's side: a folder named in the environment, gone with its files after */
    char rd[512];
    sono_error e = {0};
    assert_int_equal(sono_refcache_open(rd, sizeof rd, &e), 0);
    assert_string_equal(getenv("SONO_REF_CACHE"), rd);
    sono_refcache_put("x", &A);
    sono_refcache_close(rd);
    assert_null(getenv("SONO_REF_CACHE"));
    assert_int_not_equal(access(rd, F_OK), 0);
}

/* A real run with three rounds: every repetition passes its check against the reference
 * (the later ones against the first round's copy) and no folder is left in TMPDIR. */
static void rp_refcache_run(void **state)
{
    (void)state;
    char dir[PATH_MAX], out[PATH_MAX + 16], tenv[PATH_MAX + 16];
    cl_mkdir("refcache-run", dir, sizeof dir);
    snprintf(out, sizeof out, "%s/r.json", dir);
    snprintf(tenv, sizeof tenv, "TMPDIR=%s", dir);
    const char *set[] = {tenv, NULL};
    cl_res r;
    cl_h(&r, set, "run", CL_DATA "/refcache.ini", "--out", out, "--quiet", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *doc = cl_load(out);
    json_t *cases = json_object_get(doc, "cases"), *c;
    size_t i, n = 0;
    assert_int_equal(json_array_size(cases), 2);
    json_array_foreach(cases, i, c) {
        /* a repetition whose check fails ends its case as failed (repeat.c), so three
         * repetitions and status ok mean each round passed against its reference */
        assert_int_equal(json_array_size(json_object_get(c, "repetitions")), 3);
        n += json_array_size(json_object_get(c, "repetitions"));
        assert_string_equal(cl_str(c, "status"), "ok");
        assert_true(json_is_true(cl_get(c, "check.pass")));
    }
    assert_int_equal(n, 6);
    json_decref(doc);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strncmp(e->d_name, "sono-ref.", 9) == 0)
            fail_msg("%s/%s was left behind", dir, e->d_name);
    if (d)
        closedir(d);
}

/* A child that burns CPU (as the py plugin's Python worker does the timed calls) is the
 * case's own work: its CPU time, while it runs and after it ends, counts as ours, so
 * noise.other_cpu_pct does not flag every py case noisy. */
static void rp_noise_counts_children(void **state)
{
    (void)state;
    double t0 = sono_noise_own_cpu_s();
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* burn 0.3 s of CPU, say so, then wait to be killed */
        close(fd[0]);
        struct timespec a, b;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
        volatile double x = 0;
        do {
            for (int i = 0; i < 100000; i++)
                x += i * 1e-9;
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
        } while ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9 < 0.3);
        if (write(fd[1], "d", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    close(fd[1]);
    char c;
    assert_int_equal(read(fd[0], &c, 1), 1);
    close(fd[0]);
    double live = sono_noise_own_cpu_s() - t0; /* the child still runs: /proc/PID/stat */
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    double ended = sono_noise_own_cpu_s() - t0; /* waited for: RUSAGE_CHILDREN */
    print_message("own CPU: %.3f s with the child alive, %.3f s after it ended\n", live, ended);
    assert_true(live >= 0.25);
    assert_true(ended >= 0.25);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rp_aggregate_statistics),
        cmocka_unit_test(rp_aggregate_noisy_and_status),
        cmocka_unit_test(rp_between_ci_coverage),
        cmocka_unit_test(rp_round_robin),
        cmocka_unit_test(rp_plan_order),
        cmocka_unit_test(rp_random_layout),
        cmocka_unit_test(rp_killed_between_rounds),
        cmocka_unit_test(rp_refcache_unit),
        cmocka_unit_test(rp_refcache_run),
        cmocka_unit_test(rp_noise_counts_children),
    };
    return cmocka_run_group_tests(tests, rp_setup, rp_teardown);
}
