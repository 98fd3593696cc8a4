/* test_dtype.c — issue 26's dtype axis: the harness's float32 -> bf16 / f16 / tf32
 * conversions against independent definitions (every bf16 and f16 bit pattern decoded by
 * ldexp, every midpoint between neighbours rounded to the even one, random floats rounded
 * by rint at the dtype's ulp), the tolerance formulas, the param's validation, the skips
 * with reasons, and every CPU impl of the GEMM-shaped ops in each dtype through the CLI
 * (tests/data/dtype/dtype.ini) against the float64 reference on the same rounded inputs. */
#include "cli_util.h"

#include <float.h>

#include "buf.h"
#include "nndtype.h"
#include "op.h"
#include "params.h"
#include "registry.h"

/* ---- conversions ------------------------------------------------------------------- */

/* binary16 / bfloat16 by definition: sign, biased exponent, fraction, via ldexp. */
static double dt_decode(uint16_t h, int ebits, int mbits)
{
    int bias = (1 << (ebits - 1)) - 1;
    unsigned e = (h >> mbits) & ((1u << ebits) - 1), m = h & ((1u << mbits) - 1);
    double s = (h & 0x8000u) ? -1.0 : 1.0;
    if (e == (1u << ebits) - 1)
        return m ? NAN : s * INFINITY;
    if (e == 0)
        return s * ldexp((double)m, 1 - bias - mbits);
    return s * ldexp((double)((1u << mbits) | m), (int)e - bias - mbits);
}

/* Every pattern decodes as the definition says and round-trips through float32; between
 * every pair of neighbouring finite values, the midpoint goes to the one with the even
 * fraction and the floats either side of it to the nearer one. */
static void dt_exhaustive(int f16)
{
    int ebits = f16 ? 5 : 8, mbits = f16 ? 10 : 7;
    for (uint32_t h = 0; h < 0x10000u; h++) {
        double want = dt_decode((uint16_t)h, ebits, mbits);
        float got = f16 ? sono_f16_bits_to_f32((uint16_t)h) : sono_bf16_bits_to_f32((uint16_t)h);
        if (isnan(want)) {
            assert_true(isnan(got));
            uint16_t back = f16 ? sono_f32_to_f16_bits(got) : sono_f32_to_bf16_bits(got);
            assert_true(isnan(f16 ? sono_f16_bits_to_f32(back) : sono_bf16_bits_to_f32(back)));
            continue;
        }
        if ((double)got != want || !signbit(got) != !signbit(want))
            fail_msg("%s 0x%04x: decodes to %.9g, the definition %.9g", f16 ? "f16" : "bf16",
                     h, (double)got, want);
        uint16_t back = f16 ? sono_f32_to_f16_bits(got) : sono_f32_to_bf16_bits(got);
        if (back != h)
            fail_msg("%s 0x%04x: round trip gives 0x%04x", f16 ? "f16" : "bf16", h, back);
        uint32_t next = h + 1;
        if ((next & 0x7fffu) == 0)
            continue; /* 0x7fff + 1 crosses from the positive patterns to -0 */
        double b = dt_decode((uint16_t)next, ebits, mbits);
        if (!isfinite(b) || isnan(b))
            continue; /* h is the largest finite value: its neighbour is infinity */
        double mid = (want + b) / 2; /* exact in float32: one more bit than the format */
        float fm = (float)mid;
        assert_true((double)fm == mid);
        uint16_t even = (h & 1u) ? (uint16_t)next : (uint16_t)h;
        uint16_t r = f16 ? sono_f32_to_f16_bits(fm) : sono_f32_to_bf16_bits(fm);
        if (r != even)
            fail_msg("%s midpoint of 0x%04x and 0x%04x: got 0x%04x, ties to even 0x%04x",
                     f16 ? "f16" : "bf16", h, next, r, even);
        float below = nextafterf(fm, 0.0f), above = nextafterf(fm, fm > 0 ? INFINITY : -INFINITY);
        uint16_t rb = f16 ? sono_f32_to_f16_bits(below) : sono_f32_to_bf16_bits(below);
        uint16_t ra = f16 ? sono_f32_to_f16_bits(above) : sono_f32_to_bf16_bits(above);
        /* toward zero: the one of smaller magnitude, h (patterns grow with |x| per sign) */
        if (rb != h || ra != next)
            fail_msg("%s around the midpoint of 0x%04x: below -> 0x%04x, above -> 0x%04x",
                     f16 ? "f16" : "bf16", h, rb, ra);
    }
}

static void bf16_every_pattern(void **state)
{
    (void)state;
    dt_exhaustive(0);
}

static void f16_every_pattern(void **state)
{
    (void)state;
    dt_exhaustive(1);
}

/* The edges by hand: f16's largest finite 65504, its rounding boundary 65520 (a tie: to
 * infinity, the even side), the smallest subnormal 2^-24 and half of it (a tie to zero). */
static void f16_edges(void **state)
{
    (void)state;
    assert_int_equal(sono_f32_to_f16_bits(65504.0f), 0x7bff);
    assert_int_equal(sono_f32_to_f16_bits(65520.0f), 0x7c00);
    assert_int_equal(sono_f32_to_f16_bits(nextafterf(65520.0f, 0)), 0x7bff);
    assert_int_equal(sono_f32_to_f16_bits(-1e9f), 0xfc00);
    assert_int_equal(sono_f32_to_f16_bits(0x1p-24f), 0x0001);
    assert_int_equal(sono_f32_to_f16_bits(0x1p-25f), 0x0000);
    assert_int_equal(sono_f32_to_f16_bits(nextafterf(0x1p-25f, 1)), 0x0001);
    assert_int_equal(sono_f32_to_f16_bits(0x1p-14f), 0x0400); /* smallest normal */
    assert_int_equal(sono_f32_to_f16_bits(1.0f), 0x3c00);
    assert_int_equal(sono_f32_to_bf16_bits(1.0f), 0x3f80);
    assert_int_equal(sono_f32_to_bf16_bits(FLT_MAX), 0x7f80); /* past bf16's max: inf */
}

static uint64_t dt_s = 0x2545f4914f6cdd1dull;
static uint32_t dt_rand32(void)
{
    dt_s ^= dt_s >> 12;
    dt_s ^= dt_s << 25;
    dt_s ^= dt_s >> 27;
    return (uint32_t)((dt_s * 0x2545f4914f6cdd1dull) >> 32);
}

/* Round to nearest even at the dtype's ulp by rint in double: p kept fraction bits and
 * the least normal exponent emin (below it the ulp stays 2^(emin - p)). */
static double dt_rint(double x, int p, int emin)
{
    if (x == 0)
        return x;
    int e;
    frexp(x, &e); /* x = f 2^e, 0.5 <= |f| < 1: the leading bit is 2^(e-1) */
    int lead = e - 1 < emin ? emin : e - 1;
    double ulp = ldexp(1.0, lead - p);
    return rint(x / ulp) * ulp;
}

/* Random float32 bit patterns (finite, within each format's range) rounded by the code and
 * by rint at the ulp. */
static void random_floats_by_rint(void **state)
{
    (void)state;
    for (int i = 0; i < 2000000; i++) {
        uint32_t u = dt_rand32();
        float x;
        memcpy(&x, &u, sizeof x);
        if (!isfinite(x))
            continue;
        /* past the largest finite value the rounding overflows to infinity: float's
         * at 2^128 (the (float) conversion), f16's past 65504 */
        float tf = (float)dt_rint(x, 10, -126), bf = (float)dt_rint(x, 7, -126);
        double hf = dt_rint(x, 10, -14);
        float hff = fabs(hf) > 65504.0 ? copysignf(INFINITY, x) : (float)hf;
        if (sono_round_tf32(x) != tf)
            fail_msg("tf32 %a: %a, rint %a", (double)x, (double)sono_round_tf32(x), (double)tf);
        if (sono_nn_round(x, SONO_NN_BF16) != bf)
            fail_msg("bf16 %a: %a, rint %a", (double)x, (double)sono_nn_round(x, SONO_NN_BF16),
                     (double)bf);
        if (sono_nn_round(x, SONO_NN_F16) != hff)
            fail_msg("f16 %a: %a, rint %a", (double)x, (double)sono_nn_round(x, SONO_NN_F16),
                     (double)hff);
    }
}

/* ---- params and tolerances ----------------------------------------------------------- */

static sono_params dt_params(const char *opname, const char *const *kv)
{
    const sono_op *op = sono_op_find(opname);
    assert_non_null(op);
    sono_params p = {0};
    for (int i = 0; kv && kv[i]; i += 2) {
        sono_error err = {0};
        const sono_param_spec *s = sono_op_param(op, kv[i]);
        assert_non_null(s);
        assert_int_equal(sono_param_parse(s, kv[i + 1], &p.v[p.count++], &err), 0);
    }
    sono_params_defaults(op, &p);
    return p;
}

static void dtype_param_validated(void **state)
{
    (void)state;
    const char *with[] = {"attention", "attention.step", "vq.encode", "rvq.encode",
                          "rvq.decode", "conv1d", "codec.encodec", "whisper.encoder",
                          "wav2vec2.features", "codec.mimi", "codec.dac", "vocoder.hifigan",
                          "wavenet.stack", NULL};
    for (int i = 0; with[i]; i++) {
        const sono_param_spec *s = sono_op_param(sono_op_find(with[i]), "dtype");
        assert_non_null(s);
        sono_param v;
        sono_error err = {0};
        assert_int_not_equal(sono_param_parse(s, "fp8", &v, &err), 0);
        assert_non_null(strstr(err.msg, "f32|tf32|bf16|f16"));
        const char *ok[] = {"f32", "tf32", "bf16", "f16"};
        for (int k = 0; k < 4; k++) {
            assert_int_equal(sono_param_parse(s, ok[k], &v, &err), 0);
            sono_param_free(&v);
        }
    }
    /* an op without the param refuses it instead of running float32 under the label */
    assert_null(sono_op_param(sono_op_find("fft"), "dtype"));
    /* the CLI: exit status 2 and the choices named */
    cl_res r;
    cl_h(&r, NULL, "exec", "attention/cpu/naive", "--param", "dtype=bf8", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "f32|tf32|bf16|f16"));
    cl_free(&r);
}

static void unit_roundoffs(void **state)
{
    (void)state;
    assert_true(sono_nn_dtype_unit(SONO_NN_F32) == ldexp(1, -24));
    assert_true(sono_nn_dtype_unit(SONO_NN_TF32) == ldexp(1, -11));
    assert_true(sono_nn_dtype_unit(SONO_NN_BF16) == ldexp(1, -8));
    assert_true(sono_nn_dtype_unit(SONO_NN_F16) == ldexp(1, -11));
    /* u is half the gap above 1: the rounding of 1 + u goes to even (1), of 1 + 1.5u up */
    sono_nn_dtype ts[] = {SONO_NN_TF32, SONO_NN_BF16, SONO_NN_F16};
    for (int i = 0; i < 3; i++) {
        float u = (float)sono_nn_dtype_unit(ts[i]);
        assert_true(sono_nn_round(1.0f + u, ts[i]) == 1.0f);
        assert_true(sono_nn_round(1.0f + 1.5f * u, ts[i]) == 1.0f + 2 * u);
    }
}

/* Attention in float32 the way a tensor-core kernel does it in dtype t: scores from the
 * (already rounded) Q, K accumulated in float, softmax in float, each weight rounded to t
 * before P V, the normaliser from the unrounded weights. */
static void dt_attn_tc(const float *in, long long s, long long h, long long d, sono_nn_dtype t,
                       float *out)
{
    long long n = h * s * d;
    const float *Q = in, *K = in + n, *V = in + 2 * n;
    float *w = malloc((size_t)s * sizeof *w);
    assert_non_null(w);
    for (long long hh = 0; hh < h; hh++)
        for (long long i = 0; i < s; i++) {
            const float *q = Q + (hh * s + i) * d;
            float m = -INFINITY, l = 0;
            for (long long j = 0; j < s; j++) {
                float a = 0;
                for (long long c = 0; c < d; c++)
                    a += q[c] * K[(hh * s + j) * d + c];
                w[j] = a / sqrtf((float)d);
                m = w[j] > m ? w[j] : m;
            }
            float *o = out + (hh * s + i) * d;
            for (long long c = 0; c < d; c++)
                o[c] = 0;
            for (long long j = 0; j < s; j++) {
                float e = expf(w[j] - m), er = sono_nn_round(e, t);
                l += e;
                for (long long c = 0; c < d; c++)
                    o[c] += er * V[(hh * s + j) * d + c];
            }
            for (long long c = 0; c < d; c++)
                o[c] /= l;
        }
    free(w);
}

/* The attention tolerance's dtype term: a kernel that rounds P to bf16 passes the bf16
 * tolerance and its error is of the order of u_bf16 (far above float32's, so the term is
 * needed), and the term is 4 u_d exactly; vq's and conv1d's do not change with dtype. */
static void tolerance_formulas(void **state)
{
    (void)state;
    const char *kv[][9] = {{"seq", "256", "heads", "2", "head_dim", "64", "dtype", "bf16", NULL},
                           {"seq", "256", "heads", "2", "head_dim", "64", "dtype", "f16", NULL}};
    sono_nn_dtype ts[] = {SONO_NN_BF16, SONO_NN_F16};
    const sono_op *op = sono_op_find("attention");
    sono_params p32 = dt_params("attention", (const char *const[]){"seq", "256", "heads", "2",
                                                                    "head_dim", "64", NULL});
    for (int k = 0; k < 2; k++) {
        sono_params p = dt_params("attention", kv[k]);
        double t32 = op->tolerance(&p32, SONO_ERR_LINEAR), t = op->tolerance(&p, SONO_ERR_LINEAR);
        assert_true(fabs(t - t32 - 4 * sono_nn_dtype_unit(ts[k])) < 1e-15);
        sono_buf in, out, ref;
        op->shapes(&p, &in, &out);
        ref = out;
        ref.dtype = SONO_F64;
        sono_error err = {0};
        assert_int_equal(sono_buf_alloc(&in, &err), 0);
        assert_int_equal(sono_buf_alloc(&out, &err), 0);
        assert_int_equal(sono_buf_alloc(&ref, &err), 0);
        assert_int_equal(op->input(&p, NULL, 0, &in, &err), 0);
        /* the hook stored the inputs in the dtype */
        const float *v = in.data;
        for (long long i = 0; i < sono_buf_elems(&in); i++)
            assert_true(sono_nn_round(v[i], ts[k]) == v[i]);
        dt_attn_tc(in.data, 256, 2, 64, ts[k], out.data);
        assert_int_equal(op->reference(&p, &in, &ref, &err), 0);
        double num = 0, den = 0;
        const float *o = out.data;
        const double *r = ref.data;
        for (long long i = 0; i < sono_buf_elems(&out); i++) {
            num += (o[i] - r[i]) * (o[i] - r[i]);
            den += r[i] * r[i];
        }
        double rel = sqrt(num / den);
        print_message("%s: P rounded to the dtype: rel_l2 %.3g, tol %.3g (float32's %.3g)\n",
                      sono_nn_dtype_name(ts[k]), rel, t, t32);
        assert_true(rel <= t);
        assert_true(rel > t32); /* the rounding of P is what the term is for */
        assert_true(rel > 0.05 * sono_nn_dtype_unit(ts[k]));
        sono_buf_free(&in);
        sono_buf_free(&out);
        sono_buf_free(&ref);
        sono_params_free(&p);
    }
    sono_params_free(&p32);
    const char *same[] = {"vq.encode", "rvq.encode", "conv1d", NULL};
    for (int i = 0; same[i]; i++) {
        const sono_op *o = sono_op_find(same[i]);
        sono_params a = dt_params(same[i], NULL);
        sono_params b = dt_params(same[i], (const char *const[]){"dtype", "bf16", NULL});
        assert_true(o->tolerance(&a, SONO_ERR_LINEAR) == o->tolerance(&b, SONO_ERR_LINEAR));
        sono_params_free(&a);
        sono_params_free(&b);
    }
}

/* ---- impls ------------------------------------------------------------------------------ */

/* The impl of op whose full name is full, from build/plugins (NULL when not there). */
static const sono_impl_entry *dt_impl(sono_reg *R, const char *op, const char *full)
{
    for (int i = 0; i < R->nimpls; i++)
        if (!strcmp(R->impls[i].op->name, op) && !strcmp(R->impls[i].full, full))
            return &R->impls[i];
    return NULL;
}

/* Runs e once on in (its op's input hook's values) into out. */
static void dt_run(const sono_impl_entry *e, const sono_params *p, const sono_buf *in,
                   sono_buf *out)
{
    sono_error err = {0};
    void *st = NULL;
    if (e->impl->setup(e->impl->ctx, p, &st, &err) || e->impl->load(st, in, &err))
        fail_msg("%s: %s", e->full, err.msg);
    assert_int_equal(e->impl->run(st), 0);
    assert_int_equal(e->impl->store(st, out, &err), 0);
    e->impl->teardown(st);
}

static double dt_rel_l2(const float *o, const float *m, long long n)
{
    double num = 0, den = 0;
    for (long long i = 0; i < n; i++) {
        num += ((double)o[i] - m[i]) * ((double)o[i] - m[i]);
        den += (double)m[i] * m[i];
    }
    return sqrt(num / den);
}

/* cpu/avx512bf16's attention.step against the same arithmetic written plainly (token L's
 * row: scores in float, P rounded to bf16 to nearest even, the normaliser unrounded), on
 * a cache of 300 tokens, odd head_dim 37 (a zero-padded pair), at 1 and 3 lanes. */
static void cpu_bf16_attention_step_matches_emulation(void **state)
{
    (void)state;
    if (!__builtin_cpu_supports("avx512bf16")) {
        print_message("this CPU lacks AVX-512 BF16\n");
        skip();
    }
    sono_reg R;
    assert_int_equal(sono_reg_init(&R, NULL), 0);
    sono_reg_load_dir(&R, "build/plugins");
    const sono_impl_entry *e = dt_impl(&R, "attention.step", "cpu/avx512bf16");
    assert_non_null(e);
    const long long H = 3, d = 37, L = 300;
    const char *threads[] = {"1", "3"};
    for (int t = 0; t < 2; t++) {
        sono_params p = dt_params("attention.step",
                                  (const char *const[]){"heads", "3", "head_dim", "37",
                                                        "cache_len", "300", "dtype", "bf16",
                                                        "threads", threads[t], NULL});
        sono_buf in, out;
        e->op->shapes(&p, &in, &out);
        sono_error err = {0};
        assert_int_equal(sono_buf_alloc(&in, &err), 0);
        assert_int_equal(sono_buf_alloc(&out, &err), 0);
        assert_int_equal(e->op->input(&p, NULL, 0, &in, &err), 0);
        dt_run(e, &p, &in, &out);
        const float *Kc = in.data, *Vc = Kc + H * L * d, *q = Vc + H * L * d, *k = q + H * d,
                    *v = k + H * d;
        float *emu = calloc((size_t)(H * d), sizeof *emu), *w = malloc((L + 1) * sizeof *w);
        assert_true(emu && w);
        for (long long h = 0; h < H; h++) {
            float m = -INFINITY, l = 0;
            for (long long j = 0; j <= L; j++) {
                const float *kj = j < L ? Kc + (h * L + j) * d : k + h * d;
                float a = 0;
                for (long long c = 0; c < d; c++)
                    a += q[h * d + c] * kj[c];
                w[j] = a / sqrtf((float)d);
                m = w[j] > m ? w[j] : m;
            }
            for (long long j = 0; j <= L; j++) {
                const float *vj = j < L ? Vc + (h * L + j) * d : v + h * d;
                float ex = expf(w[j] - m), er = sono_nn_round(ex, SONO_NN_BF16);
                l += ex;
                for (long long c = 0; c < d; c++)
                    emu[h * d + c] += er * vj[c];
            }
            for (long long c = 0; c < d; c++)
                emu[h * d + c] /= l;
        }
        double rel = dt_rel_l2(out.data, emu, H * d);
        print_message("attention.step threads=%s: rel_l2 against the emulation %.3g\n",
                      threads[t], rel);
        assert_true(rel < 1e-4);
        free(emu);
        free(w);
        sono_buf_free(&in);
        sono_buf_free(&out);
        sono_params_free(&p);
    }
    sono_reg_free(&R);
}

/* cpu/avx512bf16's attention against dt_attn_tc, the same arithmetic written plainly: P
 * rounded to bf16 to nearest even, the normaliser unrounded. They may differ by float32
 * summation order, and where that moves an exp across a bf16 rounding boundary, by one
 * bf16 step of one weight: far below the bf16 term of the tolerance (the kernel would
 * pass that with P truncated, or the normaliser summed from rounded weights). */
static void cpu_bf16_attention_matches_emulation(void **state)
{
    (void)state;
    if (!__builtin_cpu_supports("avx512bf16")) {
        print_message("this CPU lacks AVX-512 BF16\n");
        skip();
    }
    sono_reg R;
    assert_int_equal(sono_reg_init(&R, NULL), 0);
    sono_reg_load_dir(&R, "build/plugins");
    const sono_impl_entry *e = NULL;
    for (int i = 0; i < R.nimpls; i++)
        if (!strcmp(R.impls[i].op->name, "attention") && !strcmp(R.impls[i].full, "cpu/avx512bf16"))
            e = &R.impls[i];
    assert_non_null(e);
    const char *threads[] = {"1", "3"};
    for (int t = 0; t < 2; t++) {
        sono_params p = dt_params("attention", (const char *const[]){"seq", "200", "heads",
                                                                      "2", "head_dim", "48",
                                                                      "dtype", "bf16", "threads",
                                                                      threads[t], NULL});
        sono_buf in, out, emu;
        e->op->shapes(&p, &in, &out);
        emu = out;
        sono_error err = {0};
        assert_int_equal(sono_buf_alloc(&in, &err), 0);
        assert_int_equal(sono_buf_alloc(&out, &err), 0);
        assert_int_equal(sono_buf_alloc(&emu, &err), 0);
        assert_int_equal(e->op->input(&p, NULL, 0, &in, &err), 0);
        void *st = NULL;
        assert_int_equal(e->impl->setup(e->impl->ctx, &p, &st, &err), 0);
        assert_int_equal(e->impl->load(st, &in, &err), 0);
        assert_int_equal(e->impl->run(st), 0);
        assert_int_equal(e->impl->store(st, &out, &err), 0);
        e->impl->teardown(st);
        dt_attn_tc(in.data, 200, 2, 48, SONO_NN_BF16, emu.data);
        const float *o = out.data, *m = emu.data;
        double num = 0, den = 0;
        for (long long i = 0; i < sono_buf_elems(&out); i++) {
            num += ((double)o[i] - m[i]) * ((double)o[i] - m[i]);
            den += (double)m[i] * m[i];
        }
        double rel = sqrt(num / den);
        print_message("threads=%s: rel_l2 against the emulation %.3g\n", threads[t], rel);
        assert_true(rel < 1e-4);
        sono_buf_free(&in);
        sono_buf_free(&out);
        sono_buf_free(&emu);
        sono_params_free(&p);
    }
    sono_reg_free(&R);
}

/* Where a plugin is loaded: the float32-only impls refuse dtype=bf16 with the reason, the
 * CPU rungs accept it. Impls of a backend that is not available here are not listed. */
static void skips_with_reasons(void **state)
{
    (void)state;
    sono_reg R;
    setenv("XDG_CACHE_HOME", cl_tmp, 1); /* codec.mimi's random weights */
    assert_int_equal(sono_reg_init(&R, NULL), 0);
    sono_reg_load_dir(&R, "build/plugins");
    const char *ops[] = {"attention", "attention.step", "vq.encode", "rvq.encode", "conv1d",
                         "codec.mimi", "codec.dac", "vocoder.hifigan", "wavenet.stack", NULL};
    int refused = 0, accepted = 0;
    for (int i = 0; i < R.nimpls; i++) {
        const sono_impl_entry *e = &R.impls[i];
        int mine = 0;
        for (int k = 0; ops[k]; k++)
            mine |= strcmp(e->op->name, ops[k]) == 0;
        if (!mine)
            continue;
        /* the codecs at small dims, mode encode (a reduced dtype refuses the round trip),
         * their weights written by the op's validate as the harness's planning does */
        const char *mimi[] = {"mode", "encode", "filters", "4", "hidden", "32", "layers", "2",
                              "heads", "4", "ffn", "64", "codebooks", "8", "codebook_size",
                              "64", "codebook_dim", "16", "ratios", "4.3.2", "dtype", "bf16",
                              NULL},
                   *dac[] = {"mode", "encode", "weights", "tests/data/dac/tiny.safetensors",
                             "n_q", "3", "dtype", "bf16", NULL},
                   *hifigan[] = {"config", "custom", "channels", "32", "frames", "20",
                                 "dtype", "bf16", NULL},
                   *wavenet[] = {"channels", "16", "stacks", "2", "cycle", "4", "cond", "4",
                                 "seconds", "0.02", "dtype", "bf16", NULL},
                   *plain[] = {"dtype", "bf16", NULL};
        const char *const *kv = !strcmp(e->op->name, "codec.mimi")        ? mimi
                                : !strcmp(e->op->name, "codec.dac")       ? dac
                                : !strcmp(e->op->name, "vocoder.hifigan") ? hifigan
                                : !strcmp(e->op->name, "wavenet.stack")   ? wavenet
                                                                          : plain;
        sono_params p = dt_params(e->op->name, kv);
        sono_error verr = {0};
        if (e->op->validate && e->op->validate(&p, &verr))
            fail_msg("%s: %s", e->op->name, verr.msg);
        char why[512] = "";
        int rc = e->impl->supports(e->impl->ctx, &p, why, sizeof why);
        int cpu_rung = (!strncmp(e->full, "cpu/", 4) || !strncmp(e->full, "blas/", 5)) &&
                       strcmp(e->impl->name, "avx512bf16") != 0; /* a CPU feature */
        if (cpu_rung && rc)
            fail_msg("%s %s refuses bf16: %s", e->op->name, e->full, why);
        int tc = !strcmp(e->impl->name, "flash2") || !strcmp(e->impl->name, "vq-tc") ||
                 !strcmp(e->impl->name, "conv-tc") || !strcmp(e->impl->name, "rvq-tc") ||
                 !strcmp(e->impl->name, "vq-lt") || /* issue 26: cuBLASLt, every dtype */
                 (!strcmp(e->impl->name, "vq-cublas") && !strcmp(e->op->name, "vq.encode"));
        if (!strncmp(e->full, "cuda/", 5) && !tc) {
            assert_int_equal(rc, SONO_EUNSUPPORTED);
            assert_non_null(strstr(why, "float32 only"));
        }
        if (!strcmp(e->impl->name, "conv-tc") || !strcmp(e->impl->name, "rvq-tc") ||
            !strcmp(e->impl->name, "vq-tc")) { /* f32 means IEEE float32: refused */
            sono_params f = dt_params(e->op->name, NULL);
            char w32[512] = "";
            assert_int_equal(e->impl->supports(e->impl->ctx, &f, w32, sizeof w32),
                             SONO_EUNSUPPORTED);
            assert_non_null(strstr(w32, "dtype=f32"));
            assert_non_null(strstr(w32, "float32 rungs"));
            sono_params_free(&f);
        }
        if (!strcmp(e->full, "py/torch")) {
            assert_int_equal(rc, SONO_EUNSUPPORTED);
            assert_non_null(strstr(why, "dtype=bf16"));
        }
        refused += rc != 0;
        accepted += rc == 0;
        sono_params_free(&p);
    }
    print_message("dtype=bf16: %d impls accept, %d refuse with a reason\n", accepted, refused);
    assert_true(accepted >= 18); /* cpu/naive and blas rungs of the nine ops */
    sono_reg_free(&R);
}

static void cpu_impls_in_each_dtype(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/dtype.json", cl_tmp);
    setenv("XDG_CACHE_HOME", cl_tmp, 1); /* the codecs' random weights, written by the run */
    cl_res r;
    cl_h(&r, NULL, "run", "tests/data/dtype/dtype.ini", "--out", out, "--quiet", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *doc = cl_load(out);
    json_t *cases = json_object_get(doc, "cases");
    int seen[4] = {0}, noted = 0;
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *status = cl_str(c, "status"), *dt = cl_str(c, "params.dtype");
        if (!strcmp(cl_str(c, "impl"), "cpu/avx512bf16") && !strcmp(status, "skip")) {
            /* only on a CPU without the instructions, and saying so */
            assert_false(__builtin_cpu_supports("avx512bf16"));
            assert_non_null(strstr(cl_str(c, "message"), "lacks AVX-512 BF16"));
            continue;
        }
        if (strcmp(status, "ok") != 0)
            fail_msg("%s: %s", cl_str(c, "id"), status);
        assert_true(json_is_true(cl_get(c, "check.pass")));
        int k = !strcmp(dt, "tf32") ? 1 : !strcmp(dt, "bf16") ? 2 : !strcmp(dt, "f16") ? 3 : 0;
        seen[k]++;
        json_t *d = cl_get(c, "describe");
        const char *desc = json_is_string(d) ? json_string_value(d) : "";
        if (k && !strcmp(cl_str(c, "impl"), "cpu/avx512bf16")) {
            assert_non_null(strstr(desc, "VDPBF16PS"));
        } else if (k) {
            char want[64];
            snprintf(want, sizeof want, "%s via fp32 on %s-rounded inputs", dt, dt);
            if (!strstr(desc, want))
                fail_msg("%s: describe '%s' lacks '%s'", cl_str(c, "id"), desc, want);
            noted++;
        } else {
            assert_null(strstr(desc, "via fp32"));
        }
    }
    for (int k = 0; k < 4; k++)
        assert_true(seen[k] > 0);
    assert_true(noted > 0);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bf16_every_pattern),
        cmocka_unit_test(f16_every_pattern),
        cmocka_unit_test(f16_edges),
        cmocka_unit_test(random_floats_by_rint),
        cmocka_unit_test(unit_roundoffs),
        cmocka_unit_test(dtype_param_validated),
        cmocka_unit_test(tolerance_formulas),
        cmocka_unit_test(skips_with_reasons),
        cmocka_unit_test(cpu_bf16_attention_matches_emulation),
        cmocka_unit_test(cpu_bf16_attention_step_matches_emulation),
        cmocka_unit_test(cpu_impls_in_each_dtype),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
