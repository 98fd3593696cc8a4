/* rs_design.c — Kaiser-windowed sinc taps for cpu/polyphase (rs_design.h), in double. */
#include <math.h>

#include "rs_design.h"

#define RS_PI 3.141592653589793238462643383279502884

/* The zeroth-order modified Bessel function, by its power series. */
static double i0(double x)
{
    double sum = 1, term = 1, q = x * x / 4;
    for (int k = 1; k < 500 && term > 1e-17 * sum; k++) {
        term *= q / ((double)k * k);
        sum += term;
    }
    return sum;
}

long long rs_kaiser_half(double atten_db, double dw)
{
    return (long long)ceil((atten_db - 7.95) / (2.285 * dw) / 2);
}

double rs_kaiser_beta(double atten_db)
{
    return 0.1102 * (atten_db - 8.7);
}

double rs_tap(double d, double fc, long long K, double beta, double gain)
{
    double u = d / (double)K;
    if (fabs(u) >= 1)
        return 0;
    double s = d == 0 ? 2 * fc : sin(2 * RS_PI * fc * d) / (RS_PI * d);
    return gain * s * i0(beta * sqrt(1 - u * u)) / i0(beta);
}
