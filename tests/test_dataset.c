/* test_dataset.c — the corpus, the packed file and the tar shards (issue 14): the corpus
 * is what its manifest says; .sbd round-trips exactly (pcm16 and f32 against the source
 * decoded by libsndfile, flac byte for byte), rejects truncated and corrupted files with
 * the file named (also through `harness dataset check`, exit 2), and reads as a consistent
 * prefix while another process appends; tar shards round-trip byte for byte. */
#include "cli_util.h"

#include <sndfile.h>

#include "corpus.h"
#include "pack.h"
#include "sbd.h"
#include "sha256.h"
#include "tarshard.h"

#define CLIPS 5
static char corpus[PATH_MAX]; /* cl_tmp/c: flac/ and wav/ of CLIPS clips */

static void make_corpus(void)
{
    if (corpus[0])
        return;
    snprintf(corpus, sizeof corpus, "%s/c", cl_tmp);
    sono_error err = {0};
    if (sono_corpus_write(corpus, CLIPS, 3, "flac,wav", &err))
        fail_msg("corpus: %s", err.msg);
}

static void clip_path(const char *fmt, int i, char *out, size_t n)
{
    snprintf(out, n, "%s/%s/clip%05d.%s", corpus, fmt, i, sono_corpus_ext(fmt));
}

static short *read_shorts(const char *path, long long *n, int *rate)
{
    SF_INFO info = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    assert_non_null(f);
    assert_int_equal(info.channels, 1);
    short *x = malloc((size_t)info.frames * sizeof *x + 2);
    assert_int_equal(sf_readf_short(f, x, info.frames), info.frames);
    sf_close(f);
    *n = info.frames;
    *rate = info.samplerate;
    return x;
}

static void corpus_matches_manifest(void **state)
{
    (void)state;
    make_corpus();
    char m[PATH_MAX];
    snprintf(m, sizeof m, "%s/flac/MANIFEST", corpus);
    char *text = cl_slurp(m, NULL);
    assert_non_null(text);
    const char *p = strchr(text, '\n') + 1; /* past the comment */
    for (int i = 0; i < CLIPS; i++) {
        char name[128], sha[80], path[PATH_MAX];
        long long bytes, frames;
        int rate, ch;
        assert_int_equal(sscanf(p, "%127s %lld %79s %d %lld %d", name, &bytes, sha, &rate,
                                &frames, &ch), 6);
        clip_path("flac", i, path, sizeof path);
        assert_string_equal(strrchr(path, '/') + 1, name);
        size_t len;
        char *data = cl_slurp(path, &len), hex[65];
        sono_sha256_hex(data, len, hex);
        assert_string_equal(hex, sha);
        assert_int_equal((long long)len, bytes);
        free(data);
        /* the shape rule: one of four rates, 1-20 s, and the file has it */
        int want_rate;
        long long want_frames, n;
        sono_corpus_clip_shape(3, i, &want_rate, &want_frames);
        assert_true(want_rate == 16000 || want_rate == 22050 || want_rate == 44100 ||
                    want_rate == 48000);
        assert_true(want_frames >= want_rate && want_frames <= 20LL * want_rate);
        int got_rate;
        short *x = read_shorts(path, &n, &got_rate);
        assert_int_equal(got_rate, want_rate);
        assert_int_equal(n, want_frames);
        assert_int_equal(rate, want_rate);
        long long nz = 0;
        for (long long k = 0; k < n; k++)
            nz += x[k] != 0;
        assert_true(nz > n / 2); /* speech plus noise, not silence */
        free(x);
        p = strchr(p, '\n') + 1;
    }
    free(text);
    /* deterministic: a second write has the same samples */
    char again[PATH_MAX], a[PATH_MAX], b[PATH_MAX];
    snprintf(again, sizeof again, "%s/c2", cl_tmp);
    sono_error err = {0};
    assert_int_equal(sono_corpus_write(again, 2, 3, "wav", &err), 0);
    for (int i = 0; i < 2; i++) {
        clip_path("wav", i, a, sizeof a);
        snprintf(b, sizeof b, "%s/wav/clip%05d.wav", again, i);
        size_t la, lb;
        char *da = cl_slurp(a, &la), *db = cl_slurp(b, &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(da, db, la);
        free(da);
        free(db);
    }
}

static void sbd_round_trip(void **state)
{
    (void)state;
    make_corpus();
    char dir[PATH_MAX], out[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/flac", corpus);
    static const int encs[] = {SONO_SBD_PCM16, SONO_SBD_F32, SONO_SBD_FLAC};
    for (int e = 0; e < 3; e++) {
        snprintf(out, sizeof out, "%s/rt%d.sbd", cl_tmp, e);
        sono_error err = {0};
        if (sono_pack_dir(dir, "flac", 1000, encs[e], 0, out, &err))
            fail_msg("pack: %s", err.msg);
        sono_sbd s;
        if (sono_sbd_open(out, 1, &s, &err))
            fail_msg("open: %s", err.msg);
        assert_int_equal(s.count, CLIPS);
        for (int i = 0; i < CLIPS; i++) {
            char path[PATH_MAX];
            long long n;
            int rate;
            clip_path("flac", i, path, sizeof path);
            const sono_sbd_entry *x = &s.index[i];
            assert_int_equal(x->offset % 64, 0); /* aligned for the map */
            assert_int_equal(x->encoding, encs[e]);
            if (encs[e] == SONO_SBD_FLAC) {
                size_t len;
                char *raw = cl_slurp(path, &len);
                assert_int_equal(x->bytes, len);
                assert_memory_equal(sono_sbd_data(&s, i), raw, len);
                free(raw);
                continue;
            }
            short *ref = read_shorts(path, &n, &rate);
            assert_int_equal((long long)x->frames, n);
            assert_int_equal(x->rate, rate);
            for (long long k = 0; k < n; k++) {
                double got = encs[e] == SONO_SBD_PCM16
                                 ? ((const int16_t *)sono_sbd_data(&s, i))[k] / 32768.0
                                 : ((const float *)sono_sbd_data(&s, i))[k];
                if (got != ref[k] / 32768.0)
                    fail_msg("%s clip %d sample %lld: %g, source %d/32768", out, i, k, got,
                             ref[k]);
            }
            free(ref);
        }
        sono_sbd_close(&s);
    }
}

static void copy_file(const char *from, const char *to, size_t keep)
{
    size_t len;
    char *d = cl_slurp(from, &len);
    assert_non_null(d);
    FILE *f = fopen(to, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, keep < len ? keep : len, f), keep < len ? keep : len);
    fclose(f);
    free(d);
}

static void flip(const char *path, long long at)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, at, SEEK_SET);
    int c = fgetc(f);
    fseek(f, at, SEEK_SET);
    fputc(c ^ 0x5a, f);
    fclose(f);
}

static void expect_rejected(const char *path, int verify, const char *also)
{
    sono_sbd s;
    sono_error err = {0};
    int rc = sono_sbd_open(path, verify, &s, &err);
    if (rc != SONO_EPARSE || !strstr(err.msg, path) || (also && !strstr(err.msg, also)))
        fail_msg("%s: rc %d, message '%s' (expected EPARSE naming it%s%s)", path, rc, err.msg,
                 also ? " and " : "", also ? also : "");
}

static void sbd_rejects_bad_files(void **state)
{
    (void)state;
    make_corpus();
    char dir[PATH_MAX], good[PATH_MAX], bad[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/flac", corpus);
    snprintf(good, sizeof good, "%s/good.sbd", cl_tmp);
    snprintf(bad, sizeof bad, "%s/bad.sbd", cl_tmp);
    sono_error err = {0};
    assert_int_equal(sono_pack_dir(dir, "flac", 1000, SONO_SBD_PCM16, 0, good, &err), 0);
    sono_sbd s;
    assert_int_equal(sono_sbd_open(good, 1, &s, &err), 0);
    size_t size = s.size;
    long long clip2 = (long long)s.index[2].offset + 100;
    sono_sbd_close(&s);
    /* truncated anywhere: in the header, in the clips, in the index */
    const size_t cuts[] = {0, 30, 64 + 7, size / 2, size - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        copy_file(good, bad, cuts[k]);
        expect_rejected(bad, 0, cuts[k] < 64 ? "truncated" : NULL);
    }
    /* a flipped byte in a clip: caught by its checksum, naming the clip */
    copy_file(good, bad, size);
    flip(bad, clip2);
    expect_rejected(bad, 1, "clip 2");
    /* in the index (its last entry), and in the magic */
    copy_file(good, bad, size);
    flip(bad, (long long)size - 20);
    expect_rejected(bad, 0, "index");
    copy_file(good, bad, size);
    flip(bad, 1);
    expect_rejected(bad, 0, "magic");
    /* the CLI: exit 2 and the file named */
    copy_file(good, bad, size / 2);
    cl_res r;
    cl_h(&r, NULL, "dataset", "check", bad, NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, bad));
    cl_free(&r);
    cl_h(&r, NULL, "dataset", "check", good, NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
}

/* Clip k of the append test: 100 + k frames, sample i = (k * 7919 + i * 31) mod 2^15. */
static int16_t pattern(int k, long long i) { return (int16_t)((k * 7919 + i * 31) & 0x7fff); }

static void sbd_read_while_appending(void **state)
{
    (void)state;
    enum { TOTAL = 80 };
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/grow.sbd", cl_tmp);
    sono_error err = {0};
    assert_int_equal(sono_sbd_create(path, &err), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int16_t buf[200];
        for (int k = 0; k < TOTAL; k++) {
            for (long long i = 0; i < 100 + k; i++)
                buf[i] = pattern(k, i);
            sono_sbd_clip c = {.data = buf, .bytes = (size_t)(100 + k) * 2, .frames = 100 + k,
                               .rate = 16000, .channels = 1, .encoding = SONO_SBD_PCM16};
            if (sono_sbd_append(path, &c, 1, &err))
                _exit(1);
        }
        _exit(0);
    }
    long long last = 0, opens = 0;
    int status = 0, done = 0;
    while (!done || last < TOTAL) {
        done = done || waitpid(pid, &status, WNOHANG) == pid;
        sono_sbd s;
        if (sono_sbd_open(path, 1, &s, &err))
            fail_msg("open while appending (after %lld clips): %s", last, err.msg);
        opens++;
        assert_true(s.count >= last); /* a prefix that only grows */
        for (long long k = 0; k < s.count; k++) {
            assert_int_equal((long long)s.index[k].frames, 100 + k);
            const int16_t *x = sono_sbd_data(&s, k);
            for (long long i = 0; i < 100 + k; i++)
                if (x[i] != pattern((int)k, i))
                    fail_msg("clip %lld sample %lld: %d, expected %d", k, i, x[i],
                             pattern((int)k, i));
        }
        last = s.count;
        sono_sbd_close(&s);
        if (done && last < TOTAL)
            break;
    }
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(last, TOTAL);
    assert_true(opens >= 2);
}

static void tar_round_trip(void **state)
{
    (void)state;
    make_corpus();
    char dir[PATH_MAX], out[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/flac", corpus);
    snprintf(out, sizeof out, "%s/shards", cl_tmp);
    cl_res r;
    cl_h(&r, NULL, "dataset", "shard", dir, "-o", out, "--per-shard", "2", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    int seen = 0;
    for (int s = 0; s < 3; s++) { /* 5 files, 2 a shard */
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/shard-%06d.tar", out, s);
        sono_tar_member *m;
        int n;
        sono_error err = {0};
        if (sono_tar_list(path, &m, &n, &err))
            fail_msg("%s", err.msg);
        assert_int_equal(n, s < 2 ? 2 : 1);
        size_t tlen;
        char *tar = cl_slurp(path, &tlen);
        for (int i = 0; i < n; i++, seen++) {
            char src[PATH_MAX];
            clip_path("flac", seen, src, sizeof src);
            assert_string_equal(m[i].name, strrchr(src, '/') + 1);
            size_t len;
            char *raw = cl_slurp(src, &len);
            assert_int_equal(m[i].size, (long long)len);
            assert_memory_equal(tar + m[i].offset, raw, len);
            free(raw);
        }
        free(tar);
        free(m);
    }
    assert_int_equal(seen, CLIPS);
    /* the system's tar reads them too (the format, not only our reader) */
    char cmd[2 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "tar -tf %s/shard-000000.tar > %s/list.txt", out, cl_tmp);
    if (system(cmd) == 0) {
        snprintf(cmd, sizeof cmd, "%s/list.txt", cl_tmp);
        char *list = cl_slurp(cmd, NULL);
        assert_string_equal(list, "clip00000.flac\nclip00001.flac\n");
        free(list);
    }
    /* a corrupted header and a cut archive are refused with the offset */
    char bad[PATH_MAX], first[PATH_MAX];
    snprintf(first, sizeof first, "%s/shard-000000.tar", out);
    snprintf(bad, sizeof bad, "%s/bad.tar", cl_tmp);
    copy_file(first, bad, 1 << 30);
    flip(bad, 10);
    sono_tar_member *m;
    int n;
    sono_error err = {0};
    assert_int_equal(sono_tar_list(bad, &m, &n, &err), SONO_EPARSE);
    assert_non_null(strstr(err.msg, "offset 0"));
    copy_file(first, bad, 2000);
    assert_int_equal(sono_tar_list(bad, &m, &n, &err), SONO_EPARSE);
    assert_non_null(strstr(err.msg, bad));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(corpus_matches_manifest),
        cmocka_unit_test(sbd_round_trip),
        cmocka_unit_test(sbd_rejects_bad_files),
        cmocka_unit_test(sbd_read_while_appending),
        cmocka_unit_test(tar_round_trip),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
