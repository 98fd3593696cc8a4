/* test_cli_issue27.c — what a new user hit (issue 27), through the real harness: short
 * and long recordings (logmel pads as Whisper does, other ops name the parameter to
 * change, a run where every case is too short exits 2), corrupt WAVs refused with exit 2
 * unless --lenient, the dataset command's messages, exit codes and overwrite refusal. */
#include "cli_util.h"

/* A 16-bit mono WAV of n samples at rate, bytes by hand so a header can lie: datasize
 * (-1: the true size), rate_field (-1: rate), cut (0: whole file) bytes kept. */
static void wav(const char *path, long n, int rate, long datasize, long rate_field, long cut)
{
    size_t bytes = (size_t)n * 2, total = 44 + bytes;
    unsigned char *b = calloc(total, 1);
    assert_non_null(b);
    unsigned ds = datasize < 0 ? (unsigned)bytes : (unsigned)datasize;
    unsigned r = rate_field < 0 ? (unsigned)rate : (unsigned)rate_field;
    unsigned v[] = {36 + ds, 16, r, r * 2, ds};
    memcpy(b, "RIFF", 4);
    memcpy(b + 8, "WAVEfmt ", 8);
    memcpy(b + 36, "data", 4);
    for (int k = 0; k < 4; k++) {
        b[4 + k] = (unsigned char)(v[0] >> 8 * k);
        b[16 + k] = (unsigned char)(v[1] >> 8 * k);
        b[24 + k] = (unsigned char)(v[2] >> 8 * k);
        b[28 + k] = (unsigned char)(v[3] >> 8 * k);
        b[40 + k] = (unsigned char)(v[4] >> 8 * k);
    }
    b[20] = 1; /* PCM */
    b[22] = 1; /* mono */
    b[32] = 2; /* block align */
    b[34] = 16;
    for (long t = 0; t < n; t++) {
        int s = (int)(8000 * sin(0.05 * (double)t));
        b[44 + 2 * t] = (unsigned char)(s & 0xff);
        b[45 + 2 * t] = (unsigned char)((s >> 8) & 0xff);
    }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_true(fwrite(b, 1, cut ? (size_t)cut : total, f) == (cut ? (size_t)cut : total));
    fclose(f);
    free(b);
}

static char dir[PATH_MAX];

static const char *at(const char *name)
{
    static char buf[4][PATH_MAX + 64];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* Whisper pads a 1 s clip to 30 s: logmel on it runs (it failed with exit 1, "files are
 * never padded"), and says it padded. */
static void short_clip_logmel(void **state)
{
    (void)state;
    wav(at("hello.wav"), 16453, 16000, -1, -1, 0);
    cl_res r;
    cl_h(&r, NULL, "exec", "logmel/fast", "--input", at("hello.wav"), NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "-> ok"));
    assert_non_null(strstr(r.err, "zero-padded"));
    cl_free(&r);
    /* pad_or_trim=0 is the whole input: a short file is then the user's to fix */
    cl_h(&r, NULL, "exec", "logmel/fast", "--param", "pad_or_trim=0", "--input",
         at("hello.wav"), NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "--param seconds=1.02"));
    cl_free(&r);
}

/* Other ops: too short is exit 2 (it was 1) naming the parameter; longer says it is cut. */
static void short_and_long_other_ops(void **state)
{
    (void)state;
    wav(at("one.wav"), 16000, 16000, -1, -1, 0);
    wav(at("long.wav"), 67200, 16000, -1, -1, 0);
    cl_res r;
    cl_h(&r, NULL, "exec", "melspec/fast", "--param", "seconds=5", "--input", at("one.wav"),
         NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "one.wav"));
    assert_non_null(strstr(r.err, "--param seconds=1"));
    cl_free(&r);
    cl_h(&r, NULL, "exec", "melspec/fast", "--input", at("long.wav"), NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.err, "first 1.00 s"));
    assert_non_null(strstr(r.err, "4.20 s"));
    cl_free(&r);
}

/* A run: the skip reason is whole in the results file and names the suite parameter; a
 * run where every case is too short for the --input exits 2 with the reason (it exited
 * 0, every case skipped). */
static void run_short_input(void **state)
{
    (void)state;
    wav(at("half.wav"), 8000, 16000, -1, -1, 0);
    FILE *f = fopen(at("mel.ini"), "w");
    assert_non_null(f);
    fputs("[suite]\ninputs = noise\nbudget_s = 0.05\nwarmup_s = 0.01\nmin_time_s = 0.01\n\n"
          "[mel]\nop = melspec\nimpls = cpu/fast\nseconds = 5, 0.25\n", f);
    fclose(f);
    cl_res r;
    const char *out = at("mel.json");
    cl_h(&r, NULL, "run", at("mel.ini"), "--input", at("half.wav"), "--out", out, "--quiet",
         NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *doc = cl_load(out);
    json_t *c = json_array_get(cl_get(doc, "cases"), 0);
    assert_string_equal(cl_str(c, "status"), "skip");
    const char *msg = cl_str(c, "message");
    size_t len = strlen(msg);
    const char *tail = "seconds = 0.5 in the suite";
    assert_true(len > strlen(tail) && strcmp(msg + len - strlen(tail), tail) == 0);
    assert_non_null(strstr(msg, "--param seconds=0.5 or ")); /* run takes --param now */
    json_decref(doc);
    cl_h(&r, NULL, "run", at("mel.ini"), "--input", at("half.wav"), "--filter",
         "*seconds=5*", "--out", at("mel2.json"), "--quiet", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "every case"));
    assert_non_null(strstr(r.err, tail));
    cl_free(&r);
}

/* seconds = all (it was silently the first `seconds` of a longer file, with no way to ask
 * for the whole): a suite's and run's --param resolve it to the file's length (4.37 s of
 * 4.375, rounded down) in the case id, the record keeps that all was asked for, the table
 * says so; exec takes it too; a generated input has no length: exit 2 naming the param. */
static void seconds_all(void **state)
{
    (void)state;
    wav(at("all.wav"), 70000, 16000, -1, -1, 0); /* 4.375 s */
    FILE *f = fopen(at("all.ini"), "w");
    assert_non_null(f);
    fputs("[suite]\ninputs = all.wav\nbudget_s = 0.05\nwarmup_s = 0.01\nmin_time_s = 0.01\n\n"
          "[mel]\nop = melspec\nimpls = cpu/fast\nseconds = all\n", f);
    fclose(f);
    cl_res r;
    cl_h(&r, NULL, "run", at("all.ini"), "--out", at("all.json"), NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "seconds=all]")); /* after any other flag */
    assert_non_null(strstr(r.err, "seconds=all: input"));
    cl_free(&r);
    json_t *doc = cl_load(at("all.json"));
    json_t *c = json_array_get(cl_get(doc, "cases"), 0);
    assert_int_equal(json_array_size(cl_get(doc, "cases")), 1);
    assert_non_null(strstr(cl_str(c, "id"), ",seconds=4.37,"));
    assert_string_equal(cl_str(c, "status"), "ok");
    assert_true(cl_num(c, "params.seconds") == 4.37);
    assert_string_equal(cl_str(c, "params_asked.seconds"), "all");
    assert_non_null(strstr(cl_str(c, "input_note"), "4.375 s"));
    json_decref(doc);
    /* --param over a suite of generated inputs and two lengths, with --input the file:
     * one case (both lengths asked for all of it), the suite's values kept beside */
    f = fopen(at("gen.ini"), "w");
    assert_non_null(f);
    fputs("[suite]\ninputs = noise\nbudget_s = 0.05\nwarmup_s = 0.01\nmin_time_s = 0.01\n\n"
          "[mel]\nop = melspec\nimpls = cpu/fast\nseconds = 5, 0.25\n", f);
    fclose(f);
    cl_h(&r, NULL, "run", at("gen.ini"), "--param", "seconds=all", "--input", at("all.wav"),
         "--out", at("all2.json"), "--quiet", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    doc = cl_load(at("all2.json"));
    assert_int_equal(json_array_size(cl_get(doc, "cases")), 1);
    c = json_array_get(cl_get(doc, "cases"), 0);
    assert_non_null(strstr(cl_str(c, "id"), ",seconds=4.37,"));
    assert_string_equal(cl_str(c, "status"), "ok");
    assert_string_equal(cl_str(c, "params_asked.seconds"), "all");
    assert_string_equal(cl_str(doc, "suite.overrides.params.seconds.given"), "all");
    json_decref(doc);
    /* generated inputs have no length: exit 2 naming the param and --input FILE, from a
     * suite and from --param alike */
    cl_h(&r, NULL, "run", at("gen.ini"), "--param", "seconds=all", "--dry-run", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "seconds=all needs a file input (--input FILE"));
    assert_non_null(strstr(r.err, "'noise'"));
    cl_free(&r);
    f = fopen(at("gen2.ini"), "w");
    assert_non_null(f);
    fputs("[suite]\ninputs = noise\n\n[mel]\nop = melspec\nimpls = cpu/fast\n"
          "seconds = all\n", f);
    fclose(f);
    cl_h(&r, NULL, "run", at("gen2.ini"), "--dry-run", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "seconds=all needs a file input"));
    cl_free(&r);
    /* exec: the same, and an op without seconds refuses it as any unknown param */
    cl_h(&r, NULL, "exec", "melspec/fast", "--param", "seconds=all", "--input", at("all.wav"),
         NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, ",seconds=4.37,"));
    assert_non_null(strstr(r.out, "-> ok"));
    cl_free(&r);
    cl_h(&r, NULL, "exec", "melspec/fast", "--param", "seconds=all", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "--param seconds=all needs a file input (--input FILE)"));
    cl_free(&r);
    cl_h(&r, NULL, "exec", "fft/radix2", "--param", "seconds=all", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "K a parameter of the op"));
    cl_free(&r);
    /* the cut is said in the table too, with the way to all of it */
    cl_h(&r, NULL, "run", at("gen.ini"), "--filter", "*seconds=0.25*", "--input",
         at("all.wav"), "--out", at("all3.json"), NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "input cut to seconds (seconds=all uses all)]"));
    assert_non_null(strstr(r.err, "--param seconds=all or seconds = all in the suite"));
    cl_free(&r);
}

/* A WAV cut short, one whose header claims 2 GB, one with rate 0: exit 2 naming the file
 * and what is wrong (they loaded as 709 samples, silently, or with libsndfile's
 * "SF_INFO struct incomplete"); --lenient loads the cut one with a warning. */
static void corrupt_wavs(void **state)
{
    (void)state;
    wav(at("cut.wav"), 16000, 16000, -1, -1, 2000);
    wav(at("huge.wav"), 16000, 16000, 0x7ffffff0L, -1, 0);
    wav(at("zero.wav"), 16000, 16000, -1, 0, 0);
    const char *names[] = {"cut.wav", "huge.wav", "zero.wav"};
    const char *what[] = {"truncated", "truncated", "sample rate above 0"};
    cl_res r;
    for (int i = 0; i < 3; i++) {
        cl_h(&r, NULL, "exec", "melspec/fast", "--param", "seconds=0.05", "--input",
             at(names[i]), NULL);
        cl_expect_code(&r, 2);
        assert_non_null(strstr(r.err, names[i]));
        assert_non_null(strstr(r.err, what[i]));
        cl_free(&r);
        cl_h(&r, NULL, "run", "tests/data/inputs/../../../suites/quick", "--input",
             at(names[i]), "--dry-run", NULL);
        cl_expect_code(&r, 2);
        assert_non_null(strstr(r.err, names[i]));
        cl_free(&r);
    }
    cl_h(&r, NULL, "exec", "melspec/fast", "--param", "seconds=0.05", "--input",
         at("cut.wav"), "--lenient", NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.err, "warning"));
    cl_free(&r);
}

/* dataset: check on a WAV says it is not an .sbd file (it said "truncated: 18 bytes");
 * pack takes the folder corpus wrote (it said "no audio files"); help dataset exists. */
static void dataset_messages(void **state)
{
    (void)state;
    FILE *f = fopen(at("text.wav"), "w");
    assert_non_null(f);
    fputs("hello, not audio\n", f);
    fclose(f);
    cl_res r;
    cl_h(&r, NULL, "dataset", "check", at("text.wav"), NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "not an .sbd file"));
    assert_null(strstr(r.err, "truncated"));
    cl_free(&r);
    cl_h(&r, NULL, "dataset", "corpus", "-o", at("corpus"), "--clips", "2", "--formats",
         "wav,flac", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    cl_h(&r, NULL, "dataset", "pack", at("corpus"), "-o", at("c.sbd"), NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    cl_h(&r, NULL, "dataset", "check", at("c.sbd"), NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "2 clips"));
    cl_free(&r);
    cl_h(&r, NULL, "help", "dataset", NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "dataset check"));
    cl_free(&r);
    cl_h(&r, NULL, "--help", NULL);
    assert_non_null(strstr(r.out, "check"));
    assert_non_null(strstr(r.out, "exit status"));
    cl_free(&r);
}

/* Usage and I/O errors are 2 (export to a missing folder gave 1); --out/--output keep a
 * file that is not theirs unless --force (they overwrote a .wav). */
static void exit_codes_and_overwrite(void **state)
{
    (void)state;
    cl_res r;
    cl_h(&r, NULL, "export", "results/reference/nvidia-h200-2026-11-26-codecfig.json", "--format", "csv", "--out",
         "/nonexistent-sono-dir/x.csv", NULL);
    cl_expect_code(&r, 2);
    cl_free(&r);
    wav(at("keep.wav"), 1000, 16000, -1, -1, 0);
    size_t before = 0, after = 0;
    free(cl_slurp(at("keep.wav"), &before));
    cl_h(&r, NULL, "exec", "fft/radix2", "--param", "n=64", "--output", at("keep.wav"), NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "--force"));
    cl_free(&r);
    free(cl_slurp(at("keep.wav"), &after));
    assert_true(before == after);
    cl_h(&r, NULL, "run", "quick", "--filter", "nothing-matches-this", "--out",
         at("keep.wav"), NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "--force"));
    cl_free(&r);
    free(cl_slurp(at("keep.wav"), &after));
    assert_true(before == after);
    /* an .npy may be replaced, and --force replaces anything */
    cl_h(&r, NULL, "exec", "fft/radix2", "--param", "n=64", "--output", at("o.npy"), NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    cl_h(&r, NULL, "exec", "fft/radix2", "--param", "n=64", "--output", at("o.npy"), NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    cl_h(&r, NULL, "exec", "fft/radix2", "--param", "n=64", "--output", at("keep.wav"),
         "--force", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
}

static int setup(void **state)
{
    int rc = cl_setup(state);
    cl_mkdir("issue27", dir, sizeof dir);
    return rc;
}

/* The column where `needle` starts on each line beginning with prefix; -1 when lines
 * disagree (or none has it). */
static int column_of(const char *text, const char *prefix, const char *needle)
{
    int col = -2;
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, prefix, strlen(prefix)) != 0 || l[strlen(prefix)] == ' ')
            continue;
        const char *end = strchr(l, '\n'), *at = strstr(l, needle);
        if (!at || (end && at > end))
            continue;
        int c = (int)(at - l);
        if (col == -2)
            col = c;
        else if (c != col)
            return -1;
    }
    return col;
}

/* issue 27: `list`'s columns were misaligned (codec.encodec, samplerate-fastest and
 * stream_repeat longer than their fixed widths) */
static void list_aligned(void **state)
{
    (void)state;
    cl_res r;
    cl_h(&r, NULL, "list", "impls", NULL);
    cl_expect_code(&r, 0);
    assert_true(column_of(r.out, "    ", " on ") > 0);
    cl_free(&r);
    cl_h(&r, NULL, "list", "ops", NULL);
    cl_expect_code(&r, 0);
    /* the params' type column: every parameter line of every op */
    char *p = r.out;
    for (char *l = p; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        const char *s = l;
        while (*s == ' ')
            s++;
        if (s - l < 4) /* an op's own line */
            continue;
        s += strcspn(s, " ");
        while (*s == ' ')
            s++;
        static long col = -1;
        long c = (long)(s - l);
        if (col < 0)
            col = c;
        if (c != col)
            fail_msg("misaligned: %.*s", (int)strcspn(l, "\n"), l);
    }
    cl_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(list_aligned),
        cmocka_unit_test(short_clip_logmel),
        cmocka_unit_test(short_and_long_other_ops),
        cmocka_unit_test(run_short_input),
        cmocka_unit_test(seconds_all),
        cmocka_unit_test(corrupt_wavs),
        cmocka_unit_test(dataset_messages),
        cmocka_unit_test(exit_codes_and_overwrite),
    };
    return cmocka_run_group_tests(tests, setup, cl_teardown);
}
