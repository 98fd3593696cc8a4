/* test_dsp_batch.c — issue 10's `batch` on stft, melspec, logmel and mfcc: the batched
 * reference is the per-clip reference of each slice, bit for bit; clips that differ in
 * loudness are clamped each against its own max; shapes, cost, refusals (streaming, the
 * range); and every CPU impl (and the py peers where Python has numpy/torch) at batch 3
 * passes the harness's check through the CLI (tests/data/dsp/batch.ini). The cuda rungs
 * are a test of their own, reported skipped (saying why) where there is no GPU. */
#include "cli_util.h"
#include "skip_util.h"
#include "buf.h"
#include "op.h"
#include "params.h"

#define BATCH_SUITE "tests/data/dsp/batch.ini"

/* ---- the references ------------------------------------------------------------------- */

static void db_set(sono_params *p, const char *name, double v)
{
    sono_param *x = (sono_param *)sono_param_find(p, name);
    assert_non_null(x);
    if (x->type == SONO_PREAL)
        x->r = v;
    else
        x->i = (long long)v;
}

/* The op's defaults with seconds (logmel: without pad_or_trim) and batch. */
static void db_params(const char *op, double seconds, long long batch, sono_params *p)
{
    memset(p, 0, sizeof *p);
    sono_params_defaults(sono_op_find(op), p);
    db_set(p, "seconds", seconds);
    db_set(p, "batch", (double)batch);
    if (strcmp(op, "logmel") == 0)
        db_set(p, "pad_or_trim", 0);
}

/* Uniform noise of gain g[b] in clip b: an LCG of its own, so no code is shared with the
 * generators. */
static void db_fill(float *x, long long samples, long long batch, const double *g)
{
    unsigned long long s = 12345;
    for (long long b = 0; b < batch; b++)
        for (long long i = 0; i < samples; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            x[b * samples + i] = (float)(g[b] * ((double)(s >> 40) / 16777216.0 - 0.5));
        }
}

/* The batched input and reference of op at params p (batch B), the input filled with
 * gains g; in and ref allocated. */
static void db_reference(const sono_op *op, const sono_params *p, const double *g,
                         sono_buf *in, sono_buf *ref)
{
    sono_buf out;
    sono_error err = {0};
    op->shapes(p, in, &out);
    *ref = out;
    ref->dtype = sono_dtype_wide(out.dtype);
    assert_int_equal(sono_buf_alloc(in, &err), 0);
    assert_int_equal(sono_buf_alloc(ref, &err), 0);
    db_fill(in->data, in->shape[in->ndim - 1], in->ndim == 2 ? in->shape[0] : 1, g);
    if (op->reference(p, in, ref, &err) != 0)
        fail_msg("%s reference: %s", op->name, err.msg);
}

static void db_ref_is_per_clip(const char *opname, const char *output)
{
    const sono_op *op = sono_op_find(opname);
    const double g[3] = {1.0, 0.01, 30.0};
    sono_params p1, pb;
    double seconds = strcmp(opname, "logmel") == 0 ? 0.3 : 0.2;
    db_params(opname, seconds, 1, &p1);
    db_params(opname, seconds, 3, &pb);
    for (int i = 0; output && i < 2; i++) {
        sono_param *o = (sono_param *)sono_param_find(i ? &p1 : &pb, "output");
        free((char *)o->s); /* the params own their strings */
        o->s = strdup(output);
        assert_non_null(o->s);
    }
    sono_buf in, ref, in1, out1;
    db_reference(op, &pb, g, &in, &ref);
    op->shapes(&p1, &in1, &out1);
    /* batch 1: the shapes as before; batch 3: a leading dim on both */
    assert_int_equal(in1.ndim, 1);
    assert_int_equal(in.ndim, 2);
    assert_int_equal(in.shape[0], 3);
    assert_int_equal(in.shape[1], in1.shape[0]);
    assert_int_equal(ref.ndim, out1.ndim + 1);
    assert_int_equal(ref.shape[0], 3);
    for (int i = 0; i < out1.ndim; i++)
        assert_int_equal(ref.shape[i + 1], out1.shape[i]);
    size_t per = ref.nbytes / 3;
    for (long long b = 0; b < 3; b++) {
        sono_buf clip = in1, r1 = out1;
        r1.dtype = sono_dtype_wide(out1.dtype);
        sono_error err = {0};
        assert_int_equal(sono_buf_alloc(&r1, &err), 0);
        assert_int_equal(r1.nbytes, per);
        clip.data = (float *)in.data + b * in.shape[1];
        clip.nbytes = (size_t)in.shape[1] * sizeof(float);
        assert_int_equal(op->reference(&p1, &clip, &r1, &err), 0);
        if (memcmp((char *)ref.data + b * per, r1.data, per) != 0)
            fail_msg("%s%s%s: clip %lld of the batched reference differs from its own",
                     opname, output ? " " : "", output ? output : "", b);
        sono_buf_free(&r1);
    }
    /* cost and audio scale with the batch */
    sono_cost c1, cb;
    op->cost(&p1, &c1);
    op->cost(&pb, &cb);
    assert_true(c1.flops > 0);
    assert_float_equal(cb.flops, 3.0 * c1.flops, 0);
    assert_float_equal(cb.bytes, 3.0 * c1.bytes, 0);
    sono_buf_free(&in);
    sono_buf_free(&ref);
    sono_params_free(&p1);
    sono_params_free(&pb);
}

static void db_ref_stft(void **state)
{
    (void)state;
    db_ref_is_per_clip("stft", "power");
    db_ref_is_per_clip("stft", "complex");
}

static void db_ref_mels(void **state)
{
    (void)state;
    db_ref_is_per_clip("melspec", NULL);
    db_ref_is_per_clip("logmel", NULL);
    db_ref_is_per_clip("mfcc", NULL);
}

/* Clip 1 is 86 dB below clip 0 (gain 5e-5): a clamp over the whole batch would put all
 * of it on the batch's floor (logmel: 8 decades below clip 0's max, i.e. an output 2
 * below clip 0's largest; mfcc: 80 dB), clamped per clip it keeps its own spread. */
static void db_clamp_per_clip(void **state)
{
    (void)state;
    const double g[2] = {1.0, 5e-5};
    sono_params p;
    sono_buf in, ref;

    db_params("logmel", 0.3, 2, &p);
    db_reference(sono_op_find("logmel"), &p, g, &in, &ref);
    long long n = ref.shape[1] * ref.shape[2];
    const double *L = ref.data;
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (long long b = 0; b < 2; b++)
        for (long long i = 0; i < n; i++) {
            lo[b] = fmin(lo[b], L[b * n + i]);
            hi[b] = fmax(hi[b], L[b * n + i]);
        }
    /* each clip within 2 of its own max; clip 1 wholly below clip 0's floor, hi0 - 2 */
    assert_true(hi[0] - lo[0] <= 2.0 + 1e-12);
    assert_true(hi[1] - lo[1] <= 2.0 + 1e-12);
    assert_true(hi[1] - lo[1] > 0.3);
    assert_true(hi[1] < hi[0] - 2.05);
    sono_buf_free(&in);
    sono_buf_free(&ref);
    sono_params_free(&p);

    db_params("mfcc", 0.3, 2, &p);
    db_reference(sono_op_find("mfcc"), &p, g, &in, &ref);
    long long nc = ref.shape[1], nt = ref.shape[2];
    const double *C = ref.data;
    /* a flattened clip is a constant dB spectrum: only c0 survives the DCT. Per clip,
     * c1 of clip 1 varies as clip 0's does. */
    double e[2] = {0, 0};
    for (long long b = 0; b < 2; b++)
        for (long long t = 0; t < nt; t++)
            e[b] += fabs(C[(b * nc + 1) * nt + t]);
    assert_true(e[1] > 0.5 * e[0]);
    assert_true(e[1] > 1.0 * (double)nt);
    sono_buf_free(&in);
    sono_buf_free(&ref);
    sono_params_free(&p);
}

/* batch > 1 does not stream; the op's own check of the range. */
static void db_refusals(void **state)
{
    (void)state;
    const char *ops[] = {"stft", "melspec"};
    for (int i = 0; i < 2; i++) {
        const sono_op *op = sono_op_find(ops[i]);
        sono_params p;
        sono_stream_shape s;
        sono_error err = {0};
        db_params(ops[i], 0.2, 1, &p);
        assert_int_equal(op->stream_shape(&p, &s, &err), 0);
        db_set(&p, "batch", 2);
        assert_int_equal(op->stream_shape(&p, &s, &err), SONO_EUNSUPPORTED);
        assert_non_null(strstr(err.msg, "batch=2"));
        db_set(&p, "batch", 0);
        assert_int_equal(op->validate(&p, &err), SONO_EINVAL);
        assert_non_null(strstr(err.msg, "batch=0"));
        sono_params_free(&p);
    }
    /* the late flag: batch appears in a case id only off its default */
    const sono_param_spec *b = sono_op_param(sono_op_find("logmel"), "batch");
    assert_non_null(b);
    assert_true(b->late);
    assert_int_equal(b->idflt, 1);
}

/* ---- the impls through the CLI ---------------------------------------------------------- */

static int db_is_py(const char *impl)
{
    return strncmp(impl, "py/", 3) == 0;
}

static void db_suite(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/batch.json", cl_tmp);
    cl_res r;
    cl_h(&r, NULL, "run", BATCH_SUITE, "--out", out, "--quiet", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *doc = cl_load(out);
    int py = json_is_true(cl_get(doc, "env.backends.py.available"));
    int torch = cl_get(doc, "env.libs.torch") != NULL;
    json_t *cases = json_object_get(doc, "cases"), *c;
    size_t i;
    int cpu_ok = 0, py_ok = 0;
    json_array_foreach(cases, i, c) {
        const char *id = cl_str(c, "id"), *impl = cl_str(c, "impl");
        const char *status = cl_str(c, "status");
        assert_non_null(strstr(id, "batch=3"));
        int skippable = db_is_py(impl) && (!py || (!torch && strstr(impl, "torch")));
        if (skippable && strcmp(status, "skip") == 0)
            continue;
        if (strcmp(status, "ok") != 0) {
            json_t *why = cl_get(c, "error");
            print_error("%s: %s %s\n", id, status,
                        json_is_string(why) ? json_string_value(why) : "");
        }
        assert_string_equal(status, "ok");
        assert_true(json_is_true(cl_get(c, "check.pass")));
        /* x real time counts every clip's audio */
        assert_float_equal(cl_num(c, "input.audio_s"), 3.0 * cl_num(c, "params.seconds"), 3e-4);
        if (db_is_py(impl))
            py_ok++;
        else
            cpu_ok++;
    }
    /* 4 ops x 3 impls x 2 inputs, and the threaded rows (4 ops x 2 impls x 1 input) */
    assert_int_equal(cpu_ok, 4 * 3 * 2 + 4 * 2);
    if (py)
        assert_true(py_ok >= 8); /* numpy: 4 ops x 2 inputs */
    json_decref(doc);
}

/* exec: the output is [batch, rows, frames], and consecutive clips of the signal differ. */
static void db_exec_shape(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/melb.npy", cl_tmp);
    cl_res r;
    cl_h(&r, NULL, "exec", "melspec/cpu/fast", "--input", "noise", "--output", out, "--param",
         "seconds=0.1", "--param", "n_mels=32", "--param", "batch=2", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    size_t len;
    char *raw = cl_slurp(out, &len);
    assert_non_null(raw);
    size_t hl = (size_t)(unsigned char)raw[8] | (size_t)(unsigned char)raw[9] << 8;
    /* 1600 samples, centred, hop 256: 1 + 1600/256 = 7 frames */
    assert_non_null(strstr(raw + 10, "'shape': (2, 32, 7)"));
    assert_int_equal(len - 10 - hl, 2 * 32 * 7 * sizeof(float));
    const float *v = (const float *)(const void *)(raw + 10 + hl);
    assert_true(memcmp(v, v + 32 * 7, 32 * 7 * sizeof(float)) != 0);
    free(raw);
}

/* ---- clips of different loudness through the impls --------------------------------------- */

static void db_le(unsigned char *p, unsigned v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* A mono float32 WAV at 16 kHz: 3 clips of 0.25 s, noise at gains 1, 5e-5 (86 dB down)
 * and 0.1. */
static void db_write_wav(const char *path)
{
    enum { CLIP = 4000, N = 3 * CLIP };
    static float x[N];
    const double g[3] = {1.0, 5e-5, 0.1};
    db_fill(x, CLIP, 3, g);
    unsigned char h[44];
    memcpy(h, "RIFF", 4);
    db_le(h + 4, 36 + N * 4, 4);
    memcpy(h + 8, "WAVEfmt ", 8);
    db_le(h + 16, 16, 4);
    db_le(h + 20, 3, 2); /* IEEE float */
    db_le(h + 22, 1, 2);
    db_le(h + 24, 16000, 4);
    db_le(h + 28, 16000 * 4, 4);
    db_le(h + 32, 4, 2);
    db_le(h + 34, 32, 2);
    memcpy(h + 36, "data", 4);
    db_le(h + 40, N * 4, 4);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(h, 1, sizeof h, f), sizeof h);
    assert_int_equal(fwrite(x, sizeof *x, N, f), N);
    assert_int_equal(fclose(f), 0);
}

/* Runs the suite of `sections` over loud.wav; every row must be ok (py rows may skip where
 * Python or torch is missing); returns the rows ok, or -1 when need_gpu and the cuda
 * backend is unavailable (its rows skip). */
static int db_loud_suite(const char *wav, const char *sections, int need_gpu)
{
    char suite[PATH_MAX], out[PATH_MAX];
    snprintf(suite, sizeof suite, "%s/loud.ini", cl_tmp);
    snprintf(out, sizeof out, "%s/loud.json", cl_tmp);
    FILE *f = fopen(suite, "w");
    assert_non_null(f);
    fprintf(f, "[suite]\ndescription = clips of different loudness\ninputs = %s\n"
               "budget_s = 0.01\nwarmup_s = 0\nmin_time_s = 0.001\nmax_samples = 2\n\n%s",
            wav, sections);
    fclose(f);
    cl_res r;
    cl_h(&r, NULL, "run", suite, "--out", out, "--quiet", NULL);
    if (r.code != 0)
        print_error("%s\n%s\n", r.out ? r.out : "", r.err ? r.err : "");
    cl_free(&r);
    json_t *doc = cl_load(out);
    int py = json_is_true(cl_get(doc, "env.backends.py.available"));
    int torch = cl_get(doc, "env.libs.torch") != NULL;
    if (need_gpu && !json_is_true(cl_get(doc, "env.backends.cuda.available"))) {
        json_decref(doc);
        return -1;
    }
    json_t *cases = json_object_get(doc, "cases"), *c;
    size_t i;
    int ok = 0;
    json_array_foreach(cases, i, c) {
        const char *impl = cl_str(c, "impl"), *status = cl_str(c, "status");
        if (db_is_py(impl) && (!py || (!torch && strstr(impl, "torch"))) &&
            strcmp(status, "skip") == 0)
            continue;
        if (strcmp(status, "ok") != 0) {
            json_t *why = cl_get(c, "error");
            print_error("%s: %s %s\n", cl_str(c, "id"), status,
                        json_is_string(why) ? json_string_value(why) : "");
        }
        assert_string_equal(status, "ok");
        ok++;
    }
    json_decref(doc);
    return ok;
}

/* impl's logmel of the three clips puts clip 1 wholly below clip 0's floor (max - 2): only
 * a clamp per clip can. */
static void db_loud_clamped(const char *wav, const char *impl, int m)
{
    char npy[PATH_MAX];
    cl_res r;
    snprintf(npy, sizeof npy, "%s/loud%d.npy", cl_tmp, m);
    cl_h(&r, NULL, "exec", impl, "--input", wav, "--output", npy, "--param",
         "seconds=0.25", "--param", "pad_or_trim=0", "--param", "batch=3", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    size_t len;
    char *raw = cl_slurp(npy, &len);
    assert_non_null(raw);
    size_t hl = (size_t)(unsigned char)raw[8] | (size_t)(unsigned char)raw[9] << 8;
    /* 4000 samples, hop 160, centred, the last dropped: 25 frames */
    assert_non_null(strstr(raw + 10, "'shape': (3, 80, 25)"));
    const float *v = (const float *)(const void *)(raw + 10 + hl);
    float lo[3], hi[3];
    for (int b = 0; b < 3; b++) {
        lo[b] = INFINITY;
        hi[b] = -INFINITY;
        for (int k = 0; k < 80 * 25; k++) {
            lo[b] = fminf(lo[b], v[b * 80 * 25 + k]);
            hi[b] = fmaxf(hi[b], v[b * 80 * 25 + k]);
        }
    }
    if (!(hi[1] < hi[0] - 2.05f && hi[1] - lo[1] > 0.3f))
        fail_msg("%s: clip 1 spans [%g, %g], clip 0 [%g, %g]: not clamped per clip", impl,
                 lo[1], hi[1], lo[0], hi[0]);
    free(raw);
}

/* Every CPU and Python impl's logmel and mfcc of the three clips pass the per-clip check,
 * and each CPU impl's logmel is clamped per clip. */
static void db_loudness_impls(void **state)
{
    (void)state;
    char wav[PATH_MAX];
    snprintf(wav, sizeof wav, "%s/loud.wav", cl_tmp);
    db_write_wav(wav);
    int ok = db_loud_suite(
        wav,
        "[logmel]\nop = logmel\nimpls = cpu/naive, cpu/fast, fftwblas/batched, "
        "py/numpy, py/torch\nseconds = 0.25\npad_or_trim = 0\nbatch = 3\n\n"
        "[logmel_threads]\nop = logmel\nimpls = cpu/fast, fftwblas/batched\n"
        "seconds = 0.25\npad_or_trim = 0\nbatch = 3\nthreads = 2\n\n"
        "[mfcc]\nop = mfcc\nimpls = cpu/naive, cpu/fast, fftwblas/batched, py/numpy, "
        "py/torch\nseconds = 0.25\nbatch = 3\n\n"
        "[mfcc_threads]\nop = mfcc\nimpls = cpu/fast, fftwblas/batched\n"
        "seconds = 0.25\nbatch = 3\nthreads = 2\n",
        0);
    assert_true(ok >= 3 + 2 + 2 * 2 + 3); /* the CPU rows at least (cpu/naive: threads=1) */
    const char *impls[] = {"logmel/cpu/naive", "logmel/cpu/fast", "logmel/fftwblas/batched"};
    for (int m = 0; m < 3; m++)
        db_loud_clamped(wav, impls[m], m);
}

/* The cuda rungs the same way: a test of its own, skipped (saying why) without a GPU. */
static void db_loudness_cuda(void **state)
{
    (void)state;
    const char *b = getenv("SONO_BUILD");
    char so[PATH_MAX], wav[PATH_MAX];
    snprintf(so, sizeof so, "%s/plugins/cuda.so", b && *b ? b : "build");
    if (!cl_exists(so))
        SONO_SKIP("no cuda plugin built (no nvcc)");
    snprintf(wav, sizeof wav, "%s/loud.wav", cl_tmp);
    db_write_wav(wav);
    int ok = db_loud_suite(
        wav,
        "[cuda]\nop = logmel\nimpls = cuda/cufft, cuda/cufft-cublas\n"
        "seconds = 0.25\npad_or_trim = 0\nbatch = 1, 3\n\n"
        "[cuda_mfcc]\nop = mfcc\nimpls = cuda/cufft, cuda/cufft-cublas\n"
        "seconds = 0.25\nbatch = 3\ntop_db = 80, 0\n\n"
        "[cuda_melspec]\nop = melspec\nimpls = cuda/cufft, cuda/cufft-cublas\n"
        "seconds = 0.25\nbatch = 3\npower = 1, 2\n",
        1);
    if (ok < 0)
        SONO_SKIP("cuda backend unavailable (no CUDA device)");
    assert_int_equal(ok, 2 * 2 + 2 * 2 + 2 * 2);
    db_loud_clamped(wav, "logmel/cuda/cufft", 3);
    db_loud_clamped(wav, "logmel/cuda/cufft-cublas", 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(db_ref_stft),
        cmocka_unit_test(db_ref_mels),
        cmocka_unit_test(db_clamp_per_clip),
        cmocka_unit_test(db_refusals),
        cmocka_unit_test(db_suite),
        cmocka_unit_test(db_exec_shape),
        cmocka_unit_test(db_loudness_impls),
        cmocka_unit_test(db_loudness_cuda),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
