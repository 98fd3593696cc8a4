/* pesq_role.c — the PESQ scorer the judge stage uses, found by role so the core names no
 * impl: each score is one untimed lifecycle of that impl on op metric.pesq's params (the
 * py worker imports the `pesq` package at setup, and refuses if it is missing). */
#include "pesq_role.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "lifecycle.h"
#include "params.h"
#include "speechq.h"

static int score(void *ctx, const float *ref, const float *deg, long long n, double rate,
                 const char *mode, double *mos, sono_error *err)
{
    (void)mode; /* the op picks narrowband or wideband from its sample_rate */
    const sono_impl_entry *e = ctx;
    sono_params p = {0};
    sono_params_defaults(e->op, &p);
    for (int i = 0; i < p.count; i++) {
        if (strcmp(p.v[i].name, "sample_rate") == 0)
            p.v[i].i = (long long)rate;
        if (strcmp(p.v[i].name, "samples") == 0)
            p.v[i].i = n;
    }
    int rc = e->op->validate ? e->op->validate(&p, err) : 0;
    sono_buf in, out;
    e->op->shapes(&p, &in, &out);
    if (!rc && (rc = sono_buf_alloc(&in, err)) == 0) {
        if ((rc = sono_buf_alloc(&out, err)) == 0) {
            memcpy(in.data, ref, sizeof *ref * (size_t)n);
            memcpy((float *)in.data + n, deg, sizeof *deg * (size_t)n);
            char why[256] = "";
            if (e->impl->supports(e->impl->ctx, &p, why, sizeof why))
                rc = sono_fail(err, SONO_EUNSUPPORTED, "%s", why);
            else {
                sono_lifecycle lc = {.im = e->impl, .p = &p, .in = &in, .out = &out,
                                     .runs = 1};
                rc = sono_lifecycle_run(&lc, err);
                if (rc && !err->msg[0])
                    sono_fail(err, rc, "%s failed (%d)", e->full, rc);
            }
            if (!rc)
                *mos = ((const float *)out.data)[0];
            sono_buf_free(&out);
        }
        sono_buf_free(&in);
    }
    sono_params_free(&p);
    return rc;
}

void sono_pesq_role_install(const sono_reg *R)
{
    const sono_impl_entry *e = NULL;
    /* the first claimant of any device kind: the scorer runs on the CPU wherever it is */
    for (int i = 0; i < R->nimpls && !e; i++)
        if (R->impls[i].impl->role && strcmp(R->impls[i].impl->role, SONO_ROLE_PESQ) == 0)
            e = &R->impls[i];
    if (!e) {
        sono_speechq_set_pesq(NULL, NULL, "no plugin provides a PESQ scorer (the py "
                              "backend's, with the pesq package)");
        return;
    }
    const sono_backend *b = sono_reg_backend_of(R, e);
    if (b && !b->available) {
        char why[200];
        snprintf(why, sizeof why, "%s unavailable: %s", e->full, b->reason);
        sono_speechq_set_pesq(NULL, NULL, why);
        return;
    }
    sono_speechq_set_pesq(score, (void *)e, NULL);
}
