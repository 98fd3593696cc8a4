/* exec.c — `harness exec OP/IMPL`: one impl, once, on one input, output written as .npy,
 * so any output can be looked at or cross-checked in another tool. Prints the check
 * against the reference; exits 1 when it fails. The impl runs through lifecycle.c, as in
 * `run`, so its output is NaN-filled before store and an impl that writes nothing fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "input.h"
#include "inputfit.h"
#include "lifecycle.h"
#include "npy.h"
#include "params.h"
#include "runner.h"

static int usage(const char *msg, const char *arg)
{
    fprintf(stderr, "harness exec: %s%s; see harness help exec\n", msg, arg ? arg : "");
    return SONO_EXIT_USAGE;
}

/* The command line past OP/IMPL; the input spec is parsed once the params are known. */
typedef struct exec_args {
    sono_params p;
    const char *input, *out_path, *in_path;
    double rate;
    int force; /* issue 27: --output may replace any file */
    sono_input_spec spec;
} exec_args;

static int parse_param(const sono_op *op, const char *v, sono_params *p)
{
    sono_error err = {0};
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(v, "="), v);
    const sono_param_spec *s = sono_op_param(op, name);
    if (!strchr(v, '=') || !s)
        return usage("--param expects K=V with K a parameter of the op (see harness "
                     "list ops), got ", v);
    if (sono_param_find(p, name))
        return usage("parameter given twice: ", name);
    if (p->count == SONO_MAX_PARAMS)
        return usage("too many parameters", NULL);
    if (sono_param_takes_all(s) && strcmp(strchr(v, '=') + 1, "all") == 0) /* issue 27 */
        p->v[p->count] = (sono_param){.name = s->name, .type = s->type, .r = SONO_SECONDS_ALL};
    else if (sono_param_parse(s, strchr(v, '=') + 1, &p->v[p->count], &err) != 0)
        return usage(err.msg, NULL);
    p->count++;
    return SONO_EXIT_OK;
}

static int parse_args(const sono_op *op, int argc, char **argv, exec_args *a)
{
    int rc = SONO_EXIT_OK;
    for (int i = 2; i < argc && rc == SONO_EXIT_OK; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(f, "--force") == 0) {
            a->force = 1;
            continue;
        }
        if (strcmp(f, "--lenient") == 0) { /* issue 27: a cut WAV is read as far as it goes */
            sono_audio_set_lenient(1);
            continue;
        }
        if (!v)
            rc = usage("missing value after ", f);
        else if (strcmp(f, "--param") == 0)
            rc = parse_param(op, v, &a->p);
        else if (strcmp(f, "--input") == 0)
            a->input = v;
        else if (strcmp(f, "--output") == 0)
            a->out_path = v;
        else if (strcmp(f, "--input-out") == 0)
            a->in_path = v;
        else if (strcmp(f, "--sample-rate") == 0) {
            char *end;
            a->rate = strtod(v, &end);
            if (*end || !(a->rate >= 1 && a->rate <= 1e7))
                rc = usage("--sample-rate expects Hz in [1, 1e7], got ", v);
        } else
            rc = usage("unexpected argument ", f);
        i++;
    }
    return rc;
}

/* Defaults, the files it may write, the op's validation, the input spec, the impl's
 * supports(), and whether the input is long enough for the case. */
static int admit(const sono_op *op, const sono_impl_entry *e, exec_args *a)
{
    sono_error err = {0};
    char why[512] = "", owhy[4200];
    const char *const outs[2][2] = {{"--output", a->out_path}, {"--input-out", a->in_path}};
    for (int k = 0; k < 2; k++)
        if (outs[k][1] && sono_cli_may_overwrite(outs[k][1], 'n', a->force, owhy, sizeof owhy)) {
            fprintf(stderr, "harness exec: %s %s\n", outs[k][0], owhy);
            return SONO_EXIT_USAGE;
        }
    sono_params_defaults(op, &a->p);
    if (sono_input_parse(a->input, ".", &a->spec, &err)) {
        fprintf(stderr, "harness exec: %s\n", err.msg);
        return SONO_EXIT_USAGE;
    }
    /* issue 27: seconds=all is the file's length, before the op checks the params */
    char allnote[320];
    int all = sono_input_resolve_all(op, &a->p, &a->spec, allnote, sizeof allnote, &err);
    if (all == 1) {
        fprintf(stderr, "harness exec: --param seconds=all needs a file input (--input "
                "FILE): '%s' is generated and has no length of its own\n", a->spec.name);
        return SONO_EXIT_USAGE;
    }
    if (all < 0) {
        fprintf(stderr, "harness exec: %s\n", err.msg);
        return SONO_EXIT_USAGE;
    }
    if (allnote[0])
        fprintf(stderr, "harness exec: note: %s\n", allnote);
    if (op->validate && op->validate(&a->p, &err))
        return usage(err.msg, NULL);
    if (e->impl->supports(e->impl->ctx, &a->p, why, sizeof why)) {
        fprintf(stderr, "harness exec: %s does not support these parameters: %s\n", e->full,
                why);
        return SONO_EXIT_USAGE;
    }
    /* issue 27: a file too short for the case is the user's input, said before running,
     * with the parameter to change; a longer one is cut to the case's length: say so */
    char fitwhy[1024], fitnote[1024];
    int fit = sono_input_fit(op, &a->p, &a->spec, 1, fitwhy, sizeof fitwhy, fitnote,
                             sizeof fitnote, &err);
    if (fit < 0 || fit == 1) {
        fprintf(stderr, "harness exec: %s\n", fit < 0 ? err.msg : fitwhy);
        return SONO_EXIT_USAGE;
    }
    if (fitnote[0] && !allnote[0]) /* all: what is left is under a hundredth */
        fprintf(stderr, "harness exec: note: %s\n", fitnote);
    return SONO_EXIT_OK;
}

/* The input (at the op's rate where it fixes one) and its float64 reference; out only
 * allocated: the lifecycle poisons it. *input_bad: the user's input could not give what
 * the case needs (a usage error, exit 2, not a failed case). */
static int make_buffers(const sono_op *op, exec_args *a, sono_buf *in, sono_buf *out,
                        sono_buf *ref, int *input_bad, sono_error *err)
{
    const sono_params *p = &a->p;
    op->shapes(p, in, out);
    *ref = *out;
    ref->dtype = sono_dtype_wide(out->dtype);
    in->data = out->data = ref->data = NULL;
    int rc;
    if ((rc = sono_buf_alloc(in, err)) || (rc = sono_buf_alloc(out, err)) ||
        (rc = sono_buf_alloc(ref, err)))
        return rc;
    if (op->input)
        rc = op->input(p, &a->spec, op->rate ? (a->rate = op->rate(p)) : a->rate, in, err);
    else if (op->rate)
        rc = sono_input_fill_at(&a->spec, a->rate = op->rate(p), in, err);
    else
        rc = sono_input_fill(&a->spec, a->rate, in, &a->rate, err);
    *input_bad = rc != 0;
    return rc ? rc : op->reference(p, in, ref, err);
}

/* Setup, load, one run, store (no times reported: one run says little), then the op's
 * own check as `run` does, else the generic one. */
static int run_and_check(const sono_op *op, const sono_impl_entry *e, const exec_args *a,
                         const sono_buf *in, sono_buf *out, const sono_buf *ref,
                         sono_check *chk, sono_error *err)
{
    sono_lifecycle lc = {.im = e->impl, .p = &a->p, .in = in, .out = out, .runs = 1};
    int rc = sono_lifecycle_run(&lc, err);
    if (rc)
        return rc;
    double tol = op->tolerance(&a->p, e->impl->growth);
    if (!op->check)
        return sono_check_output(out, ref, tol, chk, err);
    chk->tol = tol;
    return op->check(&a->p, in, out, ref, tol, chk, err);
}

/* The .npy files asked for, then the verdict line; SONO_EXIT_FAIL when the check failed. */
static int report(const sono_op *op, const sono_impl_entry *e, const exec_args *a,
                  const sono_buf *in, const sono_buf *out, const sono_check *chk)
{
    sono_error err = {0};
    if ((a->out_path && sono_npy_write(a->out_path, out, &err)) ||
        (a->in_path && sono_npy_write(a->in_path, in, &err))) {
        fprintf(stderr, "harness exec: %s\n", err.msg);
        return SONO_EXIT_USAGE;
    }
    char ptxt[256], sha[65];
    sono_params_format(op, &a->p, ptxt, sizeof ptxt);
    sono_buf_sha256(in, sha);
    printf("%s/%s/%s/%s: rel_l2 %.3g max_abs %.3g tol %.3g -> %s\ninput sha256 %s\n",
           op->name, e->full, ptxt, a->spec.name, chk->rel_l2, chk->max_abs, chk->tol,
           chk->pass ? "ok" : "FAIL", sha);
    if (chk->detail[0])
        printf("check: %s\n", chk->detail);
    if (a->out_path)
        printf("output: %s\n", a->out_path);
    if (a->in_path)
        printf("input:  %s\n", a->in_path);
    return chk->pass ? SONO_EXIT_OK : SONO_EXIT_FAIL;
}

static const sono_impl_entry *no_impl(const char *msg, const char *arg)
{
    usage(msg, arg);
    return NULL;
}

/* OP/IMPL to its registry entry; NULL with *rc set (the message printed) otherwise. */
static const sono_impl_entry *find_impl(sono_reg *R, int argc, char **argv,
                                        const sono_op **op, int *rc)
{
    char opname[64];
    sono_error err = {0};
    *rc = SONO_EXIT_USAGE;
    if (argc < 2 || argv[1][0] == '-')
        return no_impl("expected OP/IMPL (harness list impls shows them)", NULL);
    snprintf(opname, sizeof opname, "%.*s", (int)strcspn(argv[1], "/"), argv[1]);
    const char *implname = strchr(argv[1], '/');
    if (!(*op = sono_op_find(opname)))
        return no_impl("unknown op: ", opname);
    if (!implname || !implname[1])
        return no_impl("expected OP/IMPL, got ", argv[1]);
    const sono_impl_entry *e = sono_reg_find(R, *op, implname + 1, &err);
    if (!e)
        return no_impl(err.msg, NULL);
    const sono_backend *b = sono_reg_backend_of(R, e);
    if (!b->available) {
        fprintf(stderr, "harness exec: backend %s unavailable: %s\n", b->name, b->reason);
        *rc = SONO_EXIT_FAIL;
        return NULL;
    }
    *rc = SONO_EXIT_OK;
    return e;
}

int sono_cmd_exec(sono_reg *R, int argc, char **argv)
{
    const sono_op *op = NULL;
    int rc;
    const sono_impl_entry *e = find_impl(R, argc, argv, &op, &rc);
    if (!e)
        return rc;
    exec_args a = {.input = "noise", .rate = 48000};
    rc = parse_args(op, argc, argv, &a);
    if (rc == SONO_EXIT_OK)
        rc = admit(op, e, &a);
    if (rc != SONO_EXIT_OK) {
        sono_params_free(&a.p);
        return rc;
    }
    sono_buf in, out, ref;
    sono_error err = {0};
    sono_check chk = {0};
    int input_bad = 0, step = make_buffers(op, &a, &in, &out, &ref, &input_bad, &err);
    if (step && input_bad) {
        fprintf(stderr, "harness exec: %s\n", err.msg);
        rc = SONO_EXIT_USAGE;
    } else if (step || run_and_check(op, e, &a, &in, &out, &ref, &chk, &err)) {
        fprintf(stderr, "harness exec: %s: %s\n", e->full, err.msg[0] ? err.msg : "run() failed");
        rc = SONO_EXIT_FAIL;
    } else
        rc = report(op, e, &a, &in, &out, &chk);
    sono_buf_free(&in);
    sono_buf_free(&out);
    sono_buf_free(&ref);
    sono_params_free(&a.p);
    return rc;
}
