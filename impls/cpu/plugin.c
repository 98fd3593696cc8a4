/* plugin.c — the cpu backend's entry point: its impl table, and the parameter checks and
 * input/output copies that its out-of-place FFTs (naive-dft, radix2, fast) share, so the two
 * files hold only what differs between them: the setup of their tables and the kernel. */
#include <stdarg.h>

#include "cpu_impls.h"
#include "ctc_cpu.h" /* issue 23 */
#include "frontend.h"
#include "gen_cpu.h" /* issue 25 */

/* Far past any real case (8 TiB of complex floats), yet low enough that byte counts
 * derived from it can never overflow size_t. */
#define MAX_ELEMS (1ULL << 40)

static const fft_variant c2c = {.real = 0};
static const fft_variant r2c = {.real = 1};

__attribute__((format(printf, 3, 4))) static int say(char *why, size_t n, const char *fmt,
                                                     ...)
{
    if (why && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, n, fmt, ap);
        va_end(ap);
    }
    return SONO_EUNSUPPORTED;
}

int fft_shape(const void *ctx, const sono_params *p, int pow2, fft_io *io, char *why,
              size_t n)
{
    const fft_variant *v = ctx;
    long long len = sono_param_int(p, "n", 0);
    long long batch = sono_param_int(p, "batch", 1);
    long long threads = sono_param_int(p, "threads", 1);

    if (threads != 1)
        return say(why, n, "single-threaded impl (threads=1 only), got threads=%lld",
                   threads);
    if (!sono_param_find(p, "n"))
        return say(why, n, "parameter n is missing");
    if (len < 1)
        return say(why, n, "n=%lld must be >= 1", len);
    if (batch < 1)
        return say(why, n, "batch=%lld must be >= 1", batch);
    if ((unsigned long long)len > MAX_ELEMS / (unsigned long long)batch)
        return say(why, n, "n*batch=%lld*%lld exceeds %llu elements", len, batch,
                   MAX_ELEMS);
    if (pow2 && (len & (len - 1)))
        return say(why, n, "n=%lld is not a power of two", len);
    io->n = (size_t)len;
    io->batch = (size_t)batch;
    io->real = v->real;
    io->nout = v->real ? io->n / 2 + 1 : io->n;
    return 0;
}

static size_t in_bytes(const fft_io *io)
{
    return io->batch * io->n * (io->real ? sizeof(float) : sizeof(cfloat));
}

int fft_io_alloc(fft_io *io, sono_error *err)
{
    io->in = amalloc(in_bytes(io));
    io->out = amalloc(io->batch * io->n * sizeof(cfloat));
    if (!io->in || !io->out)
        return sono_fail(err, SONO_ENOMEM, "cannot allocate buffers for n=%zu batch=%zu",
                         io->n, io->batch);
    return 0;
}

void fft_io_free(fft_io *io)
{
    free(io->in);
    free(io->out);
}

/* A copy, not a bound pointer: sono.h lets an impl keep neither buffer past load/store. */
int fft_load(void *st, const sono_buf *in, sono_error *err)
{
    fft_io *io = st;
    sono_dtype want = io->real ? SONO_F32 : SONO_C64;
    size_t need = in_bytes(io);

    if (in->dtype != want || sono_buf_elems(in) != (long long)(io->batch * io->n) ||
        in->nbytes < need)
        return sono_fail(err, SONO_EINVAL,
                         "input must be %s [batch=%zu, n=%zu] (%zu bytes); got dtype %d, "
                         "%lld elements, %zu bytes",
                         io->real ? "f32" : "c64", io->batch, io->n, need, (int)in->dtype,
                         sono_buf_elems(in), in->nbytes);
    memcpy(io->in, in->data, need);
    return 0;
}

int fft_store(void *st, sono_buf *out, sono_error *err)
{
    fft_io *io = st;
    size_t need = io->batch * io->nout * sizeof(cfloat);

    if (out->dtype != SONO_C64 || out->nbytes < need)
        return sono_fail(err, SONO_EINVAL,
                         "output must be c64 [batch=%zu, %zu] (%zu bytes); got dtype %d, "
                         "%zu bytes",
                         io->batch, io->nout, need, (int)out->dtype, out->nbytes);
    if (io->nout == io->n) {
        memcpy(out->data, io->out, need);
        return 0;
    }
    cfloat *dst = out->data;
    for (size_t b = 0; b < io->batch; b++)
        memcpy(dst + b * io->nout, io->out + b * io->n, io->nout * sizeof(cfloat));
    return 0;
}

static const sono_impl impls[] = {
    {.abi = SONO_ABI_VERSION, .op = "fft", .name = "naive-dft",
     .summary = "O(n^2) DFT by definition, float32 sums over a twiddle table",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = &c2c,
     .supports = dft_supports, .setup = dft_setup, .load = fft_load, .run = dft_run,
     .store = fft_store, .teardown = dft_teardown,
     .workspace = dft_workspace},
    {.abi = SONO_ABI_VERSION, .op = "rfft", .name = "naive-dft",
     .summary = "O(n^2) real DFT by definition, bins 0..n/2, float32 sums",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = &r2c,
     .supports = dft_supports, .setup = dft_setup, .load = fft_load, .run = dft_run,
     .store = fft_store, .teardown = dft_teardown,
     .workspace = dft_workspace},
    {.abi = SONO_ABI_VERSION, .op = "fft", .name = "radix2",
     .summary = "iterative radix-2 Cooley-Tukey (DIT, out-of-place), powers of two",
     .device = "cpu", .growth = SONO_ERR_LOG, .ctx = &c2c,
     .supports = radix2_supports, .setup = radix2_setup, .load = fft_load,
     .run = radix2_run, .store = fft_store, .teardown = radix2_teardown,
     .workspace = radix2_workspace},
    {.abi = SONO_ABI_VERSION, .op = "rfft", .name = "radix2",
     .summary = "radix-2 on the real input as complex (no packing), bins 0..n/2",
     .device = "cpu", .growth = SONO_ERR_LOG, .ctx = &r2c,
     .supports = radix2_supports, .setup = radix2_setup, .load = fft_load,
     .run = radix2_run, .store = fft_store, .teardown = radix2_teardown,
     .workspace = radix2_workspace},
    {.abi = SONO_ABI_VERSION, .op = "fft", .name = "fast",
     .summary = "own optimised FFT: radix-4 Stockham, mixed radix 2/3/5/7, Bluestein, AVX2",
     .device = "cpu", .growth = SONO_ERR_LOG, .ctx = &c2c,
     .supports = fast_supports, .setup = fast_setup, .load = fft_load, .run = fast_run,
     .store = fft_store, .teardown = fast_teardown, .describe = fast_describe,
     .workspace = fast_workspace},
    {.abi = SONO_ABI_VERSION, .op = "rfft", .name = "fast",
     .summary = "own optimised real FFT: n/2-point complex FFT of the packed input + split",
     .device = "cpu", .growth = SONO_ERR_LOG, .ctx = &r2c,
     .supports = fast_supports, .setup = fast_setup, .load = fft_load, .run = fast_run,
     .store = fft_store, .teardown = fast_teardown, .describe = fast_describe,
     .workspace = fast_workspace},
    {.abi = SONO_ABI_VERSION, .op = "nop", .name = "nop",
     .summary = "empty run(): the harness's own overhead per timed call",
     .device = "cpu", .growth = SONO_ERR_LOG, .ctx = NULL,
     .supports = nop_supports, .setup = nop_setup, .load = nop_load, .run = nop_run,
     .store = nop_store, .teardown = nop_teardown,
     .workspace = nop_workspace, .stream_begin = nop_stream_begin, .push = nop_push,
     .role = SONO_ROLE_OVERHEAD},
    {.abi = SONO_ABI_VERSION, .op = "triad", .name = "triad",
     .summary = "STREAM triad over contiguous chunks, persistent pthread pool",
     .device = "cpu", .growth = SONO_ERR_LOG, .ctx = NULL,
     .supports = triad_supports, .setup = triad_setup, .load = triad_load,
     .run = triad_run, .store = triad_store, .teardown = triad_teardown,
     .describe = triad_describe, .workspace = triad_workspace, .role = SONO_ROLE_BANDWIDTH},
    {.abi = SONO_ABI_VERSION, .op = "stft", .name = "naive",
     .summary = "stft by definition: O(n_fft^2) float32 DFT per frame",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = &fe_ops[FE_STFT],
     .supports = dsp_naive_supports, .setup = dsp_naive_setup, .load = fe_load,
     .run = dsp_naive_run, .store = fe_store, .teardown = dsp_naive_teardown,
     .workspace = dsp_naive_workspace},
    {.abi = SONO_ABI_VERSION, .op = "melspec", .name = "naive",
     .summary = "melspec by definition: O(n_fft^2) float32 DFT per frame, dense filterbank",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = &fe_ops[FE_MELSPEC],
     .supports = dsp_naive_supports, .setup = dsp_naive_setup, .load = fe_load,
     .run = dsp_naive_run, .store = fe_store, .teardown = dsp_naive_teardown,
     .workspace = dsp_naive_workspace},
    {.abi = SONO_ABI_VERSION, .op = "logmel", .name = "naive",
     .summary = "logmel by definition: O(n_fft^2) float32 DFT per frame, dense filterbank",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = &fe_ops[FE_LOGMEL],
     .supports = dsp_naive_supports, .setup = dsp_naive_setup, .load = fe_load,
     .run = dsp_naive_run, .store = fe_store, .teardown = dsp_naive_teardown,
     .workspace = dsp_naive_workspace},
    {.abi = SONO_ABI_VERSION, .op = "mfcc", .name = "naive",
     .summary = "mfcc by definition: O(n_fft^2) float32 DFT per frame, dense filterbank",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = &fe_ops[FE_MFCC],
     .supports = dsp_naive_supports, .setup = dsp_naive_setup, .load = fe_load,
     .run = dsp_naive_run, .store = fe_store, .teardown = dsp_naive_teardown,
     .workspace = dsp_naive_workspace},
    {.abi = SONO_ABI_VERSION, .op = "stft", .name = "fast",
     .summary = "stft: fastfft real FFT per frame, frames over a thread pool",
     .device = "cpu", .growth = SONO_ERR_LOG, .ctx = &fe_ops[FE_STFT],
     .supports = dsp_fast_supports, .setup = dsp_fast_setup, .load = fe_load,
     .run = dsp_fast_run, .store = fe_store, .teardown = dsp_fast_teardown,
     .describe = dsp_fast_describe, .workspace = dsp_fast_workspace,
     .stream_begin = dsp_fast_stream_begin, .push = dsp_fast_push},
    {.abi = SONO_ABI_VERSION, .op = "melspec", .name = "fast",
     .summary = "melspec: fastfft real FFT per frame, sparse filterbank, frames over a thread pool",
     .device = "cpu", .growth = SONO_ERR_LOG, .ctx = &fe_ops[FE_MELSPEC],
     .supports = dsp_fast_supports, .setup = dsp_fast_setup, .load = fe_load,
     .run = dsp_fast_run, .store = fe_store, .teardown = dsp_fast_teardown,
     .describe = dsp_fast_describe, .workspace = dsp_fast_workspace,
     .stream_begin = dsp_fast_stream_begin, .push = dsp_fast_push},
    {.abi = SONO_ABI_VERSION, .op = "logmel", .name = "fast",
     .summary = "logmel: fastfft real FFT per frame, sparse filterbank, frames over a thread pool",
     .device = "cpu", .growth = SONO_ERR_LOG, .ctx = &fe_ops[FE_LOGMEL],
     .supports = dsp_fast_supports, .setup = dsp_fast_setup, .load = fe_load,
     .run = dsp_fast_run, .store = fe_store, .teardown = dsp_fast_teardown,
     .describe = dsp_fast_describe, .workspace = dsp_fast_workspace},
    {.abi = SONO_ABI_VERSION, .op = "mfcc", .name = "fast",
     .summary = "mfcc: fastfft real FFT per frame, sparse filterbank, frames over a thread pool",
     .device = "cpu", .growth = SONO_ERR_LOG, .ctx = &fe_ops[FE_MFCC],
     .supports = dsp_fast_supports, .setup = dsp_fast_setup, .load = fe_load,
     .run = dsp_fast_run, .store = fe_store, .teardown = dsp_fast_teardown,
     .describe = dsp_fast_describe, .workspace = dsp_fast_workspace},
    {.abi = SONO_ABI_VERSION, .op = "conv1d", .name = "naive",
     .summary = "conv1d by definition: direct loops, one float32 dot product per output",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = NULL,
     .supports = conv_naive_supports, .setup = conv_naive_setup, .load = conv_naive_load,
     .run = conv_naive_run, .store = conv_naive_store, .teardown = conv_naive_teardown,
     .workspace = conv_naive_workspace, .describe = conv_naive_describe,
     /* issue 12: streaming with a history of (kernel - 1) * dilation steps */
     .stream_begin = conv_naive_stream_begin, .push = conv_naive_push},
    {.abi = SONO_ABI_VERSION, .op = "attention", .name = "naive",
     .summary = "attention by definition: the seq x seq score matrix per head, softmax, P V",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = NULL,
     .supports = attn_naive_supports, .setup = attn_naive_setup, .load = attn_naive_load,
     .run = attn_naive_run, .store = attn_naive_store, .teardown = attn_naive_teardown,
     .workspace = attn_naive_workspace, .describe = attn_naive_describe,
     /* issue 12: streaming with a KV cache */
     .stream_begin = attn_naive_stream_begin, .push = attn_naive_push},
    {.abi = SONO_ABI_VERSION, .op = "vq.encode", .name = "naive",
     .summary = "nearest codeword by a float32 loop over every codeword, sum (x - c)^2",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = &vq_naive_kinds[0],
     .supports = vq_naive_supports, .setup = vq_naive_setup, .load = vq_naive_load,
     .run = vq_naive_run, .store = vq_naive_store, .teardown = vq_naive_teardown,
     .workspace = vq_naive_workspace, .describe = vq_naive_describe},
    /* issue 26: the CPU's bf16 path, where it has AVX-512 BF16 */
    {.abi = SONO_ABI_VERSION, .op = "vq.encode", .name = "avx512bf16",
     .summary = "nearest codeword with VDPBF16PS dot products (bf16 pairs, fp32 "
                "accumulation); dtype=bf16 on CPUs with AVX-512 BF16",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .supports = vq_bf16_supports,
     .setup = vq_bf16_setup, .load = vq_bf16_load, .run = vq_bf16_run,
     .store = vq_bf16_store, .teardown = vq_bf16_teardown, .describe = vq_bf16_describe,
     .workspace = vq_bf16_workspace},
    /* issue 26: DAC with bf16 convolutions, to measure its dtype tolerance on a CPU */
    {.abi = SONO_ABI_VERSION, .op = "codec.dac", .name = "avx512bf16",
     .summary = "DAC with every conv a VDPBF16PS GEMM (weights and activations rounded to "
                "bf16, fp32 accumulation), Snake and RVQ fp32; dtype=bf16 on CPUs with "
                "AVX-512 BF16",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .supports = dac_bf16_supports,
     .setup = dac_bf16_setup, .load = dac_load, .run = dac_run, .store = dac_store,
     .teardown = dac_bf16_teardown, .describe = dac_bf16_describe,
     .workspace = dac_workspace},
    /* issue 26: EnCodec with bf16 convolutions, to measure its dtype tolerance on a CPU */
    {.abi = SONO_ABI_VERSION, .op = "codec.encodec", .name = "avx512bf16",
     .summary = "EnCodec with every conv a VDPBF16PS GEMM (weights and activations rounded "
                "to bf16, fp32 accumulation), LSTM and RVQ fp32; dtype=bf16 on CPUs with "
                "AVX-512 BF16",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .supports = encodec_bf16_supports,
     .setup = encodec_bf16_setup, .load = encodec_load, .run = encodec_run,
     .store = encodec_store, .teardown = encodec_bf16_teardown,
     .describe = encodec_bf16_describe, .workspace = encodec_workspace},
    /* issue 26: attention as two bf16 GEMMs per block of queries, P rounded to bf16 */
    {.abi = SONO_ABI_VERSION, .op = "attention", .name = "avx512bf16",
     .summary = "S = Q K^T and O = P V as VDPBF16PS GEMMs per 64 queries, softmax in fp32 "
                "with P rounded to bf16; dtype=bf16 on CPUs with AVX-512 BF16",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .supports = attn_bf16_supports,
     .setup = attn_bf16_setup, .load = attn_bf16_load, .run = attn_bf16_run,
     .store = attn_bf16_store, .teardown = attn_bf16_teardown, .describe = attn_bf16_describe,
     .workspace = attn_bf16_workspace},
    /* issue 26: a decode step on a bf16 KV cache (half the bytes it streams) */
    {.abi = SONO_ABI_VERSION, .op = "attention.step", .name = "avx512bf16",
     .summary = "the KV cache in bf16, q.K and P V by VDPBF16PS, softmax in fp32 with P "
                "rounded to bf16; dtype=bf16 on CPUs with AVX-512 BF16",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .supports = attn_step_bf16_supports,
     .setup = attn_step_bf16_setup, .load = attn_step_bf16_load, .run = attn_step_bf16_run,
     .store = attn_step_bf16_store, .teardown = attn_step_bf16_teardown,
     .describe = attn_step_bf16_describe, .workspace = attn_step_bf16_workspace},
    /* issue 26: conv1d as bf16 GEMMs, the signal packed as im2col reads it */
    {.abi = SONO_ABI_VERSION, .op = "conv1d", .name = "avx512bf16",
     .summary = "forward conv as one VDPBF16PS GEMM per group (bf16 pairs, fp32 "
                "accumulation), bias and activation in fp32; dtype=bf16 on CPUs with "
                "AVX-512 BF16",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .supports = conv_bf16_supports,
     .setup = conv_bf16_setup, .load = conv_bf16_load, .run = conv_bf16_run,
     .store = conv_bf16_store, .teardown = conv_bf16_teardown, .describe = conv_bf16_describe,
     .workspace = conv_bf16_workspace},
    /* issue 26: the CPU's bf16 GEMM, beside blas/sgemm's float32 peak */
    {.abi = SONO_ABI_VERSION, .op = "sgemm", .name = "avx512bf16",
     .summary = "C = A B with VDPBF16PS (bf16 pairs, fp32 accumulation) in 8x32 register "
                "tiles, threads lanes over C's rows; dtype=bf16 on CPUs with AVX-512 BF16",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .supports = gemm_bf16_supports,
     .setup = gemm_bf16_setup, .load = gemm_bf16_load, .run = gemm_bf16_run,
     .store = gemm_bf16_store, .teardown = gemm_bf16_teardown, .describe = gemm_bf16_describe,
     .workspace = gemm_bf16_workspace},
    {.abi = SONO_ABI_VERSION, .op = "rvq.encode", .name = "naive",
     .summary = "greedy residual VQ: per stage a float32 loop over every codeword, sum (r - c)^2",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = &vq_naive_kinds[1],
     .supports = vq_naive_supports, .setup = vq_naive_setup, .load = vq_naive_load,
     .run = vq_naive_run, .store = vq_naive_store, .teardown = vq_naive_teardown,
     .workspace = vq_naive_workspace, .describe = vq_naive_describe},
    {.abi = SONO_ABI_VERSION, .op = "rvq.decode", .name = "naive",
     .summary = "sum of the n_q codewords of each vector, float32, stage by stage",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = &vq_naive_kinds[2],
     .supports = vq_naive_supports, .setup = vq_naive_setup, .load = vq_naive_load,
     .run = vq_naive_run, .store = vq_naive_store, .teardown = vq_naive_teardown,
     .workspace = vq_naive_workspace, .describe = vq_naive_describe},
    {.abi = SONO_ABI_VERSION, .op = "codec.encodec", .name = "naive",
     .summary = "EnCodec by definition: direct float32 conv, LSTM and codebook loops",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = NULL,
     .supports = encodec_naive_supports, .setup = encodec_naive_setup, .load = encodec_load,
     .run = encodec_run, .store = encodec_store, .teardown = encodec_teardown,
     .workspace = encodec_workspace, .describe = encodec_naive_describe,
     /* issue 12 part C: streaming */
     .stream_begin = encodec_stream_begin, .push = encodec_push},
    /* issue 24: DAC by definition (impls/common/dac_net.c) */
    {.abi = SONO_ABI_VERSION, .op = "codec.dac", .name = "naive",
     .summary = "DAC by definition: direct float32 conv loops with Snake, codebook loop",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = NULL,
     .supports = dac_naive_supports, .setup = dac_naive_setup, .load = dac_load,
     .run = dac_run, .store = dac_store, .teardown = dac_teardown,
     .workspace = dac_workspace, .describe = dac_naive_describe},
    /* issue 24: SoundStream, cpu/naive's EnCodec network on its config (encodec.h) */
    {.abi = SONO_ABI_VERSION, .op = "codec.soundstream", .name = "naive",
     .summary = "SoundStream by definition: cpu/naive's EnCodec network, direct float32 "
                "conv and codebook loops",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = NULL,
     .supports = encodec_naive_supports, .setup = encodec_naive_setup, .load = encodec_load,
     .run = encodec_run, .store = encodec_store, .teardown = encodec_teardown,
     .workspace = encodec_workspace, .describe = encodec_naive_describe,
     .stream_begin = encodec_stream_begin, .push = encodec_push},
    /* issue 23: speech models */
    {.abi = SONO_ABI_VERSION, .op = "whisper.encoder", .name = "naive",
     .summary = "Whisper encoder by definition: direct conv stem, float32 dot-product loops",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = NULL,
     .supports = whisper_naive_supports, .setup = whisper_naive_setup,
     .load = whisper_naive_load, .run = whisper_naive_run, .store = whisper_naive_store,
     .teardown = whisper_naive_teardown, .workspace = whisper_naive_workspace,
     .describe = whisper_naive_describe},
    /* issue 24: Mimi */
    {.abi = SONO_ABI_VERSION, .op = "codec.mimi", .name = "naive",
     .summary = "Mimi by definition: direct float32 conv, transformer and codebook loops",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = NULL,
     .supports = mimi_naive_supports, .setup = mimi_naive_setup, .load = mimi_naive_load,
     .run = mimi_naive_run, .store = mimi_naive_store, .teardown = mimi_naive_teardown,
     .workspace = mimi_naive_workspace, .describe = mimi_naive_describe,
     .stream_begin = mimi_naive_stream_begin, .push = mimi_naive_push},
    /* issue 12 (streaming): one attention decode step against a KV cache */
    {.abi = SONO_ABI_VERSION, .op = "attention.step", .name = "naive",
     .summary = "decode step: ring KV cache, float32 scores, softmax, weighted sum of V",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = NULL,
     .supports = attn_step_naive_supports, .setup = attn_step_naive_setup,
     .load = attn_step_naive_load, .run = attn_step_naive_run,
     .store = attn_step_naive_store, .teardown = attn_step_naive_teardown,
     .describe = attn_step_naive_describe, .workspace = attn_step_naive_workspace},
    /* issue 14 */
    {.abi = SONO_ABI_VERSION, .op = "resample", .name = "polyphase",
     .summary = "own two-stage resampler: FFT overlap-save low-pass, then a short polyphase FIR",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = NULL,
     .supports = poly_supports, .setup = poly_setup, .load = poly_load, .run = poly_run,
     .store = poly_store, .teardown = poly_teardown, .describe = poly_describe,
     .workspace = poly_workspace},
    /* issue 10: the host's copy bandwidth */
    {.abi = SONO_ABI_VERSION, .op = "copy", .name = "memcpy",
     .summary = "libc memcpy between the impl's own buffers, one thread",
     .device = "cpu", .growth = SONO_ERR_LOG, .ctx = NULL,
     .supports = memcpy_supports, .setup = memcpy_setup, .load = memcpy_load,
     .run = memcpy_run, .store = memcpy_store, .teardown = memcpy_teardown,
     .workspace = memcpy_workspace},
    /* issue 23: CTC decoding */
    {.abi = SONO_ABI_VERSION, .op = "ctc.greedy", .name = "naive",
     .summary = "argmax loop per frame, repeats merged, blanks dropped, float32 path sum",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = &ctc_kinds[0],
     .supports = ctc_naive_supports, .setup = ctc_naive_setup, .load = ctc_io_load,
     .run = ctc_naive_run, .store = ctc_io_store, .teardown = ctc_naive_teardown,
     .describe = ctc_naive_describe, .workspace = ctc_naive_workspace},
    {.abi = SONO_ABI_VERSION, .op = "ctc.greedy", .name = "fast",
     .summary = "8-lane max per frame then its first index",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = &ctc_kinds[0],
     .supports = ctc_naive_supports, .setup = ctc_fast_setup, .load = ctc_io_load,
     .run = ctc_fast_run, .store = ctc_io_store, .teardown = ctc_fast_teardown,
     .describe = ctc_fast_describe, .workspace = ctc_fast_workspace},
    {.abi = SONO_ABI_VERSION, .op = "ctc.beam", .name = "naive",
     .summary = "log-domain prefix beam search: every class per prefix, hash merge, qsort",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = &ctc_kinds[1],
     .supports = ctc_naive_supports, .setup = ctc_naive_setup, .load = ctc_io_load,
     .run = ctc_naive_run, .store = ctc_io_store, .teardown = ctc_naive_teardown,
     .describe = ctc_naive_describe, .workspace = ctc_naive_workspace},
    {.abi = SONO_ABI_VERSION, .op = "ctc.beam", .name = "fast",
     .summary = "prefix trie, beam+1 best labels per frame, rescaled probabilities, heap",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = &ctc_kinds[1],
     .supports = ctc_naive_supports, .setup = ctc_fast_setup, .load = ctc_io_load,
     .run = ctc_fast_run, .store = ctc_io_store, .teardown = ctc_fast_teardown,
     .describe = ctc_fast_describe, .workspace = ctc_fast_workspace},
    /* issue 23: speech models */
    {.abi = SONO_ABI_VERSION, .op = "wav2vec2.features", .name = "naive",
     .summary = "wav2vec2 conv feature encoder by definition: direct float32 loops, up to 10 s",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = NULL,
     .supports = w2v_naive_supports, .setup = w2v_naive_setup, .load = w2v_naive_load,
     .run = w2v_naive_run, .store = w2v_naive_store, .teardown = w2v_naive_teardown,
     .describe = w2v_naive_describe, .workspace = w2v_naive_workspace},
    {.abi = SONO_ABI_VERSION, .op = "attention.relpos", .name = "naive",
     .summary = "WavLM gated relative-position attention by definition, row by row",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = NULL,
     .supports = relpos_naive_supports, .setup = relpos_naive_setup,
     .load = relpos_naive_load, .run = relpos_naive_run, .store = relpos_naive_store,
     .teardown = relpos_naive_teardown, .workspace = relpos_naive_workspace},
    /* issue 25: generation */
    {.abi = SONO_ABI_VERSION, .op = "wavenet.stack", .name = "naive",
     .summary = "WaveNet stack by definition: float32 loops per layer and step; streams a "
                "sample at a time (fast-WaveNet queues), bit-exact with offline",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = NULL,
     .supports = wavenet_naive_supports, .setup = wavenet_naive_setup,
     .load = wavenet_naive_load, .run = wavenet_naive_run, .store = wavenet_naive_store,
     .teardown = wavenet_naive_teardown, .workspace = wavenet_naive_workspace,
     .describe = wavenet_naive_describe, .stream_begin = wavenet_naive_stream_begin,
     .push = wavenet_naive_push},
    {.abi = SONO_ABI_VERSION, .op = "vocoder.hifigan", .name = "naive",
     .summary = "HiFi-GAN generator by definition: float32 window sums per output, leaky ReLU "
                "on read; streams by mel chunks, bit-exact with offline",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = NULL,
     .supports = hifigan_naive_supports, .setup = hifigan_naive_setup,
     .load = hifigan_naive_load, .run = hifigan_naive_run, .store = hifigan_naive_store,
     .teardown = hifigan_naive_teardown, .workspace = hifigan_naive_workspace,
     .describe = hifigan_naive_describe, .stream_begin = hifigan_naive_stream_begin,
     .push = hifigan_naive_push},
    /* issue 25: generation and training blocks */
    {.abi = SONO_ABI_VERSION, .op = "sample.topk", .name = "naive",
     .summary = "qsort per row, expf weights, sequential top-p cut and draw (Philox u)",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = NULL,
     .supports = sample_naive_supports, .setup = sample_naive_setup,
     .load = sample_naive_load, .run = sample_naive_run, .store = sample_naive_store,
     .teardown = sample_naive_teardown, .workspace = sample_naive_workspace},
    {.abi = SONO_ABI_VERSION, .op = "codes.delay", .name = "naive",
     .summary = "a memcpy per codebook row into (or out of) its shifted place, pads around",
     .device = "cpu", .growth = SONO_ERR_LOG, .ctx = NULL,
     .supports = delay_naive_supports, .setup = delay_naive_setup,
     .load = delay_naive_load, .run = delay_naive_run, .store = delay_naive_store,
     .teardown = delay_naive_teardown, .workspace = delay_naive_workspace},
    {.abi = SONO_ABI_VERSION, .op = "vq.ste", .name = "naive",
     .summary = "VQ training step: direct distances, float32 STE, losses, EMA, restarts",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = NULL,
     .supports = vqste_naive_supports, .setup = vqste_naive_setup,
     .load = vqste_naive_load, .run = vqste_naive_run, .store = vqste_naive_store,
     .teardown = vqste_naive_teardown, .workspace = vqste_naive_workspace},
    {.abi = SONO_ABI_VERSION, .op = "maskgit.step", .name = "naive",
     .summary = "one MaskGIT iteration: qsort draw per masked frame, expf confidences, qsort",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = &maskgit_naive_kinds[0],
     .supports = maskgit_naive_supports, .setup = maskgit_naive_setup,
     .load = maskgit_naive_load, .run = maskgit_naive_run, .store = maskgit_naive_store,
     .teardown = maskgit_naive_teardown, .workspace = maskgit_naive_workspace},
    {.abi = SONO_ABI_VERSION, .op = "maskgit.decode", .name = "naive",
     .summary = "MaskGIT decode loop, the logits MLP by loops frame by frame",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = &maskgit_naive_kinds[1],
     .supports = maskgit_naive_supports, .setup = maskgit_naive_setup,
     .load = maskgit_naive_load, .run = maskgit_naive_run, .store = maskgit_naive_store,
     .teardown = maskgit_naive_teardown, .workspace = maskgit_naive_workspace},
};

SONO_EXPORT int sono_plugin_init(sono_registry *r, sono_error *err)
{
    if (r->abi != SONO_ABI_VERSION)
        return sono_fail(err, SONO_EABI, "cpu plugin built for ABI %d, harness has ABI %d",
                         SONO_ABI_VERSION, r->abi);
    for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++) {
        int rc = r->add_impl(r, &impls[i]);
        if (rc < 0)
            return sono_fail(err, rc, "cpu: registering %s/cpu/%s failed (%d)",
                             impls[i].op, impls[i].name, rc);
    }
    return 0;
}
