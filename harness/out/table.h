/* table.h — what the table sink (sink.h's sono_sink_table) shares with other printers:
 * durations for people. The sink itself shows one table per op (impl, params, input,
 * median, +-CI, GFLOP/s, GB/s, x real time, rel. error, status). */
#ifndef SONO_TABLE_H
#define SONO_TABLE_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* "12.3 us": 3-4 significant digits with a unit from ns to s. */
void sono_format_ns(double ns, char *buf, size_t n);

/* Issue 27: how the tables print: the text table a run shows, markdown (a pull request, a
 * wiki), CSV (one table for all ops: op, then every column), JSON ({"tables": [{"op",
 * "columns", "rows"}]}). */
typedef enum {
    SONO_TABLE_TEXT,
    SONO_TABLE_MARKDOWN,
    SONO_TABLE_CSV,
    SONO_TABLE_JSON
} sono_table_format;

/* "table", "markdown", "csv", "json": 0 and *fmt; -1 for another name. */
int sono_table_format_parse(const char *s, sono_table_format *fmt);

/* A results document's tables as its run printed them at the end (fmt text), or in
 * another format; rows from its cases, failures first. 0 or SONO_ENOMEM. */
int sono_table_print_doc(FILE *f, const json_t *doc, sono_table_format fmt);

#endif
