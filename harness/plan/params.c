/* params.c — parsing, listing, defaulting and formatting of op parameters. */
#include "params.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VALUES 4096

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

static int parse_ll(const char *t, long long *v)
{
    char *end;
    errno = 0;
    *v = strtoll(t, &end, 10);
    return errno == 0 && end != t && *end == 0 ? 0 : -1;
}

static int parse_trimmed(const sono_param_spec *spec, const char *t, sono_param *out,
                         sono_error *err);

int sono_param_parse(const sono_param_spec *spec, const char *text, sono_param *out,
                     sono_error *err)
{
    char *buf = strdup(text);
    if (!buf)
        return sono_fail(err, SONO_ENOMEM, "out of memory");
    *out = (sono_param){.name = spec->name, .type = spec->type};
    int rc = parse_trimmed(spec, trim(buf), out, err);
    free(buf);
    return rc;
}

static int parse_trimmed(const sono_param_spec *spec, const char *t, sono_param *out,
                         sono_error *err)
{
    if (spec->type == SONO_PINT) {
        if (parse_ll(t, &out->i))
            return sono_fail(err, SONO_EINVAL, "%s = '%s': expected an integer", spec->name, t);
        if (out->i < spec->imin || out->i > spec->imax)
            return sono_fail(err, SONO_EINVAL, "%s = %lld is out of range: expected %lld..%lld",
                             spec->name, out->i, spec->imin, spec->imax);
    } else if (spec->type == SONO_PREAL) {
        char *end;
        errno = 0;
        out->r = strtod(t, &end);
        if (errno || end == t || *end)
            return sono_fail(err, SONO_EINVAL, "%s = '%s': expected a number", spec->name, t);
        if (!(out->r >= spec->rmin && out->r <= spec->rmax))
            return sono_fail(err, SONO_EINVAL, "%s = %g is out of range: expected %g..%g",
                             spec->name, out->r, spec->rmin, spec->rmax);
    } else {
        if (spec->choices) {
            size_t n = strlen(t);
            const char *c = spec->choices;
            int found = 0;
            while (*c && !found) {
                const char *bar = strchr(c, '|');
                size_t len = bar ? (size_t)(bar - c) : strlen(c);
                found = len == n && strncmp(c, t, n) == 0;
                c = bar ? bar + 1 : c + len;
            }
            if (!found)
                return sono_fail(err, SONO_EINVAL, "%s = '%s': expected one of %s", spec->name,
                                 t, spec->choices);
        }
        out->s = strdup(t);
        if (!out->s)
            return sono_fail(err, SONO_ENOMEM, "out of memory");
    }
    return 0;
}

void sono_param_free(sono_param *v)
{
    if (v->type == SONO_PSTR)
        free((char *)v->s);
    v->s = NULL;
}

/* "a..b", "a..b+s", "a..b*f" -> values appended to vals. */
static int expand_range(const sono_param_spec *spec, char *t, sono_param *vals, int *count,
                        sono_error *err)
{
    char given[128]; /* the range as written, for the messages (t is cut up below) */
    snprintf(given, sizeof given, "%s", t);
    char *dots = strstr(t, "..");
    *dots = 0;
    char *hi = dots + 2, *step = hi + strcspn(hi, "+*");
    char op = *step ? *step : '+';
    long long a, b, s = 1;
    if (*step)
        *step++ = 0;
    if (spec->type != SONO_PINT)
        return sono_fail(err, SONO_EINVAL, "%s: ranges are for integer parameters", spec->name);
    if (parse_ll(trim(t), &a) || parse_ll(trim(hi), &b) || (*step && parse_ll(trim(step), &s)))
        return sono_fail(err, SONO_EINVAL,
                         "%s: bad range '%s': expected a..b, a..b+step or a..b*factor",
                         spec->name, given);
    if (a > b || s < 1 || (op == '*' && (s < 2 || a < 1)))
        return sono_fail(err, SONO_EINVAL,
                         "%s: bad range '%s': expected a <= b, step >= 1, factor >= 2 from "
                         "a >= 1%s", spec->name, given,
                         a > b ? " (a > b here)" : s < 1 ? " (step < 1 here)"
                         : " (a geometric range needs a factor >= 2 and a >= 1)");
    for (long long v = a; v <= b; v = op == '*' ? v * s : v + s) {
        if (*count >= MAX_VALUES)
            return sono_fail(err, SONO_EINVAL, "%s: more than %d values", spec->name, MAX_VALUES);
        char num[32];
        snprintf(num, sizeof num, "%lld", v);
        int rc = sono_param_parse(spec, num, &vals[(*count)], err);
        if (rc)
            return rc;
        (*count)++;
        /* the next value would pass b or overflow: stop before computing it */
        if (op == '*' ? v > b / s
                      : (unsigned long long)b - (unsigned long long)v < (unsigned long long)s)
            break;
    }
    return 0;
}

int sono_param_list(const sono_param_spec *spec, const char *text, sono_param **out,
                    int *count, sono_error *err)
{
    sono_param *vals = calloc(MAX_VALUES, sizeof *vals);
    char *copy = strdup(text);
    int rc = 0;
    *count = 0;
    if (!vals || !copy) {
        rc = sono_fail(err, SONO_ENOMEM, "out of memory");
        goto done;
    }
    /* split by hand: strtok would merge ",," and drop a leading or trailing comma */
    for (char *tok = *copy ? copy : NULL, *next; tok && !rc; tok = next) {
        next = strchr(tok, ',');
        if (next)
            *next++ = 0;
        tok = trim(tok);
        if (!*tok)
            rc = sono_fail(err, SONO_EINVAL, "%s: empty value in list '%s': expected values separated "
                           "by single commas", spec->name, text);
        else if (strcmp(tok, "all") == 0 && sono_param_takes_all(spec) && *count < MAX_VALUES)
            vals[(*count)++] = (sono_param){.name = spec->name, .type = spec->type,
                                            .r = SONO_SECONDS_ALL};
        else if (strstr(tok, ".."))
            rc = expand_range(spec, tok, vals, count, err);
        else if (*count >= MAX_VALUES)
            rc = sono_fail(err, SONO_EINVAL, "%s: more than %d values", spec->name, MAX_VALUES);
        else if ((rc = sono_param_parse(spec, tok, &vals[*count], err)) == 0)
            (*count)++;
    }
    if (!rc && *count == 0)
        rc = sono_fail(err, SONO_EINVAL, "%s: no value given", spec->name);
done:
    free(copy);
    if (rc) {
        for (int i = 0; vals && i < *count; i++)
            sono_param_free(&vals[i]);
        free(vals);
        *count = 0;
        vals = NULL;
    }
    *out = vals;
    return rc;
}

int sono_param_takes_all(const sono_param_spec *spec)
{
    return spec->type == SONO_PREAL && strcmp(spec->name, "seconds") == 0;
}

sono_param *sono_params_all(sono_params *p)
{
    for (int i = 0; i < p->count; i++)
        if (p->v[i].type == SONO_PREAL && strcmp(p->v[i].name, "seconds") == 0 &&
            p->v[i].r == SONO_SECONDS_ALL)
            return &p->v[i];
    return NULL;
}

static void add_default(sono_params *p, const sono_param_spec *s)
{
    if (sono_param_find(p, s->name) || p->count >= SONO_MAX_PARAMS)
        return;
    sono_param *v = &p->v[p->count++];
    *v = (sono_param){.name = s->name, .type = s->type, .i = s->idflt, .r = s->rdflt};
    if (s->type == SONO_PSTR)
        v->s = strdup(s->sdflt ? s->sdflt : "");
}

void sono_params_defaults(const sono_op *op, sono_params *p)
{
    for (int i = 0; i < op->nparams; i++)
        add_default(p, &op->params[i]);
    for (int i = 0; i < sono_ncommon_params; i++)
        add_default(p, &sono_common_params[i]);
}

static void format_one(const sono_param *v, char *buf, size_t n, size_t *len)
{
    if (*len >= n)
        return;
    const char *sep = *len ? "," : "";
    int w;
    if (v->type == SONO_PINT)
        w = snprintf(buf + *len, n - *len, "%s%s=%lld", sep, v->name, v->i);
    else if (v->type == SONO_PREAL && v->r == SONO_SECONDS_ALL && !strcmp(v->name, "seconds"))
        w = snprintf(buf + *len, n - *len, "%s%s=all", sep, v->name);
    else if (v->type == SONO_PREAL)
        w = snprintf(buf + *len, n - *len, "%s%s=%g", sep, v->name, v->r);
    else
        w = snprintf(buf + *len, n - *len, "%s%s=%s", sep, v->name, v->s);
    *len += w > 0 ? (size_t)w : 0;
}

static int at_default(const sono_param_spec *s, const sono_param *v)
{
    return !v || (s->type == SONO_PINT && v->i == s->idflt) ||
           (s->type == SONO_PREAL && v->r == s->rdflt) ||
           (s->type == SONO_PSTR && strcmp(v->s, s->sdflt ? s->sdflt : "") == 0);
}

/* An op's own params always (so an id says the whole problem), except `late` ones at
 * their default; common params only when set. */
void sono_params_format(const sono_op *op, const sono_params *p, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < op->nparams; i++) {
        const sono_param *v = sono_param_find(p, op->params[i].name);
        if (v && !(op->params[i].late && at_default(&op->params[i], v)))
            format_one(v, buf, n, &len);
    }
    for (int i = 0; i < sono_ncommon_params; i++) {
        const sono_param_spec *s = &sono_common_params[i];
        const sono_param *v = sono_param_find(p, s->name);
        if (!at_default(s, v))
            format_one(v, buf, n, &len);
    }
}

int sono_params_copy(sono_params *dst, const sono_params *src)
{
    *dst = *src;
    for (int i = 0; i < src->count; i++)
        if (src->v[i].type == SONO_PSTR && !(dst->v[i].s = strdup(src->v[i].s ? src->v[i].s : "")))
            return SONO_ENOMEM;
    return 0;
}

void sono_params_free(sono_params *p)
{
    for (int i = 0; i < p->count; i++)
        sono_param_free(&p->v[i]);
    p->count = 0;
}
