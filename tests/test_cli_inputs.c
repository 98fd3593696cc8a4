/* test_cli_inputs.c — the inputs through the real harness: a suite naming a missing
 * recording is refused (exit 2, the file named); the new generators, speech and a
 * directory run end to end (through the worker, which re-parses each input); `harness
 * list inputs` shows every generator. */
#include "cli_util.h"

#include <sndfile.h>

#include "input.h"

static void cl_missing_recording(void **state)
{
    (void)state;
    cl_res r;
    cl_h(&r, NULL, "run", "tests/data/inputs/missing.ini", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "no_such_recording.wav"));
    assert_non_null(strstr(r.err, "missing.ini"));
    cl_free(&r);
    /* the same on the command line */
    cl_h(&r, NULL, "exec", "rfft/radix2", "--input", "no/such/dir/", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "no/such/dir/"));
    cl_free(&r);
}

/* Write n samples of a 300 Hz sine at rate to path as a 16-bit WAV. */
static void cl_write_wav(const char *path, long long n, int rate)
{
    SF_INFO info = {.samplerate = rate, .channels = 1,
                    .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    if (!f)
        fail_msg("cannot write %s: %s", path, sf_strerror(NULL));
    for (long long t = 0; t < n; t++) {
        float v = (float)(0.5 * sin(2 * M_PI * 300 * (double)t / rate));
        assert_int_equal(sf_writef_float(f, &v, 1), 1);
    }
    sf_close(f);
}

static void cl_inputs_run(void **state)
{
    (void)state;
    char dir[PATH_MAX], p[PATH_MAX + 32], suite[PATH_MAX + 32], out[PATH_MAX + 32];
    cl_mkdir("inputs", dir, sizeof dir);
    snprintf(p, sizeof p, "%s/clips", dir);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/clips/one.wav", dir);
    cl_write_wav(p, 600, 8000);
    snprintf(p, sizeof p, "%s/clips/two.wav", dir);
    cl_write_wav(p, 600, 8000);
    snprintf(suite, sizeof suite, "%s/inputs.ini", dir);
    FILE *f = fopen(suite, "w");
    assert_non_null(f);
    fputs("[suite]\n"
          "inputs = speech, pink(seed=3), sweep(f0=50,f1=4000), clicks(period=0.01), "
          "square(freq=440), clips/\n"
          "sample_rate = 16000\n"
          "budget_s = 0.05\nwarmup_s = 0.01\nmin_time_s = 0.01\n\n"
          "[rfft]\nop = rfft\nimpls = cpu/radix2\nn = 1024\n",
          f);
    fclose(f);
    snprintf(out, sizeof out, "%s/out.json", dir);
    cl_res r;
    cl_h(&r, NULL, "run", suite, "--out", out, "--quiet", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *doc = cl_load(out);
    const char *names[] = {"speech", "pink(seed=3)", "sweep(f0=50,f1=4000)",
                           "clicks(period=0.01)", "square(freq=440)", "clips/"};
    for (int i = 0; i < 6; i++) {
        char id[256];
        snprintf(id, sizeof id, "rfft/cpu/radix2/n=1024,batch=1/%s", names[i]);
        json_t *c = cl_case(doc, id);
        if (!c)
            fail_msg("no case %s in %s", id, out);
        assert_string_equal(cl_str(c, "status"), "ok");
        assert_true(json_is_true(cl_get(c, "check.pass")));
        /* a directory keeps its files' rate for an fft op; the rest take the suite's */
        assert_true(cl_num(c, "input.sample_rate") == (i == 5 ? 8000 : 16000));
    }
    json_decref(doc);
}

static void cl_list_inputs(void **state)
{
    (void)state;
    cl_res r;
    cl_h(&r, NULL, "list", "inputs", NULL);
    cl_expect_code(&r, 0);
    for (int i = 0; sono_input_generators[i]; i++) {
        char line[512];
        if (!cl_line_with(r.out, line, sizeof line, sono_input_generators[i], NULL))
            fail_msg("`list inputs` does not show %s:\n%s", sono_input_generators[i], r.out);
    }
    assert_non_null(strstr(r.out, "clicks(period=0.5)"));
    cl_free(&r);
}

/* An op that builds its input from its params (vq.encode's seed draws the codebook) gets
 * one input per params, not the first one made for the same shape: the two seeds' inputs
 * must differ, and each record's input hash must be of the input its case ran on. */
static void cl_input_per_params(void **state)
{
    (void)state;
    char dir[PATH_MAX], suite[PATH_MAX + 32], out[PATH_MAX + 32];
    cl_mkdir("inputparams", dir, sizeof dir);
    snprintf(suite, sizeof suite, "%s/vq.ini", dir);
    FILE *f = fopen(suite, "w");
    assert_non_null(f);
    fputs("[suite]\ninputs = noise\nbudget_s = 0.05\nwarmup_s = 0.01\nmin_time_s = 0.01\n\n"
          "[vq]\nop = vq.encode\nimpls = cpu/naive\nK = 16\nD = 8\nT = 32\nseed = 1, 2\n",
          f);
    fclose(f);
    snprintf(out, sizeof out, "%s/out.json", dir);
    cl_res r;
    cl_h(&r, NULL, "run", suite, "--out", out, "--quiet", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *doc = cl_load(out);
    json_t *cases = cl_get(doc, "cases");
    assert_true(json_array_size(cases) == 2);
    const char *sha[2];
    for (int i = 0; i < 2; i++) {
        json_t *c = json_array_get(cases, (size_t)i);
        assert_string_equal(cl_str(c, "status"), "ok");
        sha[i] = cl_str(c, "input.sha256");
        assert_true(cl_is_hex64(sha[i]));
    }
    assert_string_not_equal(sha[0], sha[1]);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cl_missing_recording),
        cmocka_unit_test(cl_inputs_run),
        cmocka_unit_test(cl_list_inputs),
        cmocka_unit_test(cl_input_per_params),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
