/* ab.c — `harness ab --base DIR --new DIR SUITE`: one run that measures two builds side by
 * side (issue 22). Each case's every repetition runs in a worker of each build in turn, so
 * both see the same machine noise; each side gets its own results file, then compare. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "runargs.h"
#include "runner.h"

#define MAX_ENV 32

typedef struct ab_side {
    const char *name;  /* "base" or "new" */
    const char *dir;   /* as given */
    const char *out;   /* --out-base / --out-new, or NULL */
    const char *env[MAX_ENV + 1];
    int nenv;
    char root[PATH_MAX], exe[PATH_MAX + 16], outp[PATH_MAX], git[256];
} ab_side;

/* The side's build: DIR/bin/harness must be there, since its workers are that executable
 * and it finds its own plugins beside itself (DIR/build/plugins, core/paths.c). */
static int find_build(ab_side *s)
{
    if (!realpath(s->dir, s->root)) {
        fprintf(stderr, "harness ab: --%s %s: no such folder\n", s->name, s->dir);
        return -1;
    }
    /* root and exe are in one struct: gcc's -Wrestrict at -O1 cannot tell that snprintf
     * from one into the other never overlaps, so the two parts are copied by hand */
    size_t n = strlen(s->root);
    memcpy(s->exe, s->root, n); /* exe holds PATH_MAX + 16 bytes, root at most PATH_MAX */
    memcpy(s->exe + n, "/bin/harness", sizeof "/bin/harness");
    if (access(s->exe, X_OK) != 0) {
        fprintf(stderr, "harness ab: --%s %s: no executable bin/harness in it (DIR is a "
                "build tree: bin/harness and build/plugins)\n", s->name, s->dir);
        return -1;
    }
    return 0;
}

/* The commit the side was built from, as far as this process can know it: the Makefile
 * writes `git describe` into build/gen/buildinfo.h of the tree, and the executable bakes
 * it in (core/env.c); reading the header spares starting that executable to ask. */
static void side_git(ab_side *s)
{
    char path[PATH_MAX + 32], line[512];
    snprintf(s->git, sizeof s->git, "unknown");
    snprintf(path, sizeof path, "%s/build/gen/buildinfo.h", s->root);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        const char *q = strstr(line, "#define SONO_GIT \"");
        if (!q)
            continue;
        q += strlen("#define SONO_GIT \"");
        size_t n = strcspn(q, "\"");
        snprintf(s->git, sizeof s->git, "%.*s", (int)n, q);
        break;
    }
    fclose(f);
}

/* env's copy for one side: what this process measured of the host (the same machine for
 * both) plus where the side's build came from. Its libs and backends are this process's
 * plugins, which expanded the suite for both. */
static json_t *side_env(const json_t *env, const ab_side *s)
{
    json_t *e = json_deep_copy(env);
    json_t *ab = json_pack("{s:s, s:s, s:s}", "side", s->name, "tree", s->root, "harness",
                           s->exe);
    if (!e || !ab) {
        json_decref(e);
        json_decref(ab);
        return NULL;
    }
    json_object_set_new(e, "git", json_string(s->git));
    json_object_set_new(e, "ab", ab);
    return e;
}

static int usage(const char *msg, const char *arg)
{
    fprintf(stderr, "harness ab: %s%s%s; see harness help ab\n", msg, arg ? " " : "",
            arg ? arg : "");
    return SONO_EXIT_USAGE;
}

static void summary(const char *name, const sono_run_counts *n, const char *out)
{
    printf("%s: %d ok, %d fail, %d skip, %d error, %d crash, %d timeout%s; results: %s\n",
           name, n->ok, n->fail, n->skip, n->error, n->crash, n->timeout,
           n->interrupted ? " (interrupted)" : "", out);
}

int sono_cmd_ab(sono_reg *R, int argc, char **argv)
{
    sono_run_args a = {0};
    ab_side side[2] = {{.name = "base"}, {.name = "new"}};
    char **cmp_opts = NULL;
    int ncmp = 0;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int took = sono_run_arg("ab", &a, argc, argv, &i);
        if (took < 0)
            return SONO_EXIT_USAGE;
        if (took)
            continue;
        int k = strstr(o, "new") ? 1 : 0;
        if (strcmp(o, "--") == 0) { /* the rest is compare's */
            cmp_opts = argv + i + 1;
            ncmp = argc - i - 1;
            break;
        }
        if (!v && (!strcmp(o, "--base") || !strcmp(o, "--new") || !strcmp(o, "--out-base") ||
                   !strcmp(o, "--out-new") || !strcmp(o, "--base-env") ||
                   !strcmp(o, "--new-env")))
            return usage("needs a value:", o);
        if (strcmp(o, "--base") == 0 || strcmp(o, "--new") == 0)
            side[k].dir = argv[++i];
        else if (strcmp(o, "--out-base") == 0 || strcmp(o, "--out-new") == 0)
            side[k].out = argv[++i];
        else if (strcmp(o, "--base-env") == 0 || strcmp(o, "--new-env") == 0) {
            if (!strchr(v, '=') || v[0] == '=')
                return usage("expected VAR=VALUE after", o);
            if (side[k].nenv == MAX_ENV)
                return usage("too many", o);
            side[k].env[side[k].nenv++] = argv[++i];
        }
        else if (o[0] == '-' || a.suite)
            return usage("unexpected argument", o);
        else
            a.suite = o;
    }
    if (!side[0].dir || !side[1].dir)
        return usage("give both builds: --base DIR --new DIR", NULL);
    if (!a.suite)
        return usage("which suite? e.g. harness ab --base A --new B suites/quick", NULL);
    for (int k = 0; k < 2; k++) {
        if (find_build(&side[k]))
            return SONO_EXIT_USAGE;
        side_git(&side[k]);
    }
    if (side[0].out && side[1].out && strcmp(side[0].out, side[1].out) == 0)
        return usage("--out-base and --out-new name the same file", side[0].out);
    char owhy[PATH_MAX + 200];
    for (int k = 0; k < 2; k++)
        if (side[k].out && sono_cli_may_overwrite(side[k].out, 'r', a.force, owhy,
                                                  sizeof owhy)) {
            fprintf(stderr, "harness ab: --out-%s %s\n", side[k].name, owhy);
            return SONO_EXIT_USAGE;
        }
    sono_plan plan;
    int prc = sono_run_prepare(R, "ab", &a, 0, 0, &plan, NULL);
    if (prc != SONO_EXIT_OK)
        return prc;
    for (int k = 0; k < 2; k++) {
        if (side[k].out)
            snprintf(side[k].outp, sizeof side[k].outp, "%s", side[k].out);
        else
            sono_run_default_out(&plan, side[k].name, side[k].outp, sizeof side[k].outp);
    }

    sono_calibration cal, *calp = NULL;
    json_t *env = sono_run_env(R, &cal, &calp);
    sono_results *res[2] = {NULL, NULL};
    sono_sink *sinks[2][2] = {{NULL, NULL}, {NULL, NULL}};
    int nsinks[2] = {0, 0}, rc = SONO_EXIT_OK;
    sono_error err = {0};
    for (int k = 0; k < 2 && rc == SONO_EXIT_OK; k++) {
        json_t *sj = sono_run_suite_json(&plan, &a), *ej = env ? side_env(env, &side[k]) : NULL;
        if (!sj || !ej) {
            json_decref(sj);
            json_decref(ej);
            fprintf(stderr, "harness ab: out of memory building the results' header\n");
            rc = SONO_EXIT_FAIL;
        } else if (sono_results_open(side[k].outp, sj, ej, &res[k], &err)) {
            fprintf(stderr, "harness ab: %s\n", err.msg);
            rc = SONO_EXIT_USAGE;
        } else if (!(sinks[k][nsinks[k]++] = sono_sink_results(res[k]))) {
            fprintf(stderr, "harness ab: out of memory\n");
            sono_results_abandon(res[k]);
            rc = SONO_EXIT_FAIL;
        }
    }
    json_decref(env);
    /* one progress line (the base side's turns) is enough to see the run move */
    if (rc == SONO_EXIT_OK && !a.quiet && isatty(STDERR_FILENO) &&
        !(sinks[0][nsinks[0]++] = sono_sink_progress(stderr))) {
        fprintf(stderr, "harness ab: out of memory\n");
        rc = SONO_EXIT_FAIL;
    }
    if (rc != SONO_EXIT_OK) {
        /* nothing ran: a results file already opened is abandoned (its journal stays,
         * empty, as after a crash) */
        for (int k = 0; k < 2; k++)
            for (int s = 0; s < nsinks[k]; s++)
                sono_sink_free(sinks[k][s]);
        sono_plan_free(&plan);
        if (calp)
            sono_calibration_free(calp);
        return rc;
    }

    int reps = 1;
    for (int i = 0; i < plan.ncases; i++)
        reps = plan.cases[i].cfg.repetitions > reps ? plan.cases[i].cfg.repetitions : reps;
    fprintf(stderr, "harness ab: suite %s (%s): %d cases x %d repetition(s), base %s (%s) "
            "and new %s (%s) taking turns -> %s, %s\n", plan.name, plan.file, plan.ncases,
            reps, side[0].root, side[0].git, side[1].root, side[1].git, side[0].outp,
            side[1].outp);
    sono_run_counts n[2];
    sono_run_side second = {.worker_exe = side[1].exe, .worker_env = side[1].env,
                            .sinks = sinks[1], .nsinks = nsinks[1], .counts = &n[1]};
    sono_run_opts o = {.sinks = sinks[0], .nsinks = nsinks[0],
                       .stop = sono_cli_catch_stop(), .worker_exe = side[0].exe,
                       .worker_env = side[0].env, .cal = calp, .second = &second};
    int run_rc = sono_run_plan(&plan, &o, &n[0], &err);
    for (int k = 0; k < 2; k++)
        for (int s = 0; s < nsinks[k]; s++)
            sono_sink_free(sinks[k][s]);
    sono_plan_free(&plan);
    if (calp)
        sono_calibration_free(calp);
    for (int k = 0; k < 2; k++)
        summary(side[k].name, &n[k], side[k].outp);
    if (run_rc == SONO_EINTR)
        return SONO_EXIT_INTERRUPTED;
    if (run_rc) {
        fprintf(stderr, "harness ab: %s\n", err.msg);
        return SONO_EXIT_USAGE; /* a results file could not be written: no verdict */
    }
    /* the verdict is compare's, with its options, so `ab` gates exactly as compare does */
    printf("\n");
    fflush(stdout);
    char **cargv = calloc((size_t)ncmp + 4, sizeof *cargv);
    if (!cargv) {
        fprintf(stderr, "harness ab: out of memory\n");
        return SONO_EXIT_FAIL;
    }
    cargv[0] = "compare";
    cargv[1] = side[0].outp;
    cargv[2] = side[1].outp;
    for (int i = 0; i < ncmp; i++)
        cargv[3 + i] = cmp_opts[i];
    rc = sono_cmd_compare(ncmp + 3, cargv);
    free(cargv);
    return rc;
}
