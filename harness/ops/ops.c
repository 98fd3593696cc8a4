/* ops.c — the table of ops the harness knows and the parameters common to all of them.
 * A new op is a file in harness/ops/ and one line here. */
#include <string.h>

#include "op.h"

extern const sono_op sono_op_fft, sono_op_rfft, sono_op_nop;
extern const sono_op sono_op_triad, sono_op_sgemm; /* calibration: bandwidth, peak */
extern const sono_op sono_op_stft, sono_op_melspec, sono_op_logmel, sono_op_mfcc;
extern const sono_op sono_op_conv1d, sono_op_attention;
extern const sono_op sono_op_vq_encode, sono_op_rvq_encode, sono_op_rvq_decode;
extern const sono_op sono_op_codec_opus, sono_op_codec_encodec;
extern const sono_op sono_op_attention_step; /* issue 12: attention decode step */
extern const sono_op sono_op_decode, sono_op_resample; /* issue 14: audio I/O */
extern const sono_op sono_op_load_batch; /* issue 14: data loading */
extern const sono_op sono_op_copy; /* issue 10: copy bandwidth, calibrates GPUs */
extern const sono_op sono_op_ctc_greedy, sono_op_ctc_beam; /* issue 23: CTC decoding */
extern const sono_op sono_op_whisper_encoder; /* issue 23: speech models */
extern const sono_op sono_op_metric_pesq; /* issue 24: PESQ, the codecs' scorer */
extern const sono_op sono_op_w2v_features, sono_op_attention_relpos; /* issue 23 */
extern const sono_op sono_op_vocoder_hifigan, sono_op_wavenet_stack; /* issue 25 */
extern const sono_op sono_op_codec_mimi; /* issue 24: Mimi */
extern const sono_op sono_op_sample_topk, sono_op_codes_delay; /* issue 25: generation */
extern const sono_op sono_op_vq_ste; /* issue 25: VQ training step */
extern const sono_op sono_op_maskgit_step, sono_op_maskgit_decode; /* issue 25 */
extern const sono_op sono_op_codec_soundstream, sono_op_codec_dac; /* issue 24 */

/* `list` order: transforms, audio front ends, codec building blocks, codecs, then the
 * harness's own (overhead, bandwidth, peak). */
const sono_op *const sono_ops[] = {
    &sono_op_fft,       &sono_op_rfft,       &sono_op_stft,       &sono_op_melspec,
    &sono_op_logmel,    &sono_op_mfcc,       &sono_op_conv1d,     &sono_op_attention,
    &sono_op_attention_step, /* issue 12 */
    &sono_op_vq_encode, &sono_op_rvq_encode, &sono_op_rvq_decode, &sono_op_codec_opus,
    &sono_op_codec_encodec, &sono_op_decode, &sono_op_resample, /* issue 14 */
    &sono_op_load_batch, /* issue 14 */
    &sono_op_whisper_encoder, /* issue 23 */
    &sono_op_w2v_features, &sono_op_attention_relpos, /* issue 23 */
    &sono_op_nop,       &sono_op_triad,      &sono_op_sgemm,
    &sono_op_copy, /* issue 10 */
    &sono_op_ctc_greedy, &sono_op_ctc_beam, /* issue 23 */
    &sono_op_metric_pesq, /* issue 24 */
    &sono_op_vocoder_hifigan, &sono_op_wavenet_stack, /* issue 25 */
    &sono_op_codec_mimi, /* issue 24 */
    &sono_op_sample_topk, &sono_op_codes_delay, &sono_op_vq_ste, /* issue 25 */
    &sono_op_maskgit_step, &sono_op_maskgit_decode, /* issue 25 */
    &sono_op_codec_soundstream, &sono_op_codec_dac, /* issue 24 */
    NULL};

const sono_param_spec sono_common_params[] = {
    {.name = "threads", .type = SONO_PINT, .imin = 1, .imax = 1024, .idflt = 1,
     .help = "threads the impl may use (the record says how many it used)"},
    {.name = "cache", .type = SONO_PSTR, .choices = "hot|cold", .sdflt = "hot",
     .help = "hot: samples of k runs back to back; cold: one run per sample after "
             "evicting the last-level cache"},
    /* issue 12 (streaming): a case with a chunk streams through the impl's push() */
    {.name = "chunk_ms", .type = SONO_PREAL, .rmin = 0, .rmax = 600000, .rdflt = 0,
     .help = "streaming: feed the input in chunks of this many ms through push() (0: "
             "offline, one run() over the whole input)"},
    {.name = "chunk", .type = SONO_PINT, .imin = 0, .imax = 1LL << 40, .idflt = 0,
     .help = "streaming: input steps per chunk, overrides chunk_ms (0: unset)"},
    {.name = "pace", .type = SONO_PSTR, .choices = "fast|realtime", .sdflt = "fast",
     .help = "streaming: fast (chunks back to back) or realtime (each chunk waits for the "
             "moment its last sample exists)"},
    {.name = "deadline_ms", .type = SONO_PREAL, .rmin = 0, .rmax = 600000, .rdflt = 0,
     .help = "streaming: a push longer than this misses its deadline (0: the chunk's "
             "duration)"},
    {.name = "stream_repeat", .type = SONO_PINT, .imin = 1, .imax = 10000, .idflt = 1,
     .help = "streaming: streams per case, each from stream_begin (more latency samples)"},
    /* issue 10: run an impl on another device of its kind (cuda:1); "" is its own */
    {.name = "device", .type = SONO_PSTR, .sdflt = "",
     .help = "the device to run on, e.g. cuda:1 (\"\": the impl's own); an impl whose "
             "device is of another kind skips"},
};
const int sono_ncommon_params = sizeof sono_common_params / sizeof sono_common_params[0];

const sono_op *sono_op_find(const char *name)
{
    for (int i = 0; sono_ops[i]; i++)
        if (strcmp(sono_ops[i]->name, name) == 0)
            return sono_ops[i];
    return NULL;
}

const sono_param_spec *sono_op_param(const sono_op *op, const char *name)
{
    for (int i = 0; i < op->nparams; i++)
        if (strcmp(op->params[i].name, name) == 0)
            return &op->params[i];
    for (int i = 0; i < sono_ncommon_params; i++)
        if (strcmp(sono_common_params[i].name, name) == 0)
            return &sono_common_params[i];
    return NULL;
}

sono_dtype sono_dtype_wide(sono_dtype t)
{
    return t == SONO_F32 ? SONO_F64 : t == SONO_C64 ? SONO_C128 : t;
}
