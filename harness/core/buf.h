/* buf.h — allocation, release and hashing of the core's host buffers. */
#ifndef SONO_BUF_H
#define SONO_BUF_H

#include "sono.h"

/* 64-byte aligned buffer for desc (dtype and shape set): data and nbytes filled. */
int sono_buf_alloc(sono_buf *b, sono_error *err);
void sono_buf_free(sono_buf *b);
/* issue 22: from now on, place each buffer at a pseudo-random 64-byte-aligned offset
 * within a page, from seed (0: back to the plain layout). Buffers must then be released
 * with sono_buf_free. */
void sono_buf_random_layout(unsigned long long seed);

/* The sha256 of a buffer's bytes as hex. */
void sono_buf_sha256(const sono_buf *b, char hex[65]);

#endif
