/* fastfft_gen_wide.c — the generated AVX2 codelets (fastfft_gen_avx2.c) compiled once
 * more with AVX-512VL enabled: the same 256-bit code, but with 32 vector registers the
 * larger codelets (first passes of 16, leaves of 32) spill less; measured 3-6 % faster
 * at n = 256..2048 on Zen 4. The planner takes these where the CPU has AVX-512VL. */
#if defined(__x86_64__) || defined(__i386__)
#define FFG_TARGET "avx2,fma,avx512f,avx512vl"
#define FFG(name) name##_x
#include "fastfft_gen_avx2.c"
#else
typedef int ff_gen_wide_none; /* ISO C wants a declaration in every file */
#endif
