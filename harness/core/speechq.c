/* speechq.c — STOI/ESTOI and PESQ for codec ops' quality hooks: both signals brought to
 * 16 kHz (8 kHz stays 8 kHz), STOI here, PESQ through the scorer the run layer installed
 * (harness/run/pesq_role.c), every absence explained in speech_note. See speechq.h. */
#include "speechq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ref/resample64.h"
#include "stoi.h"

static sono_pesq_fn pesq_fn;
static void *pesq_ctx;
static char pesq_why[200] = "no PESQ scorer in this process";

void sono_speechq_set_pesq(sono_pesq_fn fn, void *ctx, const char *why_none)
{
    pesq_fn = fn;
    pesq_ctx = ctx;
    snprintf(pesq_why, sizeof pesq_why, "%s", why_none ? why_none : "no PESQ scorer");
}

/* x at rate to *y at to (malloc'ed floats, *m samples: floor(n * to / rate)). */
static int to_rate(const float *x, long long n, double rate, double to, float **y,
                   long long *m)
{
    *m = (long long)floor((double)n * to / rate);
    *y = malloc(sizeof **y * (size_t)(*m > 0 ? *m : 1));
    if (!*y)
        return SONO_ENOMEM;
    if (rate == to) {
        memcpy(*y, x, sizeof **y * (size_t)n);
        return 0;
    }
    double *d = malloc(sizeof *d * (size_t)(*m > 0 ? *m : 1));
    if (!d || sono_resample64(x, n, rate, d, *m, to)) {
        free(d);
        return SONO_ENOMEM;
    }
    for (long long i = 0; i < *m; i++)
        (*y)[i] = (float)d[i];
    free(d);
    return 0;
}

static void note(sono_quality *q, const char *what)
{
    size_t len = strlen(q->speech_note);
    snprintf(q->speech_note + len, sizeof q->speech_note - len, "%s%s", len ? "; " : "",
             what);
}

int sono_quality_speech(const float *in, const float *out, long long n, double rate,
                        sono_quality *q, sono_error *err)
{
    if (!(rate > 0))
        return sono_fail(err, SONO_EINVAL, "speech quality: sample rate %g is not positive",
                         rate);
    for (long long i = 0; i < n; i++)
        if (!isfinite(in[i]) || !isfinite(out[i]))
            return sono_fail(err, SONO_EINVAL, "speech quality: sample %lld of the %s is "
                             "not finite", i, isfinite(in[i]) ? "output" : "input");
    double to = rate == 8000 ? 8000 : 16000;
    snprintf(q->pesq_mode, sizeof q->pesq_mode, "%s", to == 8000 ? "nb" : "wb");
    float *x = NULL, *y = NULL;
    long long m = 0, m2 = 0;
    if (to_rate(in, n, rate, to, &x, &m) || to_rate(out, n, rate, to, &y, &m2)) {
        free(x);
        free(y);
        return sono_fail(err, SONO_ENOMEM, "speech quality: no memory to resample %lld "
                         "samples", n);
    }
    int short_input = 0, rc = 0;
    sono_error e2 = {0};
    rc = sono_stoi(x, y, m, to, &q->stoi, &q->estoi, &short_input, &e2);
    if (rc == SONO_ENOMEM)
        goto out;
    if (rc || short_input) {
        char w[256];
        snprintf(w, sizeof w, "STOI: %s", rc ? e2.msg : "under 384 ms of speech");
        note(q, w);
    } else
        q->has |= SONO_Q_STOI | SONO_Q_ESTOI;
    rc = 0;
    if (!pesq_fn) {
        char w[256];
        snprintf(w, sizeof w, "PESQ: %s", pesq_why);
        note(q, w);
    } else {
        e2 = (sono_error){0};
        if (pesq_fn(pesq_ctx, x, y, m, to, q->pesq_mode, &q->pesq, &e2) == 0 &&
            isfinite(q->pesq))
            q->has |= SONO_Q_PESQ;
        else {
            char w[256];
            snprintf(w, sizeof w, "PESQ: %s", e2.msg[0] ? e2.msg : "no score");
            note(q, w);
        }
    }
out:
    free(x);
    free(y);
    if (rc)
        return sono_fail(err, rc, "speech quality: no memory for STOI of %lld samples", m);
    return 0;
}
