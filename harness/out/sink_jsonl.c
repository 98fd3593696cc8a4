/* sink_jsonl.c — `run --format jsonl`: the run as JSON lines on stdout, so another tool can
 * follow it live: a "begin" line (suite, case count), one "record" line per case as it
 * finishes (the results file's case object), an "end" line with the counts. */
#include <stdlib.h>

#include "results.h"
#include "sink.h"

static int put(FILE *f, json_t *o, sono_error *err)
{
    if (!o)
        return sono_fail(err, SONO_ENOMEM, "jsonl: out of memory");
    int bad = json_dumpf(o, f, JSON_COMPACT | JSON_REAL_PRECISION(10)) != 0;
    bad |= fputc('\n', f) == EOF;
    bad |= fflush(f) != 0;
    json_decref(o);
    /* a reader that went away (a closed pipe) ends the run like a full disk would */
    return bad ? sono_fail(err, SONO_EIO, "jsonl: cannot write to standard output") : 0;
}

static int jsonl_begin(sono_sink *s, const sono_run_info *run, sono_error *err)
{
    return put(s->ctx, json_pack("{s:s, s:o}", "event", "begin", "suite",
                                 sono_suite_json(run->plan)), err);
}

static int jsonl_record(sono_sink *s, const sono_run_info *run, const sono_record *rec,
                        sono_error *err)
{
    (void)run;
    return put(s->ctx, json_pack("{s:s, s:o}", "event", "record", "record",
                                 sono_record_to_json(rec)), err);
}

static int jsonl_end(sono_sink *s, const sono_run_info *run, const sono_run_counts *n,
                     int failed, sono_error *err)
{
    (void)run;
    return put(s->ctx, json_pack("{s:s, s:{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}, s:b, s:b}",
                                 "event", "end", "counts", "ok", n->ok, "fail", n->fail, "skip",
                                 n->skip, "error", n->error, "crash", n->crash, "timeout",
                                 n->timeout, "xfail", n->xfail, "xpass", n->xpass, "interrupted", n->interrupted, "complete",
                                 !n->interrupted && !failed),
               err);
}

sono_sink *sono_sink_jsonl(FILE *f)
{
    sono_sink *s = calloc(1, sizeof *s);
    if (s)
        *s = (sono_sink){.name = "jsonl", .ctx = f, .begin = jsonl_begin,
                         .record = jsonl_record, .end = jsonl_end};
    return s;
}
