/* test_ctc.c — issue 23's CTC decoding: the float64 forward algorithm against the sum over
 * every frame path by brute force, exhaustive search against the best of those sums, the
 * planted labels being the exhaustive best on peaked inputs, a case where greedy decoding
 * and the best labelling disagree (beam 1 follows greedy, a wider beam finds the best),
 * the checks failing planted faults, and every available impl of ctc.greedy and ctc.beam
 * (cpu/naive, cpu/fast, py/torch, cuda where there is a GPU) against the references on
 * random small cases. */
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
#include "ctc64.h"
#include "ctc_gen.h"
#include "input.h"
#include "lifecycle.h"
#include "op.h"
#include "registry.h"

static sono_reg tc_R;

static int tc_setup(void **state)
{
    (void)state;
    const char *b = getenv("SONO_BUILD");
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/plugins", b && *b ? b : "build");
    if (sono_reg_init(&tc_R, NULL))
        return -1;
    sono_reg_load_dir(&tc_R, dir);
    return sono_reg_backend(&tc_R, "cpu") ? 0 : -1;
}

static int tc_teardown(void **state)
{
    (void)state;
    sono_reg_free(&tc_R);
    return 0;
}

static uint64_t tc_seed = 88172645463325252ull;
static double tc_uniform(void) /* xorshift64, [0, 1) */
{
    tc_seed ^= tc_seed << 13;
    tc_seed ^= tc_seed >> 7;
    tc_seed ^= tc_seed << 17;
    return (double)(tc_seed >> 11) * 0x1p-53;
}

/* Random log-softmax rows: logits uniform in [0, spread). */
static void tc_random_lp(float *lp, long long T, long long V, double spread)
{
    for (long long t = 0; t < T; t++) {
        double z[64], m = -INFINITY, s = 0;
        for (long long v = 0; v < V; v++) {
            z[v] = tc_uniform() * spread;
            m = z[v] > m ? z[v] : m;
        }
        for (long long v = 0; v < V; v++)
            s += exp(z[v] - m);
        for (long long v = 0; v < V; v++)
            lp[t * V + v] = (float)(z[v] - m - log(s));
    }
}

/* Every labelling's probability by brute force: all V^T frame paths, each collapsed
 * (repeats merged, blanks dropped), its product of probabilities added to the labelling's
 * slot; a labelling of length L is the base-V number of its labels plus an offset per L. */
static long long tc_key(const int32_t *l, long long L, long long V)
{
    long long k = 0, off = 0, p = 1;
    for (long long i = 0; i < L; i++)
        off += p, p *= V;
    for (long long i = 0; i < L; i++)
        k = k * V + l[i];
    return off + k;
}

static void tc_brute(const float *lp, long long T, long long V, double *mass, long long nkeys)
{
    long long paths = 1;
    for (long long t = 0; t < T; t++)
        paths *= V;
    memset(mass, 0, (size_t)nkeys * sizeof *mass);
    for (long long q = 0; q < paths; q++) {
        int32_t l[16];
        long long L = 0, r = q;
        double pr = 1;
        int32_t prev = 0;
        for (long long t = 0; t < T; t++) {
            int32_t k = (int32_t)(r % V);
            r /= V;
            pr *= exp((double)lp[t * V + k]);
            if (k && k != prev)
                l[L++] = k;
            prev = k;
        }
        long long key = tc_key(l, L, V);
        assert_true(key < nkeys);
        mass[key] += pr;
    }
}

/* Decode a key back to labels (the inverse of tc_key). */
static long long tc_unkey(long long key, long long V, int32_t *l)
{
    long long L = 0, p = 1;
    while (key >= p) {
        key -= p;
        p *= V;
        L++;
    }
    for (long long i = L - 1; i >= 0; i--) {
        l[i] = (int32_t)(key % V);
        key /= V;
    }
    return L;
}

static void forward_and_exhaustive_vs_paths(void **state)
{
    (void)state;
    const long long sizes[][2] = {{1, 2}, {3, 2}, {4, 3}, {5, 3}, {5, 4}, {6, 3}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        long long T = sizes[s][0], V = sizes[s][1], nkeys = 0, p = 1;
        for (long long L = 0; L <= T; L++, p *= V)
            nkeys += p;
        float lp[64];
        double *mass = malloc((size_t)nkeys * sizeof *mass);
        assert_non_null(mass);
        for (int rep = 0; rep < 3; rep++) {
            tc_random_lp(lp, T, V, 3.0);
            tc_brute(lp, T, V, mass, nkeys);
            long long best = 0;
            for (long long k = 0; k < nkeys; k++) {
                int32_t l[16];
                long long L = tc_unkey(k, V, l);
                int valid = 1;
                for (long long i = 0; i < L; i++)
                    valid &= l[i] >= 1;
                if (!valid)
                    continue;
                double f = sono_ctc64_logprob(lp, T, V, l, L);
                if (mass[k] == 0)
                    assert_true(f == -INFINITY);
                else if (fabs(f - log(mass[k])) > 1e-12 * (1 + fabs(f)))
                    fail_msg("T=%lld V=%lld key %lld: forward %.17g, paths %.17g", T, V, k, f,
                             log(mass[k]));
                if (mass[k] > mass[best])
                    best = k;
            }
            int32_t want[16], got[16];
            long long Lw = tc_unkey(best, V, want), Lg = -1;
            double e = sono_ctc64_exhaustive(lp, T, V, got, &Lg);
            assert_true(fabs(e - log(mass[best])) < 1e-12 * (1 + fabs(e)));
            assert_int_equal(Lg, Lw);
            assert_memory_equal(got, want, (size_t)Lw * sizeof *got);
        }
        free(mass);
    }
}

/* The generator's claim: on its peaked inputs the planted labels are the best labelling
 * (exhaustive search) and the greedy decoding. */
static void planted_is_best(void **state)
{
    (void)state;
    for (unsigned long long seed = 1; seed <= 12; seed++) {
        sono_ctc_dims d = {.T = seed % 2 ? 6 : 7, .V = seed % 3 ? 4 : 3, .B = 1, .peak = 8,
                           .seed = seed, .beam = 1};
        float lp[7 * 4];
        int32_t planted[7], best[7], gl[7];
        long long Lp, Lb, Lg;
        assert_int_equal(sono_ctc_generate(&d, 0, lp, planted, &Lp, NULL), 0);
        sono_ctc64_exhaustive(lp, d.T, d.V, best, &Lb);
        sono_ctc64_greedy(lp, d.T, d.V, gl, &Lg);
        assert_int_equal(Lb, Lp);
        assert_memory_equal(best, planted, (size_t)Lp * sizeof *best);
        assert_int_equal(Lg, Lp);
        assert_memory_equal(gl, planted, (size_t)Lp * sizeof *gl);
    }
    /* and greedy on a long one, V 1024 */
    sono_ctc_dims d = {.T = 500, .V = 1024, .B = 2, .peak = 8, .seed = 3, .beam = 1};
    float *lp = malloc(500 * 1024 * sizeof *lp);
    int32_t planted[500], gl[500];
    long long Lp, Lg;
    assert_non_null(lp);
    assert_int_equal(sono_ctc_generate(&d, 1, lp, planted, &Lp, NULL), 0);
    assert_true(Lp > 100 && Lp < 250); /* ~3.5 frames per label */
    sono_ctc64_greedy(lp, d.T, d.V, gl, &Lg);
    assert_int_equal(Lg, Lp);
    assert_memory_equal(gl, planted, (size_t)Lp * sizeof *gl);
    free(lp);
}

/* ---- impls -------------------------------------------------------------------------- */

static sono_params tc_params(const char *op, double seconds, long long V, long long B,
                             long long beam, double prune, long long seed)
{
    sono_params p = {.count = 0};
    p.v[p.count++] = (sono_param){.name = "seconds", .type = SONO_PREAL, .r = seconds};
    p.v[p.count++] = (sono_param){.name = "V", .type = SONO_PINT, .i = V};
    p.v[p.count++] = (sono_param){.name = "batch", .type = SONO_PINT, .i = B};
    p.v[p.count++] = (sono_param){.name = "seed", .type = SONO_PINT, .i = seed};
    p.v[p.count++] = (sono_param){.name = "threads", .type = SONO_PINT, .i = 1};
    if (strcmp(op, "ctc.beam") == 0) {
        p.v[p.count++] = (sono_param){.name = "beam", .type = SONO_PINT, .i = beam};
        p.v[p.count++] = (sono_param){.name = "prune", .type = SONO_PREAL, .r = prune};
    }
    return p;
}

/* setup, load, run, store (into a poisoned buffer), teardown; 0, or 1 when the impl says it
 * cannot run here (skip). */
static int tc_exec(const sono_impl_entry *e, const sono_params *p, const sono_buf *in,
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

static int tc_usable(const sono_impl_entry *e, const char *op)
{
    if (strcmp(e->op->name, op) != 0)
        return 0;
    const sono_backend *b = sono_reg_backend_of(&tc_R, e);
    if (!b->available) {
        printf("skip %s/%s: %s\n", op, e->full, b->reason);
        return 0;
    }
    return 1;
}

/* One case: the op's input, each impl's output through the op's check. */
static int tc_case(const char *opname, const sono_params *p, const char *only)
{
    const sono_op *op = sono_op_find(opname);
    sono_buf in, out, ref;
    sono_error err = {0};
    int ran = 0;
    assert_int_equal(op->validate(p, &err), 0);
    op->shapes(p, &in, &out);
    ref = out;
    assert_int_equal(sono_buf_alloc(&in, NULL), 0);
    assert_int_equal(sono_buf_alloc(&out, NULL), 0);
    assert_int_equal(sono_buf_alloc(&ref, NULL), 0);
    assert_int_equal(op->input(p, NULL, 50, &in, &err), 0);
    if (op->reference(p, &in, &ref, &err))
        fail_msg("%s reference: %s", opname, err.msg);
    for (int i = 0; i < tc_R.nimpls; i++) {
        const sono_impl_entry *e = &tc_R.impls[i];
        char why[256] = "";
        if (!tc_usable(e, opname) || (only && strcmp(e->full, only) != 0))
            continue;
        if (e->impl->supports(e->impl->ctx, p, why, sizeof why)) {
            assert_true(why[0] != 0);
            continue;
        }
        if (tc_exec(e, p, &in, &out))
            continue;
        sono_check c = {0};
        double tol = op->tolerance(p, e->impl->growth);
        assert_int_equal(op->check(p, &in, &out, &ref, tol, &c, &err), 0);
        if (!c.pass)
            fail_msg("%s/%s seconds=%g V=%lld batch=%lld beam=%lld prune=%g seed=%lld: %s "
                     "(worst %.3g of tol %.3g)", opname, e->full,
                     sono_param_real(p, "seconds", 0), sono_param_int(p, "V", 0),
                     sono_param_int(p, "batch", 0), sono_param_int(p, "beam", 0),
                     sono_param_real(p, "prune", 0), sono_param_int(p, "seed", 0), c.detail,
                     c.rel_l2, tol);
        ran++;
    }
    sono_buf_free(&in);
    sono_buf_free(&out);
    sono_buf_free(&ref);
    return ran;
}

static void impls_random_small(void **state)
{
    (void)state;
    int ran = 0;
    /* exhaustive references (T 5..6, V 3..4; beam 64 >= nseq(5, 3) = 63: exact) */
    const double secs[] = {0.1, 0.12};
    const long long Vs[] = {3, 4}, beams[] = {1, 2, 8, 64, 256};
    for (int s = 0; s < 2; s++)
        for (int v = 0; v < 2; v++)
            for (int k = 0; k < 5; k++) {
                sono_params p = tc_params("ctc.beam", secs[s], Vs[v], 2, beams[k],
                                          k == 2 ? 4.0 : 0, 1 + s + 2 * v + k);
                ran += tc_case("ctc.beam", &p, NULL);
                p = tc_params("ctc.greedy", secs[s], Vs[v], 2, 1, 0, 7 + s + 2 * v + k);
                ran += tc_case("ctc.greedy", &p, NULL);
            }
    /* planted references: random T, V, beam, prune, batch */
    for (int r = 0; r < 12; r++) {
        double sec = 0.2 + 1.8 * tc_uniform();
        long long V = r % 3 == 0 ? 1024 : r % 3 == 1 ? 32 : 2 + (long long)(tc_uniform() * 60);
        long long beam = V == 1024 ? 1 + r % 8 : 1 + (long long)(tc_uniform() * 64);
        double prune = r % 4 == 0 ? 2.0 + 8 * tc_uniform() : 0;
        sono_params p = tc_params("ctc.beam", sec, V, 1 + r % 3, beam, prune, 100 + r);
        ran += tc_case("ctc.beam", &p, NULL);
        p = tc_params("ctc.greedy", sec, V, 1 + r % 3, 1, 0, 200 + r);
        ran += tc_case("ctc.greedy", &p, NULL);
    }
    printf("ctc impls: %d impl-cases checked\n", ran);
    assert_true(ran >= 4 * 2 * 2 * 5 + 4 * 12); /* cpu/naive and cpu/fast at the least */
}

/* A case where the best labelling is not greedy's: two frames, p(blank) 0.6, p(a) 0.4.
 * Greedy: blank blank, "" with 0.36. "a" has aa, a-, -a: 0.64. Prefix beam search with
 * beam 1 keeps "" after the first frame and ends there; beam 2 finds "a". */
static void greedy_vs_best(void **state)
{
    (void)state;
    float lp[4] = {(float)log(0.6), (float)log(0.4), (float)log(0.6), (float)log(0.4)};
    int32_t l[2];
    long long L;
    double g = sono_ctc64_greedy(lp, 2, 2, l, &L);
    assert_int_equal(L, 0);
    assert_true(fabs(g - log(0.36)) < 1e-7);
    double e = sono_ctc64_exhaustive(lp, 2, 2, l, &L);
    assert_int_equal(L, 1);
    assert_int_equal(l[0], 1);
    assert_true(fabs(e - log(0.64)) < 1e-7);

    const sono_op *op = sono_op_find("ctc.beam"), *og = sono_op_find("ctc.greedy");
    sono_buf in = {.dtype = SONO_F32, .ndim = 3, .shape = {1, 2, 2}, .data = lp,
                   .nbytes = sizeof lp};
    int32_t ref[3], out[3];
    sono_buf rb = {.dtype = SONO_I32, .ndim = 2, .shape = {1, 3}, .data = ref, .nbytes = 12};
    sono_buf ob = {.dtype = SONO_I32, .ndim = 2, .shape = {1, 3}, .data = out, .nbytes = 12};
    sono_error err = {0};
    int ran = 0;
    for (long long beam = 1; beam <= 4; beam++) {
        sono_params p = tc_params("ctc.beam", 0.04, 2, 1, beam, 0, 1);
        assert_int_equal(op->reference(&p, &in, &rb, &err), 0);
        assert_int_equal(ref[0], 1);
        assert_int_equal(ref[1], -1);
        for (int i = 0; i < tc_R.nimpls; i++) {
            const sono_impl_entry *en = &tc_R.impls[i];
            if (!tc_usable(en, "ctc.beam") || tc_exec(en, &p, &in, &ob))
                continue;
            float s;
            memcpy(&s, &out[2], 4);
            int want = beam == 1 ? -1 : 1; /* beam 1: "" (greedy's), wider: "a" */
            if (out[0] != want)
                fail_msg("%s beam=%lld: first label %d, expected %d", en->full, beam, out[0],
                         want);
            assert_true(fabs(s - (beam == 1 ? log(0.36) : log(0.64))) < 1e-6);
            sono_check c = {0};
            assert_int_equal(op->check(&p, &in, &ob, &rb, op->tolerance(&p, 0), &c, &err), 0);
            assert_int_equal(c.pass, beam > 1); /* beam 1 misses the best: the check says so */
            ran++;
        }
        /* greedy impls: "" and 0.36 */
        sono_params pg = tc_params("ctc.greedy", 0.04, 2, 1, 1, 0, 1);
        for (int i = 0; i < tc_R.nimpls && beam == 1; i++) {
            const sono_impl_entry *en = &tc_R.impls[i];
            if (!tc_usable(en, "ctc.greedy") || tc_exec(en, &pg, &in, &ob))
                continue;
            float s;
            memcpy(&s, &out[2], 4);
            assert_int_equal(out[0], -1);
            assert_true(fabs(s - log(0.36)) < 1e-6);
            assert_int_equal(og->reference(&pg, &in, &rb, &err), 0);
            sono_check c = {0};
            assert_int_equal(og->check(&pg, &in, &ob, &rb, og->tolerance(&pg, 0), &c, &err), 0);
            assert_true(c.pass);
        }
    }
    assert_true(ran >= 8); /* cpu/naive and cpu/fast at four beams */
}

/* Planted faults: each makes the check fail; the unfaulted row passes. */
static void checks_fail_faults(void **state)
{
    (void)state;
    const sono_op *ob = sono_op_find("ctc.beam"), *og = sono_op_find("ctc.greedy");
    for (int g = 0; g < 2; g++) {
        const sono_op *op = g ? og : ob;
        /* T = 5, V = 3, beam 64 >= nseq: exact, so the lower bound is checked too */
        sono_params p = tc_params(op->name, 0.1, 3, 1, 64, 0, 5);
        sono_buf in, out, ref;
        sono_error err = {0};
        op->shapes(&p, &in, &out);
        ref = out;
        assert_int_equal(sono_buf_alloc(&in, NULL), 0);
        assert_int_equal(sono_buf_alloc(&out, NULL), 0);
        assert_int_equal(sono_buf_alloc(&ref, NULL), 0);
        assert_int_equal(op->input(&p, NULL, 50, &in, &err), 0);
        assert_int_equal(op->reference(&p, &in, &ref, &err), 0);
        int32_t *o = out.data, *r = ref.data;
        long long T = 5;
        double tol = op->tolerance(&p, 0);
        long long L = 0;
        while (L < T && r[L] != -1)
            L++;
        assert_true(L >= 1);
        for (int f = 0; f < 6; f++) {
            memcpy(o, r, (T + 1) * sizeof *o);
            float s;
            memcpy(&s, &o[T], 4);
            switch (f) {
            case 0: break;                          /* the reference itself passes */
            case 1: s += 0.01f; break;              /* score too high */
            case 2: s -= 0.01f; break;              /* score too low */
            case 3: o[0] = 3; break;                /* label outside [1, V) */
            case 4: o[L] = o[0]; o[L - 1] = -1; break; /* a label after the padding */
            case 5: o[0] = o[0] == 1 ? 2 : 1; break;   /* a worse labelling */
            }
            if (f == 4 && L >= T)
                continue;
            memcpy(&o[T], &s, 4);
            sono_check c = {0};
            assert_int_equal(op->check(&p, &in, &out, &ref, tol, &c, &err), 0);
            if (c.pass != (f == 0))
                fail_msg("%s fault %d: pass %d (%s)", op->name, f, c.pass, c.detail);
        }
        /* poisoned output (the lifecycle's -1 fill: NaN score) fails */
        sono_lifecycle_poison(&out);
        sono_check c = {0};
        assert_int_equal(op->check(&p, &in, &out, &ref, tol, &c, &err), 0);
        assert_false(c.pass);
        sono_buf_free(&in);
        sono_buf_free(&out);
        sono_buf_free(&ref);
    }
}

/* cpu/fast's shortcuts (the beam + 1 best labels per frame, trie merges, rescaled
 * probabilities) keep cpu/naive's result: on flat random posteriors, where many labels
 * compete each frame, both give the same labels and scores within float rounding. */
static void fast_matches_naive_flat(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("ctc.beam");
    const sono_impl_entry *nv = NULL, *fs = NULL;
    for (int i = 0; i < tc_R.nimpls; i++) {
        const sono_impl_entry *e = &tc_R.impls[i];
        if (e->op == op && strcmp(e->full, "cpu/naive") == 0)
            nv = e;
        if (e->op == op && strcmp(e->full, "cpu/fast") == 0)
            fs = e;
    }
    assert_true(nv && fs);
    long long T = 40, cmp = 0;
    for (int r = 0; r < 24; r++) {
        long long V = 3 + r % 10, beam = 1 + r % 7;
        sono_params p = tc_params("ctc.beam", 0.8, V, 1, beam, r % 5 == 4 ? 1.5 : 0, 1);
        float *lp = malloc((size_t)(T * V) * sizeof *lp);
        int32_t a[41], b[41];
        assert_non_null(lp);
        tc_random_lp(lp, T, V, 1.0 + r % 4);
        sono_buf in = {.dtype = SONO_F32, .ndim = 3, .shape = {1, T, V}, .data = lp,
                       .nbytes = (size_t)(T * V) * 4};
        sono_buf oa = {.dtype = SONO_I32, .ndim = 2, .shape = {1, T + 1}, .data = a,
                       .nbytes = sizeof a};
        sono_buf ob = oa;
        ob.data = b;
        assert_int_equal(tc_exec(nv, &p, &in, &oa), 0);
        assert_int_equal(tc_exec(fs, &p, &in, &ob), 0);
        float sa, sb;
        memcpy(&sa, &a[T], 4);
        memcpy(&sb, &b[T], 4);
        if (memcmp(a, b, (size_t)T * 4) != 0 || fabsf(sa - sb) > 1e-4f * (1 + fabsf(sa)))
            fail_msg("V=%lld beam=%lld: cpu/fast differs from cpu/naive (scores %.7g, %.7g)",
                     V, beam, sa, sb);
        cmp++;
        free(lp);
    }
    assert_int_equal(cmp, 24);
}

/* Bad params are refused by validate or by the ranges; the cost and seconds are sane. */
static void op_contract(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("ctc.beam");
    assert_non_null(op);
    assert_int_equal(op->merit, SONO_MERIT_XRT);
    const sono_param_spec *b = sono_op_param(op, "beam");
    assert_int_equal(b->imin, 1);
    assert_int_equal(b->imax, 256);
    sono_params p = tc_params("ctc.beam", 10, 32, 4, 8, 0, 1);
    sono_error err = {0};
    assert_int_equal(op->validate(&p, &err), 0);
    assert_true(fabs(op->audio_seconds(&p) - 40.0) < 1e-12);
    sono_buf in, out;
    op->shapes(&p, &in, &out);
    assert_int_equal(in.shape[1], 500);
    assert_int_equal(out.shape[1], 501);
    p = tc_params("ctc.beam", 600, 32, 8, 8, 0, 1); /* T^2 B over the limit */
    assert_int_equal(op->validate(&p, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "batch*T*T"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forward_and_exhaustive_vs_paths),
        cmocka_unit_test(planted_is_best),
        cmocka_unit_test(greedy_vs_best),
        cmocka_unit_test(checks_fail_faults),
        cmocka_unit_test(op_contract),
        cmocka_unit_test(fast_matches_naive_flat),
        cmocka_unit_test(impls_random_small),
    };
    return cmocka_run_group_tests(tests, tc_setup, tc_teardown);
}
