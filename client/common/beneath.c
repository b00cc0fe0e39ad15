/* beneath.c — confined folder lookups (see beneath.h). */
#include "beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "path.h"

/* openat2 of a folder; -1 with errno ENOSYS where the kernel lacks it. */
static int open_beneath(int dirfd, const char *rel)
{
#ifdef SYS_openat2
    struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
                                      RESOLVE_NO_MAGICLINKS};
    return (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
#else
    (void)dirfd;
    (void)rel;
    errno = ENOSYS;
    return -1;
#endif
}

int pc_beneath_dir(int dirfd, const char *rel, bool create, pc_err *e)
{
    if (rel[0] == '\0')
        rel = ".";
    else if (pc_path_problem(rel)) {
        pc_fail(e, PC_ERR_INVALID, "%s: not a release path", rel);
        return -1;
    }
    int fd = open_beneath(dirfd, rel);
    if (fd >= 0 || (errno != ENOSYS && errno != ENOENT))
        goto done;
    /* The walk: also the way to create what is missing. */
    fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    for (const char *s = rel; fd >= 0 && *s && strcmp(s, ".") != 0;) {
        size_t n = strcspn(s, "/");
        char name[PC_NAME_MAX + 1];
        if (n > PC_NAME_MAX) {
            close(fd);
            errno = ENAMETOOLONG;
            fd = -1;
            break;
        }
        memcpy(name, s, n);
        name[n] = '\0';
        if (create && mkdirat(fd, name, 0755) != 0 && errno != EEXIST) {
            close(fd);
            fd = -1;
            break;
        }
        int next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(fd);
        fd = next;
        s += n + (s[n] == '/');
    }
done:
    if (fd < 0)
        pc_fail(e, pc_errno_status(errno), "%s: %s%s", rel, strerror(errno),
                errno == ELOOP || errno == ENOTDIR || errno == EXDEV
                    ? " (a component is not a folder: a symlink is not followed here)"
                    : "");
    return fd;
}

int pc_beneath_parent(int dirfd, const char *rel, bool create, const char **base, pc_err *e)
{
    const char *slash = strrchr(rel, '/');
    *base = slash ? slash + 1 : rel;
    if (slash == NULL)
        return pc_beneath_dir(dirfd, "", create, e);
    size_t n = (size_t)(slash - rel);
    char *dir = strndup(rel, n);
    if (dir == NULL) {
        pc_fail(e, PC_ERR_NOMEM, "out of memory");
        return -1;
    }
    int fd = pc_beneath_dir(dirfd, dir, create, e);
    free(dir);
    return fd;
}
