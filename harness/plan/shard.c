/* shard.c — splitting a plan into balanced parts for `run --shard I/N` (issue 13): the
 * expected-time model, the longest-first assignment, and the digest `fleet collect` uses
 * to prove that the parts of one machine are exactly the suite. */
#include "shard.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"
#include "sha256.h"

/* A case costs more than its timed loop: the worker starts, the input is built or read,
 * the float64 reference runs, the output is checked. About 30-70 ms on a laptop-class
 * core for the quick suite's cases; the nominal rates stand for a slow impl, since the
 * model cannot know which impl is fast (naive DFTs are in the suites on purpose). */
#define CASE_OVERHEAD_S 0.05
#define NOMINAL_FLOPS 1e9
#define NOMINAL_BYTES_S 4e9
#define MAX_SHARDS 4096

double sono_case_expected_s(const sono_case *c)
{
    sono_cost cost = {0};
    if (c->op && c->op->cost)
        c->op->cost(&c->p, &cost);
    double run = 0;
    if (isfinite(cost.flops) && cost.flops > 0)
        run += cost.flops / NOMINAL_FLOPS;
    if (isfinite(cost.bytes) && cost.bytes > 0)
        run += cost.bytes / NOMINAL_BYTES_S;
    const sono_measure_cfg *m = &c->cfg;
    /* R repetitions: each in a fresh worker with budget_s / R (the runner's split), its
     * own warm-up and start-up; the reference once (the run's refcache) */
    int reps = m->repetitions > 1 ? m->repetitions : 1;
    double t;
    if (m->profile) {
        t = run;
    } else {
        /* warm-up is at least one run; the loop stops on convergence, which cannot come
         * before min_time_s or min_samples runs, or when the budget (warm-up included)
         * is spent */
        double warm = fmax(m->warmup_s, run);
        double loop = fmax(m->min_time_s, (double)m->min_samples * run);
        t = reps * (fmax(fmin(warm + loop, m->budget_s / reps), warm + run) + CASE_OVERHEAD_S);
        t -= CASE_OVERHEAD_S; /* counted once below */
    }
    t += CASE_OVERHEAD_S + run; /* + the reference and check, about one run */
    return m->timeout_s > 0 ? fmin(t, m->timeout_s) : t;
}

int sono_shard_parse(const char *text, int *index, int *count, sono_error *err)
{
    char *end;
    long i = strtol(text, &end, 10);
    long n = *end == '/' ? strtol(end + 1, &end, 10) : 0;
    if (*end || n < 1 || n > MAX_SHARDS || i < 1 || i > n)
        return sono_fail(err, SONO_EINVAL, "--shard '%s': expected I/N with 1 <= I <= N <= "
                         "%d (e.g. 2/4: the second of four parts)", text, MAX_SHARDS);
    *index = (int)i;
    *count = (int)n;
    return 0;
}

typedef struct item {
    long long us; /* expected time in whole microseconds: integers order the same way on
                     every node, where doubles could differ in the last bit */
    const char *id;
    int pos;
} item;

static int longest_first(const void *a, const void *b)
{
    const item *x = a, *y = b;
    if (x->us != y->us)
        return x->us < y->us ? 1 : -1;
    return strcmp(x->id, y->id); /* ids are unique in a plan: a total order */
}

int sono_shard_assign(const sono_plan *plan, int count, int *assign, double *loads,
                      sono_error *err)
{
    if (count < 1 || count > MAX_SHARDS)
        return sono_fail(err, SONO_EINVAL, "shard count %d: expected 1 to %d", count,
                         MAX_SHARDS);
    item *it = malloc((size_t)(plan->ncases ? plan->ncases : 1) * sizeof *it);
    long long *load = calloc((size_t)count, sizeof *load);
    if (!it || !load) {
        free(it);
        free(load);
        return sono_fail(err, SONO_ENOMEM, "no memory to shard %d cases", plan->ncases);
    }
    for (int i = 0; i < plan->ncases; i++)
        it[i] = (item){llround(sono_case_expected_s(&plan->cases[i]) * 1e6),
                       plan->cases[i].id, i};
    qsort(it, (size_t)plan->ncases, sizeof *it, longest_first);
    /* LPT: each case, longest first, onto the least loaded shard (the lowest index on a
     * tie). The longest shard is within 4/3 of the best possible split. */
    for (int k = 0; k < plan->ncases; k++) {
        int best = 0;
        for (int s = 1; s < count; s++)
            if (load[s] < load[best])
                best = s;
        load[best] += it[k].us;
        assign[it[k].pos] = best;
    }
    if (loads)
        for (int s = 0; s < count; s++)
            loads[s] = (double)load[s] / 1e6;
    free(it);
    free(load);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int sono_ids_sha256(const char *const *ids, int n, char hex[65])
{
    const char **s = malloc((size_t)(n ? n : 1) * sizeof *s);
    if (!s)
        return SONO_ENOMEM;
    memcpy(s, ids, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_str);
    sono_sha256 c;
    unsigned char d[32];
    sono_sha256_init(&c);
    for (int i = 0; i < n; i++) {
        sono_sha256_update(&c, s[i], strlen(s[i]));
        sono_sha256_update(&c, "\n", 1);
    }
    sono_sha256_final(&c, d);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    free(s);
    return 0;
}

int sono_plan_shard(sono_plan *plan, int index, int count, sono_shard *info,
                    sono_error *err)
{
    memset(info, 0, sizeof *info);
    if (index < 1 || index > count)
        return sono_fail(err, SONO_EINVAL, "shard %d/%d: expected 1 <= I <= N", index, count);
    int n = plan->ncases;
    int *assign = malloc((size_t)(n ? n : 1) * sizeof *assign);
    double *loads = calloc((size_t)count, sizeof *loads);
    const char **ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
    info->positions = malloc((size_t)(n ? n : 1) * sizeof *info->positions);
    int rc = assign && loads && ids && info->positions ? 0 : SONO_ENOMEM;
    if (rc)
        sono_fail(err, rc, "no memory to shard %d cases", n);
    else
        rc = sono_shard_assign(plan, count, assign, loads, err);
    for (int i = 0; i < n && !rc; i++)
        ids[i] = plan->cases[i].id;
    if (!rc && sono_ids_sha256(ids, n, info->ids_sha256))
        rc = sono_fail(err, SONO_ENOMEM, "no memory to digest %d case ids", n);
    if (!rc) {
        info->index = index;
        info->count = count;
        info->suite_cases = n;
        info->expected_s = loads[index - 1];
        for (int s = 0; s < count; s++)
            info->suite_expected_s += loads[s];
        int keep = 0;
        for (int i = 0; i < n; i++) {
            if (assign[i] == index - 1) {
                info->positions[keep] = i;
                plan->cases[keep++] = plan->cases[i];
            } else {
                sono_params_free(&plan->cases[i].p);
            }
        }
        plan->ncases = info->npositions = keep;
    } else {
        sono_shard_free(info);
    }
    free(assign);
    free(loads);
    free(ids);
    return rc;
}

void sono_shard_free(sono_shard *s)
{
    free(s->positions);
    s->positions = NULL;
    s->npositions = 0;
}

json_t *sono_shard_json(const sono_shard *s)
{
    json_t *pos = json_array();
    for (int i = 0; i < s->npositions; i++)
        json_array_append_new(pos, json_integer(s->positions[i]));
    return json_pack("{s:i, s:i, s:i, s:s, s:f, s:f, s:o}", "index", s->index, "count",
                     s->count, "suite_cases", s->suite_cases, "ids_sha256", s->ids_sha256,
                     "expected_s", s->expected_s, "suite_expected_s", s->suite_expected_s,
                     "positions", pos);
}
