/* stream.c — the streaming measurement loop, its layout helpers and its record object.
 * A chunk's copy into the impl's input and the pacing sleep stay outside the timed region;
 * the pacing clock's lateness is kept apart so a late wake is not blamed on the impl. */
#include "stream.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stats.h"

int sono_stream_wanted(const sono_params *p)
{
    return sono_param_real(p, "chunk_ms", 0) > 0 || sono_param_int(p, "chunk", 0) > 0;
}

int sono_stream_cfg_get(const sono_params *p, const sono_stream_shape *s, sono_stream_cfg *cfg,
                        sono_error *err)
{
    double ms = sono_param_real(p, "chunk_ms", 0);
    long long steps = sono_param_int(p, "chunk", 0);
    *cfg = (sono_stream_cfg){0};
    if (!(s->step_rate > 0) || s->in.steps < 1)
        return sono_fail(err, SONO_EINTERNAL, "stream_shape: step_rate %g and %lld input "
                         "steps: expected both > 0", s->step_rate, s->in.steps);
    if (steps <= 0) {
        steps = llround(ms * 1e-3 * s->step_rate);
        if (steps < 1)
            return sono_fail(err, SONO_EINVAL, "chunk_ms=%g holds no input step at %g steps/s: "
                             "expected at least %g ms", ms, s->step_rate, 1e3 / s->step_rate);
    }
    if (steps > s->in.steps)
        return sono_fail(err, SONO_EINVAL, "chunk of %lld steps is longer than the input "
                         "(%lld steps): expected a smaller chunk or chunk_ms", steps,
                         s->in.steps);
    cfg->chunk = steps;
    cfg->chunk_ms = (double)steps / s->step_rate * 1e3;
    cfg->paced = strcmp(sono_param_str(p, "pace", "fast"), "realtime") == 0;
    double dl = sono_param_real(p, "deadline_ms", 0);
    cfg->deadline_ns = (dl > 0 ? dl : cfg->chunk_ms) * 1e6;
    cfg->repeat = (int)sono_param_int(p, "stream_repeat", 1);
    if (cfg->repeat < 1)
        cfg->repeat = 1;
    return 0;
}

/* ---- layouts ------------------------------------------------------------------------ */

int sono_stream_layout_check(const sono_stream_layout *l, const sono_buf *b, const char *what,
                             sono_error *err)
{
    long long elems = sono_buf_elems(b);
    if (l->outer < 1 || l->steps < 1 || l->inner < 1 || l->outer > elems ||
        l->steps > elems / l->outer || l->inner > elems / (l->outer * l->steps))
        return sono_fail(err, SONO_EINTERNAL, "stream_shape: %s layout {outer %lld, steps "
                         "%lld, inner %lld} does not fit its %lld elements", what, l->outer,
                         l->steps, l->inner, elems);
    return 0;
}

void sono_stream_poison(sono_buf *b, const sono_stream_layout *l)
{
    size_t es = sono_dtype_size(b->dtype);
    size_t span = (size_t)(l->steps * l->inner);
    for (long long o = 0; o < l->outer; o++) {
        char *p = (char *)b->data + (size_t)o * span * es;
        for (size_t i = 0; i < span; i++) {
            switch (b->dtype) {
            case SONO_F32: ((float *)p)[i] = NAN; break;
            case SONO_C64: ((float *)p)[2 * i] = ((float *)p)[2 * i + 1] = NAN; break;
            case SONO_F64: ((double *)p)[i] = NAN; break;
            case SONO_C128: ((double *)p)[2 * i] = ((double *)p)[2 * i + 1] = NAN; break;
            case SONO_I16: ((int16_t *)p)[i] = -1; break;
            case SONO_I32: ((int32_t *)p)[i] = -1; break;
            }
        }
    }
}

void sono_stream_copy(sono_buf *dst, const sono_buf *src, const sono_stream_layout *l,
                      long long t0, long long n)
{
    size_t es = sono_dtype_size(src->dtype);
    for (long long o = 0; o < l->outer; o++) {
        size_t at = (size_t)((o * l->steps + t0) * l->inner) * es;
        memcpy((char *)dst->data + at, (const char *)src->data + at, (size_t)(n * l->inner) * es);
    }
}

/* ---- the loop ----------------------------------------------------------------------- */

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* Sleeps until t (CLOCK_MONOTONIC ns); returns how late it woke, or -1 when t had already
 * passed (no sleep: the impl's own backlog, not the clock's overshoot). */
static double sleep_until(double t)
{
    double now = now_ns();
    if (now >= t)
        return -1;
    struct timespec ts = {.tv_sec = (time_t)(t / 1e9)};
    ts.tv_nsec = (long)(t - (double)ts.tv_sec * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
    double late = now_ns() - t;
    return late > 0 ? late : 0;
}

void sono_stream_run_free(sono_stream_run *r)
{
    free(r->lat_ns);
    free(r->wake_ns);
    *r = (sono_stream_run){0};
}

static int one_stream(const sono_impl *im, const char *impl, void *st,
                      const sono_stream_shape *s, const sono_stream_cfg *cfg, const sono_buf *in,
                      sono_buf *work, sono_buf *out, volatile sig_atomic_t *stop,
                      sono_stream_run *r, sono_error *err)
{
    for (size_t i = 0; i < out->nbytes / sizeof(float); i++)
        ((float *)out->data)[i] = NAN;
    sono_stream_poison(work, &s->in);
    int rc = im->stream_begin(st, err);
    if (rc)
        return err && !err->msg[0] ? sono_fail(err, rc, "%s: stream_begin failed", impl) : rc;
    long long done = 0, steps = s->in.steps;
    double start = now_ns();
    for (long long t0 = 0; t0 < steps; t0 += cfg->chunk) {
        long long n = steps - t0 < cfg->chunk ? steps - t0 : cfg->chunk;
        int last = t0 + n == steps;
        if (cfg->paced) { /* the chunk arrives when its last step exists */
            double late = sleep_until(start + (double)(t0 + n) / s->step_rate * 1e9);
            if (late >= 0)
                r->wake_ns[r->nwake++] = late;
        }
        sono_stream_copy(work, in, &s->in, t0, n);
        long long was = done;
        double t = now_ns();
        rc = im->push(st, t0, n, last, out, &done, err);
        double ns = now_ns() - t;
        if (rc)
            return err && !err->msg[0]
                       ? sono_fail(err, rc, "%s: push of steps [%lld, %lld) failed", impl, t0,
                                   t0 + n)
                       : rc;
        if (done < was || done > s->out.steps)
            return sono_fail(err, SONO_ECHECK, "%s: push of steps [%lld, %lld) reported done=%lld "
                             "after %lld: expected a count that never decreases, at most the "
                             "output's %lld steps", impl, t0, t0 + n, done, was, s->out.steps);
        if (last && done != s->out.steps)
            return sono_fail(err, SONO_ECHECK, "%s: after the last push done=%lld, expected "
                             "all %lld output steps", impl, done, s->out.steps);
        r->lat_ns[r->nlat++] = ns;
        r->push_ns += ns;
        r->misses += ns > cfg->deadline_ns;
        if (stop && *stop)
            return sono_fail(err, SONO_EINTR, "interrupted");
    }
    return 0;
}

int sono_stream_measure(const sono_impl *im, const char *impl, void *st,
                        const sono_stream_shape *s, const sono_stream_cfg *cfg,
                        const sono_buf *in, sono_buf *work, sono_buf *out,
                        volatile sig_atomic_t *stop, sono_stream_run *r, sono_error *err)
{
    *r = (sono_stream_run){0};
    r->chunks = (long)((s->in.steps + cfg->chunk - 1) / cfg->chunk);
    size_t cap = (size_t)r->chunks * (size_t)cfg->repeat;
    r->lat_ns = malloc(cap * sizeof *r->lat_ns);
    r->wake_ns = cfg->paced ? malloc(cap * sizeof *r->wake_ns) : NULL;
    if (!r->lat_ns || (cfg->paced && !r->wake_ns)) {
        sono_stream_run_free(r);
        return sono_fail(err, SONO_ENOMEM, "no memory for %zu chunk latencies", cap);
    }
    for (int i = 0; i < cfg->repeat; i++) {
        int rc = one_stream(im, impl, st, s, cfg, in, work, out, stop, r, err);
        if (rc) {
            sono_stream_run_free(r);
            return rc;
        }
    }
    r->audio_s = (double)cfg->repeat * (double)s->in.steps / s->step_rate;
    return 0;
}

/* ---- comparison and record ------------------------------------------------------------ */

static double scalar(const sono_buf *b, size_t i)
{
    switch (b->dtype) {
    case SONO_F32:
    case SONO_C64: return ((const float *)b->data)[i];
    case SONO_F64:
    case SONO_C128: return ((const double *)b->data)[i];
    case SONO_I16: return ((const int16_t *)b->data)[i];
    case SONO_I32: return ((const int32_t *)b->data)[i];
    }
    return 0;
}

void sono_stream_compare(const sono_buf *a, const sono_buf *b, sono_stream_offline *o)
{
    size_t n = (size_t)sono_buf_elems(b);
    if (b->dtype == SONO_C64 || b->dtype == SONO_C128)
        n *= 2;
    double d2 = 0, b2 = 0, mx = 0;
    for (size_t i = 0; i < n; i++) {
        double x = scalar(a, i), y = scalar(b, i), d = fabs(x - y);
        if (isnan(x) != isnan(y) || (isinf(x) || isinf(y) ? x != y : 0))
            d = INFINITY;
        else if (isnan(x) || (isinf(x) && x == y))
            d = 0; /* both NaN or the same infinity: the same value, as far as streams go */
        mx = d > mx ? d : mx;
        d2 += d * d;
        b2 += isfinite(y) ? y * y : 0;
    }
    o->max_abs = mx;
    o->rel_l2 = b2 > 0 ? sqrt(d2 / b2) : sqrt(d2);
    o->exact = a->nbytes == b->nbytes && memcmp(a->data, b->data, b->nbytes) == 0;
}

/* Four bins per decade from 100 ns to 100 s; the first and last also take what falls
 * below or above, so every chunk is counted once. */
#define HIST_LO_NS 100.0
#define HIST_PER_DECADE 4
#define HIST_BINS (9 * HIST_PER_DECADE)

static json_t *histogram(const double *x, long n)
{
    long counts[HIST_BINS] = {0};
    for (long i = 0; i < n; i++) {
        double b = floor(log10(fmax(x[i], HIST_LO_NS) / HIST_LO_NS) * HIST_PER_DECADE);
        long k = b < 0 ? 0 : b >= HIST_BINS ? HIST_BINS - 1 : (long)b;
        counts[k]++;
    }
    json_t *edges = json_array(), *c = json_array();
    for (int k = 0; k <= HIST_BINS; k++)
        json_array_append_new(edges, json_real(HIST_LO_NS * pow(10.0, (double)k / HIST_PER_DECADE)));
    for (int k = 0; k < HIST_BINS; k++)
        json_array_append_new(c, json_integer(counts[k]));
    return json_pack("{s:o, s:o, s:s}", "edges_ns", edges, "counts", c, "note",
                     "counts[k]: edges_ns[k] <= latency < edges_ns[k+1]; the first and last "
                     "bins also hold what falls outside");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorted copy of x; NULL when empty or out of memory. */
static double *sorted(const double *x, long n)
{
    double *s = n > 0 ? malloc((size_t)n * sizeof *s) : NULL;
    if (s) {
        memcpy(s, x, (size_t)n * sizeof *s);
        qsort(s, (size_t)n, sizeof *s, cmp_double);
    }
    return s;
}

/* JSON has no infinity: a NaN where offline had a number is null, not a figure. */
static json_t *finite_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *sono_stream_json(const sono_stream_cfg *cfg, const sono_stream_shape *s,
                         const sono_stream_run *r, const sono_stream_offline *o)
{
    double *lat = sorted(r->lat_ns, r->nlat), sum = 0;
    size_t n = lat ? (size_t)r->nlat : 0;
    for (size_t i = 0; i < n; i++)
        sum += lat[i];
    double p99 = sono_quantile_sorted(lat, n, 0.99), algo_ms = s->algo_latency_s * 1e3;
    json_t *j = json_pack(
        "{s:I, s:f, s:s, s:f, s:I, s:i, s:{s:f, s:f, s:f, s:f, s:f, s:f}, s:I, s:f, s:f, s:f, "
        "s:f, s:o}",
        "chunk_steps", (json_int_t)cfg->chunk, "chunk_ms", cfg->chunk_ms, "pace",
        cfg->paced ? "realtime" : "fast", "deadline_ms", cfg->deadline_ns * 1e-6, "chunks",
        (json_int_t)r->chunks, "streams", cfg->repeat, "latency_ns", "p50",
        sono_quantile_sorted(lat, n, 0.5), "p90", sono_quantile_sorted(lat, n, 0.9), "p99", p99,
        "p999", sono_quantile_sorted(lat, n, 0.999), "max", n ? lat[n - 1] : 0.0, "mean",
        n ? sum / (double)n : 0.0, "misses", (json_int_t)r->misses, "miss_rate",
        n ? (double)r->misses / (double)n : 0.0, "algo_latency_ms", algo_ms, "e2e_ms",
        algo_ms + p99 * 1e-6, "xrt", r->push_ns > 0 ? r->audio_s / (r->push_ns * 1e-9) : 0.0,
        "histogram", histogram(r->lat_ns, r->nlat));
    free(lat);
    if (j && cfg->paced) {
        double *w = sorted(r->wake_ns, r->nwake);
        size_t m = w ? (size_t)r->nwake : 0;
        json_object_set_new(j, "wake_late_ns", json_pack("{s:I, s:f, s:f, s:f}", "n",
                            (json_int_t)m, "p50", sono_quantile_sorted(w, m, 0.5), "p99",
                            sono_quantile_sorted(w, m, 0.99), "max", m ? w[m - 1] : 0.0));
        free(w);
    }
    if (j && o)
        json_object_set_new(j, "offline", json_pack("{s:o, s:o, s:b}", "max_abs",
                            finite_or_null(o->max_abs), "rel_l2", finite_or_null(o->rel_l2),
                            "exact", o->exact));
    return j;
}
