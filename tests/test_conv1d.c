/* test_conv1d.c — the float64 reference of conv1d (conv64.c through the op) against values
 * worked by hand, the adjoint identity between conv and transposed conv, groups as
 * separate convs, ELU and Snake values, causality (no output reads later input), output
 * lengths by PyTorch's formulas, the packed input the op builds, and its tolerance: a
 * float32 conv written here passes it, one with a tap dropped fails it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "input.h"
#include "op.h"
#include "params.h"

static uint64_t cv_seed = 0x1234567ull;

/* splitmix64, uniform in [-1, 1) with 24 bits, so values are exact in float */
static float cv_rand(void)
{
    uint64_t z = (cv_seed += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (float)((double)(z >> 40) * 0x1p-23 - 1.0);
}

/* conv1d params from "k=v,k=v" plus the defaults; free with sono_params_free. */
static sono_params cv_params(const char *text)
{
    const sono_op *op = sono_op_find("conv1d");
    assert_non_null(op);
    sono_params p = {0};
    char *buf = strdup(text), *save = NULL;
    assert_non_null(buf);
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        assert_non_null(eq);
        *eq = '\0';
        const sono_param_spec *s = sono_op_param(op, tok);
        if (!s)
            fail_msg("conv1d has no parameter %s", tok);
        sono_error err = {0};
        if (sono_param_parse(s, eq + 1, &p.v[p.count], &err))
            fail_msg("%s=%s: %s", tok, eq + 1, err.msg);
        p.count++;
    }
    free(buf);
    sono_params_defaults(op, &p);
    sono_error err = {0};
    if (op->validate(&p, &err))
        fail_msg("%s: %s", text, err.msg);
    return p;
}

/* Input and output element counts the op declares for p. */
static void cv_sizes(const sono_params *p, long long *nin, long long *rows, long long *cols)
{
    sono_buf in, out;
    sono_op_find("conv1d")->shapes(p, &in, &out);
    *nin = sono_buf_elems(&in);
    *rows = out.shape[0];
    *cols = out.shape[1];
}

/* The reference of "text" on the packed input in; a malloc'ed [rows, cols] array. */
static double *cv_ref(const char *text, const float *in, long long *rows, long long *cols)
{
    sono_params p = cv_params(text);
    const sono_op *op = sono_op_find("conv1d");
    sono_buf bi, bo;
    op->shapes(&p, &bi, &bo);
    bi.data = (void *)in;
    bo.dtype = SONO_F64;
    bo.data = malloc(sizeof(double) * (size_t)sono_buf_elems(&bo));
    assert_non_null(bo.data);
    sono_error err = {0};
    if (op->reference(&p, &bi, &bo, &err))
        fail_msg("%s: %s", text, err.msg);
    if (rows)
        *rows = bo.shape[0];
    if (cols)
        *cols = bo.shape[1];
    sono_params_free(&p);
    return bo.data;
}

static float *cv_random_input(const char *text, long long *nin)
{
    sono_params p = cv_params(text);
    long long r, c;
    cv_sizes(&p, nin, &r, &c);
    float *in = malloc(sizeof(float) * (size_t)*nin);
    assert_non_null(in);
    for (long long i = 0; i < *nin; i++)
        in[i] = cv_rand();
    sono_params_free(&p);
    return in;
}

/* ---- by hand ------------------------------------------------------------------------ */

/* x = 1 2 3 4 5, W = [1, 2, 3], dilation 2, causal: 4 zeros on the left, so
 * y[t] = 1 x[t-4] + 2 x[t-2] + 3 x[t]: 3, 6, 9+2, 12+4, 15+6+1. */
static void hand_causal_dilated(void **state)
{
    (void)state;
    float in[] = {1, 2, 3, 4, 5, /* W */ 1, 2, 3, /* b */ 0};
    long long rows, cols;
    double *y = cv_ref("cin=1,cout=1,kernel=3,dilation=2,causal=1,length=5", in, &rows, &cols);
    double want[] = {3, 6, 11, 16, 22};
    assert_int_equal(rows, 1);
    assert_int_equal(cols, 5);
    for (int t = 0; t < 5; t++)
        assert_true(y[t] == want[t]);
    free(y);
    /* stride 2 keeps t = 0, 2, 4; a bias of 0.5 adds to each */
    in[8] = 0.5f;
    y = cv_ref("cin=1,cout=1,kernel=3,dilation=2,stride=2,causal=1,length=5", in, &rows, &cols);
    assert_int_equal(cols, 3);
    assert_true(y[0] == 3.5 && y[1] == 11.5 && y[2] == 22.5);
    free(y);
    /* valid: one output, 1 x[0] + 2 x[2] + 3 x[4] + 0.5 */
    y = cv_ref("cin=1,cout=1,kernel=3,dilation=2,causal=0,length=5", in, &rows, &cols);
    assert_int_equal(cols, 1);
    assert_true(y[0] == 22.5);
    free(y);
}

/* Transposed, by hand: x = [1, 2], W = [1, 10, 100], stride 2: full output
 * 1 10 100 | shifted by 2: 2 20 200 -> 1 10 102 20 200 (length (2-1)*2 + 2 + 1 = 5);
 * causal drops the last 3 - 2 = 1: 1 10 102 20. */
static void hand_transposed(void **state)
{
    (void)state;
    float in[] = {1, 2, /* W */ 1, 10, 100, /* b */ 0};
    long long rows, cols;
    double *y = cv_ref("cin=1,cout=1,kernel=3,stride=2,transposed=1,causal=0,length=2", in,
                       &rows, &cols);
    double want[] = {1, 10, 102, 20, 200};
    assert_int_equal(cols, 5);
    for (int t = 0; t < 5; t++)
        assert_true(y[t] == want[t]);
    free(y);
    y = cv_ref("cin=1,cout=1,kernel=3,stride=2,transposed=1,causal=1,length=2", in, &rows,
               &cols);
    assert_int_equal(cols, 4);
    for (int t = 0; t < 4; t++)
        assert_true(y[t] == want[t]);
    free(y);
}

/* ---- identities --------------------------------------------------------------------- */

/* A valid conv A (cin -> cout, stride s, dilation, groups) and the transposed conv with
 * the same weight tensor (cout -> cin) are adjoint: <A x, y> = <x, A^T y>, when the
 * length T = (T_out - 1) s + dil (k - 1) + 1 is covered exactly. Bias 0. */
static void transposed_is_adjoint(void **state)
{
    (void)state;
    const long long cin = 4, cout = 6, k = 5, s = 3, dil = 2, G = 2, tout = 17;
    const long long T = (tout - 1) * s + dil * (k - 1) + 1, nw = cout * (cin / G) * k;
    char a[256], at[256];
    snprintf(a, sizeof a, "cin=%lld,cout=%lld,kernel=%lld,stride=%lld,dilation=%lld,"
             "groups=%lld,causal=0,length=%lld", cin, cout, k, s, dil, G, T);
    snprintf(at, sizeof at, "cin=%lld,cout=%lld,kernel=%lld,stride=%lld,dilation=%lld,"
             "groups=%lld,causal=0,transposed=1,length=%lld", cout, cin, k, s, dil, G, tout);
    float *ax = malloc(sizeof(float) * (size_t)(cin * T + nw + cout));
    float *aty = malloc(sizeof(float) * (size_t)(cout * tout + nw + cin));
    assert_non_null(ax);
    assert_non_null(aty);
    for (long long i = 0; i < cin * T; i++)
        ax[i] = cv_rand();
    for (long long i = 0; i < cout * tout; i++)
        aty[i] = cv_rand();
    for (long long i = 0; i < nw; i++)
        ax[cin * T + i] = aty[cout * tout + i] = cv_rand();
    memset(ax + cin * T + nw, 0, sizeof(float) * (size_t)cout);
    memset(aty + cout * tout + nw, 0, sizeof(float) * (size_t)cin);
    long long r1, c1, r2, c2;
    double *y1 = cv_ref(a, ax, &r1, &c1), *y2 = cv_ref(at, aty, &r2, &c2);
    assert_int_equal(r1, cout);
    assert_int_equal(c1, tout);
    assert_int_equal(r2, cin);
    assert_int_equal(c2, T);
    double lhs = 0, rhs = 0, scale = 0;
    for (long long i = 0; i < cout * tout; i++) {
        lhs += y1[i] * aty[i];
        scale += fabs(y1[i] * aty[i]);
    }
    for (long long i = 0; i < cin * T; i++)
        rhs += ax[i] * y2[i];
    assert_true(fabs(lhs - rhs) <= 1e-12 * scale);
    assert_true(fabs(lhs) > 1e-3 * scale); /* not zero by accident */
    free(ax);
    free(aty);
    free(y1);
    free(y2);
}

/* groups=2 (cin 4, cout 6) is two convs of cin 2 -> cout 3 on the channel halves. */
static void groups_are_separate_convs(void **state)
{
    (void)state;
    const long long T = 40, k = 3, nwg = 3 * 2 * k;
    long long nin;
    float *in = cv_random_input("cin=4,cout=6,kernel=3,stride=2,groups=2,length=40", &nin);
    assert_int_equal(nin, 4 * T + 2 * nwg + 6);
    double *y = cv_ref("cin=4,cout=6,kernel=3,stride=2,groups=2,length=40", in, NULL, NULL);
    long long cols = (T - 1) / 2 + 1; /* causal, stride 2: ceil(T/2) */
    for (int g = 0; g < 2; g++) {
        float part[2 * 40 + 18 + 3];
        memcpy(part, in + g * 2 * T, sizeof(float) * 2 * T);
        memcpy(part + 2 * T, in + 4 * T + g * nwg, sizeof(float) * nwg);
        memcpy(part + 2 * T + nwg, in + 4 * T + 2 * nwg + g * 3, sizeof(float) * 3);
        long long r, c;
        double *yg = cv_ref("cin=2,cout=3,kernel=3,stride=2,length=40", part, &r, &c);
        assert_int_equal(c, cols);
        for (long long i = 0; i < 3 * cols; i++)
            assert_true(fabs(yg[i] - y[g * 3 * cols + i]) <= 1e-15 * (1 + fabs(yg[i])));
        free(yg);
    }
    free(in);
    free(y);
}

/* ELU(z) = z for z > 0, e^z - 1 otherwise; Snake(z) = z + sin^2(a z)/a. Values of
 * e^-1 - 1, e^-0.5 - 1 and sin(1)^2/2 from tables. */
static void activations(void **state)
{
    (void)state;
    float elu[] = {-1, 0, 2, -0.5f, /* W */ 1, /* b */ 0};
    double *y = cv_ref("cin=1,cout=1,kernel=1,length=4,activation=elu", elu, NULL, NULL);
    assert_true(fabs(y[0] - -0.63212055882855767) < 1e-15);
    assert_true(y[1] == 0 && y[2] == 2);
    assert_true(fabs(y[3] - -0.39346934028736658) < 1e-15);
    free(y);
    float snake[] = {0.5f, 0, -0.5f, /* W */ 1, /* b */ 0, /* alpha */ 2};
    y = cv_ref("cin=1,cout=1,kernel=1,length=3,activation=snake", snake, NULL, NULL);
    assert_true(fabs(y[0] - 0.85403670913678565) < 1e-15); /* 0.5 + sin(1)^2 / 2 */
    assert_true(y[1] == 0);
    assert_true(fabs(y[2] - (-0.5 + 0.35403670913678565)) < 1e-15);
    free(y);
}

/* ---- causality ---------------------------------------------------------------------- */

/* Changing every channel of x at t0 and after leaves every output that may only see
 * earlier input unchanged (conv: t*stride < t0; transposed: u < t0*stride), and changes
 * some later one; the valid conv, which looks ahead, changes an earlier one. */
static void check_future(const char *text, long long t0, long long stride, int transposed,
                         int expect_causal)
{
    long long nin, rows, cols;
    float *in = cv_random_input(text, &nin);
    sono_params p = cv_params(text);
    long long cin = sono_param_int(&p, "cin", 0), T = sono_param_int(&p, "length", 0);
    sono_params_free(&p);
    double *y1 = cv_ref(text, in, &rows, &cols);
    for (long long c = 0; c < cin; c++)
        for (long long t = t0; t < T; t++)
            in[c * T + t] += 0.25f;
    double *y2 = cv_ref(text, in, NULL, NULL);
    long long first = transposed ? t0 * stride : (t0 + stride - 1) / stride; /* first output that may change */
    int early = 0, late = 0;
    for (long long r = 0; r < rows; r++)
        for (long long t = 0; t < cols; t++) {
            int differs = y1[r * cols + t] != y2[r * cols + t];
            early |= differs && t < first;
            late |= differs && t >= first;
        }
    assert_int_equal(early, !expect_causal);
    assert_true(late);
    free(in);
    free(y1);
    free(y2);
}

static void never_reads_the_future(void **state)
{
    (void)state;
    check_future("cin=3,cout=2,kernel=3,dilation=4,length=64", 30, 1, 0, 1);
    check_future("cin=3,cout=4,kernel=4,stride=2,groups=1,length=64,activation=elu", 31, 2, 0, 1);
    check_future("cin=4,cout=4,kernel=5,stride=3,groups=2,dilation=2,length=64,"
                 "activation=snake", 40, 3, 0, 1);
    check_future("cin=2,cout=3,kernel=16,stride=8,transposed=1,length=20", 9, 8, 1, 1);
    check_future("cin=2,cout=2,kernel=3,stride=2,dilation=3,transposed=1,length=20", 5, 2, 1, 1);
    check_future("cin=3,cout=2,kernel=3,dilation=4,causal=0,length=64", 30, 1, 0, 0);
}

/* ---- sizes, input, validation ------------------------------------------------------- */

static void output_lengths(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        long long tout;
    } cases[] = {
        {"kernel=7,length=24000", 24000},                        /* causal, stride 1 */
        {"kernel=4,stride=2,length=12", 6},                      /* causal: ceil(T/s) */
        {"kernel=4,stride=2,causal=0,length=12", 5},             /* (12-3-1)/2 + 1 */
        {"kernel=3,dilation=3,causal=0,length=10", 4},           /* 10 - 6 */
        {"kernel=16,stride=8,transposed=1,length=75", 600},      /* T * stride */
        {"kernel=16,stride=8,transposed=1,causal=0,length=75", 608}, /* 74*8 + 16 */
        {"kernel=2,stride=5,transposed=1,length=9", 42},         /* (9-1)*5 + 2, no trim */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sono_params p = cv_params(cases[i].text);
        long long nin, rows, cols;
        cv_sizes(&p, &nin, &rows, &cols);
        if (cols != cases[i].tout)
            fail_msg("%s: T_out %lld, expected %lld", cases[i].text, cols, cases[i].tout);
        sono_params_free(&p);
    }
}

static void refused_params(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("conv1d");
    static const char *const bad[][2] = {
        {"groups=3", "groups"},                 /* 32 channels */
        {"causal=0,kernel=9,length=8", "length"}, /* shorter than the kernel, no padding */
        {"cin=4096,cout=4096,kernel=64,length=100000", "2^"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sono_params p = {0};
        char *buf = strdup(bad[i][0]), *save = NULL;
        for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(tok, '=');
            *eq = 0;
            sono_error e = {0};
            assert_int_equal(sono_param_parse(sono_op_param(op, tok), eq + 1, &p.v[p.count++], &e), 0);
        }
        free(buf);
        sono_params_defaults(op, &p);
        sono_error err = {0};
        assert_int_equal(op->validate(&p, &err), SONO_EINVAL);
        if (!strstr(err.msg, bad[i][1]))
            fail_msg("%s: message '%s' does not name %s", bad[i][0], err.msg, bad[i][1]);
        sono_params_free(&p);
    }
}

/* op->input on an impulse at 10: channel c holds +-g_c at 10 + c, |g_c| in [0.5, 1),
 * channel 0 exactly 1; W and b within 1/sqrt(fan_in); Snake's alpha in [0.25, 2). */
static void packed_input(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("conv1d");
    sono_params p = cv_params("cin=4,cout=6,kernel=3,groups=2,length=50,activation=snake");
    sono_buf in, out;
    op->shapes(&p, &in, &out);
    sono_error err = {0};
    assert_int_equal(sono_buf_alloc(&in, &err), 0);
    sono_input_spec spec;
    assert_int_equal(sono_input_parse("impulse(pos=10)", NULL, &spec, &err), 0);
    assert_int_equal(op->input(&p, &spec, 24000, &in, &err), 0);
    const float *x = in.data;
    for (int c = 0; c < 4; c++)
        for (int t = 0; t < 50; t++) {
            float v = x[c * 50 + t];
            if (t != 10 + c)
                assert_true(v == 0);
            else if (c == 0)
                assert_true(v == 1);
            else
                assert_true(fabsf(v) >= 0.5f && fabsf(v) < 1);
        }
    const float *w = x + 200, bound = 1.0f / sqrtf(2 * 3); /* fan_in: cin/G * k */
    int over_half = 0;
    for (int i = 0; i < 6 * 2 * 3 + 6; i++) {
        assert_true(fabsf(w[i]) <= bound);
        over_half += fabsf(w[i]) > bound / 2;
    }
    assert_true(over_half > 5); /* spread over the range, not all tiny */
    for (int i = 0; i < 6; i++)
        assert_true(w[42 + i] >= 0.25f && w[42 + i] < 2);
    sono_buf_free(&in);
    sono_params_free(&p);
}

/* ---- tolerance ---------------------------------------------------------------------- */

/* A float32 direct conv, with tap `drop` skipped (-1: none). */
static void cv_float_conv(long long cin, long long cout, long long k, long long T,
                          const float *in, float *y, long long drop)
{
    const float *x = in, *w = in + cin * T, *b = w + cout * cin * k;
    for (long long co = 0; co < cout; co++)
        for (long long t = 0; t < T; t++) {
            float acc = b[co];
            for (long long c = 0; c < cin; c++)
                for (long long j = 0; j < k; j++) {
                    long long u = t + j - (k - 1);
                    if (u >= 0 && j != drop)
                        acc += w[(co * cin + c) * k + j] * x[c * T + u];
                }
            y[co * T + t] = acc;
        }
}

static void tolerance_separates(void **state)
{
    (void)state;
    const char *text = "cin=64,cout=8,kernel=7,length=300";
    const sono_op *op = sono_op_find("conv1d");
    long long nin, rows, cols;
    float *in = cv_random_input(text, &nin);
    double *ref = cv_ref(text, in, &rows, &cols);
    float *y = malloc(sizeof(float) * (size_t)(rows * cols));
    assert_non_null(y);
    sono_params p = cv_params(text);
    double tol = op->tolerance(&p, SONO_ERR_LINEAR);
    sono_buf bo = {.dtype = SONO_F32, .ndim = 2, .shape = {rows, cols}, .data = y};
    sono_buf br = {.dtype = SONO_F64, .ndim = 2, .shape = {rows, cols}, .data = ref};
    sono_check c;
    sono_error err = {0};
    cv_float_conv(64, 8, 7, 300, in, y, -1);
    assert_int_equal(sono_check_output(&bo, &br, tol, &c, &err), 0);
    assert_true(c.pass);
    assert_true(c.rel_l2 * 10 < tol); /* with room */
    cv_float_conv(64, 8, 7, 300, in, y, 3);
    assert_int_equal(sono_check_output(&bo, &br, tol, &c, &err), 0);
    assert_false(c.pass);
    assert_true(c.rel_l2 > 100 * tol);
    /* the worst-case linear growth: eps * (cin*k) for 448 terms */
    assert_true(fabs(tol - FLT_EPSILON * (64 * 7 + 8)) < 1e-12);
    sono_params_free(&p);
    free(in);
    free(ref);
    free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hand_causal_dilated),
        cmocka_unit_test(hand_transposed),
        cmocka_unit_test(transposed_is_adjoint),
        cmocka_unit_test(groups_are_separate_convs),
        cmocka_unit_test(activations),
        cmocka_unit_test(never_reads_the_future),
        cmocka_unit_test(output_lengths),
        cmocka_unit_test(refused_params),
        cmocka_unit_test(packed_input),
        cmocka_unit_test(tolerance_separates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
