/* fleet.h — one suite across many machines through Slurm (issue 13): the manifest a
 * fleet folder keeps (fleet.json: what was asked), the sbatch script, each array task's
 * Slurm state, and the collection of shard results into one file per machine. */
#ifndef SONO_FLEET_H
#define SONO_FLEET_H

#include <jansson.h>
#include <stdio.h>

#include "sono.h"

#define SONO_FLEET_SCHEMA "sonobench.fleet/1"
#define SONO_FLEET_MANIFEST "fleet.json"

/* What `fleet submit` writes into the sbatch script: all paths absolute, so the nodes
 * (which share them) need nothing else. */
typedef struct sono_fleet_script {
    const char *suite_name, *suite_file, *suite_sha256;
    const char *harness, *dir, *commit;
    int shards;
    const char *partition, *constraint, *gres; /* NULL: not asked */
    int minutes;     /* Slurm time limit of one task */
    int shared;      /* 0: --exclusive, each task has its node to itself */
} sono_fleet_script;

/* The script's text (malloc'ed) and its file name (DIR/<suite>-fleet.sbatch). */
char *sono_fleet_script_text(const sono_fleet_script *s);
void sono_fleet_script_path(const char *dir, const char *suite, char *out, size_t n);

/* Run argv (PATH searched), its stdout into out (NUL-terminated, cut to n), stderr to
 * ours or to /dev/null (quiet); returns the exit status, or -1 when it cannot start. */
int sono_fleet_spawn(const char *const *argv, char *out, size_t n, int quiet);

/* DIR/fleet.json; load: new reference, SONO_ENOTFOUND when absent. */
int sono_fleet_manifest_load(const char *dir, json_t **m, sono_error *err);
int sono_fleet_manifest_save(const char *dir, json_t *m, sono_error *err);

/* The state of every array task of job (task ids 0..ntasks-1) from squeue, then sacct,
 * then scontrol: Slurm's words (PENDING, RUNNING, COMPLETED, FAILED, TIMEOUT,
 * NODE_FAIL, ...), or "" where Slurm no longer knows (or cannot be asked). state[i] holds
 * 32 bytes. */
void sono_fleet_job_states(const char *job, int ntasks, char (*state)[32]);

/* pending, running, done or failed for a Slurm state; NULL for "" (unknown). */
const char *sono_fleet_state_class(const char *slurm);

/* What the task's log (DIR/logs/JOB_TASK.out) says its results file is; 0 when found. */
int sono_fleet_task_output(const char *dir, const char *job, int task, char *out, size_t n);

/* 1 when path is a results file whose run completed; 0 when partial; -1 absent/bad. */
int sono_fleet_results_complete(const char *path);

/* Merge the shard files in dir into one results file per machine in outdir, checking
 * that each machine's shards agree on suite, commit and environment and cover the suite
 * exactly; missing and failed shards are named with their Slurm state and log (from the
 * manifest, where there is one). Says what it did on f. 0: all merged; SONO_EPARSE:
 * something is missing or disagrees (err says the first; f lists all). */
int sono_fleet_collect(const char *dir, const char *outdir, FILE *f, sono_error *err);

#endif
