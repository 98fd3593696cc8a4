/* table.c — the table sink: formats records for people, a row as each case finishes and
 * the full tables (failures first) at the end. Columns are sized to the plan's contents so
 * the tables stay readable from n=16 to n=65536 and from nanoseconds to seconds.
 * Streaming cases get sections of their own ("== stft (streaming) =="), whose columns are
 * the per-chunk latency's p50, p99 and max, the missed deadlines and x real time. */
#include "table.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sink.h"
#include "stream.h"

typedef struct row {
    char op[32], impl[160], params[256], input[160], status[16];
    char note[1024];      /* the whole reason: a skip cut mid-word helps no one */
    double median, ci_rel, gflops, gbps, xrt, rel_l2, roof;
    int measured, checked, order;
    int reps;             /* issue 22: repetitions behind the CI; <= 1: within-process only */
    double instr;         /* issue 22, --metric instructions: per run; 0: timed */
    char flags[240];      /* noisy, not converged, one sample: why a figure is weak */
    int has_q;            /* a codec case: bitrate and quality, or why quality is absent */
    double kbps, si_sdr;  /* NAN when not recorded */
    char qnote[200];      /* sono_quality.note, whole */
    int stream;           /* a streaming case: the figures below replace median and CI */
    double p50, p99, pmax, e2e_ms;
    int io;               /* audio I/O (decode, resample, load.batch): hours of audio/s */
    const char *dfield;   /* the op's describe_field ("bottleneck"), or NULL */
    char dvalue[32];      /* its value in the impl's describe ("FIELD: value;") */
    long long misses, chunks;
} row;

typedef struct widths {
    int impl, par, in;
} widths;

typedef struct table {
    row *rows;
    int n, cap;
    FILE *f;
    int live;          /* print each row as it arrives */
    widths w;          /* from the plan, for live rows */
    char section[48];  /* the live section printed last */
} table;

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

/* issue 22: what makes a figure weaker than its row looks: noisy, one sample, not
 * converged (a count is exact: none of these apply to it). */
static void row_flags(const sono_record *rec, row *r)
{
    size_t fl = 0;
    if (rec->noisy)
        fl += (size_t)snprintf(r->flags + fl, sizeof r->flags - fl, "noisy: %s; ",
                               rec->noise_why);
    if (rec->measured && rec->m.nsamples == 1 && !r->instr)
        fl += (size_t)snprintf(r->flags + fl, sizeof r->flags - fl, "1 sample; ");
    else if (rec->measured && !rec->m.converged && !r->instr && fl < sizeof r->flags)
        fl += (size_t)snprintf(r->flags + fl, sizeof r->flags - fl,
                               "not converged (CI %.1f%% > target %.1f%%); ",
                               100 * rec->m.s.ci_rel, 100 * rec->c->cfg.target_ci);
    if (fl >= 2 && fl < sizeof r->flags)
        r->flags[fl - 2] = 0;
}

/* What a row shows, from the typed record. */
static int table_add(table *t, const sono_record *rec, row **out)
{
    const sono_case *c = rec->c;
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
    snprintf(r->op, sizeof r->op, "%s", c->op->name);
    snprintf(r->impl, sizeof r->impl, "%s", c->impl_name);
    snprintf(r->params, sizeof r->params, "%s", c->params_text);
    snprintf(r->input, sizeof r->input, "%s", rec->input ? rec->input : "");
    snprintf(r->status, sizeof r->status, "%s", rec->status ? rec->status : "?");
    for (char *s = r->status; *s; s++)
        *s = (char)(*s >= 'a' && *s <= 'z' ? *s - 32 : *s);
    snprintf(r->note, sizeof r->note, "%s", rec->message);
    r->measured = rec->measured;
    r->checked = rec->checked;
    r->median = rec->m.s.median;
    r->ci_rel = rec->m.s.ci_rel;
    r->reps = rec->nreps;
    r->instr = sono_record_value(rec, "counts.instructions", 0);
    row_flags(rec, r);
    r->gflops = sono_record_value(rec, "derived.gflops", 0);
    r->gbps = sono_record_value(rec, "derived.gbps", 0);
    r->xrt = sono_record_value(rec, "derived.x_realtime", 0);
    r->rel_l2 = rec->check.rel_l2;
    r->roof = sono_record_value(rec, "derived.roofline_pct", 0);
    const sono_quality *q = &rec->quality;
    r->has_q = rec->has_quality;
    r->kbps = r->has_q && (q->has & SONO_Q_BITRATE) && isfinite(q->bitrate_bps)
                  ? q->bitrate_bps / 1000.0 : NAN;
    r->si_sdr = r->has_q && (q->has & SONO_Q_SISDR) && isfinite(q->si_sdr_db) ? q->si_sdr_db
                                                                             : NAN;
    snprintf(r->qnote, sizeof r->qnote, "%s", r->has_q ? q->note : "");
    /* An op judged in hours of audio per second (input pipelines, issue 14) says so, and
     * names the field of its impls' describe that the table shows ("bottleneck"). */
    r->io = c->op->merit == SONO_MERIT_AUDIO_HOURS;
    r->dfield = c->op->describe_field;
    char key[48];
    snprintf(key, sizeof key, "%s: ", r->dfield ? r->dfield : "");
    const char *bn = r->dfield ? strstr(rec->describe, key) : NULL;
    if (bn) {
        bn += strlen(key);
        size_t len = strcspn(bn, ";,");
        snprintf(r->dvalue, sizeof r->dvalue, "%.*s", (int)(len < 31 ? len : 31), bn);
    }
    const json_t *st = rec->stream;
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
    *out = r;
    return 0;
}

/* Failures first (they are what a reader must see), then the order they ran in. */
static int rank(const row *r)
{
    /* issue 27: a known failure reads with the passing rows; an XPASS wants a look */
    return strcmp(r->status, "OK") == 0 || strcmp(r->status, "XFAIL") == 0 ? 2
           : strcmp(r->status, "SKIP") == 0                                ? 3
                                                                           : 1;
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

static void print_header(FILE *f, const row *r, const widths *w, int quality)
{
    if (r->stream)
        fprintf(f, "\n== %s ==\n%-*s  %-*s  %-*s  %10s  %10s  %10s  %11s  %9s  %10s  %9s  ",
                r->op, w->impl, "impl", w->par, "params", w->in, "input", "p50", "p99", "max",
                "misses", "e2e ms", "x realtime", "rel.err");
    else
        fprintf(f, "\n== %s ==\n%-*s  %-*s  %-*s  %10s  %7s  %9s  %8s  %6s  %10s  %9s  ",
                r->op, w->impl, "impl", w->par, "params", w->in, "input", "median", "+-CI",
                "GFLOP/s", "GB/s", "roof%", "x realtime", "rel.err");
    if (quality)
        fprintf(f, "%7s  %9s  ", "kbps", "SI-SDR dB");
    if (r->io)
        fprintf(f, "%10s  ", "h audio/s");
    if (r->dfield)
        fprintf(f, "%-10s  ", r->dfield);
    fprintf(f, "status\n");
}

static void print_row(FILE *f, const row *r, const widths *w, int quality)
{
    char med[32] = "-", ci[32] = "-", gf[32] = "-", gb[32] = "-", xr[32] = "-", err[32] = "-";
    char roof[32] = "-";
    if (r->roof > 0)
        snprintf(roof, sizeof roof, "%.1f", r->roof);
    if (r->measured && r->instr > 0) {
        /* counted, not timed: the time of the counted run (under valgrind, the
         * simulator's) and the rates from it mean nothing */
        snprintf(med, sizeof med, r->instr >= 1e7 ? "%.3g ins" : "%.0f ins", r->instr);
    } else if (r->measured) {
        sono_format_ns(r->median, med, sizeof med);
        /* one repetition: its CI is within one process and says nothing of the next run */
        if (r->reps > 1)
            snprintf(ci, sizeof ci, "%.1f%%", 100.0 * r->ci_rel);
        else
            snprintf(ci, sizeof ci, "-");
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
        fprintf(f, "%-*s  %-*s  %-*s  %10s  %10s  %10s  %11s  %9s  %10s  %9s  ", w->impl,
                r->impl, w->par, r->params, w->in, r->input, p50, p99, mx, miss, e2e, xr, err);
    } else
        fprintf(f, "%-*s  %-*s  %-*s  %10s  %7s  %9s  %8s  %6s  %10s  %9s  ", w->impl,
                r->impl, w->par, r->params, w->in, r->input, med, ci, gf, gb, roof, xr, err);
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
        fprintf(f, "%10s  ", h);
    }
    if (r->dfield)
        fprintf(f, "%-10s  ", r->dvalue[0] ? r->dvalue : "-");
    const char *why = r->note[0] ? r->note : r->has_q && !isfinite(r->si_sdr) ? r->qnote : "";
    fprintf(f, "%s%s%s%s%s%s\n", r->status, r->flags[0] ? " [" : "", r->flags,
            r->flags[0] ? "]" : "", why[0] ? ": " : "", why);
}

static void widen(widths *w, const char *impl, const char *par, const char *in)
{
    int a = (int)strlen(impl), b = (int)strlen(par), c = (int)strlen(in);
    w->impl = a > w->impl ? a : w->impl;
    w->par = b > w->par ? b : w->par;
    w->in = c > w->in ? c : w->in;
}

/* The full tables: grouped by op, failures first, columns sized to the rows. */
static void print_all(const table *t, FILE *f)
{
    if (t->n == 0)
        return;
    row *rows = malloc((size_t)t->n * sizeof *rows);
    if (!rows)
        return;
    memcpy(rows, t->rows, (size_t)t->n * sizeof *rows);
    qsort(rows, (size_t)t->n, sizeof *rows, cmp_rows);
    widths w = {4, 6, 5};
    for (int i = 0; i < t->n; i++)
        widen(&w, rows[i].impl, rows[i].params, rows[i].input);
    int quality = 0; /* this op's section shows bitrate and SI-SDR columns */
    for (int i = 0; i < t->n; i++) {
        const row *r = &rows[i];
        if (i == 0 || strcmp(r->op, rows[i - 1].op) != 0) {
            quality = 0;
            for (int j = i; j < t->n && strcmp(rows[j].op, r->op) == 0; j++)
                quality |= rows[j].has_q;
            print_header(f, r, &w, quality);
        }
        print_row(f, r, &w, quality);
    }
    free(rows);
}

static int table_begin(sono_sink *s, const sono_run_info *run, sono_error *err)
{
    (void)err;
    table *t = s->ctx;
    const sono_plan *p = run->plan;
    t->w = (widths){4, 6, 5};
    for (int i = 0; i < p->ncases; i++)
        widen(&t->w, p->cases[i].impl_name, p->cases[i].params_text,
              p->inputs[p->cases[i].input].name);
    return 0;
}

static int table_record(sono_sink *s, const sono_run_info *run, const sono_record *rec,
                        sono_error *err)
{
    (void)run;
    table *t = s->ctx;
    row *r;
    if (table_add(t, rec, &r))
        return sono_fail(err, SONO_ENOMEM, "out of memory");
    if (t->live) {
        /* the header when an op's first row arrives; codec ops show their quality */
        int quality = rec->c->op->quality != NULL;
        if (strcmp(t->section, r->op) != 0) {
            print_header(t->f, r, &t->w, quality);
            snprintf(t->section, sizeof t->section, "%s", r->op);
        }
        print_row(t->f, r, &t->w, quality);
        fflush(t->f);
    }
    return 0;
}

static int table_end(sono_sink *s, const sono_run_info *run, const sono_run_counts *n,
                     int failed, sono_error *err)
{
    (void)run, (void)n, (void)failed, (void)err;
    table *t = s->ctx;
    if (t->live && t->n)
        fprintf(t->f, "\n-- all cases, failures first --\n");
    print_all(t, t->f);
    int single = 0;
    for (int i = 0; i < t->n; i++)
        single |= t->rows[i].measured && t->rows[i].reps <= 1 && !t->rows[i].stream &&
                  !t->rows[i].instr;
    if (single) /* issue 22: say why the CI column is empty, once */
        fprintf(t->f, "\n+-CI -: one repetition per case; its CI is within one process "
                "(time_ns.ci_rel in the results file) and misses what changes between runs. "
                "--repetitions R measures R fresh runs.\n");
    fflush(t->f);
    return 0;
}

static void table_free(sono_sink *s)
{
    table *t = s->ctx;
    free(t->rows);
    free(t);
    free(s);
}

sono_sink *sono_sink_table(FILE *f, int live)
{
    sono_sink *s = calloc(1, sizeof *s);
    table *t = calloc(1, sizeof *t);
    if (!s || !t) {
        free(s);
        free(t);
        return NULL;
    }
    t->f = f;
    t->live = live;
    *s = (sono_sink){.name = "table", .ctx = t, .begin = table_begin, .record = table_record,
                     .end = table_end, .free = table_free};
    return s;
}
