/* export.c — `harness export FILE --format gbench|csv [--out OUT]`: a results file in
 * Google Benchmark's JSON format (repetitions as GB's iterations plus mean/median/stddev
 * aggregates, so compare.py's U test runs over them) or one CSV row per case. Runs no code. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "results.h"

static double num_at(json_t *o, const char *a, const char *b, double dflt)
{
    json_t *j = json_object_get(o, a);
    if (b)
        j = json_object_get(j, b);
    return json_is_number(j) ? json_number_value(j) : dflt;
}

static const char *str_at(json_t *o, const char *a, const char *b)
{
    json_t *j = json_object_get(o, a);
    if (b)
        j = json_object_get(j, b);
    return json_is_string(j) ? json_string_value(j) : "";
}

/* Google Benchmark's context: date, host_name, executable, num_cpus, mhz_per_cpu,
 * cpu_scaling_enabled, caches [{type, level, size, num_sharing}], load_avg,
 * library_build_type. We know no clock rate or scaling state: 0 and false. */
static json_t *gb_context(json_t *doc, const char *path)
{
    json_t *env = json_object_get(doc, "env"), *cpu = json_object_get(env, "cpu");
    json_int_t ncpu = (json_int_t)num_at(cpu, "pus", NULL, 0);
    json_t *caches = json_array();
    static const struct { const char *key, *type; int level; } cs[] = {
        {"l1d", "Data", 1}, {"l2", "Unified", 2}, {"l3", "Unified", 3}};
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        json_t *c = json_object_get(json_object_get(cpu, "caches"), cs[i].key);
        if (!c)
            continue;
        double count = num_at(c, "count", NULL, 1);
        /* num_sharing: logical CPUs per cache instance */
        json_int_t share = count > 0 && ncpu > 0 ? (json_int_t)(ncpu / count) : 1;
        json_array_append_new(caches, json_pack("{s:s, s:i, s:I, s:I}", "type", cs[i].type,
                              "level", cs[i].level, "size",
                              (json_int_t)num_at(c, "bytes", NULL, 0), "num_sharing",
                              share > 0 ? share : 1));
    }
    const char *flags = str_at(env, "compiler", "flags");
    return json_pack("{s:s, s:s, s:s, s:I, s:i, s:b, s:o, s:[], s:s, s:s, s:s, s:s, s:s, "
                     "s:s, s:s}",
                     "date", str_at(doc, "run", "started"), "host_name", str_at(env, "host", NULL),
                     "executable", path, "num_cpus", ncpu, "mhz_per_cpu", 0,
                     "cpu_scaling_enabled", 0, "caches", caches, "load_avg",
                     "library_build_type", strstr(flags, "-O0") ? "debug" : "release",
                     "library_version", "sonobench", "sonobench_harness",
                     str_at(env, "harness", NULL), "sonobench_git", str_at(env, "git", NULL),
                     "sonobench_suite", str_at(json_object_get(doc, "suite"), "name", NULL),
                     "cpu_model", str_at(env, "cpu", "model"), "sonobench_source", path);
}

/* One GB entry with the fields every run carries (GB's JSONReporter order). */
static json_t *gb_entry(const char *name, const char *run_name, size_t index, const char *type,
                        int reps, int threads, double iterations, double ns)
{
    return json_pack("{s:s, s:I, s:i, s:s, s:s, s:i, s:i, s:I, s:f, s:f, s:s}", "name", name,
                     "family_index", (json_int_t)index, "per_family_instance_index", 0,
                     "run_name", run_name, "run_type", type, "repetitions", reps, "threads",
                     threads, "iterations", (json_int_t)iterations, "real_time", ns,
                     "cpu_time", ns, "time_unit", "ns");
}

/* Our figures as counters (plain numbers beside the fixed fields, as user counters are)
 * and a failure as GB reports one. */
static void gb_extras(json_t *b, json_t *c)
{
    json_t *t = json_object_get(c, "time_ns"), *d = json_object_get(c, "derived");
    static const char *const dk[] = {"gflops", "gbps", "rtf", "x_realtime"};
    for (size_t i = 0; i < sizeof dk / sizeof dk[0]; i++)
        if (json_is_number(json_object_get(d, dk[i])))
            json_object_set(b, dk[i], json_object_get(d, dk[i]));
    static const char *const tk[] = {"ci_lo", "ci_hi", "ci_rel", "min", "max", "p95"};
    for (size_t i = 0; i < sizeof tk / sizeof tk[0]; i++)
        if (json_is_number(json_object_get(t, tk[i])))
            json_object_set(b, tk[i], json_object_get(t, tk[i]));
    json_t *ck = json_object_get(c, "check");
    if (json_is_number(json_object_get(ck, "rel_l2")))
        json_object_set(b, "rel_l2", json_object_get(ck, "rel_l2"));
}

static void gb_error(json_t *b, json_t *c)
{
    const char *st = str_at(c, "status", NULL);
    if (strcmp(st, "ok") == 0 || strcmp(st, "xpass") == 0)
        return;
    char msg[1024];
    const char *m = str_at(c, "message", NULL);
    snprintf(msg, sizeof msg, "%s%s%s", st, *m ? ": " : "", m);
    json_object_set_new(b, "error_occurred", json_true());
    json_object_set_new(b, "error_message", json_string(msg));
}

/* A case without repetitions: one iteration entry, its median. With R >= 2 repetitions:
 * R iteration entries (repetition_index 0..R-1, each repetition's median), then the
 * aggregates "<id>_mean", "_median", "_stddev" over those medians, as GB writes for
 * --benchmark_repetitions; compare.py's U test reads the iteration entries. */
static int gb_case(json_t *benches, json_t *c, size_t index)
{
    const char *id = str_at(c, "id", NULL);
    json_t *t = json_object_get(c, "time_ns"), *reps = json_object_get(c, "repetitions");
    int threads = (int)num_at(json_object_get(c, "params"), "threads", NULL, 1);
    int nrep = (int)json_array_size(reps);
    if (nrep < 2) {
        double k = num_at(t, "runs_per_sample", NULL, 1), n = num_at(t, "n", NULL, 0);
        json_t *b = gb_entry(id, id, index, "iteration", 1, threads, k * n,
                             num_at(t, "median", NULL, 0));
        if (!b)
            return SONO_ENOMEM;
        json_object_set_new(b, "repetition_index", json_integer(0));
        gb_extras(b, c);
        gb_error(b, c);
        return json_array_append_new(benches, b) ? SONO_ENOMEM : 0;
    }
    double sum = 0, sq = 0, *med = malloc((size_t)nrep * sizeof *med);
    if (!med)
        return SONO_ENOMEM;
    for (int i = 0; i < nrep; i++) {
        json_t *r = json_array_get(reps, (size_t)i);
        med[i] = num_at(r, "median", NULL, 0);
        sum += med[i];
        json_t *b = gb_entry(id, id, index, "iteration", nrep, threads,
                             num_at(r, "runs_per_sample", NULL, 1) * num_at(r, "n", NULL, 0),
                             med[i]);
        if (!b || json_array_append_new(benches, b)) {
            free(med);
            return SONO_ENOMEM;
        }
        json_object_set_new(b, "repetition_index", json_integer(i));
        gb_error(b, c);
    }
    double mean = sum / nrep;
    for (int i = 0; i < nrep; i++)
        sq += (med[i] - mean) * (med[i] - mean);
    /* GB's median: the middle of the sorted values, or the mean of the two middle ones */
    for (int i = 1; i < nrep; i++)
        for (int j = i; j > 0 && med[j - 1] > med[j]; j--) {
            double tmp = med[j];
            med[j] = med[j - 1];
            med[j - 1] = tmp;
        }
    double median = nrep % 2 ? med[nrep / 2] : 0.5 * (med[nrep / 2 - 1] + med[nrep / 2]);
    free(med);
    const char *const names[] = {"mean", "median", "stddev"};
    const double vals[] = {mean, median, sqrt(sq / (nrep - 1))}; /* GB: sample stddev */
    for (int a = 0; a < 3; a++) {
        char name[600];
        snprintf(name, sizeof name, "%s_%s", id, names[a]);
        json_t *b = gb_entry(name, id, index, "aggregate", nrep, threads, nrep, vals[a]);
        if (!b || json_array_append_new(benches, b))
            return SONO_ENOMEM;
        json_object_set_new(b, "aggregate_name", json_string(names[a]));
        json_object_set_new(b, "aggregate_unit", json_string("time"));
        if (a == 1)
            gb_extras(b, c); /* the case's own figures belong to its median */
        gb_error(b, c);
    }
    return 0;
}

/* A number, or an empty field when the record has none. */
static void csv_num(FILE *f, json_t *j)
{
    fputc(',', f);
    if (json_is_number(j))
        fprintf(f, "%.10g", json_number_value(j));
}

static void write_csv(FILE *f, json_t *doc)
{
    fputs("id,op,impl,params,input,status,median_ns,ci_lo_ns,ci_hi_ns,n,gflops,gbps,rel_l2\n",
          f);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(doc, "cases"), i, c) {
        /* params as the id writes them: k=v joined by ';' (commas would need quoting) */
        char params[1024] = "";
        size_t len = 0;
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(c, "params"), k, v) {
            char val[256];
            if (json_is_string(v))
                snprintf(val, sizeof val, "%s", json_string_value(v));
            else if (json_is_integer(v))
                snprintf(val, sizeof val, "%lld", (long long)json_integer_value(v));
            else
                snprintf(val, sizeof val, "%g", json_number_value(v));
            len += (size_t)snprintf(params + len, len < sizeof params ? sizeof params - len : 0,
                                    "%s%s=%s", len ? ";" : "", k, val);
            if (len >= sizeof params)
                len = sizeof params - 1;
        }
        json_t *t = json_object_get(c, "time_ns"), *d = json_object_get(c, "derived");
        const char *f3[] = {str_at(c, "id", NULL), str_at(c, "op", NULL),
                            str_at(c, "impl", NULL), params, str_at(c, "input", "name"),
                            str_at(c, "status", NULL)};
        for (size_t j = 0; j < 6; j++) {
            if (j)
                fputc(',', f);
            sono_csv_field(f, f3[j], 0);
        }
        csv_num(f, json_object_get(t, "median"));
        csv_num(f, json_object_get(t, "ci_lo"));
        csv_num(f, json_object_get(t, "ci_hi"));
        csv_num(f, json_object_get(t, "n"));
        csv_num(f, json_object_get(d, "gflops"));
        csv_num(f, json_object_get(d, "gbps"));
        csv_num(f, json_object_get(json_object_get(c, "check"), "rel_l2"));
        fputc('\n', f);
    }
}

static int usage(const char *why)
{
    fprintf(stderr, "harness export: %s\nusage: harness export FILE --format gbench|csv "
            "[--out OUT]\n", why);
    return SONO_EXIT_USAGE;
}

int sono_cmd_export(int argc, char **argv)
{
    const char *file = NULL, *format = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            sono_print_help("export");
            return SONO_EXIT_OK;
        }
        if (strcmp(argv[i], "--format") == 0 || strcmp(argv[i], "--out") == 0) {
            if (i + 1 >= argc)
                return usage("an option needs a value");
            *(argv[i][2] == 'f' ? &format : &out) = argv[i + 1];
            i++;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage("unknown option");
        } else if (file) {
            return usage("one results file at a time");
        } else {
            file = argv[i];
        }
    }
    if (!file)
        return usage("no results file given");
    if (!format || (strcmp(format, "gbench") != 0 && strcmp(format, "csv") != 0))
        return usage("--format gbench or --format csv is required");

    json_t *doc;
    sono_error err = {0};
    if (sono_results_load(file, &doc, &err)) {
        fprintf(stderr, "harness export: %s\n", err.msg);
        return SONO_EXIT_USAGE;
    }
    /* written beside OUT and renamed, so a failed export never leaves half a file */
    char tmp[4200];
    FILE *f = stdout;
    if (out) {
        snprintf(tmp, sizeof tmp, "%s.tmp", out);
        if (!(f = fopen(tmp, "w"))) {
            fprintf(stderr, "harness export: %s: cannot write: %s\n", tmp, strerror(errno));
            json_decref(doc);
            return SONO_EXIT_USAGE; /* an I/O error is 2, as everywhere (issue 27) */
        }
    }
    int bad = 0;
    if (strcmp(format, "csv") == 0) {
        write_csv(f, doc);
    } else {
        json_t *benches = json_array();
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(doc, "cases"), i, c)
            bad |= gb_case(benches, c, i) != 0;
        json_t *g = json_pack("{s:o, s:o}", "context", gb_context(doc, file), "benchmarks",
                              benches);
        bad = !g || json_dumpf(g, f, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) != 0;
        fputc('\n', f);
        json_decref(g);
    }
    json_decref(doc);
    bad |= fflush(f) != 0;
    if (out) {
        bad |= fclose(f) != 0;
        if (bad || rename(tmp, out) != 0) {
            fprintf(stderr, "harness export: %s: cannot write: %s\n", out, strerror(errno));
            unlink(tmp);
            return SONO_EXIT_USAGE;
        }
    } else if (bad) {
        fprintf(stderr, "harness export: cannot write the output\n");
        return SONO_EXIT_USAGE;
    }
    return SONO_EXIT_OK;
}
