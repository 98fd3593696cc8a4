/* counters.c — PAPI event set for cycles, instructions and last-level-cache misses of a
 * region, and the JSON the record carries. Each event is added on its own, so one the
 * machine lacks leaves the others counted and carries PAPI's reason instead of a zero. */
#include "counters.h"

#include <jansson.h>
#include <papi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sono.h"

static const char *const NAMES[SONO_CTR_N] = {"cycles", "instructions", "llc_misses"};

/* Presets tried per event, in order: an L3 miss is the last-level miss on most x86
 * parts; where PAPI has no L3 preset (many ARM cores), L2 is the last level it names. */
static const struct { int code; const char *name; } CANDIDATES[SONO_CTR_N][2] = {
    {{PAPI_TOT_CYC, "PAPI_TOT_CYC"}, {0, NULL}},
    {{PAPI_TOT_INS, "PAPI_TOT_INS"}, {0, NULL}},
    {{PAPI_L3_TCM, "PAPI_L3_TCM"}, {PAPI_L2_TCM, "PAPI_L2_TCM"}},
};

struct sono_counters {
    int es;                  /* PAPI event set */
    int running;
    int nadded;
    int slot[SONO_CTR_N];    /* index into PAPI's values array, or -1 */
    const char *event[SONO_CTR_N];
    char reason[SONO_CTR_N][256];
};

/* PAPI_library_init's outcome, kept so a failure is reported the same way every time
 * instead of retried per case. A forked child sees PAPI_is_initialized() from the
 * parent's state and reuses it: re-initialising would not be allowed. */
static int init_rc;
static char init_msg[160];

static int papi_init(void)
{
    if (PAPI_is_initialized() != PAPI_NOT_INITED)
        return 0;
    if (init_rc < 0)
        return init_rc;
    int rc = PAPI_library_init(PAPI_VER_CURRENT);
    if (rc == PAPI_VER_CURRENT)
        return 0;
    if (rc > 0)
        snprintf(init_msg, sizeof init_msg,
                 "PAPI library version %d.%d differs from the headers' %d.%d",
                 PAPI_VERSION_MAJOR(rc), PAPI_VERSION_MINOR(rc),
                 PAPI_VERSION_MAJOR(PAPI_VER_CURRENT), PAPI_VERSION_MINOR(PAPI_VER_CURRENT));
    else
        snprintf(init_msg, sizeof init_msg, "PAPI_library_init failed: %s",
                 PAPI_strerror(rc));
    init_rc = SONO_EDEVICE;
    return init_rc;
}

/* PAPI's message for rc; for a disabled component, also the component's own reason,
 * which is the part a person can act on ("no default PMU found"). */
static void papi_reason(int rc, int code, char *buf, size_t n)
{
    const char *msg = PAPI_strerror(rc);
    int cidx = PAPI_get_event_component(code);
    const PAPI_component_info_t *ci = PAPI_get_component_info(cidx >= 0 ? cidx : 0);
    if (rc == PAPI_ECMP_DISABLED && ci && ci->disabled_reason[0])
        snprintf(buf, n, "%s (%s: %s)", msg ? msg : "PAPI error", ci->name,
                 ci->disabled_reason);
    else
        snprintf(buf, n, "%s", msg ? msg : "PAPI error");
}

/* Append "; text" (or "text" first) to buf of size n, truncating quietly. */
static void append(char *buf, size_t n, const char *text)
{
    size_t len = strlen(buf);
    if (len + 1 < n)
        snprintf(buf + len, n - len, "%s%s", len ? "; " : "", text);
}

/* "A, B: msg1; C: msg2": events that failed for the same reason share it, so the line
 * stays readable when a disabled component refuses all four. */
static void group_reasons(const char **names, const char **msgs, int k, char *buf, size_t n)
{
    int done[2 * SONO_CTR_N] = {0};
    for (int i = 0; i < k; i++) {
        if (done[i])
            continue;
        char item[256] = "";
        for (int j = i; j < k; j++) {
            const char *a = msgs[i] ? msgs[i] : "", *b = msgs[j] ? msgs[j] : "";
            if (!done[j] && strcmp(a, b) == 0) {
                size_t len = strlen(item);
                snprintf(item + len, sizeof item - len, "%s%s", len ? ", " : "", names[j]);
                done[j] = 1;
            }
        }
        size_t len = strlen(item);
        snprintf(item + len, sizeof item - len, ": %s", msgs[i] ? msgs[i] : "PAPI error");
        append(buf, n, item);
    }
}

int sono_counters_open(sono_counters **out, char *why, size_t n)
{
    char tmp[2];
    if (!why || n == 0) {
        why = tmp;
        n = sizeof tmp;
    }
    why[0] = 0;
    *out = NULL;
    if (papi_init() != 0) {
        sono_counters_explain(why, n);
        return SONO_EDEVICE;
    }
    sono_counters *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(why, n, "out of memory for the counter set");
        return SONO_ENOMEM;
    }
    c->es = PAPI_NULL;
    int rc = PAPI_create_eventset(&c->es);
    if (rc != PAPI_OK) {
        snprintf(why, n, "PAPI_create_eventset: %s", PAPI_strerror(rc));
        free(c);
        return SONO_EDEVICE;
    }
    /* Every refusal, for why when nothing could be added: PAPI's short message only,
     * since sono_counters_explain adds the component's reason once. */
    const char *tried[2 * SONO_CTR_N], *msgs[2 * SONO_CTR_N];
    int ntried = 0;
    for (int e = 0; e < SONO_CTR_N; e++) {
        c->slot[e] = -1;
        for (int k = 0; k < 2 && CANDIDATES[e][k].name; k++) {
            char r[200], item[256];
            rc = PAPI_add_event(c->es, CANDIDATES[e][k].code);
            if (rc == PAPI_OK) {
                c->slot[e] = c->nadded++;
                c->event[e] = CANDIDATES[e][k].name;
                c->reason[e][0] = 0;
                break;
            }
            papi_reason(rc, CANDIDATES[e][k].code, r, sizeof r);
            snprintf(item, sizeof item, "%s: %s", CANDIDATES[e][k].name, r);
            append(c->reason[e], sizeof c->reason[e], item);
            tried[ntried] = CANDIDATES[e][k].name;
            msgs[ntried++] = PAPI_strerror(rc);
        }
    }
    if (c->nadded == 0) {
        char list[512] = "", line[512];
        group_reasons(tried, msgs, ntried, list, sizeof list);
        sono_counters_explain(line, sizeof line);
        snprintf(why, n, "no hardware counter event could be added (%s); %s", list, line);
        sono_counters_close(c);
        return SONO_EUNSUPPORTED;
    }
    *out = c;
    return 0;
}

int sono_counters_start(sono_counters *c)
{
    if (!c)
        return SONO_EINVAL;
    if (PAPI_start(c->es) != PAPI_OK) /* zeroes the counters, then counts */
        return SONO_EDEVICE;
    c->running = 1;
    return 0;
}

void sono_counters_unavailable(sono_counter_values *v, const char *reason)
{
    for (int e = 0; e < SONO_CTR_N; e++) {
        v->v[e].name = NAMES[e];
        v->v[e].event = NULL;
        v->v[e].value = 0;
        v->v[e].available = 0;
        snprintf(v->v[e].reason, sizeof v->v[e].reason, "%s",
                 reason && reason[0] ? reason : "not measured");
    }
}

int sono_counters_stop(sono_counters *c, sono_counter_values *v)
{
    if (!c || !v)
        return SONO_EINVAL;
    long long vals[SONO_CTR_N] = {0};
    int rc = c->running ? PAPI_stop(c->es, vals) : PAPI_ENOTRUN;
    c->running = 0;
    if (rc != PAPI_OK) {
        char r[200];
        snprintf(r, sizeof r, "PAPI_stop: %s", PAPI_strerror(rc));
        sono_counters_unavailable(v, r);
        return SONO_EDEVICE;
    }
    for (int e = 0; e < SONO_CTR_N; e++) {
        sono_counter_value *x = &v->v[e];
        x->name = NAMES[e];
        x->available = c->slot[e] >= 0;
        x->event = x->available ? c->event[e] : NULL;
        x->value = x->available ? vals[c->slot[e]] : 0;
        snprintf(x->reason, sizeof x->reason, "%s", x->available ? "" : c->reason[e]);
    }
    return 0;
}

void sono_counters_close(sono_counters *c)
{
    if (!c)
        return;
    if (c->running) {
        long long vals[SONO_CTR_N];
        PAPI_stop(c->es, vals);
    }
    if (c->es != PAPI_NULL) {
        PAPI_cleanup_eventset(c->es);
        PAPI_destroy_eventset(&c->es);
    }
    free(c);
}

json_t *sono_counters_json(const sono_counter_values *v, double runs)
{
    if (!v || !(runs > 0.0))
        return NULL;
    json_t *o = json_object(), *events = json_object(), *un = json_object();
    int bad = !o || !events || !un;
    for (int e = 0; e < SONO_CTR_N && !bad; e++) {
        const sono_counter_value *x = &v->v[e];
        const char *name = x->name ? x->name : NAMES[e];
        if (x->available) {
            bad |= json_object_set_new(o, name, json_real((double)x->value / runs)) != 0;
            if (x->event)
                bad |= json_object_set_new(events, name, json_string(x->event)) != 0;
        } else {
            bad |= json_object_set_new(o, name, json_null()) != 0;
            bad |= json_object_set_new(un, name,
                                       json_string(x->reason[0] ? x->reason : "unknown")) != 0;
        }
    }
    if (!bad) {
        bad |= json_object_set(o, "events", events) != 0;
        bad |= json_object_set(o, "unavailable", un) != 0;
    }
    json_decref(events);
    json_decref(un);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* What the kernel's perf_event_paranoid level lets an unprivileged process count. */
static const char *paranoid_meaning(int level)
{
    if (level <= -1)
        return "no restrictions";
    if (level == 0)
        return "unprivileged: user and kernel, no raw tracepoints";
    if (level == 1)
        return "unprivileged: user and kernel space of own processes";
    if (level == 2)
        return "unprivileged: user space of own processes only, enough for PAPI's default";
    return "unprivileged: perf_event_open denied (Debian's level 3 and up); "
           "lower it to 2 or grant CAP_PERFMON";
}

static int cpu_has_hypervisor_flag(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return 0;
    char line[4096];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        if (strncmp(line, "flags", 5) == 0)
            found = strstr(line, " hypervisor") != NULL ? 1 : -1;
    fclose(f);
    return found > 0;
}

void sono_counters_explain(char *buf, size_t n)
{
    if (!buf || n == 0)
        return;
    buf[0] = 0;
    char part[1200];
    if (papi_init() != 0) {
        append(buf, n, init_msg);
    } else {
        int cidx = PAPI_get_component_index("perf_event");
        const PAPI_component_info_t *ci = cidx >= 0 ? PAPI_get_component_info(cidx) : NULL;
        if (!ci)
            snprintf(part, sizeof part, "PAPI has no perf_event component");
        else if (ci->disabled)
            snprintf(part, sizeof part, "PAPI's perf_event component is disabled: %s",
                     ci->disabled_reason[0] ? ci->disabled_reason : "no reason given");
        else
            snprintf(part, sizeof part, "PAPI's perf_event component is enabled (%d counters)",
                     ci->num_cntrs);
        append(buf, n, part);
    }
    FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
    int level;
    if (f && fscanf(f, "%d", &level) == 1)
        snprintf(part, sizeof part, "perf_event_paranoid=%d (%s%s)", level,
                 paranoid_meaning(level), geteuid() == 0 ? "; moot: running as root" : "");
    else
        snprintf(part, sizeof part, "perf_event_paranoid unreadable (no perf_event support "
                 "in this kernel?)");
    if (f)
        fclose(f);
    append(buf, n, part);
    if (cpu_has_hypervisor_flag())
        append(buf, n, "running under a hypervisor, which often exposes no PMU to guests");
}
