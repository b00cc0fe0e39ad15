/* treecheck.c — an installed version's tree against its manifest, and the
 * repairs that need no download (see treecheck.h). */
#include "treecheck.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "layout.h"
#include "sha256.h"

/* What is wrong with f, whose parent folder is dir (-1: unreachable). */
static pc_tree_damage judge(int dir, const char *base, const pc_file_entry *f)
{
    struct stat sb;
    if (dir < 0 || fstatat(dir, base, &sb, AT_SYMLINK_NOFOLLOW) != 0)
        return PC_TREE_MISSING;
    switch (f->type) {
    case PC_FT_DIR:
        return S_ISDIR(sb.st_mode) ? PC_TREE_OK : PC_TREE_MISSING;
    case PC_FT_SYMLINK: {
        if (!S_ISLNK(sb.st_mode))
            return PC_TREE_MISSING;
        size_t want = strlen(f->target);
        char *buf = malloc(want + 2);
        ssize_t n = buf ? readlinkat(dir, base, buf, want + 1) : -1;
        bool same = n >= 0 && (size_t)n == want && memcmp(buf, f->target, want) == 0;
        free(buf);
        return same ? PC_TREE_OK : PC_TREE_LINK;
    }
    default:
        break;
    }
    if (!S_ISREG(sb.st_mode))
        return PC_TREE_MISSING;
    if ((uint64_t)sb.st_size != f->size)
        return PC_TREE_CONTENT;
    int fd = openat(dir, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return PC_TREE_CONTENT;
    uint8_t h[32];
    uint64_t got = 0;
    pc_status st = pc_sha256_fd(fd, h, &got);
    close(fd);
    if (st != PC_OK || got != f->size || memcmp(h, f->sha256, 32) != 0)
        return PC_TREE_CONTENT;
    return (sb.st_mode & 07777) == f->mode ? PC_TREE_OK : PC_TREE_MODE;
}

static int open_version(const char *vdir, pc_err *e)
{
    int fd = open(vdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        pc_fail(e, errno == ENOENT ? PC_ERR_NOT_FOUND : pc_errno_status(errno), "%s: %s", vdir,
                strerror(errno));
    return fd;
}

pc_status pc_tree_check(const char *vdir, const pc_manifest *m, unsigned char *damage,
                        unsigned *n, pc_err *e)
{
    *n = 0;
    int vfd = open_version(vdir, e);
    if (vfd < 0)
        return e ? e->code : PC_ERR_IO;
    for (size_t i = 0; i < m->nfiles; i++) {
        const char *base;
        pc_err ignored = {0};
        int dir = pc_beneath_parent(vfd, m->files[i].path, false, &base, &ignored);
        damage[i] = (unsigned char)judge(dir, base, &m->files[i]);
        if (dir >= 0)
            close(dir);
        if (damage[i] != PC_TREE_OK)
            (*n)++;
    }
    close(vfd);
    return PC_OK;
}

/* Remove what is at base in dir (nothing there is fine). */
static pc_status clear_at(int dir, const char *base, const char *shown, pc_err *e)
{
    struct stat sb;
    if (fstatat(dir, base, &sb, AT_SYMLINK_NOFOLLOW) != 0)
        return PC_OK;
    if (S_ISDIR(sb.st_mode))
        return pc_rmtree_at(dir, base, shown, e);
    if (unlinkat(dir, base, 0) != 0 && errno != ENOENT)
        return pc_fail(e, pc_errno_status(errno), "%s: %s", shown, strerror(errno));
    return PC_OK;
}

/* The parent folder of f below vdir, made if missing; -1 on failure. */
static int parent_of(const char *vdir, const pc_file_entry *f, const char **base, pc_err *e)
{
    int vfd = open_version(vdir, e);
    if (vfd < 0)
        return -1;
    int dir = pc_beneath_parent(vfd, f->path, true, base, e);
    close(vfd);
    if (dir < 0)
        pc_fail_prefix(e, "%s: ", f->path);
    return dir;
}

pc_status pc_tree_clear(const char *vdir, const pc_file_entry *f, pc_err *e)
{
    const char *base;
    int dir = parent_of(vdir, f, &base, e);
    if (dir < 0)
        return e ? e->code : PC_ERR_IO;
    struct stat sb;
    pc_status st = PC_OK;
    if (fstatat(dir, base, &sb, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(sb.st_mode))
        st = clear_at(dir, base, f->path, e);
    close(dir);
    return st;
}

pc_status pc_tree_fix(const char *vdir, const pc_file_entry *f, pc_tree_damage d, pc_err *e)
{
    if (f->type == PC_FT_FILE && d != PC_TREE_MODE)
        return pc_fail(e, PC_ERR_INVALID, "%s: needs its content downloaded", f->path);
    const char *base;
    int dir = parent_of(vdir, f, &base, e);
    if (dir < 0)
        return e ? e->code : PC_ERR_IO;
    pc_status st = PC_OK;
    if (f->type == PC_FT_FILE) {
        /* The mode only: the file is a regular one with the right bytes. */
        int fd = openat(dir, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fchmod(fd, (mode_t)f->mode) != 0)
            st = pc_fail(e, pc_errno_status(errno), "%s: %s", f->path, strerror(errno));
        if (fd >= 0)
            close(fd);
    } else if ((st = clear_at(dir, base, f->path, e)) != PC_OK) {
        /* (said) */
    } else if (f->type == PC_FT_DIR && mkdirat(dir, base, 0755) != 0) {
        st = pc_fail(e, pc_errno_status(errno), "%s: %s", f->path, strerror(errno));
    } else if (f->type == PC_FT_SYMLINK && symlinkat(f->target, dir, base) != 0) {
        st = pc_fail(e, pc_errno_status(errno), "%s: %s", f->path, strerror(errno));
    }
    close(dir);
    return st;
}
