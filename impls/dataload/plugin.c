/* plugin.c — backend "dataload": impl dataload/threads of load.batch. `threads` workers
 * take slots in order (read the clip's bytes, decode the span its crop needs, resample
 * with soxr, crop and normalise) into a bounded pool of prefetch * batch crop buffers;
 * the calling thread is the consumer, stacking each finished crop into the batch output
 * and returning its buffer. A full pool stalls the workers (backpressure); an empty queue
 * stalls the consumer: both waits are timed, with every stage, for describe(). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <opusfile.h>
#include <pthread.h>
#include <sndfile.h>
#include <soxr.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dl.h"
#include "sbd.h"
#include "tarshard.h"

enum { ST_READ, ST_DECODE, ST_RESAMPLE, ST_CROP, ST_FULL, NSTAGE }; /* worker stages */
static const char *const STAGE[NSTAGE] = {"read", "decode", "resample", "crop+normalise",
                                          "waiting on a full queue"};
#define MARGIN 4096 /* input samples each side of a crop: longer than soxr HQ's filter */
#define NSOXR 8

typedef struct worker {
    struct state *st;
    pthread_t tid;
    dl_span sp;
    unsigned char *buf; /* dir, tar: the clip's bytes */
    size_t bcap;
    float *rs;          /* resampled span */
    long long rcap;
    struct { int fd; soxr_t s; } soxr[NSOXR];
    double ns[NSTAGE];
    double bytes;
    int rc;
    sono_error err;
} worker;

typedef struct state {
    long long B, NB, crop;
    int rate, threads, prefetch, pcm_enc;
    uint64_t seed;
    dl_manifest m;
    sono_sbd sbd;
    int *shard_fd;
    float *out;
    /* the queue: nbuf crop buffers, each free or holding a finished slot */
    int nbuf;
    float *bufs;
    int *free_list, nfree;
    int *ready_buf;
    long long *ready_job;
    int nready;
    pthread_mutex_t mu;
    pthread_cond_t has_free, has_ready;
    atomic_llong next;
    worker *w;
    /* totals since setup, for describe */
    double ns[NSTAGE], stack_ns, wait_ns, run_ns, bytes;
    long long runs;
    int failed;
} state;

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    (void)p;
    (void)why;
    (void)n;
    return 0;
}

static void teardown(void *vst)
{
    state *st = vst;
    if (!st)
        return;
    for (int t = 0; st->w && t < st->threads; t++) {
        worker *w = &st->w[t];
        free(w->sp.x);
        free(w->sp.tmp);
        free(w->buf);
        free(w->rs);
        for (int k = 0; k < NSOXR; k++)
            if (w->soxr[k].s)
                soxr_delete(w->soxr[k].s);
    }
    free(st->w);
    sono_sbd_close(&st->sbd);
    for (int i = 0; st->shard_fd && i < st->m.shards; i++)
        if (st->shard_fd[i] >= 0)
            close(st->shard_fd[i]);
    free(st->shard_fd);
    free(st->m.clips);
    free(st->out);
    free(st->bufs);
    free(st->free_list);
    free(st->ready_buf);
    free(st->ready_job);
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->has_free);
    pthread_cond_destroy(&st->has_ready);
    free(st);
}

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    (void)ctx;
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "dataload: out of memory");
    st->sbd.fd = -1;
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->has_free, NULL);
    pthread_cond_init(&st->has_ready, NULL);
    *stp = st;
    st->B = sono_param_int(p, "batch", 16);
    st->NB = sono_param_int(p, "batches", 4);
    st->rate = (int)sono_param_int(p, "rate", 16000);
    st->crop = llround(sono_param_real(p, "crop_s", 2.0) * st->rate);
    st->threads = (int)sono_param_int(p, "threads", 1);
    st->prefetch = (int)sono_param_int(p, "prefetch", 2);
    st->seed = (uint64_t)sono_param_int(p, "seed", 1);
    st->pcm_enc = sono_sbd_encoding(sono_param_str(p, "encoding", "pcm16"));
    st->nbuf = (int)(st->prefetch * st->B);
    size_t total = (size_t)(st->NB * st->B * st->crop);
    st->out = malloc(total * sizeof *st->out);
    st->bufs = malloc((size_t)st->nbuf * (size_t)st->crop * sizeof *st->bufs);
    st->free_list = malloc((size_t)st->nbuf * sizeof(int));
    st->ready_buf = malloc((size_t)st->nbuf * sizeof(int));
    st->ready_job = malloc((size_t)st->nbuf * sizeof(long long));
    st->w = calloc((size_t)st->threads, sizeof *st->w);
    if (!st->out || !st->bufs || !st->free_list || !st->ready_buf || !st->ready_job || !st->w)
        return sono_fail(err, SONO_ENOMEM, "dataload: cannot allocate %zu output floats and "
                         "%d crop buffers", total, st->nbuf);
    return 0;
}

/* Open what the manifest names: the .sbd map, or each shard with its members. */
static int load(void *vst, const sono_buf *in, sono_error *err)
{
    state *st = vst;
    free(st->m.clips);
    int rc = dl_parse(in->data, in->nbytes, &st->m, err);
    if (rc)
        return rc;
    dl_manifest *m = &st->m;
    if (!strcmp(m->source, "sbd")) {
        if ((rc = sono_sbd_open(m->derived, 0, &st->sbd, err)))
            return rc;
        if (st->sbd.count != m->n)
            return sono_fail(err, SONO_EPARSE, "dataload: %s holds %lld clips, the manifest "
                             "lists %d", m->derived, st->sbd.count, m->n);
    } else if (!strcmp(m->source, "tar")) {
        if (!(st->shard_fd = malloc((size_t)m->shards * sizeof(int))))
            return sono_fail(err, SONO_ENOMEM, "dataload: out of memory");
        int k = 0;
        for (int s = 0; s < m->shards; s++) {
            char path[4200];
            snprintf(path, sizeof path, "%s/shard-%06d.tar", m->derived, s);
            sono_tar_member *mem;
            int n;
            if ((rc = sono_tar_list(path, &mem, &n, err)))
                return rc;
            st->shard_fd[s] = open(path, O_RDONLY | O_CLOEXEC);
            for (int i = 0; i < n && k < m->n; i++) {
                if (strcmp(mem[i].name, m->clips[k].name) != 0)
                    continue; /* another file of the sample (WebDataset keys group them) */
                m->clips[k].shard = s;
                m->clips[k].tar_off = mem[i].offset;
                m->clips[k].bytes = mem[i].size;
                k++;
            }
            free(mem);
        }
        if (k != m->n)
            return sono_fail(err, SONO_EPARSE, "dataload: the shards in %s hold %d of the %d "
                             "clips", m->derived, k, m->n);
    }
    return 0;
}

static int read_all(int fd, unsigned char *p, size_t n, off_t at)
{
    while (n) {
        ssize_t r = pread(fd, p, n, at);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
        at += r;
    }
    return 0;
}

/* The clip's bytes: a view into the .sbd map, else read into the worker's buffer. */
static int clip_bytes(worker *w, int clip, const void **bytes, size_t *n)
{
    state *st = w->st;
    const dl_clip *c = &st->m.clips[clip];
    if (st->sbd.map) {
        *bytes = sono_sbd_data(&st->sbd, clip);
        *n = st->sbd.index[clip].bytes;
        return 0;
    }
    size_t want = (size_t)c->bytes;
    if (want > w->bcap) {
        unsigned char *g = realloc(w->buf, want);
        if (!g)
            return sono_fail(&w->err, SONO_ENOMEM, "dataload: out of memory");
        w->buf = g;
        w->bcap = want;
    }
    if (st->shard_fd) {
        if (read_all(st->shard_fd[c->shard], w->buf, want, (off_t)c->tar_off))
            return sono_fail(&w->err, SONO_EIO, "dataload: reading %s from shard %d", c->name,
                             c->shard);
    } else {
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", st->m.root, c->name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat sb;
        int bad = fd < 0 || fstat(fd, &sb) || (size_t)sb.st_size != want ||
                  read_all(fd, w->buf, want, 0);
        if (fd >= 0)
            close(fd);
        if (bad)
            return sono_fail(&w->err, SONO_EIO, "dataload: cannot read %s (%zu bytes as the "
                             "manifest says)", path, want);
    }
    *bytes = w->buf;
    *n = want;
    w->bytes += (double)want;
    return 0;
}

static soxr_t get_soxr(worker *w, int fd, int rate)
{
    int k = 0;
    for (; k < NSOXR && w->soxr[k].s; k++)
        if (w->soxr[k].fd == fd) {
            soxr_clear(w->soxr[k].s);
            return w->soxr[k].s;
        }
    if (k == NSOXR) { /* more rates than slots: replace the last */
        soxr_delete(w->soxr[--k].s);
        w->soxr[k].s = NULL;
    }
    soxr_error_t e = NULL;
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    /* pass to 0.95 of the lower Nyquist, stop at 1.0: keeps more of the band than soxr's
     * default 0.913 (torchaudio's resample keeps 0.99), still alias-free */
    q.passband_end = 0.95;
    w->soxr[k].s = soxr_create(fd, rate, 1, &e, &io, &q, NULL);
    w->soxr[k].fd = fd;
    return e ? NULL : w->soxr[k].s;
}

static long long gcd(long long a, long long b)
{
    while (b) {
        long long t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Slot `job` into dst (crop floats). */
static int do_slot(worker *w, long long job, float *dst)
{
    state *st = w->st;
    long long b = job / st->B, s = job % st->B, start, L;
    int clip, fd;
    dl_slot(st->seed, b, s, &st->m, st->crop, st->rate, &clip, &start, &L);
    double t0 = now_ns();
    const void *bytes;
    size_t n;
    int rc = clip_bytes(w, clip, &bytes, &n);
    if (rc)
        return rc;
    double t1 = now_ns();
    int enc = st->sbd.map ? st->sbd.index[clip].encoding : 0;
    int pcm_rate = st->sbd.map ? (int)st->sbd.index[clip].rate : 0;
    int pcm_ch = st->sbd.map ? st->sbd.index[clip].channels : 0;
    long long pcm_frames = st->sbd.map ? (long long)st->sbd.index[clip].frames : 0, frames;
    dl_dec *d = NULL;
    rc = dl_dec_open(&d, st->m.format, bytes, n, enc, pcm_rate, pcm_ch, pcm_frames, &fd,
                     &frames, &w->err);
    /* the span the crop needs at the decoder's rate fd, with a margin for the filter; its
     * first sample a multiple of fd / gcd, so the crop falls on whole output samples */
    long long lo, hi, j0 = 0;
    if (fd == st->rate) {
        lo = start;
        hi = start + st->crop;
    } else {
        long long P = fd / gcd(fd, st->rate);
        lo = (start * fd / st->rate - MARGIN) / P * P;
        lo = lo < 0 ? 0 : lo;
        hi = (start + st->crop) * fd / st->rate + 1 + MARGIN;
        j0 = start - lo / P * (st->rate / gcd(fd, st->rate));
    }
    if (!rc)
        rc = dl_dec_read(d, lo, hi, &w->sp, &w->err);
    if (st->sbd.map) /* mapped: count what the decoder touched, not a read */
        w->bytes += (double)dl_dec_touched(d);
    dl_dec_close(d);
    if (rc)
        return rc;
    double t2 = now_ns();
    const float *y = w->sp.x;
    long long have = w->sp.n;
    if (fd != st->rate) {
        long long olen = j0 + st->crop;
        if (olen > w->rcap) {
            float *g = realloc(w->rs, (size_t)olen * sizeof *g);
            if (!g)
                return sono_fail(&w->err, SONO_ENOMEM, "dataload: out of memory");
            w->rs = g;
            w->rcap = olen;
        }
        soxr_t sx = get_soxr(w, fd, st->rate);
        if (!sx)
            return sono_fail(&w->err, SONO_EDEVICE, "dataload: soxr %d -> %d Hz failed", fd,
                             st->rate);
        size_t idone = 0, odone = 0, od = 0;
        soxr_error_t e = soxr_process(sx, w->sp.x, (size_t)w->sp.n, &idone, w->rs,
                                      (size_t)olen, &odone);
        while (!e && odone < (size_t)olen) { /* flush: the filter's tail */
            e = soxr_process(sx, NULL, 0, NULL, w->rs + odone, (size_t)olen - odone, &od);
            if (!od)
                break;
            odone += od;
        }
        if (e)
            return sono_fail(&w->err, SONO_EDEVICE, "dataload: soxr: %s", e);
        y = w->rs + j0;
        have = (long long)odone - j0;
    }
    double t3 = now_ns();
    double ss = 0;
    for (long long i = 0; i < st->crop; i++) {
        float v = i < have && start + i < L ? y[i] : 0.0f;
        dst[i] = v;
        ss += (double)v * v;
    }
    float g = (float)(1.0 / sqrt(ss / (double)st->crop + 1e-12));
    for (long long i = 0; i < st->crop; i++)
        dst[i] *= g;
    double t4 = now_ns();
    w->ns[ST_READ] += t1 - t0;
    w->ns[ST_DECODE] += t2 - t1;
    w->ns[ST_RESAMPLE] += t3 - t2;
    w->ns[ST_CROP] += t4 - t3;
    return 0;
}

static void *work(void *arg)
{
    worker *w = arg;
    state *st = w->st;
    long long total = st->NB * st->B;
    for (;;) {
        long long job = atomic_fetch_add(&st->next, 1);
        if (job >= total)
            break;
        double t0 = now_ns();
        pthread_mutex_lock(&st->mu);
        while (!st->nfree && !st->failed)
            pthread_cond_wait(&st->has_free, &st->mu);
        int k = st->failed ? -1 : st->free_list[--st->nfree];
        pthread_mutex_unlock(&st->mu);
        w->ns[ST_FULL] += now_ns() - t0;
        if (k < 0)
            break;
        int rc = do_slot(w, job, st->bufs + (size_t)k * (size_t)st->crop);
        pthread_mutex_lock(&st->mu);
        if (rc) {
            w->rc = rc;
            st->failed = 1;
            pthread_cond_broadcast(&st->has_free);
        }
        st->ready_buf[st->nready] = k;
        st->ready_job[st->nready++] = rc ? -1 : job;
        pthread_cond_signal(&st->has_ready);
        pthread_mutex_unlock(&st->mu);
        if (rc)
            break;
    }
    return NULL;
}

static int run(void *vst)
{
    state *st = vst;
    double r0 = now_ns();
    long long total = st->NB * st->B;
    atomic_store(&st->next, 0);
    st->nfree = st->nbuf;
    for (int i = 0; i < st->nbuf; i++)
        st->free_list[i] = i;
    st->nready = 0;
    st->failed = 0;
    int started = 0;
    for (; started < st->threads; started++) {
        st->w[started].st = st;
        st->w[started].rc = 0;
        if (pthread_create(&st->w[started].tid, NULL, work, &st->w[started]))
            break;
    }
    int rc = started ? 0 : SONO_EDEVICE;
    for (long long got = 0; !rc && got < total; got++) {
        double t0 = now_ns();
        pthread_mutex_lock(&st->mu);
        while (!st->nready)
            pthread_cond_wait(&st->has_ready, &st->mu);
        int k = st->ready_buf[--st->nready];
        long long job = st->ready_job[st->nready];
        pthread_mutex_unlock(&st->mu);
        double t1 = now_ns();
        st->wait_ns += t1 - t0;
        if (job < 0) {
            rc = SONO_EIO;
            break;
        }
        memcpy(st->out + job * st->crop, st->bufs + (size_t)k * (size_t)st->crop,
               (size_t)st->crop * sizeof(float));
        pthread_mutex_lock(&st->mu);
        st->free_list[st->nfree++] = k;
        pthread_cond_signal(&st->has_free);
        pthread_mutex_unlock(&st->mu);
        st->stack_ns += now_ns() - t1;
    }
    if (rc) {
        pthread_mutex_lock(&st->mu);
        st->failed = 1;
        pthread_cond_broadcast(&st->has_free);
        pthread_mutex_unlock(&st->mu);
    }
    for (int t = 0; t < started; t++) {
        pthread_join(st->w[t].tid, NULL);
        if (st->w[t].rc && !rc)
            rc = st->w[t].rc;
    }
    st->runs++;
    st->run_ns += now_ns() - r0;
    return rc;
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    for (int t = 0; t < st->threads; t++)
        if (st->w[t].rc)
            return sono_fail(err, st->w[t].rc, "%s", st->w[t].err.msg);
    if (out->dtype != SONO_F32 || sono_buf_elems(out) != st->NB * st->B * st->crop)
        return sono_fail(err, SONO_EINVAL, "dataload: output must be f32 [%lld, %lld, %lld]",
                         st->NB, st->B, st->crop);
    memcpy(out->data, st->out, out->nbytes);
    return 0;
}

/* What it chose: the source, its format, the workers and the queue; the same text in every
 * run of the same case (compare reads a changed describe as a changed plan). */
static int describe(void *vst, char *buf, size_t n)
{
    state *st = vst;
    snprintf(buf, n, "source %s, %s%s%s; %d worker thread%s, prefetch %d batches",
             st->m.source, st->m.format, st->sbd.map ? " packed " : "",
             st->sbd.map ? sono_sbd_encoding_name(st->pcm_enc) : "", st->threads,
             st->threads > 1 ? "s" : "", st->prefetch);
    return 0;
}

/* What it measured, per run (summed over the workers): each stage's time, the consumer's
 * stacking and waiting, the bottleneck, MB read, batches/s, and how many GPUs it would
 * feed (ABI 6's measured: it differs between runs by nature). */
static int measured(void *vst, char *buf, size_t n)
{
    state *st = vst;
    if (!st->runs)
        return snprintf(buf, n, "no runs") < 0;
    double ns[NSTAGE] = {0}, bytes = 0, r = (double)st->runs;
    for (int t = 0; t < st->threads; t++) {
        for (int k = 0; k < NSTAGE; k++)
            ns[k] += st->w[t].ns[k];
        bytes += st->w[t].bytes;
    }
    int worst = 0;
    for (int k = 1; k < ST_FULL; k++)
        if (ns[k] > ns[worst])
            worst = k;
    double run_s = st->run_ns / r * 1e-9, bps = (double)st->NB / run_s;
    size_t len = (size_t)snprintf(buf, n, "per run (ms, all workers): ");
    for (int k = 0; k < NSTAGE && len < n; k++)
        len += (size_t)snprintf(buf + len, n - len, "%s %.2f, ", STAGE[k], ns[k] / r * 1e-6);
    if (len < n)
        snprintf(buf + len, n - len, "consumer stack %.2f, consumer waiting %.2f; bottleneck: "
                 "%s; %.2f MB %s per run (%.1f MB/s); %.1f batches/s, "
                 "feeds %.1f GPUs at 100 ms per step, %.1f at 250 ms; %.3f h of audio/s",
                 st->stack_ns / r * 1e-6, st->wait_ns / r * 1e-6, STAGE[worst],
                 bytes / r * 1e-6, st->sbd.map ? "touched in the map" : "read (whole files)", bytes / r * 1e-6 / run_s, bps, bps * 0.1, bps * 0.25,
                 (double)(st->NB * st->B * st->crop) / st->rate / run_s / 3600.0);
    return 0;
}

static size_t workspace(void *vst)
{
    const state *st = vst;
    size_t w = sizeof *st + (size_t)(st->NB * st->B * st->crop) * sizeof(float) +
               (size_t)st->nbuf * (size_t)st->crop * sizeof(float);
    for (int t = 0; t < st->threads; t++)
        w += st->w[t].bcap + (size_t)(st->w[t].sp.cap + st->w[t].sp.tcap + st->w[t].rcap) * 4;
    return w;
}

static const sono_impl impls[] = {
    {.abi = SONO_ABI_VERSION,
     .op = "load.batch",
     .name = "threads",
     .summary = "worker threads (libsndfile, libopusfile, soxr HQ) with a bounded prefetch "
                "queue; the caller stacks batches",
     .device = "cpu",
     .growth = SONO_ERR_LOG,
     .supports = supports,
     .setup = setup,
     .load = load,
     .run = run,
     .store = store,
     .teardown = teardown,
     .describe = describe,
     .workspace = workspace,
     .measured = measured},
};

SONO_EXPORT int sono_plugin_init(sono_registry *r, sono_error *err)
{
    if (r->abi != SONO_ABI_VERSION)
        return sono_fail(err, SONO_EABI, "dataload plugin built for ABI %d, harness has %d",
                         SONO_ABI_VERSION, r->abi);
    /* soxr pulls in libgomp, whose start-up allocation LeakSanitizer reports once the
     * harness dlcloses this plugin and libgomp with it; pinned, libgomp stays loaded and
     * that allocation reachable. The handle is kept on purpose. */
    (void)dlopen("libgomp.so.1", RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
    r->add_lib(r, "libsndfile", sf_version_string());
    r->add_lib(r, "soxr", soxr_version());
    for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++) {
        int rc = r->add_impl(r, &impls[i]);
        if (rc < 0)
            return sono_fail(err, rc, "dataload: registering %s/%s failed (%d)", impls[i].op,
                             impls[i].name, rc);
    }
    return 0;
}
