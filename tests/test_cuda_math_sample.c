/* test_cuda_math_sample.c — issue 25's GPU sampling and delay kernels on the host, without
 * a GPU: sm_expf within 2 ulp of exp; the kernel's path (radix select of the k-th largest
 * key, the classes at or above it gathered in any order, the bitonic network, the walk)
 * emulated step by step with sample_math.h and philox.h, giving the very tokens cpu/naive
 * gives (the plugin, run on the op's own inputs) for the same seed, so cuda/sample == cpu;
 * the delay kernel's index map against the reference's; cuda/maskgit's iteration (the same
 * draws, block-summed confidences, the confidence order's bitonic network, the host's
 * nmask) emulated and passing maskgit.step's own check. */
#include "delay64.h"
#include "gen_util.h"
#include "maskgit64.h"

#include "../impls/common/philox.h"
#include "../impls/common/sample_math.h"
#include "../impls/cuda/tok_math.h"

static void expf_within_2ulp(void **state)
{
    (void)state;
    double worst = 0;
    for (int i = 0; i <= 400000; i++) {
        float x = -100.0f * (float)i / 400000.0f;
        double e = exp((double)x), g = sm_expf(x);
        if (e < 1e-37) /* subnormal results: absolute error of an ulp of FLT_MIN */
            continue;
        double ulp = ldexp(1.0, ilogb(e) - 23), d = fabs(g - e) / ulp;
        worst = d > worst ? d : worst;
    }
    if (worst > 2)
        fail_msg("sm_expf off by %.2f ulp", worst);
    assert_true(sm_expf(0) == 1.0f);
    assert_true(sm_expf(-200) == 0.0f);
}

/* The kernel's path for one row (rows of the sample.topk input), as tok_kernels.cu runs it. */
static int32_t emulate_row(const float *l, int V, int k, float temp, float top_p,
                           uint64_t seed, uint32_t b, uint32_t c, uint64_t shuffle)
{
    if (temp == 0 || k == 1) {
        int best = 0; /* the block reduction's result: the max, lowest index */
        for (int v = 1; v < V; v++)
            if (l[v] > l[best])
                best = v;
        return best;
    }
    uint32_t thr = 0;
    for (int bit = 31; bit >= 0; bit--) {
        long long cnt = 0;
        for (int v = 0; v < V; v++)
            cnt += sm_key(l[v]) >= (thr | (1u << bit));
        thr = sm_select_step(thr, 1u << bit, cnt, k);
    }
    static sm_pair cand[2048];
    static float w[2048];
    unsigned n = 0;
    /* gathered in a scrambled order, as the atomics of the kernel may */
    for (int j = 0; j < V; j++) {
        int v = (int)(((uint64_t)j * 2654435761u + shuffle) % (uint64_t)V);
        if (sm_key(l[v]) >= thr) {
            assert_true(n < 2048);
            cand[n++] = (sm_pair){l[v], v};
        }
    }
    unsigned n2 = 1;
    while (n2 < n)
        n2 <<= 1;
    for (unsigned i = n; i < n2; i++)
        cand[i] = (sm_pair){-INFINITY, 0x7fffffff};
    for (unsigned kk = 2; kk <= n2; kk <<= 1)
        for (unsigned j = kk >> 1; j > 0; j >>= 1)
            for (unsigned i = 0; i < n2; i++)
                sm_bitonic_step(cand, i, j, kk);
    for (unsigned i = 1; i < n; i++)
        assert_true(sm_before(cand[i - 1], cand[i]));
    float u = philox_u24(seed, b, c, 0);
    return sm_walk(cand, k < (int)n ? k : (int)n, temp, top_p, u, w);
}

/* The emulated kernel's tokens equal cpu/naive's, token for token. */
static void kernel_tokens_equal_cpu(void **state)
{
    (void)state;
    const char *specs[] = {
        "batch=16 codebooks=8 V=2048",
        "batch=4 codebooks=4 V=2048 top_k=1000 top_p=0.9 temperature=1",
        "batch=8 codebooks=1 V=32000 top_k=50 temperature=0.7 top_p=0.95",
        "batch=6 codebooks=2 V=300 temperature=0 seed=3",
        "batch=9 codebooks=3 V=100 top_k=0 temperature=2 spread=0.5 seed=4",
    };
    const sono_op *op = sono_op_find("sample.topk");
    long long rows_total = 0;
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
        sono_params p = gu_params("sample.topk", specs[s]);
        sono_buf in, out;
        sono_error err = {0};
        op->shapes(&p, &in, &out);
        assert_int_equal(sono_buf_alloc(&in, NULL), 0);
        assert_int_equal(sono_buf_alloc(&out, NULL), 0);
        assert_int_equal(op->input(&p, NULL, 0, &in, &err), 0);
        const sono_impl_entry *e = NULL;
        for (int i = 0; i < gu_R.nimpls; i++)
            if (strcmp(gu_R.impls[i].op->name, "sample.topk") == 0 &&
                strcmp(gu_R.impls[i].full, "cpu/naive") == 0)
                e = &gu_R.impls[i];
        assert_non_null(e);
        assert_int_equal(gu_exec(e, &p, &in, &out), 0);
        long long B = sono_param_int(&p, "batch", 1), C = sono_param_int(&p, "codebooks", 8),
                  V = sono_param_int(&p, "V", 2048), k = sono_param_int(&p, "top_k", 250);
        int kk = (int)(k <= 0 || k > V ? V : k);
        const int32_t *cpu = out.data;
        for (long long b = 0; b < B; b++)
            for (long long c = 0; c < C; c++) {
                int32_t g = emulate_row((const float *)in.data + (b * C + c) * V, (int)V, kk,
                                        (float)sono_param_real(&p, "temperature", 0.8),
                                        (float)sono_param_real(&p, "top_p", 1),
                                        (uint64_t)sono_param_int(&p, "seed", 1), (uint32_t)b,
                                        (uint32_t)c, (uint64_t)(b * 31 + c));
                if (g != cpu[b * C + c])
                    fail_msg("%s row (%lld, %lld): kernel %d, cpu %d", specs[s], b, c, g,
                             cpu[b * C + c]);
                rows_total++;
            }
        sono_buf_free(&in);
        sono_buf_free(&out);
    }
    assert_true(rows_total == 128 + 16 + 8 + 12 + 27);
}

static void delay_map_matches_reference(void **state)
{
    (void)state;
    const int Ks[] = {1, 4, 9}, Ts[] = {1, 7, 30};
    for (int a = 0; a < 3; a++)
        for (int t = 0; t < 3; t++)
            for (int un = 0; un < 2; un++) {
                int K = Ks[a], T = Ts[t], B = 2, S = T + K - 1;
                long long nin = (long long)B * K * (un ? S : T), nout = (long long)B * K * (un ? T : S);
                int32_t x[1024], want[1024], got[1024]; /* B K (T + K - 1) <= 2 * 9 * 38 */
                for (long long i = 0; i < nin; i++)
                    x[i] = (int32_t)(i * 7 + 1);
                sono_delay64(x, B, K, T, un, -5, want);
                for (long long o = 0; o < nout; o++) {
                    long long src = gen_delay_src(o, K, T, un);
                    got[o] = src < 0 ? -5 : x[src];
                }
                assert_memory_equal(got, want, (size_t)nout * sizeof *got);
            }
}

/* tok_kernels.cu's MaskGIT iteration on the host, on the level's row of tok. */
static void emulate_mg_step(int32_t *tok, const float *logits, int F, int K, int level, int it,
                            int iters, float temp, uint64_t seed)
{
    int32_t *row = tok + (long long)level * F;
    static sm_pair c[2048];
    static float conf[2048];
    unsigned n = 0;
    for (int f = F - 1; f >= 0; f--) { /* blocks finish in any order */
        if (row[f] != MG_MASK_TOKEN)
            continue;
        const float *l = logits + (long long)f * K;
        /* block_draw with k = K (a power of two in these cases, so the radix select keeps
         * all K and the bitonic network needs no pads) and u keyed by the iteration */
        float u = philox_u24(seed, (uint32_t)f, (uint32_t)level, (uint32_t)it);
        int32_t k = 0;
        static sm_pair pr[1024];
        static float w[1024];
        if (temp == 0) {
            for (int v = 1; v < K; v++)
                if (l[v] > l[k])
                    k = v;
        } else {
            for (int v = 0; v < K; v++)
                pr[v] = (sm_pair){l[v], v};
            for (unsigned kk = 2; kk <= (unsigned)K; kk <<= 1)
                for (unsigned j = kk >> 1; j > 0; j >>= 1)
                    for (unsigned i = 0; i < (unsigned)K; i++)
                        sm_bitonic_step(pr, i, j, kk);
            k = sm_walk(pr, K, temp, 1.0f, u, w);
        }
        float mx = l[0], sum = 0;
        for (int v = 1; v < K; v++)
            mx = fmaxf(mx, l[v]);
        for (int v = K - 1; v >= 0; v--) /* a tree's order differs: any order will do */
            sum += sm_expf(l[v] - mx);
        conf[f] = sm_expf(l[k] - mx) / sum;
        row[f] = k;
        c[n++] = (sm_pair){conf[f], f};
    }
    long long nm = mg_gpu_nmask(F, n, it, iters);
    unsigned n2 = 1;
    while (n2 < n)
        n2 <<= 1;
    for (unsigned i = n; i < n2; i++)
        c[i] = (sm_pair){INFINITY, 0x7fffffff};
    for (unsigned kk = 2; kk <= n2; kk <<= 1)
        for (unsigned j = kk >> 1; j > 0; j >>= 1)
            for (unsigned i = 0; i < n2; i++)
                mg_conf_bitonic_step(c, i, j, kk);
    for (unsigned i = 1; i < n; i++)
        assert_true(mg_conf_before(c[i - 1], c[i]));
    for (long long i = 0; i < nm; i++)
        row[c[i].i] = MG_MASK_TOKEN;
}

static void maskgit_kernel_passes_check(void **state)
{
    (void)state;
    const char *specs[] = {"levels=4 frames=100 K=64", "levels=4 frames=100 K=64 iter=7 seed=2",
                           "levels=3 frames=37 K=256 level=2 iters=1 seed=3",
                           "levels=8 frames=64 K=1024 level=1 iter=2 iters=4 temperature=0 seed=4",
                           "levels=2 frames=200 K=16 iter=15 temperature=0.7 seed=5"};
    const sono_op *op = sono_op_find("maskgit.step");
    for (size_t c = 0; c < sizeof specs / sizeof specs[0]; c++) {
        sono_params p = gu_params("maskgit.step", specs[c]);
        sono_buf in, out, ref;
        sono_error err = {0};
        op->shapes(&p, &in, &out);
        ref = out;
        assert_int_equal(sono_buf_alloc(&in, NULL), 0);
        assert_int_equal(sono_buf_alloc(&out, NULL), 0);
        assert_int_equal(sono_buf_alloc(&ref, NULL), 0);
        assert_int_equal(op->input(&p, NULL, 0, &in, &err), 0);
        assert_int_equal(op->reference(&p, &in, &ref, &err), 0);
        long long L = sono_param_int(&p, "levels", 0), F = sono_param_int(&p, "frames", 0),
                  K = sono_param_int(&p, "K", 0);
        int32_t *tok = out.data;
        for (long long i = 0; i < L * F; i++)
            tok[i] = (int32_t)((const float *)in.data)[i];
        emulate_mg_step(tok, (const float *)in.data + L * F, (int)F, (int)K,
                        (int)sono_param_int(&p, "level", 0), (int)sono_param_int(&p, "iter", 0),
                        (int)sono_param_int(&p, "iters", 0),
                        (float)sono_param_real(&p, "temperature", 1),
                        (uint64_t)sono_param_int(&p, "seed", 1));
        sono_check ck = {0};
        assert_int_equal(op->check(&p, &in, &out, &ref, op->tolerance(&p, SONO_ERR_LINEAR),
                                   &ck, &err), 0);
        if (!ck.pass)
            fail_msg("%s: %s", specs[c], ck.detail);
        sono_buf_free(&in);
        sono_buf_free(&out);
        sono_buf_free(&ref);
    }
    /* the host's nmask is the reference's */
    for (long long F = 1; F < 600; F += 37)
        for (long long it = 1; it <= 16; it++)
            for (long long t = 0; t < it; t++)
                assert_int_equal(mg_gpu_nmask(F, F, t, it), sono_maskgit64_nmask(F, F, t, it));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(expf_within_2ulp),
        cmocka_unit_test(kernel_tokens_equal_cpu),
        cmocka_unit_test(delay_map_matches_reference),
        cmocka_unit_test(maskgit_kernel_passes_check),
    };
    return cmocka_run_group_tests(tests, gu_setup, gu_teardown);
}
