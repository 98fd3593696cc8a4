/* table.c — formats records for people. Columns are sized to their contents so the
 * tables stay readable from n=16 to n=65536 and from nanoseconds to seconds. Streaming
 * cases get sections of their own ("== stft (streaming) =="), whose columns are the
 * per-chunk latency's p50, p99 and max, the missed deadlines and x real time. */
#include "table.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

typedef struct row {
    char op[32], impl[160], params[256], input[160], status[16], note[160];
    double median, ci_rel, gflops, gbps, xrt, rel_l2, roof;
    int measured, checked, order;
    int has_q;            /* a codec case: bitrate and quality, or why quality is absent */
    double kbps, si_sdr;  /* NAN when not recorded */
    char qnote[64];
    int stream;           /* a streaming case: the figures below replace median and CI */
    double p50, p99, pmax, e2e_ms;
    int io;               /* audio I/O (decode, resample, load.batch): hours of audio/s */
    char bottleneck[32];  /* load.batch's slowest stage, from its describe */
    long long misses, chunks;
} row;

struct sono_table {
    row *rows;
    int n, cap;
};

sono_table *sono_table_new(void)
{
    return calloc(1, sizeof(sono_table));
}

void sono_table_free(sono_table *t)
{
    if (t)
        free(t->rows);
    free(t);
}

void sono_format_ns(double ns, char *buf, size_t n)
{
    static const char *units[] = {"ns", "us", "ms", "s"};
    int u = 0;
    while (u < 3 && ns >= 1000.0) {
        ns /= 1000.0;
        u++;
    }
    snprintf(buf, n, ns >= 100 ? "%.0f %s" : ns >= 10 ? "%.1f %s" : "%.2f %s", ns, units[u]);
}

static double num(const json_t *o, const char *a, const char *b)
{
    const json_t *v = json_object_get(json_object_get(o, a), b);
    return json_is_number(v) ? json_number_value(v) : 0.0;
}

int sono_table_add(sono_table *t, const sono_case *c, const json_t *rec)
{
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 64;
        row *r = realloc(t->rows, (size_t)cap * sizeof *r);
        if (!r)
            return SONO_ENOMEM;
        t->rows = r;
        t->cap = cap;
    }
    row *r = &t->rows[t->n];
    memset(r, 0, sizeof *r);
    r->order = t->n++;
    const char *status = json_string_value(json_object_get(rec, "status"));
    const char *msg = json_string_value(json_object_get(rec, "message"));
    const char *input = json_string_value(json_object_get(json_object_get(rec, "input"), "name"));
    snprintf(r->op, sizeof r->op, "%s", c->op->name);
    snprintf(r->impl, sizeof r->impl, "%s", c->impl_name);
    snprintf(r->params, sizeof r->params, "%s", c->params_text);
    snprintf(r->input, sizeof r->input, "%s", input ? input : "");
    snprintf(r->status, sizeof r->status, "%s", status ? status : "?");
    for (char *s = r->status; *s; s++)
        *s = (char)(*s >= 'a' && *s <= 'z' ? *s - 32 : *s);
    snprintf(r->note, sizeof r->note, "%s", msg ? msg : "");
    r->measured = json_object_get(rec, "time_ns") != NULL;
    r->checked = json_object_get(rec, "check") != NULL;
    r->median = num(rec, "time_ns", "median");
    r->ci_rel = num(rec, "time_ns", "ci_rel");
    r->gflops = num(rec, "derived", "gflops");
    r->gbps = num(rec, "derived", "gbps");
    r->xrt = num(rec, "derived", "x_realtime");
    r->rel_l2 = num(rec, "check", "rel_l2");
    r->roof = num(rec, "derived", "roofline_pct");
    const json_t *q = json_object_get(rec, "quality");
    r->has_q = q != NULL;
    const json_t *br = json_object_get(q, "bitrate_bps"), *sd = json_object_get(q, "si_sdr_db");
    r->kbps = json_is_number(br) ? json_number_value(br) / 1000.0 : NAN;
    r->si_sdr = json_is_number(sd) ? json_number_value(sd) : NAN;
    const char *qn = json_string_value(json_object_get(q, "note"));
    snprintf(r->qnote, sizeof r->qnote, "%s", qn ? qn : "");
    /* Input pipelines are judged in hours of audio per second and by their slowest stage
     * (issue 14); the impl's describe names it as "bottleneck: <stage>;". */
    r->io = strcmp(c->op->name, "decode") == 0 || strcmp(c->op->name, "resample") == 0 ||
            strncmp(c->op->name, "load.", 5) == 0;
    const char *desc = json_string_value(json_object_get(rec, "describe"));
    const char *bn = desc ? strstr(desc, "bottleneck: ") : NULL;
    if (bn) {
        bn += strlen("bottleneck: ");
        size_t len = strcspn(bn, ";,");
        snprintf(r->bottleneck, sizeof r->bottleneck, "%.*s", (int)(len < 31 ? len : 31), bn);
    }
    const json_t *st = json_object_get(rec, "stream");
    if (st || sono_stream_wanted(&c->p)) { /* a skipped or failed stream still goes there */
        r->stream = 1;
        snprintf(r->op, sizeof r->op, "%s (streaming)", c->op->name);
    }
    if (st) {
        r->p50 = num(st, "latency_ns", "p50");
        r->p99 = num(st, "latency_ns", "p99");
        r->pmax = num(st, "latency_ns", "max");
        r->e2e_ms = json_number_value(json_object_get(st, "e2e_ms"));
        r->misses = json_integer_value(json_object_get(st, "misses"));
        r->chunks = json_integer_value(json_object_get(st, "chunks")) *
                    json_integer_value(json_object_get(st, "streams"));
        r->xrt = json_number_value(json_object_get(st, "xrt"));
    }
    return 0;
}

/* Failures first (they are what a reader must see), then the order they ran in. */
static int rank(const row *r)
{
    return strcmp(r->status, "OK") == 0 ? 2 : strcmp(r->status, "SKIP") == 0 ? 3 : 1;
}

static int cmp_rows(const void *a, const void *b)
{
    const row *x = a, *y = b;
    int c = strcmp(x->op, y->op);
    if (c)
        return c;
    int rx = rank(x), ry = rank(y);
    if (rx != ry && (rx == 1 || ry == 1))
        return rx - ry;
    return x->order - y->order;
}

static void human(double v, char *buf, size_t n)
{
    if (v <= 0)
        snprintf(buf, n, "-");
    else if (v >= 1e6)
        snprintf(buf, n, "%.3g", v);
    else
        snprintf(buf, n, v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : "%.2f", v);
}

void sono_table_print(const sono_table *t, FILE *f)
{
    if (t->n == 0)
        return;
    row *rows = malloc((size_t)t->n * sizeof *rows);
    if (!rows)
        return;
    memcpy(rows, t->rows, (size_t)t->n * sizeof *rows);
    qsort(rows, (size_t)t->n, sizeof *rows, cmp_rows);
    int w_impl = 4, w_par = 6, w_in = 5;
    for (int i = 0; i < t->n; i++) {
        int a = (int)strlen(rows[i].impl), b = (int)strlen(rows[i].params),
            c = (int)strlen(rows[i].input);
        w_impl = a > w_impl ? a : w_impl;
        w_par = b > w_par ? b : w_par;
        w_in = c > w_in ? c : w_in;
    }
    int quality = 0; /* this op's section shows bitrate and SI-SDR columns */
    for (int i = 0; i < t->n; i++) {
        const row *r = &rows[i];
        if (i == 0 || strcmp(r->op, rows[i - 1].op) != 0) {
            quality = 0;
            for (int j = i; j < t->n && strcmp(rows[j].op, r->op) == 0; j++)
                quality |= rows[j].has_q;
            if (r->stream)
                fprintf(f, "\n== %s ==\n%-*s  %-*s  %-*s  %10s  %10s  %10s  %11s  %9s  "
                        "%10s  %9s  ", r->op, w_impl, "impl", w_par, "params", w_in, "input",
                        "p50", "p99", "max", "misses", "e2e ms", "x realtime", "rel.err");
            else
                fprintf(f, "\n== %s ==\n%-*s  %-*s  %-*s  %10s  %7s  %9s  %8s  %6s  %10s  "
                        "%9s  ", r->op, w_impl, "impl", w_par, "params", w_in, "input",
                        "median", "+-CI", "GFLOP/s", "GB/s", "roof%", "x realtime", "rel.err");
            if (quality)
                fprintf(f, "%7s  %9s  ", "kbps", "SI-SDR dB");
            if (r->io)
                fprintf(f, "%10s  %-10s  ", "h audio/s", "bottleneck");
            fprintf(f, "status\n");
        }
        char med[32] = "-", ci[32] = "-", gf[32] = "-", gb[32] = "-", xr[32] = "-", err[32] = "-";
        char roof[32] = "-";
        if (r->roof > 0)
            snprintf(roof, sizeof roof, "%.1f", r->roof);
        if (r->measured) {
            sono_format_ns(r->median, med, sizeof med);
            snprintf(ci, sizeof ci, "%.1f%%", 100.0 * r->ci_rel);
            human(r->gflops, gf, sizeof gf);
            human(r->gbps, gb, sizeof gb);
            human(r->xrt, xr, sizeof xr);
        }
        if (r->checked)
            snprintf(err, sizeof err, "%.2e", r->rel_l2);
        if (r->stream) {
            char p50[32] = "-", p99[32] = "-", mx[32] = "-", miss[32] = "-", e2e[32] = "-";
            if (r->chunks > 0) {
                sono_format_ns(r->p50, p50, sizeof p50);
                sono_format_ns(r->p99, p99, sizeof p99);
                sono_format_ns(r->pmax, mx, sizeof mx);
                snprintf(miss, sizeof miss, "%lld/%lld", r->misses, r->chunks);
                snprintf(e2e, sizeof e2e, "%.2f", r->e2e_ms);
            }
            fprintf(f, "%-*s  %-*s  %-*s  %10s  %10s  %10s  %11s  %9s  %10s  %9s  ", w_impl,
                    r->impl, w_par, r->params, w_in, r->input, p50, p99, mx, miss, e2e, xr, err);
        } else
            fprintf(f, "%-*s  %-*s  %-*s  %10s  %7s  %9s  %8s  %6s  %10s  %9s  ", w_impl,
                    r->impl, w_par, r->params, w_in, r->input, med, ci, gf, gb, roof, xr, err);
        if (quality) {
            char kb[32] = "-", sd[32] = "-";
            if (isfinite(r->kbps))
                snprintf(kb, sizeof kb, "%.2f", r->kbps);
            if (isfinite(r->si_sdr))
                snprintf(sd, sizeof sd, "%.2f", r->si_sdr);
            else if (r->has_q && r->qnote[0]) /* say why, e.g. random weights */
                snprintf(sd, sizeof sd, "n/a");
            fprintf(f, "%7s  %9s  ", kb, sd);
        }
        if (r->io) {
            char h[32] = "-";
            if (r->measured && r->xrt > 0)
                snprintf(h, sizeof h, r->xrt / 3600.0 >= 10 ? "%.0f" : "%.3g", r->xrt / 3600.0);
            fprintf(f, "%10s  %-10s  ", h, r->bottleneck[0] ? r->bottleneck : "-");
        }
        const char *why = r->note[0] ? r->note : r->has_q && !isfinite(r->si_sdr) ? r->qnote : "";
        fprintf(f, "%s%s%s\n", r->status, why[0] ? ": " : "", why);
    }
    free(rows);
}

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

void sono_progress_live(FILE *f, int i, int n, const struct timespec *t0, const char *id)
{
    char el[32], left[32] = "?";
    double s = since(t0);
    clock_text(s, el, sizeof el);
    if (i > 0) /* the mean so far: cases differ, but a suite mixes them evenly enough */
        clock_text(s / i * (n - i), left, sizeof left);
    fprintf(f, "\r\033[K[%d/%d] %s elapsed, ~%s left  %.100s", i + 1, n, el, left, id);
    fflush(f);
}

void sono_progress_done(FILE *f, int done, int n, const struct timespec *t0,
                        const sono_case *c, const json_t *rec)
{
    const char *st = json_string_value(json_object_get(rec, "status"));
    const char *msg = json_string_value(json_object_get(rec, "message"));
    if (st && strcmp(st, "ok") != 0 && strcmp(st, "skip") != 0)
        fprintf(f, "\r\033[K%-7s %s  %.200s\n", st, c->id, msg ? msg : "");
    if (done == n) {
        char el[32];
        clock_text(since(t0), el, sizeof el);
        fprintf(f, "\r\033[K%d cases in %s\n", n, el);
    }
    fflush(f);
}
