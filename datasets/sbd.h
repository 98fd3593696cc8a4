/* sbd.h — the packed dataset file (.sbd): clips pre-decoded (pcm16, f32) or kept as FLAC,
 * behind one index, read through mmap with zero copies (in the spirit of FFCV's .beton).
 * Compiled into the core and into the dataload plugin; needs only libc.
 *
 * Layout (little-endian; offsets in bytes):
 *   header, 64 bytes:  0 magic "SONOSBD1" | 8 u32 version (1) | 12 u32 header bytes (64)
 *                      16 u64 index_off: where the current index starts | 24..63 zero
 *   clip data:         each clip's bytes at an offset aligned to 64 (pcm16: int16 frames,
 *                      interleaved channels; f32: float; flac: a whole FLAC file)
 *   index block:       at index_off (8-aligned): "SBDINDEX" | u64 count | u64 FNV-1a 64 of
 *                      the entries | count entries of 48 bytes:
 *                      u64 offset | u64 bytes | u64 frames | u32 rate | u16 channels |
 *                      u16 encoding (1 pcm16, 2 f32, 3 flac) | u64 FNV-1a 64 of the clip's
 *                      bytes | u64 zero
 * Appending writes the new clips after the end of the file, then a whole new index after
 * them, fsyncs, and only then publishes it with one aligned 8-byte write of index_off (and
 * fsyncs again). A reader that reads index_off sees either the old index or the new one,
 * both complete, so a file being appended to reads as a consistent prefix. Old index
 * blocks stay behind as dead bytes. Writers take an flock so two appends never interleave. */
#ifndef SONO_SBD_H
#define SONO_SBD_H

#include <stddef.h>
#include <stdint.h>

#include "sono.h"

enum { SONO_SBD_PCM16 = 1, SONO_SBD_F32 = 2, SONO_SBD_FLAC = 3 };

typedef struct sono_sbd_entry {
    uint64_t offset, bytes, frames;
    uint32_t rate;
    uint16_t channels, encoding;
    uint64_t checksum, zero;
} sono_sbd_entry;

/* One clip to append: bytes of data in the encoding's layout. */
typedef struct sono_sbd_clip {
    const void *data;
    size_t bytes;
    long long frames;
    int rate, channels, encoding;
} sono_sbd_clip;

typedef struct sono_sbd {
    int fd;
    const unsigned char *map;
    size_t size;
    long long count;
    const sono_sbd_entry *index; /* inside map */
    char path[1024];
} sono_sbd;

/* FNV-1a 64, the checksum of the index and of each clip. */
uint64_t sono_fnv1a64(const void *data, size_t n);

/* Name of an encoding ("pcm16"), and back (-1 when unknown). */
const char *sono_sbd_encoding_name(int encoding);
int sono_sbd_encoding(const char *name);

/* A new file with no clips (replaces path). */
int sono_sbd_create(const char *path, sono_error *err);
/* Append n clips and publish them at once (see the layout above). */
int sono_sbd_append(const char *path, const sono_sbd_clip *clips, int n, sono_error *err);

/* Map path and check the header and the index (bounds, checksum); verify = 1 also checks
 * every clip's checksum. Truncated or corrupted: SONO_EPARSE naming the file, the offset
 * and what was expected. */
int sono_sbd_open(const char *path, int verify, sono_sbd *s, sono_error *err);
void sono_sbd_close(sono_sbd *s);

/* Clip i's bytes: a view into the map, valid until close. */
static inline const void *sono_sbd_data(const sono_sbd *s, long long i)
{
    return s->map + s->index[i].offset;
}

#endif
