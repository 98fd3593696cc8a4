/* fastfft_scalar.c — the portable Stockham passes of fastfft: radix 2, 3, 4 and 5 written
 * out, any other (odd prime) radix as a small direct DFT. Every plan can run on these
 * alone; the AVX2 kernels replace them pass by pass where a vector kernel exists. */
#include "fastfft_internal.h"

/* sin(2 pi/3), and the radix-5 constants cos/sin of 2 pi/5 and 4 pi/5 */
#define S3 0.86602540378443864676f
#define C51 0.30901699437494742410f
#define C52 -0.80901699437494742410f
#define S51 0.95105651629515357212f
#define S52 0.58778525229247312917f

static inline ffc cmul(ffc a, ffc w)
{
    return (ffc){a.re * w.re - a.im * w.im, a.re * w.im + a.im * w.re};
}

static inline ffc cadd(ffc a, ffc b)
{
    return (ffc){a.re + b.re, a.im + b.im};
}

static inline ffc csub(ffc a, ffc b)
{
    return (ffc){a.re - b.re, a.im - b.im};
}

/* a * (-i) */
static inline ffc cmi(ffc a)
{
    return (ffc){a.im, -a.re};
}

/* The radix-r DFT of a[0..r) into b[0..r), forward. */
static void dft_small(int r, const ffc *roots, const ffc *a, ffc *b)
{
    switch (r) {
    case 2:
        b[0] = cadd(a[0], a[1]);
        b[1] = csub(a[0], a[1]);
        return;
    case 3: {
        ffc t = cadd(a[1], a[2]), d = csub(a[1], a[2]);
        ffc m = {a[0].re - 0.5f * t.re, a[0].im - 0.5f * t.im};
        ffc e = {S3 * d.im, -S3 * d.re}; /* -i sin(2pi/3) (a1 - a2) */
        b[0] = cadd(a[0], t);
        b[1] = cadd(m, e);
        b[2] = csub(m, e);
        return;
    }
    case 4: {
        ffc t0 = cadd(a[0], a[2]), t1 = csub(a[0], a[2]);
        ffc t2 = cadd(a[1], a[3]), t3 = cmi(csub(a[1], a[3]));
        b[0] = cadd(t0, t2);
        b[1] = cadd(t1, t3);
        b[2] = csub(t0, t2);
        b[3] = csub(t1, t3);
        return;
    }
    case 5: {
        ffc s1 = cadd(a[1], a[4]), d1 = csub(a[1], a[4]);
        ffc s2 = cadd(a[2], a[3]), d2 = csub(a[2], a[3]);
        ffc m1 = {a[0].re + C51 * s1.re + C52 * s2.re, a[0].im + C51 * s1.im + C52 * s2.im};
        ffc m2 = {a[0].re + C52 * s1.re + C51 * s2.re, a[0].im + C52 * s1.im + C51 * s2.im};
        /* -i (sin(2pi/5) d1 + sin(4pi/5) d2) and -i (sin(4pi/5) d1 - sin(2pi/5) d2) */
        ffc e1 = cmi((ffc){S51 * d1.re + S52 * d2.re, S51 * d1.im + S52 * d2.im});
        ffc e2 = cmi((ffc){S52 * d1.re - S51 * d2.re, S52 * d1.im - S51 * d2.im});
        b[0] = cadd(a[0], cadd(s1, s2));
        b[1] = cadd(m1, e1);
        b[4] = csub(m1, e1);
        b[2] = cadd(m2, e2);
        b[3] = csub(m2, e2);
        return;
    }
    default:
        for (int k = 0; k < r; k++) {
            ffc acc = a[0];
            for (int j = 1; j < r; j++)
                acc = cadd(acc, cmul(a[j], roots[(j * k) % r]));
            b[k] = acc;
        }
    }
}

/* Radices above 5 come from the planner only as 7, 11, ... with r <= FF_MAX_RADIX. */
#define FF_MAX_RADIX 64

void ff_pass_scalar(const ff_stage *st, const ffc *x, ffc *y)
{
    const int r = st->r;
    const size_t s = st->s, m = st->m;
    ffc a[FF_MAX_RADIX], b[FF_MAX_RADIX];

    for (size_t p = 0; p < m; p++) {
        const ffc *w = st->tw ? st->tw + p * (size_t)(r - 1) : NULL;
        for (size_t q = 0; q < s; q++) {
            for (int j = 0; j < r; j++)
                a[j] = x[q + s * (p + (size_t)j * m)];
            dft_small(r, st->roots, a, b);
            ffc *o = y + q + s * (size_t)r * p;
            o[0] = b[0];
            for (int k = 1; k < r; k++)
                o[s * (size_t)k] = w ? cmul(b[k], w[k - 1]) : b[k];
        }
    }
}
