/* results.c — the results document: building case records as JSON, keeping the file
 * valid after every case, and reading a file back with its structure checked. */
#include "results.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct sono_results {
    char path[4096];
    char tmp[4200];
    json_t *doc;
    json_t *cases;
};

static void utc_now(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Temp file in the same folder, fsync, rename: readers see the old or the new file,
 * never half of one, even after kill -9 or a power cut. */
static int write_doc(sono_results *r, sono_error *err)
{
    int fd = open(r->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return sono_fail(err, SONO_EIO, "%s: cannot write: %s", r->tmp, strerror(errno));
    }
    int bad = json_dumpf(r->doc, f, JSON_INDENT(1) | JSON_REAL_PRECISION(10)) != 0;
    bad |= fputc('\n', f) == EOF;
    bad |= fflush(f) != 0;
    bad |= fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(r->tmp, r->path) != 0) {
        int e = errno;
        unlink(r->tmp);
        return sono_fail(err, SONO_EIO, "%s: cannot write results: %s", r->path, strerror(e));
    }
    return 0;
}

int sono_results_open(const char *path, json_t *suite, json_t *env, sono_results **out,
                      sono_error *err)
{
    sono_results *r = calloc(1, sizeof *r);
    if (!r) {
        json_decref(suite);
        json_decref(env);
        return sono_fail(err, SONO_ENOMEM, "out of memory");
    }
    snprintf(r->path, sizeof r->path, "%s", path);
    snprintf(r->tmp, sizeof r->tmp, "%s.tmp", path);
    char now[32];
    utc_now(now, sizeof now);
    r->cases = json_array();
    r->doc = json_pack("{s:s, s:o, s:o, s:{s:s, s:b, s:b}, s:O}", "schema", SONO_RESULTS_SCHEMA,
                       "suite", suite, "env", env, "run", "started", now, "complete", 0,
                       "interrupted", 0, "cases", r->cases);
    int rc = r->doc ? write_doc(r, err) : sono_fail(err, SONO_ENOMEM, "out of memory");
    if (rc) {
        sono_results_abandon(r);
        return rc;
    }
    *out = r;
    return 0;
}

json_t *sono_params_json(const sono_params *p)
{
    json_t *o = json_object();
    for (int i = 0; i < p->count; i++) {
        const sono_param *v = &p->v[i];
        json_object_set_new(o, v->name, v->type == SONO_PINT    ? json_integer(v->i)
                                        : v->type == SONO_PREAL ? json_real(v->r)
                                                                : json_string(v->s));
    }
    return o;
}

json_t *sono_suite_json(const sono_plan *plan)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", plan->name, "file", plan->file,
                     "sha256", plan->sha256, "description", plan->description, "cases",
                     plan->ncases);
}

int sono_results_add(sono_results *r, json_t *rec, sono_error *err)
{
    if (json_array_append(r->cases, rec))
        return sono_fail(err, SONO_ENOMEM, "out of memory adding a record");
    return write_doc(r, err);
}

int sono_results_close(sono_results *r, int interrupted, sono_error *err)
{
    char now[32];
    utc_now(now, sizeof now);
    json_t *run = json_object_get(r->doc, "run");
    json_t *counts = json_object();
    size_t i;
    json_t *c;
    json_array_foreach(r->cases, i, c) {
        const char *st = json_string_value(json_object_get(c, "status"));
        json_t *n = json_object_get(counts, st);
        json_object_set_new(counts, st, json_integer(n ? json_integer_value(n) + 1 : 1));
    }
    json_object_set_new(run, "finished", json_string(now));
    json_object_set_new(run, "complete", json_boolean(!interrupted));
    json_object_set_new(run, "interrupted", json_boolean(interrupted));
    json_object_set_new(run, "counts", counts);
    int rc = write_doc(r, err);
    sono_results_abandon(r);
    return rc;
}

void sono_results_abandon(sono_results *r)
{
    if (!r)
        return;
    json_decref(r->doc);
    json_decref(r->cases);
    free(r);
}

/* ---- reading ----------------------------------------------------------------------- */

static const char *const statuses[] = {"ok", "fail", "skip", "error", "crash", "timeout", NULL};

static int bad_case(sono_error *err, const char *path, size_t i, json_t *c, const char *what)
{
    const char *id = json_string_value(json_object_get(c, "id"));
    return sono_fail(err, SONO_EPARSE, "%s: case %zu (%s): %s", path, i, id ? id : "no id",
                     what);
}

int sono_results_load(const char *path, json_t **doc, sono_error *err)
{
    json_error_t je;
    *doc = NULL;
    json_t *d = json_load_file(path, 0, &je);
    if (!d)
        return sono_fail(err, je.line < 0 ? SONO_EIO : SONO_EPARSE, "%s:%d:%d: %s", path,
                         je.line, je.column, je.text);
    const char *schema = json_string_value(json_object_get(d, "schema"));
    json_t *cases = json_object_get(d, "cases");
    int rc = 0;
    if (!json_is_object(d) || !schema || strcmp(schema, SONO_RESULTS_SCHEMA) != 0)
        rc = sono_fail(err, SONO_EPARSE, "%s: not a sonobench results file: expected "
                       "\"schema\": \"%s\"", path, SONO_RESULTS_SCHEMA);
    else if (!json_is_array(cases) || !json_is_object(json_object_get(d, "env")) ||
             !json_is_object(json_object_get(d, "run")))
        rc = sono_fail(err, SONO_EPARSE, "%s: expected objects \"env\", \"run\" and an array "
                       "\"cases\"", path);
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        if (rc)
            break;
        const char *st = json_string_value(json_object_get(c, "status"));
        int known = 0;
        for (int k = 0; st && statuses[k]; k++)
            known |= strcmp(st, statuses[k]) == 0;
        json_t *t = json_object_get(c, "time_ns");
        if (!json_is_object(c))
            rc = bad_case(err, path, i, c, "expected an object");
        else if (!json_is_string(json_object_get(c, "id")) ||
                 !json_is_string(json_object_get(c, "op")) ||
                 !json_is_string(json_object_get(c, "impl")))
            rc = bad_case(err, path, i, c, "expected strings \"id\", \"op\", \"impl\"");
        else if (!known)
            rc = bad_case(err, path, i, c, "\"status\" must be ok, fail, skip, error, crash "
                          "or timeout");
        else if (!json_is_object(json_object_get(c, "params")))
            rc = bad_case(err, path, i, c, "expected an object \"params\"");
        else if (t && (!json_is_number(json_object_get(t, "median")) ||
                       !json_is_array(json_object_get(t, "samples"))))
            rc = bad_case(err, path, i, c, "\"time_ns\" needs a number \"median\" and an "
                          "array \"samples\"");
        else if ((strcmp(st, "ok") == 0) && !t)
            rc = bad_case(err, path, i, c, "status ok without \"time_ns\"");
    }
    if (rc)
        json_decref(d);
    else
        *doc = d;
    return rc;
}
