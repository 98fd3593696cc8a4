/* record.c — the record's metric list and status: the one place figures are appended to a
 * case's record, so a new figure is one call in the file that computes it. */
#include "record.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int sono_record_metric(sono_record *rec, const char *key, double value, const char *unit,
                       sono_better better, const char *hint)
{
    sono_metric *m = (sono_metric *)sono_record_get(rec, key);
    if (strlen(key) >= sizeof m->key || strlen(unit ? unit : "") >= sizeof m->unit)
        return SONO_EINVAL;
    if (!m) {
        if (rec->nmetrics == SONO_MAX_METRICS)
            return SONO_ENOMEM;
        m = &rec->metrics[rec->nmetrics++];
        snprintf(m->key, sizeof m->key, "%s", key);
    }
    m->value = value;
    snprintf(m->unit, sizeof m->unit, "%s", unit ? unit : "");
    m->better = better;
    snprintf(m->hint, sizeof m->hint, "%s", hint ? hint : "");
    return 0;
}

const sono_metric *sono_record_get(const sono_record *rec, const char *key)
{
    for (int i = 0; i < rec->nmetrics; i++)
        if (strcmp(rec->metrics[i].key, key) == 0)
            return &rec->metrics[i];
    return NULL;
}

double sono_record_value(const sono_record *rec, const char *key, double dflt)
{
    const sono_metric *m = sono_record_get(rec, key);
    return m && isfinite(m->value) ? m->value : dflt;
}

static const char *const statuses[] = {"ok",    "fail",  "skip",  "error", "crash",
                                       "timeout", "xfail", "xpass", NULL};

const char *sono_status_intern(const char *s)
{
    for (int i = 0; s && statuses[i]; i++)
        if (strcmp(s, statuses[i]) == 0)
            return statuses[i];
    return NULL;
}

void sono_record_status(sono_record *rec, const char *status, const char *msg)
{
    rec->status = sono_status_intern(status) ? sono_status_intern(status) : "error";
    snprintf(rec->message, sizeof rec->message, "%s", msg ? msg : "");
}

void sono_record_expect_fail(sono_record *rec)
{
    if (!rec->c || !rec->c->xfail[0] || !rec->status)
        return;
    const char *was = rec->status;
    if (strcmp(was, "ok") == 0) {
        rec->status = sono_status_intern("xpass");
        snprintf(rec->message, sizeof rec->message, "passed, but the suite expects it to fail "
                 "(%s): remove its expect_fail", rec->c->xfail);
    } else if (strcmp(was, "fail") == 0 || strcmp(was, "error") == 0) {
        char m[sizeof rec->message];
        snprintf(m, sizeof m, "expected: %s (%s%s%s)", rec->c->xfail, was,
                 rec->message[0] ? ": " : "", rec->message);
        rec->status = sono_status_intern("xfail");
        snprintf(rec->message, sizeof rec->message, "%s", m);
    } else
        return;
    rec->xfail_was = was;
}

void sono_record_free(sono_record *rec)
{
    for (int i = 0; i < rec->nreps; i++)
        sono_measurement_free(&rec->reps[i].m);
    free(rec->reps);
    sono_measurement_free(&rec->m);
    json_decref(rec->counters);
    json_decref(rec->gpu);
    json_decref(rec->stream);
    memset(rec, 0, sizeof *rec);
}

const char *sono_better_name(sono_better b)
{
    return b == SONO_BETTER_LOWER ? "lower" : b == SONO_BETTER_HIGHER ? "higher" : "none";
}
