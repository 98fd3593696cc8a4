/* stoi.c — STOI and ESTOI as pystoi 0.4.1 defines them (pystoi/stoi.py, utils.py): the
 * signal path (resample to 10 kHz, silent-frame removal by overlap-add, Hann STFT,
 * one-third octave band envelopes) and both measures, in double. See stoi.h. */
#include "stoi.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ref/dft64.h"
#include "resample_oct.h"

#define FS 10000
#define FRAME 256  /* window support */
#define HOP 128    /* 50 % overlap */
#define NFFT 512
#define NBINS (NFFT / 2 + 1)
#define NUMBAND 15
#define MINFREQ 150.0
#define SEG 30        /* frames per segment: 384 ms */
#define BETA (-15.0)  /* lower SDR bound of STOI's clipping */
#define DYN_RANGE 40.0
#define EPS DBL_EPSILON /* numpy's finfo(float).eps, pystoi's EPS */

/* numpy.hanning(FRAME + 2)[1:-1]: MATLAB's hanning(FRAME), no zero end points. */
static void hann(double *w)
{
    for (int i = 0; i < FRAME; i++)
        w[i] = 0.5 - 0.5 * cos(2 * M_PI * (double)(i + 1) / (double)(FRAME + 1));
}

/* pystoi's thirdoct: band b spans FFT bins [lo[b], hi[b]), each edge the bin nearest
 * (first on ties) to 150 * 2^((2b -+ 1) / 6) Hz. */
static void band_edges(int *lo, int *hi)
{
    for (int b = 0; b < NUMBAND; b++) {
        double fl = MINFREQ * pow(2.0, (2.0 * b - 1) / 6.0);
        double fh = MINFREQ * pow(2.0, (2.0 * b + 1) / 6.0);
        int bl = 0, bh = 0;
        double dl = INFINITY, dh = INFINITY;
        for (int k = 0; k < NBINS; k++) {
            double f = (double)k * ((double)FS / NFFT);
            if ((f - fl) * (f - fl) < dl) {
                dl = (f - fl) * (f - fl);
                bl = k;
            }
            if ((f - fh) * (f - fh) < dh) {
                dh = (f - fh) * (f - fh);
                bh = k;
            }
        }
        lo[b] = bl;
        hi[b] = bh;
    }
}

/* Frames start at 0, HOP, ... while start < n - FRAME (pystoi's range(0, n - FRAME, HOP):
 * the frame ending exactly at n is never taken). */
static long long nframes(long long n)
{
    return n > FRAME ? (n - FRAME - 1) / HOP + 1 : 0;
}

/* remove_silent_frames: frames of x whose windowed energy is within DYN_RANGE dB of the
 * loudest are kept, in both signals, and overlap-added back (windowed) into *xs, *ys of
 * *ns samples. */
static int drop_silence(const double *x, const double *y, long long n, const double *w,
                        double **xs, double **ys, long long *ns)
{
    long long K = nframes(n), kept = 0;
    double *e = malloc(sizeof *e * (size_t)(K ? K : 1));
    if (!e)
        return -1;
    double emax = -INFINITY;
    for (long long k = 0; k < K; k++) {
        double s = 0;
        for (int i = 0; i < FRAME; i++) {
            double v = w[i] * x[k * HOP + i];
            s += v * v;
        }
        e[k] = 20 * log10(sqrt(s) + EPS);
        emax = fmax(emax, e[k]);
    }
    for (long long k = 0; k < K; k++)
        kept += (emax - DYN_RANGE - e[k]) < 0;
    *ns = kept ? (kept - 1) * HOP + FRAME : 0;
    *xs = calloc((size_t)(*ns ? *ns : 1), sizeof **xs);
    *ys = calloc((size_t)(*ns ? *ns : 1), sizeof **ys);
    if (!*xs || !*ys) {
        free(e);
        return -1;
    }
    for (long long k = 0, j = 0; k < K; k++) {
        if (!((emax - DYN_RANGE - e[k]) < 0))
            continue;
        for (int i = 0; i < FRAME; i++) {
            (*xs)[j * HOP + i] += w[i] * x[k * HOP + i];
            (*ys)[j * HOP + i] += w[i] * y[k * HOP + i];
        }
        j++;
    }
    free(e);
    return 0;
}

/* One-third octave band envelopes of s (ns samples): tob[b * T + t] = sqrt of the power
 * of frame t's Hann-windowed 512-point spectrum summed over band b's bins. */
static int envelopes(const double *s, long long ns, const double *w, const int *lo,
                     const int *hi, double *tob, long long T)
{
    double *in = malloc(sizeof *in * 2 * NFFT), *out = malloc(sizeof *out * 2 * NFFT);
    if (!in || !out) {
        free(in);
        free(out);
        return -1;
    }
    (void)ns;
    for (long long t = 0; t < T; t++) {
        memset(in, 0, sizeof *in * 2 * NFFT);
        for (int i = 0; i < FRAME; i++)
            in[2 * i] = w[i] * s[t * HOP + i];
        if (sono_dft64(in, out, NFFT, 1)) {
            free(in);
            free(out);
            return -1;
        }
        for (int b = 0; b < NUMBAND; b++) {
            double p = 0;
            for (int k = lo[b]; k < hi[b]; k++)
                p += out[2 * k] * out[2 * k] + out[2 * k + 1] * out[2 * k + 1];
            tob[b * T + t] = sqrt(p);
        }
    }
    free(in);
    free(out);
    return 0;
}

static double mean(const double *v, int n, int stride)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += v[i * stride];
    return s / n;
}

/* STOI's intermediate measure of one band over one segment: y scaled to x's energy,
 * clipped to x's envelope * (1 + 10^(-BETA/20)), then the correlation coefficient. */
static double band_corr(const double *x, const double *y)
{
    double nx = 0, ny = 0, yp[SEG], xc[SEG];
    for (int t = 0; t < SEG; t++) {
        nx += x[t] * x[t];
        ny += y[t] * y[t];
    }
    double c = sqrt(nx) / (sqrt(ny) + EPS), clip = 1 + pow(10.0, -BETA / 20);
    for (int t = 0; t < SEG; t++)
        yp[t] = fmin(y[t] * c, x[t] * clip);
    double my = mean(yp, SEG, 1), mx = mean(x, SEG, 1), a = 0, b = 0, d = 0;
    for (int t = 0; t < SEG; t++) {
        yp[t] -= my;
        xc[t] = x[t] - mx;
        a += yp[t] * yp[t];
        b += xc[t] * xc[t];
    }
    a = sqrt(a) + EPS;
    b = sqrt(b) + EPS;
    for (int t = 0; t < SEG; t++)
        d += (yp[t] / a) * (xc[t] / b);
    return d;
}

/* ESTOI's row (each band over the segment's frames) then column (each frame over the
 * bands) mean and norm normalisation of one NUMBAND x SEG segment, in place. pystoi adds
 * noise of EPS size first so an all-equal row is a random unit vector; here it stays zero
 * (contributing nothing), the same to within that noise for any signal with content. */
static void row_col_normalize(double *m)
{
    for (int b = 0; b < NUMBAND; b++) {
        double *r = m + b * SEG, mu = mean(r, SEG, 1), s = 0;
        for (int t = 0; t < SEG; t++) {
            r[t] -= mu;
            s += r[t] * r[t];
        }
        s = sqrt(s);
        for (int t = 0; t < SEG; t++)
            r[t] = s > 0 ? r[t] / s : 0;
    }
    for (int t = 0; t < SEG; t++) {
        double mu = mean(m + t, NUMBAND, SEG), s = 0;
        for (int b = 0; b < NUMBAND; b++) {
            m[b * SEG + t] -= mu;
            s += m[b * SEG + t] * m[b * SEG + t];
        }
        s = sqrt(s);
        for (int b = 0; b < NUMBAND; b++)
            m[b * SEG + t] = s > 0 ? m[b * SEG + t] / s : 0;
    }
}

/* Both measures from the envelopes xt, yt [NUMBAND][T], T >= SEG: segments end at frames
 * SEG..T, J = T - SEG + 1 of them. */
static void measures(const double *xt, const double *yt, long long T, double *stoi,
                     double *estoi)
{
    long long J = T - SEG + 1;
    double s = 0, e = 0, xs[NUMBAND * SEG], ys[NUMBAND * SEG];
    for (long long j = 0; j < J; j++) {
        for (int b = 0; b < NUMBAND; b++)
            for (int t = 0; t < SEG; t++) {
                xs[b * SEG + t] = xt[b * T + j + t];
                ys[b * SEG + t] = yt[b * T + j + t];
            }
        for (int b = 0; b < NUMBAND; b++)
            s += band_corr(xs + b * SEG, ys + b * SEG);
        row_col_normalize(xs);
        row_col_normalize(ys);
        double d = 0;
        for (int i = 0; i < NUMBAND * SEG; i++)
            d += xs[i] * ys[i];
        e += d / SEG;
    }
    *stoi = s / ((double)J * NUMBAND);
    *estoi = e / (double)J;
}

/* The 10 kHz, silence-free signals' envelopes into *xt, *yt (T frames each). */
static int analyse(const double *x, const double *y, long long n, double **xt, double **yt,
                   long long *T)
{
    double w[FRAME], *xs = NULL, *ys = NULL;
    long long ns = 0;
    int lo[NUMBAND], hi[NUMBAND], rc = -1;
    hann(w);
    band_edges(lo, hi);
    *xt = *yt = NULL;
    if (drop_silence(x, y, n, w, &xs, &ys, &ns))
        goto out;
    *T = nframes(ns);
    if (*T >= SEG) {
        *xt = malloc(sizeof **xt * (size_t)(NUMBAND * *T));
        *yt = malloc(sizeof **yt * (size_t)(NUMBAND * *T));
        if (!*xt || !*yt || envelopes(xs, ns, w, lo, hi, *xt, *T) ||
            envelopes(ys, ns, w, lo, hi, *yt, *T))
            goto out;
    }
    rc = 0;
out:
    free(xs);
    free(ys);
    return rc;
}

int sono_stoi(const float *ref, const float *est, long long n, double rate, double *stoi,
              double *estoi, int *short_input, sono_error *err)
{
    if (!(rate >= 1000 && rate <= 1e6) || rate != floor(rate))
        return sono_fail(err, SONO_EINVAL, "STOI: sample rate %g Hz, want a whole number "
                         "from 1000 to 1000000", rate);
    if (n < 1)
        return sono_fail(err, SONO_EINVAL, "STOI: %lld samples", n);
    double *x = malloc(sizeof *x * (size_t)n), *y = malloc(sizeof *y * (size_t)n);
    double *x10 = NULL, *y10 = NULL, *xt = NULL, *yt = NULL;
    long long n10 = 0, T = 0;
    int rc = 0;
    if (!x || !y) {
        rc = sono_fail(err, SONO_ENOMEM, "STOI: no memory for %lld samples", n);
        goto out;
    }
    for (long long i = 0; i < n; i++) {
        if (!isfinite(ref[i]) || !isfinite(est[i])) {
            rc = sono_fail(err, SONO_EINVAL, "STOI: sample %lld of the %s is not finite", i,
                           isfinite(ref[i]) ? "processed signal" : "reference");
            goto out;
        }
        x[i] = ref[i];
        y[i] = est[i];
    }
    if ((rc = sono_resample_oct(x, n, (long long)rate, FS, &x10, &n10, err)) ||
        (rc = sono_resample_oct(y, n, (long long)rate, FS, &y10, &n10, err)))
        goto out;
    if (analyse(x10, y10, n10, &xt, &yt, &T)) {
        rc = sono_fail(err, SONO_ENOMEM, "STOI: no memory for the spectra of %lld samples",
                       n10);
        goto out;
    }
    double s = SONO_STOI_TOO_SHORT, e = SONO_STOI_TOO_SHORT;
    if (T >= SEG)
        measures(xt, yt, T, &s, &e);
    if (stoi)
        *stoi = s;
    if (estoi)
        *estoi = e;
    if (short_input)
        *short_input = T < SEG;
out:
    free(x);
    free(y);
    free(x10);
    free(y10);
    free(xt);
    free(yt);
    return rc;
}
