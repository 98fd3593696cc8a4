/* calibration.c — the calibration file (schema sonobench.calibration/1): per host, the
 * ceilings `harness calibrate` measured; read by `run` for the roofline. Read-modify-write
 * with an atomic rename, so hosts sharing a results folder keep each other's entries. */
#include "calibration.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env.h"
#include "paths.h"

void sono_calibration_path(char *out, size_t n)
{
    const char *env = getenv("SONO_CALIBRATION");
    if (env && *env)
        snprintf(out, n, "%s", env);
    else
        snprintf(out, n, "%s/results/calibration.json", sono_root_dir());
}

void sono_wisdom_path(char *out, size_t n)
{
    char cal[PATH_MAX], host[256];
    sono_calibration_path(cal, sizeof cal);
    char *slash = strrchr(cal, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(cal, sizeof cal, ".");
    sono_env_hostname(host, sizeof host);
    /* a host name is a file name component here: nothing that could leave the folder */
    for (char *c = host; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-' && *c != '_')
            *c = '_';
    snprintf(out, n, "%s/fftw-wisdom-%s.txt", cal[0] ? cal : "/", host);
}

int sono_wisdom_setenv(sono_error *err)
{
    /* A value the harness derived is marked, and derived again here: inherited by a job on
     * another host (sbatch exports the environment), it would name the submitting host's
     * file; or by a child harness with another $SONO_CALIBRATION. */
    const char *auto_set = getenv("SONO_FFTW_WISDOM_AUTO");
    if (getenv("SONO_FFTW_WISDOM") && !(auto_set && strcmp(auto_set, "1") == 0))
        return 0;
    char path[PATH_MAX + 300];
    sono_wisdom_path(path, sizeof path);
    if (setenv("SONO_FFTW_WISDOM", path, 1) != 0 || setenv("SONO_FFTW_WISDOM_AUTO", "1", 1))
        return sono_fail(err, SONO_ENOMEM, "cannot set SONO_FFTW_WISDOM=%s: %s", path,
                         strerror(errno));
    return 0;
}

void sono_calibration_free(sono_calibration *cal)
{
    if (!cal)
        return;
    json_decref(cal->details);
    cal->details = NULL;
    for (int i = 0; i < cal->ndevices; i++) {
        json_decref(cal->devices[i].details);
        cal->devices[i].details = NULL;
    }
    cal->ndevices = 0;
}

int sono_calibration_set_device(sono_calibration *cal, const sono_cal_device *d)
{
    if (!d->device[0]) {
        json_decref(d->details);
        return SONO_EINVAL;
    }
    int i = 0;
    while (i < cal->ndevices && strcmp(cal->devices[i].device, d->device) != 0)
        i++;
    if (i == cal->ndevices) {
        if (cal->ndevices == SONO_CAL_MAX_DEVICES) {
            json_decref(d->details);
            return SONO_ENOMEM;
        }
        cal->ndevices++;
    } else
        json_decref(cal->devices[i].details);
    cal->devices[i] = *d;
    return 0;
}

const sono_cal_device *sono_calibration_device(const sono_calibration *cal, const char *name)
{
    for (int i = 0; cal && name && i < cal->ndevices; i++)
        if (strcmp(cal->devices[i].device, name) == 0)
            return &cal->devices[i];
    return NULL;
}

int sono_calibration_set(sono_calibration *cal, int threads, double gflops, double gbps)
{
    int i = 0;
    if (threads < 1)
        return SONO_EINVAL;
    while (i < cal->npoints && cal->points[i].threads < threads)
        i++;
    if (i < cal->npoints && cal->points[i].threads == threads) {
        /* issue 26: the point's dtype peaks survive an update of its float32 figures */
        cal->points[i].gflops = gflops;
        cal->points[i].gbps = gbps;
        return 0;
    }
    if (cal->npoints == SONO_CAL_MAX_POINTS)
        return SONO_ENOMEM;
    memmove(&cal->points[i + 1], &cal->points[i],
            (size_t)(cal->npoints - i) * sizeof cal->points[0]);
    cal->npoints++;
    cal->points[i] = (sono_cal_point){.threads = threads, .gflops = gflops, .gbps = gbps};
    return 0;
}

int sono_calibration_set_dtype(sono_calibration *cal, int threads, int k, double gflops)
{
    if (k < SONO_CAL_TF32 || k > SONO_CAL_F16)
        return SONO_EINVAL;
    for (int i = 0; i < cal->npoints; i++)
        if (cal->points[i].threads == threads) {
            cal->points[i].dtype_gflops[k] = gflops;
            return 0;
        }
    return SONO_ENOTFOUND;
}

/* issue 26: {"tf32": x, ...} of the positive dtype peaks (an empty object when none). */
static json_t *byd_json(const double *g)
{
    json_t *byd = json_object();
    for (int k = SONO_CAL_TF32; byd && k <= SONO_CAL_F16; k++)
        if (g[k] > 0)
            json_object_set_new(byd, sono_cal_dtype_names[k], json_real(g[k]));
    return byd;
}

/* issue 26: an optional "gflops_by_dtype" object into g[] (zeros where absent); where
 * names the entry in the message. */
static int parse_byd(const char *path, const char *where, json_t *byd, double *g,
                     sono_error *err)
{
    const char *dk;
    json_t *v;
    if (byd && !json_is_object(byd))
        return sono_fail(err, SONO_EPARSE, "%s: %s: \"gflops_by_dtype\" must be an object of "
                         "dtype -> GFLOP/s", path, where);
    json_object_foreach(byd, dk, v) {
        int k = sono_cal_dtype_index(dk);
        if (k < SONO_CAL_TF32 || !json_is_number(v) || !(json_number_value(v) >= 0))
            return sono_fail(err, SONO_EPARSE, "%s: %s: gflops_by_dtype.%s: expected one of "
                             "tf32, bf16, f16 with a number >= 0", path, where, dk);
    }
    for (int k = SONO_CAL_TF32; k <= SONO_CAL_F16; k++)
        g[k] = json_number_value(json_object_get(byd, sono_cal_dtype_names[k]));
    return 0;
}

int sono_calibration_quick(const sono_calibration *cal)
{
    int quick = cal && json_is_true(json_object_get(cal->details, "quick"));
    for (int i = 0; cal && i < cal->ndevices; i++)
        quick |= json_is_true(json_object_get(cal->devices[i].details, "quick"));
    return quick;
}

json_t *sono_calibration_json(const sono_calibration *cal)
{
    json_t *th = json_object();
    for (int i = 0; i < cal->npoints; i++) {
        char key[16];
        snprintf(key, sizeof key, "%d", cal->points[i].threads);
        json_t *pt = json_pack("{s:f, s:f}", "gflops", cal->points[i].gflops, "gbps",
                               cal->points[i].gbps);
        json_t *byd = byd_json(cal->points[i].dtype_gflops); /* issue 26 */
        if (pt && byd && json_object_size(byd))
            json_object_set(pt, "gflops_by_dtype", byd);
        json_decref(byd);
        json_object_set_new(th, key, pt);
    }
    json_t *e = json_pack("{s:s, s:s, s:o, s:o}", "measured", cal->measured, "cpu", cal->cpu,
                          "threads", th, "details",
                          cal->details ? json_deep_copy(cal->details) : json_object());
    if (cal->ndevices > 0) { /* issue 10; absent when none, as in older files */
        json_t *devs = json_object();
        for (int i = 0; i < cal->ndevices; i++) {
            const sono_cal_device *d = &cal->devices[i];
            json_t *dv = json_pack("{s:s, s:s, s:f, s:f, s:o}", "name", d->name,
                                   "measured", d->measured, "gflops", d->gflops,
                                   "gbps", d->gbps, "details",
                                   d->details ? json_deep_copy(d->details) : json_object());
            json_t *byd = byd_json(d->dtype_gflops); /* issue 26 */
            if (dv && byd && json_object_size(byd))
                json_object_set(dv, "gflops_by_dtype", byd);
            json_decref(byd);
            json_object_set_new(devs, d->device, dv);
        }
        json_object_set_new(e, "devices", devs);
    }
    if (e && sono_calibration_quick(cal)) /* issue 27: said where every reader looks */
        json_object_set_new(e, "quick", json_true());
    return e;
}

/* The whole document, checked down to "hosts". *doc NULL (and 0) when the file does not
 * exist; then *missing is set. */
static int read_doc(const char *path, json_t **doc, int *missing, sono_error *err)
{
    struct stat sb;
    *doc = NULL;
    *missing = 0;
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT) {
            *missing = 1;
            return 0;
        }
        return sono_fail(err, SONO_EIO, "%s: cannot read calibration file: %s", path,
                         strerror(errno));
    }
    json_error_t je;
    json_t *d = json_load_file(path, 0, &je);
    if (!d)
        return sono_fail(err, SONO_EPARSE, "%s:%d:%d: not a valid calibration file: %s",
                         path, je.line, je.column, je.text);
    const char *schema = json_string_value(json_object_get(d, "schema"));
    if (!json_is_object(d) || !schema || strcmp(schema, SONO_CALIBRATION_SCHEMA) != 0 ||
        !json_is_object(json_object_get(d, "hosts"))) {
        json_decref(d);
        return sono_fail(err, SONO_EPARSE, "%s: not a calibration file: expected an object "
                         "with \"schema\": \"%s\" and an object \"hosts\"", path,
                         SONO_CALIBRATION_SCHEMA);
    }
    *doc = d;
    return 0;
}

/* A thread-count key: a decimal integer in [1, 2^20], nothing else. */
static int parse_threads(const char *key)
{
    char *end;
    errno = 0;
    long v = strtol(key, &end, 10);
    if (errno || end == key || *end || key[0] == '+' || key[0] == '-' || v < 1 ||
        v > (1L << 20))
        return -1;
    return (int)v;
}

/* issue 10: the optional "devices" object of a host entry. */
static int parse_devices(const char *path, const char *host, json_t *devs, sono_calibration *cal,
                         sono_error *err)
{
    const char *key;
    json_t *v;
    if (!devs)
        return 0;
    if (!json_is_object(devs))
        return sono_fail(err, SONO_EPARSE, "%s: host \"%s\": \"devices\" must be an object "
                         "of device name -> entry", path, host);
    json_object_foreach(devs, key, v) {
        const char *name = json_string_value(json_object_get(v, "name"));
        const char *measured = json_string_value(json_object_get(v, "measured"));
        json_t *gf = json_object_get(v, "gflops"), *bw = json_object_get(v, "gbps");
        json_t *details = json_object_get(v, "details");
        if (!*key || strlen(key) >= sizeof cal->devices[0].device || !name || !measured ||
            !json_is_number(gf) || !json_is_number(bw) || !(json_number_value(gf) >= 0) ||
            !(json_number_value(bw) >= 0) || (details && !json_is_object(details)))
            return sono_fail(err, SONO_EPARSE, "%s: host \"%s\", device \"%s\": expected "
                             "strings \"name\" and \"measured\", numbers \"gflops\" and "
                             "\"gbps\" >= 0 and an optional object \"details\"", path, host,
                             key);
        sono_cal_device d = {.gflops = json_number_value(gf), .gbps = json_number_value(bw)};
        char where[512];
        snprintf(where, sizeof where, "host \"%s\", device \"%s\"", host, key);
        int rc = parse_byd(path, where, json_object_get(v, "gflops_by_dtype"), d.dtype_gflops,
                           err); /* issue 26, optional */
        if (rc)
            return rc;
        d.details = details ? json_incref(details) : NULL;
        snprintf(d.device, sizeof d.device, "%s", key);
        snprintf(d.name, sizeof d.name, "%s", name);
        snprintf(d.measured, sizeof d.measured, "%s", measured);
        if (sono_calibration_set_device(cal, &d))
            return sono_fail(err, SONO_EPARSE, "%s: host \"%s\": more than %d devices", path,
                             host, SONO_CAL_MAX_DEVICES);
    }
    return 0;
}

static int parse_entry(const char *path, const char *host, json_t *e, sono_calibration *cal,
                       sono_error *err)
{
    const char *measured = json_string_value(json_object_get(e, "measured"));
    const char *cpu = json_string_value(json_object_get(e, "cpu"));
    json_t *th = json_object_get(e, "threads"), *details = json_object_get(e, "details");
    if (!json_is_object(e) || !measured || !cpu || !json_is_object(th) ||
        json_object_size(th) == 0 || (details && !json_is_object(details)))
        return sono_fail(err, SONO_EPARSE, "%s: host \"%s\": expected strings \"measured\" "
                         "and \"cpu\", a non-empty object \"threads\" and an optional object "
                         "\"details\"", path, host);
    snprintf(cal->host, sizeof cal->host, "%s", host);
    snprintf(cal->measured, sizeof cal->measured, "%s", measured);
    snprintf(cal->cpu, sizeof cal->cpu, "%s", cpu);
    const char *key;
    json_t *v;
    json_object_foreach(th, key, v) {
        int t = parse_threads(key);
        json_t *gf = json_object_get(v, "gflops"), *bw = json_object_get(v, "gbps");
        if (t < 0 || !json_is_number(gf) || !json_is_number(bw) ||
            !(json_number_value(gf) >= 0) || !(json_number_value(bw) >= 0))
            return sono_fail(err, SONO_EPARSE, "%s: host \"%s\", threads \"%s\": expected a "
                             "thread count >= 1 holding numbers \"gflops\" and \"gbps\" >= 0",
                             path, host, key);
        if (sono_calibration_set(cal, t, json_number_value(gf), json_number_value(bw)))
            return sono_fail(err, SONO_EPARSE, "%s: host \"%s\": more than %d thread counts",
                             path, host, SONO_CAL_MAX_POINTS);
        double g[4] = {0};
        char where[300];
        snprintf(where, sizeof where, "host \"%s\", threads \"%s\"", host, key);
        int rc = parse_byd(path, where, json_object_get(v, "gflops_by_dtype"), g, err);
        for (int k = SONO_CAL_TF32; !rc && k <= SONO_CAL_F16; k++)
            sono_calibration_set_dtype(cal, t, k, g[k]); /* issue 26, optional */
        if (rc)
            return rc;
    }
    cal->details = details ? json_incref(details) : NULL;
    return parse_devices(path, host, json_object_get(e, "devices"), cal, err);
}

int sono_calibration_load(const char *path, const char *host, sono_calibration *cal,
                          sono_error *err)
{
    memset(cal, 0, sizeof *cal);
    json_t *doc;
    int missing, rc = read_doc(path, &doc, &missing, err);
    if (rc)
        return rc;
    if (missing)
        return sono_fail(err, SONO_ENOTFOUND, "%s: no calibration file (run harness "
                         "calibrate)", path);
    json_t *e = json_object_get(json_object_get(doc, "hosts"), host);
    if (!e)
        rc = sono_fail(err, SONO_ENOTFOUND, "%s: no calibration for host \"%s\" (run harness "
                       "calibrate on it)", path, host);
    else
        rc = parse_entry(path, host, e, cal, err);
    json_decref(doc);
    if (rc)
        sono_calibration_free(cal);
    return rc;
}

/* The folder holding path, created when missing (one level: results/ in a fresh tree). */
static void make_parent(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return;
    *slash = 0;
    mkdir(dir, 0755);
}

static int write_atomic(const char *path, json_t *doc, sono_error *err)
{
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    make_parent(path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return sono_fail(err, SONO_EIO, "%s: cannot write calibration file: %s", tmp,
                         strerror(errno));
    int bad = json_dumpf(doc, f, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) != 0 ||
              fputc('\n', f) == EOF || fflush(f) != 0 || fsync(fileno(f)) != 0;
    int saved = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        saved = errno;
    }
    if (bad || rename(tmp, path) != 0) {
        if (!bad)
            saved = errno;
        unlink(tmp);
        return sono_fail(err, SONO_EIO, "%s: cannot write calibration file: %s", path,
                         strerror(saved));
    }
    return 0;
}

int sono_calibration_store(const char *path, const sono_calibration *cal, sono_error *err)
{
    if (!cal->host[0] || cal->npoints == 0)
        return sono_fail(err, SONO_EINVAL, "%s: a calibration needs a host and at least one "
                         "thread count", path);
    json_t *doc;
    int missing, rc = read_doc(path, &doc, &missing, err);
    if (rc)
        return rc;
    if (missing)
        doc = json_pack("{s:s, s:{}}", "schema", SONO_CALIBRATION_SCHEMA, "hosts");
    json_object_set_new(json_object_get(doc, "hosts"), cal->host, sono_calibration_json(cal));
    rc = write_atomic(path, doc, err);
    json_decref(doc);
    return rc;
}

/* min(peak, flops/bytes x bandwidth): 0 when a figure it needs is not positive. */
static double bound(double peak, double gbps, double flops, double bytes)
{
    if (!(flops > 0) || !(peak > 0))
        return 0;
    if (!(bytes > 0))
        return peak;
    if (!(gbps > 0))
        return 0;
    double mem = flops / bytes * gbps; /* flop/byte x 1e9 byte/s = GFLOP/s */
    return mem < peak ? mem : peak;
}

double sono_roofline_bound_device(const sono_calibration *cal, const char *device,
                                  double flops, double bytes)
{
    const sono_cal_device *d = sono_calibration_device(cal, device);
    return d ? bound(d->gflops, d->gbps, flops, bytes) : 0;
}

const char *const sono_cal_dtype_names[4] = {"f32", "tf32", "bf16", "f16"};

int sono_cal_dtype_index(const char *dtype)
{
    for (int k = 0; dtype && k < 4; k++)
        if (strcmp(dtype, sono_cal_dtype_names[k]) == 0)
            return k;
    return -1;
}

double sono_roofline_bound_device_dtype(const sono_calibration *cal, const char *device,
                                        const char *dtype, double flops, double bytes)
{
    int k = dtype ? sono_cal_dtype_index(dtype) : SONO_CAL_F32;
    const sono_cal_device *d = sono_calibration_device(cal, device);
    if (!d || k < 0)
        return 0;
    return bound(k == SONO_CAL_F32 ? d->gflops : d->dtype_gflops[k], d->gbps, flops, bytes);
}

double sono_roofline_bound_gflops(const sono_calibration *cal, int threads, double flops,
                                  double bytes)
{
    return sono_roofline_bound_gflops_dtype(cal, threads, NULL, flops, bytes);
}

double sono_roofline_bound_gflops_dtype(const sono_calibration *cal, int threads,
                                        const char *dtype, double flops, double bytes)
{
    const sono_cal_point *at = NULL;
    if (!cal || !(flops > 0))
        return 0;
    for (int i = 0; i < cal->npoints; i++)
        if (cal->points[i].threads <= threads)
            at = &cal->points[i]; /* ascending: the last one is the largest */
    int k = dtype ? sono_cal_dtype_index(dtype) : SONO_CAL_F32;
    double peak = at ? at->gflops : 0;
    if (at && k > SONO_CAL_F32 && at->dtype_gflops[k] > peak)
        peak = at->dtype_gflops[k];
    return at ? bound(peak, at->gbps, flops, bytes) : 0;
}
