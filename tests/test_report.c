/* test_report.c — `harness report` on the committed fixtures (tests/data/reports: one CPU
 * run, one with GPU records and calibration, two machines), checked by the page's
 * content: figures, titles, tables, fitted exponents and ratios recomputed here from the
 * fixtures; bad files refused with nothing written; how a Python is found; the ops'
 * presentation in a file ruling over the report's guesses. */
#include "cli_util.h"

#include "cli/cli.h"

#define RD "tests/data/reports"

static int have_python; /* a Python that can import matplotlib exists here */
static int have_jsonschema; /* and it can import jsonschema: load.py validates with the schema */

static void need_python(void)
{
    if (!have_python) {
        print_message("skipped: no Python with matplotlib here (install python3-matplotlib: "
                      "ci/install-deps.sh)\n");
        skip();
    }
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* Renders one or two files into a fresh folder under the temp dir; index.html's text. */
static char *render(const char *name, char *out, size_t n, const char *a, const char *b)
{
    snprintf(out, n, "%s/%s", cl_tmp, name);
    cl_res r;
    if (b)
        cl_h(&r, NULL, "report", a, b, "-o", out, NULL);
    else
        cl_h(&r, NULL, "report", a, "-o", out, NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/index.html", out);
    char *html = cl_slurp(path, NULL);
    assert_non_null(html);
    return html;
}

/* The number of lines a shell pipeline prints about dir (ls ... | grep -c ...). */
static size_t shell_count(const char *fmt, const char *dir)
{
    char cmd[PATH_MAX + 128];
    snprintf(cmd, sizeof cmd, fmt, dir);
    FILE *p = popen(cmd, "r");
    size_t n = 0;
    assert_non_null(p);
    assert_int_equal(fscanf(p, "%zu", &n), 1);
    pclose(p);
    return n;
}

static size_t svg_count(const char *dir)
{
    return shell_count("ls '%s/figures' | grep -c '\\.svg$'", dir);
}

/* The text between a tag with this id and the table's end. */
static char *section(const char *html, const char *id, char *buf, size_t n)
{
    char key[64];
    snprintf(key, sizeof key, "id=\"%s\"", id);
    const char *s = strstr(html, key);
    if (!s)
        print_error("no element %s in the page\n", key);
    assert_non_null(s);
    const char *e = strstr(s, "</table>");
    assert_non_null(e);
    snprintf(buf, n, "%.*s", (int)(e - s), s);
    return buf;
}

/* The number after "label " in text (e.g. the fitted exponent "cpu/radix2 1.18"). */
static double number_after(const char *text, const char *label)
{
    const char *s = strstr(text, label);
    if (!s)
        print_error("'%s' not in the page\n", label);
    assert_non_null(s);
    return strtod(s + strlen(label), NULL);
}

static void test_cpu_run(void **state)
{
    (void)state;
    need_python();
    char dir[PATH_MAX];
    char *html = render("cpu", dir, sizeof dir, RD "/cpu.json", NULL);
    /* fft, stft, logmel, opus_roundtrip: time vs size and throughput vs size each; x real
     * time of the audio ops; the codec's quality vs bitrate; issue 24: the codec
     * comparison's speed panel (its opus record has no PESQ/STOI: that one not drawn) */
    assert_int_equal(count(html, "<img "), 11);
    assert_int_equal(svg_count(dir), 11);
    assert_int_equal(count(html, "src=\"data:image/png;base64,"), 11);
    const char *titles[] = {"fft: median time per run vs n", "fft: GFLOP/s vs n",
                            "stft: median time per run vs seconds",
                            "logmel: median time per run vs seconds",
                            "Audio ops: × real time per impl", "Codecs: SI-SDR vs bitrate", NULL};
    for (int i = 0; titles[i]; i++) {
        char alt[128];
        snprintf(alt, sizeof alt, "alt=\"%s\"", titles[i]);
        if (!strstr(html, alt))
            print_error("no figure titled %s\n", titles[i]);
        assert_non_null(strstr(html, alt));
    }
    /* not drawn, with the reason: no calibration, no GPU records */
    const char *nd = strstr(html, "Figures not drawn");
    assert_non_null(nd);
    assert_non_null(strstr(nd, "Roofline"));
    assert_non_null(strstr(nd, "calibration"));
    assert_non_null(strstr(nd, "GPU: upload / kernel / download"));
    assert_null(strstr(html, "Time ratio")); /* one file: nothing to compare */

    /* failures and skips at the top, before any figure, each with its message */
    char fail[16384];
    section(html, "failures", fail, sizeof fail);
    assert_true(strstr(html, "id=\"failures\"") < strstr(html, "<img "));
    assert_non_null(strstr(fail, "fft/wrong/fft/n=64,batch=1/noise"));
    assert_non_null(strstr(fail, "exceeds tolerance: rel_l2 1.43"));
    assert_non_null(strstr(fail, "too short for n_fft=400"));
    assert_non_null(strstr(fail, "n=480 is not a power of two"));
    assert_true(strstr(fail, "fft/wrong/fft") < strstr(fail, "n=480 is not")); /* fails first */
    assert_int_equal(count(fail, "<td class=id>"), 3);

    /* the fitted exponents: the textbook DFT grows like N^2 (3 sizes); radix-2 ran at two
     * sizes only, and a line through two points is no fit (issue 27): none for it */
    double naive = number_after(html, "cpu/naive-dft ");
    assert_true(naive > 1.8 && naive < 2.2);
    const char *fit = strstr(html, "Fitted exponents");
    assert_non_null(fit);
    const char *fit_end = strchr(fit, '<');
    const char *r2 = strstr(fit, "cpu/radix2");
    assert_true(!r2 || (fit_end && r2 > fit_end));
    assert_null(strstr(html, "come with a later issue")); /* stale since the GPU backends */

    /* every case in the case table, the environment with the host */
    assert_int_equal(count(html, "<td class=id>"), 25 + 3); /* all cases + failure rows */
    char env[32768];
    section(html, "env", env, sizeof env);
    assert_non_null(strstr(env, "AMD EPYC"));
    assert_non_null(strstr(env, "none for this host"));
    /* offline: nothing fetched from elsewhere */
    assert_null(strstr(html, "http://"));
    assert_null(strstr(html, "https://"));
    assert_null(strstr(html, "<script"));
    free(html);
}

static void test_gpu_run(void **state)
{
    (void)state;
    need_python();
    char dir[PATH_MAX];
    char *html = render("gpu", dir, sizeof dir, RD "/gpu.json", NULL);
    /* fft time and throughput, roofline, GPU breakdown, GPU top kernels */
    assert_int_equal(count(html, "<img "), 5);
    assert_int_equal(svg_count(dir), 5);
    assert_non_null(strstr(html, "alt=\"Roofline: arithmetic intensity vs achieved GFLOP/s\""));
    assert_non_null(strstr(html, "alt=\"GPU: upload / kernel / download time per run\""));
    assert_non_null(strstr(html, "alt=\"GPU: top kernels (CUPTI)"));
    assert_non_null(strstr(html, "Dotted lines: the calibrated ceilings of the machine"));
    char k[16384];
    section(html, "kernels", k, sizeof k);
    assert_non_null(strstr(k, "regular_fft_factor&lt;4096&gt;")); /* escaped, not markup */
    assert_non_null(strstr(k, "fft/cuda/cufft/n=65536,batch=64/noise"));
    char env[32768];
    section(html, "env", env, sizeof env);
    assert_non_null(strstr(env, "NVIDIA H100 80GB HBM3"));
    assert_non_null(strstr(env, "cuda:0: 51,200 GFLOP/s, 3,350 GB/s"));
    char fail[8192];
    section(html, "failures", fail, sizeof fail);
    assert_non_null(strstr(fail, "CUDA_ERROR_OUT_OF_MEMORY"));
    const char *nd = strstr(html, "Figures not drawn");
    assert_non_null(nd);
    assert_non_null(strstr(nd, "Audio ops"));
    assert_non_null(strstr(nd, "Codecs"));
    free(html);
}

/* The ops' presentation in the file (suite.ops, written by harness run) rules over the
 * report's guesses for files without it: cpu.json given a presentation in which no op's
 * merit is x real time and codec.opus's size axis is complexity draws no x-real-time
 * figure (the guess draws one for stft and logmel) and plots codec.opus against
 * complexity (the guess: bitrate, the parameter with most values). */
static void test_presentation(void **state)
{
    (void)state;
    need_python();
    json_t *doc = cl_load(RD "/cpu.json");
    json_t *ops = json_pack("{s:{s:s, s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:s}}",
                            "codec.opus", "size_param", "complexity", "size_label",
                            "encoder complexity", "merit", "codec", "stft", "size_param",
                            "seconds", "merit", "gflops", "logmel", "size_param", "seconds",
                            "merit", "gflops", "fft", "size_param", "n", "merit", "gflops");
    assert_int_equal(json_object_set_new(json_object_get(doc, "suite"), "ops", ops), 0);
    char in[PATH_MAX + 32], dir[PATH_MAX];
    snprintf(in, sizeof in, "%s/presented.json", cl_tmp);
    assert_int_equal(json_dump_file(doc, in, 0), 0);
    json_decref(doc);
    char *html = render("presented", dir, sizeof dir, in, NULL);
    assert_non_null(strstr(html, "alt=\"codec.opus: median time per run vs complexity\""));
    assert_null(strstr(html, "alt=\"codec.opus: median time per run vs bitrate\""));
    assert_null(strstr(html, "alt=\"Audio ops: × real time per impl\""));
    const char *nd = strstr(html, "Figures not drawn");
    assert_non_null(nd);
    assert_non_null(strstr(nd, "Audio ops"));
    assert_non_null(strstr(html, "alt=\"stft: median time per run vs seconds\""));
    free(html);
}

/* issue 27: a quick calibration is marked in the environment table and the roofline's
 * caption (it read as the machine's ceiling); a suite's known failures are counted as
 * xfail and xpass, listed with their reason, and an xpass case is drawn like an ok one. */
static void test_quick_and_known(void **state)
{
    (void)state;
    need_python();
    json_t *doc = cl_load(RD "/gpu.json");
    json_object_set_new(json_object_get(json_object_get(doc, "env"), "calibration"), "quick",
                        json_true());
    json_t *cases = json_object_get(doc, "cases");
    json_t *a = json_array_get(cases, 0), *b = json_array_get(cases, 1);
    json_object_set_new(a, "status", json_string("xfail"));
    json_object_set_new(a, "message", json_string("expected: a planted known failure"));
    json_object_set_new(a, "expect_fail", json_pack("{s:s, s:s}", "reason", "planted",
                                                    "status", "fail"));
    json_object_set_new(b, "status", json_string("xpass"));
    json_object_set_new(b, "expect_fail", json_pack("{s:s, s:s}", "reason", "planted",
                                                    "status", "ok"));
    char in[PATH_MAX + 32], dir[PATH_MAX];
    snprintf(in, sizeof in, "%s/quick.json", cl_tmp);
    assert_int_equal(json_dump_file(doc, in, 0), 0);
    json_decref(doc);
    char *html = render("quick", dir, sizeof dir, in, NULL);
    assert_non_null(strstr(html, "QUICK calibration"));
    assert_non_null(strstr(html, "from a quick calibration"));
    assert_non_null(strstr(html, "1 xfail</span>"));
    assert_non_null(strstr(html, "1 xpass</span>"));
    assert_non_null(strstr(html, "a planted known failure"));
    free(html);
}

static void write_file(const char *path, const char *text, size_t n);

/* issue 27: the report refuses NaN and negative medians like compare (it drew them) */
static void test_bad_medians(void **state)
{
    (void)state;
    char neg[PATH_MAX + 32], nan[PATH_MAX + 32], out[PATH_MAX + 32];
    snprintf(neg, sizeof neg, "%s/neg.json", cl_tmp);
    snprintf(nan, sizeof nan, "%s/nan.json", cl_tmp);
    snprintf(out, sizeof out, "%s/badmed", cl_tmp);
    json_t *doc = cl_load(RD "/cpu.json");
    json_t *t = json_object_get(json_array_get(json_object_get(doc, "cases"), 0), "time_ns");
    json_object_set_new(t, "median", json_real(-5.0));
    assert_int_equal(json_dump_file(doc, neg, JSON_COMPACT), 0);
    json_object_set_new(t, "median", json_real(123456.5));
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    char *at = strstr(text, "123456.5");
    assert_non_null(at);
    memcpy(at, "NaN     ", 8);
    write_file(nan, text, strlen(text));
    free(text);
    cl_res r;
    /* the harness's own readers: a negative median is no time */
    cl_h(&r, NULL, "show", neg, NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "negative"));
    cl_free(&r);
    cl_h(&r, NULL, "compare", RD "/cpu.json", neg, NULL);
    cl_expect_code(&r, 2);
    cl_free(&r);
    if (!have_python)
        return;
    const char *files[] = {neg, nan};
    for (int k = 0; k < 2; k++) {
        cl_h(&r, NULL, "report", files[k], "-o", out, NULL);
        cl_expect_code(&r, 2);
        char line[1024];
        if (!cl_line_with(r.err, line, sizeof line, files[k], k ? "NaN" : "median"))
            fail_msg("report of %s: %s", files[k], r.err);
        assert_false(cl_exists(out));
        cl_free(&r);
    }
}

/* issue 27: `report --history DIR`, asv's page: the regressions table names the cases
 * `harness history` finds stepped, at the same run and commit, each linked to its row in
 * the runs table; a figure per op and per stepped case. */
static void test_history_page(void **state)
{
    (void)state;
    need_python();
    char dir[PATH_MAX], out[PATH_MAX + 8];
    cl_mkdir("hist", dir, sizeof dir);
    cl_plant_history(RD "/cpu.json", dir, 5, "cpu/radix2", 2);
    snprintf(out, sizeof out, "%s/hist-out", cl_tmp);
    cl_res r;
    cl_h(&r, NULL, "report", "--history", dir, "-o", out, NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/index.html", out);
    char *html = cl_slurp(path, NULL);
    assert_non_null(html);
    char reg[16384];
    section(html, "regressions", reg, sizeof reg);
    /* what harness history says, case by case */
    char files[5][PATH_MAX + 16];
    for (int k = 0; k < 5; k++)
        snprintf(files[k], sizeof files[k], "%s/run%d.json", dir, k);
    cl_h(&r, NULL, "history", files[0], files[1], files[2], files[3], files[4], "--format",
         "csv", NULL);
    cl_expect_code(&r, 0);
    int nsteps = 0;
    for (const char *l = r.out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        size_t len = strcspn(l, "\n");
        char line[4096];
        snprintf(line, sizeof line, "%.*s", (int)len, l);
        /* case,run,started,git,file,median,ci_hi,step,ratio: step 1 marks the step run */
        char *last = strrchr(line, ',');
        if (!last)
            continue;
        *last = 0;
        char *flag = strrchr(line, ',');
        if (!flag || strcmp(flag + 1, "1") != 0)
            continue;
        char *id = line[0] == '"' ? line + 1 : line;
        id[strcspn(id, line[0] == '"' ? "\"" : ",")] = 0;
        nsteps++;
        assert_non_null(strstr(reg, id));
        assert_non_null(strstr(reg, "#3 (c0ffee2)"));
    }
    assert_int_equal(nsteps, 2); /* radix2 at n = 64 and 1024 */
    assert_int_equal(count(reg, "<tr><td class=id>"), nsteps);
    assert_int_equal(count(reg, "href=\"#run-3\""), nsteps);
    cl_free(&r);
    assert_non_null(strstr(html, "<tr id=\"run-3\">"));
    assert_non_null(strstr(html, "c0ffee2"));
    /* fft, stft, logmel, codec.opus per op; the two stepped cases */
    assert_int_equal(count(html, "<img "), 4 + 2);
    assert_int_equal(svg_count(out), 4 + 2);
    free(html);
    /* one file is no history; a folder that is not there is named */
    char one[PATH_MAX];
    cl_mkdir("hist-one", one, sizeof one);
    cl_plant_history(RD "/cpu.json", one, 1, "cpu/radix2", 0);
    cl_h(&r, NULL, "report", "--history", one, "-o", out, NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "two or more"));
    cl_free(&r);
    cl_h(&r, NULL, "report", "--history", "/no/such/dir", "-o", out, NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "/no/such/dir"));
    cl_free(&r);
}

/* Geometric mean of median(b)/median(a) over the ids ok in both, from the files. */
static double geomean_ratio(const char *a, const char *b, int *common)
{
    json_t *da = cl_load(a), *db = cl_load(b);
    double s = 0;
    *common = 0;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(db, "cases"), i, c) {
        json_t *base = cl_case(da, cl_str(c, "id"));
        if (!base || strcmp(cl_str(c, "status"), "ok") || strcmp(cl_str(base, "status"), "ok"))
            continue;
        s += log(cl_num(c, "time_ns.median") / cl_num(base, "time_ns.median"));
        ++*common;
    }
    json_decref(da);
    json_decref(db);
    return exp(s / *common);
}

/* Issue 24: tests/data/reports/codecs.json (hand-written: Opus voip/audio at 4 bitrates
 * with PESQ and STOI, EnCodec and DAC on random weights, SoundStream on a checkpoint) draws
 * the comparison: PESQ/STOI vs bitrate with the curves that have real quality, the random
 * ones named in the caption, and x real time vs bitrate in an encode, a decode and a round
 * trip panel. */
static void test_codec_comparison(void **state)
{
    (void)state;
    need_python();
    char dir[PATH_MAX];
    char *html = render("codecs", dir, sizeof dir, RD "/codecs.json", NULL);
    assert_non_null(strstr(html, "alt=\"Codec comparison: PESQ and STOI vs bitrate\""));
    assert_non_null(strstr(html, "alt=\"Codec comparison: × real time vs bitrate\""));
    assert_non_null(strstr(html, "Not drawn, quality dac (not meaningful (random weights)); "
                                 "encodec (not meaningful (random weights))."));
    assert_null(strstr(html, "soundstream (not meaningful"));
    /* per op: time vs size (opus, encodec, soundstream); SI-SDR vs bitrate; the two */
    assert_int_equal(count(html, "<img "), 6);
    assert_int_equal(svg_count(dir), 6);
    free(html);
}

static void test_two_machines(void **state)
{
    (void)state;
    need_python();
    char dir[PATH_MAX];
    char *html = render("two", dir, sizeof dir, RD "/cpu.json", RD "/machine-b.json");
    assert_int_equal(count(html, "<img "), 12); /* the CPU run's 11 and the ratios */
    assert_non_null(strstr(html, "alt=\"Time ratio per case against vm (&gt; 1: slower)\""));
    int common;
    double want = geomean_ratio(RD "/cpu.json", RD "/machine-b.json", &common);
    char label[64];
    double got = number_after(html, "Geometric mean of the ratios: xeon-b: ");
    assert_true(fabs(got - want) <= 0.006 * want); /* printed to 3 digits */
    snprintf(label, sizeof label, "× over %d common cases", common);
    assert_non_null(strstr(html, label));

    char env[32768];
    section(html, "env", env, sizeof env);
    assert_non_null(strstr(env, "<th>vm</th>"));
    assert_non_null(strstr(env, "<th>xeon-b</th>"));
    assert_non_null(strstr(env, "AMD EPYC"));
    assert_non_null(strstr(env, "Intel(R) Xeon(R) Gold 6430"));
    char line[1024]; /* the CPU row differs: marked */
    assert_true(cl_line_with(env, line, sizeof line, "<tr class=diff><th>CPU</th>", NULL));
    char fail[16384];
    section(html, "failures", fail, sizeof fail);
    assert_non_null(strstr(fail, "<td class=file>xeon-b</td><td class=id>fft/wrong/fft/n=64,batch=1"));
    free(html);
}

static void write_file(const char *path, const char *text, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void test_bad_input(void **state)
{
    (void)state;
    need_python();
    char dir[PATH_MAX], out[PATH_MAX + 8], bad[PATH_MAX + 32], line[1024];
    cl_mkdir("bad", dir, sizeof dir);
    size_t len;
    char *good = cl_slurp(RD "/cpu.json", &len);
    assert_non_null(good);
    struct {
        const char *name, *text, *says;
        size_t n;
    } cases[] = {
        {"empty.json", "", "empty file", 0},
        {"truncated.json", good, "not valid JSON", len / 2},
        {"calibration.json", "{\"schema\": \"sonobench.calibration/1\", \"hosts\": {}}",
         "not a sonobench results file", 0},
        {"text.json", "hello\n", "not valid JSON", 0},
        {"nocases.json", "{\"schema\": \"sonobench.results/1\", \"env\": {}, \"run\": {}}",
         "\"cases\"", 0},
        {"badcase.json", "{\"schema\": \"sonobench.results/1\", \"env\": {}, \"run\": {}, "
         "\"cases\": [{\"id\": \"x\", \"op\": \"fft\", \"impl\": \"a/b\", \"status\": \"great\", "
         "\"params\": {}}]}", "case 0 (x)", 0},
    };
    snprintf(out, sizeof out, "%s/out", dir);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(bad, sizeof bad, "%s/%s", dir, cases[i].name);
        write_file(bad, cases[i].text, cases[i].n ? cases[i].n : strlen(cases[i].text));
        cl_res r; /* the bad file after a good one: nothing at all is written */
        cl_h(&r, NULL, "report", RD "/cpu.json", bad, "-o", out, NULL);
        cl_expect_code(&r, 2);
        if (!cl_line_with(r.err, line, sizeof line, bad, cases[i].says))
            print_error("%s: stderr does not name it with '%s':\n%s\n", cases[i].name,
                        cases[i].says, r.err);
        assert_true(cl_line_with(r.err, line, sizeof line, bad, cases[i].says));
        assert_false(cl_exists(out));
        cl_free(&r);
    }
    cl_res r;
    size_t inputs = sizeof cases / sizeof *cases;
    /* a wrong type that only harness/schema/results-1.json describes (check.pass is a
     * boolean): the loader validates against the schema, not a list of its own */
    if (have_jsonschema) {
        snprintf(bad, sizeof bad, "%s/typed.json", dir);
        const char *typed = "{\"schema\": \"sonobench.results/1\", \"env\": {}, \"run\": {}, "
                            "\"cases\": [{\"id\": \"x\", \"op\": \"fft\", \"impl\": \"a/b\", "
                            "\"status\": \"skip\", \"params\": {}, \"check\": {\"pass\": \"yes\"}}]}";
        write_file(bad, typed, strlen(typed));
        cl_h(&r, NULL, "report", RD "/cpu.json", bad, "-o", out, NULL);
        cl_expect_code(&r, 2);
        assert_true(cl_line_with(r.err, line, sizeof line, "case 0 (x): \"check.pass\"", NULL));
        assert_non_null(strstr(line, "results-1.json"));
        assert_false(cl_exists(out));
        cl_free(&r);
        inputs++;
    } else
        print_message("not checked: a schema-only error (no jsonschema for the report's "
                      "Python: install python3-jsonschema, ci/install-deps.sh)\n");
    cl_h(&r, NULL, "report", "/nonexistent/x.json", "-o", out, NULL);
    cl_expect_code(&r, 2);
    assert_true(cl_line_with(r.err, line, sizeof line, "/nonexistent/x.json", NULL));
    assert_false(cl_exists(out));
    cl_free(&r);
    /* the temp folder never stays behind either: the bad folder holds just the inputs */
    assert_int_equal(shell_count("ls -A '%s' | wc -l", dir), inputs);
    free(good);
}

static void test_output_folder(void **state)
{
    (void)state;
    need_python();
    char dir[PATH_MAX], out[PATH_MAX + 8], keep[PATH_MAX + 32], bad[PATH_MAX + 16];
    cl_mkdir("outdir", dir, sizeof dir);
    snprintf(out, sizeof out, "%s/rep", dir);
    cl_res r;
    cl_h(&r, NULL, "report", RD "/gpu.json", "-o", out, NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    /* an earlier report survives a bad run untouched ... */
    snprintf(keep, sizeof keep, "%s/mine.txt", out);
    write_file(keep, "x", 1);
    snprintf(bad, sizeof bad, "%s/empty.json", dir);
    write_file(bad, "", 0);
    cl_h(&r, NULL, "report", bad, "-o", out, NULL);
    cl_expect_code(&r, 2);
    cl_free(&r);
    assert_true(cl_exists(keep));
    /* ... and is replaced whole by a good one */
    cl_h(&r, NULL, "report", RD "/cpu.json", "-o", out, NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    assert_false(cl_exists(keep));
    char idx[PATH_MAX + 16];
    snprintf(idx, sizeof idx, "%s/index.html", out);
    char *html = cl_slurp(idx, NULL);
    assert_non_null(html);
    assert_non_null(strstr(html, "Codecs: SI-SDR vs bitrate")); /* the CPU run's page */
    free(html);
    /* a folder that is not a report is refused and left alone */
    char other[PATH_MAX + 16];
    snprintf(other, sizeof other, "%s/notes", dir);
    assert_int_equal(mkdir(other, 0755), 0);
    snprintf(keep, sizeof keep, "%s/notes.txt", other);
    write_file(keep, "x", 1);
    char line[1024];
    cl_h(&r, NULL, "report", RD "/cpu.json", "-o", other, NULL);
    cl_expect_code(&r, 2);
    assert_true(cl_line_with(r.err, line, sizeof line, other, "not an earlier report"));
    cl_free(&r);
    assert_true(cl_exists(keep));
    /* nothing left beside them: no temp or old folders */
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | tr '\\n' ' '", dir);
    FILE *p = popen(cmd, "r");
    char names[1024] = "";
    assert_non_null(p);
    assert_non_null(fgets(names, sizeof names, p));
    pclose(p);
    assert_string_equal(names, "empty.json notes rep ");
}

/* A stand-in Python: answers the matplotlib probe, records its arguments, exits 3. */
static void fake_python(char *path, size_t n, const char *log)
{
    snprintf(path, n, "%s/fakepy", cl_tmp);
    char text[PATH_MAX + 200];
    snprintf(text, sizeof text, "#!/bin/sh\nif [ \"$1\" = -c ]; then exit 0; fi\n"
             "printf '%%s\\n' \"$@\" > '%s'\nexit 3\n", log);
    write_file(path, text, strlen(text));
    assert_int_equal(chmod(path, 0755), 0);
}

static void test_python_lookup(void **state)
{
    (void)state;
    char got[PATH_MAX], fake[PATH_MAX], log[PATH_MAX + 16];
    const char *none[] = {"/nonexistent/python3", "/bin/false", NULL};
    assert_int_equal(sono_report_find_python(none, got, sizeof got), -1);
    snprintf(log, sizeof log, "%s/fakepy.args", cl_tmp);
    fake_python(fake, sizeof fake, log);
    const char *some[] = {"/nonexistent/python3", fake, NULL};
    assert_int_equal(sono_report_find_python(some, got, sizeof got), 0);
    assert_string_equal(got, fake);

    /* $SONO_PYTHON comes first; its arguments and exit status pass through */
    char env[PATH_MAX + 16];
    snprintf(env, sizeof env, "SONO_PYTHON=%s", fake);
    const char *set[] = {env, NULL};
    cl_res r;
    cl_h(&r, set, "report", "a.json", "b.json", "-o", "out", NULL);
    cl_expect_code(&r, 3);
    cl_free(&r);
    char *args = cl_slurp(log, NULL);
    assert_non_null(args);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "-B\n%s/reports/render.py\na.json\nb.json\n-o\nout\n", cl_root);
    assert_string_equal(args, want);
    free(args);

    /* without any: exit 2 saying what to install (only where this machine has none) */
    if (!have_python) {
        cl_h(&r, NULL, "report", "a.json", "-o", "out", NULL);
        cl_expect_code(&r, 2);
        assert_non_null(strstr(r.err, "install python3-matplotlib (ci/install-deps.sh)"));
        cl_free(&r);
    }
    cl_h(&r, NULL, "report", NULL);
    cl_expect_code(&r, 2);
    cl_free(&r);
    cl_h(&r, NULL, "help", "report", NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "python3-matplotlib"));
    cl_free(&r);
}

/* `make install` puts the renderer under share/sonobench/reports, where the installed
 * harness finds it. */
static void test_installed(void **state)
{
    (void)state;
    need_python();
    const char *build = getenv("SONO_BUILD");
    char have[PATH_MAX], plain[PATH_MAX];
    if (build && (!realpath(build, have) || !realpath("build", plain) || strcmp(have, plain) != 0))
        skip(); /* make asan: install covers the plain build */
    char prefix[PATH_MAX], arg[PATH_MAX + 16], out[PATH_MAX + 8], bin[PATH_MAX + 32];
    snprintf(prefix, sizeof prefix, "%s/inst", cl_tmp);
    snprintf(arg, sizeof arg, "PREFIX=%s", prefix);
    cl_res r;
    const char *make[] = {"make", "--no-print-directory", "-C", cl_root, "install", arg, NULL};
    cl_run(NULL, NULL, make, &r);
    cl_expect_code(&r, 0);
    cl_free(&r);
    snprintf(bin, sizeof bin, "%s/bin/harness", prefix);
    snprintf(out, sizeof out, "%s/irep", cl_tmp);
    char in[PATH_MAX + 32];
    snprintf(in, sizeof in, "%s/" RD "/gpu.json", cl_root);
    const char *argv[] = {bin, "report", in, "-o", out, NULL};
    cl_run(cl_tmp, NULL, argv, &r);
    cl_expect_code(&r, 0);
    cl_free(&r);
    snprintf(in, sizeof in, "%s/share/sonobench/reports/render.py", prefix);
    assert_true(cl_exists(in));
    /* the schema beside it, where the installed load.py looks for it */
    snprintf(in, sizeof in, "%s/share/sonobench/schema/results-1.json", prefix);
    assert_true(cl_exists(in));
    snprintf(in, sizeof in, "%s/index.html", out);
    assert_true(cl_exists(in));
}

static int setup(void **state)
{
    char py[PATH_MAX] = "";
    have_python = sono_report_find_python(NULL, py, sizeof py) == 0;
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "'%s' -c 'import jsonschema' 2>/dev/null", py);
    have_jsonschema = have_python && system(cmd) == 0;
    return cl_setup(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu_run),       cmocka_unit_test(test_gpu_run),
        cmocka_unit_test(test_two_machines),  cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_output_folder), cmocka_unit_test(test_python_lookup),
        cmocka_unit_test(test_installed),     cmocka_unit_test(test_presentation),
        cmocka_unit_test(test_quick_and_known), cmocka_unit_test(test_bad_medians),
        cmocka_unit_test(test_history_page),
        cmocka_unit_test(test_codec_comparison), /* issue 24 */
    };
    return cmocka_run_group_tests(tests, setup, cl_teardown);
}
