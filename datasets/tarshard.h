/* tarshard.h — tar shards in the WebDataset layout: plain ustar archives
 * shard-NNNNNN.tar whose members are "<key>.<ext>", the files of one sample next to each
 * other and grouped by key (the name up to its first dot). Writer and reader; compiled
 * into the core and into the dataload plugin, needs only libc. */
#ifndef SONO_TARSHARD_H
#define SONO_TARSHARD_H

#include "sono.h"

typedef struct sono_tar_member {
    char name[101];
    long long offset; /* of the member's data in the archive */
    long long size;
} sono_tar_member;

/* The regular-file members of an archive in order; *m malloc'd. A header whose checksum
 * or size field is wrong, or data past the end: SONO_EPARSE naming the file and offset. */
int sono_tar_list(const char *path, sono_tar_member **m, int *n, sono_error *err);

/* Write the files dir/names[i] (names: "<key>.<ext>", at most 100 characters) into
 * outdir/shard-000000.tar, ... per_shard files each, in the order given; *shards: how
 * many were written (may be NULL). Deterministic: mode 0644, owner 0, mtime 0. */
int sono_tar_shard(const char *dir, const char *const *names, int n, const char *outdir,
                   int per_shard, int *shards, sono_error *err);

#endif
