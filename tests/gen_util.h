/* gen_util.h — what issue 25's tests (test_gen_*.c) share: the registry with every plugin
 * loaded, params built from "name=value ..." over the op's defaults, one impl's whole life
 * on a given input, and one case of every available impl of an op through the op's own
 * check against its float64 reference. */
#ifndef SONO_TEST_GEN_UTIL_H
#define SONO_TEST_GEN_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "lifecycle.h"
#include "op.h"
#include "registry.h"

static sono_reg gu_R;
static char gu_pool[4096]; /* the string values of params built by gu_params */
static size_t gu_pool_used;

static int gu_setup(void **state)
{
    (void)state;
    const char *b = getenv("SONO_BUILD");
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/plugins", b && *b ? b : "build");
    if (sono_reg_init(&gu_R, NULL))
        return -1;
    sono_reg_load_dir(&gu_R, dir);
    return sono_reg_backend(&gu_R, "cpu") ? 0 : -1;
}

static int gu_teardown(void **state)
{
    (void)state;
    sono_reg_free(&gu_R);
    return 0;
}

/* The op's params at their defaults, threads = 1, then each "name=value" of spec. */
static sono_params gu_params(const char *opname, const char *spec)
{
    const sono_op *op = sono_op_find(opname);
    assert_non_null(op);
    sono_params p = {.count = 0};
    for (int i = 0; i < op->nparams; i++) {
        const sono_param_spec *s = &op->params[i];
        p.v[p.count++] = (sono_param){.name = s->name, .type = s->type, .i = s->idflt,
                                      .r = s->rdflt, .s = s->sdflt};
    }
    p.v[p.count++] = (sono_param){.name = "threads", .type = SONO_PINT, .i = 1};
    char buf[512];
    snprintf(buf, sizeof buf, "%s", spec ? spec : "");
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
        char *eq = strchr(tok, '=');
        assert_non_null(eq);
        *eq = 0;
        sono_param *v = NULL;
        for (int i = 0; i < p.count; i++)
            if (strcmp(p.v[i].name, tok) == 0)
                v = &p.v[i];
        if (!v)
            fail_msg("%s has no param %s", opname, tok);
        if (v->type == SONO_PINT)
            v->i = strtoll(eq + 1, NULL, 10);
        else if (v->type == SONO_PREAL)
            v->r = strtod(eq + 1, NULL);
        else {
            size_t n = strlen(eq + 1) + 1;
            assert_true(gu_pool_used + n <= sizeof gu_pool);
            memcpy(gu_pool + gu_pool_used, eq + 1, n);
            v->s = gu_pool + gu_pool_used;
            gu_pool_used += n;
        }
    }
    return p;
}

/* setup, load, run, store (into a poisoned buffer), teardown; 0, or 1 when the impl says
 * it cannot run here (skip). */
static int gu_exec(const sono_impl_entry *e, const sono_params *p, const sono_buf *in,
                   sono_buf *out)
{
    const sono_impl *im = e->impl;
    sono_error err = {0};
    void *st = NULL;
    int rc = im->setup(im->ctx, p, &st, &err);
    if (rc == SONO_EUNSUPPORTED) {
        printf("skip %s/%s: %s\n", e->op->name, e->full, err.msg);
        return 1;
    }
    if (rc)
        fail_msg("%s/%s: setup: %s", e->op->name, e->full, err.msg);
    if (im->load(st, in, &err))
        fail_msg("%s/%s: load: %s", e->op->name, e->full, err.msg);
    assert_int_equal(im->run(st), 0);
    sono_lifecycle_poison(out);
    if (im->store(st, out, &err))
        fail_msg("%s/%s: store: %s", e->op->name, e->full, err.msg);
    im->teardown(st);
    return 0;
}

static int gu_usable(const sono_impl_entry *e, const char *op)
{
    if (strcmp(e->op->name, op) != 0)
        return 0;
    const sono_backend *b = sono_reg_backend_of(&gu_R, e);
    if (!b->available) {
        printf("skip %s/%s: %s\n", op, e->full, b->reason);
        return 0;
    }
    return 1;
}

/* One case: the op's input, each available impl's output through the op's check; returns
 * the impls that ran. `only`: just that impl (NULL: all). */
__attribute__((unused)) static int gu_case(const char *opname, const char *spec, const char *only)
{
    const sono_op *op = sono_op_find(opname);
    sono_params p = gu_params(opname, spec);
    sono_buf in, out, ref;
    sono_error err = {0};
    int ran = 0;
    if (op->validate && op->validate(&p, &err))
        fail_msg("%s %s: %s", opname, spec, err.msg);
    op->shapes(&p, &in, &out);
    ref = out;
    ref.dtype = sono_dtype_wide(out.dtype);
    assert_int_equal(sono_buf_alloc(&in, NULL), 0);
    assert_int_equal(sono_buf_alloc(&out, NULL), 0);
    assert_int_equal(sono_buf_alloc(&ref, NULL), 0);
    if (op->input(&p, NULL, 24000, &in, &err))
        fail_msg("%s input: %s", opname, err.msg);
    if (op->reference(&p, &in, &ref, &err))
        fail_msg("%s reference: %s", opname, err.msg);
    for (int i = 0; i < gu_R.nimpls; i++) {
        const sono_impl_entry *e = &gu_R.impls[i];
        char why[256] = "";
        if (!gu_usable(e, opname) || (only && strcmp(e->full, only) != 0))
            continue;
        if (e->impl->supports(e->impl->ctx, &p, why, sizeof why)) {
            assert_true(why[0] != 0);
            continue;
        }
        if (gu_exec(e, &p, &in, &out))
            continue;
        sono_check c = {0};
        double tol = op->tolerance(&p, e->impl->growth);
        if (op->check)
            assert_int_equal(op->check(&p, &in, &out, &ref, tol, &c, &err), 0);
        else
            assert_int_equal(sono_check_output(&out, &ref, tol, &c, &err), 0);
        if (!c.pass)
            fail_msg("%s/%s %s: %s (worst %.3g of tol %.3g)", opname, e->full, spec,
                     c.detail, c.rel_l2, tol);
        ran++;
    }
    sono_buf_free(&in);
    sono_buf_free(&out);
    sono_buf_free(&ref);
    return ran;
}

#endif
