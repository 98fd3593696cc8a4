/* test_stages.c — each stage of a case called in this process, no worker and no CLI:
 * prepare (input, its sha, the reference, skips), the lifecycle with a fake impl defined
 * here (timing, NaN-fill, teardown, interrupts, case_end), judge and derive by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "input.h"
#include "registry.h"
#include "sha256.h"
#include "stages.h"
#include "suite.h"

static sono_reg st_R;
static sono_plan st_plan;

static int st_setup(void **state)
{
    (void)state;
    const char *b = getenv("SONO_BUILD");
    char dir[1100];
    sono_error err = {0};
    snprintf(dir, sizeof dir, "%s/plugins", b && *b ? b : "build");
    if (sono_reg_init(&st_R, &err))
        return -1;
    sono_reg_load_dir(&st_R, dir);
    if (!sono_reg_backend(&st_R, "cpu")) {
        fprintf(stderr, "test_stages: no cpu plugin under %s (make all)\n", dir);
        return -1;
    }
    if (sono_suite_load("tests/data/cli/tiny.ini", &st_R, &st_plan, &err)) {
        fprintf(stderr, "test_stages: tests/data/cli/tiny.ini: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int st_teardown(void **state)
{
    (void)state;
    sono_plan_free(&st_plan);
    sono_reg_free(&st_R);
    return 0;
}

/* tiny.ini's fft case of impl at size n. */
static const sono_case *st_case(const char *impl, long long n)
{
    for (int i = 0; i < st_plan.ncases; i++) {
        const sono_case *c = &st_plan.cases[i];
        if (strcmp(c->impl_name, impl) == 0 && sono_param_int(&c->p, "n", 0) == n)
            return c;
    }
    fail_msg("tiny.ini has no %s case with n=%lld", impl, n);
    return NULL;
}

/* ---- prepare ------------------------------------------------------------------------ */

/* Relative L2 distance of the float64 reference from the DFT of x by definition. */
static double st_dft_error(const float *x, const double *ref, long long n)
{
    const long double pi = 3.141592653589793238462643383279502884L;
    long double num = 0, den = 0;
    for (long long k = 0; k < n; k++) {
        long double re = 0, im = 0;
        for (long long j = 0; j < n; j++) {
            long double a = -2 * pi * (long double)((j * k) % n) / (long double)n;
            re += x[2 * j] * cosl(a) - x[2 * j + 1] * sinl(a);
            im += x[2 * j] * sinl(a) + x[2 * j + 1] * cosl(a);
        }
        long double dr = ref[2 * k] - re, di = ref[2 * k + 1] - im;
        num += dr * dr + di * di;
        den += re * re + im * im;
    }
    return (double)sqrtl(num / den);
}

static void st_prepare(void **state)
{
    (void)state;
    const sono_case *c = st_case("cpu/radix2", 16);
    sono_executor *k = sono_executor_new();
    assert_non_null(k);
    sono_case_run r = {.plan = &st_plan, .c = c, .k = k};
    sono_record rec = {0};
    sono_error err = {0};
    if (sono_stage_prepare(&r, &rec, &err))
        fail_msg("prepare: %s", err.msg);
    assert_null(r.verdict);
    assert_int_equal(r.streaming, 0);
    assert_int_equal(r.cold, 0);
    /* the input: noise at the plan's rate, exactly what the generator gives, and its sha */
    assert_int_equal(k->in.dtype, SONO_C64);
    assert_int_equal(sono_buf_elems(&k->in), 16);
    sono_input_spec spec;
    assert_int_equal(sono_input_parse("noise", NULL, &spec, &err), 0);
    float x[32];
    double rate = 0;
    sono_buf mine = {.dtype = SONO_C64, .ndim = 2, .shape = {1, 16}, .data = x,
                     .nbytes = sizeof x};
    assert_int_equal(sono_input_fill(&spec, 48000, &mine, &rate, &err), 0);
    assert_memory_equal(k->in.data, x, sizeof x);
    char sha[65];
    sono_sha256_hex(x, sizeof x, sha);
    assert_string_equal(rec.input_sha256, sha);
    assert_true(rec.sample_rate == 48000);
    assert_true(fabs(rec.audio_s - 16.0 / 48000) < 1e-15);
    /* the reference: float64, the DFT by definition */
    assert_int_equal(k->ref.dtype, SONO_C128);
    assert_int_equal(sono_buf_elems(&k->ref), 16);
    double e = st_dft_error(x, k->ref.data, 16);
    if (!(e < 1e-12))
        fail_msg("reference is %g from the DFT by definition", e);
    /* the output buffer: the case's shape, allocated; no offline copy when not streaming */
    assert_non_null(r.out.data);
    assert_int_equal(r.out.dtype, SONO_C64);
    assert_int_equal(r.out.nbytes, 16 * 8);
    assert_null(r.off.data);
    assert_string_equal(rec.pin, k->pin_desc);
    /* a second impl of the same (params, input) finds both made */
    const void *in0 = k->in.data, *ref0 = k->ref.data;
    sono_case_run_free(&r);
    r = (sono_case_run){.plan = &st_plan, .c = c, .k = k};
    assert_int_equal(sono_stage_prepare(&r, &rec, &err), 0);
    assert_ptr_equal(k->in.data, in0);
    assert_ptr_equal(k->ref.data, ref0);
    sono_case_run_free(&r);
    sono_executor_free(k);
}

/* A case the plan marks unrunnable, and params the impl refuses: skips, not errors. */
static void st_prepare_skips(void **state)
{
    (void)state;
    sono_case c = *st_case("cpu/radix2", 16); /* a shallow copy: its strings are the plan's */
    sono_executor *k = sono_executor_new();
    sono_record rec = {0};
    sono_error err = {0};
    snprintf(c.skip, sizeof c.skip, "backend x unavailable: planted");
    sono_case_run r = {.plan = &st_plan, .c = &c, .k = k};
    assert_int_equal(sono_stage_prepare(&r, &rec, &err), SONO_EUNSUPPORTED);
    assert_string_equal(r.verdict, "skip");
    assert_string_equal(err.msg, "backend x unavailable: planted");
    sono_case_run_free(&r);

    c.skip[0] = 0;
    for (int i = 0; i < c.p.count; i++)
        if (strcmp(c.p.v[i].name, "n") == 0)
            c.p.v[i].i = 48; /* radix2 wants a power of two */
    r = (sono_case_run){.plan = &st_plan, .c = &c, .k = k};
    err = (sono_error){0};
    assert_int_equal(sono_stage_prepare(&r, &rec, &err), SONO_EUNSUPPORTED);
    assert_string_equal(r.verdict, "skip");
    assert_non_null(strstr(err.msg, "power of two"));
    assert_null(k->in.data); /* refused before any input was made */
    sono_case_run_free(&r);
    sono_executor_free(k);
}

/* ---- the lifecycle with a fake impl ---------------------------------------------------- */

/* What the fake impl was asked, so each test sees the calls the lifecycle made. */
static struct {
    int setups, loads, runs, stores, teardowns;
    void *live;            /* the state setup made, until teardown */
    const sono_buf *bound; /* what load bound */
} fk;

enum { FAKE_OK = 0, FAKE_FAIL_SETUP = 1, FAKE_FAIL_STORE = 2, FAKE_RUN_POSITIVE = 3 };

static void fake_sleep_ms(long ms)
{
    struct timespec t = {0, ms * 1000000L};
    while (nanosleep(&t, &t) != 0) {
    }
}

/* setup, load and store each sleep a known time, so the lifecycle's timing shows. */
static int fake_setup(const void *ctx, const sono_params *p, void **st, sono_error *err)
{
    (void)p;
    fk.setups++;
    fake_sleep_ms(3);
    *st = NULL;
    if (*(const int *)ctx == FAKE_FAIL_SETUP)
        return sono_fail(err, SONO_EDEVICE, "fake: no device");
    *st = fk.live = malloc(64);
    return *st ? 0 : sono_fail(err, SONO_ENOMEM, "fake: no memory");
}

static int fake_load(void *st, const sono_buf *in, sono_error *err)
{
    (void)err;
    assert_ptr_equal(st, fk.live);
    fk.loads++;
    fk.bound = in;
    fake_sleep_ms(2);
    return 0;
}

static const int fake_ctx[] = {FAKE_OK, FAKE_FAIL_SETUP, FAKE_FAIL_STORE, FAKE_RUN_POSITIVE};
static int fake_mode;

static int fake_run(void *st)
{
    assert_ptr_equal(st, fk.live);
    fk.runs++;
    return fake_mode == FAKE_RUN_POSITIVE ? 1 : 0;
}

/* Writes only the first half of the output: the rest must stay as the lifecycle left it. */
static int fake_store(void *st, sono_buf *out, sono_error *err)
{
    (void)err;
    assert_ptr_equal(st, fk.live);
    fk.stores++;
    fake_sleep_ms(1);
    if (fake_mode == FAKE_FAIL_STORE)
        return SONO_EDEVICE; /* and says nothing */
    long long n = sono_buf_elems(out);
    for (long long i = 0; i < n / 2; i++)
        ((float *)out->data)[i] = (float)(i + 1);
    return 0;
}

static void fake_teardown(void *st)
{
    assert_ptr_equal(st, fk.live);
    fk.teardowns++;
    free(st);
    fk.live = NULL;
}

static int fake_describe(void *st, char *buf, size_t n)
{
    (void)st;
    snprintf(buf, n, "fake after %d runs", fk.runs);
    return 0;
}

static size_t fake_workspace(void *st)
{
    (void)st;
    return 4096;
}

static sono_impl st_fake(int mode)
{
    fake_mode = mode;
    return (sono_impl){.abi = SONO_ABI_VERSION, .op = "copy", .name = "fake", .device = "cpu",
                       .ctx = &fake_ctx[mode], .setup = fake_setup, .load = fake_load,
                       .run = fake_run, .store = fake_store, .teardown = fake_teardown,
                       .describe = fake_describe, .workspace = fake_workspace};
}

static void st_lifecycle_runs(void **state)
{
    (void)state;
    memset(&fk, 0, sizeof fk);
    sono_impl im = st_fake(FAKE_OK);
    float x[8] = {0}, y[8] = {0}; /* zeros: any NaN in y was put there by the lifecycle */
    sono_buf in = {.dtype = SONO_F32, .ndim = 1, .shape = {8}, .data = x, .nbytes = sizeof x};
    sono_buf out = in;
    out.data = y;
    char desc[64] = "";
    sono_params p = {0};
    sono_lifecycle lc = {.im = &im, .p = &p, .in = &in, .out = &out, .runs = 3,
                         .describe = desc, .describe_n = sizeof desc};
    sono_error err = {0};
    assert_int_equal(sono_lifecycle_run(&lc, &err), 0);
    assert_int_equal(lc.failed, SONO_STEP_NONE);
    assert_true(fk.setups == 1 && fk.loads == 1 && fk.runs == 3 && fk.stores == 1);
    assert_int_equal(fk.teardowns, 1);
    assert_ptr_equal(fk.bound, &in);
    /* each figure at least the fake's sleep, and not the others' sum */
    if (!(lc.fig.setup_ns >= 3e6 && lc.fig.load_ns >= 2e6 && lc.fig.store_ns >= 1e6 &&
          lc.fig.setup_ns < 1e9 && lc.fig.load_ns < lc.fig.setup_ns + 1e9))
        fail_msg("setup %.0f, load %.0f, store %.0f ns", lc.fig.setup_ns, lc.fig.load_ns,
                 lc.fig.store_ns);
    assert_true(lc.fig.load_bytes == sizeof x && lc.fig.store_bytes == sizeof y);
    assert_true(lc.fig.workspace_bytes == 4096);
    assert_string_equal(desc, "fake after 3 runs");
    assert_null(lc.gpu);
    for (int i = 0; i < 4; i++)
        assert_true(y[i] == (float)(i + 1));
    for (int i = 4; i < 8; i++)
        if (!isnan(y[i]))
            fail_msg("y[%d] = %g: the half store never wrote is not NaN", i, y[i]);
}

typedef struct st_measure_ctx {
    int calls, rc;
    void *seen;
} st_measure_ctx;

static int st_measure(void *ctx, void *st, sono_error *err)
{
    st_measure_ctx *m = ctx;
    m->calls++;
    m->seen = st;
    assert_ptr_equal(st, fk.live); /* the live state, between load and store */
    assert_int_equal(fk.loads, 1);
    assert_int_equal(fk.stores, 0);
    assert_int_equal(fk.runs, 0);
    return m->rc ? sono_fail(err, m->rc, "measure: planted %d", m->rc) : 0;
}

static int st_case_end_calls;

static int st_case_end(const sono_device *d, char *json, size_t n)
{
    st_case_end_calls++;
    assert_non_null(fk.live); /* before teardown */
    snprintf(json, n, "%s", (const char *)d->ctx);
    return 0;
}

static void st_lifecycle_measure(void **state)
{
    (void)state;
    float x[4] = {0}, y[4];
    sono_buf in = {.dtype = SONO_F32, .ndim = 1, .shape = {4}, .data = x, .nbytes = sizeof x};
    sono_buf out = in;
    out.data = y;
    sono_params p = {0};
    sono_device dev = {.abi = SONO_ABI_VERSION, .name = "fake:0", .kind = "fake",
                       .ctx = "{\"held_bytes\": 7}", .case_end = st_case_end};
    sono_error err = {0};
    /* measured: the callback gets the live state; runs is not used; case_end's object */
    memset(&fk, 0, sizeof fk);
    st_case_end_calls = 0;
    sono_impl im = st_fake(FAKE_OK);
    st_measure_ctx m = {0};
    sono_lifecycle lc = {.im = &im, .p = &p, .in = &in, .out = &out, .runs = 5,
                         .measure = st_measure, .measure_ctx = &m, .dev = &dev};
    assert_int_equal(sono_lifecycle_run(&lc, &err), 0);
    assert_int_equal(m.calls, 1);
    assert_non_null(m.seen);
    assert_true(fk.runs == 0 && fk.stores == 1 && fk.teardowns == 1);
    assert_int_equal(st_case_end_calls, 1);
    assert_true(json_is_object(lc.gpu));
    assert_int_equal(json_integer_value(json_object_get(lc.gpu, "held_bytes")), 7);
    json_decref(lc.gpu);
    /* case_end's text that is no JSON object is dropped and flagged */
    dev.ctx = "[1, 2]";
    memset(&fk, 0, sizeof fk);
    assert_int_equal(sono_lifecycle_run(&lc, &err), 0);
    assert_null(lc.gpu);
    assert_int_equal(lc.gpu_invalid, 1);
    /* interrupted: teardown, and no store, describe or case_end */
    memset(&fk, 0, sizeof fk);
    st_case_end_calls = 0;
    char desc[32] = "untouched";
    lc.describe = desc;
    lc.describe_n = sizeof desc;
    m.rc = SONO_EINTR;
    assert_int_equal(sono_lifecycle_run(&lc, &err), SONO_EINTR);
    assert_true(fk.stores == 0 && fk.teardowns == 1 && st_case_end_calls == 0);
    assert_string_equal(desc, "untouched");
    /* a failing measure: store skipped, case_end and teardown still come */
    memset(&fk, 0, sizeof fk);
    m.rc = SONO_EDEVICE;
    assert_int_equal(sono_lifecycle_run(&lc, &err), SONO_EDEVICE);
    assert_int_equal(lc.failed, SONO_STEP_MEASURE);
    assert_true(fk.stores == 0 && fk.teardowns == 1 && st_case_end_calls == 1);
    assert_string_equal(err.msg, "measure: planted -5");
}

static void st_lifecycle_failures(void **state)
{
    (void)state;
    float x[4] = {0}, y[4];
    sono_buf in = {.dtype = SONO_F32, .ndim = 1, .shape = {4}, .data = x, .nbytes = sizeof x};
    sono_buf out = in;
    out.data = y;
    sono_params p = {0};
    /* a failed setup: its message, no load, no teardown */
    memset(&fk, 0, sizeof fk);
    sono_impl im = st_fake(FAKE_FAIL_SETUP);
    sono_lifecycle lc = {.im = &im, .p = &p, .in = &in, .out = &out, .runs = 1};
    sono_error err = {0};
    assert_int_equal(sono_lifecycle_run(&lc, &err), SONO_EDEVICE);
    assert_int_equal(lc.failed, SONO_STEP_SETUP);
    assert_string_equal(err.msg, "fake: no device");
    assert_true(fk.loads == 0 && fk.teardowns == 0);
    assert_true(lc.fig.setup_ns >= 3e6);
    /* a store that fails in silence: its code in err, the message left for the caller */
    memset(&fk, 0, sizeof fk);
    im = st_fake(FAKE_FAIL_STORE);
    err = (sono_error){0};
    assert_int_equal(sono_lifecycle_run(&lc, &err), SONO_EDEVICE);
    assert_int_equal(lc.failed, SONO_STEP_STORE);
    assert_int_equal(err.code, SONO_EDEVICE);
    assert_string_equal(err.msg, "");
    assert_int_equal(fk.teardowns, 1);
    /* run() returning a positive int is still a failure, as a SONO_E* code */
    memset(&fk, 0, sizeof fk);
    im = st_fake(FAKE_RUN_POSITIVE);
    assert_int_equal(sono_lifecycle_run(&lc, &err), SONO_EINTERNAL);
    assert_int_equal(lc.failed, SONO_STEP_RUN);
    assert_true(fk.runs == 1 && fk.stores == 0 && fk.teardowns == 1);
}

static void st_poison(void **state)
{
    (void)state;
    double d[6];
    int32_t i[3] = {5, 6, 7};
    int16_t h[3] = {5, 6, 7};
    sono_buf b = {.dtype = SONO_C128, .ndim = 1, .shape = {3}, .data = d, .nbytes = sizeof d};
    sono_lifecycle_poison(&b);
    for (int k = 0; k < 6; k++)
        assert_true(isnan(d[k]));
    b = (sono_buf){.dtype = SONO_I32, .ndim = 1, .shape = {3}, .data = i, .nbytes = sizeof i};
    sono_lifecycle_poison(&b);
    assert_true(i[0] == -1 && i[1] == -1 && i[2] == -1);
    b = (sono_buf){.dtype = SONO_I16, .ndim = 1, .shape = {2}, .data = h, .nbytes = 4};
    sono_lifecycle_poison(&b);
    assert_true(h[0] == -1 && h[1] == -1 && h[2] == 7); /* its elements, not past them */
}

/* ---- judge ---------------------------------------------------------------------------- */

static void st_judge(void **state)
{
    (void)state;
    sono_executor *k = sono_executor_new();
    sono_case_run r = {.plan = &st_plan, .c = st_case("cpu/radix2", 64), .k = k};
    sono_record rec = {0};
    sono_error err = {0};
    assert_int_equal(sono_stage_prepare(&r, &rec, &err), 0);
    float *y = r.out.data;
    const double *ref = k->ref.data;
    /* all NaN, as an impl that stores nothing leaves it */
    sono_lifecycle_poison(&r.out);
    assert_int_equal(sono_stage_judge(&r, &rec, &err), 0);
    assert_string_equal(rec.status, "fail");
    assert_int_equal(strncmp(rec.message, "non-finite output", 17), 0);
    assert_int_equal(rec.checked, 1);
    assert_int_equal(rec.check.nonfinite, 128);
    /* the reference rounded to float passes */
    for (int i = 0; i < 128; i++)
        y[i] = (float)ref[i];
    assert_int_equal(sono_stage_judge(&r, &rec, &err), 0);
    assert_string_equal(rec.status, "ok");
    assert_true(rec.check.pass && rec.check.rel_l2 < 1e-7);
    /* one bin off by a tenth of the peak fails on max_abs */
    y[6] += (float)(0.1 * rec.check.ref_peak);
    assert_int_equal(sono_stage_judge(&r, &rec, &err), 0);
    assert_string_equal(rec.status, "fail");
    assert_int_equal(strncmp(rec.message, "exceeds tolerance", 17), 0);
    sono_case_run_free(&r);
    sono_executor_free(k);
}

/* ---- derive --------------------------------------------------------------------------- */

static void st_expect(const sono_record *rec, const char *key, double want, const char *unit)
{
    const sono_metric *m = sono_record_get(rec, key);
    if (!m)
        fail_msg("no metric %s", key);
    if (!(fabs(m->value - want) <= 1e-12 * fabs(want)) && !(isnan(want) && isnan(m->value)))
        fail_msg("%s = %.17g, want %.17g", key, m->value, want);
    assert_string_equal(m->unit, unit);
}

/* fft n=64, batch 1: 5 N log2 N = 1920 flop, 64 x 8 B in and out = 1024 B; a median of
 * 2000 ns on 64 samples at 48 kHz. */
static void st_derive(void **state)
{
    (void)state;
    const sono_case *c = st_case("cpu/radix2", 64);
    sono_record rec = {0};
    rec.m.s.median = 2000;
    rec.audio_s = 64.0 / 48000;
    sono_stage_figures f = {.lc = {.setup_ns = 11, .load_ns = 22, .store_ns = 33,
                                   .load_bytes = 512, .store_bytes = 512,
                                   .workspace_bytes = -1},
                            .peak_rss_bytes = 1 << 20};
    sono_error err = {0};
    assert_int_equal(sono_stage_derive(c, 0, &f, &rec, &err), 0);
    st_expect(&rec, "cost.flops", 1920, "flop");
    st_expect(&rec, "cost.bytes", 1024, "B");
    st_expect(&rec, "derived.gflops", 1920.0 / 2000, "GFLOP/s");
    st_expect(&rec, "derived.gbps", 1024.0 / 2000, "GB/s");
    st_expect(&rec, "derived.rtf", 2000e-9 / (64.0 / 48000), "");
    st_expect(&rec, "derived.x_realtime", (64.0 / 48000) / 2000e-9, "x");
    st_expect(&rec, "setup_ns", 11, "ns");
    st_expect(&rec, "load_ns", 22, "ns");
    st_expect(&rec, "store_ns", 33, "ns");
    st_expect(&rec, "transfer_bytes.load", 512, "B");
    st_expect(&rec, "memory.peak_rss_bytes", 1 << 20, "B");
    st_expect(&rec, "memory.workspace_bytes", NAN, "B"); /* not reported: null, not -1 */
    assert_int_equal(sono_record_get(&rec, "derived.gflops")->better, SONO_BETTER_HIGHER);
    assert_int_equal(rec.nmetrics, 13);

    /* a stream: per stream from x real time, not from the per-chunk median */
    sono_record s = {0};
    s.m.s.median = 5;
    s.audio_s = 64.0 / 48000;
    s.stream = json_pack("{s:f}", "xrt", 4.0);
    assert_int_equal(sono_stage_derive(c, 1, &f, &s, &err), 0);
    double push_ns = s.audio_s / 4.0 * 1e9;
    st_expect(&s, "derived.gflops", 1920 / push_ns, "GFLOP/s");
    st_expect(&s, "derived.rtf", 0.25, "");
    st_expect(&s, "derived.x_realtime", 4, "x");
    sono_record_free(&s);

    /* a record with no room left says which metric did not fit */
    sono_record full = {0};
    for (int i = 0; i < SONO_MAX_METRICS; i++) {
        char key[32];
        snprintf(key, sizeof key, "filler.%d", i);
        assert_int_equal(sono_record_metric(&full, key, i, "", SONO_BETTER_NONE, NULL), 0);
    }
    assert_int_equal(sono_stage_derive(c, 0, &f, &full, &err), SONO_ENOMEM);
    assert_non_null(strstr(err.msg, "memory.peak_rss_bytes"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(st_prepare),
        cmocka_unit_test(st_prepare_skips),
        cmocka_unit_test(st_lifecycle_runs),
        cmocka_unit_test(st_lifecycle_measure),
        cmocka_unit_test(st_lifecycle_failures),
        cmocka_unit_test(st_poison),
        cmocka_unit_test(st_judge),
        cmocka_unit_test(st_derive),
    };
    return cmocka_run_group_tests(tests, st_setup, st_teardown);
}
