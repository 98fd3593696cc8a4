/* test_cuda_math_dac.c — cuda/dac's kernel arithmetic (impls/cuda/dc_math.h) on the host,
 * against computations written here from the definitions (dac.h, PyTorch's Conv1d and
 * ConvTranspose1d) in double: convs assembled as the kernels do (im2col map over S clips,
 * Snake on load, SGEMM, epilogue) and transposed convs (columns + overlap-add map) against
 * direct per-clip loops; Snake and the epilogue's order against closed forms; the L2
 * normalisation against double; the codebook search's tie rule through a simulated warp
 * reduction against a plain first-best scan. Built with the CUDA toolkit's headers
 * (DC_EMU, the Makefile's rule), it also runs cuda/dac's own host code (impls/cuda/dac.c:
 * its upload, buffer plan, SGEMM arguments and the order of its fused Snakes) on the CPU,
 * over host stand-ins for the runtime calls, cuBLAS's column-major SGEMM and the
 * dc_kernels.cu launchers (the same dc_math.h maps), against codec.dac's float64 reference
 * through the op's own check, every mode at streams 1 and 3. No GPU needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../impls/cuda/dc_math.h"

#ifdef DC_EMU
#include <unistd.h>

#include "buf.h"
#include "check.h"
#include "cu.h"
#include "cuda_impls.h"
#include "dc_kernels.h"
#include "input.h"
#include "op.h"
#include "params.h"
#endif

static uint64_t dm_seed = 12345;

static double dm_rand(void) /* uniform in [-1, 1) */
{
    dm_seed = dm_seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(dm_seed >> 11) / (double)(1ULL << 53) * 2.0 - 1.0;
}

static float *dm_fill(size_t n, double scale)
{
    float *p = malloc(n * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)(scale * dm_rand());
    return p;
}

static double snake64(double x, double a)
{
    double s = sin(a * x);
    return x + s * s / (a + 1e-9);
}

/* A conv of S clips the kernels' way (dc_im2col_src gather with optional Snake, the
 * SGEMM as a float sum, dc_epilogue) against PyTorch's Conv1d on each clip alone in
 * double. Error bound: each output sums cin*k float products; float rounding of the sum
 * stays within (cin*k) eps32 sum |w x| (plus sin's few ulps under Snake). */
static void conv_case(int cin, int cout, int k, int st, int dil, int pad, long long L, int S,
                      int snake)
{
    long long T = (L + 2LL * pad - (long long)dil * (k - 1) - 1) / st + 1;
    assert_true(T > 0);
    float *x = dm_fill((size_t)cin * S * L, 1.5), *w = dm_fill((size_t)cout * cin * k, 0.3),
          *b = dm_fill((size_t)cout, 0.2), *al = dm_fill((size_t)cin, 1.0);
    for (int i = 0; i < cin; i++)
        al[i] = 0.2f + fabsf(al[i]) * 2; /* Snake's alpha: positive, as trained ones are */
    long long rows = (long long)cin * k, N = S * T;
    float *col = malloc((size_t)(rows * N) * sizeof *col);
    assert_non_null(col);
    for (long long e = 0; e < rows * N; e++) {
        long long j = dc_im2col_src(e, k, st, dil, pad, L, T, S);
        float v = j >= 0 ? x[j] : 0.0f;
        col[e] = snake && j >= 0 ? dc_snake(v, al[e / N / k]) : v;
    }
    for (int o = 0; o < cout; o++)
        for (int s = 0; s < S; s++)
            for (long long t = 0; t < T; t++) {
                float acc = 0;
                for (long long r = 0; r < rows; r++)
                    acc += w[o * rows + r] * col[r * N + s * T + t];
                float got = dc_epilogue(acc, b[o], 0, 0, 0, 0, 0);
                double ref = b[o], mag = fabs(b[o]);
                for (int i = 0; i < cin; i++) /* clip s's own row of channel i */
                    for (int j = 0; j < k; j++) {
                        long long u = t * st + (long long)j * dil - pad;
                        if (u < 0 || u >= L)
                            continue;
                        double xv = x[((long long)i * S + s) * L + u];
                        if (snake)
                            xv = snake64(xv, al[i]);
                        ref += (double)w[((long long)o * cin + i) * k + j] * xv;
                        mag += fabs(w[((long long)o * cin + i) * k + j] * xv);
                    }
                double bound = (double)(rows + 8) * 0x1p-24 * (mag + 1.0);
                if (fabs(got - ref) > bound)
                    fail_msg("conv cin %d k %d s %d d %d p %d clip %d o %d t %lld: %g vs %g",
                             cin, k, st, dil, pad, s, o, t, got, ref);
            }
    free(x);
    free(w);
    free(b);
    free(al);
    free(col);
}

static void im2col_conv(void **state)
{
    (void)state;
    conv_case(3, 4, 7, 1, 1, 3, 20, 3, 0);  /* encoder.conv1, a res unit at dilation 1 */
    conv_case(3, 2, 7, 1, 9, 27, 30, 3, 1); /* a res unit's conv1 at dilation 9, Snake */
    conv_case(2, 4, 4, 2, 1, 1, 17, 3, 1);  /* a block conv, stride 2 (odd L) */
    conv_case(2, 3, 16, 8, 1, 4, 64, 2, 0); /* stride 8 */
    conv_case(4, 4, 1, 1, 1, 0, 9, 3, 0);   /* 1x1 */
    conv_case(5, 1, 3, 1, 1, 1, 6, 1, 1);   /* encoder.conv2's shape, one clip */
}

/* The transposed conv the kernels' way: col [cout*k][S*L] = W^T x as a float sum, then
 * each output gathers its taps through dc_ola_range / dc_ola_col plus the bias; against
 * ConvTranspose1d's scatter definition y[o][t*s + j - p] += W[i][o][j] x[i][t] per clip. */
static void convtr_case(int cin, int cout, int u, long long L, int S)
{
    int k = 2 * u, p = (u + 1) / 2;
    long long T = (L - 1) * u - 2LL * p + k, N = S * L;
    float *x = dm_fill((size_t)cin * N, 1.0), *w = dm_fill((size_t)cin * cout * k, 0.5),
          *b = dm_fill((size_t)cout, 0.2);
    float *col = malloc((size_t)cout * k * N * sizeof *col);
    double *ref = calloc((size_t)cout * S * T, sizeof *ref),
           *mag = calloc((size_t)cout * S * T, sizeof *mag);
    assert_true(col && ref && mag);
    for (long long r = 0; r < (long long)cout * k; r++) /* W as [cin][cout*k] */
        for (long long n = 0; n < N; n++) {
            float acc = 0;
            for (int i = 0; i < cin; i++)
                acc += w[(long long)i * cout * k + r] * x[(long long)i * N + n];
            col[r * N + n] = acc;
        }
    for (int s = 0; s < S; s++)
        for (int o = 0; o < cout; o++) {
            for (long long v = 0; v < T; v++) {
                ref[((long long)o * S + s) * T + v] = b[o];
                mag[((long long)o * S + s) * T + v] = fabs(b[o]);
            }
            for (int i = 0; i < cin; i++)
                for (long long t = 0; t < L; t++)
                    for (int j = 0; j < k; j++) {
                        long long v = t * u + j - p;
                        if (v < 0 || v >= T)
                            continue;
                        double term = (double)w[((long long)i * cout + o) * k + j] *
                                      x[((long long)i * S + s) * L + t];
                        ref[((long long)o * S + s) * T + v] += term;
                        mag[((long long)o * S + s) * T + v] += fabs(term);
                    }
        }
    for (int o = 0; o < cout; o++)
        for (int s = 0; s < S; s++)
            for (long long v = 0; v < T; v++) {
                long long lo, hi, e = ((long long)o * S + s) * T + v;
                dc_ola_range(v, p, u, k, L, &lo, &hi);
                float acc = b[o];
                for (long long t = lo; t <= hi; t++) {
                    long long j = v + p - t * u;
                    assert_true(j >= 0 && j < k);
                    acc += col[dc_ola_col(o, j, s, t, k, S, L)];
                }
                double bound = (double)(cin + k + 8) * 0x1p-24 * (mag[e] + 1.0);
                if (fabs(acc - ref[e]) > bound)
                    fail_msg("convtr u %d clip %d o %d v %lld: %g vs %g", u, s, o, v, acc,
                             ref[e]);
            }
    free(x);
    free(w);
    free(b);
    free(col);
    free(ref);
    free(mag);
}

static void overlap_add(void **state)
{
    (void)state;
    convtr_case(4, 3, 8, 5, 3); /* the decoder's 8x blocks */
    convtr_case(3, 2, 4, 7, 2);
    convtr_case(2, 2, 2, 6, 3);
    convtr_case(2, 3, 3, 4, 2); /* an odd stride: padding ceil(3/2) = 2 */
    convtr_case(2, 1, 5, 1, 3); /* one input step per clip */
}

/* Snake against the closed form in double, and at the points where sin(a x) = 1 (x + 1/a)
 * or 0 (x). */
static void snake_and_epilogue(void **state)
{
    (void)state;
    const double alphas[] = {1e-3, 0.1, 0.7, 1.0, 3.5, 20.0};
    for (size_t a = 0; a < sizeof alphas / sizeof alphas[0]; a++)
        for (int i = -200; i <= 200; i++) {
            float x = (float)(i * 0.037), al = (float)alphas[a];
            double ref = snake64(x, al), got = dc_snake(x, al);
            /* sin in float: a few ulps of |x| and of the sin^2/a term */
            double s = sin((double)al * x);
            assert_true(fabs(got - ref) <= 8 * 0x1p-24 * (fabs(x) + s * s / al + 1e-30) +
                                             4 * 0x1p-24 * fabs((double)al * x) / al);
        }
    float a = 2.0f, xq = (float)(M_PI / 4); /* sin(2 * pi/4) = 1 */
    assert_true(fabs(dc_snake(xq, a) - (xq + 0.5)) < 1e-6);
    assert_true(dc_snake(0.0f, a) == 0.0f); /* padding zeros stay zeros after Snake */
    /* the epilogue's order: bias, then the residual, then Snake; or tanh */
    double v = 1.0 + 0.5 + 0.25;
    assert_true(fabs(dc_epilogue(1.0f, 0.5f, 1, 0.25f, 1, 2.0f, 0) - snake64(v, 2.0)) < 1e-6);
    assert_true(fabs(dc_epilogue(1.0f, 0.5f, 1, 0.25f, 0, 2.0f, 0) - v) < 1e-7);
    assert_true(fabs(dc_epilogue(0.3f, -0.1f, 0, 9.0f, 0, 0, 1) - tanh(0.2)) < 1e-7);
}

/* F.normalize with eps 1e-12 in double, read with a stride as the kernel reads z's
 * column; the zero vector stays zero (the eps, no NaN). */
static void l2_normalise(void **state)
{
    (void)state;
    for (int rep = 0; rep < 50; rep++) {
        int D = 1 + rep % 12;
        float z[3 * 16], zn[16];
        for (int j = 0; j < 3 * D; j++)
            z[j] = (float)(dm_rand() * pow(10.0, rep % 7 - 3));
        float zz = dc_l2norm(z, 3, D, zn);
        double nn = 0;
        for (int j = 0; j < D; j++)
            nn += (double)z[3 * j] * z[3 * j];
        double l = fmax(sqrt(nn), 1e-12), s2 = 0;
        for (int j = 0; j < D; j++) {
            assert_true(fabs(zn[j] - z[3 * j] / l) <= 0x1p-24 * fabs(z[3 * j] / l) + 1e-30);
            s2 += (double)zn[j] * zn[j];
        }
        assert_true(fabs(zz - s2) <= 4 * D * 0x1p-24);
        assert_true(fabs(s2 - 1.0) <= 4 * D * 0x1p-24);
    }
    float zero[8] = {0}, out[8];
    assert_true(dc_l2norm(zero, 1, 8, out) == 0.0f);
    for (int j = 0; j < 8; j++)
        assert_true(out[j] == 0.0f);
}

/* The kernel's search: 32 lanes each keep the best of codewords lane, lane + 32, ... by
 * dc_better, then a butterfly (xor 16, 8, 4, 2, 1) merges them. Against a plain scan
 * keeping the first best, on codebooks with duplicated codewords (exact ties across
 * lanes) and against the nearest unit codeword in double (same up to float near-ties). */
static void search_and_ties(void **state)
{
    (void)state;
    enum { K = 1024, D = 8 };
    static float cn[K * D], cc[K];
    for (int rep = 0; rep < 40; rep++) {
        for (int k = 0; k < K; k++) {
            float raw[D];
            for (int j = 0; j < D; j++)
                raw[j] = (float)dm_rand();
            cc[k] = dc_l2norm(raw, 1, D, cn + k * D);
        }
        int dup_from = (int)((dm_rand() + 1) * 300), dup_to = 1023 - rep; /* a later copy */
        memcpy(cn + dup_to * D, cn + dup_from * D, D * sizeof(float));
        cc[dup_to] = cc[dup_from];
        float z[D], zn[D];
        for (int j = 0; j < D; j++) /* z near the duplicated codeword, so it wins */
            z[j] = cn[dup_from * D + j] * 3.0f + (float)(1e-3 * dm_rand());
        if (rep % 4 == 3)
            for (int j = 0; j < D; j++)
                z[j] = (float)dm_rand();
        float zz = dc_l2norm(z, 1, D, zn);
        float lv[32];
        int lk[32];
        for (int lane = 0; lane < 32; lane++) {
            lk[lane] = -1;
            lv[lane] = 0;
            for (int k = lane; k < K; k += 32) {
                float v = dc_score(zn, zz, cn + k * D, cc[k], D);
                if (dc_better(v, k, lv[lane], lk[lane])) {
                    lv[lane] = v;
                    lk[lane] = k;
                }
            }
        }
        for (int o = 16; o > 0; o >>= 1) {
            float nv[32];
            int nk[32];
            for (int lane = 0; lane < 32; lane++) {
                nv[lane] = lv[lane];
                nk[lane] = lk[lane];
                int src = lane ^ o;
                if (lk[src] >= 0 && dc_better(lv[src], lk[src], nv[lane], nk[lane])) {
                    nv[lane] = lv[src];
                    nk[lane] = lk[src];
                }
            }
            memcpy(lv, nv, sizeof lv);
            memcpy(lk, nk, sizeof lk);
        }
        int scan = 0; /* the first of the best, by a plain scan */
        float best = dc_score(zn, zz, cn, cc[0], D);
        for (int k = 1; k < K; k++) {
            float v = dc_score(zn, zz, cn + k * D, cc[k], D);
            if (v > best) {
                best = v;
                scan = k;
            }
        }
        for (int lane = 0; lane < 32; lane++)
            assert_int_equal(lk[lane], scan);
        if (rep % 4 != 3)
            assert_int_equal(scan, dup_from); /* the lower index of the exact tie */
        /* the nearest unit codeword in double, up to a float near-tie */
        double bd = -INFINITY, sd = 0;
        for (int k = 0; k < K; k++) {
            double dot = 0;
            for (int j = 0; j < D; j++)
                dot += (double)zn[j] * cn[k * D + j];
            if (k == scan)
                sd = dot;
            bd = fmax(bd, dot);
        }
        assert_true(bd - sd <= 8 * D * 0x1p-24);
    }
}

#ifdef DC_EMU
/* ---- cuda/dac's host code over host stand-ins ----------------------------------------
 * "Device" memory is host memory filled with NaN bytes when allocated, so a buffer read
 * before a kernel wrote it poisons the output and the check fails. */
static cu_dev em_dev;
static double em_planned; /* the bytes supports() gave the memory gate */
static double em_alloc;   /* the bytes allocated since the last reset */
static char em_tmp[64];

int cu_hdr_init(cu_hdr *h, const char *op, const char *impl, int (*run)(void *st),
                const sono_params *p, sono_error *err)
{
    (void)p;
    (void)err;
    h->dev = &em_dev;
    h->run = run;
    snprintf(h->label, sizeof h->label, "%s cuda/%s", op, impl);
    return 0;
}

void cu_range_push(const cu_hdr *h, const char *phase)
{
    (void)h;
    (void)phase;
}

void cu_range_pop(void)
{
}

int cu_ok(cudaError_t e, const char *call, const char *who, sono_error *err)
{
    return e == cudaSuccess ? 0 : sono_fail(err, SONO_EDEVICE, "%s: %s failed", who, call);
}

int cu_run_ok(cudaError_t e, const char *call, cu_hdr *h)
{
    if (e == cudaSuccess)
        return 0;
    snprintf(h->msg, sizeof h->msg, "%s failed", call);
    return SONO_EDEVICE;
}

int cu_blas_run_ok(cublasStatus_t s, const char *call, cu_hdr *h)
{
    if (s == CUBLAS_STATUS_SUCCESS)
        return 0;
    snprintf(h->msg, sizeof h->msg, "%s failed", call);
    return SONO_EDEVICE;
}

int cu_blas_create(cu_hdr *h, cublasHandle_t *b, int *has, sono_error *err)
{
    (void)h;
    (void)err;
    *b = (cublasHandle_t)&em_dev;
    *has = 1;
    return 0;
}

int cu_alloc(void **p, size_t bytes, const char *who, sono_error *err)
{
    *p = malloc(bytes ? bytes : 1);
    if (!*p)
        return sono_fail(err, SONO_ENOMEM, "%s: out of memory", who);
    memset(*p, 0xff, bytes); /* NaN floats, code -1 */
    em_alloc += (double)bytes;
    return 0;
}

void cu_free(void *p)
{
    free(p);
}

int cu_supports_common(const sono_params *p, double bytes, char *why, size_t n)
{
    (void)p;
    (void)why;
    (void)n;
    em_planned = bytes;
    return 0;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind)
{
    (void)kind;
    memcpy(dst, src, count);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count,
                            enum cudaMemcpyKind kind, cudaStream_t stream)
{
    (void)stream;
    return cudaMemcpy(dst, src, count, kind);
}

cudaError_t cudaMemcpy2DAsync(void *dst, size_t dpitch, const void *src, size_t spitch,
                              size_t width, size_t height, enum cudaMemcpyKind kind,
                              cudaStream_t stream)
{
    (void)kind;
    (void)stream;
    if (width > dpitch || width > spitch)
        return cudaErrorInvalidPitchValue;
    for (size_t r = 0; r < height; r++)
        memcpy((char *)dst + r * dpitch, (const char *)src + r * spitch, width);
    return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void *devPtr, int value, size_t count, cudaStream_t stream)
{
    (void)stream;
    memset(devPtr, value, count);
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream)
{
    (void)stream;
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void)
{
    return cudaSuccess;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t handle)
{
    (void)handle;
    return CUBLAS_STATUS_SUCCESS;
}

/* cuBLAS's contract: column-major C [m][n] = alpha op(A) op(B) + beta C, op(A) m x k. */
cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t ta,
                              cublasOperation_t tb, int m, int n, int k, const float *alpha,
                              const float *A, int lda, const float *B, int ldb,
                              const float *beta, float *C, int ldc)
{
    (void)handle;
    if ((ta == CUBLAS_OP_N ? lda < m : lda < k) || (tb == CUBLAS_OP_N ? ldb < k : ldb < n) ||
        ldc < m)
        return CUBLAS_STATUS_INVALID_VALUE;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            float acc = 0;
            for (int l = 0; l < k; l++) {
                float a = ta == CUBLAS_OP_N ? A[(size_t)l * lda + i] : A[(size_t)i * lda + l];
                float b = tb == CUBLAS_OP_N ? B[(size_t)j * ldb + l] : B[(size_t)l * ldb + j];
                acc += a * b;
            }
            float *c = &C[(size_t)j * ldc + i];
            *c = *beta == 0.0f ? *alpha * acc : *alpha * acc + *beta * *c;
        }
    return CUBLAS_STATUS_SUCCESS;
}

/* dc_kernels.cu's launchers, one loop iteration per GPU thread (the search: dc_better over
 * every codeword, which the warp reduction equals: search_and_ties above). */
cudaError_t cu_dc_im2col_launch(const float *x, const float *alpha, int cin, int k,
                                int stride, int dil, int pad, long long L, long long T,
                                int S, float *col, cudaStream_t s)
{
    (void)s;
    long long n = (long long)cin * k * S * T;
    for (long long e = 0; e < n; e++) {
        long long j = dc_im2col_src(e, k, stride, dil, pad, L, T, S);
        float v = j >= 0 ? x[j] : 0.0f;
        if (alpha && j >= 0)
            v = dc_snake(v, alpha[e / (S * T) / k]);
        col[e] = v;
    }
    return cudaSuccess;
}

cudaError_t cu_dc_epilogue_launch(float *y, const float *b, const float *res,
                                  const float *alpha, int tanh_out, int C, long long N,
                                  cudaStream_t s)
{
    (void)s;
    for (long long e = 0; e < (long long)C * N; e++) {
        long long c = e / N;
        y[e] = dc_epilogue(y[e], b[c], res != NULL, res ? res[e] : 0.0f, alpha != NULL,
                           alpha ? alpha[c] : 0.0f, tanh_out);
    }
    return cudaSuccess;
}

cudaError_t cu_dc_ola_launch(const float *col, const float *b, int cout, int k, int stride,
                             int pad, long long L, long long T, int S, float *y,
                             cudaStream_t s)
{
    (void)s;
    for (long long e = 0; e < (long long)cout * S * T; e++) {
        long long u = e % T, c = (e / T) % S, o = e / (T * S), lo, hi;
        dc_ola_range(u, pad, stride, k, L, &lo, &hi);
        float acc = b[o];
        for (long long t = lo; t <= hi; t++)
            acc += col[dc_ola_col(o, u + pad - t * stride, c, t, k, S, L)];
        y[e] = acc;
    }
    return cudaSuccess;
}

cudaError_t cu_dc_vq_launch(const float *z, const float *b, int D, long long N,
                            const float *cn, const float *cc, int K, int *codes,
                            cudaStream_t s)
{
    (void)s;
    if (D > DC_MAX_CODEBOOK_DIM)
        return cudaErrorInvalidValue;
    for (long long n = 0; n < N; n++) {
        float raw[DC_MAX_CODEBOOK_DIM], zn[DC_MAX_CODEBOOK_DIM];
        for (int j = 0; j < D; j++)
            raw[j] = z[(long long)j * N + n] + b[j];
        float zz = dc_l2norm(raw, 1, D, zn), bv = 0;
        int bk = -1;
        for (int k = 0; k < K; k++) {
            float v = dc_score(zn, zz, cn + (long long)k * D, cc[k], D);
            if (dc_better(v, k, bv, bk)) {
                bv = v;
                bk = k;
            }
        }
        codes[n] = bk;
    }
    return cudaSuccess;
}

cudaError_t cu_dc_gather_launch(const float *cb, const int *codes, int D, long long N,
                                float *e, cudaStream_t s)
{
    (void)s;
    for (long long i = 0; i < (long long)D * N; i++)
        e[i] = cb[(long long)codes[i % N] * D + i / N];
    return cudaSuccess;
}

cudaError_t cu_dc_resid_launch(const float *t, const float *b, int C, long long N, float *r,
                               float *qs, cudaStream_t s)
{
    (void)s;
    for (long long i = 0; i < (long long)C * N; i++) {
        float v = t[i] + b[i / N];
        qs[i] += v;
        if (r)
            r[i] -= v;
    }
    return cudaSuccess;
}

static const sono_op *em_op;

static void em_set(sono_params *p, const char *name, const char *text)
{
    for (int i = 0; i < p->count; i++)
        if (strcmp(p->v[i].name, name) == 0) {
            sono_error err = {0};
            sono_param_free(&p->v[i]);
            assert_int_equal(sono_param_parse(sono_op_param(em_op, name), text, &p->v[i], &err),
                             0);
            return;
        }
    fail_msg("no param %s", name);
}

/* One case of codec.dac run by cuda/dac's code and checked by the op against its float64
 * reference (tolerance: the op's, for cuda/dac's growth class). */
static void em_case(const char *const *kv, int nkv)
{
    sono_params p = {0};
    sono_error err = {0};
    sono_input_spec spec;
    sono_buf in, out, ref;
    const sono_impl *im = &cu_dac_impls[0];
    sono_params_defaults(em_op, &p);
    for (int i = 0; i < nkv; i++)
        em_set(&p, kv[2 * i], kv[2 * i + 1]);
    assert_int_equal(em_op->validate(&p, &err), 0);
    em_op->shapes(&p, &in, &out);
    ref = out;
    ref.dtype = sono_dtype_wide(out.dtype);
    assert_int_equal(sono_buf_alloc(&in, &err), 0);
    assert_int_equal(sono_buf_alloc(&out, &err), 0);
    assert_int_equal(sono_buf_alloc(&ref, &err), 0);
    assert_int_equal(sono_input_parse("noise", ".", &spec, &err), 0);
    assert_int_equal(em_op->input(&p, &spec, em_op->rate(&p), &in, &err), 0);
    assert_int_equal(em_op->reference(&p, &in, &ref, &err), 0);
    char why[512];
    void *st = NULL;
    em_planned = em_alloc = 0;
    if (im->supports(im->ctx, &p, why, sizeof why))
        fail_msg("cuda/dac refused: %s", why);
    double planned = em_planned;
    if (im->setup(im->ctx, &p, &st, &err))
        fail_msg("cuda/dac setup: %s", err.msg);
    /* the memory gate's figure is what setup allocates (weights, buffers), not less */
    assert_true(planned >= em_alloc && planned <= 1.01 * em_alloc + 4096);
    int rc = im->load(st, &in, &err);
    if (!rc && (rc = im->run(st)))
        fail_msg("cuda/dac run: %s", ((cu_hdr *)st)->msg);
    if (!rc)
        rc = im->store(st, &out, &err);
    im->teardown(st);
    if (rc)
        fail_msg("cuda/dac: %s", err.msg);
    sono_check k = {0};
    double tol = em_op->tolerance(&p, im->growth);
    assert_int_equal(em_op->check(&p, &in, &out, &ref, tol, &k, &err), 0);
    if (!k.pass)
        fail_msg("cuda/dac %s: %s", sono_param_str(&p, "mode", "?"), k.detail);
    print_message("cuda/dac (host stand-ins) %s streams=%s: rel_l2 %.3g (tol %g); %.120s\n",
                  sono_param_str(&p, "mode", "?"), kv[2 * nkv - 1], k.rel_l2, tol, k.detail);
    sono_buf_free(&in);
    sono_buf_free(&out);
    sono_buf_free(&ref);
    sono_params_free(&p);
}

static void cuda_dac_on_host(void **state)
{
    (void)state;
    em_op = sono_op_find("codec.dac");
    assert_non_null(em_op);
    const char *modes[] = {"encode", "decode", "roundtrip"}, *streams[] = {"1", "3"};
    for (int m = 0; m < 3; m++)
        for (int s = 0; s < 2; s++) {
            const char *kv[] = {"weights", "tests/data/dac/tiny.safetensors", "n_q", "3",
                                "seconds", "0.002", "mode", modes[m], "streams", streams[s]};
            em_case(kv, 5);
        }
    /* dac_44khz's layout (strides 2, 4, 8, 8, 9 codebooks of 1024 in dim 8) at toy widths */
    for (int m = 0; m < 3; m += 2) {
        const char *kv[] = {"enc_dim", "4", "dec_dim", "32", "seconds", "0.03",
                            "mode", modes[m], "streams", "2"};
        em_case(kv, 5);
    }
}

static int em_setup(void **state)
{
    (void)state;
    snprintf(em_tmp, sizeof em_tmp, "/tmp/sono_dcm_XXXXXX");
    if (!mkdtemp(em_tmp))
        return -1;
    setenv("XDG_CACHE_HOME", em_tmp, 1); /* weights = random's file goes there */
    return 0;
}

static int em_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", em_tmp);
    return system(cmd) == 0 ? 0 : -1;
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(im2col_conv),     cmocka_unit_test(overlap_add),
        cmocka_unit_test(snake_and_epilogue), cmocka_unit_test(l2_normalise),
        cmocka_unit_test(search_and_ties),
#ifdef DC_EMU
        cmocka_unit_test_setup_teardown(cuda_dac_on_host, em_setup, em_teardown),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
