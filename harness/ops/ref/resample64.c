/* resample64.c — the resample op's float64 reference (direct windowed-sinc interpolation)
 * and the measures its check and quality hook use (in-band error, sweep attenuation and
 * ripple). Nothing here is shared with an impl. */
#include <math.h>
#include <stdlib.h>

#include "dft64.h"
#include "resample64.h"

static double bessel_i0(double x)
{
    double sum = 1, term = 1, q = x * x / 4;
    for (int k = 1; k < 200 && term > 1e-17 * sum; k++) {
        term *= q / ((double)k * k);
        sum += term;
    }
    return sum;
}

/* Kaiser's formulas (Oppenheim & Schafer 7.2.4): beta for the attenuation, and the length
 * for a transition of dw radians per input sample. */
static double kaiser_beta(double a)
{
    return a > 50 ? 0.1102 * (a - 8.7) : 0.5842 * pow(a - 21, 0.4) + 0.07886 * (a - 21);
}

int sono_resample64(const float *x, long long n_in, double rate_in, double *y,
                    long long n_out, double rate_out)
{
    double fl = 0.5 * fmin(rate_in, rate_out);
    double fc = 0.5 * (1 + RS64_PASS) * fl / rate_in;  /* cycles per input sample */
    double dw = 2 * M_PI * (1 - RS64_PASS) * fl / rate_in;
    double beta = kaiser_beta(RS64_ATTEN_DB);
    double half = ceil((RS64_ATTEN_DB - 7.95) / (2.285 * dw) / 2); /* input samples */
    double i0b = bessel_i0(beta);
    for (long long j = 0; j < n_out; j++) {
        /* j * rate_in is an exact integer in double, so t is correctly rounded */
        double t = (double)j * rate_in / rate_out;
        long long lo = (long long)ceil(t - half), hi = (long long)floor(t + half);
        if (lo < 0)
            lo = 0;
        if (hi > n_in - 1)
            hi = n_in - 1;
        double acc = 0;
        for (long long i = lo; i <= hi; i++) {
            double d = t - (double)i, u = d / half;
            double s = d == 0 ? 2 * fc : sin(2 * M_PI * fc * d) / (M_PI * d);
            acc += x[i] * s * bessel_i0(beta * sqrt(fmax(0, 1 - u * u))) / i0b;
        }
        y[j] = acc;
    }
    return 0;
}

long long sono_resample64_edge(double rate_out)
{
    return (long long)ceil(0.05 * rate_out);
}

/* The largest 2^a 3^b 5^c <= n: a length the mixed-radix DFT takes in O(n log n). */
static long long smooth_below(long long n)
{
    long long best = 1;
    for (long long a = 1; a <= n; a *= 2)
        for (long long b = a; b <= n; b *= 3)
            for (long long c = b; c <= n; c *= 5)
                if (c > best)
                    best = c;
    return best;
}

double sono_resample64_band_err(const float *out, const double *ref, long long n,
                                double rate_out, double fl, double band_frac, int *ok)
{
    long long e = sono_resample64_edge(rate_out);
    long long m = n - 2 * e > 0 ? smooth_below(n - 2 * e) : 0;
    *ok = 1;
    if (m < 16)
        return 0;
    double *a = malloc(sizeof *a * 2 * (size_t)m), *b = malloc(sizeof *b * 2 * (size_t)m);
    double *fa = malloc(sizeof *fa * 2 * (size_t)m), *fb = malloc(sizeof *fb * 2 * (size_t)m);
    double num = 0, den = 0;
    if (!a || !b || !fa || !fb) {
        *ok = 0;
        goto done;
    }
    long long s = e + (n - 2 * e - m) / 2; /* the segment sits in the middle */
    for (long long i = 0; i < m; i++) {
        double w = 0.5 - 0.5 * cos(2 * M_PI * (double)i / (double)m);
        a[2 * i] = w * ((double)out[s + i] - ref[s + i]);
        b[2 * i] = w * ref[s + i];
        a[2 * i + 1] = b[2 * i + 1] = 0;
    }
    if (sono_dft64(a, fa, m, 1) || sono_dft64(b, fb, m, 1)) {
        *ok = 0;
        goto done;
    }
    long long kmax = (long long)floor(band_frac * fl * (double)m / rate_out);
    for (long long k = 0; k <= kmax && k <= m / 2; k++) {
        double wgt = k == 0 || 2 * k == m ? 1 : 2; /* both halves of a real spectrum */
        num += wgt * (fa[2 * k] * fa[2 * k] + fa[2 * k + 1] * fa[2 * k + 1]);
        den += wgt * (fb[2 * k] * fb[2 * k] + fb[2 * k + 1] * fb[2 * k + 1]);
    }
done:
    free(a);
    free(b);
    free(fa);
    free(fb);
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* Power spectrum of a Kaiser(20)-windowed frame: p[k] for k = 0..len/2, scaled so that a
 * sinusoid of amplitude A sums to A^2 / 2 over its bins. */
static int frame_power(const float *x, long long len, double *buf, double *spec, double *p)
{
    double i0b = bessel_i0(20), ww = 0;
    for (long long i = 0; i < len; i++) {
        double u = 2.0 * (double)i / (double)(len - 1) - 1;
        double w = bessel_i0(20 * sqrt(fmax(0, 1 - u * u))) / i0b;
        buf[2 * i] = w * x[i];
        buf[2 * i + 1] = 0;
        ww += w * w;
    }
    if (sono_dft64(buf, spec, len, 1))
        return -1;
    for (long long k = 0; k <= len / 2; k++) {
        double wgt = k == 0 || 2 * k == len ? 1 : 2;
        p[k] = wgt * (spec[2 * k] * spec[2 * k] + spec[2 * k + 1] * spec[2 * k + 1]) /
               ((double)len * ww);
    }
    return 0;
}

int sono_resample64_sweep(const float *x, long long n_in, double rate_in, const float *y,
                          long long n_out, double rate_out, double *stop_db,
                          double *ripple_db)
{
    long long lo = 1;
    while (lo * 2 <= (long long)(0.064 * rate_out))
        lo *= 2; /* output frame: a power of two near 64 ms */
    long long li = llround((double)lo * rate_in / rate_out);
    double fl = 0.5 * fmin(rate_in, rate_out), bin = rate_in / (double)li;
    long long edge = sono_resample64_edge(rate_out);
    size_t big = (size_t)(li > lo ? li : lo) + 1;
    double *buf = malloc(sizeof *buf * 2 * big), *spec = malloc(sizeof *spec * 2 * big);
    double *pi = malloc(sizeof *pi * big), *po = malloc(sizeof *po * big);
    int rc = buf && spec && pi && po ? 0 : -1;
    long long frames = 0, tonal = 0, npass = 0, nstop = 0;
    double gmin = INFINITY, gmax = -INFINITY, pass_pow = 0, leak = 0;
    for (long long s = edge; !rc && s + lo <= n_out - edge; s += lo / 2) {
        long long si = llround((double)s * rate_in / rate_out);
        if (si + li > n_in)
            break;
        if (frame_power(x + si, li, buf, spec, pi) || frame_power(y + s, lo, buf, spec, po)) {
            rc = -1;
            break;
        }
        frames++;
        long long kp = 0;
        double tot = 0;
        for (long long k = 0; k <= li / 2; k++) {
            tot += pi[k];
            if (pi[k] > pi[kp])
                kp = k;
        }
        /* the tone's extent: every input bin within 130 dB of the peak, contiguous */
        long long a = kp, b = kp;
        while (a > 0 && pi[a - 1] > 1e-13 * pi[kp])
            a--;
        while (b < li / 2 && pi[b + 1] > 1e-13 * pi[kp])
            b++;
        /* one tone: the bins within 40 dB of the peak (a sweep smears it over a few
         * dozen) are contiguous, narrow and hold 99 % of the frame's power */
        long long a2 = kp, b2 = kp;
        while (a2 > 0 && pi[a2 - 1] > 1e-4 * pi[kp])
            a2--;
        while (b2 < li / 2 && pi[b2 + 1] > 1e-4 * pi[kp])
            b2++;
        double near = 0, core = 0;
        for (long long k = a; k <= b; k++) {
            near += pi[k];
            core += k >= a2 && k <= b2 ? pi[k] : 0;
        }
        if (tot <= 0 || core < 0.99 * tot || b2 - a2 > li / 16)
            continue; /* not a single tone */
        tonal++;
        double f = (double)kp * bin, flo = ((double)a - 3) * bin, fhi = ((double)b + 3) * bin;
        double in_tone = 0, out_tone = 0, out_else = 0, obin = rate_out / (double)lo;
        for (long long k = 0; k <= lo / 2; k++) {
            double fk = (double)k * obin;
            if (fk >= flo && fk <= fhi)
                out_tone += po[k];
            else
                out_else += po[k];
        }
        in_tone = near;
        leak = fmax(leak, out_else); /* stray power, the worst frame's */
        /* a tone of a few cycles a frame meets its own negative frequency in the window:
         * its windowed power wobbles, so gains are read from 16 bins up */
        if (f < RS64_PASS * fl && kp >= 16) {
            double g = 10 * log10(out_tone / in_tone);
            gmin = fmin(gmin, g);
            gmax = fmax(gmax, g);
            pass_pow += out_tone;
            npass++;
        } else if (flo > fl) {
            leak = fmax(leak, out_tone + out_else); /* nothing belongs here at all */
            nstop++;
        }
    }
    free(buf);
    free(spec);
    free(pi);
    free(po);
    if (rc)
        return -1;
    /* downsampling with no tone above fL seen (a sweep too fast for 64 ms frames) would
     * report the passband's leakage alone: not measured rather than flattering */
    if (frames == 0 || tonal < 0.5 * (double)frames || npass == 0 ||
        (rate_in > rate_out && nstop == 0))
        return 0;
    double floor = 1e-30; /* a perfect output leaks nothing: report the float64 limit */
    *stop_db = 10 * log10(pass_pow / (double)npass / fmax(leak, floor));
    *ripple_db = gmax - gmin;
    return 1;
}
