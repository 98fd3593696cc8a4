/* results.c — the results document: building case records as JSON, a run's records
 * appended to a journal beside the file (one line each, synced) and assembled into the
 * file once at the end, repairing a file whose run died, and reading a file back checked. */
#include "results.h"
#include "results_copy.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SONO_JOURNAL_FORMAT "sonobench.journal/1"

struct sono_results {
    char path[4096];
    char tmp[4200];
    char journal[4200];
    int jfd;     /* the journal: appended to, and locked while this run lives */
    off_t jsize; /* its length after the last whole line: a failed append is cut back here */
};

static void utc_now(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A rename is only durable once its folder is synced. Some file systems refuse to sync
 * a folder (EINVAL): the rename then stands as the file system keeps it, as before. */
static void sync_dir_of(const char *path)
{
    char copy[4200];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Temp file in the same folder, fsync, rename: readers see the old or the new file,
 * never half of one, even after kill -9 or a power cut. */
static int write_doc(const char *path, const char *tmp, json_t *doc, sono_error *err)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return sono_fail(err, SONO_EIO, "%s: cannot write: %s", tmp, strerror(errno));
    }
    int bad = json_dumpf(doc, f, JSON_INDENT(1) | JSON_REAL_PRECISION(10)) != 0;
    bad |= fputc('\n', f) == EOF;
    bad |= fflush(f) != 0;
    bad |= fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return sono_fail(err, SONO_EIO, "%s: cannot write results: %s", path, strerror(e));
    }
    sync_dir_of(path);
    return 0;
}

/* The journal's lock says "a run is still writing this": an open-file-description lock,
 * so it goes when the writer dies (kill -9 included), is not dropped when the same
 * process opens and closes the journal again, and a worker forked for a case does not
 * keep it (the descriptor is close-on-exec). 0: locked by us; 1: someone else holds it;
 * -1: this file system cannot say (the journal is then treated as unlocked). */
static int lock_journal(int fd)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
        return 0;
    return errno == EAGAIN || errno == EACCES ? 1 : -1;
}

/* The same question on a journal we may only read: is a writer's lock on it? */
static int journal_locked_ro(int fd)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    return fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
}

/* One whole line (text ends in '\n') with one write(): a reader or a repair sees the
 * line entirely or not at all, unless the disk fills or the power goes mid-write; then
 * the line has no newline and is dropped as torn. */
static int append_line(sono_results *r, const char *text, size_t n, sono_error *err)
{
    ssize_t w;
    do
        w = write(r->jfd, text, n);
    while (w < 0 && errno == EINTR);
    int e = errno;
    if (w != (ssize_t)n) {
        /* cut back a partial line, so the next append does not glue onto it */
        if (w > 0 && ftruncate(r->jfd, r->jsize) != 0)
            e = errno;
        return sono_fail(err, SONO_EIO, "%s: cannot append: %s", r->journal,
                         w < 0 ? strerror(e) : "short write (disk full?)");
    }
    if (fdatasync(r->jfd) != 0)
        return sono_fail(err, SONO_EIO, "%s: cannot sync: %s", r->journal, strerror(errno));
    r->jsize += (off_t)n;
    return 0;
}

/* rec as one compact line with its newline (malloc'd), or NULL when out of memory. */
static char *json_line(json_t *j, size_t *n)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10));
    if (!s)
        return NULL;
    size_t len = strlen(s);
    char *line = realloc(s, len + 2);
    if (!line) {
        free(s);
        return NULL;
    }
    line[len] = '\n';
    line[len + 1] = 0;
    *n = len + 1;
    return line;
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
    r->jfd = -1;
    snprintf(r->path, sizeof r->path, "%s", path);
    snprintf(r->tmp, sizeof r->tmp, "%s.tmp", path);
    snprintf(r->journal, sizeof r->journal, "%s.journal", path);
    char now[32];
    utc_now(now, sizeof now);
    /* the file a reader finds until the run ends: valid, incomplete, no cases */
    json_t *doc = json_pack("{s:s, s:O, s:O, s:{s:s, s:b, s:b}, s:[]}", "schema",
                            SONO_RESULTS_SCHEMA, "suite", suite, "env", env, "run", "started",
                            now, "complete", 0, "interrupted", 0, "cases");
    json_t *head = json_pack("{s:s, s:s, s:o, s:o, s:{s:s}}", "journal", SONO_JOURNAL_FORMAT,
                             "schema", SONO_RESULTS_SCHEMA, "suite", suite, "env", env, "run",
                             "started", now);
    size_t n = 0;
    char *line = head ? json_line(head, &n) : NULL;
    json_decref(head);
    int rc = doc && line ? write_doc(r->path, r->tmp, doc, err)
                         : sono_fail(err, SONO_ENOMEM, "out of memory");
    json_decref(doc);
    /* The journal is made whole under the temp name, locked, synced, then renamed into
     * place: a reader never finds one without its header or without its writer's lock. */
    if (!rc) {
        r->jfd = open(r->tmp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
        if (r->jfd < 0)
            rc = sono_fail(err, SONO_EIO, "%s: cannot write: %s", r->tmp, strerror(errno));
    }
    if (!rc) {
        (void)lock_journal(r->jfd); /* advisory: where unsupported, runs still work */
        rc = append_line(r, line, n, err);
        if (!rc && fsync(r->jfd) != 0) /* a new file: its inode too, not only its data */
            rc = sono_fail(err, SONO_EIO, "%s: cannot sync: %s", r->tmp, strerror(errno));
        if (!rc && rename(r->tmp, r->journal) != 0)
            rc = sono_fail(err, SONO_EIO, "%s: cannot start the journal: %s", r->journal,
                           strerror(errno));
        if (rc)
            unlink(r->tmp);
        else
            sync_dir_of(r->journal);
    }
    free(line);
    if (rc) {
        sono_results_abandon(r);
        return rc;
    }
    *out = r;
    return 0;
}

int sono_results_add_repetition(sono_results *r, const char *id, json_t *rec, sono_error *err)
{
    json_t *j = json_pack("{s:s, s:O}", "repetition_of", id, "record", rec);
    int rc = j ? sono_results_add(r, j, err) : sono_fail(err, SONO_ENOMEM, "out of memory");
    json_decref(j);
    return rc;
}

int sono_results_add(sono_results *r, json_t *rec, sono_error *err)
{
    size_t n;
    char *line = json_line(rec, &n);
    if (!line)
        return sono_fail(err, SONO_ENOMEM, "out of memory adding a record");
    int rc = append_line(r, line, n, err);
    free(line);
    return rc;
}

static int parse_journal(const char *jpath, char *buf, size_t n, int quiet, json_t **head,
                         json_t *cases, sono_repair *info, sono_error *err);
static json_t *assemble(json_t *head, json_t *cases, int complete, int interrupted,
                        const char *finished, const char *repaired);
static int read_all(int fd, const char *jpath, char **buf, size_t *n, sono_error *err);

/* The file, once: assembled from the journal (the records are nowhere else), written
 * whole, and only then the journal removed. If writing fails the journal stays, and the
 * next reader of the file repairs it from there. */
int sono_results_close(sono_results *r, int interrupted, sono_error *err)
{
    char now[32];
    utc_now(now, sizeof now);
    char *buf = NULL;
    size_t n = 0;
    json_t *head = NULL, *cases = json_array(), *doc = NULL;
    sono_repair info = {0};
    int rc = cases ? read_all(r->jfd, r->journal, &buf, &n, err)
                   : sono_fail(err, SONO_ENOMEM, "out of memory");
    if (!rc)
        rc = parse_journal(r->journal, buf, n, 1, &head, cases, &info, err);
    free(buf);
    if (!rc) {
        doc = assemble(head, cases, !interrupted, interrupted, now, NULL);
        rc = doc ? write_doc(r->path, r->tmp, doc, err)
                 : sono_fail(err, SONO_ENOMEM, "out of memory");
    }
    if (!rc && unlink(r->journal) != 0 && errno != ENOENT)
        rc = sono_fail(err, SONO_EIO, "%s: cannot remove the journal: %s", r->journal,
                       strerror(errno));
    if (!rc)
        sono_results_copy(r->path); /* tests: each finished file gets validated */
    json_decref(doc);
    json_decref(head);
    json_decref(cases);
    sono_results_abandon(r);
    return rc;
}

/* Closing the descriptor drops the lock: the journal, if still there, is then a dead
 * run's, for the next reader to repair. */
void sono_results_abandon(sono_results *r)
{
    if (!r)
        return;
    if (r->jfd >= 0)
        close(r->jfd);
    free(r);
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


/* ---- reading ----------------------------------------------------------------------- */

static const char *const statuses[] = {"ok",    "fail",  "skip",  "error", "crash",
                                       "timeout", "xfail", "xpass", NULL};

/* What is wrong with one case record, or NULL: the same rules for a file's cases and
 * for a journal's lines. */
static const char *case_problem(json_t *c)
{
    if (!json_is_object(c))
        return "expected an object";
    const char *st = json_string_value(json_object_get(c, "status"));
    int known = 0;
    for (int k = 0; st && statuses[k]; k++)
        known |= strcmp(st, statuses[k]) == 0;
    json_t *t = json_object_get(c, "time_ns");
    if (!json_is_string(json_object_get(c, "id")) || !json_is_string(json_object_get(c, "op")) ||
        !json_is_string(json_object_get(c, "impl")))
        return "expected strings \"id\", \"op\", \"impl\"";
    if (!known)
        return "\"status\" must be ok, fail, skip, error, crash, timeout, xfail or xpass";
    if (!json_is_object(json_object_get(c, "params")))
        return "expected an object \"params\"";
    if (t && (!json_is_number(json_object_get(t, "median")) ||
              !json_is_array(json_object_get(t, "samples"))))
        return "\"time_ns\" needs a number \"median\" and an array \"samples\"";
    if (t && json_number_value(json_object_get(t, "median")) < 0) /* issue 27 */
        return "\"time_ns.median\" is negative: a time never is";
    if (strcmp(st, "ok") == 0 && !t)
        return "status ok without \"time_ns\"";
    return NULL;
}

static int check_doc(const char *path, json_t *d, sono_error *err)
{
    const char *schema = json_string_value(json_object_get(d, "schema"));
    json_t *cases = json_object_get(d, "cases");
    if (!json_is_object(d) || !schema || strcmp(schema, SONO_RESULTS_SCHEMA) != 0)
        return sono_fail(err, SONO_EPARSE, "%s: not a sonobench results file: expected "
                         "\"schema\": \"%s\"", path, SONO_RESULTS_SCHEMA);
    if (!json_is_array(cases) || !json_is_object(json_object_get(d, "env")) ||
        !json_is_object(json_object_get(d, "run")))
        return sono_fail(err, SONO_EPARSE, "%s: expected objects \"env\", \"run\" and an array "
                         "\"cases\"", path);
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *what = case_problem(c);
        if (what) {
            const char *id = json_string_value(json_object_get(c, "id"));
            return sono_fail(err, SONO_EPARSE, "%s: case %zu (%s): %s", path, i,
                             id ? id : "no id", what);
        }
    }
    return 0;
}

/* The whole journal from offset 0 (pread: the writer's own descriptor, if it is ours,
 * keeps its offset and its lock). */
static int read_all(int fd, const char *jpath, char **buf, size_t *n, sono_error *err)
{
    struct stat st;
    *buf = NULL;
    *n = 0;
    if (fstat(fd, &st) != 0)
        return sono_fail(err, SONO_EIO, "%s: cannot read: %s", jpath, strerror(errno));
    size_t cap = (size_t)st.st_size + 1, got = 0;
    char *b = malloc(cap);
    if (!b)
        return sono_fail(err, SONO_ENOMEM, "%s: out of memory reading it", jpath);
    for (;;) {
        if (got + 1 >= cap) { /* a live writer appended since the fstat */
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                return sono_fail(err, SONO_ENOMEM, "%s: out of memory reading it", jpath);
            }
            b = nb;
            cap *= 2;
        }
        ssize_t k = pread(fd, b + got, cap - 1 - got, (off_t)got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            int e = errno;
            free(b);
            return sono_fail(err, SONO_EIO, "%s: cannot read: %s", jpath, strerror(e));
        }
        if (k == 0)
            break;
        got += (size_t)k;
    }
    b[got] = 0;
    *buf = b;
    *n = got;
    return 0;
}

/* Header (line 1) and records (one a line). A last line without its newline, or one
 * that is not JSON, is a write the run did not finish: dropped, with a note on stderr
 * unless quiet (a live run's last line may be one it is writing now). Any other bad line
 * is damage no rule can mend: refused, naming the journal and the line. */
static int parse_journal(const char *jpath, char *buf, size_t n, int quiet, json_t **head,
                         json_t *cases, sono_repair *info, sono_error *err)
{
    *head = NULL;
    if (n == 0)
        return sono_fail(err, SONO_EPARSE, "%s:1: empty journal: expected its header line "
                         "{\"journal\": \"%s\", ...}", jpath, SONO_JOURNAL_FORMAT);
    long line = 0;
    for (size_t pos = 0; pos < n;) {
        line++;
        char *nl = memchr(buf + pos, '\n', n - pos);
        size_t len = nl ? (size_t)(nl - (buf + pos)) : n - pos;
        int last = !nl || (size_t)(nl - buf) + 1 == n;
        json_error_t je = {.text = "no newline at the end of the line"};
        json_t *j = nl ? json_loadb(buf + pos, len, 0, &je) : NULL;
        pos += len + 1;
        if (line == 1) {
            const char *fmt = json_string_value(json_object_get(j, "journal"));
            json_t *run = json_object_get(j, "run");
            if (!j || !fmt || strcmp(fmt, SONO_JOURNAL_FORMAT) != 0 ||
                !json_is_object(json_object_get(j, "suite")) ||
                !json_is_object(json_object_get(j, "env")) ||
                !json_is_string(json_object_get(run, "started"))) {
                json_decref(j);
                return sono_fail(err, SONO_EPARSE, "%s:1: not a sonobench journal header: "
                                 "expected {\"journal\": \"%s\", \"suite\": {...}, \"env\": "
                                 "{...}, \"run\": {\"started\": ...}}%s%s", jpath,
                                 SONO_JOURNAL_FORMAT, j ? "" : ": ", j ? "" : je.text);
            }
            *head = j;
            continue;
        }
        if (!j && last) {
            if (!quiet)
                fprintf(stderr, "harness: %s:%ld: dropped the torn last line (%s); the %ld "
                        "before it are kept\n", jpath, line, je.text, line - 2);
            info->dropped_line = line;
            break;
        }
        /* issue 22: a repetition of a case that has not finished all of its repetitions */
        int partial = j && json_is_string(json_object_get(j, "repetition_of"));
        const char *what = !j ? je.text
                           : partial ? (json_is_object(json_object_get(j, "record"))
                                            ? NULL
                                            : "a repetition line needs an object \"record\"")
                                     : case_problem(j);
        if (what || json_array_append_new(cases, j)) {
            int rc = sono_fail(err, SONO_EPARSE, "%s:%ld: %s: %s", jpath, line,
                               j ? "not a case record" : "not JSON",
                               what ? what : "out of memory");
            json_decref(what ? j : NULL);
            json_decref(*head);
            *head = NULL;
            return rc;
        }
    }
    info->cases = (long)json_array_size(cases);
    return 0;
}

/* The document a run's end writes: the same shape whether a run closed it or a repair
 * rebuilt it (repaired: when; a repaired run never finished, so it has no "finished"). */
/* issue 22: repetition lines of cases whose record is there are in it already; those of
 * cases that never finished (a run cut short between rounds) are kept apart, so nothing
 * measured is lost, without posing as a case. Returns the kept ones (new reference). */
static json_t *split_partials(json_t *cases)
{
    json_t *ids = json_object(), *kept = json_array(), *c;
    size_t i;
    json_array_foreach(cases, i, c)
        if (!json_object_get(c, "repetition_of"))
            json_object_set_new(ids, json_string_value(json_object_get(c, "id")), json_true());
    for (i = 0; i < json_array_size(cases);) {
        c = json_array_get(cases, i);
        const char *of = json_string_value(json_object_get(c, "repetition_of"));
        if (!of) {
            i++;
            continue;
        }
        if (!json_object_get(ids, of))
            json_array_append(kept, json_object_get(c, "record"));
        json_array_remove(cases, i);
    }
    json_decref(ids);
    return kept;
}

static json_t *assemble(json_t *head, json_t *cases, int complete, int interrupted,
                        const char *finished, const char *repaired)
{
    json_t *partials = split_partials(cases);
    json_t *counts = json_object();
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *st = json_string_value(json_object_get(c, "status"));
        json_t *k = json_object_get(counts, st);
        json_object_set_new(counts, st, json_integer(k ? json_integer_value(k) + 1 : 1));
    }
    json_t *run = json_pack("{s:O}", "started", json_object_get(json_object_get(head, "run"),
                                                                 "started"));
    if (run && finished)
        json_object_set_new(run, "finished", json_string(finished));
    if (run && repaired)
        json_object_set_new(run, "repaired", json_string(repaired));
    json_t *doc = run ? json_pack("{s:s, s:O, s:O, s:o, s:O}", "schema", SONO_RESULTS_SCHEMA,
                                  "suite", json_object_get(head, "suite"), "env",
                                  json_object_get(head, "env"), "run", run, "cases", cases)
                      : NULL;
    if (doc) {
        json_object_set_new(run, "complete", json_boolean(complete));
        json_object_set_new(run, "interrupted", json_boolean(interrupted));
        json_object_set_new(run, "counts", counts);
        if (json_array_size(partials))
            json_object_set(doc, "partial_repetitions", partials);
    } else
        json_decref(counts);
    json_decref(partials);
    return doc;
}

/* What a journal beside path says. No journal: info->had_journal 0. A dead run's
 * journal: the file is rebuilt from it (incomplete, interrupted), the journal removed,
 * info->repaired. A live run's, or one this process may not change: nothing on disk
 * changes; *view (when asked for) is the document assembled in memory. */
static int journal_pass(const char *path, sono_repair *info, json_t **view, sono_error *err)
{
    char jpath[4200], tmp[4200];
    snprintf(jpath, sizeof jpath, "%s.journal", path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    memset(info, 0, sizeof *info);
    if (view)
        *view = NULL;
    int ro = 0, fd = open(jpath, O_RDWR | O_CLOEXEC);
    if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM)) {
        ro = 1;
        fd = open(jpath, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0)
        return errno == ENOENT ? 0 : sono_fail(err, SONO_EIO, "%s: cannot open: %s", jpath,
                                               strerror(errno));
    struct stat st;
    if (ro)
        info->live = journal_locked_ro(fd);
    else
        info->live = lock_journal(fd) == 1;
    /* the lock came free because its run closed (and removed the journal) just now */
    if (!info->live && fstat(fd, &st) == 0 && st.st_nlink == 0) {
        close(fd);
        return 0;
    }
    info->had_journal = 1;
    char *buf = NULL;
    size_t n = 0;
    json_t *head = NULL, *cases = json_array(), *doc = NULL;
    char now[32];
    utc_now(now, sizeof now);
    int rc = cases ? read_all(fd, jpath, &buf, &n, err)
                   : sono_fail(err, SONO_ENOMEM, "out of memory");
    if (!rc)
        rc = parse_journal(jpath, buf, n, info->live, &head, cases, info, err);
    free(buf);
    if (!rc) {
        doc = info->live ? assemble(head, cases, 0, 0, NULL, NULL)
                         : assemble(head, cases, 0, 1, NULL, ro ? NULL : now);
        if (!doc)
            rc = sono_fail(err, SONO_ENOMEM, "out of memory");
    }
    if (!rc && !info->live && ro)
        fprintf(stderr, "harness: %s: cannot repair from %s (read-only): read from the "
                "journal, nothing changed\n", path, jpath);
    else if (!rc && !info->live) {
        rc = write_doc(path, tmp, doc, err);
        if (!rc && unlink(jpath) != 0)
            rc = sono_fail(err, SONO_EIO, "%s: repaired, but cannot remove %s: %s", path, jpath,
                           strerror(errno));
        info->repaired = !rc;
        if (!rc)
            sono_results_copy(path); /* tests: a repaired file gets validated too */
    }
    close(fd); /* only now: the lock kept a second repair out until the journal was gone */
    if (!rc && view && !info->repaired)
        *view = json_incref(doc);
    json_decref(doc);
    json_decref(head);
    json_decref(cases);
    return rc;
}

int sono_results_repair(const char *path, sono_repair *info, sono_error *err)
{
    sono_repair dummy;
    return journal_pass(path, info ? info : &dummy, NULL, err);
}

int sono_results_load(const char *path, json_t **doc, sono_error *err)
{
    json_error_t je;
    *doc = NULL;
    sono_repair info;
    json_t *view = NULL;
    int rc = journal_pass(path, &info, &view, err);
    if (rc)
        return rc;
    if (info.repaired)
        fprintf(stderr, "harness: %s: repaired from journal: %ld cases (run interrupted)\n",
                path, info.cases);
    json_t *d = view ? view : json_load_file(path, 0, &je);
    if (!d)
        return sono_fail(err, je.line < 0 ? SONO_EIO : SONO_EPARSE, "%s:%d:%d: %s", path,
                         je.line, je.column, je.text);
    rc = check_doc(path, d, err);
    if (rc)
        json_decref(d);
    else
        *doc = d;
    return rc;
}
