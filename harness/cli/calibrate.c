/* calibrate.c — `harness calibrate`: the machine's ceilings for the roofline, measured by
 * the cpu impls that claim the bandwidth and peak_flops roles (sono.h) with 1 thread and
 * with every core, then each GPU's (issue 10: its backend's impls of those roles,
 * calibrate_dev.c), stored per host in the calibration file. It runs with no calibration
 * of its own (the runner's `calibration` stays NULL). */
#include <errno.h>
#include <hwloc.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "calibrate_dev.h"
#include "calibration.h"
#include "casedev.h"
#include "cli.h"
#include "env.h"
#include "params.h"
#include "runner.h"
#include "sha256.h"


typedef struct machine {
    long long llc_bytes; /* all last-level caches together */
    const char *llc_level;
    int llc_count;
    int cores;
} machine;

/* STREAM sizes its arrays against all of the last-level cache: with every core streaming,
 * every slice of it holds data, so the total (size x count) is what must be exceeded. */
static void probe(machine *m)
{
    *m = (machine){.llc_bytes = 32LL << 20, .llc_level = "unknown (32 MiB assumed)",
                   .llc_count = 1, .cores = 1};
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) != 0)
        return;
    if (hwloc_topology_load(topo) == 0) {
        int cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
        m->cores = cores > 0 ? cores : 1;
        static const struct { hwloc_obj_type_t t; const char *name; } levels[] = {
            {HWLOC_OBJ_L3CACHE, "L3"}, {HWLOC_OBJ_L2CACHE, "L2"}};
        for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
            hwloc_obj_t o = hwloc_get_obj_by_type(topo, levels[i].t, 0);
            if (o && o->attr && o->attr->cache.size > 0) {
                m->llc_count = hwloc_get_nbobjs_by_type(topo, levels[i].t);
                m->llc_bytes = (long long)o->attr->cache.size * m->llc_count;
                m->llc_level = levels[i].name;
                break;
            }
        }
    }
    hwloc_topology_destroy(topo);
}

/* The cpu impl of role, or SONO_ENOTFOUND saying which role is missing. */
static int need_role(const sono_reg *R, const char *role, const sono_impl_entry **e,
                     sono_error *err)
{
    *e = sono_reg_find_role(R, role, sono_cpu_device()->kind);
    if (!*e)
        return sono_fail(err, SONO_ENOTFOUND, "calibrate needs a cpu impl with role %s, which "
                         "no loaded plugin provides (build them with make all)", role);
    return 0;
}

/* Appends one case of impl e: its op's own parameters from names/vals, then threads, then
 * device (when not NULL), then defaults. */
static int add_case_dt(sono_plan *plan, const sono_reg *R, const sono_impl_entry *e,
                       const char *const *names, const long long *vals, int nvals, int threads,
                       const char *device, const char *dtype, const sono_measure_cfg *cfg,
                       sono_error *err);

static int add_case(sono_plan *plan, const sono_reg *R, const sono_impl_entry *e,
                    const char *const *names, const long long *vals, int nvals, int threads,
                    const char *device, const sono_measure_cfg *cfg, sono_error *err)
{
    return add_case_dt(plan, R, e, names, vals, nvals, threads, device, NULL, cfg, err);
}

/* issue 26: dtype, when not NULL, is set as the case's `dtype` param (the peak_flops op's
 * tensor-core GEMMs). */
static int add_case_dt(sono_plan *plan, const sono_reg *R, const sono_impl_entry *e,
                       const char *const *names, const long long *vals, int nvals, int threads,
                       const char *device, const char *dtype, const sono_measure_cfg *cfg,
                       sono_error *err)
{
    const sono_op *op = e->op;
    /* the sizes are set by parameter name: an impl of another op in the role must take
     * the same names (n; m, n, k) */
    for (int i = 0; i <= nvals; i++)
        if (!sono_op_param(op, i < nvals ? names[i] : "threads"))
            return sono_fail(err, SONO_EINVAL, "calibrate: %s (role %s) has no parameter %s",
                             e->full, e->impl->role ? e->impl->role : "none",
                             i < nvals ? names[i] : "threads");
    sono_case *cs = realloc(plan->cases, (size_t)(plan->ncases + 1) * sizeof *cs);
    if (!cs)
        return sono_fail(err, SONO_ENOMEM, "out of memory");
    plan->cases = cs;
    sono_case *k = &cs[plan->ncases];
    memset(k, 0, sizeof *k);
    k->op = op;
    k->impl = e;
    k->input = 0;
    k->cfg = *cfg;
    snprintf(k->impl_name, sizeof k->impl_name, "%s", e->full);
    const sono_backend *b = sono_reg_backend_of(R, e);
    if (!b->available)
        snprintf(k->skip, sizeof k->skip, "backend %s unavailable: %s", b->name, b->reason);
    for (int i = 0; i <= nvals; i++) {
        const sono_param_spec *s = sono_op_param(op, i < nvals ? names[i] : "threads");
        k->p.v[k->p.count++] = (sono_param){.name = s->name, .type = SONO_PINT,
                                            .i = i < nvals ? vals[i] : threads};
    }
    if (device) /* issue 10: run on this device, whichever its impl is registered on */
        k->p.v[k->p.count++] = (sono_param){.name = "device", .type = SONO_PSTR,
                                            .s = strdup(device)};
    if (dtype)
        k->p.v[k->p.count++] = (sono_param){.name = "dtype", .type = SONO_PSTR,
                                            .s = strdup(dtype)};
    sono_params_defaults(op, &k->p);
    plan->ncases++; /* counted now, so sono_plan_free releases its params on any error */
    if (op->validate && op->validate(&k->p, err))
        return err->code;
    if ((device && !sono_param_str(&k->p, "device", NULL)) ||
        (dtype && !sono_param_str(&k->p, "dtype", NULL)))
        return sono_fail(err, SONO_ENOMEM, "out of memory");
    sono_params_format(op, &k->p, k->params_text, sizeof k->params_text);
    sono_case_make_id(k, plan);
    sono_case_resolve_device(R, k);
    return 0;
}

/* The plan, in code: triad at each thread count, then each SGEMM size at each count, so
 * the runner makes each input once and a case never follows one of another op's. */
/* issue 10: what the devices' cases are. A copy of 2^26 floats is 256 MiB a buffer, over
 * 4x the L2 of every GPU with up to 64 MiB of it (H100: 50 MiB); SGEMM up to 2048, the
 * largest square size the sgemm op's float64 reference allows (m n k <= 2^33). */
typedef struct dev_sizes {
    long long copy_n;
    const long long *gemm;
    int ngemm;
} dev_sizes;

static int build_plan(const sono_reg *R, const machine *m, int quick, long long triad_n,
                      const long long *gemm, int ngemm, const int *threads, int nthreads,
                      int with_cpu, const cal_dev *devs, int ndev, const dev_sizes *ds,
                      sono_plan *plan, sono_error *err)
{
    memset(plan, 0, sizeof *plan);
    const sono_impl_entry *bw = NULL, *peak = NULL;
    if (with_cpu && (need_role(R, SONO_ROLE_BANDWIDTH, &bw, err) ||
                     need_role(R, SONO_ROLE_PEAK_FLOPS, &peak, err)))
        return err->code;
    snprintf(plan->name, sizeof plan->name, "calibration");
    snprintf(plan->file, sizeof plan->file, "(built in: harness calibrate%s)",
             quick ? " --quick" : "");
    if (with_cpu)
        snprintf(plan->description, sizeof plan->description,
                 "machine ceilings: bandwidth by %s (n=%lld, 4x the %s cache) and peak FLOP/s "
                 "by %s, threads 1 and %d", bw->full, triad_n, m->llc_level, peak->full,
                 m->cores);
    else
        snprintf(plan->description, sizeof plan->description, "device ceilings");
    plan->sample_rate = 48000;
    sono_input_spec spec;
    if (sono_input_parse("noise", ".", &spec, err) || sono_plan_add_input(plan, &spec) != 0)
        return sono_fail(err, SONO_EINTERNAL, "calibrate: cannot make the noise input");
    sono_measure_cfg cfg = SONO_MEASURE_DEFAULTS;
    cfg.target_ci = quick ? 0.05 : 0.01;
    cfg.budget_s = quick ? 0.25 : 3.0;
    cfg.warmup_s = quick ? 0.02 : 0.3; /* long enough for OpenBLAS's threads to spin up */
    cfg.min_time_s = quick ? 0.05 : 1.0;
    cfg.min_samples = quick ? 5 : 10;
    int rc = 0;
    static const char *const tn[] = {"n"}, *const gn[] = {"m", "n", "k"};
    for (int t = 0; with_cpu && !rc && t < nthreads; t++)
        rc = add_case(plan, R, bw, tn, &triad_n, 1, threads[t], NULL, &cfg, err);
    for (int g = 0; with_cpu && !rc && g < ngemm; g++)
        for (int t = 0; !rc && t < nthreads; t++) {
            long long v[3] = {gemm[g], gemm[g], gemm[g]};
            rc = add_case(plan, R, peak, gn, v, 3, threads[t], NULL, &cfg, err);
        }
    /* issue 26: the CPU's GEMM peaks in the reduced dtypes, at the largest size and each
     * thread count, from every cpu impl of the peak op that computes in the dtype (cpu/
     * avx512bf16 in bf16 where the CPU has the instructions). A case its impl refuses is
     * left out of the plan rather than run as a skip: that dtype's ceiling stays the
     * float32 one (sono_roofline_bound_gflops_dtype). */
    static const char *const cdt[] = {"tf32", "bf16", "f16"};
    for (int i = 0; with_cpu && !rc && i < R->nimpls && sono_op_param(peak->op, "dtype"); i++) {
        const sono_impl_entry *e = &R->impls[i];
        if (e->op != peak->op || strcmp(e->dev->kind, peak->dev->kind) != 0)
            continue;
        long long big = gemm[ngemm - 1], v[3] = {big, big, big};
        for (int k = 0; !rc && k < 3; k++)
            for (int t = 0; !rc && t < nthreads; t++) {
                rc = add_case_dt(plan, R, e, gn, v, 3, threads[t], NULL, cdt[k], &cfg, err);
                sono_case *last = &plan->cases[plan->ncases - 1];
                char why[256];
                if (!rc && (last->skip[0] ||
                            e->impl->supports(e->impl->ctx, &last->p, why, sizeof why))) {
                    sono_params_free(&last->p);
                    plan->ncases--;
                }
            }
    }
    for (int d = 0; !rc && d < ndev; d++) { /* issue 10: each device on its own */
        if (devs[d].skip[0])
            continue;
        const char *name = devs[d].dev->name;
        rc = add_case(plan, R, devs[d].copy, tn, &ds->copy_n, 1, 1, name, &cfg, err);
        for (int g = 0; !rc && g < ds->ngemm; g++) {
            long long v[3] = {ds->gemm[g], ds->gemm[g], ds->gemm[g]};
            rc = add_case(plan, R, devs[d].gemm, gn, v, 3, 1, name, &cfg, err);
        }
        /* issue 26: the tensor-core peaks, at the largest size, where the peak_flops op
         * takes a dtype and the impl accepts it (another backend's may not: no peak) */
        static const char *const tc[] = {"tf32", "bf16", "f16"};
        long long big = ds->gemm[ds->ngemm - 1], v[3] = {big, big, big};
        for (int t = 0; !rc && t < 3 && sono_op_param(devs[d].gemm->op, "dtype"); t++)
            rc = add_case_dt(plan, R, devs[d].gemm, gn, v, 3, 1, name, tc[t], &cfg, err);
        /* issue 26: the backend's other impls of the same op on the device's kind (a
         * second GEMM library, such as cuBLASLt beside cublasGemmEx) at the same size in
         * the same dtypes; collect() keeps each dtype's best as its peak and marks which
         * case it came from ("ceiling": true in the figures) */
        for (int i = 0; !rc && i < R->nimpls && sono_op_param(devs[d].gemm->op, "dtype"); i++) {
            const sono_impl_entry *e = &R->impls[i];
            if (e == devs[d].gemm || e->op != devs[d].gemm->op ||
                e->backend != devs[d].gemm->backend ||
                strcmp(e->dev->kind, devs[d].gemm->dev->kind) != 0)
                continue;
            for (int t = 0; !rc && t < 3; t++)
                rc = add_case_dt(plan, R, e, gn, v, 3, 1, name, tc[t], &cfg, err);
        }
    }
    sono_sha256 h;
    unsigned char d[32];
    sono_sha256_init(&h);
    for (int i = 0; !rc && i < plan->ncases; i++)
        sono_sha256_update(&h, plan->cases[i].id, strlen(plan->cases[i].id) + 1);
    sono_sha256_final(&h, d);
    for (int i = 0; i < 32; i++)
        sprintf(plan->sha256 + 2 * i, "%02x", d[i]);
    return rc;
}

/* <folder of the calibration file>/calibration-run-HOST-UTC.json, never an existing one. */
static void run_file(const char *cal_path, const char *host, const char *stamp, char *out,
                     size_t n)
{
    const char *slash = strrchr(cal_path, '/');
    int dl = slash ? (int)(slash - cal_path) : 1;
    const char *dir = slash ? cal_path : ".";
    snprintf(out, n, "%.*s/calibration-run-%s-%s.json", dl, dir, host, stamp);
    for (int i = 2; access(out, F_OK) == 0 && i < 1000; i++)
        snprintf(out, n, "%.*s/calibration-run-%s-%s-%d.json", dl, dir, host, stamp, i);
}

/* The best rate per thread count, from the run's own records (the results file, read
 * back), as GFLOP/s = flops / median ns and GB/s = bytes / median ns. The median, not the
 * min: the min is the one luckiest sample (a turbo peak, a quiet moment of the other
 * cores) and grows more optimistic the more samples are taken, while every case's rate
 * is reported from its median; a ceiling on another statistic would bias each case's
 * percent of roofline. The best over sizes: each size is a fair try at the ceiling. */
static int collect(const char *path, const sono_plan *plan, sono_calibration *cal,
                   json_t *figures, cal_dev *devs, int ndev, sono_error *err)
{
    json_t *doc;
    int rc = sono_results_load(path, &doc, err);
    if (rc)
        return rc;
    json_t *cases = json_object_get(doc, "cases");
    for (int i = 0; !rc && i < plan->ncases; i++) {
        const sono_case *c = &plan->cases[i];
        json_t *rec = NULL, *v;
        size_t j;
        json_array_foreach(cases, j, v)
            if (strcmp(json_string_value(json_object_get(v, "id")), c->id) == 0)
                rec = v;
        const char *st = rec ? json_string_value(json_object_get(rec, "status")) : "missing";
        double med = json_number_value(json_object_get(json_object_get(rec, "time_ns"),
                                                       "median"));
        /* issue 10: a device's case goes to its device, whose failure is its own */
        cal_dev *dv = NULL;
        for (int d = 0; d < ndev; d++)
            if (c->impl && devs[d].dev == sono_case_device(c))
                dv = &devs[d];
        /* issue 26: a tensor-core GEMM's case gives its dtype's peak; one that did not
         * pass (skipped: the impl takes no dtype) leaves that peak out, not the device */
        int dtk = sono_cal_dtype_index(sono_param_str(&c->p, "dtype", "f32"));
        if (dv && dtk > 0) {
            const char *msg = json_string_value(json_object_get(rec, "message"));
            int ok = strcmp(st, "ok") == 0 && med > 0;
            sono_cost dc;
            c->op->cost(&c->p, &dc);
            double r = ok ? dc.flops / med : 0;
            json_t *fig = json_pack("{s:s, s:s, s:s, s:f, s:s}", "id", c->id, "dtype",
                                    sono_cal_dtype_names[dtk], "status", st, "gflops", r,
                                    "message", msg ? msg : "");
            json_array_append_new(dv->figures, fig);
            if (r > dv->dtype_gflops[dtk]) { /* issue 26: the best impl's case is the peak */
                json_t *prev;
                size_t k;
                json_array_foreach(dv->figures, k, prev)
                    if (json_is_true(json_object_get(prev, "ceiling")) &&
                        strcmp(json_string_value(json_object_get(prev, "dtype")),
                               sono_cal_dtype_names[dtk]) == 0)
                        json_object_del(prev, "ceiling");
                json_object_set_new(fig, "ceiling", json_true());
                dv->dtype_gflops[dtk] = r;
            }
            continue;
        }
        if (!dv && dtk > 0) { /* issue 26: the CPU's peak in a dtype; a skip leaves it out */
            int t = (int)sono_param_int(&c->p, "threads", 1);
            const char *msg = json_string_value(json_object_get(rec, "message"));
            sono_cost dc;
            c->op->cost(&c->p, &dc);
            double r = strcmp(st, "ok") == 0 && med > 0 ? dc.flops / med : 0;
            json_array_append_new(figures, json_pack("{s:s, s:i, s:s, s:s, s:f, s:s}", "id",
                                                     c->id, "threads", t, "dtype",
                                                     sono_cal_dtype_names[dtk], "status", st,
                                                     "gflops", r, "message", msg ? msg : ""));
            for (int q = 0; q < cal->npoints; q++)
                if (cal->points[q].threads == t && r > cal->points[q].dtype_gflops[dtk])
                    sono_calibration_set_dtype(cal, t, dtk, r);
            continue;
        }
        if (dv && (strcmp(st, "ok") != 0 || !(med > 0))) {
            const char *msg = json_string_value(json_object_get(rec, "message"));
            if (!dv->fail[0])
                snprintf(dv->fail, sizeof dv->fail, "%s: %s%s%s", c->id, st, msg ? ": " : "",
                         msg ? msg : "");
            continue;
        }
        if (strcmp(st, "ok") != 0 || !(med > 0)) {
            const char *msg = json_string_value(json_object_get(rec, "message"));
            rc = sono_fail(err, SONO_ECHECK, "%s: %s%s%s", c->id, st, msg ? ": " : "",
                           msg ? msg : "");
            break;
        }
        sono_cost cost;
        c->op->cost(&c->p, &cost);
        int t = (int)sono_param_int(&c->p, "threads", 1);
        const char *role = c->impl->impl->role;
        int is_gemm = role && strcmp(role, SONO_ROLE_PEAK_FLOPS) == 0;
        double rate = (is_gemm ? cost.flops : cost.bytes) / med;
        const char *stop =
            json_string_value(json_object_get(json_object_get(rec, "time_ns"), "stop"));
        json_t *fig = json_pack("{s:s, s:i, s:f, s:f, s:s}", "id", c->id, "threads", t,
                                "median_ns", med, is_gemm ? "gflops" : "gbps", rate, "stop",
                                stop ? stop : "?");
        if (dv) {
            cal_dev_add(dv, is_gemm, rate, fig);
            continue;
        }
        json_array_append_new(figures, fig);
        const sono_cal_point *pt = NULL;
        for (int q = 0; q < cal->npoints; q++)
            if (cal->points[q].threads == t)
                pt = &cal->points[q];
        double gf = pt ? pt->gflops : 0, bw = pt ? pt->gbps : 0;
        if (is_gemm && rate > gf)
            gf = rate;
        if (!is_gemm && rate > bw)
            bw = rate;
        sono_calibration_set(cal, t, gf, bw);
    }
    json_decref(doc);
    return rc;
}

static int usage(const char *msg, const char *arg)
{
    fprintf(stderr, "harness calibrate: %s%s; see harness help calibrate\n", msg,
            arg ? arg : "");
    return SONO_EXIT_USAGE;
}

/* issue 10: the devices' part of the entry and of the printed table. Returns 1 when a
 * device that was measured failed (its entry is not stored; the old one, if any, stays). */
static int store_devices(cal_dev *devs, int ndev, int quick, const dev_sizes *ds,
                         const char *measured, const char *raw, sono_calibration *cal)
{
    int failed = 0;
    for (int d = 0; d < ndev; d++) {
        cal_dev *v = &devs[d];
        if (v->skip[0] || v->fail[0] || !(v->gbps > 0) || !(v->gflops > 0)) {
            printf("%s: %s: %s\n", v->dev->name, v->skip[0] ? "skipped" : "failed",
                   v->skip[0] ? v->skip : v->fail[0] ? v->fail : "no figure measured");
            failed |= !v->skip[0];
            continue;
        }
        json_t *sizes = json_array();
        for (int g = 0; g < ds->ngemm; g++)
            json_array_append_new(sizes, json_integer(ds->gemm[g]));
        json_t *details = json_pack(
            "{s:b, s:{s:s, s:I, s:I, s:s}, s:{s:s, s:o}, s:s, s:s, s:O, s:s}", "quick", quick,
            SONO_ROLE_BANDWIDTH, "impl", v->copy->full, "n", (json_int_t)ds->copy_n,
            "bytes_per_run",
            (json_int_t)(8 * ds->copy_n), "rule",
            quick ? "--quick: n = 2^20, may be cache-resident"
                  : "n = 2^26 floats (256 MiB a buffer): over 4x the L2 of GPUs with up to "
                    "64 MiB of it; GB/s counts the read and the write (8n bytes)",
            SONO_ROLE_PEAK_FLOPS, "impl", v->gemm->full, "sizes", sizes, "gpu", v->gpu, "statistic",
            "best over cases of flops (bytes) / median time", "cases", v->figures, "run_file",
            raw);
        cal_dev_entry(v, measured, details, cal);
    }
    for (int i = 0; i < cal->ndevices; i++) {
        const sono_cal_device *e = &cal->devices[i];
        if (i == 0)
            printf("  device   GFLOP/s (peak)  GB/s (bandwidth)  ridge flop/byte  name\n");
        printf("  %-7s  %14.2f  %16.2f  %15.2f  %s (%s)\n", e->device, e->gflops, e->gbps,
               e->gbps > 0 ? e->gflops / e->gbps : 0, e->name, e->measured);
        if (e->dtype_gflops[SONO_CAL_TF32] > 0 || e->dtype_gflops[SONO_CAL_BF16] > 0 ||
            e->dtype_gflops[SONO_CAL_F16] > 0) /* issue 26 */
            printf("  %-7s  tensor cores: tf32 %.2f, bf16 %.2f, f16 %.2f GFLOP/s (0: not "
                   "measured)\n", e->device, e->dtype_gflops[SONO_CAL_TF32],
                   e->dtype_gflops[SONO_CAL_BF16], e->dtype_gflops[SONO_CAL_F16]);
    }
    return failed;
}

int sono_cmd_calibrate(sono_reg *R, int argc, char **argv)
{
    const char *out_arg = NULL;
    const char *names[SONO_MAX_DEVICES]; /* issue 10: --device, repeatable */
    int quick = 0, quiet = 0, nnames = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out_arg = argv[++i];
        else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
            if (nnames == SONO_MAX_DEVICES)
                return usage("too many --device (at most " SONO_STR(SONO_MAX_DEVICES) ")",
                             NULL);
            names[nnames++] = argv[++i];
        }
        else if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--quiet") == 0)
            quiet = 1;
        else
            return usage("unexpected argument ", argv[i]);
    }
    char cal_path[PATH_MAX];
    if (out_arg)
        snprintf(cal_path, sizeof cal_path, "%s", out_arg);
    else
        sono_calibration_path(cal_path, sizeof cal_path);

    /* A file that cannot be updated fails now, not after a minute of measuring. */
    char host[256];
    sono_env_hostname(host, sizeof host);
    sono_calibration old;
    sono_error err = {0};
    int rc = sono_calibration_load(cal_path, host, &old, &err);
    int has_old = rc == 0; /* issue 10: what this run does not measure is kept from it */
    if (rc && rc != SONO_ENOTFOUND) {
        fprintf(stderr, "harness calibrate: %s\n", err.msg);
        return SONO_EXIT_USAGE; /* a bad input file, as for a suite */
    }
    int with_cpu = nnames == 0;
    for (int i = 0; i < nnames; i++)
        with_cpu |= strcmp(names[i], "cpu") == 0;
    if (!with_cpu && !has_old) {
        fprintf(stderr, "harness calibrate: %s has no entry for %s yet: measuring the CPU "
                "too\n", cal_path, host);
        with_cpu = 1;
    }
    static cal_dev devs[SONO_MAX_DEVICES];
    int ndev = 0;
    if (cal_devs_pick(R, names, nnames, devs, SONO_MAX_DEVICES, &ndev, &err)) {
        fprintf(stderr, "harness calibrate: %s\n", err.msg);
        if (has_old)
            sono_calibration_free(&old);
        return SONO_EXIT_USAGE;
    }
    static const long long dev_gemm_full[] = {1024, 2048}, dev_gemm_quick[] = {128};
    dev_sizes ds = {.copy_n = quick ? 1LL << 20 : 1LL << 26,
                    .gemm = quick ? dev_gemm_quick : dev_gemm_full, .ngemm = quick ? 1 : 2};

    machine m;
    probe(&m);
    int threads[2] = {1, m.cores}, nthreads = m.cores > 1 ? 2 : 1;
    /* STREAM's rule: the arrays (b, c and a together) at least 4x the last-level cache,
     * and never under 16 Mi floats (64 MiB), so no pass is served from cache. --quick
     * only checks the machinery: a cache-resident triad and a small SGEMM. */
    long long footprint = 4 * m.llc_bytes > (64LL << 20) ? 4 * m.llc_bytes : 64LL << 20;
    long long triad_n = quick ? 1 << 18 : (footprint / 12 + 4095) / 4096 * 4096;
    /* 1024^3 takes tens of ms per SGEMM on one core; its float64 reference about 1 s */
    static const long long full_gemm[] = {512, 1024}, quick_gemm[] = {128};
    const long long *gemm = quick ? quick_gemm : full_gemm;
    int ngemm = quick ? 1 : 2;

    sono_plan plan;
    if (build_plan(R, &m, quick, triad_n, gemm, ngemm, threads, nthreads, with_cpu, devs,
                   ndev, &ds, &plan, &err)) {
        fprintf(stderr, "harness calibrate: %s\n", err.msg);
        sono_plan_free(&plan);
        cal_devs_free(devs, ndev);
        if (has_old)
            sono_calibration_free(&old);
        return SONO_EXIT_FAIL;
    }

    char stamp[32], measured[32], raw[PATH_MAX + 320];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    strftime(measured, sizeof measured, "%Y-%m-%dT%H:%M:%SZ", &tm);
    run_file(cal_path, host, stamp, raw, sizeof raw);
    char dir[PATH_MAX + 320];
    snprintf(dir, sizeof dir, "%s", raw);
    *strrchr(dir, '/') = 0;
    mkdir(dir, 0755); /* results/ in a fresh tree; an error shows up at open */

    json_t *env = sono_env_json(R);
    json_t *cpu = json_deep_copy(json_object_get(env, "cpu"));
    json_t *libs = json_deep_copy(json_object_get(env, "libs"));
    json_t *sj = sono_suite_json(&plan);
    /* as in run: the calibration's run file is an ordinary results file for the report;
     * without memory for it the report falls back to its own guesses */
    json_object_set_new(sj, "ops", sono_ops_presentation_json(&plan));
    sono_results *res = NULL;
    if (sono_results_open(raw, sj, env, &res, &err)) {
        fprintf(stderr, "harness calibrate: %s\n", err.msg);
        json_decref(cpu);
        json_decref(libs);
        sono_plan_free(&plan);
        cal_devs_free(devs, ndev);
        if (has_old)
            sono_calibration_free(&old);
        return SONO_EXIT_FAIL;
    }
    fprintf(stderr, "harness calibrate: %d cases (%s) -> %s\n", plan.ncases,
            quick ? "quick" : "full", raw);

    volatile sig_atomic_t *stop = sono_cli_catch_stop();
    /* Measured the way `run` measures, in worker processes, and with no calibration:
     * this command is what makes one. */
    sono_sink *sinks[2];
    int nsinks = 0;
    sinks[nsinks++] = sono_sink_results(res);
    if (!quiet && isatty(2))
        sinks[nsinks++] = sono_sink_progress(stderr);
    sono_run_opts o = {.sinks = sinks, .nsinks = nsinks, .stop = stop,
                       .worker_exe = sono_cli_self_exe(), .cal = NULL};
    sono_run_counts n = {0};
    rc = sinks[0] && (nsinks == 1 || sinks[1]) ? sono_run_plan(&plan, &o, &n, &err)
                                              : sono_fail(&err, SONO_ENOMEM, "out of memory");
    if (rc == SONO_ENOMEM && !sinks[0]) /* never handed to a sink: close it here */
        sono_results_abandon(res);
    for (int i = 0; i < nsinks; i++)
        sono_sink_free(sinks[i]);
    int failed = rc && rc != SONO_EINTR;
    if (failed)
        fprintf(stderr, "harness calibrate: %s\n", err.msg);
    if (n.interrupted) {
        fprintf(stderr, "harness calibrate: stopped; nothing stored (raw records: %s)\n", raw);
        json_decref(cpu);
        json_decref(libs);
        sono_plan_free(&plan);
        cal_devs_free(devs, ndev);
        if (has_old)
            sono_calibration_free(&old);
        return SONO_EXIT_INTERRUPTED;
    }

    sono_calibration cal = {0};
    snprintf(cal.host, sizeof cal.host, "%s", host);
    snprintf(cal.measured, sizeof cal.measured, "%s", measured);
    const char *model = json_string_value(json_object_get(cpu, "model"));
    snprintf(cal.cpu, sizeof cal.cpu, "%s", model ? model : "unknown");
    json_t *figures = json_array();
    int dev_failed = 0;
    /* the impls build_plan ran, named in the details (NULL without the cpu part) */
    const char *cpu_kind = sono_cpu_device()->kind;
    const sono_impl_entry *bw = sono_reg_find_role(R, SONO_ROLE_BANDWIDTH, cpu_kind),
                          *peak = sono_reg_find_role(R, SONO_ROLE_PEAK_FLOPS, cpu_kind);
    if (!failed && collect(raw, &plan, &cal, figures, devs, ndev, &err)) {
        fprintf(stderr, "harness calibrate: %s; nothing stored (raw records: %s)\n", err.msg,
                raw);
        failed = 1;
    }
    json_t *sizes = json_array();
    for (int g = 0; g < ngemm; g++)
        json_array_append_new(sizes, json_integer(gemm[g]));
    cal.details = json_pack(
        "{s:b, s:{s:s, s:I, s:I, s:s}, s:{s:s, s:i, s:I}, s:{s:s, s:o}, s:i, s:o, s:o, s:s, "
        "s:o, s:s}",
        "quick", quick, SONO_ROLE_BANDWIDTH, "impl", bw ? bw->full : "", "n",
        (json_int_t)triad_n, "bytes_per_run", (json_int_t)(12 * triad_n), "rule",
        quick ? "--quick: fixed n, cache-resident" : "b, c, a together >= 4x llc, >= 64 MiB",
        "llc", "level", m.llc_level, "count", m.llc_count, "bytes", (json_int_t)m.llc_bytes,
        SONO_ROLE_PEAK_FLOPS, "impl", peak ? peak->full : "", "sizes", sizes, "cores", m.cores,
        "cpu", cpu, "libs", libs, "statistic",
        "best over cases of flops (bytes) / median time", "cases", figures, "run_file", raw);
    if (!with_cpu) { /* issue 10: --device without cpu: the CPU part as it was */
        snprintf(cal.measured, sizeof cal.measured, "%s", old.measured);
        snprintf(cal.cpu, sizeof cal.cpu, "%s", old.cpu);
        memcpy(cal.points, old.points, sizeof old.points);
        cal.npoints = old.npoints;
        json_decref(cal.details);
        cal.details = old.details ? json_incref(old.details) : NULL;
    }
    for (int i = 0; has_old && i < old.ndevices; i++) { /* kept unless measured again */
        sono_cal_device d = old.devices[i];
        d.details = d.details ? json_incref(d.details) : NULL;
        sono_calibration_set_device(&cal, &d);
    }
    if (!failed) {
        printf("calibration of %s (%s), %s cache %lld MiB, %d cores%s\n", host, cal.cpu,
               m.llc_level, m.llc_bytes >> 20, m.cores, quick ? " [--quick: not a "
               "real calibration]" : "");
        printf("  threads  GFLOP/s (peak)  GB/s (bandwidth)  ridge flop/byte\n");
        for (int i = 0; i < cal.npoints; i++) {
            const sono_cal_point *p = &cal.points[i];
            printf("  %7d  %14.2f  %16.2f  %15.2f\n", p->threads, p->gflops, p->gbps,
                   p->gbps > 0 ? p->gflops / p->gbps : 0);
        }
        for (int i = 0; i < cal.npoints; i++) /* issue 26 */
            for (int k = SONO_CAL_TF32; k <= SONO_CAL_F16; k++)
                if (cal.points[i].dtype_gflops[k] > 0)
                    printf("  %7d  %s GEMM peak %.2f GFLOP/s (%.2fx float32's)\n",
                           cal.points[i].threads, sono_cal_dtype_names[k],
                           cal.points[i].dtype_gflops[k],
                           cal.points[i].gflops > 0
                               ? cal.points[i].dtype_gflops[k] / cal.points[i].gflops
                               : 0);
        dev_failed = store_devices(devs, ndev, quick, &ds, measured, raw, &cal);
        if (sono_calibration_store(cal_path, &cal, &err)) {
            fprintf(stderr, "harness calibrate: %s\n", err.msg);
            failed = 1;
        } else
            printf("calibration: %s\nraw records: %s\n", cal_path, raw);
    }
    sono_calibration_free(&cal);
    sono_plan_free(&plan);
    cal_devs_free(devs, ndev);
    if (has_old)
        sono_calibration_free(&old);
    return failed || dev_failed ? SONO_EXIT_FAIL : SONO_EXIT_OK;
}
