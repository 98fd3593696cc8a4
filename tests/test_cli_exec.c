/* test_cli_exec.c — `harness exec`: one impl on one input, its output and input written as
 * .npy files (read here per the NumPy format) and checked against the DFT by definition, a
 * sine's spectral peak, the usage errors, and an impl that stores nothing failing. */
#include "cli_util.h"

/* ---- exec ----------------------------------------------------------------------------- */

typedef struct cl_npy {
    char descr[16];
    long long shape[4];
    int ndim;
    unsigned char *data; /* points into raw */
    size_t ndata;
    char *raw;
} cl_npy;

/* Reads an .npy file per the NumPy format description (version 1.0 header). */
static void cl_npy_read(const char *path, cl_npy *f)
{
    size_t len;
    memset(f, 0, sizeof *f);
    f->raw = cl_slurp(path, &len);
    assert_non_null(f->raw);
    const unsigned char *u = (const unsigned char *)f->raw;
    assert_true(len >= 10);
    assert_memory_equal(u, "\x93NUMPY\x01\x00", 8);
    size_t hl = (size_t)u[8] | (size_t)u[9] << 8;
    assert_true(10 + hl <= len);
    assert_int_equal((10 + hl) % 64, 0);
    char dict[1024];
    assert_true(hl < sizeof dict);
    memcpy(dict, f->raw + 10, hl);
    dict[hl] = 0;
    assert_int_equal(dict[hl - 1], '\n');
    assert_non_null(strstr(dict, "'fortran_order': False"));
    const char *d = strstr(dict, "'descr': '");
    assert_non_null(d);
    d += 10;
    snprintf(f->descr, sizeof f->descr, "%.*s", (int)strcspn(d, "'"), d);
    const char *s = strstr(dict, "'shape': (");
    assert_non_null(s);
    s += 10;
    while (*s != ')') {
        char *end;
        assert_true(f->ndim < 4);
        f->shape[f->ndim++] = strtoll(s, &end, 10);
        assert_true(end != s);
        s = end + strspn(end, ", ");
    }
    f->data = (unsigned char *)f->raw + 10 + hl;
    f->ndata = len - 10 - hl;
}

/* Relative L2 distance of y (complex float) from the DFT of x, by definition, in long
 * double: X[k] = sum_j x[j] e^{-2 pi i jk/n}. */
static double cl_dft_error(const float *x, const float *y, size_t n)
{
    long double *w = malloc(2 * n * sizeof *w);
    assert_non_null(w);
    const long double pi = 3.141592653589793238462643383279502884L;
    for (size_t m = 0; m < n; m++) {
        w[2 * m] = cosl(2 * pi * (long double)m / (long double)n);
        w[2 * m + 1] = -sinl(2 * pi * (long double)m / (long double)n);
    }
    long double num = 0, den = 0;
    for (size_t k = 0; k < n; k++) {
        long double re = 0, im = 0;
        for (size_t j = 0, m = 0; j < n; j++, m = (m + k) % n) {
            re += x[2 * j] * w[2 * m] - x[2 * j + 1] * w[2 * m + 1];
            im += x[2 * j] * w[2 * m + 1] + x[2 * j + 1] * w[2 * m];
        }
        long double dr = y[2 * k] - re, di = y[2 * k + 1] - im;
        num += dr * dr + di * di;
        den += re * re + im * im;
    }
    free(w);
    return den > 0 ? (double)sqrtl(num / den) : INFINITY;
}

static void cl_exec_fft(void **state)
{
    (void)state;
    char out[PATH_MAX], in[PATH_MAX];
    snprintf(out, sizeof out, "%s/OUT.npy", cl_tmp);
    snprintf(in, sizeof in, "%s/IN.npy", cl_tmp);
    cl_res r;
    cl_h(&r, NULL, "exec", "fft/radix2", "--param", "n=1024", "--param", "batch=4", "--input",
         "noise", "--output", out, "--input-out", in, NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    cl_npy o, x;
    cl_npy_read(out, &o);
    cl_npy_read(in, &x);
    for (int k = 0; k < 2; k++) {
        const cl_npy *f = k ? &x : &o;
        assert_string_equal(f->descr, "<c8");
        assert_int_equal(f->ndim, 2);
        assert_int_equal(f->shape[0], 4);
        assert_int_equal(f->shape[1], 1024);
        assert_int_equal(f->ndata, 4 * 1024 * 8);
    }
    const float *xf = (const float *)(const void *)x.data;
    const float *of = (const float *)(const void *)o.data;
    for (size_t row = 0; row < 4; row += 3) { /* the first and the last row */
        double e = cl_dft_error(xf + row * 2048, of + row * 2048, 1024);
        if (!(e < 1e-5))
            print_error("row %zu: rel. L2 error %g against the DFT by definition\n", row, e);
        assert_true(e < 1e-5);
    }
    free(o.raw);
    free(x.raw);
}

static void cl_exec_sine_peak(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/sine.npy", cl_tmp);
    const long long n = 64;
    const double freq = 1000, rate = 8000;
    cl_res r;
    cl_h(&r, NULL, "exec", "rfft/fftw", "--input", "sine(freq=1000)", "--sample-rate", "8000",
         "--param", "n=64", "--output", out, NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    cl_npy o;
    cl_npy_read(out, &o);
    assert_string_equal(o.descr, "<c8");
    assert_int_equal(o.shape[o.ndim - 1], n / 2 + 1);
    assert_int_equal(o.ndata, (size_t)(n / 2 + 1) * 8);
    const float *y = (const float *)(const void *)o.data;
    long long peak = -1;
    double best = -1;
    for (long long k = 0; k <= n / 2; k++) {
        double m = hypot(y[2 * k], y[2 * k + 1]);
        if (m > best) {
            best = m;
            peak = k;
        }
    }
    assert_int_equal(peak, (long long)(n * freq / rate)); /* bin 8 */
    free(o.raw);
}

static void cl_exec_errors(void **state)
{
    (void)state;
    cl_res r;
    cl_h(&r, NULL, "exec", "fft/radix2", "--param", "n=480", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "power of two"));
    cl_free(&r);
    cl_h(&r, NULL, "exec", "fft/radix2", "--param", "colour=blue", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "colour"));
    cl_free(&r);
    cl_h(&r, NULL, "exec", "fft/radix2", "--param", "n=0", NULL);
    cl_expect_code(&r, 2);
    cl_free(&r);
    cl_h(&r, NULL, "exec", "fftt/radix2", NULL);
    cl_expect_code(&r, 2);
    assert_non_null(strstr(r.err, "fftt"));
    cl_free(&r);
    cl_h(&r, NULL, "exec", "fft/radix2", "--param", NULL);
    cl_expect_code(&r, 2);
    cl_free(&r);

    char envp[PATH_MAX + 32];
    snprintf(envp, sizeof envp, "SONO_PLUGIN_PATH=%s", cl_plugins);
    const char *set[] = {envp, NULL};
    cl_h(&r, set, "exec", "fft/wrong/fft", "--param", "n=64", NULL);
    cl_expect_code(&r, 1);
    assert_non_null(strstr(r.out, "FAIL"));
    cl_free(&r);
}

/* wrong/fft-nostore's store writes nothing. On silence the reference is all zero, so only
 * the NaN-fill before store makes exec fail it: the .npy written shows every element NaN,
 * and the check says FAIL (exit 1), as `run` does. */
static void cl_exec_nostore(void **state)
{
    (void)state;
    char out[PATH_MAX], envp[PATH_MAX + 32];
    snprintf(out, sizeof out, "%s/nostore.npy", cl_tmp);
    snprintf(envp, sizeof envp, "SONO_PLUGIN_PATH=%s", cl_plugins);
    const char *set[] = {envp, NULL};
    cl_res r;
    cl_h(&r, set, "exec", "fft/wrong/fft-nostore", "--param", "n=64", "--input", "silence",
         "--output", out, NULL);
    cl_expect_code(&r, 1);
    assert_non_null(strstr(r.out, "-> FAIL"));
    cl_free(&r);
    cl_npy o;
    cl_npy_read(out, &o);
    assert_string_equal(o.descr, "<c8");
    assert_int_equal(o.ndata, 64 * 8);
    const float *y = (const float *)(const void *)o.data;
    for (size_t i = 0; i < 2 * 64; i++)
        if (!isnan(y[i]))
            fail_msg("element %zu of what store never wrote is %g, not NaN", i, y[i]);
    free(o.raw);
    /* the same impl with a store that writes passes there: silence's DFT is all zero */
    cl_h(&r, set, "exec", "fft/wrong/fft", "--param", "n=64", "--input", "silence", NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "-> ok"));
    cl_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cl_exec_fft),
        cmocka_unit_test(cl_exec_sine_peak),
        cmocka_unit_test(cl_exec_errors),
        cmocka_unit_test(cl_exec_nostore),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
