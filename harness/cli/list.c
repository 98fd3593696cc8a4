/* list.c — `harness list`: what this harness can run here, and why not when it can't. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "input.h"
#include "paths.h"
#include "suite.h"

static int widest(int w, const char *s)
{
    int n = (int)strlen(s);
    return n > w ? n : w;
}

/* issue 27: columns as wide as their longest entry (codec.encodec, stream_repeat and
 * melspec pushed the rest of their lines out of line) */
static void list_ops(void)
{
    int wo = 8, wp = 8;
    for (int i = 0; sono_ops[i]; i++) {
        wo = widest(wo, sono_ops[i]->name);
        for (int j = 0; j < sono_ops[i]->nparams; j++)
            wp = widest(wp, sono_ops[i]->params[j].name);
    }
    for (int j = 0; j < sono_ncommon_params; j++)
        wp = widest(wp, sono_common_params[j].name);
    printf("ops:\n");
    for (int i = 0; sono_ops[i]; i++) {
        const sono_op *op = sono_ops[i];
        printf("  %-*s %s\n", wo, op->name, op->summary);
        for (int j = 0; j < op->nparams + sono_ncommon_params; j++) {
            const sono_param_spec *s =
                j < op->nparams ? &op->params[j] : &sono_common_params[j - op->nparams];
            if (s->type == SONO_PINT)
                printf("  %*s %-*s int %lld..%lld, default %lld: %s\n", wo, "", wp, s->name,
                       s->imin, s->imax, s->idflt, s->help);
            else if (s->type == SONO_PREAL)
                printf("  %*s %-*s real %g..%g, default %g: %s\n", wo, "", wp, s->name,
                       s->rmin, s->rmax, s->rdflt, s->help);
            else
                printf("  %*s %-*s one of %s, default %s: %s\n", wo, "", wp, s->name,
                       s->choices ? s->choices : "(text)", s->sdflt ? s->sdflt : "", s->help);
        }
    }
}

static void list_impls(const sono_reg *R)
{
    int wo = 6, wf = 22, wd = 7;
    for (int i = 0; i < R->nimpls; i++) {
        wo = widest(wo, R->impls[i].op->name);
        wf = widest(wf, R->impls[i].full);
        wd = widest(wd, R->impls[i].dev->name);
    }
    printf("impls:\n");
    for (int b = 0; b < R->nbackends; b++) {
        const sono_backend *be = &R->backends[b];
        printf("  backend %-10s %s%s%s\n", be->name, be->available ? "available" : "UNAVAILABLE",
               be->available ? "" : ": ", be->available ? "" : be->reason);
        for (int i = 0; i < R->nimpls; i++) {
            const sono_impl_entry *e = &R->impls[i];
            if (e->backend == b)
                /* the role last, so the columns before it read as they always did */
                printf("    %-*s %-*s on %-*s %s%s%s%s\n", wo, e->op->name, wf, e->full, wd,
                       e->dev->name, e->impl->summary ? e->impl->summary : "", e->impl->role ? " [role: " : "",
                       e->impl->role ? e->impl->role : "", e->impl->role ? "]" : "");
        }
    }
    if (R->nbackends == 0)
        printf("  (no plugins found: build them with make, or set SONO_PLUGIN_PATH)\n");
}

static void list_inputs(void)
{
    printf("inputs (a suite's inputs = ..., exec --input; defaults shown):\n");
    for (int i = 0; sono_input_generators[i]; i++)
        printf("  %s\n", sono_input_help(sono_input_generators[i]));
    printf("  PATH.wav|.flac|.ogg|.aiff|.au: an audio file, mixed to mono\n"
           "  DIR/: the audio files of a directory in name order, concatenated, not looped\n"
           "  (audio ops resample files, directories and speech to their own rate)\n");
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_suites(const sono_reg *R)
{
    char dir[PATH_MAX];
    printf("suites:\n");
    if (sono_suites_dir(dir, sizeof dir)) {
        printf("  (no suites folder next to the executable)\n");
        return;
    }
    DIR *d = opendir(dir);
    char *names[256];
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) && n < 256)
        if (de->d_name[0] != '.')
            names[n++] = strdup(de->d_name);
    if (d)
        closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp);
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX + 300];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        sono_plan plan;
        sono_error err = {0};
        if (sono_suite_load(path, R, &plan, &err) == 0) {
            printf("  %-10s %4d cases  %s\n", names[i], plan.ncases, plan.description);
            sono_plan_free(&plan);
        } else
            printf("  %-10s INVALID: %s\n", names[i], err.msg);
        free(names[i]);
    }
}

int sono_cmd_list(sono_reg *R, int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "all";
    int all = strcmp(what, "all") == 0;
    if (!all && strcmp(what, "ops") && strcmp(what, "impls") && strcmp(what, "suites") &&
        strcmp(what, "inputs")) {
        fprintf(stderr, "harness list: expected ops, impls, inputs or suites, got '%s'\n",
                what);
        return SONO_EXIT_USAGE;
    }
    if (all || strcmp(what, "ops") == 0)
        list_ops();
    if (all || strcmp(what, "impls") == 0)
        list_impls(R);
    if (all || strcmp(what, "inputs") == 0)
        list_inputs();
    if (all || strcmp(what, "suites") == 0)
        list_suites(R);
    return SONO_EXIT_OK;
}
