/* manifest.c — the dataload backend's reading of load.batch's input manifest and its
 * crop rule, restated from harness/ops/load_batch.h by definition. */
#include "dl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t dl_key(uint64_t seed, uint64_t b, uint64_t s, uint64_t k)
{
    uint64_t z = seed * 0x9e3779b97f4a7c15ull + b * 0xbf58476d1ce4e5b9ull +
                 s * 0x94d049bb133111ebull + k;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void dl_slot(uint64_t seed, long long b, long long s, const dl_manifest *m, long long crop,
             int rate, int *clip, long long *start, long long *L)
{
    *clip = (int)(dl_key(seed, (uint64_t)b, (uint64_t)s, 0) % (uint64_t)m->n);
    const dl_clip *c = &m->clips[*clip];
    *L = c->frames * rate / c->rate;
    *start = *L > crop
                 ? (long long)(dl_key(seed, (uint64_t)b, (uint64_t)s, 1) % (uint64_t)(*L - crop + 1))
                 : 0;
}

/* One "key value..." line after the first; returns the next line or NULL. */
int dl_parse(const char *text, size_t len, dl_manifest *m, sono_error *err)
{
    memset(m, 0, sizeof *m);
    if (!len || !memchr(text, 0, len) || strncmp(text, "sonobench load.batch 1\n", 23) != 0)
        return sono_fail(err, SONO_EPARSE, "dataload: the input is not a load.batch manifest");
    for (const char *p = strchr(text, '\n') + 1; *p; p = strchr(p, '\n') + 1) {
        if (!strncmp(p, "source ", 7))
            sscanf(p + 7, "%7s", m->source);
        else if (!strncmp(p, "format ", 7))
            sscanf(p + 7, "%7s", m->format);
        else if (!strncmp(p, "root ", 5))
            sscanf(p + 5, "%4095s", m->root);
        else if (!strncmp(p, "packed ", 7))
            sscanf(p + 7, "%4095s", m->derived);
        else if (!strncmp(p, "shards ", 7))
            sscanf(p + 7, "%4095s %d", m->derived, &m->shards);
        else if (!strncmp(p, "clips ", 6)) {
            if (sscanf(p + 6, "%d", &m->n) != 1 || m->n < 1 ||
                !(m->clips = calloc((size_t)m->n, sizeof *m->clips)))
                return sono_fail(err, SONO_EPARSE, "dataload: bad clip count in the manifest");
            for (int i = 0; i < m->n; i++) {
                dl_clip *c = &m->clips[i];
                char sha[80];
                p = strchr(p, '\n');
                if (!p || sscanf(++p, "%127s %lld %79s %d %lld %d", c->name, &c->bytes, sha,
                                 &c->rate, &c->frames, &c->channels) != 6 || c->rate < 1) {
                    free(m->clips);
                    m->clips = NULL;
                    return sono_fail(err, SONO_EPARSE, "dataload: manifest clip line %d "
                                     "malformed", i + 1);
                }
            }
            return 0;
        }
        if (!strchr(p, '\n'))
            break;
    }
    return sono_fail(err, SONO_EPARSE, "dataload: the manifest lists no clips");
}
