/* polyphase.c — impl cpu/polyphase of resample, in two stages as soxr does (issue 28):
 * 1. the sharp low-pass at U times the input rate (U = 2 when the input's Nyquist is too
 *    close to the lower Nyquist fL): pass to 0.9 fL, stop from fL, RS_ATTEN_DB, by FFT
 *    overlap-save (fastfft.h), two blocks per complex FFT (one in re, one in im); the
 *    zero-stuffing by U is done in the frequency domain (the input's N/U-point spectrum
 *    repeated U times) and the decimation by D too (the product folded to N/D bins
 *    before the inverse), so the signal leaves at fs2 = U rate_in / D >= 2.5 fL or at
 *    rate_out;
 * 2. a polyphase FIR from fs2 to rate_out (none where fs2 = rate_out): the signal has
 *    nothing above fL left and its images start at fs2 - fL, so a short filter (pass to
 *    fL, stop from fs2 - fL) suffices, L/M phases of its taps contiguous, zero-padded to
 *    a multiple of 8, AVX2+FMA dot products where the CPU has them. */
#include <math.h>
#include <string.h>

#include "cpu_impls.h"
#include "fastfft.h"
#include "rs_design.h"

#define POLY_MAX_PHASES 4096

typedef struct poly {
    long long n_in, n_out, ri, ro;
    /* stage 1 */
    int U, D;
    long long K1;            /* the low-pass has 2 K1 + 1 taps; K1 a multiple of U D */
    size_t N, Nf, Nd, q0, Bd; /* N at U rate_in; forward N/U, inverse N/D; per block,
                               * decimated outputs q0 .. q0 + Bd - 1 are kept */
    fastfft_plan *fwd, *inv;
    float *H;                /* N complex: the low-pass's spectrum / N */
    float *fb, *gb, *work;   /* N complex, N/D complex, scratch */
    float *x1;               /* K1 / U zeros, the input, zeros to the last block */
    size_t nx1;
    long long nblocks;
    /* stage 2 */
    long long L, M, K2, taps; /* taps: 2 K2 rounded up to a multiple of 8 */
    float *coef;              /* L * taps, phase-major */
    float *y2;                /* K2 zeros, nblocks * Bd samples at fs2, taps zeros */
    long long n2;
    const float *in;
    float *out;
    int avx2;
    double fs2;
} poly;

static long long gcd(long long a, long long b)
{
    while (b) {
        long long t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* The stage plan: U, D and stage 2's L/M for these rates. */
static void plan_rates(long long ri, long long ro, int *U, int *D, long long *L, long long *M)
{
    double fl = 0.5 * (double)(ri < ro ? ri : ro);
    *U = (double)ri < 2.5 * fl ? 2 : 1;
    long long r1 = (long long)*U * ri;
    if (r1 % ro == 0)
        *D = (int)(r1 / ro); /* straight to rate_out: no stage 2 */
    else {
        long long d = (long long)floor((double)r1 / (2.5 * fl));
        *D = d < 1 ? 1 : d > 64 ? 64 : (int)d;
    }
    long long g = gcd(ro * *D, r1);
    *L = ro * *D / g;
    *M = r1 / g;
}

int poly_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    long long ri = sono_param_int(p, "rate_in", 44100), ro = sono_param_int(p, "rate_out", 16000);
    if (sono_param_int(p, "threads", 1) != 1) {
        snprintf(why, n, "single-threaded (threads=1 only)");
        return SONO_EUNSUPPORTED;
    }
    int U, D;
    long long L, M;
    plan_rates(ri, ro, &U, &D, &L, &M);
    if (L > POLY_MAX_PHASES) {
        snprintf(why, n, "%lld -> %lld Hz needs %lld phases after the first stage; at most %d",
                 ri, ro, L, POLY_MAX_PHASES);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

void poly_teardown(void *vst)
{
    poly *st = vst;
    if (!st)
        return;
    if (st->fwd)
        fastfft_free(st->fwd);
    if (st->inv)
        fastfft_free(st->inv);
    free(st->H);
    free(st->fb);
    free(st->gb);
    free(st->work);
    free(st->x1);
    free(st->coef);
    free(st->y2);
    free(st->out);
    free(st);
}

/* Past this many products the direct DFT below would take seconds (ratios of 20 and more,
 * e.g. 384 -> 8 kHz: 2 10^4 taps, N = 2 10^5): H then comes from a float FFT, its stop band
 * limited near -110 dB by float rounding (said in describe). */
#define RS_DIRECT_MAX 1e8

/* H from the float taps by a float FFT of N points (the fallback above). */
static int stage1_spectrum_fft(poly *st, const double *h, size_t T)
{
    const size_t N = st->N;
    char why[128];
    fastfft_plan *pl = fastfft_plan_new(N, 0, why, sizeof why);
    float *z = amalloc(2 * N * sizeof(float));
    float *w = pl ? amalloc((fastfft_work_floats(pl) + 1) * sizeof(float)) : NULL;
    if (!pl || !z || !w) {
        if (pl)
            fastfft_free(pl);
        free(z);
        free(w);
        return -1;
    }
    memset(z, 0, 2 * N * sizeof(float));
    for (size_t t = 0; t < T; t++)
        z[2 * t] = (float)(h[t] / (double)N);
    fastfft_exec(pl, z, st->H, w);
    fastfft_free(pl);
    free(z);
    free(w);
    return 0;
}

/* H = DFT_N of the low-pass (taps at 0..2K1), over N: in double from a table of the N
 * roots, so its stop band is not limited by float rounding of a float FFT. */
static int stage1_spectrum(poly *st, double fc, double beta)
{
    const size_t N = st->N, T = (size_t)(2 * st->K1 + 1);
    double *h = malloc(T * sizeof *h), *c = malloc(N * sizeof *c), *s = malloc(N * sizeof *s);
    if (!h || !c || !s) {
        free(h);
        free(c);
        free(s);
        return -1;
    }
    for (size_t t = 0; t < T; t++)
        h[t] = rs_tap((double)t - (double)st->K1, fc, st->K1, beta, st->U);
    if ((double)N * (double)T > RS_DIRECT_MAX) {
        int rc = stage1_spectrum_fft(st, h, T);
        free(h);
        free(c);
        free(s);
        return rc;
    }
    for (size_t k = 0; k < N; k++) {
        c[k] = cos(TWO_PI * (double)k / (double)N);
        s[k] = -sin(TWO_PI * (double)k / (double)N);
    }
    for (size_t k = 0; k < N; k++) {
        double re = 0, im = 0;
        size_t idx = 0;
        for (size_t t = 0; t < T; t++) {
            re += h[t] * c[idx];
            im += h[t] * s[idx];
            idx += k;
            idx = idx >= N ? idx % N : idx;
        }
        st->H[2 * k] = (float)(re / (double)N);
        st->H[2 * k + 1] = (float)(im / (double)N);
    }
    free(h);
    free(c);
    free(s);
    return 0;
}

static size_t pow2_at_least(size_t v)
{
    size_t p = 1;
    while (p < v)
        p *= 2;
    return p;
}

int poly_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[128];
    *stp = NULL;
    if (poly_supports(ctx, p, why, sizeof why))
        return sono_fail(err, SONO_EUNSUPPORTED, "%s", why);
    long long ri = sono_param_int(p, "rate_in", 44100), ro = sono_param_int(p, "rate_out", 16000);
    poly *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cpu/polyphase: no memory for its state");
    st->ri = ri;
    st->ro = ro;
    st->n_in = llround(sono_param_real(p, "seconds", 10) * (double)ri);
    st->n_out = st->n_in * ro / ri;
    plan_rates(ri, ro, &st->U, &st->D, &st->L, &st->M);
    const double fl = 0.5 * (double)(ri < ro ? ri : ro), beta = rs_kaiser_beta(RS_ATTEN_DB);
    const double r1 = (double)st->U * (double)ri;
    st->fs2 = r1 / st->D;

    /* stage 1: pass to 0.9 fL, stop from fL, at rate r1 */
    long long K1 = rs_kaiser_half(RS_ATTEN_DB, TWO_PI * (1 - RS_PASS) * fl / r1);
    /* blocks start on an input sample: K1 and the step Bd D are multiples of U */
    const long long ud = (long long)st->U * st->D;
    st->K1 = (K1 + ud - 1) / ud * ud;
    st->Nd = pow2_at_least((size_t)(16 * (2 * st->K1 + 1) / st->D));
    st->Nd = st->Nd < 1024 ? 1024 : st->Nd;
    st->N = st->Nd * (size_t)st->D;
    st->Nf = st->N / (size_t)st->U;
    st->q0 = (size_t)(2 * st->K1 / st->D);
    st->Bd = (st->Nd - st->q0) / (size_t)st->U * (size_t)st->U;

    /* stage 2: pass to fL, stop from fs2 - fL, at rate fs2 */
    int two = st->L != 1 || st->M != 1;
    st->K2 = two ? rs_kaiser_half(RS_ATTEN_DB, TWO_PI * (st->fs2 - 2 * fl) / st->fs2) : 0;
    st->taps = (2 * st->K2 + 7) / 8 * 8;
    /* y2 up to the last output's last tap */
    st->n2 = two ? (st->n_out - 1) * st->M / st->L + st->K2 + 2 : st->n_out;
    st->nblocks = (st->n2 + (long long)st->Bd - 1) / (long long)st->Bd;
    st->nblocks += st->nblocks % 2; /* whole pairs */
    st->nx1 = ((size_t)st->nblocks * st->Bd * (size_t)st->D + st->N) / (size_t)st->U;

    st->fwd = fastfft_plan_new(st->Nf, 0, why, sizeof why);
    st->inv = st->fwd ? fastfft_plan_new(st->Nd, 0, why, sizeof why) : NULL;
    size_t nw = 0;
    if (st->fwd && st->inv) {
        nw = fastfft_work_floats(st->fwd);
        nw = fastfft_work_floats(st->inv) > nw ? fastfft_work_floats(st->inv) : nw;
    }
    st->H = amalloc(2 * st->N * sizeof(float));
    st->fb = amalloc(4 * st->N * sizeof(float)); /* the spectrum, then the folded one */
    st->gb = amalloc(2 * st->Nd * sizeof(float));
    st->work = amalloc((nw + 1) * sizeof(float));
    st->x1 = amalloc(st->nx1 * sizeof(float));
    st->coef = amalloc((size_t)(st->L * st->taps + 1) * sizeof(float));
    st->y2 = amalloc(((size_t)st->K2 + (size_t)st->nblocks * st->Bd + (size_t)st->taps + 1) *
                     sizeof(float));
    st->out = amalloc((size_t)st->n_out * sizeof(float));
    if (!st->fwd || !st->inv || !st->H || !st->fb || !st->gb || !st->work || !st->x1 ||
        !st->coef || !st->y2 || !st->out || stage1_spectrum(st, 0.5 * (1 + RS_PASS) * fl / r1,
                                                           beta) < 0) {
        size_t N = st->N;
        long long L = st->L, taps = st->taps;
        poly_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "cpu/polyphase: no memory for a %zu-point FFT "
                         "stage and %lld phases of %lld taps", N, L, taps);
    }
    /* stage 2's phases: output j sits at t = j M / L = base + ph / L samples of y2; tap k
     * multiplies y2[base - K2 + 1 + k], at distance d = ph / L + K2 - 1 - k from t */
    for (long long ph = 0; ph < st->L; ph++)
        for (long long k = 0; k < st->taps; k++) {
            double d = (double)ph / (double)st->L + (double)(st->K2 - 1 - k);
            st->coef[ph * st->taps + k] =
                k < 2 * st->K2 ? (float)rs_tap(d, 0.5, st->K2, beta, 1.0) : 0.0f;
        }
    /* SONO_FASTFFT_SCALAR=1 makes the FFTs scalar: the loops here follow them */
    st->avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
               strncmp(fastfft_describe(st->fwd), "scalar", 6) != 0;
    *stp = st;
    return 0;
}

int poly_load(void *vst, const sono_buf *in, sono_error *err)
{
    poly *st = vst;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != st->n_in)
        return sono_fail(err, SONO_EINVAL, "cpu/polyphase: input must be f32 [%lld]", st->n_in);
    st->in = in->data;
    return 0;
}

/* z[k] += f[k] h[k] (or =, first), n interleaved complex values. */
static void cmul_acc(const float *f, const float *h, float *z, size_t n, int first)
{
    for (size_t k = 0; k < n; k++) {
        float re = f[2 * k] * h[2 * k] - f[2 * k + 1] * h[2 * k + 1];
        float im = f[2 * k] * h[2 * k + 1] + f[2 * k + 1] * h[2 * k];
        z[2 * k] = first ? re : z[2 * k] + re;
        z[2 * k + 1] = first ? im : z[2 * k + 1] + im;
    }
}

/* Stage 2: output j at y2 position j M / L = base + ph / L; the step M / L taken without a
 * division per output. */
static void dots(poly *st)
{
    const long long taps = st->taps, ms = st->M / st->L, mp = st->M % st->L;
    long long base = 0, ph = 0;
    for (long long j = 0; j < st->n_out; j++) {
        const float *x = st->y2 + base + 1; /* y2[K2 + i] = sample i: i = base - K2 + 1 */
        const float *c = st->coef + ph * taps;
        float acc[8] = {0};
        for (long long k = 0; k < taps; k += 8)
            for (int l = 0; l < 8; l++)
                acc[l] += x[k + l] * c[k + l];
        st->out[j] = ((acc[0] + acc[4]) + (acc[1] + acc[5])) +
                     ((acc[2] + acc[6]) + (acc[3] + acc[7]));
        base += ms;
        ph += mp;
        if (ph >= st->L) {
            ph -= st->L;
            base++;
        }
    }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define AVX2_FN __attribute__((target("avx2,fma"))) static

AVX2_FN void cmul_acc_avx2(const float *f, const float *h, float *z, size_t n, int first)
{
    size_t k = 0;
    for (; k + 4 <= n; k += 4) {
        __m256 a = _mm256_loadu_ps(f + 2 * k), w = _mm256_loadu_ps(h + 2 * k);
        __m256 p = _mm256_fmaddsub_ps(a, _mm256_moveldup_ps(w),
                                      _mm256_mul_ps(_mm256_permute_ps(a, 0xB1),
                                                    _mm256_movehdup_ps(w)));
        _mm256_storeu_ps(z + 2 * k, first ? p : _mm256_add_ps(_mm256_loadu_ps(z + 2 * k), p));
    }
    cmul_acc(f + 2 * k, h + 2 * k, z + 2 * k, n - k, first);
}

/* z[2j] = a[j], z[2j + 1] = b[j], j < n */
AVX2_FN void pack_avx2(const float *a, const float *b, float *z, size_t n)
{
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 va = _mm256_loadu_ps(a + j), vb = _mm256_loadu_ps(b + j);
        __m256 lo = _mm256_unpacklo_ps(va, vb), hi = _mm256_unpackhi_ps(va, vb);
        _mm256_storeu_ps(z + 2 * j, _mm256_permute2f128_ps(lo, hi, 0x20));
        _mm256_storeu_ps(z + 2 * j + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
    }
    for (; j < n; j++) {
        z[2 * j] = a[j];
        z[2 * j + 1] = b[j];
    }
}

AVX2_FN void dots_avx2(poly *st)
{
    const long long taps = st->taps, ms = st->M / st->L, mp = st->M % st->L;
    long long base = 0, ph = 0;
    for (long long j = 0; j < st->n_out; j++) {
        const float *x = st->y2 + base + 1, *c = st->coef + ph * taps;
        __m256 a0 = _mm256_mul_ps(_mm256_loadu_ps(x), _mm256_loadu_ps(c));
        __m256 a1 = _mm256_setzero_ps();
        long long k = 8;
        for (; k + 16 <= taps; k += 16) {
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k), _mm256_loadu_ps(c + k), a1);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k + 8), _mm256_loadu_ps(c + k + 8), a0);
        }
        if (k < taps)
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k), _mm256_loadu_ps(c + k), a1);
        __m256 a = _mm256_add_ps(a0, a1);
        __m128 h = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
        h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
        st->out[j] = _mm_cvtss_f32(h);
        base += ms;
        ph += mp;
        if (ph >= st->L) {
            ph -= st->L;
            base++;
        }
    }
}
#else
static void cmul_acc_avx2(const float *f, const float *h, float *z, size_t n, int first)
{
    cmul_acc(f, h, z, n, first);
}
static void pack_avx2(const float *a, const float *b, float *z, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        z[2 * j] = a[j];
        z[2 * j + 1] = b[j];
    }
}
static void dots_avx2(poly *st)
{
    dots(st);
}
#endif

/* Blocks a and b of stage 1 (input samples from sa and sb of x1) through one complex FFT:
 * y2 gets block a's decimated outputs at ya and block b's at yb, Bd each. */
static void stage1_pair(poly *st, size_t sa, size_t sb, float *ya, float *yb)
{
    const size_t N = st->N, Nf = st->Nf, Nd = st->Nd, D = (size_t)st->D;
    float *z = st->fb + 2 * N, *g = st->gb;
    const float *xa = st->x1 + sa, *xb = st->x1 + sb;
    if (st->avx2)
        pack_avx2(xa, xb, z, Nf);
    else
        for (size_t j = 0; j < Nf; j++) {
            z[2 * j] = xa[j];
            z[2 * j + 1] = xb[j];
        }
    fastfft_exec(st->fwd, z, st->fb, st->work);
    /* The stuffed signal's spectrum is F[i mod Nf]; Y = that times H, folded to Nd bins
     * (decimation by D in time): Y[k] = sum over r of F[(k + r Nd) mod Nf] H[k + r Nd],
     * run in stretches where the index into F does not wrap. */
    const float *f = st->fb, *h = st->H;
    for (size_t r = 0; r < D; r++)
        for (size_t k = 0; k < Nd;) {
            size_t i = k + r * Nd, fi = i % Nf, len = Nf - fi < Nd - k ? Nf - fi : Nd - k;
            if (st->avx2)
                cmul_acc_avx2(f + 2 * fi, h + 2 * i, z + 2 * k, len, r == 0);
            else
                cmul_acc(f + 2 * fi, h + 2 * i, z + 2 * k, len, r == 0);
            k += len;
        }
    /* the inverse through the forward FFT: y[q] = G[(Nd - q) mod Nd], G = FFT(Y), the 1/N
     * in H; block a's outputs are y's real parts, block b's its imaginary parts */
    fastfft_exec(st->inv, z, g, st->work);
    for (size_t q = 0; q < st->Bd; q++) {
        size_t qi = (Nd - (st->q0 + q)) % Nd;
        ya[q] = g[2 * qi];
        yb[q] = g[2 * qi + 1];
    }
}

int poly_run(void *vst)
{
    poly *st = vst;
    const size_t U = (size_t)st->U, K1u = (size_t)st->K1 / U;
    memset(st->x1, 0, K1u * sizeof(float));
    memcpy(st->x1 + K1u, st->in, (size_t)st->n_in * sizeof(float));
    memset(st->x1 + K1u + st->n_in, 0, (st->nx1 - K1u - (size_t)st->n_in) * sizeof(float));
    /* stage 1 into y2 (whole pairs of blocks: past n2 it holds the filtered zeros) */
    int two = st->L != 1 || st->M != 1;
    float *y = st->y2 + st->K2;
    memset(st->y2, 0, (size_t)st->K2 * sizeof(float));
    const size_t step = st->Bd * (size_t)st->D / U; /* input samples per block */
    for (long long b = 0; b < st->nblocks; b += 2)
        stage1_pair(st, (size_t)b * step, (size_t)(b + 1) * step, y + (size_t)b * st->Bd,
                    y + (size_t)(b + 1) * st->Bd);
    memset(y + (size_t)st->nblocks * st->Bd, 0, (size_t)st->taps * sizeof(float));
    if (!two) {
        memcpy(st->out, y, (size_t)st->n_out * sizeof(float));
        return 0;
    }
    if (st->avx2)
        dots_avx2(st);
    else
        dots(st);
    return 0;
}

int poly_store(void *vst, sono_buf *out, sono_error *err)
{
    poly *st = vst;
    if (out->dtype != SONO_F32 || sono_buf_elems(out) != st->n_out)
        return sono_fail(err, SONO_EINVAL, "cpu/polyphase: output must be f32 [%lld]",
                         st->n_out);
    memcpy(out->data, st->out, (size_t)st->n_out * sizeof(float));
    return 0;
}

int poly_describe(void *vst, char *buf, size_t n)
{
    poly *st = vst;
    int two = st->L != 1 || st->M != 1;
    int o = snprintf(buf, n, "stage 1: x%d, %lld-tap low-pass by %zu-point FFT overlap-save "
                     "(two blocks per complex FFT, x%d and /%d in the frequency domain: "
                     "%zu- and %zu-point FFTs, %s); ", st->U, 2 * st->K1 + 1, st->N, st->U,
                     st->D, st->Nf, st->Nd, fastfft_describe(st->fwd));
    if (o < 0 || (size_t)o >= n)
        return o < 0;
    if (two)
        snprintf(buf + o, n - (size_t)o, "stage 2: L/M = %lld/%lld, %lld phases x %lld taps, "
                 "%s; Kaiser %.0f dB", st->L, st->M, st->L, st->taps,
                 st->avx2 ? "avx2+fma" : "sse2", RS_ATTEN_DB);
    else
        snprintf(buf + o, n - (size_t)o, "no stage 2; Kaiser %.0f dB", RS_ATTEN_DB);
    if ((double)st->N * (double)(2 * st->K1 + 1) > RS_DIRECT_MAX) {
        size_t l = strlen(buf);
        snprintf(buf + l, n - l, "; stage 1's spectrum by a float FFT (stop band ~110 dB)");
    }
    return 0;
}

size_t poly_workspace(void *vst)
{
    poly *st = vst;
    size_t floats = 2 * st->N + 4 * st->N + 2 * st->Nd + st->nx1 +
                    (size_t)(st->L * st->taps) + (size_t)st->K2 +
                    (size_t)st->nblocks * st->Bd + (size_t)st->taps +
                    (size_t)st->n_out;
    return floats * sizeof(float);
}
