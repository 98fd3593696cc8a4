/* sink_progress.c — the progress sink: on a terminal, a line rewritten in place while case
 * i of n runs ("[3/40] 0:12 elapsed, ~0:40 left  fft/cpu/radix2/..."), and a permanent
 * line for each case that did not end ok or skip, so failures stay on screen. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sink.h"

static void clock_text(double s, char *buf, size_t n)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

static double since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) * 1e-9;
}

static void progress_start(sono_sink *sink, const sono_run_info *run, int i)
{
    FILE *f = sink->ctx;
    int n = run->plan->ncases;
    const struct timespec *t0 = &run->t0;
    const char *id = run->plan->cases[i].id;
    char el[32], left[32] = "?";
    double s = since(t0);
    clock_text(s, el, sizeof el);
    if (i > 0) /* the mean so far: cases differ, but a suite mixes them evenly enough */
        clock_text(s / i * (n - i), left, sizeof left);
    fprintf(f, "\r\033[K[%d/%d] %s elapsed, ~%s left  %.100s", i + 1, n, el, left, id);
    fflush(f);
}

/* A permanent line for each case that did not end ok or skip, so failures stay on
 * screen; the elapsed time after the last. */
static int progress_record(sono_sink *s, const sono_run_info *run, const sono_record *rec,
                           sono_error *err)
{
    (void)err;
    FILE *f = s->ctx;
    const struct timespec *t0 = &run->t0;
    int n = run->plan->ncases, done = (int)(rec->c - run->plan->cases) + 1;
    const char *st = rec->status;
    if (strcmp(st, "ok") != 0 && strcmp(st, "skip") != 0 && strcmp(st, "xfail") != 0)
        fprintf(f, "\r\033[K%-7s %s  %.200s\n", st, rec->c->id, rec->message);
    if (done == n) {
        char el[32];
        clock_text(since(t0), el, sizeof el);
        fprintf(f, "\r\033[K%d cases in %s\n", n, el);
    }
    fflush(f);
    return 0;
}

static int progress_end(sono_sink *s, const sono_run_info *run, const sono_run_counts *n,
                        int failed, sono_error *err)
{
    (void)run, (void)n, (void)err;
    if (failed) /* the line in place is the case that never finished */
        fprintf((FILE *)s->ctx, "\r\033[K");
    fflush((FILE *)s->ctx);
    return 0;
}

sono_sink *sono_sink_progress(FILE *f)
{
    sono_sink *s = calloc(1, sizeof *s);
    if (s)
        *s = (sono_sink){.name = "progress", .ctx = f, .case_start = progress_start,
                         .record = progress_record, .end = progress_end};
    return s;
}
