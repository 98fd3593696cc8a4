/* fleet.c — `harness fleet submit|status|collect` (issue 13): one suite across many
 * machines through Slurm. submit is in fleet_submit.c; status asks Slurm about every
 * array task of a fleet folder; collect merges the shards per machine (harness/fleet*.c). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fleet.h"

int sono_fleet_submit(int argc, char **argv);

static int status(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "harness fleet status: expected one fleet folder (harness fleet "
                "status DIR)\n");
        return SONO_EXIT_USAGE;
    }
    const char *dir = argv[1];
    json_t *m;
    sono_error err = {0};
    if (sono_fleet_manifest_load(dir, &m, &err)) {
        fprintf(stderr, "harness fleet status: %s\n", err.msg);
        return SONO_EXIT_USAGE;
    }
    int shards = (int)json_integer_value(json_object_get(m, "shards"));
    json_t *suite = json_object_get(m, "suite");
    printf("fleet %s: suite %s (%s), %d shards, commit %s\n", dir,
           json_string_value(json_object_get(suite, "name")),
           json_string_value(json_object_get(suite, "file")), shards,
           json_string_value(json_object_get(m, "commit")));
    printf("%-16s %-7s %-12s %-8s %-14s %s\n", "target", "shard", "task", "state", "slurm",
           "results");
    char (*state)[32] = calloc((size_t)shards, sizeof *state);
    int n[5] = {0}; /* pending, running, done, failed, unknown */
    static const char *const names[] = {"pending", "running", "done", "failed", "unknown"};
    size_t ti;
    json_t *t;
    json_array_foreach(json_object_get(m, "targets"), ti, t) {
        json_t *jobs = json_object_get(t, "jobs");
        char last[64] = "";
        for (int k = 0; k < shards && state; k++) {
            const char *job = json_string_value(json_array_get(jobs, k));
            char task[96] = "-", out[4096] = "", res[4200] = "-";
            const char *slurm = "not submitted", *cls = "failed";
            if (job && *job) {
                if (strcmp(job, last) != 0) {
                    sono_fleet_job_states(job, shards, state);
                    snprintf(last, sizeof last, "%s", job);
                }
                snprintf(task, sizeof task, "%s_%d", job, k);
                slurm = state[k][0] ? state[k] : "?";
                cls = sono_fleet_state_class(state[k]);
                int complete = -1;
                if (sono_fleet_task_output(dir, job, k, out, sizeof out) == 0) {
                    complete = sono_fleet_results_complete(out);
                    snprintf(res, sizeof res, "%s%s", out,
                             complete == 1 ? "" : complete == 0 ? " (partial)" : " (none)");
                }
                /* a complete file is the shard done once its task has left the queue,
                 * even where the exit status says a case failed its check (the file is
                 * complete a moment before the task ends); no file and no word from
                 * Slurm: unknown */
                int queued = cls && (!strcmp(cls, "pending") || !strcmp(cls, "running"));
                if (complete == 1 && !queued)
                    cls = "done";
                else if (cls && !strcmp(cls, "done"))
                    cls = "failed";
                else if (!cls)
                    cls = "unknown";
            }
            for (int i = 0; i < 5; i++)
                n[i] += !strcmp(cls, names[i]);
            char sh[32];
            snprintf(sh, sizeof sh, "%d/%d", k + 1, shards);
            printf("%-16s %-7s %-12s %-8s %-14s %s\n",
                   json_string_value(json_object_get(t, "name")), sh, task, cls, slurm, res);
        }
    }
    printf("%d pending, %d running, %d done, %d failed, %d unknown\n", n[0], n[1], n[2], n[3],
           n[4]);
    free(state);
    json_decref(m);
    return SONO_EXIT_OK;
}

static int collect(int argc, char **argv)
{
    const char *dir = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--out")) && i + 1 < argc)
            out = argv[++i];
        else if (argv[i][0] == '-' || dir) {
            fprintf(stderr, "harness fleet collect: unexpected argument '%s'; see harness "
                    "help fleet\n", argv[i]);
            return SONO_EXIT_USAGE;
        } else
            dir = argv[i];
    }
    if (!dir || !out) {
        fprintf(stderr, "harness fleet collect: expected a fleet folder and -o MERGED "
                "(harness fleet collect DIR -o merged/)\n");
        return SONO_EXIT_USAGE;
    }
    sono_error err = {0};
    int rc = sono_fleet_collect(dir, out, stdout, &err);
    if (rc)
        fprintf(stderr, "harness fleet collect: %s\n", err.msg);
    return rc ? SONO_EXIT_USAGE : SONO_EXIT_OK;
}

int sono_cmd_fleet(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    if (!strcmp(sub, "submit"))
        return sono_fleet_submit(argc - 1, argv + 1);
    if (!strcmp(sub, "status"))
        return status(argc - 1, argv + 1);
    if (!strcmp(sub, "collect"))
        return collect(argc - 1, argv + 1);
    fprintf(stderr, "harness fleet: expected submit, status or collect%s%s; see harness help "
            "fleet\n", *sub ? ", got " : "", sub);
    return SONO_EXIT_USAGE;
}
