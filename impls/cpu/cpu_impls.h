/* cpu_impls.h — what the cpu backend's files share: the FFT variant passed as ctx, the
 * checked problem shape, the input/output plumbing every out-of-place FFT here uses, and
 * the entry points plugin.c puts in its table. Private to impls/cpu/; never installed. */
#ifndef CPU_IMPLS_H
#define CPU_IMPLS_H

#include <stdint.h>
#include <stdlib.h>

#include "sono.h"

/* Spelled out: M_PI is not ISO C, and the twiddles should not hinge on feature macros. */
#define TWO_PI 6.283185307179586476925286766559005768

/* Interleaved like SONO_C64, so buffers convert by memcpy; explicit re/im arithmetic
 * avoids the NaN-recovery libcalls that C99 complex multiplication brings in. */
typedef struct cfloat {
    float re, im;
} cfloat;

/* The impl table's ctx: one function serves both "fft" and "rfft". */
typedef struct fft_variant {
    int real; /* 1: input SONO_F32 [batch, n], output bins 0..n/2 */
} fft_variant;

/* An FFT problem after its parameters were checked, and the buffers both the naive and
 * the radix-2 impl keep. Each impl's state begins with this struct, so fft_load and
 * fft_store serve both. */
typedef struct fft_io {
    size_t n, batch, nout; /* nout: bins kept per row (n, or n/2+1 for rfft) */
    int real;
    void *in;   /* own copy of the input: batch*n floats (rfft) or cfloats (fft) */
    cfloat *out; /* batch*n cfloats; rfft keeps the first nout of each row */
} fft_io;

/* Rounded up to the alignment, which aligned_alloc requires (and ASan checks). NULL on
 * overflow as well as on failure, so callers need one test. */
static inline void *amalloc(size_t bytes)
{
    if (bytes == 0)
        bytes = 1;
    if (bytes > SIZE_MAX - 63)
        return NULL;
    return aligned_alloc(64, (bytes + 63) & ~(size_t)63);
}

/* The bytes of fft_io's own buffers (the input copy and the output), which the workspace
 * callbacks count: they are the impl's allocations, not the core's. Payload bytes, as
 * asked of the allocator; amalloc's rounding up to 64 is not counted. */
static inline size_t fft_io_bytes(const fft_io *io)
{
    return io->batch * io->n * (io->real ? sizeof(float) : sizeof(cfloat)) +
           io->batch * io->n * sizeof(cfloat);
}

/* plugin.c: parameter checks and the I/O both FFT impls share. */
int fft_shape(const void *ctx, const sono_params *p, int pow2, fft_io *io, char *why,
              size_t n);
int fft_io_alloc(fft_io *io, sono_error *err);
void fft_io_free(fft_io *io);
int fft_load(void *st, const sono_buf *in, sono_error *err);
int fft_store(void *st, sono_buf *out, sono_error *err);

/* naive_dft.c */
int dft_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int dft_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int dft_run(void *st);
void dft_teardown(void *st);
size_t dft_workspace(void *st);

/* radix2.c */
int radix2_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int radix2_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int radix2_run(void *st);
void radix2_teardown(void *st);
size_t radix2_workspace(void *st);

/* fast_fft.c */
int fast_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int fast_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int fast_run(void *st);
void fast_teardown(void *st);
int fast_describe(void *st, char *buf, size_t n);
size_t fast_workspace(void *st);

/* nop.c */
int nop_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int nop_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int nop_load(void *st, const sono_buf *in, sono_error *err);
int nop_run(void *st);
int nop_store(void *st, sono_buf *out, sono_error *err);
int nop_stream_begin(void *st, sono_error *err); /* issue 12: the streaming floor */
int nop_push(void *st, long long t0, long long n, int last, sono_buf *out, long long *done,
             sono_error *err);
void nop_teardown(void *st);
size_t nop_workspace(void *st);

/* triad.c */
int triad_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int triad_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int triad_load(void *st, const sono_buf *in, sono_error *err);
int triad_run(void *st);
int triad_store(void *st, sono_buf *out, sono_error *err);
void triad_teardown(void *st);
int triad_describe(void *st, char *buf, size_t n);
size_t triad_workspace(void *st);

/* dsp_naive.c: cpu/naive for stft, melspec, logmel, mfcc (ctx: &fe_ops[op]) */
int dsp_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int dsp_naive_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int dsp_naive_run(void *st);
void dsp_naive_teardown(void *st);
size_t dsp_naive_workspace(void *st);

/* dsp_fast.c: cpu/fast for the same four ops */
int dsp_fast_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int dsp_fast_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int dsp_fast_run(void *st);
void dsp_fast_teardown(void *st);
int dsp_fast_describe(void *st, char *buf, size_t n);
size_t dsp_fast_workspace(void *st);
/* issue 12: streaming stft and melspec */
int dsp_fast_stream_begin(void *st, sono_error *err);
int dsp_fast_push(void *st, long long t0, long long n, int last, sono_buf *out,
                  long long *done, sono_error *err);

/* conv_naive.c: cpu/naive for conv1d (direct loops) */
int conv_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int conv_naive_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int conv_naive_load(void *st, const sono_buf *in, sono_error *err);
int conv_naive_run(void *st);
int conv_naive_store(void *st, sono_buf *out, sono_error *err);
void conv_naive_teardown(void *st);
size_t conv_naive_workspace(void *st);
int conv_naive_describe(void *st, char *buf, size_t n); /* issue 26: the dtype */
/* issue 12: streaming, a history of past input per layer (convstream.h) */
int conv_naive_stream_begin(void *st, sono_error *err);
int conv_naive_push(void *st, long long t0, long long n, int last, sono_buf *out,
                    long long *done, sono_error *err);

/* attn_naive.c: cpu/naive for attention (the whole score matrix, one head at a time) */
int attn_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int attn_naive_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int attn_naive_load(void *st, const sono_buf *in, sono_error *err);
int attn_naive_run(void *st);
int attn_naive_store(void *st, sono_buf *out, sono_error *err);
void attn_naive_teardown(void *st);
size_t attn_naive_workspace(void *st);
int attn_naive_describe(void *st, char *buf, size_t n); /* issue 26: the dtype */
/* issue 12 (streaming): the KV-cache stream of causal attention, the row kernel it shares
 * with run (K, V rows of token j at (j % cap) * d; keys j0 .. j1-1; s: j1 - j0 scores), and
 * attn_step.c's cpu/naive for attention.step */
int attn_naive_stream_begin(void *st, sono_error *err);
int attn_naive_push(void *st, long long t0, long long n, int last, sono_buf *out,
                    long long *done, sono_error *err);
void attn_naive_row(const float *q, const float *K, const float *V, size_t cap, size_t j0,
                    size_t j1, size_t d, float *s, float *o);
int attn_step_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int attn_step_naive_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int attn_step_naive_load(void *st, const sono_buf *in, sono_error *err);
int attn_step_naive_run(void *st);
int attn_step_naive_store(void *st, sono_buf *out, sono_error *err);
void attn_step_naive_teardown(void *st);
int attn_step_naive_describe(void *st, char *buf, size_t n);
size_t attn_step_naive_workspace(void *st);
/* vq_naive.c: cpu/naive for vq.encode, rvq.encode, rvq.decode (ctx: &vq_naive_kinds[i]) */
extern const int vq_naive_kinds[3]; /* 0 vq.encode, 1 rvq.encode, 2 rvq.decode */
int vq_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int vq_naive_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int vq_naive_load(void *st, const sono_buf *in, sono_error *err);
int vq_naive_run(void *st);
int vq_naive_store(void *st, sono_buf *out, sono_error *err);
void vq_naive_teardown(void *st);
size_t vq_naive_workspace(void *st);
int vq_naive_describe(void *st, char *buf, size_t n); /* issue 26: the dtype */

/* vq_bf16.c (issue 26): cpu/avx512bf16 for vq.encode, dtype=bf16 on AVX-512 BF16 CPUs */
int vq_bf16_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int vq_bf16_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int vq_bf16_load(void *st, const sono_buf *in, sono_error *err);
int vq_bf16_run(void *st);
int vq_bf16_store(void *st, sono_buf *out, sono_error *err);
void vq_bf16_teardown(void *st);
int vq_bf16_describe(void *st, char *buf, size_t n);
size_t vq_bf16_workspace(void *st);
/* gemm_bf16.c (issue 26): cpu/avx512bf16 for sgemm, dtype=bf16 on AVX-512 BF16 CPUs */
int gemm_bf16_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int gemm_bf16_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int gemm_bf16_load(void *st, const sono_buf *in, sono_error *err);
int gemm_bf16_run(void *st);
int gemm_bf16_store(void *st, sono_buf *out, sono_error *err);
void gemm_bf16_teardown(void *st);
int gemm_bf16_describe(void *st, char *buf, size_t n);
size_t gemm_bf16_workspace(void *st);
/* encodec_bf16.c (issue 26): cpu/avx512bf16 for codec.encodec, dtype=bf16 (load, run,
 * store and workspace are encodec_naive.c's: the state is the same en_net) */
int encodec_bf16_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int encodec_bf16_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
void encodec_bf16_teardown(void *st);
int encodec_bf16_describe(void *st, char *buf, size_t n);
/* attn_bf16.c (issue 26): cpu/avx512bf16 for attention, dtype=bf16 */
int attn_bf16_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int attn_bf16_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int attn_bf16_load(void *st, const sono_buf *in, sono_error *err);
int attn_bf16_run(void *st);
int attn_bf16_store(void *st, sono_buf *out, sono_error *err);
void attn_bf16_teardown(void *st);
int attn_bf16_describe(void *st, char *buf, size_t n);
size_t attn_bf16_workspace(void *st);
/* attn_step_bf16.c (issue 26): cpu/avx512bf16 for attention.step, dtype=bf16 */
int attn_step_bf16_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int attn_step_bf16_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int attn_step_bf16_load(void *st, const sono_buf *in, sono_error *err);
int attn_step_bf16_run(void *st);
int attn_step_bf16_store(void *st, sono_buf *out, sono_error *err);
void attn_step_bf16_teardown(void *st);
int attn_step_bf16_describe(void *st, char *buf, size_t n);
size_t attn_step_bf16_workspace(void *st);
/* conv_bf16.c (issue 26): cpu/avx512bf16 for conv1d (forward), dtype=bf16 */
int conv_bf16_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int conv_bf16_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int conv_bf16_load(void *st, const sono_buf *in, sono_error *err);
int conv_bf16_run(void *st);
int conv_bf16_store(void *st, sono_buf *out, sono_error *err);
void conv_bf16_teardown(void *st);
int conv_bf16_describe(void *st, char *buf, size_t n);
size_t conv_bf16_workspace(void *st);
/* dac_naive.c: cpu/naive for codec.dac (issue 24) */
int dac_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int dac_naive_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int dac_load(void *st, const sono_buf *in, sono_error *err);
int dac_run(void *st);
int dac_store(void *st, sono_buf *out, sono_error *err);
void dac_teardown(void *st);
size_t dac_workspace(void *st);
int dac_naive_describe(void *st, char *buf, size_t n);
/* its float32 codebook search and RVQ projections, which cpu/avx512bf16 keeps */
struct dn_conv;
void dac_naive_vq(const float *cn, const float *cc, int K, int Dc, const float *zn,
                  const float *zz, long long F, int *codes, float *scratch);
void dac_naive_proj_in(const struct dn_conv *c, const float *r, long long F, float *z);
void dac_naive_proj_out(const struct dn_conv *c, const float *e, long long F, float sign,
                        float *r);
/* dac_bf16.c (issue 26): cpu/avx512bf16 for codec.dac, dtype=bf16 (load, run, store and
 * workspace are dac_naive.c's: the state is the same dn_net) */
int dac_bf16_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int dac_bf16_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
void dac_bf16_teardown(void *st);
int dac_bf16_describe(void *st, char *buf, size_t n);
/* encodec_naive.c: cpu/naive for codec.encodec */
int encodec_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int encodec_naive_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int encodec_naive_describe(void *st, char *buf, size_t n);
/* its float32 LSTM (scratch: 6h floats) and codebook search, which cpu/avx512bf16 keeps */
struct en_layer;
void encodec_naive_lstm(const struct en_layer *l, int k, const float *x, long long T, int S,
                        float *y, float *hc, float *scratch);
void encodec_naive_vq(const float *cb, const float *norm2, int K, int D, const float *r,
                      long long F, int *codes, float *scratch);
/* issue 12: streaming (encodec_stream.c) */
int encodec_stream_begin(void *st, sono_error *err);
int encodec_push(void *st, long long t0, long long n, int last, sono_buf *out, long long *done,
                 sono_error *err);
int encodec_load(void *st, const sono_buf *in, sono_error *err);
int encodec_run(void *st);
int encodec_store(void *st, sono_buf *out, sono_error *err);
void encodec_teardown(void *st);
size_t encodec_workspace(void *st);

/* issue 23: whisper_naive.c, cpu/naive for whisper.encoder */
int whisper_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int whisper_naive_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int whisper_naive_load(void *st, const sono_buf *in, sono_error *err);
int whisper_naive_run(void *st);
int whisper_naive_store(void *st, sono_buf *out, sono_error *err);
void whisper_naive_teardown(void *st);
size_t whisper_naive_workspace(void *st);
int whisper_naive_describe(void *st, char *buf, size_t n);

/* issue 14: resample by an own polyphase FIR (polyphase.c) */
int poly_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int poly_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int poly_load(void *st, const sono_buf *in, sono_error *err);
int poly_run(void *st);
int poly_store(void *st, sono_buf *out, sono_error *err);
void poly_teardown(void *st);
int poly_describe(void *st, char *buf, size_t n);
size_t poly_workspace(void *st);

/* issue 10: copy by libc's memcpy (memcpy.c) */
int memcpy_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int memcpy_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int memcpy_load(void *st, const sono_buf *in, sono_error *err);
int memcpy_run(void *st);
int memcpy_store(void *st, sono_buf *out, sono_error *err);
void memcpy_teardown(void *st);
size_t memcpy_workspace(void *st);

/* issue 23: w2v_naive.c (wav2vec2.features), relpos_naive.c (attention.relpos) */
int w2v_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int w2v_naive_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int w2v_naive_load(void *st, const sono_buf *in, sono_error *err);
int w2v_naive_run(void *st);
int w2v_naive_store(void *st, sono_buf *out, sono_error *err);
void w2v_naive_teardown(void *st);
int w2v_naive_describe(void *st, char *buf, size_t n);
size_t w2v_naive_workspace(void *st);
int relpos_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int relpos_naive_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int relpos_naive_load(void *st, const sono_buf *in, sono_error *err);
int relpos_naive_run(void *st);
int relpos_naive_store(void *st, sono_buf *out, sono_error *err);
void relpos_naive_teardown(void *st);
size_t relpos_naive_workspace(void *st);

/* issue 25: wavenet_naive.c and hifigan_naive.c, cpu/naive for wavenet.stack and
 * vocoder.hifigan (both stream) */
#define CPU_STREAM_DECL(pre)                                                             \
    int pre##_supports(const void *ctx, const sono_params *p, char *why, size_t n);      \
    int pre##_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);  \
    int pre##_load(void *st, const sono_buf *in, sono_error *err);                       \
    int pre##_run(void *st);                                                             \
    int pre##_store(void *st, sono_buf *out, sono_error *err);                           \
    void pre##_teardown(void *st);                                                       \
    size_t pre##_workspace(void *st);                                                    \
    int pre##_describe(void *st, char *buf, size_t n);                                   \
    int pre##_stream_begin(void *st, sono_error *err);                                   \
    int pre##_push(void *st, long long t0, long long n, int last, sono_buf *out,          \
                   long long *done, sono_error *err);
CPU_STREAM_DECL(wavenet_naive)
CPU_STREAM_DECL(hifigan_naive)
/* issue 24: mimi_naive.c, cpu/naive for codec.mimi */
int mimi_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int mimi_naive_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int mimi_naive_load(void *st, const sono_buf *in, sono_error *err);
int mimi_naive_run(void *st);
int mimi_naive_store(void *st, sono_buf *out, sono_error *err);
void mimi_naive_teardown(void *st);
size_t mimi_naive_workspace(void *st);
int mimi_naive_describe(void *st, char *buf, size_t n);
int mimi_naive_stream_begin(void *st, sono_error *err);
int mimi_naive_push(void *st, long long t0, long long n, int last, sono_buf *out,
                    long long *done, sono_error *err);

#endif
