/* rs_design.h — cpu/polyphase's filter design: Kaiser-windowed sinc prototypes sized by
 * Kaiser's formula for a stop-band attenuation, in double, stored float. Separate from
 * polyphase.c so a test can measure the designed filters' responses on their own. */
#ifndef CPU_RS_DESIGN_H
#define CPU_RS_DESIGN_H

#include <stddef.h>

/* cpu/polyphase's design targets: each stage's Kaiser filter is sized for RS_ATTEN_DB,
 * 9 dB above soxr HQ's measured 131 (the float32 FFT's and dot products' rounding adds a
 * floor the design does not see); stage 1 passes to RS_PASS of the lower Nyquist fL. */
#define RS_ATTEN_DB 140.0
#define RS_PASS 0.9

/* Half-length K (taps 2K + 1 around the centre, or 2K per phase) for attenuation atten_db
 * over a transition of dw radians per sample (Kaiser: N = (A - 7.95) / (2.285 dw)). */
long long rs_kaiser_half(double atten_db, double dw);
/* Kaiser's beta for atten_db above 50 dB. */
double rs_kaiser_beta(double atten_db);
/* The windowed sinc at distance d samples from its centre: gain * sin(2 pi fc d) / (pi d)
 * (fc in cycles per sample), times the Kaiser window of half-length K (zero beyond). */
double rs_tap(double d, double fc, long long K, double beta, double gain);

#endif
