/* hold.c — shared locks of running programs on the versions they run from
 * (see hold.h). */
#include "hold.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "path.h"

static char *hold_path(const pc_layout *l, const char *version)
{
    return pc_layout_path(l, "holds", version, NULL);
}

pc_status pc_hold_create(const pc_layout *l, const char *version, pc_err *e)
{
    char *dir = pc_layout_path(l, "holds", NULL, NULL);
    char *p = hold_path(l, version);
    pc_status st = PC_OK;
    if (!dir || !p) {
        st = pc_fail(e, PC_ERR_NOMEM, "out of memory");
    } else if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        st = pc_fail(e, pc_errno_status(errno), "%s: %s", dir, strerror(errno));
    } else {
        int fd = open(p, O_RDONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
        if (fd < 0)
            st = pc_fail(e, pc_errno_status(errno), "%s: %s", p, strerror(errno));
        else
            close(fd);
    }
    free(dir);
    free(p);
    return st;
}

/* Is the folder of version there (not a link)? */
static bool installed(const pc_layout *l, const char *version)
{
    char *d = pc_layout_path(l, "versions", version, NULL);
    struct stat sb;
    bool ok = d && lstat(d, &sb) == 0 && S_ISDIR(sb.st_mode);
    free(d);
    return ok;
}

pc_status pc_hold_take(const pc_layout *l, const char *version, bool inherit, int *fd,
                       pc_err *e)
{
    *fd = -1;
    if (!pc_version_name_ok(version))
        return pc_fail(e, PC_ERR_INVALID, "'%s' is not a version name", version);
    if (!installed(l, version))
        return pc_fail(e, PC_ERR_NOT_FOUND, "version %s is not installed in %s", version,
                       l->root);
    char *p = hold_path(l, version);
    if (p == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | (inherit ? 0 : O_CLOEXEC); /* (a FIFO: no hang) */
    pc_status st = PC_OK;
    /* A prune may remove the file between our open and our lock: the lock
     * then sits on a file no longer at that name, so try again. */
    for (int tries = 0; tries < 8; tries++) {
        int h = open(p, flags);
        if (h < 0 && errno == ENOENT) {
            pc_err ignored = {0};
            if (!installed(l, version))
                break;
            (void)pc_hold_create(l, version, &ignored);
            h = open(p, flags);
        }
        if (h < 0) {
            st = pc_fail(e, pc_errno_status(errno), "%s: cannot hold version %s: %s", p, version,
                         strerror(errno));
            break;
        }
        int r;
        while ((r = flock(h, LOCK_SH)) != 0 && errno == EINTR)
            ;
        struct stat a, b;
        if (r == 0 && fstat(h, &a) == 0 && stat(p, &b) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino && installed(l, version)) {
            *fd = h;
            break;
        }
        close(h);
    }
    if (*fd < 0 && st == PC_OK)
        st = pc_fail(e, PC_ERR_NOT_FOUND, "version %s is not installed in %s (removed just now)",
                     version, l->root);
    free(p);
    return st;
}

bool pc_hold_claim(const pc_layout *l, const char *version, int *fd)
{
    *fd = -1;
    char *p = hold_path(l, version);
    if (p == NULL)
        return false;
    int h = open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    /* No hold file (a version installed before holds, holds/ deleted): the
     * claim makes one and locks it, so that a program starting meanwhile
     * waits for the removal and then finds the version gone, instead of
     * making its own file and running from a folder being deleted. */
    for (int tries = 0; h < 0 && errno == ENOENT && tries < 4; tries++) {
        char *dir = pc_layout_path(l, "holds", NULL, NULL);
        if (dir && mkdir(dir, 0755) != 0 && errno != EEXIST) {
            free(dir);
            break;
        }
        free(dir);
        h = open(p, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
        if (h < 0 && errno == EEXIST)
            h = open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    }
    free(p);
    if (h < 0)
        return false;
    if (flock(h, LOCK_EX | LOCK_NB) != 0) {
        close(h);
        return false;
    }
    *fd = h;
    return true;
}

void pc_hold_drop(const pc_layout *l, const char *version, int fd)
{
    char *p = hold_path(l, version);
    if (p)
        unlink(p);
    free(p);
    if (fd >= 0)
        close(fd);
}

bool pc_hold_is_held(const pc_layout *l, const char *version)
{
    char *p = hold_path(l, version);
    int h = p ? open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) : -1;
    free(p);
    if (h < 0)
        return false;
    bool held = flock(h, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(h); /* (releases the probe's lock at once) */
    return held;
}
