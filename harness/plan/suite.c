/* suite.c — reads a suite file into a plan. inih tokenises; every entry is kept with its
 * line (counted by our own line reader, since Debian's inih is built without line numbers
 * in the handler), and the meaning is checked afterwards so each error can name its line. */
#include "suite.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "casedev.h" /* issue 10 */
#include "inputfit.h"
#include "params.h"
#include "pin.h"
#include "sha256.h"

typedef struct entry {
    char section[64];
    char key[64];
    char value[256];
    int line;
} entry;

typedef struct reader {
    FILE *f;
    int line;
    int long_line; /* first line longer than inih's buffer */
    entry *e;
    int n, cap;
    int bad_line;
    int bad_utf8; /* first line that is not UTF-8: ids and results are JSON, which is */
    /* issue 27: inih merges two sections of one name into one; each header seen, so a
     * second [fft] is named as such (not as a key given twice, or not at all) */
    struct { char name[64]; int line; } *heads;
    int nheads, dup_line, dup_first;
    char dup_name[64];
} reader;

/* A "[name]" line: its name against the ones before. */
static void section_head(reader *r, const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    const char *close = *s == '[' ? strchr(s, ']') : NULL;
    if (!close || r->dup_line)
        return;
    char name[64];
    const char *b = s + 1, *e = close;
    while (b < e && (*b == ' ' || *b == '\t'))
        b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    snprintf(name, sizeof name, "%.*s", (int)(e - b), b);
    for (int i = 0; i < r->nheads; i++)
        if (strcmp(r->heads[i].name, name) == 0) {
            r->dup_line = r->line;
            r->dup_first = r->heads[i].line;
            snprintf(r->dup_name, sizeof r->dup_name, "%s", name);
            return;
        }
    void *h = realloc(r->heads, (size_t)(r->nheads + 1) * sizeof *r->heads);
    if (!h)
        return;
    r->heads = h;
    snprintf(r->heads[r->nheads].name, sizeof r->heads[0].name, "%s", name);
    r->heads[r->nheads++].line = r->line;
}

static int utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 0 : (*p >> 5) == 6 ? 1 : (*p >> 4) == 14 ? 2 : (*p >> 3) == 30 ? 3 : -1;
        if (n < 0)
            return 0;
        p++;
        for (int i = 0; i < n; i++, p++)
            if ((*p >> 6) != 2)
                return 0;
    }
    return 1;
}

/* inih reads with this in place of fgets; counting here gives the handler its line. */
static char *read_line(char *str, int num, void *stream)
{
    reader *r = stream;
    char *s = fgets(str, num, r->f);
    if (!s)
        return NULL;
    size_t len = strlen(s);
    if (!r->bad_utf8 && !utf8_ok(s))
        r->bad_utf8 = r->line + 1;
    int whole = 1;
    if (len && s[len - 1] == '\n')
        r->line++;
    else if (feof(r->f)) /* a last line without its newline is a line too */
        r->line++;
    else if (!r->long_line) /* split by inih's fixed buffer */
        r->long_line = r->line + 1, whole = 0;
    else
        whole = 0;
    if (whole)
        section_head(r, s);
    return s;
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
    reader *r = user;
    if (r->n == r->cap) {
        int cap = r->cap ? r->cap * 2 : 64;
        entry *e = realloc(r->e, (size_t)cap * sizeof *e);
        if (!e)
            return 0;
        r->e = e;
        r->cap = cap;
    }
    entry *e = &r->e[r->n++];
    snprintf(e->section, sizeof e->section, "%s", section);
    snprintf(e->key, sizeof e->key, "%s", name);
    snprintf(e->value, sizeof e->value, "%s", value);
    e->line = r->line;
    return 1;
}

/* ---- plan building ------------------------------------------------------------------ */

typedef struct ctx {
    const char *file;
    const sono_reg *R;
    sono_plan *plan;
    sono_error *err;
    sono_measure_cfg cfg;
    char inputs[256];
    int inputs_line;
    const sono_param_override *ov; /* issue 27: run --param */
    int nov;
    struct xfail *xf;              /* issue 27: [suite]'s expect_fail entries */
    int nxf;
} ctx;

/* issue 27: "GLOB: reason" — cases whose id (or backend/impl) matches are known to fail */
typedef struct xfail {
    char glob[256];
    char reason[256];
} xfail;

static int parse_xfail(const char *file, int line, const char *value, xfail *x,
                       sono_error *err)
{
    const char *colon = strchr(value, ':');
    const char *r = colon ? colon + 1 : "";
    while (*r == ' ' || *r == '\t')
        r++;
    size_t g = colon ? (size_t)(colon - value) : 0;
    while (g && (value[g - 1] == ' ' || value[g - 1] == '\t'))
        g--;
    if (!colon || !g || !*r || g >= sizeof x->glob)
        return sono_fail(err, SONO_EPARSE, "%s:%d: expect_fail: expected 'GLOB: reason' (GLOB "
                         "matches case ids or backend/impl, e.g. 'BACKEND/IMPL/param=value*: "
                         "why it fails'), got '%s'", file, line, value);
    snprintf(x->glob, sizeof x->glob, "%.*s", (int)g, value);
    snprintf(x->reason, sizeof x->reason, "%s", r);
    return 0;
}

/* The reason of the first entry matching the case, or NULL. An id glob may leave out
 * the op: "py/torchaudio/format=vorbis*" matches "decode/py/torchaudio/format=vorbis,...". */
static const char *xfail_match(const xfail *xs, int n, const sono_case *k)
{
    const char *no_op = strchr(k->id, '/');
    for (int i = 0; i < n; i++)
        if (fnmatch(xs[i].glob, k->id, 0) == 0 || fnmatch(xs[i].glob, k->impl_name, 0) == 0 ||
            (no_op && fnmatch(xs[i].glob, no_op + 1, 0) == 0))
            return xs[i].reason;
    return NULL;
}

static int fail_at(ctx *c, int line, const char *fmt, const char *what)
{
    return sono_fail(c->err, SONO_EPARSE, "%s:%d: %s%s", c->file, line, fmt, what);
}

static int measure_key(ctx *c, const entry *e, sono_measure_cfg *cfg, int *handled)
{
    if (strcmp(e->key, "pin") == 0) {
        sono_pin pin;
        sono_error e2 = {0};
        *handled = 1;
        if (sono_pin_parse(e->value, &pin, &e2))
            return sono_fail(c->err, SONO_EPARSE, "%s:%d: pin: %s", c->file, e->line, e2.msg);
        snprintf(cfg->pin, sizeof cfg->pin, "%s", e->value);
        return 0;
    }
    char *end;
    double v = strtod(e->value, &end);
    int bad = end == e->value || *end;
    *handled = 1;
    if (strcmp(e->key, "target_ci") == 0)
        bad = bad || !(v > 0 && v < 1), cfg->target_ci = v;
    else if (strcmp(e->key, "budget_s") == 0)
        bad = bad || !(v > 0 && v <= 3600), cfg->budget_s = v;
    else if (strcmp(e->key, "warmup_s") == 0)
        bad = bad || !(v >= 0 && v <= 600), cfg->warmup_s = v;
    else if (strcmp(e->key, "timeout_s") == 0)
        bad = bad || !(v > 0 && v <= 86400), cfg->timeout_s = v;
    else if (strcmp(e->key, "min_time_s") == 0)
        bad = bad || !(v >= 0 && v <= 3600), cfg->min_time_s = v;
    else if (strcmp(e->key, "max_samples") == 0)
        bad = bad || !(v >= 1 && v <= 1e6) || v != (long)v, cfg->max_samples = (long)v;
    else if (strcmp(e->key, "min_samples") == 0)
        bad = bad || !(v >= 1 && v <= 1e6) || v != (long)v, cfg->min_samples = (long)v;
    else if (strcmp(e->key, "repetitions") == 0) /* issue 22 */
        bad = bad || !(v >= 1 && v <= 1000) || v != (int)v, cfg->repetitions = (int)v;
    else
        *handled = 0;
    if (*handled && bad) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s = '%s': expected %s", e->key, e->value,
                 strcmp(e->key, "target_ci") == 0 ? "a fraction in (0, 1), e.g. 0.02"
                 : strcmp(e->key, "budget_s") == 0 ? "seconds in (0, 3600]"
                 : strcmp(e->key, "warmup_s") == 0 ? "seconds in [0, 600]"
                 : strcmp(e->key, "min_time_s") == 0 ? "seconds in [0, 3600]"
                 : strcmp(e->key, "timeout_s") == 0 ? "seconds in (0, 86400]"
                 : strcmp(e->key, "repetitions") == 0 ? "an integer in [1, 1000]"
                                                   : "an integer in [1, 1000000]");
        return fail_at(c, e->line, msg, "");
    }
    return 0;
}

static int suite_section(ctx *c, const entry *e)
{
    int handled, rc = measure_key(c, e, &c->cfg, &handled);
    if (rc || handled)
        return rc;
    sono_plan *p = c->plan;
    if (strcmp(e->key, "name") == 0)
        snprintf(p->name, sizeof p->name, "%s", e->value);
    else if (strcmp(e->key, "description") == 0)
        snprintf(p->description, sizeof p->description, "%s", e->value);
    else if (strcmp(e->key, "inputs") == 0) {
        snprintf(c->inputs, sizeof c->inputs, "%s", e->value);
        c->inputs_line = e->line;
    } else if (strcmp(e->key, "expect_fail") == 0) { /* issue 27 */
        xfail *x = realloc(c->xf, (size_t)(c->nxf + 1) * sizeof *x);
        if (!x)
            return sono_fail(c->err, SONO_ENOMEM, "out of memory");
        c->xf = x;
        return parse_xfail(c->file, e->line, e->value, &c->xf[c->nxf++], c->err);
    } else if (strcmp(e->key, "sample_rate") == 0) {
        char *end;
        p->sample_rate = strtod(e->value, &end);
        if (end == e->value || *end || !(p->sample_rate >= 1 && p->sample_rate <= 1e7))
            return fail_at(c, e->line, "sample_rate: expected Hz in [1, 1e7], got ", e->value);
    } else
        return fail_at(c, e->line, "unknown key in [suite]; expected name, description, "
                       "inputs, sample_rate, target_ci, budget_s, warmup_s, min_time_s, "
                       "min_samples, max_samples, timeout_s, pin, repetitions, expect_fail; got ", e->key);
    return 0;
}

/* "IMPL_GLOB: param <= value" */
typedef struct limit {
    char impl[160];
    const sono_param_spec *spec;
    char op[3];
    double value;
} limit;

static int parse_limit(ctx *c, const sono_op *op, const entry *e, limit *L)
{
    char buf[256], name[64];
    snprintf(buf, sizeof buf, "%s", e->value);
    char *colon = strchr(buf, ':');
    const char *usage = "limit: expected 'IMPL_GLOB: PARAM OP VALUE' with OP one of "
                        "<= < >= > == != (e.g. 'BACKEND/*: n <= 4096'), got ";
    if (!colon)
        return fail_at(c, e->line, usage, e->value);
    *colon = 0;
    char *s = colon + 1;
    int len = 0;
    if (sscanf(buf, " %159s", L->impl) != 1 || sscanf(s, " %63[a-z_0-9] %n", name, &len) != 1)
        return fail_at(c, e->line, usage, e->value);
    s += len;
    size_t oplen = strspn(s, "<>=!");
    if (oplen < 1 || oplen > 2)
        return fail_at(c, e->line, usage, e->value);
    snprintf(L->op, sizeof L->op, "%.*s", (int)oplen, s);
    if (!strstr("<= < >= > == !=", L->op) || strcmp(L->op, "=") == 0 || strcmp(L->op, "!") == 0)
        return fail_at(c, e->line, usage, e->value);
    char *end;
    L->value = strtod(s + oplen, &end);
    while (isspace((unsigned char)*end))
        end++;
    if (end == s + oplen || *end)
        return fail_at(c, e->line, usage, e->value);
    L->spec = sono_op_param(op, name);
    if (!L->spec || L->spec->type == SONO_PSTR)
        return fail_at(c, e->line, "limit: not a numeric parameter of this op: ", name);
    return 0;
}

static int limit_allows(const limit *L, const char *impl, const sono_params *p)
{
    if (fnmatch(L->impl, impl, 0) != 0)
        return 1;
    double v = sono_param_real(p, L->spec->name, 0);
    if (strcmp(L->op, "<=") == 0) return v <= L->value;
    if (strcmp(L->op, "<") == 0) return v < L->value;
    if (strcmp(L->op, ">=") == 0) return v >= L->value;
    if (strcmp(L->op, ">") == 0) return v > L->value;
    if (strcmp(L->op, "==") == 0) return v == L->value;
    return v != L->value;
}

/* One impl token of a group: a name, a glob, or a name under an unloaded backend. */
typedef struct impl_ref {
    const sono_impl_entry *e;
    char name[160];
    char skip[1024];
} impl_ref;

static int resolve_impls(ctx *c, const sono_op *op, const char *list, int line, impl_ref *out,
                         int *n)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    *n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
        if (strpbrk(t, "*?[")) {
            int before = *n;
            for (int i = 0; i < c->R->nimpls && *n < 64; i++) {
                const sono_impl_entry *e = &c->R->impls[i];
                if (e->op == op && fnmatch(t, e->full, 0) == 0)
                    out[(*n)++] = (impl_ref){.e = e};
            }
            if (*n == before)
                return fail_at(c, line, "impls: no loaded impl matches ", t);
            continue;
        }
        sono_error e2 = {0};
        const sono_impl_entry *e = sono_reg_find(c->R, op, t, &e2);
        if (*n >= 64)
            return fail_at(c, line, "impls: more than 64 in one group", "");
        if (e) {
            out[(*n)++] = (impl_ref){.e = e};
            continue;
        }
        /* backend/impl whose backend exists but could not load: skipped, with why */
        char be[64];
        snprintf(be, sizeof be, "%.*s", (int)strcspn(t, "/"), t);
        const sono_backend *b = strchr(t, '/') ? sono_reg_backend(c->R, be) : NULL;
        if (b && !b->available) {
            impl_ref *r = &out[(*n)++];
            *r = (impl_ref){.e = NULL};
            snprintf(r->name, sizeof r->name, "%s", t);
            snprintf(r->skip, sizeof r->skip, "backend %s unavailable: %s", be, b->reason);
            continue;
        }
        return sono_fail(c->err, SONO_EPARSE, "%s:%d: impls: %s", c->file, line, e2.msg);
    }
    if (*n == 0)
        return fail_at(c, line, "impls: empty list", "");
    for (int i = 0; i < *n; i++)
        if (out[i].e) {
            snprintf(out[i].name, sizeof out[i].name, "%s", out[i].e->full);
            const sono_backend *b = sono_reg_backend_of(c->R, out[i].e);
            if (!b->available)
                snprintf(out[i].skip, sizeof out[i].skip, "backend %s unavailable: %s",
                         b->name, b->reason);
        }
    return 0;
}

static int add_inputs(ctx *c, const char *list, int line, int *idx, int *n)
{
    char buf[256], dir[4096];
    snprintf(buf, sizeof buf, "%s", list);
    snprintf(dir, sizeof dir, "%s", c->file);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    *n = 0;
    /* split on commas outside parentheses: "sine(freq=440,amp=0.5), noise" */
    char *s = buf;
    while (*s) {
        int depth = 0;
        char *t = s;
        while (*s && (depth || *s != ',')) {
            depth += *s == '(' ? 1 : *s == ')' ? -1 : 0;
            s++;
        }
        if (*s)
            *s++ = 0;
        while (isspace((unsigned char)*t))
            t++;
        if (!*t)
            continue;
        sono_input_spec spec;
        sono_error e2 = {0};
        if (sono_input_parse(t, dir, &spec, &e2))
            return sono_fail(c->err, SONO_EPARSE, "%s:%d: inputs: %s", c->file, line, e2.msg);
        if (*n >= 64)
            return fail_at(c, line, "inputs: more than 64", "");
        idx[(*n)++] = sono_plan_add_input(c->plan, &spec);
        if (idx[*n - 1] < 0)
            return sono_fail(c->err, SONO_ENOMEM, "out of memory");
    }
    if (*n == 0)
        return fail_at(c, line, "inputs: empty list", "");
    return 0;
}

typedef struct axis {
    const sono_param_spec *spec;
    sono_param *vals;
    int n;
    int line;
} axis;

/* Free the strings sono_params_defaults added to p; the axes own the others. */
static void free_defaults(sono_params *p, const axis *axes, int naxes)
{
    for (int j = 0; j < p->count; j++) {
        int from_axis = 0;
        for (int a = 0; a < naxes; a++)
            from_axis |= axes[a].spec->name == p->v[j].name;
        if (!from_axis)
            sono_param_free(&p->v[j]);
    }
}

static int add_case(ctx *c, const sono_op *op, const char *section, const impl_ref *ir,
                    const sono_params *p, int input, const sono_measure_cfg *cfg, int line,
                    const xfail *xf, int nxf, int all)
{
    sono_plan *plan = c->plan;
    if (plan->ncases >= SONO_MAX_CASES)
        return fail_at(c, line, "more than " SONO_STR(SONO_MAX_CASES) " cases: narrow the "
                       "grids or split the suite", "");
    if (plan->ncases % 64 == 0) {
        sono_case *cs = realloc(plan->cases, (size_t)(plan->ncases + 64) * sizeof *cs);
        if (!cs)
            return sono_fail(c->err, SONO_ENOMEM, "out of memory");
        plan->cases = cs;
    }
    sono_case *k = &plan->cases[plan->ncases];
    memset(k, 0, sizeof *k);
    k->op = op;
    k->impl = ir->e;
    k->input = input;
    k->cfg = *cfg;
    k->seconds_all = all;
    snprintf(k->section, sizeof k->section, "%s", section);
    snprintf(k->impl_name, sizeof k->impl_name, "%s", ir->name);
    snprintf(k->skip, sizeof k->skip, "%s", ir->skip);
    if (sono_params_copy(&k->p, p))
        return sono_fail(c->err, SONO_ENOMEM, "out of memory");
    sono_params_format(op, &k->p, k->params_text, sizeof k->params_text);
    sono_case_make_id(k, plan);
    sono_case_resolve_device(c->R, k); /* issue 10 */
    /* issue 27: the section's expect_fail first, then the [suite]'s */
    const char *why = xfail_match(xf, nxf, k);
    if (!why)
        why = xfail_match(c->xf, c->nxf, k);
    snprintf(k->xfail, sizeof k->xfail, "%s", why ? why : "");
    for (int i = 0; i < plan->ncases; i++)
        if (strcmp(plan->cases[i].id, k->id) == 0) {
            if (c->nov) { /* --param made two sections' cases one: it runs once */
                sono_params_free(&k->p);
                return 0;
            }
            plan->ncases++; /* freed with the plan */
            return fail_at(c, line, "the same case twice (check overlapping groups): ", k->id);
        }
    plan->ncases++;
    return 0;
}

/* Issue 27: seconds = all on this input: the file's length, checked by the op as any
 * value in the suite is. A generated input keeps asking (an --input FILE may yet replace
 * it; run refuses what is left, sono_plan_check_all). */
static int resolve_all(ctx *c, const sono_op *op, sono_params *q, int input, int line)
{
    char note[320];
    sono_error e2 = {0};
    int rc = sono_input_resolve_all(op, q, &c->plan->inputs[input], note, sizeof note, &e2);
    if (rc == 1)
        return 0;
    if (rc == 0 && (!op->validate || (rc = op->validate(q, &e2)) == 0))
        return 0;
    return sono_fail(c->err, SONO_EPARSE, "%s:%d: %s%s", c->file, line, e2.msg,
                     strstr(e2.msg, "seconds=all") ? "" : " (with seconds = all)");
}

int sono_override_scope_matches(const sono_param_override *o, const char *op,
                                const char *section)
{
    return !o->scope[0] || fnmatch(o->scope, op, 0) == 0 || fnmatch(o->scope, section, 0) == 0;
}

/* issue 27: each --param whose name is a parameter of this section's op replaces that
 * axis (or adds one where the section left it at its default); the plan keeps what each
 * replaced. */
static int apply_overrides(ctx *c, const sono_op *op, const char *section, const entry *es,
                           int ne, int line, axis *axes, int *naxes)
{
    for (int k = 0; k < c->nov; k++) {
        const sono_param_override *o = &c->ov[k];
        const sono_param_spec *spec = sono_op_param(op, o->name);
        if (!spec || !sono_override_scope_matches(o, op->name, section))
            continue;
        axis *a = NULL;
        for (int j = 0; j < *naxes && !a; j++)
            if (axes[j].spec == spec)
                a = &axes[j];
        if (!a) {
            if (*naxes == SONO_MAX_PARAMS)
                return fail_at(c, line, "too many parameters with --param", "");
            a = &axes[(*naxes)++];
            *a = (axis){.spec = spec, .line = line};
        }
        sono_param *vals;
        int n;
        sono_error e2 = {0};
        if (sono_param_list(spec, o->text, &vals, &n, &e2))
            return sono_fail(c->err, SONO_EPARSE, "--param %s=%s: %s (op %s, section [%s] of "
                             "%s)", o->key, o->text, e2.msg, op->name, section, c->file);
        for (int j = 0; j < a->n; j++)
            sono_param_free(&a->vals[j]);
        free(a->vals);
        a->vals = vals;
        a->n = n;
        sono_plan *p = c->plan;
        sono_param_replaced *r = realloc(p->replaced, (size_t)(p->nreplaced + 1) * sizeof *r);
        if (!r)
            return sono_fail(c->err, SONO_ENOMEM, "out of memory");
        p->replaced = r;
        r = &r[p->nreplaced++];
        memset(r, 0, sizeof *r);
        snprintf(r->param, sizeof r->param, "%s", o->key);
        snprintf(r->section, sizeof r->section, "%s", section);
        for (int i = 0; i < ne; i++)
            if (strcmp(es[i].section, section) == 0 && strcmp(es[i].key, o->name) == 0)
                snprintf(r->value, sizeof r->value, "%s", es[i].value);
    }
    return 0;
}

static int group_section(ctx *c, const char *section, const entry *es, int ne)
{
    const sono_op *op = NULL;
    int op_line = 0, first_line = 0;
    for (int i = 0; i < ne; i++)
        if (strcmp(es[i].section, section) == 0) {
            if (!first_line)
                first_line = es[i].line;
            if (strcmp(es[i].key, "op") == 0) {
                op_line = es[i].line;
                if (!(op = sono_op_find(es[i].value))) {
                    /* bounded appends: the list of ops grows with every issue (a fixed
                     * strcat buffer overflowed once it passed 256 bytes) */
                    char known[2048] = "";
                    size_t kn = 0;
                    for (int j = 0; sono_ops[j] && kn < sizeof known; j++) {
                        int w = snprintf(known + kn, sizeof known - kn, "%s%s", j ? ", " : "",
                                         sono_ops[j]->name);
                        kn += w > 0 ? (size_t)w : 0;
                    }
                    char msg[2400];
                    snprintf(msg, sizeof msg, "unknown op '%s'; known: %s", es[i].value, known);
                    return fail_at(c, op_line, msg, "");
                }
            }
        }
    if (!op && !(op = sono_op_find(section))) {
        char msg[256];
        snprintf(msg, sizeof msg, "section [%s] has no 'op = ...' and is not named after an op",
                 section);
        return fail_at(c, first_line, msg, "");
    }

    sono_measure_cfg cfg = c->cfg;
    axis axes[SONO_MAX_PARAMS] = {0};
    int naxes = 0, rc = 0, impls_line = first_line, inputs_line = c->inputs_line;
    const char *impls = "*", *inputs = c->inputs[0] ? c->inputs : "noise";
    limit limits[16];
    int nlimits = 0;
    xfail xfs[16];
    int nxfs = 0;
    for (int i = 0; i < ne && !rc; i++) {
        const entry *e = &es[i];
        if (strcmp(e->section, section) != 0 || strcmp(e->key, "op") == 0)
            continue;
        int handled;
        if ((rc = measure_key(c, e, &cfg, &handled)) || handled)
            continue;
        if (strcmp(e->key, "impls") == 0) {
            impls = e->value;
            impls_line = e->line;
        } else if (strcmp(e->key, "inputs") == 0) {
            inputs = e->value;
            inputs_line = e->line;
        } else if (strcmp(e->key, "limit") == 0) {
            if (nlimits == 16)
                rc = fail_at(c, e->line, "more than 16 limits in one group", "");
            else
                rc = parse_limit(c, op, e, &limits[nlimits++]);
        } else if (strcmp(e->key, "expect_fail") == 0) { /* issue 27 */
            if (nxfs == 16)
                rc = fail_at(c, e->line, "more than 16 expect_fail in one group", "");
            else
                rc = parse_xfail(c->file, e->line, e->value, &xfs[nxfs++], c->err);
        } else {
            const sono_param_spec *spec = sono_op_param(op, e->key);
            if (!spec) {
                char msg[512] = "";
                size_t len = 0;
                for (int j = 0; j < op->nparams; j++)
                    len += (size_t)snprintf(msg + len, sizeof msg - len, "%s, ",
                                            op->params[j].name);
                snprintf(msg + len, sizeof msg - len, "threads, impls, inputs, limit, "
                         "expect_fail, target_ci, budget_s, warmup_s, min_time_s, min_samples, max_samples, "
                         "timeout_s, pin, repetitions; got ");
                char head[128];
                snprintf(head, sizeof head, "unknown key for op %s; expected one of ", op->name);
                char full[768];
                snprintf(full, sizeof full, "%s%s", head, msg);
                rc = fail_at(c, e->line, full, e->key);
                break;
            }
            for (int j = 0; j < naxes; j++)
                if (axes[j].spec == spec)
                    rc = fail_at(c, e->line, "parameter given twice in one section: ", e->key);
            if (rc)
                break;
            sono_error e2 = {0};
            axis *a = &axes[naxes++];
            a->spec = spec;
            a->line = e->line;
            if (sono_param_list(spec, e->value, &a->vals, &a->n, &e2))
                rc = sono_fail(c->err, SONO_EPARSE, "%s:%d: %s", c->file, e->line, e2.msg);
        }
    }
    if (!rc)
        rc = apply_overrides(c, op, section, es, ne, first_line, axes, &naxes);
    if (!rc && cfg.timeout_s <= cfg.warmup_s + cfg.budget_s + cfg.min_time_s)
        rc = fail_at(c, first_line, "timeout_s must exceed warmup_s + budget_s + min_time_s "
                     "(else a case that does not converge is killed instead of recorded)",
                     "");
    impl_ref *refs = calloc(64, sizeof *refs);
    int nrefs = 0, in_idx[64], nin = 0;
    if (!refs && !rc)
        rc = sono_fail(c->err, SONO_ENOMEM, "out of memory");
    if (!rc)
        rc = resolve_impls(c, op, impls, impls_line, refs, &nrefs);
    if (!rc)
        rc = add_inputs(c, inputs, inputs_line ? inputs_line : first_line, in_idx, &nin);

    /* The product of the axes in the op's order (n outermost), defaults elsewhere. */
    int pos[SONO_MAX_PARAMS] = {0};
    while (!rc) {
        sono_params p = {0};
        for (int j = 0; j < op->nparams + sono_ncommon_params; j++) {
            const sono_param_spec *s =
                j < op->nparams ? &op->params[j] : &sono_common_params[j - op->nparams];
            for (int a = 0; a < naxes; a++)
                if (axes[a].spec == s)
                    p.v[p.count++] = axes[a].vals[pos[a]];
        }
        sono_params_defaults(op, &p);
        sono_error e2 = {0};
        /* issue 27: seconds = all is validated per input, once it is the file's length */
        int all = sono_params_all(&p) != NULL;
        if (!all && op->validate && op->validate(&p, &e2)) {
            rc = sono_fail(c->err, SONO_EPARSE, "%s:%d: %s%s", c->file, first_line, e2.msg,
                           c->nov ? " (after --param)" : "");
            free_defaults(&p, axes, naxes);
            break;
        }
        for (int in = 0; in < nin && !rc; in++) {
            sono_params q = p; /* shallow: only seconds changes, strings stay p's */
            if (all && (rc = resolve_all(c, op, &q, in_idx[in], first_line)))
                break;
            for (int r = 0; r < nrefs && !rc; r++) {
                int ok = 1;
                for (int l = 0; l < nlimits; l++)
                    ok = ok && limit_allows(&limits[l], refs[r].name, &q);
                if (ok)
                    rc = add_case(c, op, section, &refs[r], &q, in_idx[in], &cfg, first_line, xfs,
                                  nxfs, all);
            }
        }
        free_defaults(&p, axes, naxes);
        int a = naxes - 1; /* odometer: the last axis turns fastest */
        while (a >= 0 && ++pos[a] == axes[a].n)
            pos[a--] = 0;
        if (a < 0)
            break;
    }
    for (int a = 0; a < naxes; a++) {
        for (int j = 0; j < axes[a].n; j++)
            sono_param_free(&axes[a].vals[j]);
        free(axes[a].vals);
    }
    free(refs);
    return rc;
}

static int hash_file(const char *path, char hex[65])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    sono_sha256 h;
    sono_sha256_init(&h);
    unsigned char buf[65536], out[32];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        sono_sha256_update(&h, buf, n);
    fclose(f);
    sono_sha256_final(&h, out);
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", out[i]);
    return 0;
}

int sono_suite_load(const char *path, const sono_reg *R, sono_plan *plan, sono_error *err)
{
    return sono_suite_load_ov(path, R, NULL, 0, plan, err);
}

int sono_suite_load_ov(const char *path, const sono_reg *R, const sono_param_override *ov,
                       int nov, sono_plan *plan, sono_error *err)
{
    memset(plan, 0, sizeof *plan);
    if (nov > 0) {
        if (!(plan->ov = calloc((size_t)nov, sizeof *plan->ov)))
            return sono_fail(err, SONO_ENOMEM, "out of memory");
        memcpy(plan->ov, ov, (size_t)nov * sizeof *ov);
        plan->nov = nov;
    }
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        size_t len = strlen(path); /* "suites/quick/" as tab completion writes it */
        while (len > 1 && path[len - 1] == '/')
            len--;
        snprintf(plan->file, sizeof plan->file, "%.*s/suite.ini", (int)len, path);
    }
    else
        snprintf(plan->file, sizeof plan->file, "%s", path);
    reader r = {0};
    r.f = fopen(plan->file, "r");
    if (!r.f)
        return sono_fail(err, SONO_ENOTFOUND, "%s: cannot open suite file: %s", plan->file,
                         strerror(errno));
    int bad = ini_parse_stream(read_line, &r, on_entry, &r);
    fclose(r.f);
    free(r.heads);
    ctx c = {.file = plan->file, .R = R, .plan = plan, .err = err,
             .cfg = SONO_MEASURE_DEFAULTS, .ov = plan->ov, .nov = plan->nov};
    int rc = 0;
    if (r.bad_utf8)
        rc = fail_at(&c, r.bad_utf8, "not UTF-8: suite files are UTF-8 text", "");
    else if (r.long_line)
        rc = fail_at(&c, r.long_line, "line too long: at most 198 characters per line (the "
                     "INI reader's limit; split a long list over two sections)", "");
    else if (r.dup_line) {
        char msg[256];
        snprintf(msg, sizeof msg, "section [%s] given twice (first at line %d): give each "
                 "group a name of its own, with op = ...", r.dup_name, r.dup_first);
        rc = fail_at(&c, r.dup_line, msg, "");
    }
    else if (bad)
        rc = fail_at(&c, bad, "syntax error: expected '[section]', 'key = value' or a comment",
                     "");
    plan->sample_rate = 48000;
    const char *stem = strrchr(plan->file, '/');
    /* default name: the suite's folder for suites/x/suite.ini, else the file's stem */
    if (stem && strcmp(stem, "/suite.ini") == 0) {
        const char *d = stem;
        while (d > plan->file && d[-1] != '/')
            d--;
        snprintf(plan->name, sizeof plan->name, "%.*s", (int)(stem - d), d);
    } else {
        stem = stem ? stem + 1 : plan->file;
        snprintf(plan->name, sizeof plan->name, "%.*s", (int)strcspn(stem, "."), stem);
    }
    for (int i = 0; !rc && i < r.n; i++) {
        if (!r.e[i].section[0])
            rc = fail_at(&c, r.e[i].line, "key outside a section: ", r.e[i].key);
        else if (strcmp(r.e[i].section, "suite") == 0)
            rc = suite_section(&c, &r.e[i]);
        for (int j = 0; !rc && j < i; j++)
            if (strcmp(r.e[j].section, r.e[i].section) == 0 &&
                strcmp(r.e[j].key, r.e[i].key) == 0 && strcmp(r.e[i].key, "limit") != 0 &&
                strcmp(r.e[i].key, "expect_fail") != 0)
                rc = fail_at(&c, r.e[i].line, "key given twice in one section: ", r.e[i].key);
    }
    for (int i = 0; !rc && i < r.n; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++)
            seen |= strcmp(r.e[j].section, r.e[i].section) == 0;
        if (!seen && strcmp(r.e[i].section, "suite") != 0)
            rc = group_section(&c, r.e[i].section, r.e, r.n);
    }
    /* the name goes into the default results path: keep it one harmless component */
    for (char *q = plan->name; *q; q++)
        if (*q == '/' || (*q == '.' && q == plan->name) || *q == ' ')
            *q = '_';
    if (!rc && plan->ncases == 0 && plan->nreplaced)
        rc = sono_fail(err, SONO_EPARSE, "%s: --param leaves no case: the suite's limits "
                       "exclude every value given", plan->file);
    else if (!rc && plan->ncases == 0)
        rc = sono_fail(err, SONO_EPARSE, "%s:%d: empty suite: expected at least one section "
                       "like [NAME] with op, impls and parameters", plan->file, r.line);
    free(r.e);
    free(c.xf);
    if (!rc && hash_file(plan->file, plan->sha256))
        rc = sono_fail(err, SONO_EIO, "%s: cannot read: %s", plan->file, strerror(errno));
    if (rc)
        sono_plan_free(plan);
    return rc;
}

