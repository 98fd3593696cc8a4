/* run.c — `harness run SUITE`: load and expand the suite, open the results file, run the
 * cases into the sinks (results file, progress line, live table or JSON lines). SIGINT/
 * SIGTERM abandon the current case and close the results file as interrupted. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "casedev.h" /* issue 10 */
#include "cli.h"
#include "env.h"
#include "inputfit.h"
#include "instr.h" /* issue 22 */
#include "paths.h"
#include "runner.h"
#include "shard.h"
#include "worker.h"


static void default_out(const sono_plan *plan, char *out, size_t n)
{
    char host[128], when[32];
    sono_env_hostname(host, sizeof host);
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y%m%dT%H%M%SZ", &tm);
    mkdir("results", 0755);
    snprintf(out, n, "results/%s-%s-%s.json", plan->name, host, when);
    /* two runs in one second must not overwrite each other */
    for (int i = 2; access(out, F_OK) == 0 && i < 1000; i++)
        snprintf(out, n, "results/%s-%s-%s-%d.json", plan->name, host, when, i);
}

/* Issue 27: a file input too short for a case skips it now, with a reason naming the
 * parameter to change (so --dry-run shows it too); a longer one gets a note that only
 * its start is used, once per distinct note. Every case short: nothing would run, which
 * is the user's input, not a result: exit 2 with the reasons. */
static int check_file_lengths(sono_plan *plan)
{
    int nshort = 0;
    char (*seen)[1024] = calloc(16, sizeof *seen);
    int nseen = 0;
    for (int i = 0; i < plan->ncases; i++) {
        sono_case *c = &plan->cases[i];
        char why[1024], note[1024];
        sono_error err = {0};
        int rc = sono_input_fit(c->op, &c->p, &plan->inputs[c->input], 0, why, sizeof why,
                                note, sizeof note, &err);
        if (rc < 0) {
            fprintf(stderr, "harness run: %s\n", err.msg);
            free(seen);
            return -1;
        }
        if (rc == 1 && !c->skip[0])
            snprintf(c->skip, sizeof c->skip, "%s", why);
        nshort += rc == 1;
        const char *say = rc == 1 ? why : note;
        int dup = !say[0];
        for (int k = 0; k < nseen && !dup; k++)
            dup = strcmp(seen[k], say) == 0;
        if (!dup && seen && nseen < 16) {
            snprintf(seen[nseen++], sizeof seen[0], "%s", say);
            if (rc == 0) /* the short ones are said in the table, or below when all are */
                fprintf(stderr, "harness run: note: %s\n", say);
        }
    }
    if (plan->ncases && nshort == plan->ncases) {
        fprintf(stderr, "harness run: every case would be skipped because its input is too "
                        "short:\n");
        for (int k = 0; k < nseen; k++)
            fprintf(stderr, "  %s\n", seen[k]);
        free(seen);
        return 1;
    }
    free(seen);
    return 0;
}

/* --input: files, directories or generators given on the command line replace the
 * suite's inputs; a relative path is taken from the working directory. */
static int set_inputs(sono_plan *plan, const char *const *text, int n)
{
    sono_input_spec *specs = calloc((size_t)n, sizeof *specs);
    sono_error err = {0};
    int rc = specs ? 0 : sono_fail(&err, SONO_ENOMEM, "no memory for %d inputs", n);
    for (int i = 0; i < n && !rc; i++)
        rc = sono_input_parse(text[i], NULL, &specs[i], &err);
    if (!rc)
        rc = sono_plan_set_inputs(plan, specs, n, &err);
    if (rc)
        fprintf(stderr, "harness run: --input: %s\n", err.msg);
    free(specs);
    return rc;
}

/* issue 27: Google Benchmark's and hyperfine's users expect to set the measurement from
 * the command line; each flag, its suite key and its range (the suite file's). */
typedef struct override {
    const char *flag, *key;
    double lo, hi;
    int lo_open; /* lo itself is out of range */
    double v;    /* NAN: not given */
} override;

/* argv[*i] as one of ov: 1 (consumed, *i advanced), 0 (not one), -1 (bad value: said). */
static int override_arg(char **argv, int argc, int *i, override *ov, int n)
{
    for (int k = 0; k < n; k++) {
        if (strcmp(argv[*i], ov[k].flag) != 0)
            continue;
        char *end = NULL;
        double v = *i + 1 < argc ? strtod(argv[*i + 1], &end) : NAN;
        if (*i + 1 >= argc || end == argv[*i + 1] || *end || !(v <= ov[k].hi) ||
            (ov[k].lo_open ? !(v > ov[k].lo) : !(v >= ov[k].lo))) {
            fprintf(stderr, "harness run: %s %s: expected a number in %s%g, %g]\n", ov[k].flag,
                    *i + 1 < argc ? argv[*i + 1] : "(missing)", ov[k].lo_open ? "(" : "[",
                    ov[k].lo, ov[k].hi);
            return -1;
        }
        ov[k].v = v;
        (*i)++;
        return 1;
    }
    return 0;
}

/* The overrides given, for the results file's suite object (NULL: none). */
static json_t *overrides_json(const override *ov, int n)
{
    json_t *given = NULL;
    for (int k = 0; k < n; k++)
        if (!isnan(ov[k].v)) {
            if (!given)
                given = json_object();
            json_object_set_new(given, ov[k].key, json_real(ov[k].v));
        }
    return given;
}

/* The overrides on every case; -1 (said) when a case's timeout no longer fits. */
static int apply_overrides(sono_plan *plan, const override *ov, int n)
{
    int any = 0;
    for (int k = 0; k < n; k++) {
        if (isnan(ov[k].v))
            continue;
        any = 1;
        for (int i = 0; i < plan->ncases; i++) {
            sono_measure_cfg *g = &plan->cases[i].cfg;
            double *slot = k == 0 ? &g->budget_s : k == 1 ? &g->target_ci
                         : k == 2 ? &g->min_time_s : &g->warmup_s;
            *slot = ov[k].v;
        }
    }
    for (int i = 0; any && i < plan->ncases; i++) {
        const sono_measure_cfg *g = &plan->cases[i].cfg;
        if (g->timeout_s <= g->warmup_s + g->budget_s + g->min_time_s) {
            fprintf(stderr, "harness run: %s: timeout_s %g must exceed warmup_s + budget_s + "
                    "min_time_s (%g) after the overrides\n", plan->cases[i].id, g->timeout_s,
                    g->warmup_s + g->budget_s + g->min_time_s);
            return -1;
        }
    }
    return 0;
}

int sono_cmd_run(sono_reg *R, int argc, char **argv)
{
    const char *suite = NULL, *filters[64], *out_arg = NULL, *shard_arg = NULL;
    const char *inputs[64];
    const char *device = NULL; /* issue 10 */
    const char *format = "table";
    int repetitions = 0; /* issue 22: 0 keeps each case's own (the suite's) */
    /* issue 27: measurement settings over the suite's, for this run (NAN: the suite's) */
    override ov[] = {{"--budget-s", "budget_s", 0, 3600, 1, NAN},
                     {"--target-ci", "target_ci", 0, 1, 1, NAN},
                     {"--min-time-s", "min_time_s", 0, 3600, 0, NAN},
                     {"--warmup-s", "warmup_s", 0, 600, 0, NAN}};
    int handled;
    int dry = 0, quiet = 0, profile = 0, ninputs = 0, nfilters = 0, force = 0;
    int instructions = 0; /* issue 22: --metric instructions */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc) {
            if (nfilters == 64) {
                fprintf(stderr, "harness run: at most 64 --filter\n");
                return SONO_EXIT_USAGE;
            }
            filters[nfilters++] = argv[++i];
        }
        else if (strcmp(argv[i], "--input") == 0 && i + 1 < argc) {
            if (ninputs == 64) {
                fprintf(stderr, "harness run: at most 64 --input\n");
                return SONO_EXIT_USAGE;
            }
            inputs[ninputs++] = argv[++i];
        }
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out_arg = argv[++i];
        else if (strcmp(argv[i], "--shard") == 0 && i + 1 < argc)
            shard_arg = argv[++i];
        else if (strcmp(argv[i], "--dry-run") == 0)
            dry = 1;
        else if (strcmp(argv[i], "--quiet") == 0)
            quiet = 1;
        else if (strcmp(argv[i], "--profile") == 0)
            profile = 1;
        else if (strcmp(argv[i], "--metric") == 0 && i + 1 < argc) { /* issue 22 */
            const char *m = argv[++i];
            if (strcmp(m, "time") != 0 && strcmp(m, "instructions") != 0) {
                fprintf(stderr, "harness run: --metric %s: expected time or instructions\n", m);
                return SONO_EXIT_USAGE;
            }
            instructions = strcmp(m, "instructions") == 0;
        }
        else if (strcmp(argv[i], "--force") == 0) /* issue 27: --out may replace anything */
            force = 1;
        else if (strcmp(argv[i], "--lenient") == 0) /* issue 27: before the inputs load */
            sono_audio_set_lenient(1);
        else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) /* issue 10 */
            device = argv[++i];
        else if ((handled = override_arg(argv, argc, &i, ov, sizeof ov / sizeof ov[0])) < 0)
            return SONO_EXIT_USAGE;
        else if (handled)
            ;
        else if (strcmp(argv[i], "--repetitions") == 0 && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || end == argv[i] || v < 1 || v > 1000) {
                fprintf(stderr, "harness run: --repetitions %s: expected an integer in "
                        "[1, 1000]\n", argv[i]);
                return SONO_EXIT_USAGE;
            }
            repetitions = (int)v;
        }
        else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            format = argv[++i];
            if (strcmp(format, "table") != 0 && strcmp(format, "jsonl") != 0) {
                fprintf(stderr, "harness run: --format %s: expected table or jsonl\n", format);
                return SONO_EXIT_USAGE;
            }
        }
        else if (argv[i][0] == '-' || suite) {
            fprintf(stderr, "harness run: unexpected argument '%s'; see harness help run\n",
                    argv[i]);
            return SONO_EXIT_USAGE;
        } else
            suite = argv[i];
    }
    if (!suite) {
        fprintf(stderr, "harness run: which suite? e.g. harness run suites/quick\n");
        return SONO_EXIT_USAGE;
    }
    if (instructions && profile) {
        fprintf(stderr, "harness run: --metric instructions and --profile each decide how a "
                "case runs: choose one\n");
        return SONO_EXIT_USAGE;
    }
    sono_error err = {0};
    int shard_i = 0, shard_n = 0;
    if (shard_arg && sono_shard_parse(shard_arg, &shard_i, &shard_n, &err)) {
        fprintf(stderr, "harness run: %s\n", err.msg);
        return SONO_EXIT_USAGE;
    }
    char owhy[PATH_MAX + 200];
    if (out_arg && sono_cli_may_overwrite(out_arg, 'r', force, owhy, sizeof owhy)) {
        fprintf(stderr, "harness run: --out %s\n", owhy);
        return SONO_EXIT_USAGE;
    }
    char path[PATH_MAX];
    sono_find_suite(suite, path, sizeof path);
    sono_plan plan;
    if (sono_suite_load(path, R, &plan, &err)) {
        fprintf(stderr, "harness: %s\n", err.msg);
        return SONO_EXIT_USAGE;
    }
    if (ninputs && set_inputs(&plan, inputs, ninputs)) {
        sono_plan_free(&plan);
        return SONO_EXIT_USAGE;
    }
    /* issue 10: before the filter, so ids with device=NAME are what it matches; issue 27:
     * a name that can name no device is the user's typo, not a run that moves nothing */
    if (device && (sono_device_name_check(R, device, &err) ||
                   sono_plan_set_device(R, &plan, device, &err) < 0)) {
        fprintf(stderr, "harness run: --device %s: %s\n", device, err.msg);
        sono_plan_free(&plan);
        return SONO_EXIT_USAGE;
    }
    if (nfilters) {
        sono_plan_filter_any(&plan, filters, nfilters);
        if (plan.ncases == 0) {
            fprintf(stderr, "harness: %s: no case matches --filter '%s'%s (ids read "
                    "op/backend/impl/params/input; try --dry-run)\n", plan.file, filters[0],
                    nfilters > 1 ? " or the others" : "");
            sono_plan_free(&plan);
            return SONO_EXIT_USAGE;
        }
    }
    if (check_file_lengths(&plan)) {
        sono_plan_free(&plan);
        return SONO_EXIT_USAGE;
    }
    /* per case, so it travels to the workers with the rest of the case's settings */
    if (apply_overrides(&plan, ov, (int)(sizeof ov / sizeof ov[0]))) {
        sono_plan_free(&plan);
        return SONO_EXIT_USAGE;
    }
    for (int i = 0; i < plan.ncases; i++) {
        plan.cases[i].cfg.profile = profile;
        if (repetitions) /* issue 22: the suite's value is in the suite file beside it */
            plan.cases[i].cfg.repetitions = repetitions;
        else if (instructions) /* a count does not vary between fresh runs: one is enough,
                                  and under valgrind each costs ~50x */
            plan.cases[i].cfg.repetitions = 1;
    }
    /* issue 22: counted, not timed (harness/run/instr.h); before --dry-run, which then
     * shows the cases that cannot be counted */
    if (instructions) {
        char why[800] = "";
        int source = sono_instr_probe(why, sizeof why);
        if (source < 0 || sono_instr_prepare(&plan, source, dry ? NULL : sono_cli_self_exe(),
                                             &err)) {
            fprintf(stderr, "harness run: --metric instructions: %s\n",
                    source < 0 ? why : err.msg);
            sono_plan_free(&plan);
            return SONO_EXIT_USAGE;
        }
        fprintf(stderr, "harness: --metric instructions: counted by %s%s%s%s\n",
                source == SONO_INSTR_PERF ? "perf_event_open (user space, this thread)"
                                          : "valgrind --tool=callgrind",
                why[0] ? " (" : "", why, why[0] ? ")" : "");
    }
    /* --shard last: the parts split what would have run, filter and inputs included */
    sono_shard shard = {0};
    if (shard_arg) {
        if (sono_plan_shard(&plan, shard_i, shard_n, &shard, &err)) {
            fprintf(stderr, "harness run: %s\n", err.msg);
            sono_plan_free(&plan);
            return SONO_EXIT_USAGE;
        }
        fprintf(stderr, "harness: shard %d/%d: %d of %d cases, expected %.1f s of %.1f s\n",
                shard_i, shard_n, plan.ncases, shard.suite_cases, shard.expected_s,
                shard.suite_expected_s);
    }
    if (dry) {
        /* supports() is pure (sono.h), so a dry run can say which cases the impl itself
         * would refuse here (py/torch-cuda on a machine without a GPU), not only which
         * backends are unavailable; a device the plan could not place (issue 10) says why. */
        for (int i = 0; i < plan.ncases; i++) {
            const sono_case *c = &plan.cases[i];
            char why[256] = "";
            if (c->skip[0])
                snprintf(why, sizeof why, "%s", c->skip); /* "backend cuda unavailable: no CUDA device ..." */
            else if (c->impl->impl->supports &&
                     c->impl->impl->supports(c->impl->impl->ctx, &c->p, why, sizeof why) != 0 &&
                     !why[0])
                snprintf(why, sizeof why, "unsupported (no reason given)");
            printf("%s%s%s%s\n", c->id, why[0] ? "  (skip: " : "", why, why[0] ? ")" : "");
        }
        sono_shard_free(&shard);
        sono_plan_free(&plan);
        return SONO_EXIT_OK;
    }
    for (int i = 0; i < R->nbackends; i++)
        if (!R->backends[i].available)
            fprintf(stderr, "harness: backend %s unavailable: %s\n", R->backends[i].name,
                    R->backends[i].reason);

    char out[PATH_MAX];
    if (out_arg)
        snprintf(out, sizeof out, "%s", out_arg);
    else
        default_out(&plan, out, sizeof out);
    /* this host's ceilings from `harness calibrate`, if it was run here */
    sono_calibration cal, *calp = NULL;
    char calpath[PATH_MAX], host[256];
    sono_calibration_path(calpath, sizeof calpath);
    sono_env_hostname(host, sizeof host);
    sono_error cerr = {0};
    int crc = sono_calibration_load(calpath, host, &cal, &cerr);
    if (crc == 0)
        calp = &cal;
    else if (crc != SONO_ENOTFOUND)
        fprintf(stderr, "harness: ignoring calibration: %s\n", cerr.msg);
    json_t *env = sono_env_json(R);
    json_object_set_new(env, "calibration", calp ? sono_calibration_json(calp)
                                                 : json_pack("{s:s, s:s}", "file", calpath,
                                                             "status", "none for this host: "
                                                             "run harness calibrate"));
    json_object_set_new(env, "harness_overhead_ns",
                        json_pack("{s:f}", "cpu", sono_measure_overhead(R)));
    json_t *sj = sono_suite_json(&plan);
    json_t *given = overrides_json(ov, (int)(sizeof ov / sizeof ov[0]));
    if (given) /* the suite file (its sha256 is beside) holds the values these replaced */
        json_object_set_new(sj, "overrides", given);
    /* each op's size axis, merit and describe column, so the report needs no op names;
     * in the suite object because sono_results_open takes only suite and env */
    json_t *present = sono_ops_presentation_json(&plan);
    if (!sj || !present || json_object_set_new(sj, "ops", present) != 0) {
        fprintf(stderr, "harness: out of memory building the results' suite object\n");
        json_decref(sj);
        json_decref(env);
        sono_shard_free(&shard);
        sono_plan_free(&plan);
        if (calp)
            sono_calibration_free(calp);
        return SONO_EXIT_FAIL;
    }
    if (shard_arg) /* suite.cases is then this shard's; suite.shard says of what */
        json_object_set_new(sj, "shard", sono_shard_json(&shard));
    sono_shard_free(&shard);
    sono_results *res = NULL;
    if (sono_results_open(out, sj, env, &res, &err)) {
        fprintf(stderr, "harness: %s\n", err.msg);
        sono_plan_free(&plan);
        return SONO_EXIT_USAGE;
    }
    volatile sig_atomic_t *stop = sono_cli_catch_stop();
    fprintf(stderr, "harness: suite %s (%s): %d cases -> %s\n", plan.name, plan.file,
            plan.ncases, out);
    /* the results file first: a completed case is on disk before anyone else sees it */
    int jsonl = strcmp(format, "jsonl") == 0;
    sono_sink *sinks[3];
    int nsinks = 0;
    sinks[nsinks++] = sono_sink_results(res);
    if (!quiet && isatty(STDERR_FILENO))
        sinks[nsinks++] = sono_sink_progress(stderr);
    /* rows as they finish unless --quiet; JSON lines keep stdout for themselves */
    sinks[nsinks++] = jsonl ? sono_sink_jsonl(stdout) : sono_sink_table(stdout, !quiet);
    for (int i = 0; i < nsinks; i++)
        if (!sinks[i]) {
            fprintf(stderr, "harness: out of memory\n");
            if (!sinks[0])
                sono_results_abandon(res);
            for (int j = 0; j < nsinks; j++)
                sono_sink_free(sinks[j]);
            sono_plan_free(&plan);
            return SONO_EXIT_FAIL;
        }
    sono_run_opts o = {.sinks = sinks, .nsinks = nsinks, .stop = stop,
                       .worker_exe = sono_cli_self_exe(), .cal = calp};
    sono_run_counts n;
    int rc = sono_run_plan(&plan, &o, &n, &err);
    sono_instr_finish(); /* issue 22: valgrind's messages before the counts line */
    int write_failed = rc && rc != SONO_EINTR;
    if (write_failed)
        fprintf(stderr, "harness: %s\n", err.msg);
    fprintf(jsonl ? stderr : stdout,
            "\n%d ok, %d fail, %d skip, %d error, %d crash, %d timeout%s; results: %s\n", n.ok,
            n.fail, n.skip, n.error, n.crash, n.timeout, n.interrupted ? " (interrupted)" : "",
            out);
    for (int i = 0; i < nsinks; i++)
        sono_sink_free(sinks[i]);
    sono_plan_free(&plan);
    if (calp)
        sono_calibration_free(calp);
    if (n.interrupted)
        return SONO_EXIT_INTERRUPTED;
    return write_failed || n.fail || n.error || n.crash || n.timeout ? SONO_EXIT_FAIL
                                                                     : SONO_EXIT_OK;
}

int sono_cmd_worker(sono_reg *R, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return sono_worker_main(R);
}
