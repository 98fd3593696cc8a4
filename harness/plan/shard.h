/* shard.h — a plan split into N balanced, deterministic parts (`run --shard I/N`, issue 13):
 * each case's expected wall time from its measurement settings and the op's cost model,
 * then longest first onto the least loaded shard, so the parts take about equal time and
 * every node that loads the same suite computes the same partition. */
#ifndef SONO_SHARD_H
#define SONO_SHARD_H

#include <jansson.h>

#include "suite.h"

/* What a shard's results file records so that `fleet collect` can check that the parts
 * of one machine are exactly the suite: the suite's case count and a digest of all its
 * ids, and where each of this shard's cases stands in the suite's order. */
typedef struct sono_shard {
    int index, count;      /* 1-based index of count */
    int suite_cases;       /* cases of the whole (unsharded) plan */
    char ids_sha256[65];   /* sha256 of the whole plan's ids, sorted, one per line */
    int *positions;        /* plan index of each case kept, in plan order */
    int npositions;
    double expected_s;     /* this shard's expected wall time */
    double suite_expected_s;
} sono_shard;

/* Expected wall seconds of one case: a fixed per-case cost (worker start, input,
 * reference, check), the warm-up, and the timed loop, which stops between min_time_s
 * and budget_s and needs min_samples runs at a nominal rate. Depends only on the plan
 * (not on the machine or which backends load), so every node agrees on it. */
double sono_case_expected_s(const sono_case *c);

/* "I/N" with 1 <= I <= N <= 4096. */
int sono_shard_parse(const char *text, int *index, int *count, sono_error *err);

/* Shard (0-based) of each of plan's cases, for count shards; loads (count doubles, may
 * be NULL) gets each shard's expected seconds. */
int sono_shard_assign(const sono_plan *plan, int count, int *assign, double *loads,
                      sono_error *err);

/* Keep only the cases of shard index (1-based) of count, in plan order; fills info
 * (release with sono_shard_free). */
int sono_plan_shard(sono_plan *plan, int index, int count, sono_shard *info,
                    sono_error *err);
void sono_shard_free(sono_shard *s);

/* The results file's "shard" object (new reference). */
json_t *sono_shard_json(const sono_shard *s);

/* sha256 of ids (sorted here, one per line): the digest sono_shard.ids_sha256 holds. */
int sono_ids_sha256(const char *const *ids, int n, char hex[65]);

#endif
