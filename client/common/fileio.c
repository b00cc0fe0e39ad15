/* fileio.c — capped reads and atomic writes. */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

pc_status pc_read_file(const char *path, size_t cap, char **buf, size_t *len, pc_err *e)
{
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pc_fail(e, errno == ENOENT ? PC_ERR_NOT_FOUND : pc_errno_status(errno), "%s: %s", path,
                       strerror(errno));
    pc_status st = PC_OK;
    char *data = NULL;
    size_t used = 0, alloc = 0;
    for (;;) {
        if (used == alloc) {
            if (alloc > cap) {
                st = pc_fail(e, PC_ERR_TOO_LARGE, "%s: larger than the limit of %zu bytes",
                             path, cap);
                goto out;
            }
            size_t want = alloc ? alloc * 2 : 4096;
            if (want > cap + 1)
                want = cap + 1; /* one spare byte tells "exactly cap" from "more" */
            char *p = realloc(data, want + 1);
            if (p == NULL) {
                st = pc_fail(e, PC_ERR_NOMEM, "%s: out of memory", path);
                goto out;
            }
            data = p;
            alloc = want;
        }
        ssize_t n = read(fd, data + used, alloc - used);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            st = pc_fail(e, pc_errno_status(errno), "%s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        used += (size_t)n;
        if (used > cap) {
            st = pc_fail(e, PC_ERR_TOO_LARGE, "%s: larger than the limit of %zu bytes", path,
                         cap);
            goto out;
        }
    }
    if (data == NULL && (data = malloc(1)) == NULL) {
        st = pc_fail(e, PC_ERR_NOMEM, "%s: out of memory", path);
        goto out;
    }
    data[used] = '\0';
    *buf = data;
    *len = used;
    data = NULL;
out:
    free(data);
    close(fd);
    return st;
}

int pc_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

#define SYNC_THREADS 8

typedef struct sync_work {
    const int *fds;
    size_t n, next;
    int err; /* errno of the first failed fsync, 0 if none */
    pthread_mutex_t mu;
} sync_work;

static void *sync_worker(void *ud)
{
    sync_work *w = ud;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        size_t i = w->next++;
        pthread_mutex_unlock(&w->mu);
        if (i >= w->n)
            return NULL;
        if (fsync(w->fds[i]) != 0 && errno != EINVAL) {
            int err = errno;
            pthread_mutex_lock(&w->mu);
            if (w->err == 0)
                w->err = err;
            pthread_mutex_unlock(&w->mu);
        }
    }
}

pc_status pc_fsync_fds(const int *fds, size_t n, const char *what, pc_err *e)
{
    sync_work w = {.fds = fds, .n = n};
    pthread_mutex_init(&w.mu, NULL);
    pthread_t t[SYNC_THREADS];
    size_t nt = 0;
    while (nt < SYNC_THREADS && nt + 1 < n && pthread_create(&t[nt], NULL, sync_worker, &w) == 0)
        nt++;
    sync_worker(&w); /* this thread works too: a failed thread start only slows it down */
    for (size_t i = 0; i < nt; i++)
        pthread_join(t[i], NULL);
    pthread_mutex_destroy(&w.mu);
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
    if (w.err)
        return pc_fail(e, pc_errno_status(w.err), "%s: fsync: %s", what, strerror(w.err));
    return PC_OK;
}

pc_status pc_fsync_parent(const char *path, pc_err *e)
{
    char *copy = strdup(path);
    if (copy == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    const char *dir = dirname(copy);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    pc_status st = PC_OK;
    if (fd < 0) {
        st = pc_fail(e, pc_errno_status(errno), "%s: %s", dir, strerror(errno));
    } else {
        if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
            st = pc_fail(e, pc_errno_status(errno), "%s: fsync: %s", dir, strerror(errno));
        close(fd);
    }
    free(copy);
    return st;
}

pc_status pc_tmpfile_open(pc_tmpfile *t, const char *dst, pc_err *e)
{
    return pc_tmpfile_open_in(t, dst, NULL, e);
}

pc_status pc_tmpfile_open_in(pc_tmpfile *t, const char *dst, const char *dir, pc_err *e)
{
    t->fd = -1;
    t->dst = dst;
    t->no_sync = false;
    t->dst_dir = -1;
    t->dst_name = NULL;
    size_t n = (dir ? strlen(dir) + sizeof "/tmp-XXXXXX" : strlen(dst) + sizeof ".tmp-XXXXXX");
    t->tmp_path = malloc(n);
    if (t->tmp_path == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    if (dir)
        snprintf(t->tmp_path, n, "%s/tmp-XXXXXX", dir);
    else
        snprintf(t->tmp_path, n, "%s.tmp-XXXXXX", dst);
    t->fd = mkostemp(t->tmp_path, O_CLOEXEC);
    if (t->fd < 0) {
        pc_status st = pc_fail(e, pc_errno_status(errno), "%s: cannot create a temporary file: %s", dst,
                               strerror(errno));
        free(t->tmp_path);
        t->tmp_path = NULL;
        return st;
    }
    return PC_OK;
}

void pc_tmpfile_at(pc_tmpfile *t, int dirfd, const char *name)
{
    t->dst_dir = dirfd;
    t->dst_name = name;
}

pc_status pc_tmpfile_finish(pc_tmpfile *t, pc_status st, mode_t mode, pc_err *e)
{
    if (t->tmp_path == NULL)
        return st;
    if (st == PC_OK && (fchmod(t->fd, mode) != 0 || (!t->no_sync && fsync(t->fd) != 0)))
        st = pc_fail(e, pc_errno_status(errno), "%s: %s", t->tmp_path, strerror(errno));
    if (st == PC_OK && t->no_sync)
        sync_file_range(t->fd, 0, 0, SYNC_FILE_RANGE_WRITE); /* best effort: a head start */
    if (close(t->fd) != 0 && st == PC_OK)
        st = pc_fail(e, pc_errno_status(errno), "%s: %s", t->tmp_path, strerror(errno));
    bool at = t->dst_dir >= 0;
    if (st == PC_OK && (at ? renameat(AT_FDCWD, t->tmp_path, t->dst_dir, t->dst_name)
                           : rename(t->tmp_path, t->dst)) != 0)
        st = pc_fail(e, pc_errno_status(errno), "%s: rename: %s", t->dst, strerror(errno));
    if (st == PC_OK && !t->no_sync)
        st = at ? (fsync(t->dst_dir) == 0 || errno == EINVAL
                       ? PC_OK
                       : pc_fail(e, pc_errno_status(errno), "%s: fsync of its folder: %s", t->dst,
                                 strerror(errno)))
                : pc_fsync_parent(t->dst, e);
    else if (st != PC_OK)
        unlink(t->tmp_path);
    free(t->tmp_path);
    t->tmp_path = NULL;
    t->fd = -1;
    return st;
}

pc_status pc_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                               pc_err *e)
{
    pc_tmpfile t;
    pc_status st = pc_tmpfile_open(&t, path, e);
    if (st != PC_OK)
        return st;
    if (pc_write_all(t.fd, data, len) != 0)
        st = pc_fail(e, pc_errno_status(errno), "%s: %s", t.tmp_path, strerror(errno));
    return pc_tmpfile_finish(&t, st, mode, e);
}

pc_status pc_mkdirs(const char *path, bool parents_only, pc_err *e)
{
    char *p = strdup(path);
    if (p == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    pc_status st = PC_OK;
    for (char *q = p + 1;; q++) {
        q = strchr(q, '/');
        if (q == NULL && parents_only)
            break;
        if (q)
            *q = '\0';
        if (q == NULL || q[-1] != '/') { /* (an empty component of a//b is skipped) */
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                st = pc_fail(e, pc_errno_status(errno), "%s: cannot create: %s", p, strerror(errno));
        }
        if (q == NULL || st != PC_OK)
            break;
        *q = '/';
    }
    free(p);
    return st;
}
