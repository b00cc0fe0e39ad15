/* layout.c — install-root paths, the lock, and the atomic `current` switch. */
#include "layout.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "path.h"

char *pc_layout_path(const pc_layout *l, const char *a, const char *b, const char *c)
{
    /* Called for every file of a version: pieces copied, no format. */
    const char *part[4] = {l->root, a, b, c};
    size_t len[4], n = 0;
    for (int i = 0; i < 4; i++) {
        len[i] = part[i] ? strlen(part[i]) : 0;
        n += len[i] + 1;
    }
    char *p = malloc(n), *at = p;
    if (p == NULL)
        return NULL;
    for (int i = 0; i < 4; i++) {
        if (part[i] == NULL)
            continue;
        if (i)
            *at++ = '/';
        memcpy(at, part[i], len[i]);
        at += len[i];
    }
    *at = '\0';
    return p;
}

static pc_status mkdir_p(const char *path, pc_err *e)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST)
        return PC_OK;
    return pc_fail(e, pc_errno_status(errno), "%s: cannot create: %s", path, strerror(errno));
}

pc_status pc_layout_open(pc_layout *l, const char *root, bool create, pc_err *e)
{
    l->lock_fd = -1;
    l->writer_busy = false;
    l->root = NULL;
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        n--;
    if (n == 0)
        return pc_fail(e, PC_ERR_INVALID, "install root: empty path");
    if ((l->root = strndup(root, n)) == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    struct stat sb;
    if (stat(l->root, &sb) != 0) {
        if (!create) {
            pc_status st = pc_fail(e, PC_ERR_NOT_FOUND, "install root %s: %s", l->root,
                                   strerror(errno));
            pc_layout_close(l);
            return st;
        }
        pc_status st = mkdir_p(l->root, e);
        if (st != PC_OK) {
            pc_layout_close(l);
            return st;
        }
    } else if (!S_ISDIR(sb.st_mode)) {
        pc_status st = pc_fail(e, PC_ERR_INVALID, "install root %s: not a folder", l->root);
        pc_layout_close(l);
        return st;
    }
    if (create) {
        static const char *subs[] = {"versions", "staging", "cache", "manifests"};
        for (size_t i = 0; i < 4; i++) {
            char *p = pc_layout_path(l, subs[i], NULL, NULL);
            pc_status st = p ? mkdir_p(p, e) : pc_fail(e, PC_ERR_NOMEM, "out of memory");
            free(p);
            if (st != PC_OK) {
                pc_layout_close(l);
                return st;
            }
        }
    }
    return PC_OK;
}

void pc_layout_close(pc_layout *l)
{
    if (l->lock_fd >= 0)
        close(l->lock_fd); /* releases the flock */
    l->lock_fd = -1;
    free(l->root);
    l->root = NULL;
}

pc_status pc_layout_lock(pc_layout *l, int wait_s, pc_err *e)
{
    if (l->lock_fd >= 0)
        return PC_OK;
    char *p = pc_layout_path(l, ".lock", NULL, NULL);
    if (p == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    /* O_NONBLOCK: a FIFO planted at the name must not hang the open. */
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
    if (fd < 0) {
        int err = errno;
        pc_status st = pc_errno_status(err);
        pc_fail(e, st, "%s: %s%s", p, strerror(err),
                st == PC_ERR_PERMISSION ? " (this install root cannot be changed by this user; "
                                          "reading commands such as status and check still work)"
                                        : "");
        free(p);
        return st;
    }
    free(p);
    /* Waiting is a poll: flock has no timeout, and a signal-based one
     * would disturb the program that embeds the library. */
    struct timespec step = {0, 100 * 1000 * 1000};
    long tries = wait_s < 0 ? -1 : (long)wait_s * 10;
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK || tries == 0) {
            int err = errno;
            close(fd);
            if (err != EWOULDBLOCK)
                return pc_fail(e, PC_ERR_IO, "%s/.lock: %s", l->root, strerror(err));
            return pc_fail(e, PC_ERR_BUSY,
                           "%s: another patchcast process is changing this install root%s",
                           l->root, wait_s ? " (waited for it; still busy)"
                                           : " (retry later, or wait for it with --wait)");
        }
        if (tries > 0)
            tries--;
        nanosleep(&step, NULL);
    }
    l->lock_fd = fd;
    return PC_OK;
}

pc_status pc_layout_lock_shared(pc_layout *l, pc_err *e)
{
    (void)e;
    if (l->lock_fd >= 0)
        return PC_OK;
    char *p = pc_layout_path(l, ".lock", NULL, NULL);
    if (p == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK); /* (a FIFO: no hang) */
    free(p);
    if (fd < 0)
        return PC_OK; /* never changed yet, or not ours to open: read as is */
    while (flock(fd, LOCK_SH | LOCK_NB) != 0) {
        if (errno == EINTR)
            continue;
        close(fd);
        l->writer_busy = errno == EWOULDBLOCK;
        return PC_OK;
    }
    l->lock_fd = fd;
    return PC_OK;
}

pc_status pc_layout_current(const pc_layout *l, char **out, pc_err *e)
{
    *out = NULL;
    char *p = pc_layout_path(l, "current", NULL, NULL);
    if (p == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    char buf[512];
    ssize_t n = readlink(p, buf, sizeof buf - 1);
    pc_status st = PC_OK;
    if (n < 0) {
        if (errno != ENOENT)
            st = pc_fail(e, PC_ERR_STATE, "%s: %s", p, strerror(errno));
        free(p);
        return st;
    }
    buf[n] = '\0';
    /* A hand-edited link ("versions/..", "versions/.") is refused like any
     * other that does not name one version's folder. */
    if (strncmp(buf, "versions/", 9) != 0 || !pc_version_name_ok(buf + 9)) {
        st = pc_fail(e, PC_ERR_STATE, "%s: points at '%s', not versions/<version>", p, buf);
    } else if ((*out = strdup(buf + 9)) == NULL) {
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
    }
    free(p);
    return st;
}

pc_status pc_layout_switch(const pc_layout *l, const char *version, pc_err *e)
{
    char *cur = pc_layout_path(l, "current", NULL, NULL);
    char *tmp = pc_layout_path(l, ".current.tmp", NULL, NULL);
    char target[512];
    pc_status st = PC_OK;
    if (cur == NULL || tmp == NULL) {
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (snprintf(target, sizeof target, "versions/%s", version) >= (int)sizeof target) {
        st = pc_fail(e, PC_ERR_INVALID, "version name too long");
        goto out;
    }
    unlink(tmp);
    if (symlink(target, tmp) != 0) {
        st = pc_fail(e, pc_errno_status(errno), "%s: %s", tmp, strerror(errno));
        goto out;
    }
    if (rename(tmp, cur) != 0) {
        st = pc_fail(e, pc_errno_status(errno), "%s: cannot switch: %s", cur, strerror(errno));
        unlink(tmp);
        goto out;
    }
    /* Switched: the rename is the commit. Its durability is asked for, but
     * a failure to sync the folder does not undo it, so it is not an error
     * (the caller would report a failed switch that took place). */
    pc_err ignored = {0};
    (void)pc_fsync_parent(cur, &ignored);
out:
    free(cur);
    free(tmp);
    return st;
}

pc_status pc_rmtree_at(int dfd, const char *name, const char *shown, pc_err *e)
{
    if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
        return PC_OK;
    if (errno != EISDIR && errno != EPERM)
        return pc_fail(e, pc_errno_status(errno), "%s: %s", shown, strerror(errno));
    int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0)
        return pc_fail(e, pc_errno_status(errno), "%s: %s", shown, strerror(errno));
    DIR *d = fdopendir(sub);
    if (d == NULL) {
        close(sub);
        return pc_fail(e, pc_errno_status(errno), "%s: %s", shown, strerror(errno));
    }
    pc_status st = PC_OK;
    struct dirent *de;
    while (st == PC_OK && (de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        st = pc_rmtree_at(dirfd(d), de->d_name, shown, e);
    }
    closedir(d);
    if (st == PC_OK && unlinkat(dfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
        st = pc_fail(e, pc_errno_status(errno), "%s: %s", shown, strerror(errno));
    return st;
}

pc_status pc_rmtree(const char *path, pc_err *e)
{
    return pc_rmtree_at(AT_FDCWD, path, path, e);
}

/* Descriptors collected for one pc_fsync_fds call. */
#define SYNC_BATCH 256

typedef struct sync_batch {
    int fd[SYNC_BATCH];
    size_t n;
} sync_batch;

static pc_status sync_flush(sync_batch *b, const char *shown, pc_err *e)
{
    pc_status st = pc_fsync_fds(b->fd, b->n, shown, e);
    b->n = 0;
    return st;
}

/* Queue name (below dfd) and, for a folder, everything in it, children
 * first; the batch is synced whenever it fills. */
static pc_status fsync_at(int dfd, const char *name, const char *shown, sync_batch *b,
                          pc_err *e)
{
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ELOOP)
            return PC_OK; /* a symlink: nothing to sync but its folder */
        return pc_fail(e, pc_errno_status(errno), "%s: %s", shown, strerror(errno));
    }
    struct stat sb;
    pc_status st = PC_OK;
    if (fstat(fd, &sb) != 0) {
        st = pc_fail(e, pc_errno_status(errno), "%s: %s", shown, strerror(errno));
    } else if (S_ISDIR(sb.st_mode)) {
        int dup_fd = dup(fd);
        DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
        if (d == NULL) {
            if (dup_fd >= 0)
                close(dup_fd);
            st = pc_fail(e, pc_errno_status(errno), "%s: %s", shown, strerror(errno));
        } else {
            struct dirent *de;
            while (st == PC_OK && (de = readdir(d)) != NULL)
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                    st = fsync_at(dirfd(d), de->d_name, shown, b, e);
            closedir(d);
        }
    }
    if (st != PC_OK) {
        close(fd);
        return st;
    }
    b->fd[b->n++] = fd;
    return b->n == SYNC_BATCH ? sync_flush(b, shown, e) : PC_OK;
}

pc_status pc_fsync_tree(const char *path, pc_err *e)
{
    sync_batch *b = calloc(1, sizeof *b);
    if (b == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    pc_status st = fsync_at(AT_FDCWD, path, path, b, e);
    if (st == PC_OK)
        st = sync_flush(b, path, e);
    else
        for (size_t i = 0; i < b->n; i++)
            close(b->fd[i]);
    free(b);
    return st;
}

pc_status pc_layout_commit_version(const pc_layout *l, const char *staging_dir,
                                   const char *version, pc_err *e)
{
    char *dst = pc_layout_path(l, "versions", version, NULL);
    if (dst == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    pc_status st = pc_fsync_tree(staging_dir, e);
    if (st == PC_OK)
        st = pc_rmtree(dst, e);
    if (st == PC_OK && rename(staging_dir, dst) != 0)
        st = pc_fail(e, pc_errno_status(errno), "%s: cannot move into place: %s", dst, strerror(errno));
    if (st == PC_OK)
        st = pc_fsync_parent(dst, e);
    free(dst);
    return st;
}
