/* test_shard.c — harness/plan/shard.c (issue 13): on random case sets, the N parts of a plan
 * are exactly the plan (every id once, positions pointing back at it), balanced by
 * expected time within the longest-first bound, independent of the plan's order; and
 * --shard's text is checked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shard.h"

/* A plan of n cases of the fft op with random sizes and measurement settings; ids are
 * made here (the shard code never builds ids). rev: the same cases in reverse order. */
static void random_plan(sono_plan *plan, unsigned seed, int n, int rev)
{
    memset(plan, 0, sizeof *plan);
    plan->cases = calloc((size_t)(n ? n : 1), sizeof *plan->cases);
    assert_non_null(plan->cases);
    plan->ncases = n;
    srand(seed);
    for (int k = 0; k < n; k++) {
        sono_case *c = &plan->cases[rev ? n - 1 - k : k];
        c->op = sono_op_find("fft");
        long long len = 1LL << (4 + rand() % 14), batch = 1 + rand() % 64;
        c->p.count = 2;
        c->p.v[0] = (sono_param){.name = "n", .type = SONO_PINT, .i = len};
        c->p.v[1] = (sono_param){.name = "batch", .type = SONO_PINT, .i = batch};
        c->cfg = SONO_MEASURE_DEFAULTS;
        c->cfg.budget_s = 0.01 * (1 + rand() % 300);
        c->cfg.warmup_s = 0.01 * (rand() % 20);
        c->cfg.min_time_s = 0.01 * (rand() % 50);
        snprintf(c->id, sizeof c->id, "fft/x/y/n=%lld,batch=%lld/in%d-%d", len, batch, k,
                 rand());
    }
}

static void free_plan(sono_plan *plan)
{
    free(plan->cases);
    plan->cases = NULL;
}

static void test_exact_cover(void **state)
{
    (void)state;
    for (unsigned seed = 1; seed <= 40; seed++) {
        srand(seed * 7919);
        int n = rand() % 200, count = 1 + rand() % 9;
        if (seed == 1)
            n = 3, count = 8; /* more shards than cases: some parts are empty */
        sono_plan all;
        random_plan(&all, seed, n, 0);
        int *seen = calloc((size_t)(n ? n : 1), sizeof *seen);
        char first_sha[65] = "";
        int total = 0;
        for (int s = 1; s <= count; s++) {
            sono_plan part;
            sono_shard info;
            sono_error err = {0};
            random_plan(&part, seed, n, 0);
            assert_int_equal(sono_plan_shard(&part, s, count, &info, &err), 0);
            assert_int_equal(info.index, s);
            assert_int_equal(info.count, count);
            assert_int_equal(info.suite_cases, n);
            assert_int_equal(info.npositions, part.ncases);
            if (s == 1)
                memcpy(first_sha, info.ids_sha256, 65);
            assert_string_equal(info.ids_sha256, first_sha);
            for (int i = 0; i < part.ncases; i++) {
                int pos = info.positions[i];
                assert_true(pos >= 0 && pos < n);
                assert_true(i == 0 || pos > info.positions[i - 1]); /* plan order kept */
                assert_string_equal(part.cases[i].id, all.cases[pos].id);
                seen[pos]++;
            }
            total += part.ncases;
            sono_shard_free(&info);
            free_plan(&part);
        }
        assert_int_equal(total, n);
        for (int i = 0; i < n; i++)
            assert_int_equal(seen[i], 1);
        free(seen);
        free_plan(&all);
    }
}

static void test_balance(void **state)
{
    (void)state;
    for (unsigned seed = 100; seed < 140; seed++) {
        srand(seed);
        int n = 1 + rand() % 300, count = 1 + rand() % 8;
        sono_plan plan;
        random_plan(&plan, seed, n, 0);
        int *assign = calloc((size_t)n, sizeof *assign);
        double *loads = calloc((size_t)count, sizeof *loads);
        double *sum = calloc((size_t)count, sizeof *sum);
        sono_error err = {0};
        assert_int_equal(sono_shard_assign(&plan, count, assign, loads, &err), 0);
        double total = 0, wmax = 0;
        for (int i = 0; i < n; i++) {
            double w = sono_case_expected_s(&plan.cases[i]);
            assert_true(w > 0);
            assert_true(assign[i] >= 0 && assign[i] < count);
            sum[assign[i]] += w;
            total += w;
            wmax = fmax(wmax, w);
        }
        double hi = 0, lo = INFINITY;
        for (int s = 0; s < count; s++) {
            assert_true(fabs(sum[s] - loads[s]) <= 1e-6 * n + 1e-9); /* microsecond steps */
            hi = fmax(hi, sum[s]);
            lo = fmin(lo, sum[s]);
        }
        /* no split beats max(total/N, longest case); longest-first stays within 4/3 of
         * it, and a greedy assignment never leaves two parts further apart than the
         * longest case */
        double bound = fmax(total / count, wmax);
        assert_true(hi <= 4.0 / 3.0 * bound + 1e-5);
        assert_true(hi - lo <= wmax + 1e-5);
        free(assign);
        free(loads);
        free(sum);
        free_plan(&plan);
    }
}

/* Balanced by time, not by count: one case as long as the nine others together gets a
 * part of its own. */
static void test_by_time(void **state)
{
    (void)state;
    sono_plan plan;
    random_plan(&plan, 7, 10, 0);
    for (int i = 0; i < 10; i++) {
        plan.cases[i].p.v[0].i = 64;
        plan.cases[i].p.v[1].i = 1;
        plan.cases[i].cfg.warmup_s = 0;
        plan.cases[i].cfg.min_time_s = plan.cases[i].cfg.budget_s = i == 4 ? 9.0 : 1.0;
    }
    int assign[10];
    sono_error err = {0};
    assert_int_equal(sono_shard_assign(&plan, 2, assign, NULL, &err), 0);
    for (int i = 0; i < 10; i++)
        if (i != 4)
            assert_int_not_equal(assign[i], assign[4]);
    free_plan(&plan);
}

/* Nodes may list a suite's cases in any order they like as long as the set is the
 * same: the part each id lands in must not change. */
static void test_order_independent(void **state)
{
    (void)state;
    sono_plan a, b;
    random_plan(&a, 42, 150, 0);
    random_plan(&b, 42, 150, 1);
    int sa[150], sb[150];
    sono_error err = {0};
    assert_int_equal(sono_shard_assign(&a, 4, sa, NULL, &err), 0);
    assert_int_equal(sono_shard_assign(&b, 4, sb, NULL, &err), 0);
    for (int i = 0; i < 150; i++) {
        assert_string_equal(a.cases[i].id, b.cases[149 - i].id);
        assert_int_equal(sa[i], sb[149 - i]);
    }
    free_plan(&a);
    free_plan(&b);
}

/* The model's floor and ceilings: a tiny case takes its warm-up and min_time_s; a case
 * whose one run outlasts the budget still takes a warm-up run and a timed run; nothing
 * exceeds the timeout. */
static void test_expected_time(void **state)
{
    (void)state;
    sono_plan plan;
    random_plan(&plan, 1, 1, 0);
    sono_case *c = &plan.cases[0];
    c->p.v[0].i = 16;
    c->p.v[1].i = 1;
    c->cfg.warmup_s = 0.1;
    c->cfg.min_time_s = 0.5;
    c->cfg.budget_s = 2;
    double t = sono_case_expected_s(c);
    assert_true(t >= 0.6 && t < 0.9);
    /* five repetitions: five warm-ups, five minimum loops and five worker starts, within
     * the same budget: 5 x (0.1 + 0.5) capped at 5 x 0.4, plus 5 x 0.05 start-up */
    c->cfg.repetitions = 5;
    t = sono_case_expected_s(c);
    assert_true(t >= 2.2 && t < 2.4);
    c->cfg.repetitions = 0;
    c->p.v[0].i = 1 << 20;
    c->p.v[1].i = 64;
    c->cfg.budget_s = 1;
    double run = 64 * 5.0 * (1 << 20) * 20 / 1e9; /* at 1 GFLOP/s, as documented */
    t = sono_case_expected_s(c);
    assert_true(t >= 2 * run);
    c->cfg.timeout_s = 5;
    assert_true(sono_case_expected_s(c) <= 5);
    free_plan(&plan);
}

static void test_parse(void **state)
{
    (void)state;
    int i, n;
    sono_error err = {0};
    assert_int_equal(sono_shard_parse("2/4", &i, &n, &err), 0);
    assert_int_equal(i, 2);
    assert_int_equal(n, 4);
    const char *bad[] = {"0/4", "5/4", "x", "3", "2/0", "1/4x", "-1/2", "", NULL};
    for (int k = 0; bad[k]; k++) {
        err.msg[0] = 0;
        assert_int_not_equal(sono_shard_parse(bad[k], &i, &n, &err), 0);
        assert_non_null(strstr(err.msg, "--shard"));
        assert_non_null(strstr(err.msg, "I/N"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_cover),   cmocka_unit_test(test_balance),
        cmocka_unit_test(test_by_time),       cmocka_unit_test(test_order_independent),
        cmocka_unit_test(test_expected_time), cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
