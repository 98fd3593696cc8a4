/* test_report_browser.c — the report as a reader gets it: rendered from every committed
 * fixture, opened in headless Chromium, which runs a small check script (every image
 * decoded, the failure table there, nothing fetched from the network, no sideways
 * scrolling at 1366 px) and takes a screenshot to look at: $SONO_BUILD/report-screenshot.png.
 * Skips, saying why, where Chromium or matplotlib is missing; CI installs both. */
#include "cli_util.h"

#include "cli/cli.h"

#define RD "tests/data/reports"

static const char *const fixtures[] = {RD "/cpu.json", RD "/machine-b.json", RD "/gpu.json"};
#define NFIX (sizeof fixtures / sizeof *fixtures)

/* Written into the page under test only (a copy): reports carry no scripts. */
static const char check_js[] =
    "<script>addEventListener('load', () => {\n"
    "  const imgs = [...document.images];\n"
    "  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0 && i.naturalHeight > 0);\n"
    "  const f = document.getElementById('failures');\n"
    "  const ext = [...document.querySelectorAll('[src],link[href]')]\n"
    "    .filter(e => /^(https?:)?\\/\\//.test(e.getAttribute('src') || e.getAttribute('href')));\n"
    "  const pre = document.createElement('pre');\n"
    "  pre.id = 'check';\n"
    "  pre.textContent = `images=${imgs.length} loaded=${ok.length} ` +\n"
    "    `failures=${f ? f.tBodies[0].rows.length : -1} external=${ext.length} ` +\n"
    "    `overflow=${document.documentElement.scrollWidth > innerWidth ? 1 : 0} end`;\n"
    "  document.body.appendChild(pre);\n"
    "});</script>\n";

static char chromium[PATH_MAX];

/* The browser on PATH: Debian's chromium, or another Chromium-based one. */
static int find_chromium(void)
{
    const char *names[] = {"chromium", "chromium-browser", "google-chrome", NULL};
    const char *path = getenv("PATH");
    for (int i = 0; names[i]; i++) {
        char *copy = strdup(path ? path : "/usr/bin:/bin");
        for (char *save = NULL, *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
            snprintf(chromium, sizeof chromium, "%s/%s", d, names[i]);
            if (access(chromium, X_OK) == 0) {
                free(copy);
                return 0;
            }
        }
        free(copy);
    }
    return -1;
}

/* Non-ok cases over the fixtures, counted from the files themselves. */
static int not_ok_cases(void)
{
    int n = 0;
    for (size_t k = 0; k < NFIX; k++) {
        json_t *d = cl_load(fixtures[k]);
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(d, "cases"), i, c)
            n += strcmp(cl_str(c, "status"), "ok") != 0;
        json_decref(d);
    }
    return n;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* chromium --headless ... URL with a profile of its own (parallel runs never share one). */
static void browse(const char *mode, const char *url, cl_res *r)
{
    char profile[PATH_MAX + 16];
    snprintf(profile, sizeof profile, "--user-data-dir=%s/chromium-profile", cl_tmp);
    const char *argv[] = {"timeout", "120", chromium, "--headless", "--no-sandbox",
                          "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                          "--hide-scrollbars", "--window-size=1366,900",
                          "--run-all-compositor-stages-before-draw",
                          "--virtual-time-budget=10000", profile, mode, url, NULL};
    cl_run(NULL, NULL, argv, r);
}

static void test_report_in_browser(void **state)
{
    (void)state;
    char py[PATH_MAX];
    if (find_chromium()) {
        print_message("skipped: no chromium on PATH (apt-get install chromium; "
                      "ci/install-deps.sh)\n");
        skip();
    }
    if (sono_report_find_python(NULL, py, sizeof py)) {
        print_message("skipped: no Python with matplotlib (install python3-matplotlib)\n");
        skip();
    }
    char out[PATH_MAX + 8], index[PATH_MAX + 32], check[PATH_MAX + 32];
    snprintf(out, sizeof out, "%s/report", cl_tmp);
    cl_res r;
    cl_h(&r, NULL, "report", fixtures[0], fixtures[1], fixtures[2], "-o", out, NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    snprintf(index, sizeof index, "%s/index.html", out);
    char *html = cl_slurp(index, NULL);
    assert_non_null(html);
    size_t nimg = count(html, "<img ");
    assert_true(nimg >= 10);

    /* the copy under test: the page plus the check script */
    char *body = strstr(html, "</body>");
    assert_non_null(body);
    snprintf(check, sizeof check, "%s/check.html", out);
    FILE *f = fopen(check, "w");
    assert_non_null(f);
    fprintf(f, "%.*s%s%s", (int)(body - html), html, check_js, body);
    assert_int_equal(fclose(f), 0);

    char url[PATH_MAX + 64], mode[PATH_MAX + 64];
    snprintf(url, sizeof url, "file://%s", check);
    browse("--dump-dom", url, &r);
    if (r.code != 0)
        print_error("chromium exit %d:\n%s\n", r.code, r.err);
    assert_int_equal(r.code, 0);
    const char *pre = strstr(r.out, "<pre id=\"check\">");
    if (!pre)
        print_error("no check output in the DOM (did the page load?):\n%.2000s\n", r.out);
    assert_non_null(pre);
    int images = -1, loaded = -1, failures = -2, external = -1, overflow = -1;
    assert_int_equal(sscanf(pre, "<pre id=\"check\">images=%d loaded=%d failures=%d "
                            "external=%d overflow=%d end", &images, &loaded, &failures,
                            &external, &overflow), 5);
    print_message("browser: %d images, %d loaded, failure table of %d rows\n", images, loaded,
                  failures);
    assert_int_equal(images, (int)nimg);
    assert_int_equal(loaded, images);           /* every figure decoded (naturalWidth > 0) */
    assert_int_equal(failures, not_ok_cases()); /* the failure table, one row per case */
    assert_int_equal(external, 0);              /* offline: nothing from elsewhere */
    assert_int_equal(overflow, 0);              /* fits a 1366 px laptop screen */
    cl_free(&r);

    /* the screenshot, kept in the build folder to look at */
    const char *build = getenv("SONO_BUILD") ? getenv("SONO_BUILD") : "build";
    char shot[PATH_MAX + 64];
    snprintf(shot, sizeof shot, "%s/report-screenshot.png", build);
    char abs[PATH_MAX];
    assert_non_null(realpath(build, abs));
    snprintf(shot, sizeof shot, "%s/report-screenshot.png", abs);
    remove(shot);
    snprintf(mode, sizeof mode, "--screenshot=%s", shot);
    snprintf(url, sizeof url, "file://%s", index);
    browse(mode, url, &r);
    assert_int_equal(r.code, 0);
    cl_free(&r);
    size_t len;
    unsigned char *png = (unsigned char *)cl_slurp(shot, &len);
    assert_non_null(png);
    assert_true(len > 24 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
    unsigned w = (unsigned)png[16] << 24 | png[17] << 16 | png[18] << 8 | png[19];
    unsigned h = (unsigned)png[20] << 24 | png[21] << 16 | png[22] << 8 | png[23];
    assert_int_equal(w, 1366);
    assert_int_equal(h, 900);
    print_message("screenshot: %s\n", shot);
    free(png);
    free(html);
}

/* issue 27: the history page (`report --history DIR`), checked the same way: every
 * figure decoded, the regressions table there with each row's commit link landing on a
 * row of the runs table, nothing fetched, no sideways scrolling; a screenshot kept. */
static const char history_js[] =
    "<script>addEventListener('load', () => {\n"
    "  const imgs = [...document.images];\n"
    "  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0 && i.naturalHeight > 0);\n"
    "  const reg = document.getElementById('regressions');\n"
    "  const links = reg ? [...reg.querySelectorAll('a[href^=\"#run-\"]')] : [];\n"
    "  const landed = links.filter(a => document.getElementById(a.getAttribute('href')"
    ".slice(1)));\n"
    "  const ext = [...document.querySelectorAll('[src],link[href]')]\n"
    "    .filter(e => /^(https?:)?\\/\\//.test(e.getAttribute('src') || e.getAttribute('href')));\n"
    "  const pre = document.createElement('pre');\n"
    "  pre.id = 'check';\n"
    "  pre.textContent = `images=${imgs.length} loaded=${ok.length} ` +\n"
    "    `regressions=${reg ? reg.tBodies[0].rows.length : -1} links=${links.length} ` +\n"
    "    `landed=${landed.length} external=${ext.length} ` +\n"
    "    `overflow=${document.documentElement.scrollWidth > innerWidth ? 1 : 0} end`;\n"
    "  document.body.appendChild(pre);\n"
    "});</script>\n";

static void test_history_in_browser(void **state)
{
    (void)state;
    char py[PATH_MAX];
    if (find_chromium()) {
        print_message("skipped: no chromium on PATH (apt-get install chromium; "
                      "ci/install-deps.sh)\n");
        skip();
    }
    if (sono_report_find_python(NULL, py, sizeof py)) {
        print_message("skipped: no Python with matplotlib (install python3-matplotlib)\n");
        skip();
    }
    char dir[PATH_MAX], out[PATH_MAX + 8], index[PATH_MAX + 32], check[PATH_MAX + 32];
    cl_mkdir("hist", dir, sizeof dir);
    cl_plant_history(RD "/cpu.json", dir, 6, "cpu/radix2", 3);
    snprintf(out, sizeof out, "%s/history", cl_tmp);
    cl_res r;
    cl_h(&r, NULL, "report", "--history", dir, "-o", out, NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    snprintf(index, sizeof index, "%s/index.html", out);
    char *html = cl_slurp(index, NULL);
    assert_non_null(html);
    size_t nimg = count(html, "<img ");
    char *body = strstr(html, "</body>");
    assert_non_null(body);
    snprintf(check, sizeof check, "%s/check.html", out);
    FILE *f = fopen(check, "w");
    assert_non_null(f);
    fprintf(f, "%.*s%s%s", (int)(body - html), html, history_js, body);
    assert_int_equal(fclose(f), 0);
    char url[PATH_MAX + 64], mode[PATH_MAX + 64];
    snprintf(url, sizeof url, "file://%s", check);
    browse("--dump-dom", url, &r);
    assert_int_equal(r.code, 0);
    const char *pre = strstr(r.out, "<pre id=\"check\">");
    if (!pre)
        print_error("no check output in the DOM (did the page load?):\n%.2000s\n", r.out);
    assert_non_null(pre);
    int images = -1, loaded = -1, regs = -2, links = -1, landed = -1, external = -1,
        overflow = -1;
    assert_int_equal(sscanf(pre, "<pre id=\"check\">images=%d loaded=%d regressions=%d "
                            "links=%d landed=%d external=%d overflow=%d end", &images, &loaded,
                            &regs, &links, &landed, &external, &overflow), 7);
    print_message("history in the browser: %d images, %d loaded, %d regressions\n", images,
                  loaded, regs);
    assert_int_equal(images, (int)nimg);
    assert_true(images >= 4 + 2);
    assert_int_equal(loaded, images);
    assert_int_equal(regs, 2);      /* the two planted radix2 cases */
    assert_int_equal(links, regs);  /* each linked to its commit's run */
    assert_int_equal(landed, links);
    assert_int_equal(external, 0);
    assert_int_equal(overflow, 0);
    cl_free(&r);
    const char *build = getenv("SONO_BUILD") ? getenv("SONO_BUILD") : "build";
    char abs[PATH_MAX], shot[PATH_MAX + 64];
    assert_non_null(realpath(build, abs));
    snprintf(shot, sizeof shot, "%s/history-screenshot.png", abs);
    remove(shot);
    snprintf(mode, sizeof mode, "--screenshot=%s", shot);
    snprintf(url, sizeof url, "file://%s", index);
    browse(mode, url, &r);
    assert_int_equal(r.code, 0);
    cl_free(&r);
    size_t len;
    char *png = cl_slurp(shot, &len);
    assert_non_null(png);
    assert_true(len > 24 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
    print_message("screenshot: %s\n", shot);
    free(png);
    free(html);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_in_browser),
        cmocka_unit_test(test_history_in_browser),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
