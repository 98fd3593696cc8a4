/* compare.c — `harness compare BASE.json NEW.json [MORE.json...]`: prints what
 * harness/verdict/compare.c found (terminal table, markdown, JSON or CSV) with its warnings
 * and exits 1 when a case regressed, so CI can gate on it. Runs no code: no plugins. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "compare.h"

enum { FMT_TABLE, FMT_MD, FMT_JSON, FMT_CSV };

#define NCOL_PER_FILE 6
#define MAXCOL (2 + NCOL_PER_FILE * 16)

static void fmt_ns(double ns, char *b, size_t n)
{
    if (!isfinite(ns))
        snprintf(b, n, "-");
    else if (ns < 1e3)
        snprintf(b, n, "%.1f ns", ns);
    else if (ns < 1e6)
        snprintf(b, n, "%.2f us", ns / 1e3);
    else if (ns < 1e9)
        snprintf(b, n, "%.2f ms", ns / 1e6);
    else
        snprintf(b, n, "%.3f s", ns / 1e9);
}

/* Instructions per run, with an SI prefix: the counts' column shares the median's width. */
static void fmt_count(double k, char *b, size_t n)
{
    if (!isfinite(k))
        snprintf(b, n, "-");
    else if (k < 1e4)
        snprintf(b, n, "%.0f ins", k);
    else if (k < 1e6)
        snprintf(b, n, "%.2fk ins", k / 1e3);
    else if (k < 1e9)
        snprintf(b, n, "%.2fM ins", k / 1e6);
    else
        snprintf(b, n, "%.2fG ins", k / 1e9);
}

/* The basis column: "reps 5:5" (base:new), "within", "counts" or "-". */
static void fmt_basis(const sono_cmp_cell *x, char *b, size_t n)
{
    if (x->basis == SONO_B_REPETITIONS)
        snprintf(b, n, "reps %d:%d", x->reps_base, x->reps_new);
    else if (x->basis == SONO_B_PAIRED)
        snprintf(b, n, "paired %d", x->reps_new);
    else if (x->basis == SONO_B_WITHIN)
        snprintf(b, n, "within");
    else
        snprintf(b, n, "%s", sono_basis_name(x->basis));
}

static void fmt_p(double p, char *b, size_t n)
{
    if (!isfinite(p))
        snprintf(b, n, "-");
    else if (p < 1e-3)
        snprintf(b, n, "%.1e", p);
    else
        snprintf(b, n, "%.3f", p);
}

static void fmt_ratio(double q, char *b, size_t n)
{
    if (isfinite(q))
        snprintf(b, n, "%.3f", q);
    else
        snprintf(b, n, "-");
}

/* The case column: the id less its op, which heads the table already. */
static const char *label(const sono_cmp_row *row)
{
    size_t k = strlen(row->op);
    return strncmp(row->id, row->op, k) == 0 && row->id[k] == '/' ? row->id + k + 1 : row->id;
}

typedef char cell_t[96];

static void emit(int fmt, cell_t *cells, int n, int wcase)
{
    static const int w[NCOL_PER_FILE] = {10, 7, 15, 8, 13, 9};
    for (int i = 0; i < n; i++) {
        if (fmt == FMT_MD)
            printf("| %s ", cells[i]);
        else if (i == 0)
            printf("%-*s", wcase, cells[i]);
        else
            printf("  %*s", i == 1 ? 10 : w[(i - 2) % NCOL_PER_FILE], cells[i]);
    }
    printf(fmt == FMT_MD ? "|\n" : "\n");
}

static void print_op(const sono_cmp *c, size_t k, int fmt)
{
    int m = c->nfiles - 1, n = 2 + NCOL_PER_FILE * m;
    cell_t cells[MAXCOL];
    int wcase = 8;
    for (size_t r = 0; r < c->nrows; r++)
        if (strcmp(c->rows[r].op, c->ops[k]) == 0 && (int)strlen(label(&c->rows[r])) > wcase)
            wcase = (int)strlen(label(&c->rows[r]));
    printf(fmt == FMT_MD ? "\n### %s\n\n" : "\n%s\n", c->ops[k]);
    snprintf(cells[0], sizeof cells[0], "case");
    snprintf(cells[1], sizeof cells[1], "base");
    for (int f = 0; f < m; f++) {
        static const char *const h[NCOL_PER_FILE] = {"median", "ratio", "CI", "p",
                                                     "verdict", "basis"};
        for (int j = 0; j < NCOL_PER_FILE; j++)
            snprintf(cells[2 + NCOL_PER_FILE * f + j], sizeof cells[0], m > 1 ? "%s[%d]" : "%s",
                     h[j], f + 1);
    }
    emit(fmt, cells, n, wcase);
    if (fmt == FMT_MD) {
        for (int i = 0; i < n; i++)
            printf(i < 2 ? "| --- " : "| ---: ");
        printf("|\n");
    }
    for (size_t r = 0; r < c->nrows; r++) {
        const sono_cmp_row *row = &c->rows[r];
        if (strcmp(row->op, c->ops[k]) != 0)
            continue;
        snprintf(cells[0], sizeof cells[0], "%s", label(row));
        /* a row judged on counts everywhere shows counts, base included */
        int counted = 1;
        for (int f = 0; f < m; f++)
            counted &= row->cells[f].basis == SONO_B_COUNTS;
        if (counted)
            fmt_count(row->base_count, cells[1], sizeof cells[1]);
        else
            fmt_ns(row->base_median, cells[1], sizeof cells[1]);
        for (int f = 0; f < m; f++) {
            const sono_cmp_cell *x = &row->cells[f];
            char *o = cells[2 + NCOL_PER_FILE * f];
            if (counted)
                fmt_count(x->count, o, sizeof(cell_t));
            else
                fmt_ns(x->median, o, sizeof(cell_t));
            fmt_ratio(x->ratio, o + sizeof(cell_t), sizeof(cell_t));
            if (isfinite(x->ci_lo))
                snprintf(o + 2 * sizeof(cell_t), sizeof(cell_t), "[%.3f,%.3f]", x->ci_lo,
                         x->ci_hi);
            else
                snprintf(o + 2 * sizeof(cell_t), sizeof(cell_t), "-");
            fmt_p(x->p, o + 3 * sizeof(cell_t), sizeof(cell_t));
            snprintf(o + 4 * sizeof(cell_t), sizeof(cell_t), "%s%s", sono_verdict_name(x->v),
                     x->regression ? " !" : "");
            fmt_basis(x, o + 5 * sizeof(cell_t), sizeof(cell_t));
        }
        emit(fmt, cells, n, wcase);
    }
    snprintf(cells[0], sizeof cells[0], "geomean %s", c->ops[k]);
    snprintf(cells[1], sizeof cells[1], " ");
    for (int f = 0; f < m; f++) {
        for (int j = 0; j < NCOL_PER_FILE; j++)
            snprintf(cells[2 + NCOL_PER_FILE * f + j], sizeof cells[0], " ");
        fmt_ratio(c->geo[k * (size_t)m + (size_t)f], cells[3 + NCOL_PER_FILE * f],
                  sizeof cells[0]);
    }
    emit(fmt, cells, n, wcase);
}

static void print_text(const sono_cmp *c, const sono_cmp_opts *o, int fmt)
{
    int m = c->nfiles - 1;
    const char *b = fmt == FMT_MD ? "- " : "  ";
    /* the table's reader has them on stderr already (print_warnings); markdown goes into a
     * pull request, where stderr never arrives */
    for (size_t i = 0; fmt == FMT_MD && i < json_array_size(c->warnings); i++)
        printf("> **warning:** %s\n\n", json_string_value(json_array_get(c->warnings, i)));
    printf("%sbase: %s\n", fmt == FMT_MD ? "- " : "", c->paths[0]);
    for (int f = 1; f < c->nfiles; f++)
        printf("%s%s[%d]: %s\n", fmt == FMT_MD ? "- " : "", m > 1 ? "file" : "new", f,
               c->paths[f]);
    if (json_object_size(c->env_diff)) {
        printf("\nenvironment differences:\n");
        const char *key;
        json_t *vals;
        json_object_foreach(c->env_diff, key, vals) {
            printf("%s%s:", b, key);
            for (size_t i = 0; i < json_array_size(vals); i++)
                printf(" %s%s", i ? "| " : "", json_string_value(json_array_get(vals, i)));
            printf("\n");
        }
    }
    for (size_t k = 0; k < c->nops; k++)
        print_op(c, k, fmt);
    printf("\n");
    for (int f = 0; f < m; f++) {
        int counts[SONO_V_COUNT] = {0};
        for (size_t r = 0; r < c->nrows; r++)
            counts[c->rows[r].cells[f].v]++;
        printf("%s%s[%d]: ", fmt == FMT_MD ? "- " : "", m > 1 ? "file" : "new", f + 1);
        if (isfinite(c->geo_all[f]))
            printf("geomean ratio %.3f over all ops;", c->geo_all[f]);
        else
            printf("%s;", c->nrows ? "no ratio to average" : "no cases");
        for (int v = SONO_V_SAME; v < SONO_V_COUNT; v++)
            if (counts[v])
                printf(" %s %d", sono_verdict_name((sono_verdict)v), counts[v]);
        printf("\n");
    }
    printf("%s%d regression%s (threshold %g%%, floor %.3g ns, alpha %g%s)\n",
           fmt == FMT_MD ? "\n" : "", c->regressions, c->regressions == 1 ? "" : "s",
           o->threshold * 100, c->floor_ns, o->alpha,
           o->strict ? ", strict: missing cases count" : "");
}

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static void print_json(const sono_cmp *c, const sono_cmp_opts *o)
{
    int m = c->nfiles - 1;
    json_t *files = json_array(), *cases = json_array(), *ops = json_object(),
           *all = json_array();
    for (int f = 0; f < c->nfiles; f++)
        json_array_append_new(files, json_string(c->paths[f]));
    for (size_t r = 0; r < c->nrows; r++) {
        const sono_cmp_row *row = &c->rows[r];
        json_t *cmp = json_array();
        for (int f = 0; f < m; f++) {
            const sono_cmp_cell *x = &row->cells[f];
            json_t *e = json_pack("{s:s, s:o, s:o, s:[o,o], s:o, s:s, s:b, s:s}",
                                  "file", c->paths[f + 1], "median_ns", num(x->median),
                                  "ratio", num(x->ratio), "ci", num(x->ci_lo), num(x->ci_hi),
                                  "p", num(x->p), "verdict", sono_verdict_name(x->v),
                                  "regression", x->regression, "basis",
                                  sono_basis_name(x->basis));
            if (e && (x->basis == SONO_B_REPETITIONS || x->basis == SONO_B_PAIRED))
                json_object_set_new(e, "repetitions", json_pack("[i,i]", x->reps_base,
                                                                x->reps_new));
            if (e && isfinite(x->min_effect))
                json_object_set_new(e, "min_effect", json_real(x->min_effect));
            if (e && x->basis == SONO_B_COUNTS)
                json_object_set_new(e, "instructions", json_pack("[o,o]", num(row->base_count),
                                                                 num(x->count)));
            json_array_append_new(cmp, e);
        }
        json_array_append_new(cases, json_pack("{s:s, s:s, s:s, s:o, s:o}", "id", row->id,
                              "op", row->op, "impl", row->impl, "base_median_ns",
                              num(row->base_median), "comparisons", cmp));
    }
    for (size_t k = 0; k < c->nops; k++) {
        json_t *g = json_array();
        for (int f = 0; f < m; f++)
            json_array_append_new(g, num(c->geo[k * (size_t)m + (size_t)f]));
        json_object_set_new(ops, c->ops[k], g);
    }
    for (int f = 0; f < m; f++)
        json_array_append_new(all, num(c->geo_all[f]));
    json_t *doc = json_pack("{s:s, s:o, s:f, s:f, s:b, s:O, s:o, s:{s:o, s:o}, s:i, s:O}",
                            "schema", "sonobench.compare/1", "files", files, "threshold",
                            o->threshold, "alpha", o->alpha, "strict", o->strict,
                            "env_differences", c->env_diff, "cases", cases, "geomean", "ops",
                            ops, "overall", all, "regressions", c->regressions, "warnings",
                            c->warnings);
    json_dumpf(doc, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
    printf("\n");
    json_decref(doc);
}

static void csv_num(double v)
{
    if (isfinite(v))
        printf(",%.10g", v);
    else
        printf(",");
}

static void print_csv(const sono_cmp *c)
{
    printf("id,op,impl,file,base_median_ns,median_ns,ratio,ci_lo,ci_hi,p,verdict,regression,"
           "basis\n");
    for (size_t r = 0; r < c->nrows; r++)
        for (int f = 1; f < c->nfiles; f++) {
            const sono_cmp_row *row = &c->rows[r];
            const sono_cmp_cell *x = &row->cells[f - 1];
            sono_csv_field(stdout, row->id, 1);
            putchar(',');
            sono_csv_field(stdout, row->op, 1);
            putchar(',');
            sono_csv_field(stdout, row->impl, 1);
            putchar(',');
            sono_csv_field(stdout, c->paths[f], 1);
            csv_num(row->base_median);
            csv_num(x->median);
            csv_num(x->ratio);
            csv_num(x->ci_lo);
            csv_num(x->ci_hi);
            csv_num(x->p);
            printf(",%s,%d,%s\n", sono_verdict_name(x->v), x->regression,
                   sono_basis_name(x->basis));
        }
}

/* "5%" or "0.05"; a percent sign divides by 100. */
static int parse_frac(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end != s && *end == '%') {
        v /= 100;
        end++;
    }
    if (end == s || *end || !(v >= lo && v < hi))
        return -1;
    *out = v;
    return 0;
}

int sono_cmd_compare(int argc, char **argv)
{
    sono_cmp_opts o = {.threshold = 0.05, .alpha = 0.01, .floor_ns = -1};
    int fmt = FMT_TABLE, n = 0;
    const char **paths = calloc((size_t)argc, sizeof *paths);
    if (!paths)
        return SONO_EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = strcmp(a, "--threshold") == 0 || strcmp(a, "--alpha") == 0 ||
                    strcmp(a, "--floor-ns") == 0 ||
                    strcmp(a, "--format") == 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            sono_print_help("compare");
            free(paths);
            return SONO_EXIT_OK;
        }
        if (takes && !v) {
            fprintf(stderr, "harness compare: %s needs a value\n", a);
            free(paths);
            return SONO_EXIT_USAGE;
        }
        int bad = 0;
        if (strcmp(a, "--threshold") == 0) {
            bad = parse_frac(v, 0, 10, &o.threshold);
            o.threshold_set = 1;
        }
        else if (strcmp(a, "--floor-ns") == 0) {
            char *end;
            o.floor_ns = strtod(v, &end);
            bad = *end || end == v || !(o.floor_ns >= 0);
        }
        else if (strcmp(a, "--alpha") == 0)
            bad = parse_frac(v, 1e-300, 1, &o.alpha);
        else if (strcmp(a, "--format") == 0)
            bad = (fmt = strcmp(v, "table") == 0      ? FMT_TABLE
                         : strcmp(v, "markdown") == 0 ? FMT_MD
                         : strcmp(v, "json") == 0     ? FMT_JSON
                         : strcmp(v, "csv") == 0      ? FMT_CSV
                                                      : -1) < 0;
        else if (strcmp(a, "--any-suite") == 0)
            o.any_suite = 1;
        else if (strcmp(a, "--strict") == 0)
            o.strict = 1;
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "harness compare: unknown option '%s'; see harness help compare\n",
                    a);
            free(paths);
            return SONO_EXIT_USAGE;
        } else
            paths[n++] = a;
        if (bad) {
            fprintf(stderr, "harness compare: bad value '%s' for %s (threshold: 5%% or 0.05; "
                    "alpha: in (0, 1); format: table, markdown, json or csv)\n", v, a);
            free(paths);
            return SONO_EXIT_USAGE;
        }
        i += takes;
    }
    if (n < 2 || n > 16) {
        fprintf(stderr, "harness compare: give 2 to 16 results files (the first is the "
                "base); see harness help compare\n");
        free(paths);
        return SONO_EXIT_USAGE;
    }
    sono_cmp *c;
    sono_error err = {0};
    if (sono_compare_files(paths, n, &o, &c, &err)) {
        fprintf(stderr, "harness compare: %s\n", err.msg);
        free(paths);
        return SONO_EXIT_USAGE;
    }
    for (size_t i = 0; i < json_array_size(c->warnings); i++)
        fprintf(stderr, "harness compare: warning: %s\n",
                json_string_value(json_array_get(c->warnings, i)));
    if (fmt == FMT_JSON)
        print_json(c, &o);
    else if (fmt == FMT_CSV)
        print_csv(c);
    else
        print_text(c, &o, fmt);
    int rc = c->regressions ? SONO_EXIT_FAIL : SONO_EXIT_OK;
    fflush(stdout);
    sono_compare_free(c);
    free(paths);
    return rc;
}
