/* test_pool.c — impls/common/pool.c (compiled in): every lane runs every job exactly once
 * and its writes are seen by the caller when cpu_pool_run returns, on the spinning path
 * (back-to-back jobs) and on the sleeping one (a pause longer than the spin between jobs),
 * with more lanes than CPUs too; one lane runs on the caller alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pool.h"

#define MAXL 8

typedef struct job_ctx {
    int lanes;
    long long runs[MAXL];   /* jobs each lane ran */
    int last_job[MAXL];     /* the job number each lane saw last */
    long long sum[MAXL];    /* a lane's own work, read by the caller after the run */
} job_ctx;

static void job(void *ctx, int jobno, int lane)
{
    job_ctx *c = ctx;
    c->runs[lane]++;
    c->last_job[lane] = jobno;
    long long s = 0;
    for (int i = 0; i < 100 * (lane + 1); i++)
        s += i ^ jobno;
    c->sum[lane] = s;
}

static long long expect_sum(int jobno, int lane)
{
    long long s = 0;
    for (int i = 0; i < 100 * (lane + 1); i++)
        s += i ^ jobno;
    return s;
}

static void run_many(int lanes, int jobs, long pause_ns)
{
    job_ctx c;
    memset(&c, 0, sizeof c);
    c.lanes = lanes;
    cpu_pool *p = NULL;
    sono_error err = {0};
    assert_int_equal(cpu_pool_new(lanes, job, &c, "test", &p, &err), 0);
    assert_non_null(p);
    assert_int_equal(cpu_pool_threads(p), lanes - 1);
    assert_true(cpu_pool_bytes(p) > 0);
    for (int j = 0; j < jobs; j++) {
        cpu_pool_run(p, j);
        for (int l = 0; l < lanes; l++) {
            if (c.runs[l] != j + 1 || c.last_job[l] != j || c.sum[l] != expect_sum(j, l))
                fail_msg("lanes %d, job %d: lane %d ran %lld jobs, last %d, sum %lld (want "
                         "%lld)", lanes, j, l, c.runs[l], c.last_job[l], c.sum[l],
                         expect_sum(j, l));
        }
        if (pause_ns) {
            struct timespec ts = {pause_ns / 1000000000L, pause_ns % 1000000000L};
            nanosleep(&ts, NULL);
        }
    }
    cpu_pool_free(p);
}

static void back_to_back(void **state)
{
    (void)state;
    for (int lanes = 1; lanes <= 4; lanes++)
        run_many(lanes, 20000, 0);
}

/* 5 ms between jobs: far past the spin, so the workers sleep and are woken each time */
static void with_pauses(void **state)
{
    (void)state;
    run_many(2, 40, 5000000L);
    run_many(3, 20, 5000000L);
}

/* More lanes than CPUs: no spinning, every hand-over through the condition variables. */
static void oversubscribed(void **state)
{
    (void)state;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int lanes = cpus > 0 && cpus < MAXL ? (int)cpus + 1 : MAXL;
    run_many(lanes, 3000, 0);
}

static void bad_lanes(void **state)
{
    (void)state;
    cpu_pool *p = (cpu_pool *)1;
    sono_error err = {0};
    assert_int_equal(cpu_pool_new(0, job, NULL, "test", &p, &err), SONO_EINVAL);
    assert_null(p);
    assert_non_null(strstr(err.msg, "test"));
    cpu_pool_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(back_to_back),
        cmocka_unit_test(with_pauses),
        cmocka_unit_test(oversubscribed),
        cmocka_unit_test(bad_lanes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
