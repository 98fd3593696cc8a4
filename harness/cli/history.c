/* history.c — `harness history FILE...`: the results files of many runs ordered by time
 * (then commit), each case's median per run, and the first run where a case stepped
 * slower beyond noise, attributed to that run's commit and file. It reports; it never
 * gates (exit 0), so it loads no plugins and runs no code. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "results.h"

typedef struct hrun {
    const char *path, *started, *git;
    json_t *doc;
} hrun;

static int run_cmp(const void *a, const void *b)
{
    const hrun *x = a, *y = b;
    int c = strcmp(x->started, y->started);
    if (!c)
        c = strcmp(x->git, y->git);
    return c ? c : strcmp(x->path, y->path);
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (n >= 1) through a sorted copy in tmp. */
static double median_of(const double *v, size_t n, double *tmp)
{
    memcpy(tmp, v, n * sizeof *v);
    qsort(tmp, n, sizeof *tmp, dbl_cmp);
    return n % 2 ? tmp[n / 2] : 0.5 * (tmp[n / 2 - 1] + tmp[n / 2]);
}

/* The step rule, a simple form of airspeed velocity's step detection (which fits a
 * piecewise-constant curve): over the series of runs where the case measured, the first
 * index k >= 1 such that
 *   median(med[k..m)) > (1 + thr) * median(med[0..k))   (the level moved up for good),
 *   median(med[k..m)) > max(ci_hi[0..k))                (beyond the earlier runs' noise),
 *   and med[k] itself clears both bounds                 (the step starts at k, not later).
 * Medians over the segments make one noisy run unable to fake a step, except as the
 * newest run, which is all the evidence there is about the present. Returns -1: none. */
static long find_step(const double *med, const double *hi, size_t m, double thr, double *tmp,
                      double *ratio)
{
    for (size_t k = 1; k < m; k++) {
        double before = median_of(med, k, tmp), after = median_of(med + k, m - k, tmp);
        double band = hi[0];
        for (size_t j = 1; j < k; j++)
            band = hi[j] > band ? hi[j] : band;
        double bound = fmax((1 + thr) * before, band);
        if (after > bound && med[k] > bound) {
            *ratio = after / before;
            return (long)k;
        }
    }
    return -1;
}

/* The measured median and CI top of case id in run r; 0 when it has none (absent, or
 * not an ok case). */
static int case_time(const hrun *r, const char *id, double *med, double *hi)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(r->doc, "cases"), i, c) {
        if (strcmp(json_string_value(json_object_get(c, "id")), id) != 0)
            continue;
        json_t *t = json_object_get(c, "time_ns");
        const char *st = json_string_value(json_object_get(c, "status"));
        if (!t || !st || (strcmp(st, "ok") != 0 && strcmp(st, "xpass") != 0))
            return 0;
        *med = json_number_value(json_object_get(t, "median"));
        json_t *h = json_object_get(t, "ci_hi");
        *hi = json_is_number(h) ? json_number_value(h) : *med;
        return 1;
    }
    return 0;
}

static void fmt_ns(double ns, char *buf, size_t n)
{
    if (ns >= 1e9)
        snprintf(buf, n, "%.3g s", ns / 1e9);
    else if (ns >= 1e6)
        snprintf(buf, n, "%.4g ms", ns / 1e6);
    else if (ns >= 1e3)
        snprintf(buf, n, "%.4g us", ns / 1e3);
    else
        snprintf(buf, n, "%.4g ns", ns);
}

static int usage(const char *why)
{
    fprintf(stderr, "harness history: %s\nusage: harness history FILE... [--threshold 5%%] "
            "[--format table|csv]\n", why);
    return SONO_EXIT_USAGE;
}

/* "5%", "5" (both percent) -> 0.05; -1 when not a number >= 0. */
static double parse_pct(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || (*end && strcmp(end, "%") != 0) || !(v >= 0) || !isfinite(v))
        return -1;
    return v / 100;
}

int sono_cmd_history(int argc, char **argv)
{
    double thr = 0.05;
    int csv = 0, nfiles = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            sono_print_help("history");
            return SONO_EXIT_OK;
        }
        if (strcmp(argv[i], "--threshold") == 0 || strcmp(argv[i], "--format") == 0) {
            if (i + 1 >= argc)
                return usage("an option needs a value");
            const char *v = argv[++i];
            if (argv[i - 1][2] == 't' && (thr = parse_pct(v)) < 0)
                return usage("--threshold takes a percentage, e.g. 5%");
            if (argv[i - 1][2] == 'f') {
                if (strcmp(v, "csv") != 0 && strcmp(v, "table") != 0)
                    return usage("--format is table or csv");
                csv = strcmp(v, "csv") == 0;
            }
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage("unknown option");
        } else {
            nfiles++;
        }
    }
    if (nfiles == 0)
        return usage("no results files given");

    hrun *runs = calloc((size_t)nfiles, sizeof *runs);
    if (!runs)
        return SONO_EXIT_FAIL;
    int n = 0, rc = SONO_EXIT_OK;
    for (int i = 1; i < argc && rc == SONO_EXIT_OK; i++) {
        if (argv[i][0] == '-' && argv[i][1]) {
            i++; /* an option and its value, checked above */
            continue;
        }
        sono_error err = {0};
        hrun *r = &runs[n];
        if (sono_results_load(argv[i], &r->doc, &err)) {
            fprintf(stderr, "harness history: %s\n", err.msg);
            rc = SONO_EXIT_USAGE;
            break;
        }
        n++;
        r->path = argv[i];
        r->started = json_string_value(json_object_get(json_object_get(r->doc, "run"),
                                                       "started"));
        r->git = json_string_value(json_object_get(json_object_get(r->doc, "env"), "git"));
        if (!r->started)
            r->started = "";
        if (!r->git)
            r->git = "?";
    }
    double *med = NULL, *hi = NULL, *tmp = NULL;
    int *at = NULL;
    json_t *ids = json_array(), *seen = json_object();
    if (rc == SONO_EXIT_OK) {
        qsort(runs, (size_t)n, sizeof *runs, run_cmp);
        /* every case id, in order of first appearance over the ordered runs */
        for (int r = 0; r < n; r++) {
            size_t i;
            json_t *c;
            json_array_foreach(json_object_get(runs[r].doc, "cases"), i, c) {
                const char *id = json_string_value(json_object_get(c, "id"));
                if (!json_object_get(seen, id)) {
                    json_object_set_new(seen, id, json_true());
                    json_array_append_new(ids, json_string(id));
                }
            }
        }
        med = calloc((size_t)n, sizeof *med);
        hi = calloc((size_t)n, sizeof *hi);
        tmp = calloc((size_t)n, sizeof *tmp);
        at = calloc((size_t)n, sizeof *at);
        if (!med || !hi || !tmp || !at || !ids || !seen)
            rc = SONO_EXIT_FAIL;
    }
    if (rc == SONO_EXIT_OK) {
        if (csv)
            puts("case,run,started,git,file,median_ns,ci_hi_ns,step,step_ratio");
        else {
            printf("runs (oldest first):\n");
            for (int r = 0; r < n; r++)
                printf("  #%-3d %-20s %-12s %s\n", r + 1, runs[r].started, runs[r].git,
                       runs[r].path);
            printf("\nstep: the first run from which the median stays more than %.3g%% above "
                   "the runs before it and above their CI\n", thr * 100);
        }
        size_t ci;
        json_t *jid;
        int nsteps = 0;
        json_array_foreach(ids, ci, jid) {
            const char *id = json_string_value(jid);
            size_t m = 0;
            double ratio = 0;
            for (int r = 0; r < n; r++)
                if (case_time(&runs[r], id, &med[m], &hi[m]))
                    at[m++] = r;
            long k = m > 1 ? find_step(med, hi, m, thr, tmp, &ratio) : -1;
            int step_run = k >= 0 ? at[k] : -1;
            nsteps += k >= 0;
            if (csv) {
                size_t j = 0;
                for (int r = 0; r < n; r++) {
                    int has = j < m && at[j] == r;
                    sono_csv_field(stdout, id, 0);
                    printf(",%d,", r + 1);
                    sono_csv_field(stdout, runs[r].started, 0);
                    putchar(',');
                    sono_csv_field(stdout, runs[r].git, 0);
                    putchar(',');
                    sono_csv_field(stdout, runs[r].path, 0);
                    if (has)
                        printf(",%.10g,%.10g", med[j], hi[j]);
                    else
                        printf(",,");
                    if (r == step_run)
                        printf(",1,%.6g\n", ratio);
                    else
                        printf(",0,\n");
                    j += has;
                }
                continue;
            }
            printf("\n%s\n ", id);
            size_t j = 0;
            for (int r = 0; r < n; r++) {
                char b[32] = "-";
                if (j < m && at[j] == r)
                    fmt_ns(med[j++], b, sizeof b);
                printf(" #%d %s%s", r + 1, b, r == step_run ? " <-step" : "");
            }
            putchar('\n');
            if (step_run >= 0)
                printf("  STEP slower at run #%d: x%.3f (+%.1f%%), git %s, %s\n", step_run + 1,
                       ratio, (ratio - 1) * 100, runs[step_run].git, runs[step_run].path);
        }
        if (!csv)
            printf("\n%d case(s) over %d run(s); %d stepped slower\n", (int)json_array_size(ids),
                   n, nsteps);
    }
    for (int r = 0; r < n; r++)
        json_decref(runs[r].doc);
    free(runs);
    free(med);
    free(hi);
    free(tmp);
    free(at);
    json_decref(ids);
    json_decref(seen);
    return rc;
}
