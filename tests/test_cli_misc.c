/* test_cli_misc.c — the rest of the command line: help, version and usage errors, no leaks
 * at exit (under make asan), the core binary linking no backend library (ELF DT_NEEDED and
 * ldd), and an installed tree working from another folder. */
#include "cli_util.h"

#include <elf.h>

#include "results.h"
#include "version.h"

/* ---- help, version, usage ------------------------------------------------------------- */

static void cl_help_and_version(void **state)
{
    (void)state;
    cl_res r;
    cl_h(&r, NULL, "--help", NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "usage: harness COMMAND"));
    for (const char *const *w = (const char *const[]){"run SUITE", "list", "exec OP/IMPL",
                                                      "help COMMAND", "version", NULL};
         *w; w++)
        assert_non_null(strstr(r.out, *w));
    cl_free(&r);

    cl_res h, h2;
    cl_h(&h, NULL, "help", "run", NULL);
    cl_expect_code(&h, 0);
    assert_non_null(strstr(h.out, "usage: harness run SUITE"));
    for (const char *const *w = (const char *const[]){"--filter", "--out", "--dry-run",
                                                      "--quiet", NULL};
         *w; w++)
        assert_non_null(strstr(h.out, *w));
    cl_h(&h2, NULL, "run", "--help", NULL); /* the same text from the command's --help */
    cl_expect_code(&h2, 0);
    assert_string_equal(h.out, h2.out);
    cl_free(&h);
    cl_free(&h2);

    cl_h(&r, NULL, "version", NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "harness " SONO_VERSION));
    assert_non_null(strstr(r.out, SONO_RESULTS_SCHEMA));
    cl_free(&r);

    cl_h(&r, NULL, NULL); /* no command at all: usage, and a usage error */
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.out, "usage: harness"));
    cl_free(&r);
}

static void cl_unknown_command(void **state)
{
    (void)state;
    cl_res r;
    cl_h(&r, NULL, "frobnicate", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "frobnicate"));
    cl_free(&r);
    cl_h(&r, NULL, "help", "frobnicate", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "frobnicate"));
    cl_free(&r);
    cl_h(&r, NULL, "list", "gadgets", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "gadgets"));
    cl_free(&r);
    cl_h(&r, NULL, "run", NULL);
    cl_expect_code(&r, 2);
    cl_free(&r);
    cl_h(&r, NULL, "run", CL_DATA "/tiny.ini", "--bogus-flag", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "--bogus-flag"));
    cl_free(&r);
}

/* ---- leaks (meaningful under make asan; plain builds have no LeakSanitizer) --------- */

/* Runs the harness with LeakSanitizer's own exit status and expects a clean exit. */
static void cl_leak_free(const char *const *set_extra, int want, const char *const *args)
{
    const char *set[4] = {"LSAN_OPTIONS=exitcode=23", NULL};
    for (int i = 0; set_extra && set_extra[i] && i < 2; i++)
        set[i + 1] = set_extra[i];
    const char *argv[16] = {cl_harness};
    int n = 1;
    for (; args[n - 1] && n < 15; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    cl_res r;
    cl_run(NULL, set, argv, &r);
    int leaked = strstr(r.err, "LeakSanitizer") != NULL, code = r.code;
    if (leaked || code != want)
        print_error("harness %s %s: exit %d, expected %d\n%s\n", args[0],
                    args[1] ? args[1] : "", code, want, r.err);
    cl_free(&r); /* before the asserts, so a failure here leaks nothing of ours */
    assert_false(leaked);
    assert_int_equal(code, want);
}

static void cl_no_leaks(void **state)
{
    (void)state;
    char out[PATH_MAX], envp[PATH_MAX + 32];
    snprintf(out, sizeof out, "%s/leak.json", cl_tmp);
    snprintf(envp, sizeof envp, "SONO_PLUGIN_PATH=%s", cl_plugins);
    const char *tp[] = {envp, NULL};
    cl_leak_free(NULL, 0, (const char *const[]){"list", NULL});
    cl_leak_free(NULL, 0, (const char *const[]){"run", CL_DATA "/tiny.ini", "--filter",
                                                "fft/cpu/*", "--out", out, NULL});
    cl_leak_free(NULL, 2, (const char *const[]){"run", CL_DATA "/bad_impl.ini", NULL});
    cl_leak_free(NULL, 0, (const char *const[]){"exec", "fft/radix2", "--param", "n=64",
                                                NULL});
    cl_leak_free(NULL, 2, (const char *const[]){"exec", "fft/radix2", "--param", "n=48",
                                                NULL});
    cl_leak_free(tp, 1, (const char *const[]){"exec", "fft/wrong/fft", "--param", "n=64",
                                              NULL});
}

/* A regression test for FFTW's planner leaking at exit from every run or exec using fftw. */
static void cl_fftw_no_leaks_at_exit(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/leak-fftw.json", cl_tmp);
    cl_leak_free(NULL, 0, (const char *const[]){"exec", "fft/fftw", "--param", "n=64", NULL});
    cl_leak_free(NULL, 0, (const char *const[]){"run", CL_DATA "/tiny.ini", "--filter",
                                                "fft/fftw/*", "--out", out, NULL});
}

/* ---- what the core binary links, and an installed tree -------------------------------- */

/* DT_NEEDED entries of an ELF64 file, from its SHT_DYNAMIC section and that section's
 * string table; returns how many (at most max). */
static int cl_needed(const char *path, char names[][128], int max)
{
    size_t len;
    char *f = cl_slurp(path, &len);
    assert_non_null(f);
    assert_true(len >= sizeof(Elf64_Ehdr));
    Elf64_Ehdr eh;
    memcpy(&eh, f, sizeof eh);
    assert_memory_equal(eh.e_ident, ELFMAG, SELFMAG);
    assert_int_equal(eh.e_ident[EI_CLASS], ELFCLASS64);
    assert_true(eh.e_shoff + (size_t)eh.e_shnum * sizeof(Elf64_Shdr) <= len);
    int n = 0;
    for (int i = 0; i < eh.e_shnum; i++) {
        Elf64_Shdr sh, str;
        memcpy(&sh, f + eh.e_shoff + (size_t)i * sizeof sh, sizeof sh);
        if (sh.sh_type != SHT_DYNAMIC)
            continue;
        assert_true(sh.sh_link < eh.e_shnum);
        memcpy(&str, f + eh.e_shoff + (size_t)sh.sh_link * sizeof str, sizeof str);
        assert_true(sh.sh_offset + sh.sh_size <= len && str.sh_offset + str.sh_size <= len);
        for (size_t off = 0; off + sizeof(Elf64_Dyn) <= sh.sh_size; off += sizeof(Elf64_Dyn)) {
            Elf64_Dyn dyn;
            memcpy(&dyn, f + sh.sh_offset + off, sizeof dyn);
            if (dyn.d_tag == DT_NULL)
                break;
            if (dyn.d_tag == DT_NEEDED && n < max) {
                assert_true(dyn.d_un.d_val < str.sh_size);
                snprintf(names[n++], 128, "%s", f + str.sh_offset + dyn.d_un.d_val);
            }
        }
    }
    free(f);
    return n;
}

static const char *cl_banned(const char *text)
{
    static const char *const libs[] = {"fftw", "openblas", "cuda", "cufft", "cublas", NULL};
    for (int i = 0; libs[i]; i++)
        if (strcasestr(text, libs[i]))
            return libs[i];
    return NULL;
}

static void cl_core_links_no_backend(void **state)
{
    (void)state;
    char names[64][128];
    int n = cl_needed(cl_harness, names, 64), jansson = 0;
    assert_true(n >= 1);
    for (int i = 0; i < n; i++) {
        if (cl_banned(names[i]))
            print_error("%s needs %s\n", cl_harness, names[i]);
        assert_null(cl_banned(names[i]));
        jansson |= strncmp(names[i], "libjansson", 10) == 0;
    }
    assert_true(jansson); /* the reader sees the real table: the core does need jansson */

    /* the same reader does see FFTW where it belongs, in the fftw plugin */
    const char *build = getenv("SONO_BUILD") ? getenv("SONO_BUILD") : "build";
    char so[PATH_MAX];
    snprintf(so, sizeof so, "%s/plugins/fftw.so", build);
    int m = cl_needed(so, names, 64), fftw = 0;
    for (int i = 0; i < m; i++)
        fftw |= strstr(names[i], "fftw") != NULL;
    assert_true(fftw);

    /* and ldd, which follows the whole tree of libraries */
    cl_res r;
    const char *argv[] = {"ldd", cl_harness, NULL};
    cl_run(NULL, NULL, argv, &r);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "libjansson"));
    if (cl_banned(r.out))
        print_error("ldd %s:\n%s", cl_harness, r.out);
    assert_null(cl_banned(r.out));
    cl_free(&r);
}

static void cl_install(void **state)
{
    (void)state;
    /* make asan builds under build/asan; install covers the plain build, which make test
     * names ./build: compare the folders, not how they are spelt */
    const char *build = getenv("SONO_BUILD");
    char have[PATH_MAX], plain[PATH_MAX];
    if (build && (!realpath(build, have) || !realpath("build", plain) || strcmp(have, plain) != 0))
        skip();
    char prefix[PATH_MAX], arg[PATH_MAX + 16], other[PATH_MAX], bin[PATH_MAX + 32];
    snprintf(prefix, sizeof prefix, "%s/inst", cl_tmp);
    snprintf(arg, sizeof arg, "PREFIX=%s", prefix);
    cl_mkdir("elsewhere", other, sizeof other);
    cl_res r;
    const char *make[] = {"make", "--no-print-directory", "-C", cl_root, "install", arg, NULL};
    cl_run(NULL, NULL, make, &r);
    cl_expect_code(&r, 0);
    cl_free(&r);

    snprintf(bin, sizeof bin, "%s/bin/harness", prefix);
    const char *list[] = {bin, "list", NULL};
    cl_run(other, NULL, list, &r);
    cl_expect_code(&r, 0);
    char line[1024];
    for (const char *const *b = (const char *const[]){"backend cpu ", "backend fftw ", NULL};
         *b; b++) {
        assert_true(cl_line_with(r.out, line, sizeof line, *b, "available"));
        assert_null(strstr(line, "UNAVAILABLE"));
    }
    assert_true(cl_line_with(r.out, line, sizeof line, "fft", "cpu/radix2"));
    const char *suites = strstr(r.out, "\nsuites:\n");
    assert_non_null(suites);
    for (const char *const *s = (const char *const[]){"  quick ", "  fft ", NULL}; *s; s++) {
        assert_true(cl_line_with(suites, line, sizeof line, *s, " cases "));
        assert_null(strstr(line, "INVALID"));
    }
    cl_free(&r);

    /* a suite by name, and the plugins it loads come from the installed tree */
    const char *dry[] = {bin, "run", "quick", "--dry-run", NULL};
    cl_run(other, NULL, dry, &r);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "fft/cpu/radix2/"));
    cl_free(&r);
    char suite[PATH_MAX + 64], out[PATH_MAX + 16];
    snprintf(suite, sizeof suite, "%s/%s/tiny.ini", cl_root, CL_DATA);
    snprintf(out, sizeof out, "%s/inst.json", other);
    const char *run[] = {bin, "run", suite, "--out", out, "--quiet", "--filter",
                         "fft/cpu/*", NULL};
    cl_run(other, NULL, run, &r);
    cl_expect_code(&r, 0);
    json_t *doc = cl_load(out);
    const char *p = cl_str(doc, "env.backends.cpu.path");
    if (strncmp(p, prefix, strlen(prefix)) != 0)
        print_error("cpu plugin loaded from %s, not under %s\n", p, prefix);
    assert_int_equal(strncmp(p, prefix, strlen(prefix)), 0);
    json_decref(doc);
    cl_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cl_help_and_version),
        cmocka_unit_test(cl_unknown_command),
        cmocka_unit_test(cl_no_leaks),
        cmocka_unit_test(cl_fftw_no_leaks_at_exit),
        cmocka_unit_test(cl_core_links_no_backend),
        cmocka_unit_test(cl_install),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
