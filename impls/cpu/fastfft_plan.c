/* fastfft_plan.c — the planner and executor of fastfft: factors n into radices 4, 2, 3, 5
 * and 7 (Stockham passes), wraps an n/2-point plan for even real input, sends any other n
 * to Bluestein; twiddles are computed in double once per plan and stored as float. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastfft_internal.h"

#define FF_TWO_PI 6.283185307179586476925286766559005768
/* 2^27 complex points: past the ops' own limit (2^24), and every index stays far from
 * overflow in size_t arithmetic. */
#define FF_MAX_N ((size_t)1 << 27)
#define FF_MAX_STAGES 64

static void say(char *why, size_t n, const char *fmt, ...)
{
    if (why && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, n, fmt, ap);
        va_end(ap);
    }
}

static void *falloc(size_t bytes)
{
    if (bytes == 0)
        bytes = 1;
    return aligned_alloc(64, (bytes + 63) & ~(size_t)63);
}

static ffc root(size_t num, size_t den)
{
    double a = -FF_TWO_PI * (double)(num % den) / (double)den;
    return (ffc){(float)cos(a), (float)sin(a)};
}

/* Radices in pass order: 4s first (so s stays a multiple of 4 for the vector passes),
 * then 2, 3, 5, 7. Returns the count, 0 when n has another prime factor. */
static int factor(size_t n, int *rad)
{
    int k = 0;
    while (n % 4 == 0) {
        rad[k++] = 4;
        n /= 4;
    }
    static const int primes[] = {2, 3, 5, 7};
    for (int i = 0; i < 4; i++)
        while (n % (size_t)primes[i] == 0) {
            rad[k++] = primes[i];
            n /= (size_t)primes[i];
        }
    return n == 1 ? k : 0;
}

/* The last passes of a power-of-two tail become one codelet (a leaf) of up to
 * FF_LEAF_MAX points: straight-line code, no twiddle loads, one pass over the data
 * instead of several (a leaf of 64 over vectors spilled and measured slower than 32).
 * With AVX2 the leaf runs four q's per vector, so it needs s >= 4 (a first pass before
 * it); n <= 8 is one scalar codelet, too short to fill a vector. Drops the leaf's radices
 * from rad and *k; returns its size, 1 for none. */
#define FF_LEAF_MAX 32
#define FF_CODELET_MAX_N 2048
static size_t leaf_size(size_t n, const int *rad, int *k, int simd)
{
    if (n <= 64 && (n & (n - 1)) == 0 && (!simd || n <= 8)) {
        *k = 0;
        return n;
    }
    /* Beyond FF_CODELET_MAX_N leaves and wide first passes lost to radix-4 passes
     * (0.9x FFTW at 8192..65536 against 1.2-1.45x without them), most likely because
     * their r loads at a power-of-two stride n/r share too few L1 sets (a radix-4 pass
     * has 4 streams); not confirmed with counters, which this VM lacks. */
    if (n > FF_CODELET_MAX_N)
        return 1;
    size_t leaf = 1;
    int t = *k;
    while (t > 0 && (rad[t - 1] == 2 || rad[t - 1] == 4) &&
           leaf * (size_t)rad[t - 1] <= FF_LEAF_MAX &&
           n / (leaf * (size_t)rad[t - 1]) >= (simd ? 4 : 1)) {
        leaf *= (size_t)rad[t - 1];
        t--;
    }
    if (leaf < 4 || !(simd ? ff_leaf_v(simd, leaf) : ffg_dft_s(leaf)))
        return 1;
    *k = t;
    return leaf;
}

/* With AVX2, a power of two from 128 to FF_CODELET_MAX_N starts with a generated pass of
 * radix 16 (8 for 128, where 16 would leave a leaf of 8): fewer passes over the data
 * than radix 4 (radix 32 measured slower: its 32 vectors spill). 0 for none. */
static size_t first_radix(size_t n)
{
    if (n < 128 || n > FF_CODELET_MAX_N || (n & (n - 1)) != 0)
        return 0;
    return n == 128 ? 8 : 16;
}

/* The first pass's twiddles for ffg_first_v: per block of four p and per k = 1..r-1,
 * the real parts of W_n^{pk} (each twice, for the pair's two floats), then the
 * imaginary parts, so the codelet needs no shuffles to apply them. */
static int first_tables(ff_stage *st)
{
    const size_t r = (size_t)st->r, m = st->m, len = r * m;
    st->twv = falloc(m / 4 * 16 * (r - 1) * sizeof *st->twv);
    if (!st->twv)
        return -1;
    for (size_t p = 0; p < m; p++)
        for (size_t k = 1; k < r; k++) {
            float *blk = st->twv + (p / 4 * (r - 1) + k - 1) * 16;
            ffc w = root(p * k, len);
            blk[2 * (p % 4)] = blk[2 * (p % 4) + 1] = w.re;
            blk[8 + 2 * (p % 4)] = blk[8 + 2 * (p % 4) + 1] = w.im;
        }
    st->fn = ff_first_avx2;
    return 0;
}

static int stage_tables(ff_stage *st, int simd)
{
    if (st->pc)
        return first_tables(st);
    const int r = st->r;
    const size_t m = st->m, len = (size_t)r * m;

    if (m > 1) {
        st->tw = falloc(m * (size_t)(r - 1) * sizeof *st->tw);
        if (!st->tw)
            return -1;
        for (size_t p = 0; p < m; p++)
            for (int k = 1; k < r; k++)
                st->tw[p * (size_t)(r - 1) + (size_t)k - 1] = root(p * (size_t)k, len);
    }
    if (simd && st->s == 1 && r == 4 && m >= 4) {
        /* full blocks of four p's only: pass_p4 does the last m % 4 one at a time */
        st->twv = falloc(m / 4 * 24 * sizeof *st->twv);
        if (!st->twv)
            return -1;
        for (size_t p = 0; p < m / 4 * 4; p++) {
            float *blk = st->twv + p / 4 * 24;
            for (int k = 1; k < 4; k++) {
                ffc w = st->tw[p * 3 + (size_t)k - 1];
                blk[8 * (k - 1) + 2 * (p % 4)] = w.re;
                blk[8 * (k - 1) + 2 * (p % 4) + 1] = w.im;
            }
        }
    }
    if (r > 5) {
        st->roots = falloc((size_t)r * sizeof *st->roots);
        if (!st->roots)
            return -1;
        for (int j = 0; j < r; j++)
            st->roots[j] = root((size_t)j, (size_t)r);
    }
    st->fn = simd ? ff_pick_avx2(st) : NULL;
    if (!st->fn)
        st->fn = ff_pass_scalar;
    return 0;
}

static void describe_stages(fastfft_plan *p, const char *prefix)
{
    if (p->nstages == 1 && p->st[0].cl) {
        snprintf(p->desc, sizeof p->desc, "%s%s; codelet %d", ff_path(p->simd), prefix,
                 p->st[0].r);
        return;
    }
    size_t o = (size_t)snprintf(p->desc, sizeof p->desc, "%s%s; radix ", ff_path(p->simd),
                                prefix);
    for (int i = 0; i < p->nstages && o < sizeof p->desc; i++)
        o += (size_t)snprintf(p->desc + o, sizeof p->desc - o, "%s%d",
                              p->st[i].cl ? (i ? " + codelet " : "codelet ") : i ? "x" : "",
                              p->st[i].r);
    if (o < sizeof p->desc)
        snprintf(p->desc + o, sizeof p->desc - o, "%s", p->nstages ? " stockham" : "1");
}

/* A complex plan made of Stockham passes, or Bluestein when n has a factor above 7. */
fastfft_plan *ff_plan_complex(size_t n, int simd, char *why, size_t whylen)
{
    int rad[FF_MAX_STAGES];
    fastfft_plan *p = calloc(1, sizeof *p);
    if (!p) {
        say(why, whylen, "fastfft: out of memory planning n=%zu", n);
        return NULL;
    }
    p->n = n;
    p->simd = simd;
    if (simd && ff_row_v(simd, n)) {
        /* 16, 32, 64 with AVX2: one straight-line codelet, no passes */
        p->kind = FF_WHOLE;
        p->whole = ff_row_v(simd, n);
        snprintf(p->desc, sizeof p->desc, "%s; codelet %zu", ff_path(simd), n);
        return p;
    }
    int k = n == 1 ? 0 : factor(n, rad);
    size_t r1 = simd ? first_radix(n) : 0;
    if (r1) {
        /* a generated first pass of radix r1, then n/r1's own passes */
        rad[0] = (int)r1;
        k = 1 + factor(n / r1, rad + 1);
    }
    if (n > 1 && k == 0) {
        p->kind = FF_BLUESTEIN;
        if (ff_bluestein_init(p, why, whylen) < 0) {
            fastfft_free(p);
            return NULL;
        }
        return p;
    }
    p->kind = FF_STAGES;
    size_t leaf = leaf_size(n, rad, &k, simd);
    p->nstages = k + (leaf > 1);
    p->st = calloc((size_t)(p->nstages ? p->nstages : 1), sizeof *p->st);
    if (!p->st)
        goto oom;
    size_t s = 1;
    for (int i = 0; i < k; i++) {
        ff_stage *st = &p->st[i];
        st->r = rad[i];
        st->s = s;
        st->m = n / s / (size_t)rad[i];
        st->pc = i == 0 && r1 ? ff_first_v(simd, r1) : NULL;
        if (stage_tables(st, simd) < 0)
            goto oom;
        s *= (size_t)rad[i];
    }
    if (leaf > 1) {
        ff_stage *st = &p->st[k];
        st->r = (int)leaf;
        st->s = s;
        st->m = 1;
        st->cl = simd && s % 4 == 0 ? ff_leaf_v(simd, leaf) : ffg_dft_s(leaf);
        st->fn = simd && s % 4 == 0 ? ff_leaf_avx2 : ff_leaf_scalar;
    }
    k = p->nstages;
    p->work = k > 1 ? 2 * n : 0;
    describe_stages(p, "");
    return p;
oom:
    say(why, whylen, "fastfft: out of memory for the tables of n=%zu", n);
    fastfft_free(p);
    return NULL;
}

/* Passes alternate between scratch and out, arranged so that the last lands in out. */
void ff_exec_stages(const fastfft_plan *p, const ffc *in, ffc *out, ffc *scratch)
{
    const int k = p->nstages;
    if (k == 0) {
        out[0] = in[0];
        return;
    }
    const ffc *src = in;
    for (int i = 0; i < k; i++) {
        ffc *dst = (k - 1 - i) % 2 == 0 ? out : scratch;
        p->st[i].fn(&p->st[i], src, dst);
        src = dst;
    }
}

fastfft_plan *fastfft_plan_new(size_t n, int real, char *why, size_t whylen)
{
    if (n < 1 || n > FF_MAX_N) {
        say(why, whylen, "fastfft: n=%zu out of range (1..%zu)", n, FF_MAX_N);
        return NULL;
    }
    const char *env = getenv("SONO_FASTFFT_SCALAR");
    int simd = ff_cpu_has_avx2() && !(env && env[0] == '1');
    /* AVX-512VL: the AVX2 codelets compiled with 32 registers; SONO_FASTFFT_NO512=1
     * keeps 16, so the tests can check both builds of them */
    const char *no512 = getenv("SONO_FASTFFT_NO512");
    if (simd && ff_cpu_has_avx512vl() && !(no512 && no512[0] == '1'))
        simd = 2;
    if (!real) {
        fastfft_plan *c = ff_plan_complex(n, simd, why, whylen);
        /* Batches of four rows per vector through one codelet over vectors: measured
         * slower than a row codelet at every n it serves (its 4x4 transposes in and out
         * cost more shuffles than the row codelet's one transpose), so only on request,
         * to measure it again (SONO_FASTFFT_ROWS4=1). */
        const char *r4 = getenv("SONO_FASTFFT_ROWS4");
        if (c && c->kind == FF_WHOLE && r4 && r4[0] == '1' && ff_leaf_v(simd, n)) {
            c->rows4 = 1;
            size_t o = strlen(c->desc);
            snprintf(c->desc + o, sizeof c->desc - o, ", 4 rows per vector in batches");
        }
        return c;
    }

    fastfft_plan *p = calloc(1, sizeof *p);
    if (!p) {
        say(why, whylen, "fastfft: out of memory planning n=%zu", n);
        return NULL;
    }
    p->n = n;
    p->real = 1;
    p->simd = simd;
    /* Powers of two up to 64: with AVX2, batches of eight rows through a vector codelet
     * (rows8, n >= 8); a lone row, and every row of the portable path, through a
     * straight-line scalar codelet where that beats the vector complex transform below
     * (n <= 16 with AVX2: at 32 and 64 the scalar codelet's 200-700 flops lose to it). */
    int pow2_small = n >= 2 && n <= 64 && (n & (n - 1)) == 0;
    p->rows8 = simd && pow2_small && n >= 8;
    if (pow2_small && (!simd || n <= 16)) {
        p->kind = FF_WHOLE;
        p->whole = ffg_r2c_s(n);
        snprintf(p->desc, sizeof p->desc, "%s; real codelet %zu%s", ff_path(simd), n,
                 p->rows8 ? ", 8 rows per vector in batches" : "");
        return p;
    }
    p->kind = FF_REAL;
    /* Odd n: the complex transform of the input widened to complex. */
    size_t inner = n % 2 == 0 ? n / 2 : n;
    p->inner = ff_plan_complex(inner, simd, why, whylen);
    if (!p->inner) {
        fastfft_free(p);
        return NULL;
    }
    if (n % 2 == 0 && ff_real_tables(p) < 0) {
        say(why, whylen, "fastfft: out of memory for the tables of n=%zu", n);
        fastfft_free(p);
        return NULL;
    }
    /* even: Z (n/2 complex) + inner scratch; odd: input as complex, output as complex */
    p->work = (n % 2 == 0 ? ff_round64(n) : 2 * ff_round64(2 * n)) + p->inner->work;
    snprintf(p->desc, sizeof p->desc, "%s; real %s, %s%s", ff_path(simd),
             n % 2 == 0 ? "n/2 packed" : "as complex", ff_desc_rest(p->inner),
             p->rows8 ? "; real codelet, 8 rows per vector in batches" : "");
    return p;
}

size_t fastfft_work_floats(const fastfft_plan *p)
{
    return p->work;
}

void fastfft_exec(const fastfft_plan *p, const float *in, float *out, float *work)
{
    const size_t n = p->n;
    if (p->kind == FF_STAGES) {
        ff_exec_stages(p, (const ffc *)in, (ffc *)out, (ffc *)work);
        return;
    }
    if (p->kind == FF_WHOLE) {
        p->whole(in, out);
        return;
    }
    if (p->kind == FF_BLUESTEIN) {
        ff_bluestein_exec(p, (const ffc *)in, (ffc *)out, work);
        return;
    }
    if (n % 2 == 1) {
        ffc *x = (ffc *)work, *y = (ffc *)(work + ff_round64(2 * n));
        float *rest = work + ff_round64(2 * n) + ff_round64(2 * n);
        for (size_t j = 0; j < n; j++)
            x[j] = (ffc){in[j], 0.0f};
        fastfft_exec(p->inner, (const float *)x, (float *)y, rest);
        memcpy(out, y, (n / 2 + 1) * sizeof(ffc));
        return;
    }
    const size_t h = n / 2;
    ffc *z = (ffc *)work;
    fastfft_exec(p->inner, in, (float *)z, work + ff_round64(n));
    if (p->simd)
        ff_real_post_avx2(z, p->rtw, h, (ffc *)out);
    else
        ff_real_post_scalar(z, p->rtw, h, (ffc *)out);
}

void fastfft_exec_rows(const fastfft_plan *p, const float *in, size_t is, float *out,
                       size_t os, size_t rows, float *work)
{
    if (p->rows8 && rows >= 8) {
        ff_real_small_rows(p, in, is, out, os, rows, work);
        return;
    }
    if (p->rows4 && rows >= 4) {
        ff_complex_small_rows(p, in, is, out, os, rows, work);
        return;
    }
    if (p->kind == FF_WHOLE) {
        for (size_t b = 0; b < rows; b++)
            p->whole(in + b * is, out + b * os);
        return;
    }
    for (size_t b = 0; b < rows; b++)
        fastfft_exec(p, in + b * is, out + b * os, work);
}

size_t ff_plan_bytes(const fastfft_plan *p)
{
    if (!p)
        return 0;
    size_t b = sizeof *p + (size_t)p->nstages * sizeof *p->st + ff_plan_bytes(p->inner);
    for (int i = 0; i < p->nstages; i++) {
        const ff_stage *st = &p->st[i];
        if (st->tw)
            b += st->m * (size_t)(st->r - 1) * sizeof(ffc);
        if (st->twv)
            b += st->m / 4 * (st->pc ? 16 * (size_t)(st->r - 1) : 24) * sizeof(float);
        if (st->roots)
            b += (size_t)st->r * sizeof(ffc);
    }
    if (p->rtw)
        b += 2 * (p->n / 2 + 1) * sizeof(ffc);
    if (p->chirp)
        b += p->n * sizeof(ffc) + p->bm * sizeof(ffc);
    return b;
}

const char *ff_desc_rest(const fastfft_plan *p)
{
    const char *d = strstr(p->desc, "; ");
    return d ? d + 2 : p->desc;
}

const char *fastfft_describe(const fastfft_plan *p)
{
    return p->desc;
}

void fastfft_free(fastfft_plan *p)
{
    if (!p)
        return;
    for (int i = 0; p->st && i < p->nstages; i++) {
        free(p->st[i].tw);
        free(p->st[i].twv);
        free(p->st[i].roots);
    }
    free(p->st);
    fastfft_free(p->inner);
    free(p->rtw);
    free(p->chirp);
    free(p->bfft);
    free(p);
}
