/* table.h — the human-readable sink: one table per op (impl, params, input, median, +-CI,
 * GFLOP/s, GB/s, x real time, rel. error, status), failures first, printed at the end;
 * and the one-line progress report per case while the run goes on. */
#ifndef SONO_TABLE_H
#define SONO_TABLE_H

#include <stdio.h>

#include <jansson.h>
#include <time.h>

#include "suite.h"

typedef struct sono_table sono_table;

sono_table *sono_table_new(void);
/* Copies what the table shows from a case and its record (results-file schema). */
int sono_table_add(sono_table *t, const sono_case *c, const json_t *rec);
void sono_table_print(const sono_table *t, FILE *f);
void sono_table_free(sono_table *t);

/* "12.3 us": 3-4 significant digits with a unit from ns to s. */
void sono_format_ns(double ns, char *buf, size_t n);
/* Progress on a terminal: a line rewritten in place while case i (0-based) of n runs
 * ("[ 3/40] 0:12 elapsed, ~0:40 left  fft/cpu/radix2/..."), and a permanent line for
 * each case that did not end ok or skip, so failures stay on screen. */
void sono_progress_live(FILE *f, int i, int n, const struct timespec *t0, const char *id);
void sono_progress_done(FILE *f, int done, int n, const struct timespec *t0,
                        const sono_case *c, const json_t *rec);

#endif
