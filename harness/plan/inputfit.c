/* inputfit.c — checks a file input's length against what a case needs when the plan is
 * made (run) or the command is read (exec), so a short recording is a reason naming the
 * parameter to change rather than a fill error deep in a worker. */
#include "inputfit.h"
#include "params.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Seconds as the user would type them: two decimals, rounded down so they fit. */
static double floor2(double s)
{
    return floor(s * 100.0 + 1e-9) / 100.0;
}

int sono_input_fit(const sono_op *op, const sono_params *p, const sono_input_spec *spec,
                   int exec, char *why, size_t nwhy, char *note, size_t nnote,
                   sono_error *err)
{
    why[0] = note[0] = 0;
    int pads = sono_op_param(op, "pad_or_trim") != NULL;
    int padded = pads && sono_param_int(p, "pad_or_trim", 1);
    /* an op that builds its input (codecs, vq) takes what it needs in its own way;
     * logmel's input hook only pads the signal */
    if (spec->kind != SONO_INPUT_FILE || (op->input && !pads))
        return 0;
    double file_s = 0;
    int file_rate = 0;
    int rc = sono_input_file_seconds(spec, &file_s, &file_rate, err);
    if (rc)
        return rc;
    sono_buf in, out;
    op->shapes(p, &in, &out);
    double rate = op->rate ? op->rate(p) : file_rate;
    long long need = sono_buf_elems(&in);
    double need_s = need / rate, have = floor(file_s * rate);
    const char *what = spec->dir ? "directory" : "file";
    if (padded && file_s < need_s - 0.5 / rate) {
        snprintf(note, nnote,
                 "input %s: %.2f s, zero-padded to the case's %.2f s (pad_or_trim=1, "
                 "as Whisper does)", spec->path, file_s, need_s);
    } else if (!padded && have + 1 < (double)need) { /* a resampler may give one sample either way */
        long long batch = sono_op_param(op, "batch") ? sono_param_int(p, "batch", 1) : 1;
        char hint[256];
        if (sono_op_param(op, "seconds")) {
            double s = floor2(file_s / (double)batch);
            if (exec)
                snprintf(hint, sizeof hint, "--param seconds=%g%s", s,
                         batch > 1 ? " (the batch's clips are consecutive)" : "");
            else
                snprintf(hint, sizeof hint, "--param seconds=%g%s or seconds = %g in the suite",
                         s, batch > 1 ? " (the batch's clips are consecutive)" : "", s);
        } else if (sono_op_param(op, "n"))
            snprintf(hint, sizeof hint, "--param n=N%s with n x batch <= %.0f",
                     exec ? "" : " (or n = N in the suite)", have);
        else
            snprintf(hint, sizeof hint, "a smaller size parameter (%.0f samples are there)",
                     have);
        snprintf(why, nwhy,
                 "input %s is %.2f s (%.0f samples at %g Hz), the case needs %lld samples "
                 "(%.2f s) and %ss are never padded: use a longer %s or %s", spec->path,
                 file_s, have, rate, need, need_s, what, what, hint);
        return 1;
    } else if (file_s > need_s + 0.5 / rate)
        snprintf(note, nnote, "input %s: %.2f s, the case uses its first %.2f s", spec->path,
                 file_s, need_s);
    if (note[0] && sono_op_param(op, "seconds") && strstr(note, "first"))
        snprintf(note + strlen(note), nnote - strlen(note),
                 " (seconds=%g; --param seconds=all%s, or %g, for all of it)",
                 sono_param_real(p, "seconds", 0), exec ? "" : " or seconds = all in the suite",
                 floor2(file_s));
    return 0;
}

int sono_input_resolve_all(const sono_op *op, sono_params *p, const sono_input_spec *spec,
                           char *note, size_t nnote, sono_error *err)
{
    note[0] = 0;
    sono_param *v = sono_params_all(p);
    if (!v)
        return 0;
    if (spec->kind != SONO_INPUT_FILE)
        return 1;
    double file_s = 0;
    int file_rate = 0;
    int rc = sono_input_file_seconds(spec, &file_s, &file_rate, err);
    if (rc)
        return rc;
    long long batch = sono_op_param(op, "batch") ? sono_param_int(p, "batch", 1) : 1;
    double s = floor2(file_s / (double)(batch > 0 ? batch : 1));
    const sono_param_spec *ps = sono_op_param(op, "seconds");
    if (ps && !(s >= ps->rmin && s <= ps->rmax))
        return sono_fail(err, SONO_EINVAL, "seconds=all: input %s is %.2f s%s, which gives "
                         "seconds=%g: %s takes %g..%g (set seconds to a value in range)",
                         spec->path, file_s, batch > 1 ? " over the batch's clips" : "", s,
                         op->name, ps->rmin, ps->rmax);
    v->r = s;
    snprintf(note, nnote, "seconds=all: input %s is %.3f s%s; the case uses seconds=%g%s",
             spec->path, file_s, spec->dir ? " (its files, one after another)" : "", s,
             batch > 1 ? " per clip (the batch's clips are consecutive)" : "");
    return 0;
}
