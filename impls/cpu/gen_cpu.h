/* gen_cpu.h — the cpu backend's generation and training ops (issue 25): sample.topk,
 * codes.delay, vq.ste, maskgit.*; layouts in harness/ops/sample.c, delay.c, vq_ste.c,
 * maskgit.c. */
#ifndef CPU_GEN_H
#define CPU_GEN_H

#include <stddef.h>

#include "sono.h"

/* sample_naive.c: every row sorted by qsort, weights by expf, sequential sums */
int sample_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int sample_naive_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int sample_naive_load(void *st, const sono_buf *in, sono_error *err);
int sample_naive_run(void *st);
int sample_naive_store(void *st, sono_buf *out, sono_error *err);
void sample_naive_teardown(void *st);
size_t sample_naive_workspace(void *st);

/* delay_naive.c: a memcpy per codebook row, pads filled around it */
int delay_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int delay_naive_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int delay_naive_load(void *st, const sono_buf *in, sono_error *err);
int delay_naive_run(void *st);
int delay_naive_store(void *st, sono_buf *out, sono_error *err);
void delay_naive_teardown(void *st);
size_t delay_naive_workspace(void *st);

/* vqste_naive.c: direct distances, then impls/common/vqste_step.c */
int vqste_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int vqste_naive_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int vqste_naive_load(void *st, const sono_buf *in, sono_error *err);
int vqste_naive_run(void *st);
int vqste_naive_store(void *st, sono_buf *out, sono_error *err);
void vqste_naive_teardown(void *st);
size_t vqste_naive_workspace(void *st);

/* maskgit_naive.c: ctx &maskgit_naive_kinds[0] maskgit.step, [1] maskgit.decode */
extern const int maskgit_naive_kinds[2];
int maskgit_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int maskgit_naive_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int maskgit_naive_load(void *st, const sono_buf *in, sono_error *err);
int maskgit_naive_run(void *st);
int maskgit_naive_store(void *st, sono_buf *out, sono_error *err);
void maskgit_naive_teardown(void *st);
size_t maskgit_naive_workspace(void *st);

#endif
