/* exec.c — `harness exec OP/IMPL`: one impl, once, on one input, output written as .npy,
 * so any output can be looked at or cross-checked in another tool. Prints the check
 * against the reference; exits 1 when it fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "input.h"
#include "inputfit.h"
#include "npy.h"
#include "params.h"
#include "runner.h"

static int usage(const char *msg, const char *arg)
{
    fprintf(stderr, "harness exec: %s%s; see harness help exec\n", msg, arg ? arg : "");
    return SONO_EXIT_USAGE;
}

int sono_cmd_exec(sono_reg *R, int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-')
        return usage("expected OP/IMPL, e.g. fft/radix2", NULL);
    char opname[64];
    snprintf(opname, sizeof opname, "%.*s", (int)strcspn(argv[1], "/"), argv[1]);
    const char *implname = strchr(argv[1], '/');
    const sono_op *op = sono_op_find(opname);
    if (!op)
        return usage("unknown op: ", opname);
    if (!implname || !implname[1])
        return usage("expected OP/IMPL, got ", argv[1]);
    sono_error err = {0};
    const sono_impl_entry *e = sono_reg_find(R, op, implname + 1, &err);
    if (!e)
        return usage(err.msg, NULL);
    const sono_backend *b = sono_reg_backend_of(R, e);
    if (!b->available) {
        fprintf(stderr, "harness exec: backend %s unavailable: %s\n", b->name, b->reason);
        return SONO_EXIT_FAIL;
    }

    sono_params p = {0};
    const char *input = "noise", *out_path = NULL, *in_path = NULL;
    double rate = 48000;
    int rc = SONO_EXIT_OK, force = 0;
    for (int i = 2; i < argc && rc == SONO_EXIT_OK; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--force") == 0) { /* issue 27: --output may replace anything */
            force = 1;
            continue;
        }
        if (strcmp(a, "--lenient") == 0) { /* issue 27: a cut WAV is read as far as it goes */
            sono_audio_set_lenient(1);
            continue;
        }
        if (!v)
            rc = usage("missing value after ", a);
        else if (strcmp(a, "--param") == 0) {
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)strcspn(v, "="), v);
            const sono_param_spec *s = sono_op_param(op, name);
            if (!strchr(v, '=') || !s)
                rc = usage("--param expects K=V with K a parameter of the op (see harness "
                           "list ops), got ", v);
            else if (sono_param_find(&p, name))
                rc = usage("parameter given twice: ", name);
            else if (p.count == SONO_MAX_PARAMS)
                rc = usage("too many parameters", NULL);
            else if (sono_param_parse(s, strchr(v, '=') + 1, &p.v[p.count], &err) == 0)
                p.count++;
            else
                rc = usage(err.msg, NULL);
        } else if (strcmp(a, "--input") == 0)
            input = v;
        else if (strcmp(a, "--output") == 0)
            out_path = v;
        else if (strcmp(a, "--input-out") == 0)
            in_path = v;
        else if (strcmp(a, "--sample-rate") == 0) {
            char *end;
            rate = strtod(v, &end);
            if (*end || !(rate >= 1 && rate <= 1e7))
                rc = usage("--sample-rate expects Hz in [1, 1e7], got ", v);
        } else
            rc = usage("unexpected argument ", a);
        i++;
    }
    char owhy[4200];
    const char *const outs[2][2] = {{"--output", out_path}, {"--input-out", in_path}};
    for (int k = 0; k < 2 && rc == SONO_EXIT_OK; k++)
        if (outs[k][1] && sono_cli_may_overwrite(outs[k][1], 'n', force, owhy, sizeof owhy)) {
            fprintf(stderr, "harness exec: %s %s\n", outs[k][0], owhy);
            rc = SONO_EXIT_USAGE;
        }
    sono_params_defaults(op, &p);
    char why[512] = "";
    sono_input_spec spec;
    if (rc == SONO_EXIT_OK && op->validate && op->validate(&p, &err))
        rc = usage(err.msg, NULL);
    if (rc == SONO_EXIT_OK && sono_input_parse(input, ".", &spec, &err)) {
        fprintf(stderr, "harness exec: %s\n", err.msg);
        rc = SONO_EXIT_USAGE;
    }
    if (rc == SONO_EXIT_OK && e->impl->supports(e->impl->ctx, &p, why, sizeof why)) {
        fprintf(stderr, "harness exec: %s does not support these parameters: %s\n", e->full, why);
        rc = SONO_EXIT_USAGE;
    }
    /* issue 27: a file too short for the case is the user's input, said before running,
     * with the parameter to change; a longer one is cut to the case's length: say so */
    char fitwhy[1024], fitnote[1024];
    int fit = rc == SONO_EXIT_OK ? sono_input_fit(op, &p, &spec, 1, fitwhy, sizeof fitwhy,
                                                  fitnote, sizeof fitnote, &err)
                                 : 0;
    if (fit < 0 || fit == 1) {
        fprintf(stderr, "harness exec: %s\n", fit < 0 ? err.msg : fitwhy);
        rc = SONO_EXIT_USAGE;
    } else if (fitnote[0] && rc == SONO_EXIT_OK)
        fprintf(stderr, "harness exec: note: %s\n", fitnote);
    if (rc != SONO_EXIT_OK) {
        sono_params_free(&p);
        return rc;
    }

    sono_buf in, out, ref;
    op->shapes(&p, &in, &out);
    ref = out;
    ref.dtype = sono_dtype_wide(out.dtype);
    in.data = out.data = ref.data = NULL;
    void *st = NULL;
    int step = sono_buf_alloc(&in, &err) || sono_buf_alloc(&out, &err) ||
               sono_buf_alloc(&ref, &err);
    /* the input is the user's: a file that cannot give it is a usage error (2), not a
     * failed case (1) */
    int input_bad = !step &&
                    (op->input  ? op->input(&p, &spec, op->rate ? (rate = op->rate(&p)) : rate,
                                            &in, &err)
                     : op->rate ? sono_input_fill_at(&spec, rate = op->rate(&p), &in, &err)
                                : sono_input_fill(&spec, rate, &in, &rate, &err));
    step = step || input_bad || op->reference(&p, &in, &ref, &err) ||
           e->impl->setup(e->impl->ctx, &p, &st, &err);
    if (!step) {
        step = e->impl->load(st, &in, &err) || e->impl->run(st) ||
               e->impl->store(st, &out, &err);
        e->impl->teardown(st);
    }
    sono_check chk = {0};
    double tol = op->tolerance(&p, e->impl->growth);
    if (!step && op->check) { /* the op's own check, as `run` does */
        chk.tol = tol;
        step = op->check(&p, &in, &out, &ref, tol, &chk, &err);
    } else if (!step)
        step = sono_check_output(&out, &ref, tol, &chk, &err);
    if (input_bad) {
        fprintf(stderr, "harness exec: %s\n", err.msg);
        rc = SONO_EXIT_USAGE;
    } else if (step) {
        fprintf(stderr, "harness exec: %s: %s\n", e->full, err.msg[0] ? err.msg : "run() failed");
        rc = SONO_EXIT_FAIL;
    }
    if (rc == SONO_EXIT_OK && out_path && sono_npy_write(out_path, &out, &err)) {
        fprintf(stderr, "harness exec: %s\n", err.msg);
        rc = SONO_EXIT_USAGE;
    }
    if (rc == SONO_EXIT_OK && in_path && sono_npy_write(in_path, &in, &err)) {
        fprintf(stderr, "harness exec: %s\n", err.msg);
        rc = SONO_EXIT_USAGE;
    }
    if (rc == SONO_EXIT_OK) {
        char ptxt[256], sha[65];
        sono_params_format(op, &p, ptxt, sizeof ptxt);
        sono_buf_sha256(&in, sha);
        printf("%s/%s/%s/%s: rel_l2 %.3g max_abs %.3g tol %.3g -> %s\ninput sha256 %s\n",
               op->name, e->full, ptxt, spec.name, chk.rel_l2, chk.max_abs, chk.tol,
               chk.pass ? "ok" : "FAIL", sha);
        if (chk.detail[0])
            printf("check: %s\n", chk.detail);
        if (out_path)
            printf("output: %s\n", out_path);
        if (in_path)
            printf("input:  %s\n", in_path);
        rc = chk.pass ? SONO_EXIT_OK : SONO_EXIT_FAIL;
    }
    sono_buf_free(&in);
    sono_buf_free(&out);
    sono_buf_free(&ref);
    sono_params_free(&p);
    return rc;
}
