/* shm.c — the buffers the plugin shares with its Python worker: POSIX shared memory
 * objects the C side creates, the worker maps by name for one load or store, and the C
 * side unlinks once the reply is in, so nothing outlives a call (or a crash of it). */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "py.h"

int py_shm_create(py_shm *s, size_t nbytes, sono_error *err)
{
    static unsigned seq;
    *s = (py_shm){0};
    if (nbytes == 0)
        return sono_fail(err, SONO_EINVAL, "py: an empty buffer cannot be shared");
    snprintf(s->name, sizeof s->name, "/sono-py-%d-%u", (int)getpid(), ++seq);
    int fd = shm_open(s->name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        return sono_fail(err, SONO_EIO, "py: shm_open %s: %s", s->name, strerror(errno));
    /* fallocate, not ftruncate: a full /dev/shm must fail here, not SIGBUS at memcpy */
    int e = posix_fallocate(fd, 0, (off_t)nbytes);
    if (e != 0) {
        close(fd);
        shm_unlink(s->name);
        return sono_fail(err, e == ENOSPC ? SONO_ENOMEM : SONO_EIO,
                         "py: cannot size shared memory %s to %zu bytes: %s", s->name, nbytes,
                         strerror(e));
    }
    void *m = mmap(NULL, nbytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        int e = errno;
        shm_unlink(s->name);
        return sono_fail(err, SONO_ENOMEM, "py: cannot map %zu bytes of %s: %s", nbytes,
                         s->name, strerror(e));
    }
    s->data = m;
    s->nbytes = nbytes;
    return 0;
}

void py_shm_free(py_shm *s)
{
    if (s->data) {
        munmap(s->data, s->nbytes);
        shm_unlink(s->name);
    }
    *s = (py_shm){0};
}

const char *py_dtype_name(sono_dtype t)
{
    switch (t) {
    case SONO_F32: return "f32";
    case SONO_C64: return "c64";
    case SONO_F64: return "f64";
    case SONO_C128: return "c128";
    case SONO_I16: return "i16";
    case SONO_I32: return "i32";
    }
    return "?";
}
