/* reldiff.c — a whole-release patch: the reference and the target laid out
 * in memory files (memfd: the diff drops its mappings' pages behind it,
 * and they come back from the file), then the ordinary diff of two files
 * and the pcz writer (difffiles.c). */
#include "reldiff.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "difffiles.h"
#include "fileio.h"
#include "path.h"
#include "pcz.h"
#include "relpatch.h"
#include "sha256.h"
#include "sufsort.h"

pc_status pc_reldiff_plan(const pc_manifest *from, const pc_manifest *to, pc_reldiff *rd,
                          pc_err *e)
{
    memset(rd, 0, sizeof *rd);
    rd->ref_fd = rd->to_fd = -1;
    pc_status st = pc_relref_layout(from, &rd->ref_idx, &rd->nref, &rd->ref_size, e);
    if (st == PC_OK)
        st = pc_relref_targets(from, to, &rd->files, &rd->to_idx, &rd->nfiles, e);
    for (size_t i = 0; st == PC_OK && i < rd->nfiles; i++)
        rd->to_size += rd->files[i].size;
    return st;
}

uint64_t pc_reldiff_memory(const pc_reldiff *rd)
{
    /* Both memory files, then as a diff of two files (build_patch.c):
     * five bytes per reference byte, twice the target, a little more. */
    int64_t stride, k = 1;
    if (rd->ref_size > 0)
        k = pc_sa_segments((int64_t)rd->ref_size, pc_sa_seg_max, pc_sa_seg_overlap, &stride);
    return rd->ref_size * 6 + (uint64_t)(k - 1) * (uint64_t)pc_sa_seg_overlap * 4 +
           rd->to_size * 3 + (4u << 20);
}

/* Copy the file dir/f->path (dirfd: dir opened) to fd at off, hashing it
 * into c and checking it against the manifest. The tree may have changed
 * since it was scanned: the file is reached without following a link at
 * any component, must still be a regular file (a FIFO is not waited on),
 * and no more than one byte past its size is read. */
static pc_status copy_in(int dirfd, const char *dir, const pc_file_entry *f, int fd, uint64_t off,
                         pc_sha256_ctx *c, uint8_t *buf, size_t bufsize, pc_err *e)
{
    char *path = pc_path_join(dir, f->path);
    if (path == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    const char *name;
    pc_err why = {0};
    int in = -1, pd = pc_beneath_parent(dirfd, f->path, false, &name, &why);
    pc_status st = PC_OK;
    struct stat sb;
    if (pd < 0)
        st = pc_fail(e, PC_ERR_NOT_FOUND, "%s: %s", path, why.msg);
    else if ((in = openat(pd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
        st = pc_fail(e,
                     errno == ENOENT || errno == ELOOP ? PC_ERR_NOT_FOUND : pc_errno_status(errno),
                     "%s: %s", path, strerror(errno));
    else if (fstat(in, &sb) != 0)
        st = pc_fail(e, pc_errno_status(errno), "%s: %s", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode))
        st = pc_fail(e, PC_ERR_HASH, "%s: changed since it was scanned (not a regular file)", path);
    if (pd >= 0)
        close(pd);
    if (st != PC_OK) {
        if (in >= 0)
            close(in);
        free(path);
        return st;
    }
    pc_sha256_ctx one;
    pc_sha256_init(&one);
    uint64_t n = 0;
    while (n <= f->size) {
        size_t want = f->size - n < bufsize ? (size_t)(f->size - n) + 1 : bufsize;
        ssize_t r = read(in, buf, want);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            st = pc_fail(e, pc_errno_status(errno), "%s: %s", path, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        if (pwrite(fd, buf, (size_t)r, (off_t)(off + n)) != r) {
            st = pc_fail(e, PC_ERR_NOMEM, "memory file: %s", strerror(errno));
            break;
        }
        pc_sha256_update(&one, buf, (size_t)r);
        if (c)
            pc_sha256_update(c, buf, (size_t)r);
        n += (uint64_t)r;
    }
    close(in);
    uint8_t h[32];
    pc_sha256_final(&one, h);
    if (st == PC_OK && (n != f->size || memcmp(h, f->sha256, 32) != 0))
        st = pc_fail(e, PC_ERR_HASH, "%s: changed since it was scanned", path);
    free(path);
    return st;
}

/* A memory file of size bytes (zeros), and later its read-only mapping. */
static int new_memfile(const char *name, uint64_t size, pc_err *e)
{
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0) {
        pc_fail(e, pc_errno_status(errno), "memfd_create: %s", strerror(errno));
        return -1;
    }
    if (ftruncate(fd, (off_t)size) != 0) {
        pc_fail(e, PC_ERR_NOMEM, "memory file of %llu bytes: %s", (unsigned long long)size,
                strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static pc_status map_memfile(int fd, uint64_t size, const uint8_t **out, pc_err *e)
{
    *out = NULL;
    if (size == 0)
        return PC_OK;
    void *m = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED)
        return pc_fail(e, PC_ERR_NOMEM, "mmap of %llu bytes: %s", (unsigned long long)size,
                       strerror(errno));
    *out = m;
    return PC_OK;
}

pc_status pc_reldiff_load(pc_reldiff *rd, const char *from_dir, const pc_manifest *from,
                          const char *to_dir, const pc_manifest *to, pc_err *e)
{
    static const uint8_t zeros[PC_RELEASE_ALIGN];
    const size_t bufsize = 1 << 20;
    uint8_t *buf = malloc(bufsize);
    pc_status st = PC_OK;
    if (buf == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    int from_fd = open(from_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int to_fd = open(to_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (from_fd < 0 || to_fd < 0) {
        st = pc_fail(e, pc_errno_status(errno), "%s: %s", from_fd < 0 ? from_dir : to_dir,
                     strerror(errno));
        goto out;
    }
    if ((rd->ref_fd = new_memfile("patchcast-reference", rd->ref_size, e)) < 0 ||
        (rd->to_fd = new_memfile("patchcast-target", rd->to_size, e)) < 0) {
        st = e ? e->code : PC_ERR_NOMEM;
        goto out;
    }
    pc_sha256_ctx c;
    pc_sha256_init(&c);
    uint64_t off = 0;
    for (size_t k = 0; k < rd->nref && st == PC_OK; k++) {
        const pc_file_entry *f = &from->files[rd->ref_idx[k]];
        st = copy_in(from_fd, from_dir, f, rd->ref_fd, off, &c, buf, bufsize, e);
        size_t pad = (size_t)((PC_RELEASE_ALIGN - f->size % PC_RELEASE_ALIGN) % PC_RELEASE_ALIGN);
        pc_sha256_update(&c, zeros, pad);
        off += f->size + pad;
    }
    pc_sha256_final(&c, rd->ref_sha);
    pc_sha256_init(&c);
    off = 0;
    for (size_t k = 0; k < rd->nfiles && st == PC_OK; k++) {
        const pc_file_entry *f = &to->files[rd->to_idx[k]];
        st = copy_in(to_fd, to_dir, f, rd->to_fd, off, &c, buf, bufsize, e);
        off += f->size;
    }
    pc_sha256_final(&c, rd->to_sha);
    if (st == PC_OK && (st = map_memfile(rd->ref_fd, rd->ref_size, &rd->ref, e)) == PC_OK)
        st = map_memfile(rd->to_fd, rd->to_size, &rd->to, e);
out:
    if (from_fd >= 0)
        close(from_fd);
    if (to_fd >= 0)
        close(to_fd);
    free(buf);
    return st;
}

pc_status pc_reldiff_write(pc_reldiff *rd, const char *path, uint64_t *patch_size, pc_err *e)
{
    return pc_diff_buffers(rd->ref, (size_t)rd->ref_size, rd->to, (size_t)rd->to_size, path,
                           PC_DIFF_PCZ, NULL, patch_size, e);
}

bool pc_reldiff_check(const pc_reldiff *rd, const char *path)
{
    int pfd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int out = memfd_create("patchcast-check", MFD_CLOEXEC);
    char magic[4] = {0};
    bool ok = false;
    if (pfd >= 0 && out >= 0 && pread(pfd, magic, 4, 0) == 4 && !memcmp(magic, PC_PCZ2_MAGIC, 4)) {
        pc_patch_expect ex = {.has_size = true, .new_size = rd->to_size, .has_sha = true};
        memcpy(ex.new_sha256, rd->to_sha, 32);
        uint64_t n = 0;
        uint8_t sha[32];
        ok = pc_pcz_apply_fd(rd->ref, rd->ref_size, pfd, out, &ex, &n, sha, NULL) == PC_OK &&
             n == rd->to_size && !memcmp(sha, rd->to_sha, 32);
    }
    if (pfd >= 0)
        close(pfd);
    if (out >= 0)
        close(out);
    return ok;
}

pc_status pc_reldiff_make(pc_reldiff *rd, const char *site, const char *from_dir,
                          const pc_manifest *from, const char *to_dir, const pc_manifest *to,
                          pc_release_ref *out, bool *fresh, pc_err *e)
{
    memset(out, 0, sizeof *out);
    *fresh = false;
    pc_status st = pc_reldiff_load(rd, from_dir, from, to_dir, to, e);
    if (st != PC_OK)
        return st;
    char rel[PC_SITE_PATH_MAX];
    pc_site_patch_path(rd->ref_sha, rd->to_sha, rel);
    char *path = pc_path_join(site, rel);
    if (path == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    uint64_t size = 0;
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && pc_reldiff_check(rd, path)) {
        size = (uint64_t)sb.st_size;
    } else if ((st = pc_mkdirs(path, true, e)) == PC_OK &&
               (st = pc_reldiff_write(rd, path, &size, e)) == PC_OK) {
        *fresh = true;
    }
    if (st == PC_OK)
        st = pc_reldiff_describe(rd, path, out, e);
    if (st == PC_OK && out->size != size) {
        free(out->files);
        memset(out, 0, sizeof *out);
        st = pc_fail(e, PC_ERR_IO, "%s: could not hash the patch", path);
    }
    free(path);
    return st;
}

pc_status pc_reldiff_describe(const pc_reldiff *rd, const char *path, pc_release_ref *out,
                              pc_err *e)
{
    memset(out, 0, sizeof *out);
    if (pc_sha256_file(path, out->sha256, &out->size) != PC_OK)
        return pc_fail(e, PC_ERR_IO, "%s: could not hash the patch", path);
    if ((out->files = malloc((rd->nfiles ? rd->nfiles : 1) * sizeof *out->files)) == NULL)
        return pc_fail(e, PC_ERR_NOMEM, "out of memory");
    memcpy(out->files, rd->files, rd->nfiles * sizeof *out->files);
    out->nfiles = rd->nfiles;
    memcpy(out->from, rd->ref_sha, 32);
    memcpy(out->to, rd->to_sha, 32);
    out->reference_size = rd->ref_size;
    out->to_size = rd->to_size;
    return PC_OK;
}

pc_delta *pc_reldiff_previous(const char *site, const pc_repo *prev, const pc_manifest *from,
                              const pc_hashref *from_ref, const pc_manifest *to,
                              const pc_hashref *to_ref)
{
    const pc_version_info *f = prev ? pc_repo_version(prev, from->version, NULL) : NULL;
    const pc_version_info *t = prev ? pc_repo_version(prev, to->version, NULL) : NULL;
    if (!f || !t || memcmp(f->manifest.sha256, from_ref->sha256, 32) ||
        memcmp(t->manifest.sha256, to_ref->sha256, 32))
        return NULL;
    const pc_edge *ed = NULL;
    for (size_t i = 0; i < prev->nedges && !ed; i++)
        if (!strcmp(prev->edges[i].from, f->name) && !strcmp(prev->edges[i].to, t->name))
            ed = &prev->edges[i];
    char rel[PC_SITE_PATH_MAX], *text = NULL, *path;
    size_t len;
    pc_delta *d = NULL;
    pc_err scratch = {0};
    if (ed == NULL)
        return NULL;
    pc_site_delta_path(ed->delta.sha256, rel);
    if ((path = pc_path_join(site, rel)) != NULL &&
        pc_read_file(path, PC_DELTA_MAX_BYTES, &text, &len, &scratch) == PC_OK &&
        pc_hashref_matches(&ed->delta, text, len))
        (void)pc_delta_parse(text, len, &d, &scratch);
    free(path);
    free(text);
    return d;
}

bool pc_reldiff_reuse(const pc_reldiff *rd, const char *site, const pc_release_ref *r,
                      pc_release_ref *out)
{
    if (r->reference_size != rd->ref_size || r->to_size != rd->to_size || r->nfiles != rd->nfiles)
        return false;
    for (size_t i = 0; i < r->nfiles; i++)
        if (r->files[i].size != rd->files[i].size ||
            memcmp(r->files[i].sha256, rd->files[i].sha256, 32))
            return false;
    char rel[PC_SITE_PATH_MAX];
    pc_site_patch_path(r->from, r->to, rel);
    char *path = pc_path_join(site, rel);
    uint8_t sha[32];
    uint64_t n = 0;
    bool ok = path && pc_sha256_file(path, sha, &n) == PC_OK && n == r->size &&
              !memcmp(sha, r->sha256, 32);
    free(path);
    pc_release_file *files = ok ? malloc(r->nfiles * sizeof *files) : NULL;
    if (files == NULL)
        return false;
    memcpy(files, r->files, r->nfiles * sizeof *files);
    *out = *r;
    out->files = files;
    return true;
}

void pc_reldiff_free(pc_reldiff *rd)
{
    if (rd->ref)
        munmap((void *)rd->ref, (size_t)rd->ref_size);
    if (rd->to)
        munmap((void *)rd->to, (size_t)rd->to_size);
    if (rd->ref_fd >= 0)
        close(rd->ref_fd);
    if (rd->to_fd >= 0)
        close(rd->to_fd);
    free(rd->ref_idx);
    free(rd->files);
    free(rd->to_idx);
    memset(rd, 0, sizeof *rd);
    rd->ref_fd = rd->to_fd = -1;
}
