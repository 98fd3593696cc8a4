/* sbd.c — writer and mmap reader of the packed dataset file (layout in sbd.h). Writes are
 * ordered data, index, fsync, then the 8-byte publish of index_off, fsync. */
#include "sbd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADER 64
#define ALIGN 64
#define IDX_HEAD 24
static const char MAGIC[8] = {'S', 'O', 'N', 'O', 'S', 'B', 'D', '1'};
static const char IMAGIC[8] = {'S', 'B', 'D', 'I', 'N', 'D', 'E', 'X'};

uint64_t sono_fnv1a64(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

const char *sono_sbd_encoding_name(int e)
{
    return e == SONO_SBD_PCM16 ? "pcm16" : e == SONO_SBD_F32 ? "f32" : e == SONO_SBD_FLAC ? "flac" : "?";
}

int sono_sbd_encoding(const char *name)
{
    for (int e = SONO_SBD_PCM16; e <= SONO_SBD_FLAC; e++)
        if (strcmp(name, sono_sbd_encoding_name(e)) == 0)
            return e;
    return -1;
}

static int write_all(int fd, const void *p, size_t n, off_t at)
{
    const char *c = p;
    while (n) {
        ssize_t w = pwrite(fd, c, n, at);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
        at += w;
    }
    return 0;
}

static int read_all(int fd, void *p, size_t n, off_t at)
{
    char *c = p;
    while (n) {
        ssize_t r = pread(fd, c, n, at);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c += r;
        n -= (size_t)r;
        at += r;
    }
    return 0;
}

/* An index block: head (magic, count, checksum) then the entries. */
static int write_index(int fd, const sono_sbd_entry *e, uint64_t count, off_t at)
{
    unsigned char head[IDX_HEAD];
    uint64_t sum = sono_fnv1a64(e, count * sizeof *e);
    memcpy(head, IMAGIC, 8);
    memcpy(head + 8, &count, 8);
    memcpy(head + 16, &sum, 8);
    if (write_all(fd, head, IDX_HEAD, at))
        return -1;
    return count ? write_all(fd, e, count * sizeof *e, at + IDX_HEAD) : 0;
}

int sono_sbd_create(const char *path, sono_error *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        return sono_fail(err, SONO_EIO, "%s: cannot create: %s", path, strerror(errno));
    unsigned char h[HEADER] = {0};
    uint32_t version = 1, hb = HEADER;
    uint64_t idx = HEADER;
    memcpy(h, MAGIC, 8);
    memcpy(h + 8, &version, 4);
    memcpy(h + 12, &hb, 4);
    memcpy(h + 16, &idx, 8);
    int bad = write_all(fd, h, HEADER, 0) || write_index(fd, NULL, 0, HEADER) || fsync(fd);
    bad |= close(fd) != 0;
    return bad ? sono_fail(err, SONO_EIO, "%s: cannot write: %s", path, strerror(errno)) : 0;
}

/* Check the header and the index block read through fd; *idx, *count: the entries
 * (malloc'd); *sizep: the file's size, taken after index_off was read, so that it covers
 * everything index_off points to even while another process appends. */
static int load_index(int fd, const char *path, uint64_t *sizep, sono_sbd_entry **idx,
                      uint64_t *count, uint64_t *index_off, sono_error *err)
{
    unsigned char h[HEADER], ih[IDX_HEAD];
    *idx = NULL;
    memset(h, 0, sizeof h);
    int short_header = read_all(fd, h, HEADER, 0);
    struct stat st;
    if (fstat(fd, &st))
        return sono_fail(err, SONO_EIO, "%s: cannot stat: %s", path, strerror(errno));
    uint64_t size = (uint64_t)st.st_size;
    *sizep = size;
    /* A file that does not start with the magic is not an .sbd file at all (a WAV given
     * by mistake), whatever its size: say that, not that it is a truncated one. */
    size_t have = size < 8 ? (size_t)size : 8;
    if (memcmp(h, MAGIC, have) != 0) { /* an empty file stays "truncated: 0 bytes" */
        char shown[40] = "";
        for (size_t i = 0, k = 0; i < have && k + 5 < sizeof shown; i++)
            k += (size_t)snprintf(shown + k, sizeof shown - k,
                                  h[i] >= 0x20 && h[i] < 0x7f ? "%c" : "\\x%02x", h[i]);
        return sono_fail(err, SONO_EPARSE,
                         "%s: not an .sbd file (magic at offset 0: \"%s\", expected "
                         "\"SONOSBD1\"; harness dataset pack writes them)", path, shown);
    }
    if (short_header || size < HEADER)
        return sono_fail(err, SONO_EPARSE, "%s: truncated: %llu bytes, the header needs %d",
                         path, (unsigned long long)size, HEADER);
    if (memcmp(h, MAGIC, 8) != 0)
        return sono_fail(err, SONO_EPARSE, "%s: offset 0: expected magic SONOSBD1: not a "
                         "packed dataset", path);
    uint32_t version;
    memcpy(&version, h + 8, 4);
    if (version != 1)
        return sono_fail(err, SONO_EPARSE, "%s: offset 8: version %u, expected 1", path,
                         version);
    uint64_t off;
    memcpy(&off, h + 16, 8);
    if (off < HEADER || off % 8 || off > size || size - off < IDX_HEAD)
        return sono_fail(err, SONO_EPARSE, "%s: truncated or corrupted: the index at offset "
                         "%llu needs %d bytes, the file has %llu", path,
                         (unsigned long long)off, IDX_HEAD, (unsigned long long)size);
    if (read_all(fd, ih, IDX_HEAD, (off_t)off) || memcmp(ih, IMAGIC, 8) != 0)
        return sono_fail(err, SONO_EPARSE, "%s: offset %llu: expected the index magic "
                         "SBDINDEX", path, (unsigned long long)off);
    uint64_t n, sum;
    memcpy(&n, ih + 8, 8);
    memcpy(&sum, ih + 16, 8);
    if (n > (size - off - IDX_HEAD) / sizeof(sono_sbd_entry))
        return sono_fail(err, SONO_EPARSE, "%s: truncated: the index at offset %llu lists %llu "
                         "clips, the file ends %llu bytes after it", path,
                         (unsigned long long)off, (unsigned long long)n,
                         (unsigned long long)(size - off));
    sono_sbd_entry *e = malloc(n ? n * sizeof *e : 1);
    if (!e)
        return sono_fail(err, SONO_ENOMEM, "%s: cannot allocate its index", path);
    if (n && read_all(fd, e, n * sizeof *e, (off_t)off + IDX_HEAD)) {
        free(e);
        return sono_fail(err, SONO_EIO, "%s: cannot read its index", path);
    }
    if (sono_fnv1a64(e, n * sizeof *e) != sum) {
        free(e);
        return sono_fail(err, SONO_EPARSE, "%s: offset %llu: the index checksum does not "
                         "match (expected %016llx): corrupted", path,
                         (unsigned long long)off + 16, (unsigned long long)sum);
    }
    for (uint64_t i = 0; i < n; i++) {
        uint64_t fb = e[i].encoding == SONO_SBD_PCM16 ? 2 : e[i].encoding == SONO_SBD_F32 ? 4 : 0;
        int ok = e[i].offset >= HEADER && e[i].offset <= off && e[i].bytes <= off - e[i].offset &&
                 e[i].channels >= 1 && e[i].rate >= 1 && e[i].encoding >= SONO_SBD_PCM16 &&
                 e[i].encoding <= SONO_SBD_FLAC &&
                 (!fb || e[i].bytes == e[i].frames * e[i].channels * fb);
        if (!ok) {
            int rc = sono_fail(err, SONO_EPARSE, "%s: index entry %llu (offset %llu, %llu "
                               "bytes, %llu frames): does not fit before the index at %llu or "
                               "does not match its encoding: corrupted", path,
                               (unsigned long long)i, (unsigned long long)e[i].offset,
                               (unsigned long long)e[i].bytes, (unsigned long long)e[i].frames,
                               (unsigned long long)off);
            free(e);
            return rc;
        }
    }
    *idx = e;
    *count = n;
    *index_off = off;
    return 0;
}

int sono_sbd_append(const char *path, const sono_sbd_clip *clips, int n, sono_error *err)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return sono_fail(err, SONO_EIO, "%s: cannot open for appending: %s", path,
                         strerror(errno));
    if (flock(fd, LOCK_EX)) {
        close(fd);
        return sono_fail(err, SONO_EIO, "%s: cannot lock: %s", path, strerror(errno));
    }
    sono_sbd_entry *old = NULL, *e = NULL;
    uint64_t count = 0, off = 0, end = 0;
    int rc = load_index(fd, path, &end, &old, &count, &off, err);
    if (!rc && !(e = malloc((count + (uint64_t)n) * sizeof *e + 1)))
        rc = sono_fail(err, SONO_ENOMEM, "%s: cannot allocate the new index", path);
    for (int i = 0; !rc && i < n; i++) {
        const sono_sbd_clip *c = &clips[i];
        end = (end + ALIGN - 1) / ALIGN * ALIGN;
        e[count + i] = (sono_sbd_entry){.offset = end, .bytes = c->bytes,
                                        .frames = (uint64_t)c->frames, .rate = (uint32_t)c->rate,
                                        .channels = (uint16_t)c->channels,
                                        .encoding = (uint16_t)c->encoding,
                                        .checksum = sono_fnv1a64(c->data, c->bytes)};
        if (c->bytes && write_all(fd, c->data, c->bytes, (off_t)end))
            rc = sono_fail(err, SONO_EIO, "%s: writing clip %llu at offset %llu: %s", path,
                           (unsigned long long)(count + i), (unsigned long long)end,
                           strerror(errno));
        end += c->bytes;
    }
    if (!rc) {
        memcpy(e, old, count * sizeof *e);
        uint64_t at = (end + 7) / 8 * 8;
        if (write_index(fd, e, count + (uint64_t)n, (off_t)at) || fsync(fd) ||
            write_all(fd, &at, 8, 16) || fsync(fd))
            rc = sono_fail(err, SONO_EIO, "%s: writing the index: %s", path, strerror(errno));
    }
    free(old);
    free(e);
    close(fd); /* drops the lock */
    return rc;
}

int sono_sbd_open(const char *path, int verify, sono_sbd *s, sono_error *err)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    snprintf(s->path, sizeof s->path, "%s", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sono_fail(err, errno == ENOENT ? SONO_ENOTFOUND : SONO_EIO, "%s: cannot open: %s",
                         path, strerror(errno));
    sono_sbd_entry *e;
    uint64_t count, ioff, size;
    int rc = load_index(fd, path, &size, &e, &count, &ioff, err);
    if (rc) {
        close(fd);
        return rc;
    }
    free(e); /* the map's copy is used: it is the same bytes, already checked */
    void *m = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        close(fd);
        return sono_fail(err, SONO_EIO, "%s: cannot mmap %llu bytes: %s", path,
                         (unsigned long long)size, strerror(errno));
    }
    s->fd = fd;
    s->map = m;
    s->size = (size_t)size;
    s->count = (long long)count;
    s->index = (const sono_sbd_entry *)(void *)(s->map + ioff + IDX_HEAD);
    /* the map could differ from what was read only if the file changed in place, which an
     * append never does; checked once more so a rewrite in place is caught */
    if (sono_fnv1a64(s->index, count * sizeof *s->index) !=
        *(const uint64_t *)(const void *)(s->map + ioff + 16)) {
        sono_sbd_close(s);
        return sono_fail(err, SONO_EPARSE, "%s: the index changed while it was read", path);
    }
    for (long long i = 0; verify && i < s->count; i++)
        if (sono_fnv1a64(sono_sbd_data(s, i), s->index[i].bytes) != s->index[i].checksum) {
            rc = sono_fail(err, SONO_EPARSE, "%s: clip %lld at offset %llu (%llu bytes): "
                           "checksum does not match the index (expected %016llx): corrupted",
                           path, i, (unsigned long long)s->index[i].offset,
                           (unsigned long long)s->index[i].bytes,
                           (unsigned long long)s->index[i].checksum);
            sono_sbd_close(s);
            return rc;
        }
    return 0;
}

void sono_sbd_close(sono_sbd *s)
{
    if (s->map)
        munmap((void *)s->map, s->size);
    if (s->fd >= 0)
        close(s->fd);
    s->map = NULL;
    s->fd = -1;
}
