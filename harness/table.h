/* table.h — the human-readable sink: one table per op (impl, params, input, median, +-CI,
 * GFLOP/s, GB/s, x real time, rel. error, status), failures first, printed at the end;
 * and the one-line progress report per case while the run goes on. */
#ifndef SONO_TABLE_H
#define SONO_TABLE_H

#include <stdio.h>

#include "record.h"

typedef struct sono_table sono_table;

sono_table *sono_table_new(void);
/* Copies what the table shows; rec may be freed afterwards. */
int sono_table_add(sono_table *t, const sono_record *rec);
void sono_table_print(const sono_table *t, FILE *f);
void sono_table_free(sono_table *t);

/* "12.3 us": 3-4 significant digits with a unit from ns to s. */
void sono_format_ns(double ns, char *buf, size_t n);
/* One line for progress: "[ 3/40] ok    fft/cpu/radix2/n=1024,batch=1/noise  1.23 us". */
void sono_progress_line(FILE *f, int i, int n, const sono_record *rec);

#endif
