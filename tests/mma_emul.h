/* mma_emul.h — the tests' emulation of one warp-wide mma.sync (m16n8k16 bf16/f16,
 * m16n8k8 tf32) over 32 lanes, for tests/test_cuda_math_flash.c and _vqtc.c: elements
 * decoded by their own definitions (not the kernels' conversions), fragments gathered
 * into A and B through fa2_math.h's layouts (each element exactly once), a float product,
 * the result scattered back through the C layout. Include after cmocka.h and fa2_math.h. */
#ifndef SONO_TESTS_MMA_EMUL_H
#define SONO_TESTS_MMA_EMUL_H

/* ---- element decoding: independent of the header's conversions ---------------------- */

static inline float fm_bf16(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline float fm_f16(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    double v = e ? ldexp(1024 + m, e - 25) : ldexp(m, -24);
    return (float)((h & 0x8000) ? -v : v);
}

static inline float fm_tf32(uint32_t u)
{
    u &= ~0x1fffu; /* the tensor core reads 10 mantissa bits */
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* value of element `half` (0 low, 1 high) of a packed register, or the tf32 register */
static inline float fm_elem(uint32_t r, int half, int kind)
{
    if (kind == FA2_TF32)
        return fm_tf32(r);
    uint16_t h = (uint16_t)(half ? r >> 16 : r & 0xffff);
    return kind == FA2_BF16 ? fm_bf16(h) : fm_f16(h);
}

/* storage bits of a float already on the kind's grid (the device converts exactly) */
static inline uint16_t fm_store16(float x, int kind)
{
    uint32_t r = fa2_pack2(x, 0.0f, kind);
    uint16_t h = (uint16_t)(r & 0xffff);
    float back = kind == FA2_BF16 ? fm_bf16(h) : fm_f16(h);
    if (back != x)
        fail_msg("%a is not on the %s grid", (double)x, kind == FA2_BF16 ? "bf16" : "f16");
    return h;
}

/* ---- the mma, emulated over the warp -------------------------------------------------- */

/* C[lane] += A * B for one mma: A (16 x K) and B (K x 8) are gathered from the lanes'
 * fragments through the layouts (each element exactly once), multiplied in float, and the
 * result scattered back through the C layout. K = 16 for 16-bit kinds, 8 for tf32. */
static inline void fm_mma(const uint32_t a[32][4], const uint32_t b[32][2], float c[32][4], int kind)
{
    int K = kind == FA2_TF32 ? 8 : 16;
    float A[16][16], B[16][8];
    int seenA[16][16] = {{0}}, seenB[16][8] = {{0}};
    for (int lane = 0; lane < 32; lane++) {
        if (kind == FA2_TF32) {
            for (int i = 0; i < 4; i++) {
                int r = fa2_a8_row(lane, i), col = fa2_a8_col(lane, i);
                A[r][col] = fm_elem(a[lane][i], 0, kind);
                seenA[r][col]++;
            }
            for (int i = 0; i < 2; i++) {
                int k = fa2_b8_k(lane, i), n = fa2_b8_n(lane, i);
                B[k][n] = fm_elem(b[lane][i], 0, kind);
                seenB[k][n]++;
            }
        } else {
            for (int i = 0; i < 8; i++) {
                int r = fa2_a16_row(lane, i), col = fa2_a16_col(lane, i);
                A[r][col] = fm_elem(a[lane][i / 2], i & 1, kind);
                seenA[r][col]++;
            }
            for (int i = 0; i < 4; i++) {
                int k = fa2_b16_k(lane, i), n = fa2_b16_n(lane, i);
                B[k][n] = fm_elem(b[lane][i / 2], i & 1, kind);
                seenB[k][n]++;
            }
        }
    }
    for (int r = 0; r < 16; r++)
        for (int k = 0; k < K; k++)
            assert_int_equal(seenA[r][k], 1);
    for (int k = 0; k < K; k++)
        for (int n = 0; n < 8; n++)
            assert_int_equal(seenB[k][n], 1);
    for (int lane = 0; lane < 32; lane++)
        for (int i = 0; i < 4; i++) {
            int r = fa2_c_row(lane, i), n = fa2_c_col(lane, i);
            float acc = c[lane][i];
            for (int k = 0; k < K; k++)
                acc += A[r][k] * B[k][n];
            c[lane][i] = acc;
        }
}

#endif
