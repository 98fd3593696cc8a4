/* rvq_train.c — the RVQ codebooks of the rvq ops: greedy residual k-means on windows of the
 * training speech recordings (seeded, so every machine trains the same codebooks), and
 * their cache file, keyed by the settings and verified by sha256 on load (vqdata.h). */
#include "vqdata.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio.h"
#include "prng.h"
#include "sha256.h"

#define MAGIC "SONORVQ1"
#define BLOCK 32 /* codes per block of the distance kernel: 8 SSE registers of sums */
#define THREADS 2 /* training is a one-off: the 2 cores of a small machine */

sono_rvq_cfg sono_rvq_default_cfg(long long K, long long D, unsigned long long seed)
{
    return (sono_rvq_cfg){.K = K, .D = D, .n_q = 32, .n_train = 16 * K, .iters = 1,
                          .seed = seed};
}

static int cfg_ok(const sono_rvq_cfg *c, sono_error *err)
{
    if (c->K < 1 || c->K > 65536 || c->D < 1 || c->D > 4096 || c->n_q < 1 || c->n_q > 64 ||
        c->iters < 0 || c->iters > 1000 || c->n_train < c->K || c->n_train > (1LL << 22))
        return sono_fail(err, SONO_EINVAL,
                         "rvq training: K=%lld D=%lld n_q=%d iters=%d n_train=%lld out of "
                         "range (K <= 65536, D <= 4096, n_q <= 64, iters <= 1000, K <= "
                         "n_train <= 2^22)", c->K, c->D, c->n_q, c->iters, c->n_train);
    return 0;
}

/* ---- training data ------------------------------------------------------------------ */

/* The training recordings at 24 kHz, concatenated and normalised; *n: their samples. */
static int train_signal(float **sig, long long *n, sono_error *err)
{
    char manifest[4096], path[4096];
    *sig = NULL;
    *n = 0;
    int count = 0, rc = sono_speech_find_manifest(manifest, sizeof manifest, err);
    if (!rc)
        rc = sono_speech_check_manifest(manifest, err);
    if (!rc)
        rc = sono_speech_entry(manifest, 0, path, sizeof path, NULL, &count, err);
    if (!rc && count < SONO_VQ_TRAIN_FILES)
        return sono_fail(err, SONO_EPARSE, "%s lists %d recordings; rvq training needs %d",
                         manifest, count, SONO_VQ_TRAIN_FILES);
    long long cap = 0;
    for (int i = 0; !rc && i < SONO_VQ_TRAIN_FILES; i++) {
        long long frames;
        int file_rate;
        rc = sono_speech_entry(manifest, i, path, sizeof path, NULL, NULL, err);
        if (!rc)
            rc = sono_audio_check(path, &file_rate, &frames, err);
        /* resampling may give a sample or two more than the ratio says */
        cap += (long long)ceil(frames * SONO_VQ_RATE / file_rate) + 64;
    }
    float *s = rc ? NULL : malloc((size_t)cap * sizeof *s);
    if (!rc && !s)
        rc = sono_fail(err, SONO_ENOMEM, "rvq training: cannot allocate %lld samples", cap);
    long long have = 0;
    for (int i = 0; !rc && i < SONO_VQ_TRAIN_FILES; i++) {
        long long got = 0;
        rc = sono_speech_entry(manifest, i, path, sizeof path, NULL, NULL, err);
        if (!rc)
            rc = sono_audio_read(path, SONO_VQ_RATE, s + have, cap - have, &got, NULL, err);
        have += got;
    }
    if (rc) {
        free(s);
        return rc;
    }
    sono_vq_normalise(s, have);
    *sig = s;
    *n = have;
    return 0;
}

/* ---- k-means ------------------------------------------------------------------------ */

typedef struct km {
    long long K, Kp, D, N;
    float *ct;  /* codebook transposed [D, Kp], zero past K */
    float *cn;  /* ||c_k||^2 [Kp], +inf past K so a padding code never wins */
    int *idx;   /* [N] */
    double *sum;
    long long *cnt;
} km;

static void km_prepare(km *m, const float *cb)
{
    for (long long j = 0; j < m->D; j++)
        for (long long k = 0; k < m->Kp; k++)
            m->ct[j * m->Kp + k] = k < m->K ? cb[k * m->D + j] : 0.0f;
    for (long long k = 0; k < m->Kp; k++) {
        float s = 0;
        for (long long j = 0; j < m->D && k < m->K; j++)
            s += cb[k * m->D + j] * cb[k * m->D + j];
        m->cn[k] = k < m->K ? s : INFINITY;
    }
}

/* Nearest code of rows [lo, hi) by ||c||^2 - 2 x.c in float32; the sums run across a block
 * of codes, so the compiler keeps them in vector registers. Ties to the lowest index. */
static void km_assign_rows(const km *m, const float *x, long long lo, long long hi)
{
    for (long long i = lo; i < hi; i++) {
        const float *xi = x + i * m->D;
        float best = INFINITY;
        int bi = 0;
        for (long long k0 = 0; k0 < m->Kp; k0 += BLOCK) {
            float acc[BLOCK] = {0};
            for (long long j = 0; j < m->D; j++) {
                const float xj = xi[j], *c = m->ct + j * m->Kp + k0;
                for (int k = 0; k < BLOCK; k++)
                    acc[k] += xj * c[k];
            }
            for (int k = 0; k < BLOCK; k++) {
                float d = m->cn[k0 + k] - 2.0f * acc[k];
                if (d < best) {
                    best = d;
                    bi = (int)(k0 + k);
                }
            }
        }
        m->idx[i] = bi;
    }
}

typedef struct part {
    const km *m;
    const float *x;
    long long lo, hi;
} part;

static void *assign_part(void *a)
{
    const part *p = a;
    km_assign_rows(p->m, p->x, p->lo, p->hi);
    return NULL;
}

/* Rows split over up to THREADS threads: each row's code is the same whoever computes it,
 * so the result does not depend on the split. Falls back to one thread on failure. */
static void km_assign(km *m, const float *x)
{
    long long cpus = sysconf(_SC_NPROCESSORS_ONLN), nt = cpus < 1 ? 1 : cpus;
    if (nt > THREADS)
        nt = THREADS;
    pthread_t th[THREADS];
    part pa[THREADS];
    int started[THREADS] = {0};
    for (long long t = 0; t < nt; t++)
        pa[t] = (part){m, x, m->N * t / nt, m->N * (t + 1) / nt};
    for (long long t = 1; t < nt; t++)
        started[t] = pthread_create(&th[t], NULL, assign_part, &pa[t]) == 0;
    assign_part(&pa[0]);
    for (long long t = 1; t < nt; t++) {
        if (started[t])
            pthread_join(th[t], NULL);
        else
            assign_part(&pa[t]);
    }
}

/* K distinct rows of x, drawn without replacement (partial Fisher-Yates); exact
 * duplicates (silence) are skipped so no two codewords start equal. */
static int km_init(km *m, const float *x, uint64_t rng[4], float *cb, sono_error *err)
{
    long long *perm = malloc((size_t)m->N * sizeof *perm), got = 0;
    if (!perm)
        return sono_fail(err, SONO_ENOMEM, "rvq training: cannot allocate %lld indices",
                         m->N);
    for (long long i = 0; i < m->N; i++)
        perm[i] = i;
    for (long long i = 0; i < m->N && got < m->K; i++) {
        long long j = i + (long long)(sono_xoshiro_next(rng) % (uint64_t)(m->N - i));
        long long t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
        const float *row = x + perm[i] * m->D;
        int dup = 0;
        for (long long k = 0; k < got && !dup; k++)
            dup = !memcmp(cb + k * m->D, row, (size_t)m->D * sizeof *row);
        if (!dup)
            memcpy(cb + got++ * m->D, row, (size_t)m->D * sizeof *row);
    }
    free(perm);
    /* fewer distinct rows than codes (residuals that earlier stages zeroed): the rest
     * repeat them; ties go to the lowest index, so a repeat stays unused */
    for (long long k = got; k < m->K; k++)
        memcpy(cb + k * m->D, cb + (got ? k % got : 0) * m->D, (size_t)m->D * sizeof *cb);
    return 0;
}

static void km_update(km *m, const float *x, float *cb)
{
    memset(m->sum, 0, (size_t)(m->K * m->D) * sizeof *m->sum);
    memset(m->cnt, 0, (size_t)m->K * sizeof *m->cnt);
    for (long long i = 0; i < m->N; i++) {
        double *s = m->sum + (long long)m->idx[i] * m->D;
        for (long long j = 0; j < m->D; j++)
            s[j] += x[i * m->D + j];
        m->cnt[m->idx[i]]++;
    }
    for (long long k = 0; k < m->K; k++)
        for (long long j = 0; m->cnt[k] && j < m->D; j++)
            cb[k * m->D + j] = (float)(m->sum[k * m->D + j] / (double)m->cnt[k]);
}

static int km_stages(const sono_rvq_cfg *cfg, float *x, uint64_t rng[4], float *cb,
                     sono_error *err)
{
    km m = {.K = cfg->K, .D = cfg->D, .N = cfg->n_train};
    m.Kp = (m.K + BLOCK - 1) / BLOCK * BLOCK;
    m.ct = malloc((size_t)(m.D * m.Kp) * sizeof *m.ct);
    m.cn = malloc((size_t)m.Kp * sizeof *m.cn);
    m.idx = malloc((size_t)m.N * sizeof *m.idx);
    m.sum = malloc((size_t)(m.K * m.D) * sizeof *m.sum);
    m.cnt = malloc((size_t)m.K * sizeof *m.cnt);
    int rc = 0;
    if (!m.ct || !m.cn || !m.idx || !m.sum || !m.cnt)
        rc = sono_fail(err, SONO_ENOMEM, "rvq training: cannot allocate K=%lld D=%lld "
                       "N=%lld", m.K, m.D, m.N);
    for (int s = 0; !rc && s < cfg->n_q; s++) {
        float *c = cb + (long long)s * m.K * m.D;
        if ((rc = km_init(&m, x, rng, c, err)))
            break;
        for (int it = 0; it < cfg->iters; it++) {
            km_prepare(&m, c);
            km_assign(&m, x);
            km_update(&m, x, c);
        }
        km_prepare(&m, c);
        km_assign(&m, x);
        for (long long i = 0; i < m.N; i++)
            for (long long j = 0; j < m.D; j++)
                x[i * m.D + j] -= c[(long long)m.idx[i] * m.D + j];
    }
    free(m.ct);
    free(m.cn);
    free(m.idx);
    free(m.sum);
    free(m.cnt);
    return rc;
}

int sono_rvq_train(const sono_rvq_cfg *cfg, float *cb, sono_error *err)
{
    int rc = cfg_ok(cfg, err);
    if (rc)
        return rc;
    float *sig, *x = NULL;
    long long n;
    if ((rc = train_signal(&sig, &n, err)))
        return rc;
    if (n < cfg->D)
        rc = sono_fail(err, SONO_EINVAL, "rvq training: %lld samples of speech, shorter "
                       "than one window of D=%lld", n, cfg->D);
    else if (!(x = malloc((size_t)(cfg->n_train * cfg->D) * sizeof *x)))
        rc = sono_fail(err, SONO_ENOMEM, "rvq training: cannot allocate %lld x %lld",
                       cfg->n_train, cfg->D);
    uint64_t rng[4];
    sono_xoshiro_seed(rng, cfg->seed);
    for (long long i = 0; !rc && i < cfg->n_train; i++) {
        long long off = (long long)(sono_xoshiro_next(rng) % (uint64_t)(n - cfg->D + 1));
        memcpy(x + i * cfg->D, sig + off, (size_t)cfg->D * sizeof *x);
    }
    free(sig);
    if (!rc)
        rc = km_stages(cfg, x, rng, cb, err);
    free(x);
    return rc;
}

/* ---- the cache file ------------------------------------------------------------------ */

typedef struct header {
    char magic[8];
    uint32_t K, D, n_q, n_train, iters, pad;
    uint64_t seed;
    char key[64];
} header;

/* sha256 of the settings and of the training recordings' listed hashes, as hex. */
static int cache_key(const sono_rvq_cfg *cfg, char hex[65], sono_error *err)
{
    char manifest[4096], path[4096], text[1024];
    int rc = sono_speech_find_manifest(manifest, sizeof manifest, err);
    int w = snprintf(text, sizeof text, "rvq v1 rate=%g hop=%lld K=%lld D=%lld n_q=%d "
                     "n_train=%lld iters=%d seed=%llu train=", SONO_VQ_RATE, SONO_VQ_HOP,
                     cfg->K, cfg->D, cfg->n_q, cfg->n_train, cfg->iters, cfg->seed);
    for (int i = 0; !rc && i < SONO_VQ_TRAIN_FILES; i++) {
        char sha[65];
        rc = sono_speech_entry(manifest, i, path, sizeof path, sha, NULL, err);
        w += snprintf(text + w, sizeof text - (size_t)w, "%s,", rc ? "" : sha);
    }
    if (!rc)
        sono_sha256_hex(text, strlen(text), hex);
    return rc;
}

static header make_header(const sono_rvq_cfg *cfg, const char key[65])
{
    header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, MAGIC, 8);
    h.K = (uint32_t)cfg->K;
    h.D = (uint32_t)cfg->D;
    h.n_q = (uint32_t)cfg->n_q;
    h.n_train = (uint32_t)cfg->n_train;
    h.iters = (uint32_t)cfg->iters;
    h.seed = cfg->seed;
    memcpy(h.key, key, 64);
    return h;
}

int sono_rvq_cache_path(const sono_rvq_cfg *cfg, char *path, size_t n, sono_error *err)
{
    char key[65], dir[4096];
    int rc = cfg_ok(cfg, err);
    if (!rc)
        rc = cache_key(cfg, key, err);
    if (rc)
        return rc;
    const char *env = getenv("SONO_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"),
               *home = getenv("HOME");
    if (env && env[0])
        snprintf(dir, sizeof dir, "%s", env);
    else if (xdg && xdg[0])
        snprintf(dir, sizeof dir, "%s/sonobench", xdg);
    else if (home && home[0])
        snprintf(dir, sizeof dir, "%s/.cache/sonobench", home);
    else
        return sono_fail(err, SONO_ENOTFOUND, "rvq cache: none of SONO_CACHE_DIR, "
                         "XDG_CACHE_HOME, HOME is set");
    if (snprintf(path, n, "%s/rvq-K%lld-D%lld-q%d-%.16s.bin", dir, cfg->K, cfg->D, cfg->n_q,
                 key) >= (int)n)
        return sono_fail(err, SONO_EINVAL, "rvq cache: path under %s is too long", dir);
    return 0;
}

static size_t cb_bytes(const sono_rvq_cfg *cfg)
{
    return (size_t)cfg->n_q * (size_t)cfg->K * (size_t)cfg->D * sizeof(float);
}

/* mkdir -p of path's folder */
static int make_dirs(const char *path)
{
    char d[4096];
    snprintf(d, sizeof d, "%s", path);
    for (char *p = d + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(d, 0755) && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return 0;
}

int sono_rvq_save(const char *path, const sono_rvq_cfg *cfg, const float *cb,
                  sono_error *err)
{
    char key[65], tmp[4200];
    int rc = cache_key(cfg, key, err);
    if (rc)
        return rc;
    header h = make_header(cfg, key);
    unsigned char sha[32];
    sono_sha256 c;
    sono_sha256_init(&c);
    sono_sha256_update(&c, cb, cb_bytes(cfg));
    sono_sha256_final(&c, sha);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (make_dirs(path))
        return sono_fail(err, SONO_EIO, "rvq cache: cannot create the folder of %s: %s",
                         path, strerror(errno));
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return sono_fail(err, SONO_EIO, "rvq cache: cannot write %s: %s", tmp,
                         strerror(errno));
    int bad = fwrite(&h, sizeof h, 1, f) != 1 ||
              fwrite(cb, 1, cb_bytes(cfg), f) != cb_bytes(cfg) ||
              fwrite(sha, sizeof sha, 1, f) != 1;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path)) {
        remove(tmp);
        return sono_fail(err, SONO_EIO, "rvq cache: writing %s failed", path);
    }
    return 0;
}

int sono_rvq_load(const char *path, const sono_rvq_cfg *cfg, float *cb, sono_error *err)
{
    char key[65];
    int rc = cache_key(cfg, key, err);
    if (rc)
        return rc;
    FILE *f = fopen(path, "rb");
    if (!f)
        return sono_fail(err, errno == ENOENT ? SONO_ENOTFOUND : SONO_EIO,
                         "rvq cache: cannot read %s: %s", path, strerror(errno));
    size_t want = sizeof(header) + cb_bytes(cfg) + 32;
    header h, expect = make_header(cfg, key);
    unsigned char sha[32], got_sha[32];
    struct stat st;
    if (fstat(fileno(f), &st) || (size_t)st.st_size != want)
        rc = sono_fail(err, SONO_EPARSE, "rvq cache %s: %lld bytes, expected %zu (%s)", path,
                       (long long)st.st_size, want,
                       (size_t)st.st_size < want ? "truncated" : "trailing data");
    else if (fread(&h, sizeof h, 1, f) != 1 || fread(cb, 1, cb_bytes(cfg), f) != cb_bytes(cfg) ||
             fread(sha, sizeof sha, 1, f) != 1)
        rc = sono_fail(err, SONO_EIO, "rvq cache %s: read failed", path);
    else if (memcmp(&h, &expect, sizeof h))
        rc = sono_fail(err, SONO_EPARSE, "rvq cache %s: header is not SONORVQ1 with these "
                       "settings (K=%lld D=%lld n_q=%d, key %.16s)", path, cfg->K, cfg->D,
                       cfg->n_q, key);
    fclose(f);
    if (rc)
        return rc;
    sono_sha256 c;
    sono_sha256_init(&c);
    sono_sha256_update(&c, cb, cb_bytes(cfg));
    sono_sha256_final(&c, got_sha);
    if (memcmp(sha, got_sha, sizeof sha))
        return sono_fail(err, SONO_EPARSE, "rvq cache %s: the codebooks fail their sha256 "
                         "(corrupt file)", path);
    return 0;
}

int sono_rvq_codebooks(const sono_rvq_cfg *cfg, float *cb, sono_error *err)
{
    char path[4096];
    int rc = sono_rvq_cache_path(cfg, path, sizeof path, err);
    if (rc)
        return rc;
    sono_error lerr = {0};
    rc = sono_rvq_load(path, cfg, cb, &lerr);
    if (!rc)
        return 0;
    if (rc != SONO_ENOTFOUND)
        fprintf(stderr, "sonobench: %s; retraining the codebooks\n", lerr.msg);
    if ((rc = sono_rvq_train(cfg, cb, err)))
        return rc;
    sono_error serr = {0};
    if (sono_rvq_save(path, cfg, cb, &serr))
        fprintf(stderr, "sonobench: %s; the codebooks are used without a cache\n",
                serr.msg);
    return 0;
}
