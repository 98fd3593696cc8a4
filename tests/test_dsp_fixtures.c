/* test_dsp_fixtures.c — the float64 references of stft, melspec, logmel and mfcc against
 * librosa's outputs (and Whisper's recipe on librosa) for the cases listed in
 * tests/fixtures/dsp/cases.txt, written by tests/fixtures/make_dsp_fixtures.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "op.h"
#include "params.h"

#define DF_DIR "tests/fixtures/dsp"
#define DF_MAX_CASES 64
#define DF_MAX_RANGES 8

/* Both sides compute the same definitions in float64 from the same float32 samples, so
 * they differ by rounding only: ~1e-15 (the script measures its own restatement of
 * dsp_common.h against librosa at <= 1e-14). 1e-9 leaves room for any float64 order of
 * summation, yet is 50x below float32's epsilon, so a float32 step (a float32 window or
 * filterbank, as librosa's defaults would give) fails, as does any definitional slip. */
#define DF_TOL 1e-9

typedef struct df_case {
    char line[512];
    char name[96];
    int lineno;
} df_case;

static df_case df_cases[DF_MAX_CASES];
static int df_ncases;

/* ---- a minimal .npy reader (format 1.0/2.0, little-endian, C order) ------------------ */

static const char *df_field(const char *hdr, const char *key)
{
    const char *k = strstr(hdr, key);
    if (!k)
        return NULL;
    k = strchr(k + strlen(key), ':');
    if (!k)
        return NULL;
    k++;
    while (*k == ' ')
        k++;
    return k;
}

/* Reads path into b (allocated here); dtypes '<f4' '<f8' '<c16'. */
static int df_npy_read(const char *path, sono_buf *b, sono_error *err)
{
    memset(b, 0, sizeof *b);
    FILE *f = fopen(path, "rb");
    if (!f)
        return sono_fail(err, SONO_ENOTFOUND,
                         "%s: cannot open (%s); regenerate with "
                         "tests/fixtures/make_dsp_fixtures.py", path, strerror(errno));
    unsigned char pre[12];
    char hdr[1024];
    int rc = 0;
    size_t hl = 0, pl = 10;
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) || pre[6] < 1 ||
        pre[6] > 2) {
        rc = sono_fail(err, SONO_EPARSE, "%s: not a .npy file (format 1 or 2)", path);
        goto out;
    }
    if (pre[6] == 1)
        hl = pre[8] | (size_t)pre[9] << 8;
    else if (fread(pre + 10, 1, 2, f) == 2) {
        hl = pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
        pl = 12;
    }
    if (hl == 0 || hl >= sizeof hdr || fread(hdr, 1, hl, f) != hl) {
        rc = sono_fail(err, SONO_EPARSE, "%s: header of %zu bytes unreadable", path, hl);
        goto out;
    }
    hdr[hl] = '\0';
    const char *d = df_field(hdr, "'descr'"), *fo = df_field(hdr, "'fortran_order'");
    const char *sh = df_field(hdr, "'shape'");
    if (!d || !fo || !sh || *sh != '(' || strncmp(fo, "False", 5)) {
        rc = sono_fail(err, SONO_EPARSE, "%s: expected a C-order array, header %s", path, hdr);
        goto out;
    }
    b->dtype = !strncmp(d, "'<f4'", 5)    ? SONO_F32
               : !strncmp(d, "'<f8'", 5)  ? SONO_F64
               : !strncmp(d, "'<c16'", 6) ? SONO_C128
                                          : 0;
    if (!b->dtype) {
        rc = sono_fail(err, SONO_EPARSE, "%s: dtype %.8s; expected '<f4' '<f8' or '<c16'",
                       path, d);
        goto out;
    }
    for (sh++; *sh != ')';) {
        char *end;
        long long v = strtoll(sh, &end, 10);
        if (end == sh || v < 0 || b->ndim == SONO_MAX_DIMS) {
            rc = sono_fail(err, SONO_EPARSE, "%s: bad shape in header %s", path, hdr);
            goto out;
        }
        b->shape[b->ndim++] = v;
        sh = end + strspn(end, ", ");
    }
    long expect = (long)(pl + hl) + (long)(sono_buf_elems(b) * (long long)sono_dtype_size(b->dtype));
    if (fseek(f, 0, SEEK_END) || ftell(f) != expect) {
        rc = sono_fail(err, SONO_EPARSE, "%s: %ld bytes; the header says %ld", path,
                       ftell(f), expect);
        goto out;
    }
    if ((rc = sono_buf_alloc(b, err)))
        goto out;
    if (fseek(f, (long)(pl + hl), SEEK_SET) || fread(b->data, 1, b->nbytes, f) != b->nbytes)
        rc = sono_fail(err, SONO_EIO, "%s: short read", path);
out:
    fclose(f);
    if (rc)
        sono_buf_free(b);
    return rc;
}

/* ---- one case ------------------------------------------------------------------------ */

typedef struct df_range {
    long long a, b; /* frame columns [a, b) kept in the expected file */
} df_range;

static int df_parse_cols(const char *v, df_range *r, int *nr)
{
    *nr = 0;
    while (*v) {
        char *end;
        if (*nr == DF_MAX_RANGES)
            return -1;
        r[*nr].a = strtoll(v, &end, 10);
        if (end == v || *end != ':')
            return -1;
        v = end + 1;
        r[*nr].b = strtoll(v, &end, 10);
        if (end == v || (*end && *end != ',') || r[*nr].b <= r[*nr].a || r[*nr].a < 0)
            return -1;
        (*nr)++;
        v = *end ? end + 1 : end;
    }
    return *nr ? 0 : -1;
}

static void df_run_case(void **state)
{
    const df_case *c = *state;
    char words[512], opname[32] = "";
    snprintf(words, sizeof words, "%s", c->line);
    char *save = NULL, *w = strtok_r(words, " \t", &save);
    w = strtok_r(NULL, " \t", &save);
    if (w)
        snprintf(opname, sizeof opname, "%s", w);
    const sono_op *op = sono_op_find(opname);
    if (!op)
        fail_msg("%s (cases.txt line %d): op '%s' is not registered (sono_op_find returned "
                 "NULL): its reference, harness/ops/%s.c, is not in this build",
                 c->name, c->lineno, opname, opname);

    sono_params p = {0};
    sono_error err = {0};
    df_range cols[DF_MAX_RANGES];
    int ncols = 0;
    while ((w = strtok_r(NULL, " \t", &save))) {
        char *eq = strchr(w, '=');
        if (!eq)
            fail_msg("%s: word '%s' is not key=value", c->name, w);
        *eq = '\0';
        if (!strcmp(w, "cols")) {
            if (df_parse_cols(eq + 1, cols, &ncols))
                fail_msg("%s: cols=%s: expected a:b[,c:d...] with a < b", c->name, eq + 1);
            continue;
        }
        const sono_param_spec *s = sono_op_param(op, w);
        if (!s)
            fail_msg("%s: op %s has no parameter '%s'", c->name, op->name, w);
        if (p.count == SONO_MAX_PARAMS || sono_param_parse(s, eq + 1, &p.v[p.count], &err))
            fail_msg("%s: %s", c->name, p.count == SONO_MAX_PARAMS ? "too many params" : err.msg);
        p.count++;
    }
    sono_params_defaults(op, &p);
    if (op->validate && op->validate(&p, &err))
        fail_msg("%s: %s rejects the params: %s", c->name, op->name, err.msg);

    char path[256];
    sono_buf in, exp, shin, shout;
    snprintf(path, sizeof path, DF_DIR "/%s.input.npy", c->name);
    if (df_npy_read(path, &in, &err))
        fail_msg("%s", err.msg);
    snprintf(path, sizeof path, DF_DIR "/%s.expected.npy", c->name);
    if (df_npy_read(path, &exp, &err))
        fail_msg("%s", err.msg);

    op->shapes(&p, &shin, &shout);
    assert_int_equal(in.dtype, SONO_F32);
    assert_int_equal(shin.dtype, SONO_F32);
    assert_int_equal(in.ndim, 1);
    if (shin.ndim != 1 || shin.shape[0] != in.shape[0])
        fail_msg("%s: the input file holds %lld samples; %s's shape for these params wants "
                 "%lld", c->name, in.shape[0], op->name, shin.shape[0]);
    sono_buf ref = shout;
    ref.dtype = sono_dtype_wide(shout.dtype);
    ref.data = NULL;
    assert_int_equal(sono_buf_alloc(&ref, &err), 0);
    shin.data = in.data;
    shin.nbytes = in.nbytes;
    if (op->reference(&p, &shin, &ref, &err))
        fail_msg("%s: %s reference failed: %s", c->name, op->name, err.msg);

    /* Shapes: [features, frames] on both sides; cols= keeps some frames of the output. */
    if (exp.dtype != ref.dtype || exp.ndim != 2 || ref.ndim != 2 ||
        exp.shape[0] != ref.shape[0])
        fail_msg("%s: expected %s [%lld, %lld], reference dtype %d ndim %d [%lld, %lld]",
                 c->name, exp.dtype == SONO_C128 ? "c16" : "f8", exp.shape[0], exp.shape[1],
                 (int)ref.dtype, ref.ndim, ref.shape[0], ref.ndim > 1 ? ref.shape[1] : 0);
    if (!ncols) {
        cols[0] = (df_range){0, ref.shape[1]};
        ncols = 1;
    }
    long long kept = 0;
    for (int i = 0; i < ncols; i++) {
        if (cols[i].b > ref.shape[1])
            fail_msg("%s: cols %lld:%lld beyond the reference's %lld frames", c->name,
                     cols[i].a, cols[i].b, ref.shape[1]);
        kept += cols[i].b - cols[i].a;
    }
    if (kept != exp.shape[1])
        fail_msg("%s: the reference has %lld frames (%lld kept), the expected file %lld",
                 c->name, ref.shape[1], kept, exp.shape[1]);

    /* Relative L2 over every real scalar (complex: re and im), and the largest error. */
    int cw = exp.dtype == SONO_C128 ? 2 : 1;
    long long rows = ref.shape[0], rf = ref.shape[1];
    const double *r = ref.data, *e = exp.data;
    double se = 0, sr = 0, maxerr = 0, maxref = 0;
    for (long long m = 0; m < rows; m++) {
        long long ec = 0;
        for (int i = 0; i < ncols; i++)
            for (long long t = cols[i].a; t < cols[i].b; t++, ec++)
                for (int k = 0; k < cw; k++) {
                    double x = r[(m * rf + t) * cw + k], y = e[(m * kept + ec) * cw + k];
                    se += (x - y) * (x - y);
                    sr += y * y;
                    maxerr = fmax(maxerr, fabs(x - y));
                    maxref = fmax(maxref, fabs(y));
                }
    }
    double rel = sr > 0 ? sqrt(se / sr) : sqrt(se);
    print_message("%-40s [%lld x %lld] rel_l2 %.2e  max_abs %.2e (max |expected| %.3g)\n",
                  c->name, rows, kept, rel, maxerr, maxref);
    assert_true(sr > 0);
    if (!(rel <= DF_TOL))
        fail_msg("%s: %s reference vs librosa: relative L2 error %.3g > %.0e (largest "
                 "difference %.3g)", c->name, op->name, rel, DF_TOL, maxerr);

    sono_buf_free(&in);
    sono_buf_free(&exp);
    sono_buf_free(&ref);
    sono_params_free(&p);
}

/* ---- the manifest -------------------------------------------------------------------- */

static void df_no_manifest(void **state)
{
    fail_msg("%s", (const char *)*state);
}

/* Every op of the suite has fixtures: a manifest that lost one fails here. */
static void df_all_ops_covered(void **state)
{
    (void)state;
    const char *ops[] = {"stft", "melspec", "logmel", "mfcc"};
    for (int i = 0; i < 4; i++) {
        int n = 0;
        for (int k = 0; k < df_ncases; k++) {
            char op[32] = "";
            sscanf(df_cases[k].line, "%*s %31s", op);
            n += !strcmp(op, ops[i]);
        }
        if (n < 3)
            fail_msg(DF_DIR "/cases.txt: %d cases for %s; expected at least 3", n, ops[i]);
    }
}

int main(void)
{
    static char why[512];
    struct CMUnitTest tests[DF_MAX_CASES + 2];
    int n = 0;
    FILE *f = fopen(DF_DIR "/cases.txt", "r");
    if (!f) {
        snprintf(why, sizeof why, DF_DIR "/cases.txt: cannot open (%s); run from the "
                 "repository root", strerror(errno));
        tests[n++] = (struct CMUnitTest){.name = "cases.txt", .test_func = df_no_manifest,
                                         .initial_state = why};
        return _cmocka_run_group_tests("test_dsp_fixtures", tests, (size_t)n, NULL, NULL);
    }
    char line[512];
    for (int lineno = 1; fgets(line, sizeof line, f); lineno++) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        if (df_ncases == DF_MAX_CASES) {
            snprintf(why, sizeof why, DF_DIR "/cases.txt: more than %d cases; raise "
                     "DF_MAX_CASES", DF_MAX_CASES);
            tests[n++] = (struct CMUnitTest){.name = "cases.txt", .test_func = df_no_manifest,
                                             .initial_state = why};
            break;
        }
        df_case *c = &df_cases[df_ncases++];
        snprintf(c->line, sizeof c->line, "%s", line);
        sscanf(line, "%95s", c->name);
        c->lineno = lineno;
        tests[n++] = (struct CMUnitTest){.name = c->name, .test_func = df_run_case,
                                         .initial_state = c};
    }
    fclose(f);
    tests[n++] = (struct CMUnitTest){.name = "all_ops_covered", .test_func = df_all_ops_covered};
    return _cmocka_run_group_tests("test_dsp_fixtures", tests, (size_t)n, NULL, NULL);
}
