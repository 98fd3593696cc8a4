/* test_encodec_ref.c — codec.encodec's reference side: the float64 network against
 * PyTorch's EncodecModel on the tiny committed fixture (tests/fixtures/encodec/, written by
 * make_encodec_fixture.py), its conv padding and transposed-conv trim against a table from
 * transformers' own modules (tests/data/encodec/padding.txt), the safetensors reader's
 * refusals, weight-norm folding by hand, and the random-weights generator (real 24 kHz
 * shapes, sane activations). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "check.h"
#include "encodec_weights.h"
#include "input.h"
#include "params.h"
#include "ops/encodec.h"
#include "ops/ref/st64.h"

#define FX_DIR "tests/fixtures/encodec"

static char tmpdir[64];

/* ---- the fixture ------------------------------------------------------------------------ */

static double *fx_read(const sono_st *io, const char *name, long long *n, long long *rows)
{
    /* shapes differ per entry: look them up by trying the known ranks */
    sono_error err = {0};
    double *v = NULL;
    for (long long r = 1; r <= 8 && !v; r++)
        for (long long c = 1; c <= 400 && !v; c++) {
            long long s2[2] = {r, c};
            if (sono_st_read(io, name, 2, s2, &v, &err) == 0) {
                *n = c;
                *rows = r;
            }
        }
    for (long long c = 1; c <= 400 && !v; c++) {
        long long s1[1] = {c};
        if (sono_st_read(io, name, 1, s1, &v, &err) == 0) {
            *n = c;
            *rows = 1;
        }
    }
    if (!v)
        fail_msg("fixture tensor %s not found: %s", name, err.msg);
    return v;
}

static double rel_l2(const double *a, const double *b, long long n)
{
    double e = 0, r = 0;
    for (long long i = 0; i < n; i++) {
        e += (a[i] - b[i]) * (a[i] - b[i]);
        r += b[i] * b[i];
    }
    return sqrt(e / r);
}

/* PyTorch ran the model in float64 on the float32 weights, so both sides compute the same
 * function in double: codes must agree exactly (the fixture's script has no near-ties
 * closer than ~1e-3 of the distances), audio to float32 rounding of the stored values. */
static void fixture_matches_pytorch(void **state)
{
    (void)state;
    sono_error err = {0};
    sono_enc64 *m = NULL;
    sono_st *io = NULL;
    if (sono_enc64_load(FX_DIR "/tiny.safetensors", &m, &err))
        fail_msg("%s", err.msg);
    if (sono_st_open(FX_DIR "/tiny_io.safetensors", &io, &err))
        fail_msg("%s", err.msg);
    const sono_enc_config *c = sono_enc64_config(m);
    assert_int_equal(c->hop, 8);
    assert_int_equal(c->hidden_size, 8);
    assert_int_equal(c->num_quantizers, 6);
    const char *inputs[] = {"long", "short"};
    const double bws[] = {18, 36, 72, 120};
    const int want_nq[] = {1, 2, 4, 6};
    int compared = 0;
    double worst = 0;
    for (int i = 0; i < 2; i++) {
        char name[64];
        long long n, rows;
        snprintf(name, sizeof name, "input_%s", inputs[i]);
        double *x = fx_read(io, name, &n, &rows);
        double *emb = NULL;
        long long frames;
        if (sono_enc64_encoder(m, x, n, &emb, &frames, &err))
            fail_msg("%s", err.msg);
        assert_int_equal(frames, (n + 7) / 8);
        for (int b = 0; b < 4; b++) {
            int nq;
            assert_int_equal(sono_enc_nq(c, bws[b], &nq, &err), 0);
            assert_int_equal(nq, want_nq[b]);
            long long fn, frows;
            snprintf(name, sizeof name, "codes_%s_bw%d", inputs[i], (int)bws[b]);
            double *want = fx_read(io, name, &fn, &frows);
            assert_int_equal(frows, nq);
            assert_int_equal(fn, frames);
            int *codes = malloc((size_t)(nq * frames) * sizeof *codes);
            sono_enc64_quantize(m, emb, frames, nq, codes);
            for (long long k = 0; k < nq * frames; k++)
                if (codes[k] != (int)want[k])
                    fail_msg("%s: code %lld is %d, PyTorch %d", name, k, codes[k],
                             (int)want[k]);
            double *audio = NULL;
            if (sono_enc64_decode(m, codes, nq, frames, &audio, &err))
                fail_msg("%s", err.msg);
            long long an, arows;
            snprintf(name, sizeof name, "audio_%s_bw%d", inputs[i], (int)bws[b]);
            double *wa = fx_read(io, name, &an, &arows);
            assert_int_equal(an, frames * 8);
            double e = rel_l2(audio, wa, an);
            worst = fmax(worst, e);
            if (!(e < 1e-5))
                fail_msg("%s: rel_l2 %g against PyTorch", name, e);
            snprintf(name, sizeof name, "roundtrip_%s_bw%d", inputs[i], (int)bws[b]);
            double *wr = fx_read(io, name, &an, &arows);
            assert_int_equal(an, n); /* forward() cuts to the input length */
            e = rel_l2(audio, wr, an);
            worst = fmax(worst, e);
            if (!(e < 1e-5))
                fail_msg("%s: rel_l2 %g against PyTorch", name, e);
            compared++;
            free(wa);
            free(wr);
            free(audio);
            free(codes);
            free(want);
        }
        free(emb);
        free(x);
    }
    assert_int_equal(compared, 8);
    print_message("8 cases: codes identical, audio rel_l2 <= %.3g against PyTorch\n", worst);
    sono_st_close(io);
    sono_enc64_free(m);
}

/* ---- padding and trim against transformers' modules ---------------------------------------
 * tests/data/encodec/padding.txt holds what transformers' EncodecConv1d passed to its
 * _pad1d and what its EncodecConvTranspose1d trimmed (tests/fixtures/
 * encodec_padding_table.py), over kernels, strides, dilations, lengths, trim ratios and
 * both causal settings. The reference's two functions must give every row exactly: an
 * off-by-one in the extra padding, the split or the ceil of the trim fails here by name,
 * before the network fixture above would have to notice it through the activations. */
#define PAD_TABLE "tests/data/encodec/padding.txt"

static void padding_matches_transformers(void **state)
{
    (void)state;
    FILE *f = fopen(PAD_TABLE, "r");
    if (!f)
        fail_msg("cannot open %s (run from the repository root)", PAD_TABLE);
    char line[256];
    int nconv = 0, ntr = 0, lineno = 0, fails = 0, causal_tr_ceil = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        int causal, k, s, d;
        long long len, left, right, extra, nout, gl, gr;
        double ratio;
        if (sscanf(line, "conv %d %d %d %d %lld %lld %lld %lld %lld", &causal, &k, &s, &d,
                   &len, &left, &right, &extra, &nout) == 9) {
            sono_enc64_conv_padding(len, k, s, d, causal, &gl, &gr);
            /* the table's own consistency: torch's Conv1d length on the padded input */
            long long span = (long long)(k - 1) * d + 1;
            assert_int_equal((len + left + right - span) / s + 1, nout);
            if (gl != left || gr != right) {
                if (fails++ < 10)
                    print_error("%s:%d: conv causal %d k %d s %d d %d length %lld: "
                                "reference pads (%lld, %lld), transformers (%lld, %lld)\n",
                                PAD_TABLE, lineno, causal, k, s, d, len, gl, gr, left, right);
            }
            nconv++;
        } else if (sscanf(line, "convtr %d %d %d %lf %lld %lld %lld", &causal, &k, &s, &ratio,
                          &left, &right, &nout) == 7) {
            sono_enc64_convtr_trim(k, s, causal, ratio, &gl, &gr);
            assert_int_equal((5 - 1) * (long long)s + k - left - right, nout);
            if (gl != left || gr != right) {
                if (fails++ < 10)
                    print_error("%s:%d: convtr causal %d k %d s %d ratio %g: reference "
                                "trims (%lld, %lld), transformers (%lld, %lld)\n", PAD_TABLE,
                                lineno, causal, k, s, ratio, gl, gr, left, right);
            }
            /* rows where the ceil is not a rounding to nearest (a fraction under 1/2) */
            double frac = (double)(k - s) * ratio - floor((double)(k - s) * ratio);
            causal_tr_ceil += causal && frac > 0 && frac < 0.5;
            ntr++;
        } else
            fail_msg("%s:%d: unreadable row: %s", PAD_TABLE, lineno, line);
    }
    fclose(f);
    /* a table cut short, or a format change that matched nothing, must not pass */
    assert_true(nconv >= 1500);
    assert_true(ntr >= 400);
    assert_true(causal_tr_ceil >= 10);
    if (fails)
        fail_msg("%d of %d rows differ from transformers", fails, nconv + ntr);
    print_message("%d conv paddings and %d transposed trims (%d where the ceil rounds a "
                  "fraction under 1/2 up) as transformers' modules give them\n", nconv,
                  ntr, causal_tr_ceil);
}

/* ---- the op's code check ------------------------------------------------------------------ */

static void set_param(sono_params *p, const char *name, const char *text)
{
    for (int i = 0; i < p->count; i++)
        if (strcmp(p->v[i].name, name) == 0) {
            const sono_op *op = sono_op_find("codec.encodec");
            sono_error err = {0};
            sono_param_free(&p->v[i]);
            assert_int_equal(sono_param_parse(sono_op_param(op, name), text, &p->v[i], &err),
                             0);
            return;
        }
    fail_msg("no param %s", name);
}

/* The reference's own codes pass with no mismatch; one code moved to a far codeword is a
 * mismatch (not a near-tie), and the later stages of that frame are not compared. */
static void op_check_counts_mismatches(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("codec.encodec");
    assert_non_null(op);
    sono_params p = {0};
    sono_params_defaults(op, &p);
    set_param(&p, "weights", FX_DIR "/tiny.safetensors");
    set_param(&p, "mode", "encode");
    set_param(&p, "bandwidth", "72");
    set_param(&p, "seconds", "0.005");
    sono_error err = {0};
    assert_int_equal(op->validate(&p, &err), 0);
    sono_buf in, out, ref;
    op->shapes(&p, &in, &out);
    assert_int_equal(out.dtype, SONO_I32);
    assert_int_equal(out.shape[0], 4);
    assert_int_equal(out.shape[1], 15); /* ceil(120 / 8) */
    ref = out;
    sono_input_spec spec;
    assert_int_equal(sono_input_parse("sine(freq=500)", ".", &spec, &err), 0);
    assert_int_equal(sono_buf_alloc(&in, &err) || sono_buf_alloc(&out, &err) ||
                         sono_buf_alloc(&ref, &err), 0);
    assert_int_equal(op->input(&p, &spec, op->rate(&p), &in, &err), 0);
    assert_int_equal(op->reference(&p, &in, &ref, &err), 0);
    memcpy(out.data, ref.data, ref.nbytes);
    sono_check c = {0};
    assert_int_equal(op->check(&p, &in, &out, &ref, 1e-3, &c, &err), 0);
    assert_true(c.pass && c.has_mismatches && c.mismatches == 0);
    /* frame 3, stage 1: the codeword farthest from the reference's choice */
    int *o = out.data, *r = ref.data;
    o[1 * 15 + 3] = (r[1 * 15 + 3] + 32) % 64;
    c = (sono_check){0};
    assert_int_equal(op->check(&p, &in, &out, &ref, 1e-3, &c, &err), 0);
    print_message("%s\n", c.detail);
    assert_false(c.pass);
    assert_int_equal(c.mismatches, 1);
    assert_non_null(strstr(c.detail, "1 of 60 differ"));
    assert_non_null(strstr(c.detail, "2 later-stage codes"));
    sono_buf_free(&in);
    sono_buf_free(&out);
    sono_buf_free(&ref);
    sono_params_free(&p);
}

/* ---- the safetensors reader's refusals --------------------------------------------------- */

static void write_st(const char *path, const char *hdr, const void *data, size_t n, long cut)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint64_t len = strlen(hdr);
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(len >> (8 * i));
    fwrite(b, 1, 8, f);
    fwrite(hdr, 1, len, f);
    fwrite(data, 1, n, f);
    fclose(f);
    if (cut > 0)
        assert_int_equal(truncate(path, cut), 0);
}

static void expect_open_fails(const char *hdr, const void *data, size_t n, long cut,
                              int code, const char *needle)
{
    char path[128];
    snprintf(path, sizeof path, "%s/bad.safetensors", tmpdir);
    write_st(path, hdr, data, n, cut);
    sono_st *st = NULL;
    sono_error err = {0};
    int rc = sono_st_open(path, &st, &err);
    if (rc != code || !strstr(err.msg, path) || !strstr(err.msg, needle))
        fail_msg("header %s: rc %d (want %d), message '%s' (want the path and '%s')", hdr,
                 rc, code, err.msg, needle);
    assert_null(st);
}

static const float six[6] = {1, 2, 3, 4, 5, 6};
#define GOOD "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}"

static void st_refuses_bad_files(void **state)
{
    (void)state;
    expect_open_fails(GOOD, six, sizeof six, 5, SONO_EPARSE, "truncated");
    expect_open_fails(GOOD, six, sizeof six, 8 + (long)strlen(GOOD) - 3, SONO_EPARSE,
                      "truncated");
    expect_open_fails(GOOD, six, 20, 0, SONO_EPARSE, "'w'"); /* data cut short */
    expect_open_fails("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],", six, sizeof six, 0,
                      SONO_EPARSE, "JSON");
    expect_open_fails("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]}}",
                      six, sizeof six, 0, SONO_EPARSE, "out of range");
    expect_open_fails("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}",
                      six, sizeof six, 0, SONO_EPARSE, "'w'");
    expect_open_fails("{\"w\":{\"dtype\":\"Q7\",\"shape\":[2,3],\"data_offsets\":[0,24]}}",
                      six, sizeof six, 0, SONO_EPARSE, "unknown dtype");
    expect_open_fails("[1,2]", six, sizeof six, 0, SONO_EPARSE, "JSON object");

    char path[128];
    snprintf(path, sizeof path, "%s/good.safetensors", tmpdir);
    write_st(path, GOOD, six, sizeof six, 0);
    sono_st *st = NULL;
    sono_error err = {0};
    assert_int_equal(sono_st_open(path, &st, &err), 0);
    double *v = NULL;
    long long ok[2] = {2, 3}, bad[2] = {3, 2};
    assert_int_equal(sono_st_read(st, "w", 2, ok, &v, &err), 0);
    for (int i = 0; i < 6; i++)
        assert_true(v[i] == six[i]);
    free(v);
    assert_int_equal(sono_st_read(st, "w", 2, bad, &v, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "'w'"));
    assert_non_null(strstr(err.msg, "[2, 3]"));
    assert_non_null(strstr(err.msg, path));
    assert_int_equal(sono_st_read(st, "encoder.layers.0.conv.bias", 2, ok, &v, &err),
                     SONO_ENOTFOUND);
    assert_non_null(strstr(err.msg, "'encoder.layers.0.conv.bias' is missing"));
    assert_non_null(strstr(err.msg, path));
    sono_st_close(st);

    /* F16 and BF16 come out exact: 1.5, -2, 0.25 */
    const uint16_t h[3] = {0x3e00, 0xc000, 0x3400}, bf[3] = {0x3fc0, 0xc000, 0x3e80};
    unsigned char both[12];
    memcpy(both, h, 6);
    memcpy(both + 6, bf, 6);
    write_st(path, "{\"h\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,6]},"
                   "\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[6,12]}}",
             both, sizeof both, 0);
    assert_int_equal(sono_st_open(path, &st, &err), 0);
    long long s3[1] = {3};
    const double want[3] = {1.5, -2, 0.25};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(sono_st_read(st, k ? "b" : "h", 1, s3, &v, &err), 0);
        for (int i = 0; i < 3; i++)
            assert_true(v[i] == want[i]);
        free(v);
    }
    sono_st_close(st);
}

/* A model file with one tensor missing or of a wrong shape is refused at load, naming it. */
static void model_load_names_bad_tensor(void **state)
{
    (void)state;
    sono_error err = {0};
    sono_enc64 *m = NULL;
    assert_int_equal(sono_enc64_load(FX_DIR "/no-such.safetensors", &m, &err),
                     SONO_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no-such.safetensors"));
    /* a small generated model loads; reading its tensors with other shapes is refused */
    sono_enc_config c;
    sono_error e2 = {0};
    assert_int_equal(sono_enc_config_parse("{\"num_filters\": 4, \"hidden_size\": 8, "
                                           "\"codebook_size\": 64, \"upsampling_ratios\": "
                                           "[2, 2], \"target_bandwidths\": [36]}",
                                           "t", &c, &e2), 0);
    char path[128];
    snprintf(path, sizeof path, "%s/small.safetensors", tmpdir);
    assert_int_equal(sono_encodec_weights_write(path, &c, 5, &err), 0);
    assert_int_equal(sono_enc64_load(path, &m, &err), 0); /* complete: loads */
    sono_enc64_free(m);
    sono_enc_config c16 = c;
    assert_int_equal(sono_enc_config_parse("{\"num_filters\": 4, \"hidden_size\": 16, "
                                           "\"codebook_size\": 64, \"upsampling_ratios\": "
                                           "[2, 2], \"target_bandwidths\": [36]}",
                                           "t", &c16, &e2), 0);
    sono_st *st = NULL;
    assert_int_equal(sono_st_open(path, &st, &err), 0);
    long long s16[2] = {c16.codebook_size, 16};
    double *v = NULL;
    assert_int_equal(sono_st_read(st, "quantizer.layers.0.codebook.embed", 2, s16, &v, &err),
                     SONO_EINVAL);
    assert_non_null(strstr(err.msg, "quantizer.layers.0.codebook.embed"));
    assert_non_null(strstr(err.msg, "[64, 8]"));
    sono_st_close(st);
    /* bad config values are refused naming the key */
    assert_int_equal(sono_enc_config_parse("{\"norm_type\": \"time_group_norm\"}", "x.json",
                                           &c, &e2), SONO_EUNSUPPORTED);
    assert_non_null(strstr(e2.msg, "norm_type"));
    /* issue 29: the non-causal configuration has no fixture to be checked against */
    assert_int_equal(sono_enc_config_parse("{\"use_causal_conv\": false}", "x.json", &c, &e2),
                     SONO_EUNSUPPORTED);
    assert_non_null(strstr(e2.msg, "use_causal_conv"));
    assert_int_equal(sono_enc_config_parse("{\"use_causal_conv\": true}", "x.json", &c, &e2),
                     0);
    assert_int_equal(sono_enc_config_parse("{\"codebook_size\": 1000}", "x.json", &c, &e2),
                     SONO_EINVAL);
    assert_non_null(strstr(e2.msg, "codebook_size"));
    assert_int_equal(sono_enc_config_parse("{\"upsampling_ratios\": [2, \"x\"]}", "x.json",
                                           &c, &e2), SONO_EINVAL);
    assert_non_null(strstr(e2.msg, "upsampling_ratios"));
}

/* ---- weight norm, by hand ---------------------------------------------------------------- */

/* The fold is not observable through the nonlinear network alone, so the loader's own
 * conv reader (the one every layer goes through) is checked on numbers worked by hand. */
static void weight_norm_fold_by_hand(void **state)
{
    (void)state;
    /* conv weight v [2, 1, 2] = [[3, 4]], [[1, 0]]; g = [10, -2]
     * ||v_0|| = 5 -> w_0 = 10/5 [3, 4] = [6, 8]; ||v_1|| = 1 -> w_1 = [-2, 0] */
    char path[128];
    snprintf(path, sizeof path, "%s/fold.safetensors", tmpdir);
    const float data[] = {10, -2, 3, 4, 1, 0, 0.5f, 0.25f};
    write_st(path,
             "{\"c.conv.weight_g\":{\"dtype\":\"F32\",\"shape\":[2,1,1],"
             "\"data_offsets\":[0,8]},\"c.conv.weight_v\":{\"dtype\":\"F32\","
             "\"shape\":[2,1,2],\"data_offsets\":[8,24]},\"c.conv.bias\":{\"dtype\":\"F32\","
             "\"shape\":[2],\"data_offsets\":[24,32]}}",
             data, sizeof data, 0);
    sono_error err = {0};
    double w[4], b[2];
    if (sono_enc64_read_conv(path, "c", 1, 2, 2, 0, w, b, &err))
        fail_msg("%s", err.msg);
    const double want[4] = {6, 8, -2, 0};
    for (int i = 0; i < 4; i++)
        assert_true(fabs(w[i] - want[i]) < 1e-15);
    assert_true(b[0] == 0.5 && b[1] == 0.25);
    /* transposed: weight [cin=2, cout=1, k=2], the norm still over all but dim 0 */
    if (sono_enc64_read_conv(path, "c", 2, 1, 2, 1, w, b, &err) != SONO_EINVAL)
        fail_msg("bias of 2 for cout 1 should be refused");
}

/* ---- the generator ------------------------------------------------------------------------ */

/* weights=random: the 24 kHz shapes (the model loads, so every HF name and shape is there),
 * the config in the metadata, the same bytes for the same seed, and a network whose
 * activations stay in range: the embedding and the decoded audio of a 0.05 s sine are
 * finite with RMS between 1e-3 and 1e3 of the input's. */
static void random_weights_are_sane(void **state)
{
    (void)state;
    sono_enc_config c;
    sono_enc_config_24k(&c);
    assert_int_equal(c.hop, 320);
    assert_int_equal(c.frame_rate, 75);
    assert_int_equal(c.num_quantizers, 32);
    int nq;
    sono_error err = {0};
    assert_int_equal(sono_enc_nq(&c, 6, &nq, &err), 0);
    assert_int_equal(nq, 8);
    assert_int_equal(sono_enc_nq(&c, 1.5, &nq, &err), 0);
    assert_int_equal(nq, 2);
    assert_int_equal(sono_enc_nq(&c, 5, &nq, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "1.5, 3, 6, 12, 24"));

    char a[128], b[128];
    snprintf(a, sizeof a, "%s/sub/dir/r1.safetensors", tmpdir);
    snprintf(b, sizeof b, "%s/r2.safetensors", tmpdir);
    assert_int_equal(sono_encodec_weights_ensure(a, &c, 7, &err), 0);
    assert_int_equal(sono_encodec_weights_write(b, &c, 7, &err), 0);
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = 1, ca, cb;
    long bytes = 0;
    do {
        ca = fgetc(fa);
        cb = fgetc(fb);
        same &= ca == cb;
        bytes++;
    } while (ca != EOF && cb != EOF);
    fclose(fa);
    fclose(fb);
    assert_true(same);
    assert_true(bytes > 50L * 1000 * 1000); /* ~18M float32 parameters */

    sono_enc64 *m = NULL;
    if (sono_enc64_load(a, &m, &err))
        fail_msg("%s", err.msg);
    long long n = 1200, frames;
    double *x = malloc((size_t)n * sizeof *x), *emb = NULL, *audio = NULL, xs = 0;
    for (long long i = 0; i < n; i++) {
        x[i] = 0.3 * sin(0.07 * (double)i);
        xs += x[i] * x[i];
    }
    xs = sqrt(xs / (double)n);
    if (sono_enc64_encoder(m, x, n, &emb, &frames, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(frames, 4);
    double es = 0;
    for (long long i = 0; i < 128 * frames; i++)
        es += emb[i] * emb[i];
    es = sqrt(es / (double)(128 * frames));
    int codes[8 * 4];
    sono_enc64_quantize(m, emb, frames, 8, codes);
    int distinct = 0;
    for (int i = 0; i < 32; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++)
            seen |= codes[j] == codes[i];
        distinct += !seen;
    }
    if (sono_enc64_decode(m, codes, 8, frames, &audio, &err))
        fail_msg("%s", err.msg);
    double as = 0;
    for (long long i = 0; i < frames * 320; i++)
        as += audio[i] * audio[i];
    as = sqrt(as / (double)(frames * 320));
    print_message("input RMS %g, embedding RMS %g, decoded RMS %g, %d distinct codes of 32\n",
                  xs, es, as, distinct);
    assert_true(isfinite(es) && es > 1e-3 * xs && es < 1e3 * xs);
    assert_true(isfinite(as) && as > 1e-3 * xs && as < 1e3 * xs);
    assert_true(distinct > 8); /* the codebooks are in the embeddings' range */
    free(x);
    free(emb);
    free(audio);
    sono_enc64_free(m);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sono-encref-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fixture_matches_pytorch),
        cmocka_unit_test(padding_matches_transformers),
        cmocka_unit_test(op_check_counts_mismatches),
        cmocka_unit_test(st_refuses_bad_files),
        cmocka_unit_test(model_load_names_bad_tensor),
        cmocka_unit_test(weight_norm_fold_by_hand),
        cmocka_unit_test(random_weights_are_sane),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
