/* evict.h — cold-cache support: a buffer twice the last-level cache that, streamed over
 * with writes between samples, pushes the measured code's data out of every cache level,
 * so a "cold" sample pays for its memory traffic. */
#ifndef SONO_EVICT_H
#define SONO_EVICT_H

#include <stddef.h>

#include "sono.h"

typedef struct sono_evict sono_evict;

/* Size the buffer at 2 x the last-level cache hwloc reports (the largest L3, else the
 * largest L2, else an assumed 32 MiB when hwloc knows none), allocate it and touch every
 * page so the first sono_evict_run pays no page faults. Twice, not once, because caches
 * are not perfectly LRU: one pass leaves part of the old lines resident. Returns 0, or
 * SONO_ENOMEM / SONO_EDEVICE (hwloc failed) with err filled; *e is NULL on error. */
int sono_evict_init(sono_evict **e, sono_error *err);

/* Read-modify-write one byte of every cache line of the buffer, so each line is pulled
 * in and dirtied, in several passes (one pass is not enough against scan-resistant
 * LLCs: see evict.c); the sum goes to a volatile sink, so the compiler keeps the loop.
 * Run it between samples, outside the timed region: about 8 ms per 64 MiB buffer on a
 * current server core. This evicts data the harness cannot name (an impl's workspace,
 * its plan's tables). */
void sono_evict_run(sono_evict *e);

/* Flush the lines of p[0..n) out of every cache level of this core (clflush on x86,
 * dc civac on AArch64) and wait for it: cheap and exact for buffers the core knows
 * (the case's input and output). Needs no sono_evict. Returns 0, or SONO_EUNSUPPORTED
 * on an architecture without a user-space flush (nothing is done). */
int sono_evict_flush(const void *p, size_t n);

/* Bytes of the buffer streamed by each run: what the record states as the eviction
 * size. 0 for NULL. */
size_t sono_evict_bytes(const sono_evict *e);

/* The cache it was sized from, for the record: "L3" or "L2" (hwloc), or "default" when
 * hwloc reported no cache; and that cache's size in bytes (0 for "default"). */
const char *sono_evict_source(const sono_evict *e, size_t *cache_bytes);

/* Free the buffer. NULL is a no-op. */
void sono_evict_free(sono_evict *e);

#endif
