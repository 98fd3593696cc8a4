/* sink.h — where finished records go. The run loop hands each record, typed, to every sink
 * in order (the results file first, so a completed case is on disk before anything else
 * sees it); sinks know nothing of each other (Google Benchmark's reporters). */
#ifndef SONO_SINK_H
#define SONO_SINK_H

#include <stdio.h>
#include <time.h>

#include "record.h"
#include "suite.h"
#include "table.h"

typedef struct sono_run_counts {
    int ok, fail, skip, error, crash, timeout;
    int xfail, xpass; /* issue 27: the suite's expect_fail; neither fails the run */
    int interrupted;
} sono_run_counts;

typedef struct sono_run_info {
    const sono_plan *plan;
    struct timespec t0; /* CLOCK_MONOTONIC at the start of the run */
    int quick_cal;      /* issue 27: roof% is against a `calibrate --quick` */
} sono_run_info;

typedef struct sono_sink sono_sink;
struct sono_sink {
    const char *name;
    void *ctx;
    /* All optional. begin before the first case; case_start as case i (of the plan) is
     * handed out; record for each finished case; end once, after the last record or when
     * the run stopped (failed: a sink's error or the user's stop cut it short). A non-zero
     * return from begin or record stops the run with that error. */
    int (*begin)(sono_sink *s, const sono_run_info *run, sono_error *err);
    void (*case_start)(sono_sink *s, const sono_run_info *run, int i);
    int (*record)(sono_sink *s, const sono_run_info *run, const sono_record *rec,
                  sono_error *err);
    int (*end)(sono_sink *s, const sono_run_info *run, const sono_run_counts *n, int failed,
               sono_error *err);
    /* issue 22, optional: one repetition's record (rec->repetition >= 1) as it finishes;
     * the case's own record, over all its repetitions, comes to record() after its last. */
    int (*repetition)(sono_sink *s, const sono_run_info *run, const sono_record *rec,
                      sono_error *err);
    void (*free)(sono_sink *s);
};

void sono_sink_free(sono_sink *s);

/* The sinks of this project (out/): each returns NULL when out of memory. */
struct sono_results;
/* Appends each record to r; end closes r (complete, or interrupted when failed). */
sono_sink *sono_sink_results(struct sono_results *r);
/* The live progress line on a terminal f: case i of n, elapsed, time left. */
sono_sink *sono_sink_progress(FILE *f);
/* The tables: with live, each row as its case finishes (an op's header when its first row
 * arrives); at the end the full tables, failures first. */
sono_sink *sono_sink_table(FILE *f, int live);
/* issue 27: the same in a format of table.h (live rows only for the text table). */
sono_sink *sono_sink_table_fmt(FILE *f, int live, sono_table_format fmt);
/* One compact JSON object per line: {"event": "begin"|"record"|"end", ...}. */
sono_sink *sono_sink_jsonl(FILE *f);

#endif
