/* sink_results.c — the results-file sink: each record, as JSON, appended to the results
 * file's journal the moment it arrives; at the end the file is closed, complete or
 * interrupted. Also sono_sink_free, the one way any sink is released. */
#include <stdlib.h>

#include "results.h"
#include "sink.h"

void sono_sink_free(sono_sink *s)
{
    if (s && s->free)
        s->free(s);
    else
        free(s);
}

static int results_record(sono_sink *s, const sono_run_info *run, const sono_record *rec,
                          sono_error *err)
{
    (void)run;
    json_t *j = sono_record_to_json(rec);
    if (!j)
        return sono_fail(err, SONO_ENOMEM, "cannot build the record of %s", rec->c->id);
    int rc = sono_results_add(s->ctx, j, err);
    json_decref(j);
    return rc;
}

static int results_rep(sono_sink *s, const sono_run_info *run, const sono_record *rec,
                       sono_error *err)
{
    (void)run;
    json_t *j = sono_record_to_json(rec);
    if (!j)
        return sono_fail(err, SONO_ENOMEM, "cannot build the record of %s", rec->c->id);
    int rc = sono_results_add_repetition(s->ctx, rec->c->id, j, err);
    json_decref(j);
    return rc;
}

static int results_end(sono_sink *s, const sono_run_info *run, const sono_run_counts *n,
                       int failed, sono_error *err)
{
    (void)run;
    int rc = sono_results_close(s->ctx, n->interrupted || failed, err);
    s->ctx = NULL; /* closed and freed, whatever rc */
    return rc;
}

static void results_free(sono_sink *s)
{
    sono_results_abandon(s->ctx); /* never ended: the file stays as last written */
    free(s);
}

sono_sink *sono_sink_results(struct sono_results *r)
{
    sono_sink *s = calloc(1, sizeof *s);
    if (s)
        *s = (sono_sink){.name = "results", .ctx = r, .record = results_record,
                         .end = results_end, .free = results_free,
                         .repetition = results_rep};
    return s;
}
