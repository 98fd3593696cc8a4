/* run.c — `harness run SUITE`: load and expand the suite, open the results file, run the
 * cases into the sinks (results file, progress line, live table or JSON lines). SIGINT/
 * SIGTERM abandon the current case and close the results file as interrupted. Its options,
 * plan-making and results objects are shared with `harness ab` (runargs.h). */
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
#include "instr.h"
#include "params.h"
#include "paths.h"
#include "runargs.h"
#include "runner.h"
#include "shard.h"
#include "worker.h"


void sono_run_default_out(const sono_plan *plan, const char *tag, char *out, size_t n)
{
    char host[128], when[32];
    sono_env_hostname(host, sizeof host);
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y%m%dT%H%M%SZ", &tm);
    mkdir("results", 0755);
    const char *dash = tag && *tag ? "-" : "";
    tag = tag ? tag : "";
    snprintf(out, n, "results/%s-%s-%s%s%s.json", plan->name, host, when, dash, tag);
    /* two runs in one second must not overwrite each other */
    for (int i = 2; access(out, F_OK) == 0 && i < 1000; i++)
        snprintf(out, n, "results/%s-%s-%s%s%s-%d.json", plan->name, host, when, dash, tag, i);
}

/* Issue 27: a file input too short for a case skips it now, with a reason naming the
 * parameter to change (so --dry-run shows it too); a longer one gets a note that only
 * its start is used, once per distinct note. Every case short: nothing would run, which
 * is the user's input, not a result: exit 2 with the reasons. */
static int check_file_lengths(const char *cmd, sono_plan *plan)
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
            fprintf(stderr, "harness %s: %s\n", cmd, err.msg);
            free(seen);
            return -1;
        }
        if (rc == 1 && !c->skip[0])
            snprintf(c->skip, sizeof c->skip, "%s", why);
        /* issue 27: seconds = all says what it became, not the hundredth it rounded off */
        if (rc == 0 && c->seconds_all) {
            sono_params q = c->p; /* shallow: asked again, for the note alone */
            for (int k = 0; k < q.count; k++)
                if (strcmp(q.v[k].name, "seconds") == 0)
                    q.v[k].r = SONO_SECONDS_ALL;
            if (sono_input_resolve_all(c->op, &q, &plan->inputs[c->input], note, sizeof note,
                                       &err) != 0)
                note[0] = 0;
        }
        if (rc == 0) /* the record says it too, case by case */
            snprintf(c->input_note, sizeof c->input_note, "%s", note);
        nshort += rc == 1;
        const char *say = rc == 1 ? why : note;
        int dup = !say[0];
        for (int k = 0; k < nseen && !dup; k++)
            dup = strcmp(seen[k], say) == 0;
        if (!dup && seen && nseen < 16) {
            snprintf(seen[nseen++], sizeof seen[0], "%s", say);
            if (rc == 0) /* the short ones are said in the table, or below when all are */
                fprintf(stderr, "harness %s: note: %s\n", cmd, say);
        }
    }
    if (plan->ncases && nshort == plan->ncases) {
        fprintf(stderr, "harness %s: every case would be skipped because its input is too "
                        "short:\n", cmd);
        for (int k = 0; k < nseen; k++)
            fprintf(stderr, "  %s\n", seen[k]);
        free(seen);
        return 1;
    }
    free(seen);
    return 0;
}

/* issue 27: a --param that no case (after --filter) has is a typo or the wrong suite:
 * exit 2 naming it, with the parameters the cases do have. */
static int check_params_used(const char *cmd, const sono_plan *plan, int filtered)
{
    for (int k = 0; k < plan->nov; k++) {
        const char *name = plan->ov[k].name;
        int used = 0;
        for (int i = 0; i < plan->ncases && !used; i++)
            used = sono_op_param(plan->cases[i].op, name) != NULL &&
                   sono_override_scope_matches(&plan->ov[k], plan->cases[i].op->name,
                                               plan->cases[i].section);
        if (used)
            continue;
        char have[1024] = "";
        size_t len = 0;
        for (int i = 0; i < plan->ncases; i++) {
            const sono_op *op = plan->cases[i].op;
            int seen = 0;
            for (int q = 0; q < i && !seen; q++)
                seen = plan->cases[q].op == op;
            for (int j = 0; j < op->nparams && !seen && len < sizeof have; j++) {
                char item[80];
                snprintf(item, sizeof item, " %s,", op->params[j].name);
                if (!strstr(have, item))
                    len += (size_t)snprintf(have + len, sizeof have - len, "%s", item);
            }
        }
        if (len && len < sizeof have)
            have[len - 1] = 0;
        char common[512] = "";
        for (int j = 0, cl = 0; j < sono_ncommon_params; j++)
            cl += snprintf(common + cl, sizeof common - (size_t)cl, "%s%s", j ? ", " : "",
                           sono_common_params[j].name);
        if (plan->ov[k].scope[0]) {
            fprintf(stderr, "harness %s: --param %s: no case of %s%s whose op or section "
                    "matches '%s' has a parameter '%s' (ops with it: see harness describe; "
                    "its cases' own parameters:%s; every op's: %s)\n", cmd, plan->ov[k].key,
                    plan->file, filtered ? " left by --filter" : "", plan->ov[k].scope, name,
                    have, common);
            return SONO_EXIT_USAGE;
        }
        fprintf(stderr, "harness %s: --param %s: no case of %s%s has a parameter '%s' (its "
                "cases' own parameters:%s; every op's: %s)\n", cmd, name, plan->file,
                filtered ? " left by --filter" : "", name, have, common);
        return SONO_EXIT_USAGE;
    }
    return 0;
}

/* --input: files, directories or generators given on the command line replace the
 * suite's inputs; a relative path is taken from the working directory. */
static int set_inputs(const char *cmd, sono_plan *plan, const char *const *text, int n)
{
    sono_input_spec *specs = calloc((size_t)n, sizeof *specs);
    sono_error err = {0};
    int rc = specs ? 0 : sono_fail(&err, SONO_ENOMEM, "no memory for %d inputs", n);
    for (int i = 0; i < n && !rc; i++)
        rc = sono_input_parse(text[i], NULL, &specs[i], &err);
    if (!rc)
        rc = sono_plan_set_inputs(plan, specs, n, &err);
    if (rc)
        fprintf(stderr, "harness %s: --input: %s\n", cmd, err.msg);
    free(specs);
    return rc;
}

/* issue 27: Google Benchmark's and hyperfine's users expect to set the measurement from
 * the command line; each flag, its suite key and its range (the suite file's), in the
 * order of sono_run_args.ov. */
static const struct override {
    const char *flag, *key;
    double lo, hi;
    int lo_open; /* lo itself is out of range */
} overrides[SONO_RUN_NOVERRIDES] = {{"--budget-s", "budget_s", 0, 3600, 1},
                                    {"--target-ci", "target_ci", 0, 1, 1},
                                    {"--min-time-s", "min_time_s", 0, 3600, 0},
                                    {"--warmup-s", "warmup_s", 0, 600, 0}};

/* argv[*i] as one of the overrides: 1 (consumed), 0 (not one), -1 (bad value: said). */
static int override_arg(const char *cmd, sono_run_args *a, int argc, char **argv, int *i)
{
    for (int k = 0; k < SONO_RUN_NOVERRIDES; k++) {
        const struct override *o = &overrides[k];
        if (strcmp(argv[*i], o->flag) != 0)
            continue;
        char *end = NULL;
        const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
        double x = v ? strtod(v, &end) : NAN;
        if (!v || end == v || *end || !(x <= o->hi) || (o->lo_open ? !(x > o->lo)
                                                                     : !(x >= o->lo))) {
            fprintf(stderr, "harness %s: %s %s: expected a number in %s%g, %g]\n", cmd, o->flag,
                    v ? v : "(missing)", o->lo_open ? "(" : "[", o->lo, o->hi);
            return -1;
        }
        a->ov[k] = x;
        a->ov_set[k] = 1;
        (*i)++;
        return 1;
    }
    return 0;
}

/* issue 27: --param K=V; the value is checked against each op's spec at the load.
 * issue 24: --param SCOPE:K=V reaches only the sections whose op or section name matches
 * the glob SCOPE (an op name or a suite section name: one weights file per codec). */
static int param_arg(const char *cmd, sono_run_args *a, const char *v)
{
    size_t k = strcspn(v, "=");
    size_t c = strcspn(v, ":");
    size_t s0 = c < k ? c + 1 : 0; /* where K starts */
    if (!v[k] || k == s0 || c == 0 || k - s0 >= sizeof a->params[0].name ||
        (c < k && c >= sizeof a->params[0].scope) || strlen(v + k + 1) == 0 ||
        strlen(v + k + 1) >= sizeof a->params[0].text) {
        fprintf(stderr, "harness %s: --param %s: expected K=V or SCOPE:K=V, a parameter and "
                "its value or values as in a suite file (n=1024, n=1024,4096, "
                "n=256..4096*2), SCOPE an op name, a section name or a glob (OP:weights=F)\n",
                cmd, v);
        return -1;
    }
    for (int j = 0; j < a->nparams; j++)
        if (strlen(a->params[j].key) == k && strncmp(a->params[j].key, v, k) == 0) {
            fprintf(stderr, "harness %s: --param %.*s given twice: give its values as one "
                    "list (%.*s=A,B)\n", cmd, (int)k, v, (int)k, v);
            return -1;
        }
    if (a->nparams == (int)(sizeof a->params / sizeof a->params[0])) {
        fprintf(stderr, "harness %s: at most 32 --param\n", cmd);
        return -1;
    }
    sono_param_override *o = &a->params[a->nparams++];
    memset(o, 0, sizeof *o);
    snprintf(o->name, sizeof o->name, "%.*s", (int)(k - s0), v + s0);
    if (s0)
        snprintf(o->scope, sizeof o->scope, "%.*s", (int)c, v);
    snprintf(o->key, sizeof o->key, "%.*s", (int)k, v);
    snprintf(o->text, sizeof o->text, "%s", v + k + 1);
    return 1;
}

int sono_run_arg(const char *cmd, sono_run_args *a, int argc, char **argv, int *i)
{
    const char *o = argv[*i];
    int has = *i + 1 < argc;
    if (strcmp(o, "--filter") == 0 && has) {
        if (a->nfilters == 64) {
            fprintf(stderr, "harness %s: at most 64 --filter\n", cmd);
            return -1;
        }
        a->filters[a->nfilters++] = argv[++*i];
    }
    else if (strcmp(o, "--input") == 0 && has) {
        if (a->ninputs == 64) {
            fprintf(stderr, "harness %s: at most 64 --input\n", cmd);
            return -1;
        }
        a->inputs[a->ninputs++] = argv[++*i];
    }
    else if (strcmp(o, "--param") == 0 && has)
        return param_arg(cmd, a, argv[++*i]);
    else if (strcmp(o, "--quiet") == 0)
        a->quiet = 1;
    else if (strcmp(o, "--profile") == 0)
        a->profile = 1;
    else if (strcmp(o, "--force") == 0) /* issue 27: --out may replace anything */
        a->force = 1;
    else if (strcmp(o, "--lenient") == 0) /* issue 27: before the inputs load */
        sono_audio_set_lenient(1);
    else if (strcmp(o, "--device") == 0 && has) /* issue 10 */
        a->device = argv[++*i];
    else if (strcmp(o, "--metric") == 0 && has) { /* issue 22 */
        const char *m = argv[++*i];
        if (strcmp(m, "time") != 0 && strcmp(m, "instructions") != 0) {
            fprintf(stderr, "harness %s: --metric %s: expected time or instructions\n", cmd, m);
            return -1;
        }
        a->instructions = strcmp(m, "instructions") == 0;
    }
    else if (strcmp(o, "--repetitions") == 0 && has) {
        char *end;
        const char *v = argv[++*i];
        long r = strtol(v, &end, 10);
        if (*end || end == v || r < 1 || r > 1000) {
            fprintf(stderr, "harness %s: --repetitions %s: expected an integer in "
                    "[1, 1000]\n", cmd, v);
            return -1;
        }
        a->repetitions = (int)r;
    } else
        return override_arg(cmd, a, argc, argv, i);
    return 1;
}

/* The per-case settings of this run: the overrides, --profile, repetitions, counting.
 * SONO_EXIT_OK or the exit status with the reason said. */
static int set_case_options(const char *cmd, const sono_run_args *a, sono_plan *plan)
{
    /* per case, so it travels to the workers with the rest of the case's settings */
    for (int i = 0; i < plan->ncases; i++) {
        sono_measure_cfg *g = &plan->cases[i].cfg;
        double *slot[SONO_RUN_NOVERRIDES] = {&g->budget_s, &g->target_ci, &g->min_time_s,
                                             &g->warmup_s};
        for (int k = 0; k < SONO_RUN_NOVERRIDES; k++)
            if (a->ov_set[k])
                *slot[k] = a->ov[k];
        if (g->timeout_s <= g->warmup_s + g->budget_s + g->min_time_s) {
            fprintf(stderr, "harness %s: %s: timeout_s %g must exceed warmup_s + budget_s + "
                    "min_time_s (%g) after the overrides\n", cmd, plan->cases[i].id,
                    g->timeout_s, g->warmup_s + g->budget_s + g->min_time_s);
            return SONO_EXIT_USAGE;
        }
        g->profile = a->profile;
        if (a->repetitions) /* issue 22: the suite's value is in the suite file beside it */
            g->repetitions = a->repetitions;
        else if (a->instructions) /* a count does not vary between fresh runs: one is
                                     enough, and under valgrind each costs ~50x */
            g->repetitions = 1;
    }
    if (!a->instructions)
        return SONO_EXIT_OK;
    if (strcmp(cmd, "run") != 0) { /* ab's workers are two builds: one valgrind wrap */
        fprintf(stderr, "harness %s: --metric instructions works with harness run only\n", cmd);
        return SONO_EXIT_USAGE;
    }
    /* issue 22: counted, not timed (harness/run/instr.h); before --dry-run, which then
     * shows the cases that cannot be counted */
    char why[800] = "";
    sono_error err = {0};
    int source = sono_instr_probe(why, sizeof why);
    if (source < 0 ||
        sono_instr_prepare(plan, source, a->dry ? NULL : sono_cli_self_exe(), &err)) {
        fprintf(stderr, "harness %s: --metric instructions: %s\n", cmd,
                source < 0 ? why : err.msg);
        return SONO_EXIT_USAGE;
    }
    fprintf(stderr, "harness: --metric instructions: counted by %s%s%s%s\n",
            source == SONO_INSTR_PERF ? "perf_event_open (user space, this thread)"
                                      : "valgrind --tool=callgrind",
            why[0] ? " (" : "", why, why[0] ? ")" : "");
    return SONO_EXIT_OK;
}

int sono_run_prepare(sono_reg *R, const char *cmd, const sono_run_args *a, int shard_i,
                     int shard_n, sono_plan *plan, sono_shard *shard)
{
    sono_error err = {0};
    char path[PATH_MAX];
    if (a->instructions && a->profile) {
        fprintf(stderr, "harness %s: --metric instructions and --profile each decide how a "
                "case runs: choose one\n", cmd);
        return SONO_EXIT_USAGE;
    }
    sono_find_suite(a->suite, path, sizeof path);
    if (sono_suite_load_ov(path, R, a->params, a->nparams, plan, &err)) {
        fprintf(stderr, "harness: %s\n", err.msg);
        return SONO_EXIT_USAGE;
    }
    int rc = a->ninputs && set_inputs(cmd, plan, a->inputs, a->ninputs) ? SONO_EXIT_USAGE : 0;
    /* issue 10: before the filter, so ids with device=NAME are what it matches; issue 27:
     * a name that can name no device is the user's typo, not a run that moves nothing */
    if (!rc && a->device && (sono_device_name_check(R, a->device, &err) ||
                             sono_plan_set_device(R, plan, a->device, &err) < 0)) {
        fprintf(stderr, "harness %s: --device %s: %s\n", cmd, a->device, err.msg);
        rc = SONO_EXIT_USAGE;
    }
    if (!rc && a->nfilters) {
        sono_plan_filter_any(plan, a->filters, a->nfilters);
        if (plan->ncases == 0) {
            fprintf(stderr, "harness: %s: no case matches --filter '%s'%s (ids read "
                    "op/backend/impl/params/input; try --dry-run)\n", plan->file,
                    a->filters[0], a->nfilters > 1 ? " or the others" : "");
            rc = SONO_EXIT_USAGE;
        }
    }
    if (!rc && a->nparams)
        rc = check_params_used(cmd, plan, a->nfilters);
    if (!rc && sono_plan_check_all(plan, &err)) { /* issue 27: after --input, --filter */
        fprintf(stderr, "harness %s: %s\n", cmd, err.msg);
        rc = SONO_EXIT_USAGE;
    }
    if (!rc && check_file_lengths(cmd, plan))
        rc = SONO_EXIT_USAGE;
    if (!rc)
        rc = set_case_options(cmd, a, plan);
    /* --shard last: the parts split what would have run, filter and inputs included */
    if (!rc && shard_n && sono_plan_shard(plan, shard_i, shard_n, shard, &err)) {
        fprintf(stderr, "harness %s: %s\n", cmd, err.msg);
        rc = SONO_EXIT_USAGE;
    } else if (!rc && shard_n)
        fprintf(stderr, "harness: shard %d/%d: %d of %d cases, expected %.1f s of %.1f s\n",
                shard_i, shard_n, plan->ncases, shard->suite_cases, shard->expected_s,
                shard->suite_expected_s);
    if (rc)
        sono_plan_free(plan);
    return rc;
}

json_t *sono_run_env(sono_reg *R, sono_calibration *cal, sono_calibration **calp)
{
    /* this host's ceilings from `harness calibrate`, if it was run here */
    char calpath[PATH_MAX], host[256];
    sono_calibration_path(calpath, sizeof calpath);
    sono_env_hostname(host, sizeof host);
    sono_error cerr = {0};
    int crc = sono_calibration_load(calpath, host, cal, &cerr);
    *calp = crc == 0 ? cal : NULL;
    if (crc != 0 && crc != SONO_ENOTFOUND)
        fprintf(stderr, "harness: ignoring calibration: %s\n", cerr.msg);
    json_t *env = sono_env_json(R);
    json_object_set_new(env, "calibration", *calp ? sono_calibration_json(cal)
                                                  : json_pack("{s:s, s:s}", "file", calpath,
                                                              "status", "none for this host: "
                                                              "run harness calibrate"));
    json_object_set_new(env, "harness_overhead_ns",
                        json_pack("{s:f}", "cpu", sono_measure_overhead(R)));
    return env;
}

json_t *sono_run_suite_json(const sono_plan *plan, const sono_run_args *a)
{
    json_t *sj = sono_suite_json(plan);
    /* each op's size axis, merit and describe column, so the report needs no op names;
     * in the suite object because sono_results_open takes only suite and env */
    json_t *present = sono_ops_presentation_json(plan);
    if (!sj || !present || json_object_set_new(sj, "ops", present) != 0) {
        json_decref(sj);
        return NULL;
    }
    json_t *given = NULL; /* the suite file (its sha256 is beside) holds what they replaced */
    for (int k = 0; k < SONO_RUN_NOVERRIDES; k++)
        if (a->ov_set[k]) {
            if (!given)
                given = json_object();
            json_object_set_new(given, overrides[k].key, json_real(a->ov[k]));
        }
    /* issue 27: each --param with what it replaced, section by section (null: the section
     * left it at the op's default) */
    json_t *params = plan->nov ? json_object() : NULL;
    for (int k = 0; k < plan->nov; k++) {
        json_t *suite = json_object();
        for (int r = 0; r < plan->nreplaced; r++)
            if (strcmp(plan->replaced[r].param, plan->ov[k].key) == 0)
                json_object_set_new(suite, plan->replaced[r].section,
                                    plan->replaced[r].value[0]
                                        ? json_string(plan->replaced[r].value)
                                        : json_null());
        json_object_set_new(params, plan->ov[k].key,
                            json_pack("{s:s, s:o}", "given", plan->ov[k].text, "suite", suite));
    }
    if (params) {
        if (!given)
            given = json_object();
        json_object_set_new(given, "params", params);
    }
    if (given)
        json_object_set_new(sj, "overrides", given);
    return sj;
}

/* supports() is pure (sono.h), so a dry run can say which cases the impl itself would
 * refuse here (py/torch-cuda on a machine without a GPU), not only which backends are
 * unavailable; a device the plan could not place (issue 10) says why. */
static void dry_run(const sono_plan *plan)
{
    /* issue 26: the planned time (the shard planner's model) of the cases that would run
     * here, on stderr, so ci/device-check.sh can size a stage to its time budget */
    double planned = 0;
    int torun = 0;
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
        if (!why[0]) {
            planned += sono_case_expected_s(c);
            torun++;
        }
    }
    fprintf(stderr, "planned: %d of %d cases run here, about %.0f s (the shard planner's "
            "estimate)\n", torun, plan->ncases, ceil(planned));
}

/* The run into its sinks: the results file first (a completed case is on disk before
 * anyone else sees it), the progress line on a terminal, then the live table or JSON
 * lines. Returns the exit status. */
static int run_sinks(const sono_run_args *a, int jsonl, sono_table_format fmt,
                     const sono_plan *plan, sono_results *res, const char *out,
                     const sono_calibration *cal)
{
    int nsinks = 0;
    sono_sink *sinks[3];
    sinks[nsinks++] = sono_sink_results(res);
    if (!a->quiet && isatty(STDERR_FILENO))
        sinks[nsinks++] = sono_sink_progress(stderr);
    /* rows as they finish unless --quiet; JSON lines keep stdout for themselves */
    sinks[nsinks++] = jsonl ? sono_sink_jsonl(stdout)
                            : sono_sink_table_fmt(stdout, !a->quiet && fmt == SONO_TABLE_TEXT,
                                                  fmt);
    /* issue 27: CSV and JSON keep stdout to themselves; markdown takes the counts line */
    int side = jsonl || fmt == SONO_TABLE_CSV || fmt == SONO_TABLE_JSON;
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
    char known[96] = ""; /* issue 27: the suite's expect_fail, said only where it applied */
    if (n.xfail || n.xpass)
        snprintf(known, sizeof known, ", %d xfail, %d xpass", n.xfail, n.xpass);
    fprintf(side ? stderr : stdout,
            "\n%d ok, %d fail, %d skip, %d error, %d crash, %d timeout%s%s; results: %s\n",
            n.ok, n.fail, n.skip, n.error, n.crash, n.timeout, known,
            n.interrupted ? " (interrupted)" : "", out);
    if (n.xpass)
        fprintf(stderr, "harness: %d case%s passed that the suite expects to fail (XPASS): "
                "remove or narrow its expect_fail\n", n.xpass, n.xpass > 1 ? "s" : "");
    for (int i = 0; i < nsinks; i++)
        sono_sink_free(sinks[i]);
    if (n.interrupted)
        return SONO_EXIT_INTERRUPTED;
    return write_failed || n.fail || n.error || n.crash || n.timeout ? SONO_EXIT_FAIL
                                                                     : SONO_EXIT_OK;
}

/* run's own options besides the shared ones; SONO_EXIT_OK or the exit status (said). */
static int parse_run(int argc, char **argv, sono_run_args *a, const char **out_arg,
                     const char **shard_arg, int *jsonl, sono_table_format *fmt)
{
    for (int i = 1; i < argc; i++) {
        int took = sono_run_arg("run", a, argc, argv, &i);
        if (took < 0)
            return SONO_EXIT_USAGE;
        if (took)
            continue;
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            *out_arg = argv[++i];
        else if (strcmp(argv[i], "--shard") == 0 && i + 1 < argc)
            *shard_arg = argv[++i];
        else if (strcmp(argv[i], "--dry-run") == 0)
            a->dry = 1;
        else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            const char *f = argv[++i];
            *jsonl = strcmp(f, "jsonl") == 0;
            if (!*jsonl && sono_table_format_parse(f, fmt)) {
                fprintf(stderr, "harness run: --format %s: expected table, markdown, csv, "
                        "json or jsonl\n", f);
                return SONO_EXIT_USAGE;
            }
        }
        else if (argv[i][0] == '-' || a->suite) {
            fprintf(stderr, "harness run: unexpected argument '%s'; see harness help run\n",
                    argv[i]);
            return SONO_EXIT_USAGE;
        } else
            a->suite = argv[i];
    }
    if (!a->suite) {
        fprintf(stderr, "harness run: which suite? e.g. harness run suites/quick\n");
        return SONO_EXIT_USAGE;
    }
    return SONO_EXIT_OK;
}

int sono_cmd_run(sono_reg *R, int argc, char **argv)
{
    sono_run_args a = {0};
    const char *out_arg = NULL, *shard_arg = NULL;
    sono_table_format fmt = SONO_TABLE_TEXT;
    int jsonl = 0, rc = parse_run(argc, argv, &a, &out_arg, &shard_arg, &jsonl, &fmt);
    sono_error err = {0};
    int shard_i = 0, shard_n = 0;
    if (!rc && shard_arg && sono_shard_parse(shard_arg, &shard_i, &shard_n, &err)) {
        fprintf(stderr, "harness run: %s\n", err.msg);
        rc = SONO_EXIT_USAGE;
    }
    char owhy[PATH_MAX + 200];
    if (!rc && out_arg && sono_cli_may_overwrite(out_arg, 'r', a.force, owhy, sizeof owhy)) {
        fprintf(stderr, "harness run: --out %s\n", owhy);
        rc = SONO_EXIT_USAGE;
    }
    sono_plan plan;
    sono_shard shard = {0};
    if (rc || (rc = sono_run_prepare(R, "run", &a, shard_i, shard_n, &plan, &shard)))
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
    if (out_arg)
        snprintf(out, sizeof out, "%s", out_arg);
    else
        sono_run_default_out(&plan, NULL, out, sizeof out);
    sono_calibration cal, *calp = NULL;
    json_t *env = sono_run_env(R, &cal, &calp), *sj = sono_run_suite_json(&plan, &a);
    if (sj && shard_arg) /* suite.cases is then this shard's; suite.shard says of what */
        json_object_set_new(sj, "shard", sono_shard_json(&shard));
    sono_shard_free(&shard);
    sono_results *res = NULL;
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
        rc = run_sinks(&a, jsonl, fmt, &plan, res, out, calp);
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
