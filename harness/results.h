/* results.h — the results file: one JSON document per run (schema sonobench.results/1),
 * rewritten atomically (temp file, fsync, rename) after every case, so a run cut short
 * by Ctrl-C or kill -9 leaves a valid file with every completed case. */
#ifndef SONO_RESULTS_H
#define SONO_RESULTS_H

#include <jansson.h>

#include "record.h"

#define SONO_RESULTS_SCHEMA "sonobench.results/1"

typedef struct sono_results sono_results;

/* Start a results file at path: header holds "suite" and "env" (references stolen).
 * The document is written at once, with "complete": false and no cases. */
int sono_results_open(const char *path, json_t *suite, json_t *env, sono_results **out,
                      sono_error *err);
/* Append one finished case's record (borrowed) and rewrite the file. */
int sono_results_add(sono_results *r, json_t *rec, sono_error *err);
/* Mark the run complete (or interrupted), write summary counts, rewrite, free. */
int sono_results_close(sono_results *r, int interrupted, sono_error *err);
void sono_results_abandon(sono_results *r);

/* A case's parameters as the JSON object records and the worker protocol use: integers
 * exactly, reals, strings (new reference). */
json_t *sono_params_json(const sono_params *p);

/* The results file's "suite" object for a plan (new reference). */
json_t *sono_suite_json(const sono_plan *plan);

/* Read and validate a results file: JSON syntax (file:line:column), the schema string,
 * and every case's required fields and types. SONO_EPARSE naming the file and, for a
 * case, its index and id. *doc is a new reference. */
int sono_results_load(const char *path, json_t **doc, sono_error *err);

#endif
