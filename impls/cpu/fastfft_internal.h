/* fastfft_internal.h — what the fastfft files share: the plan (a list of Stockham stages
 * with their twiddles, or a real/Bluestein wrapper around an inner complex plan) and the
 * kernels the planner picks from. Private to impls/cpu/fastfft*.c. */
#ifndef CPU_FASTFFT_INTERNAL_H
#define CPU_FASTFFT_INTERNAL_H

#include <stddef.h>

#include "fastfft.h"

/* Interleaved (re, im), the layout of the API's buffers. */
typedef struct ffc {
    float re, im;
} ffc;

/* Generated codelets (fastfft_gen_*.c, from impls/cpu/gen/gencodelet.py). A complex one
 * maps x[j is] to y[k os] (interleaved complex, strides in floats); a real one maps n
 * floats to bins 0..n/2, interleaved. */
typedef void (*ffg_cfn)(const float *restrict x, size_t is, float *restrict y, size_t os);
typedef void (*ffg_rfn)(const float *restrict x, float *restrict y);
ffg_cfn ffg_dft_s(size_t n);  /* scalar, n = 2..64 */
ffg_rfn ffg_r2c_s(size_t n);  /* scalar, n = 2..64 */
ffg_cfn ffg_leaf_v(size_t n); /* AVX2, n = 4..64: four transforms, one per complex lane */
ffg_rfn ffg_row_v(size_t n);  /* AVX2, n = 16..64: one contiguous complex row */
/* AVX2, r = 8, 16: a plan's first pass (s = 1) over m = n/r, four p's per vector */
typedef void (*ffg_pfn)(const float *restrict x, float *restrict y, const float *restrict tw,
                        size_t m);
ffg_pfn ffg_first_v(size_t r);
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
/* AVX2, n = 8..64: eight rows per register, x[j] = sample j of each row */
typedef void (*ffg_r2c_v8_fn)(const __m256 *restrict x, __m256 *restrict yr,
                              __m256 *restrict yi);
ffg_r2c_v8_fn ffg_r2c_v8(size_t n);
/* the same codelets with AVX-512VL's 32 registers (fastfft_gen_wide.c) */
ffg_cfn ffg_leaf_v_x(size_t n);
ffg_rfn ffg_row_v_x(size_t n);
ffg_pfn ffg_first_v_x(size_t n);
ffg_r2c_v8_fn ffg_r2c_v8_x(size_t n);
#endif

/* The vector codelets of a plan's path: simd is 0 (scalar), 1 (AVX2+FMA) or 2 (the
 * same with AVX-512VL's 32 registers); NULL where there is none (fastfft_small.c). */
ffg_cfn ff_leaf_v(int simd, size_t n);
ffg_rfn ff_row_v(int simd, size_t n);
ffg_pfn ff_first_v(int simd, size_t n);
/* "avx2+fma", "avx2+fma+avx512vl" or "scalar", for the record */
const char *ff_path(int simd);

typedef struct ff_stage ff_stage;
typedef void (*ff_stage_fn)(const ff_stage *st, const ffc *x, ffc *y);

/* One Stockham (decimation in frequency) pass of radix r over n = l*r*m points, where s
 * (= l) is the product of the earlier radices: for p < m, q < s,
 *   y[q + s*(r*p + k)] = W_{rm}^{pk} * sum_j x[q + s*(p + j*m)] W_r^{jk}.
 * The output is in natural order after the last pass, with no bit reversal. */
struct ff_stage {
    int r;
    size_t s, m;
    ffc *tw;        /* tw[p*(r-1) + k-1] = W_{rm}^{pk}; NULL when m == 1 (all ones) */
    float *twv;     /* AVX2 s == 1 radix-4 pass: per 4 p's, W^{pk} for k = 1..3 as
                     * one vector of 4 interleaved complex each: 24 floats a block */
    ffc *roots;     /* generic odd radix: W_r^j, j < r */
    ffg_cfn cl;     /* a leaf: the last passes as one codelet of r = n/s points (m = 1) */
    ffg_pfn pc;     /* a generated first pass (s = 1), its twiddles in twv */
    ff_stage_fn fn;
};

enum ff_kind { FF_STAGES, FF_REAL, FF_BLUESTEIN, FF_WHOLE };

struct fastfft_plan {
    size_t n;
    int real, kind, simd; /* simd: 0 scalar, 1 AVX2+FMA, 2 with AVX-512VL registers */
    size_t work; /* floats */
    /* FF_STAGES */
    int nstages;
    ff_stage *st;
    /* FF_REAL (even n: n/2-point complex FFT of the packed input, then post-processing)
     * and odd real n (the complex FFT of the input as complex): inner plan */
    fastfft_plan *inner;
    ffc *rtw; /* FF_REAL: A_k = (1 - i W_n^k)/2, k < n/2; B_k = conj of (1 + ...) below */
    /* FF_BLUESTEIN: inner is the m-point power-of-two plan */
    size_t bm;
    ffc *chirp;  /* e^{-pi i j^2/n}, j < n */
    ffc *bfft;   /* FFT of the conjugate chirp, wrapped to m and scaled by 1/m */
    /* FF_WHOLE: the transform is one straight-line codelet (real n <= 64 and, with
     * AVX2, complex n = 16..64, powers of two) */
    ffg_rfn whole;
    int rows8; /* real n = 8..64 with AVX2: fastfft_exec_rows takes 8 rows per vector */
    int rows4; /* complex n = 16..64 with AVX2: fastfft_exec_rows takes 4 rows per vector */
    char desc[128];
};

/* Floats rounded up to a 64-byte multiple, so each slice of the work buffer stays
 * aligned as the caller's is. */
static inline size_t ff_round64(size_t floats)
{
    return (floats + 15) & ~(size_t)15;
}

/* fastfft_scalar.c: portable passes for every radix. */
void ff_pass_scalar(const ff_stage *st, const ffc *x, ffc *y);

/* fastfft_avx2.c: NULL when there is no AVX2 kernel for the stage's shape. */
ff_stage_fn ff_pick_avx2(const ff_stage *st);
int ff_cpu_has_avx2(void);
int ff_cpu_has_avx512vl(void);

/* fastfft_real.c */
void ff_real_post_scalar(const ffc *z, const ffc *rtw, size_t h, ffc *out);
void ff_real_post_avx2(const ffc *z, const ffc *rtw, size_t h, ffc *out);
int ff_real_tables(fastfft_plan *p);

/* fastfft_small.c: the leaf stages, and the rows of a real plan with rows8 */
void ff_leaf_scalar(const ff_stage *st, const ffc *x, ffc *y);
void ff_leaf_avx2(const ff_stage *st, const ffc *x, ffc *y);
void ff_first_avx2(const ff_stage *st, const ffc *x, ffc *y);
void ff_real_small_rows(const fastfft_plan *p, const float *in, size_t is, float *out,
                        size_t os, size_t rows, float *work);
void ff_complex_small_rows(const fastfft_plan *p, const float *in, size_t is, float *out,
                           size_t os, size_t rows, float *work);

/* fastfft_bluestein.c */
int ff_bluestein_init(fastfft_plan *p, char *why, size_t whylen);
void ff_bluestein_exec(const fastfft_plan *p, const ffc *in, ffc *out, float *work);

/* fastfft_plan.c: the complex transform of a stage plan, in -> out, scratch of 2n floats */
void ff_exec_stages(const fastfft_plan *p, const ffc *in, ffc *out, ffc *scratch);
fastfft_plan *ff_plan_complex(size_t n, int simd, char *why, size_t whylen);
/* The bytes of the plan's struct and tables, for the impl's workspace record. */
size_t ff_plan_bytes(const fastfft_plan *p);
/* An inner plan's description without its leading "path; ", for its wrapper's. */
const char *ff_desc_rest(const fastfft_plan *p);

#endif
