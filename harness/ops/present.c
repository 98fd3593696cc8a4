/* present.c — each op's presentation (size axis, figure of merit, describe column) as
 * names and JSON. The results file carries it, so the report and the tables learn from the
 * ops themselves how to show them instead of keeping lists of op names. */
#include <jansson.h>
#include <string.h>

#include "op.h"
#include "suite.h"

const char *sono_merit_name(sono_merit m)
{
    switch (m) {
    case SONO_MERIT_GFLOPS: return "gflops";
    case SONO_MERIT_XRT: return "x_realtime";
    case SONO_MERIT_AUDIO_HOURS: return "audio_hours";
    case SONO_MERIT_CODEC: return "codec";
    }
    return "?"; /* a value cast from elsewhere: say so rather than guess */
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *sono_ops_presentation_json(const sono_plan *plan)
{
    json_t *ops = json_object();
    for (int i = 0; ops && i < plan->ncases; i++) {
        const sono_op *op = plan->cases[i].op;
        if (!op || json_object_get(ops, op->name))
            continue;
        json_t *o = json_pack("{s:o, s:o, s:s, s:o}", "size_param", str_or_null(op->size_param),
                              "size_label", str_or_null(op->size_label), "merit",
                              sono_merit_name(op->merit), "describe_field",
                              str_or_null(op->describe_field));
        if (!o || json_object_set_new(ops, op->name, o) != 0) {
            json_decref(ops);
            return NULL;
        }
    }
    return ops;
}
