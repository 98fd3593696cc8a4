/* fleet_submit.c — `harness fleet submit` (issue 13): writes the sbatch script and the
 * fleet.json manifest into the fleet folder and submits one job array per target node
 * (one task per shard); --retry DIR resubmits only the shards that left no complete
 * results file and are no longer queued or running. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "env.h"
#include "fleet.h"
#include "paths.h"
#include "shard.h"

typedef struct submit_args {
    const char *suite, *partition, *constraint, *gres, *nodes, *out, *harness, *retry;
    int shards, dry, shared;
} submit_args;

static int usage(const char *msg, const char *arg)
{
    fprintf(stderr, "harness fleet submit: %s%s; see harness help fleet\n", msg, arg);
    return SONO_EXIT_USAGE;
}

/* sbatch --parsable [--array=SPEC] [--nodelist=NODE] SCRIPT; prints the line first under
 * --dry-run. Fills job ("" when it failed); 0 or the exit status to return. */
static int sbatch(const char *array, const char *node, const char *script, int dry,
                  char *job, size_t n)
{
    char arr[4200], nl[512];
    snprintf(arr, sizeof arr, "--array=%s", array);
    snprintf(nl, sizeof nl, "--nodelist=%s", node ? node : "");
    const char *argv[] = {"sbatch", "--parsable", arr, node ? nl : script,
                          node ? script : NULL, NULL};
    job[0] = 0;
    if (dry) {
        printf("# would run: sbatch --parsable %s%s%s %s\n", arr, node ? " " : "",
               node ? nl : "", script);
        return 0;
    }
    char out[256];
    int rc = sono_fleet_spawn(argv, out, sizeof out, 0);
    size_t k = strspn(out, "0123456789");
    if (rc != 0 || k == 0) {
        fprintf(stderr, "harness fleet submit: sbatch %s%s%s %s %s (exit %d)%s%s\n", arr,
                node ? " " : "", node ? nl : "", script,
                rc < 0 ? "could not start: is Slurm's sbatch on PATH?" : "failed", rc,
                out[0] ? ": " : "", out);
        return SONO_EXIT_FAIL;
    }
    /* --parsable prints "JOBID" or "JOBID;CLUSTER" */
    snprintf(job, n, "%.*s", (int)k, out);
    return 0;
}

static int retry(const submit_args *a)
{
    json_t *m;
    sono_error err = {0};
    if (sono_fleet_manifest_load(a->retry, &m, &err)) {
        fprintf(stderr, "harness fleet submit --retry: %s\n", err.msg);
        return SONO_EXIT_USAGE;
    }
    int shards = (int)json_integer_value(json_object_get(m, "shards"));
    const char *script = json_string_value(json_object_get(m, "script"));
    char (*state)[32] = calloc((size_t)shards, sizeof *state);
    char *spec = malloc((size_t)shards * 12 + 1);
    int rc = state && spec && script ? 0 : SONO_EXIT_FAIL, resubmitted = 0;
    size_t ti;
    json_t *t;
    json_array_foreach(json_object_get(m, "targets"), ti, t) {
        if (rc)
            break;
        json_t *jobs = json_object_get(t, "jobs");
        const char *node = json_string_value(json_object_get(t, "nodelist"));
        char last[64] = "";
        int nspec = 0;
        spec[0] = 0;
        for (int k = 0; k < shards; k++) {
            const char *job = json_string_value(json_array_get(jobs, k));
            char out[4096];
            if (job && *job) {
                if (strcmp(job, last) != 0) {
                    sono_fleet_job_states(job, shards, state);
                    snprintf(last, sizeof last, "%s", job);
                }
                const char *cls = sono_fleet_state_class(state[k]);
                if (sono_fleet_task_output(a->retry, job, k, out, sizeof out) == 0 &&
                    sono_fleet_results_complete(out) == 1)
                    continue; /* done (even where a case failed its check) */
                if (cls && (!strcmp(cls, "pending") || !strcmp(cls, "running")))
                    continue; /* still on its way */
                fprintf(stderr, "harness fleet: target %s shard %d/%d (job %s_%d, %s): "
                        "resubmitting\n", json_string_value(json_object_get(t, "name")),
                        k + 1, shards, job, k, state[k][0] ? state[k] : "state unknown");
            }
            nspec += sprintf(spec + nspec, "%s%d", nspec ? "," : "", k);
        }
        if (!nspec)
            continue;
        char job[64];
        if ((rc = sbatch(spec, node, script, a->dry, job, sizeof job)) || a->dry)
            continue;
        for (char *p = spec; *p; p += strcspn(p, ","), p += *p == ',')
            json_array_set_new(jobs, (size_t)atoi(p), json_string(job));
        printf("%s\n", job);
        resubmitted++;
    }
    if (!rc && !a->dry) {
        if (sono_fleet_manifest_save(a->retry, m, &err)) {
            fprintf(stderr, "harness fleet submit --retry: %s\n", err.msg);
            rc = SONO_EXIT_FAIL;
        } else if (!resubmitted)
            fprintf(stderr, "harness fleet: nothing to retry in %s (every shard is done, "
                    "queued or running)\n", a->retry);
    }
    free(state);
    free(spec);
    json_decref(m);
    return rc;
}

/* The fleet folder as an absolute path (it is written into the script for the nodes). */
static void absolute(const char *dir, char *out, size_t n)
{
    char cwd[PATH_MAX];
    if (dir[0] == '/' || !getcwd(cwd, sizeof cwd))
        snprintf(out, n, "%s", dir);
    else
        snprintf(out, n, "%s/%s", cwd, dir);
}

static int submit(const submit_args *a)
{
    sono_reg R;
    sono_error err = {0};
    if (sono_reg_init(&R, &err)) {
        fprintf(stderr, "harness: %s\n", err.msg);
        return SONO_EXIT_FAIL;
    }
    sono_load_plugins(&R);
    char path[PATH_MAX];
    sono_find_suite(a->suite, path, sizeof path);
    sono_plan plan;
    if (sono_suite_load(path, &R, &plan, &err)) {
        fprintf(stderr, "harness: %s\n", err.msg);
        sono_reg_free(&R);
        return SONO_EXIT_USAGE;
    }
    json_t *env = sono_env_json(&R);
    char commit[128];
    snprintf(commit, sizeof commit, "%s", json_string_value(json_object_get(env, "git")));
    json_decref(env);
    sono_reg_free(&R);

    /* the time limit: twice the longest shard's expected time plus 5 minutes of start-up */
    int *assign = malloc((size_t)(plan.ncases ? plan.ncases : 1) * sizeof *assign);
    double *loads = calloc((size_t)a->shards, sizeof *loads);
    int rc = assign && loads ? sono_shard_assign(&plan, a->shards, assign, loads, &err)
                             : sono_fail(&err, SONO_ENOMEM, "out of memory");
    double longest = 0;
    for (int s = 0; !rc && s < a->shards; s++)
        longest = fmax(longest, loads[s]);
    free(assign);
    free(loads);
    if (rc) {
        fprintf(stderr, "harness fleet submit: %s\n", err.msg);
        sono_plan_free(&plan);
        return SONO_EXIT_USAGE;
    }
    char dir[PATH_MAX], rel[PATH_MAX], harness[PATH_MAX], suite_file[PATH_MAX];
    if (a->out)
        snprintf(rel, sizeof rel, "%s", a->out);
    else {
        char when[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(when, sizeof when, "%Y%m%dT%H%M%SZ", &tm);
        snprintf(rel, sizeof rel, "results/fleet-%s-%s", plan.name, when);
    }
    absolute(rel, dir, sizeof dir);
    const char *self = a->harness ? a->harness : sono_cli_self_exe();
    if (!self || !realpath(self, harness))
        snprintf(harness, sizeof harness, "%s", self ? self : "harness");
    if (!realpath(plan.file, suite_file))
        snprintf(suite_file, sizeof suite_file, "%s", plan.file);
    sono_fleet_script s = {.suite_name = plan.name, .suite_file = suite_file,
                           .suite_sha256 = plan.sha256, .harness = harness, .dir = dir,
                           .commit = commit, .shards = a->shards,
                           .partition = a->partition, .constraint = a->constraint,
                           .gres = a->gres, .minutes = (int)ceil((2 * longest + 300) / 60),
                           .shared = a->shared};
    char *text = sono_fleet_script_text(&s);
    char script[PATH_MAX + 64], logs[PATH_MAX + 8], mpath[PATH_MAX + 16];
    sono_fleet_script_path(dir, plan.name, script, sizeof script);
    snprintf(logs, sizeof logs, "%s/logs", dir);
    snprintf(mpath, sizeof mpath, "%s/%s", dir, SONO_FLEET_MANIFEST);
    rc = text ? 0 : SONO_EXIT_FAIL;
    if (!rc && !a->dry && access(mpath, F_OK) == 0) {
        fprintf(stderr, "harness fleet submit: %s already holds a fleet (%s); use --retry %s "
                "or another --out\n", dir, mpath, dir);
        rc = SONO_EXIT_USAGE;
    }
    FILE *f = NULL;
    if (!rc && !a->dry) {
        mkdir(dir, 0755);
        mkdir(logs, 0755);
        f = fopen(script, "w");
        if (!f || fputs(text, f) < 0 || fclose(f) != 0 || chmod(script, 0755) != 0) {
            fprintf(stderr, "harness fleet submit: %s: cannot write: %s\n", script,
                    strerror(errno));
            rc = SONO_EXIT_FAIL;
        }
    }
    if (!rc && a->dry)
        fputs(text, stdout);
    free(text);

    json_t *targets = json_array();
    char array[32];
    snprintf(array, sizeof array, "0-%d", a->shards - 1);
    char nodes[4096];
    snprintf(nodes, sizeof nodes, "%s", a->nodes ? a->nodes : "");
    char *save = NULL, *node = a->nodes ? strtok_r(nodes, ",", &save) : NULL;
    int submitted = 0;
    do {
        if (rc)
            break;
        char job[64];
        int src = sbatch(array, node, script, a->dry, job, sizeof job);
        json_t *jobs = json_array();
        for (int k = 0; k < a->shards; k++)
            json_array_append_new(jobs, json_string(job));
        const char *name = node ? node : a->gres ? a->gres : a->constraint ? a->constraint
                                                                            : "any";
        json_array_append_new(targets, json_pack("{s:s, s:s?, s:o}", "name", name,
                                                 "nodelist", node, "jobs", jobs));
        if (!src && !a->dry) {
            printf("%s\n", job);
            fprintf(stderr, "harness fleet: submitted job %s: suite %s in %d shards on %s "
                    "(about %.0f s each) -> %s\n", job, plan.name, a->shards, name,
                    longest, dir);
            submitted++;
        }
        if (src)
            rc = src;
    } while (node && (node = strtok_r(NULL, ",", &save)));
    if (!a->dry && (submitted || rc == SONO_EXIT_FAIL) && access(script, F_OK) == 0) {
        json_t *m = json_pack("{s:s, s:{s:s, s:s, s:s, s:i}, s:i, s:s, s:s, s:s, s:s, s:o}",
                              "schema", SONO_FLEET_SCHEMA, "suite", "name", plan.name, "file",
                              suite_file, "sha256", plan.sha256, "cases", plan.ncases,
                              "shards", a->shards, "harness", harness, "commit", commit,
                              "script", script, "dir", dir, "targets", targets);
        targets = NULL;
        if (sono_fleet_manifest_save(dir, m, &err)) {
            fprintf(stderr, "harness fleet submit: %s\n", err.msg);
            rc = SONO_EXIT_FAIL;
        } else if (submitted)
            fprintf(stderr, "harness fleet: then: harness fleet status %s; harness fleet "
                    "collect %s -o MERGED/\n", dir, dir);
        json_decref(m);
    }
    json_decref(targets);
    sono_plan_free(&plan);
    return rc;
}

int sono_fleet_submit(int argc, char **argv)
{
    submit_args a = {.shards = 4};
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--partition") && v)
            a.partition = argv[++i];
        else if (!strcmp(argv[i], "--constraint") && v)
            a.constraint = argv[++i];
        else if (!strcmp(argv[i], "--gres") && v)
            a.gres = argv[++i];
        else if (!strcmp(argv[i], "--nodes") && v)
            a.nodes = argv[++i];
        else if (!strcmp(argv[i], "--out") && v)
            a.out = argv[++i];
        else if (!strcmp(argv[i], "--harness") && v)
            a.harness = argv[++i];
        else if (!strcmp(argv[i], "--retry") && v)
            a.retry = argv[++i];
        else if (!strcmp(argv[i], "--shards") && v) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > 4096)
                return usage("--shards: expected an integer in [1, 4096], got ", argv[i]);
            a.shards = (int)n;
        } else if (!strcmp(argv[i], "--dry-run"))
            a.dry = 1;
        else if (!strcmp(argv[i], "--shared"))
            a.shared = 1;
        else if (argv[i][0] == '-' || a.suite)
            return usage("unexpected argument ", argv[i]);
        else
            a.suite = argv[i];
    }
    if (a.retry && a.suite)
        return usage("--retry DIR takes no suite (the fleet's manifest names it): ", a.suite);
    if (a.retry)
        return retry(&a);
    if (!a.suite)
        return usage("which suite? e.g. harness fleet submit quick --shards 4", "");
    if (a.nodes && (!*a.nodes || strspn(a.nodes, ",") == strlen(a.nodes)))
        return usage("--nodes: expected node names separated by ',', got ", a.nodes);
    return submit(&a);
}
