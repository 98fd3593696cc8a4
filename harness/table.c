/* table.c — formats records for people. Columns are sized to their contents so the
 * tables stay readable from n=16 to n=65536 and from nanoseconds to seconds. */
#include "table.h"

#include <stdlib.h>
#include <string.h>

typedef struct row {
    char op[32], impl[160], params[256], input[160], status[16], note[160];
    double median, ci_rel, gflops, gbps, xrt, rel_l2;
    int measured, checked, order;
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

int sono_table_add(sono_table *t, const sono_record *rec)
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
    snprintf(r->op, sizeof r->op, "%s", rec->c->op->name);
    snprintf(r->impl, sizeof r->impl, "%s", rec->c->impl_name);
    snprintf(r->params, sizeof r->params, "%s", rec->c->params_text);
    snprintf(r->input, sizeof r->input, "%s", rec->input ? rec->input : "");
    snprintf(r->status, sizeof r->status, "%s", rec->status);
    for (char *s = r->status; *s; s++)
        *s = (char)(*s >= 'a' && *s <= 'z' ? *s - 32 : *s);
    snprintf(r->note, sizeof r->note, "%s", rec->message);
    r->measured = rec->measured;
    r->checked = rec->checked;
    r->median = rec->m.s.median;
    r->ci_rel = rec->m.s.ci_rel;
    r->gflops = rec->gflops;
    r->gbps = rec->gbps;
    r->xrt = rec->rtf > 0 ? 1.0 / rec->rtf : 0;
    r->rel_l2 = rec->check.rel_l2;
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
    for (int i = 0; i < t->n; i++) {
        const row *r = &rows[i];
        if (i == 0 || strcmp(r->op, rows[i - 1].op) != 0)
            fprintf(f, "\n== %s ==\n%-*s  %-*s  %-*s  %10s  %7s  %9s  %8s  %9s  %9s  %s\n", r->op,
                    w_impl, "impl", w_par, "params", w_in, "input", "median", "+-CI", "GFLOP/s",
                    "GB/s", "x realtime", "rel.err", "status");
        char med[32] = "-", ci[32] = "-", gf[32] = "-", gb[32] = "-", xr[32] = "-", err[32] = "-";
        if (r->measured) {
            sono_format_ns(r->median, med, sizeof med);
            snprintf(ci, sizeof ci, "%.1f%%", 100.0 * r->ci_rel);
            human(r->gflops, gf, sizeof gf);
            human(r->gbps, gb, sizeof gb);
            human(r->xrt, xr, sizeof xr);
        }
        if (r->checked)
            snprintf(err, sizeof err, "%.2e", r->rel_l2);
        fprintf(f, "%-*s  %-*s  %-*s  %10s  %7s  %9s  %8s  %9s  %9s  %s%s%s\n", w_impl, r->impl,
                w_par, r->params, w_in, r->input, med, ci, gf, gb, xr, err, r->status,
                r->note[0] ? ": " : "", r->note);
    }
    free(rows);
}

void sono_progress_line(FILE *f, int i, int n, const sono_record *rec)
{
    char med[32] = "";
    if (rec->measured)
        sono_format_ns(rec->m.s.median, med, sizeof med);
    fprintf(f, "[%*d/%d] %-5s %s  %s%s%.120s\n", n >= 100 ? 3 : n >= 10 ? 2 : 1, i, n,
            rec->status, rec->c->id, med, rec->message[0] ? "  " : "", rec->message);
}
