/* results.h — the results file: one JSON document per run (schema sonobench.results/1).
 * A run appends each finished case to a journal beside it (FILE.journal, JSON lines,
 * synced) and writes the file whole once, at its end; a run killed part-way leaves the
 * journal, and the next reader (sono_results_load, `harness results repair`) rebuilds the
 * file from it, so every completed case survives kill -9 at a cost linear in the cases. */
#ifndef SONO_RESULTS_H
#define SONO_RESULTS_H

#include <jansson.h>

#include "record.h"

#define SONO_RESULTS_SCHEMA "sonobench.results/1"

typedef struct sono_results sono_results;

/* Start a results file at path: header holds "suite" and "env" (references stolen).
 * The document is written at once, with "complete": false and no cases, and the journal
 * path.journal begun: its first line {"journal": "sonobench.journal/1", "schema", "suite",
 * "env", "run": {"started"}}, synced, and locked for as long as this run holds it. */
int sono_results_open(const char *path, json_t *suite, json_t *env, sono_results **out,
                      sono_error *err);
/* Append one finished case's record (borrowed) to the journal: one compact line, one
 * write(), fdatasync. Nothing is kept in memory. */
int sono_results_add(sono_results *r, json_t *rec, sono_error *err);
/* Mark the run complete (or interrupted), assemble the file from the journal with
 * summary counts, write it once (temp, fsync, rename), remove the journal, free. When
 * writing fails the journal stays, for a repair. */
/* issue 22: one repetition of case id (borrowed), appended to the journal so a run cut
 * short between rounds keeps it; the finished file holds it inside the case's record, or,
 * for a case that never finished, in "partial_repetitions". */
int sono_results_add_repetition(sono_results *r, const char *id, json_t *rec, sono_error *err);
int sono_results_close(sono_results *r, int interrupted, sono_error *err);
/* Free without finishing: the journal stays, unlocked, as after a crash. */
void sono_results_abandon(sono_results *r);

/* What sono_results_repair found beside a results file. */
typedef struct sono_repair {
    int had_journal;   /* path.journal was there */
    int repaired;      /* the file was rebuilt from it and the journal removed */
    int live;          /* a run still holds its lock: nothing was changed */
    long cases;        /* whole records in the journal */
    long dropped_line; /* the torn last line, dropped (0: none) */
} sono_repair;

/* Rebuild path from path.journal when a run died leaving one: the suite, env and every
 * whole record, "complete": false, "interrupted": true, "repaired": when; written
 * atomically, then the journal removed. A torn last line (no newline, or not JSON) is
 * dropped with a note on stderr. No journal, or a live run's: 0 and nothing changes.
 * SONO_EPARSE naming the journal and line for an unreadable header or a bad record
 * before the last line; then nothing is changed or removed. info may be NULL. */
int sono_results_repair(const char *path, sono_repair *info, sono_error *err);

/* A case's parameters as the JSON object records and the worker protocol use: integers
 * exactly, reals, strings (new reference). */
json_t *sono_params_json(const sono_params *p);

/* The results file's "suite" object for a plan (new reference). */
json_t *sono_suite_json(const sono_plan *plan);

/* Read and validate a results file: JSON syntax (file:line:column), the schema string,
 * and every case's required fields and types. SONO_EPARSE naming the file and, for a
 * case, its index and id. A journal beside the file is dealt with first: a dead run's is
 * repaired (sono_results_repair; a note on stderr says so); a live run's is read as the
 * document so far ("complete": false), changing nothing. *doc is a new reference. */
int sono_results_load(const char *path, json_t **doc, sono_error *err);

#endif
