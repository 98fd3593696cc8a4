/* refcache.h — float64 references shared by the rounds of one run: with --repetitions R
 * every round's fresh worker would recompute each case's reference (seconds for a codec);
 * the runner makes a folder for the run, and the first round's worker leaves each
 * reference there for the later ones. */
#ifndef SONO_REFCACHE_H
#define SONO_REFCACHE_H

#include "sono.h"

/* The runner's side: a fresh folder named in SONO_REF_CACHE for the workers it starts
 * (dir receives its path), and its removal with everything in it at the end. */
int sono_refcache_open(char *dir, size_t n, sono_error *err);
void sono_refcache_close(const char *dir);

/* The worker's side, a no-op without SONO_REF_CACHE. key names what the reference depends
 * on (op, params, the input's sha256); the worker's own executable is added, so the two
 * builds of `harness ab` never share one. get: 1 and ref filled (its shape and dtype set
 * already) on a hit, 0 on a miss or any mismatch. put: best effort, errors ignored (a
 * miss next time costs only the recomputation). */
int sono_refcache_get(const char *key, sono_buf *ref);
void sono_refcache_put(const char *key, const sono_buf *ref);

#endif
