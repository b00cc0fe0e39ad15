/* tree.c — walk a release folder safely (openat, O_NOFOLLOW). */
#include "tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "path.h"
#include "sha256.h"

#define TREE_MAX_DEPTH 256
#define TREE_MAX_ENTRIES 1000000

typedef struct walker {
    pc_tree *t;
    size_t cap;
    const char *root;
    pc_err *e;
} walker;

static pc_status push(walker *w, const pc_tree_entry *ent)
{
    if (w->t->n == TREE_MAX_ENTRIES)
        return pc_fail(w->e, PC_ERR_TOO_LARGE, "%s: more than %d entries", w->root,
                       TREE_MAX_ENTRIES);
    if (w->t->n == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 64;
        pc_tree_entry *p = realloc(w->t->entries, nc * sizeof *p);
        if (p == NULL)
            return pc_fail(w->e, PC_ERR_NOMEM, "out of memory");
        w->t->entries = p;
        w->cap = nc;
    }
    w->t->entries[w->t->n++] = *ent;
    return PC_OK;
}

static pc_status hash_fd(walker *w, int fd, const char *path, pc_tree_entry *ent)
{
    uint64_t total = 0;
    if (pc_sha256_fd(fd, ent->sha256, &total) != PC_OK)
        return pc_fail(w->e, pc_errno_status(errno), "%s/%s: %s", w->root, path, strerror(errno));
    if (total != ent->size)
        return pc_fail(w->e, PC_ERR_IO, "%s/%s: the file changed while it was read", w->root,
                       path);
    return PC_OK;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static pc_status walk_dir(walker *w, int dfd, const char *prefix, int depth);

static pc_status visit(walker *w, int dfd, const char *name, const char *path, int depth)
{
    const char *bad = pc_path_problem(path);
    if (bad)
        return pc_fail(w->e, PC_ERR_FORMAT, "%s/%s: unusable file name: %s", w->root, path, bad);
    struct stat sb;
    if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
        return pc_fail(w->e, pc_errno_status(errno), "%s/%s: %s", w->root, path, strerror(errno));
    pc_tree_entry ent = {0};
    pc_status st = PC_OK;
    if (S_ISREG(sb.st_mode)) {
        ent.type = PC_ENTRY_FILE;
        ent.size = (uint64_t)sb.st_size;
        ent.mode = (sb.st_mode & 0111) ? 0755 : 0644;
        int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return pc_fail(w->e, pc_errno_status(errno), "%s/%s: cannot read: %s", w->root, path,
                           strerror(errno));
        st = hash_fd(w, fd, path, &ent);
        close(fd);
    } else if (S_ISDIR(sb.st_mode)) {
        ent.type = PC_ENTRY_DIR;
    } else if (S_ISLNK(sb.st_mode)) {
        ent.type = PC_ENTRY_SYMLINK;
        char buf[4097];
        ssize_t n = readlinkat(dfd, name, buf, sizeof buf - 1);
        if (n < 0)
            return pc_fail(w->e, pc_errno_status(errno), "%s/%s: %s", w->root, path, strerror(errno));
        if ((size_t)n == sizeof buf - 1)
            return pc_fail(w->e, PC_ERR_FORMAT, "%s/%s: symlink target too long", w->root, path);
        buf[n] = '\0';
        const char *why = pc_symlink_problem(path, buf);
        if (why)
            return pc_fail(w->e, PC_ERR_FORMAT, "%s/%s: symlink to '%s': %s", w->root, path,
                           buf, why);
        if ((ent.target = strdup(buf)) == NULL)
            return pc_fail(w->e, PC_ERR_NOMEM, "out of memory");
    } else {
        const char *kind = S_ISCHR(sb.st_mode) || S_ISBLK(sb.st_mode) ? "a device file"
                           : S_ISSOCK(sb.st_mode)                     ? "a socket"
                           : S_ISFIFO(sb.st_mode)                     ? "a FIFO"
                                                                      : "of an unknown type";
        return pc_fail(w->e, PC_ERR_UNSUPPORTED,
                       "%s/%s: is %s; only files, directories and symlinks can be released",
                       w->root, path, kind);
    }
    if (st == PC_OK && (ent.path = strdup(path)) == NULL)
        st = pc_fail(w->e, PC_ERR_NOMEM, "out of memory");
    if (st == PC_OK)
        st = push(w, &ent);
    if (st != PC_OK) {
        free(ent.path);
        free(ent.target);
        return st;
    }
    if (ent.type == PC_ENTRY_FILE)
        w->t->total_bytes += ent.size;
    if (ent.type == PC_ENTRY_DIR) {
        int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
            return pc_fail(w->e, pc_errno_status(errno), "%s/%s: %s", w->root, path, strerror(errno));
        st = walk_dir(w, sub, path, depth + 1); /* closes sub */
    }
    return st;
}

static pc_status walk_dir(walker *w, int dfd, const char *prefix, int depth)
{
    if (depth > TREE_MAX_DEPTH) {
        close(dfd);
        return pc_fail(w->e, PC_ERR_TOO_LARGE, "%s/%s: folders nested deeper than %d", w->root,
                       prefix, TREE_MAX_DEPTH);
    }
    DIR *d = fdopendir(dfd);
    if (d == NULL) {
        close(dfd);
        return pc_fail(w->e, pc_errno_status(errno), "%s/%s: %s", w->root, prefix, strerror(errno));
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    pc_status st = PC_OK;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **p = realloc(names, cap * sizeof *p);
            if (p == NULL) {
                st = pc_fail(w->e, PC_ERR_NOMEM, "out of memory");
                goto out;
            }
            names = p;
        }
        if ((names[n] = strdup(de->d_name)) == NULL) {
            st = pc_fail(w->e, PC_ERR_NOMEM, "out of memory");
            goto out;
        }
        n++;
    }
    if (errno != 0) {
        st = pc_fail(w->e, pc_errno_status(errno), "%s/%s: %s", w->root, prefix, strerror(errno));
        goto out;
    }
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_name);
    for (size_t i = 0; i < n && st == PC_OK; i++) {
        size_t plen = strlen(prefix), nlen = strlen(names[i]);
        char *path = malloc(plen + nlen + 2);
        if (path == NULL) {
            st = pc_fail(w->e, PC_ERR_NOMEM, "out of memory");
            break;
        }
        if (plen)
            snprintf(path, plen + nlen + 2, "%s/%s", prefix, names[i]);
        else
            memcpy(path, names[i], nlen + 1);
        st = visit(w, dirfd(d), names[i], path, depth);
        free(path);
    }
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return st;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const pc_tree_entry *)a)->path, ((const pc_tree_entry *)b)->path);
}

pc_status pc_tree_scan(const char *root, pc_tree *out, pc_err *e)
{
    memset(out, 0, sizeof *out);
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return pc_fail(e, errno == ENOENT ? PC_ERR_NOT_FOUND : pc_errno_status(errno), "%s: %s", root,
                       errno == ENOTDIR ? "not a folder" : strerror(errno));
    walker w = {out, 0, root, e};
    pc_status st = walk_dir(&w, fd, "", 0);
    if (st != PC_OK) {
        pc_tree_free(out);
        return st;
    }
    /* Depth-first order differs from bytewise order ("a/b" vs "a-c"). */
    if (out->n > 1)
        qsort(out->entries, out->n, sizeof *out->entries, cmp_entry);
    return PC_OK;
}

const pc_tree_entry *pc_tree_find(const pc_tree *t, const char *path)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(t->entries[mid].path, path);
        if (c == 0)
            return &t->entries[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void pc_tree_free(pc_tree *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->entries[i].path);
        free(t->entries[i].target);
    }
    free(t->entries);
    memset(t, 0, sizeof *t);
}
