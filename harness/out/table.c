/* table.c — the table sink: formats records for people, a row as each case finishes and
 * the full tables (failures first) at the end. Columns are sized to the plan's contents so
 * the tables stay readable from n=16 to n=65536 and from nanoseconds to seconds.
 * Streaming cases get sections of their own ("== stft (streaming) =="), whose columns are
 * the per-chunk latency's p50, p99 and max, the missed deadlines and x real time.
 * Issue 27: a row is made from the record's JSON (the results file's case object), so
 * `harness show FILE` prints a finished file's tables exactly as its run did; the same
 * cells also print as markdown, CSV or JSON (show --format, run --format). */
#include "table.h"

#include <ctype.h>
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
    int own_check;        /* issue 27: the op's own check (check.detail): rel_l2 is none */
    int codec;            /* issue 27: a codec (merit codec): no GB/s */
    int reps;             /* issue 22: repetitions behind the CI; <= 1: within-process only */
    double instr;         /* issue 22, --metric instructions: per run; 0: timed */
    char flags[240];      /* noisy, not converged, one sample: why a figure is weak */
    int has_q;            /* a codec case: bitrate and quality, or why quality is absent */
    double kbps, si_sdr;  /* NAN when not recorded */
    char qnote[200];      /* sono_quality.note, whole */
    double pesq, stoi;    /* issue 24: NAN when not recorded */
    double lat_ms, mem;   /* issue 24: derived.algo_latency_ms; the impl's workspace (else
                             the worker's peak RSS), bytes; NAN when not recorded */
    char snote[200];      /* quality.speech_note: why PESQ or STOI is absent */
    int stream;           /* a streaming case: the figures below replace median and CI */
    double p50, p99, pmax, e2e_ms;
    int io;               /* audio I/O (decode, resample, load.batch): hours of audio/s */
    char dfield[32];      /* the op's describe_field ("bottleneck"), or "" */
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
    sono_table_format fmt;
    widths w;          /* from the plan, for live rows */
    char section[48];  /* the live section printed last */
    json_t *ops;       /* each op's presentation (sono_ops_presentation_json) */
    int quick_cal;     /* issue 27: roof% is against a quick calibration: marked */
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

/* o's value at a dotted path, or NULL. */
static const json_t *at(const json_t *o, const char *path)
{
    char part[64];
    const char *dot;
    while (o && (dot = strchr(path, '.'))) {
        snprintf(part, sizeof part, "%.*s", (int)(dot - path), path);
        o = json_object_get(o, part);
        path = dot + 1;
    }
    return o ? json_object_get(o, path) : NULL;
}

/* The number at path, or dflt when absent, null or not a number. */
static double val(const json_t *o, const char *path, double dflt)
{
    const json_t *v = at(o, path);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

static const char *str(const json_t *o, const char *path)
{
    const char *s = json_string_value(at(o, path));
    return s ? s : "";
}

/* issue 22: what makes a figure weaker than its row looks: noisy, one sample, not
 * converged (a count is exact: none of these apply to it). */
static void row_flags(const json_t *c, row *r)
{
    size_t fl = 0;
    const json_t *t = json_object_get(c, "time_ns");
    if (json_is_true(json_object_get(c, "noisy")))
        fl += (size_t)snprintf(r->flags + fl, sizeof r->flags - fl, "noisy: %s; ",
                               str(c, "noisy_why"));
    size_t nsamples = json_array_size(json_object_get(t, "samples"));
    if (!nsamples) /* a file whose samples were dropped: the count it kept */
        nsamples = (size_t)val(t, "n", 0);
    if (r->measured && nsamples == 1 && !r->instr)
        fl += (size_t)snprintf(r->flags + fl, sizeof r->flags - fl, "1 sample; ");
    else if (r->measured && json_is_false(json_object_get(t, "converged")) && !r->instr &&
             fl < sizeof r->flags)
        fl += (size_t)snprintf(r->flags + fl, sizeof r->flags - fl,
                               "not converged (CI %.1f%% > target %.1f%%); ",
                               100 * val(t, "ci_rel", 0), 100 * val(t, "target_ci", 0));
    /* issue 27: a file input longer than the case was cut without a word in the table */
    const char *asked = str(json_object_get(c, "params_asked"), "seconds");
    if (strcmp(asked, "all") == 0 && fl < sizeof r->flags)
        fl += (size_t)snprintf(r->flags + fl, sizeof r->flags - fl, "seconds=all; ");
    else if (strstr(str(c, "input_note"), "its first") && fl < sizeof r->flags)
        fl += (size_t)snprintf(r->flags + fl, sizeof r->flags - fl,
                               "input cut to seconds (seconds=all uses all); ");
    if (fl >= 2 && fl < sizeof r->flags)
        r->flags[fl - 2] = 0;
}

/* The params part of an id: op/backend/impl/PARAMS/input. */
static void params_of(const char *id, const char *op, const char *impl, const char *input,
                      char *out, size_t n)
{
    size_t lo = strlen(op) + 1 + strlen(impl) + 1, len = strlen(id), in = strlen(input) + 1;
    if (len >= lo + in && strncmp(id, op, strlen(op)) == 0 &&
        strcmp(id + len - in + 1, input) == 0)
        snprintf(out, n, "%.*s", (int)(len - lo - in), id + lo);
    else
        out[0] = 0;
}

/* What a row shows, from a results file's case object c; ops: the suite's presentation
 * of each op (NULL or missing in files older than it: no describe column, timed ops). */
static void row_from_json(row *r, const json_t *c, const json_t *ops)
{
    const char *op = str(c, "op");
    snprintf(r->op, sizeof r->op, "%s", op);
    snprintf(r->impl, sizeof r->impl, "%s", str(c, "impl"));
    snprintf(r->input, sizeof r->input, "%s", str(c, "input.name"));
    params_of(str(c, "id"), op, r->impl, r->input, r->params, sizeof r->params);
    const char *st = json_string_value(json_object_get(c, "status"));
    snprintf(r->status, sizeof r->status, "%s", st ? st : "?");
    for (char *p = r->status; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    snprintf(r->note, sizeof r->note, "%s", str(c, "message"));
    const json_t *t = json_object_get(c, "time_ns");
    r->measured = json_is_object(t);
    r->checked = json_is_object(json_object_get(c, "check"));
    r->median = val(t, "median", 0);
    r->ci_rel = val(t, "ci_rel", 0);
    r->reps = (int)json_array_size(json_object_get(c, "repetitions"));
    r->instr = val(c, "counts.instructions", 0);
    row_flags(c, r);
    r->gflops = val(c, "derived.gflops", 0);
    r->gbps = val(c, "derived.gbps", 0);
    r->xrt = val(c, "derived.x_realtime", 0);
    r->rel_l2 = val(c, "check.rel_l2", NAN);
    r->own_check = str(c, "check.detail")[0] != 0;
    r->roof = val(c, "derived.roofline_pct", 0);
    const json_t *q = json_object_get(c, "quality");
    r->has_q = json_is_object(q);
    r->kbps = val(q, "bitrate_bps", NAN) / 1000.0;
    r->si_sdr = val(q, "si_sdr_db", NAN);
    snprintf(r->qnote, sizeof r->qnote, "%s", str(q, "note"));
    r->pesq = val(q, "pesq", NAN);
    r->stoi = val(q, "stoi", NAN);
    r->lat_ms = val(c, "derived.algo_latency_ms", NAN);
    /* the impl's own allocation (weights, buffers; a GPU impl's device memory) is the
     * codec's footprint; the worker's RSS also holds the float64 reference's */
    r->mem = val(c, "memory.workspace_bytes", val(c, "memory.peak_rss_bytes", NAN));
    snprintf(r->snote, sizeof r->snote, "%s", str(q, "speech_note"));
    /* An op judged in hours of audio per second (input pipelines, issue 14) says so, and
     * names the field of its impls' describe that the table shows ("bottleneck"). */
    const json_t *pr = json_object_get(ops, op);
    r->io = strcmp(str(pr, "merit"), "audio_hours") == 0;
    r->codec = strcmp(str(pr, "merit"), "codec") == 0;
    snprintf(r->dfield, sizeof r->dfield, "%s", str(pr, "describe_field"));
    char key[48];
    snprintf(key, sizeof key, "%s: ", r->dfield);
    /* the field is measured (a bottleneck) or chosen: the impl's measured text first */
    const char *bn = r->dfield[0] ? strstr(str(c, "measured"), key) : NULL;
    bn = bn || !r->dfield[0] ? bn : strstr(str(c, "describe"), key);
    if (bn) {
        bn += strlen(key);
        size_t len = strcspn(bn, ";,");
        snprintf(r->dvalue, sizeof r->dvalue, "%.*s", (int)(len < 31 ? len : 31), bn);
    }
    const json_t *st_ = json_object_get(c, "stream");
    /* a skipped or failed stream still goes there */
    if (st_ || val(c, "params.chunk_ms", 0) > 0 || val(c, "params.chunk", 0) > 0) {
        r->stream = 1;
        snprintf(r->op, sizeof r->op, "%s (streaming)", op);
    }
    if (st_) {
        r->p50 = num(st_, "latency_ns", "p50");
        r->p99 = num(st_, "latency_ns", "p99");
        r->pmax = num(st_, "latency_ns", "max");
        r->e2e_ms = json_number_value(json_object_get(st_, "e2e_ms"));
        r->misses = json_integer_value(json_object_get(st_, "misses"));
        r->chunks = json_integer_value(json_object_get(st_, "chunks")) *
                    json_integer_value(json_object_get(st_, "streams"));
        r->xrt = json_number_value(json_object_get(st_, "xrt"));
    }
}

static row *table_new_row(table *t)
{
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 64;
        row *r = realloc(t->rows, (size_t)cap * sizeof *r);
        if (!r)
            return NULL;
        t->rows = r;
        t->cap = cap;
    }
    row *r = &t->rows[t->n];
    memset(r, 0, sizeof *r);
    r->order = t->n++;
    return r;
}

/* What a row shows, from the typed record by way of its JSON: one path for a run and for
 * a results file read back. */
static int table_add(table *t, const sono_record *rec, row **out)
{
    json_t *c = sono_record_to_json(rec);
    row *r = c ? table_new_row(t) : NULL;
    if (r)
        row_from_json(r, c, t->ops);
    json_decref(c);
    *out = r;
    return r ? 0 : SONO_ENOMEM;
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

/* One column of a row: its header, its text, its width in the text table (negative: left
 * aligned; 0: the last, status, unpadded). */
typedef struct cell {
    const char *head;
    char text[1400];
    int width;
} cell;

enum { MAX_CELLS = 24 };

static int put(cell *c, int n, const char *head, int width, const char *text)
{
    c[n].head = head;
    c[n].width = width;
    snprintf(c[n].text, sizeof c[n].text, "%s", text);
    return n + 1;
}

/* The cells of r in its section's columns (quality: the section shows bitrate and
 * SI-SDR). Returns how many. */
static int row_cells(const row *r, const widths *w, int quality, int quick, cell *c)
{
    char med[32] = "-", ci[32] = "-", gf[32] = "-", gb[32] = "-", xr[32] = "-", err[32] = "-";
    char roof[32] = "-";
    int n = 0;
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
        if (!r->codec) /* a codec's bytes per second say nothing ("GB/s 0.00") */
            human(r->gbps, gb, sizeof gb);
        human(r->xrt, xr, sizeof xr);
    }
    if (r->checked && r->own_check) /* its rel_l2 is no criterion: the record's check says */
        snprintf(err, sizeof err, "op check");
    else if (r->checked && isfinite(r->rel_l2))
        snprintf(err, sizeof err, "%.2e", r->rel_l2);
    n = put(c, n, "impl", -w->impl, r->impl);
    n = put(c, n, "params", -w->par, r->params);
    n = put(c, n, "input", -w->in, r->input);
    if (r->stream) {
        char p50[32] = "-", p99[32] = "-", mx[32] = "-", miss[32] = "-", e2e[32] = "-";
        if (r->chunks > 0) {
            sono_format_ns(r->p50, p50, sizeof p50);
            sono_format_ns(r->p99, p99, sizeof p99);
            sono_format_ns(r->pmax, mx, sizeof mx);
            snprintf(miss, sizeof miss, "%lld/%lld", r->misses, r->chunks);
            snprintf(e2e, sizeof e2e, "%.2f", r->e2e_ms);
        }
        n = put(c, n, "p50", 10, p50);
        n = put(c, n, "p99", 10, p99);
        n = put(c, n, "max", 10, mx);
        n = put(c, n, "misses", 11, miss);
        n = put(c, n, "e2e ms", 9, e2e);
    } else {
        n = put(c, n, "median", 10, med);
        n = put(c, n, "+-CI", 7, ci);
        n = put(c, n, "GFLOP/s", 9, gf);
        n = put(c, n, "GB/s", 8, gb);
        n = put(c, n, quick ? "roof%*" : "roof%", 6, roof);
    }
    n = put(c, n, "x realtime", 10, xr);
    n = put(c, n, "rel.err", 9, err);
    if (quality) {
        char kb[32] = "-", sd[32] = "-";
        if (isfinite(r->kbps))
            snprintf(kb, sizeof kb, "%.2f", r->kbps);
        if (isfinite(r->si_sdr))
            snprintf(sd, sizeof sd, "%.2f", r->si_sdr);
        else if (r->has_q && r->qnote[0]) /* say why, e.g. random weights */
            snprintf(sd, sizeof sd, "n/a");
        char pq[32] = "-", st[32] = "-";
        if (isfinite(r->pesq))
            snprintf(pq, sizeof pq, "%.2f", r->pesq);
        else if (r->has_q && (r->snote[0] || r->qnote[0]))
            snprintf(pq, sizeof pq, "n/a");
        if (isfinite(r->stoi))
            snprintf(st, sizeof st, "%.3f", r->stoi);
        else if (r->has_q && (r->snote[0] || r->qnote[0]))
            snprintf(st, sizeof st, "n/a");
        n = put(c, n, "kbps", 7, kb);
        n = put(c, n, "SI-SDR dB", 9, sd);
        n = put(c, n, "PESQ", 5, pq);
        n = put(c, n, "STOI", 5, st);
        /* issue 24: the comparison's other two columns, algorithmic latency and memory */
        char la[32] = "-", mb[32] = "-";
        if (isfinite(r->lat_ms))
            snprintf(la, sizeof la, "%.4g", r->lat_ms);
        if (r->measured && isfinite(r->mem) && r->mem > 0)
            snprintf(mb, sizeof mb, "%.4g", r->mem / 1048576.0);
        n = put(c, n, "algo ms", 8, la);
        n = put(c, n, "mem MiB", 8, mb);
    }
    if (r->io) {
        char h[32] = "-";
        if (r->measured && r->xrt > 0)
            snprintf(h, sizeof h, r->xrt / 3600.0 >= 10 ? "%.0f" : "%.3g", r->xrt / 3600.0);
        n = put(c, n, "h audio/s", 10, h);
    }
    if (r->dfield[0]) {
        n = put(c, n, "", -10, r->dvalue[0] ? r->dvalue : "-");
        c[n - 1].head = r->dfield;
    }
    const char *why = r->note[0] ? r->note : r->has_q && !isfinite(r->si_sdr) ? r->qnote : "";
    /* issue 24: why PESQ or STOI is missing ("pesq not installed"), unless said above */
    const char *sw = r->has_q && !r->note[0] && isfinite(r->si_sdr) ? r->snote : "";
    n = put(c, n, "status", 0, "");
    snprintf(c[n - 1].text, sizeof c[n - 1].text, "%s%s%s%s%s%s%s%s", r->status,
             r->flags[0] ? " [" : "", r->flags, r->flags[0] ? "]" : "",
             why[0] || sw[0] ? ": " : "", why, why[0] && sw[0] ? "; " : "", sw);
    return n;
}

static void print_header(FILE *f, const row *r, const widths *w, int quality, int quick)
{
    cell c[MAX_CELLS];
    int n = row_cells(r, w, quality, quick, c);
    fprintf(f, "\n== %s ==\n", r->op);
    for (int i = 0; i < n; i++)
        fprintf(f, c[i].width ? "%*s  " : "%*s\n", c[i].width, c[i].head);
}

static void print_row(FILE *f, const row *r, const widths *w, int quality, int quick)
{
    cell c[MAX_CELLS];
    int n = row_cells(r, w, quality, quick, c);
    for (int i = 0; i < n; i++)
        fprintf(f, c[i].width ? "%*s  " : "%*s\n", c[i].width, c[i].text);
}

/* ---- markdown, CSV, JSON (issue 27) ------------------------------------------------- */

static void md_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|' || *s == '\\' || *s == '`' || *s == '*' || *s == '_' || *s == '<')
            fputc('\\', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
}

static void md_header(FILE *f, const row *r, const widths *w, int quality, int quick)
{
    cell c[MAX_CELLS];
    int n = row_cells(r, w, quality, quick, c);
    fprintf(f, "\n### ");
    md_text(f, r->op);
    fprintf(f, "\n\n|");
    for (int i = 0; i < n; i++) {
        fputc(' ', f);
        md_text(f, c[i].head);
        fprintf(f, " |");
    }
    fprintf(f, "\n|");
    for (int i = 0; i < n; i++)
        fprintf(f, "%s|", c[i].width > 0 ? "---:" : ":---");
    fputc('\n', f);
}

static void md_row(FILE *f, const row *r, const widths *w, int quality, int quick)
{
    cell c[MAX_CELLS];
    int n = row_cells(r, w, quality, quick, c);
    fputc('|', f);
    for (int i = 0; i < n; i++) {
        fputc(' ', f);
        md_text(f, c[i].text);
        fprintf(f, " |");
    }
    fputc('\n', f);
}

static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n") && s[0] != ' ') {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* CSV: one table for all ops: op, then every column any section has, in order of first
 * appearance (a row leaves the others empty). */
static void print_csv(const row *rows, int nrows, const widths *w, const int *quality,
                      int quick, FILE *f)
{
    const char *heads[64];
    int nh = 0;
    cell c[MAX_CELLS];
    for (int i = 0; i < nrows; i++) {
        int n = row_cells(&rows[i], w, quality[i], quick, c);
        for (int k = 0; k < n; k++) {
            int seen = 0;
            for (int h = 0; h < nh && !seen; h++)
                seen = strcmp(heads[h], c[k].head) == 0;
            if (!seen && nh < 64)
                heads[nh++] = c[k].head;
        }
    }
    /* status last, as in the table */
    for (int h = 0; h + 1 < nh; h++)
        if (strcmp(heads[h], "status") == 0) {
            memmove(&heads[h], &heads[h + 1], (size_t)(nh - h - 1) * sizeof heads[0]);
            heads[nh - 1] = "status";
            break;
        }
    fputs("op", f);
    for (int h = 0; h < nh; h++) {
        fputc(',', f);
        csv_field(f, heads[h]);
    }
    fputs("\r\n", f);
    for (int i = 0; i < nrows; i++) {
        int n = row_cells(&rows[i], w, quality[i], quick, c);
        csv_field(f, rows[i].op);
        for (int h = 0; h < nh; h++) {
            fputc(',', f);
            for (int k = 0; k < n; k++)
                if (strcmp(c[k].head, heads[h]) == 0) {
                    csv_field(f, c[k].text);
                    break;
                }
        }
        fputs("\r\n", f);
    }
}

/* JSON: {"tables": [{"op", "columns": [...], "rows": [[...], ...]}, ...]} */
static void print_json(const row *rows, int nrows, const widths *w, const int *quality,
                       int quick, FILE *f)
{
    json_t *tables = json_array(), *cur = NULL;
    cell c[MAX_CELLS];
    for (int i = 0; i < nrows; i++) {
        int n = row_cells(&rows[i], w, quality[i], quick, c);
        if (i == 0 || strcmp(rows[i].op, rows[i - 1].op) != 0) {
            json_t *cols = json_array();
            for (int k = 0; k < n; k++)
                json_array_append_new(cols, json_string(c[k].head));
            cur = json_pack("{s:s, s:o, s:[]}", "op", rows[i].op, "columns", cols, "rows");
            json_array_append_new(tables, cur);
        }
        json_t *line = json_array();
        for (int k = 0; k < n; k++)
            json_array_append_new(line, json_string(c[k].text));
        json_array_append_new(json_object_get(cur, "rows"), line);
    }
    json_t *doc = json_pack("{s:o}", "tables", tables);
    json_dumpf(doc, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    fputc('\n', f);
    json_decref(doc);
}

static void widen(widths *w, const char *impl, const char *par, const char *in)
{
    int a = (int)strlen(impl), b = (int)strlen(par), c = (int)strlen(in);
    w->impl = a > w->impl ? a : w->impl;
    w->par = b > w->par ? b : w->par;
    w->in = c > w->in ? c : w->in;
}

/* The full tables: grouped by op, failures first, columns sized to the rows. */
static void print_all(const table *t, FILE *f, sono_table_format fmt)
{
    if (t->n == 0) {
        if (fmt == SONO_TABLE_JSON)
            fprintf(f, "{\"tables\": []}\n");
        return;
    }
    row *rows = malloc((size_t)t->n * sizeof *rows);
    int *quality = calloc((size_t)t->n, sizeof *quality);
    if (!rows || !quality) {
        free(rows);
        free(quality);
        return;
    }
    memcpy(rows, t->rows, (size_t)t->n * sizeof *rows);
    qsort(rows, (size_t)t->n, sizeof *rows, cmp_rows);
    widths w = {4, 6, 5};
    for (int i = 0; i < t->n; i++)
        widen(&w, rows[i].impl, rows[i].params, rows[i].input);
    /* an op's section shows bitrate and SI-SDR columns when any of its rows has them */
    for (int i = 0, q = 0; i < t->n; i++) {
        if (i == 0 || strcmp(rows[i].op, rows[i - 1].op) != 0) {
            q = 0;
            for (int j = i; j < t->n && strcmp(rows[j].op, rows[i].op) == 0; j++)
                q |= rows[j].has_q;
        }
        quality[i] = q;
    }
    if (fmt == SONO_TABLE_CSV)
        print_csv(rows, t->n, &w, quality, t->quick_cal, f);
    else if (fmt == SONO_TABLE_JSON)
        print_json(rows, t->n, &w, quality, t->quick_cal, f);
    else
        for (int i = 0; i < t->n; i++) {
            const row *r = &rows[i];
            int head = i == 0 || strcmp(r->op, rows[i - 1].op) != 0;
            if (fmt == SONO_TABLE_MARKDOWN) {
                if (head)
                    md_header(f, r, &w, quality[i], t->quick_cal);
                md_row(f, r, &w, quality[i], t->quick_cal);
            } else {
                if (head)
                    print_header(f, r, &w, quality[i], t->quick_cal);
                print_row(f, r, &w, quality[i], t->quick_cal);
            }
        }
    free(rows);
    free(quality);
}

/* issue 22: say why the CI column is empty, once */
static void ci_note(const table *t, FILE *f, sono_table_format fmt)
{
    int single = 0;
    for (int i = 0; i < t->n; i++)
        single |= t->rows[i].measured && t->rows[i].reps <= 1 && !t->rows[i].stream &&
                  !t->rows[i].instr;
    if (single && (fmt == SONO_TABLE_TEXT || fmt == SONO_TABLE_MARKDOWN))
        fprintf(f, "\n+-CI -: one repetition per case; its CI is within one process "
                "(time_ns.ci_rel in the results file) and misses what changes between runs. "
                "--repetitions R measures R fresh runs.\n");
    int roofed = 0;
    for (int i = 0; i < t->n; i++)
        roofed |= t->rows[i].roof > 0;
    if (t->quick_cal && roofed && (fmt == SONO_TABLE_TEXT || fmt == SONO_TABLE_MARKDOWN))
        fprintf(f, "\nroof%%*: roof%% vs quick calibration (harness calibrate --quick: a "
                "cache-resident triad and small SGEMMs, not this machine's ceilings); run "
                "harness calibrate for the real ones.\n");
}

static int table_begin(sono_sink *s, const sono_run_info *run, sono_error *err)
{
    (void)err;
    table *t = s->ctx;
    const sono_plan *p = run->plan;
    t->ops = sono_ops_presentation_json(p);
    t->quick_cal = run->quick_cal;
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
    if (t->live && t->fmt == SONO_TABLE_TEXT) {
        /* the header when an op's first row arrives; codec ops show their quality */
        int quality = rec->c->op->quality != NULL;
        if (strcmp(t->section, r->op) != 0) {
            print_header(t->f, r, &t->w, quality, t->quick_cal);
            snprintf(t->section, sizeof t->section, "%s", r->op);
        }
        print_row(t->f, r, &t->w, quality, t->quick_cal);
        fflush(t->f);
    }
    return 0;
}

static int table_end(sono_sink *s, const sono_run_info *run, const sono_run_counts *n,
                     int failed, sono_error *err)
{
    (void)run, (void)n, (void)failed, (void)err;
    table *t = s->ctx;
    if (t->live && t->n && t->fmt == SONO_TABLE_TEXT)
        fprintf(t->f, "\n-- all cases, failures first --\n");
    print_all(t, t->f, t->fmt);
    ci_note(t, t->f, t->fmt);
    fflush(t->f);
    return 0;
}

static void table_free(sono_sink *s)
{
    table *t = s->ctx;
    free(t->rows);
    json_decref(t->ops);
    free(t);
    free(s);
}

sono_sink *sono_sink_table_fmt(FILE *f, int live, sono_table_format fmt)
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
    t->fmt = fmt;
    *s = (sono_sink){.name = "table", .ctx = t, .begin = table_begin, .record = table_record,
                     .end = table_end, .free = table_free};
    return s;
}

sono_sink *sono_sink_table(FILE *f, int live)
{
    return sono_sink_table_fmt(f, live, SONO_TABLE_TEXT);
}

int sono_table_format_parse(const char *s, sono_table_format *fmt)
{
    static const char *const names[] = {"table", "markdown", "csv", "json"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *fmt = (sono_table_format)i;
            return 0;
        }
    return -1;
}

int sono_table_print_doc(FILE *f, const json_t *doc, sono_table_format fmt)
{
    const json_t *cal = json_object_get(json_object_get(doc, "env"), "calibration");
    table t = {.fmt = fmt,
               .quick_cal = json_is_true(json_object_get(cal, "quick")) ||
                            json_is_true(at(cal, "details.quick"))};
    const json_t *ops = json_object_get(json_object_get(doc, "suite"), "ops");
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(doc, "cases"), i, c) {
        row *r = table_new_row(&t);
        if (!r) {
            free(t.rows);
            return SONO_ENOMEM;
        }
        row_from_json(r, c, ops);
    }
    print_all(&t, f, fmt);
    ci_note(&t, f, fmt);
    free(t.rows);
    return 0;
}
