/* stages.h — private to the executor: the stages one case goes through (prepare,
 * measure offline or streaming, judge, derive), the state they hand on, and the
 * executor's cache they share. execute.c's run_case calls them in order. */
#ifndef SONO_STAGES_H
#define SONO_STAGES_H

#include <signal.h>

#include "counters.h"
#include "evict.h"
#include "execute.h"
#include "lifecycle.h"
#include "record.h"
#include "stream.h"

/* One input and one reference are kept: the plan runs every impl of a (params, input)
 * back to back, so each is made once. */
struct sono_executor {
    int input;
    sono_buf in;
    char in_key[400];
    char sha[65];
    double rate;
    sono_buf ref;
    char ref_key[800];
    sono_evict *evict;    /* made at the first cold case */
    sono_counters *ctr;   /* opened at the first cpu case; NULL with ctr_why if refused */
    int ctr_tried;
    char ctr_why[512];
    char pin[32];       /* the setting applied to this process, "" before any */
    char pin_desc[128]; /* what that did, for the records */
};

/* What the lifecycle timed and counted besides the samples; derive turns them into the
 * record's metrics. */
typedef struct sono_stage_figures {
    sono_lifecycle_figures lc;
    double peak_rss_bytes;
} sono_stage_figures;

/* One case on its way through the stages. plan, c, k and stop are the caller's; the rest
 * is filled by the stages and released by sono_case_run_free. */
typedef struct sono_case_run {
    const sono_plan *plan;
    const sono_case *c;
    sono_executor *k;
    volatile sig_atomic_t *stop;
    int streaming;          /* chunk_ms or chunk set (issue 12) */
    int cold;               /* cache = cold: evict before every sample */
    sono_stream_shape ss;   /* streaming: the op's layout and settings */
    sono_stream_cfg scfg;
    sono_buf out;           /* the impl's output (the stream's, when streaming) */
    sono_buf off;           /* streaming: the impl's own offline output */
    sono_stream_run srun;   /* streaming: the pushes */
    sono_stage_figures fig;
    const char *verdict;    /* set by a stage whose failure is a "skip", not an "error" */
} sono_case_run;

/* Prepare: whether the case can run here (skip reasons, streaming layout), then the
 * input (seeded, hashed into rec), the float64 reference (both cached in k), the output
 * buffers, the pin and the evictor. 0, or an error with r->verdict = "skip" when it is
 * one. */
int sono_stage_prepare(sono_case_run *r, sono_record *rec, sono_error *err);
/* Frees what the stages allocated in r (not plan, case or executor). */
void sono_case_run_free(sono_case_run *r);

/* Measure: peak RSS reset, the device's case_begin, then the offline or the streaming
 * measurement into rec (samples, counters, describe, gpu) and r->fig. SONO_EINTR when
 * interrupted. */
int sono_stage_measure(sono_case_run *r, sono_record *rec, sono_error *err);
/* The usual case, hot or cold: the measured loop and the counters pass, then store. */
int sono_measure_offline(sono_case_run *r, sono_record *rec, sono_error *err);
/* Issue 12: the impl's own offline output into r->off, then the stream into r->out. */
int sono_measure_stream(sono_case_run *r, sono_record *rec, sono_error *err);

/* Judge r->out: the op's check or the generic one against the reference, quality, and a
 * stream against the impl's offline output; sets rec's status to ok or fail. An error in
 * judging itself returns it (the caller records "error"). */
int sono_stage_judge(sono_case_run *r, sono_record *rec, sono_error *err);

/* The cost model's and the lifecycle's figures as rec's metrics (rates from the median; a
 * streaming case's from all its pushes). SONO_ENOMEM when the record has no room. */
int sono_stage_derive(const sono_case *c, int streaming, const sono_stage_figures *f,
                      sono_record *rec, sono_error *err);

#endif
