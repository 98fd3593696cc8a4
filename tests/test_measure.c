/* test_measure.c — the adaptive timing loop (harness/run/measure.c) on synthetic sample
 * streams from a fake device: it must stop when the median's CI reaches the target, not
 * before min_time_s, at max_samples or the budget when it cannot, on Ctrl-C, and run
 * cold-cache samples as single runs after the eviction hook. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "measure.h"

/* A device whose "clock" reports k runs of a synthetic per-run time: base ns with a
 * relative jitter drawn uniformly from [-jitter, +jitter], seeded for repeatability. */
typedef struct fake {
    double base, jitter;
    uint64_t rng;
    long calls;
    long fail_at;          /* time_runs fails on this call (0: never) */
    long stop_at;          /* raise *stop on this call (0: never) */
    volatile sig_atomic_t *stop;
    double sleep_s;        /* real time each call takes, for the budget rule */
    long last_k;
    long max_k;
} fake;

static double me_uniform(fake *f)
{
    f->rng = f->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(f->rng >> 11) / 9007199254740992.0; /* [0, 1) */
}

static int me_time_runs(const sono_device *d, int (*run)(void *), void *st, long k,
                        double *ns, sono_error *err)
{
    fake *f = d->ctx;
    (void)run;
    (void)st;
    f->calls++;
    f->last_k = k;
    if (k > f->max_k)
        f->max_k = k;
    if (f->fail_at && f->calls == f->fail_at)
        return sono_fail(err, SONO_EDEVICE, "planted failure");
    if (f->stop_at && f->calls == f->stop_at)
        *f->stop = 1;
    if (f->sleep_s > 0) {
        struct timespec t = {0, (long)(f->sleep_s * 1e9)};
        nanosleep(&t, NULL);
    }
    double sum = 0;
    for (long i = 0; i < k; i++)
        sum += f->base * (1.0 + f->jitter * (2.0 * me_uniform(f) - 1.0));
    *ns = sum;
    return 0;
}

static int me_nop(void *st)
{
    (void)st;
    return 0;
}

static sono_device me_dev(fake *f, double resolution)
{
    return (sono_device){.abi = SONO_ABI_VERSION, .name = "fake", .kind = "fake",
                         .resolution_ns = resolution, .ctx = f, .time_runs = me_time_runs};
}

static sono_measure_cfg me_cfg(void)
{
    sono_measure_cfg c = SONO_MEASURE_DEFAULTS;
    c.warmup_s = 0;
    c.min_time_s = 0;
    return c;
}

static void me_converges_on_quiet_stream(void **state)
{
    (void)state;
    fake f = {.base = 1000, .jitter = 0.001, .rng = 1};
    sono_device d = me_dev(&f, 20);
    sono_measure_cfg cfg = me_cfg();
    sono_measurement m;
    assert_int_equal(sono_measure(&d, me_nop, NULL, &cfg, NULL, NULL, NULL, &m, NULL), 0);
    assert_string_equal(m.stop, "converged");
    assert_true(m.converged);
    assert_true(m.nsamples >= cfg.min_samples);
    /* a sample must last >= max(100 x 20 ns, 10 us) = 10 us: k >= 10 runs of 1 us */
    assert_true(m.k >= 10);
    assert_true(m.s.median > 998 && m.s.median < 1002);
    assert_true(m.s.ci_rel <= cfg.target_ci);
    assert_false(m.short_samples);
    assert_false(m.cold);
    sono_measurement_free(&m);
}

static void me_noisy_stream_hits_max_samples(void **state)
{
    (void)state;
    /* +-50 % jitter per run, averaged over k runs, can never reach a 0.01 % CI */
    fake f = {.base = 1000, .jitter = 0.5, .rng = 2};
    sono_device d = me_dev(&f, 20);
    sono_measure_cfg cfg = me_cfg();
    cfg.target_ci = 1e-4;
    cfg.max_samples = 300;
    cfg.budget_s = 60;
    sono_measurement m;
    assert_int_equal(sono_measure(&d, me_nop, NULL, &cfg, NULL, NULL, NULL, &m, NULL), 0);
    assert_string_equal(m.stop, "max-samples");
    assert_false(m.converged);
    assert_int_equal(m.nsamples, 300);
    assert_int_equal(m.s.n, 300);
    sono_measurement_free(&m);
}

static void me_budget_stops_sampling(void **state)
{
    (void)state;
    fake f = {.base = 1000, .jitter = 0.5, .rng = 3, .sleep_s = 0.002};
    sono_device d = me_dev(&f, 20);
    sono_measure_cfg cfg = me_cfg();
    cfg.target_ci = 1e-6;
    cfg.budget_s = 0.1;
    cfg.max_samples = 100000;
    sono_measurement m;
    assert_int_equal(sono_measure(&d, me_nop, NULL, &cfg, NULL, NULL, NULL, &m, NULL), 0);
    assert_string_equal(m.stop, "budget");
    assert_false(m.converged);
    /* each call sleeps 2 ms: 0.1 s holds at most ~50 of them, warm-up included */
    assert_true(m.nsamples >= 1 && m.nsamples <= 60);
    assert_true(m.elapsed_s >= 0.1);
    sono_measurement_free(&m);
}

static void me_min_time_holds_back_convergence(void **state)
{
    (void)state;
    fake f = {.base = 1000, .jitter = 0.0, .rng = 4, .sleep_s = 0.001};
    sono_device d = me_dev(&f, 20);
    sono_measure_cfg cfg = me_cfg();
    cfg.min_time_s = 0.05;
    sono_measurement m;
    assert_int_equal(sono_measure(&d, me_nop, NULL, &cfg, NULL, NULL, NULL, &m, NULL), 0);
    assert_string_equal(m.stop, "converged");
    /* a quiet stream converges after min_samples (~10 ms of 1 ms sleeps) but is held
     * until 50 ms of sampling. How many samples fit in 50 ms depends on how long the
     * sleeps really take on a loaded machine, so only the hold itself is asserted. */
    assert_true(m.nsamples >= cfg.min_samples);
    assert_true(m.elapsed_s >= 0.05);
    sono_measurement_free(&m);
}

static void me_stop_flag_interrupts(void **state)
{
    (void)state;
    volatile sig_atomic_t stop = 0;
    fake f = {.base = 1000, .jitter = 0.5, .rng = 5, .stop_at = 25, .stop = &stop};
    sono_device d = me_dev(&f, 20);
    sono_measure_cfg cfg = me_cfg();
    cfg.target_ci = 1e-6;
    sono_measurement m;
    sono_error err = {0};
    assert_int_equal(sono_measure(&d, me_nop, NULL, &cfg, NULL, NULL, &stop, &m, &err),
                     SONO_EINTR);
    assert_null(m.samples);
    assert_int_equal(f.calls, 25);
}

static void me_run_error_propagates(void **state)
{
    (void)state;
    fake f = {.base = 1000, .jitter = 0, .rng = 6, .fail_at = 12};
    sono_device d = me_dev(&f, 20);
    sono_measure_cfg cfg = me_cfg();
    sono_measurement m;
    sono_error err = {0};
    assert_int_equal(sono_measure(&d, me_nop, NULL, &cfg, NULL, NULL, NULL, &m, &err),
                     SONO_EDEVICE);
    assert_non_null(strstr(err.msg, "planted"));
    assert_null(m.samples);
}

static void me_count_before(void *ctx)
{
    (*(long *)ctx)++;
}

static void me_cold_runs_one_per_sample(void **state)
{
    (void)state;
    /* 10 ns per run on a 20 ns clock: hot mode batches k runs; cold cannot, and says the
     * samples are too short to trust */
    fake f = {.base = 10, .jitter = 0.001, .rng = 7};
    sono_device d = me_dev(&f, 20);
    sono_measure_cfg cfg = me_cfg();
    long evictions = 0;
    sono_measurement m;
    assert_int_equal(sono_measure(&d, me_nop, NULL, &cfg, me_count_before, &evictions, NULL,
                                  &m, NULL), 0);
    assert_true(m.cold);
    assert_int_equal(m.k, 1);
    assert_int_equal(f.last_k, 1);
    assert_int_equal(evictions, m.nsamples); /* one eviction before every sample */
    assert_true(m.short_samples);
    sono_measurement_free(&m);

    fake g = {.base = 10, .jitter = 0.001, .rng = 7};
    sono_device e = me_dev(&g, 20);
    assert_int_equal(sono_measure(&e, me_nop, NULL, &cfg, NULL, NULL, NULL, &m, NULL), 0);
    assert_true(m.k >= 1000); /* 10 us / 10 ns */
    assert_false(m.short_samples);
    sono_measurement_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(me_converges_on_quiet_stream),
        cmocka_unit_test(me_noisy_stream_hits_max_samples),
        cmocka_unit_test(me_budget_stops_sampling),
        cmocka_unit_test(me_min_time_holds_back_convergence),
        cmocka_unit_test(me_stop_flag_interrupts),
        cmocka_unit_test(me_run_error_propagates),
        cmocka_unit_test(me_cold_runs_one_per_sample),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
