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

/* What the command line asked for. */
typedef struct run_args {
    const char *suite, *filters[64], *out_arg, *shard_arg, *inputs[64], *device, *format;
    int nfilters, ninputs, dry, quiet, profile, force, instructions;
    int repetitions; /* issue 22: 0 keeps each case's own (the suite's) */
    override ov[4];  /* issue 27: measurement settings over the suite's (NAN: the suite's) */
} run_args;

#define NOV ((int)(sizeof ((run_args *)0)->ov / sizeof ((run_args *)0)->ov[0]))

static int usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "harness run: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    return SONO_EXIT_USAGE;
}

/* A flag with a value or a list; 1 when argv[*i] was one (consumed), 0 when not, or
 * SONO_EXIT_USAGE negated when its value is bad (said). */
static int value_flag(run_args *a, int argc, char **argv, int *i)
{
    const char *f = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    const char **list = strcmp(f, "--filter") == 0 ? a->filters
                        : strcmp(f, "--input") == 0 ? a->inputs : NULL;
    int *n = list == a->filters ? &a->nfilters : &a->ninputs;
    const char **one = strcmp(f, "--out") == 0      ? &a->out_arg
                       : strcmp(f, "--shard") == 0  ? &a->shard_arg
                       : strcmp(f, "--device") == 0 ? &a->device /* issue 10 */
                       : strcmp(f, "--format") == 0 ? &a->format
                                                    : NULL;
    int metric = strcmp(f, "--metric") == 0, reps = strcmp(f, "--repetitions") == 0;
    if (!v || !(list || one || metric || reps))
        return 0;
    (*i)++;
    if (list && *n == 64)
        return -usage("at most 64 %s", f);
    if (list)
        list[(*n)++] = v;
    else if (one)
        *one = v;
    else if (metric) { /* issue 22 */
        if (strcmp(v, "time") != 0 && strcmp(v, "instructions") != 0)
            return -usage("--metric %s: expected time or instructions", v);
        a->instructions = strcmp(v, "instructions") == 0;
    } else {
        char *end;
        long r = strtol(v, &end, 10);
        if (*end || end == v || r < 1 || r > 1000)
            return -usage("--repetitions %s: expected an integer in [1, 1000]", v);
        a->repetitions = (int)r;
    }
    if (one == &a->format && strcmp(v, "table") != 0 && strcmp(v, "jsonl") != 0)
        return -usage("--format %s: expected table or jsonl", v);
    return 1;
}

static int parse_args(int argc, char **argv, run_args *a)
{
    *a = (run_args){.format = "table",
                    .ov = {{"--budget-s", "budget_s", 0, 3600, 1, NAN},
                           {"--target-ci", "target_ci", 0, 1, 1, NAN},
                           {"--min-time-s", "min_time_s", 0, 3600, 0, NAN},
                           {"--warmup-s", "warmup_s", 0, 600, 0, NAN}}};
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        int h;
        int *flag = strcmp(f, "--dry-run") == 0   ? &a->dry
                    : strcmp(f, "--quiet") == 0   ? &a->quiet
                    : strcmp(f, "--profile") == 0 ? &a->profile
                    : strcmp(f, "--force") == 0   ? &a->force /* issue 27: --out may replace */
                                                  : NULL;
        if (flag)
            *flag = 1;
        else if (strcmp(f, "--lenient") == 0) /* issue 27: before the inputs load */
            sono_audio_set_lenient(1);
        else if ((h = value_flag(a, argc, argv, &i)) || (h = override_arg(argv, argc, &i, a->ov,
                                                                           NOV))) {
            if (h < 0)
                return SONO_EXIT_USAGE;
        } else if (f[0] == '-' || a->suite)
            return usage("unexpected argument '%s'; see harness help run", f);
        else
            a->suite = f;
    }
    if (!a->suite)
        return usage("which suite? e.g. harness run suites/quick%s", "");
    if (a->instructions && a->profile)
        return usage("--metric instructions and --profile each decide how a case runs: "
                     "choose one%s", "");
    return SONO_EXIT_OK;
}

/* The per-case settings of this run: overrides, --profile, repetitions, counting. */
static int set_case_options(const run_args *a, sono_plan *plan, sono_error *err)
{
    if (apply_overrides(plan, a->ov, NOV))
        return SONO_EXIT_USAGE;
    /* per case, so it travels to the workers with the rest of the case's settings */
    for (int i = 0; i < plan->ncases; i++) {
        plan->cases[i].cfg.profile = a->profile;
        if (a->repetitions) /* issue 22: the suite's value is in the suite file beside it */
            plan->cases[i].cfg.repetitions = a->repetitions;
        else if (a->instructions) /* a count does not vary between fresh runs: one is
                                     enough, and under valgrind each costs ~50x */
            plan->cases[i].cfg.repetitions = 1;
    }
    if (!a->instructions)
        return SONO_EXIT_OK;
    /* issue 22: counted, not timed (harness/run/instr.h); before --dry-run, which then
     * shows the cases that cannot be counted */
    char why[800] = "";
    int source = sono_instr_probe(why, sizeof why);
    if (source < 0 ||
        sono_instr_prepare(plan, source, a->dry ? NULL : sono_cli_self_exe(), err)) {
        fprintf(stderr, "harness run: --metric instructions: %s\n", source < 0 ? why : err->msg);
        return SONO_EXIT_USAGE;
    }
    fprintf(stderr, "harness: --metric instructions: counted by %s%s%s%s\n",
            source == SONO_INSTR_PERF ? "perf_event_open (user space, this thread)"
                                      : "valgrind --tool=callgrind",
            why[0] ? " (" : "", why, why[0] ? ")" : "");
    return SONO_EXIT_OK;
}

/* The suite as the command line narrows it: inputs, device, filters, lengths, the
 * per-case options, the shard (last: the parts split what would have run). */
static int build_plan(sono_reg *R, const run_args *a, sono_plan *plan, sono_shard *shard)
{
    sono_error err = {0};
    char path[PATH_MAX];
    sono_find_suite(a->suite, path, sizeof path);
    if (sono_suite_load(path, R, plan, &err)) {
        fprintf(stderr, "harness: %s\n", err.msg);
        return SONO_EXIT_USAGE;
    }
    int rc = a->ninputs && set_inputs(plan, a->inputs, a->ninputs) ? SONO_EXIT_USAGE : 0;
    /* issue 10: before the filter, so ids with device=NAME are what it matches; issue 27:
     * a name that can name no device is the user's typo, not a run that moves nothing */
    if (!rc && a->device && (sono_device_name_check(R, a->device, &err) ||
                             sono_plan_set_device(R, plan, a->device, &err) < 0)) {
        fprintf(stderr, "harness run: --device %s: %s\n", a->device, err.msg);
        rc = SONO_EXIT_USAGE;
    }
    if (!rc && a->nfilters) {
        sono_plan_filter_any(plan, a->filters, a->nfilters);
        if (plan->ncases == 0) {
            fprintf(stderr, "harness: %s: no case matches --filter '%s'%s (ids read "
                    "op/backend/impl/params/input; try --dry-run)\n", plan->file, a->filters[0],
                    a->nfilters > 1 ? " or the others" : "");
            rc = SONO_EXIT_USAGE;
        }
    }
    if (!rc && check_file_lengths(plan))
        rc = SONO_EXIT_USAGE;
    if (!rc)
        rc = set_case_options(a, plan, &err);
    int shard_i = 0, shard_n = 0;
    if (!rc && a->shard_arg && (sono_shard_parse(a->shard_arg, &shard_i, &shard_n, &err) ||
                                sono_plan_shard(plan, shard_i, shard_n, shard, &err))) {
        fprintf(stderr, "harness run: %s\n", err.msg);
        rc = SONO_EXIT_USAGE;
    } else if (!rc && a->shard_arg)
        fprintf(stderr, "harness: shard %d/%d: %d of %d cases, expected %.1f s of %.1f s\n",
                shard_i, shard_n, plan->ncases, shard->suite_cases, shard->expected_s,
                shard->suite_expected_s);
    if (rc)
        sono_plan_free(plan);
    return rc;
}

/* supports() is pure (sono.h), so a dry run can say which cases the impl itself would
 * refuse here (py/torch-cuda on a machine without a GPU), not only which backends are
 * unavailable; a device the plan could not place (issue 10) says why. */
static void dry_run(const sono_plan *plan)
{
    for (int i = 0; i < plan->ncases; i++) {
        const sono_case *c = &plan->cases[i];
        char why[512] = "";
        if (c->skip[0])
            snprintf(why, sizeof why, "%s", c->skip); /* "backend cuda unavailable: ..." */
        else if (c->impl->impl->supports &&
                 c->impl->impl->supports(c->impl->impl->ctx, &c->p, why, sizeof why) != 0 &&
                 !why[0])
            snprintf(why, sizeof why, "unsupported (no reason given)");
        printf("%s%s%s%s\n", c->id, why[0] ? "  (skip: " : "", why, why[0] ? ")" : "");
    }
}

/* The results file's env: the machine, this host's calibration if `harness calibrate` ran
 * here (*calp then owns it), the harness's own overhead per call. */
static json_t *run_env(sono_reg *R, sono_calibration *cal, sono_calibration **calp)
{
    char calpath[PATH_MAX], host[256];
    sono_calibration_path(calpath, sizeof calpath);
    sono_env_hostname(host, sizeof host);
    sono_error cerr = {0};
    int crc = sono_calibration_load(calpath, host, cal, &cerr);
    *calp = crc == 0 ? cal : NULL;
    if (crc != 0 && crc != SONO_ENOTFOUND)
        fprintf(stderr, "harness: ignoring calibration: %s\n", cerr.msg);
    json_t *env = sono_env_json(R);
    json_object_set_new(env, "calibration", *calp ? sono_calibration_json(*calp)
                                                  : json_pack("{s:s, s:s}", "file", calpath,
                                                              "status", "none for this host: "
                                                              "run harness calibrate"));
    json_object_set_new(env, "harness_overhead_ns",
                        json_pack("{s:f}", "cpu", sono_measure_overhead(R)));
    return env;
}

/* The results file's suite object: the plan, the overrides, each op's presentation (so
 * the report needs no op names), the shard. NULL when out of memory. */
static json_t *run_suite(const run_args *a, const sono_plan *plan, const sono_shard *shard)
{
    json_t *sj = sono_suite_json(plan);
    json_t *given = overrides_json(a->ov, NOV);
    if (sj && given) /* the suite file (its sha256 is beside) holds the values replaced */
        json_object_set_new(sj, "overrides", given);
    else
        json_decref(given);
    json_t *present = sono_ops_presentation_json(plan);
    if (!sj || !present || json_object_set_new(sj, "ops", present) != 0) {
        json_decref(sj);
        return NULL;
    }
    if (a->shard_arg) /* suite.cases is then this shard's; suite.shard says of what */
        json_object_set_new(sj, "shard", sono_shard_json(shard));
    return sj;
}

/* The run into its sinks: the results file first (a completed case is on disk before
 * anyone else sees it), the progress line on a terminal, then the live table or JSON
 * lines. Returns the exit status. */
static int run_sinks(const run_args *a, const sono_plan *plan, sono_results *res,
                     const char *out, const sono_calibration *cal)
{
    int jsonl = strcmp(a->format, "jsonl") == 0, nsinks = 0;
    sono_sink *sinks[3];
    sinks[nsinks++] = sono_sink_results(res);
    if (!a->quiet && isatty(STDERR_FILENO))
        sinks[nsinks++] = sono_sink_progress(stderr);
    /* rows as they finish unless --quiet; JSON lines keep stdout for themselves */
    sinks[nsinks++] = jsonl ? sono_sink_jsonl(stdout) : sono_sink_table(stdout, !a->quiet);
    int missing = 0;
    for (int i = 0; i < nsinks; i++)
        missing |= !sinks[i];
    if (missing) {
        fprintf(stderr, "harness: out of memory\n");
        if (!sinks[0])
            sono_results_abandon(res);
        for (int j = 0; j < nsinks; j++)
            sono_sink_free(sinks[j]);
        return SONO_EXIT_FAIL;
    }
    sono_run_opts o = {.sinks = sinks, .nsinks = nsinks, .stop = sono_cli_catch_stop(),
                       .worker_exe = sono_cli_self_exe(), .cal = cal};
    sono_run_counts n;
    sono_error err = {0};
    int rc = sono_run_plan(plan, &o, &n, &err);
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
    if (n.interrupted)
        return SONO_EXIT_INTERRUPTED;
    return write_failed || n.fail || n.error || n.crash || n.timeout ? SONO_EXIT_FAIL
                                                                     : SONO_EXIT_OK;
}

int sono_cmd_run(sono_reg *R, int argc, char **argv)
{
    run_args a;
    int rc = parse_args(argc, argv, &a);
    char owhy[PATH_MAX + 200];
    if (!rc && a.out_arg && sono_cli_may_overwrite(a.out_arg, 'r', a.force, owhy, sizeof owhy))
        rc = usage("--out %s", owhy);
    sono_plan plan;
    sono_shard shard = {0};
    if (rc || (rc = build_plan(R, &a, &plan, &shard)))
        return rc;
    if (a.dry) {
        dry_run(&plan);
        sono_shard_free(&shard);
        sono_plan_free(&plan);
        return SONO_EXIT_OK;
    }
    for (int i = 0; i < R->nbackends; i++)
        if (!R->backends[i].available)
            fprintf(stderr, "harness: backend %s unavailable: %s\n", R->backends[i].name,
                    R->backends[i].reason);
    char out[PATH_MAX];
    if (a.out_arg)
        snprintf(out, sizeof out, "%s", a.out_arg);
    else
        default_out(&plan, out, sizeof out);
    sono_calibration cal, *calp = NULL;
    json_t *env = run_env(R, &cal, &calp), *sj = run_suite(&a, &plan, &shard);
    sono_shard_free(&shard);
    sono_results *res = NULL;
    sono_error err = {0};
    if (!sj) {
        fprintf(stderr, "harness: out of memory building the results' suite object\n");
        json_decref(env);
        rc = SONO_EXIT_FAIL;
    } else if (sono_results_open(out, sj, env, &res, &err)) {
        fprintf(stderr, "harness: %s\n", err.msg);
        rc = SONO_EXIT_USAGE;
    } else {
        fprintf(stderr, "harness: suite %s (%s): %d cases -> %s\n", plan.name, plan.file,
                plan.ncases, out);
        rc = run_sinks(&a, &plan, res, out, calp);
    }
    sono_plan_free(&plan);
    if (calp)
        sono_calibration_free(calp);
    return rc;
}

int sono_cmd_worker(sono_reg *R, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return sono_worker_main(R);
}
