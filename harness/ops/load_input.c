/* load_input.c — load.batch's input: the manifest of the clips a case loads (from the
 * generated corpus or a user's folder), with the packed file or the tar shards made from
 * them beforehand and cached, never inside the timed run; its parser and the crop rule. */
#include "load_batch.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corpus.h"
#include "pack.h"
#include "sbd.h"
#include "sha256.h"

uint64_t lb_key(uint64_t seed, uint64_t b, uint64_t s, uint64_t k)
{
    uint64_t z = seed * 0x9e3779b97f4a7c15ull + b * 0xbf58476d1ce4e5b9ull +
                 s * 0x94d049bb133111ebull + k;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void lb_slot(uint64_t seed, long long b, long long s, const lb_manifest *m, long long crop,
             int rate, int *clip, long long *start, long long *L)
{
    *clip = (int)(lb_key(seed, (uint64_t)b, (uint64_t)s, 0) % (uint64_t)m->n);
    const lb_clip *c = &m->clips[*clip];
    *L = c->frames * rate / c->rate;
    *start = *L > crop ? (long long)(lb_key(seed, (uint64_t)b, (uint64_t)s, 1) %
                                     (uint64_t)(*L - crop + 1))
                       : 0;
}

void lb_manifest_free(lb_manifest *m)
{
    free(m->clips);
    m->clips = NULL;
}

int lb_parse(const char *text, size_t len, lb_manifest *m, sono_error *err)
{
    memset(m, 0, sizeof *m);
    if (len == 0 || memchr(text, 0, len) == NULL)
        return sono_fail(err, SONO_EPARSE, "load.batch: the input holds no NUL-ended manifest");
    const char *p = text;
    int line = 0;
    char key[32];
    if (strncmp(p, "sonobench load.batch 1\n", 23) != 0)
        return sono_fail(err, SONO_EPARSE, "load.batch: the input is not a load.batch "
                         "manifest (expected 'sonobench load.batch 1')");
    while ((p = strchr(p, '\n')) && *++p) {
        line++;
        if (sscanf(p, "%31s", key) != 1)
            break;
        if (strcmp(key, "source") == 0)
            sscanf(p, "source %7s", m->source);
        else if (strcmp(key, "format") == 0)
            sscanf(p, "format %7s", m->format);
        else if (strcmp(key, "root") == 0)
            sscanf(p, "root %4095s", m->root);
        else if (strcmp(key, "packed") == 0)
            sscanf(p, "packed %4095s", m->packed);
        else if (strcmp(key, "shards") == 0)
            sscanf(p, "shards %4095s %d", m->packed, &m->shards);
        else if (strcmp(key, "clips") == 0) {
            if (sscanf(p, "clips %d", &m->n) != 1 || m->n < 1 || m->n > 1000000 ||
                !(m->clips = calloc((size_t)m->n, sizeof *m->clips)))
                return sono_fail(err, SONO_EPARSE, "load.batch manifest line %d: bad clip "
                                 "count", line);
            for (int i = 0; i < m->n; i++) {
                p = strchr(p, '\n');
                lb_clip *c = &m->clips[i];
                char sha[80];
                if (!p || sscanf(++p, "%127s %lld %79s %d %lld %d", c->name, &c->bytes, sha,
                                 &c->rate, &c->frames, &c->channels) != 6 ||
                    c->rate < 1 || c->frames < 0 || c->channels < 1) {
                    lb_manifest_free(m);
                    return sono_fail(err, SONO_EPARSE, "load.batch manifest: clip line %d "
                                     "malformed", i + 1);
                }
            }
            break;
        }
    }
    if (!m->clips || !m->root[0] || !m->source[0]) {
        lb_manifest_free(m);
        return sono_fail(err, SONO_EPARSE, "load.batch manifest: missing source, root or "
                         "clips");
    }
    return 0;
}

/* outdir/shard-*.tar made once per (files, per_shard): in a temporary folder, renamed. */
static int cached_shards(const char *root, const char *ext, int clips, int per_shard,
                         const char *dst, int *shards, sono_error *err)
{
    char probe[PATH_MAX + 32], tmp[PATH_MAX + 32];
    snprintf(probe, sizeof probe, "%s/shard-000000.tar", dst);
    *shards = (clips + per_shard - 1) / per_shard;
    if (access(probe, R_OK) == 0)
        return 0;
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", dst, (long)getpid());
    sono_rmtree(tmp);
    int rc = sono_shard_dir(root, ext, clips, per_shard, tmp, shards, err);
    if (!rc && rename(tmp, dst) && access(probe, R_OK) != 0)
        rc = sono_fail(err, SONO_EIO, "load.batch: cannot rename %s to %s: %s", tmp, dst,
                       strerror(errno));
    sono_rmtree(tmp);
    return rc;
}

int lb_input(const sono_params *p, const sono_input_spec *spec, sono_buf *in, sono_error *err);
int lb_input(const sono_params *p, const sono_input_spec *spec, sono_buf *in, sono_error *err)
{
    const char *source = sono_param_str(p, "source", "dir");
    const char *format = sono_param_str(p, "format", "flac");
    const char *enc = sono_param_str(p, "encoding", "pcm16");
    int clips = (int)sono_param_int(p, "clips", 64);
    int per_shard = (int)sono_param_int(p, "per_shard", 16);
    char root[PATH_MAX], cache[PATH_MAX];
    int rc = 0;
    if (spec->kind == SONO_INPUT_FILE && spec->dir) {
        if (!realpath(spec->path, root))
            return sono_fail(err, SONO_ENOTFOUND, "load.batch: folder %s: %s", spec->path,
                             strerror(errno));
    } else if (spec->kind == SONO_INPUT_GEN) {
        /* any generator name stands for the generated corpus (made from the speech
         * recordings); its seed is fixed so every case shares one corpus */
        if ((rc = sono_corpus_cached(clips, 1, format, root, sizeof root, err)))
            return rc;
    } else
        return sono_fail(err, SONO_EINVAL, "load.batch: input %s is one file; expected a "
                         "folder of audio files (DIR/) or a generator for the generated "
                         "corpus", spec->name);
    char *text = NULL;
    int n = 0;
    if ((rc = sono_corpus_manifest(root, sono_corpus_ext(format), clips, &text, &n, err)))
        return rc;
    char head[LB_HEAD], hex[65];
    int hl = snprintf(head, sizeof head, "sonobench load.batch 1\nsource %s\nformat %s\nroot %s\n",
                      source, format, root);
    if (strcmp(source, "dir") != 0) {
        /* the derived file is named by the files' hashes, so a changed folder repacks */
        sono_sha256 c;
        unsigned char d[32];
        sono_sha256_init(&c);
        sono_sha256_update(&c, text, strlen(text));
        sono_sha256_final(&c, d);
        for (int i = 0; i < 8; i++)
            snprintf(hex + 2 * i, 3, "%02x", d[i]);
        rc = sono_cache_dir(cache, sizeof cache, err);
    }
    char derived[PATH_MAX + 128];
    if (!rc && strcmp(source, "sbd") == 0) {
        snprintf(derived, sizeof derived, "%s/loadbatch-%s-%s.sbd", cache, hex, enc);
        if (access(derived, R_OK) != 0)
            rc = sono_pack_dir(root, sono_corpus_ext(format), clips, sono_sbd_encoding(enc), 0,
                               derived, err);
        hl += snprintf(head + hl, sizeof head - (size_t)hl, "packed %s\n", derived);
    } else if (!rc && strcmp(source, "tar") == 0) {
        int shards = 0;
        snprintf(derived, sizeof derived, "%s/loadbatch-%s-ps%d", cache, hex, per_shard);
        rc = cached_shards(root, sono_corpus_ext(format), clips, per_shard, derived, &shards,
                           err);
        hl += snprintf(head + hl, sizeof head - (size_t)hl, "shards %s %d\n", derived, shards);
    }
    hl += snprintf(head + hl, sizeof head - (size_t)hl, "clips %d\n", n);
    size_t tl = strlen(text);
    if (!rc && (hl >= (int)sizeof head || (size_t)hl + tl + 1 > in->nbytes))
        rc = sono_fail(err, SONO_EINVAL, "load.batch: the manifest of %s (%zu bytes) does not "
                       "fit the input's %zu bytes", root, (size_t)hl + tl, in->nbytes);
    if (!rc) {
        memset(in->data, 0, in->nbytes);
        memcpy(in->data, head, (size_t)hl);
        memcpy((char *)in->data + hl, text, tl);
    }
    free(text);
    return rc;
}
