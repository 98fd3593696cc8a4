/* table.h — what the table sink (sink.h's sono_sink_table) shares with other printers:
 * durations for people. The sink itself shows one table per op (impl, params, input,
 * median, +-CI, GFLOP/s, GB/s, x real time, rel. error, status). */
#ifndef SONO_TABLE_H
#define SONO_TABLE_H

#include <stddef.h>

/* "12.3 us": 3-4 significant digits with a unit from ns to s. */
void sono_format_ns(double ns, char *buf, size_t n);

#endif
