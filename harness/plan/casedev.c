/* casedev.c — a case's device from its `device` param (issue 10). An impl is registered on
 * one device, but the same code runs on any device of that kind (every GPU); the param
 * moves the case, its timing (that device's time_runs), its worker and its record. */
#include "casedev.h"

#include <stdlib.h>
#include <string.h>

#include "params.h"

const sono_device *sono_case_device(const sono_case *c)
{
    return c->dev ? c->dev : c->impl ? c->impl->dev : NULL;
}

int sono_device_on_cpu(const sono_device *d)
{
    size_t n = strlen(d->name);
    return strcmp(d->kind, "cpu") == 0 || (n >= 4 && strcmp(d->name + n - 4, ":cpu") == 0);
}

void sono_device_kind_of(const sono_reg *R, const char *name, char *kind, size_t n)
{
    const sono_device *d = sono_reg_device(R, name);
    if (d) {
        snprintf(kind, n, "%s", d->kind);
        return;
    }
    const char *colon = strchr(name, ':');
    snprintf(kind, n, "%.*s", colon ? (int)(colon - name) : (int)strlen(name), name);
}

/* "cpu, cuda:0, py:cpu": the devices there are, for a message. */
static void list_devices(const sono_reg *R, char *known, size_t n)
{
    size_t len = 0;
    known[0] = 0;
    for (int i = 0; i < R->ndevices && len < n; i++) {
        int w = snprintf(known + len, n - len, "%s%s", i ? ", " : "", R->devices[i]->name);
        len += w > 0 ? (size_t)w : 0;
    }
}

/* issue 27: a device named PREFIX:KIND (py:cuda) is another backend's way onto a KIND
 * device, so KIND:N (cuda:1) puts its cases on PREFIX:KIND:N (py:cuda:1), that backend's
 * device for the same GPU (N = 0: PREFIX:KIND itself); `--device cuda:1` once left
 * py/torch-cuda on the first GPU. 1 with that name in want when the rule applies. */
static int via_name(const sono_device *home, const char *name, char *want, size_t n)
{
    const char *colon = strchr(name, ':');
    if (!colon || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1))
        return 0;
    size_t klen = (size_t)(colon - name), hl = strlen(home->name);
    if (hl <= klen + 1 || home->name[hl - klen - 1] != ':' ||
        strncmp(home->name + hl - klen, name, klen) != 0)
        return 0;
    if (strtol(colon + 1, NULL, 10) == 0)
        snprintf(want, n, "%s", home->name);
    else
        snprintf(want, n, "%s:%s", home->name, colon + 1);
    return 1;
}

void sono_case_resolve_device(const sono_reg *R, sono_case *c)
{
    const char *name = sono_param_str(&c->p, "device", "");
    c->dev = NULL;
    if (!name || !*name || !c->impl)
        return;
    const sono_device *d = sono_reg_device(R, name);
    char via[128];
    int mapped = (!d || strcmp(d->kind, c->impl->dev->kind) != 0) &&
                 via_name(c->impl->dev, name, via, sizeof via);
    if (mapped)
        d = sono_reg_device(R, via);
    if (c->skip[0])
        ; /* the first reason stays: an unavailable backend says more than its device */
    else if (!d) {
        char known[512];
        list_devices(R, known, sizeof known);
        if (mapped)
            snprintf(c->skip, sizeof c->skip, "device=%s: %s runs there as %s, which is not "
                     "here (devices: %s)", name, c->impl_name, via, known);
        else
            snprintf(c->skip, sizeof c->skip, "device=%s: no such device here (devices: %s)",
                     name, known);
    } else if (strcmp(d->kind, c->impl->dev->kind) != 0)
        snprintf(c->skip, sizeof c->skip, "%s runs on %s, not %s", c->impl_name,
                 c->impl->dev->name, name);
    c->dev = d && strcmp(d->kind, c->impl->dev->kind) == 0 ? d : NULL;
}

int sono_plan_set_device(const sono_reg *R, sono_plan *plan, const char *name, sono_error *err)
{
    char kind[64];
    int changed = 0;
    sono_device_kind_of(R, name, kind, sizeof kind);
    for (int i = 0; i < plan->ncases; i++) {
        sono_case *c = &plan->cases[i];
        char via[128];
        if (!c->impl || (strcmp(c->impl->dev->kind, kind) != 0 &&
                         !via_name(c->impl->dev, name, via, sizeof via)))
            continue;
        sono_param *v = (sono_param *)sono_param_find(&c->p, "device");
        char *s = strdup(name);
        if (!s)
            return sono_fail(err, SONO_ENOMEM, "out of memory");
        if (v && v->type == SONO_PSTR) {
            free((char *)v->s);
            v->s = s;
        } else if (!v && c->p.count < SONO_MAX_PARAMS)
            c->p.v[c->p.count++] = (sono_param){.name = "device", .type = SONO_PSTR, .s = s};
        else {
            free(s);
            return sono_fail(err, SONO_EINTERNAL, "%s: no room for the device param", c->id);
        }
        sono_params_format(c->op, &c->p, c->params_text, sizeof c->params_text);
        sono_case_make_id(c, plan);
        sono_case_resolve_device(R, c);
        changed++;
    }
    return changed;
}

/* issue 27: "cuda1" or "bogus" once left every case where it was and exited 0. A name is
 * good when it is a device here, or KIND:N for a kind of device here or a backend of that
 * name that could not load (cuda on a machine without a GPU: its cases then skip with the
 * backend's reason, as before). */
int sono_device_name_check(const sono_reg *R, const char *name, sono_error *err)
{
    if (sono_reg_device(R, name))
        return 0;
    const char *colon = strchr(name, ':');
    size_t klen = colon ? (size_t)(colon - name) : 0;
    int digits = colon && colon[1];
    for (const char *d = colon ? colon + 1 : ""; *d; d++)
        digits &= *d >= '0' && *d <= '9';
    int kind_known = 0;
    for (int i = 0; digits && i < R->ndevices && !kind_known; i++)
        kind_known = strlen(R->devices[i]->kind) == klen &&
                     strncmp(R->devices[i]->kind, name, klen) == 0;
    for (int i = 0; digits && i < R->nbackends && !kind_known; i++)
        kind_known = strlen(R->backends[i].name) == klen &&
                     strncmp(R->backends[i].name, name, klen) == 0;
    for (int i = 0; digits && i < R->ndevices && !kind_known; i++) { /* py:cuda: via_name */
        size_t hl = strlen(R->devices[i]->name);
        kind_known = hl > klen + 1 && R->devices[i]->name[hl - klen - 1] == ':' &&
                     strncmp(R->devices[i]->name + hl - klen, name, klen) == 0;
    }
    if (kind_known)
        return 0;
    char known[512];
    list_devices(R, known, sizeof known);
    return sono_fail(err, SONO_EINVAL, "no device '%s': expected one of %s, or KIND:N for "
                     "another device of a kind (cuda:1 for the second GPU)", name, known);
}
