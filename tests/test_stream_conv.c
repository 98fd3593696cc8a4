/* test_stream_conv.c — issue 12's streaming conv1d (cpu/naive, blas/im2col): over random
 * chunks (1 step, up to a stride, up to three strides, and chunks past the impls' rounds
 * of input) the streamed output equals the offline one — bit for bit on cpu/naive, within
 * the op's tolerance on blas/im2col — and both pass the float64 reference, for causal,
 * 'valid', strided (one output per stride, strides that skip inputs), dilated, grouped
 * and transposed layers with ELU and Snake; the state a stream keeps does not grow with
 * the signal; the op's stream shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "stream_util.h"

static const char *const cv_impls[] = {"cpu/naive", "blas/im2col"};

/* Each a layer: "cin cout kernel stride dilation groups transposed causal activation". */
static const char *const cv_layers[] = {
    "1 8 7 1 1 1 0 1 none",   /* SEANet's first conv */
    "8 8 3 1 3 1 0 1 elu",    /* a residual unit's dilated conv */
    "8 16 8 4 1 1 0 1 elu",   /* downsampling: kernel 2 * stride */
    "6 6 5 2 1 1 0 0 none",   /* 'valid': looks ahead */
    "4 4 2 5 1 1 0 1 none",   /* stride past the kernel: inputs no output reads */
    "8 8 3 1 2 4 0 1 snake",  /* grouped, Snake */
    "8 8 1 1 1 1 0 1 none",   /* pointwise */
    "16 8 8 4 1 1 1 1 elu",   /* upsampling: transposed, causal trim */
    "4 6 4 3 2 2 1 0 snake",  /* transposed, full length (the tail at the end), grouped */
    "4 4 2 5 1 1 1 1 none",   /* transposed, stride past the kernel: gaps of bias */
};

static sono_params cv_p(const char *layer, long long length)
{
    long long v[8];
    char act[16], s[10][48];
    assert_int_equal(sscanf(layer, "%lld %lld %lld %lld %lld %lld %lld %lld %15s", &v[0],
                            &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], act), 9);
    static const char *const names[] = {"cin", "cout", "kernel", "stride",
                                        "dilation", "groups", "transposed", "causal"};
    for (int i = 0; i < 8; i++)
        snprintf(s[i], 48, "%s=%lld", names[i], v[i]);
    snprintf(s[8], 48, "activation=%s", act);
    snprintf(s[9], 48, "length=%lld", length);
    const char *kv[] = {s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], NULL};
    return su_params("conv1d", kv);
}

static void cv_compare(const char *layer, long long length, const long long *chunks,
                       uint64_t seeds)
{
    const sono_op *op = sono_op_find("conv1d");
    sono_params p = cv_p(layer, length);
    sono_buf in, out;
    su_input(op, &p, &in, &out);
    double *ref = su_reference(op, &p, &in, &out);
    long long n = sono_buf_elems(&out), stride = sono_param_int(&p, "stride", 1);
    for (size_t m = 0; m < 2; m++) {
        const sono_impl_entry *e = su_find("conv1d", cv_impls[m]);
        double tol = op->tolerance(&p, e->impl->growth);
        su_offline(e, &p, &in, &out);
        double off = su_rel_l2(out.data, ref, n);
        if (off > tol)
            fail_msg("%s [%s] offline: rel L2 %g > tol %g", cv_impls[m], layer, off, tol);
        for (uint64_t seed = 1; seed <= seeds; seed++) {
            su_stream_info info;
            float *got = su_stream(e, &p, &in, &out, seed, stride, chunks, &info);
            double diff = su_maxdiff(got, out.data, n), rel = su_rel_l2(got, ref, n);
            if ((m == 0 && diff != 0) || rel > tol || diff == INFINITY)
                fail_msg("%s [%s] length %lld seed %d: streamed vs offline max diff %g, vs "
                         "the reference rel L2 %g (tol %g)", cv_impls[m], layer, length,
                         (int)seed, diff, rel, tol);
            free(got);
        }
    }
    free(ref);
    sono_buf_free(&in);
    sono_buf_free(&out);
    sono_params_free(&p);
}

static void stream_equals_offline(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cv_layers / sizeof cv_layers[0]; i++)
        cv_compare(cv_layers[i], 203, NULL, 4);
}

/* Chunks far larger than a round of the impls (1024 input steps on cpu/naive), mixed
 * with single steps: the state crosses rounds inside one push. */
static void chunks_past_a_round(void **state)
{
    (void)state;
    const long long big[8] = {1, 2500, 3, 1, 1100, 1, 7, 4000};
    cv_compare("1 8 7 1 1 1 0 1 none", 6000, big, 1);
    cv_compare("8 16 8 4 1 1 0 1 elu", 6000, big, 1);
    cv_compare("16 8 8 4 1 1 1 1 elu", 3000, big, 1);
    cv_compare("4 6 4 3 2 2 1 0 snake", 3000, big, 1);
}

/* One step per push: a stride-4 conv completes an output on steps 0, 4, 8, ... (one per
 * stride, the step it reads last), a causal transposed one 4 outputs per step. */
static void outputs_per_step(void **state)
{
    (void)state;
    const long long ones[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    const char *const layers[] = {"8 16 8 4 1 1 0 1 elu", "16 8 8 4 1 1 1 1 elu"};
    const long long jumps[] = {1, 4};
    const sono_op *op = sono_op_find("conv1d");
    for (int l = 0; l < 2; l++) {
        sono_params p = cv_p(layers[l], 64);
        sono_buf in, out;
        su_input(op, &p, &in, &out);
        for (size_t m = 0; m < 2; m++) {
            su_stream_info info;
            float *got = su_stream(su_find("conv1d", cv_impls[m]), &p, &in, &out, 0, 1, ones,
                                   &info);
            assert_int_equal(info.pushes, 64);
            assert_int_equal(info.max_done_jump, jumps[l]);
            free(got);
        }
        sono_buf_free(&in);
        sono_buf_free(&out);
        sono_params_free(&p);
    }
}

/* What a stream keeps besides the offline state is a bounded history: the same for a
 * signal four times as long (cpu/naive holds it from setup on, beside its output;
 * blas/im2col makes it on the first stream, beside its offline buffers). */
static void state_does_not_grow_with_the_signal(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("conv1d");
    const char *layer = "8 8 3 1 3 1 0 1 elu";
    const long long lengths[2] = {2000, 8000};
    for (size_t m = 0; m < 2; m++) {
        size_t extra[2];
        for (int i = 0; i < 2; i++) {
            sono_params p = cv_p(layer, lengths[i]);
            sono_buf in, out;
            su_input(op, &p, &in, &out);
            const sono_impl_entry *e = su_find("conv1d", cv_impls[m]);
            size_t off = m == 0 ? out.nbytes : su_offline(e, &p, &in, &out);
            su_stream_info info;
            float *got = su_stream(e, &p, &in, &out, 9, 100, NULL, &info);
            assert_true(info.workspace > off);
            extra[i] = info.workspace - off;
            free(got);
            sono_buf_free(&in);
            sono_buf_free(&out);
            sono_params_free(&p);
        }
        assert_int_equal(extra[0], extra[1]);
    }
}

/* A SEANet-like stack streamed layer into layer, as a streaming encoder and decoder run:
 * each chunk of the signal is pushed into the first layer, whatever output steps it
 * completes go into the next layer's input and are pushed there, and so on. The last
 * layer's output equals the offline chain's, bit for bit on cpu/naive. */
#define CV_STACK 5
static void stack_streams_layer_into_layer(void **state)
{
    (void)state;
    /* in, ELU resunit conv, down x4, up x4 (transposed), out conv */
    const char *const layers[CV_STACK] = {"1 8 7 1 1 1 0 1 elu", "8 8 3 1 3 1 0 1 elu",
                                          "8 16 8 4 1 1 0 1 elu", "16 8 8 4 1 1 1 1 elu",
                                          "8 1 7 1 1 1 0 1 none"};
    const long long T = 999;
    const sono_op *op = sono_op_find("conv1d");
    for (size_t m = 0; m < 2; m++) {
        const sono_impl_entry *e = su_find("conv1d", cv_impls[m]);
        const sono_impl *im = e->impl;
        sono_params p[CV_STACK];
        sono_buf in[CV_STACK], off[CV_STACK], sin[CV_STACK], sout[CV_STACK];
        void *st[CV_STACK];
        long long len = T, fed[CV_STACK] = {0}, done[CV_STACK] = {0};
        sono_error err = {0};
        for (int l = 0; l < CV_STACK; l++) {
            p[l] = cv_p(layers[l], len);
            su_input(op, &p[l], &in[l], &off[l]);
            /* the offline chain: x of layer l is layer l-1's offline output */
            if (l > 0)
                memcpy(in[l].data, off[l - 1].data, off[l - 1].nbytes);
            su_offline(e, &p[l], &in[l], &off[l]);
            sin[l] = in[l];
            sin[l].data = NULL;
            sout[l] = off[l];
            sout[l].data = NULL;
            assert_int_equal(sono_buf_alloc(&sin[l], NULL), 0);
            assert_int_equal(sono_buf_alloc(&sout[l], NULL), 0);
            memcpy(sin[l].data, in[l].data, in[l].nbytes); /* the weights */
            float *x = sin[l].data;
            for (long long i = 0; i < sono_param_int(&p[l], "cin", 1) * len; i++)
                x[i] = NAN; /* x [cin, len]: arrives as the stream goes */
            assert_int_equal(im->setup(im->ctx, &p[l], &st[l], &err), 0);
            assert_int_equal(im->load(st[l], &sin[l], &err), 0);
            assert_int_equal(im->stream_begin(st[l], &err), 0);
            len = off[l].shape[1];
        }
        uint64_t seed = 3;
        for (long long t0 = 0; t0 < T;) {
            long long n = su_chunk(&seed, 40);
            n = n > T - t0 ? T - t0 : n;
            int last = t0 + n == T;
            memcpy((float *)sin[0].data + t0, (const float *)in[0].data + t0,
                   sizeof(float) * (size_t)n);
            for (int l = 0; l < CV_STACK; l++) {
                long long avail = l ? done[l - 1] : t0 + n;
                if (avail > fed[l]) {
                    if (im->push(st[l], fed[l], avail - fed[l], last, &sout[l], &done[l],
                                 &err))
                        fail_msg("%s layer %d: %s", e->full, l, err.msg);
                    fed[l] = avail;
                }
                if (l + 1 < CV_STACK) { /* the new steps into the next layer's x */
                    long long C = sout[l].shape[0], L = sout[l].shape[1];
                    float *nx = sin[l + 1].data;
                    const float *y = sout[l].data;
                    for (long long c = 0; c < C; c++)
                        for (long long t = fed[l + 1]; t < done[l]; t++)
                            nx[c * L + t] = y[c * L + t];
                }
            }
            t0 += n;
        }
        const sono_buf *last_off = &off[CV_STACK - 1];
        assert_int_equal(done[CV_STACK - 1], last_off->shape[1]);
        long long n = sono_buf_elems(last_off);
        double diff = su_maxdiff(sout[CV_STACK - 1].data, last_off->data, n);
        double peak = 0;
        for (long long i = 0; i < n; i++)
            peak = fmax(peak, fabs(((const float *)last_off->data)[i]));
        /* blas/im2col: five layers of float32 sums in another order, ~1e-6 of the peak */
        if ((m == 0 && diff != 0) || diff > 1e-4 * peak)
            fail_msg("%s stack: streamed vs offline max diff %g (peak %g)", e->full, diff,
                     peak);
        for (int l = 0; l < CV_STACK; l++) {
            im->teardown(st[l]);
            sono_buf_free(&in[l]);
            sono_buf_free(&off[l]);
            sono_buf_free(&sin[l]);
            sono_buf_free(&sout[l]);
            sono_params_free(&p[l]);
        }
    }
}

/* The layouts, the rate (hop samples per step) and the look-ahead of 'valid'. */
static void stream_shape(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("conv1d");
    const char *kv[] = {"cin=4", "cout=6", "kernel=5", "stride=2", "causal=0", "length=100",
                        "sample_rate=24000", "hop=8", NULL};
    sono_params p = su_params("conv1d", kv);
    sono_stream_shape ss;
    sono_error err = {0};
    assert_int_equal(op->stream_shape(&p, &ss, &err), 0);
    assert_int_equal(ss.in.outer, 4);
    assert_int_equal(ss.in.steps, 100);
    assert_int_equal(ss.out.outer, 6);
    assert_int_equal(ss.out.steps, (100 - 5) / 2 + 1);
    assert_true(fabs(ss.step_rate - 3000) < 1e-9);
    assert_true(fabs(ss.algo_latency_s - 5.0 / 3000) < 1e-12);
    sono_params_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stream_equals_offline),
        cmocka_unit_test(chunks_past_a_round),
        cmocka_unit_test(outputs_per_step),
        cmocka_unit_test(state_does_not_grow_with_the_signal),
        cmocka_unit_test(stack_streams_layer_into_layer),
        cmocka_unit_test(stream_shape),
    };
    return cmocka_run_group_tests(tests, su_setup, su_teardown);
}
