/* fleet_collect.c — `harness fleet collect` (issue 13): the shard results files of a fleet
 * folder grouped by machine (the file name less its shard number), checked to agree on
 * suite, commit and environment and to cover the suite exactly, and merged into one
 * ordinary results file per machine, in the suite's order. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fleet.h"
#include "results.h"
#include "results_copy.h"
#include "shard.h"

typedef struct shardfile {
    char name[256]; /* in dir */
    char key[256];  /* the machine: name less "-INDEX.json" */
    json_t *doc;
    json_t *shard;  /* doc's suite.shard */
    int index, count;
} shardfile;

typedef struct collect {
    const char *dir;
    FILE *f;
    json_t *manifest; /* NULL: none, no Slurm states */
    int problems;
    char first[1024];
} collect;

static void problem(collect *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(collect *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(c->f, "  problem: %s\n", msg);
    if (!c->problems++)
        snprintf(c->first, sizeof c->first, "%s", msg);
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* What must be equal for timings of one machine to be one run: the host, its CPU and
 * OS, the build (compiler, flags, commit, harness version, libraries), which backends
 * loaded and the GPUs' models. Measured figures (clock overheads) may differ. */
static json_t *fingerprint(json_t *env)
{
    json_t *fp = json_object();
    const char *keys[] = {"host", "cpu", "os", "kernel", "machine", "compiler", "git",
                          "harness", "libs", NULL};
    for (int i = 0; keys[i]; i++) {
        json_t *v = json_object_get(env, keys[i]);
        json_object_set(fp, keys[i], v ? v : json_null());
    }
    json_t *b = json_object(), *g = json_array(), *v;
    const char *name;
    json_object_foreach(json_object_get(env, "backends"), name, v)
        json_object_set(b, name, json_object_get(v, "available"));
    size_t i;
    json_array_foreach(json_object_get(env, "gpus"), i, v)
        json_array_append(g, json_object_get(v, "name"));
    json_object_set_new(fp, "backends", b);
    json_object_set_new(fp, "gpus", g);
    return fp;
}

/* The first key whose value differs between two environments, for the message. */
static const char *env_diff(json_t *a, json_t *b)
{
    json_t *fa = fingerprint(a), *fb = fingerprint(b), *v;
    const char *key, *diff = NULL;
    static char buf[64];
    json_object_foreach(fa, key, v)
        if (!diff && !json_equal(v, json_object_get(fb, key))) {
            snprintf(buf, sizeof buf, "%s", key);
            diff = buf;
        }
    json_decref(fa);
    json_decref(fb);
    return diff;
}

static int by_name(const void *a, const void *b)
{
    const shardfile *x = a, *y = b;
    int k = strcmp(x->key, y->key);
    return k ? k : x->index - y->index;
}

static int read_dir(collect *c, shardfile **out, int *nout)
{
    DIR *d = opendir(c->dir);
    if (!d)
        return -1;
    shardfile *v = NULL;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0 ||
            strcmp(e->d_name, SONO_FLEET_MANIFEST) == 0 || len >= sizeof v->name)
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", c->dir, e->d_name);
        json_t *doc;
        sono_error err = {0};
        if (sono_results_load(path, &doc, &err)) {
            problem(c, "%s", err.msg);
            continue;
        }
        json_t *sh = json_object_get(json_object_get(doc, "suite"), "shard");
        if (!json_is_object(sh)) {
            fprintf(c->f, "  note: %s: not a shard (no suite.shard): ignored\n", e->d_name);
            json_decref(doc);
            continue;
        }
        shardfile *nv = realloc(v, (size_t)(n + 1) * sizeof *v);
        if (!nv) {
            json_decref(doc);
            break;
        }
        v = nv;
        shardfile *s = &v[n++];
        memset(s, 0, sizeof *s);
        snprintf(s->name, sizeof s->name, "%s", e->d_name);
        s->doc = doc;
        s->shard = sh;
        s->index = (int)json_integer_value(json_object_get(sh, "index"));
        s->count = (int)json_integer_value(json_object_get(sh, "count"));
        /* "quick-node7-nvidia-h100-3.json": the machine is all before "-3.json" */
        char tail[32];
        snprintf(tail, sizeof tail, "-%d.json", s->index);
        size_t tl = strlen(tail);
        size_t keep = len > tl && strcmp(e->d_name + len - tl, tail) == 0 ? len - tl : len - 5;
        snprintf(s->key, sizeof s->key, "%.*s", (int)keep, e->d_name);
    }
    closedir(d);
    if (n)
        qsort(v, (size_t)n, sizeof *v, by_name);
    *out = v;
    *nout = n;
    return 0;
}

static int write_json(const char *path, json_t *doc)
{
    char tmp[4400];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (json_dump_file(doc, tmp, JSON_INDENT(1) | JSON_REAL_PRECISION(10)) != 0 ||
        rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* One machine's shards s[0..n), sorted by index: checked, then merged into outdir. */
static void merge_machine(collect *c, shardfile *s, int n, const char *outdir)
{
    int before = c->problems;
    const char *key = s[0].key;
    json_t *suite0 = json_object_get(s[0].doc, "suite");
    json_t *env0 = json_object_get(s[0].doc, "env");
    int count = s[0].count;
    int total = (int)json_integer_value(json_object_get(s[0].shard, "suite_cases"));
    const char *ids0 = str(s[0].shard, "ids_sha256");
    fprintf(c->f, "%s: %d of %d shards\n", key, n, count);
    for (int i = 1; i < n; i++) {
        json_t *suite = json_object_get(s[i].doc, "suite");
        json_t *env = json_object_get(s[i].doc, "env");
        const char *diff;
        if (strcmp(str(suite, "sha256"), str(suite0, "sha256")) != 0)
            problem(c, "%s: %s and %s ran different suite files (sha256 %.12s and %.12s)",
                    key, s[0].name, s[i].name, str(suite0, "sha256"), str(suite, "sha256"));
        else if (s[i].count != count || strcmp(str(s[i].shard, "ids_sha256"), ids0) != 0)
            problem(c, "%s: %s and %s split different case sets (%d and %d shards, ids "
                    "%.12s and %.12s)", key, s[0].name, s[i].name, count, s[i].count, ids0,
                    str(s[i].shard, "ids_sha256"));
        else if (strcmp(str(env, "git"), str(env0, "git")) != 0)
            problem(c, "%s: %s has commit %s, %s has commit %s: the shards of one machine "
                    "must come from one build", key, s[0].name, str(env0, "git"), s[i].name,
                    str(env, "git"));
        else if ((diff = env_diff(env0, env)))
            problem(c, "%s: %s and %s differ in env.%s: not one machine and build", key,
                    s[0].name, s[i].name, diff);
        if (i && s[i].index == s[i - 1].index)
            problem(c, "%s: shard %d/%d twice (%s and %s)", key, s[i].index, count,
                    s[i - 1].name, s[i].name);
    }
    if (c->manifest) {
        json_t *ms = json_object_get(c->manifest, "suite");
        const char *commit = str(c->manifest, "commit");
        int mshards = (int)json_integer_value(json_object_get(c->manifest, "shards"));
        if (strcmp(str(ms, "sha256"), str(suite0, "sha256")) != 0)
            problem(c, "%s: suite sha256 %.12s, but the fleet submitted %.12s", s[0].name,
                    str(suite0, "sha256"), str(ms, "sha256"));
        if (*commit && strcmp(commit, str(env0, "git")) != 0)
            problem(c, "%s: commit %s, but the fleet submitted commit %s", s[0].name,
                    str(env0, "git"), commit);
        if (mshards != count)
            problem(c, "%s: %d shards, but the fleet submitted %d", s[0].name, count,
                    mshards);
    }
    for (int k = 1, i = 0; k <= count; k++) {
        while (i < n && s[i].index < k)
            i++;
        if (i >= n || s[i].index != k) {
            problem(c, "%s: shard %d/%d missing (no %s-%d.json)", key, k, count, key, k);
            continue;
        }
        json_t *run = json_object_get(s[i].doc, "run");
        size_t got = json_array_size(json_object_get(s[i].doc, "cases"));
        size_t want = json_array_size(json_object_get(s[i].shard, "positions"));
        if (!json_is_true(json_object_get(run, "complete")) || got != want)
            problem(c, "%s: shard %d/%d incomplete (%zu of %zu cases%s) in %s", key, k,
                    count, got, want,
                    json_is_true(json_object_get(run, "interrupted")) ? ", interrupted" : "",
                    s[i].name);
    }
    if (c->problems > before)
        return;

    /* every case in its place in the suite's order, each place filled once */
    json_t **slot = calloc((size_t)(total ? total : 1), sizeof *slot);
    const char **ids = calloc((size_t)(total ? total : 1), sizeof *ids);
    if (!slot || !ids) {
        problem(c, "%s: no memory to merge %d cases", key, total);
        free(slot);
        free(ids);
        return;
    }
    char started[64] = "", finished[64] = "";
    json_t *files = json_array();
    for (int i = 0; i < n; i++) {
        json_t *pos = json_object_get(s[i].shard, "positions"), *rec;
        json_t *cases = json_object_get(s[i].doc, "cases");
        size_t j;
        json_array_foreach(cases, j, rec) {
            json_int_t p = json_integer_value(json_array_get(pos, j));
            if (p < 0 || p >= total || slot[p]) {
                problem(c, "%s: %s: case %zu has position %lld, %s", key, s[i].name, j,
                        (long long)p, p < 0 || p >= total ? "outside the suite" : "taken twice");
                continue;
            }
            slot[p] = rec;
            ids[p] = str(rec, "id");
        }
        json_t *run = json_object_get(s[i].doc, "run");
        if (!*started || strcmp(str(run, "started"), started) < 0)
            snprintf(started, sizeof started, "%s", str(run, "started"));
        if (strcmp(str(run, "finished"), finished) > 0)
            snprintf(finished, sizeof finished, "%s", str(run, "finished"));
        json_array_append_new(files, json_string(s[i].name));
    }
    for (int p = 0; p < total && c->problems == before; p++)
        if (!slot[p])
            problem(c, "%s: no shard holds case %d of %d", key, p, total);
    char digest[65] = "";
    if (c->problems == before && sono_ids_sha256(ids, total, digest) == 0 &&
        strcmp(digest, ids0) != 0)
        problem(c, "%s: the merged case ids (sha256 %.12s) are not the suite's (%.12s)", key,
                digest, ids0);
    if (c->problems == before) {
        json_t *doc = json_deep_copy(s[0].doc);
        json_t *suite = json_object_get(doc, "suite"), *cases = json_array(),
               *counts = json_object();
        json_object_del(suite, "shard");
        json_object_set_new(suite, "cases", json_integer(total));
        for (int p = 0; p < total; p++) {
            json_array_append(cases, slot[p]);
            const char *st = str(slot[p], "status");
            json_t *k = json_object_get(counts, st);
            json_object_set_new(counts, st, json_integer(k ? json_integer_value(k) + 1 : 1));
        }
        json_object_set_new(doc, "cases", cases);
        json_t *run = json_object_get(doc, "run");
        json_object_set_new(run, "started", json_string(started));
        json_object_set_new(run, "finished", json_string(finished));
        json_object_set_new(run, "counts", counts);
        json_object_set_new(doc, "fleet", json_pack("{s:i, s:O, s:s}", "shards", count,
                                                    "files", files, "ids_sha256", digest));
        char path[4400];
        snprintf(path, sizeof path, "%s/%s.json", outdir, key);
        if (write_json(path, doc))
            problem(c, "%s: cannot write: %s", path, strerror(errno));
        else {
            sono_results_copy(path); /* a merged file is a results file: tests validate it */
            fprintf(c->f, "  merged %d cases (", total);
            const char *st;
            json_t *v;
            int first = 1;
            json_object_foreach(counts, st, v) {
                fprintf(c->f, "%s%lld %s", first ? "" : ", ", (long long)json_integer_value(v),
                        st);
                first = 0;
            }
            fprintf(c->f, ") -> %s\n", path);
        }
        json_decref(doc);
    }
    json_decref(files);
    free(slot);
    free(ids);
}

/* The manifest's tasks that left no complete results file, with Slurm's word on them. */
static void failed_tasks(collect *c)
{
    json_t *targets = json_object_get(c->manifest, "targets"), *t;
    int shards = (int)json_integer_value(json_object_get(c->manifest, "shards"));
    char (*state)[32] = calloc((size_t)shards, sizeof *state);
    if (!state)
        return;
    size_t ti;
    json_array_foreach(targets, ti, t) {
        json_t *jobs = json_object_get(t, "jobs");
        char last[64] = "";
        for (int k = 0; k < shards; k++) {
            const char *job = json_string_value(json_array_get(jobs, k));
            if (!job || !*job) {
                problem(c, "target %s shard %d/%d: never submitted", str(t, "name"), k + 1,
                        shards);
                continue;
            }
            if (strcmp(job, last) != 0) { /* one query per job, not per task */
                sono_fleet_job_states(job, shards, state);
                snprintf(last, sizeof last, "%s", job);
            }
            char out[4096], log[4400];
            snprintf(log, sizeof log, "%s/logs/%s_%d.out", c->dir, job, k);
            int have = sono_fleet_task_output(c->dir, job, k, out, sizeof out) == 0;
            int complete = have ? sono_fleet_results_complete(out) : -1;
            if (complete == 1)
                continue;
            /* Slurm's COMPLETED with no complete file: the word alone says enough */
            const char *cls = sono_fleet_state_class(state[k]);
            if (cls && strcmp(cls, "done") == 0)
                cls = NULL;
            problem(c, "target %s shard %d/%d (job %s_%d): Slurm %s%s%s%s, log %s%s", str(t, "name"),
                    k + 1, shards, job, k, state[k][0] ? state[k] : "state unknown",
                    cls ? " (" : "", cls ? cls : "", cls ? ")" : "",
                    access(log, F_OK) == 0 ? log : "(none yet)",
                    complete == 0 ? ", results file partial" : have ? ", no results file" : "");
        }
    }
    free(state);
}

int sono_fleet_collect(const char *dir, const char *outdir, FILE *f, sono_error *err)
{
    collect c = {.dir = dir, .f = f};
    sono_error merr = {0};
    int mrc = sono_fleet_manifest_load(dir, &c.manifest, &merr);
    if (mrc && mrc != SONO_ENOTFOUND)
        return sono_fail(err, mrc, "%s", merr.msg);
    if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
        json_decref(c.manifest);
        return sono_fail(err, SONO_EIO, "%s: cannot make the folder: %s", outdir,
                         strerror(errno));
    }
    shardfile *s = NULL;
    int n = 0;
    if (read_dir(&c, &s, &n)) {
        json_decref(c.manifest);
        return sono_fail(err, SONO_EIO, "%s: cannot read: %s", dir, strerror(errno));
    }
    if (n == 0)
        problem(&c, "%s: no shard results files (NAME-SHARD.json with suite.shard)", dir);
    for (int i = 0; i < n;) {
        int j = i;
        while (j < n && strcmp(s[j].key, s[i].key) == 0)
            j++;
        merge_machine(&c, s + i, j - i, outdir);
        i = j;
    }
    if (c.manifest)
        failed_tasks(&c);
    for (int i = 0; i < n; i++)
        json_decref(s[i].doc);
    free(s);
    json_decref(c.manifest);
    if (c.problems)
        return sono_fail(err, SONO_EPARSE, "%d problem%s in %s; the first: %s", c.problems,
                         c.problems > 1 ? "s" : "", dir, c.first);
    return 0;
}
