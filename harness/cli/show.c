/* show.c — `harness show FILE [--format table|markdown|json|csv]` (issue 27): a results
 * file's tables, the same as its run printed at the end (table), or as markdown for a pull
 * request or a wiki, CSV or JSON; then, for table and markdown, its counts. Loads no
 * plugins: the rows come from the file alone (table.c makes a run's rows the same way). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "results.h"
#include "table.h"

static int usage(const char *msg, const char *arg)
{
    fprintf(stderr, "harness show: %s%s; see harness help show\n", msg, arg ? arg : "");
    return SONO_EXIT_USAGE;
}

/* "2 ok, 1 fail, ..." from run.counts, in the order a run says them. */
static void counts_line(FILE *f, const json_t *doc, const char *path)
{
    static const char *const order[] = {"ok", "fail", "skip", "error", "crash", "timeout",
                                        "xfail", "xpass", NULL};
    const json_t *run = json_object_get(doc, "run");
    const json_t *counts = json_object_get(run, "counts");
    fputc('\n', f);
    for (int i = 0; order[i]; i++) {
        json_int_t n = json_integer_value(json_object_get(counts, order[i]));
        if (i < 6 || n) /* xfail and xpass only where a suite had them, as run says */
            fprintf(f, "%s%lld %s", i ? ", " : "", (long long)n, order[i]);
    }
    const char *suite = json_string_value(json_object_get(json_object_get(doc, "suite"),
                                                          "name"));
    const char *host = json_string_value(json_object_get(json_object_get(doc, "env"), "host"));
    const char *started = json_string_value(json_object_get(run, "started"));
    fprintf(f, "%s; suite %s on %s, started %s; results: %s\n",
            json_is_true(json_object_get(run, "interrupted")) ? " (interrupted)"
            : json_is_true(json_object_get(run, "complete")) ? ""
                                                              : " (incomplete)",
            suite ? suite : "?", host ? host : "?", started ? started : "?", path);
}

int sono_cmd_show(int argc, char **argv)
{
    const char *path = NULL;
    sono_table_format fmt = SONO_TABLE_TEXT;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            sono_print_help("show");
            return SONO_EXIT_OK;
        }
        if (strcmp(argv[i], "--format") == 0) {
            if (i + 1 >= argc || sono_table_format_parse(argv[++i], &fmt))
                return usage("--format: expected table, markdown, json or csv, got ",
                             i < argc ? argv[i] : "nothing");
        } else if (argv[i][0] == '-' || path)
            return usage("unexpected argument ", argv[i]);
        else
            path = argv[i];
    }
    if (!path)
        return usage("which results file? e.g. harness show results/quick-HOST-TIME.json",
                     NULL);
    json_t *doc;
    sono_error err = {0};
    if (sono_results_load(path, &doc, &err)) {
        fprintf(stderr, "harness show: %s\n", err.msg);
        return SONO_EXIT_USAGE;
    }
    int rc = sono_table_print_doc(stdout, doc, fmt);
    if (!rc && (fmt == SONO_TABLE_TEXT || fmt == SONO_TABLE_MARKDOWN))
        counts_line(stdout, doc, path);
    json_decref(doc);
    if (rc) {
        fprintf(stderr, "harness show: out of memory\n");
        return SONO_EXIT_FAIL;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "harness show: cannot write the output\n");
        return SONO_EXIT_USAGE;
    }
    return SONO_EXIT_OK;
}
