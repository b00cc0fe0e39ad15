/* site.c — write-once, verify-on-reuse storage of site files. */
#include "site.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "meta.h"
#include "object.h"
#include "objpack.h"
#include "sha256.h"

pc_status pc_site_open(pc_site *s, const char *root, pc_err *e)
{
    s->root = strdup(root);
    if (s->root == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    static const char *dirs[] = {"/manifests", "/deltas", "/objects", "/patches"};
    pc_status st = pc_mkdirs(root, false, e);
    for (size_t i = 0; i < 4 && st == PC_OK; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s%s", root, dirs[i]);
        st = pc_mkdirs(p, false, e);
    }
    if (st != PC_OK)
        pc_site_close(s);
    return st;
}

void pc_site_close(pc_site *s)
{
    free(s->root);
    s->root = NULL;
}

char *pc_site_file(const pc_site *s, const char *rel)
{
    size_t n = strlen(s->root) + strlen(rel) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", s->root, rel);
    return p;
}

pc_status pc_site_mkdirs(const pc_site *s, const char *rel, pc_err *e)
{
    char *p = pc_site_file(s, rel);
    if (p == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    pc_status st = pc_mkdirs(p, true, e);
    free(p);
    return st;
}

pc_status pc_site_put(const pc_site *s, const char *rel, const void *data, size_t len,
                      bool *written, pc_err *e)
{
    *written = false;
    char *p = pc_site_file(s, rel);
    if (p == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    pc_status st = pc_site_mkdirs(s, rel, e);
    uint8_t want[32], have[32];
    uint64_t n;
    pc_sha256(data, len, want);
    if (st == PC_OK && !(pc_sha256_file(p, have, &n) == PC_OK && n == len &&
                         memcmp(have, want, 32) == 0)) {
        st = pc_write_file_atomic(p, data, len, 0644, e);
        *written = st == PC_OK;
    }
    free(p);
    return st;
}

bool pc_site_object_check(const pc_site *s, const uint8_t sha[32], uint64_t size,
                          uint64_t *object_size)
{
    char rel[PC_SITE_PATH_MAX];
    pc_site_object_path(sha, rel);
    char *p = pc_site_file(s, rel);
    if (p == NULL)
        return false;
    bool ok = false;
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    free(p);
    if (fd < 0)
        return false;
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    pc_err scratch = {0};
    struct stat sb;
    if (null >= 0 && fstat(fd, &sb) == 0 &&
        pc_object_unpack_fd(fd, null, size, sha, &scratch) == PC_OK) {
        ok = true;
        *object_size = (uint64_t)sb.st_size;
    }
    if (null >= 0)
        close(null);
    close(fd);
    return ok;
}

pc_status pc_site_object(const pc_site *s, const char *src, const uint8_t sha[32],
                         uint64_t size, int level, uint64_t *object_size,
                         uint8_t object_sha[32], bool *reused, pc_err *e)
{
    char rel[PC_SITE_PATH_MAX];
    pc_site_object_path(sha, rel);
    char *p = pc_site_file(s, rel);
    if (p == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    pc_status st = pc_site_mkdirs(s, rel, e);
    *reused = st == PC_OK && pc_site_object_check(s, sha, size, object_size);
    if (st == PC_OK && !*reused)
        st = pc_object_pack_file(src, p, level, object_size, e);
    uint64_t n = 0;
    if (st == PC_OK && (pc_sha256_file(p, object_sha, &n) != PC_OK || n != *object_size))
        st = pc_fail(e, PC_ERR_IO, "%s: could not hash the object", p);
    free(p);
    return st;
}
