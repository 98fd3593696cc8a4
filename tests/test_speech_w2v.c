/* test_speech_w2v.c — issue 23's wav2vec2.features and attention.relpos: every cpu/blas
 * impl against the float64 reference (random weights and operands, small dims, both norm
 * modes, threads 1 and 2); the reference and the impls against transformers' own output
 * (tests/data/w2v, from tests/fixtures/wav2vec2_fixture.py); the relative-position buckets
 * by hand and float32 against double; weights by transformers' names with and without the
 * ForCTC prefix, and a missing or mis-shaped tensor refused naming it and the file (exit
 * 2); a tap dropped fails the tolerance; `harness exec` for both ops. */
#include "cli_util.h"

#include "buf.h"
#include "check.h"
#include "input.h"
#include "params.h"
#include "registry.h"
#include "relpos.h"
#include "st_write.h"
#include "w2v.h"

#define W2V_DATA "tests/data/w2v"

static sono_reg sw_R;
static char sw_cache[PATH_MAX + 32];

/* ---- helpers ---------------------------------------------------------------------------- */

/* op params from "k=v,k=v" plus the defaults, validated (which writes random weights). */
static sono_params sw_params(const char *opname, const char *text)
{
    const sono_op *op = sono_op_find(opname);
    assert_non_null(op);
    sono_params p = {0};
    char *buf = strdup(text), *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        assert_non_null(eq);
        *eq = '\0';
        const sono_param_spec *s = sono_op_param(op, tok);
        if (!s)
            fail_msg("%s has no parameter %s", opname, tok);
        sono_error err = {0};
        if (sono_param_parse(s, eq + 1, &p.v[p.count], &err))
            fail_msg("%s=%s: %s", tok, eq + 1, err.msg);
        p.count++;
    }
    free(buf);
    sono_params_defaults(op, &p);
    sono_error err = {0};
    if (op->validate(&p, &err))
        fail_msg("%s %s: %s", opname, text, err.msg);
    return p;
}

/* A .npy file's data as doubles (<f4 or <f8, C order); *n its element count, shape into
 * dims (up to 4). */
static double *sw_npy(const char *path, long long *n, long long dims[4], int *ndim)
{
    size_t len;
    char *raw = cl_slurp(path, &len);
    if (!raw || len < 10 || memcmp(raw, "\x93NUMPY", 6) != 0)
        fail_msg("%s: not a .npy file", path);
    size_t hl = raw[6] == 1 ? (size_t)(unsigned char)raw[8] | (size_t)(unsigned char)raw[9] << 8
                            : 0;
    size_t off = raw[6] == 1 ? 10 : 12;
    if (raw[6] != 1)
        hl = (size_t)(unsigned char)raw[8] | (size_t)(unsigned char)raw[9] << 8 |
             (size_t)(unsigned char)raw[10] << 16;
    char hdr[1024];
    snprintf(hdr, sizeof hdr, "%.*s", (int)(hl < 1023 ? hl : 1023), raw + off);
    int f8 = strstr(hdr, "'<f8'") != NULL;
    if (!f8 && !strstr(hdr, "'<f4'"))
        fail_msg("%s: dtype must be <f4 or <f8: %s", path, hdr);
    assert_null(strstr(hdr, "'fortran_order': True"));
    char *sh = strstr(hdr, "'shape': (");
    assert_non_null(sh);
    sh += 10;
    *ndim = 0;
    *n = 1;
    while (*sh && *sh != ')') {
        long long d = strtoll(sh, &sh, 10);
        dims[(*ndim)++] = d;
        *n *= d;
        while (*sh == ',' || *sh == ' ')
            sh++;
    }
    const unsigned char *data = (const unsigned char *)raw + off + hl;
    assert_true(off + hl + (size_t)*n * (f8 ? 8 : 4) <= len);
    double *v = malloc((size_t)*n * sizeof *v);
    for (long long i = 0; i < *n; i++) {
        if (f8)
            memcpy(&v[i], data + 8 * i, 8);
        else {
            float f;
            memcpy(&f, data + 4 * i, 4);
            v[i] = f;
        }
    }
    free(raw);
    return v;
}

static double sw_rel_l2(const float *a, const double *b, long long n)
{
    double num = 0, den = 0;
    for (long long i = 0; i < n; i++) {
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += b[i] * b[i];
    }
    return sqrt(num / den);
}

static const sono_impl_entry *sw_impl(const char *op, const char *name)
{
    sono_error err = {0};
    const sono_impl_entry *e = sono_reg_find(&sw_R, sono_op_find(op), name, &err);
    if (!e)
        fail_msg("%s/%s: %s", op, name, err.msg);
    return e;
}

/* Runs impl on in (given, or the op's own input when data is NULL) into out (allocated
 * here, the op's shape); returns out. */
static void sw_run(const sono_impl_entry *e, const sono_params *p, sono_buf *in, sono_buf *out)
{
    const sono_impl *im = e->impl;
    sono_error err = {0};
    char why[512] = "";
    if (im->supports(im->ctx, p, why, sizeof why))
        fail_msg("%s: unsupported: %s", e->full, why);
    void *st = NULL;
    if (im->setup(im->ctx, p, &st, &err))
        fail_msg("%s: setup: %s", e->full, err.msg);
    if (im->load(st, in, &err))
        fail_msg("%s: load: %s", e->full, err.msg);
    assert_int_equal(im->run(st), 0);
    assert_int_equal(sono_buf_alloc(out, NULL), 0);
    if (im->store(st, out, &err))
        fail_msg("%s: store: %s", e->full, err.msg);
    if (im->describe) {
        char d[2048];
        im->describe(st, d, sizeof d);
        if (!strcmp(e->op->name, "wav2vec2.features")) { /* names the file and its hash */
            assert_non_null(strstr(d, "weights: "));
            char *h = strstr(d, "sha256: ");
            assert_non_null(h);
            char hex[65];
            snprintf(hex, sizeof hex, "%.64s", h + 8);
            assert_true(cl_is_hex64(hex));
        }
    }
    im->teardown(st);
}

/* impl vs the reference on the op's own input for params text; prints the error. */
static void sw_vs_ref(const char *opname, const char *impl, const char *text)
{
    sono_params p = sw_params(opname, text);
    const sono_op *op = sono_op_find(opname);
    const sono_impl_entry *e = sw_impl(opname, impl);
    sono_buf in, out, ref;
    op->shapes(&p, &in, &out);
    ref = out;
    ref.dtype = SONO_F64;
    assert_int_equal(sono_buf_alloc(&in, NULL), 0);
    assert_int_equal(sono_buf_alloc(&ref, NULL), 0);
    sono_error err = {0};
    if (op->input) {
        sono_input_spec spec;
        assert_int_equal(sono_input_parse("noise(seed=3)", ".", &spec, &err), 0);
        assert_int_equal(op->input(&p, &spec, 16000, &in, &err), 0);
    } else { /* a signal: seeded noise at speech level */
        uint64_t s = 99;
        float *x = in.data;
        for (long long i = 0; i < sono_buf_elems(&in); i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            x[i] = 0.2f * (float)((double)(s >> 40) * 0x1p-24 - 0.5);
        }
    }
    if (op->reference(&p, &in, &ref, &err))
        fail_msg("%s reference: %s", opname, err.msg);
    sw_run(e, &p, &in, &out);
    sono_check c;
    double tol = op->tolerance(&p, e->impl->growth);
    assert_int_equal(sono_check_output(&out, &ref, tol, &c, &err), 0);
    print_message("%-18s %-12s %-48s rel_l2 %.3g tol %.3g\n", opname, impl, text, c.rel_l2, tol);
    if (!c.pass)
        fail_msg("%s %s %s: rel_l2 %.3g over tol %.3g", opname, impl, text, c.rel_l2, tol);
    sono_buf_free(&in);
    sono_buf_free(&out);
    sono_buf_free(&ref);
    sono_params_free(&p);
}

/* ---- wav2vec2.features ------------------------------------------------------------------ */

static void w2v_impls_match_reference(void **state)
{
    (void)state;
    const char *cases[] = {
        "seconds=0.025,channels=8,norm=group",            /* 400 samples: one frame */
        "seconds=0.1,channels=16,norm=group,batch=2",
        "seconds=0.1,channels=16,norm=layer,batch=2",
        "seconds=0.2013,channels=12,norm=layer",          /* lengths that do not divide */
        "seconds=0.2,channels=24,norm=group,seed=7",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sw_vs_ref("wav2vec2.features", "cpu/naive", cases[i]);
        sw_vs_ref("wav2vec2.features", "blas/gemm", cases[i]);
        char two[256];
        snprintf(two, sizeof two, "%s,threads=2", cases[i]);
        sw_vs_ref("wav2vec2.features", "blas/gemm", two);
    }
}

/* Output lengths by the conv formula: 16000 samples give 49 frames, 400 one, 399 none. */
static void w2v_frames(void **state)
{
    (void)state;
    sono_w2v_dims d;
    sono_params p = sw_params("wav2vec2.features", "seconds=1,channels=4");
    assert_int_equal(sono_w2v_dims_get(&p, &d, NULL), 0);
    assert_int_equal(d.frames, 49);
    sono_params_free(&p);
    p = sw_params("wav2vec2.features", "seconds=60,channels=4");
    assert_int_equal(sono_w2v_dims_get(&p, &d, NULL), 0);
    assert_int_equal(d.frames, 2999); /* as Wav2Vec2Model on 960000 samples */
    sono_params_free(&p);
    p = sw_params("wav2vec2.features", "seconds=0.025,channels=4");
    assert_int_equal(sono_w2v_dims_get(&p, &d, NULL), 0);
    assert_int_equal(d.frames, 1);
    sono_params_free(&p);
    sono_error err = {0};
    const sono_op *op = sono_op_find("wav2vec2.features");
    sono_params q = {0};
    sono_param_parse(sono_op_param(op, "seconds"), "0.0249", &q.v[q.count++], &err);
    sono_params_defaults(op, &q);
    assert_int_equal(op->validate(&q, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "400"));
    sono_params_free(&q);
}

/* The fixture: transformers' Wav2Vec2FeatureEncoder in float64 on committed weights. */
static void w2v_matches_transformers(void **state)
{
    (void)state;
    long long nx, dx[4], ny, dy[4];
    int kx, ky;
    double *x = sw_npy(W2V_DATA "/w2v_x.npy", &nx, dx, &kx);
    assert_int_equal(kx, 2);
    const char *norms[] = {"group", "layer"};
    for (int m = 0; m < 2; m++) {
        char path[256], text[512];
        snprintf(path, sizeof path, W2V_DATA "/w2v_%s.npy", norms[m]);
        double *want = sw_npy(path, &ny, dy, &ky);
        assert_int_equal(ky, 3);
        assert_int_equal(dy[0], dx[0]);
        snprintf(text, sizeof text, "seconds=%g,batch=%lld,channels=%lld,norm=%s,weights="
                 W2V_DATA "/w2v_%s.safetensors", (double)dx[1] / 16000, dx[0], dy[2], norms[m],
                 norms[m]);
        sono_params p = sw_params("wav2vec2.features", text);
        const sono_op *op = sono_op_find("wav2vec2.features");
        sono_buf in, out, ref;
        op->shapes(&p, &in, &out);
        assert_int_equal(out.shape[1], dy[1]);
        ref = out;
        ref.dtype = SONO_F64;
        assert_int_equal(sono_buf_alloc(&in, NULL), 0);
        assert_int_equal(sono_buf_alloc(&ref, NULL), 0);
        for (long long i = 0; i < nx; i++)
            ((float *)in.data)[i] = (float)x[i];
        sono_error err = {0};
        if (op->reference(&p, &in, &ref, &err))
            fail_msg("reference: %s", err.msg);
        /* float64 against float64: only the order of sums differs */
        double num = 0, den = 0;
        for (long long i = 0; i < ny; i++) {
            double r = ((double *)ref.data)[i];
            num += (r - want[i]) * (r - want[i]);
            den += want[i] * want[i];
        }
        print_message("reference vs transformers (%s): rel_l2 %.3g\n", norms[m], sqrt(num / den));
        assert_true(sqrt(num / den) < 1e-12);
        const char *impls[] = {"cpu/naive", "blas/gemm"};
        for (int k = 0; k < 2; k++) {
            const sono_impl_entry *e = sw_impl("wav2vec2.features", impls[k]);
            sw_run(e, &p, &in, &out);
            double r = sw_rel_l2(out.data, want, ny), tol = op->tolerance(&p, e->impl->growth);
            print_message("%s vs transformers (%s): rel_l2 %.3g tol %.3g\n", impls[k], norms[m],
                          r, tol);
            assert_true(r <= tol);
            sono_buf_free(&out);
        }
        sono_buf_free(&in);
        sono_buf_free(&ref);
        sono_params_free(&p);
        free(want);
    }
    free(x);
}

/* A weights file of channels C with tensor `drop` left out and `bad` given shape [C, 2]. */
static void sw_write_weights(const char *path, int C, int layer_norm, const char *drop,
                             const char *bad, const char *prefix)
{
    sono_st_list l = {0};
    const int k[7] = {10, 3, 3, 3, 3, 2, 2};
    for (int i = 0; i < 7; i++) {
        char pre[128], name[160];
        snprintf(pre, sizeof pre, "%sfeature_extractor.conv_layers.%d.", prefix, i);
        const char *sfx[3] = {"conv.weight", "layer_norm.weight", "layer_norm.bias"};
        for (int j = 0; j < ((i == 0 || layer_norm) ? 3 : 1); j++) {
            snprintf(name, sizeof name, "%s%s", pre, sfx[j]);
            if (drop && !strcmp(name, drop))
                continue;
            if (bad && !strcmp(name, bad))
                assert_int_equal(sono_st_push(&l, name, 2, C, 2, 0, 0.1, 0), 0);
            else if (j == 0)
                assert_int_equal(sono_st_push(&l, name, 3, C, i ? C : 1, k[i], 0.3, 0), 0);
            else
                assert_int_equal(sono_st_push(&l, name, 1, C, 0, 0, 0, 1.0), 0);
        }
    }
    sono_error err = {0};
    assert_int_equal(sono_st_write_random(path, &l, NULL, 5, &err), 0);
    free(l.t);
}

static void sw_expect_refused(const char *file, const char *norm, const char *tensor,
                              const char *what)
{
    char wp[PATH_MAX + 16];
    snprintf(wp, sizeof wp, "weights=%s", file);
    char np[64];
    snprintf(np, sizeof np, "norm=%s", norm);
    const char *impls[] = {"wav2vec2.features/cpu/naive", "wav2vec2.features/blas/gemm"};
    for (int i = 0; i < 2; i++) {
        cl_res r;
        cl_h(&r, NULL, "exec", impls[i], "--param", "seconds=0.1", "--param", "channels=8",
             "--param", np, "--param", wp, "--input", "noise", NULL);
        cl_expect_code(&r, 2);
        if (!strstr(r.err, tensor) || !strstr(r.err, file) || !strstr(r.err, what))
            fail_msg("%s: stderr names not %s, %s, %s: %s", impls[i], tensor, file, what, r.err);
        cl_free(&r);
    }
}

static void w2v_weights_by_name(void **state)
{
    (void)state;
    char ok[PATH_MAX], miss[PATH_MAX], shape[PATH_MAX], ctc[PATH_MAX];
    snprintf(ok, sizeof ok, "%s/ok.safetensors", cl_tmp);
    snprintf(ctc, sizeof ctc, "%s/ctc.safetensors", cl_tmp);
    snprintf(miss, sizeof miss, "%s/miss.safetensors", cl_tmp);
    snprintf(shape, sizeof shape, "%s/shape.safetensors", cl_tmp);
    sw_write_weights(ok, 8, 1, NULL, NULL, "");
    sw_write_weights(ctc, 8, 1, NULL, NULL, "wav2vec2.");
    sw_write_weights(miss, 8, 1, "feature_extractor.conv_layers.4.layer_norm.bias", NULL, "");
    sw_write_weights(shape, 8, 0, NULL, "feature_extractor.conv_layers.3.conv.weight", "");
    const char *files[] = {ok, ctc};
    for (int i = 0; i < 2; i++) { /* both name forms load and run */
        char wp[PATH_MAX + 16];
        snprintf(wp, sizeof wp, "weights=%s", files[i]);
        cl_res r;
        cl_h(&r, NULL, "exec", "wav2vec2.features/blas/gemm", "--param", "seconds=0.1",
             "--param", "channels=8", "--param", "norm=layer", "--param", wp, "--input",
             "noise", NULL);
        cl_expect_code(&r, 0);
        cl_free(&r);
    }
    sw_expect_refused(miss, "layer", "feature_extractor.conv_layers.4.layer_norm.bias",
                      "missing");
    sw_expect_refused(shape, "group", "feature_extractor.conv_layers.3.conv.weight",
                      "expected [8, 8, 3]");
    /* conv_bias = true checkpoints (wav2vec2-large-lv60) are another network: refused */
    char biased[PATH_MAX];
    snprintf(biased, sizeof biased, "%s/bias.safetensors", cl_tmp);
    sono_st_list l = {0};
    const int kk[7] = {10, 3, 3, 3, 3, 2, 2};
    for (int i = 0; i < 7; i++) {
        char n[160];
#define SW_NAME(sfx) (snprintf(n, sizeof n, "wav2vec2.feature_extractor.conv_layers.%d." sfx, i), n)
        assert_int_equal(sono_st_push(&l, SW_NAME("conv.weight"), 3, 8, i ? 8 : 1, kk[i], 0.3, 0), 0);
        assert_int_equal(sono_st_push(&l, SW_NAME("conv.bias"), 1, 8, 0, 0, 0.1, 0), 0);
        assert_int_equal(sono_st_push(&l, SW_NAME("layer_norm.weight"), 1, 8, 0, 0, 0, 1.0), 0);
        assert_int_equal(sono_st_push(&l, SW_NAME("layer_norm.bias"), 1, 8, 0, 0, 0.1, 0), 0);
#undef SW_NAME
    }
    sono_error se = {0};
    assert_int_equal(sono_st_write_random(biased, &l, NULL, 5, &se), 0);
    free(l.t);
    sw_expect_refused(biased, "layer", "wav2vec2.feature_extractor.conv_layers.0.conv.bias",
                      "conv_bias = true");
    /* a group-mode file lacks layer 1's norm: layer mode refuses it by name */
    sw_expect_refused(shape, "layer", "conv_layers.", "");
    /* channels other than the file's: the first tensor's shape says so */
    char wp[PATH_MAX + 16];
    snprintf(wp, sizeof wp, "weights=%s", ok);
    cl_res r;
    cl_h(&r, NULL, "exec", "wav2vec2.features/cpu/naive", "--param", "seconds=0.1", "--param",
         "channels=16", "--param", "norm=layer", "--param", wp, "--input", "noise", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "conv_layers.0.conv.weight' has shape [8, 1, 10], expected "
                               "[16, 1, 10]"));
    cl_free(&r);
    cl_h(&r, NULL, "exec", "wav2vec2.features/cpu/naive", "--param", "seconds=0.1", "--param",
         "weights=/nonexistent/w.safetensors", "--input", "noise", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "/nonexistent/w.safetensors"));
    cl_free(&r);
}

/* The check can fail: weights with one tap of layer 3 zeroed against the reference of the
 * intact weights is outside the tolerance, for the LINEAR (loosest) bound. */
static void w2v_dropped_tap_fails(void **state)
{
    (void)state;
    char a[PATH_MAX], b[PATH_MAX];
    snprintf(a, sizeof a, "%s/tapA.safetensors", cl_tmp);
    snprintf(b, sizeof b, "%s/tapB.safetensors", cl_tmp);
    sw_write_weights(a, 16, 0, NULL, NULL, "");
    /* the same file with conv_layers.3.conv.weight[5, 7, 1] zeroed: find it by value */
    size_t len;
    char *raw = cl_slurp(a, &len);
    assert_non_null(raw);
    uint64_t hl = 0;
    memcpy(&hl, raw, 8);
    json_t *h = json_loadb(raw + 8, (size_t)hl, 0, NULL);
    json_t *e = json_object_get(h, "feature_extractor.conv_layers.3.conv.weight");
    long long off = json_integer_value(json_array_get(json_object_get(e, "data_offsets"), 0));
    memset(raw + 8 + hl + off + 4 * ((5 * 16 + 7) * 3 + 1), 0, 4);
    FILE *f = fopen(b, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(raw, 1, len, f), len);
    fclose(f);
    json_decref(h);
    free(raw);
    char ta[PATH_MAX + 64], tb[PATH_MAX + 64];
    snprintf(ta, sizeof ta, "seconds=0.2,channels=16,weights=%s", a);
    snprintf(tb, sizeof tb, "seconds=0.2,channels=16,weights=%s", b);
    sono_params pa = sw_params("wav2vec2.features", ta), pb = sw_params("wav2vec2.features", tb);
    const sono_op *op = sono_op_find("wav2vec2.features");
    sono_buf in, out, ref;
    op->shapes(&pa, &in, &out);
    ref = out;
    ref.dtype = SONO_F64;
    assert_int_equal(sono_buf_alloc(&in, NULL), 0);
    assert_int_equal(sono_buf_alloc(&ref, NULL), 0);
    for (long long i = 0; i < sono_buf_elems(&in); i++)
        ((float *)in.data)[i] = 0.3f * sinf(0.05f * (float)i) + 0.01f * (float)(i % 7);
    sono_error err = {0};
    assert_int_equal(op->reference(&pa, &in, &ref, &err), 0);
    sw_run(sw_impl("wav2vec2.features", "cpu/naive"), &pb, &in, &out);
    sono_check c;
    assert_int_equal(sono_check_output(&out, &ref, op->tolerance(&pa, SONO_ERR_LINEAR), &c, &err), 0);
    print_message("one tap of 16*16*3 zeroed: rel_l2 %.3g, tol %.3g\n", c.rel_l2, c.tol);
    assert_false(c.pass);
    sono_buf_free(&in);
    sono_buf_free(&out);
    sono_buf_free(&ref);
    sono_params_free(&pa);
    sono_params_free(&pb);
}

/* ---- attention.relpos ------------------------------------------------------------------- */

/* WavLM's buckets by hand (n = 160, m = 80) and float32 (as torch) against double. */
static void relpos_buckets(void **state)
{
    (void)state;
    assert_int_equal(sono_relpos64_bucket(0, 320, 800), 0);
    assert_int_equal(sono_relpos64_bucket(-1, 320, 800), 1);
    assert_int_equal(sono_relpos64_bucket(1, 320, 800), 161);
    assert_int_equal(sono_relpos64_bucket(-79, 320, 800), 79);
    assert_int_equal(sono_relpos64_bucket(79, 320, 800), 239);
    assert_int_equal(sono_relpos64_bucket(-80, 320, 800), 80); /* log(1) = 0 */
    /* 80 + ln(r/80)/ln(10) * 80 reaches 159 at r = 80 * 10^(79/80) = 777.3 */
    assert_int_equal(sono_relpos64_bucket(-777, 320, 800), 158);
    assert_int_equal(sono_relpos64_bucket(-778, 320, 800), 159);
    assert_int_equal(sono_relpos64_bucket(100000, 320, 800), 319);
    /* 100: 80 + ln(1.25)/ln(10) * 80 = 87.75 */
    assert_int_equal(sono_relpos64_bucket(100, 320, 800), 247);
    for (long long r = -20000; r <= 20000; r++) {
        long long a = r < 0 ? -r : r, b = r > 0 ? 160 : 0;
        if (a >= 80) {
            float v = logf((float)a / 80.0f) / logf(10.0f) * 80.0f;
            long long big = (long long)(80.0f + v);
            b += big < 159 ? big : 159;
        } else
            b += a;
        if (b != sono_relpos64_bucket(r, 320, 800))
            fail_msg("r=%lld: float32 bucket %lld, double %lld", r, b,
                     sono_relpos64_bucket(r, 320, 800));
    }
}

static void relpos_impls_match_reference(void **state)
{
    (void)state;
    const char *cases[] = {
        "seq=1,heads=1,head_dim=4",
        "seq=7,heads=3,head_dim=5",
        "seq=200,heads=2,head_dim=16",                         /* log buckets (|r| >= 80) */
        "seq=120,heads=2,head_dim=8,num_buckets=32,max_distance=40",  /* capped ones too */
    };
    const char *impls[] = {"cpu/naive", "blas/gemm"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int k = 0; k < 2; k++)
            sw_vs_ref("attention.relpos", impls[k], cases[i]);
    sw_vs_ref("attention.relpos", "blas/gemm", "seq=200,heads=2,head_dim=16,threads=2");
    /* the pool's lanes take heads from a counter: 3 lanes over 5 heads */
    sw_vs_ref("attention.relpos", "blas/gemm", "seq=150,heads=5,head_dim=16,threads=3");
}

static void relpos_matches_transformers(void **state)
{
    (void)state;
    long long ni, di[4], no, dn[4];
    int ki, ko;
    double *x = sw_npy(W2V_DATA "/relpos_in.npy", &ni, di, &ki);
    double *want = sw_npy(W2V_DATA "/relpos_out.npy", &no, dn, &ko);
    assert_int_equal(ko, 3);
    char text[256];
    snprintf(text, sizeof text, "heads=%lld,seq=%lld,head_dim=%lld,num_buckets=32,"
             "max_distance=40", dn[0], dn[1], dn[2]);
    sono_params p = sw_params("attention.relpos", text);
    const sono_op *op = sono_op_find("attention.relpos");
    sono_buf in, out, ref;
    op->shapes(&p, &in, &out);
    assert_int_equal(sono_buf_elems(&in), ni);
    ref = out;
    ref.dtype = SONO_F64;
    assert_int_equal(sono_buf_alloc(&in, NULL), 0);
    assert_int_equal(sono_buf_alloc(&ref, NULL), 0);
    for (long long i = 0; i < ni; i++)
        ((float *)in.data)[i] = (float)x[i];
    sono_error err = {0};
    assert_int_equal(op->reference(&p, &in, &ref, &err), 0);
    double num = 0, den = 0;
    for (long long i = 0; i < no; i++) {
        double r = ((double *)ref.data)[i];
        num += (r - want[i]) * (r - want[i]);
        den += want[i] * want[i];
    }
    /* Q, K, V rounded to float32 before the reference, not inside the module: ~1e-7 */
    print_message("relpos reference vs WavLMAttention: rel_l2 %.3g\n", sqrt(num / den));
    assert_true(sqrt(num / den) < 1e-6);
    const char *impls[] = {"cpu/naive", "blas/gemm"};
    for (int k = 0; k < 2; k++) {
        const sono_impl_entry *e = sw_impl("attention.relpos", impls[k]);
        sw_run(e, &p, &in, &out);
        double r = sw_rel_l2(out.data, want, no), tol = op->tolerance(&p, e->impl->growth);
        print_message("%s vs WavLMAttention: rel_l2 %.3g tol %.3g\n", impls[k], r, tol);
        assert_true(r <= tol);
        sono_buf_free(&out);
    }
    sono_buf_free(&in);
    sono_buf_free(&ref);
    sono_params_free(&p);
    free(x);
    free(want);
}

/* ---- exec ------------------------------------------------------------------------------- */

static void exec_both_ops(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/w2v.npy", cl_tmp);
    cl_res r;
    cl_h(&r, NULL, "exec", "wav2vec2.features/blas/gemm", "--param", "seconds=0.5", "--param",
         "channels=32", "--param", "batch=2", "--input", "speech", "--output", out, NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "-> ok"));
    cl_free(&r);
    long long n, d[4];
    int k;
    double *y = sw_npy(out, &n, d, &k);
    assert_int_equal(k, 3);
    assert_int_equal(d[0], 2);
    assert_int_equal(d[1], 24); /* 8000 samples */
    assert_int_equal(d[2], 32);
    free(y);
    cl_h(&r, NULL, "exec", "attention.relpos/cpu/naive", "--param", "seq=90", "--param",
         "heads=2", "--input", "noise", NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "-> ok"));
    cl_free(&r);
}

static int sw_setup(void **state)
{
    if (cl_setup(state))
        return -1;
    snprintf(sw_cache, sizeof sw_cache, "%s/cache", cl_tmp);
    setenv("XDG_CACHE_HOME", sw_cache, 1); /* random weights land here; children inherit */
    const char *b = getenv("SONO_BUILD");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/plugins", b && *b ? b : "build");
    if (sono_reg_init(&sw_R, NULL))
        return -1;
    sono_reg_load_dir(&sw_R, dir);
    return 0;
}

static int sw_teardown(void **state)
{
    sono_reg_free(&sw_R);
    return cl_teardown(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(w2v_frames),
        cmocka_unit_test(w2v_impls_match_reference),
        cmocka_unit_test(w2v_matches_transformers),
        cmocka_unit_test(w2v_weights_by_name),
        cmocka_unit_test(w2v_dropped_tap_fails),
        cmocka_unit_test(relpos_buckets),
        cmocka_unit_test(relpos_impls_match_reference),
        cmocka_unit_test(relpos_matches_transformers),
        cmocka_unit_test(exec_both_ops),
    };
    return cmocka_run_group_tests(tests, sw_setup, sw_teardown);
}
