/* fleet.c — the Slurm side of fleet runs (issue 13): the sbatch script, running Slurm's
 * commands, reading each array task's state and its log, and the fleet.json manifest.
 * Collecting the results is in fleet_collect.c. */
#include "fleet.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

void sono_fleet_script_path(const char *dir, const char *suite, char *out, size_t n)
{
    snprintf(out, n, "%s/%s-fleet.sbatch", dir, suite);
}

/* Appends printf text to a growing buffer; on no memory the text is lost and *bad set. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
    int bad;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || b->bad)
        return;
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->bad = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Single quotes for the shell: the paths go into variables the user can read and edit. */
static void put_quoted(sbuf *b, const char *s)
{
    put(b, "'");
    for (; *s; s++)
        *s == '\'' ? put(b, "'\\''") : put(b, "%c", *s);
    put(b, "'");
}

char *sono_fleet_script_text(const sono_fleet_script *s)
{
    sbuf b = {0};
    put(&b, "#!/bin/bash\n"
            "# %s-fleet.sbatch - sonobench suite %s as a Slurm job array, written by\n"
            "# `harness fleet submit`. Array task i runs shard i+1 of %d of the suite on one\n"
            "# node and writes %s/%s-HOST-GPU-SHARD.json; `harness fleet collect` merges\n"
            "# the shards of each machine. Submitted once per target node:\n"
            "#   sbatch --array=0-%d [--nodelist=NODE] %s-fleet.sbatch\n"
            "# Edit freely: the harness only reads the results files and logs/.\n",
        s->suite_name, s->suite_name, s->shards, s->dir, s->suite_name, s->shards - 1,
        s->suite_name);
    put(&b, "#SBATCH --job-name=sono-%s\n", s->suite_name);
    put(&b, "#SBATCH --output=%s/logs/%%A_%%a.out\n", s->dir);
    put(&b, "#SBATCH --nodes=1\n#SBATCH --ntasks=1\n");
    put(&b, "#SBATCH --time=%d\n", s->minutes);
    if (s->shared)
        put(&b, "# --shared: tasks may share a node (timings then disturb each other)\n"
                "#SBATCH --cpus-per-task=1\n");
    else
        put(&b, "# the node to itself: another job beside a benchmark skews its timings\n"
                "#SBATCH --exclusive\n");
    if (s->partition)
        put(&b, "#SBATCH --partition=%s\n", s->partition);
    if (s->constraint)
        put(&b, "#SBATCH --constraint=%s\n", s->constraint);
    if (s->gres)
        put(&b, "#SBATCH --gres=%s\n", s->gres);
    put(&b, "set -euo pipefail\n\n"
            "# One build for every node (a path they share, or `make install PREFIX=...`),\n"
            "# and the suite as it was at submission (its sha256 is checked below).\n");
    put(&b, "HARNESS=");
    put_quoted(&b, s->harness);
    put(&b, "\nSUITE=");
    put_quoted(&b, s->suite_file);
    put(&b, "\nSUITE_SHA256=%s\nCOMMIT=", s->suite_sha256);
    put_quoted(&b, s->commit);
    put(&b, "\nSHARDS=%d\nOUT=", s->shards);
    put_quoted(&b, s->dir);
    put(&b, "\n\n"
            "shard=$((SLURM_ARRAY_TASK_ID + 1))\n"
            "host=$(hostname -s)\n"
            "# the GPU's model names the file (\"cpu\" where there is none): lower case, '-'\n"
            "gpu=cpu\n"
            "dev=${CUDA_VISIBLE_DEVICES:-0}\n"
            "name=$(nvidia-smi --query-gpu=name --format=csv,noheader -i \"${dev%%%%,*}\" \\\n"
            "       2>/dev/null | head -n1 || true)\n"
            "if [ -n \"$name\" ]; then\n"
            "    gpu=$(printf '%%s' \"$name\" | tr 'A-Z' 'a-z' | tr -cs 'a-z0-9' '-' |\n"
            "          sed 's/^-//; s/-$//')\n"
            "fi\n"
            "out=\"$OUT/%s-$host-$gpu-$shard.json\"\n"
            "# `harness fleet status` and `collect` read this line to find the results file\n"
            "echo \"sonobench fleet: shard $shard/$SHARDS on $host ($gpu) -> $out\"\n"
            "if ! echo \"$SUITE_SHA256  $SUITE\" | sha256sum --check --status; then\n"
            "    echo \"sonobench fleet: $SUITE changed since submission (sha256 was\" \\\n"
            "         \"$SUITE_SHA256): its results would not compare\" >&2\n"
            "    exit 2\n"
            "fi\n"
            "v=$(\"$HARNESS\" version)\n"
            "echo \"sonobench fleet: $v, commit $COMMIT\"\n"
            "# exit 1 when a case failed its check; the results file is complete all the same\n"
            "exec \"$HARNESS\" run \"$SUITE\" --shard \"$shard/$SHARDS\" --quiet --out \"$out\"\n",
        s->suite_name);
    if (b.bad) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

int sono_fleet_spawn(const char *const *argv, char *out, size_t n, int quiet)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
    if (quiet)
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addclose(&fa, fd[0]);
    posix_spawn_file_actions_addclose(&fa, fd[1]);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fd[1]);
    size_t len = 0;
    ssize_t got;
    char sink[4096];
    /* read it all (a long answer must not block the child), keep what fits */
    while (rc == 0 && (got = read(fd[0], sink, sizeof sink)) != 0) {
        if (got < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        size_t k = n > len + 1 ? n - len - 1 : 0;
        k = (size_t)got < k ? (size_t)got : k;
        memcpy(out + len, sink, k);
        len += k;
    }
    close(fd[0]);
    if (n)
        out[len] = 0;
    if (rc != 0)
        return -1;
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int sono_fleet_manifest_load(const char *dir, json_t **m, sono_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, SONO_FLEET_MANIFEST);
    if (access(path, F_OK) != 0)
        return sono_fail(err, SONO_ENOTFOUND, "%s: no fleet manifest (written by harness "
                         "fleet submit)", path);
    json_error_t je;
    json_t *d = json_load_file(path, 0, &je);
    if (!d)
        return sono_fail(err, SONO_EPARSE, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    const char *schema = json_string_value(json_object_get(d, "schema"));
    json_t *targets = json_object_get(d, "targets");
    json_t *shards = json_object_get(d, "shards");
    if (!schema || strcmp(schema, SONO_FLEET_SCHEMA) != 0 || !json_is_array(targets) ||
        !json_is_integer(shards) || json_integer_value(shards) < 1 ||
        !json_is_object(json_object_get(d, "suite"))) {
        json_decref(d);
        return sono_fail(err, SONO_EPARSE, "%s: expected schema \"%s\" with \"suite\", "
                         "\"shards\" (>= 1) and \"targets\"", path, SONO_FLEET_SCHEMA);
    }
    size_t i;
    json_t *t;
    json_array_foreach(targets, i, t) {
        json_t *jobs = json_object_get(t, "jobs");
        if (!json_is_array(jobs) ||
            json_array_size(jobs) != (size_t)json_integer_value(shards)) {
            json_decref(d);
            return sono_fail(err, SONO_EPARSE, "%s: target %zu: expected \"jobs\", one job "
                             "id per shard", path, i);
        }
    }
    *m = d;
    return 0;
}

int sono_fleet_manifest_save(const char *dir, json_t *m, sono_error *err)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/%s", dir, SONO_FLEET_MANIFEST);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (json_dump_file(m, tmp, JSON_INDENT(1)) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return sono_fail(err, SONO_EIO, "%s: cannot write: %s", path, strerror(e));
    }
    return 0;
}

/* "JOB_TASK" (or "JOB_[0-3]" for tasks not yet split out) and a state, into state[]. */
static void take(const char *job, const char *id, const char *st, int ntasks,
                 char (*state)[32])
{
    size_t jl = strlen(job);
    if (strncmp(id, job, jl) != 0 || id[jl] != '_')
        return;
    char word[32];
    snprintf(word, sizeof word, "%.*s", (int)strcspn(st, " \t\n|"), st);
    const char *p = id + jl + 1;
    if (*p != '[') {
        char *end;
        long t = strtol(p, &end, 10);
        if (end != p && t >= 0 && t < ntasks && !state[t][0])
            snprintf(state[t], 32, "%s", word);
        return;
    }
    /* a pending array's rest: "[2-5,7%2]" */
    for (p++; *p && *p != ']' && *p != '%';) {
        char *end;
        long a = strtol(p, &end, 10), b = a;
        if (end == p)
            break;
        p = end;
        if (*p == '-') {
            b = strtol(p + 1, &end, 10);
            p = end;
        }
        for (long t = a; t <= b && t < ntasks; t++)
            if (t >= 0 && !state[t][0])
                snprintf(state[t], 32, "%s", word);
        if (*p == ',')
            p++;
    }
}

void sono_fleet_job_states(const char *job, int ntasks, char (*state)[32])
{
    for (int i = 0; i < ntasks; i++)
        state[i][0] = 0;
    static char out[1 << 16];
    /* live tasks */
    const char *sq[] = {"squeue", "-h", "-r", "-j", job, "-o", "%i|%T", NULL};
    if (sono_fleet_spawn(sq, out, sizeof out, 1) == 0)
        for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
            char *bar = strchr(line, '|');
            if (bar) {
                *bar = 0;
                take(job, line, bar + 1, ntasks, state);
            }
        }
    /* finished tasks: accounting where there is some */
    const char *sa[] = {"sacct", "-n", "-P", "-X", "-j", job, "-o", "JobID,State", NULL};
    if (sono_fleet_spawn(sa, out, sizeof out, 1) == 0)
        for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
            char *bar = strchr(line, '|');
            if (bar) {
                *bar = 0;
                take(job, line, bar + 1, ntasks, state);
            }
        }
    /* without accounting, the controller remembers finished jobs for MinJobAge */
    const char *sc[] = {"scontrol", "-o", "show", "job", job, NULL};
    if (sono_fleet_spawn(sc, out, sizeof out, 1) == 0)
        for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
            char *a = strstr(line, "ArrayJobId="), *t = strstr(line, "ArrayTaskId="),
                 *s = strstr(line, "JobState=");
            if (!a || !t || !s)
                continue;
            char id[96];
            snprintf(id, sizeof id, "%.*s_%.*s", (int)strcspn(a + 11, " "), a + 11,
                     (int)strcspn(t + 12, " "), t + 12);
            take(job, id, s + 9, ntasks, state);
        }
}

const char *sono_fleet_state_class(const char *s)
{
    static const char *const pending[] = {"PENDING", "CONFIGURING", "REQUEUED",
                                          "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD",
                                          NULL};
    static const char *const running[] = {"RUNNING", "COMPLETING", "SUSPENDED", "STAGE_OUT",
                                          "SIGNALING", "RESIZING", NULL};
    if (!s || !*s)
        return NULL;
    if (strcmp(s, "COMPLETED") == 0)
        return "done";
    for (int i = 0; pending[i]; i++)
        if (strcmp(s, pending[i]) == 0)
            return "pending";
    for (int i = 0; running[i]; i++)
        if (strcmp(s, running[i]) == 0)
            return "running";
    return "failed"; /* FAILED, TIMEOUT, NODE_FAIL, CANCELLED, OUT_OF_MEMORY, BOOT_FAIL... */
}

int sono_fleet_task_output(const char *dir, const char *job, int task, char *out, size_t n)
{
    char path[4200], line[4600];
    snprintf(path, sizeof path, "%s/logs/%s_%d.out", dir, job, task);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int found = -1;
    while (found && fgets(line, sizeof line, f)) {
        const char *arrow = strstr(line, " -> ");
        if (strncmp(line, "sonobench fleet: shard ", 23) == 0 && arrow) {
            snprintf(out, n, "%.*s", (int)strcspn(arrow + 4, "\n"), arrow + 4);
            found = 0;
        }
    }
    fclose(f);
    return found;
}

int sono_fleet_results_complete(const char *path)
{
    json_t *d = json_load_file(path, 0, NULL);
    if (!d)
        return -1;
    json_t *run = json_object_get(d, "run");
    int complete = json_is_true(json_object_get(run, "complete"));
    json_decref(d);
    return complete;
}
