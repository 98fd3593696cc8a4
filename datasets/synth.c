/* synth.c — the generators added for the audio ops: pink noise, an exponential sweep, a
 * click train and a clipped square. Same rules as signals.c: integer PRNG, phases in
 * cycles reduced with fmod, no -ffast-math, so a spec gives the same bits everywhere. */
#include "audio.h"

#ifdef __FAST_MATH__
#error "datasets/synth.c must not be built with -ffast-math"
#endif

#include <math.h>
#include <string.h>

#include "prng.h"

static const double TWO_PI = 6.283185307179586476925286766559;

enum { PINK_ROWS = 15 };

/* One Voss-McCartney stream: row k is redrawn when k is the number of trailing zero bits
 * of the sample index, so it holds its value 2^(k+1) samples; the sum of holds that double
 * octave by octave has a power spectrum close to 1/f. */
typedef struct {
    int32_t row[PINK_ROWS];
    int64_t sum; /* of the rows */
} pink_state;

static void pink_init(pink_state *p, uint64_t s[4])
{
    p->sum = 0;
    for (int k = 0; k < PINK_ROWS; k++) {
        p->row[k] = sono_draw24(s);
        p->sum += p->row[k];
    }
}

static float pink_next(pink_state *p, uint64_t s[4], long long t, double amp)
{
    if (t > 0) {
        int k = __builtin_ctzll((unsigned long long)t);
        if (k < PINK_ROWS) {
            p->sum -= p->row[k];
            p->row[k] = sono_draw24(s);
            p->sum += p->row[k];
        }
    }
    /* 16 terms in [-2^23, 2^23): |sum| < 2^27, exact in a double; one rounding by amp */
    int64_t sum = p->sum + sono_draw24(s);
    return (float)((double)sum * 0x1p-27 * amp);
}

void sono_synth_pink(float *out, long long n, int cplx, unsigned long long seed, double amp)
{
    uint64_t s[4];
    sono_xoshiro_seed(s, seed);
    pink_state re, im;
    pink_init(&re, s);
    if (cplx)
        pink_init(&im, s);
    for (long long t = 0; t < n; t++) {
        if (cplx) {
            out[2 * t] = pink_next(&re, s, t, amp);
            out[2 * t + 1] = pink_next(&im, s, t, amp);
        } else {
            out[t] = pink_next(&re, s, t, amp);
        }
    }
}

static void put(float *out, long long t, int cplx, double re, double im)
{
    if (cplx) {
        out[2 * t] = (float)re;
        out[2 * t + 1] = (float)im;
    } else {
        out[t] = (float)im;
    }
}

void sono_synth_sweep(float *out, long long n, int cplx, double rate, double amp, double f0,
                      double f1)
{
    double L = log(f1 / f0), nd = (double)n;
    /* cycles(t) = f0 T / L (exp(L t / T) - 1) with T in samples; expm1 keeps the start
     * accurate, fmod keeps the phase precise over long sweeps */
    double scale = L != 0.0 ? f0 * nd / rate / L : 0.0;
    for (long long t = 0; t < n; t++) {
        double td = (double)t;
        double cyc = L != 0.0 ? scale * expm1(L * td / nd) : f0 * td / rate;
        double ph = TWO_PI * fmod(cyc, 1.0);
        put(out, t, cplx, amp * cos(ph), amp * sin(ph));
    }
}

void sono_synth_clicks(float *out, long long n, int cplx, double rate, double period)
{
    memset(out, 0, (size_t)n * (cplx ? 2 : 1) * sizeof *out);
    double step = period * rate;
    for (long long k = 0;; k++) {
        long long t = llround((double)k * step);
        if (t >= n)
            break;
        out[cplx ? 2 * t : t] = 1.0f;
    }
}

static double clip1(double v) { return v > 1.0 ? 1.0 : v < -1.0 ? -1.0 : v; }

void sono_synth_square(float *out, long long n, int cplx, double rate, double freq)
{
    for (long long t = 0; t < n; t++) {
        double ph = TWO_PI * fmod(freq * (double)t / rate, 1.0);
        put(out, t, cplx, clip1(10.0 * cos(ph)), clip1(10.0 * sin(ph)));
    }
}
